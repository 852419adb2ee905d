"""Human-readable plan and run reports (the JSON form is the same data, unrendered)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import click

_SYMBOL = {"create": "+", "delete": "-", "remove_members": "~", "handoff": ">"}


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
    if after is not None or before is not None:
        return f"{_value(before)} → {_value(after)}" if before is not None else _value(after)
    return ""


def change_line(change: dict[str, Any]) -> str:
    op = str(change.get("op", "?"))
    symbol = _SYMBOL.get(op, "~")
    name = change.get("name") or change.get("dn") or change.get("path") or ""
    details = _details(change)
    head = f"  {symbol} {op:<14} {change.get('kind', '?'):<12} {name}"
    return head + (f"  ({details})" if details else "")


def render_changes(changes: list[dict[str, Any]], warnings: list[str], *, planned: bool) -> None:
    by_project: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in changes:
        by_project[str(c.get("project") or "shared")].append(c)
    for project in sorted(by_project, key=lambda p: (p == "shared", p)):
        title = "Seat groups and shared objects" if project == "shared" else f"Project {project}"
        click.echo(f"{title}:")
        for c in by_project[project]:
            click.echo(change_line(c))
    for w in warnings:
        click.echo(f"Warning: {w}", err=True)
    creates = sum(1 for c in changes if c.get("op") == "create")
    verb = "to change" if planned else "changed"
    if not changes:
        click.echo("No changes." if planned else "Nothing changed.")
    else:
        click.echo(f"{'Plan' if planned else 'Done'}: {len(changes)} {verb} ({creates} created).")
