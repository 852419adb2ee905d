"""Moves and transfers between projects: their checks and their part of the desired state.

Pure (no clock, no I/O; docs/lifecycle.md, "Move" and "Transfer"):

- ``link_problems``: what the contract alone cannot show - the project moved from or
  transferred from exists (in the run, or in the state store for a transfer source), its
  institution, its status - one ``RevisionProblem`` (rule id, the key's path, one line) each;
- ``link_desired``: the run's desired state with the moves and transfers in force on
  ``today``: the old project N of a contract M with ``moves_from: N`` has ``status: moved``
  and ``moved_to: M`` from M's start (accounts disabled, no seat, no heavy desktop place, no
  catalogue reading, never archived); M's entry says ``moves_from: N``; M's ``transfers``
  from their ``from`` day, each with the paths already transferred (state store) so the
  module copies every file once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from .contract.model import Contract
from .contract.rules import same_employer
from .lifecycle import Life
from .revisions import RevisionProblem


def transfer_folder(nr: str) -> str:
    """The folder of a source project holding what is to be transferred to project ``nr``."""
    return f"Overzetten naar project {nr}"


def _life(c: Contract | Mapping[str, Any]) -> Life:
    return Life.of(c) if isinstance(c, Contract) else Life.of_stored(dict(c))


def _institution(c: Contract | Mapping[str, Any]) -> str | None:
    if isinstance(c, Contract):
        return c.institution.name
    return (c.get("institution") or {}).get("name")


def moves_in_force(contracts: list[Contract], today: date) -> dict[str, Contract]:
    """Old project → the contract it moved to, for moves whose start has come."""
    return {c.moves_from: c for c in contracts if c.moves_from and c.start <= today}


def moves_index(applied: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """Old project → (new project, its start) of every applied contract with ``moves_from``."""
    return {
        str(c["moves_from"]): (project, str(c["start"]))
        for project, c in applied.items()
        if c.get("moves_from")
    }


def moved_to(
    applied: Mapping[str, Mapping[str, Any]],
    number: str,
    day: date,
    index: Mapping[str, tuple[str, str]] | None = None,
) -> tuple[str, str] | None:
    """(new project, since) when ``number`` has moved by ``day`` (applied contracts; pass
    ``index`` = ``moves_index(applied)`` when asking for many projects)."""
    found = (moves_index(applied) if index is None else index).get(number)
    return found if found and found[1] <= day.isoformat() else None


def link_problems(
    contracts: list[Contract],
    applied: Mapping[str, Mapping[str, Any]],
    archived: set[str],
    today: date | None = None,
) -> list[RevisionProblem]:
    """Problems of the run's ``moves_from`` and ``transfers`` against the other projects.

    ``applied``: the state store's last applied contract per project; ``archived``: projects
    whose archive was made (their live data gone). With ``today``: a project that has moved
    (an applied contract moves it) is applied only together with its new project's contract
    (alone, its contract would enable its accounts again, or archive it at its end).
    """
    run = {c.project: c for c in contracts}
    known: dict[str, Contract | Mapping[str, Any]] = {**applied, **run}
    problems: list[RevisionProblem] = []
    index = moves_index(applied)
    for c in contracts if today else []:
        moved = moved_to(applied, c.project, today, index)  # type: ignore[arg-type]
        if moved and moved[0] not in run:
            problems.append(
                RevisionProblem(
                    c.project,
                    "moves-from-project",
                    f"moved to {moved[0]} on {moved[1]}: apply its contract together with"
                    f" {moved[0]}'s",
                )
            )
    for m in contracts:
        if m.moves_from:
            problems += _move_problems(m, run, known, archived)
        for i, t in enumerate(m.transfers):
            path = f"transfers[{i}]"
            source = known.get(t.from_project)
            if source is None:
                problems.append(
                    RevisionProblem(
                        m.project,
                        "transfer-project",
                        f"{path}.from_project: project {t.from_project} is neither in this run"
                        " nor in the state store",
                    )
                )
                continue
            status = _life(source).phase(t.start).status
            moved = moved_to(applied, t.from_project, t.start, index) or _moved_in_run(
                contracts, t.from_project, t.start
            )
            if status != "active" or moved or t.from_project in archived:
                what = "moved" if moved else "archived" if t.from_project in archived else status
                problems.append(
                    RevisionProblem(
                        m.project,
                        "transfer-source-active",
                        f"{path}.from: project {t.from_project} is {what} on {t.start}; files"
                        " are transferred from an active project",
                    )
                )
    return problems


def _moved_in_run(contracts: list[Contract], number: str, day: date) -> bool:
    return any(c.moves_from == number and c.start <= day for c in contracts)


def _move_problems(
    m: Contract,
    run: Mapping[str, Contract],
    known: Mapping[str, Contract | Mapping[str, Any]],
    archived: set[str],
) -> list[RevisionProblem]:
    n = str(m.moves_from)

    def problem(rule: str, message: str) -> list[RevisionProblem]:
        return [RevisionProblem(m.project, rule, f"moves_from: {message}")]

    if n not in run:
        where = "is only in the state store" if n in known else "is not known"
        return problem(
            "moves-from-project",
            f"project {n} {where}: apply its contract together with this one (the move"
            " disables its accounts and moves its folder)",
        )
    old = run[n]
    if same_employer(old.institution.name, m.institution.name):
        return problem(
            "moves-from-institution",
            f"project {n} is of the same institution; a move goes to another institution"
            " (within one, revise the contract instead)",
        )
    if n in archived or old.end < m.start:
        what = "was archived" if n in archived else f"ends on {old.end}"
        return problem(
            "moves-from-ended",
            f"project {n} {what}, before this contract's start {m.start}; an ended project is"
            " archived, not moved",
        )
    others = sorted(
        p
        for p, c in known.items()
        if p != m.project
        and str((c.moves_from if isinstance(c, Contract) else c.get("moves_from")) or "") == n
    )
    if others:
        return problem(
            "moves-from-twice",
            f"project {n} is already moved by project {others[0]}; a project moves once",
        )
    return []


def link_desired(
    desired: dict[str, Any],
    contracts: list[Contract],
    today: date,
    transferred: Mapping[str, Mapping[str, list[str]]] | None = None,
) -> dict[str, Any]:
    """The desired state with the moves and transfers in force on ``today`` (in place, and
    returned). ``transferred``: project → source project → paths already transferred."""
    moves = moves_in_force(contracts, today)
    entries = {p["project"]: p for p in desired["projects"]}
    gone: set[str] = set()  # accounts of moved projects: no seat, no heavy desktop place
    for n, m in moves.items():
        old = entries.get(n)
        if old is None:
            continue
        old["status"] = "moved"
        old["moved_to"] = m.project
        for account in old["accounts"]:
            account["enabled"] = False
            gone.add(account["sam"])
        old["storage"]["file_subjects"] = []
        entries[m.project]["moves_from"] = n
    for pool in [*desired["software"].values(), desired["heavy_desktop"]]:
        pool["members"] = [sam for sam in pool["members"] if sam not in gone]
    for subject in desired["subjects"].values():
        subject["projects"] = [p for p in subject["projects"] if p not in moves]
    done = transferred or {}
    for c in contracts:
        entry = entries[c.project]
        if entry["status"] not in ("active", "suspended"):
            continue  # a planned, ended or moved project receives nothing
        due = [t for t in c.transfers if t.start <= today]
        if due:
            entry["transfers"] = [
                {
                    "from_project": t.from_project,
                    "from": t.start.isoformat(),
                    "done": sorted((done.get(c.project) or {}).get(t.from_project) or []),
                }
                for t in due
            ]
    return desired


def links_of(
    applied: Mapping[str, Mapping[str, Any]],
    transfers: list[Mapping[str, Any]],
    number: str,
    day: date,
    index: Mapping[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """A project's links both ways for ``tre project show`` (applied contracts, ``transfers``
    rows): moved to / from, and the files transferred in and out per other project."""
    out: dict[str, Any] = {}
    moved = moved_to(applied, number, day, index)
    if moved:
        out["moved_to"] = {"project": moved[0], "since": moved[1]}
    own = applied.get(number) or {}
    if own.get("moves_from"):
        out["moved_from"] = {"project": str(own["moves_from"]), "since": str(own["start"])}
    for key, mine, other in (("transfers_in", "project", "from_project"),
                             ("transfers_out", "from_project", "project")):  # fmt: skip
        counts: dict[str, list[int]] = {}
        for row in transfers:
            if str(row[mine]) == number:
                tally = counts.setdefault(str(row[other]), [0, 0])
                tally[0] += 1
                tally[1] += int(row["size"])
        if counts:
            out[key] = [
                {"project": p, "files": n, "bytes": b} for p, (n, b) in sorted(counts.items())
            ]
    return out
