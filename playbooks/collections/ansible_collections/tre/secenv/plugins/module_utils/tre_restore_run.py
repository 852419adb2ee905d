"""What ``tre_restore`` does for one reopened project (docs/storage.md#restore).

A project entry with ``restore: {from_project: N, manifest_sha256, ...}`` gets N's archive in
``<projects_root>/P<M>/restored/``:

- ``archive/...`` and ``OtherData/...``: every archived file byte for byte, each checked
  against N's manifest while it is copied and read back (cached pages dropped) after;
- ``archive/<zip path without .zip>/``: each zip of ``archive/`` unpacked, after the checks
  of ``tre_zip_check`` on its whole central directory and a dry pass that decompresses every
  entry and counts its real bytes (nothing is written until every zip passed);
- ``.tre-restore``: which archive (project, manifest SHA-256) this is.

Refused before anything is written, one line (project, zip, reason): the manifest is not the
one the state store recorded when the archive was verified, a file is missing or extra, a zip
fails a check, or everything to be written does not fit the project's quota headroom.

Written under ``P<M>/.restoring-P<N>`` (mode 0700: nobody but root while it is written; a
leftover of a killed run is deleted first), then ``renameat2(RENAME_NOREPLACE)`` to
``restored``: ``restored/`` exists only complete. Directories and files are made relative to
their parent's descriptor with ``O_NOFOLLOW``/``O_EXCL`` (modes 0770/0660, the folder's
default ACL gives the project's groups their access), so nothing is written outside it.
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
from dataclasses import dataclass, field

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_bag import (
    MANIFEST,
    ArchiveError,
    decode_path,
    read_all,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import (
    StoreError,
    bag_name,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_executor import (
    STOP,
    OperationError,
    Step,
    execute,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_zip_check import (
    Entry,
    Limits,
    ZipRefused,
    check_entries,
    copy_entry,
    declared_bytes,
    shown,
)

MARKER = ".tre-restore"
TARGET = "restored"
CHUNK = 4 << 20
TEST_HOOK = "TRE_RESTORE_TEST_HOOK"  # pause:<point>:<file> (lab tests only): copied, renamed
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
RENAME_NOREPLACE = 1


class RestoreRefused(Exception):
    """The restore is refused before writing; one line."""


@dataclass
class Report:
    changes: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)  # {project, reason}
    diff: list[dict] = field(default_factory=list)


@dataclass
class RestorePlan:
    project: str
    of_project: str
    folder: str
    files: list[tuple[str, int, str]]  # (path below data/, size, sha256)
    zips: list[tuple[str, str, list[Entry]]]  # (zip path below data/, target dir, entries)
    manifest_sha256: str
    total: int

    @property
    def entries(self) -> int:
        return sum(len(e) for _, _, e in self.zips)

    def change(self) -> dict:
        return {
            "project": self.project,
            "op": "restore",
            "kind": "archive",
            "name": f"P{self.of_project}",
            "path": os.path.join(self.folder, TARGET),
            "before": None,
            "after": {
                "from_project": self.of_project,
                "files": len(self.files),
                "bytes": sum(size for _, size, _ in self.files),
                "zips_unpacked": len(self.zips),
                "entries": self.entries,
                "written_bytes": self.total,
                "manifest_sha256": self.manifest_sha256,
            },
        }


def _hook(point: str) -> None:
    value = os.environ.get(TEST_HOOK, "")
    if value.startswith(f"pause:{point}:"):
        with open(value.split(":", 2)[2], "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
        time.sleep(300)


def marker_text(of_project: str, manifest_sha256: str) -> str:
    return f"From-Project: {of_project}\nManifest-SHA256: {manifest_sha256}\n"


def _read_marker(folder: str) -> str | None:
    try:
        fd = os.open(os.path.join(folder, TARGET), _DIR)
    except FileNotFoundError:
        return None
    except OSError as exc:
        why = f"{folder}/{TARGET} exists and is not a directory ({exc.strerror})"
        raise RestoreRefused(why) from None
    try:
        handle = os.open(MARKER, _READ, dir_fd=fd)
    except OSError:
        return ""
    finally:
        os.close(fd)
    try:
        return os.read(handle, 4096).decode("utf-8", "replace")
    finally:
        os.close(handle)


def _manifest(raw: bytes) -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in raw.decode("utf-8", "surrogateescape").splitlines():
        digest, sep, name = line.partition("  ")
        rel = decode_path(name)
        parts = rel.split("/")
        if not sep or len(digest) != 64 or parts[0] != "data" or len(parts) < 3:
            raise RestoreRefused("the archive's manifest has a line that is not a data file")
        if any(p in ("", ".", "..") for p in parts):
            raise RestoreRefused("the archive's manifest names a path that leaves its folder")
        entries[rel] = digest
    return entries


def _usage(backend, projects_root: str, folder: str) -> int:
    if not os.path.isdir(folder):
        return 0  # check mode before the storage module made it: an empty new folder
    return (backend.read_all(projects_root).get(folder) or (0, None))[0]


def _leftover_bytes(stage: str) -> int:
    """The bytes of a killed run's staging folder (counted in the usage, deleted first)."""
    total = 0
    for top, _dirs, files in os.walk(stage):  # os.walk never follows a link to a directory
        for name in files:
            st = os.lstat(os.path.join(top, name))
            total += st.st_size if stat.S_ISREG(st.st_mode) else 0
    return total


