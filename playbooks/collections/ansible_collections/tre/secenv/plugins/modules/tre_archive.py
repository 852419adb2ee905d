#!/usr/bin/python
"""Ansible module tre.secenv.tre_archive: archive ended projects, verify, remove live data."""
# ruff: noqa: E402 - Ansible modules put their imports after DOCUMENTATION

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tre_archive
short_description: Archive ended projects with a verified SHA-256 manifest, then remove them
description:
  - One call handles every project of the run (the whole C(tre_desired)) whose C(status) is
    C(ended) and that still has live data (its subvolume C(<projects_root>/P<project>) or a
    workspace C(<workspaces_root>/<sam>) of one of its accounts); other projects (also a
    C(moved) one, whose folder C(tre.secenv.tre_project_files) moves) are left alone.
  - Archives the folders C(archive/) and C(OtherData/) of the project, byte for byte, into a
    BagIt-like bag C(<archive_root>/P<project>) (C(data/), C(bag-info.txt),
    C(manifest-sha256.txt), C(tagmanifest-sha256.txt)); workspaces are never archived. The
    bag is written under C(.incoming-P<project>) and renamed into place once complete.
  - Reads the project folder without leaving it - directories and files opened relative to
    their parent with C(O_NOFOLLOW); symbolic links, FIFOs, sockets and devices are skipped and
    listed in C(skipped.txt), never followed or opened. Hard links are archived as the bytes of
    the file (a btrfs hard link never leaves the project's subvolume).
  - Lists the entries of a top-level C(volgend project/) folder inside every zip of
    C(archive/) in C(volgend-project.txt) (zip listing only; nothing is extracted).
  - Reads the whole bag back (cached pages dropped) and compares it with its manifests, in
    every run that removes something; only then removes the subvolume (nested subvolumes,
    limits and qgroups included) and then the workspaces. A failed verification fails the
    project with one line and removes nothing; other projects go on.
  - Idempotent and resumable from the disks alone - a complete bag is never written again, a
    killed run's partial bag is discarded and written anew, a second run changes nothing.
version_added: "0.2.0"
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
  projects_root:
    description: Directory holding the project subvolumes.
    type: path
    required: true
  workspaces_root:
    description: Directory holding the personal workspaces.
    type: path
    required: true
  archive_root:
    description:
      - Directory the archives are written to, on this host (root-only, 0700). A remote
        archive host is reached by mounting it here; the module does not copy over the network.
    type: path
    required: true
  quota_backend:
    description: Quota implementation (deletes the subvolumes and their qgroups).
    type: str
    choices: [btrfs]
    default: btrfs
  journal:
    description:
      - File (JSON lines) to which every change is appended as an intent before and as done
        after it, so a run killed half-way is recorded truthfully by C(tre apply).
      - Not written in check mode.
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Runs on the file server (group C(fileservers)). Test hook C(TRE_ARCHIVE_TEST_HOOK) in the
    environment is for the lab tests only (docs/storage.md).
"""

EXAMPLES = r"""
- name: Archive ended projects
  tre.secenv.tre_archive:
    desired_b64: "{{ tre_desired_b64 }}"
    projects_root: /srv/tre/projects
    workspaces_root: /srv/tre/home
    archive_root: /srv/tre/archive
"""

RETURN = r"""
changes:
  description:
    - Changes planned (check mode) or done, each C({project, op, kind, name, path, before,
      after}) - C(op=archive, kind=archive) (after - files, bytes, size_gb, skipped),
      C(op=verify, kind=archive) (after - location, manifest_sha256, files, bytes, size_gb,
      archived_on, result), C(op=remove) with C(kind) subvolume or workspace (before -
      usage_bytes; also C(archive) and C(manifest_sha256)).
  returned: always
  type: list
  elements: dict
archive_verified:
  description: Every verification made, C({project, result, at, location, manifest_sha256,
    files, bytes, size_gb}); C(result) is C(ok) or C(failed - <one line>).
  returned: always
  type: list
  elements: dict
archive_failed:
  description: Projects that failed, C({project, reason}); nothing after the failure was done.
  returned: always
  type: list
  elements: dict
archive_warnings:
  description: Projects left alone with a reason (also emitted as warnings).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_run import (
    Report,
    Roots,
    archive_project,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_btrfs import get_backend
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import (
    DESIRED_ONE_OF,
    DESIRED_OPTIONS,
    desired_from,
    invocation,
    validate,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import safe_root


def run_module() -> None:
    module = AnsibleModule(
        argument_spec={
            **DESIRED_OPTIONS,
            "projects_root": {"type": "path", "required": True},
            "workspaces_root": {"type": "path", "required": True},
            "archive_root": {"type": "path", "required": True},
            "quota_backend": {"type": "str", "default": "btrfs", "choices": ["btrfs"]},
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
    rep = Report()
    result = {
        "changed": False,
        "changes": rep.changes,
        "archive_verified": rep.verified,
        "archive_failed": rep.failed,
        "archive_warnings": rep.warnings,
        "invocation": invocation(params),
    }
    desired = params["desired"]
    problems = validate(desired)
    if problems:
        module.fail_json(msg=f"invalid desired state: {problems[0]}", **result)
    ended = [p for p in desired.get("projects") or [] if p.get("status") == "ended"]
    try:
        roots = Roots(
            safe_root(params["projects_root"], "projects_root"),
            safe_root(params["workspaces_root"], "workspaces_root"),
            safe_root(params["archive_root"], "archive_root"),
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc), **result)
    backend = get_backend(params["quota_backend"], lambda argv: module.run_command(argv))
    journal = Journal(None if module.check_mode else params["journal"])
    try:
        for project in ended:
            archive_project(
                project, str(desired.get("today") or ""), roots, backend, journal,
                module.check_mode, rep,
            )  # fmt: skip
    finally:
        journal.close()
    for warning in rep.warnings:
        module.warn(warning)
    result["changed"] = bool(rep.changes)
    if rep.failed:
        first = rep.failed[0]
        more = f" (and {len(rep.failed) - 1} more failed projects)" if len(rep.failed) > 1 else ""
        module.fail_json(msg=f"project {first['project']}: {first['reason']}{more}", **result)
    module.exit_json(**result)


def main() -> None:
    run_module()


if __name__ == "__main__":
    main()
