"""Contracts + policy + today → the desired state one run hands to Ansible.

Pure: no clock, no I/O. The shape is documented in docs/desired-state.md; the modules of the
collection ``tre.secenv`` read it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date, timedelta
from typing import Any

from .contract.gate import require_runnable
from .contract.model import Contract, Person
from .identity import Issued
from .lifecycle import accounts_deleted_on, status_on
from .naming import (
    HEAVY_DESKTOP_GROUP,
    account_names,
    project_group,
    project_ou,
    seat_group,
    split_name,
    subject_group,
)
from .policy_model import Policy


def revision_of(contract: Contract) -> str:
    """Content hash of a contract revision (sha256 of its canonical JSON)."""
    data = dataclasses.asdict(contract)
    data.pop("source", None)
    if not data.get("suspensions"):
        data.pop("suspensions", None)  # contracts without suspensions keep their old hash
    if not data.get("heavy_desktop"):
        data.pop("heavy_desktop", None)  # so do contracts without heavy desktop
    for key in ("moves_from", "transfers"):  # and those without moves or transfers
        if not data.get(key):
            data.pop(key, None)
    if data.get("reopens") is None:
        data.pop("reopens", None)  # and contracts that reopen nothing (issue 12)
    for person in data["researchers"] + data["observers"]:
        if person.get("language") == "nl":
            del person["language"]  # the default: the hash of an older contract stays
    canonical = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def person_period(contract: Contract, person: Person) -> tuple[date, date]:
    """First and last day (inclusive) of a person's access within the project."""
    return person.start, person.end


def _account(contract: Contract, person: Person, sam: str, today: date) -> dict[str, Any]:
    first, last = person_period(contract, person)
    running = status_on(contract, today) == "active"  # suspended, planned, ended: no access
    given, surname = split_name(person.name)
    return {
        "person": person.id,
        "sam": sam,
        "role": person.role,
        "display_name": person.name,
        "given_name": given,
        "surname": surname,
        "mail": person.email,
        "employer": person.employer,
        "group": "members" if person.role == "researcher" else "observers",
        "enabled": running and first <= today <= last,
        "expires": (last + timedelta(days=1)).isoformat(),
    }


def quota_bytes(contract: Contract, policy: Policy, today: date) -> int:
    """Shared workspace quota on ``today``: the policy's size plus extra storage in force."""
    extra = sum(e.size_bytes for e in contract.extra_storage if e.start <= today <= e.end)
    return policy.project_quota_bytes + extra


def file_subjects_on(contract: Contract, today: date) -> list[str]:
    """Subjects whose grant month has begun on ``today`` (their ACL entries exist); none
    once the project has ended (catalogue access withdrawn)."""
    if status_on(contract, today) == "ended":
        return []
    return sorted(g.name for g in contract.file_subjects if g.start <= today)


def seat_holders(contract: Contract, package: str, names: dict[str, str], today: date) -> list[str]:
    """Accounts holding a seat of ``package`` on ``today``: the project's active researchers.

    A suspended project keeps its seats (contracted software is still billed; the accounts
    are disabled); an ended one holds none."""
    if status_on(contract, today) == "ended":
        return []
    if not any(s.package == package and s.start <= today <= s.end for s in contract.software):
        return []
    holders = []
    for person in contract.researchers:
        first, last = person_period(contract, person)
        if first <= today <= last:
            holders.append(names[person.id])
    return holders


def _ossc(contract: Contract, policy: Policy) -> dict[str, Any] | None:
    if contract.ossc is None:
        return None
    ossc = contract.ossc
    deadline = ossc.end + timedelta(days=policy.ossc_destruction_days)
    return {
        "researchers": [
            {"person": p, "name": contract.person(p).name, "email": contract.person(p).email}
            for p in ossc.researchers
        ],
        "start": ossc.start.isoformat(),
        "end": ossc.end.isoformat(),
        "destruction_deadline": deadline.isoformat(),
        "revision": revision_of(contract),
    }


def _names(contract: Contract, issued: Issued) -> dict[str, str]:
    """Account names of the people with an account; names already issued never move."""
    with_account = [p.id for p in contract.people if p.has_account]
    return account_names(contract.project, with_account, issued.names_of(contract.project))


def project_desired(
    contract: Contract,
    policy: Policy,
    today: date,
    issued: Issued | None = None,
    recorded_grants: list[str] | None = None,
) -> dict[str, Any]:
    """The desired state of one project (one entry of ``projects``).

    ``recorded_grants``: the file subjects of the project's last applied revision (state
    store), None when there is none; the storage module refuses to revoke a subject the ACLs
    show granted unless this tells it the grant was never tre's (docs/desired-state.md).
    """
    names = _names(contract, issued or Issued())
    closed = accounts_deleted_on(contract, today, policy.closed_account_days)
    entry = {
        "project": contract.project,
        "ou": project_ou(contract.project),
        "title": contract.title,
        "start": contract.start.isoformat(),
        "end": contract.end.isoformat(),
        "status": status_on(contract, today),
        "revision": revision_of(contract),
        "groups": {
            "members": {"name": project_group(contract.project, "members")},
            "observers": {"name": project_group(contract.project, "observers")},
        },
        "accounts": []
        if closed  # closed_account_days after the end: deleted (docs/lifecycle.md)
        else [_account(contract, p, names[p.id], today) for p in contract.people if p.has_account],
        "storage": {
            "quota_bytes": quota_bytes(contract, policy, today),
            "workspace_quota_bytes": policy.workspace_quota_bytes,
            "file_subjects": file_subjects_on(contract, today),
            "contract_subjects": sorted({g.name for g in contract.file_subjects}),
            "recorded_grants": None if recorded_grants is None else sorted(recorded_grants),
        },
        "ossc": _ossc(contract, policy),
    }
    if closed:
        entry["absent"] = ["accounts", "groups"]  # purged adds "ou" (mark_purged)
    return entry


