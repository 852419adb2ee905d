"""A project's life against the lab, `--today` stepping through it (issue 11, first half):
before the start, active, a suspended month, active again, ended (and so archived). At each
step AD is read back (userAccountControl, seat membership, the catalogue reader group's
nesting), `tre project show` gives the status, and a second apply changes nothing."""

from __future__ import annotations

import datetime

import pytest

from tests.integration.helpers import (
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

PROJECT = "7720"
ACCOUNTS = [f"p{PROJECT}.jdevries", f"p{PROJECT}.zvanthoff"]
SUBJECTS = ["GBAPERSOONTAB", "GBAADRESOBJECTBUS"]

#: (today, status, accounts enabled, seats held, reading the catalogue)
STEPS = [
    ("2026-01-15", "planned", False, False, False),
    ("2026-03-02", "active", True, True, True),
    ("2026-06-15", "suspended", False, True, True),  # access blocked, the rest intact
    ("2026-07-01", "active", True, True, True),  # enabled again the first day after
    # the day after the end: ended, and archived by the same apply (its live data removed
    # after the verified archive, tests/integration/test_archive.py)
    ("2027-02-01", "archived", False, False, False),
]


def _cn(dn: str) -> str:
    return dn.split(",", 1)[0][3:].lower()


def _read_back(conn, v: dict) -> dict:
    objects = ad_objects(conn, v["tre_ad_projects_ou"])
    members_dn = objects[f"p{PROJECT}-members"]["dn"].lower()
    return {
        "disabled": {a: bool(int(objects[a]["userAccountControl"]) & 2) for a in ACCOUNTS},
        "seats": {_cn(m) for m in objects["SW-MLWIN"].get("member", [])},
        "readers": {
            s: members_dn in {m.lower() for m in objects[f"DS-{s}"].get("member", [])}
            for s in SUBJECTS
        },
    }


def test_life_of_a_project_step_by_step(lab_inventory, tmp_path):
    v = lab_vars()
    clean_project(v, PROJECT)
    contract = example_contract(
        "9001-small.yaml",
        PROJECT,
        software=[{"package": "MLWIN", "from": datetime.date(2026, 2, 1)}],
        suspensions=[{"from": datetime.date(2026, 6, 1), "until": datetime.date(2026, 6, 30)}],
    )
    path = write_contract(tmp_path / f"{PROJECT}.yaml", contract)
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    conn = ad_connection(v)
    for today, status, enabled, seats, reading in STEPS:
        first = tre_json("apply", str(path), "--today", today, "--yes", env=env)
        ad = _read_back(conn, v)
        assert ad["disabled"] == {a: not enabled for a in ACCOUNTS}, today
        assert (set(ACCOUNTS) <= ad["seats"]) is seats, today
        assert not (set(ACCOUNTS) & ad["seats"]) or seats, today
        assert ad["readers"] == {s: reading for s in SUBJECTS}, today
        ops = {(c["op"], c["kind"]) for c in first["changes"]}
        if status == "suspended":
            assert ops == {("disable", "account")}, first["changes"]  # nothing else touched
        again = tre_json("apply", str(path), "--today", today, "--yes", env=env)
        assert again["changes"] == [], (today, again["changes"])
        show = tre_json("project", "show", PROJECT, env=env)["project"]
        assert (show["status"], show["status_on"]) == (status, today)
        listed = tre_json("project", "list", "--today", today, env=env)
        assert [r["status"] for r in listed if r["project"] == PROJECT] == [status]
    text = tre("project", "show", PROJECT, env=env).stdout
    assert "status      archived since 2027-02-01 (on 2027-02-01)" in text
    clean_project(v, PROJECT)


def test_late_extension_refused_unless_forced(lab_inventory, tmp_path):
    """Current end Sun 2027-01-31; 5 working days before it: Mon 2027-01-25."""
    project = "7721"
    v = lab_vars()
    clean_project(v, project)
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    path = tmp_path / f"{project}.yaml"
    write_contract(path, example_contract("9001-small.yaml", project))
    tre("apply", str(path), "--today", "2026-12-01", "--yes", env=env)
    later = example_contract("9001-small.yaml", project, end=datetime.date(2027, 6, 30))
    write_contract(path, later)
    refused = tre("apply", str(path), "--today", "2027-01-26", "--yes", env=env, check=False)
    assert refused.returncode == 1
    lines = [ln for ln in refused.stderr.splitlines() if "extension" in ln]
    assert len(lines) == 1 and "by 2027-01-25" in lines[0] and "--force" in lines[0]
    assert "Traceback" not in refused.stderr
    forced = tre_json("apply", str(path), "--today", "2027-01-26", "--yes", "--force", env=env)
    expires = {c["name"] for c in forced["changes"] if c["kind"] == "account"}
    assert expires == {f"p{project}.jdevries", f"p{project}.zvanthoff"}
    ledger = tre_json("project", "show", project, env=env)["ledger"]
    assert [(e["op"], e["kind"], e["name"]) for e in ledger if e["op"] == "force"] == [
        ("force", "revision", "extension-notice")
    ]
    again = tre_json("apply", str(path), "--today", "2027-01-27", "--yes", env=env)
    assert again["changes"] == []  # the extended end is the applied one now: nothing to force
    clean_project(v, project)
