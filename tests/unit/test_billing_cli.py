"""`tre bill` against a real SQLite state store, revisions saved through the store's API as
`tre apply` saves them (a run with its --today, then the revision)."""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import re
import sqlite3
from datetime import date

import pytest
from click.testing import CliRunner

from provisioning.billing import line_dict, lines_sha256
from provisioning.billing.invoice import line_from_dict
from provisioning.cli import cli
from provisioning.desired import revision_of
from provisioning.state import StateStore
from tests.unit.billing_support import doc, load, person

UVA = "Universiteit van Amsterdam, Faculteit Economie en Bedrijfskunde"
KEYS = {
    "institution",
    "project",
    "service",
    "code",
    "quantity",
    "unit_price",
    "amount",
    "period_start",
    "period_end",
}


def save(store: StateStore, document: dict, today: str, run_id: str) -> None:
    c = load(document)
    store.start_run(run_id, "tester", "apply", today, [c.project])
    summary = {"project": c.project, "title": c.title, "start": str(c.start), "end": str(c.end)}
    store.save_revision(summary, revision_of(c), run_id, "c.yaml", dataclasses.asdict(c))
    store.finish_run(run_id, "successful", None)


def uva() -> dict:
    return doc(
        8101,
        institution={"name": UVA, "authorization_until": date(2028, 12, 31)},
        researchers=[person("avries", employer=UVA)],
    )


