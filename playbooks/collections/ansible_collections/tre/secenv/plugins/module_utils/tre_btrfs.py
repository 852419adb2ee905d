"""Quota backends behind one small interface; btrfs subvolumes + qgroups is the one here.

Interface (what ``tre_storage`` needs; ``tre_xfs.XfsQuota`` implements it for XFS project
quotas, ``tre_quota_backend.get_backend`` picks one by name):
- ``read_all(root) -> {absolute path: (usage_bytes, limit_bytes or None)}`` for every quota
  unit (subvolume) on the file system holding ``root``; read once per file system;
- ``create_subvolume(path, owner_uid)``; ``set_limit(path, limit_bytes)``;
- ``is_unit(path)``: whether an existing directory is a quota unit (a subvolume);
- ``subvolume_ids(root)``, ``groups(root)`` (level-1 qgroups: ``{"1/<n>": (referenced, limit
  or None, children)}``) and ``enforce_group(path, group, children, limit, create)``: a level-1
  qgroup carrying a unit's limit over the unit and its nested subvolumes.

Measurement (``tre_quota_report``): ``read_usage(root) -> UsageReading``: every quota unit's
usage (nested subvolumes counted in, as the limit is enforced over them) and limit, plus
whether the accounting can be trusted, from ONE ``btrfs qgroup show`` per file system.

The parsers of ``btrfs qgroup show -pcre --raw``, ``btrfs subvolume list`` and
``/proc/self/mountinfo`` are pure functions.
"""

from __future__ import annotations

import bisect
import errno
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

Runner = Callable[[list[str]], tuple[int, str, str]]

_QGROUP_LINE = re.compile(r"^0/(\d+)\s+(\d+)\s+(\d+)\s+(\d+|none)\s+(\d+|none)(?:\s|$)")
_SUBVOL_LINE = re.compile(r"^ID (\d+) gen \d+ top level \d+ path (.+)$")
_BTRFS_SUBVOLUME_INO = 256


class QuotaError(RuntimeError):
    """A quota command failed; the message is one line."""


def parse_qgroup_show(text: str) -> dict[int, tuple[int, int | None]]:
    """{subvolume id: (referenced bytes, max referenced or None)} from ``qgroup show -re --raw``.

    Only level-0 qgroups (one per subvolume) are returned; the limit is the referenced limit.
    """
    result: dict[int, tuple[int, int | None]] = {}
    for line in text.splitlines():
        match = _QGROUP_LINE.match(line.strip())
        if match:
            limit = None if match.group(4) == "none" else int(match.group(4))
            result[int(match.group(1))] = (int(match.group(2)), limit)
    return result


def parse_qgroup_groups(text: str) -> dict[str, tuple[int, int | None, frozenset[str]]]:
    """{"1/<n>": (referenced, max referenced or None, child qgroup ids)} of the higher-level
    qgroups, from ``qgroup show -pcre --raw`` (columns: id, rfer, excl, max rfer, max excl,
    parent, child, path)."""
    result = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 7 or not re.fullmatch(r"[1-9][0-9]*/[0-9]+", fields[0]):
            continue
        if not (fields[1].isdigit() and (fields[3].isdigit() or fields[3] == "none")):
            continue
        limit = None if fields[3] == "none" else int(fields[3])
        children = frozenset(c for c in fields[6].split(",") if c != "-")
        result[fields[0]] = (int(fields[1]), limit, children)
    return result


@dataclass(frozen=True)
class QgroupRow:
    """One line of ``btrfs qgroup show -pcre --raw``: id (``0/257``), referenced bytes, max
    referenced (None = none), child qgroups, and the subvolume path relative to the file
    system's top level (None when the btrfs-progs is too old to print the Path column, or
    for a higher-level qgroup / a deleted subvolume: ``<0 member qgroups>``, ``<stale>``)."""

    qgroup: str
    referenced: int
    limit: int | None
    children: frozenset[str]
    path: str | None


@dataclass(frozen=True)
class UsageReading:
    """What ``read_usage`` found on one file system: ``units`` = {absolute path: (used bytes,
    limit or None)}; ``consistent`` is False when btrfs said its numbers cannot be trusted
    (then ``notes`` says why, e.g. ``qgroup data inconsistent, rescan recommended``)."""

    mountpoint: str
    units: dict[str, tuple[int, int | None]]
    consistent: bool
    notes: list[str] = field(default_factory=list)
    reads: int = 1


