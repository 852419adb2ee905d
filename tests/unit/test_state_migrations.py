"""Versioned migrations on both back ends: a store made before versions is brought up to
date (its ledger rows get their hash chain), an un-migrated PostgreSQL store and a newer
schema are refused in one line, `tre state migrate` says what it did."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from provisioning.cli import cli
from provisioning.state import SCHEMA_VERSION, StateStore, migrate
from provisioning.state import migrations as m
from tests.state_fixtures import raw

#: The schema of the stores made before migrations existed (provisioning/state.py then).
LEGACY = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, started TEXT NOT NULL, finished TEXT,
    actor TEXT NOT NULL, mode TEXT NOT NULL, today TEXT NOT NULL, status TEXT NOT NULL,
    projects TEXT NOT NULL, artifacts TEXT);
CREATE TABLE revisions (id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT NOT NULL,
    revision TEXT NOT NULL, applied_at TEXT NOT NULL, run_id TEXT NOT NULL, source TEXT,
    contract TEXT NOT NULL);
CREATE TABLE projects (project TEXT PRIMARY KEY, title TEXT, start TEXT, "end" TEXT,
    retention_years INTEGER, status TEXT NOT NULL, ossc_end TEXT,
    ossc_destruction_deadline TEXT, updated TEXT NOT NULL, status_on TEXT);
CREATE TABLE ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
    actor TEXT NOT NULL, run_id TEXT NOT NULL, project TEXT, host TEXT, op TEXT NOT NULL,
    kind TEXT NOT NULL, name TEXT, detail TEXT NOT NULL);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
CREATE TABLE identities (kind TEXT NOT NULL, name TEXT NOT NULL, project TEXT, person TEXT,
    number INTEGER NOT NULL, issued_at TEXT NOT NULL, run_id TEXT NOT NULL,
    PRIMARY KEY (kind, name), UNIQUE (kind, number));
"""
ROW = (
    "INSERT INTO ledger (at, actor, run_id, project, host, op, kind, name, detail) VALUES"
    " ('2026-01-0{0}T00:00:00+00:00', 'root', 'r{0}', '9001', 'dc', 'create', 'account',"
    " 'p9001.u{0}', '{{\"n\": {0}}}')"
)


def tre(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_a_store_made_before_versions_is_migrated_when_opened(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(LEGACY)
    for i in (1, 2, 3):
        db.execute(ROW.format(i))
    db.commit()
    db.close()
    store = StateStore(f"sqlite:///{path}")  # the embedded default migrates itself
    verdict = store.verify_ledger()
    assert verdict.ok and verdict.rows == 3
    assert [e.name for e in store.ledger()] == ["p9001.u1", "p9001.u2", "p9001.u3"]
    with raw(store.url) as db, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE ledger SET op = 'x'")  # the triggers are back after the chain
    assert tre("state", "migrate", "--state", store.url).output.endswith(
        f"at schema version {SCHEMA_VERSION}, nothing to do\n"
    )


def test_existing_ledger_rows_get_the_chain_in_the_migration(empty_url, monkeypatch):
    """A store at version 2 (before the chain) with rows: migrating chains them, in order."""
    with monkeypatch.context() as before_chain:
        before_chain.setattr(m, "MIGRATIONS", m.MIGRATIONS[:2])
        before_chain.setattr(m, "SCHEMA_VERSION", 2)
        migrate(empty_url)
    with raw(empty_url) as db:
        for i in (1, 2, 3, 4):
            db.execute(ROW.format(i))
    before, done = migrate(empty_url)
    assert before == 2 and [v for v, _ in done] == list(range(3, SCHEMA_VERSION + 1))
    store = StateStore(empty_url)
    verdict = store.verify_ledger()
    assert verdict.ok and verdict.rows == 4, verdict
    with raw(empty_url) as db, pytest.raises(Exception, match="append-only"):
        db.execute("DELETE FROM ledger")


@pytest.mark.lab
def test_an_unmigrated_postgresql_store_is_refused_until_migrated(lab_inventory):
    from tests.state_fixtures import pg_database

    with pg_database() as url:
        r = tre("project", "list", "--state", url)
        assert r.exit_code == 1
        assert r.output == (
            f"Error: the state store {url} has schema version 0, this tre needs"
            f" {SCHEMA_VERSION}: run `tre state migrate`\n"
        )
        r = tre("state", "migrate", "--state", url)
        assert r.exit_code == 0, r.output
        lines = r.output.splitlines()
        assert lines[0] == "applied migration 1: runs, revisions, projects, ledger, identities"
        assert lines[-1] == f"{url}: schema version 0 → {SCHEMA_VERSION}"
        assert tre("project", "list", "--state", url).exit_code == 0
        again = tre("state", "migrate", "--state", url)
        assert again.output == f"{url}: at schema version {SCHEMA_VERSION}, nothing to do\n"


def test_a_newer_schema_is_refused_in_one_line(state_url):
    with raw(state_url) as db:
        db.execute(
            "INSERT INTO schema_migrations (version, name, applied_at)"
            " VALUES (99, 'from the future', '2030-01-01')"
        )
    for args in (("state", "migrate"), ("project", "list"), ("ledger", "verify")):
        r = tre(*args, "--state", state_url)
        assert r.exit_code == 1, (args, r.output)
        (line,) = r.output.splitlines()
        assert line.endswith(
            f"has schema version 99, newer than this tre knows ({SCHEMA_VERSION}): upgrade tre"
        ), line
    with raw(state_url) as db:  # refused untouched
        rows = db.execute("SELECT MAX(version) FROM schema_migrations").fetchall()
    assert rows[0][0] == 99


def test_portable_ddl_as_postgresql_spells_it():
    ddl = (
        "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER,"
        " r REAL, k TEXT)"
    )
    assert m.portable(ddl, "postgresql") == (
        "CREATE TABLE IF NOT EXISTS t (id BIGSERIAL PRIMARY KEY, n BIGINT,"
        " r DOUBLE PRECISION, k TEXT)"
    )
    assert m.portable(ddl, "sqlite") == ddl


def test_migrations_are_numbered_in_order():
    assert [x.version for x in m.MIGRATIONS] == list(range(1, len(m.MIGRATIONS) + 1))
    assert m.MIGRATIONS[-1].version == SCHEMA_VERSION
