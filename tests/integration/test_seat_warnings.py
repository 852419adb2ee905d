"""A seat pool over capacity is shown once, in the plan of a project holding its seats, and
in `tre project show` (issue 9, item 16); never in every run of every project."""

from __future__ import annotations

import datetime

import pytest

from provisioning.policy import DEFAULT_POLICY
from tests.integration.conftest import TODAY
from tests.integration.helpers import (
    clean_project,
    example_contract,
    lab_vars,
    tre,
    write_contract,
)

pytestmark = pytest.mark.lab

WITHOUT, WITH = "7662", "7663"


def clean(v: dict) -> None:
    for p in (WITHOUT, WITH):
        clean_project(v, p)


def sas_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "SW-SAS" in ln]


def test_seat_warning_only_in_the_plan_of_a_project_holding_seats(lab_inventory, tmp_path):
    v = lab_vars()
    clean(v)
    policy = tmp_path / "policy.yaml"  # one SAS seat: the pool is over capacity
    text = DEFAULT_POLICY.read_text()
    assert "{name: SAS, billing: per_month, monthly: 571, min_months: 1, seats: 20}" in text
    policy.write_text(text.replace("min_months: 1, seats: 20}", "min_months: 1, seats: 1}"))
    without = write_contract(
        tmp_path / f"{WITHOUT}.yaml", example_contract("9001-small.yaml", WITHOUT)
    )
    sas = [{"package": "SAS", "from": datetime.date(2026, 11, 1)}]
    with_seats = write_contract(
        tmp_path / f"{WITH}.yaml", example_contract("9001-small.yaml", WITH, software=sas)
    )
    env = {
        "TRE_STATE": f"sqlite:///{tmp_path}/state.db",
        "TRE_HOME": str(tmp_path / "home"),
        "TRE_POLICY": str(policy),
    }
    # 7663 takes both seats of the pool (one seat): its plan says so, once
    applied = tre("apply", str(with_seats), "--today", TODAY, "--yes", env=env)
    # (the lab's pool also holds other projects' members: their number varies)
    [line] = sas_lines(applied.stderr)
    assert line.startswith("Warning: SW-SAS: ") and " members for 1 seats " in line
    assert line.endswith("; seats held by project 7663")

    # 7662 holds no seat: the full pool is none of its plan's business
    plan = tre("plan", str(without), "--today", TODAY, env=env)
    assert sas_lines(plan.stderr) == []

    show = tre("project", "show", WITH, env=env)
    assert "SW-SAS: 2 held by this project" in show.stdout
    assert [ln for ln in sas_lines(show.stderr) if ln.startswith("Warning:")] == [
        "Warning: SW-SAS: 2 members for 1 seats (over capacity by 1); seats held by project 7663"
    ]
    clean(v)
