"""What each job tells whom on a day (pure): end reminders, the OSSC deadline, quota
warnings. Example 9001: 2026-02-01..2027-01-31, lead jdevries; policy reminders [42, 14]."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest

from provisioning.contract import load_contract
from provisioning.contract.model import Ossc
from provisioning.jobs.mail import Recipient
from provisioning.jobs.quota import owners, weekly_notices
from provisioning.jobs.reminders import end_notices, ossc_notices
from provisioning.policy import load_policy
from provisioning.state import LedgerEntry, StateStore
from provisioning.usage import Usage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
POLICY = load_policy()
END = date(2027, 1, 31)


@pytest.fixture(scope="module")
def small():
    return load_contract(EXAMPLES / "9001-small.yaml", POLICY)


def _periods(contract, day):
    return [(n.subject, n.period) for n in end_notices([contract], POLICY, day)]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (END - timedelta(days=43), []),
        (END - timedelta(days=42), [("9001", "2027-01-31/42d")]),
        (END - timedelta(days=15), [("9001", "2027-01-31/42d")]),  # caught up until the next
        (END - timedelta(days=14), [("9001", "2027-01-31/14d")]),  # supersedes a missed 42
        (END, [("9001", "2027-01-31/14d")]),
        (END + timedelta(days=1), [("9001", "2027-01-31/ended")]),
        (END + timedelta(days=42), [("9001", "2027-01-31/ended")]),
        (END + timedelta(days=43), []),  # long ended: no confirmation out of the blue
    ],
)
def test_end_reminder_due(small, day, expected):
    assert _periods(small, day) == expected


def test_end_reminder_goes_to_the_lead_in_the_lead_language(small):
    lead = dataclasses.replace(small.researchers[0], language="en")
    c = dataclasses.replace(small, researchers=(lead,) + small.researchers[1:])
    (n,) = end_notices([c], POLICY, END - timedelta(days=14))
    assert n.recipients == (Recipient("j.devries@uu.nl", "Jan de Vries", "en"),)
    assert n.fields["days"] == 14


def test_an_extension_gives_new_reminders(small):
    later = dataclasses.replace(small, end=date(2027, 6, 30))
    assert _periods(later, date(2027, 6, 1)) == [("9001", "2027-06-30/42d")]


def test_policy_reminder_days(small):
    policy = dataclasses.replace(POLICY, end_reminder_days=(7,))
    assert end_notices([small], policy, END - timedelta(days=8)) == []
    (n,) = end_notices([small], policy, END - timedelta(days=7))
    assert n.period == "2027-01-31/7d"


OPERATOR = Recipient("ops@example.org", "", "nl")


def test_ossc_deadline_then_overdue_until_confirmed(small, tmp_path):
    c = dataclasses.replace(small, ossc=Ossc(("jdevries",), date(2026, 3, 1), date(2026, 9, 30)))
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    assert ossc_notices([c], POLICY, date(2026, 9, 30), store, OPERATOR) == []
    (n,) = ossc_notices([c], POLICY, date(2026, 10, 1), store, OPERATOR)
    assert (n.period, n.fields["deadline"], n.fields["state"]) == (
        "2026-09-30/deadline",
        "2026-10-10",
        "open",
    )
    (late,) = ossc_notices([c], POLICY, date(2026, 10, 12), store, OPERATOR)
    assert (late.period, late.fields["state"]) == ("overdue/2026-10-12", "OVERDUE 2")
    store.record(
        [
            LedgerEntry(
                "t",
                "me",
                "r",
                "9001",
                None,
                "confirm-destroyed",
                "ossc",
                None,
                {"ossc_end": "2026-09-30"},
            )
        ]  # fmt: skip
    )
    assert ossc_notices([c], POLICY, date(2026, 10, 13), store, OPERATOR) == []


def _u(kind, used, limit, owner=None):
    return Usage("9001", kind, owner, used, limit, "fs1")


def test_quota_warnings_people_and_unknown(small):
    owned = owners([small], lambda project: {})
    items = [
        _u("project", 91, 100),
        _u("workspace", 89, 100, "p9001.zvanthoff"),
        _u("workspace", 95, 100, "p9001.jdevries"),
        _u("workspace", None, 100, "p9001.zvanthoff"),
    ]
    people, unknown = weekly_notices(
        items, [small], owned, POLICY, date(2026, 12, 7), "2026-W50", OPERATOR
    )
    assert [(n.subject, [r.email for r in n.recipients]) for n in people] == [
        ("project:9001", ["j.devries@uu.nl", "z.vanthoff@uu.nl"]),
        ("workspace:p9001.jdevries", ["j.devries@uu.nl"]),
    ]
    assert people[0].fields["percent"] == 91
    assert [n.recipients for n in unknown] == [(OPERATOR,)]
    assert unknown[0].fields["what"] == "workspace 9001/p9001.zvanthoff"


def test_above_the_warn_percent_warns_exactly_at_it_does_not(small):
    """RULES.md: "above 90 %"; integer arithmetic, no rounding at the border."""
    owned = owners([small], lambda project: {})
    for used, warned in ((90 * 10**6 + 1, True), (90 * 10**6, False), (89 * 10**6, False)):
        people, _ = weekly_notices(
            [_u("project", used, 100 * 10**6)], [small], owned, POLICY,
            date(2026, 12, 7), "w", None,
        )  # fmt: skip
        assert bool(people) is warned


def test_a_moved_project_gets_no_end_reminder(small):
    """9001 moved to 9501 from 2026-06-01: its own end (2027-01-31) is no longer its end."""
    new = dataclasses.replace(
        small, project="9501", start=date(2026, 6, 1), end=date(2027, 6, 30), moves_from="9001"
    )
    day = END - timedelta(days=14)
    assert [n.subject for n in end_notices([small, new], POLICY, day)] == []
    assert [n.subject for n in end_notices([small], POLICY, day)] == ["9001"]


def test_a_moved_project_is_not_measured(small):
    from types import SimpleNamespace

    from provisioning.jobs.quota import _measured

    new = dataclasses.replace(
        small, project="9501", start=date(2026, 6, 1), end=date(2027, 6, 30), moves_from="9001"
    )
    ctx = SimpleNamespace(contracts=[small, new], today=date(2026, 6, 1))
    assert [c.project for c in _measured(ctx)] == ["9501"]
    ctx.today = date(2026, 5, 31)
    assert [c.project for c in _measured(ctx)] == ["9001"]  # 9501 planned, 9001 not moved yet
