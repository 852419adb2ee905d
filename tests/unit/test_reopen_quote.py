"""The quote of a contract with ``reopens`` (issue 12): ``reopen_project`` instead of the start
fees, and it reconciles with billing's REOPEN line (tests/unit/test_billing_cases.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from provisioning.billing import AppliedRevision, Archive, BillingInput
from provisioning.billing.sources import events_from_contracts
from provisioning.quote import quote
from tests.unit.billing_support import POLICY, amounts, bill, doc, history, load, stored


def test_reopen_quote_hand_worked_and_equal_to_the_bill() -> None:
    """8121 reopens 8120 from 2028-03-01 (Mar..Jun 2028), 8120 archived 2028-01-20.
    Mar: REOPEN 663 + avries new 407 + support 19 + 147 = 1236; Apr-Jun 3 x 166 = 498."""
    new_doc = dict(doc(8121, start=date(2028, 3, 1), end=date(2028, 6, 30)), reopens=8120)
    new = load(new_doc)
    q = quote(new, POLICY)
    assert q.total == D(1236 + 3 * 166)
    items = {ln.item for ln in q.lines if ln.kind == "one-off"}
    assert "reopen of project 8120 from its archive" in items
    assert not {"project start (base)", "file subject at start"} & items

    revisions = {
        "8120": history((date(2026, 12, 1), doc(8120))),
        "8121": [AppliedRevision(date(2028, 2, 1), stored(new))],
    }
    inp = BillingInput(
        revisions,
        archives=[Archive("8120", 1, date(2028, 1, 20))],
        events=events_from_contracts(revisions),
    )
    lines = [
        ln for quarter in ("2028Q1", "2028Q2") for ln in bill(inp, quarter) if ln.project == "8121"
    ]
    assert sum(ln.amount for ln in lines) == q.total
    assert amounts(lines)[("2028-03", "REOPEN")] == D(663)
