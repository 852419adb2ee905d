"""The one way to reach an archive root: local files or SFTP to the archive host.

An archive root holds one bag per project, ``P<nr>/`` (layout: ``tre_archive_bag``), built
under ``.incoming-P<nr>/`` and renamed into place once complete. Everything that writes, reads
back or restores a bag goes through an :class:`ArchiveStore`, never through paths:

- :class:`LocalArchiveStore` - the root is a directory on this host (a module running on the
  archive host itself, single-host installs, unit tests). Every path is opened component by
  component from the root's descriptor with ``O_NOFOLLOW``: a symbolic link is never followed.
- :class:`SftpArchiveStore` - the root as the archive account sees it over SFTP (paramiko; the
  host key checked against the given known_hosts file only, like ``tre_ossc_handoff``). The
  account is confined to the archive (chroot on the archive host, docs/storage.md), so a link
  in a bag cannot lead out of it; links are still refused by the listing.

Names given to a store are relative to the root, ``/``-separated, without ``.`` or ``..``
components (``ValueError`` otherwise). Files are created exclusively with mode 0600 and
directories 0700; ``prepare_root`` makes the root itself 0700. Errors are ``OSError`` (the
caller turns them into one line) or :class:`StoreError`.
"""

from __future__ import annotations

import ctypes
import errno
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

#: Modes of what a store creates, and of the root (enforced by ``prepare_root``).
ROOT_MODE = 0o700
DIR_MODE = 0o700
FILE_MODE = 0o600
TAGMANIFEST = "tagmanifest-sha256.txt"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class StoreError(Exception):
    """The archive root cannot be used as it is (not a directory, a link, unreachable)."""


def bag_name(project: str) -> str:
    return f"P{project}"


def incoming_name(project: str) -> str:
    return f".incoming-P{project}"


@dataclass(frozen=True)
class Entry:
    """One name below a bag: its path relative to the bag, what it is, size and mode."""

    path: str
    kind: str  # "file", "dir", "link" or "other"
    size: int
    mode: int


