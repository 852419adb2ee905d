"""tre_archive's pure and local parts: manifest path encoding, sizes, the safe walk of a
project folder, a bag written and read back (on the test's own temporary directory), the
state rows derived from the changes, and the plan lines. The lab tests
(tests/integration/test_archive*.py) run it on btrfs end to end."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_archive_bag as bag_mod
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_walk import (
    WalkError,
    open_project,
    walk,
)

from cli.render import change_line
from provisioning.state.archives import archive_updates


@pytest.mark.parametrize(
    "name",
    ["plain.txt", "100% zeker.txt", "regel\neinde", "café/ü.csv", os.fsdecode(b"bad-\xff.bin")],
)
def test_manifest_paths_round_trip(name: str) -> None:
    encoded = bag_mod.encode_path(name)
    assert "\n" not in encoded and "\r" not in encoded
    assert bag_mod.decode_path(encoded) == name


def test_size_gb_rounds_up_whole_gb() -> None:
    sizes = [0, 1, 10**9, 10**9 + 1, 2_500_000_000]
    assert [bag_mod.size_gb(n) for n in sizes] == [0, 1, 1, 2, 3]


def _project(tmp_path: Path) -> Path:
    top = tmp_path / "projects" / "P7899"
    for sub in ("archive/deep/er", "OtherData", "export"):
        (top / sub).mkdir(parents=True)
    (top / "archive" / "deep" / "er" / "a.txt").write_text("a")
    (top / "OtherData" / "b.bin").write_bytes(b"\0" * 10)
    (top / "export" / "never.txt").write_text("not archived")
    (tmp_path / "outside.txt").write_text("outside")
    (top / "archive" / "link").symlink_to(tmp_path / "outside.txt")
    (top / "archive" / "deep" / "dirlink").symlink_to(tmp_path)
    os.mkfifo(top / "OtherData" / "fifo")
    return top


def test_walk_reads_only_regular_files_inside(tmp_path: Path) -> None:
    _project(tmp_path)
    fd = open_project(str(tmp_path / "projects"), "7899")
    try:
        found = walk(fd)
    finally:
        os.close(fd)
    assert found.files == [("archive/deep/er/a.txt", 1), ("OtherData/b.bin", 10)]
    assert sorted(found.skipped) == [
        ("OtherData/fifo", "a FIFO"),
        ("archive/deep/dirlink", "a symbolic link"),
        ("archive/link", "a symbolic link"),
    ]


def test_a_linked_selection_folder_or_project_is_never_followed(tmp_path: Path) -> None:
    top = _project(tmp_path)
    os.rename(top / "OtherData", tmp_path / "elsewhere")
    (top / "OtherData").symlink_to(tmp_path / "elsewhere")
    fd = open_project(str(tmp_path / "projects"), "7899")
    try:
        assert ("OtherData", "a symbolic link") in walk(fd).skipped
    finally:
        os.close(fd)
    (tmp_path / "projects" / "P7898").symlink_to(top)
    with pytest.raises(WalkError):
        open_project(str(tmp_path / "projects"), "7898")
    assert open_project(str(tmp_path / "projects"), "7897") is None


def test_bag_written_then_verified_and_a_flipped_byte_found(tmp_path: Path) -> None:
    top = _project(tmp_path)
    with zipfile.ZipFile(top / "archive" / "prep.zip", "w") as z:
        z.writestr("volgend project/x.csv", "1\n")
        z.writestr("elders/volgend project/y.csv", "not top-level\n")
    (tmp_path / "archive").mkdir(mode=0o700)
    fd = open_project(str(tmp_path / "projects"), "7899")
    try:
        location = bag_mod.write_bag(fd, str(tmp_path / "archive"), "7899", {"Project": "7899"})
    finally:
        os.close(fd)
    assert bag_mod.is_complete(str(tmp_path / "archive"), "7899")
    assert not (tmp_path / "archive" / ".incoming-P7899").exists()
    bag = bag_mod.verify(str(tmp_path / "archive"), "7899")
    assert (bag.location, bag.files, bag.follow_up, bag.skipped) == (location, 3, 1, 3)
    assert bag.archive_bytes == (top / "archive" / "prep.zip").stat().st_size + 1
    assert (
        (Path(location) / "volgend-project.txt")
        .read_text()
        .startswith("archive/prep.zip\tvolgend project/x.csv\t2\n")
    )
    data = Path(location) / "data" / "OtherData" / "b.bin"
    data.write_bytes(b"\1" + b"\0" * 9)
    with pytest.raises(bag_mod.ArchiveError, match="1 of 3 file"):
        bag_mod.verify(str(tmp_path / "archive"), "7899")
    data.write_bytes(b"\0" * 10)
    (Path(location) / "data" / "extra").write_text("x")
    with pytest.raises(bag_mod.ArchiveError, match="1 not in it"):
        bag_mod.verify(str(tmp_path / "archive"), "7899")
    os.unlink(Path(location) / "data" / "extra")
    (Path(location) / "data" / "sneaky").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(bag_mod.ArchiveError, match="not a regular file"):
        bag_mod.verify(str(tmp_path / "archive"), "7899")


def test_a_partial_bag_is_discarded_and_a_complete_one_never_overwritten(tmp_path: Path) -> None:
    _project(tmp_path)
    root = tmp_path / "archive"
    (root / ".incoming-P7899" / "data").mkdir(parents=True)
    (root / ".incoming-P7899" / "data" / "half").write_text("killed here")
    fd = open_project(str(tmp_path / "projects"), "7899")
    try:
        bag_mod.write_bag(fd, str(root), "7899", {})
        assert not (root / "P7899" / "data" / "half").exists()
        with pytest.raises(bag_mod.ArchiveError, match="not a complete archive"):
            bag_mod.write_bag(fd, str(root), "7899", {})
    finally:
        os.close(fd)


def test_state_rows_follow_the_changes() -> None:
    changes = [
        {"project": "7", "op": "archive", "kind": "archive", "path": "/a", "after": {}},
        {
            "project": "7",
            "op": "verify",
            "kind": "archive",
            "after": {"location": "/a/P7", "manifest_sha256": "ab", "files": 2, "bytes": 5},
        },
        {"project": "7", "op": "remove", "kind": "subvolume", "name": "P7"},
        {"project": "7", "op": "create", "kind": "folder", "name": "P7/archive"},
    ]
    verified = [
        {"project": "7", "result": "ok", "at": "T1"},
        {"project": "8", "result": "failed: x", "at": "T2"},
    ]
    updates = archive_updates(changes, verified, "2027-02-01", "NOW")
    assert [(p, f.get("status")) for p, f in updates] == [
        ("7", "copied"),
        ("7", "verified"),
        ("7", "live-removed"),
        ("8", None),
    ]
    assert updates[0][1]["archived_on"] == "2027-02-01"
    assert updates[1][1]["verified_at"] == "T1" and updates[1][1]["manifest_sha256"] == "ab"
    assert updates[3][1] == {"verify_result": "failed: x", "verified_at": "T2"}


def test_plan_lines_of_the_archive() -> None:
    archive = {"op": "archive", "kind": "archive", "name": "P7310", "path": "/srv/a/P7310"}
    archive["after"] = {"files": 3, "bytes": 1_200_000_000, "skipped": 0}
    assert change_line(archive) == "  > archive P7310 (3 files, 1.2 GB) to /srv/a/P7310"
    remove = {"op": "remove", "kind": "subvolume", "name": "P7310"}
    assert change_line(remove) == "  - remove subvolume P7310 after verified archive"


def test_a_journaled_failed_verification_updates_only_the_result() -> None:
    """What a killed run's recovery passes among its done changes (the module journals a
    failed verification at once): the verify result, never the status ``verified``."""
    journaled = {
        "project": "7",
        "op": "verify",
        "kind": "archive",
        "name": "P7",
        "path": "sftp://a/P7",
        "result": "failed: archive of P7: 1 of 3 file(s) differ",
        "at": "T3",
    }
    assert archive_updates([journaled], [], "2027-02-01", "NOW") == [
        (
            "7",
            {"verify_result": "failed: archive of P7: 1 of 3 file(s) differ", "verified_at": "T3"},
        )
    ]
