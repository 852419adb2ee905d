"""Input validation and actual-state reading for ``tre_storage``.

``normalize`` turns the desired state (``tre_desired``) plus the AD module's ``ids`` into
``ProjectSpec`` records, re-checking every identifier that becomes part of a path against a
strict pattern. ``read_state`` reads what exists: lstat and ACL xattrs of the needed paths only,
plus the catalogue subject trees; quotas come from the backend's single ``read_all``.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from ansible_collections.tre.secenv.plugins.module_utils.tre_acl import Acl, read_acls
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import (
    CLOSED_STATUSES,
    SUBJECT_RE,
    validate,
)

#: Folders created inside every project subvolume (see docs/storage.md); ``archive`` holds
#: what the researchers prepare to be kept after the end (tre_archive).
PROJECT_FOLDERS = ("export", "import", "OtherData", "archive")


class SpecError(ValueError):
    """Invalid input or an unsafe path; the message is one line."""


class UnsafePath(SpecError):
    """A path of one project that must not be touched (a symlink, a FIFO, ...).

    ``reason`` is one line naming the path and what is wrong; it never carries a link target
    or any other text a researcher could have chosen.
    """

    def __init__(self, path: str, reason: str, message: str | None = None) -> None:
        super().__init__(message or reason)
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class AccountSpec:
    sam: str
    uid: int | None
    gid: int | None
    group: str | None = None  # the name of the project group the account belongs to


@dataclass(frozen=True)
class ProjectSpec:
    project: str
    members: str
    observers: str
    members_gid: int | None
    observers_gid: int | None
    quota_bytes: int
    workspace_quota_bytes: int
    subjects: tuple[str, ...]
    accounts: tuple[AccountSpec, ...] = field(default_factory=tuple)
    # every file subject of the contract (any grant month); missing: none (the strict case)
    contract_subjects: frozenset[str] = frozenset()
    # the subjects of the last applied revision, None when the state store has none
    recorded_grants: frozenset[str] | None = None
    # status ended: what is missing is not made (archived, or never made; tre_archive)
    ended: bool = False


@dataclass(frozen=True)
class PathState:
    is_dir: bool
    uid: int
    gid: int
    mode: int
    access: Acl
    default: Acl | None
    ftype: str = "a directory"  # what the path is, for a one-line refusal


_FILE_TYPES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISREG, "a regular file"),
)


def file_type(mode: int) -> str:
    return next((name for test, name in _FILE_TYPES if test(mode)), "not a directory")


def _opt_int(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SpecError(f"invalid {what}: {value!r}")
    return value


def normalize(desired: dict, ids: dict) -> list[ProjectSpec]:
    """Project records of the run; unknown ids (check mode, new objects) are None.

    The desired state is checked by ``tre_desired.validate`` (every identifier that becomes
    part of a path: project, group and account names, subjects); added here: the ``ids``.
    """
    problems = validate(desired, required=("groups", "storage"))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SpecError(f"invalid desired state: {problems[0]}{more}")
    groups = (ids or {}).get("groups") or {}
    accounts_ids = (ids or {}).get("accounts") or {}
    specs = []
    for raw in (desired or {}).get("projects") or []:
        project = str(raw["project"])
        members = raw["groups"]["members"]["name"]
        observers = raw["groups"]["observers"]["name"]
        storage = raw["storage"]
        accounts = []
        for account in raw.get("accounts") or []:
            sam = account["sam"]
            numbers = accounts_ids.get(sam) or {}
            accounts.append(
                AccountSpec(
                    sam,
                    _opt_int(numbers.get("uid"), f"uid of {sam}"),
                    _opt_int(numbers.get("gid"), f"gid of {sam}"),
                    {"members": members, "observers": observers}[account["group"]],
                )
            )
        recorded = storage.get("recorded_grants")
        specs.append(
            ProjectSpec(
                project=project,
                members=members,
                observers=observers,
                members_gid=_opt_int(groups.get(members), f"gid of {members}"),
                observers_gid=_opt_int(groups.get(observers), f"gid of {observers}"),
                quota_bytes=storage["quota_bytes"],
                workspace_quota_bytes=storage["workspace_quota_bytes"],
                subjects=tuple(sorted(set(storage.get("file_subjects") or []))),
                accounts=tuple(accounts),
                contract_subjects=frozenset(storage.get("contract_subjects") or []),
                recorded_grants=None if recorded is None else frozenset(recorded),
                ended=raw.get("status") in CLOSED_STATUSES,  # moved: never made again
            )
        )
    return specs


def safe_root(root: str, what: str) -> str:
    if not isinstance(root, str) or not os.path.isabs(root):
        raise SpecError(f"{what} must be an absolute path: {root!r}")
    real = os.path.realpath(root)
    if not os.path.isdir(real):
        raise SpecError(f"{what} {root} is not a directory")
    return real


def child(root: str, *names: str) -> str:
    """``root/names...`` after checking that no component leaves ``root`` (symlinks included)."""
    path = os.path.join(root, *names)
    real = os.path.realpath(path)
    if real != path or os.path.commonpath([root, real]) != root or real == root:
        reason = (
            f"{path} is a symbolic link"
            if os.path.islink(path)
            else f"{path} resolves to a path outside {root}"
        )
        raise UnsafePath(path, reason, f"path {path} leaves its root {root} ({reason})")
    return path


def read_path(path: str) -> PathState | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(path, f"{path} is a symbolic link")
    access, default = read_acls(path, st)
    return PathState(
        stat.S_ISDIR(st.st_mode),
        st.st_uid,
        st.st_gid,
        stat.S_IMODE(st.st_mode),
        access,
        default,
        file_type(st.st_mode),
    )


def read_tree(top: str) -> list[tuple[str, PathState]]:
    """The directory and everything below it (symbolic links are skipped, never followed)."""
    found = []
    stack = [top]
    while stack:
        directory = stack.pop()
        state = read_path(directory)
        if state is None:
            continue
        found.append((directory, state))
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    access, _ = read_acls(entry.path, st)
                    found.append(
                        (
                            entry.path,
                            PathState(
                                False, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), access, None
                            ),
                        )
                    )
    return sorted(found)


def read_catalog(catalog_root: str) -> dict[str, list[tuple[str, PathState]]]:
    """{subject: [(path, state), ...]} for every subject directory of the catalogue."""
    result = {}
    with os.scandir(catalog_root) as entries:
        for entry in entries:
            if SUBJECT_RE.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                result[entry.name] = read_tree(child(catalog_root, entry.name))
    return result
