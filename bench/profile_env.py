"""Where the time of the whole-environment no-change plan goes, part by part, in-process.

Takes the work directory of a kept ``bench/bench_env.py --keep`` run (contracts, state) and
times, without Ansible: reading the contracts and building the desired state (tre's own
part of ``tre plan``), then each module of site.yml in check mode, called the way Ansible
calls it (its arguments as JSON through ``AnsibleModule``, its result printed as JSON).

    python bench/profile_env.py WORKDIR [--profile PART] [--top 25]

``--profile tre|ad|storage|ossc`` prints cProfile's top functions (by own time) of that part.
Changes nothing (check mode); reads the lab's inventory.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import pstats
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from common import INVENTORY, lab_vars

from provisioning.ldap import inventory_params  # also makes the collection importable

TODAY = date(2026, 12, 1)


def timed(name: str, profile: str | None, top: int, fn: Callable[[], Any]) -> Any:
    prof = cProfile.Profile() if profile == name else None
    started = time.perf_counter()
    if prof:
        prof.enable()
    result = fn()
    if prof:
        prof.disable()
    print(f"{time.perf_counter() - started:7.2f} s  {name}", flush=True)
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
        print(out.getvalue())
    return result


def tre_part(work: Path) -> dict:
    from provisioning.contract import load_contracts
    from provisioning.orchestrate import prepare
    from provisioning.policy import load_policy
    from provisioning.runner import encode_desired
    from provisioning.state import StateStore

    policy = load_policy()
    contracts = load_contracts([work / "contracts"], policy)
    store = StateStore(f"sqlite:///{work}/state.db")
    desired = prepare(contracts, policy, TODAY, store).desired
    encode_desired(desired)
    return desired


def run_module(main: Callable[[], None], args: dict) -> dict:
    """One module call as Ansible makes it: arguments as JSON in, the result as JSON out."""
    from ansible.module_utils import basic

    payload = {"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": True, "_ansible_diff": True}}
    basic._ANSIBLE_ARGS = json.dumps(payload).encode()
    basic._ANSIBLE_PROFILE = "legacy"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main()
    result = json.loads(out.getvalue())
    if result.get("failed"):
        sys.exit(f"module failed: {result.get('msg')}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("--profile", choices=("tre", "ad", "storage", "ossc"))
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    v = lab_vars()
    from ansible_collections.tre.secenv.plugins.modules import (
        tre_ad,
        tre_ossc_handoff,
        tre_storage,
    )

    from provisioning.runner import encode_desired

    desired = timed("tre", args.profile, args.top, lambda: tre_part(args.work))
    b64 = encode_desired(desired)  # as site.yml passes it (desired_b64)
    print(f"          desired state: {len(desired['projects'])} projects, {len(b64):,} base64")
    ad_args = {
        **inventory_params(v),
        "initial_password_dir": v["tre_initial_password_dir"],
        "desired_b64": b64,
    }
    ad = timed("ad", args.profile, args.top, lambda: run_module(tre_ad.main, ad_args))
    storage_args = {
        "desired_b64": b64,
        "ids": ad["ids"],
        "projects_root": v["tre_projects_root"],
        "workspaces_root": v["tre_workspaces_root"],
        "catalog_root": v["tre_catalog_root"],
        "id_min": v["tre_ad_id_min"],
    }
    storage = timed(
        "storage", args.profile, args.top, lambda: run_module(tre_storage.main, storage_args)
    )
    ossc_args = {
        "desired_b64": b64,
        "host": v["tre_ossc_host"],
        "port": v["tre_ossc_port"],
        "user": v["tre_ossc_user"],
        "key_file": v["tre_ossc_key_file"],
        "known_hosts": str(INVENTORY / "known_hosts"),
        "inbox": v["tre_ossc_inbox"],
    }
    timed("ossc", args.profile, args.top, lambda: run_module(tre_ossc_handoff.main, ossc_args))
    changes = len(ad["changes"]) + len(storage["changes"])
    print(f"          changes planned: {changes} (a no-change plan has 0)")


if __name__ == "__main__":
    main()