@pytest.fixture
def state(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    store = StateStore(url)
    save(store, doc(), "2026-12-01", "r1")
    save(store, uva(), "2026-12-01", "r2")
    store.close()
    return url


def tre(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_json_lines(state) -> None:
    """Both projects' Q1 is 3056 (Jan 2724 + 2 x 166, see test_billing_cases)."""
    r = tre("bill", "2027Q1", "--json", "--state", state)
    assert r.exit_code == 0, r.output
    lines = json.loads(r.stdout)
    assert lines and all(set(ln) >= KEYS for ln in lines)
    assert all(
        re.fullmatch(r"-?\d+\.\d\d", ln[k]) for ln in lines for k in ("amount", "unit_price")
    )
    per = {}
    for ln in lines:
        per[ln["institution"]] = per.get(ln["institution"], 0) + float(ln["amount"])
    assert per == {"Universiteit Utrecht": 3056.0, UVA: 3056.0}
    first = next(ln for ln in lines if ln["code"] == "START")
    assert first["service"] == "Opstarten nieuw onderzoeksproject: basis opstartkosten"
    assert (first["period_start"], first["period_end"]) == ("2027-01-01", "2027-01-31")
    only = json.loads(
        tre("bill", "2027q1", "--json", "--institution", UVA.upper(), "--state", state).stdout
    )
    assert {ln["project"] for ln in only} == {"8101"}


def test_csv_parses_back(state) -> None:
    """One header row, one row per line, the institution's comma quoted, amounts with a dot."""
    as_json = json.loads(tre("bill", "2027Q1", "--json", "--state", state).stdout)
    r = tre("bill", "2027Q1", "--csv", "--state", state)
    assert r.exit_code == 0
    assert f'"{UVA}"' in r.stdout
    rows = list(csv.reader(io.StringIO(r.stdout)))
    header, body = rows[0], rows[1:]
    assert set(header) >= KEYS
    assert len(body) == len(as_json)
    parsed = [dict(zip(header, row, strict=True)) for row in body]
    assert [(p["institution"], p["code"], p["amount"]) for p in parsed] == [
        (j["institution"], j["code"], j["amount"]) for j in as_json
    ]
    assert all(re.fullmatch(r"-?\d+\.\d\d", p["amount"]) for p in parsed)


def test_text_output(state) -> None:
    out = tre("bill", "2027Q1", "--state", state).stdout
    assert "open: a preview, not issued" in out
    assert UVA in out and "Total EUR 6112.00" in out


@pytest.mark.parametrize("quarter", ["2027Q5", "2027", "27Q1", "Q1 2027", "2027Q1x"])
def test_bad_quarter_is_one_line_exit_2(state, quarter) -> None:
    r = tre("bill", quarter, "--state", state)
    assert r.exit_code == 2
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "not a quarter" in errors[0]
    assert "Traceback" not in r.output


def test_json_and_csv_together_is_usage(state) -> None:
    assert tre("bill", "2027Q1", "--json", "--csv", "--state", state).exit_code == 2


def test_issue_is_for_the_whole_quarter(state) -> None:
    r = tre(
        "bill", "2027Q1", "--issue", "--institution", UVA, "--today", "2027-04-01", "--state", state
    )
    assert r.exit_code == 2 and "leave out --institution" in r.stderr
    assert StateStore(state).issued_invoices() == {}


def test_issue_is_final_and_later_changes_are_corrected(state, tmp_path) -> None:
    """Q1 issued on 2027-04-01 (not before its end). A revision applied 2027-04-10 adds
    cbakker to 8100 from 2027-02-01 (token held): Q1 stays as issued; Q2 gets corrections
    Feb +147 and Mar +147 (test_billing_cases.test_correction_after_an_issued_quarter)."""
    early = tre("bill", "2027Q1", "--issue", "--today", "2027-03-31", "--state", state)
    assert early.exit_code == 1
    assert early.stderr.count("\n") == 1 and "ends on 2027-03-31" in early.stderr
    before = json.loads(tre("bill", "2027Q1", "--json", "--state", state).stdout)
    done = tre("bill", "2027Q1", "--issue", "--json", "--today", "2027-04-01", "--state", state)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == before
    store = StateStore(state)
    record = store.issued_invoices()["2027Q1"]
    assert record["detail"]["sha256"] == lines_sha256([line_from_dict(ln) for ln in before])
    assert record["detail"]["lines"] == len(before) and record["detail"]["total"] == "6112.00"
    again = tre("bill", "2027Q1", "--issue", "--today", "2027-04-02", "--state", state)
    assert again.exit_code == 1
    assert again.stderr.count("\n") == 1 and "issued quarters are final" in again.stderr

    changed = copy.deepcopy(doc())
    changed["researchers"].append(
        person("cbakker", existing_token=True, **{"from": date(2027, 2, 1)})
    )
    save(store, changed, "2027-04-10", "r3")
    assert json.loads(tre("bill", "2027Q1", "--json", "--state", state).stdout) == before
    q2 = json.loads(tre("bill", "2027Q2", "--json", "--state", state).stdout)
    corrections = [ln for ln in q2 if ln["correction"]]
    assert [(c["project"], c["period_start"], c["code"], c["amount"]) for c in corrections] == [
        ("8100", "2027-02-01", "SUPPORT-RESEARCHER", "147.00"),
        ("8100", "2027-03-01", "SUPPORT-RESEARCHER", "147.00"),
    ]
    text = tre("bill", "2027Q1", "--state", state).stdout
    assert "issued 20" in text and record["detail"]["sha256"] in text

    db = sqlite3.connect(tmp_path / "state.db")
    with pytest.raises(sqlite3.DatabaseError, match="final"):
        db.execute("UPDATE invoice_lines SET amount = '0.00'")
    with pytest.raises(sqlite3.DatabaseError, match="final"):
        db.execute("DELETE FROM invoice_lines")
    store.close()


def test_tampered_issued_lines_are_refused(state, tmp_path) -> None:
    assert (
        tre("bill", "2027Q1", "--issue", "--today", "2027-04-01", "--state", state).exit_code == 0
    )
    db = sqlite3.connect(tmp_path / "state.db")
    db.execute("DROP TRIGGER invoice_lines_no_update")
    db.execute("UPDATE invoice_lines SET quantity = 2 WHERE code = 'START'")
    db.commit()
    r = tre("bill", "2027Q1", "--state", state)
    assert r.exit_code == 1 and "no longer match the SHA-256" in r.stderr


def test_usage_and_archives_from_the_store(state, tmp_path) -> None:
    """Over-quota recorded once per period (a second record of 2027-02 is refused); the
    archive (2.3 GB by bytes, size_gb empty, 5 years): (3 - 1) x 51 = 102 in 2028Q1."""
    store = StateStore(state)
    assert store.record_billable("8100", "extra_storage", "2027-02", 1, {"used": "151GB"})
    assert not store.record_billable("8100", "extra_storage", "2027-02", 5, {"used": "400GB"})
    assert store.record_billable("8100", "extra_storage", "2027-03", 2, {"step": "50GB"})
    assert [u["quantity"] for u in store.billable_usage(kind="extra_storage", project="8100")] == [
        1,
        2,
    ]
    assert store.billable_usage(kind="other") == []
    db = sqlite3.connect(tmp_path / "state.db")
    db.execute(
        "INSERT INTO archives (project, status, location, bytes, archived_on, run_id, updated)"
        " VALUES ('8100', 'archived', '/srv/tre/archive/P8100', ?, '2028-02-15', 'r9', 'now')",
        (int(2.3 * 1024**3),),
    )
    db.commit()
    assert store.archive("8100")["archived_on"] == "2028-02-15"
    assert [a["project"] for a in store.archives()] == ["8100"]
    q1 = json.loads(tre("bill", "2027Q1", "--json", "--state", state).stdout)
    measured = [
        (ln["period_start"], ln["quantity"]) for ln in q1 if ln["code"].endswith("MEASURED")
    ]
    assert measured == [("2027-02-01", 1), ("2027-03-01", 2)]
    q = json.loads(tre("bill", "2028Q1", "--json", "--state", state).stdout)
    assert [(ln["project"], ln["code"], ln["quantity"], ln["amount"]) for ln in q] == [
        ("8100", "ARCHIVE-GB", 2, "102.00")
    ]
    store.close()


def test_line_dict_round_trip(state) -> None:
    lines = json.loads(tre("bill", "2027Q1", "--json", "--state", state).stdout)
    assert [line_dict(line_from_dict(ln)) for ln in lines] == lines


def test_no_store_is_one_line_and_creates_nothing(tmp_path) -> None:
    r = tre("bill", "2027Q1", "--state", f"sqlite:///{tmp_path}/none.db")
    assert r.exit_code == 1
    assert r.stderr == f"Error: no state store at {tmp_path}/none.db: nothing was applied yet\n"
    assert not (tmp_path / "none.db").exists()


def test_a_stored_revision_that_is_no_contract_is_one_line(state) -> None:
    store = StateStore(state)
    store.save_revision({"project": "7665"}, "aaa", "r0", "7665.yaml", {"title": "x"})
    store.close()
    r = tre("bill", "2027Q1", "--state", state)
    assert r.exit_code == 1
    assert (
        r.stderr
        == "Error: project 7665: an applied revision cannot be billed (KeyError: 'start')\n"
    )
