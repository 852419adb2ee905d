"""Reading contracts: files → problems (``check_files``) or typed ``Contract`` objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioning.errors import ContractError
from provisioning.policy_model import Policy

from . import parse, rules
from .fields import FILE_PATH, Checker, Problem
from .model import Contract
from .yamlsafe import MAX_BYTES, load_bytes

__all__ = ["Problem", "check_files", "expand_paths", "load_contract", "load_contracts"]


def read_bytes(path: str, c: Checker, what: str = "a contract") -> bytes | None:
    """The file's bytes, or ``None`` with a problem (missing, a directory, unreadable, huge)."""
    p = Path(path)
    try:
        if not p.is_file():
            if p.is_dir():
                state = "is a directory"
            elif p.exists():
                state = "is not a regular file"
            else:
                state = "does not exist"
            c.add(FILE_PATH, "file-missing", f"{state}; expected {what} YAML file")
            return None
        with p.open("rb") as f:
            return f.read(MAX_BYTES + 1)
    except OSError as e:
        c.add(FILE_PATH, "file-missing", f"cannot be read: {e.strerror or type(e).__name__}")
        return None


def check_document(doc: Any, policy: Policy, c: Checker) -> parse.Draft:
    """Structure and every rule; the problems land in ``c``."""
    draft = parse.parse(doc, policy, c)
    rules.check(draft, policy, c)
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
        source=source,
    )


def check_files(paths: list[str], policy: Policy) -> list[Problem]:
    """Every problem of every file (an empty list: all valid). Never raises for bad input."""
    problems: list[Problem] = []
    for path in paths:
        problems.extend(_check_file(str(path), policy)[0])
    return problems


def load_contract(path: str, policy: Policy) -> Contract:
    """The typed contract in ``path``; raises ``ContractError`` listing all its problems."""
    problems, contract = _check_file(str(path), policy)
    if problems or contract is None:
        raise ContractError(problems)
    return contract


def expand_paths(paths_or_dirs: list[str]) -> list[str]:
    """Files as given; a directory stands for its ``*.yaml``/``*.yml`` files, sorted."""
    out: list[str] = []
    for item in paths_or_dirs:
        p = Path(item)
        if p.is_dir():
            out.extend(
                str(f) for f in sorted(p.iterdir()) if f.suffix in (".yaml", ".yml") and f.is_file()
            )
        else:
            out.append(str(item))
    return out


def load_contracts(paths_or_dirs: list[str], policy: Policy) -> list[Contract]:
    """Every contract of these files/directories; ``ContractError`` with ALL problems of ALL
    files if any is invalid, or if two files claim the same project number."""
    problems: list[Problem] = []
    contracts: list[Contract] = []
    seen: dict[str, str] = {}
    for path in expand_paths(paths_or_dirs):
        found, contract = _check_file(path, policy)
        problems.extend(found)
        if contract is None:
            continue
        if contract.project in seen:
            problems.append(
                Problem(
                    path,
                    "project",
                    "project-unique",
                    f"project {contract.project} is also in {seen[contract.project]}",
                )
            )
            continue
        seen[contract.project] = path
        contracts.append(contract)
    if problems:
        raise ContractError(problems)
    return contracts
