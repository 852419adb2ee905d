"""Calendar helpers of the catalogue's rules and tariffs: months, month ends, minimum periods.

Pure; shared by the contract rules, the quote and (later) the jobs and billing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, _month_days(year, month)))


def _month_days(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def month_end(d: date) -> date:
    return date(d.year, d.month, _month_days(d.year, d.month))


def months(start: date, end: date) -> Iterator[date]:
    """The 1st of every calendar month touched by ``start..end`` (inclusive)."""
    cur = date(start.year, start.month, 1)
    while cur <= end:
        yield cur
        cur = add_months(cur, 1)


def min_until(start: date, min_months: int) -> date:
    """Last day of a period of ``min_months`` months billed from ``start``'s month."""
    return add_months(date(start.year, start.month, 1), min_months) - timedelta(days=1)
