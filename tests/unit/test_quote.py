"""The cost overview against totals worked out by hand from the 2026 tariffs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from provisioning.contract import load_contract
from provisioning.policy import load_policy
from provisioning.quote import quote, quote_as_dict, quote_csv

EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"
POLICY = load_policy()


def _quote(name: str):
    return quote(load_contract(str(EXAMPLES / name), POLICY), POLICY)


def test_small_project_by_hand() -> None:
    """9001: 2026-02-01..2027-01-31 = 12 months, 2 researchers (one holds a token), 2 subjects.

    One-off (Feb 2026):  start 1955 + 2 subjects x 196 = 392 + 1 new researcher 407
                         (+ researcher with token: free)                        = 2754
    Monthly:             2 subjects x 19 = 38 + 2 researchers x 147 = 294       = 332
                         x 12 months                                            = 3984
    Total                2754 + 3984                                            = 6738
    Quarters: 2026-Q1 (Feb, Mar) 2754 + 2 x 332 = 3418; Q2, Q3, Q4 3 x 332 = 996 each;
              2027-Q1 (Jan) 332.   3418 + 3 x 996 + 332 = 6738.
    """
    q = _quote("9001-small.yaml")
    assert q.one_off_total == Decimal(2754)
    assert q.monthly_total == Decimal(3984)
    assert q.total == Decimal(6738)
    assert q.quarters() == [
        ("2026-Q1", Decimal(3418)),
        ("2026-Q2", Decimal(996)),
        ("2026-Q3", Decimal(996)),
        ("2026-Q4", Decimal(996)),
        ("2027-Q1", Decimal(332)),
    ]
    assert all(monthly == 332 for _m, _o, monthly in q.months())


def test_typical_project_by_hand() -> None:
    """9002: 2026-03-01..2028-02-29 = 24 months (Mar 2026 .. Feb 2028).

    One-off:
      Mar 2026  start 1955 + 3 subjects x 196 = 588 + mbakker new 407 (selkaddouri token: free)
                + observer asmit read account, token held 217 (pjansen no account: free) = 3167
      Jun 2026  lnguyen new researcher                                                  =  407
      Sep 2026  INPATAB added 196 + OSSC 2 researchers x 271 = 542                      =  738
      one-off total 3167 + 407 + 738                                                    = 4312
    Monthly:
      subjects     3 x 19 x 24 months = 1368; INPATAB Sep 2026..Feb 2028 18 x 19 = 342 = 1710
      researchers  mbakker, selkaddouri 2 x 24 x 147 = 7056; lnguyen Jun 2026..May 2027
                   12 x 147 = 1764                                                  = 8820
      MPLUS        Mar..May 2026, 3 x 102                                           =  306
      SAS          Oct..Nov 2026, 2 x 571                                           = 1142
      MLWIN        Jan 2027..project end Feb 2028, 14 x 41                          =  574
      50GB         Jun..Aug 2026, 3 x 26                                            =   78
      1TB          Jan..Jun 2027, 6 x 128                                           =  768
      monthly total 1710 + 8820 + 306 + 1142 + 574 + 78 + 768                       = 13398
    Total 4312 + 13398                                                              = 17710
    Quarters:
      2026-Q1 (Mar)   3167 + (102 + 57 + 294 = 453)                                 = 3620
      2026-Q2         Apr 453 + May 453 + Jun (26 + 57 + 441 = 524) + 407           = 1837
      2026-Q3         Jul 524 + Aug 524 + Sep (76 + 441 = 517) + 738                = 2303
      2026-Q4         Oct 1088 + Nov 1088 (517 + SAS 571) + Dec 517                 = 2693
      2027-Q1         3 x (128 + 41 + 76 + 441 = 686)                               = 2058
      2027-Q2         Apr 686 + May 686 + Jun (lnguyen gone: 128 + 41 + 76 + 294)   = 1911
      2027-Q3, Q4     3 x (41 + 76 + 294 = 411)                                     = 1233 each
      2028-Q1 (Jan, Feb)  2 x 411                                                   =  822
    """
    q = _quote("9002-typical.yaml")
    assert q.one_off_total == Decimal(4312)
    assert q.monthly_total == Decimal(13398)
    assert q.total == Decimal(17710)
    assert q.quarters() == [
        ("2026-Q1", Decimal(3620)),
        ("2026-Q2", Decimal(1837)),
        ("2026-Q3", Decimal(2303)),
        ("2026-Q4", Decimal(2693)),
        ("2027-Q1", Decimal(2058)),
        ("2027-Q2", Decimal(1911)),
        ("2027-Q3", Decimal(1233)),
        ("2027-Q4", Decimal(1233)),
        ("2028-Q1", Decimal(822)),
    ]
    assert len(q.months()) == 24


def test_output_formats_agree() -> None:
    q = _quote("9002-typical.yaml")
    d = quote_as_dict(q)
    assert d["total"] == "17710.00" and d["one_off_total"] == "4312.00"
    assert sum(Decimal(x["amount"]) for x in d["lines"]) == q.total
    assert sum(Decimal(x["total"]) for x in d["quarters"]) == q.total
    rows = quote_csv(q).splitlines()
    assert rows[0] == "project,month,period,kind,item,quantity,unit_price,amount"
    assert '9002,2026-09,2026-Q3,one-off,"OSSC use, per researcher",2,271.00,542.00' in rows
    assert all(isinstance(ln.amount, Decimal) and ln.amount != 0 for ln in q.lines)


def test_consortium_quote_is_consistent() -> None:
    q = _quote("9003-consortium.yaml")
    assert len(q.months()) == 36
    assert q.total == q.one_off_total + q.monthly_total
    assert sum(v for _k, v in q.quarters()) == q.total


def _suspended(name: str, *periods: tuple[str, str]):
    import dataclasses
    from datetime import date

    from provisioning.contract.model import Suspension

    c = load_contract(str(EXAMPLES / name), POLICY)
    return dataclasses.replace(
        c,
        suspensions=tuple(
            Suspension(date.fromisoformat(a), date.fromisoformat(b)) for a, b in periods
        ),
    )


def test_suspended_months_pay_the_dormant_fee_instead_of_support() -> None:
    """9002 suspended April-June 2027 (its other numbers: test_typical_project_by_hand).

    Not suspended, those months cost:
      Apr, May 2027  1TB 128 + MLWIN 41 + 4 subjects x 19 = 76 + 3 researchers x 147 = 441
                                                                                    = 686 each
      Jun 2027       1TB 128 + MLWIN 41 + 76 + 2 researchers x 147 = 294 (lnguyen left May)
                                                                                    = 539
    Suspended, support (subjects, researchers) gives way to the dormant fee 82; software and
    extra storage stay billed:
      Apr, May, Jun  128 + 41 + 82                                                  = 251 each
    Support saved    (76 + 441 - 82) x 2 + (76 + 294 - 82) = 870 + 288              = 1158
    Monthly total    13398 - 1158                                                   = 12240
    Total            4312 + 12240                                                   = 16552
    2027-Q2          3 x 251                                                        = 753
    (2027-Q1 and Q3 unchanged: 2058, 1233.)
    """
    q = quote(_suspended("9002-typical.yaml", ("2027-04-01", "2027-06-30")), POLICY)
    assert q.one_off_total == Decimal(4312)
    assert q.monthly_total == Decimal(12240)
    assert q.total == Decimal(16552)
    quarters = dict(q.quarters())
    assert (quarters["2027-Q1"], quarters["2027-Q2"], quarters["2027-Q3"]) == (
        Decimal(2058),
        Decimal(753),
        Decimal(1233),
    )
    april = [ln for ln in q.lines if ln.month.isoformat() == "2027-04-01"]
    assert sorted((ln.item, ln.amount) for ln in april) == [
        ("extra storage 1TB", Decimal(128)),
        ("software MLWIN", Decimal(41)),
        ("suspension (dormant fee)", Decimal(82)),
    ]


def test_two_suspensions_of_the_small_project() -> None:
    """9001 (12 months at 332: 2 subjects x 19 + 2 researchers x 147; no software or storage)
    suspended May 2026 and Oct-Nov 2026: 3 months at the dormant fee 82 instead of 332.

    Monthly  9 x 332 + 3 x 82 = 2988 + 246                                          = 3234
    Total    one-off 2754 + 3234                                                    = 5988
    Quarters 2026-Q2 (Apr 332, May 82, Jun 332) = 746; 2026-Q4 (Oct 82, Nov 82, Dec 332) = 496
    """
    q = quote(
        _suspended("9001-small.yaml", ("2026-05-01", "2026-05-31"), ("2026-10-01", "2026-11-30")),
        POLICY,
    )
    assert q.monthly_total == Decimal(3234)
    assert q.total == Decimal(5988)
    quarters = dict(q.quarters())
    assert quarters["2026-Q2"] == Decimal(746) and quarters["2026-Q4"] == Decimal(496)


def test_a_moved_in_project_pays_the_move_instead_of_the_start_fees() -> None:
    """9001 as a new contract that moves project 7311 here (``moves_from``).

    One-off (Feb 2026):  move 663 (instead of start 1955 and 2 subjects x 196 = 392)
                         + 1 new researcher 407                                 = 1070
    Monthly:             332 x 12 months, as without the move                   = 3984
    Total                1070 + 3984                                            = 5054
    (the plain quote: 6738 = 5054 + 1955 + 392 - 663). Transfers are free: no line.
    """
    import dataclasses

    from provisioning.contract.model import Transfer

    plain = load_contract(str(EXAMPLES / "9001-small.yaml"), POLICY)
    moved = dataclasses.replace(
        plain, moves_from="7311", transfers=(Transfer("7302", plain.start),)
    )
    q = quote(moved, POLICY)
    assert (q.one_off_total, q.monthly_total, q.total) == (
        Decimal("1070.00"),
        Decimal("3984.00"),
        Decimal("5054.00"),
    )
    items = [line.item for line in q.lines]
    assert "project move (from 7311)" in items
    assert "project start (base)" not in items and "file subject at start" not in items
