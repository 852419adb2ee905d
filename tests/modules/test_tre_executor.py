"""The one executor of the collection's modules (tre_executor): both failure policies, the
journal's intent/done, partial failures; and how tre_storage's operations report failures."""

from __future__ import annotations

import errno
import json

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_storage_ops as ops_mod
from ansible_collections.tre.secenv.plugins.module_utils.tre_executor import (
    ISOLATE,
    STOP,
    OperationError,
    Step,
    execute,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_model import ACL, Plan


def change(name: str) -> dict:
    return {"project": "7700", "op": "set", "kind": "acl", "name": name, "path": f"/p/{name}"}


def step(name: str, ran: list[str], fail: bool = False) -> Step:
    def operation() -> None:
        ran.append(name)
        if fail:
            raise OperationError(f"acl /p/{name} failed: Operation not permitted")

    return Step([change(name)], [operation], f"/p/{name}")


def journal_lines(path) -> list[tuple[str, str]]:
    lines = path.read_text().splitlines()
    return [(json.loads(line)["name"], json.loads(line)["journal"]) for line in lines]


def test_all_steps_succeed_and_are_journaled_intent_then_done(tmp_path) -> None:
    ran: list[str] = []
    journal = Journal(str(tmp_path / "j.jsonl"))
    outcome = execute([step("a", ran), step("b", ran)], journal, check_mode=False)
    journal.close()
    assert outcome.ok and outcome.message() == ""
    assert [c["name"] for c in outcome.applied] == ["a", "b"] and outcome.operations == 2
    assert journal_lines(tmp_path / "j.jsonl") == [
        ("a", "intent"),
        ("a", "done"),
        ("b", "intent"),
        ("b", "done"),
    ]


def test_stop_runs_nothing_after_the_first_failure(tmp_path) -> None:
    ran: list[str] = []
    steps = [step("a", ran), step("b", ran, fail=True), step("c", ran)]
    journal = Journal(str(tmp_path / "j.jsonl"))
    outcome = execute(steps, journal, check_mode=False, on_failure=STOP)
    journal.close()
    assert ran == ["a", "b"]
    assert [c["name"] for c in outcome.applied] == ["a"]  # the changes done so far
    assert outcome.remaining == steps[1:]  # the failed step and those after it (AD rollback)
    assert outcome.message("paths") == "acl /p/b failed: Operation not permitted"
    # the failed step is an intent without done; the step after it is not journaled at all
    assert journal_lines(tmp_path / "j.jsonl") == [("a", "intent"), ("a", "done"), ("b", "intent")]


def test_isolate_fails_only_the_failing_steps_and_counts_the_others(tmp_path) -> None:
    ran: list[str] = []
    steps = [
        step("a", ran, fail=True),
        step("b", ran),
        step("c", ran, fail=True),
        step("d", ran, fail=True),
        step("e", ran),
    ]
    journal = Journal(str(tmp_path / "j.jsonl"))
    outcome = execute(steps, journal, check_mode=False, on_failure=ISOLATE)
    journal.close()
    assert ran == ["a", "b", "c", "d", "e"]
    assert [c["name"] for c in outcome.applied] == ["b", "e"]
    assert [f.step.label for f in outcome.failures] == ["/p/a", "/p/c", "/p/d"]
    assert outcome.message("paths") == (
        "acl /p/a failed: Operation not permitted (and 2 more failed paths)"
    )
    done = [name for name, phase in journal_lines(tmp_path / "j.jsonl") if phase == "done"]
    assert done == ["b", "e"]


def test_a_step_stops_at_its_failed_operation_and_is_not_done() -> None:
    ran: list[str] = []

    def fails() -> None:
        raise OperationError("chown /p/x failed: Operation not permitted\nsecond line")

    outcome = execute(
        [Step([change("x")], [lambda: ran.append("1"), fails, lambda: ran.append("3")], "/p/x")],
        None,
        check_mode=False,
        on_failure=ISOLATE,
    )
    assert ran == ["1"] and outcome.applied == [] and outcome.operations == 1
    assert outcome.message() == "chown /p/x failed: Operation not permitted"  # one line


def test_check_mode_runs_and_journals_nothing(tmp_path) -> None:
    ran: list[str] = []
    journal = Journal(str(tmp_path / "j.jsonl"))
    outcome = execute([step("a", ran), step("b", ran, fail=True)], journal, check_mode=True)
    journal.close()
    assert ran == [] and [c["name"] for c in outcome.applied] == ["a", "b"]
    assert not (tmp_path / "j.jsonl").exists()


def test_an_unexpected_exception_is_not_swallowed() -> None:
    def bug() -> None:
        raise KeyError("a bug, not a failed operation")

    with pytest.raises(KeyError):
        execute([Step([change("a")], [bug], "/p/a")], None, check_mode=False, on_failure=ISOLATE)


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="policy"):
        execute([], None, check_mode=False, on_failure="retry")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.E2BIG])
def test_storage_acl_too_large_is_named_as_such(monkeypatch, code: int) -> None:
    def write_acls(path, access, default, is_dir) -> None:
        raise OSError(code, "No space left on device")

    monkeypatch.setattr(ops_mod, "write_acls", write_acls)
    plan = Plan()
    plan.add(ACL, [("acl", "/srv/cat/S1", [], None, True)], path="/srv/cat/S1", name="S1")
    outcome = execute(ops_mod.plan_steps(plan, backend=None), None, False, on_failure=ISOLATE)
    assert outcome.message("paths") == (
        "acl /srv/cat/S1 failed: ACL too large for the file system "
        "(one xattr holds about 2,000 entries on btrfs)"
    )


def test_storage_other_errors_keep_their_cause(monkeypatch) -> None:
    def write_acls(path, access, default, is_dir) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(ops_mod, "write_acls", write_acls)
    plan = Plan()
    plan.add(ACL, [("acl", "/srv/cat/S1", [], None, True)], path="/srv/cat/S1", name="S1")
    plan.add(ACL, [("acl", "/srv/cat/S2", [], None, True)], path="/srv/cat/S2", name="S2")
    outcome = execute(ops_mod.plan_steps(plan, backend=None), None, False, on_failure=ISOLATE)
    assert outcome.message("paths") == (
        "acl /srv/cat/S1 failed: Operation not permitted (and 1 more failed paths)"
    )
