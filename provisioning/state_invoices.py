"""The state store's invoice records (docs/billing.md): revision history with days, issued lines.

A mixin of :class:`provisioning.state.StateStore` (its ``_read``/``_tx`` helpers), kept apart
so state.py stays small. Issued invoice lines are append-only like the ledger: an issued
quarter never changes, and each issue is one ledger entry (op ``issue``, kind ``invoice``,
name the quarter, detail the SHA-256 of its lines, their number and total), written in the
same transaction as the lines.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

#: Issued invoice lines: one row per line of an issued quarter, never updated or deleted.
INVOICE_SCHEMA = """
CREATE TABLE IF NOT EXISTS invoice_lines (
    quarter TEXT NOT NULL, line INTEGER NOT NULL, institution TEXT NOT NULL,
    project TEXT NOT NULL, code TEXT NOT NULL, service TEXT NOT NULL, quantity INTEGER NOT NULL,
    unit_price TEXT NOT NULL, amount TEXT NOT NULL, period_start TEXT NOT NULL,
    period_end TEXT NOT NULL, correction INTEGER NOT NULL, issued_at TEXT NOT NULL,
    run_id TEXT NOT NULL, PRIMARY KEY (quarter, line)
);
CREATE TRIGGER IF NOT EXISTS invoice_lines_no_update BEFORE UPDATE ON invoice_lines
BEGIN SELECT RAISE(ABORT, 'issued invoice lines are final'); END;
CREATE TRIGGER IF NOT EXISTS invoice_lines_no_delete BEFORE DELETE ON invoice_lines
BEGIN SELECT RAISE(ABORT, 'issued invoice lines are final'); END;
"""

_LINE_COLUMNS = (
    "institution",
    "project",
    "code",
    "service",
    "quantity",
    "unit_price",
    "amount",
    "period_start",
    "period_end",
    "correction",
)


class InvoiceRecords:
    """Store methods of billing; every method is one short transaction (StateStore's)."""

    _read: Any
    _tx: Any

    def revision_history(self, project: str | None = None) -> list[dict[str, Any]]:
        """Every applied revision, oldest first, with the day it took effect.

        ``applied_on`` is the ``--today`` of the run that applied it (what the rules were
        evaluated as), not the wall-clock ``applied_at``; a revision whose run is unknown
        falls back to the date of ``applied_at``.
        """
        where = " WHERE r.project = ?" if project else ""
        rows = self._read(
            "SELECT r.project, r.revision, r.applied_at, r.run_id, r.contract, u.today"
            " FROM revisions r LEFT JOIN runs u ON u.run_id = r.run_id" + where + " ORDER BY r.id",
            (project,) if project else (),
        )
        return [
            {
                "project": r["project"],
                "revision": r["revision"],
                "applied_at": r["applied_at"],
                "applied_on": r["today"] or r["applied_at"][:10],
                "run_id": r["run_id"],
                "contract": json.loads(r["contract"]),
            }
            for r in rows
        ]

    def issued_invoices(self) -> dict[str, dict[str, Any]]:
        """Issued quarters: quarter → the ledger's record (at, actor, run_id, detail)."""
        rows = self._read(
            "SELECT name, at, actor, run_id, detail FROM ledger"
            " WHERE kind = 'invoice' AND op = 'issue' ORDER BY id"
        )
        return {
            r["name"]: {
                "at": r["at"],
                "actor": r["actor"],
                "run_id": r["run_id"],
                "detail": json.loads(r["detail"]),
            }
            for r in rows
        }

    def invoice_lines(self, quarter: str | None = None) -> list[dict[str, Any]]:
        """Issued lines (of one quarter, or all), in issue order; money as text."""
        where, params = (" WHERE quarter = ?", (quarter,)) if quarter else ("", ())
        rows = self._read(
            "SELECT * FROM invoice_lines" + where + " ORDER BY issued_at, quarter, line", params
        )
        return [dict(r, correction=bool(r["correction"])) for r in rows]

    def issue_invoice(
        self,
        quarter: str,
        lines: list[dict[str, Any]],
        detail: dict[str, Any],
        actor: str,
        run_id: str,
    ) -> bool:
        """Record a quarter as issued: its lines and one ledger entry, in one transaction.

        ``lines`` are dicts with the keys of ``_LINE_COLUMNS`` (money as text). Returns False,
        writing nothing, when the quarter was issued before.
        """
        at = datetime.now(UTC).isoformat(timespec="seconds")
        with self._tx() as db:
            done = db.execute(
                "SELECT 1 FROM ledger WHERE kind = 'invoice' AND op = 'issue' AND name = ?",
                (quarter,),
            ).fetchone()
            if done:
                return False
            db.executemany(
                f"INSERT INTO invoice_lines (quarter, line, {', '.join(_LINE_COLUMNS)},"
                " issued_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(quarter, i, *_row(ln), at, run_id) for i, ln in enumerate(lines, 1)],
            )
            db.execute(
                "INSERT INTO ledger (at, actor, run_id, project, host, op, kind, name, detail)"
                " VALUES (?, ?, ?, NULL, NULL, 'issue', 'invoice', ?, ?)",
                (at, actor, run_id, quarter, json.dumps(detail, sort_keys=True)),
            )
        return True


def _row(line: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(int(line[c]) if c == "correction" else line[c] for c in _LINE_COLUMNS)
