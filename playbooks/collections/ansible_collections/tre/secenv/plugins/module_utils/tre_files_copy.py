"""Listing, hashing and copying project files without ever leaving a folder (move, transfer).

Every directory is opened relative to its parent's descriptor with
``O_DIRECTORY | O_NOFOLLOW`` and every file with ``O_NOFOLLOW | O_NONBLOCK`` and checked with
``fstat`` (the regular file the listing showed), as ``tre_archive_walk`` does: a symbolic
link is never followed, a FIFO never read, a device never opened; they are listed as
skipped (path and what it is, never a link target).

A copy is written to an unnamed file in the target directory (``O_TMPFILE``, created by
root, so it inherits the directory's default ACL: the receiving project's groups, nobody
else), made durable (``fsync``), and then linked to its name with ``linkat(2)``, which never
replaces an existing file (``EEXIST``). The temporary file has no name, so no file of a
researcher can be taken for it and a killed copy leaves nothing behind. Target directories
are made the same way (``mkdirat``, mode 0770, the default ACL inherited).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from dataclasses import dataclass, field

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_walk import kind_of

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CHUNK = 1 << 20


class CopyError(OSError):
    """A copy, a read or a verification failed: one line, no file content."""


@dataclass
class Listing:
    """What is below a folder: directories and regular files (relative paths), skipped."""

    dirs: list[str] = field(default_factory=list)
    files: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.files)


def open_dir(parent: int, rel: str) -> int:
    """A descriptor of the directory ``rel`` below ``parent``, every component opened with
    ``O_NOFOLLOW`` (``ELOOP``/``ENOTDIR`` on a link or a non-directory)."""
    fd = os.dup(parent)
    try:
        for part in [p for p in rel.split("/") if p]:
            if part in (".", ".."):
                raise CopyError(errno.EINVAL, f"{rel!r} is not a plain relative path")
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_root(path: str) -> int | None:
    """A descriptor of an absolute directory (None when it does not exist); the last
    component must not be a symbolic link."""
    try:
        return os.open(path, _DIR_FLAGS)
    except FileNotFoundError:
        return None


def list_tree(top: int) -> Listing:
    """Every directory and regular file below the descriptor ``top``, sorted by path."""
    found = Listing()
    _list(top, "", found)
    return found


def _list(fd: int, prefix: str, found: Listing) -> None:
    with os.scandir(fd) as entries:
        names = sorted(e.name for e in entries)
    for name in names:
        rel = f"{prefix}{name}"
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            found.dirs.append(rel)
            try:
                sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    found.skipped.append((rel, "a symbolic link"))
                    continue
                raise
            try:
                _list(sub, rel + "/", found)
            finally:
                os.close(sub)
        elif stat.S_ISREG(st.st_mode):
            found.files.append((rel, st.st_size))
        else:
            found.skipped.append((rel, kind_of(st.st_mode)))


def lstat_below(top: int, rel: str) -> os.stat_result | None:
    """lstat of ``rel`` below ``top`` without following links on the way (None: missing).

    A component on the way that is a link or not a directory raises ``CopyError``."""
    head, _, name = rel.rpartition("/")
    try:
        fd = open_dir(top, head)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise CopyError(exc.errno, f"{head!r} is a symbolic link or not a directory") from None
        raise
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    finally:
        os.close(fd)


def _open_file(top: int, rel: str) -> int:
    head, _, name = rel.rpartition("/")
    parent = open_dir(top, head)
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
    finally:
        os.close(parent)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise CopyError(errno.EINVAL, f"{rel!r} is {kind_of(st.st_mode)}, not a regular file")
    return fd


def sha256_of(top: int, rel: str, uncached: bool = False) -> tuple[int, str]:
    """(size, SHA-256) of the regular file ``rel`` below ``top``; ``uncached``: drop its
    cached pages first, so what is read is what the disk holds (a read back)."""
    fd = _open_file(top, rel)
    try:
        if uncached:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        digest, size = hashlib.sha256(), 0
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
            size += len(chunk)
        return size, digest.hexdigest()
    finally:
        os.close(fd)


def make_dirs(top: int, rel: str) -> None:
    """Make ``rel`` below ``top`` (each missing component: mkdirat 0770), never through a
    link."""
    fd = os.dup(top)
    try:
        for part in [p for p in rel.split("/") if p]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o770, dir_fd=fd)
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
    finally:
        os.close(fd)


def copy_file(src_top: int, rel: str, dst_top: int, dst_rel: str) -> tuple[int, str]:
    """Copy the regular file ``rel`` below ``src_top`` to ``dst_rel`` below ``dst_top``
    (which must not exist); returns (size, SHA-256) of what was read from the source."""
    src = _open_file(src_top, rel)
    head, _, name = dst_rel.rpartition("/")
    try:
        st = os.fstat(src)
        make_dirs(dst_top, head)
        parent = open_dir(dst_top, head)
        try:
            mode = 0o770 if st.st_mode & 0o100 else 0o660
            out = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, mode, dir_fd=parent)
            digest, size = hashlib.sha256(), 0
            try:
                while chunk := os.read(src, _CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(out, view) :]
                os.fsync(out)
                os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
                try:
                    os.link(f"/proc/self/fd/{out}", name, dst_dir_fd=parent, follow_symlinks=True)
                except FileExistsError:
                    raise CopyError(
                        errno.EEXIST, f"{dst_rel!r} appeared meanwhile; not replaced"
                    ) from None
            finally:
                os.close(out)
            return size, digest.hexdigest()
        finally:
            os.close(parent)
    finally:
        os.close(src)


def same_file(dst_top: int, dst_rel: str, size: int, sha256: str) -> bool | None:
    """Whether ``dst_rel`` holds exactly this content (None: it does not exist). A link, a
    directory or another kind of file there is never the same."""
    st = lstat_below(dst_top, dst_rel)
    if st is None:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size != size:
        return False
    return sha256_of(dst_top, dst_rel) == (size, sha256)
