"""`tre project`: what the state store knows of projects (state and history)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

import click

from provisioning.ids import PROJECT_RE
from provisioning.lifecycle import Life
from provisioning.naming import HEAVY_DESKTOP_GROUP, seat_group
from provisioning.policy import load_policy
from provisioning.policy_model import Policy
from provisioning.project_links import links_of, moves_index
from provisioning.reopening import links, shown_day, with_links
from provisioning.state import StateStore

from .options import json_option, policy_option, state_url_option, today_option
from .render import seat_line


@click.group()
def project() -> None:
    """Inspect projects: their applied revision, state and audit history.

    \b
    Example:
      tre project show 9001
    """


def _with_phase(
    row: dict[str, Any],
    contract: dict[str, Any] | None,
    day: date,
    archive: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The row with the status on ``day`` (its dates, the applied contract's suspensions);
    ``archived`` from the day its archive was made once its live data is gone."""
    if not row.get("start") or not row.get("end"):
        return row
    done = archive and archive["status"] == "live-removed" and archive.get("archived_on")
    if done and date.fromisoformat(archive["archived_on"]) <= day:  # type: ignore[index]
        return dict(
            row,
            status="archived",
            status_on=day.isoformat(),
            status_since=archive["archived_on"],  # type: ignore[index]
            status_until=None,
            archive=archive,
        )
    dates = {"start": row["start"], "end": row["end"]}
    phase = Life.of_stored(dict(dates, suspensions=(contract or {}).get("suspensions"))).phase(day)
    return dict(
        row,
        status=phase.status,
        status_on=day.isoformat(),
        status_since=phase.since.isoformat() if phase.since else None,
        status_until=phase.until.isoformat() if phase.until else None,
    )


def _moved(row: dict[str, Any], links: dict[str, Any]) -> dict[str, Any]:
    """``moved`` (to its new project, since its start) over the contract's status."""
    moved = links.get("moved_to")
    if not moved:
        return row
    return dict(row, status="moved", status_since=moved["since"], status_until=None)


def _link_lines(links: dict[str, Any]) -> list[str]:
    """``moved to 7315 since 2027-01-01``, ``transfers in from 7302: 2 files (1.2 kB)``."""
    lines = [
        f"  {label:<11} {links[key]['project']} since {links[key]['since']}"
        for key, label in (("moved_to", "moved to"), ("moved_from", "moved from"))
        if key in links
    ]
    for key, label in (("transfers_in", "from"), ("transfers_out", "to")):
        for t in links.get(key, []):
            lines.append(
                f"  transfer    {label} {t['project']}: {t['files']} files, {t['bytes']} bytes"
            )
    return lines


def _status_text(row: dict[str, Any]) -> str:
    since, until = row.get("status_since"), row.get("status_until")
    if since and until:
        return f"{row['status']} {since} → {until}"
    if since:
        return f"{row['status']} since {since}"
    return f"{row['status']} until {until}" if until else row["status"]


@project.command("list")
@state_url_option
@today_option
@json_option
def list_projects(state_url: str, today: date, as_json: bool) -> None:
    """List the projects the state store knows, with their status on --today and its dates
    (partial: changed, no revision applied yet).

    \b
    Example:
      tre project list --today 2027-05-01 --json
    """
    store = StateStore(state_url)
    applied = store.applied_contracts()
    archives = {a["project"]: a for a in store.archives()}
    moves = moves_index(applied)
    reopen = links(applied)  # issue 12: reopened as / reopens, both ways
    rows = [
        _moved(
            with_links(
                _with_phase(r, applied.get(r["project"]), today, archives.get(r["project"])),
                reopen.get(r["project"]),
                today,
            ),
            links_of(applied, [], r["project"], today, moves),
        )
        for r in store.projects()
    ]
    partial = store.partial_projects()  # a first apply failed half-way: changes, no revision
    rows += [dict(_partial_summary(r["project"]), **r) for r in partial]
    rows.sort(key=lambda r: int(r["project"]))
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        if r["status"] == "partial":
            what = f"{r['entries']} ledger entries, last {r['last_change']}; no revision applied"
            click.echo(f"{r['project']:>8}  {'partial':<9} {what}")
        else:
            click.echo(
                f"{r['project']:>8}  {_status_text(r):<35} {r['start']} → {r['end']}  {r['title']}"
            )
    if not rows:
        click.echo("No projects applied yet.")


