"""Pure planning for ``tre_storage``: desired specs + actual state → changes and ordered steps.

A *change* is what the admin reads (``{project, op, kind, name, path, before, after}``); a
*step* is the list of operations that realises one or more changes. Steps run in phases so
that limits are raised before ACL writes (on a subvolume at its limit even an xattr write
fails with EDQUOT) and lowered only after them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    merge_groups,
    named_groups,
    parse_perm,
    perm_text,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import (
    PROJECT_FOLDERS,
    PathState,
    ProjectSpec,
)

CREATE, RAISE, MKDIR, OWNER, ACL, CATALOG, LOWER = range(7)  # phases, in execution order
RWX, RX, NONE = 7, 5, 0


@dataclass(frozen=True)
class Layout:
    projects_root: str
    workspaces_root: str
    catalog_root: str


@dataclass
class Actual:
    """What exists: path → state (None if missing), subvolume path → (usage, limit),
    subject → [(path, state)] of every catalogue subject tree, paths that are subvolumes."""

    paths: dict[str, PathState | None]
    quotas: dict[str, tuple[int, int | None]]
    catalog: dict[str, list[tuple[str, PathState]]]
    units: set[str]


@dataclass
class Plan:
    changes: list[dict] = field(default_factory=list)
    steps: list[tuple[int, list[tuple], list[int]]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, phase: int, ops: list[tuple], **change) -> None:
        self.changes.append(change)
        self.steps.append((phase, ops, [len(self.changes) - 1]))

    def ordered_steps(self) -> list[tuple[int, list[tuple], list[int]]]:
        return sorted(self.steps, key=lambda step: step[0])  # stable within a phase

    def diff(self) -> dict:
        before: dict = {}
        after: dict = {}
        for change in self.changes:
            key = f"{change['kind']} {change['name']}"
            before.setdefault(change["path"], {})[key] = change["before"]
            after.setdefault(change["path"], {})[key] = change["after"]
        return {"before": before, "after": after}


def _gid(gid: int | None, name: str) -> int | str:
    return gid if gid is not None else f"<{name}>"  # a placeholder shown as pending


def project_acl(spec: ProjectSpec) -> Acl:
    entries = [
        (USER_OBJ, None, RWX),
        (GROUP_OBJ, None, NONE),
        (OTHER, None, NONE),
        (GROUP, _gid(spec.members_gid, spec.members), RWX),
        (GROUP, _gid(spec.observers_gid, spec.observers), RX),
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
    if limit == want:
        return
    if limit is not None and want > limit:
        plan.add(
            RAISE,
            [("limit", path, want)],
            project=spec.project,
            op="raise",
            kind="quota",
            name=kind_name,
            path=path,
            before=limit,
            after=want,
        )
        return
    op = "set" if limit is None else "lower"
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
        LOWER,
        [("limit", path, want)],
        project=spec.project,
        op=op,
        kind="quota",
        name=kind_name,
        path=path,
        before=limit,
        after=want,
    )


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
) -> None:
    """One managed directory: exists (subvolume or folder), owner, exact ACL."""
    project = spec.project
    owner_text = f"{owner[0]}:{owner[1]}"
    chown = [] if _pending([(0, owner[0], 0), (0, owner[1], 0)]) else [("chown", path, *owner)]
    if state is None:
        if is_unit:
            plan.add(
                CREATE,
                [("subvol", path), *chown],
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
            plan.errors.append(f"{path} exists and is not a directory")
            return
        if is_unit and path not in actual.units:
            plan.errors.append(f"{path} exists and is not a subvolume")
            return
        if is_unit:
            _quota(plan, spec, name, path, quota, actual, force)
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
        ops = [] if _pending(access, default) else [("acl", path, access, default, True)]
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


def plan_projects(specs: list[ProjectSpec], layout: Layout, actual: Actual, force: bool) -> Plan:
    plan = Plan()
    for spec in specs:
        root = f"{layout.projects_root}/P{spec.project}"
        acl = project_acl(spec)
        _folder(
            plan,
            spec,
            root,
            f"P{spec.project}",
            actual.paths.get(root),
            (0, 0),
            acl,
            acl,
            "subvolume",
            True,
            spec.quota_bytes,
            actual,
            force,
        )
        for folder in PROJECT_FOLDERS:
            path = f"{root}/{folder}"
            _folder(
                plan,
                spec,
                path,
                f"P{spec.project}/{folder}",
                actual.paths.get(path),
                (0, 0),
                acl,
                acl,
                "folder",
                False,
                0,
                actual,
                force,
            )
        for account in spec.accounts:
            path = f"{layout.workspaces_root}/{account.sam}"
            uid = account.uid if account.uid is not None else f"<uid of {account.sam}>"
            gid = account.gid if account.gid is not None else f"<gid of {account.sam}>"
            ws_acl = workspace_acl(uid)
            _folder(
                plan,
                spec,
                path,
                account.sam,
                actual.paths.get(path),
                (uid, gid),
                ws_acl,
                ws_acl,
                "workspace",
                True,
                spec.workspace_quota_bytes,
                actual,
                force,
            )
    plan_catalog(plan, specs, layout, actual)
    return plan


def _read_perm(is_dir: bool, mode: int) -> int:
    return parse_perm("r-X", is_dir, mode)


def _base_default(access: Acl) -> Acl:
    """A new default ACL starts from the access ACL's owner/group/other (as setfacl does)."""
    return canonical(e for e in access if e[0] in (USER_OBJ, GROUP_OBJ, OTHER))


