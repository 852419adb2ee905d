"""The one executor of the collection's modules: apply planned steps, journal them, report.

Contract (every module that changes something uses it: tre_ad, tre_storage, tre_ossc_handoff,
and the archive/purge modules to come):

- A module plans first, then hands ``execute`` a list of :class:`Step`. A step is the unit of
  change: ``changes`` are the entries of the module's ``changes`` result the step realises
  (dicts without secrets, the same entries the audit ledger records), ``operations`` are what
  realises them, in order, each a callable taking no argument. ``label`` names what the step
  touches (a DN, a path) for the failure report.
- Journal: before a step's first operation its changes are written to the journal as
  ``intent``; after its last operation succeeded, as ``done`` (``tre_journal.Journal``). A
  step whose operations did not all succeed is never ``done`` and never in ``applied``. The
  journal is the caller's: ``execute`` neither opens a path nor closes it.
- Failures: an operation signals an expected failure by raising :class:`OperationError` with
  one line naming what failed and why (no secret, no file content); the step stops at it.
  Any other exception is a bug and propagates (the step stays an ``intent`` in the journal,
  which is what a killed run leaves too).
- ``on_failure`` is the policy after a failed step:
  ``STOP`` - run nothing more; ``Outcome.remaining`` holds the failed step and the steps after
  it (tre_ad rolls back from it: accounts enabled without their groups are disabled again).
  ``ISOLATE`` - the failed step fails only itself; every other step still runs and is
  recorded (tre_storage: one path's failure does not stop the other projects).
- ``check_mode``: nothing runs and nothing is journaled; ``applied`` holds every step's
  changes (the plan).
- The result is an :class:`Outcome`: ``applied`` (the changes done, in step order, so far on
  a failure), ``failures`` (one per failed step), ``operations`` (how many succeeded).
  ``Outcome.message(noun)`` is the module's one-line failure message: the first failure,
  plus ``(and N more failed <noun>)`` when other steps (distinct labels) failed too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

STOP = "stop"
ISOLATE = "isolate"


class OperationError(Exception):
    """An operation failed as operations can (refused, full, gone): one line, no secret."""

    def __init__(self, message: str, rollback: bool = True) -> None:
        super().__init__(message.splitlines()[0] if message else "operation failed")
        #: False when nothing may be tried after it (e.g. the connection is lost)
        self.rollback = rollback


@dataclass
class Step:
    changes: list[dict]
    operations: list[Callable[[], object]] = field(default_factory=list)
    label: str = ""


@dataclass
class Failure:
    step: Step
    error: OperationError

    @property
    def message(self) -> str:
        return str(self.error)


@dataclass
class Outcome:
    applied: list[dict] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    remaining: list[Step] = field(default_factory=list)
    operations: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def message(self, noun: str = "steps") -> str:
        """The first failure's line, and how many other labels (paths, DNs) failed too."""
        if not self.failures:
            return ""
        first = self.failures[0]
        others = {f.step.label for f in self.failures[1:]} - {first.step.label}
        more = f" (and {len(others)} more failed {noun})" if others else ""
        return first.message + more


def execute(
    steps: list[Step],
    journal,
    check_mode: bool,
    on_failure: str = STOP,
) -> Outcome:
    """Run ``steps`` in order under the ``on_failure`` policy (see the module docstring)."""
    if on_failure not in (STOP, ISOLATE):
        raise ValueError(f"unknown failure policy {on_failure!r}")
    outcome = Outcome()
    if check_mode:
        outcome.applied = [change for step in steps for change in step.changes]
        return outcome
    for position, step in enumerate(steps):
        if journal is not None:
            journal.intent(step.changes)
        try:
            for operation in step.operations:
                operation()
                outcome.operations += 1
        except OperationError as exc:
            outcome.failures.append(Failure(step, exc))
            if on_failure == STOP:
                outcome.remaining = steps[position:]
                return outcome
            continue
        outcome.applied.extend(step.changes)
        if journal is not None:
            journal.done(step.changes)
    return outcome
