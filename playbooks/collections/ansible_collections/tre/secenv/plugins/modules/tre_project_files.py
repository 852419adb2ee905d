#!/usr/bin/python
"""Ansible module tre.secenv.tre_project_files: move a project's files, transfer files."""
# ruff: noqa: E402 - Ansible modules put their imports after DOCUMENTATION

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tre_project_files
short_description: Move a moved project's folder into its new project; transfer files once
description:
  - One call handles every project of the run (the whole C(tre_desired)).
  - B(Move) (I(Verhuizen)) - a project with C(status=moved) and C(moved_to=M) whose subvolume
    C(<projects_root>/P<N>) (or a workspace of its accounts) is still there. Every file and
    folder of C(P<N>) lands at the same relative path in C(P<M>) (folders merge). Checked
    before anything is written - a name that exists in C(P<M>) with other content refuses
    the move with one line, and so does content larger than C(P<M>)'s free quota. Then the
    missing files are copied (never through a link, never replacing a file; the copies
    belong to root and inherit C(P<M>)'s default ACL, so M's groups read and write them and
    nobody of N does), every copy is read back (cached pages dropped) and compared with its
    source's SHA-256, and only after that verification, in the same run, C(P<N>) (nested
    subvolumes and qgroups too) and then N's personal workspaces (never moved) are removed.
    Symbolic links, FIFOs and devices of C(P<N>) are not moved (warned, listed).
  - B(Transfer) (I(Overzetten bestanden)) - each entry of a project's C(transfers) - the files
    below C(P<S>/Overzetten naar project <M>/) whose path is not in C(done) are copied to
    the same path below C(P<M>/import/) and read back against their SHA-256; the change lists
    every file (path, size, SHA-256) for the state store, which passes them back in C(done)
    so a file is transferred once. Links are never followed (skipped with a warning); a
    different file at the same path in C(import/) is never replaced (skipped with a warning).
  - Idempotent and resumable from the disks alone - a second run changes nothing; a run killed
    anywhere is finished by the next (a file already in place with the same content counts
    as copied; a copy is written to an unnamed O_TMPFILE and linked to its name, so a killed
    copy leaves nothing).
version_added: "0.3.0"
author: tre
extends_documentation_fragment:
  - tre.secenv.journal
