"""Where ``tre_restore`` reads an archive from: a small adapter with the ``ArchiveStore``
interface of ``tre_archive_store`` (``is_complete``, ``listing``, ``open_read``,
``open_store``), kept until that module (branch archive11b: archives on a separate host over
SFTP) is merged; then ``tre_restore`` imports ``open_store`` from there and this file goes.

Only the local store exists here: ``LocalArchiveStore(root)`` reads ``<root>/P<nr>/`` on this
host without following a symbolic link anywhere below the root.
"""

from __future__ import annotations

import os
import stat

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_bag import (
    ArchiveError,
    final_dir,
    is_complete,
)

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


def _parts(relpath: str) -> list[str]:
    parts = relpath.split("/")
    if not relpath or relpath.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ArchiveError(f"archive path {relpath!r} is not a plain relative path")
    return parts


class LocalArchiveStore:
    """Archives under ``root`` on this host (the file server's archive root)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def where(self, project: str) -> str:
        return final_dir(self.root, project)

    def is_complete(self, project: str) -> bool:
        return is_complete(self.root, project)

    def open_read(self, project: str, relpath: str):
        """A binary, seekable file object of ``<bag>/<relpath>``; no link followed."""
        parts = _parts(relpath)
        fd = os.open(self.where(project), _DIR)
        try:
            for part in parts[:-1]:
                nxt = os.open(part, _DIR, dir_fd=fd)
                os.close(fd)
                fd = nxt
            handle = os.open(parts[-1], _FILE, dir_fd=fd)
        finally:
            os.close(fd)
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            os.close(handle)
            raise ArchiveError(f"{relpath} in the archive of P{project} is not a regular file")
        return os.fdopen(handle, "rb")

    def listing(self, project: str) -> dict[str, int]:
        """Every payload file of the bag (``data/...``) and its size; anything that is not a
        regular file or directory below ``data/`` refuses."""
        found: dict[str, int] = {}
        bag = self.where(project)
        data = os.path.join(bag, "data")
        if stat.S_ISLNK(os.lstat(data).st_mode):
            raise ArchiveError(f"{data} is a symbolic link; refused")
        for top, dirs, files in os.walk(data):
            for name in dirs + files:
                st = os.lstat(os.path.join(top, name))
                if stat.S_ISLNK(st.st_mode) or not (
                    stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)
                ):
                    raise ArchiveError(f"{os.path.join(top, name)} is not a file; refused")
                if stat.S_ISREG(st.st_mode):
                    found[os.path.relpath(os.path.join(top, name), bag)] = st.st_size
        return found


def open_store(params: dict) -> LocalArchiveStore:
    """The archive store of the module's parameters (``archive_root``, as ``tre_archive``)."""
    return LocalArchiveStore(params["archive_root"])
