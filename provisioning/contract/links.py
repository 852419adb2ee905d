"""Links to other projects a contract alone can check: ``moves_from`` and ``transfers``.

*Verhuizen onderzoeksproject*: ``moves_from: N`` on a new contract M (of another
institution) moves project N here from M's start. *Overzetten bestanden uit een ander
onderzoeksproject*: ``transfers: [{from_project, from}]`` copies the files of the source
project's folder ``Overzetten naar project <M>/`` into M's ``import/`` from ``from``.

What needs the other project (it exists, its institution, its status) is checked against the
run's contracts and the state store by ``provisioning/project_links.py``; here only what the
contract itself shows (docs/contracts.md, docs/lifecycle.md).
"""

from __future__ import annotations

from typing import Any

from provisioning.ids import PROJECT_RE
from provisioning.validation.fields import Checker, join

from .model import Transfer
from .parse import Draft

_WHAT = "a project number (1-8 digits, no leading 0)"


def _number(value: Any, path: str, c: Checker) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return c.pattern(value, path, PROJECT_RE, "project-number", _WHAT)


def check(doc: Any, d: Draft, c: Checker) -> None:
    """Read ``moves_from`` and ``transfers`` into the draft and check them."""
    if not isinstance(doc, dict):
        return
    if doc.get("moves_from") is not None:
        d.moves_from = _number(doc["moves_from"], "moves_from", c)
        if d.moves_from and d.moves_from == d.project:
            c.add("moves_from", "moves-from-self", "a project cannot move from itself")
            d.moves_from = None
        if d.moves_from and d.reopens:
            c.add(
                "moves_from",
                "moves-from-reopens",
                "a new contract either moves a project here or reopens one, not both",
            )
    if doc.get("transfers") is not None:
        d.transfers = _transfers(doc["transfers"], d, c)


def _transfers(value: Any, d: Draft, c: Checker) -> list[Transfer | None]:
    out: list[Transfer | None] = []
    seen: set[str] = set()
    items = c.sequence(value, "transfers") or []
    if len(items) > 50:
        c.add("transfers", "range", f"{len(items)} entries; at most 50")
        return out
    for i, item in enumerate(items):
        p = join("transfers", i)
        m = c.mapping(item, p, ("from_project", "from"))
        if m is None or "from_project" not in m or "from" not in m:
            out.append(None)
            continue
        source = _number(m["from_project"], join(p, "from_project"), c)
        start = c.date(m["from"], join(p, "from"))
        if source and source == d.project:
            c.add(join(p, "from_project"), "transfer-self", "a project cannot transfer to itself")
            source = None
        elif source in seen:
            c.add(
                join(p, "from_project"),
                "transfer-duplicate",
                f"project {source} is listed twice; one entry per source project",
            )
            source = None
        if source:
            seen.add(source)
        if start and d.start and d.end and not d.start <= start <= d.end:
            c.add(
                join(p, "from"),
                "period-inside-project",
                f"{start} is outside the project's period {d.start} → {d.end}",
            )
            start = None
        out.append(Transfer(source, start) if source and start else None)
    return out
