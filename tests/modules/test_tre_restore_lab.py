"""Hostile restores on the lab's btrfs (``-m lab``, project 8340): the new project's folder is
a real subvolume with a qgroup limit and the project folder's default ACL, the quota headroom
read by the real btrfs backend. Each hostile zip is refused with nothing written anywhere
(the folder, its parent, the test's outside directory are compared before and after), or
contained (10,000 tiny files, below the zip's own folder). The whole flow through `tre apply`
is tests/integration/test_reopen.py."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_restore_run as run
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_bag import write_bag
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import (
    LocalArchiveStore,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_walk import open_project
from ansible_collections.tre.secenv.plugins.module_utils.tre_quota_backend import get_backend
from ansible_collections.tre.secenv.plugins.module_utils.tre_zip_check import Limits

from tests.integration.helpers import lab_vars
from tests.modules import zip_makers as zm

pytestmark = pytest.mark.lab

NEW, OLD = "8340", "8349"
QUOTA = 64 << 20


def _run(argv: list[str]) -> tuple[int, str, str]:
    done = subprocess.run(argv, capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def target(lab_inventory):
    """``P8340`` as tre_storage makes it: a subvolume, a 64 MiB limit, a default ACL."""
    root = Path(lab_vars()["tre_projects_root"])
    folder = root / f"P{NEW}"
    if folder.exists():
        subprocess.run(
            ["btrfs", "subvolume", "delete", str(folder)], check=True, capture_output=True
        )
    subprocess.run(["btrfs", "subvolume", "create", str(folder)], check=True, capture_output=True)
    subprocess.run(["btrfs", "qgroup", "limit", str(QUOTA), str(folder)], check=True)
    subprocess.run(["setfacl", "-m", "d:g:65533:rwx,g:65533:rwx", str(folder)], check=True)
    yield root, folder
    subprocess.run(["btrfs", "subvolume", "delete", str(folder)], check=True, capture_output=True)


def _bag(tmp_path: Path, zips: dict[str, bytes]) -> tuple[LocalArchiveStore, str]:
    old = tmp_path / "src" / f"P{OLD}"
    (old / "archive").mkdir(parents=True)
    for name, data in zips.items():
        (old / "archive" / name).write_bytes(data)
    (tmp_path / "archive").mkdir()
    fd = open_project(str(tmp_path / "src"), OLD)
    try:
        write_bag(fd, str(tmp_path / "archive"), OLD, {"Project": OLD})
    finally:
        os.close(fd)
    manifest = (tmp_path / "archive" / f"P{OLD}" / "manifest-sha256.txt").read_bytes()
    return LocalArchiveStore(str(tmp_path / "archive")), hashlib.sha256(manifest).hexdigest()


def _restore(root: Path, store, sha: str, limits: Limits | None = None) -> run.Report:
    entry = {
        "project": NEW,
        "status": "active",
        "storage": {"quota_bytes": QUOTA},
        "restore": {"from_project": OLD, "manifest_sha256": sha},
    }
    rep = run.Report()
    backend = get_backend("btrfs", _run)
    run.restore_project(entry, str(root), store, backend, limits or Limits(), None, False, rep)
    return rep


def _names(folder: Path, outside: Path) -> set[str]:
    """Everything below the folder and the test's own directory, and the projects root's
    entries (the lab lock keeps other tests out while this runs)."""
    found = {str(p) for top in (folder, outside) for p in top.rglob("*")}
    return found | {str(p) for p in folder.parent.iterdir()}


@pytest.mark.parametrize(
    ("maker", "reason"),
    [
        (zm.zip_slip, "a '..' component"),
        (zm.absolute, "an absolute path"),
        (zm.symlink_out, "a symbolic link"),
        (zm.device, "a character device"),
        (lambda: zm.bomb(100 << 20), f"P{NEW} has"),  # honest sizes, past the quota
        (lambda: zm.lying(real=100 << 20, declared=1000), "unreadable"),  # lying sizes
    ],
    ids=["zip-slip", "absolute", "symlink-out", "device", "bomb-past-quota", "bomb-lying"],
)
def test_hostile_zip_refused_nothing_written(target, tmp_path, maker, reason) -> None:
    root, folder = target
    store, sha = _bag(tmp_path, {"evil.zip": maker()})
    before = _names(folder, tmp_path)
    rep = _restore(root, store, sha)
    assert rep.changes == []
    (failed,) = rep.failed
    assert reason in failed["reason"] and "archive/evil.zip" in failed["reason"]
    assert "\n" not in failed["reason"]
    assert _names(folder, tmp_path) == before
    assert not Path("/tmp/tre-restore-absolute.txt").exists()


def test_ten_thousand_tiny_files_are_contained(target, tmp_path) -> None:
    root, folder = target
    store, sha = _bag(tmp_path, {"tiny.zip": zm.many_tiny(10_000)})
    before = _names(folder, tmp_path)
    rep = _restore(root, store, sha)
    assert not rep.failed and rep.changes[0]["after"]["entries"] == 10_000
    unpacked = folder / "restored" / "archive" / "tiny" / "tiny"
    assert len(list(unpacked.iterdir())) == 10_000
    new = _names(folder, tmp_path) - before
    inside = [n for n in new if n == f"{folder}/restored" or n.startswith(f"{folder}/restored/")]
    assert new and set(inside) == new  # nothing written anywhere else
    acl = subprocess.run(
        ["getfacl", "-n", str(unpacked / "00000.txt")], capture_output=True, text=True
    ).stdout
    assert re.search(r"group:65533:rwx\s+#effective:rw-", acl), acl  # the default ACL, mask rw
    again = _restore(root, store, sha)
    assert again.changes == [] and not again.failed  # restored already: nothing to do
