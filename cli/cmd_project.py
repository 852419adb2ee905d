"""`tre project`: what the state store knows of projects (state and history)."""

from __future__ import annotations

import dataclasses
import json

import click

from provisioning.errors import UsageError
from provisioning.ids import PROJECT_RE
from provisioning.state import StateStore

from .options import json_option, state_url_option


@click.group()
def project() -> None:
    """Inspect projects: their applied revision, state and audit history.

    \b
    Example:
      tre project show 9001
    """


@project.command("list")
@state_url_option
@json_option
def list_projects(state_url: str, as_json: bool) -> None:
    """List the projects the state store knows.

    \b
    Example:
      tre project list --json
    """
    rows = StateStore(state_url).projects()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r['project']:>8}  {r['status']:<9} {r['start']} → {r['end']}  {r['title']}")
    if not rows:
        click.echo("No projects applied yet.")


@project.command("show")
@click.argument("number")
@state_url_option
@json_option
def show(number: str, state_url: str, as_json: bool) -> None:
    """Show a project's state, its applied revisions and its audit ledger.

    \b
    Example:
      tre project show 9001
    """
    if not PROJECT_RE.match(number):
        raise UsageError(f"{number!r} is not a project number (digits only, e.g. 9001)")
    store = StateStore(state_url)
    summary = store.project(number)
    revisions = store.revisions(number)
    ledger = store.ledger(number)
    if summary is None and not ledger:
        raise click.ClickException(f"project {number} is not in the state store {store.path}")
    if summary is None:  # changes were made, but no run for it has succeeded yet
        summary = {
            "project": number,
            "title": "(no revision applied yet)",
            "status": "partial",
            "start": None,
            "end": None,
            "retention_years": None,
            "ossc_end": None,
            "ossc_destruction_deadline": None,
        }
    if as_json:
        out = {
            "project": summary,
            "revisions": revisions,
            "ledger": [dataclasses.asdict(e) for e in ledger],
        }
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    click.echo(f"Project {number}: {summary['title']}")
    click.echo(f"  status      {summary['status']}")
    click.echo(f"  period      {summary['start']} → {summary['end']}")
    click.echo(f"  retention   {summary['retention_years']} years")
    if summary["ossc_end"]:
        click.echo(
            f"  OSSC        until {summary['ossc_end']}, content destroyed by"
            f" {summary['ossc_destruction_deadline']}"
        )
    click.echo(f"Revisions ({len(revisions)}):")
    for r in revisions:
        click.echo(f"  {r['applied_at']}  {r['revision'][:12]}  run {r['run_id']}  {r['source']}")
    click.echo(f"Ledger ({len(ledger)} entries):")
    for e in ledger:
        click.echo(f"  {e.at}  {e.actor:<8} {e.op:<14} {e.kind:<12} {e.name or ''}")
