"""Date-driven notices: the end reminders to the lead and the OSSC destruction deadline.

Pure planning (``end_notices``, ``ossc_notices``: contracts + today → notices) and the two
jobs that deliver them (docs/jobs.md). Periods carry the date they are about, so a changed
date (an extension) gives new notices, and a missed day is caught up by the next run.
"""

from __future__ import annotations

from datetime import date, timedelta

from provisioning.contract.model import Contract
from provisioning.policy_model import Policy
from provisioning.project_links import moves_in_force
from provisioning.state import StateStore

from .framework import Job, JobContext, Outcome
from .mail import Recipient
from .notify import Notice, deliver
from .schedule import DAILY


def lead_of(contract: Contract) -> Recipient:
    lead = contract.person(contract.lead)
    return Recipient(lead.email, lead.name, lead.language)


def end_notices(contracts: list[Contract], policy: Policy, today: date) -> list[Notice]:
    """Per project at most one notice due today: the latest reminder whose day has come
    (``end - d`` for d in ``end_reminder_days``) while the end is ahead, or the confirmation
    from the day after the end until as many days after it as the first reminder came before.

    A reminder missed altogether (the jobs did not run) is superseded by the next one; the
    record of each is (project, ``<end>/<d>d`` or ``<end>/ended``).
    """
    notices = []
    days = sorted(policy.end_reminder_days)  # nearest first
    window = max(days, default=0)
    moved = moves_in_force(contracts, today)  # a moved project ends as the new one
    for c in (c for c in contracts if c.project not in moved):
        fields = {"project": c.project, "title": c.title, "end": c.end.isoformat()}
        if today <= c.end:
            due = [d for d in days if c.end - timedelta(days=d) <= today]
            if due:
                d = due[0]
                left = (c.end - today).days
                period = f"{c.end.isoformat()}/{d}d"
                notices.append(Notice(c.project, period, (lead_of(c),), {**fields, "days": left}))
        elif today <= c.end + timedelta(days=window):
            period = f"{c.end.isoformat()}/ended"
            notices.append(Notice(c.project, period, (lead_of(c),), fields))
    return notices


def _end_reminders(ctx: JobContext, period: str) -> Outcome:
    notices = end_notices(ctx.contracts, ctx.policy, ctx.today)
    before = [n for n in notices if not n.period.endswith("/ended")]
    ended = [n for n in notices if n.period.endswith("/ended")]
    a = deliver("end-reminders", "end-reminder", before, ctx.store, ctx.mailer, period)
    b = deliver("end-reminders", "end-confirmation", ended, ctx.store, ctx.mailer, period)
    return Outcome(
        f"{a.notices} reminder(s), {b.notices} end confirmation(s), {a.mails + b.mails} mail(s)",
        a.failures + b.failures,
        figures={"reminders": a.notices, "confirmations": b.notices, "mails": a.mails + b.mails},
    )


def confirmed_destroyed(store: StateStore, project: str, ossc_end: str) -> bool:
    """Whether the ledger holds ``tre ossc confirm-destroyed`` for this OSSC end."""
    return any(
        e.op == "confirm-destroyed" and e.kind == "ossc" and e.detail.get("ossc_end") == ossc_end
        for e in store.ledger(project)
    )


def ossc_notices(
    contracts: list[Contract], policy: Policy, today: date, store: StateStore, operator: Recipient
) -> list[Notice]:
    """Projects whose OSSC use has ended and whose destruction is not confirmed: once the
    deadline (end + ``ossc_destruction_days``), then every day past it ("overdue")."""
    notices = []
    for c in contracts:
        if c.ossc is None or today <= c.ossc.end:
            continue
        end = c.ossc.end.isoformat()
        if confirmed_destroyed(store, c.project, end):
            continue
        deadline = c.ossc.end + timedelta(days=policy.ossc_destruction_days)
        fields = {"project": c.project, "title": c.title, "ossc_end": end,
                  "deadline": deadline.isoformat()}  # fmt: skip
        if today > deadline:
            overdue = (today - deadline).days
            notices.append(
                Notice(
                    c.project,
                    f"overdue/{today.isoformat()}",
                    (operator,),
                    {**fields, "state": f"OVERDUE {overdue}"},
                )  # fmt: skip
            )
        else:
            notices.append(Notice(c.project, f"{end}/deadline", (operator,),
                                  {**fields, "state": "open"}))  # fmt: skip
    return notices


def _ossc_deadline(ctx: JobContext, period: str) -> Outcome:
    ended = [c for c in ctx.contracts if c.ossc and c.ossc.end < ctx.today]
    if not ended:
        return Outcome("no project's OSSC use has ended")
    notices = ossc_notices(ended, ctx.policy, ctx.today, ctx.store, ctx.operator())
    d = deliver("ossc-deadline", "ossc-deadline", notices, ctx.store, ctx.mailer, period)
    overdue = sum(1 for n in notices if n.period.startswith("overdue/"))
    return Outcome(
        f"{d.notices} notice(s) ({overdue} overdue), {d.mails} mail(s)",
        d.failures,
        figures={"notices": d.notices, "overdue": overdue, "mails": d.mails},
    )


END_REMINDERS = Job(
    "end-reminders", DAILY, _end_reminders,
    "the lead is mailed end_reminder_days before the end, and a confirmation after it",
)  # fmt: skip
OSSC_DEADLINE = Job(
    "ossc-deadline", DAILY, _ossc_deadline,
    "the operator is mailed the OSSC destruction deadline; overdue ones every day until"
    " `tre ossc confirm-destroyed`",
)  # fmt: skip
