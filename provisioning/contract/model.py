"""The typed, frozen contract: what ``load_contract`` returns once every rule holds.

Field names follow the contract YAML (docs/contracts.md). Dates are ``datetime.date``;
``until`` dates are inclusive (the last day a thing is in force).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Role = Literal["researcher", "observer"]
Language = Literal["nl", "en"]


@dataclass(frozen=True)
class Institution:
    name: str
    authorization_until: date


@dataclass(frozen=True, kw_only=True)
class Person:
    """A researcher or an observer of one project."""

    id: str
    name: str
    email: str
    employer: str
    role: Role
    nda_signed: date | None = None
    awareness_errors: int | None = None
    token: str | None = None
    existing_token: bool = False
    #: Researchers always have an account; observers only with ``read_account: true``.
    read_account: bool = True
    #: Language of the mail tre sends this person (docs/jobs.md): ``nl`` (default) or ``en``.
    language: Language = "nl"
    #: The person's period inside the project (parse fills in the project's start / end).
    start: date
    end: date

    @property
    def has_account(self) -> bool:
        return self.role == "researcher" or self.read_account


@dataclass(frozen=True)
class FileSubjectGrant:
    """Read access to one catalogue file subject, from the 1st of ``start``'s month."""

    name: str
    start: date


@dataclass(frozen=True)
class SoftwareSeat:
    package: str
    start: date
    end: date


@dataclass(frozen=True)
class ExtraStorage:
    """Extra storage in policy steps (e.g. 50GB, 1TB), in force from ``start`` to ``end``."""

    size: str
    size_bytes: int
    start: date
    end: date


@dataclass(frozen=True)
class Ossc:
    researchers: tuple[str, ...]
    start: date
    end: date


@dataclass(frozen=True)
class Suspension:
    """A temporary suspension (tijdelijk stilleggen): whole months, ``start``..``end``."""

    start: date
    end: date


@dataclass(frozen=True)
class HeavyDesktop:
    """A heavy desktop reservation (gebruik zware desktop) of one researcher, inclusive."""

    researcher: str
    start: date
    end: date


@dataclass(frozen=True)
class Transfer:
    """Overzetten bestanden: the files of ``from_project``'s folder ``Overzetten naar project
    <this project>/`` are copied into this project's ``import/`` from ``start`` (once each)."""

    from_project: str
    start: date


@dataclass(frozen=True)
class Contract:
    project: str
    title: str
    status: Literal["draft", "approved"]
    institution: Institution
    start: date
    end: date
    retention_years: int
    lead: str
    researchers: tuple[Person, ...]
    observers: tuple[Person, ...] = ()
    file_subjects: tuple[FileSubjectGrant, ...] = ()
    software: tuple[SoftwareSeat, ...] = ()
    extra_storage: tuple[ExtraStorage, ...] = ()
    ossc: Ossc | None = None
    suspensions: tuple[Suspension, ...] = ()
    heavy_desktop: tuple[HeavyDesktop, ...] = ()
    #: Verhuizen: the project (another institution's) that moves here from ``start``.
    moves_from: str | None = None
    transfers: tuple[Transfer, ...] = ()
    #: The ended project this new contract reopens from its archive (issue 12), or None.
    reopens: str | None = None
    #: Where it was read from (a path), for messages only.
    source: str = field(default="", compare=False)

    @property
    def people(self) -> tuple[Person, ...]:
        return self.researchers + self.observers

    def person(self, person_id: str) -> Person:
        for p in self.people:
            if p.id == person_id:
                return p
        raise KeyError(person_id)
