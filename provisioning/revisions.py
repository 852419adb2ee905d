"""Rules for a new revision of a contract against the revision applied before (pure).

RULES.md: subjects can never be removed or swapped once assigned; a project with only one
active researcher cannot lose a researcher; a running project keeps its start date; an
extension (a later end) is applied at least ``extension_notice_working_days`` working days
before the current end (the end of the last applied revision), later only with ``--force``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from .contract.model import Contract
from .lifecycle import working_days_before
from .policy_model import Policy


@dataclass(frozen=True)
class RevisionProblem:
    project: str
    rule: str
    message: str
    #: ``--force`` lets the revision through (the ledger records that it was forced).
    forceable: bool = False

    def line(self) -> str:
        return f"project {self.project}: {self.message} [{self.rule}]"


def _d(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _active_researchers(
    researchers: list[dict[str, Any]], start: date, end: date, today: date
) -> set[str]:
    active = set()
    for r in researchers:
        first = _d(r["start"]) if r.get("start") else start
        last = _d(r["end"]) if r.get("end") else end
        if first <= today <= last:
            active.add(r["id"])
    return active


def check_revision(
    new: Contract, previous: dict[str, Any] | None, today: date, policy: Policy
) -> list[RevisionProblem]:
    """Problems of ``new`` against the last applied contract (``dataclasses.asdict`` form)."""
    if previous is None:
        return []
    problems: list[RevisionProblem] = []
    p = new.project

    old_subjects = {s["name"]: _d(s["start"]) for s in previous.get("file_subjects", [])}
    new_subjects = {s.name: s.start for s in new.file_subjects}
    for name, granted in sorted(old_subjects.items()):
        if name not in new_subjects:
            problems.append(
                RevisionProblem(
                    p,
                    "subjects-never-removed",
                    f"file subject {name} was granted before and cannot be removed or swapped",
                )
            )
        elif granted <= today and new_subjects[name] > granted:
            problems.append(
                RevisionProblem(
                    p,
                    "subjects-never-removed",
                    f"file subject {name} is granted since {granted}; it cannot start later now",
                )
            )

    old_start, old_end = _d(previous["start"]), _d(previous["end"])
    if old_start <= today and new.start != old_start:
        problems.append(
            RevisionProblem(
                p,
                "start-fixed",
                f"the project started on {old_start}; its start cannot change to {new.start}",
            )
        )

    problems += _extension(new, old_end, today, policy)

    before = _active_researchers(previous.get("researchers", []), old_start, old_end, today)
    after = {r["id"] for r in _as_dicts(new)} & before
    after = _active_researchers(
        [r for r in _as_dicts(new) if r["id"] in after], new.start, new.end, today
    )
    if len(before) == 1 and not after:
        (only,) = before
        problems.append(
            RevisionProblem(
                p,
                "last-researcher",
                f"{only} is the only active researcher; a project with one active researcher"
                " cannot lose a researcher",
            )
        )
    return problems


def _extension(new: Contract, old_end: date, today: date, policy: Policy) -> list[RevisionProblem]:
    """A later end is requested at least N working days (Mon-Fri) before the current end."""
    if new.end <= old_end:
        return []
    n = policy.extension_notice_working_days
    latest = working_days_before(old_end, n)
    if today <= latest:
        return []
    return [
        RevisionProblem(
            new.project,
            "extension-notice",
            f"the extension to {new.end} comes too late: the current end is {old_end} and an"
            f" extension is applied at least {n} working days before it (by {latest});"
            " apply with --force to extend anyway",
            forceable=True,
        )
    ]


def retention_change(
    new: Contract, previous: dict[str, Any] | None, archived: bool
) -> list[RevisionProblem]:
    """The retention (5 → 10 years, say) may change until the project is archived; after
    that the archive's due date is fixed (docs/retention.md)."""
    old = (previous or {}).get("retention_years")
    if not archived or old is None or new.retention_years == old:
        return []
    return [
        RevisionProblem(
            new.project,
            "retention-after-archive",
            f"the retention cannot change from {old} to {new.retention_years} years: the"
            " project is archived",
        )
    ]


def _as_dicts(contract: Contract) -> list[dict[str, Any]]:
    return [{"id": r.id, "start": r.start, "end": r.end} for r in contract.researchers]
