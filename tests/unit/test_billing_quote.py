"""Reconciliation: a contract applied once and never changed is billed, over all its quarters,
exactly what `tre contract quote` says, to the cent, and month by month per service."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioning.billing import AppliedRevision, BillingInput, Quarter, quarter_lines, should_lines
from provisioning.calendar import add_months, month_end
from provisioning.contract import load_contract
from provisioning.quote import Quote, quote
from tests.unit.billing_support import POLICY, UU, amounts, load, person, stored

EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"

#: The quote's items and the billing code each one is.
QUOTE_ITEMS = {
    "project start (base)": "START",
    "file subject at start": "START-SUBJECT",
    "support per file subject": "SUPPORT-SUBJECT",
    "new researcher (no token yet)": "RESEARCHER-NEW",
    "researcher, token already held": "RESEARCHER-TOKEN",
    "observer without account": "OBSERVER-NO-ACCOUNT",
    "observer read account, token held": "OBSERVER-TOKEN",
    "observer read account (no token yet)": "OBSERVER-NEW",
    "support per researcher": "SUPPORT-RESEARCHER",
    "support per observer": "SUPPORT-OBSERVER",
    "suspension (dormant fee)": "SUSPENSION",
    "OSSC use, per researcher": "OSSC",
}


def _code(item: str) -> str:
    if item.startswith("file subject added"):
        return "SUBJECT-ADDED"
    if item.startswith("software "):
        return "SOFTWARE-" + item.split()[1]
    if item.startswith("extra storage "):
        return "STORAGE-" + item.split()[2]
    return QUOTE_ITEMS[item]


def quote_amounts(q: Quote) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = {}
    for ln in q.lines:
        key = (f"{ln.month:%Y-%m}", _code(ln.item))
        out[key] = out.get(key, Decimal(0)) + ln.amount
    return out


def billed(contract, applied_on: date, times: int = 1):
    """Every quarter's lines of the contract applied ``times`` times (same content)."""
    revs = [AppliedRevision(applied_on + timedelta(days=i), stored(contract)) for i in range(times)]
    owed = should_lines(BillingInput({contract.project: revs}), POLICY)
    quarters = sorted({Quarter.of(ln.period_start) for ln in owed})
    return [ln for q in quarters for ln in quarter_lines(q, owed)]


def test_examples_reconcile_with_their_quotes() -> None:
    for name in ("9001-small.yaml", "9002-typical.yaml", "9003-consortium.yaml"):
        c = load_contract(str(EXAMPLES / name), POLICY)
        lines = billed(c, c.start - timedelta(days=20))
        q = quote(c, POLICY)
        assert sum(ln.amount for ln in lines) == q.total, name
        assert amounts(lines) == quote_amounts(q), name


# Random valid contracts ---------------------------------------------------------------------


def _month(start: date, i: int) -> date:
    return add_months(start, i)


@st.composite
def periods(draw, n: int, min_months: int = 1) -> tuple[int, int] | None:
    """A from..until in whole months (indices into the project's n months), or None."""
    if n < min_months:
        return None
    a = draw(st.integers(0, n - min_months))
    b = draw(st.integers(a + min_months - 1, n - 1))
    return a, b


@st.composite
def contracts(draw):
    start = date(draw(st.integers(2026, 2028)), draw(st.integers(1, 12)), 1)
    n = draw(st.integers(3, 36))
    end = month_end(_month(start, n - 1))
    last = n - 1

    def span(a: int, b: int) -> dict:
        return {"from": _month(start, a), "until": month_end(_month(start, b))}

    researchers = [person("lead", existing_token=draw(st.booleans()))]
    for i in range(draw(st.integers(0, 3))):
        a = draw(st.integers(0, last))
        b = last if n - a <= 3 else draw(st.integers(a + 2, last))
        extra = {"existing_token": draw(st.booleans())}
        employer = draw(st.sampled_from([UU, "Centraal Planbureau"]))
        researchers.append(person(f"res{i}", employer=employer, **extra, **span(a, b)))
    observers = []
    for i in range(draw(st.integers(0, 2))):
        a, b = draw(periods(n))
        account = draw(st.booleans())
        extra = {"read_account": account, "existing_token": account and draw(st.booleans())}
        obs = person(f"obs{i}", **extra, **span(a, b))
        if not account:
            for key in ("token", "awareness_errors", "existing_token"):
                obs.pop(key)
        observers.append(obs)
    names = draw(
        st.lists(st.sampled_from(POLICY.file_subjects), min_size=1, max_size=4, unique=True)
    )
    subjects = [
        name
        if draw(st.booleans())
        else {"name": name, "from": _month(start, draw(st.integers(0, last)))}
        for name in names
    ]
    software = []
    if (p := draw(st.none() | periods(n))) is not None:
        software.append({"package": "SAS", **span(*p)})
    if draw(st.booleans()):
        software.append({"package": "MLWIN", "from": _month(start, draw(st.integers(0, last)))})
    if (p := draw(st.none() | periods(n, 3))) is not None:
        software.append({"package": "MPLUS", **span(*p)})
    storage = []
    if (p := draw(st.none() | periods(n))) is not None:
        storage.append({"size": "50GB", **span(*p)})
    if (p := draw(st.none() | periods(n, 6))) is not None:
        storage.append({"size": "1TB", **span(*p)})
    suspensions = []
    taken = -1
    for _ in range(draw(st.integers(0, 2))):
        if taken + 1 > last:
            break
        a = draw(st.integers(taken + 1, last))
        b = draw(st.integers(a, min(last, a + 3)))
        suspensions.append(span(a, b))
        taken = b
    doc = {
        "project": 8140,
        "title": "Willekeurig contract",
        "status": "approved",
        "institution": {"name": UU, "authorization_until": end},
        "start": start,
        "end": end,
        "retention_years": draw(st.sampled_from([5, 10])),
        "lead": "lead",
        "researchers": researchers,
        "observers": observers,
        "file_subjects": subjects,
        "software": software,
        "storage": {"extra": storage},
        "suspensions": suspensions,
    }
    if draw(st.booleans()):
        ids = [r["id"] for r in researchers]
        chosen = draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
        doc["ossc"] = {"researchers": chosen, "from": _month(start, draw(st.integers(0, last)))}
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts(), st.integers(-90, 400), st.integers(1, 3))
def test_random_contracts_reconcile_with_their_quotes(doc, applied, times) -> None:
    """Any valid contract (people, subjects, software, storage, OSSC, suspensions), applied
    once (or the same content again, which changes nothing), on any day before or during
    the project: the sum of its quarterly lines is the quote's total, to the cent."""
    c = load(doc)
    lines = billed(c, c.start + timedelta(days=applied), times)
    q = quote(c, POLICY)
    assert sum(ln.amount for ln in lines) == q.total
    assert amounts(lines) == quote_amounts(q)
    assert all(not ln.correction and ln.quantity > 0 for ln in lines)