options:
  desired:
    description:
      - The desired state C(tre_desired) (see docs/desired-state.md).
      - One of O(desired) and O(desired_b64) is required.
    type: dict
  desired_b64:
    description: The desired state as base64 of its JSON (the extra variable C(tre_desired_b64)).
    type: str
  confirmed_b64:
    description:
      - The irreversible steps of the plan the operator confirmed (base64 of a JSON list of
        C({project, op, kind, name}); C(tre apply) passes C(tre_confirmed_b64)). A removal
        not in it is left alone with a warning (docs/safety.md). Omitted, nothing is filtered.
    type: str
  projects_root:
    description: Directory holding the project subvolumes.
    type: path
    required: true
  workspaces_root:
    description: Directory holding the personal workspaces.
    type: path
    required: true
  quota_backend:
    description: Quota implementation (reads usage and limits; deletes the old project's unit).
    type: str
    choices: [btrfs, xfs]
    default: btrfs
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Runs on the file server (group C(fileservers)), after C(tre_storage). Test hook
    C(TRE_MOVE_TEST_HOOK) in the environment is for the lab tests only (docs/storage.md).
"""

EXAMPLES = r"""
- name: Move moved projects, transfer approved files
  tre.secenv.tre_project_files:
    desired_b64: "{{ tre_desired_b64 }}"
    projects_root: /srv/tre/projects
    workspaces_root: /srv/tre/home
"""

RETURN = r"""
changes:
  description:
    - Changes planned (check mode) or done, each C({project, op, kind, name, path, before,
      after}) - C(op=move, kind=content) (after - files, bytes, to_project, copied,
      copied_bytes, skipped), C(op=verify, kind=move) (after - files, bytes, result),
      C(op=remove) with C(kind) content (the old project's subvolume) or workspace and
      C(via=move), C(op=transfer, kind=files) (C(from_project); after - files, bytes,
      entries [{path, size, sha256}]).
  returned: always
  type: list
  elements: dict
project_files_failed:
  description: Projects that failed, C({project, reason}); nothing after the failure was done.
  returned: always
  type: list
  elements: dict
project_files_warnings:
  description: Files skipped (links, files not replaced), also emitted as warnings.
  returned: always
  type: list
  elements: str
diff:
  description: With C(--diff) - one line per change (C(before) empty).
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_run import Report
from ansible_collections.tre.secenv.plugins.module_utils.tre_confirmed import (
    CONFIRMED_OPTION,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_confirmed import (
    decode as decode_confirmed,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import (
    DESIRED_ONE_OF,
    DESIRED_OPTIONS,
    desired_from,
    invocation,
    validate,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal
from ansible_collections.tre.secenv.plugins.module_utils.tre_move_run import move_project
from ansible_collections.tre.secenv.plugins.module_utils.tre_quota_backend import (
    QUOTA_BACKEND_OPTION,
    get_backend,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import safe_root
from ansible_collections.tre.secenv.plugins.module_utils.tre_transfer_run import transfer_files


class Roots:
    def __init__(self, projects: str, workspaces: str) -> None:
        self.projects = projects
        self.workspaces = workspaces


def _diff_line(c: dict) -> str:
    after = c.get("after") or {}
    return f"{c['op']} {c['kind']} {c['name']} ({after.get('files', '-')} files)\n"


def run_module() -> None:
    module = AnsibleModule(
        argument_spec={
            **DESIRED_OPTIONS,
            **CONFIRMED_OPTION,
            "projects_root": {"type": "path", "required": True},
            "workspaces_root": {"type": "path", "required": True},
            **QUOTA_BACKEND_OPTION,
            "journal": {"type": "path"},
        },
        mutually_exclusive=DESIRED_ONE_OF,
        required_one_of=DESIRED_ONE_OF,
        supports_check_mode=True,
    )
    params = module.params
    try:
        params["desired"] = desired_from(params)
        confirmed = decode_confirmed(params["confirmed_b64"])
    except ValueError as exc:
        module.fail_json(msg=str(exc), changed=False, changes=[], invocation=invocation(params))
    rep = Report()
    result = {
        "changed": False,
        "changes": rep.changes,
        "project_files_failed": rep.failed,
        "project_files_warnings": rep.warnings,
        "invocation": invocation(params),
    }
    desired = params["desired"]
    problems = validate(desired)
    if problems:
        module.fail_json(msg=f"invalid desired state: {problems[0]}", **result)
    projects = desired.get("projects") or []
    moved = [p for p in projects if p.get("status") == "moved" and p.get("moved_to")]
    receiving = [p for p in projects if p.get("transfers")]
    if not moved and not receiving:
        module.exit_json(**result)  # nothing of this module's in the run: no root is read
    try:
        roots = Roots(
            safe_root(params["projects_root"], "projects_root"),
            safe_root(params["workspaces_root"], "workspaces_root"),
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc), **result)
    backend = get_backend(params["quota_backend"], lambda argv: module.run_command(argv))
    journal = Journal(None if module.check_mode else params["journal"])
    try:
        for project in moved:  # first: a moved project's files land before any transfer
            move_project(project, roots, backend, journal, module.check_mode, rep, confirmed)
        for project in receiving:
            transfer_files(project, roots, journal, module.check_mode, rep)
    finally:
        journal.close()
    for warning in rep.warnings:
        module.warn(warning)
    result["changed"] = bool(rep.changes)
    if module._diff:
        result["diff"] = {"before": "", "after": "".join(_diff_line(c) for c in rep.changes)}
    if rep.failed:
        first = rep.failed[0]
        more = f" (and {len(rep.failed) - 1} more failed projects)" if len(rep.failed) > 1 else ""
        module.fail_json(msg=f"project {first['project']}: {first['reason']}{more}", **result)
    module.exit_json(**result)


def main() -> None:
    run_module()


if __name__ == "__main__":
    main()
