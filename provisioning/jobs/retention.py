"""The retention jobs (docs/retention.md): ``archive-verify`` and ``purge-notices``.

``archive-verify`` reads a rolling share of the archives back every day
(``retention.verify_selection``: every archive at least every ``archive_verify_days``) and
mails the operator each archive whose verification failed that day. ``purge-notices`` mails
the project lead (from the last applied revision) and the operator ``purge_notice_days``
before an archive's due date, once each: the notice's record (subject the project, period
``<due>/<d>d``, result ``sent <day> <recipients>``) is what ``tre purge`` counts the grace
from. A missed day is caught up by the next run (``retention.notice_due``).
"""

from __future__ import annotations

from datetime import date, timedelta

from provisioning import archive_ops
from provisioning.orchestrate import actor
from provisioning.retention import ArchiveView, notice_due, verify_selection

from .framework import Job, JobContext, Outcome
from .mail import DEFAULT_LANGUAGE, Recipient
from .notify import Notice, deliver, now
from .schedule import DAILY


def _lead(a: ArchiveView) -> Recipient | None:
    if not a.lead or not a.lead.get("email"):
        return None
    return Recipient(
        a.lead["email"], a.lead.get("name") or "", a.lead.get("language") or DEFAULT_LANGUAGE
    )


def purge_notices(
    archives: list[ArchiveView], ctx_policy, today: date, operator: Recipient
) -> list[Notice]:
    """The notices due on ``today``: per archive at most one (``notice_due``)."""
    notices = []
    for a in archives:
        d = notice_due(a, today, ctx_policy)
        if d is None or a.due is None:
            continue
        earliest = max(
            a.due + timedelta(days=1), today + timedelta(days=ctx_policy.purge_grace_days)
        )
        lead = _lead(a)
        fields = {
            "project": a.project,
            "institution": a.institution,
            "due": a.due.isoformat(),
            "earliest": earliest.isoformat(),
            "days": max((a.due - today).days, 0),
        }
        recipients = (lead, operator) if lead else (operator,)
        notices.append(Notice(a.project, f"{a.due.isoformat()}/{d}d", recipients, fields))
    return notices


def _purge_notices(ctx: JobContext, period: str) -> Outcome:
    archives = archive_ops.views(ctx.store)
    due = [a for a in archives if notice_due(a, ctx.today, ctx.policy) is not None]
    if not due:
        return Outcome("no purge notice due")
    notices = purge_notices(due, ctx.policy, ctx.today, ctx.operator())
    d = deliver(
        "purge-notices", "purge-notice", notices, ctx.store, ctx.mailer, period,
        result=f"sent {ctx.today.isoformat()}",
    )  # fmt: skip
    return Outcome(
        f"{d.notices} purge notice(s), {d.mails} mail(s)",
        d.failures,
        figures={"notices": d.notices, "mails": d.mails},
    )


def _archive_verify(ctx: JobContext, period: str) -> Outcome:
    chosen = verify_selection(archive_ops.views(ctx.store), ctx.today, ctx.policy)
    results = []
    if chosen:
        projects = [a.project for a in chosen]
        results = archive_ops.verify(ctx.inventory, ctx.store, projects, ctx.today, actor())
        ctx.store.record_job("archive-verify", [(r["project"], period, r["result"][:200])
                                                for r in results], now())  # fmt: skip
    # every failure recorded today (this run, a killed one, or `tre archive verify`)
    failed = [
        a for a in archive_ops.views(ctx.store)
        if a.verified_on == ctx.today and (a.verify_result or "ok") != "ok"
    ]  # fmt: skip
    d = None
    if failed:
        notices = [
            Notice(
                f"archive:{a.project}",
                f"failed/{ctx.today.isoformat()}",
                (ctx.operator(),),
                {"project": a.project, "result": a.verify_result, "location": a.location},
            )  # fmt: skip
            for a in failed
        ]
        d = deliver(
            "archive-verify", "archive-verify-failed", notices, ctx.store, ctx.mailer, period
        )
    ok = sum(1 for r in results if r["result"] == "ok")
    return Outcome(
        f"{len(results)} archive(s) verified, {len(results) - ok} failed,"
        f" {d.mails if d else 0} mail(s)",
        d.failures if d else [],
        figures={"verified": len(results), "failed": len(failed), "mails": d.mails if d else 0},
    )


ARCHIVE_VERIFY = Job(
    "archive-verify", DAILY, _archive_verify,
    "a rolling share of the archives read back against their manifests (each at least every"
    " archive_verify_days); a failure is mailed to the operator",
)  # fmt: skip
PURGE_NOTICES = Job(
    "purge-notices", DAILY, _purge_notices,
    "the lead and the operator are mailed purge_notice_days before an archive's due date",
)  # fmt: skip
