"""`tre project list/show` (issue 9, item 16): partially applied projects are listed, and
`show` names the seat pools a project holds seats of, warning when one is over capacity."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from provisioning.cli import cli
from provisioning.state import LedgerEntry, StateStore

SUMMARY = {"project": "7665", "title": "Applied", "start": "2026-02-01", "end": "2027-01-31"}


def members(project: str, op: str, names: list[str], group: str = "SW-SAS") -> LedgerEntry:
    side = "after" if op == "add_members" else "before"
    detail = {"dn": f"CN={group},OU=Software", side: {"member": names}}
    return LedgerEntry(
        "2026-12-01T10:00:00+00:00", "root", "r1", project, "dc", op, "group", group, detail
    )


@pytest.fixture
def store_url(state_url):
    """On both back ends (tests/state_fixtures.py)."""
    url = state_url
    store = StateStore(url)
    store.save_revision(SUMMARY, "aaa", "r0", "7665.yaml", {})
    account = LedgerEntry(
        "2026-12-01T10:00:00+00:00",
        "root",
        "r1",
        "7664",
        "dc",
        "create",
        "account",
        "p7664.jan",
        {},
    )
    store.record([account, account])  # 7664: a first apply that failed half-way
    store.record(
        [
            members("7665", "add_members", [f"p7665.r{i}" for i in range(4)]),
            members("7666", "add_members", [f"p7666.r{i}" for i in range(19)]),
            members("7666", "remove_members", ["p7666.r0"]),
            members("7665", "add_members", ["p7665.m"], group="SW-MPLUS"),
        ]
    )
    return url


def tre(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_partially_applied_projects_are_listed(store_url):
    out = tre("project", "list", "--state", store_url)
    lines = out.output.splitlines()
    assert lines[0].split()[:2] == ["7664", "partial"] and "2 ledger entries" in lines[0]
    assert lines[1].split()[:2] == ["7665", "active"]
    rows = json.loads(tre("project", "list", "--state", store_url, "--json").output)
    assert [(r["project"], r["status"]) for r in rows] == [
        ("7664", "partial"),
        ("7665", "active"),
        ("7666", "partial"),  # its seat-group changes are in the ledger
    ]


def test_show_warns_of_a_seat_pool_over_capacity_the_project_holds(store_url):
    out = tre("project", "show", "7665", "--state", store_url)
    assert "SW-SAS: 4 held by this project" in out.output
    assert "SW-MPLUS: 1 held by this project" in out.output
    assert (
        "Warning: SW-SAS: 22 members for 20 seats (over capacity by 2); seats held by project"
        " 7665, 7666" in out.output
    )
    assert "SW-MPLUS: 1 members" not in out.output  # within its 10 seats
    seats = json.loads(tre("project", "show", "7665", "--state", store_url, "--json").output)
    assert seats["seats"][1] == {
        "group": "SW-SAS",
        "held": 4,
        "holders": 22,
        "seats": 20,
        "projects": ["7665", "7666"],
    }


def test_show_of_a_project_without_seats_has_no_seat_warning(store_url):
    out = tre("project", "show", "7664", "--state", store_url)
    assert "partial" in out.output and "SW-SAS" not in out.output
