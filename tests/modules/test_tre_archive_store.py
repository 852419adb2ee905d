"""The archive store's local implementation (``tre_archive_store.LocalArchiveStore``) on the
test's own temporary directory: names that could leave the root refused, links never
followed, files 0600 and directories 0700 whatever the umask, the root made 0700, the
incoming bag renamed into place only when nothing is there. The SFTP implementation is tested
against the lab's archive host (tests/integration/test_archive_sftp.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import (
    LocalArchiveStore,
    StoreError,
    check_name,
    open_store,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "archive"
    path.mkdir(mode=0o700)
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize("name", ["", "/etc", "a/../b", "..", "a//b", "./a", "a/."])
def test_names_that_could_leave_the_root_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        check_name(name)


def test_a_bag_is_built_under_incoming_and_renamed_into_place(root: Path) -> None:
    store = LocalArchiveStore(str(root))
    old = os.umask(0)
    try:
        store.mkdir(".incoming-P7")
        store.mkdir(".incoming-P7/data")
        out = store.open_write(".incoming-P7/data/a.bin")
        out.write(b"x" * 10)
        out.close()
        store.set_times(".incoming-P7/data/a.bin", 1_000_000_000, 2_000_000_000)
        tag = store.open_write(".incoming-P7/tagmanifest-sha256.txt")
        tag.close()
    finally:
        os.umask(old)
    assert not store.is_complete("7")
    store.sync(".incoming-P7")
    store.rename(".incoming-P7", "P7")
    assert store.is_complete("7") and store.exists("7")
    assert _mode(root / "P7") == _mode(root / "P7" / "data") == 0o700
    assert _mode(root / "P7" / "data" / "a.bin") == 0o600
    assert os.stat(root / "P7" / "data" / "a.bin").st_mtime_ns == 2_000_000_000
    assert [(e.path, e.kind, e.size) for e in store.listing("7")] == [
        ("data", "dir", os.stat(root / "P7" / "data").st_size),
        ("data/a.bin", "file", 10),
        ("tagmanifest-sha256.txt", "file", 0),
    ]
    with store.open_read("7", "data/a.bin") as handle:
        assert handle.read() == b"x" * 10
    store.mkdir(".incoming-P7")
    with pytest.raises(StoreError, match="exists; refused"):
        store.rename(".incoming-P7", "P7")


def test_a_new_file_never_replaces_an_existing_one(root: Path) -> None:
    store = LocalArchiveStore(str(root))
    store.open_write("f").close()
    with pytest.raises(FileExistsError):
        store.open_write("f")


def test_links_are_never_followed(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"s")
    (root / "P8").mkdir()
    (root / "P8" / "data").symlink_to(outside)
    (root / "P8" / "leak").symlink_to(outside / "secret")
    store = LocalArchiveStore(str(root))
    kinds = {e.path: e.kind for e in store.listing("8")}
    assert kinds == {"data": "link", "leak": "link"}
    with pytest.raises(OSError):
        store.open_read("8", "leak")
    with pytest.raises(OSError):
        store.open_read("8", "data/secret")
    with pytest.raises(OSError):
        store.open_write("P8/data/new")
    assert not (outside / "new").exists()


def test_a_link_as_bag_or_root_is_refused(root: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (root / "P9").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(StoreError, match="not a directory"):
        LocalArchiveStore(str(root)).is_complete("9")
    (tmp_path / "linked-root").symlink_to(root)
    with pytest.raises(StoreError, match="not a directory"):
        LocalArchiveStore(str(tmp_path / "linked-root")).prepare_root()


def test_the_root_is_made_0700(root: Path) -> None:
    os.chmod(root, 0o755)
    store = LocalArchiveStore(str(root))
    assert store.prepare_root() == f"archive root {root} was 0755; set to 0700"
    assert _mode(root) == 0o700
    assert store.prepare_root() is None


def test_a_missing_root_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        LocalArchiveStore(str(tmp_path / "nope")).prepare_root()


def test_a_leftover_incoming_bag_is_removed_without_following_links(
    root: Path, tmp_path: Path
) -> None:
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "file").write_bytes(b"k")
    (root / ".incoming-P5" / "data").mkdir(parents=True)
    (root / ".incoming-P5" / "data" / "part").write_bytes(b"p")
    (root / ".incoming-P5" / "out").symlink_to(keep)
    store = LocalArchiveStore(str(root))
    assert store.remove_incoming("5")
    assert not (root / ".incoming-P5").exists()
    assert (keep / "file").read_bytes() == b"k"
    assert not store.remove_incoming("5")


def test_open_store_is_local_without_an_archive_host(root: Path) -> None:
    store = open_store({"archive_root": str(root), "archive_host": None})
    assert isinstance(store, LocalArchiveStore) and store.root == str(root)
