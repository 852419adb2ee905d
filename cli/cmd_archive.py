"""`tre archive list|verify|object|withdraw` and `tre purge` (docs/retention.md)."""

from __future__ import annotations

import json
import math
import sys
from datetime import date
from pathlib import Path

import click

from provisioning import archive_ops
from provisioning import purge as purging
from provisioning.errors import ProvisioningError
from provisioning.orchestrate import actor, check_inventory
from provisioning.policy import load_policy
from provisioning.records import disk_errors, private_umask
from provisioning.retention import ARCHIVED, ArchiveView, PurgePlan
from provisioning.state import StateStore
from provisioning.state.lock import apply_lock

from .options import (
    inventory_option,
    json_option,
    parse_today,
    policy_option,
    state_options,
    state_url_option,
    today_option,
)


def _progress(line: str) -> None:
    """Progress for a person at a terminal only (never in a pipe or a timer's log)."""
    if sys.stderr.isatty():
        click.echo(line, err=True)


@click.group()
def archive() -> None:
    """Project archives after the end: list, verify, object to a purge.

    \b
    Example:
      tre archive list
      tre archive verify 7310
      tre archive object 7310 --until 2033-12-31 --reason "follow-up study"
    """


def _gb(a: ArchiveView) -> str:
    return "-" if a.bytes is None else str(math.ceil(a.bytes / 10**9))


@archive.command("list")
@today_option
@state_url_option
@json_option
def list_archives(today: date, state_url: str, as_json: bool) -> None:
    """Every archive: project, institution, end, retention, due date, size (whole GB, rounded
    up), files, last verification, notices sent, objection.

    \b
    Example:
      tre archive list --json
    """
    views = archive_ops.views(StateStore(state_url))
    if as_json:
        rows = [dict(a.as_dict(), size_whole_gb=None if a.bytes is None else int(_gb(a)),
                     objection_open=bool(a.open_objection(today))) for a in views]  # fmt: skip
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    head = ("project", "status", "institution", "end", "keep", "due", "GB", "files",
            "verified", "notices", "objection")  # fmt: skip
    click.echo("  ".join(head))
    for a in views:
        verified = f"{a.verified_on} {a.verify_result}" if a.verified_on else "never"
        notices = ", ".join(f"{n.days}d {n.sent_on}" for n in a.notices) or "-"
        o = a.open_objection(today)
        objection = f"by {o['by']} until {o['until']}" if o else "-"
        click.echo(
            f"{a.project}  {a.status}  {a.institution or '-'}  {a.end or '-'}"
            f"  {a.retention_years or '-'}y  {a.due or '-'}  {_gb(a)}  {a.files or 0}"
            f"  {verified}  {notices}  {objection}"
        )


@archive.command("verify")
@click.argument("projects", nargs=-1)
@inventory_option
@today_option
@state_url_option
@json_option
def verify(projects: tuple[str, ...], inventory: Path | None, today: date, state_url: str,
           as_json: bool) -> None:  # fmt: skip
    """Read archives back on the archive host and compare every file with the manifest.

    PROJECT... (default: every archived project). Each result is recorded in the state
    store and the ledger; exits 1 when one failed (a failed archive is never purged).

    \b
    Example:
      tre archive verify 7310 7311 --json
    """
    inventory = check_inventory(inventory)
    store = StateStore(state_url)
    wanted = list(projects) or [a.project for a in archive_ops.views(store) if a.status == ARCHIVED]
    _progress(f"Verifying {len(wanted)} archive(s) ...")
    results = archive_ops.verify(inventory, store, wanted, today, actor())
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for r in results:
            if r["result"] == "ok":
                click.echo(f"P{r['project']}  ok  ({r['files']} files, {r['bytes']} bytes)")
            else:
                click.echo(f"P{r['project']}  {r['result']}")
    failed = [r["project"] for r in results if r["result"] != "ok"]
    if failed:
        raise ProvisioningError(f"verification failed: project {', '.join(failed)}")


@archive.command("object")
@click.argument("project")
@click.option("--until", "until", required=True, callback=parse_today, metavar="YYYY-MM-DD",
              help="The objection holds up to and including this day.")  # fmt: skip
