#!/usr/bin/python
"""Ansible module tre.secenv.tre_quota_report: read-only usage of project folders/workspaces."""
# ruff: noqa: E402 - Ansible modules put their imports after DOCUMENTATION

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tre_quota_report
short_description: Measure the usage and limits of project folders and personal workspaces
description:
  - Read-only. Reports, for every project folder C(<projects_root>/P<nr>) and personal
    workspace C(<workspaces_root>/p<nr>.<person>) on the file server, the bytes used and the
    quota limit. Never changes anything (C(changed) is always false).
  - One read of the quota accounting per file system (btrfs - one
    C(btrfs qgroup show -pcre --raw --sync); a btrfs-progs without the Path column needs one
    C(btrfs subvolume list) more; xfs - one C(xfs_quota -x -c 'report -p -b -n -N')), whatever
    the number of projects.
  - The usage of a unit includes the subvolumes nested below it (their data counts against
    the unit; where a level-1 qgroup C(1/<id>) holds them, its referenced bytes).
  - When btrfs reports its accounting as not to be trusted (C(qgroup data inconsistent,
    rescan recommended) or C(rescan is running)), every usage on that file system is
    C(null) (unknown, never a number), RV(consistent) is false and a warning says why and
    what to run. Limits are still reported.
version_added: "0.2.0"
author: tre
options:
  projects_root:
    description: Directory holding the project subvolumes C(P<nr>).
    type: path
    required: true
  workspaces_root:
    description: Directory holding the personal workspaces C(p<nr>.<person>).
    type: path
    required: true
  quota_backend:
    description: Quota implementation.
    type: str
    choices: [btrfs, xfs]
    default: btrfs
  projects:
    description:
      - Project numbers to report (their folders and their workspaces); all when omitted.
      - A listed project without a project folder is a warning.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Measure storage
  tre.secenv.tre_quota_report:
    projects_root: "{{ tre_projects_root }}"
    workspaces_root: "{{ tre_workspaces_root }}"
    quota_backend: "{{ tre_quota_backend }}"
  register: measured

- name: Only two projects
  tre.secenv.tre_quota_report:
    projects_root: /srv/tre/projects
    workspaces_root: /srv/tre/home
    projects: ["9001", "9002"]
"""

RETURN = r"""
quota_usage:
  description:
    - One item per project folder and workspace, sorted by project, kind (project first),
      owner - C({project, kind, owner, path, used_bytes, limit_bytes}). C(kind) is C(project)
      or C(workspace); C(owner) is the workspace's account name (null for a project folder);
      C(used_bytes) is null when the accounting is not consistent; C(limit_bytes) is null
      when the unit has no limit.
  returned: always
  type: list
  elements: dict
consistent:
  description: Whether every file system read reported trustworthy accounting.
  returned: always
  type: bool
quota_warnings:
  description:
    - Untrustworthy accounting (with the command that repairs it) and listed projects
      without a project folder; also emitted as module warnings.
  returned: always
  type: list
  elements: str
stats:
  description: C(reads) (quota accounting reads, subprocesses), C(units) (quota units seen).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tre.secenv.plugins.module_utils.tre_quota_backend import (
    QUOTA_BACKEND_OPTION,
    get_backend,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_quota_map import (
    PROJECT_NUMBER,
    missing_projects,
    usage_items,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import safe_root


def _wanted(projects) -> set[str] | None:
    if projects is None:
        return None
    bad = [p for p in projects if not PROJECT_NUMBER.match(str(p))]
    if bad:
        raise ValueError(f"projects: {bad[0]!r} is not a project number")
    return {str(p) for p in projects}


def run_module() -> None:
    module = AnsibleModule(
        argument_spec={
            "projects_root": {"type": "path", "required": True},
            "workspaces_root": {"type": "path", "required": True},
            **QUOTA_BACKEND_OPTION,
            "projects": {"type": "list", "elements": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params
    warnings: list[str] = []
    result: dict = {
        "changed": False,
        "quota_usage": [],
        "consistent": True,
        "quota_warnings": warnings,
        "stats": {"reads": 0, "units": 0},
    }
    try:
        projects_root = safe_root(params["projects_root"], "projects_root")
        workspaces_root = safe_root(params["workspaces_root"], "workspaces_root")
        wanted = _wanted(params["projects"])
        backend = get_backend(params["quota_backend"], lambda argv: module.run_command(argv))
        readings = {}
        for root in (projects_root, workspaces_root):
            reading = backend.read_usage(root)  # read once per file system
            readings[reading.mountpoint] = reading
        items = []
        for reading in readings.values():
            result["stats"]["reads"] += reading.reads
            result["stats"]["units"] += len(reading.units)
            if not reading.consistent:
                result["consistent"] = False
                warnings.append(
                    f"quota accounting of {reading.mountpoint} is not consistent"
                    f" ({'; '.join(reading.notes)}): usage unknown; repair with"
                    f" `btrfs quota rescan -w {reading.mountpoint}`"
                )
            items.extend(
                usage_items(
                    reading.units, projects_root, workspaces_root, wanted, reading.consistent
                )
            )
    except (ValueError, RuntimeError, OSError) as exc:
        module.fail_json(msg=str(exc).splitlines()[0], **result)
    items.sort(key=lambda i: (int(i["project"]), i["kind"], i["owner"] or ""))
    for project in missing_projects(items, wanted):
        warnings.append(f"project {project}: no project folder {projects_root}/P{project}")
    for warning in warnings:
        module.warn(warning)
    result["quota_usage"] = items
    module.exit_json(**result)


def main() -> None:
    run_module()


if __name__ == "__main__":
    main()