def kind_of(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "link" if stat.S_ISLNK(mode) else "other"


def check_name(name: str) -> list[str]:
    """The components of a store name; ``ValueError`` if it could leave the root."""
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not a name inside the archive root: {name!r}")
    return parts


class ArchiveWriter(Protocol):
    def write(self, data: bytes) -> object: ...

    def close(self) -> None: ...


class ArchiveStore(Protocol):
    """What the bag writer, the verification and a restore need of an archive root."""

    #: where the root is, for messages and the state store (a path or ``sftp://...``)
    root: str

    def location(self, project: str) -> str:
        """Where the bag ``P<nr>`` is, for messages and the state store."""
        ...

    def prepare_root(self, fix: bool = True) -> str | None:
        """Check the root is a directory (not a link) and make it 0700 (unless not ``fix``:
        check mode); returns a line saying what was (or would be) corrected, or None.
        ``StoreError`` if it is missing or not a directory."""
        ...

    def kind(self, name: str) -> str | None:
        """What ``name`` is (not following a link): file, dir, link, other; None if absent."""
        ...

    def mode(self, name: str) -> int:
        """The permission bits of ``name`` (not following a link)."""
        ...

    def exists(self, project: str) -> bool:
        """Whether anything is at ``P<nr>`` (complete or not)."""
        ...

    def is_complete(self, project: str) -> bool:
        """Whether ``P<nr>`` is a directory holding its tag manifest (written last)."""
        ...

    def remove_incoming(self, project: str) -> bool:
        """Delete a leftover ``.incoming-P<nr>`` (never complete); whether there was one."""
        ...

    def mkdir(self, name: str) -> None:
        """Create directory ``name`` (0700); its parent must exist."""
        ...

    def open_write(self, name: str) -> ArchiveWriter:
        """A new file ``name`` (exclusive, 0600) to write; ``close`` makes it durable."""
        ...

    def set_times(self, name: str, atime_ns: int, mtime_ns: int) -> None: ...

    def sync(self, name: str) -> None:
        """Make everything written below ``name`` durable (local: ``syncfs``)."""
        ...

    def rename(self, old: str, new: str) -> None:
        """Rename ``old`` to ``new``, which must not exist; the root made durable after."""
        ...

    def open_read(self, project: str, relpath: str) -> BinaryIO:
        """A regular file of the bag ``P<nr>`` to read (a link refused); a local read comes
        from the disk, its cached pages dropped first."""
        ...

    def open_name(self, name: str) -> BinaryIO:
        """``open_read`` by a name relative to the root (e.g. a file of ``.incoming-P<nr>``)."""
        ...

    def listing(self, project: str, under: str = "") -> list[Entry]:
        """Every name below ``P<nr>/<under>`` (recursive, links not followed), sorted."""
        ...

    def chmod(self, name: str, mode: int) -> None: ...

    def close(self) -> None: ...


class _FdWriter:
    """A raw file descriptor as a writer: every byte written, fsync on close."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        return len(data)

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class LocalArchiveStore:
    """An archive root on this host (``ArchiveStore``)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.normpath(root)

    def location(self, project: str) -> str:
        return os.path.join(self.root, bag_name(project))

    # --- descriptors, never following a link -------------------------------------------
    def _root_fd(self) -> int:
        try:
            return os.open(self.root, _DIR_FLAGS)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise StoreError(f"archive root {self.root} is not a directory (a link?)") from None
            if exc.errno == errno.ENOENT:
                raise StoreError(f"archive root {self.root} does not exist") from None
            raise

    def _parent(self, name: str) -> tuple[int, str]:
        """(descriptor of the directory holding ``name``, last component)."""
        parts = check_name(name)
        fd = self._root_fd()
        try:
            for part in parts[:-1]:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd, parts[-1]

    def prepare_root(self, fix: bool = True) -> str | None:
        fd = self._root_fd()
        try:
            mode = stat.S_IMODE(os.fstat(fd).st_mode)
            if mode == ROOT_MODE:
                return None
            if fix:
                os.fchmod(fd, ROOT_MODE)
            done = "set" if fix else "to be set"
            return f"archive root {self.root} was {mode:04o}; {done} to {ROOT_MODE:04o}"
        finally:
            os.close(fd)

    def kind(self, name: str) -> str | None:
        parent, last = self._parent(name)
        try:
            return kind_of(os.stat(last, dir_fd=parent, follow_symlinks=False).st_mode)
        except FileNotFoundError:
            return None
        finally:
            os.close(parent)

    def mode(self, name: str) -> int:
        parent, last = self._parent(name)
        try:
            return stat.S_IMODE(os.stat(last, dir_fd=parent, follow_symlinks=False).st_mode)
        finally:
            os.close(parent)

    def exists(self, project: str) -> bool:
        return self.kind(bag_name(project)) is not None

    def is_complete(self, project: str) -> bool:
        found = self.kind(bag_name(project))
        if found is None:
            return False
        if found != "dir":
            raise StoreError(f"{self.location(project)} is not a directory; refused")
        return self.kind(f"{bag_name(project)}/{TAGMANIFEST}") == "file"

    def remove_incoming(self, project: str) -> bool:
        name = incoming_name(project)
        if self.kind(name) is None:
            return False
        fd = self._root_fd()
        try:
            _remove_tree(fd, name)
        finally:
            os.close(fd)
        return True

    def mkdir(self, name: str) -> None:
        parent, last = self._parent(name)
        try:
            os.mkdir(last, DIR_MODE, dir_fd=parent)
            os.chmod(last, DIR_MODE, dir_fd=parent, follow_symlinks=False)  # whatever the umask
        finally:
            os.close(parent)

    def open_write(self, name: str) -> _FdWriter:
        parent, last = self._parent(name)
        try:
            fd = os.open(last, _NEW_FLAGS, FILE_MODE, dir_fd=parent)
        finally:
            os.close(parent)
        os.fchmod(fd, FILE_MODE)
        return _FdWriter(fd)

    def set_times(self, name: str, atime_ns: int, mtime_ns: int) -> None:
        parent, last = self._parent(name)
        try:
            os.utime(last, ns=(atime_ns, mtime_ns), dir_fd=parent, follow_symlinks=False)
        finally:
            os.close(parent)

    def sync(self, name: str) -> None:
        parent, last = self._parent(name)
        try:
            fd = os.open(last, _DIR_FLAGS, dir_fd=parent)
        finally:
            os.close(parent)
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.syncfs(fd) != 0:
                raise OSError(ctypes.get_errno(), "syncfs failed")
            os.fsync(fd)
        finally:
            os.close(fd)

    def rename(self, old: str, new: str) -> None:
        if self.kind(new) is not None:
            raise StoreError(f"{os.path.join(self.root, new)} exists; refused")
        old_parent, old_last = self._parent(old)
        new_parent, new_last = self._parent(new)
        try:
            os.rename(old_last, new_last, src_dir_fd=old_parent, dst_dir_fd=new_parent)
            os.fsync(new_parent)
        finally:
            os.close(old_parent)
            os.close(new_parent)

    def open_read(self, project: str, relpath: str) -> BinaryIO:
        return self.open_name(f"{bag_name(project)}/{relpath}")

    def open_name(self, name: str) -> BinaryIO:
        parent, last = self._parent(name)
        try:
            fd = os.open(last, _READ_FLAGS, dir_fd=parent)
        finally:
            os.close(parent)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise StoreError(f"{os.path.join(self.root, name)} is not a regular file")
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # read the disk, not the cache
        except BaseException:
            os.close(fd)
            raise
        return os.fdopen(fd, "rb", buffering=0)

    def listing(self, project: str, under: str = "") -> list[Entry]:
        top = f"{bag_name(project)}/{under}" if under else bag_name(project)
        parent, last = self._parent(top)
        try:
            fd = os.open(last, _DIR_FLAGS, dir_fd=parent)
        finally:
            os.close(parent)
        try:
            found = list(_local_entries(fd, under))
        finally:
            os.close(fd)
        return sorted(found, key=lambda e: e.path)

    def patch(self, name: str, offset: int, data: bytes) -> None:
        """Overwrite bytes of an existing file (the lab tests' ``flip`` hook only)."""
        parent, last = self._parent(name)
        try:
            fd = os.open(last, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        finally:
            os.close(parent)
        try:
            os.pwrite(fd, data, offset)
        finally:
            os.close(fd)

    def chmod(self, name: str, mode: int) -> None:
        parent, last = self._parent(name)
        try:
            os.chmod(last, mode, dir_fd=parent, follow_symlinks=False)
        finally:
            os.close(parent)

    def close(self) -> None:
        return None


def _local_entries(fd: int, prefix: str) -> Iterator[Entry]:
    with os.scandir(fd) as entries:
        names = sorted(e.name for e in entries)
    for name in names:
        path = f"{prefix}/{name}" if prefix else name
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        kind = kind_of(st.st_mode)
        yield Entry(path, kind, st.st_size, stat.S_IMODE(st.st_mode))
        if kind == "dir":
            child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            try:
                yield from _local_entries(child, path)
            finally:
                os.close(child)


def _remove_tree(parent: int, name: str) -> None:
    """Remove ``name`` below the descriptor ``parent`` without following any link."""
    st = os.stat(name, dir_fd=parent, follow_symlinks=False)
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=parent)
        return
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    try:
        with os.scandir(fd) as entries:
            children = [e.name for e in entries]
        for child in children:
            _remove_tree(fd, child)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent)


