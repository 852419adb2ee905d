"""Identities tre has issued: account names (to a person, for life) and uid/gid numbers.

Pure. The state store keeps one immutable record per issued account name and group
(``StateStore.identities``); plan and apply hand the records of the run's projects to the AD
module (``desired["identities"]``), which restores a number AD shows differently, refuses to
hand an account to another person, and refuses duplicate numbers (docs/ad-model.md#identity).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Identity:
    """One issued name: an account (``person``, uid) or a group (gid; ``person`` None)."""

    kind: str  # account | group
    name: str
    project: str | None
    person: str | None
    number: int


@dataclass(frozen=True)
class Issued:
    """The identity records read from the state store (all projects)."""

    records: tuple[Identity, ...] = field(default_factory=tuple)

    def names_of(self, project: str) -> dict[str, str]:
        """person id -> account name issued to that person in ``project``."""
        return {
            r.person: r.name
            for r in self.records
            if r.kind == "account" and r.project == project and r.person
        }

    def for_run(self, projects: Iterable[str], groups: Iterable[str] = ()) -> dict[str, Any]:
        """``desired["identities"]``: the records of the run's projects and seat groups."""
        wanted, extra = set(projects), set(groups)
        accounts = {
            r.name: {"person": r.person, "uid": r.number}
            for r in self.records
            if r.kind == "account" and r.project in wanted
        }
        group_ids = {
            r.name: {"gid": r.number}
            for r in self.records
            if r.kind == "group" and (r.project in wanted or r.name in extra)
        }
        # the allocator never hands out a number at or below it, even one of a deleted object
        highest = max((r.number for r in self.records), default=0)
        return {"accounts": accounts, "groups": group_ids, "highest": highest}


def issued_by_run(
    changes: Iterable[dict[str, Any]], ids: dict[str, Any] | None, desired: dict[str, Any]
) -> list[Identity]:
    """The identities a run issued or confirmed: from its creations, and its checked ``ids``.

    ``changes`` are the AD changes really applied (creations carry the new number and, for
    accounts, the person in ``employeeID``); ``ids`` is the AD module's checked result of a
    successful run (existing objects, e.g. made before tre recorded identities).
    """
    persons = {
        a["sam"]: (p["project"], a["person"])
        for p in desired.get("projects", [])
        for a in p.get("accounts", [])
    }
    groups = {
        p["groups"][role]["name"]: p["project"]
        for p in desired.get("projects", [])
        for role in ("members", "observers")
    }
    found: dict[tuple[str, str], Identity] = {}
    for c in changes:
        after = c.get("after") or {}
        if c.get("op") != "create" or c.get("kind") not in ("account", "group"):
            continue
        number = after.get("uidNumber" if c["kind"] == "account" else "gidNumber")
        if not isinstance(number, int):
            continue
        person = after.get("employeeID") if c["kind"] == "account" else None
        found[(c["kind"], c["name"])] = Identity(
            c["kind"], c["name"], c.get("project"), person, number
        )
    for sam, nums in ((ids or {}).get("accounts") or {}).items():
        if isinstance(nums, dict) and isinstance(nums.get("uid"), int) and sam in persons:
            project, person = persons[sam]
            found.setdefault(
                ("account", sam), Identity("account", sam, project, person, nums["uid"])
            )
    for name, gid in ((ids or {}).get("groups") or {}).items():
        if isinstance(gid, int):
            found.setdefault(("group", name), Identity("group", name, groups.get(name), None, gid))
    return list(found.values())
