"""Reading contracts: files → problems (``check_files``) or typed ``Contract`` objects."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from provisioning.errors import ContractError
from provisioning.policy_model import Policy
from provisioning.validation.fields import FILE_PATH, Checker, Problem
from provisioning.validation.files import read_bytes
from provisioning.validation.yamlsafe import load_bytes

from . import adlimits, heavy_desktop, links, parse, rules
from .model import Contract
from .tokens import token_conflicts

__all__ = [
    "Problem",
    "check_files",
    "contract_files",
    "expand_paths",
    "load_contract",
    "load_contracts",
    "read_contracts",
]


def check_document(doc: Any, policy: Policy, c: Checker) -> parse.Draft:
    """Structure and every rule; the problems land in ``c``."""
    draft = parse.parse(doc, policy, c)
    rules.check(draft, policy, c)
    heavy_desktop.check(draft, policy, c)
    links.check(doc, draft, c)
    adlimits.check(draft, c)
    return draft


def _check_file(path: str, policy: Policy) -> tuple[list[Problem], Contract | None]:
    c = Checker(path)
    data = read_bytes(path, c)
    if data is None:
        return c.problems, None
    doc, problem = load_bytes(data)
    if problem is not None:
        c.add(FILE_PATH, problem.rule, problem.message)
        return c.problems, None
    if doc is None:
        c.add(FILE_PATH, "type", "the file is empty; expected a contract (a mapping)")
        return c.problems, None
    draft = check_document(doc, policy, c)
    if c.problems:
        return c.problems, None
    return [], _build(draft, path)


def _build(d: parse.Draft, source: str) -> Contract:
    from .model import Ossc

    ossc = d.ossc
    return Contract(
        project=d.project,  # type: ignore[arg-type]
        title=d.title,  # type: ignore[arg-type]
        status=d.status,  # type: ignore[arg-type]
        institution=d.institution,  # type: ignore[arg-type]
        start=d.start,  # type: ignore[arg-type]
        end=d.end,  # type: ignore[arg-type]
        retention_years=d.retention_years,  # type: ignore[arg-type]
        lead=d.lead,  # type: ignore[arg-type]
        researchers=tuple(p for p in d.researchers if p),
        observers=tuple(p for p in d.observers if p),
        file_subjects=tuple(g for g in d.file_subjects if g),
        software=tuple(s for s in d.software if s),
        extra_storage=tuple(e for e in d.extra_storage if e),
        ossc=Ossc(ossc.researchers, ossc.start, ossc.end) if ossc else None,
        suspensions=tuple(sorted((s for s in d.suspensions if s), key=lambda s: s.start)),
        heavy_desktop=tuple(h for h in d.heavy_desktop if h),
        moves_from=d.moves_from,
        transfers=tuple(t for t in d.transfers if t),
        reopens=d.reopens,
        source=source,
    )


def check_files(paths: list[str], policy: Policy) -> list[Problem]:
    """Every problem of every file (an empty list: all valid). Never raises for bad input."""
    return read_contracts([str(p) for p in paths], policy)[1]


def load_contract(path: str, policy: Policy) -> Contract:
    """The typed contract in ``path``; raises ``ContractError`` listing all its problems."""
    problems, contract = _check_file(str(path), policy)
    if problems or contract is None:
        raise ContractError(problems)
    return contract


#: Contract file suffixes, compared case-insensitively (``.YAML``, ``.Yml`` too).
SUFFIXES = (".yaml", ".yml")


def _directory_files(directory: Path) -> tuple[list[str], list[Problem]]:
    """Contract files of a directory, sorted: hidden files skipped, a symlink leading out of
    the directory refused without being read (only its name is reported)."""
    files: list[str] = []
    problems: list[Problem] = []
    try:
        root = directory.resolve(strict=True)
        entries = sorted(directory.iterdir())
    except OSError as e:
        why = e.strerror or type(e).__name__
        problems.append(Problem(str(directory), FILE_PATH, "file-missing", f"cannot list: {why}"))
        return files, problems
    for entry in entries:
        if entry.name.startswith(".") or entry.suffix.lower() not in SUFFIXES:
            continue
        if entry.is_symlink():
            try:
                inside = entry.resolve(strict=True).is_relative_to(root)
            except (OSError, RuntimeError):  # dangling or a loop
                inside = False
            if not inside:
                problems.append(
                    Problem(
                        str(entry),
                        FILE_PATH,
                        "file-symlink",
                        f"a symbolic link leading outside {directory}; refused, not read",
                    )
                )
                continue
        files.append(str(entry))
    if not files and not problems:
        problems.append(
            Problem(
                str(directory), FILE_PATH, "file-missing", "directory has no *.yaml/*.yml files"
            )
        )
    return files, problems


def _entries(paths_or_dirs: list[str]) -> list[str | Problem]:
    """Files and directory problems, in the order given (directories expanded)."""
    out: list[str | Problem] = []
    for item in paths_or_dirs:
        p = Path(item)
        if p.is_dir():
            files, problems = _directory_files(p)
            out += problems
            out += files
        else:
            out.append(str(item))
    return out


def contract_files(paths_or_dirs: list[str]) -> tuple[list[str], list[Problem]]:
    """Files as given; a directory stands for its contract files (see ``_directory_files``)."""
    entries = _entries(paths_or_dirs)
    return [e for e in entries if isinstance(e, str)], [
        e for e in entries if isinstance(e, Problem)
    ]


def expand_paths(paths_or_dirs: list[str]) -> list[str]:
    """The contract files of these files/directories (problems left to ``read_contracts``)."""
    return contract_files(paths_or_dirs)[0]


def read_contracts(
    paths_or_dirs: list[str],
    policy: Policy,
    applied: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[Contract], list[Problem]]:
    """The one loader of ``tre contract check``, ``plan`` and ``apply``.

    Returns the valid contracts and every problem of every file. Two files of one project
    both refuse (one line each); a token held by two different people (across the files, or
    against ``applied``: project → last applied contract) is one line per conflict.
    """
    problems: list[Problem] = []
    contracts: list[Contract] = []
    for path in _entries(paths_or_dirs):
        if isinstance(path, Problem):
            problems.append(path)
            continue
        found, contract = _check_file(path, policy)
        problems.extend(found)
        if contract is not None:
            contracts.append(contract)
    by_project: dict[str, list[Contract]] = {}
    for c in contracts:
        by_project.setdefault(c.project, []).append(c)
    for project, same in by_project.items():
        for c in same if len(same) > 1 else ():
            others = ", ".join(o.source for o in same if o is not c)
            problems.append(
                Problem(
                    c.source,
                    "project",
                    "project-unique",
                    f"project {project} is also in {others}; one contract per project",
                )
            )
    contracts = [c for c in contracts if len(by_project[c.project]) == 1]
    for k in token_conflicts(contracts, applied):
        g = k.given
        problems.append(Problem(g.where, g.path, "token-person", k.message()))
    bad = {p.file for p in problems}
    return [c for c in contracts if c.source not in bad], problems


def load_contracts(paths_or_dirs: list[str], policy: Policy) -> list[Contract]:
    """Every contract of these files/directories; ``ContractError`` with ALL problems of ALL
    files if any is invalid, or if two files claim the same project number."""
    contracts, problems = read_contracts(paths_or_dirs, policy)
    if problems:
        raise ContractError(problems)
    return contracts
