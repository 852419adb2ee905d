"""Moves and transfers between projects (provisioning/project_links.py): the checks that need
the other project, one line each with rule id and path, and what the desired state makes of
a move and a transfer."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from provisioning.contract import load_contract
from provisioning.contract.model import Institution, SoftwareSeat, Transfer
from provisioning.desired import build_desired_state
from provisioning.policy import load_policy
from provisioning.project_links import link_desired, link_problems, moved_to

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
POLICY = load_policy()


@pytest.fixture(scope="module")
def old():
    """7311: Universiteit Utrecht, 2026-02-01..2027-01-31, reads two subjects."""
    c = load_contract(EXAMPLES / "9001-small.yaml", POLICY)
    return dataclasses.replace(c, project="7311")


@pytest.fixture(scope="module")
def new():
    """7315: Erasmus Universiteit Rotterdam, from 2026-03-01; 7311 moves here."""
    c = load_contract(EXAMPLES / "9002-typical.yaml", POLICY)
    return dataclasses.replace(c, project="7315", moves_from="7311")


def _lines(problems) -> list[str]:
    return [p.line() for p in problems]


def test_a_move_to_another_institution_is_fine(old, new):
    assert link_problems([old, new], {}, set()) == []


def test_the_old_project_must_be_in_the_run(old, new):
    stored = {"7311": dataclasses.asdict(old)}
    (only_stored,) = _lines(link_problems([new], stored, set()))
    assert only_stored.startswith("project 7315: moves_from: project 7311 is only in the state")
    assert only_stored.endswith("[moves-from-project]")
    (unknown,) = _lines(link_problems([new], {}, set()))
    assert "project 7311 is not known" in unknown and "\n" not in unknown


def test_a_move_within_one_institution_is_refused(old, new):
    same = dataclasses.replace(
        new, institution=Institution(" universiteit  UTRECHT", date(2029, 1, 1))
    )
    (line,) = _lines(link_problems([old, same], {}, set()))
    assert "moves_from: project 7311 is of the same institution" in line
    assert line.endswith("[moves-from-institution]")


def test_an_ended_or_archived_project_is_not_moved(old, new):
    ended = dataclasses.replace(old, end=date(2026, 2, 28))
    (line,) = _lines(link_problems([ended, new], {}, set()))
    assert "project 7311 ends on 2026-02-28, before this contract's start 2026-03-01" in line
    assert line.endswith("[moves-from-ended]")
    (archived,) = _lines(link_problems([old, new], {}, {"7311"}))
    assert "project 7311 was archived" in archived and "[moves-from-ended]" in archived


def test_a_project_moves_once(old, new):
    other = dataclasses.asdict(dataclasses.replace(new, project="7316"))
    (line,) = _lines(link_problems([old, new], {"7316": other}, set()))
    assert "project 7311 is already moved by project 7316" in line
    assert line.endswith("[moves-from-twice]")
    # the new contract's own earlier revision is no second move
    assert link_problems([old, new], {"7315": dataclasses.asdict(new)}, set()) == []


def test_transfer_source_known_and_active_on_from(old, new):
    receiving = dataclasses.replace(
        new,
        moves_from=None,
        transfers=(
            Transfer("7311", date(2026, 9, 1)),  # active then: fine
            Transfer("7399", date(2026, 9, 1)),  # unknown
            Transfer("7312", date(2026, 4, 1)),  # ended by then
        ),
    )
    ended = dataclasses.asdict(dataclasses.replace(old, project="7312", end=date(2026, 3, 31)))
    lines = _lines(link_problems([old, receiving], {"7312": ended}, set()))
    assert lines == [
        "project 7315: transfers[1].from_project: project 7399 is neither in this run nor in"
        " the state store [transfer-project]",
        "project 7315: transfers[2].from: project 7312 is ended on 2026-04-01; files are"
        " transferred from an active project [transfer-source-active]",
    ]


def test_transfer_from_a_moved_project_is_refused(old, new):
    third = dataclasses.replace(
        new, project="7317", moves_from=None, transfers=(Transfer("7311", date(2026, 9, 1)),)
    )
    (line,) = _lines(link_problems([old, new, third], {}, set()))
    assert "transfers[0].from: project 7311 is moved on 2026-09-01" in line


def _entries(desired):
    return {p["project"]: p for p in desired["projects"]}


def test_desired_before_and_from_the_move(old, new):
    seat = SoftwareSeat("MLWIN", date(2026, 2, 1), old.end)
    old = dataclasses.replace(old, software=(seat,))
    early = date(2026, 2, 15)
    before = link_desired(build_desired_state([old, new], POLICY, early), [old, new], early)
    assert _entries(before)["7311"]["status"] == "active"
    assert "moves_from" not in _entries(before)["7315"]
    assert "p7311.jdevries" in before["software"]["MLWIN"]["members"]
    assert "7311" in before["subjects"]["GBAPERSOONTAB"]["projects"]
    day = date(2026, 3, 1)
    desired = link_desired(build_desired_state([old, new], POLICY, day), [old, new], day)
    moved, target = _entries(desired)["7311"], _entries(desired)["7315"]
    assert (moved["status"], moved["moved_to"]) == ("moved", "7315")
    assert not any(a["enabled"] for a in moved["accounts"])
    assert moved["storage"]["file_subjects"] == []
    assert all("7311" not in s["projects"] for s in desired["subjects"].values())
    sams = {a["sam"] for a in moved["accounts"]}
    members = [m for sw in desired["software"].values() for m in sw["members"]]
    members += desired["heavy_desktop"]["members"]
    assert not sams & set(members)
    assert target["moves_from"] == "7311" and target["status"] == "active"


def test_a_moved_project_stays_moved_after_its_own_end(old, new):
    day = date(2027, 3, 1)  # 7311's contract ended 2027-01-31: moved, never "ended"
    desired = link_desired(build_desired_state([old, new], POLICY, day), [old, new], day)
    assert _entries(desired)["7311"]["status"] == "moved"


def test_desired_transfers_from_their_day_with_what_was_done(old, new):
    receiving = dataclasses.replace(
        new, moves_from=None, transfers=(Transfer("7311", date(2026, 9, 1)),)
    )
    contracts = [old, receiving]
    early = date(2026, 8, 31)
    desired = link_desired(build_desired_state(contracts, POLICY, early), contracts, early)
    assert "transfers" not in _entries(desired)["7315"]
    day = date(2026, 9, 1)
    done = {"7315": {"7311": ["b.csv", "a.csv"]}}
    desired = link_desired(build_desired_state(contracts, POLICY, day), contracts, day, done)
    assert _entries(desired)["7315"]["transfers"] == [
        {"from_project": "7311", "from": "2026-09-01", "done": ["a.csv", "b.csv"]}
    ]


def test_moved_to_from_the_applied_contracts(new):
    applied = {"7315": dataclasses.asdict(new)}
    assert moved_to(applied, "7311", date(2026, 2, 28)) is None
    assert moved_to(applied, "7311", date(2026, 3, 1)) == ("7315", "2026-03-01")


def test_a_moved_project_is_applied_only_with_its_new_project(old, new):
    applied = {"7315": dataclasses.asdict(new), "7311": dataclasses.asdict(old)}
    (line,) = _lines(link_problems([old], applied, set(), date(2026, 3, 1)))
    assert line == (
        "project 7311: moved to 7315 on 2026-03-01: apply its contract together with 7315's"
        " [moves-from-project]"
    )
    assert link_problems([old], applied, set(), date(2026, 2, 28)) == []  # not yet moved
    assert link_problems([old, new], applied, set(), date(2026, 3, 1)) == []
