"""Deterministic AD names for projects, groups, accounts and seat groups (docs/ad-model.md).

All inputs are validated identifiers (``provisioning.ids``); the names use only
``[a-z0-9.-]`` (and upper case for seat groups), so they are safe in DNs, filters and paths.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping

from .ids import FILE_SUBJECT_RE, PERSON_ID_RE, PROJECT_RE

#: sAMAccountName limit of Active Directory (pre-Windows 2000 logon name).
SAM_MAX = 20


def _check_project(project: str) -> None:
    if not PROJECT_RE.fullmatch(project):
        raise ValueError(f"not a project number: {project!r}")


def project_ou(project: str) -> str:
    """RDN value of the project's OU, e.g. ``P9001``."""
    _check_project(project)
    return f"P{project}"


def project_group(project: str, kind: str) -> str:
    """Members or observers group of a project, e.g. ``p9001-members``."""
    _check_project(project)
    if kind not in ("members", "observers"):
        raise ValueError(f"unknown group kind: {kind!r}")
    return f"p{project}-{kind}"


#: The heavy desktop's group (*Gebruik zware desktop*), beside the seat groups.
HEAVY_DESKTOP_GROUP = "HEAVY-DESKTOP"


def seat_group(package: str) -> str:
    """Seat group of a licensed software package, e.g. ``SW-SAS``."""
    return f"SW-{package}"


def subject_group(subject: str, pattern: str) -> str:
    """The catalogue reader group of a file subject (``DS-GBAPERSOONTAB``), at most 20 chars.

    Too long names are cut and get ``-`` plus three characters of a hash of the subject, like
    account names; the policy pattern (``subject_group``) decides the rest.
    """
    if not FILE_SUBJECT_RE.fullmatch(subject):
        raise ValueError(f"not a file subject: {subject!r}")
    name = pattern.replace("{subject}", subject)
    if len(name) <= SAM_MAX:
        return name
    return f"{name[: SAM_MAX - 4]}-{_digest(subject, 0, 3)}"


def _digest(person_id: str, start: int, length: int) -> str:
    raw = hashlib.sha256(person_id.encode()).digest()
    return base64.b32encode(raw).decode().lower()[start : start + length]


def account_sam(project: str, person_id: str, salt: int = 0) -> str:
    """The person's account in the project: ``p<project>.<id>``, at most 20 characters.

    Too long ids are cut and get ``-`` plus three characters of a hash of the full id; ``-``
    never occurs in a person id, so a cut name can never equal an uncut one. ``salt`` picks
    another slice of the hash, for the (rare) case two cut ids of a project collide.
    """
    _check_project(project)
    if not PERSON_ID_RE.fullmatch(person_id):
        raise ValueError(f"not a person id: {person_id!r}")
    prefix = f"p{project}."
    room = SAM_MAX - len(prefix)
    if len(person_id) <= room:
        return prefix + person_id
    return f"{prefix}{person_id[: room - 4]}-{_digest(person_id, 3 * salt, 3)}"


def account_names(
    project: str, person_ids: list[str], issued: Mapping[str, str] | None = None
) -> dict[str, str]:
    """sAMAccountNames for all people of a project; a name once issued never moves.

    ``issued`` maps person id -> the name already issued to that person in this project (read
    from the state store's identity records; it may hold people no longer in the contract):
    those people keep their names for life, whatever else changes. A newcomer gets the name
    it would have alone unless that name is taken (by an issued name or, between newcomers of
    the same run, by an id sorting before it: two cut ids with equal prefix and hash, about 1 in
    32,768 pairs of long ids sharing a prefix); then the next slice of its hash is used.
    Adding a person therefore never changes the name of anyone already issued one.
    """
    issued = dict(issued or {})
    names: dict[str, str] = {}
    taken: set[str] = {name.lower() for name in issued.values()}
    for person_id in sorted(person_ids):
        if person_id in issued:
            names[person_id] = issued[person_id]
    for person_id in sorted(set(person_ids) - set(issued)):
        salt = 0
        name = account_sam(project, person_id)
        while name.lower() in taken:
            salt += 1
            name = account_sam(project, person_id, salt)
        names[person_id] = name
        taken.add(name.lower())
    return names


def split_name(full_name: str) -> tuple[str, str]:
    """Given name and surname from a full name: first word, then the rest (``de Vries``)."""
    parts = full_name.split(None, 1)
    if len(parts) == 1:
        return parts[0], parts[0]
    return parts[0], parts[1]