def plan_restore(project: dict, projects_root: str, store, backend, limits: Limits):
    """The restore to do, None when it is done; ``RestoreRefused`` with the reason."""
    nr = str(project["project"])
    spec = project["restore"]
    n = str(spec["from_project"])
    folder = os.path.join(projects_root, f"P{nr}")
    recorded = spec.get("manifest_sha256")
    mark = _read_marker(folder)
    if mark is not None:
        if recorded and mark == marker_text(n, recorded):
            return None
        raise RestoreRefused(
            f"P{nr}/{TARGET} exists and is not the restore of P{n}; nothing written"
        )
    if not store.is_complete(n):
        raise RestoreRefused(f"no complete archive of P{n} at {store.location(n)}")
    raw = read_all(store, n, MANIFEST)
    sha = hashlib.sha256(raw).hexdigest()
    if sha != recorded:
        raise RestoreRefused(
            f"the manifest of the archive of P{n} is not the one recorded when it was"
            f" verified (SHA-256 {sha[:12]}…, recorded {str(recorded)[:12]}…)"
        )
    digests = _manifest(raw)
    listed = store.listing(n, "data")
    odd = [e.path for e in listed if e.kind not in ("file", "dir")]
    if odd:
        raise RestoreRefused(f"the archive of P{n} holds {len(odd)} link(s) or special file(s)")
    sizes = {e.path: e.size for e in listed if e.kind == "file"}
    if set(sizes) != set(digests):
        missing, extra = len(set(digests) - set(sizes)), len(set(sizes) - set(digests))
        raise RestoreRefused(
            f"the archive of P{n}: {missing} file(s) of the manifest missing, {extra} not in it"
        )
    files = [(rel[len("data/") :], sizes[rel], digests[rel]) for rel in sorted(digests)]
    taken = {rel.casefold() for rel, _, _ in files}
    zips, targets = [], set()
    for rel, _size, _digest in files:
        if not (rel.startswith("archive/") and rel.lower().endswith(".zip")):
            continue
        target = rel[: -len(".zip")]
        clash = target.casefold() in taken or target.casefold() in targets
        clash = clash or any(t.startswith(target.casefold() + "/") for t in taken)
        try:
            entries = _checked_zip(store, n, "data/" + rel, limits)
        except zipfile.BadZipFile:
            raise RestoreRefused(f"zip {rel} of P{n} is not a readable zip") from None
        except ZipRefused as exc:
            raise RestoreRefused(f"zip {rel} of P{n}: {exc}") from None
        if clash:
            raise RestoreRefused(
                f"zip {rel} of P{n}: its folder {shown(target)} is also an archived name"
            )
        targets.add(target.casefold())
        zips.append((rel, target, entries))
    total = sum(size for _, size, _ in files) + sum(declared_bytes(e) for _, _, e in zips)
    free = int(project["storage"]["quota_bytes"]) - _usage(backend, projects_root, folder)
    free += _leftover_bytes(os.path.join(folder, f".restoring-P{n}"))  # deleted before writing
    if total > free:
        largest = max(zips, key=lambda z: declared_bytes(z[2]), default=None)
        unzip = (
            f"; zip {largest[0]} of P{n} unpacks to {declared_bytes(largest[2])} bytes"
            if largest
            else ""
        )
        raise RestoreRefused(
            f"restoring P{n} writes {total} bytes ({len(files)} files,"
            f" {sum(len(e) for *_, e in zips)} zip entries{unzip}); P{nr} has {max(free, 0)}"
            " bytes of its quota free"
        )
    return RestorePlan(nr, n, folder, files, zips, sha, total)


