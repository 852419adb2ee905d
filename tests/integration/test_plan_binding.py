"""Irreversible steps are bound to the plan the operator confirmed (docs/safety.md).

``tre apply`` shows the plan, asks, then runs for real. An account that appears in a closed
project's OU while the operator reads the plan (provably the project's by its name, so the
next plan would list it) is not deleted by this apply: the apply deletes exactly what the
confirmed plan listed, warns about the rest, and the next plan shows it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import (
    INVENTORY,
    REPO,
    ad_connection,
    ad_objects,
    clean_project,
    example_contract,
    lab_vars,
    tre,
    tre_json,
    write_contract,
)

pytestmark = pytest.mark.lab

PROJECT = "8160"
DAY_90 = "2027-05-01"  # 9001-small ends 2027-01-31; closed_account_days 90


def _accounts(conn, v: dict) -> set[str]:
    objects = ad_objects(conn, f"OU=P{PROJECT},{v['tre_ad_projects_ou']}")
    return {name for name, o in objects.items() if "user" in o["objectClass"]}


def _apply_after_prompt(env: dict[str, str], path: Path, between) -> tuple[str, str, int]:
    """``tre apply`` as an operator runs it: wait for the question, do ``between`` (what
    happens while the plan is read), answer yes."""
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "tre"), "apply", str(path), "--today", DAY_90],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"TRE_INVENTORY": str(INVENTORY), **os.environ, **env},
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdin is not None
    shown = b""
    while b"Apply these changes?" not in shown:
        byte = proc.stdout.read(1)
        assert byte, f"tre apply ended before asking: {shown.decode()[-400:]}"
        shown += byte
    between()
    out, err = proc.communicate(b"y\n", timeout=600)
    return (shown + out).decode(), err.decode(), proc.returncode


def test_apply_deletes_only_what_the_confirmed_plan_listed(lab_inventory, tmp_path):
    v = lab_vars()
    clean_project(v, PROJECT)
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    conn = ad_connection(v)
    path = write_contract(tmp_path / "c.yaml", example_contract("9001-small.yaml", PROJECT))
    tre("apply", str(path), "--today", "2026-12-01", "--yes", env=env)
    tre("apply", str(path), "--today", "2027-02-01", "--yes", env=env)  # ended: disabled
    people = _accounts(conn, v)
    assert len(people) == 2
    late = f"p{PROJECT}.late"
    late_dn = f"CN={late},OU=P{PROJECT},{v['tre_ad_projects_ou']}"

    def account_appears() -> None:
        conn.add(
            late_dn,
            ["top", "person", "organizationalPerson", "user"],
            {"sAMAccountName": late, "userAccountControl": "514"},
        )
        assert conn.result["result"] == 0, conn.result

    try:
        shown, err, rc = _apply_after_prompt(env, path, account_appears)
        assert rc == 0, err
        assert late not in shown.split("Apply these changes?")[0]  # not in the plan read
        assert _accounts(conn, v) == {late}  # the planned ones went, the late one stayed
        assert f"delete account {late} was not in the confirmed plan" in shown + err
        ledger = tre_json("project", "show", PROJECT, env=env)["ledger"]
        deleted = {e["name"] for e in ledger if e["op"] == "delete" and e["kind"] == "account"}
        assert deleted == people  # exactly the plan's deletions are in the ledger

        # the next plan shows it; confirmed, it goes
        plan = tre("plan", str(path), "--today", DAY_90, env=env).stdout
        assert f"delete account {late}" in " ".join(plan.split())
        tre("apply", str(path), "--today", DAY_90, "--yes", env=env)
        assert _accounts(conn, v) == set()
        deleted = [e["name"] for e in tre_json("project", "show", PROJECT, env=env)["ledger"]]
        assert deleted.count(late) == 1
    finally:
        clean_project(v, PROJECT)
