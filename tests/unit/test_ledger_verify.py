"""`tre ledger verify` on both back ends: an intact chain passes; an edited, a deleted and an
inserted row (made through a copy without triggers on SQLite, with the triggers disabled on
PostgreSQL: what an admin with database rights could do) each fail, naming the row."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from click.testing import CliRunner

from provisioning.cli import cli
from provisioning.state import LedgerEntry, StateStore, sqlite_path
from provisioning.state.ledger import GENESIS, entry_hash
from tests.state_fixtures import raw


def entry(i: int) -> LedgerEntry:
    detail = {"dn": f"CN=p9001.u{i},OU=P9001", "n": i, "naam": "Zoë"}
    return LedgerEntry(
        f"2026-12-01T10:00:0{i}+00:00", "root", "r1", "9001", "dc", "create", "account",
        f"p9001.u{i}", detail,
    )  # fmt: skip


@pytest.fixture
def ledger_url(state_url) -> str:
    """A store whose ledger holds rows 1-5 (two appends: the chain spans them)."""
    store = StateStore(state_url)
    store.record([entry(1), entry(2)])
    store.record([entry(3), entry(4), entry(5)])
    store.close()
    return state_url


@contextmanager
def untriggered(url: str, tmp_path) -> Iterator[tuple[object, str]]:
    """A connection that can change the ledger, and the URL of the store it changes."""
    if url.startswith("postgresql://"):
        with raw(url) as db:
            db.execute("ALTER TABLE ledger DISABLE TRIGGER USER")
            try:
                yield db, url
            finally:
                db.execute("ALTER TABLE ledger ENABLE TRIGGER USER")
        return
    copy = tmp_path / "tampered.db"
    with sqlite3.connect(sqlite_path(url)) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    db = sqlite3.connect(copy, isolation_level=None)
    for name in ("ledger_no_update", "ledger_no_delete"):
        db.execute(f"DROP TRIGGER {name}")
    try:
        yield db, f"sqlite:///{copy}"
    finally:
        db.close()


def verify(url: str, *extra: str):
    return CliRunner().invoke(cli, ["ledger", "verify", "--state", url, *extra])


def test_an_intact_chain_verifies(ledger_url):
    r = verify(ledger_url)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0].endswith(": 5 entries, chain intact")
    out = json.loads(verify(ledger_url, "--json").output)
    assert out["ok"] and out["rows"] == 5 and out["problem"] is None
    with raw(ledger_url) as db:  # the head is the last row's hash, as stored
        (last,) = db.execute("SELECT sha256 FROM ledger ORDER BY id DESC LIMIT 1").fetchall()
    assert out["head"] == last[0] != GENESIS


def test_the_hash_is_over_the_content_and_the_previous_hash(ledger_url):
    with raw(ledger_url) as db:
        rows = db.execute(
            "SELECT at, actor, run_id, project, host, op, kind, name, detail, prev_sha256,"
            " sha256 FROM ledger ORDER BY id"
        ).fetchall()
    prev = GENESIS
    for row in rows:
        assert row[9] == prev and row[10] == entry_hash(list(row[:9]), prev)
        prev = row[10]


def test_an_edited_row_is_named(ledger_url, tmp_path):
    with untriggered(ledger_url, tmp_path) as (db, url):
        db.execute("UPDATE ledger SET name = 'p9001.someone' WHERE id = 3")
        r = verify(url)
        assert r.exit_code == 1
        assert r.output.splitlines() == [
            f"ledger of {StateStore(url).where}: row 3 was edited: its content no longer"
            " matches its sha256"
        ]
        problem = json.loads(verify(url, "--json").output)["problem"]
        assert (problem["id"], problem["what"]) == (3, "edited")


def test_a_deleted_row_is_named(ledger_url, tmp_path):
    with untriggered(ledger_url, tmp_path) as (db, url):
        db.execute("DELETE FROM ledger WHERE id = 2")
        r = verify(url)
        assert r.exit_code == 1
        assert "row(s) deleted before row 3: its prev_sha256 does not match row 1" in r.output
        problem = json.loads(verify(url, "--json").output)["problem"]
        assert (problem["id"], problem["what"]) == (3, "deleted")


def test_an_inserted_row_is_named(ledger_url, tmp_path):
    """Rows from 3 on moved up one, a made-up row put in as 3 with row 2's hashes."""
    with untriggered(ledger_url, tmp_path) as (db, url):
        db.execute("UPDATE ledger SET id = id + 1000 WHERE id >= 3")
        db.execute("UPDATE ledger SET id = id - 999 WHERE id >= 1000")
        db.execute(
            "INSERT INTO ledger (id, at, actor, run_id, project, host, op, kind, name, detail,"
            " prev_sha256, sha256) SELECT 3, at, actor, run_id, project, host, 'delete', kind,"
            " 'p9001.u9', detail, prev_sha256, sha256 FROM ledger WHERE id = 2"
        )
        r = verify(url)
        assert r.exit_code == 1
        assert "row 3 was inserted: the next row 4 links to row 2, not to it" in r.output
        problem = json.loads(verify(url, "--json").output)["problem"]
        assert (problem["id"], problem["what"]) == (3, "inserted")


def test_appends_after_tampering_do_not_hide_it(ledger_url, tmp_path):
    """tre appends to whatever head it finds; the tampered row is still named."""
    with untriggered(ledger_url, tmp_path) as (db, url):
        db.execute("UPDATE ledger SET detail = '{}' WHERE id = 4")
        store = StateStore(url)
        store.record([entry(6)])
        store.close()
        assert "row 4 was edited" in verify(url).output


def test_a_missing_sqlite_store_is_not_made_by_verify(tmp_path):
    r = verify(f"sqlite:///{tmp_path}/typo.db")
    assert r.exit_code == 1
    assert r.output == f"Error: no state store at {tmp_path}/typo.db: nothing to verify\n"
    assert not (tmp_path / "typo.db").exists()


LINE = {
    "institution": "UU", "project": "9001", "code": "START", "service": "start",
    "quantity": 1, "unit_price": "100.00", "amount": "100.00", "period_start": "2027-01-01",
    "period_end": "2027-03-31", "correction": False,
}  # fmt: skip


def test_an_issued_invoice_is_chained_like_every_ledger_entry(ledger_url):
    store = StateStore(ledger_url)
    assert store.issue_invoice("2027Q1", [LINE], {"lines": 1}, "root", "bill-1")
    store.record([entry(6)])
    store.close()
    r = verify(ledger_url)
    assert r.exit_code == 0, r.output
    assert ": 7 entries, chain intact" in r.output
    with raw(ledger_url) as db, pytest.raises(Exception, match="final"):
        db.execute("UPDATE invoice_lines SET amount = '0.00'")
