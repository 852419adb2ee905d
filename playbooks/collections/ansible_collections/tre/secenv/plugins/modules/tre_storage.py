#!/usr/bin/python
"""Ansible module tre.secenv.tre_storage: batch reconciler of project storage and ACLs."""
# ruff: noqa: E402 - Ansible modules put their imports after DOCUMENTATION

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tre_storage
short_description: Reconcile project subvolumes, workspaces, quotas and catalogue ACLs
description:
  - One call reconciles the storage of every project of the run (the whole C(tre_desired)).
  - Per project a subvolume C(<projects_root>/P<project>) with a quota limit of
    C(storage.quota_bytes) and the folders C(export), C(import), C(OtherData); owner root:root,
    POSIX ACL (and default ACL) members group rwx, observers group r-x, nobody else.
  - Per account a workspace subvolume C(<workspaces_root>/<sam>) owned by its numeric uid,
    limit C(storage.workspace_quota_bytes), ACL for the owner only.
  - For every file subject of a project the catalogue tree C(<catalog_root>/<SUBJECT>) gets
    r-X (and default r-X) entries for the project's members and observers gids; entries of this
    run's project gids on subjects not contracted are removed; entries of other gids are kept.
  - Reads the actual state once (one C(btrfs subvolume list), one C(btrfs qgroup show), ACL
    xattrs of the needed paths) and applies only the differences, quota raises first and
    quota lowerings last.
  - Lowering a limit to or below the current usage (the subvolume's and its nested
    subvolumes') is a warning in check mode and fails the apply unless O(force=true).
  - A project is B(unsafe) when one of its managed paths is a symbolic link or not a directory
    (a FIFO at C(import), ...), when its ids failed a check (below O(id_min), the same number
    on two objects, an account gid that is not its group's), or when the catalogue grants its
    groups a subject that the contract does not explain (subjects are never removed). An
    unsafe project gets no storage change; all others are applied; the module does not fail
    but returns them in RV(storage_unsafe) and as warnings.
  - A nested subvolume inside a project or workspace is reported (a warning and a change
    C(op=report, kind=nested_subvolume)); its usage counts towards the unit's usage; and the
    unit's limit is enforced over it by a level-1 qgroup C(1/<unit id>) holding the unit and
    every nested subvolume (change C(op=enforce, kind=qgroup); followed by a quota rescan).
  - A project with C(status=ended) or C(status=moved) gets nothing new - without its
    subvolume (archived and removed by C(tre.secenv.tre_archive), moved by
    C(tre.secenv.tre_project_files), or never made) it is left out, and its workspaces
    that are gone are not made again.
  - A failing step (e.g. one path's ACL write) fails only itself - every other step is still
    applied, returned and journaled; the module then fails with the first failure's line
    (operation, path, cause) and C((and N more failed paths)). An ACL too large for one xattr
    (ENOSPC/E2BIG) is reported as such, not as a full disk.
  - An ACL write on a subvolume at its limit (EDQUOT) raises the limit for that write only and
    restores it; a limit left raised by a killed run is restored by the next run.
  - With O(quota_backend=xfs) a "subvolume" is a directory with an XFS project id (C(P<nr>) gets
    projid <nr>, a workspace 2^31 + its uid; set with C(xfs_quota project -s)), its limit the
    project's block hard limit, the actual state read with one C(xfs_quota report -p) per file
    system (the file system mounted with C(prjquota)); nothing can be nested; a full unit
    answers ENOSPC. See docs/storage.md, "Choosing the quota backend".
version_added: "0.1.0"
author: tre
options:
  desired:
    description:
      - The desired state C(tre_desired) (see docs/desired-state.md).
      - One of O(desired) and O(desired_b64) is required.
    type: dict
  desired_b64:
    description:
      - The desired state as base64 of its JSON (the extra variable C(tre_desired_b64) as it
        is), decoded by the module; Ansible passes one string much faster than the mapping.
    type: str
  ids:
    description:
      - >-
        The C(ids) returned by C(tre.secenv.tre_ad) -
        C({"accounts": {sam: {"uid", "gid"}}, "groups": {name: gid}}).
      - In check mode unknown (new) ids may be null; the changes are planned with a pending id.
    type: dict
    required: true
  id_min:
    description:
      - The lowest uid/gid number tre allocates; a number below it marks its project unsafe.
    type: int
    default: 200000
  projects_root:
    description: Directory holding the project subvolumes.
    type: path
    required: true
  workspaces_root:
    description: Directory holding the personal workspaces.
    type: path
    required: true
  catalog_root:
    description: Data catalogue, one directory per file subject.
    type: path
    required: true
  quota_backend:
    description: Quota implementation.
    type: str
    choices: [btrfs, xfs]
    default: btrfs
  force:
    description: Allow lowering a limit to or below the current usage.
    type: bool
    default: false
  journal:
    description:
      - File (JSON lines) to which every change is appended as soon as it is applied, so a run
        killed half-way can still be recorded in the audit ledger by C(tre apply).
      - Not written in check mode.
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Project folders and workspaces are fully managed (their ACL is set exactly); on catalogue
    paths only the named group entries of this run's project gids are managed.
"""

EXAMPLES = r"""
- name: Reconcile project storage
  tre.secenv.tre_storage:
    desired_b64: "{{ tre_desired_b64 }}"
    ids: "{{ ad_result.ids }}"
    projects_root: "{{ tre_projects_root }}"
    workspaces_root: "{{ tre_workspaces_root }}"
    catalog_root: "{{ tre_catalog_root }}"
    quota_backend: "{{ tre_quota_backend }}"
"""

RETURN = r"""
changes:
  description:
    - Changes planned (check mode) or applied, each
      C({project, op, kind, name, path, before, after}); C(kind) is one of subvolume, folder,
      quota, acl, workspace, catalog_acl; catalog_acl changes also carry C(paths), the number
      of paths under the subject whose entries differ.
    - When steps failed, the changes of every step that succeeded (a failed step's changes
      are not among them).
  returned: always
  type: list
  elements: dict
storage_warnings:
  description:
    - Quota lowerings at or below usage, contracted subjects without a directory,
      accounts without ids.
    - The same texts are emitted as module warnings (Ansible's own C(warnings)).
  returned: always
  type: list
  elements: str
storage_unsafe:
  description:
    - The projects left unchanged, each C({project, path, reason}); C(reason) is one line
      naming the path or objects and what is wrong. Also emitted as warnings.
  returned: always
  type: list
  elements: dict
stats:
  description: Paths read, subvolumes known, changes, operations done.
  returned: always
  type: dict
"""

import dataclasses

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import (
    DESIRED_ONE_OF,
    DESIRED_OPTIONS,
    desired_from,
    invocation,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_executor import ISOLATE, execute
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal
from ansible_collections.tre.secenv.plugins.module_utils.tre_quota_backend import (
    QUOTA_BACKEND_OPTION,
    get_backend,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_catalog import reader_groups
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_ops import plan_steps
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_plan import (
    Actual,
    Layout,
    plan_projects,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_safety import (
    check_ids,
    unsafe,
    unsafe_line,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import (
    PROJECT_FOLDERS,
    UnsafePath,
    child,
    normalize,
    read_catalog,
    read_path,
    safe_root,
)


def _project_paths(spec, layout: Layout) -> dict:
    """lstat + ACLs of one project's managed paths; UnsafePath on a symlink (never followed)."""
    paths: dict = {}
    root = child(layout.projects_root, f"P{spec.project}")
    paths[root] = read_path(root)
    for folder in PROJECT_FOLDERS:
        path = child(root, folder)
        # inside a missing project subvolume nothing exists yet
        paths[path] = None if paths[root] is None else read_path(path)
    for account in spec.accounts:
        path = child(layout.workspaces_root, account.sam)
        paths[path] = read_path(path)
    return paths


def _read_actual(specs, layout: Layout, backend, found_unsafe: list) -> Actual:
    paths = {}
    for spec in specs:
        try:
            paths.update(_project_paths(spec, layout))
        except UnsafePath as exc:
            found_unsafe.append(unsafe(spec.project, exc.path, exc.reason))
    quotas = dict(backend.read_all(layout.projects_root))
    quotas.update(backend.read_all(layout.workspaces_root))
    units = {p for p, state in paths.items() if state is not None and p in quotas}
    ids = dict(backend.subvolume_ids(layout.projects_root))
    ids.update(backend.subvolume_ids(layout.workspaces_root))
    groups = dict(backend.groups(layout.projects_root))
    groups.update(backend.groups(layout.workspaces_root))
    return Actual(
        paths=paths,
        quotas=quotas,
        catalog=read_catalog(layout.catalog_root),
        units=units,
        ids=ids,
        groups=groups,
    )


def _without(specs, found_unsafe: list[dict]):
    refused = {u["project"] for u in found_unsafe}
    return [spec for spec in specs if spec.project not in refused]


def _live(specs, layout: Layout, actual: Actual):
    """An ended project's storage is never made again: without its subvolume (archived by
    tre_archive, or never made) it is left out; workspaces that are gone stay gone."""
    kept = []
    for spec in specs:
        if not spec.ended:
            kept.append(spec)
        elif actual.paths.get(child(layout.projects_root, f"P{spec.project}")) is not None:
            accounts = tuple(
                a
                for a in spec.accounts
                if actual.paths.get(child(layout.workspaces_root, a.sam)) is not None
            )
            kept.append(dataclasses.replace(spec, accounts=accounts))
    return kept


def _known_accounts(spec, warnings: list[str]):
    """Outside check mode an account without uid/gid gets no workspace (yet): warn."""
    known = tuple(a for a in spec.accounts if a.uid is not None and a.gid is not None)
    for account in spec.accounts:
        if account not in known:
            warnings.append(
                f"project {spec.project}: account {account.sam} has no "
                "uidNumber/gidNumber; its workspace is skipped"
            )
    return dataclasses.replace(spec, accounts=known)


def run_module() -> None:
    module = AnsibleModule(
        argument_spec={
            **DESIRED_OPTIONS,
            "ids": {"type": "dict", "required": True},
            "projects_root": {"type": "path", "required": True},
            "workspaces_root": {"type": "path", "required": True},
            "catalog_root": {"type": "path", "required": True},
            **QUOTA_BACKEND_OPTION,
            "force": {"type": "bool", "default": False},
            "id_min": {"type": "int", "default": 200000},
            "journal": {"type": "path"},
        },
        mutually_exclusive=DESIRED_ONE_OF,
        required_one_of=DESIRED_ONE_OF,
        supports_check_mode=True,
    )
    params = module.params
    try:
        params["desired"] = desired_from(params)
    except ValueError as exc:
        module.fail_json(msg=str(exc), changed=False, changes=[], invocation=invocation(params))
    # module.warn() shows warnings; Ansible consumes a result key named `warnings`, so the
    # list is also returned as `storage_warnings` for the caller.
    warnings: list[str] = []
    found_unsafe: list[dict] = []
    result: dict = {
        "changed": False,
        "changes": [],
        "storage_warnings": warnings,
        "storage_unsafe": found_unsafe,
        "invocation": invocation(params),
    }
    try:
        layout = Layout(
            safe_root(params["projects_root"], "projects_root"),
            safe_root(params["workspaces_root"], "workspaces_root"),
            safe_root(params["catalog_root"], "catalog_root"),
        )
        specs = normalize(params["desired"], params["ids"])
        found_unsafe.extend(check_ids(specs, params["ids"], params["id_min"]))
        specs = _without(specs, found_unsafe)
        if not module.check_mode:
            specs = [_known_accounts(spec, warnings) for spec in specs]
        backend = get_backend(params["quota_backend"], lambda argv: module.run_command(argv))
        actual = _read_actual(specs, layout, backend, found_unsafe)
        specs = _live(_without(specs, found_unsafe), layout, actual)
        readers = reader_groups(params["desired"], params["ids"], params["id_min"])
        plan = plan_projects(specs, layout, actual, params["force"], readers)
        found_unsafe.extend(plan.unsafe)
        specs = _without(specs, found_unsafe)
    except (ValueError, RuntimeError, OSError) as exc:
        module.fail_json(msg=str(exc).splitlines()[0], **result)
    stats = {
        "paths_read": len(actual.paths) + sum(len(t) for t in actual.catalog.values()),
        "subvolumes_known": len(actual.quotas),
        "operations": 0,
    }
    warnings.extend(plan.warnings)
    for warning in [*warnings, *map(unsafe_line, found_unsafe)]:
        module.warn(warning)
    result["stats"] = stats
    if plan.errors:
        module.fail_json(msg=plan.errors[0], **result)
    if module._diff:
        result["diff"] = plan.diff()
    if module.check_mode:
        module.exit_json(
            changed=bool(plan.changes),
            changes=plan.changes,
            **{k: v for k, v in result.items() if k not in ("changed", "changes")},
        )
    if plan.blocked:
        module.fail_json(
            msg=f"{plan.blocked[0]}; refused (set force: true to lower anyway)", **result
        )
    missing = [f"P{s.project}" for s in specs if None in (s.members_gid, s.observers_gid)]
    if missing:
        module.fail_json(
            msg=f"no gidNumber for the groups of {', '.join(missing)} "
            "(run tre_ad first and pass its ids)",
            **result,
        )
    journal = Journal(module.params["journal"])
    try:
        outcome = execute(plan_steps(plan, backend), journal, False, on_failure=ISOLATE)
    finally:
        journal.close()
    stats["operations"] = outcome.operations
    result["changes"] = outcome.applied
    result["changed"] = bool(outcome.applied)
    if not outcome.ok:
        module.fail_json(msg=outcome.message("paths"), **result)
    module.exit_json(**result)


def main() -> None:
    run_module()


if __name__ == "__main__":
    main()
