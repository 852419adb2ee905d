"""The cost overview (kostenoverzicht) of a contract, from the policy's tariffs (docs/quote.md).

One-off costs fall in the month they happen (the start month, or the month a person, a file
subject or OSSC is added); monthly costs are charged for every calendar month something is in
force, whole months (a period touching a month pays that month). In a suspended month the
support fees (per file subject, researcher, observer) are replaced by one dormant fee
(``suspension_monthly``); software and extra storage are still billed. Invoices sum calendar
quarters.
Money is ``Decimal`` throughout; lines with a zero amount (free services) are left out.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from .calendar import min_until, months
from .contract.model import Contract
from .policy_model import Policy

CENT = Decimal("0.01")


@dataclass(frozen=True)
class QuoteLine:
    month: date  #: the 1st of the month the cost is invoiced for
    kind: Literal["one-off", "monthly"]
    item: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Quote:
    project: str
    title: str
    currency: str
    start: date
    end: date
    invoice_period_months: int
    lines: tuple[QuoteLine, ...]

    def _sum(self, kind: str | None = None, month: date | None = None) -> Decimal:
        return sum(
            (
                ln.amount
                for ln in self.lines
                if (kind is None or ln.kind == kind) and (month is None or ln.month == month)
            ),
            Decimal(0),
        )

    @property
    def one_off_total(self) -> Decimal:
        return self._sum("one-off")

    @property
    def monthly_total(self) -> Decimal:
        return self._sum("monthly")

    @property
    def total(self) -> Decimal:
        return self._sum()

    def months(self) -> list[tuple[date, Decimal, Decimal]]:
        """Every month of the project: (month, one-off, monthly)."""
        return [
            (m, self._sum("one-off", m), self._sum("monthly", m))
            for m in months(self.start, self.end)
        ]

    def period(self, month: date) -> str:
        """The invoice period of a month: ``2026-Q1`` (or ``2026-P1`` for other lengths)."""
        n = self.invoice_period_months
        letter = "Q" if n == 3 else "P"
        return f"{month.year}-{letter}{(month.month - 1) // n + 1}"

    def quarters(self) -> list[tuple[str, Decimal]]:
        """Subtotal per invoice period (calendar quarters), in order."""
        out: dict[str, Decimal] = {}
        for m, one_off, monthly in self.months():
            key = self.period(m)
            out[key] = out.get(key, Decimal(0)) + one_off + monthly
        return list(out.items())


def quote(contract: Contract, policy: Policy) -> Quote:
    t = policy.tariffs
    c = contract
    first = date(c.start.year, c.start.month, 1)
    counts: Counter[tuple[date, str, str, Decimal]] = Counter()

    suspended = {m for s in c.suspensions for m in months(s.start, s.end)}

    def add(month: date, kind: str, item: str, price: Decimal, n: int = 1) -> None:
        counts[(date(month.year, month.month, 1), kind, item, price)] += n

    def support(month: date, item: str, price: Decimal) -> None:
        """A support fee, except in a suspended month (the dormant fee instead)."""
        if month not in suspended:
            add(month, "monthly", item, price)

    if c.moves_from:  # verhuizen: the move fee instead of the start fees (docs/billing.md)
        add(first, "one-off", f"project move (from {c.moves_from})", t.move_project)
    elif c.reopens:  # issue 12: the reopen fee instead of the start fees (docs/quote.md)
        add(first, "one-off", f"reopen of project {c.reopens} from its archive", t.reopen_project)
    else:
        add(first, "one-off", "project start (base)", t.project_start)
    for g in c.file_subjects:
        if g.start <= c.start:
            if not c.moves_from and not c.reopens:
                add(first, "one-off", "file subject at start", t.file_subject)
        else:
            add(g.start, "one-off", f"file subject added ({g.name})", t.file_subject_added)
        for m in months(g.start, c.end):
            support(m, "support per file subject", t.support_file_subject_monthly)
    for p in c.researchers:
        start, end = p.start, p.end
        if p.existing_token:
            add(start, "one-off", "researcher, token already held", t.researcher_with_token)
        else:
            add(start, "one-off", "new researcher (no token yet)", t.new_researcher)
        for m in months(start, end):
            support(m, "support per researcher", t.support_researcher_monthly)
    for p in c.observers:
        start, end = p.start, p.end
        if not p.read_account:
            add(start, "one-off", "observer without account", t.observer_without_account)
        elif p.existing_token:
            add(
                start, "one-off", "observer read account, token held", t.observer_account_with_token
            )
        else:
            add(start, "one-off", "observer read account (no token yet)", t.observer_account_new)
        for m in months(start, end):
            support(m, "support per observer", t.support_observer_monthly)
    for m in sorted(suspended):
        add(m, "monthly", "suspension (dormant fee)", t.suspension_monthly)
    if c.ossc:
        add(
            c.ossc.start,
            "one-off",
            "OSSC use, per researcher",
            t.ossc_per_researcher,
            len(c.ossc.researchers),
        )
    for s in c.software:
        pkg = policy.package(s.package)
        end = s.end
        if pkg.billing == "until_end":
            end = c.end
        elif pkg.billing == "minimum":
            end = max(end, min_until(s.start, pkg.min_months))
        for m in months(s.start, end):
            add(m, "monthly", f"software {pkg.name}", pkg.monthly)
    for e in c.extra_storage:
        step = policy.storage_step(e.size)
        for m in months(e.start, max(e.end, min_until(e.start, step.min_months))):
            add(m, "monthly", f"extra storage {e.size}", step.monthly)

    lines = tuple(
        QuoteLine(month, kind, item, n, price)  # type: ignore[arg-type]
        for (month, kind, item, price), n in sorted(
            counts.items(), key=lambda kv: (kv[0][0], kv[0][1] != "one-off", kv[0][2])
        )
        if price * n != 0
    )
    return Quote(
        c.project, c.title, policy.currency, c.start, c.end, policy.invoice_period_months, lines
    )


def money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def quote_as_dict(q: Quote) -> dict[str, Any]:
    """JSON-ready: amounts as strings with two decimals (no float rounding)."""
    return {
        "project": q.project,
        "title": q.title,
        "currency": q.currency,
        "start": q.start.isoformat(),
        "end": q.end.isoformat(),
        "lines": [
            {
                "month": f"{ln.month:%Y-%m}",
                "period": q.period(ln.month),
                "kind": ln.kind,
                "item": ln.item,
                "quantity": ln.quantity,
                "unit_price": money(ln.unit_price),
                "amount": money(ln.amount),
            }
            for ln in q.lines
        ],
        "months": [
            {
                "month": f"{m:%Y-%m}",
                "one_off": money(o),
                "monthly": money(mo),
                "total": money(o + mo),
            }
            for m, o, mo in q.months()
        ],
        "quarters": [{"period": k, "total": money(v)} for k, v in q.quarters()],
        "one_off_total": money(q.one_off_total),
        "monthly_total": money(q.monthly_total),
        "total": money(q.total),
    }


def quote_csv(q: Quote) -> str:
    """One row per line item; a spreadsheet sums ``amount`` per ``period`` for the invoices."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["project", "month", "period", "kind", "item", "quantity", "unit_price", "amount"])
    for ln in q.lines:
        w.writerow(
            [
                q.project,
                f"{ln.month:%Y-%m}",
                q.period(ln.month),
                ln.kind,
                ln.item,
                ln.quantity,
                money(ln.unit_price),
                money(ln.amount),
            ]
        )
    return out.getvalue()
