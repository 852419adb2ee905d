"""``drift`` (a plan of every applied contract; hand-made differences mailed to the operator)
and ``reconcile`` (apply every contract, when the configuration turns it on).

Drift is what differs from what tre's last apply made: each project is planned with its last
applied revision as on the day of that apply (``status_on``), so a change the date alone
brings (a first day, a suspension month, the end) is not drift; a contract revision not yet
applied is reported as such, not planned. Nothing is changed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from provisioning.contract.model import Contract
from provisioning.desired import revision_of
from provisioning.orchestrate import (
    apply,
    apply_lock,
    close_interrupted,
    confirm_pending,
    plan,
    prepare,
)

from .framework import Job, JobContext, JobSettings, Outcome
from .notify import Notice, deliver
from .schedule import DAILY


def _what(change: dict) -> str:
    name = change.get("name") or change.get("dn") or change.get("path") or ""
    keys = ""
    before, after = change.get("before"), change.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        keys = ", ".join(sorted(k for k in after if before.get(k) != after.get(k)))
    return f"{change.get('op', '?')} {change.get('kind', '?')} {name}" + (
        f" ({keys})" if keys else ""
    )


def drift_groups(ctx: JobContext) -> tuple[dict[date, list[Contract]], list[str]]:
    """Applied contracts by the day of their last apply; lines for the others."""
    groups: dict[date, list[Contract]] = defaultdict(list)
    other = []
    for c in ctx.contracts:
        last = ctx.store.last_revision(c.project)
        row = ctx.store.project(c.project)
        if last is None or row is None or not row.get("status_on"):
            other.append(f"project {c.project}: not applied yet")
        elif last["revision"] != revision_of(c):
            other.append(f"project {c.project}: a revision not applied yet")
        else:
            groups[date.fromisoformat(row["status_on"])].append(c)
    return groups, other


def _drift(ctx: JobContext, period: str) -> Outcome:
    groups, other = drift_groups(ctx)
    changes = []
    for day, contracts in sorted(groups.items()):
        prepared = prepare(contracts, ctx.policy, day, ctx.store)
        changes += plan(prepared, ctx.inventory, ctx.home).changes
    operator = (ctx.operator(),) if changes else ()  # an address is needed only to report
    notices = [
        Notice(f"{c.get('project')}:{_what(c)}", period, operator,
               {"project": c.get("project") or "", "what": _what(c)})
        for c in changes
    ]  # fmt: skip
    d = deliver("drift", "drift", notices, ctx.store, ctx.mailer, period)
    planned = sum(len(c) for c in groups.values())
    return Outcome(
        f"{planned} project(s) planned in {len(groups)} run(s), {len(notices)} difference(s),"
        f" {d.mails} mail(s)",
        d.failures,
        other,
        {"planned": planned, "differences": len(notices), "mails": d.mails},
    )


def _reconcile(ctx: JobContext, period: str) -> Outcome:
    with apply_lock(ctx.home):
        prepared = prepare(ctx.contracts, ctx.policy, ctx.today, ctx.store)
        interrupted = close_interrupted(ctx.store, ctx.home)
        planned = plan(prepared, ctx.inventory, ctx.home)
        if interrupted.pending:
            projects = [c.project for c in prepared.contracts]
            confirm_pending(ctx.store, interrupted, planned, projects)
        result = apply(prepared, ctx.inventory, ctx.home, ctx.store, planned=planned)
    failures = [
        f"reconcile: project {u['project']}: {u['reason']}; left unchanged" for u in result.unsafe
    ]
    return Outcome(
        f"{len(prepared.contracts)} contract(s) applied, {len(result.changes)} change(s)"
        f" (run {result.run_id})",
        failures,
        figures={"changes": len(result.changes), "run_id": result.run_id},
    )


DRIFT = Job(
    "drift", DAILY, _drift,
    "a plan of every applied contract; hand-made differences (AD, ACLs, quotas) mailed to the"
    " operator; nothing changed",
)  # fmt: skip
RECONCILE = Job(
    "reconcile", DAILY, _reconcile,
    "apply every contract, so date-driven changes happen on their day (off unless configured)",
    enabled=lambda s: s.reconcile,
)  # fmt: skip

__all__ = ["DRIFT", "RECONCILE", "JobSettings"]
