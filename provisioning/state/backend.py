"""Which database a state URL names, and the small interface both back ends offer.

``sqlite:///PATH`` (SQLAlchemy's shape: ``sqlite:////abs/path``; a bare path is one too) is the
embedded default; ``postgresql://[user@]host[:port]/db[?passfile=...]`` is the team store
(psycopg 3). The store's code is written once against :class:`Db`: ``?`` placeholders, rows as
mappings (``row["name"]``, ``dict(row)``), explicit ``begin``/``commit``/``rollback``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import StateError

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Db(Protocol):
    """One connection to the store (``sqlite.SqliteDb``, ``postgres.PostgresDb``)."""

    dialect: str  # SQLITE or POSTGRESQL
    where: str  # how messages name the store: a path, or the URL without its password
    errors: tuple[type[BaseException], ...]  # the driver's error classes

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...
    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def columns(self, table: str) -> set[str]: ...
    def close(self) -> None: ...


def dialect_of(url: str) -> str:
    """``sqlite`` or ``postgresql``; anything else is refused in one line."""
    if "://" not in url or url.startswith("sqlite:///"):
        return SQLITE
    scheme = url.split("://", 1)[0]
    if scheme in ("postgresql", "postgres"):
        return POSTGRESQL
    raise StateError(
        f"state store {scheme!r} is not supported: use sqlite:///PATH or postgresql://HOST/DB"
    )


def sqlite_path(url: str) -> Path:
    """``sqlite:///rel/path`` or ``sqlite:////abs/path`` (SQLAlchemy's shape) → a path."""
    if dialect_of(url) != SQLITE:
        raise StateError(f"{shown(url)} is not an SQLite store (sqlite:///PATH)")
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///") :])
    return Path(url)


def shown(url: str) -> str:
    """The URL as messages may show it: a password in it is replaced by ``***``."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def open_db(url: str) -> Db:
    """A connection to the store ``url`` names (the driver is imported only when used)."""
    if dialect_of(url) == SQLITE:
        from .sqlite import SqliteDb

        return SqliteDb(sqlite_path(url))
    from .postgres import PostgresDb

    return PostgresDb(url)


def one_line(e: BaseException) -> str:
    """A driver error as one line (PostgreSQL's carry DETAIL/HINT lines)."""
    text = str(e).strip().splitlines()
    return " ".join(text[0].split()) if text else type(e).__name__


def as_dicts(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]
