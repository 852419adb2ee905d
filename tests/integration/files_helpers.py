"""Shared set-up of the move and transfer lab tests (projects 8350-8399): an old project of
one institution, the new one of another that it moves to (same researchers, new accounts),
files written into the old one by its researcher (numeric ids, as the person)."""

from __future__ import annotations

import datetime
import hashlib
import os
from pathlib import Path
from typing import Any

from tests.integration.helpers import (
    ad_connection,
    ad_objects,
    clean_project,
    example_contract,
    write_contract,
)
from tests.integration.test_storage_access import as_person, resolved_groups

BEFORE = "2026-02-15"  # old project active, new one planned
MOVE_DAY = "2026-03-01"  # the new contract's start: the move
EUR = "Erasmus Universiteit Rotterdam"


def env_of(tmp_path: Path) -> dict[str, str]:
    return {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}


def new_contract(project: str, moves_from: str | None, **changes: Any) -> dict[str, Any]:
    """The small example as another institution's project from 2026-03-01 (its researchers
    now employed there), moving ``moves_from`` here."""
    base = example_contract("9001-small.yaml", project)
    people = [dict(r, employer=EUR) for r in base["researchers"]]
    doc = dict(
        base,
        institution={"name": EUR, "authorization_until": datetime.date(2028, 6, 30)},
        start=datetime.date(2026, 3, 1),
        end=datetime.date(2027, 6, 30),
        researchers=people,
        **changes,
    )
    if moves_from:
        doc["moves_from"] = int(moves_from)
    return doc


def write_contracts(tmp_path: Path, docs: list[dict[str, Any]]) -> Path:
    folder = tmp_path / "contracts"
    folder.mkdir(exist_ok=True)
    for doc in docs:
        write_contract(folder / f"{doc['project']}.yaml", doc)
    return folder


def clean(v: dict[str, Any], projects: list[str]) -> None:
    for p in projects:
        clean_project(v, p)


def people(v: dict[str, Any], projects: list[str]) -> dict[str, dict[str, Any]]:
    """The projects' accounts with uid, gid and the groups AD resolves for them."""
    conn = ad_connection(v)
    found: dict[str, dict[str, Any]] = {}
    for p in projects:
        found.update(ad_objects(conn, f"OU=P{p},{v['tre_ad_projects_ou']}"))
    for obj in found.values():
        if obj.get("uidNumber"):
            obj["groups"] = resolved_groups(conn, v["tre_ad_base_dn"], obj["dn"])
    return found


def write_as(person: dict[str, Any], path: Path, data: bytes) -> None:
    """Write a file as the person (their uid and groups), through the shell."""
    tmp = Path("/tmp") / f"tre-move-{os.getpid()}-{path.name}"
    tmp.write_bytes(data)
    tmp.chmod(0o644)
    try:
        done = as_person(person, "sh", "-c", f'mkdir -p "{path.parent}" && cat "{tmp}" > "{path}"')
        assert done.returncode == 0, done.stderr
    finally:
        tmp.unlink()


def tree(top: Path) -> dict[str, str]:
    """{relative path: sha256} of the regular files below ``top`` (links not followed)."""
    return {
        str(p.relative_to(top)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(top.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
