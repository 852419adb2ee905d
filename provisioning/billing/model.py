"""What billing reads and what it produces (pure data; docs/billing.md).

Inputs: the applied revision history of every project (the contract as the state store keeps
it, ``dataclasses.asdict`` with ISO dates, and the day each revision took effect), measured
billable usage, archive records and fee events (move, reopen). Output: invoice lines, one per
project, service and month.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from ..calendar import add_months, month_end

CENT = Decimal("0.01")


def as_date(value: Any) -> date:
    """A stored date (ISO text or ``date``) as a ``date``."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def first_of(d: date) -> date:
    return date(d.year, d.month, 1)


@dataclass(frozen=True)
class AppliedRevision:
    """One applied contract revision and the day it took effect (the apply's ``--today``)."""

    applied_on: date
    contract: Mapping[str, Any]


@dataclass(frozen=True)
class Usage:
    """Measured billable usage (``billable_usage``): e.g. over-quota storage steps of a month."""

    project: str
    kind: str
    month: date  #: the 1st of the period's month (``period`` ``YYYY-MM``)
    quantity: int
    #: The policy storage step the quantity counts (e.g. ``50GB``); None: the smallest step.
    step: str | None = None


@dataclass(frozen=True)
class Archive:
    """An archived project (``archives``): its zipped size in whole GB and the day it was made."""

    project: str
    size_gb: int
    archived_on: date


@dataclass(frozen=True)
class FeeEvent:
    """A one-off event of a project's life that is not a contract line (issue 12).

    ``move``: ``project`` moves to ``institution`` on ``on`` (a 1st: contracts start on a 1st).
    With ``to_project`` (issue 12: a new contract with ``moves_from``) the old project's lines
    stop at ``on`` and the new one pays the move fee instead of the start fees; without it the
    same project continues and its lines from ``on`` go to the new institution.
    ``reopen``: ``project`` (a new contract) reopens ``of_project`` from its archive on ``on``.
    """

    kind: Literal["move", "reopen"]
    project: str
    on: date
    institution: str | None = None
    to_project: str | None = None
    of_project: str | None = None


@dataclass(frozen=True)
class BillingInput:
    #: project → its applied revisions, oldest first
    revisions: Mapping[str, Sequence[AppliedRevision]]
    usage: Sequence[Usage] = ()
    archives: Sequence[Archive] = ()
    events: Sequence[FeeEvent] = field(default_factory=tuple)


@dataclass(frozen=True)
class InvoiceLine:
    """One line: a project's service in one month (a correction: a past month's difference)."""

    institution: str
    project: str
    code: str
    service: str
    quantity: int
    unit_price: Decimal
    period_start: date
    period_end: date
    correction: bool = False

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def key(self) -> tuple[str, str, date]:
        """What issued and owed lines are matched on: neither the institution nor the price
        (a tariff changed later is not retroactive)."""
        return (self.project, self.code, self.period_start)


def money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2027Q1`` (or the quote's ``2027-Q1``); ValueError with a one-line reason."""
        m = _QUARTER.match(text.strip())
        if not m:
            raise ValueError(f"{text!r} is not a quarter; use YEARQN, e.g. 2027Q1 (N is 1-4)")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, d: date) -> Quarter:
        return cls(d.year, (d.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        return add_months(self.start, 3) - timedelta(days=1)

    def months(self) -> Iterator[date]:
        for i in range(3):
            yield add_months(self.start, i)

    def __str__(self) -> str:
        return self.label


def month_period(month: date) -> tuple[date, date]:
    return first_of(month), month_end(month)
