"""One plan or apply: contracts → checks → desired state → Ansible run → state store.

This is the only place that ties the pure domain to the runner and the store; the CLI calls
``prepare`` then ``plan`` or ``apply``.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .archiving import archived, mark_copying, record_archives
from .contract.gate import require_runnable
from .contract.model import Contract
from .contract.tokens import token_conflicts
from .desired import build_desired_state, mark_purged, revision_of
from .errors import InventoryError, RevisionError, RunError, StateError
from .identity import issued_by_run
from .inventory import load_inventory
from .lifecycle import status_on
from .policy_model import Policy
from .process import wait_for_run
from .project_links import link_desired, link_problems
from .reopening import add_restores, reopen_problems
from .retention import due_on
from .revisions import RevisionProblem, check_revision, retention_change
from .runner import RunResult, TaskResult, journal_entries, new_run_id, run_site
from .state import LedgerEntry, StateStore
from .state.lock import apply_lock  # noqa: F401  (the apply lock; cli/cmd_run.py takes it here)


@dataclass(frozen=True)
class Prepared:
    contracts: list[Contract]
    desired: dict[str, Any]
    today: date
    #: Revision problems let through by ``--force``; apply records each in the ledger.
    forced: tuple[RevisionProblem, ...] = ()


def actor(proc: Path = Path("/proc")) -> str:
    """Who runs tre, for the runs table and the ledger: ``alice``, ``root (sudo by alice)``.

    The user of the real uid (not ``$USER``/``$SUDO_USER``: anyone can set those). When that
    is root and tre's parent is sudo, also the user who ran sudo: the sudo process's real uid.
    """
    name = _user_name(os.getuid())
    if os.getuid() != 0:
        return name
    caller = _sudo_caller(proc / str(os.getppid()))
    return f"{name} (sudo by {caller})" if caller else name


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _sudo_caller(parent: Path) -> str | None:
    """The user who started ``parent`` if it is sudo (its real uid), else None."""
    try:
        if Path(os.readlink(parent / "exe")).name != "sudo":
            return None
        status = (parent / "status").read_text()
    except OSError:
        return None
    uids = [line.split()[1] for line in status.splitlines() if line.startswith("Uid:")]
    if not uids or not uids[0].isdigit() or int(uids[0]) == 0:
        return None
    return _user_name(int(uids[0]))


def check_inventory(inventory: Path | None) -> Path:
    """The inventory must be complete before a run (docs/inventory.md): every group has a host
    and every setting is there. Ansible itself would run an unparsable inventory as an empty
    one and report "no changes". There is no default inventory: it is configured."""
    if inventory is None:
        raise InventoryError(
            'no inventory set: pass --inventory DIR, set TRE_INVENTORY, or put inventory = "DIR"'
            " in /etc/tre/tre.toml ($TRE_CONFIG); `tre lab up` writes one for the lab"
        )
    if not (inventory / "hosts.yml").is_file():
        raise InventoryError(
            f"no inventory at {inventory} (hosts.yml missing): run 'tre lab up' or pass"
            " --inventory DIR"
        )
    load_inventory(inventory)
    return inventory


def prepare(
    contracts: list[Contract],
    policy: Policy,
    today: date,
    store: StateStore,
    force: bool = False,
) -> Prepared:
    """Refuse unapproved contracts and revisions that break a rule; build the desired state.

    ``force`` lets the forceable problems through (a late extension); they are returned in
    ``Prepared.forced`` for the ledger.
    """
    require_runnable(contracts)
    problems: list[RevisionProblem] = []
    grants: dict[str, list[str]] = {}
    for c in contracts:
        last = store.last_revision(c.project)
        problems += check_revision(c, last["contract"] if last else None, today, policy)
        row = store.archive(c.project)
        done = bool(row and row["status"] in ("live-removed", "purging", "purged"))
        problems += retention_change(c, last["contract"] if last else None, done)
        if last:
            grants[c.project] = [s["name"] for s in last["contract"].get("file_subjects", [])]
    applied = store.applied_contracts()
    for k in token_conflicts(contracts, applied):  # one token, one person
        problems.append(RevisionProblem(k.given.project, "token-person", k.message()))
    archives = {a["project"]: a for a in store.archives()}
    gone = {p for p, a in archives.items() if a["status"] == "live-removed"}
    problems += link_problems(contracts, applied, gone, today)  # moves, transfers
    problems += reopen_problems(contracts, applied, archives, today)  # issue 12
    forced = tuple(p for p in problems if force and p.forceable)
    problems = [p for p in problems if p not in forced]
    if problems:
        raise RevisionError(problems)
    desired = build_desired_state(contracts, policy, today, store.identities(), grants)
    mark_purged(desired, {p for p, a in archives.items() if a["status"] == "purged"})
    link_desired(desired, contracts, today, store.transferred())
    add_restores(desired, contracts, store)  # the archive of a reopened project (issue 12)
    return Prepared(contracts, desired, today, forced)


def plan(prepared: Prepared, inventory: Path | None, home: Path) -> RunResult:
    """Check mode: what an apply would change; changes nothing."""
    result = run_site(check_inventory(inventory), prepared.desired, check=True, home=home)
    if not result.ok:
        raise RunError(f"plan failed: {result.failures[0]}")
    return result


@dataclass
class Interrupted:
    """Applies killed half-way, and their changes whose outcome the next plan must tell."""

    run_ids: list[str]
    pending: list[tuple[dict[str, Any], dict[str, Any]]]  # (run row, change)


#: How long the next apply waits for the processes of a killed run to end (seconds).
RUN_END_WAIT = 600.0


def close_interrupted(
    store: StateStore,
    home: Path,
    say: Callable[[str], None] | None = None,
    wait_seconds: float = RUN_END_WAIT,
) -> Interrupted:
    """Mark applies that were killed half-way and record what they had done.

    The modules journal each change as they apply it (``<run>/journal/*.jsonl``): changes
    journaled as done go into the ledger now, marked ``recovered``; changes that were under
    way when the kill came are returned as pending for ``confirm_pending``.

    A module that was running when tre was killed goes on to the end of its batch (only the
    playbook dies with tre, ``provisioning.process``): its journal is read only once no
    process of the run is left. ``say`` gets one line when that takes a while; after
    ``wait_seconds`` the apply stops (``RunError``) and the run stays ``running``.
    """
    runs = store.interrupted_runs()
    _wait_for_runs([r["run_id"] for r in runs], say, wait_seconds)
    pending: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for run in runs:
        if not store.run_recorded(run["run_id"]):
            done, unsure = journal_entries(home / "runs" / run["run_id"])
            store.record(
                [_entry(run["run_id"], run["actor"], dict(c, recovered=True)) for c in done]
            )
            _issue(store, run["run_id"], done, None, {})
            record_archives(store, run["run_id"], run["actor"], run.get("today", ""), done)
            store.record_transfers(run["run_id"], done)
            pending += [(run, c) for c in unsure]
        store.finish_run(run["run_id"], "interrupted", str(home / "runs" / run["run_id"]))
    return Interrupted([r["run_id"] for r in runs], pending)


def _wait_for_runs(
    run_ids: list[str], say: Callable[[str], None] | None, wait_seconds: float
) -> None:
    if not run_ids:
        return
    alive = wait_for_run(run_ids, limit=wait_seconds, say=say)
    if alive:
        raise RunError(
            f"processes of interrupted run {run_ids[0]} are still running after"
            f" {wait_seconds:.0f} s (pid {', '.join(map(str, alive[:5]))}): apply again when"
            " they have ended, or end them and apply again"
        )


def _what(change: dict[str, Any]) -> tuple[Any, ...]:
    return (change.get("project"), change.get("op"), change.get("kind"), change.get("name"))


def confirm_pending(
    store: StateStore, interrupted: Interrupted, planned: RunResult, projects: list[str]
) -> int:
    """Record the pending changes of killed runs that really happened.

    A change that was under way when the run was killed happened if the plan made now (over
    the same projects) no longer asks for it. Changes of projects outside this run stay
    unconfirmed (not recorded). Returns how many were recorded.
    """
    still_needed = {_what(c) for c in planned.changes}
    happened = [
        _entry(run["run_id"], run["actor"], dict(change, recovered=True))
        for run, change in interrupted.pending
        if change.get("project") in projects and _what(change) not in still_needed
    ]
    store.record(happened)
    for run, change in interrupted.pending:
        if change.get("project") in projects and _what(change) not in still_needed:
            record_archives(store, run["run_id"], run["actor"], run.get("today", ""), [change])
            store.record_transfers(run["run_id"], [change])
    return len(happened)


def apply(
    prepared: Prepared,
    inventory: Path | None,
    home: Path,
    store: StateStore,
    force: bool = False,
    planned: RunResult | None = None,
    on_run: Callable[[str], None] | None = None,
) -> RunResult:
    """Real run; the ledger gets exactly the changes the modules report as done.

    When ``planned`` (the check-mode run just shown) has no changes, nothing is run again:
    the revision is recorded against the plan's run. ``on_run`` gets the run id once the
    run is started (the apply lock names it, ``Held.running``).
    """
    inventory = check_inventory(inventory)
    who = actor()
    projects = [c.project for c in prepared.contracts]
    if planned is not None and planned.ok and not planned.changes:
        store.start_run(planned.run_id, who, "apply", prepared.today.isoformat(), projects)
        _save_revisions(prepared, store, planned.run_id, {u["project"] for u in planned.unsafe})
        store.finish_run(planned.run_id, "no-change", planned.artifacts)
        return planned
    run_id = new_run_id()
    store.start_run(run_id, who, "apply", prepared.today.isoformat(), projects)
    if on_run is not None:
        on_run(run_id)
    mark_copying(store, run_id, planned.changes if planned is not None else [])
    result: RunResult | None = None
    try:
        result = run_site(
            inventory,
            prepared.desired,
            check=False,
            home=home,
            force=force,
            run_id=run_id,
            confirmed=planned.changes if planned is not None else None,
        )
    finally:
        if result is None:
            store.finish_run(run_id, "error", None)
    try:
        store.record([_entry(run_id, who, c) for c in result.changes])
        today = prepared.today.isoformat()
        record_archives(store, run_id, who, today, result.changes, result.archive_verified)
        store.record_transfers(run_id, result.changes)
    except StateError as e:
        _mark(store, run_id, "unrecorded", result.artifacts)
        raise StateError(f"{e}; the next apply records run {run_id} from its journal") from None
    try:
        kept = _issue(
            store, run_id, result.changes, result.ad_ids if result.ok else None, prepared.desired
        )
        if kept:
            result.tasks.append(TaskResult("state", "identities", True, False, warnings=kept))
        if result.ok:
            _save_revisions(prepared, store, run_id, {u["project"] for u in result.unsafe})
    except StateError:
        _mark(store, run_id, "failed", result.artifacts)
        raise
    store.finish_run(run_id, "successful" if result.ok else "failed", result.artifacts)
    if not result.ok:
        raise RunError(f"apply failed: {result.failures[0]} (run {run_id})")
    return result


def _issue(
    store: StateStore,
    run_id: str,
    changes: list[dict[str, Any]],
    ids: dict[str, Any] | None,
    desired: dict[str, Any],
) -> list[str]:
    """Record the names and numbers the run issued (never changed afterwards).

    Returns one line per new identity refused because its record conflicts with an existing
    one (the existing record is kept and the AD module restores AD from it next run).
    """
    return [
        f"identity record kept: {line}"
        for line in store.issue(issued_by_run(changes, ids, desired), run_id)
    ]


def _mark(store: StateStore, run_id: str, status: str, artifacts: str) -> None:
    """Best effort after a state-store failure; if even this write fails, the run stays
    ``running`` and the next apply's recovery (``close_interrupted``) handles it."""
    with suppress(StateError):
        store.finish_run(run_id, status, artifacts)


def _save_revisions(
    prepared: Prepared, store: StateStore, run_id: str, unsafe: set[str] | None = None
) -> None:
    """Record the applied revisions; an unsafe project's stays unsaved so the next apply
    retries it."""
    by_project = {p["project"]: p for p in prepared.desired["projects"]}
    who = actor()
    for c in prepared.contracts:
        if c.project in (unsafe or set()):
            continue
        store.record(
            [
                _entry(
                    run_id,
                    who,
                    {
                        "project": p.project,
                        "op": "force",
                        "kind": "revision",
                        "name": p.rule,
                        "revision": revision_of(c),
                        "message": p.message,
                    },
                )
                for p in prepared.forced
                if p.project == c.project
            ]
        )
        summary = _summary(c, by_project[c.project], prepared.today)
        if archived(store, c.project):  # its live data is gone: a state of what was done
            summary["status"] = "archived"
        store.save_revision(summary, revision_of(c), run_id, c.source, dataclasses.asdict(c))
        if store.archive(c.project) is not None:  # the due date (docs/retention.md)
            due = due_on(c.end, c.retention_years).isoformat()
            store.set_retention(c.project, c.retention_years, due, _now())


def _entry(run_id: str, who: str, change: dict[str, Any]) -> LedgerEntry:
    detail = {k: v for k, v in change.items() if k not in ("project", "host", "op", "kind")}
    return LedgerEntry(
        at=change.get("at") or _now(),
        actor=who,
        run_id=run_id,
        project=change.get("project"),
        host=change.get("host"),
        op=str(change.get("op", "?")),
        kind=str(change.get("kind", "?")),
        name=change.get("name"),
        detail=detail,
    )


def _summary(contract: Contract, desired: dict[str, Any], today: date) -> dict[str, Any]:
    """The project's row in the state store: its status computed on the run's ``today``."""
    ossc = desired.get("ossc") or {}
    return {
        "project": contract.project,
        "title": contract.title,
        "start": contract.start.isoformat(),
        "end": contract.end.isoformat(),
        "retention_years": contract.retention_years,
        "status": desired.get("status") or status_on(contract, today),  # moved: project_links
        "status_on": today.isoformat(),
        "ossc_end": ossc.get("end"),
        "ossc_destruction_deadline": ossc.get("destruction_deadline"),
    }


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")
