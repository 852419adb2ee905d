#!/usr/bin/python
"""Ansible module tre.secenv.tre_archive_purge: delete exactly the listed archives, safely."""
# ruff: noqa: E402 - Ansible modules put their imports after DOCUMENTATION

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tre_archive_purge
short_description: Delete exactly the listed project archives, in two steps a kill cannot split
description:
  - Runs on the archive host (group C(archive)) with plain local file access below
    O(archive_root). One call handles every listed archive (a batch; one failing archive does
    not stop the others).
  - O(detach) - each C({project, manifest_sha256}) - checks that C(P<project>) is a directory
    right under the root (not a symbolic link, never followed) and that the SHA-256 of its
    C(manifest-sha256.txt) is the given one, then renames it to C(.purging-P<project>) and
    fsyncs the root - the point of no return, after which the caller records the tombstone.
    Anything else is refused (C(archive_refused)) and left as it is.
  - O(delete) - project numbers - removes C(.purging-P<project>) and everything below it;
    links inside are unlinked, never followed (C(shutil.rmtree) relative to directory
    descriptors). Nothing else is ever deleted - in particular not C(P<project>).
  - O(inspect) - project numbers - only reports each one's state (C(archive_state)) -
    C(whole), C(detached), C(gone) or C(unsafe - <why>).
  - Every detach and delete is journaled (intent before, done after) through
    C(tre_executor); a killed run is finished by the next call from the disks alone.
version_added: "0.3.0"
author: tre
options:
  archive_root:
    description: Directory holding the archives on this host.
    type: path
    required: true
  detach:
    description: Archives to detach, each with the manifest SHA-256 the state store recorded.
    type: list
    elements: dict
    default: []
    suboptions:
      project:
        description: Project number.
        type: str
        required: true
      manifest_sha256:
        description: Expected SHA-256 (hex) of the archive's C(manifest-sha256.txt).
        type: str
        required: true
  delete:
    description: Projects whose detached C(.purging-P<project>) is deleted.
    type: list
    elements: str
    default: []
  inspect:
    description: Projects whose state is only reported.
    type: list
    elements: str
    default: []
  journal:
    description: File (JSON lines) every change is appended to, as intent and as done.
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Test hook C(TRE_ARCHIVE_TEST_HOOK=pause:<point>:<file>) (lab tests only) - points
    C(detached) (after the first rename) and C(deleting) (after the first C(data/) is gone).
"""

EXAMPLES = r"""
- name: Detach two archives that are due
  tre.secenv.tre_archive_purge:
    archive_root: /srv/tre/archive
    detach:
      - {project: "7310", manifest_sha256: "9f2c...e1"}
      - {project: "7311", manifest_sha256: "03ab...7c"}

- name: Delete them once their tombstones are recorded
  tre.secenv.tre_archive_purge:
    archive_root: /srv/tre/archive
    delete: ["7310", "7311"]
"""

RETURN = r"""
changes:
  description:
    - Done (or, in check mode, planned) - C({project, op, kind, name, path, before, after})
      with C(op) C(detach) (path C(P<project>), after the C(.purging-) path and
      manifest_sha256) or C(delete) (path C(.purging-P<project>)); C(kind) is C(archive).
  returned: always
  type: list
  elements: dict
archive_state:
  description: Each listed project's state before this call - whole, detached, gone, unsafe.
  returned: always
  type: dict