@click.option("--reason", required=True, help="Why the archive must be kept (in the ledger).")
@today_option
@state_url_option
def object_(project: str, until: date, reason: str, today: date, state_url: str) -> None:
    """Object to the purge of PROJECT's archive until a day: it is not purged meanwhile.

    Recorded in the ledger (who, when, until, why); `tre archive withdraw` ends it.

    \b
    Example:
      tre archive object 7310 --until 2033-12-31 --reason "follow-up study 7420"
    """
    archive_ops.object_to_purge(StateStore(state_url), project, until, reason, today, actor())
    click.echo(f"objection to the purge of P{project} recorded until {until}")


@archive.command("withdraw")
@click.argument("project")
@state_url_option
def withdraw(project: str, state_url: str) -> None:
    """Withdraw the objection to the purge of PROJECT's archive (recorded in the ledger).

    \b
    Example:
      tre archive withdraw 7310
    """
    archive_ops.withdraw(StateStore(state_url), project, actor())
    click.echo(f"objection to the purge of P{project} withdrawn")


def _show_plan(p: PurgePlan, today: date, yes: bool) -> None:
    verb = "purging" if yes else "would purge (dry run; --yes deletes them)"
    click.echo(f"On {today}: {verb} {len(p.purge)} archive(s)")
    for a, why in p.purge:
        click.echo(f"  - purge P{a.project} ({a.files} files, {a.bytes} bytes): {why}")
        ad = [f"{s['kind']} {s['name']}" for s in p.ad if s["project"] == a.project]
        click.echo(f"      and in AD, if still there: {', '.join(ad)}")
    for a in p.held_back:
        click.echo(f"  = held back P{a.project}: over purge_max_per_run, the next run's")
    for a, reasons in p.skip:
        click.echo(f"  . skip P{a.project}: {'; '.join(reasons)}")


@click.command("purge")
@click.option("--yes", is_flag=True, help="Delete the listed archives (default: a dry run).")
@inventory_option
@today_option
@policy_option
@state_options
@json_option
def purge(yes: bool, inventory: Path | None, today: date, policy_path: str | None,
          state_url: str, home: Path, as_json: bool) -> None:  # fmt: skip
    """List (dry run) or delete the archives past their retention, each with why.

    Eligible: due date passed, last notice at least purge_grace_days ago, no open objection,
    verified ok within archive_verify_days, not the source of a running reopened project.
    --yes re-checks each one right before deleting it, deletes at most purge_max_per_run,
    removes what is left of the project in AD and writes a tombstone to the ledger. Exits 1
    when an archive was refused.

    \b
    Example:
      tre purge --today 2032-03-01
      tre purge --yes
    """
    policy = load_policy(policy_path)
    if not yes:
        p = purging.plan(StateStore(state_url), policy, today)
        if as_json:
            click.echo(json.dumps(dict(p.as_dict(), dry_run=True), indent=2, ensure_ascii=False))
        else:
            _show_plan(p, today, False)
        return
    inventory = check_inventory(inventory)
    private_umask()
    with disk_errors(home), apply_lock(home, state_url=state_url):
        store = StateStore(state_url)
        _progress("Purging (recovery, re-check, detach, tombstone, delete) ...")
        result = purging.execute(inventory, store, policy, today, home, actor())
    if as_json:
        click.echo(json.dumps(dict(result.as_dict(), dry_run=False), indent=2, ensure_ascii=False))
    else:
        _show_plan(result.plan, today, True)
        for nr in result.recovered:
            click.echo(f"recovered P{nr}: an interrupted purge finished (tombstone recorded)")
        for nr in result.released:
            click.echo(f"released P{nr}: an interrupted purge had not started on it")
        for nr, why in result.late_skips:
            click.echo(f"skipped P{nr} at the re-check: {why}")
        for nr in result.purged:
            click.echo(f"purged P{nr}: tombstone recorded")
        for c in result.ad_changes:
            click.echo(f"deleted {c.get('kind')} {c.get('name')} (project {c.get('project')})")
    if result.refused:
        nr, why = result.refused[0]
        more = f" (and {len(result.refused) - 1} more)" if len(result.refused) > 1 else ""
        raise ProvisioningError(f"purge refused P{nr}: {why}{more}")
