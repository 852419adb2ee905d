"""Writing a planned restore (``tre_restore_run.plan_restore``) into the project folder.

Everything is written under ``P<M>/.restoring-P<N>`` (made 0700 by root; a leftover of a killed
run, or whatever else has that name, is deleted first - a link is unlinked, never followed),
every directory and file made relative to its parent's descriptor (``O_NOFOLLOW``, files
``O_EXCL``, modes 0770/0660), each archived file hashed while copied and compared with the
manifest, each zip entry's real bytes counted while written; then the marker, ``syncfs``, the
copies read back (pages dropped), ``chmod 0770`` and ``renameat2(RENAME_NOREPLACE)`` to
``restored``. Any failure deletes the staging folder (docs/storage.md#restore).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import stat
import time
import zipfile

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_bag import ArchiveError
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import bag_name
from ansible_collections.tre.secenv.plugins.module_utils.tre_zip_check import copy_entry

MARKER = ".tre-restore"
TARGET = "restored"
CHUNK = 4 << 20
TEST_HOOK = "TRE_RESTORE_TEST_HOOK"  # pause:<point>:<file> (lab tests only): copied, renamed
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
RENAME_NOREPLACE = 1


def _hook(point: str) -> None:
    value = os.environ.get(TEST_HOOK, "")
    if value.startswith(f"pause:{point}:"):
        with open(value.split(":", 2)[2], "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
        time.sleep(300)


def marker_text(of_project: str, manifest_sha256: str) -> str:
    return f"From-Project: {of_project}\nManifest-SHA256: {manifest_sha256}\n"


class _Tree:
    """Directories below one root descriptor, made and opened without following a link."""

    def __init__(self, root_fd: int) -> None:
        self.fds: dict[tuple[str, ...], int] = {(): root_fd}

    def dir(self, parts: tuple[str, ...]) -> int:
        if parts in self.fds:
            return self.fds[parts]
        parent = self.dir(parts[:-1])
        made = False
        with contextlib.suppress(FileExistsError):
            os.mkdir(parts[-1], 0o770, dir_fd=parent)
            made = True
        fd = os.open(parts[-1], DIR_FLAGS, dir_fd=parent)  # a link there: ELOOP
        self.fds[parts] = fd
        if made:
            os.fchmod(fd, 0o770)  # whatever the umask; with a default ACL: its mask
        return fd

    def new_file(self, parts: tuple[str, ...]) -> int:
        fd = os.open(parts[-1], _NEW, 0o660, dir_fd=self.dir(parts[:-1]))
        os.fchmod(fd, 0o660)
        return fd

    def close(self) -> None:
        for key, fd in self.fds.items():
            if key:
                os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _syncfs(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syncfs(fd) != 0:
        raise OSError(ctypes.get_errno(), "syncfs failed")


def _rename_noreplace(dir_fd: int, old: str, new: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    if libc.renameat2(dir_fd, old.encode(), dir_fd, new.encode(), RENAME_NOREPLACE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{new}: {os.strerror(err)}")


def _discard(folder_fd: int, name: str) -> None:
    """Delete a leftover staging folder (a killed run's); a link or file there is unlinked."""
    try:
        st = os.lstat(name, dir_fd=folder_fd)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=folder_fd)  # never follows a link below it
    else:
        os.unlink(name, dir_fd=folder_fd)


def _copy(store, plan, tree: _Tree) -> None:
    for rel, _size, digest in plan.files:
        out = tree.new_file(tuple(rel.split("/")))
        sha = hashlib.sha256()
        try:
            with store.open_read(plan.of_project, "data/" + rel) as src:
                while chunk := src.read(CHUNK):
                    sha.update(chunk)
                    _write_all(out, chunk)
        finally:
            os.close(out)
        if sha.hexdigest() != digest:
            raise ArchiveError(
                f"{rel} of the archive of P{plan.of_project} differs from its manifest"
            )


def _unpack(store, plan, tree: _Tree) -> None:
    for rel, target, entries in plan.zips:
        base = tuple(target.split("/"))
        source = store.open_name(f"{bag_name(plan.of_project)}/data/{rel}")
        with source as handle, zipfile.ZipFile(handle) as zipped:
            for entry in entries:
                if entry.is_dir:
                    tree.dir(base + entry.parts)
                    continue
                out = tree.new_file(base + entry.parts)
                try:
                    copy_entry(zipped, entry, lambda data, fd=out: _write_all(fd, data))
                finally:
                    os.close(out)


def _read_back(plan, tree: _Tree) -> None:
    for rel, _size, digest in plan.files:
        parts = tuple(rel.split("/"))
        fd = os.open(parts[-1], READ_FLAGS, dir_fd=tree.dir(parts[:-1]))
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            sha = hashlib.sha256()
            while chunk := os.read(fd, CHUNK):
                sha.update(chunk)
        finally:
            os.close(fd)
        if sha.hexdigest() != digest:
            raise ArchiveError(
                f"restored {rel} read back differs from the manifest of P{plan.of_project}"
            )


def do_restore(store, plan) -> None:
    """Write the planned restore under the staging name, check it, rename it into place."""
    stage = f".restoring-P{plan.of_project}"
    folder_fd = os.open(plan.folder, DIR_FLAGS)
    try:
        _discard(folder_fd, stage)
        os.mkdir(stage, 0o700, dir_fd=folder_fd)
        stage_fd = os.open(stage, DIR_FLAGS, dir_fd=folder_fd)
        st = os.fstat(stage_fd)
        if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
            os.close(stage_fd)
            raise ArchiveError(f"P{plan.project}/{stage} was replaced while it was made")
        tree = _Tree(stage_fd)
        try:
            _copy(store, plan, tree)
            _unpack(store, plan, tree)
            mark = os.open(MARKER, _NEW, 0o440, dir_fd=stage_fd)
            try:
                _write_all(mark, marker_text(plan.of_project, plan.manifest_sha256).encode())
            finally:
                os.close(mark)
            _syncfs(stage_fd)
            _read_back(plan, tree)
            _hook("copied")
            os.fchmod(stage_fd, 0o770)  # the default ACL's group entries take effect
            os.fsync(stage_fd)
        finally:
            tree.close()
            os.close(stage_fd)
        _rename_noreplace(folder_fd, stage, TARGET)
        os.fsync(folder_fd)
        _hook("renamed")
    except BaseException:
        with contextlib.suppress(OSError):
            _discard(folder_fd, stage)
        raise
    finally:
        os.close(folder_fd)
