"""Which contract items were in force when, from a project's applied revisions (pure).

Every billable item of a contract has a key (a person: role and id; a file subject: its
name; software: package and first month; extra storage: step and first month; an OSSC
researcher: the id; a suspension: its first day). The revisions of a project are read in the
order they were applied; an item's *segment* runs from the revision that brought it to the
revision that dropped it (or to the last one). Within a segment the latest revision's dates
count: a later revision that changes an item's past changes what is owed (billing corrects
issued quarters). An item dropped by a revision applied on day D is billed until the end of
D's month (RULES.md: a removed researcher is blocked from the 1st of the next month); a
dropped suspension ends the month before (the catalogue: support starts again on the 1st of
the month the project reopens).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ..calendar import month_end
from .model import AppliedRevision, as_date, first_of

Items = dict[Hashable, Mapping[str, Any]]


@dataclass(frozen=True)
class Segment:
    key: Hashable
    #: the item as the latest revision of the segment has it
    item: Mapping[str, Any]
    #: that revision's whole contract (its start and end)
    contract: Mapping[str, Any]
    #: index (in the history) of the revision that brought the item
    first_index: int
    #: the day the revision that dropped the item took effect; None: still in force
    removed_on: date | None

    def clip(self, end: date) -> date:
        """``end``, but no later than the end of the month the item was dropped."""
        return end if self.removed_on is None else min(end, month_end(self.removed_on))

    def clip_before(self, end: date) -> date:
        """``end``, but no later than the last day before the month the item was dropped."""
        if self.removed_on is None:
            return end
        return min(end, first_of(self.removed_on) - timedelta(days=1))


def segments(
    revisions: Sequence[AppliedRevision], extract: Callable[[Mapping[str, Any]], Items]
) -> list[Segment]:
    """The segments of every item ``extract`` finds in the revisions, in order of appearance."""
    out: list[Segment] = []
    opened: dict[Hashable, int] = {}
    latest: dict[Hashable, tuple[Mapping[str, Any], Mapping[str, Any]]] = {}
    for i, rev in enumerate(revisions):
        items = extract(rev.contract)
        for key in [k for k in opened if k not in items]:
            item, contract = latest.pop(key)
            out.append(Segment(key, item, contract, opened.pop(key), rev.applied_on))
        for key, item in items.items():
            opened.setdefault(key, i)
            latest[key] = (item, rev.contract)
    for key, first in opened.items():
        item, contract = latest[key]
        out.append(Segment(key, item, contract, first, None))
    return out


def people(c: Mapping[str, Any]) -> Items:
    out: Items = {}
    for role, field in (("researcher", "researchers"), ("observer", "observers")):
        for p in c.get(field) or []:
            out[(role, p["id"])] = p
    return out


def subjects(c: Mapping[str, Any]) -> Items:
    return {s["name"]: s for s in c.get("file_subjects") or []}


def software(c: Mapping[str, Any]) -> Items:
    return {(s["package"], as_date(s["start"])): s for s in c.get("software") or []}


def storage(c: Mapping[str, Any]) -> Items:
    return {(e["size"], as_date(e["start"])): e for e in c.get("extra_storage") or []}


def ossc_researchers(c: Mapping[str, Any]) -> Items:
    o = c.get("ossc")
    if not o:
        return {}
    return {r: {"start": o["start"], "end": o["end"]} for r in o.get("researchers") or []}


def suspensions(c: Mapping[str, Any]) -> Items:
    return {as_date(s["start"]): s for s in c.get("suspensions") or []}
