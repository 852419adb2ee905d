"""Pure planning of the catalogue ACLs: one read entry per subject, for its reader group.

Which projects read a subject is AD membership of the subject's reader group (tre_ad,
``desired["subjects"]``); its directory tree carries one group entry (and one default entry)
for that group, set once, so the ACL's size does not grow with the number of projects (btrfs
keeps an ACL in one xattr of about 16 KB: some 2,000 entries). Entries of this run's project
groups (the model before reader groups, or drift) are removed in the same write that adds the
reader entry, so no project that reads the subject is ever without access. Entries of other
gids are never touched.
"""

from __future__ import annotations

from ansible_collections.tre.secenv.plugins.module_utils.tre_acl import (
    GROUP_OBJ,
    OTHER,
    USER_OBJ,
    Acl,
    canonical,
    merge_groups,
    named_groups,
    parse_perm,
    perm_text,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import GROUP_RE, SUBJECT_RE
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_model import (
    CATALOG,
    RX,
    Actual,
    Layout,
    Plan,
    gid_text,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import (
    ProjectSpec,
    SpecError,
)


def _read_perm(is_dir: bool, mode: int) -> int:
    return parse_perm("r-X", is_dir, mode)


def _base_default(access: Acl) -> Acl:
    """A new default ACL starts from the access ACL's owner/group/other (as setfacl does)."""
    return canonical(e for e in access if e[0] in (USER_OBJ, GROUP_OBJ, OTHER))


def reader_groups(desired: dict, ids: dict, id_min: int = 0) -> dict[str, tuple[str, int | None]]:
    """subject -> (reader group name, its gid or None: new in check mode), validated.

    A reader gid becomes an ACL entry on a catalogue shared by every project, so it is checked
    like the projects' numbers: at least ``id_min`` and held by no other group of the run
    (a failure stops the run: no project can be left out of a shared catalogue).
    """
    gids = (ids or {}).get("groups") or {}
    out: dict[str, tuple[str, int | None]] = {}
    for subject, entry in sorted((desired.get("subjects") or {}).items()):
        name = (entry or {}).get("group")
        if not isinstance(subject, str) or not SUBJECT_RE.fullmatch(subject):
            raise SpecError(f"bad file subject {subject!r} in subjects")
        if not isinstance(name, str) or not GROUP_RE.fullmatch(name):
            raise SpecError(f"bad reader group name for subject {subject}")
        gid = gids.get(name)
        if gid is not None and (not isinstance(gid, int) or isinstance(gid, bool)):
            raise SpecError(f"gid of {name} is not a number")
        if gid is not None and gid < id_min:
            raise SpecError(f"gidNumber {gid} of reader group {name} is below id_min {id_min}")
        others = sorted(g for g, n in gids.items() if n == gid and g != name)
        if gid is not None and others:
            raise SpecError(f"gidNumber {gid} is held by both {name} and {others[0]}")
        out[subject] = (name, gid)
    return out


def _entries(acl: Acl | None, gids: set[int]) -> list[str]:
    return [f"group:{g}:{perm_text(p)}" for g, p in named_groups(acl, gids).items()]


def plan_catalog(
    plan: Plan,
    specs: list[ProjectSpec],
    layout: Layout,
    actual: Actual,
    readers: dict[str, tuple[str, int | None]] | None = None,
) -> None:
    """Per subject tree: the reader group's entry; this run's project gids removed."""
    readers = readers or {}
    run_gids = {g for s in specs for g in (s.members_gid, s.observers_gid) if g is not None}
    for spec in specs:
        for subject in spec.subjects:
            if subject not in actual.catalog:
                plan.warnings.append(
                    f"project {spec.project}: file subject {subject} has no "
                    f"directory under {layout.catalog_root}"
                )
    for subject, tree in sorted(actual.catalog.items()):
        name, gid = readers.get(subject, (None, None))
        wanted_gids = {gid} if gid is not None else set()
        managed = run_gids | wanted_gids
        if gid is None:  # no reader entry yet: the projects reading it keep theirs for now
            managed -= {g for s in specs if subject in s.subjects
                        for g in (s.members_gid, s.observers_gid)}  # fmt: skip
        ops: list[tuple] = []
        reader_paths = 0
        legacy: dict[str, int] = {}  # project -> paths whose per-project entries go
        for path, state in tree:
            wanted = {g: _read_perm(state.is_dir, state.mode) for g in wanted_gids}
            access = merge_groups(state.access, managed, wanted)
            default = state.default
            if state.is_dir and (default is not None or wanted):
                dir_wanted = {g: RX for g in wanted_gids}
                default = merge_groups(default or _base_default(state.access), managed, dir_wanted)
            if access == state.access and default == state.default:
                continue
            ops.append(("acl", path, access, default, state.is_dir))
            if named_groups(state.access, wanted_gids) != named_groups(access, wanted_gids) or (
                named_groups(state.default, wanted_gids) != named_groups(default, wanted_gids)
            ):
                reader_paths += 1
            for spec in specs:
                gids = {g for g in (spec.members_gid, spec.observers_gid) if g is not None}
                if named_groups(state.access, gids) or named_groups(state.default, gids):
                    legacy[spec.project] = legacy.get(spec.project, 0) + 1
        indexes = []
        where = f"{layout.catalog_root}/{subject}"
        top = tree[0][1]
        if name is not None and (reader_paths or gid is None):
            entry = f"group:{gid_text(gid, name)}:r-X"
            plan.changes.append(
                {
                    "project": None,
                    "op": "grant",
                    "kind": "catalog_acl",
                    "name": subject,
                    "path": where,
                    "before": ",".join(_entries(top.access, wanted_gids)) or None,
                    "after": f"{entry},default:{entry}",
                    "group": name,
                    "paths": reader_paths or len(tree),
                }
            )
            indexes.append(len(plan.changes) - 1)
        for spec in specs:
            if spec.project not in legacy:
                continue
            gids = {g for g in (spec.members_gid, spec.observers_gid) if g is not None}
            reads = subject in spec.subjects
            plan.changes.append(
                {
                    "project": spec.project,
                    "op": "update" if reads else "revoke",
                    "kind": "catalog_acl",
                    "name": subject,
                    "path": where,
                    "before": ",".join(
                        _entries(top.access, gids)
                        + [f"default:{e}" for e in _entries(top.default, gids)]
                    )
                    or None,
                    "after": f"read through {name}" if reads and name else None,
                    "paths": legacy[spec.project],
                }
            )
            indexes.append(len(plan.changes) - 1)
        if indexes:
            plan.steps.append((CATALOG, ops, indexes))
