"""The team back end: PostgreSQL through psycopg 3 (``postgresql://...``).

The password is never part of what tre prints: give it with libpq's ``passfile`` (``?passfile=
/etc/tre/pgpass``, a 0600 file ``host:port:db:user:password``), ``PGPASSFILE`` or ``~/.pgpass``;
a password written into the URL works but is shown as ``***``. The store's SQL is written with
``?`` placeholders and turned into psycopg's ``%s`` here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Sequence
from contextlib import suppress
from typing import Any

from ..errors import StateError
from .backend import POSTGRESQL, one_line, shown

try:
    import psycopg
    from psycopg.rows import dict_row
except ImportError:  # pragma: no cover - a dependency of tre; say so in one line
    psycopg = None  # type: ignore[assignment]


def application_name(what: str = "tre") -> str:
    """How this session shows in ``pg_stat_activity`` (for the database's administrator; the
    apply lock names its holder from the ``apply_lock`` row, ``lock.py``)."""
    return f"{what} pid {os.getpid()} on {socket.gethostname()}"[:63]  # NAMEDATALEN - 1


class PostgresDb:
    dialect = POSTGRESQL

    def __init__(self, url: str, what: str = "tre") -> None:
        if psycopg is None:
            raise StateError(
                "a postgresql:// state store needs psycopg: pip install 'psycopg[binary]'"
            )
        self.where = shown(url)
        self.errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        try:
            self._db = psycopg.connect(
                url,
                autocommit=True,  # transactions are begun explicitly, like SQLite's
                row_factory=dict_row,
                connect_timeout=10,
                application_name=application_name(what),
            )
            self._db.execute("SET lock_timeout = '30s'")  # as SQLite's busy timeout
        except psycopg.Error as e:
            raise StateError(f"cannot open the state store {self.where}: {one_line(e)}") from None

    @property
    def connection(self) -> Any:
        return self._db

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if not params:  # psycopg reads ``%`` only when there are parameters
            return self._db.execute(sql)
        return self._db.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            with self._db.cursor() as cur:
                cur.executemany(self._sql(sql), rows)

    def script(self, sql: str) -> None:
        """Several statements (a migration step; PL/pgSQL bodies are dollar-quoted)."""
        self._db.execute(sql)  # no parameters: the simple query protocol runs them all

    def begin(self) -> None:
        self._db.execute("BEGIN")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        with suppress(psycopg.Error):
            self._db.execute("ROLLBACK")

    def columns(self, table: str) -> set[str]:
        rows = self._db.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        ).fetchall()
        return {r["column_name"] for r in rows}

    def close(self) -> None:
        self._db.close()
