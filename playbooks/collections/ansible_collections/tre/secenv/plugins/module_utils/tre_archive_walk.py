"""Reading a project folder for its archive without ever leaving it (``tre_archive``).

What is archived (docs/storage.md, "Archive"): the folders ``archive/`` (the researchers'
prepared zips) and ``OtherData/`` of ``<projects_root>/P<nr>``, byte for byte; nothing else.

Every directory is opened relative to its parent's descriptor with
``O_DIRECTORY | O_NOFOLLOW`` and every file with ``O_NOFOLLOW | O_NONBLOCK``, then checked
with ``fstat`` (a regular file, the same inode the listing showed): a symbolic link is never
followed (not even one at ``archive`` itself), a FIFO is never read, a device never opened.
What is not a directory or a regular file is recorded as skipped (its path inside the project
and what it is; never a link target).

Hard links: a btrfs hard link never crosses a subvolume (``link(2)`` gives ``EXDEV``), and
``P<nr>`` is a subvolume, so every name of a file found here lies inside the project. Its
content is project data within the project's quota: it is archived as it is (its bytes, once
per name) and counted in ``hard_linked``.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

#: The folders of a project that are archived, in this order.
SELECTION = ("archive", "OtherData")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class WalkError(OSError):
    """The project folder itself cannot be read safely; one line."""


def kind_of(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


@dataclass
class Walked:
    """What a walk found: regular files (relative path, size), skipped paths, totals."""

    files: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    hard_linked: int = 0

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.files)

    def bytes_under(self, top: str) -> int:
        return sum(size for rel, size in self.files if rel.startswith(top + "/"))


#: Called once per regular file: (relative path, open descriptor, its fstat); returns the
#: number of bytes it read (the size archived).
OnFile = Callable[[str, int, os.stat_result], int]


def open_project(projects_root: str, project: str) -> int | None:
    """A descriptor of ``<projects_root>/P<project>`` (None when it does not exist).

    Neither the root nor ``P<nr>`` may be a symbolic link (``WalkError``).
    """
    root = os.open(projects_root, _DIR_FLAGS)
    try:
        return os.open(f"P{project}", _DIR_FLAGS, dir_fd=root)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise WalkError(
                exc.errno, f"{projects_root}/P{project} is not a directory (a link?)"
            ) from None
        raise
    finally:
        os.close(root)


def walk(project_fd: int, on_file: OnFile | None = None) -> Walked:
    """Every regular file of the selection below the project descriptor, sorted by path."""
    found = Walked()
    for top in SELECTION:
        try:
            st = os.stat(top, dir_fd=project_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            found.skipped.append((top, kind_of(st.st_mode)))
            continue
        _walk_dir(project_fd, top, top, found, on_file)
    return found


def _walk_dir(parent: int, name: str, rel: str, found: Walked, on_file: OnFile | None) -> None:
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # swapped for a link since the stat
            found.skipped.append((rel, "a symbolic link"))
            return
        raise
    try:
        with os.scandir(fd) as entries:
            names = sorted(entry.name for entry in entries)
        for child in names:
            path = f"{rel}/{child}"
            st = os.stat(child, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                _walk_dir(fd, child, path, found, on_file)
            elif stat.S_ISREG(st.st_mode):
                _file(fd, child, path, st, found, on_file)
            else:
                found.skipped.append((path, kind_of(st.st_mode)))
    finally:
        os.close(fd)


def _file(
    parent: int, name: str, rel: str, seen: os.stat_result, found: Walked, on_file: OnFile | None
) -> None:
    if on_file is None:  # a plan: the listing is enough, nothing is opened
        found.files.append((rel, seen.st_size))
        found.hard_linked += seen.st_nlink > 1
        return
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            found.skipped.append((rel, "a symbolic link"))
            return
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino):
            found.skipped.append((rel, kind_of(st.st_mode)))  # swapped since the listing
            return
        found.files.append((rel, on_file(rel, fd, st)))
        found.hard_linked += st.st_nlink > 1
    finally:
        os.close(fd)
