"""Irreversible steps bound to the plan the operator confirmed (docs/safety.md).

``tre apply`` shows a check-mode plan, asks, and then runs for real. Whatever changed in
between (an account added to a closed project's OU, a workspace that appeared) must not widen
what is deleted: the real run gets the plan's irreversible steps as ``confirmed_b64`` (base64
of a JSON list of ``{project, op, kind, name}``) and a module performs an irreversible step
only when it is in that list. Anything else irreversible is left alone with one warning line;
the next plan shows it. Without ``confirmed_b64`` (a run outside ``tre apply``, e.g. a job
template that runs site.yml itself) nothing is filtered.

Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import json

#: The ops that cannot be undone; ``tre`` sends the plan's changes with these ops.
IRREVERSIBLE_OPS = ("delete", "remove")

CONFIRMED_OPTION = {"confirmed_b64": {"type": "str"}}


def key(change: dict) -> tuple[str, str, str, str]:
    return (
        str(change.get("project") or ""),
        str(change.get("op") or ""),
        str(change.get("kind") or ""),
        str(change.get("name") or ""),
    )


def is_irreversible(change: dict) -> bool:
    return change.get("op") in IRREVERSIBLE_OPS


def encode(changes: list[dict]) -> str:
    """What ``tre`` passes: the irreversible steps of a plan's changes."""
    steps = sorted({key(c) for c in changes if is_irreversible(c)})
    keys = ("project", "op", "kind", "name")
    return base64.b64encode(
        json.dumps([dict(zip(keys, s, strict=True)) for s in steps]).encode()
    ).decode()


def decode(value: str | None) -> set[tuple[str, str, str, str]] | None:
    """The confirmed steps, or None (no binding) when the option is not given.

    Raises ValueError with one line when the value is not base64 of a JSON list of objects.
    """
    if value is None:
        return None
    try:
        data = json.loads(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error):
        raise ValueError("confirmed_b64 is not base64 of a JSON document") from None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ValueError("confirmed_b64 is not a list of {project, op, kind, name}")
    return {key(d) for d in data}


def allowed(change: dict, confirmed: set[tuple[str, str, str, str]] | None) -> bool:
    """Whether a step may run: reversible, or no binding, or in the confirmed plan."""
    return confirmed is None or not is_irreversible(change) or key(change) in confirmed


def refusal(change: dict) -> str:
    """The warning for an irreversible step that was not in the confirmed plan."""
    return (
        f"P{change.get('project')}: {change.get('op')} {change.get('kind')} "
        f"{change.get('name')} was not in the confirmed plan; left alone (the next plan shows it)"
    )
