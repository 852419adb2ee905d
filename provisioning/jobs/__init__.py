"""Periodic jobs (docs/jobs.md): ``tre jobs run`` runs every due one, once per period.

``JOBS`` is the order they run in: reconcile first (date-driven changes happen before
anything reads the environment), then drift, then the notices and the measurements.
"""

from __future__ import annotations

from .drift import DRIFT, RECONCILE
from .framework import (
    DEFAULT_METRICS_DIR,
    Job,
    JobContext,
    JobReport,
    JobSettings,
    Outcome,
    job_table,
    jobs_lock,
    run_due,
)
from .quota import QUOTA_MONTHLY, QUOTA_WEEKLY
from .reminders import END_REMINDERS, OSSC_DEADLINE
from .retention import ARCHIVE_VERIFY, PURGE_NOTICES

JOBS: list[Job] = [
    RECONCILE, DRIFT, END_REMINDERS, OSSC_DEADLINE, QUOTA_WEEKLY, QUOTA_MONTHLY,
    ARCHIVE_VERIFY, PURGE_NOTICES,
]  # fmt: skip
JOB_NAMES = tuple(j.name for j in JOBS)

__all__ = [
    "DEFAULT_METRICS_DIR",
    "JOBS",
    "JOB_NAMES",
    "Job",
    "JobContext",
    "JobReport",
    "JobSettings",
    "Outcome",
    "job_table",
    "jobs_lock",
    "run_due",
]
