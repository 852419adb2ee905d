"""When a job is due (provisioning/jobs/schedule.py) and the framework's records: due = at
or past the period's first day and not done for that period; a missed day is caught up."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from provisioning.jobs.schedule import DAILY, JOB_SUBJECT, MONTHLY, WEEKLY


@pytest.mark.parametrize(
    ("schedule", "day", "period", "start", "next_start"),
    [
        (DAILY, date(2026, 12, 31), "2026-12-31", date(2026, 12, 31), date(2027, 1, 1)),
        # Monday 2026-11-30 is ISO week 49; Sunday 2026-12-06 the same week
        (WEEKLY, date(2026, 11, 30), "2026-W49", date(2026, 11, 30), date(2026, 12, 7)),
        (WEEKLY, date(2026, 12, 6), "2026-W49", date(2026, 11, 30), date(2026, 12, 7)),
        # ISO year differs from the calendar year around New Year
        (WEEKLY, date(2027, 1, 1), "2026-W53", date(2026, 12, 28), date(2027, 1, 4)),
        (WEEKLY, date(2024, 12, 30), "2025-W01", date(2024, 12, 30), date(2025, 1, 6)),
        (MONTHLY, date(2027, 1, 1), "2027-01", date(2027, 1, 1), date(2027, 2, 1)),
        (MONTHLY, date(2027, 1, 31), "2027-01", date(2027, 1, 1), date(2027, 2, 1)),
        (MONTHLY, date(2027, 12, 15), "2027-12", date(2027, 12, 1), date(2028, 1, 1)),
    ],
)
def test_periods(schedule, day, period, start, next_start):
    assert schedule.period(day) == period
    assert schedule.start(day) == start
    assert schedule.next_start(day) == next_start
    assert schedule.start(day) <= day < schedule.next_start(day)


@pytest.mark.parametrize("schedule", [DAILY, WEEKLY, MONTHLY])
def test_every_day_of_a_period_has_the_same_period_and_start(schedule):
    day = date(2026, 11, 1)
    while day < date(2027, 3, 1):
        start = schedule.start(day)
        assert schedule.period(start) == schedule.period(day)
        assert schedule.period(start - timedelta(days=1)) != schedule.period(day)
        day += timedelta(days=1)


def test_next_due_is_today_until_done():
    tuesday = date(2026, 12, 1)  # Monday 2026-11-30 was missed
    assert WEEKLY.next_due(tuesday, done=False) == tuesday  # caught up today
    assert WEEKLY.next_due(tuesday, done=True) == date(2026, 12, 7)
    assert MONTHLY.next_due(date(2026, 12, 5), done=True) == date(2027, 1, 1)
    assert DAILY.next_due(date(2026, 12, 5), done=True) == date(2026, 12, 6)


def test_job_subject_is_no_project_number():
    assert not JOB_SUBJECT.isdigit()
