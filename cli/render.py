"""Human-readable plan and run reports (the JSON form is the same data, unrendered)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import click

#: Longest detail shown per change line in text mode; ``--json`` has everything.
DETAIL_MAX = 160

_SYMBOL = {"create": "+", "remove_members": "~", "handoff": ">", "delete": "-"}


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]"
    return str(v)


def _details(change: dict[str, Any]) -> str:
    before, after = change.get("before"), change.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [k for k in after if before.get(k) != after.get(k)]
        keys += [k for k in before if k not in after]
        return ", ".join(f"{k}: {_value(before.get(k))} → {_value(after.get(k))}" for k in keys)
    if isinstance(after, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in after.items())
    if isinstance(before, dict) and after is None:  # deleted: what it held
        return ", ".join(f"{k}={_value(v)}" for k, v in before.items())
    if after is not None or before is not None:
        return f"{_value(before)} → {_value(after)}" if before is not None else _value(after)
    return ""


def _size(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def archive_line(change: dict[str, Any]) -> str | None:
    """The archive's own lines: ``> archive P7310 (3 files, 1.2 GB)``, ``> verify ...``,
    ``- remove subvolume P7310 after verified archive``; None for other changes."""
    op, kind, name = change.get("op"), change.get("kind"), change.get("name")
    after = change.get("after") or {}
    if (op, kind) == ("archive", "archive"):
        skipped = f", {after['skipped']} skipped" if after.get("skipped") else ""
        return (
            f"  > archive {name} ({after.get('files', 0)} files,"
            f" {_size(after.get('bytes', 0))}{skipped}) to {change.get('path')}"
        )
    if (op, kind) == ("restore", "archive"):  # issue 12: a reopened project's archive
        unpacked = f"; {after['entries']} entries from {after['zips_unpacked']} zip(s)"
        return (
            f"  > restore {str(name)[1:]} → P{change.get('project')}/restored"
            f" ({after.get('files', 0)} files{unpacked if after.get('zips_unpacked') else ''})"
        )
    if (op, kind) == ("verify", "archive"):
        return f"  > verify {name} archive, read back against its manifest"
    if op == "remove" and kind in ("subvolume", "workspace"):
        return f"  - remove {kind} {name} after verified archive"
    return None


def files_line(change: dict[str, Any]) -> str | None:
    """A move's and a transfer's lines (docs/lifecycle.md): ``> move P7311 → P7315 (12 files,
    3.4 MB)``, ``- remove P7311 content after verified move``, ``> transfer ...``."""
    op, kind, name = change.get("op"), change.get("kind"), change.get("name")
    after = change.get("after") if isinstance(change.get("after"), dict) else {}
    count = f"{after.get('files', 0)} files, {_size(after.get('bytes', 0))}"
    if (op, kind) == ("move", "content"):
        return f"  > move {name} → P{after.get('to_project')} ({count})"
    if (op, kind) == ("verify", "move"):
        return f"  > verify {name} copies in P{after.get('to_project')}, read back (SHA-256)"
    if op == "remove" and change.get("via") == "move":
        what = f"{name} content" if kind == "content" else f"{kind} {name}"
        return f"  - remove {what} after verified move"
    if (op, kind) == ("transfer", "files"):
        return f"  > transfer {name} → P{change.get('project')}/import ({count})"
    return None


def change_line(change: dict[str, Any]) -> str:
    line = files_line(change) or archive_line(change)
    if line is not None:
        return line
    op = str(change.get("op", "?"))
    symbol = _SYMBOL.get(op, "~")
    name = change.get("name") or change.get("dn") or change.get("path") or ""
    details = _details(change)
    if len(details) > DETAIL_MAX:  # the full before/after is in --json
        details = details[: DETAIL_MAX - 1] + "…"
    head = f"  {symbol} {op:<14} {change.get('kind', '?'):<12} {name}"
    return head + (f"  ({details})" if details else "")


def _unchanged(project: dict[str, Any], changes: list[dict[str, Any]]) -> str:
    """What a plan leaves as it is: the project's accounts and groups without a change."""
    touched = {(c.get("kind"), c.get("name")) for c in changes}
    accounts = [a for a in project["accounts"] if ("account", a["sam"]) not in touched]
    groups = [g["name"] for g in project["groups"].values() if ("group", g["name"]) not in touched]
    if "groups" in (project.get("absent") or ()):
        groups = []  # deleted (docs/lifecycle.md): nothing of them stays
    subjects = project["storage"]["file_subjects"]
    return (
        f"  = unchanged     {len(accounts)} account(s), {len(groups)} group(s);"
        f" {len(subjects)} file subject(s) in force"
    )


def seat_line(seat: dict[str, Any]) -> str:
    """A seat pool over capacity, and the projects concerned."""
    holders, seats, projects = seat["holders"], seat["seats"], seat["projects"]
    return (
        f"{seat['group']}: {holders} members for {seats} seats (over capacity by"
        f" {holders - seats}); seats held by project {', '.join(projects)}"
    )


def render_changes(
    changes: list[dict[str, Any]],
    warnings: list[str],
    *,
    planned: bool,
    desired: dict[str, Any] | None = None,
    seat_warnings: list[dict[str, Any]] | None = None,
) -> None:
    """Per project: what is created (+), changed (~), handed off (>), and what stays (=).

    A seat pool over capacity is shown once, in a plan with a project holding its seats.
    """
    by_project: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in changes:
        by_project[str(c.get("project") or "shared")].append(c)
    projects = {p["project"]: p for p in (desired or {}).get("projects", [])}
    for number in sorted(set(by_project) | set(projects), key=lambda p: (p == "shared", p)):
        title = "Seat groups and shared objects" if number == "shared" else f"Project {number}"
        if number in projects and projects[number].get("status", "active") != "active":
            title += f" ({projects[number]['status']})"  # planned, suspended, ended
        click.echo(f"{title}:")
        for c in by_project.get(number, []):
            click.echo(change_line(c))
        if number in projects:
            click.echo(_unchanged(projects[number], by_project.get(number, [])))
    for w in warnings:
        click.echo(f"Warning: {w}", err=True)
    for seat in seat_warnings or []:
        if planned and seat.get("projects"):
            click.echo(f"Warning: {seat_line(seat)}", err=True)
    creates = sum(1 for c in changes if c.get("op") == "create")
    verb = "to change" if planned else "changed"
    if not changes:
        click.echo("No changes." if planned else "Nothing changed.")
    else:
        click.echo(f"{'Plan' if planned else 'Done'}: {len(changes)} {verb} ({creates} created).")