def _partial_summary(number: str) -> dict[str, Any]:
    """The summary of a project changed by a run but without an applied revision yet."""
    return {
        "project": number,
        "title": "(no revision applied yet)",
        "status": "partial",
        "start": None,
        "end": None,
        "retention_years": None,
        "ossc_end": None,
        "ossc_destruction_deadline": None,
    }


def _seats(store: StateStore, policy: Policy, number: str) -> list[dict[str, Any]]:
    """The seat pools (and heavy desktop places) this project holds, as the ledger has them,
    with capacity."""
    groups = {seat_group(p.name): p.seats for p in policy.software}
    groups[HEAVY_DESKTOP_GROUP] = policy.heavy_desktop_capacity  # places, like seats
    out = []
    for group, by_project in store.seat_holders(sorted(groups)).items():
        if number in by_project:
            holders = sum(len(m) for m in by_project.values())
            out.append(
                {
                    "group": group,
                    "held": len(by_project[number]),
                    "holders": holders,
                    "seats": groups[group],
                    "projects": sorted(by_project, key=lambda p: (len(p), p)),
                }
            )
    return sorted(out, key=lambda s: s["group"])


@project.command("show")
@click.argument("number")
@state_url_option
@policy_option
@json_option
def show(number: str, state_url: str, policy_path: str | None, as_json: bool) -> None:
    """Show a project's state, revisions, seats held (warning when a pool is over capacity)
    and its audit ledger.

    \b
    Example:
      tre project show 9001
    """
    if not PROJECT_RE.match(number):
        raise click.BadParameter(
            f"{number!r} is not a project number (digits only, e.g. 9001)", param_hint="NUMBER"
        )
    store = StateStore(state_url)
    summary = store.project(number)
    archive = store.archive(number)
    revisions = store.revisions(number)
    ledger = store.ledger(number)
    if summary is None and not ledger:
        raise click.ClickException(f"project {number} is not in the state store {store.where}")
    if summary is None:  # changes were made, but no run for it has succeeded yet
        summary = _partial_summary(number)
    elif summary.get("status_on"):  # the status of the last apply, on its --today
        last = store.last_revision(number)
        day = date.fromisoformat(summary["status_on"])
        summary = _with_phase(summary, last["contract"] if last else None, day, archive)
        link = links(store.applied_contracts()).get(number)
        summary = with_links(summary, link, shown_day(store, link, day))
    day = date.fromisoformat(summary.get("status_on") or date.today().isoformat())
    applied = store.applied_contracts()
    moved = links_of(applied, store.transfer_rows(number), number, day)  # moves, transfers
    summary = _moved(summary, moved)
    seats = _seats(store, load_policy(policy_path), number)
    if as_json:
        out = {
            "project": summary,
            "archive": archive,
            "revisions": revisions,
            "seats": seats,
            "links": moved,
            "ledger": [dataclasses.asdict(e) for e in ledger],
        }
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    click.echo(f"Project {number}: {summary['title']}")
    on = f" (on {summary['status_on']})" if summary.get("status_on") else ""
    click.echo(f"  status      {_status_text(summary)}{on}")
    click.echo(f"  period      {summary['start']} → {summary['end']}")
    click.echo(f"  retention   {summary['retention_years']} years")
    for line in _link_lines(moved):
        click.echo(line)
    if summary["ossc_end"]:
        click.echo(
            f"  OSSC        until {summary['ossc_end']}, content destroyed by"
            f" {summary['ossc_destruction_deadline']}"
        )
    if archive:
        click.echo(
            f"  archive     {archive['status']}: {archive['location']}, {archive['files']} files,"
            f" {archive['bytes']} bytes ({archive['size_gb']} GB prepared zips), made"
            f" {archive['archived_on']}; verified {archive['verified_at'] or 'never'}"
            f" ({archive['verify_result'] or '-'})"
        )
    if summary.get("reopens"):
        click.echo(f"  reopens     {summary['reopens']} (its archive restored into restored/)")
    if summary.get("reopened_as"):
        click.echo(f"  reopened as {', '.join(summary['reopened_as'])}")
    for seat in seats:
        click.echo(f"  seats       {seat['group']}: {seat['held']} held by this project")
        if seat["holders"] > seat["seats"]:
            click.echo(f"Warning: {seat_line(seat)}", err=True)
    click.echo(f"Revisions ({len(revisions)}):")
    for r in revisions:
        click.echo(f"  {r['applied_at']}  {r['revision'][:12]}  run {r['run_id']}  {r['source']}")
    click.echo(f"Ledger ({len(ledger)} entries):")
    for e in ledger:
        click.echo(f"  {e.at}  {e.actor:<8} {e.op:<14} {e.kind:<12} {e.name or ''}")
