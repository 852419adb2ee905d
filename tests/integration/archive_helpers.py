"""Shared set-up of the archive lab tests (projects 7800-7849): a small project applied while
active, files put into its folders as researchers would, and what the archive must hold."""

from __future__ import annotations

import hashlib
import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from tests.integration.helpers import (
    clean_project,
    example_contract,
    lab_vars,
    tre,
    write_contract,
)

ACTIVE = "2026-12-01"  # the example's period: 2026-02-01 .. 2027-01-31
ENDED = "2027-02-01"


def set_up(tmp_path: Path, project: str) -> tuple[dict[str, Any], dict[str, str], Path]:
    """Clean, then apply the two-researcher example as project ``project`` while active."""
    v = lab_vars()
    clean_project(v, project)  # AD, storage and the archive
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    path = write_contract(
        tmp_path / f"{project}.yaml", example_contract("9001-small.yaml", project)
    )
    tre("apply", str(path), "--today", ACTIVE, "--yes", env=env)
    return v, env, path


def folder(v: dict[str, Any], project: str) -> Path:
    return Path(v["tre_projects_root"]) / f"P{project}"


def put_files(v: dict[str, Any], project: str, zip_bytes: int = 200_000) -> dict[str, str]:
    """Files as researchers leave them; returns {archived path: sha256} of what must be kept."""
    top = folder(v, project)
    with zipfile.ZipFile(top / "archive" / "resultaten.zip", "w") as z:
        z.writestr("volgend project/cohort.csv", "id,jaar\n1,2026\n")
        z.writestr("volgend project/syntax/model.do", "regress y x\n")
        z.writestr("rapport.txt", os.urandom(zip_bytes).hex())
    (top / "archive" / "sub dir").mkdir()
    (top / "archive" / "sub dir" / "notities 100%.txt").write_text("café\n")
    (top / "OtherData" / "data.bin").write_bytes(os.urandom(3_000_000))
    (top / "OtherData" / "leeg.txt").write_bytes(b"")
    (top / "export" / "not-archived.csv").write_text("export is never archived\n")
    workspace = Path(v["tre_workspaces_root"]) / f"p{project}.jdevries"
    (workspace / "personal.txt").write_text("workspaces are never archived\n")
    kept = {}
    for sub in ("archive", "OtherData"):
        for p in sorted((top / sub).rglob("*")):
            if p.is_file() and not p.is_symlink():
                kept[str(p.relative_to(top))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return kept


def bag_files(bag: Path) -> dict[str, str]:
    """{path below data/: sha256} of what the archive holds, read independently."""
    data = bag / "data"
    return {
        str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data.rglob("*"))
        if p.is_file()
    }


def qgroup_ids(v: dict[str, Any]) -> set[str]:
    out = subprocess.run(
        ["btrfs", "qgroup", "show", "--raw", v["tre_projects_root"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split()[0] for line in out.splitlines() if line[:1].isdigit()}


def subvolume_id(path: Path) -> str:
    out = subprocess.run(
        ["btrfs", "subvolume", "show", str(path)], capture_output=True, text=True, check=True
    ).stdout
    ident = next(ln.split(":")[1].strip() for ln in out.splitlines() if "Subvolume ID" in ln)
    return f"0/{ident}"
