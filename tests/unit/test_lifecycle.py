"""A project's states on a day (provisioning/lifecycle.py) and what the desired state makes
of them: suspended months disable every account and keep the rest; the end withdraws seats
and catalogue reading."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from provisioning.contract import load_contract
from provisioning.contract.model import Suspension
from provisioning.desired import build_desired_state, revision_of
from provisioning.lifecycle import Life, phase_on, status_on, working_days_before
from provisioning.policy import load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
POLICY = load_policy()


@pytest.fixture(scope="module")
def typical():
    """9002: 2026-03-01..2028-02-29, suspended April-June 2027 and December 2027."""
    c = load_contract(EXAMPLES / "9002-typical.yaml", POLICY)
    return dataclasses.replace(
        c,
        suspensions=(
            Suspension(date(2027, 4, 1), date(2027, 6, 30)),
            Suspension(date(2027, 12, 1), date(2027, 12, 31)),
        ),
    )


@pytest.mark.parametrize(
    ("day", "status", "since", "until"),
    [
        ("2026-02-28", "planned", None, "2026-02-28"),
        ("2026-03-01", "active", "2026-03-01", "2027-03-31"),
        ("2027-03-31", "active", "2026-03-01", "2027-03-31"),
        ("2027-04-01", "suspended", "2027-04-01", "2027-06-30"),
        ("2027-06-30", "suspended", "2027-04-01", "2027-06-30"),
        ("2027-07-01", "active", "2027-07-01", "2027-11-30"),
        ("2027-12-15", "suspended", "2027-12-01", "2027-12-31"),
        ("2028-01-01", "active", "2028-01-01", "2028-02-29"),
        ("2028-02-29", "active", "2028-01-01", "2028-02-29"),
        ("2028-03-01", "ended", "2028-03-01", None),
    ],
)
def test_status_and_its_dates(typical, day, status, since, until):
    phase = phase_on(typical, date.fromisoformat(day))
    assert phase.status == status == status_on(typical, date.fromisoformat(day))
    assert phase.since == (date.fromisoformat(since) if since else None)
    assert phase.until == (date.fromisoformat(until) if until else None)


def test_the_stored_contract_gives_the_same_phases(typical):
    stored = Life.of_stored(dataclasses.asdict(typical) | {"start": "2026-03-01"})
    for day in (date(2026, 1, 1), date(2027, 5, 1), date(2027, 8, 1), date(2029, 1, 1)):
        assert stored.phase(day) == Life.of(typical).phase(day)
    old = {"start": "2026-03-01", "end": "2028-02-29"}  # stored before suspensions existed
    assert Life.of_stored(old).phase(date(2027, 5, 1)).status == "active"


def test_working_days_before_skips_weekends():
    """Friday 2027-02-26 minus 5 working days: Thu 25, Wed 24, Tue 23, Mon 22, Fri 19."""
    assert working_days_before(date(2027, 2, 26), 5) == date(2027, 2, 19)
    assert working_days_before(date(2027, 3, 1), 1) == date(2027, 2, 26)  # Mon → Fri
    assert working_days_before(date(2027, 3, 1), 0) == date(2027, 3, 1)


def _project(desired):
    (p,) = desired["projects"]
    return p


def test_suspended_month_disables_every_account_and_keeps_the_rest(typical):
    active = build_desired_state([typical], POLICY, date(2027, 3, 15))
    suspended = build_desired_state([typical], POLICY, date(2027, 4, 15))
    a, s = _project(active), _project(suspended)
    assert a["status"] == "active" and s["status"] == "suspended"
    assert any(x["enabled"] for x in a["accounts"])
    assert [x["enabled"] for x in s["accounts"]] == [False] * len(s["accounts"])
    assert [x["expires"] for x in s["accounts"]] == [x["expires"] for x in a["accounts"]]
    assert s["groups"] == a["groups"]
    assert s["storage"] == a["storage"]  # folder, quota, catalogue grants intact
    assert suspended["subjects"] == active["subjects"]
    mlwin = "SW-MLWIN"
    assert suspended["software"]["MLWIN"]["members"] == active["software"]["MLWIN"]["members"]
    assert active["software"]["MLWIN"]["group"] == mlwin and active["software"]["MLWIN"]["members"]
    again = _project(build_desired_state([typical], POLICY, date(2027, 7, 1)))
    assert again["status"] == "active" and any(x["enabled"] for x in again["accounts"])


def test_ended_project_has_no_access_seats_or_catalogue(typical):
    last = build_desired_state([typical], POLICY, date(2028, 2, 29))
    ended = build_desired_state([typical], POLICY, date(2028, 3, 1))
    p = _project(ended)
    assert _project(last)["status"] == "active" and p["status"] == "ended"
    assert [x["enabled"] for x in p["accounts"]] == [False] * len(p["accounts"])
    assert all(sw["members"] == [] for sw in ended["software"].values())
    assert last["software"]["MLWIN"]["members"]
    assert all(e["projects"] == [] for e in ended["subjects"].values())
    assert any(e["projects"] == ["9002"] for e in last["subjects"].values())
    assert p["storage"]["file_subjects"] == []
    assert p["storage"]["contract_subjects"] == _project(last)["storage"]["contract_subjects"]


def test_planned_project_accounts_are_disabled(typical):
    p = _project(build_desired_state([typical], POLICY, date(2026, 2, 1)))
    assert p["status"] == "planned"
    assert not any(x["enabled"] for x in p["accounts"])


def test_revision_hash_unchanged_without_suspensions(typical):
    """Contracts without suspensions (or heavy desktop) keep the hash they had before the keys
    existed (the OSSC hand-off and the revisions table compare it)."""
    plain = dataclasses.replace(typical, suspensions=())
    data = dataclasses.asdict(plain)
    data.pop("source")
    data.pop("suspensions")
    data.pop("heavy_desktop")
    data.pop("moves_from")  # and moves and transfers (issue 12)
    data.pop("transfers")
    data.pop("reopens")  # issue 12: contracts that reopen nothing keep their hash too
    for person in data["researchers"] + data["observers"]:
        del person["language"]  # nl, the default: not in the hash either (docs/jobs.md)
    import hashlib
    import json

    canonical = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    assert revision_of(plain) == hashlib.sha256(canonical.encode()).hexdigest()
    assert revision_of(typical) != revision_of(plain)
    english = dataclasses.replace(
        plain,
        researchers=(dataclasses.replace(plain.researchers[0], language="en"),)
        + plain.researchers[1:],
    )
    assert revision_of(english) != revision_of(plain)  # a language given is a revision
