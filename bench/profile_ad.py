"""Where the time of one AD reconcile goes: every LDAP add/modify timed by kind.

Runs the tre_ad module's reconcile in-process (no Ansible) against the lab, for synthetic
projects of 4 people, and prints count, seconds and rate per kind of write.

    python bench/profile_ad.py [--projects 200] [--first 820001]

Deletes its projects (OU=P82*) and the initial-password files afterwards.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
import time
from datetime import date
from typing import Any

import ldap3
from bench_ad import connect, delete_under
from common import lab_vars, synthetic_contract

from provisioning.desired import build_desired_state
from provisioning.ldap import inventory_params  # also makes the collection importable
from provisioning.policy import load_policy

from ansible_collections.tre.secenv.plugins.modules import tre_ad  # isort: skip

STATS: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
_ADD, _MODIFY = ldap3.Connection.add, ldap3.Connection.modify


def _kind(dn: str, attributes: dict | None) -> str:
    attributes = attributes or {}
    rdn = dn.split("=", 1)[0].upper()
    if rdn == "OU":
        return "add OU"
    if "unicodePwd" in attributes:
        return "add account (password)"
    return "add group with members" if attributes.get("member") else "add group"


def _timed_add(self, dn, object_class=None, attributes=None, controls=None):
    start = time.perf_counter()
    result = _ADD(self, dn, object_class, attributes, controls)
    entry = STATS[_kind(dn, attributes)]
    entry[0] += 1
    entry[1] += time.perf_counter() - start
    return result


def _timed_modify(self, dn, changes, controls=None):
    start = time.perf_counter()
    result = _MODIFY(self, dn, changes, controls)
    STATS["modify"][0] += 1
    STATS["modify"][1] += time.perf_counter() - start
    return result


class _Module:
    """Just enough of AnsibleModule for reconcile()."""

    check_mode = False
    _diff = False

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.no_log_values: set[str] = set()

    def warn(self, _msg: str) -> None:
        pass

    def fail_json(self, **result: Any) -> None:
        sys.exit(f"reconcile failed: {result.get('msg')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--projects", type=int, default=200)
    ap.add_argument("--first", type=int, default=820001)
    args = ap.parse_args()
    v = lab_vars()
    contracts = [synthetic_contract(args.first + i, 4) for i in range(args.projects)]
    desired = build_desired_state(contracts, load_policy(), date(2026, 12, 1))
    params = {
        **inventory_params(v),
        "initial_password_dir": tempfile.mkdtemp(prefix="tre-profile-"),
        "desired": desired,
        "journal": None,
    }
    ldap3.Connection.add, ldap3.Connection.modify = _timed_add, _timed_modify
    start = time.perf_counter()
    result = tre_ad.reconcile(_Module(params))
    total = time.perf_counter() - start
    print(f"reconcile: {total:.1f} s, {len(result['changes'])} changes")
    for kind, (count, seconds) in sorted(STATS.items()):
        rate = count / seconds if seconds else 0.0
        print(f"  {kind:<26} {count:>5.0f}  {seconds:6.2f} s  {rate:6.1f}/s")
    accounted = sum(s for _c, s in STATS.values())
    print(f"  {'reading, ids, files':<26} {'':>5}  {total - accounted:6.2f} s")
    ldap3.Connection.add, ldap3.Connection.modify = _ADD, _MODIFY
    delete_under(connect(v), v["tre_ad_projects_ou"], "(ou=P82*)")
    shutil.rmtree(params["initial_password_dir"])


if __name__ == "__main__":
    main()
