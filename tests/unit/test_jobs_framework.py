"""The job framework with a real SQLite store and a recording mailer (no SMTP): run_due runs
a due job once per period, a failed job stays due, a missed Monday is caught up; deliver
combines notices per person and records per recipient, so a retry sends nothing twice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from provisioning.errors import ProvisioningError
from provisioning.jobs import Job, JobContext, JobSettings, Outcome, job_table, jobs_lock, run_due
from provisioning.jobs.mail import MailError, Recipient
from provisioning.jobs.notify import Notice, deliver
from provisioning.jobs.schedule import DAILY, WEEKLY
from provisioning.policy import load_policy
from provisioning.state import StateStore


class Mailbox:
    """Records the mails instead of sending them; ``fail`` makes the next sends fail."""

    sender = "tre@example.org"

    def __init__(self) -> None:
        self.mails: list = []
        self.fail = 0

    def send(self, msg) -> None:
        if self.fail:
            self.fail -= 1
            raise MailError("SMTP test:25: refused")
        self.mails.append(msg)

    def close(self) -> None:
        pass


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path}/state.db")


def _ctx(store, mailbox, today, tmp_path) -> JobContext:
    return JobContext(today, load_policy(), [], store, tmp_path, tmp_path, mailbox, JobSettings())


def test_run_due_once_per_week_and_caught_up(store, tmp_path):
    ran: list[str] = []
    job = Job("probe", WEEKLY, lambda ctx, period: ran.append(period) or Outcome("ok"), "test")
    box = Mailbox()
    tuesday = date(2026, 12, 1)  # Monday 30 Nov skipped
    assert [r.status for r in run_due(_ctx(store, box, tuesday, tmp_path), [job])] == ["done"]
    again = run_due(_ctx(store, box, date(2026, 12, 3), tmp_path), [job])
    assert [r.status for r in again] == ["not-due"]
    run_due(_ctx(store, box, date(2026, 12, 7), tmp_path), [job])
    assert ran == ["2026-W49", "2026-W50"]
    rows = job_table(store, [job], date(2026, 12, 8), JobSettings())
    assert rows[0]["last_period"] == "2026-W50" and rows[0]["next_due"] == "2026-12-14"


def test_a_failed_job_stays_due_and_the_others_run(store, tmp_path):
    def broken(ctx, period):
        raise ProvisioningError("file server unreachable")

    ok = Job("fine", DAILY, lambda c, p: Outcome("ok"), "test")
    bad = Job("broken", DAILY, broken, "test")
    bug = Job("buggy", DAILY, lambda c, p: 1 / 0, "test")
    day = date(2026, 12, 1)
    reports = run_due(_ctx(store, Mailbox(), day, tmp_path), [bad, bug, ok])
    assert [(r.job, r.status) for r in reports] == [
        ("broken", "failed"),
        ("buggy", "failed"),
        ("fine", "done"),
    ]
    assert reports[0].failures == ["broken: file server unreachable"]
    assert "ZeroDivisionError" in reports[1].failures[0]
    again = run_due(_ctx(store, Mailbox(), day, tmp_path), [bad, ok])
    assert [r.status for r in again] == ["failed", "not-due"]


def test_off_unless_configured(store, tmp_path):
    job = Job("reconcile", DAILY, lambda c, p: Outcome("ok"), "t", enabled=lambda s: s.reconcile)
    reports = run_due(_ctx(store, Mailbox(), date(2026, 12, 1), tmp_path), [job])
    assert [r.status for r in reports] == ["off"]


ANN = Recipient("ann@example.org", "Ann", "nl")
BOB = Recipient("bob@example.org", "Bob", "en")


def _notices() -> list[Notice]:
    """Ann leads two projects ending soon, Bob one of them (as researcher in 2)."""
    f = {"title": "T", "end": "2027-01-31", "days": 14}
    return [
        Notice("7001", "2027-01-31/14d", (ANN,), dict(f, project="7001")),
        Notice("7002", "2027-01-31/14d", (ANN, BOB), dict(f, project="7002")),
    ]


def test_one_mail_per_person_combining_projects(store):
    box = Mailbox()
    d = deliver("end-reminders", "end-reminder", _notices(), store, box, "2027-01-17")
    assert (d.mails, d.notices) == (2, 2)
    by_to = {m["To"]: m for m in box.mails}
    assert set(by_to) == {"ann@example.org", "bob@example.org"}
    assert by_to["ann@example.org"]["Subject"] == (
        "Herinnering: einddatum project 7001, 7002 nadert"
    )
    assert by_to["bob@example.org"]["Subject"] == "Reminder: project 7002 ends soon"
    ann = by_to["ann@example.org"]
    assert ann["Auto-Submitted"] == "auto-generated" and ann["Message-ID"] and ann["Date"]
    body = ann.get_content()
    assert "Beste Ann," in body and "project 7001" in body and "project 7002" in body
    again = deliver("end-reminders", "end-reminder", _notices(), store, box, "2027-01-17")
    assert (again.mails, again.skipped, len(box.mails)) == (0, 2, 2)


def test_a_failed_mail_is_retried_alone(store):
    box = Mailbox()
    box.fail = 1  # Ann's mail (the first) fails, Bob's goes
    d = deliver("end-reminders", "end-reminder", _notices(), store, box, "2027-01-17")
    assert d.mails == 1 and len(d.failures) == 1
    assert "ann@" not in d.failures[0] and "Ann" not in d.failures[0]  # no personal data
    assert d.notices == 0  # both notices name Ann: not complete
    retry = deliver("end-reminders", "end-reminder", _notices(), store, box, "2027-01-18")
    assert retry.mails == 1 and retry.notices == 2
    assert sorted(m["To"] for m in box.mails) == ["ann@example.org", "bob@example.org"]


def test_killed_before_the_notice_record_sends_only_the_missing_mail(store):
    """The per-recipient records: Bob's mail was recorded, the notice itself was not (a kill
    between Ann's send and her record): the next run mails Ann again, not Bob."""
    box = Mailbox()
    from provisioning.jobs.notify import address_key

    store.record_job(
        "end-reminders", [(f"7002>{address_key(BOB.email)}", "2027-01-31/14d", "x")], "t"
    )
    deliver("end-reminders", "end-reminder", _notices(), store, box, "2027-01-17")
    assert [m["To"] for m in box.mails] == ["ann@example.org"]


