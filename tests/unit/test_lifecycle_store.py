"""Lifecycle against the state store: a late extension refused in one line unless forced (the
ledger says it was forced), and `tre project list/show` with the status and its dates."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioning.cli import cli
from provisioning.contract import load_contract
from provisioning.contract.model import Suspension
from provisioning.errors import RevisionError
from provisioning.orchestrate import _save_revisions, prepare
from provisioning.policy import load_policy
from provisioning.state import StateStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
POLICY = load_policy()


@pytest.fixture
def contract():
    """9002 (2026-03-01..2028-02-29) suspended April-June 2027."""
    c = load_contract(EXAMPLES / "9002-typical.yaml", POLICY)
    return dataclasses.replace(c, suspensions=(Suspension(date(2027, 4, 1), date(2027, 6, 30)),))


@pytest.fixture
def store(state_url, contract):
    s = StateStore(state_url)  # both back ends (tests/state_fixtures.py)
    _save_revisions(prepare([contract], POLICY, date(2027, 4, 15), s), s, "r0")
    return s


def _extended(c, end: date):
    return dataclasses.replace(c, end=end)


def test_late_extension_is_refused_in_one_line(store, contract):
    """Current end Tue 2028-02-29; 5 working days before it is Tue 2028-02-22."""
    with pytest.raises(RevisionError) as e:
        prepare([_extended(contract, date(2028, 12, 31))], POLICY, date(2028, 2, 23), store)
    (problem,) = e.value.problems
    assert problem.rule == "extension-notice" and "\n" not in problem.line()
    assert not [x for x in store.ledger("9002") if x.op == "force"]


def test_forced_late_extension_is_in_the_ledger(store, contract):
    later = _extended(contract, date(2028, 12, 31))
    prepared = prepare([later], POLICY, date(2028, 2, 23), store, force=True)
    assert [p.rule for p in prepared.forced] == ["extension-notice"]
    _save_revisions(prepared, store, "r1")
    (forced,) = [x for x in store.ledger("9002") if x.op == "force"]
    assert (forced.kind, forced.name, forced.run_id) == ("revision", "extension-notice", "r1")
    assert "2028-12-31" in forced.detail["message"]
    assert store.project("9002")["end"] == "2028-12-31"
    # the extension is now the applied end: the next apply has nothing to force
    assert prepare([later], POLICY, date(2028, 2, 24), store).forced == ()


def test_extension_in_time_needs_no_force(store, contract):
    later = _extended(contract, date(2028, 12, 31))
    assert prepare([later], POLICY, date(2028, 2, 22), store).forced == ()


def test_store_keeps_the_status_of_the_apply(store):
    row = store.project("9002")
    assert (row["status"], row["status_on"]) == ("suspended", "2027-04-15")


def tre(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    ("today", "status", "since", "until"),
    [
        ("2026-01-15", "planned", None, "2026-02-28"),
        ("2026-12-01", "active", "2026-03-01", "2027-03-31"),
        ("2027-05-31", "suspended", "2027-04-01", "2027-06-30"),
        ("2027-07-01", "active", "2027-07-01", "2028-02-29"),
        ("2028-03-01", "ended", "2028-03-01", None),
    ],
)
def test_project_list_shows_the_status_on_today(store, today, status, since, until):
    url = store.url
    rows = json.loads(tre("project", "list", "--state", url, "--today", today, "--json").output)
    (row,) = rows
    assert (row["status"], row["status_since"], row["status_until"]) == (status, since, until)
    line = tre("project", "list", "--state", url, "--today", today).output
    assert status in line and (since or until) in line


def test_project_show_shows_the_stored_status_with_its_dates(store):
    out = tre("project", "show", "9002", "--state", store.url).output
    assert "status      suspended 2027-04-01 → 2027-06-30 (on 2027-04-15)" in out


def test_a_store_made_before_status_on_is_migrated(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute(
        'CREATE TABLE projects (project TEXT PRIMARY KEY, title TEXT, start TEXT, "end" TEXT,'
        " retention_years INTEGER, status TEXT NOT NULL, ossc_end TEXT,"
        " ossc_destruction_deadline TEXT, updated TEXT NOT NULL)"
    )
    db.execute("INSERT INTO projects VALUES ('1', 't', '2026-01-01', '2026-12-31', 5, 'active',"
               " NULL, NULL, 'x')")  # fmt: skip
    db.commit()
    db.close()
    s = StateStore(f"sqlite:///{path}")
    assert s.project("1")["status_on"] is None
    out = tre("project", "show", "1", "--state", f"sqlite:///{path}").output
    assert "status      active" in out


def test_plan_header_names_a_project_that_is_not_active(capsys, contract):
    from cli.render import render_changes
    from provisioning.desired import build_desired_state

    for day, header in (
        ("2027-04-15", "Project 9002 (suspended):"),
        ("2027-03-15", "Project 9002:"),
    ):
        desired = build_desired_state([contract], POLICY, date.fromisoformat(day))
        render_changes([], [], planned=True, desired=desired)
        assert capsys.readouterr().out.splitlines()[0] == header