def join(*names: str) -> str:
    """A store name from parts (``posixpath.join`` without a leading ``/``)."""
    return posixpath.join(*names)


#: The modules' options for the archive host (doc fragment ``tre.secenv.archive_host``).
ARCHIVE_HOST_OPTIONS = {
    "archive_host": {"type": "str"},
    "archive_port": {"type": "int", "default": 22},
    "archive_user": {"type": "str"},
    "archive_key_file": {"type": "path"},
    "archive_known_hosts": {"type": "path"},
    "archive_timeout": {"type": "int", "default": 15},
}
ARCHIVE_HOST_REQUIRED_BY = {
    "archive_host": ("archive_user", "archive_key_file", "archive_known_hosts")
}


def open_store(params: dict) -> ArchiveStore:
    """The store the module parameters name: SFTP when ``archive_host`` is set, else local
    files under ``archive_root``."""
    if params.get("archive_host"):
        from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_sftp import (
            SftpArchiveStore,
        )

        return SftpArchiveStore(
            params["archive_host"],
            int(params.get("archive_port") or 22),
            params["archive_user"],
            params["archive_key_file"],
            params["archive_known_hosts"],
            params["archive_root"],
            timeout=int(params.get("archive_timeout") or 15),
        )
    return LocalArchiveStore(params["archive_root"])
