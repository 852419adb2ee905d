#!/usr/bin/python
"""Ansible module tre.secenv.tre_restore: restore a reopened project's archive safely."""
# ruff: noqa: E402 - Ansible modules put their imports after DOCUMENTATION

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tre_restore
short_description: Restore the archive of a reopened project into its folder, safely
description:
  - One call handles every project of the run (the whole C(tre_desired)) whose entry has
    C(restore) (a contract with C(reopens), docs/lifecycle.md) and whose C(status) is not
    C(ended); other projects are left alone.
  - Copies every archived file of project C(restore.from_project) byte for byte into
    C(<projects_root>/P<project>/restored/) (C(archive/...), C(OtherData/...)), each checked
    against the archive's SHA-256 manifest while copied and read back after; the manifest
    itself must have the SHA-256 the state store recorded (C(restore.manifest_sha256)).
  - Unpacks each zip of C(archive/) into C(restored/archive/<zip path without .zip>/) only
    after its whole central directory passed the checks (no absolute path, no C(..), no
    symbolic link, device, FIFO or socket entry, no encrypted entry, no two entries on one
    name ignoring case, at most O(max_zip_entries) entries and O(max_zip_bytes) declared
    bytes) and every entry was decompressed once with its real bytes counted (a lying size
    refuses). Everything to be written must fit the project's quota headroom.
  - A refusal is one line naming the project, the zip and the reason, before anything is
    written (exit failed); other projects go on.
  - Writes under C(P<project>/.restoring-P<from>) (0700) and renames it to C(restored) once
    complete and synced; directories and files are created relative to their parent's
    descriptor with C(O_NOFOLLOW) and C(O_EXCL), modes 0770/0660 (the folder's default ACL
    gives the project's groups access), so nothing is written outside the folder.
  - Idempotent from the disk - a complete C(restored/) of the same archive (its marker
    C(.tre-restore)) is left alone; a killed run's staging folder is deleted and written anew.
version_added: "0.3.0"
author: tre
extends_documentation_fragment:
  - tre.secenv.archive_host
  - tre.secenv.journal
options:
  desired:
    description:
      - The desired state C(tre_desired) (see docs/desired-state.md).
      - One of O(desired) and O(desired_b64) is required.
    type: dict
  desired_b64:
    description: The desired state as base64 of its JSON, decoded by the module.
    type: str
  projects_root:
    description: Directory holding the project subvolumes.
    type: path
    required: true
  archive_root:
    description:
      - The archive root, as for C(tre_archive) - with O(archive_host) the path the SFTP
        account sees on the archive host, without it a directory of this host.
    type: path
    required: true
  quota_backend:
    description: Quota implementation (reads the project's usage for the headroom).
    type: str
    choices: [btrfs, xfs]
    default: btrfs
  max_zip_entries:
    description: Policy limit - a zip with more entries is not unpacked (the restore refuses).
    type: int
    default: 10000
  max_zip_bytes:
    description: Policy limit - declared uncompressed bytes of one zip.
    type: int
    default: 1000000000000
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Runs on the file server (group C(fileservers)) after C(tre_storage) made the folder.
    Test hook C(TRE_RESTORE_TEST_HOOK) is for the lab tests only (docs/storage.md).
  - Needs paramiko on the file server when O(archive_host) is given.
"""

EXAMPLES = r"""
- name: Restore the archives of reopened projects
  tre.secenv.tre_restore:
    desired_b64: "{{ tre_desired_b64 }}"
    projects_root: /srv/tre/projects
    archive_root: /srv/tre/archive
"""

RETURN = r"""
changes:
  description:
    - Restores planned (check mode) or done, each C({project, op=restore, kind=archive,
      name=P<from>, path, before=null, after}) with after C(from_project), C(files),
      C(bytes), C(zips_unpacked), C(entries), C(written_bytes), C(manifest_sha256).
  returned: always
  type: list
  elements: dict
restore_failed:
  description: Projects whose restore was refused or failed, C({project, reason}).
  returned: always
  type: list
  elements: dict
restore_warnings:
  description: Warnings (also emitted as Ansible warnings).
  returned: always
  type: list
  elements: str
diff:
  description: Per restore the files it writes (with C(--diff)).
  returned: when a restore is planned or done
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import (
    ARCHIVE_HOST_OPTIONS,
    ARCHIVE_HOST_REQUIRED_BY,
    open_store,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import (
    DESIRED_ONE_OF,
    DESIRED_OPTIONS,
    desired_from,
    invocation,
    validate,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal
from ansible_collections.tre.secenv.plugins.module_utils.tre_quota_backend import (
    QUOTA_BACKEND_OPTION,
    get_backend,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_restore_run import (
    Report,
    restore_project,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import safe_root
from ansible_collections.tre.secenv.plugins.module_utils.tre_zip_check import Limits


def run_module() -> None:
    module = AnsibleModule(
        argument_spec={
            **DESIRED_OPTIONS,
            "projects_root": {"type": "path", "required": True},
            "archive_root": {"type": "path", "required": True},
            **ARCHIVE_HOST_OPTIONS,
            **QUOTA_BACKEND_OPTION,
            "max_zip_entries": {"type": "int", "default": 10000},
            "max_zip_bytes": {"type": "int", "default": 10**12},
            "journal": {"type": "path"},
        },
        mutually_exclusive=DESIRED_ONE_OF,
        required_one_of=DESIRED_ONE_OF,
        required_by=ARCHIVE_HOST_REQUIRED_BY,
        supports_check_mode=True,
    )
    params = module.params
    try:
        params["desired"] = desired_from(params)
    except ValueError as exc:
        module.fail_json(msg=str(exc), changed=False, changes=[], invocation=invocation(params))
    rep = Report()
    result = {
        "changed": False,
        "changes": rep.changes,
        "restore_failed": rep.failed,
        "restore_warnings": rep.warnings,
        "invocation": invocation(params),
    }
    desired = params["desired"]
    problems = validate(desired)
    if problems:
        module.fail_json(msg=f"invalid desired state: {problems[0]}", **result)
    wanted = [
        p for p in desired.get("projects") or [] if p.get("restore") and p.get("status") != "ended"
    ]
    if not wanted:
        module.exit_json(**result)
    try:
        projects_root = safe_root(params["projects_root"], "projects_root")
        if not params["archive_host"]:
            params["archive_root"] = safe_root(params["archive_root"], "archive_root")
        elif not params["archive_root"].startswith("/") or "/../" in params["archive_root"] + "/":
            raise ValueError("archive_root must be an absolute path without '..'")
    except ValueError as exc:
        module.fail_json(msg=str(exc), **result)
    try:
        store = open_store(params)  # read only: the archive root is tre_archive's to fix
    except Exception as exc:  # connection, host key, account: one line, never a traceback
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        module.fail_json(msg=f"archive store: {line}", **result)
    backend = get_backend(params["quota_backend"], lambda argv: module.run_command(argv))
    limits = Limits(params["max_zip_entries"], params["max_zip_bytes"])
    journal = Journal(None if module.check_mode else params["journal"])
    try:
        for project in wanted:
            restore_project(
                project, projects_root, store, backend, limits, journal, module.check_mode, rep
            )
    finally:
        journal.close()
        store.close()
    for warning in rep.warnings:
        module.warn(warning)
    result["changed"] = bool(rep.changes)
    if module._diff and rep.diff:
        result["diff"] = rep.diff
    if rep.failed:
        first = rep.failed[0]
        more = f" (and {len(rep.failed) - 1} more failed projects)" if len(rep.failed) > 1 else ""
        module.fail_json(msg=f"project {first['project']}: {first['reason']}{more}", **result)
    module.exit_json(**result)


def main() -> None:
    run_module()


if __name__ == "__main__":
    main()
