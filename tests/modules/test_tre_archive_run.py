"""``tre_archive_run.archive_project`` end to end on the test's own directories, with a local
archive store and a recording quota backend (the lab tests run it on btrfs over SFTP):

- the steps in order (archive, verify, remove subvolume, remove each workspace), journaled;
- bound to the confirmed plan (docs/safety.md): a workspace whose removal was not confirmed
  stays, with one warning; a subvolume not confirmed keeps the workspaces too;
- a failed verification is journaled as done the moment it fails (a kill after it loses
  nothing), nothing is removed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_archive_run as run_mod
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import (
    LocalArchiveStore,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal

NR = "8230"


class _Backend:
    """The quota backend's read side from the directories, and the removals it was asked."""

    def __init__(self, roots: run_mod.Roots) -> None:
        self.roots = roots
        self.deleted: list[str] = []

    def read_all(self, root: str) -> dict:
        return {str(p): (1000, None) for p in Path(root).iterdir() if str(p) not in self.deleted}

    def is_unit(self, path: str) -> bool:
        return path not in self.deleted

    def subvolume_ids(self, root: str) -> dict:
        return {}

    def delete_unit(self, path: str) -> list[str]:
        self.deleted.append(path)
        return [path]


@pytest.fixture
def setting(tmp_path: Path):
    roots = run_mod.Roots(str(tmp_path / "projects"), str(tmp_path / "home"))
    top = tmp_path / "projects" / f"P{NR}"
    (top / "archive").mkdir(parents=True)
    (top / "OtherData").mkdir()
    (top / "archive" / "a.zip").write_bytes(os.urandom(1000))
    (top / "OtherData" / "t.csv").write_text("x;y\n")
    for sam in ("p8230.a", "p8230.b"):
        (tmp_path / "home" / sam).mkdir(parents=True)
    (tmp_path / "archive").mkdir(mode=0o700)
    project = {
        "project": NR,
        "status": "ended",
        "start": "2026-01-01",
        "end": "2026-12-31",
        "accounts": [{"sam": "p8230.a"}, {"sam": "p8230.b"}],
    }
    store = LocalArchiveStore(str(tmp_path / "archive"))
    return roots, project, store, _Backend(roots), tmp_path / "journal.jsonl"


def _archive(setting, confirmed=None, check=False) -> run_mod.Report:
    roots, project, store, backend, journal_path = setting
    rep = run_mod.Report()
    journal = Journal(str(journal_path))
    try:
        run_mod.archive_project(
            project, "2027-01-01", roots, lambda: store, backend, journal, check, rep, confirmed
        )
    finally:
        journal.close()
    return rep


def _journal(setting) -> list[dict]:
    path = setting[4]
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _confirmed(*names: tuple[str, str]) -> set:
    return {(NR, "remove", kind, name) for kind, name in names}


def test_steps_in_order_and_journaled(setting):
    rep = _archive(setting)
    assert [(c["op"], c["kind"], c["name"]) for c in rep.changes] == [
        ("archive", "archive", f"P{NR}"),
        ("verify", "archive", f"P{NR}"),
        ("remove", "subvolume", f"P{NR}"),
        ("remove", "workspace", "p8230.a"),
        ("remove", "workspace", "p8230.b"),
    ]
    assert [e["journal"] for e in _journal(setting)] == ["intent", "done"] * 5
    assert setting[2].is_complete(NR) and rep.verified[0]["result"] == "ok"


def test_a_removal_outside_the_confirmed_plan_is_left_alone(setting):
    roots, _project, _store, backend, _ = setting
    confirmed = _confirmed(("subvolume", f"P{NR}"), ("workspace", "p8230.a"))
    rep = _archive(setting, confirmed)
    assert backend.deleted == [f"{roots.projects}/P{NR}", f"{roots.workspaces}/p8230.a"]
    assert rep.warnings == [
        f"P{NR}: remove workspace p8230.b was not in the confirmed plan; left alone"
        " (the next plan shows it)"
    ]


def test_an_unconfirmed_subvolume_keeps_the_workspaces(setting):
    _roots, _project, store, backend, _ = setting
    rep = _archive(setting, _confirmed(("workspace", "p8230.a"), ("workspace", "p8230.b")))
    assert backend.deleted == []
    assert store.is_complete(NR)  # archived and verified: reversible, not bound
    assert [c["op"] for c in rep.changes] == ["archive", "verify"]
    assert len(rep.warnings) == 1 and "remove subvolume P8230" in rep.warnings[0]


def test_a_failed_verification_is_journaled_at_once_and_nothing_removed(setting, monkeypatch):
    monkeypatch.setenv(run_mod.TEST_HOOK, "flip")
    rep = _archive(setting)
    assert setting[3].deleted == []
    assert rep.failed and "differ from the manifest" in rep.failed[0]["reason"]
    done = [e for e in _journal(setting) if e["journal"] == "done"]
    assert [(e["op"], e.get("result", "")[:7]) for e in done] == [
        ("archive", ""),
        ("verify", "failed:"),
    ]
    assert done[1]["name"] == f"P{NR}" and done[1]["at"] == rep.verified[0]["at"]
