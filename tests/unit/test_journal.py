"""Journal of a killed run: done entries recorded, pending ones confirmed by the next plan."""

from __future__ import annotations

from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal

from provisioning.orchestrate import Interrupted, close_interrupted, confirm_pending
from provisioning.runner import RunResult, TaskResult, journal_entries
from provisioning.state import StateStore


def change(name: str, project: str = "9001") -> dict:
    return {"project": project, "op": "create", "kind": "account", "name": name}


def test_journal_splits_done_and_pending(tmp_path):
    journal = Journal(str(tmp_path / "journal" / "ad.jsonl"))
    journal.intent([change("p9001.a")])
    journal.done([change("p9001.a")])
    journal.intent([change("p9001.b")])  # killed while the DC processed this add
    journal.close()
    with open(tmp_path / "journal" / "ad.jsonl", "a") as f:
        f.write('{"cut by the kill')
    done, pending = journal_entries(tmp_path)
    assert [c["name"] for c in done] == ["p9001.a"] and done[0]["host"] == "ad"
    assert [c["name"] for c in pending] == ["p9001.b"]


def test_journal_none_writes_nothing(tmp_path, monkeypatch):
    """Check mode passes no journal path: nothing is written, not even in the cwd."""
    monkeypatch.chdir(tmp_path)
    journal = Journal(None)
    journal.intent([change("x")])
    journal.done([change("x")])
    journal.close()
    assert list(tmp_path.iterdir()) == []
    real = Journal(str(tmp_path / "j" / "ad.jsonl"))  # the same calls with a path do write
    real.done([change("x")])
    real.close()
    assert (tmp_path / "j" / "ad.jsonl").read_text().count("\n") == 1


def plan_with(*changes: dict) -> RunResult:
    task = TaskResult("lab-dc", "ad", True, bool(changes), changes=list(changes))
    return RunResult("r2", True, "successful", 0, "", [task])


def test_killed_run_is_recorded_and_its_pending_change_confirmed(tmp_path, state_url):
    store = StateStore(state_url)
    home = tmp_path / "home"
    store.start_run("r1", "alice", "apply", "2026-12-01", ["9001"])
    journal = Journal(str(home / "runs" / "r1" / "journal" / "ad.jsonl"))
    journal.intent([change("p9001.a")])
    journal.done([change("p9001.a")])
    journal.intent([change("p9001.b")])
    journal.intent([change("p9002.c", "9002")])
    journal.close()

    interrupted = close_interrupted(store, home)
    assert interrupted.run_ids == ["r1"]
    assert [e.name for e in store.ledger()] == ["p9001.a"]
    assert store.ledger()[0].actor == "alice" and store.ledger()[0].detail["recovered"]
    # The next plan no longer needs p9001.b: it happened. 9002 is not in this run: unknown.
    assert confirm_pending(store, interrupted, plan_with(), ["9001"]) == 1
    assert [e.name for e in store.ledger()] == ["p9001.a", "p9001.b"]
    assert close_interrupted(store, home) == Interrupted([], [])


def test_pending_change_still_planned_did_not_happen(state_url):
    store = StateStore(state_url)
    interrupted = Interrupted(["r1"], [({"run_id": "r1", "actor": "bob"}, change("p9001.b"))])
    assert confirm_pending(store, interrupted, plan_with(change("p9001.b")), ["9001"]) == 0
    assert store.ledger() == []


def test_recovered_entries_carry_the_host_not_the_journal_name(tmp_path):
    """site.yml names journals <task>@<inventory host>; the ledger's host is that host."""
    journal = Journal(str(tmp_path / "journal" / "storage@fs1.example.org.jsonl"))
    journal.done([change("P9001")])
    journal.close()
    done, _ = journal_entries(tmp_path)
    assert done[0]["host"] == "fs1.example.org"
