"""What every project owes per month and service, from what happened (pure; docs/billing.md).

The same rules as the quote (provisioning/quote.py, docs/quote.md), applied to the segments
of the revision history (history.py) instead of one contract: one-off costs in the month they
happen, monthly costs for every calendar month something is in force, a suspended month's
support fees replaced by one dormant fee. Added here: measured over-quota storage, the large
archive, and the move and reopen fees (issue 12's events).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import date
from typing import Any

from ..calendar import min_until, month_end, months
from ..errors import ProvisioningError
from ..policy_model import Policy
from . import history
from .model import AppliedRevision, BillingInput, FeeEvent, InvoiceLine, as_date, first_of
from .services import service, software_code, storage_code

#: Usage kinds billed (``billable_usage.kind``); others are not billed yet.
EXTRA_STORAGE = "extra_storage"
#: The one-off codes a project's start costs; replaced by the move or reopen fee.
START_CODES = ("START", "START-SUBJECT")


class BillingError(ProvisioningError, ValueError):
    """Billing input that cannot be billed (one line: which record and why)."""


class _Owed:
    """Months per (code, item key): an item counts once per month, whatever its segments."""

    def __init__(self) -> None:
        self.months: defaultdict[tuple[str, Hashable], set[date]] = defaultdict(set)

    def once(self, code: str, key: Hashable, month: date) -> None:
        self.months[(code, key)].add(first_of(month))

    def monthly(self, code: str, key: Hashable, start: date, end: date) -> None:
        self.months[(code, key)].update(months(start, end))

    def counts(self) -> dict[tuple[date, str], int]:
        out: defaultdict[tuple[date, str], int] = defaultdict(int)
        for (code, _key), ms in self.months.items():
            for m in ms:
                out[(m, code)] += 1
        return dict(out)


def contract_counts(
    revisions: Sequence[AppliedRevision], policy: Policy
) -> dict[tuple[date, str], int]:
    """Quantities per (month, code) of one project's contract history."""
    last = revisions[-1].contract
    start, end = as_date(last["start"]), as_date(last["end"])
    owed = _Owed()
    suspended: set[date] = set()
    for seg in history.segments(revisions, history.suspensions):
        s_start = as_date(seg.item["start"])
        suspended.update(months(s_start, seg.clip_before(as_date(seg.item["end"]))))
    for m in suspended:
        owed.once("SUSPENSION", "project", m)

    def support(code: str, key: Hashable, first: date, until: date) -> None:
        owed.months[(code, key)].update(m for m in months(first, until) if m not in suspended)

    owed.once("START", "project", start)
    for seg in history.segments(revisions, history.subjects):
        s_start = as_date(seg.item["start"])
        s_end = seg.clip(as_date(seg.contract["end"]))
        if s_end < s_start:
            continue
        c_start = as_date(seg.contract["start"])
        if s_start <= c_start:
            owed.once("START-SUBJECT", seg.key, c_start)
        else:
            owed.once("SUBJECT-ADDED", seg.key, s_start)
        support("SUPPORT-SUBJECT", seg.key, s_start, s_end)
    for seg in history.segments(revisions, history.people):
        _person(seg, owed, support)
    for seg in history.segments(revisions, history.ossc_researchers):
        month = first_of(as_date(seg.item["start"]))
        if seg.first_index > 0:  # added to OSSC by a later revision: from that month
            month = max(month, first_of(revisions[seg.first_index].applied_on))
        if seg.removed_on is None or first_of(seg.removed_on) >= month:
            owed.once("OSSC", seg.key, month)
    for seg in history.segments(revisions, history.software):
        pkg = policy.package(seg.item["package"])
        s_end = as_date(seg.contract["end"] if pkg.billing == "until_end" else seg.item["end"])
        # one package is never taken twice at once (software-overlap): a month counts once
        _minimum(owed, software_code(pkg.name), seg, s_end, pkg.min_months, key=pkg.name)
    for seg in history.segments(revisions, history.storage):
        step = policy.storage_step(seg.item["size"])
        _minimum(owed, storage_code(step.size), seg, as_date(seg.item["end"]), step.min_months)
    last_month = first_of(end)
    return {(m, code): n for (m, code), n in owed.counts().items() if m <= last_month}


def _counts(
    number: str, revisions: Sequence[AppliedRevision], policy: Policy
) -> dict[tuple[date, str], int]:
    """``contract_counts``; a stored revision that is not a whole contract is one line."""
    try:
        counts = contract_counts(revisions, policy)
        for r in revisions:  # every line names its institution
            str(r.contract["institution"]["name"])
        return counts
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise BillingError(
            f"project {number}: an applied revision cannot be billed ({type(e).__name__}: {e})"
        ) from None


def _person(seg: history.Segment, owed: _Owed, support: Callable[..., None]) -> None:
    """A researcher's or observer's one-off fee (token rules) and monthly support."""
    p = seg.item
    role = seg.key[0]  # type: ignore[index]
    p_start = as_date(p["start"])
    p_end = seg.clip(as_date(p["end"]))
    if p_end < p_start:
        return
    if role == "researcher":
        fee = "RESEARCHER-TOKEN" if p.get("existing_token") else "RESEARCHER-NEW"
    elif not p.get("read_account"):
        fee = "OBSERVER-NO-ACCOUNT"
    else:
        fee = "OBSERVER-TOKEN" if p.get("existing_token") else "OBSERVER-NEW"
    owed.once(fee, seg.key, p_start)
    support(f"SUPPORT-{role.upper()}", seg.key, p_start, p_end)


