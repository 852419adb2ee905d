#!/usr/bin/python
"""Ansible module tre.secenv.tre_archive_verify: read archives back against their manifests."""
# ruff: noqa: E402 - Ansible modules put their imports after DOCUMENTATION

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tre_archive_verify
short_description: Read project archives back and compare them with their SHA-256 manifests
description:
  - One call verifies every listed archive C(<archive_root>/P<project>) on this host (the
    C(archive) group) - every file of the bag read from disk (its cached pages dropped with
    C(POSIX_FADV_DONTNEED) first) and compared with C(manifest-sha256.txt), the set of files
    exactly the manifest's, the tag files with C(tagmanifest-sha256.txt).
  - A symbolic link is never followed - not at C(P<project>) and not inside the bag (a link,
    FIFO or device inside fails the verification).
  - Changes nothing; the result per archive names the first failing file only, never content.
version_added: "0.3.0"
author: tre
options:
  archive_root:
    description: Directory holding the archives on this host.
    type: path
    required: true
  projects:
    description: Project numbers whose archives are read.
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Reading is the same in check mode (nothing is ever changed).
"""

EXAMPLES = r"""
- name: Verify two archives
  tre.secenv.tre_archive_verify:
    archive_root: /srv/tre/archive
    projects: ["7310", "7311"]
"""

RETURN = r"""
archive_verified:
  description:
    - One entry per listed project, C({project, result, at, location, files, bytes,
      manifest_sha256, first_failure}); C(result) is C(ok) or C(failed - <one line>).
  returned: always
  type: list
  elements: dict
"""

import re
from datetime import UTC, datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_retention import (
    Root,
    verify_one,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import safe_root

PROJECT_RE = re.compile(r"^[0-9]{1,9}\Z")


def run_module() -> None:
    module = AnsibleModule(
        argument_spec={
            "archive_root": {"type": "path", "required": True},
            "projects": {"type": "list", "elements": "str", "required": True},
        },
        supports_check_mode=True,
    )
    result = {"changed": False, "archive_verified": []}
    bad = [p for p in module.params["projects"] if not PROJECT_RE.fullmatch(p)]
    if bad:
        module.fail_json(msg=f"not a project number: {bad[0][:20]!r}", **result)
    try:
        root = Root(safe_root(module.params["archive_root"], "archive_root"))
    except (ValueError, OSError) as exc:
        module.fail_json(msg=f"archive_root: {exc}", **result)
    try:
        for project in module.params["projects"]:
            at = datetime.now(UTC).isoformat(timespec="seconds")
            result["archive_verified"].append(dict(verify_one(root, project), at=at))
    finally:
        root.close()
    module.exit_json(**result)


def main() -> None:
    run_module()


if __name__ == "__main__":
    main()