#: What a purged project's entry says must not exist (docs/retention.md).
PURGED_ABSENT = ["accounts", "groups", "ou"]


def mark_purged(desired: dict[str, Any], purged: set[str]) -> dict[str, Any]:
    """Entries of purged projects: no accounts, and accounts, groups and OU absent, so no
    run makes them again and tre_ad deletes what is left (docs/retention.md)."""
    for p in desired["projects"]:
        if p["project"] in purged:
            p.update(accounts=[], absent=list(PURGED_ABSENT))
    return desired


def purged_desired(
    contracts: dict[str, dict[str, Any]], today: date, issued: Issued
) -> dict[str, Any]:
    """The desired state of purged projects alone, from their last applied contracts (stored
    dicts), for the AD part of ``tre purge``: their OU, groups and accounts absent."""
    projects = []
    for nr in sorted(contracts, key=int):
        c = contracts[nr]
        projects.append(
            {
                "project": nr,
                "ou": project_ou(nr),
                "title": c.get("title") or f"Project {nr}",
                "start": str(c.get("start")),
                "end": str(c.get("end")),
                "status": "ended",
                "groups": {
                    "members": {"name": project_group(nr, "members")},
                    "observers": {"name": project_group(nr, "observers")},
                },
                "accounts": [],
                "absent": list(PURGED_ABSENT),
            }
        )
    return {
        "today": today.isoformat(),
        "projects": projects,
        "software": {},
        "subjects": {},
        "identities": issued.for_run(list(contracts)),
    }


def build_desired_state(
    contracts: list[Contract],
    policy: Policy,
    today: date,
    issued: Issued | None = None,
    recorded_grants: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The whole run's desired state (only approved contracts, one per project: the gate).

    ``issued``: identity records of the state store (names and numbers tre issued);
    ``recorded_grants``: project -> subjects of its last applied revision.
    """
    issued = issued or Issued()
    grants = recorded_grants or {}
    require_runnable(contracts)
    ordered = sorted(contracts, key=_key)
    projects = [project_desired(c, policy, today, issued, grants.get(c.project)) for c in ordered]
    software: dict[str, Any] = {}
    for package in policy.software:
        members: list[str] = []
        for c in ordered:
            members.extend(seat_holders(c, package.name, _names(c, issued), today))
        software[package.name] = {
            "group": seat_group(package.name),
            "seats": package.seats,
            "members": sorted(members),
        }
    subjects = catalogue_readers(ordered, policy, today)
    heavy = heavy_desktop_pool(ordered, policy, issued, today)
    return {
        "today": today.isoformat(),
        "projects": projects,
        "software": software,
        "subjects": subjects,
        "heavy_desktop": heavy,
        "identities": issued.for_run(
            [c.project for c in ordered],
            [sw["group"] for sw in software.values()]
            + [s["group"] for s in subjects.values()]
            + [heavy["group"]],
        ),
    }


def heavy_desktop_holders(contract: Contract, names: dict[str, str], today: date) -> list[str]:
    """Accounts on the heavy desktop on ``today``: researchers whose reservation covers it,
    while the project is active (a suspended or ended project holds no place)."""
    if status_on(contract, today) != "active":
        return []
    ids = {r.researcher for r in contract.heavy_desktop if r.start <= today <= r.end}
    return sorted(names[p.id] for p in contract.researchers if p.id in ids)


def heavy_desktop_pool(
    contracts: list[Contract], policy: Policy, issued: Issued, today: date
) -> dict[str, Any]:
    """``heavy_desktop``: the group, the policy's capacity and the run's holders on ``today``
    (shaped like a seat pool of ``software``; docs/desired-state.md)."""
    members: list[str] = []
    for c in contracts:
        members.extend(heavy_desktop_holders(c, _names(c, issued), today))
    return {
        "group": HEAVY_DESKTOP_GROUP,
        "seats": policy.heavy_desktop_capacity,
        "members": sorted(members),
    }


def catalogue_readers(contracts: list[Contract], policy: Policy, today: date) -> dict[str, Any]:
    """Per file subject of the policy: its reader group and the run's projects reading it today.

    Read access to a subject is membership of its reader group (the projects' members and
    observers groups nested in it); the subject's directory carries one ACL entry, for that
    group, whatever the number of projects (docs/storage.md#catalogue).
    """
    return {
        subject: {
            "group": subject_group(subject, policy.subject_group),
            "projects": [c.project for c in contracts if subject in file_subjects_on(c, today)],
        }
        for subject in policy.file_subjects
    }


def _key(contract: Contract) -> int:
    return int(contract.project)
