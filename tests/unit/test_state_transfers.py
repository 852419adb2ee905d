"""The ``transfers`` table (both back ends): each file transferred once, the first record
kept, the paths handed back for the desired state, a killed run's journaled change too."""

from __future__ import annotations

import pytest

from provisioning.state import StateStore
from tests.state_fixtures import raw

COLUMNS = ["project", "from_project", "path", "size", "sha256", "transferred_at", "run_id"]


@pytest.fixture
def store(state_url):
    return StateStore(state_url)  # both back ends (tests/state_fixtures.py)


def _change(*paths: str, at: str = "2027-09-01T10:00:00+00:00") -> dict:
    entries = [{"path": p, "size": len(p), "sha256": f"{len(p):064x}"} for p in paths]
    return {
        "project": "7315",
        "op": "transfer",
        "kind": "files",
        "name": "P7302/Overzetten naar project 7315",
        "from_project": "7302",
        "at": at,
        "after": {"files": len(entries), "bytes": sum(e["size"] for e in entries),
                  "entries": entries},
    }  # fmt: skip


def test_the_table_has_the_agreed_columns(store):
    with raw(store.url) as db:
        cursor = db.execute("SELECT * FROM transfers LIMIT 0")
        assert [d[0] for d in cursor.description] == COLUMNS


def test_each_file_is_recorded_once_and_handed_back(store):
    assert store.transferred() == {}
    other = {"project": "7315", "op": "create", "kind": "folder", "name": "x"}
    assert store.record_transfers("r1", [_change("a.csv", "sub/b.txt"), other]) == 2
    store.record_transfers("r2", [_change("a.csv", "c.csv", at="2027-09-02T10:00:00+00:00")])
    assert store.transferred() == {"7315": {"7302": ["a.csv", "c.csv", "sub/b.txt"]}}
    rows = store.transfer_rows("7315")
    assert [(r["path"], r["run_id"]) for r in rows] == [
        ("a.csv", "r1"),  # the first record wins
        ("sub/b.txt", "r1"),
        ("c.csv", "r2"),
    ]
    assert [r["path"] for r in store.transfer_rows("7302")] == ["a.csv", "sub/b.txt", "c.csv"]
    assert store.transfer_rows("9999") == []
