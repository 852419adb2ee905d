"""The AD benchmark compares equal work: its raw ldap3 side (``bench/bench_ad.py``
``raw_same_work``) creates exactly the objects tre_ad creates for the same desired state:
per project the OU, the accounts with a password, the members group holding them and the
observers group, with the same attributes (only the id numbers differ: tre allocates them).

Project 7680 in the lab; its OU and password files are removed before and after.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.tre.secenv.plugins.module_utils.tre_ldap import READ_ATTRIBUTES
from ldap3 import SUBTREE

from provisioning.desired import build_desired_state
from provisioning.ldap import inventory_params
from provisioning.policy import load_policy

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))  # the benchmarks are scripts, not a package

import bench_ad  # noqa: E402
import profile_ad  # noqa: E402
from common import synthetic_contract  # noqa: E402

pytestmark = pytest.mark.lab
PROJECT = 7680
IDS = {"uidnumber", "gidnumber"}
READ = [*READ_ATTRIBUTES, "pwdLastSet"]  # what tre_ad reads, and what it sets once


def _objects(conn: Any, ou: str) -> dict[str, dict[str, list[str]]]:
    """Every object under ``ou`` by DN: the attributes tre sets (id numbers only as present)."""
    conn.search(ou, "(objectClass=*)", SUBTREE, attributes=READ)
    found = {}
    for e in conn.response:
        if e.get("type") != "searchResEntry":
            continue
        attrs = {k.lower(): sorted(str(v) for v in vs) for k, vs in e["attributes"].items() if vs}
        found[e["dn"].lower()] = {
            k: (["<id>"] if k in IDS else [v.lower() for v in vs]) for k, vs in attrs.items()
        }
    return found


def _clean(conn: Any, v: dict) -> None:
    bench_ad.delete_under(conn, v["tre_ad_projects_ou"], f"(ou=P{PROJECT})")


def test_raw_same_work_creates_what_tre_creates(lab_inventory, tmp_path: Path):
    v = dict(lab_inventory.vars)
    desired = build_desired_state(
        [synthetic_contract(PROJECT, 4)], load_policy(), date(2026, 12, 1)
    )
    desired["software"] = {}  # seat groups are shared: neither side touches them
    desired.pop("heavy_desktop")  # nor the heavy desktop's group
    ou = f"OU=P{PROJECT},{v['tre_ad_projects_ou']}"
    conn = bench_ad.connect(v)
    try:
        _clean(conn, v)
        accounts, seconds = bench_ad.raw_same_work(conn, v, desired)
        raw = _objects(conn, ou)
        _clean(conn, v)
        params = {
            **inventory_params(v),
            "initial_password_dir": str(tmp_path / "initial"),
            "desired": desired,
            "journal": None,
        }
        result = profile_ad.tre_ad.reconcile(profile_ad._Module(params))
        tre = _objects(conn, ou)
    finally:
        _clean(conn, v)
        conn.unbind()
    assert accounts == 4 and seconds > 0
    creates = sorted(c["kind"] for c in result["changes"] if c["op"] == "create")
    assert creates == ["account"] * 4 + ["group"] * 2 + ["ou"]
    assert len(tre) == 7 and sorted(raw) == sorted(tre)
    for dn in tre:
        assert raw[dn] == tre[dn], dn
