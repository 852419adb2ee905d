"""The periodic-job framework: what a job is, what it gets, and the run of all due jobs.

``run_due`` runs every job of ``JOBS`` whose period has no record yet (``schedule.py``), one
after the other in one process; the caller holds the jobs lock (``jobs_lock``). A job that
fails is reported and left unrecorded, so the next run retries it; the others still run.
A job records its own notices as it goes (``notify.deliver``), so a retry sends nothing twice.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from provisioning.contract.model import Contract
from provisioning.errors import ProvisioningError
from provisioning.policy_model import Policy
from provisioning.state import StateStore
from provisioning.usage import DEFAULT_METRICS_DIR

from .mail import DEFAULT_LANGUAGE, Mailer, Recipient
from .notify import now
from .schedule import JOB_SUBJECT, Schedule


@dataclass(frozen=True)
class JobSettings:
    """What the configuration adds to the policy (options, $TRE_*, /etc/tre/tre.toml)."""

    operator_email: str | None = None
    operator_language: str = DEFAULT_LANGUAGE
    metrics_dir: Path = DEFAULT_METRICS_DIR
    #: ``reconcile`` (apply all contracts daily) runs only when this is on.
    reconcile: bool = False


@dataclass
class JobContext:
    today: date
    policy: Policy
    contracts: list[Contract]  # the approved contracts given (files or the contracts directory)
    store: StateStore
    inventory: Path
    home: Path
    mailer: Mailer
    settings: JobSettings

    def operator(self) -> Recipient:
        if not self.settings.operator_email:
            raise ProvisioningError(
                "no operator address: set --operator-email, $TRE_OPERATOR_EMAIL or"
                " tre_operator_email in the inventory"
            )
        return Recipient(self.settings.operator_email, "", self.settings.operator_language)


@dataclass
class Outcome:
    """What one job did: a one-line summary, failures (one line each), figures for --json."""

    summary: str
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    name: str
    schedule: Schedule
    run: Callable[[JobContext, str], Outcome]  # (context, period) → outcome
    help: str
    enabled: Callable[[JobSettings], bool] = lambda _s: True


@dataclass
class JobReport:
    job: str
    period: str
    status: str  # done | not-due | off | failed
    summary: str
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_due(ctx: JobContext, jobs: list[Job], only: set[str] | None = None) -> list[JobReport]:
    """Run each job of ``jobs`` (those named in ``only`` if given) that is due on ``ctx.today``."""
    reports = []
    for job in jobs:
        if only and job.name not in only:
            continue
        period = job.schedule.period(ctx.today)
        if not job.enabled(ctx.settings):
            reports.append(JobReport(job.name, period, "off", "off (not configured)"))
            continue
        if ctx.store.job_done(job.name, JOB_SUBJECT, period):
            reports.append(JobReport(job.name, period, "not-due", f"done for {period}"))
            continue
        reports.append(_run_one(ctx, job, period))
    ctx.mailer.close()
    return reports


def _run_one(ctx: JobContext, job: Job, period: str) -> JobReport:
    try:
        outcome = job.run(ctx, period)
    except ProvisioningError as e:
        return JobReport(job.name, period, "failed", "failed", [f"{job.name}: {e}"])
    except Exception as e:  # noqa: BLE001 - one job's bug must not stop the others
        why = f"internal error {type(e).__name__} (a bug: please report it)"
        return JobReport(job.name, period, "failed", "failed", [f"{job.name}: {why}"])
    if outcome.failures:
        return JobReport(
            job.name, period, "failed", outcome.summary, outcome.failures, outcome.warnings,
            outcome.figures,
        )  # fmt: skip
    ctx.store.record_job(job.name, [(JOB_SUBJECT, period, outcome.summary)], now())
    return JobReport(
        job.name, period, "done", outcome.summary, [], outcome.warnings, outcome.figures
    )


def job_table(store: StateStore, jobs: list[Job], today: date, settings: JobSettings):
    """``tre jobs list``: name, schedule, last run (when, period, result), next due."""
    rows = []
    for job in jobs:
        own = [r for r in store.job_records(job.name) if r["subject"] == JOB_SUBJECT]
        last = own[-1] if own else None
        done = store.job_done(job.name, JOB_SUBJECT, job.schedule.period(today))
        on = job.enabled(settings)
        rows.append(
            {
                "job": job.name,
                "schedule": job.schedule.describe(),
                "enabled": on,
                "last_run": last["done_at"] if last else None,
                "last_period": last["period"] if last else None,
                "last_result": last["result"] if last else None,
                "next_due": job.schedule.next_due(today, done).isoformat() if on else None,
            }
        )
    return rows


@contextmanager
def jobs_lock(home: Path) -> Iterator[None]:
    """One ``tre jobs run`` at a time per admin machine: a second one refuses at once."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = home / "jobs.lock"
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ProvisioningError(
                f"another tre jobs run holds {path}; this run does nothing"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
