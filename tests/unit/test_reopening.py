"""Reopen from the archive (provisioning/reopening.py, pure): the rules against the state
store, the desired ``restore`` part and the links ``tre project show/list`` print."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from provisioning.contract import load_contract
from provisioning.policy import load_policy
from provisioning.reopening import (
    add_restores,
    links,
    reopen_problems,
    restore_entry,
    with_links,
)
from provisioning.state import LedgerEntry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
POLICY = load_policy()
OLD = {"start": "2026-02-01", "end": "2027-01-31"}  # 7310, as the store keeps it
ARCHIVED = {"status": "live-removed", "manifest_sha256": "a" * 64, "files": 3, "bytes": 10}
AFTER = date(2027, 6, 1)


@pytest.fixture(scope="module")
def new():
    """7313 reopens 7310: the small example, 2026-02-01..2027-01-31, moved to 2027-07."""
    c = load_contract(EXAMPLES / "9001-small.yaml", POLICY)
    return dataclasses.replace(
        c, project="7313", reopens="7310", start=date(2027, 7, 1), end=date(2027, 12, 31)
    )


def _rules(contracts, applied, archives, today=AFTER):
    return [(p.project, p.rule) for p in reopen_problems(contracts, applied, archives, today)]


def test_an_ended_archived_project_is_reopened(new) -> None:
    assert _rules([new], {"7310": OLD}, {"7310": ARCHIVED}) == []


@pytest.mark.parametrize(
    ("applied", "archives", "today", "rule", "fragment"),
    [
        ({}, {}, AFTER, "reopen-no-archive", "never applied here"),
        ({"7310": OLD}, {"7310": ARCHIVED}, date(2027, 1, 31), "reopen-not-ended", "has not"),
        ({"7310": OLD}, {}, AFTER, "reopen-no-archive", "has no archive"),
        ({"7310": OLD}, {"7310": dict(ARCHIVED, status="verified")}, AFTER, "reopen-no-archive",
         "its archive is verified"),
        ({"7310": OLD}, {"7310": dict(ARCHIVED, status="purged")}, AFTER, "reopen-no-archive",
         "was purged"),
        ({"7310": OLD, "7312": {"start": "2027-03-01", "end": "2027-12-31", "reopens": "7310"}},
         {"7310": ARCHIVED}, AFTER, "reopen-running", "already reopened as 7312"),
    ],
)  # fmt: skip
def test_refused_with_one_line(new, applied, archives, today, rule, fragment) -> None:
    (problem,) = reopen_problems([new], applied, archives, today)
    assert (problem.project, problem.rule) == ("7313", rule)
    assert fragment in problem.message and "\n" not in problem.line()
    assert problem.line().startswith("project 7313: ") and problem.line().endswith(f"[{rule}]")


def test_a_reopen_that_has_ended_allows_the_next(new) -> None:
    earlier = {"start": "2027-02-01", "end": "2027-04-30", "reopens": "7310"}
    assert _rules([new], {"7310": OLD, "7312": earlier}, {"7310": ARCHIVED}) == []


def test_two_new_contracts_reopening_one_project_both_refuse(new) -> None:
    other = dataclasses.replace(new, project="7314")
    got = _rules([new, other], {"7310": OLD}, {"7310": ARCHIVED})
    assert got == [("7313", "reopen-running"), ("7314", "reopen-running")]


def test_reopens_is_fixed_once_applied(new) -> None:
    applied = {"7310": OLD, "7313": {"start": "2026-02-01", "end": "2027-01-31"}}
    assert _rules([new], applied, {"7310": ARCHIVED}) == [("7313", "reopens-fixed")]
    applied["7313"] = dict(applied["7313"], reopens="7310")
    assert _rules([new], applied, {"7310": ARCHIVED}) == []  # unchanged: fine
    plain = dataclasses.replace(new, reopens=None)
    assert _rules([plain], applied, {}) == [("7313", "reopens-fixed")]


def test_restore_entry_names_the_recorded_manifest(new) -> None:
    assert restore_entry(new, ARCHIVED, restored=False) == {
        "from_project": "7310",
        "manifest_sha256": "a" * 64,
        "files": 3,
        "bytes": 10,
    }
    assert restore_entry(new, ARCHIVED, restored=True) is None


class _Store:
    def __init__(self, ledger):
        self._ledger = ledger

    def ledger(self, project):
        return [e for e in self._ledger if e.project == project]

    def archive(self, project):
        return ARCHIVED if project == "7310" else None


def test_add_restores_until_the_ledger_records_it(new) -> None:
    desired = {"projects": [{"project": "7313", "status": "planned"}]}
    add_restores(desired, [new], _Store([]))
    assert desired["projects"][0]["restore"]["from_project"] == "7310"
    done = LedgerEntry("t", "me", "r", "7313", "fs", "restore", "archive", "P7310", {})
    desired = {"projects": [{"project": "7313", "status": "active"}]}
    add_restores(desired, [new], _Store([done]))
    assert "restore" not in desired["projects"][0]
    ended = {"projects": [{"project": "7313", "status": "ended"}]}
    add_restores(ended, [new], _Store([]))
    assert "restore" not in ended["projects"][0]


def test_links_both_ways_and_the_status_from_the_reopen_start() -> None:
    applied = {
        "7310": OLD,
        "7313": {"start": "2027-07-01", "end": "2027-12-31", "reopens": "7310"},
    }
    found = links(applied)
    assert found["7313"] == {"reopens": "7310"}
    assert found["7310"] == {"reopened_as": [{"project": "7313", "start": "2027-07-01"}]}
    row = {"project": "7310", "status": "archived", "status_since": "2027-02-01"}
    before = with_links(row, found["7310"], date(2027, 6, 30))
    assert (before["status"], before["reopened_as"]) == ("archived", ["7313"])
    on = with_links(row, found["7310"], date(2027, 7, 1))
    assert (on["status"], on["status_since"]) == ("reopened as 7313", "2027-07-01")
    m = with_links({"project": "7313", "status": "active"}, found["7313"], date(2027, 7, 1))
    assert (m["status"], m["reopens"]) == ("active", "7310")


def test_show_judges_an_archived_project_on_its_reopeners_last_day() -> None:
    from provisioning.reopening import shown_day

    class Rows:
        def project(self, number):
            return {"status_on": "2027-03-01"} if number == "7313" else None

    link = {"reopened_as": [{"project": "7313", "start": "2027-03-01"}]}
    assert shown_day(Rows(), link, date(2027, 2, 1)) == date(2027, 3, 1)
    assert shown_day(Rows(), None, date(2027, 2, 1)) == date(2027, 2, 1)
    assert shown_day(Rows(), link, date(2027, 5, 1)) == date(2027, 5, 1)
