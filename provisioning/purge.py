"""``tre purge``: delete archives past their retention, exactly the planned ones.

docs/retention.md.

The dry run is ``plan`` (pure: ``retention.plan_purge`` over the state store). ``execute``
(``--yes``) under the apply lock:

1. **recovery** of a killed purge: rows still ``purging`` are inspected on the archive host -
   ``P<nr>`` whole and no tombstone: nothing happened, back to ``live-removed``; detached
   (``.purging-P<nr>``) or gone: the tombstone (if not yet written) and the delete below;
2. the plan again, and each archive **re-checked immediately before** it is marked
   ``purging`` (a fresh read of its row; the status moves only from ``live-removed``);
3. **detach** (``tre_archive_purge``: the manifest's SHA-256 must be the recorded one, no
   link followed, then ``rename`` to ``.purging-P<nr>``: the point of no return);
4. the **tombstone** in the ledger (``op purge``: project, manifest SHA-256, files, bytes, due
   date, who, when);
5. **delete** ``.purging-P<nr>`` and, in the same run, what is left of the project in AD (its
   accounts, groups and OU, ``tre_ad`` with ``absent: [accounts, groups, ou]``); status
   ``purged`` once the delete is confirmed.

A kill anywhere leaves either the whole archive (no tombstone) or the tombstone with the
archive detached or gone, which the next ``tre purge --yes`` finishes.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .archive_ops import PLAYBOOK, now, reopened, views
from .desired import purged_desired
from .errors import RunError
from .naming import project_group
from .orchestrate import close_interrupted
from .policy_model import Policy
from .retention import NOTICE_JOB, PurgePlan, plan_purge, skip_reasons, view
from .runner import RunResult, encode_confirmed, encode_desired, new_run_id, run_playbook
from .state import LedgerEntry, StateStore

#: Lab tests only: ``pause:<point>:<file>`` writes tre's pid to ``<file>`` at ``marked``
#: (rows marked purging), ``tombstoned`` (tombstones written, nothing deleted yet) or
#: ``ran-<n>`` (the n-th archive.yml run of this purge done, its changes not yet in the
#: ledger) and waits to be killed; the module's own points are ``detached`` and ``deleting``.
TEST_HOOK = "TRE_ARCHIVE_TEST_HOOK"


def _hook(point: str) -> None:
    value = os.environ.get(TEST_HOOK, "")
    if value.startswith(f"pause:{point}:"):
        Path(value.split(":", 2)[2]).write_text(str(os.getpid()))
        time.sleep(300)


def ad_steps(store: StateStore, projects: set[str]) -> list[dict[str, str]]:
    """What is left of these projects in AD that the purge may delete, from the state store's
    identity records (``{project, op, kind, name}``; the OU last): the run is bound to
    exactly these (tre_confirmed, docs/safety.md); anything else found is left alone."""
    steps = []
    records = store.identities().records
    for nr in sorted(projects, key=int):
        accounts = sorted(r.name for r in records if r.kind == "account" and r.project == nr)
        steps += [{"project": nr, "op": "delete", "kind": "account", "name": a} for a in accounts]
        steps += [{"project": nr, "op": "delete", "kind": "group", "name": project_group(nr, k)}
                  for k in ("members", "observers")]  # fmt: skip
        steps.append({"project": nr, "op": "delete", "kind": "ou", "name": f"P{nr}"})
    return steps


def plan(store: StateStore, policy: Policy, today: date) -> PurgePlan:
    p = plan_purge(views(store), today, policy, reopened(store, today))
    return dataclasses.replace(p, ad=ad_steps(store, {a.project for a, _ in p.purge}))


@dataclass
class PurgeResult:
    plan: PurgePlan
    purged: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # finished from a killed run
    released: list[str] = field(default_factory=list)  # a killed run's mark lifted (whole)
    late_skips: list[tuple[str, str]] = field(default_factory=list)  # changed since the plan
    refused: list[tuple[str, str]] = field(default_factory=list)  # (project, one line)
    ad_changes: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.plan.as_dict(),
            "purged": self.purged,
            "recovered": self.recovered,
            "released": self.released,
            "late_skips": [{"project": p, "reason": r} for p, r in self.late_skips],
            "refused": [{"project": p, "reason": r} for p, r in self.refused],
            "ad_deleted": [
                {"project": c.get("project"), "kind": c.get("kind"), "name": c.get("name")}
                for c in self.ad_changes
            ],
        }


class _Run:
    def __init__(self, inventory: Path, store: StateStore, home: Path, who: str, today: date):
        self.inventory, self.store, self.home, self.who, self.today = (
            inventory, store, home, who, today,
        )  # fmt: skip
        self.run_id = f"purge-{new_run_id()}"
        self.steps = 0

    def playbook(self, extravars: dict[str, Any], projects: list[str]) -> RunResult:
        """One run of archive.yml, in the runs table while it runs (a killed one is recorded
        from its journal by the next purge or apply: ``orchestrate.close_interrupted``); its
        changes go into the ledger under its own run id."""
        self.steps += 1
        step = f"{self.run_id}-{self.steps}"
        self.store.start_run(step, self.who, "purge", self.today.isoformat(), projects)
        result = None
        try:
            result = run_playbook(self.inventory, PLAYBOOK, extravars, check=False,
                                  home=self.home, run_id=step)  # fmt: skip
        finally:
            if result is None:
                self.store.finish_run(step, "error", None)
        _hook(f"ran-{self.steps}")
        self.ledger(result.changes, step)
        self.store.finish_run(step, "successful" if result.ok else "failed", result.artifacts)
        return result

    def ledger(self, changes: list[dict[str, Any]], run_id: str) -> None:
        self.store.record(
            [
                LedgerEntry(
                    now(),
                    self.who,
                    run_id,
                    c.get("project"),
                    c.get("host"),
                    str(c.get("op")),
                    str(c.get("kind")),
                    c.get("name"),
                    {k: v for k, v in c.items() if k not in ("project", "host", "op", "kind")},
                )  # fmt: skip
                for c in changes
            ]
        )

    def tombstone(self, row: dict[str, Any], recovered: bool = False) -> None:
        if row.get("purged_at"):
            return  # written before the kill
        detail = {
            "manifest_sha256": row.get("manifest_sha256"),
            "files": row.get("files"),
            "bytes": row.get("bytes"),
            "due": row.get("due_on"),
            "location": row.get("location"),
            "retention_years": row.get("retention_years"),
            "purged_on": self.today.isoformat(),
        }
        if recovered:
            detail["recovered"] = True
        at = now()
        self.store.record_tombstone(
            row["project"], self.who, at, self.today.isoformat(), self.run_id, detail
        )


def _states(result: RunResult) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in result.tasks:
        for project, state in (t.data.get("archive_state") or {}).items():
            if out.get(project) in (None, "gone"):  # a host that has it wins over "gone"
                out[project] = state
    return out


def _failed(result: RunResult, what: str) -> None:
    if not result.ok:
        why = result.failures[0] if result.failures else result.status
        raise RunError(f"{what} failed: {why}")


def execute(
    inventory: Path, store: StateStore, policy: Policy, today: date, home: Path, who: str
) -> PurgeResult:
    """``tre purge --yes`` (the caller holds the apply lock)."""
    close_interrupted(store, home)  # killed runs' journaled changes into the ledger
    run = _Run(inventory, store, home, who, today)
    out = PurgeResult(plan(store, policy, today))
    _recover(run, out)
    out.plan = plan(store, policy, today)  # after the recovery: the same set as the dry run
    contracts = store.applied_contracts()
    notices = store.job_records(NOTICE_JOB)
    again = reopened(store, today)
    marked = []
    for a, _why in out.plan.purge:  # re-checked immediately before: a fresh read of the row
        row = store.archive(a.project)
        fresh = view(row, contracts.get(a.project), notices) if row else None
        reasons = ["its archive row is gone"] if fresh is None else []
        reasons = reasons or skip_reasons(fresh, today, policy, again)  # type: ignore[arg-type]
        if not reasons and fresh.manifest_sha256 != a.manifest_sha256:  # type: ignore[union-attr]
            reasons = ["its manifest SHA-256 changed since the plan"]
        if reasons or not store.mark_purging(a.project, run.run_id, now()):
            out.late_skips.append((a.project, "; ".join(reasons) or "its status changed"))
            continue
        marked.append(a)
    _hook("marked")
    if marked:
        detach = [{"project": a.project, "manifest_sha256": a.manifest_sha256} for a in marked]
        result = run.playbook({"tre_archive_detach": detach}, [a.project for a in marked])
        states = _states(result)
        refused = {str(r["project"]): r["reason"] for t in result.tasks
                   for r in t.data.get("archive_refused") or []}  # fmt: skip
        done = {c["project"] for c in result.changes if c.get("op") == "detach"}
        for a in marked:
            if a.project in done or states.get(a.project) == "detached":
                run.tombstone(store.archive(a.project))  # type: ignore[arg-type]
                out.purged.append(a.project)
            elif result.ok:  # refused: left whole, as it was
                store.unmark_purging(a.project, now())
                out.refused.append((a.project, refused.get(a.project, "not detached")))
            # else left ``purging``: the next run's recovery looks at the disk
        _failed(result, "detaching archives")
    _hook("tombstoned")
    _delete(run, out)
    return out


def _recover(run: _Run, out: PurgeResult) -> None:
    rows = [r for r in run.store.archives() if r["status"] == "purging"]
    if not rows:
        return
    projects = [r["project"] for r in rows]
    result = run.playbook({"tre_archive_inspect": projects}, projects)
    _failed(result, "inspecting the archives of an interrupted purge")
    states = _states(result)
    for row in rows:
        state = states.get(row["project"], "unknown: no archive host reported it")
        if state == "whole" and not row.get("purged_at"):
            run.store.unmark_purging(row["project"], now())
            out.released.append(row["project"])
        elif state in ("detached", "gone"):
            run.tombstone(row, recovered=True)
            out.recovered.append(row["project"])
        else:
            out.refused.append((row["project"], f"interrupted purge: archive {state}"))


def _delete(run: _Run, out: PurgeResult) -> None:
    """Delete every detached archive with a tombstone, and the AD remains of every purged
    project not yet cleaned, in one run of archive.yml."""
    rows = run.store.archives()
    pending = [r["project"] for r in rows if r["status"] == "purging" and r.get("purged_at")]
    ad = {r["project"] for r in rows if r.get("purged_at") and not r.get("ad_removed_on")}
    if not pending and not ad:
        return
    extravars: dict[str, Any] = {}
    if pending:
        extravars["tre_archive_delete"] = pending
    contracts = {p: c for p, c in run.store.applied_contracts().items() if p in ad}
    if contracts:
        desired = purged_desired(contracts, run.today, run.store.identities())
        extravars["tre_desired_b64"] = encode_desired(desired)
        extravars["tre_confirmed_b64"] = encode_confirmed(ad_steps(run.store, set(contracts)))
    result = run.playbook(extravars, sorted(set(pending) | ad, key=int))
    states = _states(result)
    deleted = {
        c["project"]
        for c in result.changes
        if (c.get("op"), c.get("kind")) == ("delete", "archive")
    }
    for project in pending:
        if project in deleted or states.get(project) == "gone":
            run.store.finish_purge(project, now())
    out.ad_changes = [c for c in result.changes if c.get("kind") in ("account", "group", "ou")]
    if contracts and result.ok:
        for project in contracts:
            run.store.record_ad_removed(project, run.today.isoformat(), now())
    _failed(result, "deleting purged archives")
