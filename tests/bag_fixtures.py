"""Bags written directly with the archive module's bag writer (``tre_archive_bag.write_bag``),
for the retention tests that need archives but not a whole project's end: a small project
folder (``archive/`` and ``OtherData/``) in a scratch directory, bagged into ``archive_root``."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from ansible_collections.tre.secenv.plugins.module_utils import tre_archive_bag as bag_mod
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_walk import open_project

FILES = {"archive/results.zip": b"PK-not-really-a-zip " * 50, "OtherData/notes.txt": b"notes\n"}


def make_bag(archive_root: Path, project: str, files: dict[str, bytes] | None = None) -> Path:
    """``<archive_root>/P<project>`` as tre_archive writes it; returns its path."""
    with tempfile.TemporaryDirectory(prefix="tre-bag-") as tmp:
        top = Path(tmp) / f"P{project}"
        for rel, data in (files or FILES).items():
            (top / rel).parent.mkdir(parents=True, exist_ok=True)
            (top / rel).write_bytes(data)
        fd = open_project(tmp, project)
        try:
            info = {"Project": project, "Archived-On": "2027-02-01"}
            return Path(bag_mod.write_bag(fd, str(archive_root), project, info))
        finally:
            os.close(fd)


def manifest_sha256(bag: Path) -> str:
    return hashlib.sha256((bag / bag_mod.MANIFEST).read_bytes()).hexdigest()


def remove(archive_root: Path, project: str) -> None:
    """A test's own leftovers (``P<nr>``, ``.purging-P<nr>``, ``.incoming-P<nr>``)."""
    for name in (f"P{project}", f".purging-P{project}", f".incoming-P{project}"):
        path = archive_root / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