#: What ``btrfs qgroup show`` prints (stderr) when its numbers are not to be trusted
#: (btrfs-progs cmds/qgroup.c: the INCONSISTENT and RESCAN status flags).
UNTRUSTED = re.compile(r"inconsisten|rescan", re.IGNORECASE)


def parse_qgroup_rows(text: str) -> list[QgroupRow]:
    """Every qgroup line of ``qgroup show -pcre --raw`` (columns: id, rfer, excl, max rfer,
    max excl, parent, child[, path]); a path may hold spaces (the last column takes the rest)."""
    header = next((ln for ln in text.splitlines() if ln.lower().startswith("qgroupid")), "")
    has_path = "path" in header.lower().split()
    rows = []
    for line in text.splitlines():
        fields = line.strip().split(None, 7)
        if len(fields) < 7 or not re.fullmatch(r"[0-9]+/[0-9]+", fields[0]):
            continue
        if not (fields[1].isdigit() and (fields[3].isdigit() or fields[3] == "none")):
            continue
        path = fields[7].strip() if has_path and len(fields) > 7 else None
        if path is not None and (path.startswith("<") and path.endswith(">")):
            path = None  # <toplevel>, <N member qgroups>, <stale>, <under deletion>
        if path is not None and path.startswith("<FS_TREE>/"):
            path = path[len("<FS_TREE>/") :]
        rows.append(
            QgroupRow(
                qgroup=fields[0],
                referenced=int(fields[1]),
                limit=None if fields[3] == "none" else int(fields[3]),
                children=frozenset(c for c in fields[6].split(",") if c != "-"),
                path=path,
            )
        )
    return rows


def untrusted_notes(stderr: str) -> list[str]:
    """The warnings of ``qgroup show`` that make its numbers unknown, without the prefix."""
    notes = []
    for line in stderr.splitlines():
        text = re.sub(r"^(WARNING|ERROR):\s*", "", line.strip())
        if text and UNTRUSTED.search(text) and text not in notes:
            notes.append(text)
    return notes


def unit_usage(rows: list[QgroupRow], paths: dict[int, str]) -> dict[str, tuple[int, int | None]]:
    """{path: (used, limit)} of every subvolume: its own referenced bytes plus those of the
    subvolumes nested below it (their data counts against the unit, see tre_storage); where a
    level-1 group ``1/<id>`` holds the unit (and nested ones) its referenced bytes replace the
    sum for its members (shared extents counted once). Limit: the unit's own, else the group's.
    """
    by_id = {int(r.qgroup.split("/")[1]): r for r in rows if r.qgroup.startswith("0/")}
    groups = {r.qgroup: r for r in rows if not r.qgroup.startswith("0/")}
    ordered = sorted((p, i) for i, p in paths.items())  # a prefix's paths are contiguous
    result: dict[str, tuple[int, int | None]] = {}
    for ident, path in paths.items():
        own = by_id.get(ident)
        if own is None:
            continue
        prefix = path.rstrip("/") + "/"
        nested = []
        at = bisect.bisect_left(ordered, (prefix, -1))
        while at < len(ordered) and ordered[at][0].startswith(prefix):
            nested.append(ordered[at][1])
            at += 1
        group = groups.get(f"1/{ident}")
        members = set(group.children) if group else set()
        used = group.referenced if group else 0
        for i in (ident, *nested):
            if f"0/{i}" not in members and i in by_id:
                used += by_id[i].referenced
        limit = own.limit if own.limit is not None else (group.limit if group else None)
        result[path] = (used, limit)
    return result


def parse_subvolume_list(text: str) -> dict[int, str]:
    """{subvolume id: path relative to the file system's top level} from ``subvolume list``."""
    result: dict[int, str] = {}
    for line in text.splitlines():
        match = _SUBVOL_LINE.match(line.rstrip("\n"))
        if match:
            path = match.group(2)
            if path.startswith("<FS_TREE>/"):
                path = path[len("<FS_TREE>/") :]
            result[int(match.group(1))] = path
    return result


