"""The storage jobs: ``quota-weekly`` (warnings) and ``quota-monthly`` (billable extra storage).

Both measure through ``provisioning.usage.measure`` (one qgroup read per file server, through
the same Ansible machinery as apply) and write the Prometheus textfile metrics. A measurement
the file server marks inconsistent is *unknown*: never a warning to a person and never billed.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import date

from provisioning.contract.model import Contract, Person
from provisioning.desired import quota_bytes
from provisioning.inventory import load_inventory
from provisioning.lifecycle import status_on
from provisioning.naming import account_names
from provisioning.policy_model import Policy
from provisioning.project_links import moves_in_force
from provisioning.usage import (
    Usage,
    UsageReport,
    measure,
    over_allowance_steps,
    overrun_step,
    write_metrics,
)

from .framework import Job, JobContext, Outcome
from .mail import Recipient
from .notify import Notice, deliver, now
from .schedule import MONTHLY, WEEKLY

#: Projects whose storage exists and is measured: not before the start, not after the end.
MEASURED = ("active", "suspended")


def _measured(ctx: JobContext) -> list[Contract]:
    moved = moves_in_force(ctx.contracts, ctx.today)  # their folder is in the new project
    return [
        c for c in ctx.contracts if status_on(c, ctx.today) in MEASURED and c.project not in moved
    ]


def _measure(ctx: JobContext, contracts: list[Contract]) -> UsageReport:
    report = measure(load_inventory(ctx.inventory), [c.project for c in contracts])
    write_metrics(report, ctx.settings.metrics_dir)
    return report


def _recipient(p: Person) -> Recipient:
    return Recipient(p.email, p.name, p.language)


def _percent(used: int, limit: int) -> int:
    return math.floor(used * 100 / limit)


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.1f} MB" if n < 1024**3 else f"{n / 1024**3:,.2f} GB"


def owners(
    contracts: list[Contract], names_of: Callable[[str], dict[str, str]]
) -> dict[str, tuple[Contract, Person]]:
    """Workspace owner (account name, lower case) → (contract, person); ``names_of``: the
    account names issued in a project (the state store's identity records)."""
    out: dict[str, tuple[Contract, Person]] = {}
    for c in contracts:
        people = [p for p in c.people if p.has_account]
        names = account_names(c.project, [p.id for p in people], names_of(c.project))
        for p in people:
            out[names[p.id].lower()] = (c, p)
    return out


def weekly_notices(
    items: list[Usage],
    contracts: list[Contract],
    owned: dict[str, tuple[Contract, Person]],
    policy: Policy,
    today: date,
    week: str,
    operator: Recipient | None,
) -> tuple[list[Notice], list[Notice]]:
    """(notices to people strictly above ``quota_warn_percent`` of the limit, notices of
    unknown usage to the operator). A project folder: its lead and its researchers in their
    period; a workspace: its owner."""
    by_project = {c.project: c for c in contracts}
    people: list[Notice] = []
    unknown: list[Notice] = []
    for u in items:
        where = u.project if u.kind == "project" else f"{u.project}/{u.owner}"
        if u.used_bytes is None:
            if operator is not None:
                key = hashlib.sha256(f"{u.kind}:{where}".encode()).hexdigest()[:12]
                unknown.append(Notice(f"unknown:{key}", week, (operator,),
                                      {"project": u.project, "what": f"{u.kind} {where}",
                                       "server": u.server}))  # fmt: skip
            continue
        if not u.limit_bytes or u.used_bytes * 100 <= policy.quota_warn_percent * u.limit_bytes:
            continue
        fields = {"project": u.project, "kind": u.kind, "used": _mb(u.used_bytes),
                  "limit": _mb(u.limit_bytes),
                  "percent": _percent(u.used_bytes, u.limit_bytes)}  # fmt: skip
        if u.kind == "project" and u.project in by_project:
            c = by_project[u.project]
            to = [c.person(c.lead)] + [
                r for r in c.researchers if r.id != c.lead and r.start <= today <= r.end
            ]
            people.append(Notice(f"project:{u.project}", week,
                                 tuple(_recipient(p) for p in to), fields))  # fmt: skip
        elif u.kind == "workspace" and (u.owner or "").lower() in owned:
            _c, p = owned[(u.owner or "").lower()]
            people.append(Notice(f"workspace:{u.owner}", week, (_recipient(p),), fields))
    return people, unknown


def _quota_weekly(ctx: JobContext, period: str) -> Outcome:
    contracts = _measured(ctx)
    if not contracts:
        return Outcome("no active project to measure")
    report = _measure(ctx, contracts)
    owned = owners(contracts, ctx.store.identities().names_of)
    operator = ctx.operator() if any(u.used_bytes is None for u in report.items) else None
    people, unknown = weekly_notices(report.items, contracts, owned, ctx.policy, ctx.today,
                                     period, operator)  # fmt: skip
    warned = deliver("quota-weekly", "quota-warning", people, ctx.store, ctx.mailer, period)
    told = deliver("quota-weekly", "quota-unknown", unknown, ctx.store, ctx.mailer, period)
    return Outcome(
        f"{len(report.items)} measured, {len(people)} above {ctx.policy.quota_warn_percent} %,"
        f" {len(unknown)} unknown, {warned.mails + told.mails} mail(s)",
        warned.failures + told.failures,
        [f"quota-weekly: {w}" for w in report.warnings],
        {"measured": len(report.items), "above": len(people), "unknown": len(unknown),
         "mails": warned.mails + told.mails},
    )  # fmt: skip


def _quota_monthly(ctx: JobContext, period: str) -> Outcome:
    contracts = _measured(ctx)
    if not contracts:
        return Outcome("no active project to measure")
    report = _measure(ctx, contracts)
    by_project = {c.project: c for c in contracts}
    step = overrun_step(ctx.policy)
    done = ctx.store.done_subjects("quota-monthly", [period])
    billed, unknown = 0, []
    for u in report.items:
        if u.kind != "project" or u.project not in by_project:
            continue
        if u.used_bytes is None:
            unknown.append(u.project)
            continue
        if (u.project, period) in done:
            continue
        allowance = quota_bytes(by_project[u.project], ctx.policy, ctx.today)
        steps = over_allowance_steps(u.used_bytes, allowance, ctx.policy)
        if steps:
            detail = {
                "step": step.size,
                "used_bytes": u.used_bytes,
                "allowance_bytes": allowance,
                "measured_on": ctx.today.isoformat(),
            }
            ctx.store.record_billable(u.project, "extra_storage", period, steps, detail)
            billed += 1
        ctx.store.record_job("quota-monthly", [(u.project, period, f"{steps} x {step.size}")],
                             now())  # fmt: skip
    failures = [
        f"quota-monthly: usage of project {p} unknown (the file server's qgroups are"
        " inconsistent); not billed, retried on the next run"
        for p in unknown
    ]
    return Outcome(
        f"{len(report.items)} measured, {billed} project(s) over the allowance",
        failures,
        [f"quota-monthly: {w}" for w in report.warnings],
        {"measured": len(report.items), "billed": billed, "unknown": len(unknown)},
    )


QUOTA_WEEKLY = Job(
    "quota-weekly", WEEKLY, _quota_weekly,
    "storage measured; above quota_warn_percent the lead and researchers (a workspace: its"
    " owner) are mailed once a week; unknown usage to the operator; metrics written",
)  # fmt: skip
QUOTA_MONTHLY = Job(
    "quota-monthly", MONTHLY, _quota_monthly,
    "storage measured; what exceeds the allowance is recorded as billable extra storage in"
    " policy steps",
)  # fmt: skip