def plan_catalog(plan: Plan, specs: list[ProjectSpec], layout: Layout, actual: Actual) -> None:
    """Read grants for each contracted subject; revoke this run's gids everywhere else."""
    run_gids = {g for s in specs for g in (s.members_gid, s.observers_gid) if g is not None}
    wanted_by_subject: dict[str, list[ProjectSpec]] = {}
    for spec in specs:
        for subject in spec.subjects:
            if subject not in actual.catalog:
                plan.warnings.append(
                    f"project {spec.project}: file subject {subject} has no "
                    f"directory under {layout.catalog_root}"
                )
            wanted_by_subject.setdefault(subject, []).append(spec)
    for subject, tree in sorted(actual.catalog.items()):
        granted = wanted_by_subject.get(subject, [])
        ops: list[tuple] = []
        differs: dict[str, list[str]] = {}  # project → paths whose entries differ
        for path, state in tree:
            perm = _read_perm(state.is_dir, state.mode)
            wanted = {
                gid: perm
                for s in granted
                for gid in (s.members_gid, s.observers_gid)
                if gid is not None
            }
            access = merge_groups(state.access, run_gids, wanted)
            default = state.default
            if state.is_dir and (default is not None or wanted):
                dir_wanted = {gid: RX for gid in wanted}
                default = merge_groups(default or _base_default(state.access), run_gids, dir_wanted)
            if access != state.access or default != state.default:
                ops.append(("acl", path, access, default, state.is_dir))
            for spec in specs:
                gids = {g for g in (spec.members_gid, spec.observers_gid) if g is not None}
                if named_groups(state.access, gids) != named_groups(access, gids) or (
                    named_groups(state.default, gids) != named_groups(default, gids)
                ):
                    differs.setdefault(spec.project, []).append(path)
        indexes = []
        for spec in specs:
            is_granted = spec in granted
            pending = is_granted and None in (spec.members_gid, spec.observers_gid)
            if spec.project not in differs and not pending:
                continue
            gids = {g for g in (spec.members_gid, spec.observers_gid) if g is not None}
            top = tree[0][1]
            before = (
                ",".join(
                    [f"group:{g}:{perm_text(p)}" for g, p in named_groups(top.access, gids).items()]
                    + [
                        f"default:group:{g}:{perm_text(p)}"
                        for g, p in named_groups(top.default, gids).items()
                    ]
                )
                or None
            )
            grant = ",".join(
                f"group:{_gid(g, n)}:r-X"
                for g, n in ((spec.members_gid, spec.members), (spec.observers_gid, spec.observers))
            )
            plan.changes.append(
                {
                    "project": spec.project,
                    "op": "grant" if is_granted else "revoke",
                    "kind": "catalog_acl",
                    "name": subject,
                    "path": f"{layout.catalog_root}/{subject}",
                    "before": before,
                    "after": f"{grant},default:{grant.replace(',', ',default:')}"
                    if is_granted
                    else None,
                    "paths": len(differs.get(spec.project, [])) or len(tree),
                }
            )
            indexes.append(len(plan.changes) - 1)
        if indexes:
            plan.steps.append((CATALOG, ops, indexes))
