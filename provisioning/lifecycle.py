"""A project's state on a day, from its contract alone (pure; docs/lifecycle.md).

``planned`` before the start, ``active`` from the start, ``suspended`` inside a suspension
(whole months of the contract's ``suspensions``), ``ended`` from the day after ``end``. Later
states (archived, moved, reopened-as, purged) come from what was done, not from the contract;
they follow ``ended`` and are added by the archive (issue 11, second half) and issue 12.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from .contract.model import Contract

Status = Literal["planned", "active", "suspended", "ended"]
#: Every status a project can have on a day from its contract, in life order.
STATUSES: tuple[Status, ...] = ("planned", "active", "suspended", "ended")


@dataclass(frozen=True)
class Phase:
    """The status on a day and the days it holds: ``since``..``until`` (inclusive; None: open)."""

    status: Status
    since: date | None
    until: date | None

    def dates(self) -> str:
        """``2027-04-01 → 2027-06-30``, ``since 2028-03-01``, ``until 2026-12-31``."""
        if self.since and self.until:
            return f"{self.since} → {self.until}"
        if self.since:
            return f"since {self.since}"
        return f"until {self.until}" if self.until else ""


@dataclass(frozen=True)
class Life:
    """The dates that make a project's states: start, end (inclusive), suspensions."""

    start: date
    end: date
    suspensions: tuple[tuple[date, date], ...] = ()

    @classmethod
    def of(cls, contract: Contract) -> Life:
        return cls(
            contract.start, contract.end, tuple((s.start, s.end) for s in contract.suspensions)
        )

    @classmethod
    def of_stored(cls, contract: dict[str, Any]) -> Life:
        """From a contract as the state store keeps it (``dataclasses.asdict``, ISO dates)."""
        return cls(
            _d(contract["start"]),
            _d(contract["end"]),
            tuple(
                sorted((_d(s["start"]), _d(s["end"])) for s in contract.get("suspensions") or [])
            ),
        )

    def phase(self, today: date) -> Phase:
        if today < self.start:
            return Phase("planned", None, self.start - timedelta(days=1))
        if today > self.end:
            return Phase("ended", self.end + timedelta(days=1), None)
        since = self.start
        for first, last in sorted(self.suspensions):
            if first <= today <= last:
                return Phase("suspended", first, last)
            if last < today:
                since = last + timedelta(days=1)
            elif first > today:
                return Phase("active", since, first - timedelta(days=1))
        return Phase("active", since, self.end)


def _d(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def status_on(contract: Contract, today: date) -> Status:
    """The project's status on ``today``: planned, active, suspended or ended."""
    return Life.of(contract).phase(today).status


def phase_on(contract: Contract, today: date) -> Phase:
    return Life.of(contract).phase(today)


def suspended_on(contract: Contract, day: date) -> bool:
    return any(s.start <= day <= s.end for s in contract.suspensions)


def working_days_before(day: date, n: int) -> date:
    """The working day (Mon-Fri) ``n`` working days before ``day`` (``day`` itself if n=0)."""
    cur = day
    while n > 0:
        cur -= timedelta(days=1)
        if cur.weekday() < 5:
            n -= 1
    return cur


def accounts_deleted_from(contract: Contract, closed_account_days: int) -> date:
    """The first day an ended project's accounts and project groups must be gone: the end
    plus the policy's ``closed_account_days`` (end 2027-01-31, 90 days → 2027-05-01)."""
    return contract.end + timedelta(days=closed_account_days)


def accounts_deleted_on(contract: Contract, today: date, closed_account_days: int) -> bool:
    """Whether on ``today`` the project's accounts and groups are to be deleted."""
    return today >= accounts_deleted_from(contract, closed_account_days)
