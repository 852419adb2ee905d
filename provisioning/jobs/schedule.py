"""When a periodic job is due (docs/jobs.md): pure, ``today`` is an argument.

A job's schedule cuts time into periods: a day, an ISO week (from Monday) or a calendar month
(from the 1st). The job is due when today lies in a period that has no durable record of the
job yet: "at or past the period's first day and not done for that period", never an exact
date match. A run that missed Monday is caught up on Tuesday (same week); a second run in the
same period finds the record and does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from provisioning.calendar import add_months

Every = Literal["day", "week", "month"]

#: The subject of a job's own record: "the job ran for this period".
JOB_SUBJECT = "*"


@dataclass(frozen=True)
class Schedule:
    every: Every

    def period(self, today: date) -> str:
        """The period ``today`` falls in: ``2026-12-01``, ``2026-W49`` (ISO week), ``2026-12``."""
        if self.every == "day":
            return today.isoformat()
        if self.every == "week":
            year, week, _ = today.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{today.year}-{today.month:02d}"

    def start(self, today: date) -> date:
        """First day of the period ``today`` falls in (the day the job becomes due)."""
        if self.every == "day":
            return today
        if self.every == "week":
            return today - timedelta(days=today.weekday())
        return today.replace(day=1)

    def next_start(self, today: date) -> date:
        """First day of the period after the one ``today`` falls in."""
        if self.every == "day":
            return today + timedelta(days=1)
        if self.every == "week":
            return self.start(today) + timedelta(days=7)
        return add_months(today.replace(day=1), 1)

    def next_due(self, today: date, done: bool) -> date:
        """Today when the current period is not done yet (also when its first day was
        missed), else the first day of the next period."""
        return self.next_start(today) if done else today

    def describe(self) -> str:
        return {"day": "daily", "week": "weekly (Mondays)", "month": "monthly (the 1st)"}[
            self.every
        ]


DAILY = Schedule("day")
WEEKLY = Schedule("week")
MONTHLY = Schedule("month")