def _minimum(
    owed: _Owed,
    code: str,
    seg: history.Segment,
    end: date,
    min_months: int,
    key: Hashable | None = None,
) -> None:
    """Monthly from the item's first month; dropped early, still at least ``min_months``."""
    s_start = as_date(seg.item["start"])
    s_end = seg.clip(end)
    if s_end < s_start:
        return  # dropped before its first month
    owed.monthly(code, key or seg.key, s_start, max(s_end, min_until(s_start, min_months)))


def archive_quantity(size_gb: int, retention_years: int, policy: Policy) -> int:
    """GB above ``archive_free_gb``, once per started ``large_archive_period_years``."""
    periods = math.ceil(retention_years / policy.large_archive_period_years)
    return max(0, size_gb - policy.archive_free_gb) * periods


def should_lines(inp: BillingInput, policy: Policy) -> list[InvoiceLine]:
    """Every line owed for every month, from everything that happened (no quarter yet)."""
    counts = {p: _counts(p, revs, policy) for p, revs in inp.revisions.items() if revs}

    def project(number: str, what: str) -> dict[tuple[date, str], int]:
        if number not in counts:
            raise BillingError(f"{what} of project {number}: no applied contract to bill it to")
        return counts[number]

    steps = sorted(policy.storage_steps, key=lambda s: s.size_bytes)
    smallest = ([s for s in steps if s.min_months == 1] or steps)[0].size  # as quota-monthly
    for u in inp.usage:
        if u.kind == EXTRA_STORAGE:
            c = project(u.project, f"usage {u.kind} {u.month:%Y-%m}")
            key = (first_of(u.month), storage_code(u.step or smallest, measured=True))
            c[key] = c.get(key, 0) + u.quantity
    for a in inp.archives:
        c = project(a.project, "archive")
        retention = int(inp.revisions[a.project][-1].contract["retention_years"])
        key = (first_of(a.archived_on), "ARCHIVE-GB")
        c[key] = c.get(key, 0) + archive_quantity(a.size_gb, retention, policy)
    moves = _events(inp, counts, project)
    return _lines(inp, counts, moves, policy)


def _events(inp: BillingInput, counts: dict, project: Any) -> dict[str, list[FeeEvent]]:
    """Apply move and reopen events to the counts; returns same-project moves by project."""
    same: defaultdict[str, list[FeeEvent]] = defaultdict(list)
    archived = {a.project: a.archived_on for a in inp.archives}
    for e in sorted(inp.events, key=lambda e: e.on):
        month = first_of(e.on)
        if e.kind == "move" and e.to_project:
            old, new = project(e.project, "move"), project(e.to_project, "move")
            for k in [k for k in old if k[0] >= month]:
                del old[k]  # the old project is closed from the move
            _replace_start(new, "MOVE", month)
        elif e.kind == "move":
            if not e.institution:
                raise BillingError(f"move of project {e.project} on {e.on}: no institution")
            c = project(e.project, "move")
            c[(month, "MOVE")] = c.get((month, "MOVE"), 0) + 1
            same[e.project].append(e)
        elif e.kind == "reopen":
            new = project(e.project, "reopen")
            if e.of_project in archived and archived[e.of_project] < e.on:
                _replace_start(new, "REOPEN", month)
            else:  # not archived yet: no reopen fee, the dormant fee for the months between
                _replace_start(new, None, month)
                old = project(str(e.of_project), "reopen")
                old_end = as_date(inp.revisions[str(e.of_project)][-1].contract["end"])
                for m in months(first_of(old_end), month):
                    if first_of(old_end) < m < month:
                        old[(m, "SUSPENSION")] = old.get((m, "SUSPENSION"), 0) + 1
    return same


def _replace_start(counts: dict, code: str | None, month: date) -> None:
    for k in [k for k in counts if k[1] in START_CODES]:
        del counts[k]
    if code:
        counts[(month, code)] = counts.get((month, code), 0) + 1


def _institution(revisions: Sequence[AppliedRevision], moves: list[FeeEvent]) -> Any:
    """month → institution: the last revision's, or per same-project move from its month."""
    latest = revisions[-1].contract["institution"]["name"]
    if not moves:
        return lambda _m: latest
    before = [r for r in revisions if r.applied_on < moves[0].on] or list(revisions[:1])
    first = before[-1].contract["institution"]["name"]
    steps = [(first_of(e.on), str(e.institution)) for e in moves]

    def at(month: date) -> str:
        name = first
        for since, institution in steps:
            if month >= since:
                name = institution
        return name

    return at


def _lines(
    inp: BillingInput, counts: dict, moves: Mapping[str, list[FeeEvent]], policy: Policy
) -> list[InvoiceLine]:
    out: list[InvoiceLine] = []
    for number, c in counts.items():
        institution_at = _institution(inp.revisions[number], moves.get(number, []))
        for (month, code), n in c.items():
            name, price = service(code, policy)
            if n and price:
                out.append(
                    InvoiceLine(
                        institution_at(month),
                        number,
                        code,
                        name,
                        n,
                        price,
                        month,
                        month_end(month),
                    )
                )
    return sorted(out, key=lambda ln: (ln.period_start, int(ln.project), ln.code))
