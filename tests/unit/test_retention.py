"""The retention rules, pure (provisioning/retention.py): due dates, why an archive is or is
not purged on a day, the purge notices due, the rolling verification share, the policy keys
and the revision rule that fixes the retention once the project is archived."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest

from provisioning.contract import load_contract
from provisioning.errors import PolicyError
from provisioning.jobs.mail import Recipient
from provisioning.jobs.retention import purge_notices
from provisioning.policy import DEFAULT_POLICY, load_policy
from provisioning.retention import (
    ArchiveView,
    Notice,
    due_on,
    notice_due,
    notices_of,
    plan_purge,
    running_reopens,
    skip_reasons,
    verify_selection,
)
from provisioning.revisions import retention_change

POLICY = load_policy()
DUE = date(2032, 1, 31)
OK_DAY = DUE + timedelta(days=31)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
OPERATOR = Recipient("ops@example.org", "", "en")


def archive(project: str = "7310", **changes) -> ArchiveView:
    base = ArchiveView(
        project=project, status="live-removed", location=f"/a/P{project}", institution="UvA",
        end=date(2027, 1, 31), retention_years=5, due=DUE, size_gb=1, files=3, bytes=10,
        manifest_sha256="ab" * 32, verified_on=OK_DAY - timedelta(days=3), verify_result="ok",
        notices=(Notice(30, DUE - timedelta(days=30)),), objection=None,
        lead={"email": "lead@example.org", "name": "J. de Vries", "language": "nl"},
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def test_due_date_is_whole_calendar_years_after_the_end():
    assert due_on(date(2027, 1, 31), 5) == date(2032, 1, 31)
    assert due_on(date(2028, 2, 29), 10) == date(2038, 2, 28)


def test_an_archive_past_everything_is_eligible():
    assert skip_reasons(archive(), OK_DAY, POLICY, {}) == []


@pytest.mark.parametrize(
    ("changes", "today", "reason"),
    [
        ({}, DUE, "not due: retained until 2032-01-31"),
        ({"notices": ()}, OK_DAY, "no notice sent yet"),
        ({"notices": (Notice(30, OK_DAY - timedelta(days=29)),)}, OK_DAY,
         f"last notice on {OK_DAY - timedelta(days=29)}: grace until {OK_DAY + timedelta(days=1)}"),
        ({"objection": {"by": "ops", "at": "x", "until": "2032-12-31", "reason": "r"}}, OK_DAY,
         "objection by ops until 2032-12-31"),
        ({"verified_on": None, "verify_result": None}, OK_DAY, "never verified"),
        ({"verify_result": "failed: 1 of 3 file(s) differ"}, OK_DAY,
         f"verification of {OK_DAY - timedelta(days=3)} failed"),
        ({"verified_on": OK_DAY - timedelta(days=366)}, OK_DAY,
         f"last verified {OK_DAY - timedelta(days=366)}, more than 365 days ago"),
        ({"status": "verified"}, OK_DAY, "status verified, not archived"),
    ],
)  # fmt: skip
def test_each_rule_skips_with_its_reason(changes, today, reason):
    assert skip_reasons(archive(**changes), today, POLICY, {}) == [reason]


def test_an_objection_ends_on_its_until_day_and_a_running_reopen_blocks():
    o = {"by": "ops", "at": "x", "until": (OK_DAY - timedelta(days=1)).isoformat(), "reason": ""}
    assert skip_reasons(archive(objection=o), OK_DAY, POLICY, {}) == []
    reopens = running_reopens(
        [{"project": "7400", "reopens": 7310, "start": "2032-01-01", "end": "2032-12-31"},
         {"project": "7401", "reopens": "7311", "start": "2030-01-01", "end": "2030-12-31"}],
        OK_DAY,
    )  # fmt: skip
    assert reopens == {"7310": "7400"}
    assert skip_reasons(archive(), OK_DAY, POLICY, reopens) == [
        "source of running reopened project 7400"
    ]


def test_plan_lists_oldest_due_first_and_holds_back_over_the_maximum():
    policy = dataclasses.replace(POLICY, purge_max_per_run=2)
    views = [archive(str(7300 + i), due=DUE - timedelta(days=i)) for i in range(3)]
    views += [archive("7399", notices=()), archive("7398", status="purged")]
    plan = plan_purge(views, OK_DAY, policy, {})
    assert [a.project for a, _ in plan.purge] == ["7302", "7301"]
    assert [a.project for a in plan.held_back] == ["7300"]
    assert [(a.project, r) for a, r in plan.skip] == [("7399", ["no notice sent yet"])]
    assert "due 2032-01-29; last notice" in plan.purge[0][1]


@pytest.mark.parametrize(
    ("days_before", "expected"),
    [(91, None), (90, 90), (31, 90), (30, 30), (0, 30), (-400, 30)],
)
def test_the_nearest_notice_whose_day_has_come(days_before, expected):
    assert notice_due(archive(), DUE - timedelta(days=days_before), POLICY) == expected


def test_notice_records_give_the_day_sent():
    records = [
        {"subject": "7310", "period": "2032-01-31/90d", "result": "sent 2031-11-02 2"},
        {"subject": "7310>abc", "period": "2032-01-31/90d", "result": "<msg@id>"},
        {"subject": "7310", "period": "2031-01-31/30d", "result": "sent 2031-01-01 2"},
    ]
    assert notices_of(records, "7310", DUE) == (Notice(90, date(2031, 11, 2)),)


def test_purge_notice_goes_to_the_lead_and_the_operator():
    (n,) = purge_notices([archive()], POLICY, DUE - timedelta(days=30), OPERATOR)
    assert (n.subject, n.period) == ("7310", "2032-01-31/30d")
    assert [r.email for r in n.recipients] == ["lead@example.org", "ops@example.org"]
    assert n.fields["earliest"] == "2032-02-01" and n.fields["days"] == 30
    late = purge_notices([archive()], POLICY, DUE + timedelta(days=5), OPERATOR)[0]
    assert late.fields["earliest"] == (DUE + timedelta(days=35)).isoformat()


def test_verify_selection_spreads_the_work_and_catches_the_overdue():
    today = date(2033, 6, 1)
    views = [
        archive(str(7000 + i), verified_on=today - timedelta(days=i % 300)) for i in range(730)
    ]
    views.append(archive("7999", verified_on=today - timedelta(days=364)))
    views.append(archive("7998", verified_on=None, verify_result=None))
    chosen = [a.project for a in verify_selection(views, today, POLICY)]
    assert chosen[:2] == ["7998", "7999"] and len(chosen) == 3  # share: ceil(732 / 365) = 3
    assert verify_selection([archive(verified_on=today)], today, POLICY) == []


def test_policy_keys_have_defaults_and_are_validated(tmp_path):
    assert (POLICY.archive_verify_days, POLICY.purge_notice_days) == (365, (90, 30))
    assert (POLICY.purge_grace_days, POLICY.purge_max_per_run) == (30, 10)
    base = DEFAULT_POLICY.read_text()
    bad = tmp_path / "p.yaml"
    bad.write_text(base.replace("purge_notice_days: [90, 30]", "purge_notice_days: [30, 30]")
                   .replace("archive_verify_days: 365", "archive_verify_days: 0"))  # fmt: skip
    with pytest.raises(PolicyError) as e:
        load_policy(str(bad))
    text = " ".join(p.line() for p in e.value.problems)
    assert "purge_notice_days" in text and "archive_verify_days" in text


def test_retention_may_rise_until_archived_and_never_after():
    c = load_contract(str(EXAMPLES / "9001-small.yaml"), POLICY)
    previous = {"retention_years": 5}
    ten = dataclasses.replace(c, retention_years=10)
    assert retention_change(ten, previous, archived=False) == []
    (p,) = retention_change(ten, previous, archived=True)
    assert p.rule == "retention-after-archive" and p.line() == (
        "project 9001: the retention cannot change from 5 to 10 years: the project is"
        " archived [retention-after-archive]"
    )
    assert retention_change(c, {"retention_years": c.retention_years}, archived=True) == []
