"""A quarter's invoice lines: what its months owe, plus corrections of issued quarters (pure).

Issued quarters are final. For an open quarter Q the lines are the owed lines of Q's months,
then, for every month of an earlier *issued* quarter, the difference between what is owed now
and what was issued for it (issued lines and earlier corrections together), as correction
lines with the corrected month as their period. Lines are matched on (project, code, month);
a correction is priced at the unit price the month was issued with (a tariff changed since is
not retroactive), a month issued without that service at today's.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from .model import InvoiceLine, Quarter, as_date, money

COLUMNS = (
    "institution",
    "project",
    "code",
    "service",
    "quantity",
    "unit_price",
    "amount",
    "period_start",
    "period_end",
    "correction",
)


def quarter_lines(
    quarter: Quarter,
    owed: Sequence[InvoiceLine],
    issued: Sequence[InvoiceLine] = (),
    issued_quarters: Iterable[Quarter] = (),
) -> list[InvoiceLine]:
    """The lines of open ``quarter``: its months' owed lines and corrections of issued ones.

    ``issued`` holds every issued line of every issued quarter (corrections included).
    """
    closed = set(issued_quarters)
    billed: defaultdict[tuple, int] = defaultdict(int)
    for ln in issued:
        billed[ln.key] += ln.quantity
    by_key = {ln.key: ln for ln in owed}
    out: list[InvoiceLine] = []
    for ln in owed:
        if Quarter.of(ln.period_start) == quarter and ln.quantity - billed[ln.key]:
            out.append(replace(ln, quantity=ln.quantity - billed[ln.key]))
    last_issued = {ln.key: ln for ln in issued}
    for key in sorted(set(by_key) | set(billed), key=lambda k: (k[2], int(k[0]), k[1])):
        month: date = key[2]
        q = Quarter.of(month)
        if q >= quarter or q not in closed:
            continue
        now = by_key.get(key)
        delta = (now.quantity if now else 0) - billed[key]
        if delta:
            base = now or last_issued[key]
            price = last_issued[key].unit_price if key in last_issued else base.unit_price
            out.append(replace(base, quantity=delta, unit_price=price, correction=True))
    return sort_lines(out)


def sort_lines(lines: Iterable[InvoiceLine]) -> list[InvoiceLine]:
    """Per institution, per project, the quarter's own lines first, then corrections."""
    return sorted(
        lines,
        key=lambda ln: (ln.institution, int(ln.project), ln.correction, ln.period_start, ln.code),
    )


def line_dict(ln: InvoiceLine) -> dict[str, Any]:
    """JSON-ready: money as text with two decimals, dates ISO."""
    return {
        "institution": ln.institution,
        "project": ln.project,
        "code": ln.code,
        "service": ln.service,
        "quantity": ln.quantity,
        "unit_price": money(ln.unit_price),
        "amount": money(ln.amount),
        "period_start": ln.period_start.isoformat(),
        "period_end": ln.period_end.isoformat(),
        "correction": ln.correction,
    }


def line_from_dict(d: Mapping[str, Any]) -> InvoiceLine:
    return InvoiceLine(
        institution=d["institution"],
        project=str(d["project"]),
        code=d["code"],
        service=d["service"],
        quantity=int(d["quantity"]),
        unit_price=Decimal(str(d["unit_price"])),
        period_start=as_date(d["period_start"]),
        period_end=as_date(d["period_end"]),
        correction=bool(d.get("correction")),
    )


def lines_sha256(lines: Sequence[InvoiceLine]) -> str:
    """SHA-256 of the lines as canonical JSON (sorted keys, UTF-8): what the ledger keeps."""
    text = json.dumps([line_dict(ln) for ln in lines], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def total(lines: Iterable[InvoiceLine]) -> Decimal:
    return sum((ln.amount for ln in lines), Decimal(0))


def totals_by_institution(lines: Iterable[InvoiceLine]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for ln in lines:
        out[ln.institution] = out.get(ln.institution, Decimal(0)) + ln.amount
    return out


def lines_csv(lines: Sequence[InvoiceLine]) -> str:
    """One header row, one row per line; commas inside a field quoted; amounts with a dot."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for ln in lines:
        d = line_dict(ln)
        w.writerow([str(d[c]).lower() if c == "correction" else d[c] for c in COLUMNS])
    return out.getvalue()
