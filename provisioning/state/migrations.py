"""Versioned migrations: one ordered list, the same schema on SQLite and PostgreSQL.

A store's version is the highest ``schema_migrations.version``; a store made before versions
existed counts as 0 (its tables are already there: ``CREATE ... IF NOT EXISTS`` and
:class:`AddColumn` skip what exists). Adding a table is appending one :class:`Migration`
whose step is the table's portable DDL (docs/state.md, "Adding a table"):

- plain SQL: ``TEXT``, ``INTEGER``, ``BIGINT``, ``REAL``, ``INTEGER PRIMARY KEY
  [AUTOINCREMENT]``, ``CREATE TABLE/INDEX IF NOT EXISTS``; :func:`portable` turns it into
  PostgreSQL's (``BIGSERIAL PRIMARY KEY``, integers as ``BIGINT``, ``DOUBLE PRECISION``);
- :class:`AddColumn` for a new column, :class:`AppendOnly` for rows that may never change
  (SQLite triggers; PL/pgSQL trigger functions on PostgreSQL, TRUNCATE refused too);
- a Python function ``step(db)`` for what SQL cannot say (the ledger's hash chain).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import StateError
from . import ledger
from .archives import ARCHIVES_DDL
from .backend import POSTGRESQL, Db
from .billing import BILLABLE_SCHEMA
from .invoices import INVOICE_LINES_FINAL, INVOICE_SCHEMA
from .jobs import JOB_RUNS_DDL
from .retention import RETENTION_COLUMNS
from .transfers import TRANSFERS_DDL


@dataclass(frozen=True)
class AddColumn:
    table: str
    column: str
    type: str


@dataclass(frozen=True)
class AppendOnly:
    """Triggers refusing UPDATE and DELETE of ``table`` with ``message``."""

    table: str
    message: str


Step = str | AddColumn | AppendOnly | Callable[[Db], object]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    steps: tuple[Step, ...]


RUNS = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started TEXT NOT NULL, finished TEXT, actor TEXT NOT NULL,
    mode TEXT NOT NULL, today TEXT NOT NULL, status TEXT NOT NULL, projects TEXT NOT NULL,
    artifacts TEXT
);
"""
REVISIONS = """
CREATE TABLE IF NOT EXISTS revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT NOT NULL, revision TEXT NOT NULL,
    applied_at TEXT NOT NULL, run_id TEXT NOT NULL, source TEXT, contract TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS revisions_project ON revisions(project, id);
"""
PROJECTS = """
CREATE TABLE IF NOT EXISTS projects (
    project TEXT PRIMARY KEY, title TEXT, start TEXT, "end" TEXT, retention_years INTEGER,
    status TEXT NOT NULL, ossc_end TEXT, ossc_destruction_deadline TEXT, updated TEXT NOT NULL
);
"""
LEDGER = """
CREATE TABLE IF NOT EXISTS ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
    run_id TEXT NOT NULL, project TEXT, host TEXT, op TEXT NOT NULL, kind TEXT NOT NULL,
    name TEXT, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_project ON ledger(project, id);
"""
IDENTITIES = """
CREATE TABLE IF NOT EXISTS identities (
    kind TEXT NOT NULL, name TEXT NOT NULL, project TEXT, person TEXT,
    number INTEGER NOT NULL, issued_at TEXT NOT NULL, run_id TEXT NOT NULL,
    PRIMARY KEY (kind, name), UNIQUE (kind, number)
);
"""
APPLY_LOCK = """
CREATE TABLE IF NOT EXISTS apply_lock (
    name TEXT PRIMARY KEY, backend_pid INTEGER NOT NULL, actor TEXT NOT NULL,
    host TEXT NOT NULL, pid INTEGER NOT NULL, run_id TEXT, since TEXT NOT NULL
);
"""
LEDGER_APPEND_ONLY = AppendOnly("ledger", "the audit ledger is append-only")


def _chain_ledger(db: Db) -> None:
    """Existing rows get their hashes; the append-only triggers are lifted meanwhile, in the
    same transaction (nobody else sees the ledger without them)."""
    db.script(drop_append_only_sql(LEDGER_APPEND_ONLY, db.dialect))
    ledger.chain_rows(db)
    db.script(append_only_sql(LEDGER_APPEND_ONLY, db.dialect))