def _checked_zip(store, n: str, rel: str, limits: Limits) -> list[Entry]:
    """The central directory checked, then every entry decompressed once (nothing kept) to
    count its real bytes: a lying size refuses here, before anything is written."""
    with store.open_name(f"{bag_name(n)}/{rel}") as handle, zipfile.ZipFile(handle) as zipped:
        entries = check_entries(zipped.infolist(), limits)
        for entry in entries:
            if not entry.is_dir:
                copy_entry(zipped, entry, None)
    return entries


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
        fd = os.open(parts[-1], _DIR, dir_fd=parent)  # a link there: ELOOP
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


def _copy(store, plan: RestorePlan, tree: _Tree) -> None:
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


def _unpack(store, plan: RestorePlan, tree: _Tree) -> None:
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


def _read_back(plan: RestorePlan, tree: _Tree) -> None:
    for rel, _size, digest in plan.files:
        parts = tuple(rel.split("/"))
        fd = os.open(parts[-1], _READ, dir_fd=tree.dir(parts[:-1]))
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


def do_restore(store, plan: RestorePlan) -> None:
    """Write the planned restore under the staging name, check it, rename it into place."""
    stage = f".restoring-P{plan.of_project}"
    folder_fd = os.open(plan.folder, _DIR)
    try:
        _discard(folder_fd, stage)
        os.mkdir(stage, 0o700, dir_fd=folder_fd)
        stage_fd = os.open(stage, _DIR, dir_fd=folder_fd)
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


def restore_project(
    project: dict, projects_root: str, store, backend, limits: Limits, journal, check: bool,
    rep: Report,
) -> None:  # fmt: skip
    """Plan (check mode) or do the restore of one reopened project."""
    nr = str(project["project"])
    n = str(project["restore"]["from_project"])
    try:
        plan = plan_restore(project, projects_root, store, backend, limits)
    except RestoreRefused as exc:
        rep.failed.append({"project": nr, "reason": f"restore of P{n} refused: {exc}"})
        return
    except (ArchiveError, StoreError, ValueError, OSError, RuntimeError) as exc:
        line = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        rep.failed.append({"project": nr, "reason": f"restore of P{n}: {line.splitlines()[0]}"})
        return
    if plan is None:
        return
    change = plan.change()
    listed = [f"{TARGET}/{rel}" for rel, _, _ in plan.files]
    listed += [f"{TARGET}/{t}/ ({len(e)} entries unpacked)" for _, t, e in plan.zips]
    rep.diff.append(
        {
            "before_header": change["path"],
            "after_header": change["path"],
            "before": "",
            "after": "\n".join(listed[:200]) + "\n",
        }
    )

    def run() -> None:
        try:
            do_restore(store, plan)
        except (ArchiveError, StoreError, ZipRefused, ValueError, OSError, RuntimeError) as exc:
            line = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise OperationError(f"restore of P{n} into P{nr}: {line}; nothing kept") from None

    outcome = execute([Step([change], [run], change["path"])], journal, check, on_failure=STOP)
    rep.changes.extend(outcome.applied)
    if not outcome.ok:
        rep.failed.append({"project": nr, "reason": outcome.message()})
