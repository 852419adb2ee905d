"""Helpers of the billing tests: real contracts (loaded and validated), stored as apply does."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import zlib
from datetime import date
from decimal import Decimal
from typing import Any

import yaml

from provisioning.billing import (
    AppliedRevision,
    BillingInput,
    InvoiceLine,
    Quarter,
    quarter_lines,
    should_lines,
)
from provisioning.contract import load_contract
from provisioning.contract.model import Contract
from provisioning.policy import load_policy
from provisioning.policy_model import Policy

POLICY = load_policy()
UU = "Universiteit Utrecht"


def person(pid: str, employer: str = UU, **extra: Any) -> dict[str, Any]:
    """A person who passes every rule; the token is derived from the id (stable, unique)."""
    return {
        "id": pid,
        "name": f"Test {pid.capitalize()}",
        "email": f"{pid}@example.nl",
        "employer": employer,
        "nda_signed": date(2026, 1, 1),
        "awareness_errors": 0,
        "token": f"T-{zlib.crc32(pid.encode()) % 10**7:07d}",
        **extra,
    }


def doc(project: int = 8100, **changes: Any) -> dict[str, Any]:
    """Project ``project`` of Universiteit Utrecht, 2027, one researcher (no token yet), one
    subject at the start; ``changes`` replace top-level keys."""
    base = {
        "project": project,
        "title": "Facturatie proef",
        "status": "approved",
        "institution": {"name": UU, "authorization_until": date(2028, 12, 31)},
        "start": date(2027, 1, 1),
        "end": date(2027, 12, 31),
        "retention_years": 5,
        "lead": "avries",
        "researchers": [person("avries")],
        "file_subjects": ["GBAPERSOONTAB"],
    }
    return {**base, **changes}


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # the loader refuses anchors; one date object used twice would make one


def load(document: dict[str, Any]) -> Contract:
    """The contract as ``tre`` reads it (every rule checked)."""
    fd, name = tempfile.mkstemp(suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yaml.dump(document, f, Dumper=_NoAliases, allow_unicode=True, sort_keys=False)
        return load_contract(name, POLICY)
    finally:
        os.unlink(name)


def stored(contract: Contract | dict[str, Any]) -> dict[str, Any]:
    """As the state store keeps an applied contract: ``dataclasses.asdict``, JSON, ISO dates."""
    if isinstance(contract, dict):
        contract = load(contract)
    return json.loads(json.dumps(dataclasses.asdict(contract), default=str))


def history(*revisions: tuple[date, Any]) -> list[AppliedRevision]:
    """Revisions from contracts or contract documents (loaded, every rule checked)."""
    return [AppliedRevision(day, stored(c)) for day, c in revisions]


def one(project: str, *revisions: tuple[date, Any], **more: Any) -> BillingInput:
    return BillingInput(revisions={project: history(*revisions)}, **more)


def bill(
    inp: BillingInput,
    quarter: str,
    issued: list[InvoiceLine] | None = None,
    issued_quarters: tuple[str, ...] = (),
    policy: Policy = POLICY,
) -> list[InvoiceLine]:
    return quarter_lines(
        Quarter.parse(quarter),
        should_lines(inp, policy),
        issued or [],
        [Quarter.parse(q) for q in issued_quarters],
    )


def amounts(lines: list[InvoiceLine]) -> dict[tuple[str, str], Decimal]:
    """(month, code) → amount, for comparing with the hand-worked figures."""
    out: dict[tuple[str, str], Decimal] = {}
    for ln in lines:
        key = (f"{ln.period_start:%Y-%m}", ln.code)
        out[key] = out.get(key, Decimal(0)) + ln.amount
    return out


def total(lines: list[InvoiceLine]) -> Decimal:
    return sum((ln.amount for ln in lines), Decimal(0))
