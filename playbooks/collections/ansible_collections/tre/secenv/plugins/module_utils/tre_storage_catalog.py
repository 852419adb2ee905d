"""Pure planning of the catalogue ACLs: read grants for contracted subjects, revokes of this
run's gids everywhere else; entries of other gids are never touched."""

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
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_model import (
    CATALOG,
    RX,
    Actual,
    Layout,
    Plan,
    gid_text,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import ProjectSpec


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
                f"group:{gid_text(g, n)}:r-X"
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
