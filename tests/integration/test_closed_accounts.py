"""Accounts and groups of an ended project deleted `closed_account_days` (CBS policy: 90) after
the end (issue 11), against the lab: `--today` stepping end → day 89 → day 90, AD read back,
the second apply, the ledger, a kill -9 in the middle of the deletions, and the numbers of
the deleted objects never issued again (not even with the allocator set back)."""

from __future__ import annotations

import datetime
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ldap3 import BASE as LDAP_BASE
from ldap3 import MODIFY_REPLACE

from tests.integration.helpers import (
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
from tests.integration.test_kill_ledger import contract_of

pytestmark = pytest.mark.lab

PROJECT, FOLLOWER, AFTER_RESET, KILLED = "7850", "7851", "7852", "7853"
END = datetime.date(2027, 1, 31)  # 9001-small's end
DAY_89, DAY_90 = "2027-04-30", "2027-05-01"


def _env(tmp_path: Path) -> dict[str, str]:
    return {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}


def _in_ou(conn, v: dict, project: str) -> dict[str, dict]:
    """The accounts and groups in the project's OU (the OU itself left out)."""
    objects = ad_objects(conn, f"OU=P{project},{v['tre_ad_projects_ou']}")
    return {k: o for k, o in objects.items() if "organizationalUnit" not in o["objectClass"]}


def _numbers(objects: dict[str, dict]) -> set[int]:
    return {int(o[a]) for o in objects.values() for a in ("uidNumber", "gidNumber") if o.get(a)}


def _cns(group: dict) -> set[str]:
    return {m.split(",", 1)[0][3:].lower() for m in group.get("member", [])}


def _issued(tmp_path: Path, project: str) -> dict[str, int]:
    db = sqlite3.connect(tmp_path / "state.db")
    rows = db.execute("SELECT name, number FROM identities WHERE project = ?", (project,))
    return dict(rows.fetchall())


def _allocator(conn, v: dict, value: int | None = None) -> int:
    dn = f"CN=tre-id-allocator,{v['tre_ad_projects_ou']}"
    if value is not None:
        conn.modify(dn, {"gidNumber": [(MODIFY_REPLACE, [str(value)])]})
    conn.search(dn, "(objectClass=*)", LDAP_BASE, attributes=["gidNumber"])
    return int(conn.entries[0].gidNumber.value)


def test_deleted_at_day_90_never_before_and_numbers_never_reissued(lab_inventory, tmp_path):
    v = lab_vars()
    for project in (PROJECT, FOLLOWER, AFTER_RESET):
        clean_project(v, project)
    env = _env(tmp_path)
    conn = ad_connection(v)
    contract = example_contract(
        "9001-small.yaml",
        PROJECT,
        software=[{"package": "MLWIN", "from": datetime.date(2026, 2, 1)}],
    )
    path = write_contract(tmp_path / f"{PROJECT}.yaml", contract)
    tre("apply", str(path), "--today", "2026-12-01", "--yes", env=env)
    created = _in_ou(conn, v, PROJECT)
    sams = {f"p{PROJECT}.jdevries", f"p{PROJECT}.zvanthoff"}
    groups = {f"p{PROJECT}-members", f"p{PROJECT}-observers"}
    assert set(created) == sams | groups
    numbers = _numbers(created)
    assert _cns(ad_objects(conn, v["tre_ad_software_ou"])["SW-MLWIN"]) >= sams

    # ended, then day 89: disabled, nothing deleted
    tre("apply", str(path), "--today", "2027-02-01", "--yes", env=env)
    day_89 = tre_json("apply", str(path), "--today", DAY_89, "--yes", env=env)
    assert day_89["changes"] == []
    still = _in_ou(conn, v, PROJECT)
    assert set(still) == sams | groups
    assert all(int(still[s]["userAccountControl"]) & 2 for s in sams)

    # day 90: the plan lists every deletion, the apply does them
    plan = tre("plan", str(path), "--today", DAY_90, env=env).stdout
    deletes = sorted(re.findall(r"^\s+- delete\s+(account|group)\s+(\S+)", plan, re.M))
    assert deletes == sorted([("account", s) for s in sams] + [("group", g) for g in groups])
    assert f"Project {PROJECT} (ended):" in plan
    assert set(_in_ou(conn, v, PROJECT)) == sams | groups  # the plan deleted nothing
    applied = tre_json("apply", str(path), "--today", DAY_90, "--yes", env=env)
    ops = [(c["op"], c["kind"], c["name"]) for c in applied["changes"]]
    assert ops == [("delete", "account", s) for s in sorted(sams)] + [
        ("delete", "group", g) for g in sorted(groups)
    ]  # the memberships went at the end (2027-02-01): only the deletions are left
    assert _in_ou(conn, v, PROJECT) == {}
    assert ad_objects(conn, f"OU=P{PROJECT},{v['tre_ad_projects_ou']}")  # the OU stays
    readers = ad_objects(conn, v["tre_ad_projects_ou"])
    assert not any(
        f"ou=p{PROJECT}," in m.lower()
        for name, o in readers.items()
        if name.startswith(("DS-", "SW-", "HEAVY-"))
        for m in o.get("member", [])
    )
    assert tre_json("apply", str(path), "--today", DAY_90, "--yes", env=env)["changes"] == []
    assert tre_json("apply", str(path), "--today", "2027-08-01", "--yes", env=env)["changes"] == []

    # the ledger: each deletion once, with what was deleted
    ledger = tre_json("project", "show", PROJECT, env=env)["ledger"]
    deleted = {e["name"]: e["detail"]["before"] for e in ledger if e["op"] == "delete"}
    assert set(deleted) == sams | groups
    assert deleted[f"p{PROJECT}.jdevries"]["employeeID"] == "jdevries"
    assert {deleted[s]["uidNumber"] for s in sams} <= numbers
    assert sorted(deleted[f"p{PROJECT}-members"]["member"]) == sorted(sams)

    # the names and numbers stay issued: a new project never gets them
    issued = _issued(tmp_path, PROJECT)
    assert set(issued) == sams | groups and set(issued.values()) <= numbers
    follower = example_contract(
        "9001-small.yaml",
        FOLLOWER,
        start=datetime.date(2027, 5, 1),
        end=datetime.date(2028, 4, 30),
    )
    follower_path = write_contract(tmp_path / f"{FOLLOWER}.yaml", follower)
    tre("apply", str(follower_path), "--today", DAY_90, "--yes", env=env)
    follower_numbers = _numbers(_in_ou(conn, v, FOLLOWER))
    assert len(follower_numbers) == 4 and not follower_numbers & numbers
    assert min(follower_numbers) > max(numbers)

    # the allocator set back (restored from an old backup, recreated by hand): still no reuse
    clean_project(v, FOLLOWER)
    before_reset = _allocator(conn, v)
    _allocator(conn, v, min(numbers))
    after = example_contract(
        "9001-small.yaml",
        AFTER_RESET,
        start=datetime.date(2027, 5, 1),
        end=datetime.date(2028, 4, 30),
    )
    after_path = write_contract(tmp_path / f"{AFTER_RESET}.yaml", after)
    try:
        tre("apply", str(after_path), "--today", DAY_90, "--yes", env=env)
    finally:
        _allocator(conn, v, max(before_reset, _allocator(conn, v)))
    reset_numbers = _numbers(_in_ou(conn, v, AFTER_RESET))
    assert len(reset_numbers) == 4
    assert not reset_numbers & (numbers | follower_numbers)
    assert min(reset_numbers) > max(follower_numbers)
    for project in (PROJECT, FOLLOWER, AFTER_RESET):
        clean_project(v, project)


def _module_pids(mark: bytes, run_marker: str = "TRE_RUN_ID=") -> list[int]:
    """The tre_ad module processes of runs this test started (marked by the run id)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"tre_ad" in cmdline and run_marker.encode() in environ and mark in environ:
            pids.append(int(proc.name))
    return pids


def test_kill_9_in_the_middle_of_the_deletions_is_finished_by_the_next_apply(
    lab_inventory, tmp_path
):
    """The tre_ad module itself is killed (and tre with it) once some accounts are deleted:
    the next apply deletes the rest; AD and the ledger agree, every deletion once."""
    v = lab_vars()
    clean_project(v, KILLED)
    env = _env(tmp_path)  # TRE_STATE names tmp_path: it marks this test's processes
    conn = ad_connection(v)
    contract = dict(contract_of(int(KILLED)), end=datetime.date(2027, 6, 30))
    path = write_contract(tmp_path / f"{KILLED}.yaml", contract)
    tre("apply", str(path), "--today", "2027-01-01", "--yes", env=env)
    people = len(contract["researchers"])
    assert len(_in_ou(conn, v, KILLED)) == people + 2
    day_90 = (datetime.date(2027, 6, 30) + datetime.timedelta(days=90)).isoformat()

    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "tre"), "apply", str(path), "--today", day_90, "--yes"],
        cwd=REPO,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    left, modules = people + 2, []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        left = len(_in_ou(conn, v, KILLED))
        if 2 < left < people + 2:  # some accounts deleted, not all
            modules = _module_pids(str(tmp_path).encode())
            for pid in modules:
                os.kill(pid, signal.SIGKILL)
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait(timeout=30)
    assert 2 < left < people + 2, f"the kill did not land mid-deletion ({left} objects left)"
    assert modules, "no tre_ad module process found to kill"
    half_way = len(_in_ou(conn, v, KILLED))
    assert 0 < half_way < people + 2

    repair = tre("apply", str(path), "--today", day_90, "--yes", env=env, check=False)
    assert repair.returncode == 0, repair.stderr
    assert "was interrupted" in repair.stderr
    assert _in_ou(conn, v, KILLED) == {}
    ledger = tre_json("project", "show", KILLED, env=env)["ledger"]
    deleted = [e["name"] for e in ledger if e["op"] == "delete"]
    assert sorted(deleted) == sorted(set(deleted)), "a deletion recorded twice"
    assert len(deleted) == people + 2
    recovered = [e for e in ledger if e["op"] == "delete" and e["detail"].get("recovered")]
    assert tre_json("apply", str(path), "--today", day_90, "--yes", env=env)["changes"] == []
    print(
        f"P{KILLED}: tre_ad killed with {half_way} of {people + 2} objects left;"
        f" {len(recovered)} deletions recovered from the killed run's journal"
    )
    clean_project(v, KILLED)
