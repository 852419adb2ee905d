"""One token, one person: a token serial never belongs to two different people (pure).

A token is personal. The same person (same id, name and e-mail) may hold it in several
projects; two different people with one token (in contracts checked together, or one in a
contract and one in the applied state of another project) is refused. Messages name the
holders by project and person id only, never by name or e-mail.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .model import Contract

#: Where a holder from the state store was found (messages only).
APPLIED = "applied state"


@dataclass(frozen=True)
class TokenHolder:
    token: str
    project: str
    person: str
    name: str
    email: str
    #: Where this holder was read: a contract file or ``APPLIED``.
    where: str
    #: Path of the token in the contract (``researchers[2].token``).
    path: str

    def same_person(self, other: TokenHolder) -> bool:
        return (
            self.person == other.person
            and _plain(self.name) == _plain(other.name)
            and self.email.casefold() == other.email.casefold()
        )


@dataclass(frozen=True)
class TokenConflict:
    """``token`` is held by ``held`` and by a different person ``other``."""

    token: str
    held: TokenHolder
    other: TokenHolder

    @property
    def given(self) -> TokenHolder:
        """The holder in a contract being checked (the other one may be applied state)."""
        return self.held if self.other.where == APPLIED else self.other

    def message(self) -> str:
        a, b = self.held, self.other
        return (
            f"token {self.token} is held by two different people: project {a.project} "
            f"person {a.person} ({a.where}) and project {b.project} person {b.person} "
            f"({b.where}); a token is personal"
        )


def _plain(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def contract_holders(contract: Contract) -> list[TokenHolder]:
    where = contract.source or f"project {contract.project}"
    out = []
    for role, people in (("researchers", contract.researchers), ("observers", contract.observers)):
        for i, p in enumerate(people):
            if p.token:
                path = f"{role}[{i}].token"
                out.append(
                    TokenHolder(p.token, contract.project, p.id, p.name, p.email, where, path)
                )
    return out


def applied_holders(project: str, stored: Mapping[str, Any]) -> list[TokenHolder]:
    """Holders in a contract as the state store keeps it (``dataclasses.asdict`` form)."""
    out = []
    for role in ("researchers", "observers"):
        for i, p in enumerate(stored.get(role) or []):
            if isinstance(p, Mapping) and p.get("token"):
                out.append(
                    TokenHolder(
                        str(p["token"]),
                        project,
                        str(p.get("id", "")),
                        str(p.get("name", "")),
                        str(p.get("email", "")),
                        APPLIED,
                        f"{role}[{i}].token",
                    )
                )
    return out


def token_conflicts(
    contracts: Iterable[Contract], applied: Mapping[str, Mapping[str, Any]] | None = None
) -> list[TokenConflict]:
    """Every token held by a different person than its first holder.

    ``contracts`` are checked together; ``applied`` maps a project to its last applied
    contract (the state store). A project given in ``contracts`` replaces its applied one.
    Two holders in one project are left to the contract rule ``token-unique``.
    """
    contracts = list(contracts)
    holders = [h for c in contracts for h in contract_holders(c)]
    given = {c.project for c in contracts}
    for project, stored in sorted((applied or {}).items()):
        if project not in given:
            holders += applied_holders(project, stored)
    first: dict[str, TokenHolder] = {}
    conflicts: list[TokenConflict] = []
    for h in holders:
        held = first.setdefault(h.token, h)
        if held is h or held.project == h.project or held.same_person(h):
            continue
        conflicts.append(TokenConflict(h.token, held, h))
    return conflicts
