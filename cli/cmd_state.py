"""`tre state migrate` and `tre ledger verify`: the state store's schema and its audit ledger."""

from __future__ import annotations

import json

import click

from provisioning.errors import StateError
from provisioning.state import SCHEMA_VERSION, SQLITE, StateStore, dialect_of, migrate, shown
from provisioning.state import sqlite_path as path_of

from .options import json_option, state_url_option


@click.group()
def state() -> None:
    """The state store's schema (SQLite or PostgreSQL, docs/state.md).

    \b
    Example:
      tre state migrate --state postgresql://tre@db.example.org/tre
    """


@state.command("migrate")
@state_url_option
def migrate_command(state_url: str) -> None:
    """Apply the pending schema migrations; refuse a store newer than this tre.

    A PostgreSQL store must be migrated before other commands use it (they refuse one at
    another version); an SQLite store migrates itself when opened. All pending migrations
    run in one transaction, and two at once queue.

    \b
    Example:
      tre state migrate --state postgresql://tre@db.example.org/tre
    """
    before, done = migrate(state_url)
    where = shown(state_url)
    if not done:
        click.echo(f"{where}: at schema version {before}, nothing to do")
        return
    for version, name in done:
        click.echo(f"applied migration {version}: {name}")
    click.echo(f"{where}: schema version {before} → {SCHEMA_VERSION}")


@click.group()
def ledger() -> None:
    """The audit ledger's hash chain (docs/state.md).

    \b
    Example:
      tre ledger verify --json
    """


@ledger.command("verify")
@state_url_option
@json_option
@click.pass_context
def verify(ctx: click.Context, state_url: str, as_json: bool) -> None:
    """Walk the ledger's hash chain; name the first edited, inserted or deleted row (exit 1).

    Every entry carries the SHA-256 of the one before and of its own content. The last
    line gives the head (the last entry's hash): kept elsewhere, it also shows a cut-off tail.

    \b
    Example:
      tre ledger verify --state sqlite:////var/lib/tre/state.db
    """
    if dialect_of(state_url) == SQLITE and not path_of(state_url).exists():
        raise StateError(f"no state store at {path_of(state_url)}: nothing to verify")
    store = StateStore(state_url)
    try:
        verdict = store.verify_ledger()
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(dict(verdict.as_dict(), store=store.where), indent=2))
    elif verdict.problem is None:
        click.echo(f"ledger of {store.where}: {verdict.rows} entries, chain intact")
        click.echo(f"head {verdict.head}")
    else:
        click.echo(f"ledger of {store.where}: {verdict.problem.message}")
    if verdict.problem is not None:
        ctx.exit(1)
