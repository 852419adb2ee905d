"""tre_restore's local parts on the test's own directory: a real bag written by tre_archive's
code, restored byte for byte with its zips unpacked; every hostile zip refused before anything
is written; the quota headroom; a second run restores nothing; a killed run's staging folder
discarded. The lab tests (tests/integration/test_reopen*.py) run it on btrfs end to end."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_restore_run as run
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_bag import write_bag
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import (
    LocalArchiveStore,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_walk import open_project
from ansible_collections.tre.secenv.plugins.module_utils.tre_zip_check import Limits

from cli.render import change_line
from tests.modules import zip_makers as zm

OLD, NEW = "7390", "7391"


class Usage:
    """The quota backend's usage reading (the only part of it the restore plan reads)."""

    def __init__(self, used: int = 0) -> None:
        self.used = used

    def read_all(self, root: str) -> dict[str, tuple[int, int | None]]:
        return {os.path.join(root, f"P{NEW}"): (self.used, None)}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bag(tmp_path: Path, zips: dict[str, bytes]) -> tuple[LocalArchiveStore, str, dict]:
    projects = tmp_path / "projects"
    old = projects / f"P{OLD}"
    (old / "archive").mkdir(parents=True)
    (old / "OtherData").mkdir()
    for name, data in zips.items():
        (old / "archive" / name).write_bytes(data)
    (old / "OtherData" / "data.bin").write_bytes(os.urandom(5000))
    kept = {str(p.relative_to(old)): _sha(p) for p in sorted(old.rglob("*")) if p.is_file()}
    (tmp_path / "archive").mkdir()
    fd = open_project(str(projects), OLD)
    try:
        write_bag(fd, str(tmp_path / "archive"), OLD, {"Project": OLD})
    finally:
        os.close(fd)
    manifest = (tmp_path / "archive" / f"P{OLD}" / "manifest-sha256.txt").read_bytes()
    (projects / f"P{NEW}").mkdir()
    return LocalArchiveStore(str(tmp_path / "archive")), hashlib.sha256(manifest).hexdigest(), kept


def _entry(sha: str, quota: int = 10**9) -> dict:
    return {
        "project": NEW,
        "status": "active",
        "storage": {"quota_bytes": quota},
        "restore": {"from_project": OLD, "manifest_sha256": sha},
    }


def _restore(tmp_path, store, entry, used=0, limits=None, check=False) -> run.Report:
    rep = run.Report()
    limits = limits or Limits()
    root = str(tmp_path / "projects")
    run.restore_project(entry, root, store, Usage(used), limits, None, check, rep)
    return rep


def _everything(tmp_path: Path) -> set[str]:
    return {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")}


def test_restore_byte_for_byte_with_the_zip_unpacked_then_nothing(tmp_path: Path) -> None:
    store, sha, kept = _bag(tmp_path, {"resultaten.zip": zm.ordinary()})
    plan = _restore(tmp_path, store, _entry(sha), check=True)
    assert [c["after"]["files"] for c in plan.changes] == [2] and not plan.failed
    assert change_line(plan.changes[0]) == (
        f"  > restore {OLD} → P{NEW}/restored (2 files; 3 entries from 1 zip(s))"
    )
    assert not (tmp_path / "projects" / f"P{NEW}" / "restored").exists()  # a plan writes nothing

    done = _restore(tmp_path, store, _entry(sha))
    assert done.changes == plan.changes and not done.failed
    restored = tmp_path / "projects" / f"P{NEW}" / "restored"
    assert {k: _sha(restored / k) for k in kept} == kept  # the zip back byte for byte
    assert (
        restored / "archive" / "resultaten" / "volgend project" / "cohort.csv"
    ).read_bytes() == (b"id,jaar\n1,2026\n")
    assert oct(restored.stat().st_mode & 0o777) == "0o770"
    assert oct((restored / "OtherData" / "data.bin").stat().st_mode & 0o777) == "0o660"
    assert not list((tmp_path / "projects" / f"P{NEW}").glob(".restoring-*"))

    again = _restore(tmp_path, store, _entry(sha))
    assert again.changes == [] and not again.failed  # restored once: the marker says so


@pytest.mark.parametrize(
    ("maker", "reason"),
    [
        (zm.zip_slip, "a '..' component"),
        (zm.absolute, "an absolute path"),
        (zm.symlink_out, "a symbolic link"),
        (zm.device, "a character device"),
        (lambda: zm.lying(real=1 << 20, declared=100), "unreadable"),
        (lambda: zm.many_tiny(11), "11 entries; at most 10"),
        (lambda: b"PK\x03\x04 not a zip at all", "not a readable zip"),
    ],
)
def test_a_hostile_zip_refuses_the_restore_before_writing(tmp_path: Path, maker, reason) -> None:
    store, sha, _ = _bag(tmp_path, {"good.zip": zm.ordinary(), "evil.zip": maker()})
    before = _everything(tmp_path)
    rep = _restore(tmp_path, store, _entry(sha), limits=Limits(max_entries=10))
    assert rep.changes == []
    (failed,) = rep.failed
    assert failed["project"] == NEW and "archive/evil.zip" in failed["reason"]
    assert reason in failed["reason"] and "\n" not in failed["reason"]
    assert _everything(tmp_path) == before  # nothing written, anywhere
    assert not Path("/tmp/tre-restore-absolute.txt").exists()


def test_a_zip_bomb_past_the_quota_refuses_before_writing(tmp_path: Path) -> None:
    store, sha, _ = _bag(tmp_path, {"bom.zip": zm.bomb(64 << 20)})
    before = _everything(tmp_path)
    rep = _restore(tmp_path, store, _entry(sha, quota=100 << 20), used=50 << 20)
    (failed,) = rep.failed
    assert f"P{NEW} has {50 << 20} bytes of its quota free" in failed["reason"]
    assert f"zip archive/bom.zip of P{OLD} unpacks to {64 << 20} bytes" in failed["reason"]
    assert _everything(tmp_path) == before
    stage = tmp_path / "projects" / f"P{NEW}" / f".restoring-P{OLD}"
    stage.mkdir()
    (stage / "half.bin").write_bytes(b"\0" * (1 << 20))  # a killed run's, counted in the usage
    fits = _restore(tmp_path, store, _entry(sha, quota=(64 << 20) + 100_000), used=1 << 20)
    assert not fits.failed  # the leftover is deleted first, so its bytes are headroom


def test_the_manifest_must_be_the_recorded_one(tmp_path: Path) -> None:
    store, sha, _ = _bag(tmp_path, {"a.zip": zm.ordinary()})
    rep = _restore(tmp_path, store, _entry("0" * 64))
    assert "is not the one recorded when it was verified" in rep.failed[0]["reason"]
    data = tmp_path / "archive" / f"P{OLD}" / "data" / "OtherData" / "data.bin"
    data.write_bytes(b"changed")
    assert "differs from its manifest" in _restore(tmp_path, store, _entry(sha)).failed[0]["reason"]
    assert not (tmp_path / "projects" / f"P{NEW}" / "restored").exists()
    assert not list((tmp_path / "projects" / f"P{NEW}").iterdir())  # staging removed


def test_a_foreign_restored_folder_or_a_killed_staging_folder(tmp_path: Path) -> None:
    store, sha, kept = _bag(tmp_path, {"a.zip": zm.ordinary()})
    new = tmp_path / "projects" / f"P{NEW}"
    (new / "restored").mkdir()
    assert "is not the restore of" in _restore(tmp_path, store, _entry(sha)).failed[0]["reason"]
    (new / "restored").rmdir()
    stage = new / f".restoring-P{OLD}"
    stage.mkdir()
    (stage / "half.bin").write_bytes(b"x")  # a killed run's leftover
    (tmp_path / "secret").write_text("kept")
    (stage / "out").symlink_to(tmp_path / "secret")
    assert not _restore(tmp_path, store, _entry(sha)).failed
    assert {k: _sha(new / "restored" / k) for k in kept} == kept
    assert not stage.exists() and (tmp_path / "secret").read_text() == "kept"


def test_a_staging_folder_that_is_a_link_is_removed_not_followed(tmp_path: Path) -> None:
    store, sha, _ = _bag(tmp_path, {"a.zip": zm.ordinary()})
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "projects" / f"P{NEW}" / f".restoring-P{OLD}").symlink_to(outside)
    assert not _restore(tmp_path, store, _entry(sha)).failed
    assert list(outside.iterdir()) == []