archive_refused:
  description: Listed archives left alone, C({project, reason}) (one line, no content).
  returned: always
  type: list
  elements: dict
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_retention import (
    Root,
    detached_name,
    purge_problem,
    state_of,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_run import hook
from ansible_collections.tre.secenv.plugins.module_utils.tre_executor import (
    ISOLATE,
    OperationError,
    Step,
    execute,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_spec import safe_root

PROJECT_RE = re.compile(r"^[0-9]{1,9}\Z")
SHA_RE = re.compile(r"^[0-9a-f]{64}\Z")


def _op(action, *args):
    def run() -> None:
        try:
            action(*args)
        except OSError as exc:
            raise OperationError(
                f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
            ) from None

    return run


def _change(root: Root, project: str, op: str, before: str, after: str, sha=None) -> dict:
    name = f"P{project}" if op == "detach" else detached_name(project)
    change = {
        "project": project, "op": op, "kind": "archive", "name": f"P{project}",
        "path": os.path.join(root.path, name), "before": before, "after": after,
    }  # fmt: skip
    if sha:
        change["manifest_sha256"] = sha
    return change


def plan(root: Root, params: dict, rep: dict) -> list[Step]:
    steps = []
    first = [True]

    def detach(project: str) -> None:
        root.rename(f"P{project}", detached_name(project))
        if first[0]:
            first[0] = False
            hook("detached")

    for item in params["detach"]:
        project, sha = item["project"], item["manifest_sha256"]
        state = rep["archive_state"][project] = state_of(root, project)
        if state == "detached":
            continue  # detached by an earlier, killed run: the caller records its tombstone
        problem = purge_problem(root, project, sha)
        if problem:
            rep["archive_refused"].append({"project": project, "reason": problem})
            continue
        change = _change(root, project, "detach", "whole", "detached", sha)
        steps.append(Step([change], [_op(detach, project)], change["path"]))
    for project in params["delete"]:
        state = rep["archive_state"].setdefault(project, state_of(root, project))
        if state.startswith("unsafe"):
            rep["archive_refused"].append({"project": project, "reason": state[8:]})
        elif state == "detached":
            change = _change(root, project, "delete", "detached", "deleted")
            steps.append(Step([change], [_op(root.delete, detached_name(project))], change["path"]))
    for project in params["inspect"]:
        rep["archive_state"].setdefault(project, state_of(root, project))
    return steps


def run_module() -> None:
    module = AnsibleModule(
        argument_spec={
            "archive_root": {"type": "path", "required": True},
            "detach": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "project": {"type": "str", "required": True},
                    "manifest_sha256": {"type": "str", "required": True},
                },
            },
            "delete": {"type": "list", "elements": "str", "default": []},
            "inspect": {"type": "list", "elements": "str", "default": []},
            "journal": {"type": "path"},
        },  # fmt: skip
        supports_check_mode=True,
    )
    p = module.params
    rep: dict = {"changed": False, "changes": [], "archive_state": {}, "archive_refused": []}
    numbers = [i["project"] for i in p["detach"]] + p["delete"] + p["inspect"]
    bad = [n for n in numbers if not PROJECT_RE.fullmatch(n)]
    bad += [i["manifest_sha256"] for i in p["detach"] if not SHA_RE.fullmatch(i["manifest_sha256"])]
    if bad:
        module.fail_json(msg=f"not a project number or SHA-256: {bad[0][:70]!r}", **rep)
    try:
        root = Root(safe_root(p["archive_root"], "archive_root"))
    except (ValueError, OSError) as exc:
        module.fail_json(msg=f"archive_root: {exc}", **rep)
    journal = Journal(None if module.check_mode else p["journal"])
    try:
        steps = plan(root, p, rep)
        outcome = execute(steps, journal, module.check_mode, on_failure=ISOLATE)
    finally:
        journal.close()
        root.close()
    rep["changes"] = outcome.applied
    rep["changed"] = bool(outcome.applied)
    for f in outcome.failures:
        for c in f.step.changes:
            rep["archive_refused"].append({"project": c["project"], "reason": f.message})
    if module._diff:
        rep["diff"] = {
            "before": {c["name"]: c["before"] for s in steps for c in s.changes},
            "after": {c["name"]: c["after"] for s in steps for c in s.changes},
        }
    module.exit_json(**rep)


def main() -> None:
    run_module()


if __name__ == "__main__":
    main()
