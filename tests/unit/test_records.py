"""Run records (issue 9, item 13): private modes, no desired state kept, pruned in time."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal

from provisioning.errors import RunError
from provisioning.policy import load_policy
from provisioning.records import (
    forget_desired,
    new_run_dir,
    prune_run_records,
    run_started,
    secure_home,
)
from provisioning.state import LedgerEntry, StateStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def run_dir(home: Path, run_id: str) -> Path:
    path = home / "runs" / run_id / "artifacts"
    path.mkdir(parents=True)
    (path / "stdout").write_text("p9001.jdevries created\n")
    return path.parent


@pytest.fixture
def store(state_url):
    return StateStore(state_url)  # both back ends (tests/state_fixtures.py)


def test_old_run_records_are_pruned_and_the_ledger_stays(tmp_path, store):
    home = tmp_path / "home"
    old = "20260801T100000Z-0badc0de"  # 122 days before NOW
    edge = "20260902T130000Z-00000001"  # 89 days 23 hours: kept
    new = "20261130T100000Z-1a2b3c4d"
    killed = "20260701T100000Z-deadbeef"  # old, but not yet recovered
    for run_id in (old, edge, new, killed):
        run_dir(home, run_id)
    (home / "runs" / "notes").mkdir()  # not a run record: never touched
    store.start_run(old, "root", "apply", "2026-08-01", ["9001"])
    entry = LedgerEntry("t", "root", old, "9001", "dc", "create", "account", "p9001.a", {})
    store.record([entry])
    store.finish_run(old, "successful", str(home / "runs" / old))
    store.start_run(killed, "root", "apply", "2026-07-01", ["9001"])

    pruned = prune_run_records(home, store, 90, now=NOW)

    assert pruned == [old]
    left = sorted(p.name for p in (home / "runs").iterdir())
    assert left == sorted([edge, new, killed, "notes"])
    assert [e.name for e in store.ledger("9001")] == ["p9001.a"]
    assert [r["run_id"] for r in store.interrupted_runs()] == [killed]


def test_an_unrecorded_run_is_never_pruned(tmp_path, store):
    home = tmp_path / "home"
    run_id = "20250101T000000Z-00c0ffee"
    run_dir(home, run_id)
    store.start_run(run_id, "root", "apply", "2025-01-01", ["9001"])
    store.finish_run(run_id, "unrecorded", None)
    assert prune_run_records(home, store, 1, now=NOW) == []
    assert (home / "runs" / run_id).is_dir()


def test_no_runs_directory_prunes_nothing(tmp_path, store):
    assert prune_run_records(tmp_path / "fresh", store, 90, now=NOW) == []
    assert not (tmp_path / "fresh").exists()


def test_run_ids_give_their_start():
    assert run_started("20261201T101500Z-1a2b3c4d") == datetime(2026, 12, 1, 10, 15, tzinfo=UTC)
    assert run_started("20261201T101500Z-1a2b3c4d\n") is None
    assert run_started("notes") is None


def test_the_policy_holds_the_retention_of_run_records():
    assert load_policy().run_records_days == 90


def test_home_and_run_dirs_are_private_even_when_they_existed(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    private = new_run_dir(home, "20261201T101500Z-1a2b3c4d")
    for path in (home, home / "runs", private):
        assert path.stat().st_mode & 0o777 == 0o700, path


def test_a_shared_home_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    with pytest.raises(RunError, match="shared directory"):
        secure_home(shared)
    assert shared.stat().st_mode & 0o7777 == 0o1777


def test_the_desired_state_is_forgotten_after_the_run(tmp_path):
    env = tmp_path / "env"
    env.mkdir()
    (env / "extravars").write_text('{"tre_desired": {"projects": []}}')
    (env / "cmdline").write_text("--check")
    forget_desired(tmp_path)
    forget_desired(tmp_path)  # twice: nothing left to delete
    assert sorted(p.name for p in env.iterdir()) == ["cmdline"]


def test_journals_are_0600_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        journal = Journal(str(tmp_path / "journal" / "ad.jsonl"))
        journal.done([{"project": "9001", "op": "create", "kind": "account", "name": "a"}])
        journal.close()
    finally:
        os.umask(old)
    assert (tmp_path / "journal" / "ad.jsonl").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "journal").stat().st_mode & 0o777 == 0o700
