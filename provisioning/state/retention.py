"""Retention of archives in the state store: verification, objections, the purge (issue 14).

Columns added to the ``archives`` row (one migration, ``RETENTION_COLUMNS``):

- ``retention_years``, ``due_on``: the last applied revision's retention and the due date
  (end + retention), written by ``tre apply`` while the row exists;
- ``verified_on``: the ``--today`` of the last verification (``verified_at`` is its clock time,
  ``verify_result`` ``ok`` or ``failed: ...``);
- ``objection_by``, ``objection_at``, ``objection_until``, ``objection_reason``: the open
  objection (empty after ``withdraw``; the ledger keeps every one);
- ``purge_run``: the run that set status ``purging``; ``purged_at``, ``purged_on``: the
  tombstone's time and ``--today`` (written once the archive is detached, before its delete);
  status ``purged`` once nothing of it is left; ``ad_removed_on``: the project's AD remains
  are gone.

Every write here that the audit must show goes into the ledger in the same transaction as the
row (``ledger.append``): the objection, its withdrawal, the tombstone.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .backend import Db
from .ledger import append

RETENTION_COLUMNS = (
    ("retention_years", "INTEGER"),
    ("due_on", "TEXT"),
    ("verified_on", "TEXT"),
    ("objection_by", "TEXT"),
    ("objection_at", "TEXT"),
    ("objection_until", "TEXT"),
    ("objection_reason", "TEXT"),
    ("purge_run", "TEXT"),
    ("purged_at", "TEXT"),
    ("purged_on", "TEXT"),
    ("ad_removed_on", "TEXT"),
)
_OBJECTION = ("objection_by", "objection_at", "objection_until", "objection_reason")


class _Store(Protocol):
    def _tx(self) -> AbstractContextManager[Db]: ...

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]: ...


def _ledger_row(
    at: str, who: str, run_id: str, project: str, op: str, detail: dict[str, Any]
) -> tuple[Any, ...]:
    text = json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str)
    return (at, who, run_id, project, None, op, "archive", f"P{project}", text)


def _update(db: Db, project: str, fields: dict[str, Any], at: str) -> int:
    sets = ", ".join(f"{k} = ?" for k in fields)
    cur = db.execute(
        f"UPDATE archives SET {sets}, updated = ? WHERE project = ?",
        (*fields.values(), at, project),
    )
    return int(getattr(cur, "rowcount", 1) or 0)


class RetentionMixin:
    """Methods of ``StateStore`` on the retention columns of ``archives``."""

    def set_retention(self: _Store, project: str, years: int, due_on: str, at: str) -> None:
        with self._tx() as db:
            _update(db, project, {"retention_years": years, "due_on": due_on}, at)

    def record_verification(
        self: _Store,
        project: str,
        result: str,
        today: str,
        at: str,
        who: str,
        run_id: str,
        detail: dict[str, Any],
    ) -> None:
        """The result of a retention verification (``ok`` or ``failed: ...``), on the row and
        in the ledger (``op verify``)."""
        fields = {"verify_result": result, "verified_at": at, "verified_on": today}
        with self._tx() as db:
            _update(db, project, fields, at)
            append(
                db, [_ledger_row(at, who, run_id, project, "verify", dict(detail, result=result))]
            )

    def object_to_purge(
        self: _Store, project: str, who: str, at: str, until: str, reason: str, run_id: str
    ) -> None:
        fields = dict(zip(_OBJECTION, (who, at, until, reason), strict=True))
        with self._tx() as db:
            _update(db, project, fields, at)
            append(db, [_ledger_row(at, who, run_id, project, "object",
                                    {"until": until, "reason": reason})])  # fmt: skip

    def withdraw_objection(self: _Store, project: str, who: str, at: str, run_id: str) -> None:
        with self._tx() as db:
            row = db.execute(
                "SELECT objection_until, objection_by FROM archives WHERE project = ?", (project,)
            ).fetchone()
            _update(db, project, dict.fromkeys(_OBJECTION), at)
            detail = {"until": row["objection_until"], "objected_by": row["objection_by"]}
            append(db, [_ledger_row(at, who, run_id, project, "withdraw", detail)])

    def mark_purging(self: _Store, project: str, run_id: str, at: str) -> bool:
        """``live-removed`` → ``purging`` (this run may now detach it); False when the row is
        no longer ``live-removed`` (changed since it was checked)."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE archives SET status = 'purging', purge_run = ?, updated = ?"
                " WHERE project = ? AND status = 'live-removed'",
                (run_id, at, project),
            )
            return bool(getattr(cur, "rowcount", 1))

    def unmark_purging(self: _Store, project: str, at: str) -> None:
        """Nothing was detached (the archive is whole at ``P<nr>``): back to ``live-removed``."""
        with self._tx() as db:
            db.execute(
                "UPDATE archives SET status = 'live-removed', purge_run = NULL, updated = ?"
                " WHERE project = ? AND status = 'purging'",
                (at, project),
            )

    def record_tombstone(
        self: _Store, project: str, who: str, at: str, today: str, run_id: str,
        tombstone: dict[str, Any],
    ) -> None:  # fmt: skip
        """The tombstone (``op purge``) once the archive is detached; the row keeps status
        ``purging`` until the delete is confirmed (``finish_purge``)."""
        with self._tx() as db:
            _update(db, project, {"purged_at": at, "purged_on": today}, at)
            append(db, [_ledger_row(at, who, run_id, project, "purge", tombstone)])

    def finish_purge(self: _Store, project: str, at: str) -> None:
        """Status ``purged``: the tombstone is recorded and nothing of the archive is left."""
        with self._tx() as db:
            _update(db, project, {"status": "purged"}, at)

    def record_ad_removed(self: _Store, project: str, today: str, at: str) -> None:
        with self._tx() as db:
            _update(db, project, {"ad_removed_on": today}, at)
