"""Quarters worked out by hand from the 2026 tariffs (docs/billing.md).

The base project 8100 (billing_support.doc): Universiteit Utrecht, 2027-01-01..2027-12-31,
researcher avries (no token yet), subject GBAPERSOONTAB at the start. Its months:
  Jan 2027: START 1955 + START-SUBJECT 196 + RESEARCHER-NEW 407 + support 19 + 147 = 2724
  every other month: SUPPORT-SUBJECT 19 + SUPPORT-RESEARCHER 147                   =  166
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date
from decimal import Decimal

from provisioning.billing import AppliedRevision, Archive, BillingInput, FeeEvent, Usage
from provisioning.billing.sources import _archive, events_from_contracts
from provisioning.calendar import min_until
from provisioning.quote import quote
from tests.unit.billing_support import (
    POLICY,
    UU,
    amounts,
    bill,
    doc,
    history,
    load,
    one,
    person,
    stored,
    total,
)

D = Decimal
EUR = "Erasmus Universiteit Rotterdam"


def test_base_project_first_quarter() -> None:
    """Q1: Jan 2724 + Feb 166 + Mar 166 = 3056; the whole year 2724 + 11 x 166 = 4550."""
    inp = one("8100", (date(2026, 12, 1), doc()))
    assert total(bill(inp, "2027Q1")) == D(3056)
    year = sum(total(bill(inp, f"2027Q{n}")) for n in (1, 2, 3, 4))
    assert year == D(4550) == quote(load(doc()), POLICY).total


def test_researcher_added_mid_quarter_and_removed_later() -> None:
    """Revision 2 (applied 2027-02-10) adds bjansen from 2027-02-01, no token yet.

    Q1: Jan 2724
        Feb RESEARCHER-NEW 407 + SUPPORT-SUBJECT 19 + SUPPORT-RESEARCHER 2 x 147 = 294  = 720
        Mar 19 + 294                                                                   = 313
        2724 + 720 + 313                                                               = 3757
    Revision 3 (applied 2027-05-20) removes bjansen: billed until his last month, May.
    Q2: Apr 313 + May 313 + Jun 166                                                    =  792
    """
    rev1 = doc()
    rev2 = doc(researchers=[person("avries"), person("bjansen", **{"from": date(2027, 2, 1)})])
    inp = one("8100", (date(2026, 12, 1), rev1), (date(2027, 2, 10), rev2))
    q1 = bill(inp, "2027Q1")
    assert total(q1) == D(3757)
    assert amounts(q1)[("2027-02", "RESEARCHER-NEW")] == D(407)
    assert amounts(q1)[("2027-02", "SUPPORT-RESEARCHER")] == D(294)
    three = one(
        "8100", (date(2026, 12, 1), rev1), (date(2027, 2, 10), rev2), (date(2027, 5, 20), rev1)
    )
    q2 = bill(three, "2027Q2")
    assert total(q2) == D(792)
    assert amounts(q2)[("2027-05", "SUPPORT-RESEARCHER")] == D(294)
    assert amounts(q2)[("2027-06", "SUPPORT-RESEARCHER")] == D(147)


def test_suspension_spanning_two_quarters() -> None:
    """Suspended 2027-03-01..2027-04-30; extra storage 50GB Feb..May stays billed.

    Q1: Jan 2724; Feb 166 + 50GB 26 = 192; Mar dormant 82 (instead of 166) + 26 = 108
        2724 + 192 + 108                                                          = 3024
    Q2: Apr 82 + 26 = 108; May 166 + 26 = 192; Jun 166                            =  466
    The year: 3024 + 466 + 6 x 166 (Q3, Q4) = 4486 = the quote's total.
    """
    d = doc(
        suspensions=[{"from": date(2027, 3, 1), "until": date(2027, 4, 30)}],
        storage={"extra": [{"size": "50GB", "from": date(2027, 2, 1), "until": date(2027, 5, 31)}]},
    )
    inp = one("8100", (date(2026, 12, 1), d))
    q1, q2 = bill(inp, "2027Q1"), bill(inp, "2027Q2")
    assert total(q1) == D(3024)
    assert total(q2) == D(466)
    assert amounts(q1)[("2027-03", "SUSPENSION")] == D(82)
    assert ("2027-03", "SUPPORT-RESEARCHER") not in amounts(q1)
    assert amounts(q2)[("2027-04", "STORAGE-50GB")] == D(26)
    year = sum(total(bill(inp, f"2027Q{n}")) for n in (1, 2, 3, 4))
    assert year == D(4486) == quote(load(d), POLICY).total


def test_suspension_cancelled_half_way() -> None:
    """Suspended Apr..Jun, cancelled by a revision applied 2027-05-10: the catalogue starts
    support again on the 1st of the month the project reopens, so only April is dormant.

    Q2: Apr 82; May 166; Jun 166 = 414 (planned: 3 x 82 = 246)."""
    suspended = doc(suspensions=[{"from": date(2027, 4, 1), "until": date(2027, 6, 30)}])
    planned = one("8100", (date(2026, 12, 1), suspended))
    assert total(bill(planned, "2027Q2")) == D(246)
    cancelled = one("8100", (date(2026, 12, 1), suspended), (date(2027, 5, 10), doc()))
    assert total(bill(cancelled, "2027Q2")) == D(414)


def test_over_quota_measured_on_two_firsts() -> None:
    """quota-monthly found 1 step of 50GB over the allowance on 1 Feb, 2 steps on 1 Mar.

    Q1: 3056 + Feb 1 x 26 + Mar 2 x 26 = 3056 + 78 = 3134.
    """
    usage = [
        Usage("8100", "extra_storage", date(2027, 2, 1), 1),
        Usage("8100", "extra_storage", date(2027, 3, 1), 2),
    ]
    inp = one("8100", (date(2026, 12, 1), doc()), usage=usage)
    q1 = bill(inp, "2027Q1")
    assert total(q1) == D(3134)
    measured = [ln for ln in q1 if ln.code == "STORAGE-50GB-MEASURED"]
    assert [(ln.period_start, ln.quantity, ln.amount) for ln in measured] == [
        (date(2027, 2, 1), 1, D(26)),
        (date(2027, 3, 1), 2, D(52)),
    ]
    assert measured[0].service == "Extra opslagcapaciteit (per 50 GB per maand)"


def test_large_archive_with_ten_year_retention() -> None:
    """A 2.3 GB zip: rounded up to 3 GB; 3 - 1 free = 2 GB, billed once per 5 years of the
    10-year retention: 2 x 2 = 4 x 51 = 204, in the month it was archived (Feb 2028, 2028Q1,
    after the project's last line in Dec 2027). With 5 years: 2 x 51 = 102."""
    row = {
        "project": "8100",
        "archived_on": "2028-02-15",
        "size_gb": None,
        "bytes": int(2.3 * 1024**3),
    }
    archive = _archive(row)
    assert archive == Archive("8100", 3, date(2028, 2, 15))
    ten = one("8100", (date(2026, 12, 1), doc(retention_years=10)), archives=[archive])
    lines = bill(ten, "2028Q1")
    assert [(ln.code, ln.quantity, ln.amount, ln.period_start) for ln in lines] == [
        ("ARCHIVE-GB", 4, D(204), date(2028, 2, 1))
    ]
    assert lines[0].service == "Bewaren groot projectarchief (per extra GB)"
    five = one("8100", (date(2026, 12, 1), doc()), archives=[archive])
    assert total(bill(five, "2028Q1")) == D(102)
    small = one("8100", (date(2026, 12, 1), doc()), archives=[Archive("8100", 1, date(2028, 2, 1))])
    assert bill(small, "2028Q1") == []  # up to 1 GB is free


def _moved() -> dict:
    """8111 of Erasmus takes 8110 over from 2027-05-01; avries continues (holds a token)."""
    return doc(
        8111,
        institution={"name": EUR, "authorization_until": date(2028, 12, 31)},
        start=date(2027, 5, 1),
        researchers=[person("avries", employer=EUR, existing_token=True)],
    )


def test_move_on_1_may_to_a_new_project() -> None:
    """8110 (Utrecht) moves to 8111 (Erasmus) on 2027-05-01 (issue 12: a new contract with
    ``moves_from``). Q2:
      Utrecht, 8110: Apr 19 + 147                                                   =  166
      Erasmus, 8111: May MOVE 663 (instead of START 1955 + START-SUBJECT 196; avries holds
                     a token: free) + 166; Jun 166                                   =  995
    8110's lines from May on are gone (its contract still says until December)."""
    new = dict(stored(_moved()), moves_from="8110")  # the key issue 12 adds to contracts
    revisions = {
        "8110": history((date(2026, 12, 1), doc(8110))),
        "8111": [AppliedRevision(date(2027, 4, 1), new)],
    }
    events = events_from_contracts(revisions)
    assert events == [
        FeeEvent("move", "8110", date(2027, 5, 1), institution=EUR, to_project="8111")
    ]
    q2 = bill(BillingInput(revisions, events=events), "2027Q2")
    by_institution = {i: total([ln for ln in q2 if ln.institution == i]) for i in (UU, EUR)}
    assert by_institution == {UU: D(166), EUR: D(995)}
    assert {ln.project for ln in q2 if ln.institution == UU} == {"8110"}
    assert amounts([ln for ln in q2 if ln.project == "8111"])[("2027-05", "MOVE")] == D(663)
    assert not [ln for ln in q2 if ln.code in ("START", "START-SUBJECT")]


def test_move_on_1_may_within_one_project() -> None:
    """The same project carries on at Erasmus from 2027-05-01 (an event without a new
    contract). Q2: Utrecht Apr 166; Erasmus May 663 + 166, Jun 166 = 995. Q1 all Utrecht."""
    event = FeeEvent("move", "8100", date(2027, 5, 1), institution=EUR)
    inp = one("8100", (date(2026, 12, 1), doc()), events=[event])
    q2 = bill(inp, "2027Q2")
    assert [(ln.institution, f"{ln.period_start:%m}") for ln in q2 if ln.code == "MOVE"] == [
        (EUR, "05")
    ]
    assert total([ln for ln in q2 if ln.institution == UU]) == D(166)
    assert total([ln for ln in q2 if ln.institution == EUR]) == D(995)
    assert {ln.institution for ln in bill(inp, "2027Q1")} == {UU}


def test_reopen_from_the_archive_and_before_it() -> None:
    """8120 ran 2027 (ended 2027-12-31). 8121 reopens it from 2028-03-01 (Mar..Jun 2028).

    Archived 2028-01-20 (before the reopen): 8121's Mar pays REOPEN 663 instead of START 1955
    + START-SUBJECT 196; avries is new in 8121 (407) + support 166: Mar 1236, Apr-Jun 3 x 166.
    Not archived yet: no reopen fee, and 8120 pays the dormant fee for the months between
    its end and the reopen (Jan, Feb 2028: 2 x 82 = 164); 8121's Mar 407 + 166 = 573.
    """
    old = doc(8120)
    new = dict(stored(doc(8121, start=date(2028, 3, 1), end=date(2028, 6, 30))), reopens="8120")
    revisions = {
        "8120": history((date(2026, 12, 1), old)),
        "8121": [AppliedRevision(date(2028, 2, 1), new)],
    }
    events = events_from_contracts(revisions)
    archived = BillingInput(
        revisions, archives=[Archive("8120", 1, date(2028, 1, 20))], events=events
    )
    q1 = bill(archived, "2028Q1")
    assert amounts(q1) == {
        ("2028-03", "REOPEN"): D(663),
        ("2028-03", "RESEARCHER-NEW"): D(407),
        ("2028-03", "SUPPORT-SUBJECT"): D(19),
        ("2028-03", "SUPPORT-RESEARCHER"): D(147),
    }
    not_archived = BillingInput(revisions, events=events)
    q1 = bill(not_archived, "2028Q1")
    assert amounts([ln for ln in q1 if ln.project == "8120"]) == {
        ("2028-01", "SUSPENSION"): D(82),
        ("2028-02", "SUSPENSION"): D(82),
    }
    assert total([ln for ln in q1 if ln.project == "8121"]) == D(573)


def test_correction_after_an_issued_quarter() -> None:
    """Q1 issued from revision 1 (3056). Revision 2, applied 2027-04-10, adds cbakker from
    2027-02-01 (holds a token: free), i.e. it changes issued months.

    Q2 (open): own lines Apr, May, Jun 3 x (19 + 2 x 147 = 313)                   =  939
               corrections: Feb SUPPORT-RESEARCHER +1 x 147, Mar +1 x 147          =  294
               939 + 294                                                           = 1233
    Q1 stays as issued: 3056. Once Q2 is issued, Q3 has no corrections: 3 x 313 = 939.
    """
    rev1 = doc()
    rev2 = copy.deepcopy(doc())
    rev2["researchers"].append(person("cbakker", existing_token=True, **{"from": date(2027, 2, 1)}))
    before = one("8100", (date(2026, 12, 1), rev1))
    issued_q1 = bill(before, "2027Q1")
    assert total(issued_q1) == D(3056)
    after = one("8100", (date(2026, 12, 1), rev1), (date(2027, 4, 10), rev2))
    q2 = bill(after, "2027Q2", issued_q1, ("2027Q1",))
    corrections = [ln for ln in q2 if ln.correction]
    assert [(ln.period_start, ln.code, ln.quantity, ln.amount) for ln in corrections] == [
        (date(2027, 2, 1), "SUPPORT-RESEARCHER", 1, D(147)),
        (date(2027, 3, 1), "SUPPORT-RESEARCHER", 1, D(147)),
    ]
    assert total(q2) == D(1233)
    q3 = bill(after, "2027Q3", issued_q1 + q2, ("2027Q1", "2027Q2"))
    assert total(q3) == D(939) and not [ln for ln in q3 if ln.correction]
    # Without the issue of Q1, the same change is simply part of Q1 (no corrections).
    assert total(bill(after, "2027Q1")) == D(3056 + 294)


def test_negative_correction_when_a_revision_takes_months_back() -> None:
    """Q1 issued with bjansen Jan..Dec (Mar: 2 x 147). A revision applied 2027-04-02 says
    his last day was 2027-02-28 (a hand-made stored revision: the min-months rule would
    refuse it as a contract; billing takes what was applied).
    Q2 corrections: Mar SUPPORT-RESEARCHER -1 x 147 = -147."""
    rev1 = doc(researchers=[person("avries"), person("bjansen", existing_token=True)])
    rev2 = copy.deepcopy(rev1)
    rev2["researchers"][1]["until"] = date(2027, 3, 31)
    stored2 = stored(rev2)
    stored2["researchers"][1]["end"] = "2027-02-28"  # past the min-months rule: billing only
    first = history((date(2026, 12, 1), rev1))
    issued_q1 = bill(BillingInput({"8100": first}), "2027Q1")
    later = BillingInput({"8100": [*first, AppliedRevision(date(2027, 4, 2), stored2)]})
    corrections = [ln for ln in bill(later, "2027Q2", issued_q1, ("2027Q1",)) if ln.correction]
    assert [(ln.period_start, ln.code, ln.quantity, ln.amount) for ln in corrections] == [
        (date(2027, 3, 1), "SUPPORT-RESEARCHER", -1, D(-147))
    ]


def test_minimum_months_survive_an_early_removal() -> None:
    """1TB from Feb (at least 6 months: Feb..Jul) dropped by a revision applied 2027-03-15:
    still billed Feb..Jul, 6 x 128 = 768. MPLUS from Feb (min 3) dropped in Feb: Feb..Apr."""
    extra = {"extra": [{"size": "1TB", "from": date(2027, 2, 1), "until": date(2027, 12, 31)}]}
    mplus = [{"package": "MPLUS", "from": date(2027, 2, 1), "until": date(2027, 12, 31)}]
    inp = one(
        "8100",
        (date(2026, 12, 1), doc(storage=extra, software=mplus)),
        (date(2027, 2, 20), doc(storage=extra)),
        (date(2027, 3, 15), doc()),
    )
    owed = [ln for q in ("2027Q1", "2027Q2", "2027Q3") for ln in bill(inp, q)]
    storage = [ln.period_start.month for ln in owed if ln.code == "STORAGE-1TB"]
    assert storage == [2, 3, 4, 5, 6, 7]
    assert min_until(date(2027, 2, 1), 6) == date(2027, 7, 31)
    assert [ln.period_start.month for ln in owed if ln.code == "SOFTWARE-MPLUS"] == [2, 3, 4]


def test_a_changed_tariff_is_not_retroactive() -> None:
    """Q1 issued at 147 per researcher-month. The policy's tariff becomes 150, and a revision
    applied 2027-04-10 adds cbakker from 2027-03-01 (token held).
    Q2: own lines at the new tariff: 3 x (19 + 2 x 150 = 319)                       =  957
        the March correction at the price March was issued with: +1 x 147          =  147
        no correction for Jan..Mar's other lines (their price changed, not what happened)
        957 + 147                                                                    = 1104
    """
    dearer = replace(POLICY, tariffs=replace(POLICY.tariffs, support_researcher_monthly=D(150)))
    rev2 = copy.deepcopy(doc())
    rev2["researchers"].append(person("cbakker", existing_token=True, **{"from": date(2027, 3, 1)}))
    issued_q1 = bill(one("8100", (date(2026, 12, 1), doc())), "2027Q1")
    after = one("8100", (date(2026, 12, 1), doc()), (date(2027, 4, 10), rev2))
    q2 = bill(after, "2027Q2", issued_q1, ("2027Q1",), policy=dearer)
    assert [
        (ln.period_start, ln.code, ln.quantity, ln.unit_price) for ln in q2 if ln.correction
    ] == [(date(2027, 3, 1), "SUPPORT-RESEARCHER", 1, D(147))]
    assert total(q2) == D(1104)


def test_a_running_seat_moved_is_not_billed_twice() -> None:
    """SAS Mar..May 2027; a revision applied 2027-04-05 says Apr..May. March was in force
    and is billed; April and May once: 3 x 571 = 1713 (not 5 x 571)."""
    sas = [{"package": "SAS", "from": date(2027, 3, 1), "until": date(2027, 5, 31)}]
    later = [{"package": "SAS", "from": date(2027, 4, 1), "until": date(2027, 5, 31)}]
    inp = one(
        "8100", (date(2026, 12, 1), doc(software=sas)), (date(2027, 4, 5), doc(software=later))
    )
    owed = bill(inp, "2027Q1") + bill(inp, "2027Q2")
    assert [ln.period_start.month for ln in owed if ln.code == "SOFTWARE-SAS"] == [3, 4, 5]
    assert total([ln for ln in owed if ln.code == "SOFTWARE-SAS"]) == D(1713)


def test_removed_and_added_again() -> None:
    """bjansen (no token) from the start; removed by a revision applied 2027-03-10 (billed
    to March), back from 2027-06-01 by one applied 2027-05-20, now holding a token (free).
    His support: Jan..Mar and Jun..Dec = 10 x 147 = 1470; his fees: Jan 407 only."""
    both = [person("avries"), person("bjansen")]
    back = [person("avries"), person("bjansen", existing_token=True, **{"from": date(2027, 6, 1)})]
    inp = one(
        "8100",
        (date(2026, 12, 1), doc(researchers=both)),
        (date(2027, 3, 10), doc()),
        (date(2027, 5, 20), doc(researchers=back)),
    )
    lines = [ln for q in (1, 2, 3, 4) for ln in bill(inp, f"2027Q{q}")]
    two = [
        ln.period_start.month
        for ln in lines
        if ln.code == "SUPPORT-RESEARCHER" and ln.quantity == 2
    ]
    assert two == [1, 2, 3, 6, 7, 8, 9, 10, 11, 12]
    assert [
        (ln.period_start.month, ln.quantity) for ln in lines if ln.code == "RESEARCHER-NEW"
    ] == [(1, 2)]
