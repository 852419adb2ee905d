"""The embedded back end: one SQLite file (0600 in a 0700 directory), WAL journal."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from ..errors import StateError
from .backend import SQLITE


class SqliteDb:
    dialect = SQLITE
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fresh = not path.exists()
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
            if fresh:
                os.chmod(path, 0o600)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as e:
            raise StateError(f"cannot open the state store {path}: {e}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    def script(self, sql: str) -> None:
        """Several statements (a migration step); inside the caller's transaction."""
        for statement in split_statements(sql):
            self._db.execute(statement)

    def begin(self) -> None:
        # IMMEDIATE: the write lock at once, so two writers queue instead of deadlocking
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        # SQLite may have ended the transaction itself (a full disk during COMMIT)
        if self._db.in_transaction:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def columns(self, table: str) -> set[str]:
        return {r["name"] for r in self._db.execute(f"PRAGMA table_info({table})")}

    def close(self) -> None:
        self._db.close()


def split_statements(sql: str) -> list[str]:
    """Statements of a script; a trigger body (``BEGIN ... END;``) stays one statement."""
    out: list[str] = []
    current = ""
    for piece in sql.split(";"):
        current += piece
        if not current.strip():
            current = ""
            continue
        if sqlite3.complete_statement(current + ";"):
            out.append(current.strip())
            current = ""
        else:
            current += ";"
    if current.strip():
        out.append(current.strip())
    return out
