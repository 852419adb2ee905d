"""Which projects ``tre_storage`` must leave untouched in a run (pure functions).

A project is *unsafe* when writing its storage could widen access or follow a researcher's
trap: ids that failed a check (a number below ``id_min``, the same number on two objects, an
account whose gid is not its project group's), a path that is a symlink or not a directory,
or a catalogue grant that no rule of the contract explains (subjects are never removed).
An unsafe project gets no storage change at all; every other project of the run is applied.
Each is reported as ``{project, path, reason}``; ``reason`` is one line without any text a
researcher could have chosen (no link targets, no file names below the managed paths).
"""

from __future__ import annotations

from ansible_collections.tre.secenv.plugins.module_utils.tre_acl import named_groups
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import (
    PathState,
    ProjectSpec,
)


def unsafe(project: str, path: str, reason: str) -> dict:
    return {"project": project, "path": path, "reason": reason}


def unsafe_line(entry: dict) -> str:
    """The one line an admin reads for an unsafe project."""
    return f"project {entry['project']}: {entry['reason']}; its storage was left unchanged"


def _holders(specs: list[ProjectSpec], ids: dict) -> tuple[dict, dict]:
    """{uid: [(project or None, 'account sam')]}, {gid: [(project or None, 'group name')]}
    over every object of ``ids`` (seat groups too), attributed to the run's projects."""
    project_of_group = {}
    project_of_account = {}
    for spec in specs:
        project_of_group[spec.members] = spec.project
        project_of_group[spec.observers] = spec.project
        for account in spec.accounts:
            project_of_account[account.sam] = spec.project
    uids: dict[int, list] = {}
    gids: dict[int, list] = {}
    for sam, numbers in sorted(((ids or {}).get("accounts") or {}).items()):
        uid = (numbers or {}).get("uid")
        if isinstance(uid, int):
            uids.setdefault(uid, []).append((project_of_account.get(sam), f"account {sam}"))
    for name, gid in sorted(((ids or {}).get("groups") or {}).items()):
        if isinstance(gid, int):
            gids.setdefault(gid, []).append((project_of_group.get(name), f"group {name}"))
    return uids, gids


def check_ids(specs: list[ProjectSpec], ids: dict, id_min: int) -> list[dict]:
    """Projects whose uid/gid numbers failed a check (unknown ids, None, are not checked)."""
    found: list[dict] = []
    for spec in specs:
        where = f"P{spec.project}"
        numbers = [
            (spec.members_gid, f"gidNumber {spec.members_gid} of group {spec.members}"),
            (spec.observers_gid, f"gidNumber {spec.observers_gid} of group {spec.observers}"),
        ]
        for account in spec.accounts:
            numbers.append((account.uid, f"uidNumber {account.uid} of account {account.sam}"))
            numbers.append((account.gid, f"gidNumber {account.gid} of account {account.sam}"))
        for number, what in numbers:
            if number is not None and number < id_min:
                found.append(unsafe(spec.project, where, f"{what} is below id_min {id_min}"))
        group_gid = {spec.members: spec.members_gid, spec.observers: spec.observers_gid}
        for account in spec.accounts:
            want = group_gid.get(account.group or spec.members)
            if None not in (account.gid, want) and account.gid != want:
                found.append(
                    unsafe(
                        spec.project,
                        where,
                        f"account {account.sam} has gidNumber {account.gid} but its group "
                        f"{account.group} has {want}",
                    )
                )
    uids, gids = _holders(specs, ids)
    for kind, holders in (("uidNumber", uids), ("gidNumber", gids)):
        for number, objects in sorted(holders.items()):
            if len(objects) < 2:
                continue
            names = " and ".join(name for _project, name in objects)
            for project in sorted({p for p, _name in objects if p is not None}):
                found.append(unsafe(project, f"P{project}", f"{kind} {number} is held by {names}"))
    return found


def refused_revokes(spec: ProjectSpec, catalog: dict, catalog_root: str) -> list[dict]:
    """Catalogue subjects the ACLs grant to ``spec``'s groups that today's ``file_subjects``
    lacks, where a revoke would remove a contracted subject (subjects are never removed).

    Revoking is drift repair only when the subject is in the contract but not yet granted
    (granted too early), or when the state store's last applied revision did not grant it.
    """
    gids = {g for g in (spec.members_gid, spec.observers_gid) if g is not None}
    found = []
    for subject, tree in sorted(catalog.items()):
        if subject in spec.subjects or not gids or not _granted(tree, gids):
            continue
        if subject in spec.contract_subjects:
            continue  # granted too early: hand-made drift
        if spec.recorded_grants is not None and subject not in spec.recorded_grants:
            continue  # never granted by tre: hand-made drift
        found.append(
            unsafe(
                spec.project,
                f"{catalog_root}/{subject}",
                f"subject {subject} is granted on the file system but not in the contract; "
                "subjects are never removed",
            )
        )
    return found


def _granted(tree: list[tuple[str, PathState]], gids: set[int]) -> bool:
    return any(
        named_groups(state.access, gids) or named_groups(state.default, gids)
        for _path, state in tree
    )