def test_template_values_are_text_not_template(store):
    box = Mailbox()
    n = Notice("7001", "p", (ANN,), {"project": "7001", "title": "$name ${items}\nX", "end": "e",
                                      "days": 1})  # fmt: skip
    deliver("end-reminders", "end-reminder", [n], store, box, "p")
    assert '"$name ${items} X"' in box.mails[0].get_content()


def test_jobs_lock_refuses_a_second_run(tmp_path):
    refused = pytest.raises(ProvisioningError, match="another tre jobs run")
    with jobs_lock(tmp_path), refused, jobs_lock(tmp_path):
        pass
    with jobs_lock(tmp_path):  # released
        pass


def test_operator_mail_without_an_address_fails_the_job_in_one_line(store, tmp_path):
    import dataclasses

    from provisioning.contract import load_contract
    from provisioning.contract.model import Ossc
    from provisioning.jobs.reminders import OSSC_DEADLINE

    examples = Path(__file__).resolve().parents[2] / "examples" / "contracts"
    small = load_contract(examples / "9001-small.yaml", load_policy())
    ended = dataclasses.replace(
        small, ossc=Ossc(("jdevries",), date(2026, 3, 1), date(2026, 9, 30))
    )
    box = Mailbox()
    ctx = _ctx(store, box, date(2026, 9, 30), tmp_path)
    ctx.contracts = [ended]
    (quiet,) = run_due(ctx, [OSSC_DEADLINE])  # not ended yet: nothing to say, no address needed
    assert quiet.status == "done"
    ctx.today = date(2026, 10, 1)
    (report,) = run_due(ctx, [OSSC_DEADLINE])
    assert report.status == "failed" and box.mails == []
    assert report.failures == [
        "ossc-deadline: no operator address: set --operator-email, $TRE_OPERATOR_EMAIL or"
        " tre_operator_email in the inventory"
    ]
