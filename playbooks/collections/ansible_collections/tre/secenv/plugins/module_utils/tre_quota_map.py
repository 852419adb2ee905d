"""Quota units → project folders and personal workspaces (pure; used by tre_quota_report).

The names are the storage layout's (docs/storage.md): ``<projects_root>/P<nr>`` is a project
folder, ``<workspaces_root>/<sam>`` a personal workspace, where an account name is
``p<nr>.<person>`` (provisioning/naming.py), so a workspace names its project. Units that
are neither (nested subvolumes, other directories) are not reported.
"""

from __future__ import annotations

import os
import re

PROJECT_DIR = re.compile(r"^P([1-9][0-9]{0,7})\Z")
#: An account name (tre_desired's sam pattern) of the form p<nr>.<person>.
WORKSPACE_DIR = re.compile(r"^(?=[a-z0-9][a-z0-9.-]{0,19}\Z)p([1-9][0-9]{0,7})\.[a-z0-9.-]+\Z")
PROJECT_NUMBER = re.compile(r"^[1-9][0-9]{0,7}\Z")
_KIND_ORDER = {"project": 0, "workspace": 1}


def classify(path: str, projects_root: str, workspaces_root: str) -> tuple[str, str, str] | None:
    """(project, kind, owner) of a unit directly below one of the roots, else None."""
    parent, name = os.path.split(path.rstrip("/"))
    if parent == projects_root.rstrip("/"):
        match = PROJECT_DIR.match(name)
        if match:
            return match.group(1), "project", ""
    if parent == workspaces_root.rstrip("/"):
        match = WORKSPACE_DIR.match(name)
        if match:
            return match.group(1), "workspace", name
    return None


def usage_items(
    units: dict[str, tuple[int, int | None]],
    projects_root: str,
    workspaces_root: str,
    projects: set[str] | None,
    consistent: bool,
) -> list[dict]:
    """One item per project folder and workspace (of ``projects``, or all when None):
    ``{project, kind, owner, path, used_bytes, limit_bytes}``; ``used_bytes`` is None when the
    accounting is not consistent (unknown, never a number). Sorted by project, kind, owner."""
    items = []
    for path, (used, limit) in units.items():
        found = classify(path, projects_root, workspaces_root)
        if found is None or (projects is not None and found[0] not in projects):
            continue
        project, kind, owner = found
        items.append(
            {
                "project": project,
                "kind": kind,
                "owner": owner or None,
                "path": path,
                "used_bytes": used if consistent else None,
                "limit_bytes": limit,
            }
        )
    items.sort(key=lambda i: (int(i["project"]), _KIND_ORDER[i["kind"]], i["owner"] or ""))
    return items


def missing_projects(items: list[dict], projects: set[str] | None) -> list[str]:
    """Requested projects without a project folder among the units, in number order."""
    if projects is None:
        return []
    found = {i["project"] for i in items if i["kind"] == "project"}
    return sorted(projects - found, key=int)
