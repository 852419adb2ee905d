"""The state store on both back ends (SQLite; PostgreSQL in the lab: ``pytest -m lab``)."""

import pytest

from provisioning.errors import StateError
from provisioning.identity import Identity
from provisioning.state import LedgerEntry, StateStore, sqlite_path
from tests.state_fixtures import raw


@pytest.fixture
def store(state_url):
    s = StateStore(state_url)
    yield s
    s.close()


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


def test_ledger_is_append_only(store, state_url):
    store.record([entry(), entry("enable")])
    assert [e.op for e in store.ledger("9001")] == ["create", "enable"]
    with raw(state_url) as db:
        for sql in ("DELETE FROM ledger", "UPDATE ledger SET op = 'x'"):
            with pytest.raises(Exception, match="append-only"):
                db.execute(sql)
        if store.dialect == "postgresql":  # TRUNCATE skips row triggers: refused too
            with pytest.raises(Exception, match="append-only"):
                db.execute("TRUNCATE ledger")
    assert [e.op for e in store.ledger("9001")] == ["create", "enable"]


def test_an_issued_identity_never_changes(store, state_url):
    assert store.issue([Identity("account", "p9001.a", "9001", "a", 200001)], "r1") == []
    with raw(state_url) as db:
        for sql in ("DELETE FROM identities", "UPDATE identities SET number = 1"):
            with pytest.raises(Exception, match="never changes"):
                db.execute(sql)
    (kept,) = store.identities().records
    assert kept.number == 200001


def test_revisions_are_recorded_once_per_content(store):
    summary = {"project": "9001", "title": "T", "start": "2026-02-01", "end": "2028-01-31"}
    store.save_revision(summary, "aaa", "r1", "a.yaml", {"start": "2026-02-01"})
    store.save_revision(summary, "aaa", "r2", "a.yaml", {"start": "2026-02-01"})
    store.save_revision(summary, "bbb", "r3", "a.yaml", {"start": "2026-02-01"})
    assert [r["revision"] for r in store.revisions("9001")] == ["aaa", "bbb"]
    assert store.last_revision("9001")["run_id"] == "r3"
    assert store.project("9001")["title"] == "T"


def test_runs_and_interrupted_runs(store):
    store.start_run("r1", "alice", "apply", "2026-12-01", ["9001"])
    store.start_run("r2", "bob", "apply", "2026-12-01", ["9002"])
    store.finish_run("r2", "successful", "/x")
    assert [r["run_id"] for r in store.interrupted_runs()] == ["r1"]
    store.record([entry()])
    assert not store.run_recorded("r2") and store.run_recorded("r1")


def test_state_file_is_private(tmp_path):
    StateStore(f"sqlite:///{tmp_path}/state.db").close()
    assert (tmp_path / "state.db").stat().st_mode & 0o077 == 0


def test_url_shapes():
    assert str(sqlite_path("sqlite:////var/lib/tre/state.db")) == "/var/lib/tre/state.db"
    with pytest.raises(StateError, match="not an SQLite store"):
        sqlite_path("postgresql://db/tre")
    with pytest.raises(StateError, match="'mysql' is not supported"):
        sqlite_path("mysql://db/tre")
