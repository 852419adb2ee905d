"""Verifying and purging archives on the archive host (tre_archive_verify, tre_archive_purge).

Local file access below ``archive_root`` only, never following a symbolic link: the bag
``P<nr>`` is opened with ``O_DIRECTORY | O_NOFOLLOW`` relative to the root's descriptor, its
manifest with ``O_NOFOLLOW`` relative to the bag's; the tree is deleted with ``shutil.rmtree``
relative to the root's descriptor (its fd-based walk unlinks a link, never what it points to,
and refuses a link at the top).

The purge of one archive (docs/retention.md, "Kill -9"):

1. checks: ``P<nr>`` is a directory (not a link) right under the root and its
   ``manifest-sha256.txt`` has the SHA-256 the caller expects (the one in the state store);
2. **detach**: ``rename(P<nr>, .purging-P<nr>)`` and fsync of the root - the point of no
   return: from here on the archive is gone as an archive, and the caller writes its tombstone;
3. **delete**: ``.purging-P<nr>`` removed, the root fsynced.

A kill before 2 leaves the whole archive; after it, the next run finds ``.purging-P<nr>``
(or nothing, when the delete finished) and completes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_bag import (
    MANIFEST,
    ArchiveError,
    final_dir,
    verify,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_run import hook

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
PURGING = ".purging-P"


def detached_name(project: str) -> str:
    return f"{PURGING}{project}"


class Root:
    """The archive root, held open as a descriptor; names are resolved relative to it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, _DIR_FLAGS)

    def close(self) -> None:
        os.close(self.fd)

    def kind(self, name: str) -> str:
        """``dir``, ``missing``, or what else it is (``a symbolic link`` ...)."""
        try:
            mode = os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return "missing"
        if stat.S_ISDIR(mode):
            return "dir"
        return "a symbolic link" if stat.S_ISLNK(mode) else "not a directory"

    def manifest_sha256(self, name: str) -> str:
        """SHA-256 of ``<name>/manifest-sha256.txt``, neither component followed if a link."""
        try:
            bag = os.open(name, _DIR_FLAGS, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise ArchiveError(
                    f"{self.path}/{name} is not a directory (a link?); refused"
                ) from None
            raise
        try:
            fd = os.open(MANIFEST, _READ_FLAGS, dir_fd=bag)
        except OSError as exc:
            reason = "a link" if exc.errno == errno.ELOOP else exc.strerror
            raise ArchiveError(
                f"{self.path}/{name}/{MANIFEST} unreadable ({reason}); refused"
            ) from None
        finally:
            os.close(bag)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ArchiveError(f"{self.path}/{name}/{MANIFEST} is not a regular file")
            digest = hashlib.sha256()
            while chunk := os.read(fd, 1 << 20):
                digest.update(chunk)
            return digest.hexdigest()
        finally:
            os.close(fd)

    def rename(self, old: str, new: str) -> None:
        os.rename(old, new, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        os.fsync(self.fd)

    def delete(self, name: str) -> None:
        """Remove the directory ``name`` and everything below it, links unlinked, never
        followed; the part below ``data/`` first (a test may pause between the two)."""
        bag = os.open(name, _DIR_FLAGS, dir_fd=self.fd)
        try:
            if _is_dir("data", bag):
                shutil.rmtree("data", dir_fd=bag)
                hook("deleting")
        finally:
            os.close(bag)
        shutil.rmtree(name, dir_fd=self.fd)
        os.fsync(self.fd)


def _is_dir(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def verify_one(root: Root, project: str) -> dict:
    """Read one archive back against its manifests: ``{project, result, files, bytes,
    manifest_sha256, first_failure}``; a failure names the first failing file only."""
    name = f"P{project}"
    out = {"project": project, "location": final_dir(root.path, project), "files": None,
           "bytes": None, "manifest_sha256": None, "first_failure": None}  # fmt: skip
    kind = root.kind(name)
    if kind != "dir":
        why = "missing" if kind == "missing" else f"{kind}; refused, not followed"
        return dict(out, result=f"failed: {root.path}/{name} is {why}")
    try:
        bag = verify(root.path, project)
    except ArchiveError as exc:
        line = str(exc).splitlines()[0]
        first = line.rsplit("(first: ", 1)[1].rstrip(")") if "(first: " in line else None
        return dict(out, result=f"failed: {line}", first_failure=first)
    return dict(
        out, result="ok", files=bag.files, bytes=bag.bytes, manifest_sha256=bag.manifest_sha256
    )


def purge_problem(root: Root, project: str, expected: str) -> str | None:
    """Why ``P<nr>`` may not be detached (None: it may)."""
    name = f"P{project}"
    kind = root.kind(name)
    if kind == "missing":
        return f"{root.path}/{name} does not exist"
    if kind != "dir":
        return f"{root.path}/{name} is {kind}; refused, not followed"
    try:
        found = root.manifest_sha256(name)
    except (ArchiveError, OSError) as exc:
        return str(exc).splitlines()[0]
    if found != expected:
        return f"{root.path}/{name}: the manifest's SHA-256 is not the recorded one; refused"
    return None


def state_of(root: Root, project: str) -> str:
    """``whole`` (``P<nr>`` there), ``detached`` (``.purging-P<nr>`` there), ``gone``
    (neither), or ``unsafe: ...`` (a link or a file in either place)."""
    whole, detached = root.kind(f"P{project}"), root.kind(detached_name(project))
    for name, kind in ((f"P{project}", whole), (detached_name(project), detached)):
        if kind not in ("dir", "missing"):
            return f"unsafe: {root.path}/{name} is {kind}"
    if detached == "dir":
        return (
            f"unsafe: both {root.path}/P{project} and its {PURGING}"
            if whole == "dir"
            else "detached"
        )
    return "whole" if whole == "dir" else "gone"
