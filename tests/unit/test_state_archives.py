"""The ``archives`` table: the exact columns other items read, upserts keep what they do not
set, and the rows a run's archive changes give (billing reads size_gb and archived_on)."""

from __future__ import annotations

import pytest

from provisioning.archiving import archived, mark_copying, record_archives
from provisioning.state import StateStore
from tests.state_fixtures import raw

COLUMNS = [
    "project",
    "status",
    "location",
    "manifest_sha256",
    "files",
    "bytes",
    "size_gb",
    "archived_on",
    "verified_at",
    "verify_result",
    "run_id",
    "updated",
    # retention and purge (docs/retention.md)
    "retention_years",
    "due_on",
    "verified_on",
    "objection_by",
    "objection_at",
    "objection_until",
    "objection_reason",
    "purge_run",
    "purged_at",
    "purged_on",
    "ad_removed_on",
]


@pytest.fixture
def store(state_url):
    return StateStore(state_url)  # both back ends (tests/state_fixtures.py)


def test_the_table_has_the_agreed_columns(store):
    with raw(store.url) as db:
        cursor = db.execute("SELECT * FROM archives LIMIT 0")
        assert [d[0] for d in cursor.description] == COLUMNS


def test_save_archive_updates_only_what_it_is_given(store):
    store.save_archive("7310", "r1", "T1", status="copying", location="/a/P7310")
    store.save_archive("7310", "r2", "T2", status="verified", files=3, size_gb=2)
    row = store.archive("7310")
    assert (row["status"], row["location"], row["files"], row["size_gb"]) == (
        "verified",
        "/a/P7310",
        3,
        2,
    )
    assert (row["run_id"], row["updated"]) == ("r2", "T2")
    assert [r["project"] for r in store.archives()] == ["7310"]
    with pytest.raises(ValueError, match="unknown archive fields"):
        store.save_archive("7310", "r3", "T3", colour="red")


def test_a_run_takes_the_row_to_live_removed_and_a_failure_to_the_ledger(store):
    planned = [{"project": "7310", "op": "archive", "kind": "archive", "path": "/a/P7310"}]
    mark_copying(store, "r1", planned)
    assert store.archive("7310")["status"] == "copying"
    changes = [
        dict(planned[0], after={"files": 3, "bytes": 10, "size_gb": 1}),
        {
            "project": "7310",
            "op": "verify",
            "kind": "archive",
            "after": {"location": "/a/P7310", "manifest_sha256": "ab", "files": 3, "bytes": 10},
        },
        {"project": "7310", "op": "remove", "kind": "subvolume", "name": "P7310"},
    ]
    verified = [{"project": "7310", "result": "ok", "at": "T9"}]
    record_archives(store, "r1", "root", "2027-02-01", changes, verified)
    row = archived(store, "7310")
    assert row is not None
    assert (row["archived_on"], row["verified_at"], row["manifest_sha256"]) == (
        "2027-02-01",
        "T9",
        "ab",
    )
    failed = [{"project": "7311", "result": "failed: x"}]
    record_archives(store, "r2", "root", "2027-03-01", [], failed)
    assert store.archive("7311")["verify_result"] == "failed: x"
    assert [(e.op, e.detail) for e in store.ledger("7311")] == [("verify", {"result": "failed: x"})]
    assert archived(store, "7311") is None
