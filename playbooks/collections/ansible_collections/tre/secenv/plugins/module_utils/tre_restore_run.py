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

The writing (under ``P<M>/.restoring-P<N>``, renamed to ``restored`` once complete; nothing
written outside it) is ``tre_restore_write.do_restore``.
"""

from __future__ import annotations

import hashlib
import os
import stat
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
from ansible_collections.tre.secenv.plugins.module_utils.tre_restore_write import (
    DIR_FLAGS,
    MARKER,
    READ_FLAGS,
    TARGET,
    do_restore,
    marker_text,
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


def _read_marker(folder: str) -> str | None:
    try:
        fd = os.open(os.path.join(folder, TARGET), DIR_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        why = f"{folder}/{TARGET} exists and is not a directory ({exc.strerror})"
        raise RestoreRefused(why) from None
    try:  # O_NONBLOCK: a FIFO planted there by a researcher never blocks the run
        handle = os.open(MARKER, READ_FLAGS | os.O_NONBLOCK, dir_fd=fd)
    except OSError:
        return ""
    finally:
        os.close(fd)
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return ""
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
    """The bytes of a killed run's staging folder (counted in the usage, deleted first).

    Only a real directory counts: a link planted at that name is unlinked, never followed,
    so what it points to frees nothing (and is not walked)."""
    try:
        if not stat.S_ISDIR(os.lstat(stage).st_mode):
            return 0
    except FileNotFoundError:
        return 0
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
