"""The state store's record of transferred files (docs/state.md): table ``transfers``.

*Overzetten bestanden*: every file copied (and verified) from a source project's folder
``Overzetten naar project <nr>/`` into project ``nr``'s ``import/`` is one row - path below
that folder, size, SHA-256, when and by which run. The primary key (project, source, path)
makes a file transferred once: ``tre apply`` passes the recorded paths in the desired state
and the module copies only the others, even if the copy was deleted from ``import/`` since.
``StateStore`` mixes this in; the DDL is a migration (``migrations.py``).
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .backend import Db

TRANSFERS_DDL = """
CREATE TABLE IF NOT EXISTS transfers (
    project TEXT NOT NULL, from_project TEXT NOT NULL, path TEXT NOT NULL, size BIGINT NOT NULL,
    sha256 TEXT NOT NULL, transferred_at TEXT NOT NULL, run_id TEXT NOT NULL,
    PRIMARY KEY (project, from_project, path)
);
"""


class _Store(Protocol):
    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]: ...
    def _tx(self) -> AbstractContextManager[Db]: ...


class TransferRecords:
    """Methods of ``StateStore`` for ``transfers``."""

    def transferred(self: _Store) -> dict[str, dict[str, list[str]]]:
        """project → source project → the paths transferred already."""
        out: defaultdict[str, dict[str, list[str]]] = defaultdict(dict)
        for r in self._read("SELECT project, from_project, path FROM transfers ORDER BY path"):
            out[r["project"]].setdefault(r["from_project"], []).append(r["path"])
        return dict(out)

    def transfer_rows(self: _Store, project: str) -> list[dict[str, Any]]:
        """Every file transferred into ``project`` (or out of it), oldest first."""
        rows = self._read(
            "SELECT * FROM transfers WHERE project = ? OR from_project = ?"
            " ORDER BY transferred_at, from_project, path",
            (project, project),
        )
        return [dict(r) for r in rows]

    def record_transfers(self: _Store, run_id: str, changes: list[dict[str, Any]]) -> int:
        """Record the files of the run's ``transfer`` changes (done, or journaled as done by a
        killed run); a file recorded before keeps its first row. Returns the rows offered."""
        rows = [
            (
                str(c["project"]),
                str(c["from_project"]),
                f["path"],
                int(f["size"]),
                f["sha256"],
                c.get("at") or f.get("at") or "",
                run_id,
            )
            for c in changes
            if (c.get("op"), c.get("kind")) == ("transfer", "files")
            for f in (c.get("after") or {}).get("entries") or []
        ]
        if rows:
            with self._tx() as db:
                db.executemany(
                    "INSERT INTO transfers (project, from_project, path, size, sha256,"
                    " transferred_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (project, from_project, path) DO NOTHING",
                    rows,
                )
        return len(rows)