def _unescape_mountinfo(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str, mountpoint: str) -> tuple[str, str] | None:
    """(root, fs type) of the file system mounted at ``mountpoint``; root is field 4 ('/' or
    the mounted subvolume's path), the type follows the ' - ' separator."""
    found = None
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 4 and _unescape_mountinfo(fields[4]) == mountpoint and "-" in fields:
            fstype = fields[fields.index("-", 5) + 1] if "-" in fields[5:] else ""
            found = (_unescape_mountinfo(fields[3]), fstype)  # the last mount on a point wins
    return found


def find_mountpoint(path: str) -> str:
    path = os.path.realpath(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def map_paths(ids_paths: dict[int, str], mount_root: str, mountpoint: str) -> dict[int, str]:
    """Subvolume ids → absolute paths under ``mountpoint`` (others are left out)."""
    root = mount_root.strip("/")
    result = {}
    for ident, rel in ids_paths.items():
        if root:
            if not rel.startswith(root + "/"):
                continue
            rel = rel[len(root) + 1 :]
        result[ident] = os.path.join(mountpoint, rel)
    return result


class BtrfsQuota:
    """btrfs: a quota unit is a subvolume, its limit the qgroup's max referenced size."""

    name = "btrfs"
    full_errnos = (errno.EDQUOT,)  # what a write past a limit fails with

    def __init__(self, run: Runner, btrfs: str = "btrfs") -> None:
        self._run = run
        self._btrfs = btrfs
        self._cache: dict[str, dict[str, tuple[int, int | None]]] = {}
        self._ids: dict[str, dict[str, int]] = {}
        self._groups: dict[str, dict[str, tuple[int, int | None, frozenset[str]]]] = {}
        self._readings: dict[str, UsageReading] = {}

    def _call(self, *args: str) -> str:
        argv = [self._btrfs, *args]
        rc, out, err = self._run(argv)
        if rc != 0:
            detail = (err or out).strip().splitlines()
            cause = detail[-1] if detail else f"exit code {rc}"
            raise QuotaError(f"'{' '.join(argv)}' failed: {cause}")
        return out

    def read_all(self, root: str) -> dict[str, tuple[int, int | None]]:
        mountpoint = find_mountpoint(root)
        if mountpoint not in self._cache:
            with open("/proc/self/mountinfo", encoding="utf-8") as handle:
                mount_root, fstype = parse_mountinfo(handle.read(), mountpoint) or ("/", "")
            if fstype != "btrfs":
                raise QuotaError(
                    f"{root} is on {fstype or 'an unknown'} file system at {mountpoint}, not btrfs"
                )
            paths = map_paths(
                parse_subvolume_list(self._call("subvolume", "list", mountpoint)),
                mount_root,
                mountpoint,
            )
            try:
                shown = self._call("qgroup", "show", "-pcre", "--raw", "--sync", mountpoint)
            except QuotaError as exc:
                raise QuotaError(
                    f"cannot read qgroups of {mountpoint} (quota enabled?): {exc}"
                ) from None
            groups = parse_qgroup_show(shown)
            self._cache[mountpoint] = {
                path: groups.get(ident, (0, None)) for ident, path in paths.items()
            }
            self._ids[mountpoint] = {path: ident for ident, path in paths.items()}
            self._groups[mountpoint] = parse_qgroup_groups(shown)
        return self._cache[mountpoint]

    def read_usage(self, root: str) -> UsageReading:
        """Usage and limit of every quota unit on the file system holding ``root``, from one
        ``btrfs qgroup show -pcre --raw --sync`` (``--sync``: data just written is counted).
        A btrfs-progs without the Path column needs one ``subvolume list`` more. Never raises
        for untrusted numbers: ``consistent`` is False and ``notes`` say why."""
        mountpoint = find_mountpoint(root)
        if mountpoint not in self._readings:  # once per file system
            self._readings[mountpoint] = self._read_usage(root, mountpoint)
        return self._readings[mountpoint]

    def _read_usage(self, root: str, mountpoint: str) -> UsageReading:
        mount_root = self._mount_root(root, mountpoint)
        argv = [self._btrfs, "qgroup", "show", "-pcre", "--raw", "--sync", mountpoint]
        rc, out, err = self._run(argv)
        if rc != 0:
            detail = (err or out).strip().splitlines()
            cause = detail[-1] if detail else f"exit code {rc}"
            raise QuotaError(f"cannot read qgroups of {mountpoint} (quota enabled?): {cause}")
        rows = parse_qgroup_rows(out)
        reads = 1
        relative = {
            int(r.qgroup.split("/")[1]): r.path
            for r in rows
            if r.qgroup.startswith("0/") and r.path is not None
        }
        if not any(r.path for r in rows):  # old btrfs-progs: no Path column
            relative = parse_subvolume_list(self._call("subvolume", "list", mountpoint))
            reads += 1
        paths = map_paths(relative, mount_root, mountpoint)
        notes = untrusted_notes(err)
        return UsageReading(mountpoint, unit_usage(rows, paths), not notes, notes, reads)

    def _mount_root(self, root: str, mountpoint: str) -> str:
        with open("/proc/self/mountinfo", encoding="utf-8") as handle:
            mount_root, fstype = parse_mountinfo(handle.read(), mountpoint) or ("/", "")
        if fstype != "btrfs":
            raise QuotaError(
                f"{root} is on {fstype or 'an unknown'} file system at {mountpoint}, not btrfs"
            )
        return mount_root

    def subvolume_ids(self, root: str) -> dict[str, int]:
        self.read_all(root)
        return self._ids.get(find_mountpoint(root), {})

    def groups(self, root: str) -> dict[str, tuple[int, int | None, frozenset[str]]]:
        self.read_all(root)
        return self._groups.get(find_mountpoint(root), {})

    def enforce_group(
        self, path: str, group: str, children: tuple[str, ...], limit: int, create: bool
    ) -> None:
        """Make ``group`` (1/<n>) hold ``children`` and carry ``limit``. An assignment leaves
        the accounting inconsistent (no limit works on the file system) until a rescan: the
        rescan is run and waited for before the limit is set."""
        if create:
            self._call("qgroup", "create", group, path)
        for child in children:
            self._call("qgroup", "assign", "--no-rescan", child, group, path)
        if children:
            self._call("quota", "rescan", "-w", path)
        self._call("qgroup", "limit", str(int(limit)), group, path)

    def is_unit(self, path: str) -> bool:
        return os.lstat(path).st_ino == _BTRFS_SUBVOLUME_INO

    def create_subvolume(self, path: str, owner_uid: int = 0) -> None:
        """A subvolume (``owner_uid`` is for backends that derive ids from it; unused)."""
        self._call("subvolume", "create", path)

    def set_limit(self, path: str, limit: int) -> None:
        self._call("qgroup", "limit", str(int(limit)), path)

    def delete_unit(self, path: str) -> list[str]:
        """Delete a quota unit (a subvolume), the subvolumes nested in it (deepest first)
        and their qgroups (``0/<id>``, and ``1/<id>`` where one enforces the unit's limit).

        Limits are lifted first (a unit at its limit refuses even a delete), each deletion
        is committed and waited for, then its qgroup destroyed. Returns the deleted paths.
        Only for paths ``read_all`` knows as units (the caller checks ``is_unit``).
        """
        root = os.path.dirname(path)  # a subvolume is a mount point to os.path.ismount
        mountpoint = find_mountpoint(root)
        ids = self.subvolume_ids(root)
        if path not in ids:
            raise QuotaError(f"{path} is not a known subvolume; refused")
        nested = sorted((p for p in ids if p.startswith(path + "/")), key=len, reverse=True)
        group = f"1/{ids[path]}"
        known = self.groups(root)
        if group in known:
            self._call("qgroup", "limit", "none", group, mountpoint)
        deleted = []
        for unit in [*nested, path]:
            self._call("qgroup", "limit", "none", unit)
            self._call("subvolume", "delete", "--commit-after", unit)
            self._call("subvolume", "sync", mountpoint, str(ids[unit]))
            self._destroy(f"0/{ids[unit]}", mountpoint)
            deleted.append(unit)
        if group in known:
            self._destroy(group, mountpoint)
        self._cache.pop(mountpoint, None)  # read again on the next read_all
        return deleted

    def _destroy(self, qgroup: str, mountpoint: str) -> None:
        try:
            self._call("qgroup", "destroy", qgroup, mountpoint)
        except QuotaError as exc:
            if "No such file" not in str(exc) and "not exist" not in str(exc):
                raise  # the kernel may have dropped it with the subvolume already
