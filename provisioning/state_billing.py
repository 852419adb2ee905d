"""The state store's billable usage: what a measurement found billable, once per period.

``quota-monthly`` records a project's usage above its allowance as extra-storage steps
(``kind="extra_storage"``, ``period="2026-03"``, ``quantity`` = steps); the billing reads
these records and never re-measures the past. A record is written once: a second
``record_billable`` for the same (project, kind, period) changes nothing and returns False.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from typing import Any, Protocol

#: DDL of the table (portable SQL; the lead ports it into the migrations).
BILLABLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS billable_usage (
    project TEXT NOT NULL, kind TEXT NOT NULL, period TEXT NOT NULL,
    quantity INTEGER NOT NULL, detail TEXT NOT NULL, recorded_at TEXT NOT NULL,
    PRIMARY KEY (project, kind, period)
);
"""


class _Store(Protocol):
    def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]: ...


class BillableUsage:
    """Methods of ``StateStore`` on ``billable_usage`` (a mixin: ``_tx``/``_read`` are the
    store's)."""

    def record_billable(
        self: _Store, project: str, kind: str, period: str, quantity: int, detail: dict[str, Any]
    ) -> bool:
        """Record ``quantity`` billable units of ``kind`` for ``project`` in ``period``.

        Idempotent: True when recorded now, False when that (project, kind, period) was
        already recorded (the first record stays as it was).
        """
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ValueError(f"quantity must be a whole number of at least 0, not {quantity!r}")
        from .state import _now  # the store's clock format

        text = json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str)
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO billable_usage (project, kind, period, quantity, detail,"
                " recorded_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (project, kind, period) DO NOTHING",
                (project, kind, period, quantity, text, _now()),
            )
            return cursor.rowcount == 1

    def billable_usage(
        self: _Store, kind: str | None = None, project: str | None = None
    ) -> list[dict[str, Any]]:
        """Records (``project, kind, period, quantity, detail`` (dict), ``recorded_at``), by
        period, project number and kind; only ``kind``/``project`` when given."""
        where, params = [], []
        for column, value in (("kind", kind), ("project", project)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        rows = self._read(
            "SELECT project, kind, period, quantity, detail, recorded_at FROM billable_usage"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY period, CAST(project AS INTEGER), kind",
            tuple(params),
        )
        return [dict(r, detail=json.loads(r["detail"])) for r in rows]
