"""Run records are private (issue 9, item 13): a plan with a fresh home, then an apply, leave
nothing under the home that others can read, and no run keeps the desired state."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.integration.conftest import TODAY
from tests.integration.helpers import (
    clean_project,
    example_contract,
    lab_vars,
    tre,
    write_contract,
)

pytestmark = pytest.mark.lab

PROJECT = "7661"


def not_private(home: Path) -> list[str]:
    """Every path under ``home`` (itself included) whose mode is not 0700 / 0600."""
    wrong = []
    for path in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        want = 0o700 if path.is_dir() else 0o600
        if mode & 0o077 or (path.is_dir() and mode != want):
            wrong.append(f"{path.relative_to(home.parent)} {mode:o}")
    return wrong


def test_plan_then_apply_with_a_fresh_home_leave_only_private_records(lab_inventory, tmp_path):
    v = lab_vars()
    clean_project(v, PROJECT)
    contract = example_contract("9001-small.yaml", PROJECT)
    path = write_contract(tmp_path / f"{PROJECT}.yaml", contract)
    home = tmp_path / "admin" / "tre-home"  # does not exist yet: plan creates it
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state/state.db", "TRE_HOME": str(home)}
    old = os.umask(0o022)  # an ordinary admin shell
    try:
        tre("plan", str(path), "--today", TODAY, env=env)
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        assert not_private(home) == []
        tre("apply", str(path), "--today", TODAY, "--yes", env=env)
    finally:
        os.umask(old)
    journals = list(home.glob("runs/*/journal/*.jsonl"))
    assert journals  # the apply's modules journaled its changes
    assert not_private(home) == []
    assert not_private(tmp_path / "state") == []
    runs = list((home / "runs").iterdir())
    assert len(runs) == 3  # plan, apply's plan, apply
    assert not list(home.glob("runs/*/env/extravars"))  # the desired state is not kept

    # A record older than the policy's 90 days goes at the start of the next plan.
    old = home / "runs" / "20200101T000000Z-0badc0de"
    (old / "artifacts").mkdir(parents=True)
    tre("plan", str(path), "--today", TODAY, env=env)
    assert not old.exists() and all(r.is_dir() for r in runs)
    clean_project(v, PROJECT)
