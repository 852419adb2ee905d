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
  - The archive root is on the archive host, reached over SFTP (O(archive_host) and the
    options after it; the host key checked against O(archive_known_hosts) only), or, without
    O(archive_host), a directory of this host. The root is made 0700 and every file of a
    bag 0600, every directory 0700.
  - Reads the project folder without leaving it - directories and files opened relative to
    their parent with C(O_NOFOLLOW); symbolic links, FIFOs, sockets and devices are skipped and
    listed in C(skipped.txt), never followed or opened. Hard links are archived as the bytes of
    the file (a btrfs hard link never leaves the project's subvolume).
  - Lists the entries of a top-level C(volgend project/) folder inside every zip of
    C(archive/) in C(volgend-project.txt) (zip listing only; nothing is extracted).
  - Reads the whole bag back (over SFTP, or from this host's disk with its cached pages
    dropped) and compares it with its manifests, in every run that removes something; only
    then removes the subvolume (nested subvolumes, limits and qgroups included) and then the
    workspaces. A failed verification fails the project with one line and removes nothing;
    other projects go on; it is journaled at once, so a killed run still has it recorded.
  - Idempotent and resumable from the disks alone - a complete bag is never written again, a
    killed run's partial bag is discarded and written anew, a second run changes nothing.
version_added: "0.2.0"
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
      - The archive root (made 0700) - with O(archive_host) the path the SFTP account sees
        on the archive host (lab - C(/archive), its chroot), without it a directory of this
        host.
    type: path
    required: true
  confirmed_b64:
    description:
      - The irreversible steps of the plan the operator confirmed (base64 of a JSON list of
        C({project, op, kind, name}); C(tre apply) passes C(tre_confirmed_b64)). A removal of
        a subvolume or workspace not in it is left alone with a warning (docs/safety.md).
        Omitted, nothing is filtered.
    type: str
  quota_backend:
    description: Quota implementation (deletes the subvolumes and their qgroups).
    type: str
    choices: [btrfs, xfs]
    default: btrfs
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Runs on the file server (group C(fileservers)). Test hook C(TRE_ARCHIVE_TEST_HOOK) in the
    environment is for the lab tests only (docs/storage.md).
  - Needs paramiko on the file server when O(archive_host) is given.
"""

EXAMPLES = r"""
- name: Archive ended projects to the archive host over SFTP
  tre.secenv.tre_archive:
    desired_b64: "{{ tre_desired_b64 }}"
    projects_root: /srv/tre/projects
    workspaces_root: /srv/tre/home
    archive_host: archive01.example.org
    archive_user: tre-archive
    archive_key_file: /etc/tre/archive_ed25519
    archive_known_hosts: /etc/tre/known_hosts
    archive_root: /archive

- name: Archive ended projects into a directory of this host (single-host install)
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
  description:
    - Projects left alone with a reason, and permissions corrected (the archive root made
      0700, names in a bag readable by others made 0600/0700); also emitted as warnings.
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
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import (
    ARCHIVE_HOST_OPTIONS,
    ARCHIVE_HOST_REQUIRED_BY,
    ArchiveStore,
    open_store,
)
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
from ansible_collections.tre.secenv.plugins.module_utils.tre_quota_backend import (
    QUOTA_BACKEND_OPTION,
    get_backend,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import safe_root


def run_module() -> None:
    module = AnsibleModule(
        argument_spec={
            **DESIRED_OPTIONS,
            **CONFIRMED_OPTION,
            "projects_root": {"type": "path", "required": True},
            "workspaces_root": {"type": "path", "required": True},
            "archive_root": {"type": "path", "required": True},
            **ARCHIVE_HOST_OPTIONS,
            **QUOTA_BACKEND_OPTION,
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
        )
        if not params["archive_host"]:
            params["archive_root"] = safe_root(params["archive_root"], "archive_root")
        elif not params["archive_root"].startswith("/") or "/../" in params["archive_root"] + "/":
            raise ValueError("archive_root must be an absolute path without '..'")
        confirmed = decode_confirmed(params["confirmed_b64"])
    except ValueError as exc:
        module.fail_json(msg=str(exc), **result)
    backend = get_backend(params["quota_backend"], lambda argv: module.run_command(argv))
    journal = Journal(None if module.check_mode else params["journal"])
    opened: list[ArchiveStore] = []
    refused: list[Exception] = []

    def store() -> ArchiveStore:
        """The archive store, opened (and its root made 0700) on first use; a connection
        refused once is not tried again for every project."""
        if refused:
            raise refused[0]
        if not opened:
            try:
                opened.append(open_store(params))
                note = opened[0].prepare_root(fix=not module.check_mode)
            except Exception as exc:
                refused.append(exc)
                raise
            if note:
                rep.warnings.append(note)
                rep.root_fixed = not module.check_mode
        return opened[0]

    try:
        for project in ended:
            archive_project(
                project, str(desired.get("today") or ""), roots, store, backend, journal,
                module.check_mode, rep, confirmed,
            )  # fmt: skip
    finally:
        journal.close()
        for each in opened:
            each.close()
    for warning in rep.warnings:
        module.warn(warning)
    result["changed"] = bool(rep.changes) or rep.root_fixed
    if rep.failed:
        first = rep.failed[0]
        more = f" (and {len(rep.failed) - 1} more failed projects)" if len(rep.failed) > 1 else ""
        module.fail_json(msg=f"project {first['project']}: {first['reason']}{more}", **result)
    module.exit_json(**result)


def main() -> None:
    run_module()


if __name__ == "__main__":
    main()
