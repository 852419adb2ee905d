"""A quarter's invoice from the state store, and issuing it (final from then on).

``invoice(store, quarter, policy)``: an issued quarter's lines as issued (their SHA-256
checked against the ledger's); an open quarter's lines computed now (owed + corrections).
``issue(...)``: records an ended, open quarter: its lines in ``invoice_lines`` and one ledger
entry with their SHA-256, in one transaction; a second issue is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ..errors import ProvisioningError, StateError
from ..policy_model import Policy
from .charges import BillingError, should_lines
from .invoice import line_dict, line_from_dict, lines_sha256, quarter_lines, sort_lines, total
from .model import InvoiceLine, Quarter, money
from .sources import from_store


class AlreadyIssued(ProvisioningError):
    """The quarter was issued before: issued quarters are final."""


@dataclass(frozen=True)
class Invoice:
    quarter: Quarter
    lines: tuple[InvoiceLine, ...]
    sha256: str
    #: the ledger's record (at, actor, run_id, detail) when issued; None: open (a preview)
    issued: dict[str, Any] | None = None


def _issued(store: Any) -> tuple[dict[str, dict[str, Any]], dict[Quarter, list[InvoiceLine]]]:
    records = store.issued_invoices()
    lines: dict[Quarter, list[InvoiceLine]] = {Quarter.parse(q): [] for q in records}
    for row in store.invoice_lines():
        lines.setdefault(Quarter.parse(row["quarter"]), []).append(line_from_dict(row))
    return records, lines


def invoice(store: Any, quarter: Quarter, policy: Policy) -> Invoice:
    if policy.invoice_period_months != 3:
        raise BillingError(
            f"the policy invoices every {policy.invoice_period_months} month(s);"
            " tre bill makes calendar-quarter invoices (invoice_period_months: 3)"
        )
    records, issued = _issued(store)
    if quarter.label in records:
        lines = sort_lines(issued.get(quarter, []))
        record = records[quarter.label]
        if lines_sha256(lines) != record["detail"].get("sha256"):
            raise StateError(
                f"the issued lines of {quarter} no longer match the SHA-256 the ledger"
                " recorded when they were issued"
            )
        return Invoice(quarter, tuple(lines), record["detail"]["sha256"], record)
    owed = should_lines(from_store(store), policy)
    every_issued = [ln for q in sorted(issued) for ln in issued[q]]
    lines = quarter_lines(quarter, owed, every_issued, issued)
    return Invoice(quarter, tuple(lines), lines_sha256(lines))


def issue(
    store: Any, quarter: Quarter, policy: Policy, today: date, actor: str, run_id: str
) -> Invoice:
    """Issue an ended quarter; AlreadyIssued when it was issued before."""
    if today <= quarter.end:
        raise BillingError(
            f"{quarter} ends on {quarter.end}; it can be issued from the day after"
            f" (today is {today})"
        )
    records = store.issued_invoices()
    if quarter.label in records:
        raise AlreadyIssued(_already(quarter, records[quarter.label]))
    inv = invoice(store, quarter, policy)
    detail = {
        "quarter": quarter.label,
        "sha256": inv.sha256,
        "lines": len(inv.lines),
        "total": money(total(inv.lines)),
        "today": today.isoformat(),
    }
    rows = [line_dict(ln) for ln in inv.lines]
    if not store.issue_invoice(quarter.label, rows, detail, actor, run_id):
        raise AlreadyIssued(_already(quarter, store.issued_invoices()[quarter.label]))
    return Invoice(quarter, inv.lines, inv.sha256, store.issued_invoices()[quarter.label])


def _already(quarter: Quarter, record: dict[str, Any]) -> str:
    return (
        f"{quarter} was issued on {issued_on(record)} by {record['actor']} (run"
        f" {record['run_id']}); issued quarters are final: later changes are corrected in"
        " the next open quarter"
    )


def issued_on(record: dict[str, Any]) -> str:
    """The day a quarter was issued: the issuing command's --today (the wall clock's date
    when it was not recorded)."""
    return str(record["detail"].get("today") or record["at"][:10])