def test_the_desired_restore_part_is_validated() -> None:
    from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import validate

    def problems(restore) -> list[str]:
        return validate({"projects": [{"project": NEW, "restore": restore}]})

    assert problems({"from_project": OLD, "manifest_sha256": "a" * 64}) == []
    assert problems({"from_project": NEW, "manifest_sha256": "a" * 64}) == [
        f"project {NEW}: bad restore from_project '{NEW}'"
    ]
    assert problems({"from_project": "../1", "manifest_sha256": "a" * 64})
    assert problems({"from_project": OLD, "manifest_sha256": None}) == [
        f"project {NEW}: restore of P{OLD} has no recorded manifest SHA-256"
    ]
    assert problems("P7310") == [f"project {NEW}: restore is not a mapping"]


def test_a_staging_link_to_a_big_folder_gives_no_quota_headroom(tmp_path: Path) -> None:
    """A researcher of the new project plants .restoring-P<N> as a link to a big folder they
    do not own: the link is unlinked before writing, so the folder's bytes free nothing and
    must not count as headroom (nor be walked outside P<M>)."""
    store, sha, _ = _bag(tmp_path, {"bom.zip": zm.bomb(64 << 20)})
    big = tmp_path / "someone-elses"
    big.mkdir()
    (big / "large.bin").write_bytes(b"\0" * (80 << 20))
    (tmp_path / "projects" / f"P{NEW}" / f".restoring-P{OLD}").symlink_to(big)
    rep = _restore(tmp_path, store, _entry(sha, quota=20 << 20), used=0)
    (failed,) = rep.failed
    assert f"P{NEW} has {20 << 20} bytes of its quota free" in failed["reason"]
    assert (big / "large.bin").stat().st_size == 80 << 20
    assert not (tmp_path / "projects" / f"P{NEW}" / "restored").exists()


def test_a_fifo_planted_as_the_marker_never_hangs_the_run(tmp_path: Path) -> None:
    """M's researchers can write in ``restored/`` (0770, their groups): a FIFO in place of
    ``.tre-restore`` must not block every later plan and apply on an open() that waits for
    a writer; the restore is refused, one line."""
    import threading

    store, sha, _ = _bag(tmp_path, {"a.zip": zm.ordinary()})
    restored = tmp_path / "projects" / f"P{NEW}" / "restored"
    restored.mkdir()
    os.mkfifo(restored / ".tre-restore")
    reports: list[run.Report] = []
    worker = threading.Thread(
        target=lambda: reports.append(_restore(tmp_path, store, _entry(sha), check=True)),
        daemon=True,
    )
    worker.start()
    worker.join(10)
    hung = worker.is_alive()
    if hung:  # release the blocked open() so the test run itself ends
        os.close(os.open(restored / ".tre-restore", os.O_WRONLY | os.O_NONBLOCK))
        worker.join(10)
    assert not hung, "the restore blocked on a FIFO named .tre-restore"
    (failed,) = reports[0].failed
    assert "is not the restore of" in failed["reason"]
