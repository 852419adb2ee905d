"""Reopen an ended project from its archive (issue 12; docs/lifecycle.md#reopen).

A NEW contract M with ``reopens: N`` is set up like any project and N's archive is restored
into ``P<M>/restored`` (``tre.secenv.tre_restore``, docs/storage.md#restore). Pure: the
caller passes what the state store holds (applied contracts, archive rows, whether a restore
is recorded) and ``today``.

Refused before a run, one line each (``RevisionProblem``, ``project M: ... [rule]``):

- ``reopen-not-ended``: N has not ended on ``today`` (its last applied revision);
- ``reopen-no-archive``: N has no archive whose live data is gone (never archived, still
  being archived, or purged), or N was never applied here;
- ``reopen-running``: another contract K already reopens N and K has not ended (in the store,
  or in the same run);
- ``reopens-fixed``: ``reopens`` added to, changed in or dropped from a project already
  applied (a reopen is a new contract; the quote and billing follow its first revision).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from .contract.model import Contract
from .lifecycle import Life
from .revisions import RevisionProblem

#: An archive row status that means "archived": verified and the live data removed.
ARCHIVED = "live-removed"


def _ended(contract: Mapping[str, Any], today: date) -> bool:
    return Life.of_stored(contract).phase(today).status == "ended"


def reopen_problems(
    contracts: Iterable[Contract],
    applied: Mapping[str, Mapping[str, Any]],
    archives: Mapping[str, Mapping[str, Any]],
    today: date,
) -> list[RevisionProblem]:
    """Problems of the run's contracts with ``reopens`` (and of the key's revisions).

    ``applied``: project -> last applied contract (``dataclasses.asdict`` form);
    ``archives``: project -> archive row.
    """
    run = list(contracts)
    problems: list[RevisionProblem] = []
    in_run = {c.project for c in run}
    for c in run:
        before = applied.get(c.project)
        if before is not None and (before.get("reopens") or None) != c.reopens:
            was = before.get("reopens")
            problems.append(
                RevisionProblem(
                    c.project,
                    "reopens-fixed",
                    f"reopens cannot change once the project is applied (was {was or 'none'},"
                    f" now {c.reopens or 'none'}); a reopen is a new contract",
                )
            )
            continue
        if c.reopens is None:
            continue
        n = c.reopens
        old = applied.get(n)
        if old is None:
            problems.append(
                RevisionProblem(
                    c.project,
                    "reopen-no-archive",
                    f"project {n} to reopen was never applied here, so it has no archive",
                )
            )
            continue
        if not _ended(old, today):
            problems.append(
                RevisionProblem(
                    c.project,
                    "reopen-not-ended",
                    f"project {n} to reopen has not ended on {today} (it ends {old['end']});"
                    " only an ended, archived project is reopened",
                )
            )
            continue
        row = archives.get(n)
        if row is None or row.get("status") != ARCHIVED:
            state = "no archive" if row is None else f"its archive is {row.get('status')}"
            problems.append(
                RevisionProblem(
                    c.project,
                    "reopen-no-archive",
                    f"project {n} to reopen has {state}; only a project whose archive is made"
                    " and verified (status archived) is reopened",
                )
                if row is None or row.get("status") != "purged"
                else RevisionProblem(
                    c.project,
                    "reopen-no-archive",
                    f"project {n} to reopen was purged; its archive is gone",
                )
            )
            continue
        others = [
            (k, kc) for k, kc in applied.items() if k not in in_run and kc.get("reopens") == n
        ]
        others += [
            (o.project, {"start": o.start, "end": o.end})
            for o in run
            if o is not c and o.reopens == n
        ]
        for k, kc in others:
            if not _ended(kc, today):
                problems.append(
                    RevisionProblem(
                        c.project,
                        "reopen-running",
                        f"project {n} is already reopened as {k}, which runs until"
                        f" {kc['end']}; one reopen at a time",
                    )
                )
                break
    return problems


def restore_entry(
    contract: Contract, archive: Mapping[str, Any] | None, restored: bool
) -> dict[str, Any] | None:
    """The ``restore`` part of M's desired project entry, or None.

    Present while the restore of ``contract.reopens`` is not recorded in the ledger
    (``restored``); names the archive's manifest SHA-256 as the state store recorded it when
    the archive was verified, so the module restores only from that very bag.
    """
    if contract.reopens is None or restored or archive is None:
        return None
    return {
        "from_project": contract.reopens,
        "manifest_sha256": archive.get("manifest_sha256"),
        "files": archive.get("files"),
        "bytes": archive.get("bytes"),
    }


def links(applied: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per project number its reopen links from the applied contracts: ``reopens`` (the
    project it reopened) and ``reopened_as`` (the projects that reopened it, by start)."""
    out: dict[str, dict[str, Any]] = {}
    for m, c in sorted(applied.items(), key=lambda kv: str(kv[1].get("start"))):
        n = c.get("reopens")
        if n:
            out.setdefault(m, {})["reopens"] = str(n)
            out.setdefault(str(n), {}).setdefault("reopened_as", []).append(
                {"project": m, "start": str(c["start"])}
            )
    return out


def reopened_on(link: Mapping[str, Any] | None, day: date) -> dict[str, Any] | None:
    """The latest reopen (``{project, start}``) in force on ``day``: its start is on or
    before ``day``. An archived project then shows ``reopened as M`` since M's start."""
    started = [r for r in (link or {}).get("reopened_as", []) if r["start"] <= day.isoformat()]
    return started[-1] if started else None


def restore_recorded(store: Any, project: str, of_project: str) -> bool:
    """Whether the ledger records M's restore of N's archive (done once, never again)."""
    name = f"P{of_project}"
    return any(e.op == "restore" and e.name == name for e in store.ledger(project))


def add_restores(desired: dict[str, Any], contracts: Iterable[Contract], store: Any) -> None:
    """Put ``restore`` into the desired entry of every reopening project that is set up
    (planned, active, suspended) and whose restore the ledger does not record yet."""
    entries = {p["project"]: p for p in desired.get("projects", [])}
    for c in contracts:
        entry = entries.get(c.project)
        if c.reopens is None or entry is None or entry.get("status") == "ended":
            continue
        done = restore_recorded(store, c.project, c.reopens)
        restore = restore_entry(c, store.archive(c.reopens), done)
        if restore is not None:
            entry["restore"] = restore


def with_links(row: dict[str, Any], link: Mapping[str, Any] | None, day: date) -> dict[str, Any]:
    """A project row (``tre project show/list``) with its reopen links both ways, and an
    archived project's status ``reopened as M`` from M's start."""
    if not link:
        return row
    row = dict(row)
    if link.get("reopens"):
        row["reopens"] = link["reopens"]
    if link.get("reopened_as"):
        row["reopened_as"] = [r["project"] for r in link["reopened_as"]]
    latest = reopened_on(link, day)
    if latest is not None and row.get("status") == "archived":
        row.update(
            status=f"reopened as {latest['project']}",
            status_since=latest["start"],
            status_until=None,
        )
    return row


def shown_day(store: Any, link: Mapping[str, Any] | None, day: date) -> date:
    """The day ``tre project show N`` judges N's status on: N's last apply's ``--today``, or
    a later one of a project that reopened it (an archived project is applied no more, so its
    own day would never reach the reopen)."""
    days = [day]
    for r in (link or {}).get("reopened_as", []):
        row = store.project(r["project"])
        if row and row.get("status_on"):
            days.append(date.fromisoformat(row["status_on"]))
    return max(days)
