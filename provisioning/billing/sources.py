"""Billing's input from the state store: revisions with their days, usage, archives, events.

Reads only; the pure rules are in charges.py and invoice.py.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from .charges import EXTRA_STORAGE
from .model import AppliedRevision, Archive, BillingInput, FeeEvent, Usage, as_date

GB = 1024**3


def events_from_contracts(revisions: Mapping[str, Sequence[AppliedRevision]]) -> list[FeeEvent]:
    """Move and reopen events from the contracts' issue-12 keys (``moves_from``, ``reopens``).

    A contract with ``moves_from: N`` starts the project N moved to (from its start, to its
    institution); one with ``reopens: N`` reopens N from its start. Contracts without these
    keys (all of them until issue 12) give no events.
    """
    out: list[FeeEvent] = []
    for number, revs in revisions.items():
        if not revs:
            continue
        c = revs[-1].contract
        if c.get("moves_from"):
            out.append(
                FeeEvent(
                    "move",
                    str(c["moves_from"]),
                    as_date(c["start"]),
                    institution=c["institution"]["name"],
                    to_project=number,
                )
            )
        if c.get("reopens"):
            out.append(
                FeeEvent("reopen", number, as_date(c["start"]), of_project=str(c["reopens"]))
            )
    return out


def _usage(row: Mapping[str, Any]) -> Usage:
    detail = row.get("detail")
    if isinstance(detail, str):  # the text as stored
        try:
            detail = json.loads(detail)
        except ValueError:
            detail = None
    step = detail.get("step") if isinstance(detail, dict) else None
    return Usage(
        str(row["project"]),
        row["kind"],
        as_date(f"{row['period']}-01"),
        int(row["quantity"]),
        step if isinstance(step, str) else None,
    )


def _archive(row: Mapping[str, Any]) -> Archive | None:
    """An archive made (``archived_on`` set); its size in whole GB, rounded up from bytes if
    the record has no ``size_gb``."""
    if not row.get("archived_on"):
        return None
    size = row.get("size_gb")
    if size is None:
        size = math.ceil((row.get("bytes") or 0) / GB)
    return Archive(str(row["project"]), int(size), as_date(row["archived_on"]))


def from_store(store: Any) -> BillingInput:
    """Everything billing needs from a ``StateStore``."""
    revisions: defaultdict[str, list[AppliedRevision]] = defaultdict(list)
    for r in store.revision_history():
        revisions[r["project"]].append(AppliedRevision(as_date(r["applied_on"]), r["contract"]))
    archives = [a for a in (_archive(row) for row in store.archives()) if a is not None]
    return BillingInput(
        revisions=dict(revisions),
        usage=[_usage(u) for u in store.billable_usage(kind=EXTRA_STORAGE)],
        archives=archives,
        events=events_from_contracts(revisions),
    )
