"""Rules for a new revision of a contract against the revision applied before (pure).

RULES.md: subjects can never be removed or swapped once assigned; a project with only one
active researcher cannot lose a researcher; a running project keeps its start date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from .contract.model import Contract


@dataclass(frozen=True)
class RevisionProblem:
    project: str
    rule: str
    message: str

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
    new: Contract, previous: dict[str, Any] | None, today: date
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


def _as_dicts(contract: Contract) -> list[dict[str, Any]]:
    return [{"id": r.id, "start": r.start, "end": r.end} for r in contract.researchers]
