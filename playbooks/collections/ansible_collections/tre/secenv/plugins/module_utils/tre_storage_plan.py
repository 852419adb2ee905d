"""Pure planning for ``tre_storage``: desired specs + actual state → changes and ordered steps.

A *change* is what the admin reads (``{project, op, kind, name, path, before, after}``); a
*step* is the list of operations that realises one or more changes. Steps run in phases so
that limits are raised before ACL writes (on a subvolume at its limit even an xattr write
fails with EDQUOT) and lowered only after them. A project found unsafe (see
``tre_storage_safety``) gets no change and no step at all.
"""

from __future__ import annotations

from ansible_collections.tre.secenv.plugins.module_utils.tre_acl import (
    GROUP,
    GROUP_OBJ,
    MASK,
    OTHER,
    USER,
    USER_OBJ,
    Acl,
    canonical,
    format_acl,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_catalog import plan_catalog
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_model import (
    ACL,
    CREATE,
    GRACE,
    LOWER,
    MKDIR,
    NONE,
    OWNER,
    RAISE,
    RWX,
    RX,
    Actual,
    Layout,
    Plan,
    gid_text,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_safety import (
    refused_revokes,
    unsafe,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import (
    PROJECT_FOLDERS,
    PathState,
    ProjectSpec,
)


def project_acl(spec: ProjectSpec) -> Acl:
    entries = [
        (USER_OBJ, None, RWX),
        (GROUP_OBJ, None, NONE),
        (OTHER, None, NONE),
        (GROUP, gid_text(spec.members_gid, spec.members), RWX),
        (GROUP, gid_text(spec.observers_gid, spec.observers), RX),
        (MASK, None, RWX),
    ]
    return canonical(entries)


def workspace_acl(uid: int | str) -> Acl:
    return canonical(
        [
            (USER_OBJ, None, RWX),
            (USER, uid, RWX),
            (GROUP_OBJ, None, NONE),
            (MASK, None, RWX),
            (OTHER, None, NONE),
        ]
    )


def _acl_text(access: Acl | None, default: Acl | None) -> str:
    return ",".join(filter(None, [format_acl(access), format_acl(default, "default:")]))


def _pending(*values) -> bool:
    return any(isinstance(v, str) for acl in values if acl for _t, v, _p in acl)


def _quota(
    plan: Plan, spec: ProjectSpec, kind_name: str, path: str, want: int, actual: Actual, force: bool
) -> None:
    usage, limit = actual.quotas.get(path, (0, None))
    usage += sum(actual.quotas[n][0] for n in nested_subvolumes(path, actual))
    if limit == want:
        return
    if limit == want + GRACE:  # left by a run killed during an ACL write on a full unit
        phase, op = LOWER, "restore"
    elif limit is not None and want > limit:
        phase, op = RAISE, "raise"
    else:
        phase, op = LOWER, "set" if limit is None else "lower"
        if want <= usage:
            message = (
                f"project {spec.project}: lowering the limit of {path} to {want} bytes is "
                f"below its usage of {usage} bytes (writes would be blocked)"
            )
            plan.warnings.append(
                message
                + ("; applied because force is set" if force else "; refused unless force: true")
            )
            if not force:
                plan.blocked.append(message)
    plan.add(
        phase,
        [("limit", path, want)],
        project=spec.project,
        op=op,
        kind="quota",
        name=kind_name,
        path=path,
        before=limit,
        after=want,
    )


def nested_subvolumes(unit: str, actual: Actual) -> list[str]:
    """Subvolumes below a quota unit: each has its own qgroup, outside the unit's limit."""
    return actual.subvolumes_below(unit)


def _nested(plan: Plan, spec: ProjectSpec, unit: str, want: int, actual: Actual) -> None:
    nested = nested_subvolumes(unit, actual)
    for path in nested:
        plan.warnings.append(
            f"project {spec.project}: {path} is a nested subvolume inside {unit}; its data "
            "escapes the quota of the project/workspace (drift: remove it)"
        )
        plan.changes.append(
            {
                "project": spec.project,
                "op": "report",
                "kind": "nested_subvolume",
                "name": path[len(unit) + 1 :],
                "path": path,
                "before": f"subvolume of {actual.quotas[path][0]} bytes",
                "after": None,
            }
        )
    if unit not in actual.ids:
        return
    group = f"1/{actual.ids[unit]}"
    if not nested and group not in actual.groups:
        return
    members = {f"0/{actual.ids[p]}" for p in (unit, *nested) if p in actual.ids}
    _rfer, limit, children = actual.groups.get(group, (0, None, frozenset()))
    missing = tuple(sorted(members - children))
    if group in actual.groups and not missing and limit == want:
        return
    plan.add(
        RAISE if group in actual.groups and limit is not None and want > limit else LOWER,
        [("qgroup", unit, group, missing, want, group not in actual.groups)],
        project=spec.project,
        op="enforce",
        kind="qgroup",
        name=group,
        path=unit,
        before=None if group not in actual.groups else f"limit {limit} over {len(children)}",
        after=f"limit {want} over {unit} and {len(nested)} nested subvolume(s)",
    )


def _acl_limit(unit: str, quota: int, actual: Actual) -> tuple[str, int] | None:
    """(unit, its limit while ACLs are written) for a temporary raise on EDQUOT."""
    if unit not in actual.quotas:
        return (unit, quota)  # a new subvolume: its limit is set before the ACL phase
    limit = actual.quotas[unit][1]
    if limit is None:
        return None  # no limit yet (set after the ACLs): no EDQUOT
    return (unit, max(limit, quota))  # raised before the ACL phase, lowered after it


def _folder(
    plan: Plan,
    spec: ProjectSpec,
    path: str,
    name: str,
    state: PathState | None,
    owner: tuple,
    access: Acl,
    default: Acl | None,
    kind: str,
    is_unit: bool,
    quota: int,
    actual: Actual,
    force: bool,
    unit: str,
) -> None:
    """One managed directory: exists (subvolume or folder), owner, exact ACL."""
    project = spec.project
    owner_text = f"{owner[0]}:{owner[1]}"
    chown = [] if _pending([(0, owner[0], 0), (0, owner[1], 0)]) else [("chown", path, *owner)]
    if state is None:
        if is_unit:
            plan.add(
                CREATE,
                [("subvol", path, 0 if _pending([(0, owner[0], 0)]) else owner[0]), *chown],
                project=project,
                op="create",
                kind=kind,
                name=name,
                path=path,
                before=None,
                after=f"subvolume owner {owner_text}",
            )
            plan.add(
                RAISE,
                [("limit", path, quota)],
                project=project,
                op="set",
                kind="quota",
                name=name,
                path=path,
                before=None,
                after=quota,
            )
        else:
            plan.add(
                MKDIR,
                [("mkdir", path), *chown],
                project=project,
                op="create",
                kind="folder",
                name=name,
                path=path,
                before=None,
                after=f"directory owner {owner_text}",
            )
    else:
        if not state.is_dir:
            reason = f"{path} is {state.ftype}, not a directory"
            plan.unsafe.append(unsafe(project, path, reason))
            return
        if is_unit and path not in actual.units:
            plan.unsafe.append(unsafe(project, path, f"{path} is not a subvolume"))
            return
        if is_unit:
            _quota(plan, spec, name, path, quota, actual, force)
            _nested(plan, spec, path, quota, actual)
        if (state.uid, state.gid) != owner:
            plan.add(
                OWNER,
                chown,
                project=project,
                op="update",
                kind="workspace" if kind == "workspace" else "folder",
                name=name,
                path=path,
                before=f"owner {state.uid}:{state.gid}",
                after=f"owner {owner_text}",
            )
    before = None if state is None else _acl_text(state.access, state.default)
    if state is None or state.access != access or state.default != default:
        limit = _acl_limit(unit, quota, actual)
        ops = [] if _pending(access, default) else [("acl", path, access, default, True, limit)]
        plan.add(
            ACL,
            ops,
            project=project,
            op="set",
            kind="acl",
            name=name,
            path=path,
            before=before,
            after=_acl_text(access, default),
        )


def _plan_project(plan: Plan, spec: ProjectSpec, layout: Layout, actual: Actual, force: bool):
    root = f"{layout.projects_root}/P{spec.project}"
    acl = project_acl(spec)
    for path, name in [(root, f"P{spec.project}")] + [
        (f"{root}/{folder}", f"P{spec.project}/{folder}") for folder in PROJECT_FOLDERS
    ]:
        is_unit = path == root
        kind = "subvolume" if is_unit else "folder"
        state = actual.paths.get(path)
        _folder(
            plan, spec, path, name, state, (0, 0), acl, acl, kind, is_unit,
            spec.quota_bytes, actual, force, root,
        )  # fmt: skip
    for account in spec.accounts:
        path = f"{layout.workspaces_root}/{account.sam}"
        uid = account.uid if account.uid is not None else f"<uid of {account.sam}>"
        gid = account.gid if account.gid is not None else f"<gid of {account.sam}>"
        ws_acl = workspace_acl(uid)
        _folder(
            plan, spec, path, account.sam, actual.paths.get(path), (uid, gid), ws_acl, ws_acl,
            "workspace", True, spec.workspace_quota_bytes, actual, force, path,
        )  # fmt: skip


def plan_projects(
    specs: list[ProjectSpec],
    layout: Layout,
    actual: Actual,
    force: bool,
    readers: dict[str, tuple[str, int | None]] | None = None,
) -> Plan:
    """The plan of every safe project; unsafe ones are only listed in ``plan.unsafe``.

    Each project is planned on its own and kept only when nothing in it is unsafe, so one
    researcher's symlink or FIFO never stops the other projects of the run; the catalogue is
    then planned for the safe projects only (an unsafe project's entries stay as they are).
    """
    plan = Plan()
    safe = []
    for spec in specs:
        part = Plan()
        _plan_project(part, spec, layout, actual, force)
        part.unsafe.extend(refused_revokes(spec, actual.catalog, layout.catalog_root))
        if part.unsafe:
            plan.unsafe.extend(part.unsafe)
            continue
        plan.merge(part)
        safe.append(spec)
    plan_catalog(plan, safe, layout, actual, readers)
    return plan
