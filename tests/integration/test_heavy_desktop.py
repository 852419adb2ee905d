"""The heavy desktop against the lab (issue 12): membership of HEAVY-DESKTOP stepping through
the days of two researchers' reservations (an extension included), read back from AD, the
second apply changing nothing, and the over-capacity warning of a plan."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from provisioning.policy import DEFAULT_POLICY
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

PROJECT = "7860"
D = datetime.date
RESERVATIONS = [
    {"researcher": "jdevries", "from": D(2026, 3, 1), "until": D(2026, 3, 10)},
    {"researcher": "jdevries", "from": D(2026, 3, 11), "until": D(2026, 3, 20)},  # extension
    {"researcher": "zvanthoff", "from": D(2026, 3, 5), "until": D(2026, 3, 8)},
]
#: (today, the project's accounts in HEAVY-DESKTOP)
STEPS = [
    ("2026-02-28", set()),
    ("2026-03-01", {"jdevries"}),
    ("2026-03-05", {"jdevries", "zvanthoff"}),
    ("2026-03-09", {"jdevries"}),
    ("2026-03-15", {"jdevries"}),  # the extension
    ("2026-03-21", set()),
]


def _holders(conn, v: dict) -> set[str]:
    group = ad_objects(conn, v["tre_ad_software_ou"]).get("HEAVY-DESKTOP") or {}
    ours = [m for m in group.get("member", []) if f",ou=p{PROJECT}," in m.lower()]
    return {m.split(",", 1)[0][3:].split(".", 1)[1] for m in ours}


def test_membership_follows_the_reservations_day_by_day(lab_inventory, tmp_path):
    v = lab_vars()
    clean_project(v, PROJECT)
    contract = example_contract("9001-small.yaml", PROJECT, heavy_desktop=RESERVATIONS)
    path = write_contract(tmp_path / f"{PROJECT}.yaml", contract)
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    conn = ad_connection(v)
    for today, holders in STEPS:
        first = tre_json("apply", str(path), "--today", today, "--yes", env=env)
        assert _holders(conn, v) == holders, today
        heavy = [c for c in first["changes"] if c["name"] == "HEAVY-DESKTOP" and c["project"]]
        assert all(c["project"] == PROJECT for c in heavy)
        shown = tre_json("project", "show", PROJECT, env=env)["seats"]  # from the ledger
        held = {s["group"]: s["held"] for s in shown}
        assert held.get("HEAVY-DESKTOP", 0) == len(holders), today
        again = tre_json("apply", str(path), "--today", today, "--yes", env=env)
        assert again["changes"] == [], (today, again["changes"])
    group = ad_objects(conn, v["tre_ad_software_ou"])["HEAVY-DESKTOP"]
    assert int(group["gidNumber"]) >= int(v.get("tre_ad_id_min", 200000))

    # over capacity: a policy keeping one place; the plan of 5 March warns, once
    policy = Path(tmp_path / "policy.yaml")
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    policy.write_text(
        text.replace("heavy_desktop_capacity: 4 ", "heavy_desktop_capacity: 1 "), "utf-8"
    )
    assert "heavy_desktop_capacity: 1 " in policy.read_text(encoding="utf-8")
    plan = tre("plan", str(path), "--today", "2026-03-05", "--policy", str(policy), env=env)
    warnings = [ln for ln in plan.stderr.splitlines() if "HEAVY-DESKTOP" in ln]
    assert len(warnings) == 1, plan.stderr
    assert "for 1 seats" in warnings[0] and f"held by project {PROJECT}" in warnings[0]
    quiet = tre("plan", str(path), "--today", "2026-03-21", "--policy", str(policy), env=env)
    assert "HEAVY-DESKTOP" not in quiet.stderr  # nobody of the project on it: not its concern
    clean_project(v, PROJECT)
    assert _holders(conn, v) == set()