#: Append only. Never edit or reorder an entry once released: stores out there are at it.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "runs, revisions, projects, ledger, identities",
        (
            RUNS,
            REVISIONS,
            PROJECTS,
            LEDGER,
            LEDGER_APPEND_ONLY,
            IDENTITIES,
            AppendOnly("identities", "an issued identity never changes"),
        ),
    ),
    Migration(2, "projects.status_on", (AddColumn("projects", "status_on", "TEXT"),)),
    Migration(
        3,
        "ledger hash chain",
        (
            AddColumn("ledger", "prev_sha256", "TEXT"),
            AddColumn("ledger", "sha256", "TEXT"),
            _chain_ledger,
        ),
    ),
    Migration(4, "apply_lock (who holds a PostgreSQL store's apply lock)", (APPLY_LOCK,)),
    Migration(5, "billable_usage", (BILLABLE_SCHEMA,)),
    Migration(6, "archives", (ARCHIVES_DDL,)),
    Migration(7, "invoice_lines", (INVOICE_SCHEMA, AppendOnly(*INVOICE_LINES_FINAL))),
    Migration(8, "job_runs (periodic jobs done, docs/jobs.md)", (JOB_RUNS_DDL,)),
    Migration(9, "transfers (files transferred between projects, once)", (TRANSFERS_DDL,)),
    Migration(
        10,
        "archives: retention, verification day, objection, purge (docs/retention.md)",
        tuple(AddColumn("archives", name, kind) for name, kind in RETENTION_COLUMNS),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version

VERSIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL
);
"""
#: pg_advisory_xact_lock key of `tre state migrate` (the apply lock's is in lock.py).
MIGRATE_LOCK_KEY = 0x7472_6500_0002


def portable(sql: str, dialect: str) -> str:
    """The portable DDL above as ``dialect`` spells it."""
    if dialect != POSTGRESQL:
        return sql
    sql = re.sub(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?", "BIGSERIAL PRIMARY KEY", sql)
    sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)


def append_only_sql(step: AppendOnly, dialect: str) -> str:
    t, msg = step.table, step.message.replace("'", "''")
    if dialect != POSTGRESQL:
        return "".join(
            f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t}"
            f" BEGIN SELECT RAISE(ABORT, '{msg}'); END;\n"
            for op in ("UPDATE", "DELETE")
        )
    return (
        "CREATE OR REPLACE FUNCTION tre_refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$;\n"
        + "".join(
            f"CREATE OR REPLACE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t}"
            f" FOR EACH {each} EXECUTE FUNCTION tre_refuse('{msg}');\n"
            for op, each in (("UPDATE", "ROW"), ("DELETE", "ROW"), ("TRUNCATE", "STATEMENT"))
        )
    )


def drop_append_only_sql(step: AppendOnly, dialect: str) -> str:
    ops = ("update", "delete") + (("truncate",) if dialect == POSTGRESQL else ())
    on = f" ON {step.table}" if dialect == POSTGRESQL else ""
    return "".join(f"DROP TRIGGER IF EXISTS {step.table}_no_{op}{on};\n" for op in ops)


def _apply_step(db: Db, step: Step) -> None:
    if isinstance(step, str):
        db.script(portable(step, db.dialect))
    elif isinstance(step, AddColumn):
        if step.column not in db.columns(step.table):
            kind = portable(step.type, db.dialect)
            db.execute(f'ALTER TABLE {step.table} ADD COLUMN "{step.column}" {kind}')
    elif isinstance(step, AppendOnly):
        db.script(append_only_sql(step, db.dialect))
    else:
        step(db)


def current_version(db: Db) -> int:
    """The store's schema version; 0 for an empty store or one made before versions."""
    if not db.columns("schema_migrations"):
        return 0
    row = db.execute("SELECT MAX(version) AS v FROM schema_migrations").fetchone()
    return int(row["v"] or 0)


def newer(found: int, where: str) -> StateError:
    return StateError(
        f"the state store {where} has schema version {found}, newer than this tre knows"
        f" ({SCHEMA_VERSION}): upgrade tre"
    )


def check(db: Db) -> None:
    """Refuse a store at another schema version than this tre's, in one line."""
    found = current_version(db)
    if found > SCHEMA_VERSION:
        raise newer(found, db.where)
    if found < SCHEMA_VERSION:
        raise StateError(
            f"the state store {db.where} has schema version {found}, this tre needs"
            f" {SCHEMA_VERSION}: run `tre state migrate`"
        )


def migrate(db: Db) -> list[Migration]:
    """Apply the pending migrations in one transaction; returns those applied.

    Two at once queue (SQLite's write lock; a transaction-scoped advisory lock on
    PostgreSQL) and the second finds nothing to do. A newer store is refused untouched. A
    current store is only read (no write lock: every command opening an SQLite store asks).
    """
    found = current_version(db)
    if found > SCHEMA_VERSION:
        raise newer(found, db.where)
    if found == SCHEMA_VERSION:
        return []
    db.begin()
    try:
        if db.dialect == POSTGRESQL:
            db.execute(f"SELECT pg_advisory_xact_lock({MIGRATE_LOCK_KEY})")
        found = current_version(db)
        if found > SCHEMA_VERSION:
            raise newer(found, db.where)
        todo = [m for m in MIGRATIONS if m.version > found]
        if todo:
            db.script(VERSIONS)
        for m in todo:
            for step in m.steps:
                _apply_step(db, step)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (m.version, m.name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return todo
