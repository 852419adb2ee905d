"""XFS project quotas behind the quota-backend interface of ``tre_btrfs`` (docs/storage.md).

A quota unit is a directory directly below a storage root that carries a **project id**
(projid) and the ``PROJINHERIT`` flag (``xfs_quota -x -c 'project -s -p <dir> <id>'``): every
file and directory made inside inherits the projid, and the projid's block hard limit
(``limit -p bhard=<bytes> <id>``) is enforced on the whole tree (a write past it: EDQUOT,
"Disk quota exceeded"). The file system must be mounted with ``prjquota`` (or ``pquota``).

Project ids (32 bits, 0 = no project) are derived once, when the unit is made, and from then
on read back from the directory's inode (``FS_IOC_FSGETXATTR``), never from a file such as
/etc/projid:
- a project folder ``P<nr>``: projid = ``nr`` (1 .. 99,999,999, tre's project numbers);
- a personal workspace: projid = ``2**31 + uid`` (the account's uidNumber from AD, unique
  per account; tre checks uid uniqueness before any write).
The two ranges do not overlap, so no two units of a file system share a projid.

Reads: ``read_all(root)`` lists the children of ``root`` (one ``ioctl`` per directory, no
process) and takes usage and limits from ONE ``xfs_quota -x -c 'report -p -b -n -N'`` per file
system; ``read_usage`` the same for ``tre_quota_report`` (XFS accounting is always
consistent: no rescan exists). XFS has no subvolumes: ``subvolume_ids`` and ``groups`` are
empty, so the btrfs-only nested-subvolume handling never plans anything here.

The parser of the report and the projid rules are pure functions.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import struct

from ansible_collections.tre.secenv.plugins.module_utils.tre_btrfs import (
    QuotaError,
    Runner,
    UsageReading,
    find_mountpoint,
    parse_mountinfo,
)

#: _IOR('X', 31, struct fsxattr): xflags, extsize, nextents, projid, cowextsize, pad[8]
FS_IOC_FSGETXATTR = 0x801C581F
_FSXATTR = struct.Struct("=IIIII8x")
FS_XFLAG_PROJINHERIT = 0x00000200
WORKSPACE_BASE = 2**31
PROJECT_MAX = 99_999_999
_PROJECT_DIR = re.compile(r"^P([1-9][0-9]{0,7})\Z")
#: ``#<projid> <used> <soft> <hard> <warn/grace> ...`` (1 KiB blocks with -b, ids with -n)
_REPORT_LINE = re.compile(r"^#(\d+)\s+(\d+)\s+(\d+)\s+(\d+)(?:\s|$)")
KIB = 1024
#: mount options (as the kernel shows them) under which project limits are enforced
ENFORCED = frozenset({"prjquota", "pquota"})
#: what a write past a project limit fails with: XFS reports ENOSPC for project quotas
#: ("No space left on device"), EDQUOT only for user and group quotas
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def parse_report(text: str) -> dict[int, tuple[int, int | None]]:
    """{projid: (used bytes, hard limit bytes or None)} from ``report -p -b -n -N`` (numbers
    in 1 KiB blocks; a hard limit of 0 means none)."""
    result: dict[int, tuple[int, int | None]] = {}
    for line in text.splitlines():
        match = _REPORT_LINE.match(line.strip())
        if match:
            hard = int(match.group(4)) * KIB
            result[int(match.group(1))] = (int(match.group(2)) * KIB, hard or None)
    return result


def super_options(mountinfo: str, mountpoint: str) -> set[str]:
    """The super-block options (after the source, e.g. ``rw,attr2,...,prjquota``) of the
    file system mounted at ``mountpoint`` (the last mount there wins)."""
    found: set[str] = set()
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == mountpoint and "-" in fields[5:]:
            at = fields.index("-", 5)
            if len(fields) > at + 3:
                found = set(fields[at + 3].split(","))
    return found


def projid_for(path: str, owner_uid: int) -> int:
    """The projid a new unit gets: ``nr`` for a project folder ``P<nr>``, ``2**31 + uid`` for
    a workspace (owned by the account). Raises QuotaError when neither rule applies."""
    match = _PROJECT_DIR.match(os.path.basename(path.rstrip("/")))
    if match and owner_uid == 0:
        return int(match.group(1))
    if isinstance(owner_uid, int) and 0 < owner_uid < WORKSPACE_BASE - 1:
        return WORKSPACE_BASE + owner_uid
    raise QuotaError(f"no project id for {path}: neither P<nr> nor a workspace with a uid")


def read_projid(path: str) -> tuple[int, bool]:
    """(projid, PROJINHERIT set) of a directory, read without following a symlink."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        raw = fcntl.ioctl(fd, FS_IOC_FSGETXATTR, bytes(_FSXATTR.size))
    finally:
        os.close(fd)
    xflags, _ext, _n, projid, _cow = _FSXATTR.unpack(raw)
    return projid, bool(xflags & FS_XFLAG_PROJINHERIT)


