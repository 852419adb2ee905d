"""The state store's records of periodic jobs (docs/jobs.md): table ``job_runs``.

One row per job, subject and period done; the primary key makes a second record of the same
(job, subject, period) impossible, so a job re-run in the same period finds its work done.
``StateStore`` mixes this in; the DDL is migration 8 (``migrations.py``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from .backend import Db

JOB_RUNS_DDL = """
CREATE TABLE IF NOT EXISTS job_runs (
    job TEXT NOT NULL, subject TEXT NOT NULL, period TEXT NOT NULL, done_at TEXT NOT NULL,
    result TEXT NOT NULL, PRIMARY KEY (job, subject, period)
);
"""


class _Store(Protocol):
    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]: ...
    def _tx(self) -> AbstractContextManager[Db]: ...


class JobRuns:
    """Methods of ``StateStore`` for ``job_runs``."""

    def job_done(self: _Store, job: str, subject: str, period: str) -> bool:
        """Whether ``job`` recorded ``subject`` as done for ``period``."""
        return bool(
            self._read(
                "SELECT 1 FROM job_runs WHERE job = ? AND subject = ? AND period = ?",
                (job, subject, period),
            )
        )

    def record_job(self: _Store, job: str, records: list[tuple[str, str, str]], at: str) -> None:
        """Record (subject, period, result) rows of ``job`` as done at ``at``; a row already
        there is kept as it is (the first record wins)."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO job_runs (job, subject, period, done_at, result)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (job, subject, period) DO NOTHING",
                [(job, s, p, at, r) for s, p, r in records],
            )

    def job_records(self: _Store, job: str, period: str | None = None) -> list[dict[str, Any]]:
        """The rows of ``job`` (of one ``period`` if given), oldest first."""
        sql = "SELECT * FROM job_runs WHERE job = ?"
        params: tuple[Any, ...] = (job,)
        if period is not None:
            sql, params = sql + " AND period = ?", (job, period)
        return [dict(r) for r in self._read(sql + " ORDER BY done_at, period, subject", params)]

    def done_subjects(self: _Store, job: str, periods: list[str]) -> set[tuple[str, str]]:
        """(subject, period) pairs of ``job`` recorded for any of ``periods``."""
        if not periods:
            return set()
        rows = self._read(
            "SELECT subject, period FROM job_runs WHERE job = ?"
            f" AND period IN ({', '.join('?' * len(periods))})",
            (job, *periods),
        )
        return {(r["subject"], r["period"]) for r in rows}
