"""`tre bill` over a project applied in the lab: revisions saved by real applies, each with its
--today, a quarter issued, a later revision correcting it (issue 15)."""

from __future__ import annotations

import datetime

import pytest

from provisioning.state import StateStore
from tests.integration.helpers import (
    clean_project,
    example_contract,
    lab_vars,
    tre,
    tre_json,
    write_contract,
)

pytestmark = pytest.mark.lab

PROJECT = "8100"
KBOS = {
    "id": "kbos",
    "name": "Karin Bos",
    "email": "k.bos@uu.nl",
    "employer": "Universiteit Utrecht",
    "nda_signed": datetime.date(2026, 2, 20),
    "awareness_errors": 1,
    "token": "T-0081001",
    "from": datetime.date(2026, 3, 1),
}


def _money(lines: list[dict]) -> str:
    return f"{sum(float(ln['amount']) for ln in lines):.2f}"


def test_bill_issue_and_correct_from_applied_revisions(lab_inventory, tmp_path):
    """9001-small as 8100 (2026-02-01..2027-01-31): one-off Feb 2754, monthly 332 (2 subjects
    x 19 + 2 researchers x 147). 2026Q1 = 2754 + 2 x 332 = 3418 (the quote's 2026-Q1).

    Issued on 2026-04-02. Revision 2, applied --today 2026-04-10, adds kbos from 2026-03-01
    (no token yet); revision 3, applied --today 2026-05-15, removes him: billed until May.
    2026Q2: Apr 332 + 147 = 479, May 479, Jun 332                                 = 1290
            corrections for March: RESEARCHER-NEW 407 + SUPPORT-RESEARCHER 147    =  554
            1290 + 554                                                            = 1844
    """
    v = lab_vars()
    clean_project(v, PROJECT)
    state = f"sqlite:///{tmp_path}/state.db"
    env = {"TRE_STATE": state, "TRE_HOME": str(tmp_path / "home")}
    path = tmp_path / f"{PROJECT}.yaml"
    base = example_contract("9001-small.yaml", PROJECT)
    write_contract(path, base)
    tre("apply", str(path), "--today", "2026-02-02", "--yes", env=env)

    q1 = tre_json("bill", "2026Q1", env=env)
    assert _money(q1) == "3418.00"
    assert {ln["institution"] for ln in q1} == {"Universiteit Utrecht"}
    issued = tre("bill", "2026Q1", "--issue", "--today", "2026-04-02", env=env)
    assert "2026Q1 issued: " in issued.stderr

    write_contract(path, dict(base, researchers=[*base["researchers"], KBOS]))
    tre("apply", str(path), "--today", "2026-04-10", "--yes", env=env)
    write_contract(path, base)
    tre("apply", str(path), "--today", "2026-05-15", "--yes", env=env)

    store = StateStore(state)
    days = [r["applied_on"] for r in store.revision_history(PROJECT)]
    assert days == ["2026-02-02", "2026-04-10", "2026-05-15"]  # the applies' --today
    record = store.issued_invoices()["2026Q1"]
    store.close()

    assert tre_json("bill", "2026Q1", env=env) == q1  # issued: final
    q2 = tre_json("bill", "2026Q2", env=env)
    corrections = [(c["period_start"], c["code"], c["amount"]) for c in q2 if c["correction"]]
    assert corrections == [
        ("2026-03-01", "RESEARCHER-NEW", "407.00"),
        ("2026-03-01", "SUPPORT-RESEARCHER", "147.00"),
    ]
    support = {
        ln["period_start"]: ln["quantity"] for ln in q2 if ln["code"] == "SUPPORT-RESEARCHER"
    }
    assert support == {"2026-03-01": 1, "2026-04-01": 3, "2026-05-01": 3, "2026-06-01": 2}
    assert _money(q2) == "1844.00"
    again = tre("bill", "2026Q1", "--issue", "--today", "2026-07-01", env=env, check=False)
    assert again.returncode == 1 and "issued quarters are final" in again.stderr
    assert record["detail"]["total"] == "3418.00"
    clean_project(v, PROJECT)
