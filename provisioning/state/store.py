"""The state store: applied contract revisions, runs, issued identities and the append-only,
hash-chained audit ledger (docs/state.md).

``StateStore(url)`` opens ``sqlite:///PATH`` (the embedded default) or ``postgresql://...``
(a team's store). An SQLite store migrates itself when opened (one admin machine: nobody else
to ask); a PostgreSQL store must be at this tre's schema version, else one line says to run
``tre state migrate``. Either is refused when its schema is newer than this tre knows.
Nothing secret is ever stored here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import StateError
from ..identity import Identity, Issued
from . import ledger as chain
from . import migrations
from .archives import ArchivesMixin
from .backend import SQLITE, Db, one_line, open_db
from .billing import BillableUsage
from .invoices import InvoiceRecords
from .jobs import JobRuns
from .retention import RetentionMixin
from .transfers import TransferRecords

DEFAULT_STATE_URL = "sqlite:////var/lib/tre/state.db"
#: Run statuses the next apply recovers from the run's journal (``interrupted_runs``).
TO_RECOVER = ("running", "unrecorded")


@dataclass(frozen=True)
class LedgerEntry:
    at: str
    actor: str
    run_id: str
    project: str | None
    host: str | None
    op: str
    kind: str
    name: str | None
    detail: dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StateStore(
    BillableUsage, ArchivesMixin, InvoiceRecords, JobRuns, RetentionMixin, TransferRecords
):
    """One database (SQLite or PostgreSQL); every method is one short transaction."""

    def __init__(self, url: str = DEFAULT_STATE_URL) -> None:
        self.url = url
        self._db: Db = open_db(url)
        #: the SQLite file (None on PostgreSQL)
        self.path: Path | None = getattr(self._db, "path", None)
        self.where = self._db.where
        try:
            if self._db.dialect == SQLITE:
                migrations.migrate(self._db)  # the embedded default keeps itself current
            migrations.check(self._db)
        except StateError:
            self._db.close()
            raise
        except self._db.errors as e:
            self._db.close()
            raise StateError(f"cannot open the state store {self.where}: {one_line(e)}") from None

    @property
    def dialect(self) -> str:
        return self._db.dialect

    def close(self) -> None:
        self._db.close()

    def _failure(self, e: BaseException) -> StateError:
        """One line naming the store and why (disk full, read-only, locked, corrupt)."""
        return StateError(f"state store {self.where}: {one_line(e)}")

    @contextmanager
    def _tx(self) -> Iterator[Db]:
        """One write transaction; any database failure becomes a one-line ``StateError``.

        SQLite may end the transaction itself (a full disk during COMMIT): the rollback is
        then skipped, which must not hide the real cause.
        """
        try:
            self._db.begin()
        except self._db.errors as e:
            raise self._failure(e) from None
        try:
            yield self._db
            self._db.commit()
        except self._db.errors as e:
            self._db.rollback()
            raise self._failure(e) from None
        except BaseException:
            self._db.rollback()
            raise

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """A read; a corrupt or unreadable store becomes a one-line ``StateError``."""
        try:
            return self._db.execute(sql, params).fetchall()
        except self._db.errors as e:
            raise self._failure(e) from None

    # runs -------------------------------------------------------------------------------
    def start_run(
        self, run_id: str, actor: str, mode: str, today: str, projects: list[str]
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (run_id, started, actor, mode, today, status, projects)"
                " VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (run_id, _now(), actor, mode, today, json.dumps(projects)),
            )

    def interrupted_runs(self) -> list[dict[str, Any]]:
        """Applies to recover (callers hold the apply lock): still marked running (killed
        half-way, or the store failed before it could mark them) or ``unrecorded`` (the store
        refused their ledger entries: the next apply records them from the run's journal)."""
        rows = self._read(
            "SELECT run_id, started, actor, projects, today FROM runs"
            f" WHERE status IN ({', '.join('?' * len(TO_RECOVER))})",
            TO_RECOVER,
        )
        return [dict(r) for r in rows]

    def finish_run(self, run_id: str, status: str, artifacts: str | None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET finished = ?, status = ?, artifacts = ? WHERE run_id = ?",
                (_now(), status, artifacts, run_id),
            )

    # ledger -----------------------------------------------------------------------------
    def record(self, entries: list[LedgerEntry]) -> None:
        """Append what really happened; never called for check-mode (plan) results.

        Each row is chained to the one before (``ledger.py``): appends queue behind each
        other (SQLite's write lock, a table lock on PostgreSQL) so the chain has one order.
        """
        if not entries:
            return
        rows = [
            (e.at, e.actor, e.run_id, e.project, e.host, e.op, e.kind, e.name,
             json.dumps(e.detail, sort_keys=True, ensure_ascii=False, default=str))
            for e in entries
        ]  # fmt: skip
        with self._tx() as db:
            chain.append(db, rows)

    def verify_ledger(self) -> chain.Verdict:
        """Walk the ledger's hash chain: the first edited, inserted or deleted row."""
        try:
            return chain.verify(self._db)
        except self._db.errors as e:
            raise self._failure(e) from None

    def run_recorded(self, run_id: str) -> bool:
        """Whether the ledger already holds entries of this run."""
        return bool(self._read("SELECT 1 FROM ledger WHERE run_id = ? LIMIT 1", (run_id,)))

    def ledger(self, project: str | None = None) -> list[LedgerEntry]:
        sql = "SELECT * FROM ledger" + (" WHERE project = ?" if project else "") + " ORDER BY id"
        rows = self._read(sql, (project,) if project else ())
        return [
            LedgerEntry(
                r["at"],
                r["actor"],
                r["run_id"],
                r["project"],
                r["host"],
                r["op"],
                r["kind"],
                r["name"],
                json.loads(r["detail"]),
            )
            for r in rows
        ]

    # revisions and projects -------------------------------------------------------------
    def save_revision(
        self,
        project: dict[str, Any],
        revision: str,
        run_id: str,
        source: str,
        contract: dict[str, Any],
    ) -> None:
        """Record an applied contract revision and the project's summary state."""
        with self._tx() as db:
            last = db.execute(
                "SELECT revision FROM revisions WHERE project = ? ORDER BY id DESC LIMIT 1",
                (project["project"],),
            ).fetchone()
            if last is None or last["revision"] != revision:
                db.execute(
                    "INSERT INTO revisions (project, revision, applied_at, run_id, source,"
                    " contract) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        project["project"],
                        revision,
                        _now(),
                        run_id,
                        source,
                        json.dumps(contract, sort_keys=True, ensure_ascii=False, default=str),
                    ),
                )
            db.execute(
                'INSERT INTO projects (project, title, start, "end", retention_years, status,'
                " ossc_end, ossc_destruction_deadline, updated, status_on)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(project) DO UPDATE SET title=excluded.title, start=excluded.start,"
                ' "end"=excluded."end", retention_years=excluded.retention_years,'
                " status=excluded.status, ossc_end=excluded.ossc_end,"
                " ossc_destruction_deadline=excluded.ossc_destruction_deadline,"
                " updated=excluded.updated, status_on=excluded.status_on",
                (
                    project["project"],
                    project.get("title"),
                    project.get("start"),
                    project.get("end"),
                    project.get("retention_years"),
                    project.get("status", "active"),
                    project.get("ossc_end"),
                    project.get("ossc_destruction_deadline"),
                    _now(),
                    project.get("status_on"),
                ),
            )

    def last_revision(self, project: str) -> dict[str, Any] | None:
        """The last applied contract of a project, as stored (dict), or None."""
        rows = self._read(
            "SELECT * FROM revisions WHERE project = ? ORDER BY id DESC LIMIT 1", (project,)
        )
        if not rows:
            return None
        row = rows[0]
        return {
            "revision": row["revision"],
            "applied_at": row["applied_at"],
            "run_id": row["run_id"],
            "source": row["source"],
            "contract": json.loads(row["contract"]),
        }

    def applied_contracts(self) -> dict[str, dict[str, Any]]:
        """The last applied contract (stored dict) of every project, by project number."""
        rows = self._read(
            "SELECT project, contract FROM revisions"
            " WHERE id IN (SELECT MAX(id) FROM revisions GROUP BY project)"
        )
        return {r["project"]: json.loads(r["contract"]) for r in rows}

    def revisions(self, project: str) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT revision, applied_at, run_id, source FROM revisions WHERE project = ?"
            " ORDER BY id",
            (project,),
        )
        return [dict(r) for r in rows]

    def project(self, project: str) -> dict[str, Any] | None:
        rows = self._read("SELECT * FROM projects WHERE project = ?", (project,))
        return dict(rows[0]) if rows else None

    def projects(self) -> list[dict[str, Any]]:
        rows = self._read("SELECT * FROM projects ORDER BY CAST(project AS INTEGER)")
        return [dict(r) for r in rows]

    def partial_projects(self) -> list[dict[str, Any]]:
        """Projects with ledger entries but no applied revision (a first apply that failed
        half-way): their number, how many entries, and the last one's time."""
        rows = self._read(
            "SELECT project, COUNT(*) AS entries, MAX(at) AS last_change FROM ledger"
            " WHERE project IS NOT NULL AND project NOT IN (SELECT project FROM projects)"
            " GROUP BY project ORDER BY CAST(project AS INTEGER)"
        )
        return [dict(r) for r in rows]

    def seat_holders(self, groups: list[str]) -> dict[str, dict[str, list[str]]]:
        """Members of seat groups as the ledger has them: group → project → account names.

        Replays every ``add_members``/``remove_members`` tre recorded (members added by hand
        in AD are not in the ledger).
        """
        if not groups:
            return {}
        rows = self._read(
            "SELECT name, project, op, detail FROM ledger WHERE kind = 'group' AND op IN"
            f" ('add_members', 'remove_members') AND name IN ({', '.join('?' * len(groups))})"
            " ORDER BY id",
            tuple(groups),
        )
        held: dict[str, dict[str, set[str]]] = {}
        for r in rows:
            detail = json.loads(r["detail"])
            side = detail.get("after" if r["op"] == "add_members" else "before") or {}
            members = held.setdefault(r["name"], {}).setdefault(r["project"] or "", set())
            if r["op"] == "add_members":
                members.update(side.get("member") or [])
            else:
                members.difference_update(side.get("member") or [])
        return {
            group: {p: sorted(m) for p, m in by_project.items() if m}
            for group, by_project in held.items()
        }

    # identities -------------------------------------------------------------------------
    def issue(self, identities: list[Identity], run_id: str) -> list[str]:
        """Record issued names/numbers once; never changed. Returns one line per conflict.

        A record that already exists is kept as it is (the AD module restores AD from it); a
        new record whose number another name already holds is refused and reported.
        """
        conflicts: list[str] = []
        with self._tx() as db:
            for i in identities:
                row = db.execute(
                    "SELECT name, person, number FROM identities WHERE kind = ? AND"
                    " (name = ? OR number = ?)",
                    (i.kind, i.name, i.number),
                ).fetchall()
                same = [r for r in row if r["name"] == i.name]
                if same and (same[0]["number"], same[0]["person"]) == (i.number, i.person):
                    continue
                if row:
                    other = row[0]
                    conflicts.append(
                        f"{i.kind} {i.name} ({i.number}) conflicts with the record of"
                        f" {other['name']} ({other['number']})"
                    )
                    continue
                db.execute(
                    "INSERT INTO identities (kind, name, project, person, number, issued_at,"
                    " run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (i.kind, i.name, i.project, i.person, i.number, _now(), run_id),
                )
        return conflicts

    def identities(self) -> Issued:
        rows = self._read(
            "SELECT kind, name, project, person, number FROM identities ORDER BY kind, name"
        )
        return Issued(
            tuple(
                Identity(r["kind"], r["name"], r["project"], r["person"], r["number"]) for r in rows
            )
        )
