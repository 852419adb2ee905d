import sqlite3

import pytest

from provisioning.errors import StateError
from provisioning.state import LedgerEntry, StateStore, sqlite_path


@pytest.fixture
def store(tmp_path):
    return StateStore(f"sqlite:///{tmp_path}/state.db")


def entry(op="create", name="p9001.jdevries"):
    return LedgerEntry(
        "2026-11-27T10:00:00+00:00",
        "root",
        "r1",
        "9001",
        "dc1",
        op,
        "account",
        name,
        {"dn": "CN=x"},
    )


def test_ledger_is_append_only(store, tmp_path):
    store.record([entry(), entry("enable")])
    assert [e.op for e in store.ledger("9001")] == ["create", "enable"]
    db = sqlite3.connect(tmp_path / "state.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM ledger")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE ledger SET op = 'x'")


def test_revisions_are_recorded_once_per_content(store):
    summary = {"project": "9001", "title": "T", "start": "2026-02-01", "end": "2028-01-31"}
    store.save_revision(summary, "aaa", "r1", "a.yaml", {"start": "2026-02-01"})
    store.save_revision(summary, "aaa", "r2", "a.yaml", {"start": "2026-02-01"})
    store.save_revision(summary, "bbb", "r3", "a.yaml", {"start": "2026-02-01"})
    assert [r["revision"] for r in store.revisions("9001")] == ["aaa", "bbb"]
    assert store.last_revision("9001")["run_id"] == "r3"
    assert store.project("9001")["title"] == "T"


def test_state_file_is_private(store, tmp_path):
    assert (tmp_path / "state.db").stat().st_mode & 0o077 == 0


def test_url_shapes():
    assert str(sqlite_path("sqlite:////var/lib/tre/state.db")) == "/var/lib/tre/state.db"
    with pytest.raises(StateError, match="not an SQLite store"):
        sqlite_path("postgresql://db/tre")
    with pytest.raises(StateError, match="'mysql' is not supported"):
        sqlite_path("mysql://db/tre")