class XfsQuota:
    """XFS: a quota unit is a directory with a projid (inherited), its limit the projid's
    block hard limit."""

    name = "xfs"
    full_errnos = FULL_ERRNOS

    def __init__(self, run: Runner, xfs_quota: str = "xfs_quota") -> None:
        self._run = run
        self._xfs_quota = xfs_quota
        self._reports: dict[str, dict[int, tuple[int, int | None]]] = {}
        self._projids: dict[str, int] = {}  # unit path → projid
        self._readings: dict[str, UsageReading] = {}

    def _call(self, command: str, mountpoint: str) -> str:
        argv = [self._xfs_quota, "-x", "-c", command, mountpoint]
        rc, out, err = self._run(argv)
        detail = (err or "").strip().splitlines()
        if rc != 0 or detail:  # xfs_quota exits 0 on some failures but says so on stderr
            cause = detail[-1] if detail else f"exit code {rc}"
            raise QuotaError(f"'xfs_quota -x -c {command!r} {mountpoint}' failed: {cause}")
        return out

    def _mountpoint(self, root: str) -> str:
        mountpoint = find_mountpoint(root)
        with open("/proc/self/mountinfo", encoding="utf-8") as handle:
            mountinfo = handle.read()
        _mount_root, fstype = parse_mountinfo(mountinfo, mountpoint) or ("/", "")
        if fstype != "xfs":
            raise QuotaError(
                f"{root} is on {fstype or 'an unknown'} file system at {mountpoint}, not xfs"
            )
        if not super_options(mountinfo, mountpoint) & ENFORCED:
            raise QuotaError(
                f"{mountpoint} is not mounted with prjquota: project quotas not enforced"
            )
        return mountpoint

    def _report(self, mountpoint: str) -> dict[int, tuple[int, int | None]]:
        if mountpoint not in self._reports:  # once per file system
            try:
                out = self._call("report -p -b -n -N", mountpoint)
            except QuotaError as exc:
                raise QuotaError(
                    f"cannot read project quotas of {mountpoint} (mounted with prjquota?): {exc}"
                ) from None
            self._reports[mountpoint] = parse_report(out)
        return self._reports[mountpoint]

    def _units(self, root: str) -> dict[str, int]:
        """{path: projid} of the directories directly below ``root`` that carry THEIR projid
        (the one derived from their name and owner, with the inherit flag). A directory whose
        projid was changed (its owner can: ``chattr -p``) is no unit: the plan reports it
        unsafe, and no limit is ever set on a projid that belongs to another unit."""
        units = {}
        with os.scandir(root) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                    projid = self._own_projid(entry.path)
                    if projid:
                        units[entry.path] = projid
        self._projids.update(units)
        return units

    @staticmethod
    def _own_projid(path: str) -> int | None:
        projid, inherit = read_projid(path)
        try:
            expected = projid_for(path, os.lstat(path).st_uid)
        except QuotaError:
            return None
        return projid if projid and inherit and projid == expected else None

    def read_all(self, root: str) -> dict[str, tuple[int, int | None]]:
        report = self._report(self._mountpoint(root))
        return {p: report.get(i, (0, None)) for p, i in self._units(root).items()}

    def read_usage(self, root: str) -> UsageReading:
        """Usage and limit of the units below ``root``; one report per file system (a second
        root on the same file system adds its units to the same reading)."""
        mountpoint = self._mountpoint(root)
        reading = self._readings.get(mountpoint)
        if reading is None:
            reading = self._readings[mountpoint] = UsageReading(mountpoint, {}, True, [], 1)
        reading.units.update(self.read_all(root))
        return reading

    def subvolume_ids(self, root: str) -> dict[str, int]:
        return {}  # no subvolumes on XFS: nothing can be nested outside a unit's limit

    def groups(self, root: str) -> dict[str, tuple[int, int | None, frozenset[str]]]:
        return {}

    def enforce_group(self, *_args) -> None:  # pragma: no cover - never planned on XFS
        raise QuotaError("qgroups are btrfs only")

    def is_unit(self, path: str) -> bool:
        return self._own_projid(path) is not None

    def _projid(self, path: str) -> int:
        if path not in self._projids:
            projid = self._own_projid(path)
            if projid is None:
                raise QuotaError(f"{path} has no project id of its own; refused")
            self._projids[path] = projid
        return self._projids[path]

    def create_subvolume(self, path: str, owner_uid: int = 0) -> None:
        """Make the unit whole or not at all: a directory ``.tre-new.<name>`` beside it gets
        the owner and its projid (``project -s``: projid and PROJINHERIT), then is renamed
        into place (the inode keeps both). A leftover of a killed run is never complete and is
        removed first."""
        projid = projid_for(path, owner_uid)
        parent, name = os.path.split(path)
        mountpoint = self._mountpoint(parent)
        staging = os.path.join(parent, f".tre-new.{name}")
        if os.path.lexists(staging):
            shutil.rmtree(staging)
        os.mkdir(staging, 0o700)
        if owner_uid:
            os.lchown(staging, owner_uid, -1)
        self._call(f"project -s -p {staging} {projid}", mountpoint)
        if os.path.lexists(path):
            raise QuotaError(f"{path} appeared while it was made; refused")
        os.rename(staging, path)
        self._projids[path] = projid

    def set_limit(self, path: str, limit: int) -> None:
        mountpoint = self._mountpoint(os.path.dirname(path))
        self._call(f"limit -p bhard={int(limit)} {self._projid(path)}", mountpoint)

    def delete_unit(self, path: str) -> list[str]:
        """Delete a unit: its limit lifted, the tree removed (never following a symlink), the
        projid's accounting then at zero. Returns the deleted path."""
        projid = self._projid(path)
        mountpoint = self._mountpoint(os.path.dirname(path))
        self._call(f"limit -p bhard=0 {projid}", mountpoint)
        shutil.rmtree(path)
        self._projids.pop(path, None)
        self._reports.pop(mountpoint, None)
        return [path]
