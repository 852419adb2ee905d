"""The retention columns of ``archives`` and their ledger entries, on both back ends
(docs/retention.md): objection and withdrawal, purging → tombstone → purged, the chain intact."""

from __future__ import annotations

import pytest

from provisioning.state import StateStore


@pytest.fixture
def store(state_url):
    s = StateStore(state_url)
    s.save_archive("7310", "r1", "T1", status="live-removed", location="/a/P7310",
                   manifest_sha256="ab" * 32, files=3, bytes=10)  # fmt: skip
    return s


def test_objection_and_withdrawal_are_on_the_row_and_in_the_ledger(store):
    store.object_to_purge("7310", "alice", "T2", "2033-12-31", "follow-up 7420", "o1")
    row = store.archive("7310")
    assert (row["objection_by"], row["objection_until"], row["objection_reason"]) == (
        "alice", "2033-12-31", "follow-up 7420",
    )  # fmt: skip
    store.withdraw_objection("7310", "bob", "T3", "w1")
    assert store.archive("7310")["objection_by"] is None
    entries = [(e.op, e.actor, e.detail) for e in store.ledger("7310")]
    assert entries == [
        ("object", "alice", {"until": "2033-12-31", "reason": "follow-up 7420"}),
        ("withdraw", "bob", {"until": "2033-12-31", "objected_by": "alice"}),
    ]
    assert store.verify_ledger().ok


def test_purge_moves_live_removed_to_purging_to_purged_with_one_tombstone(store):
    assert store.mark_purging("7310", "p1", "T2")
    assert not store.mark_purging("7310", "p2", "T2")  # only from live-removed
    store.unmark_purging("7310", "T3")
    assert store.archive("7310")["status"] == "live-removed"
    assert store.mark_purging("7310", "p3", "T4")
    store.record_tombstone("7310", "alice", "T5", "2032-03-02", "p3", {"files": 3})
    row = store.archive("7310")
    assert (row["status"], row["purged_on"], row["purge_run"]) == ("purging", "2032-03-02", "p3")
    store.finish_purge("7310", "T6")
    assert store.archive("7310")["status"] == "purged"
    (e,) = store.ledger("7310")
    assert (e.op, e.kind, e.name, e.detail) == ("purge", "archive", "P7310", {"files": 3})
    assert store.verify_ledger().ok


def test_verification_and_retention_are_recorded(store):
    store.set_retention("7310", 10, "2037-01-31", "T2")
    store.record_verification("7310", "failed: x", "2032-01-02", "T3", "ops", "v1", {"files": 3})
    row = store.archive("7310")
    assert (row["retention_years"], row["due_on"]) == (10, "2037-01-31")
    assert (row["verified_on"], row["verify_result"]) == ("2032-01-02", "failed: x")
    (e,) = store.ledger("7310")
    assert (e.op, e.detail) == ("verify", {"files": 3, "result": "failed: x"})
