"""Quota backends behind one small interface; btrfs subvolumes + qgroups is the one here.

Interface (what ``tre_storage`` needs, so XFS project quotas could be added as another class):
- ``read_all(root) -> {absolute path: (usage_bytes, limit_bytes or None)}`` for every quota
  unit (subvolume) on the file system holding ``root``; read once per file system;
- ``create_subvolume(path)``; ``set_limit(path, limit_bytes)``;
- ``is_unit(path)``: whether an existing directory is a quota unit (a subvolume);
- ``subvolume_ids(root)``, ``groups(root)`` (level-1 qgroups: ``{"1/<n>": (referenced, limit
  or None, children)}``) and ``enforce_group(path, group, children, limit, create)``: a level-1
  qgroup carrying a unit's limit over the unit and its nested subvolumes.

The parsers of ``btrfs qgroup show -pcre --raw``, ``btrfs subvolume list`` and
``/proc/self/mountinfo`` are pure functions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

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

    def __init__(self, run: Runner, btrfs: str = "btrfs") -> None:
        self._run = run
        self._btrfs = btrfs
        self._cache: dict[str, dict[str, tuple[int, int | None]]] = {}
        self._ids: dict[str, dict[str, int]] = {}
        self._groups: dict[str, dict[str, tuple[int, int | None, frozenset[str]]]] = {}

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

    def create_subvolume(self, path: str) -> None:
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


def get_backend(name: str, run: Runner) -> BtrfsQuota:
    if name == "btrfs":
        return BtrfsQuota(run)
    raise QuotaError(f"quota backend {name!r} is not implemented (available: btrfs)")
