"""tre_storage planner cases as data (tests/modules/storage_cases/*.yaml; format in its README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.tre.secenv.plugins.module_utils import tre_acl as acl
from ansible_collections.tre.secenv.plugins.module_utils import tre_storage_plan as plan_mod
from ansible_collections.tre.secenv.plugins.module_utils import tre_storage_spec as spec_mod

CASES = sorted((Path(__file__).parent / "storage_cases").glob("*.yaml"))
LAYOUT = plan_mod.Layout("/p", "/h", "/c")
READERS = {"SUBA": ("DS-SUBA", 600900), "SUBB": ("DS-SUBB", 600901)}
IDS = {
    "accounts": {"p6001.alice": {"uid": 600001, "gid": 600101}},
    "groups": {"p6001-members": 600101, "p6001-observers": 600102},
}
_TAGS = {"user": acl.USER, "group": acl.GROUP, "mask": acl.MASK, "other": acl.OTHER}
_PERM = {"r": 4, "w": 2, "x": 1}


def parse_entries(entries: list[str]) -> acl.Acl:
    """getfacl-style entries (``group:600101:rwx``) as the codec's tuples."""
    out = []
    for entry in entries:
        tag, qualifier, perm = entry.split(":")
        bits = sum(_PERM[c] for c in perm if c != "-")
        if tag in ("user", "group") and not qualifier:
            kind = acl.USER_OBJ if tag == "user" else acl.GROUP_OBJ
            out.append((kind, None, bits))
        elif tag in ("mask", "other"):
            out.append((_TAGS[tag], None, bits))
        else:
            out.append((_TAGS[tag], int(qualifier), bits))
    return acl.canonical(out)


def spec_of(case: dict[str, Any]) -> spec_mod.ProjectSpec:
    storage = {"quota_bytes": 100, "workspace_quota_bytes": 10, "file_subjects": ["SUBA"]}
    storage |= {"contract_subjects": ["SUBA"], "recorded_grants": ["SUBA"]}
    storage |= case.get("storage") or {}
    desired = {
        "projects": [
            {
                "project": "6001",
                "ou": "P6001",
                "groups": {
                    "members": {"name": "p6001-members"},
                    "observers": {"name": "p6001-observers"},
                },
                "accounts": [{"sam": "p6001.alice", "group": "members"}],
                "storage": storage,
            }
        ]
    }
    (spec,) = spec_mod.normalize(desired, IDS)
    return spec


def actual_of(case: dict[str, Any], spec: spec_mod.ProjectSpec) -> plan_mod.Actual:
    base = parse_entries(["user::rwx", "group::r-x", "other::---"])
    reader = acl.with_mask([*base, (acl.GROUP, 600900, 5)])
    catalog_acl = {"SUBA": reader, "SUBB": acl.with_mask([*base, (acl.GROUP, 600901, 5)])}
    paths: dict[str, Any] = {}
    quotas: dict[str, tuple[int, int | None]] = {}
    units: set[str] = set()
    if case["actual"] == "converged":
        pacl, wacl = plan_mod.project_acl(spec), plan_mod.workspace_acl(600001)
        for path in ["/p/P6001", *(f"/p/P6001/{f}" for f in spec_mod.PROJECT_FOLDERS)]:
            paths[path] = spec_mod.PathState(True, 0, 0, 0o770, pacl, pacl)
        paths["/h/p6001.alice"] = spec_mod.PathState(True, 600001, 600101, 0o770, wacl, wacl)
        quotas = {"/p/P6001": (0, 100), "/h/p6001.alice": (0, 10)}  # the base contract
        units = {"/p/P6001", "/h/p6001.alice"}
    else:
        catalog_acl = {s: base for s in catalog_acl}
    for path, entries in (case.get("acls") or {}).items():
        parsed = parse_entries(entries)
        if path.startswith("/c/"):
            catalog_acl[path.rsplit("/", 1)[1]] = parsed
        else:
            old = paths[path]
            paths[path] = spec_mod.PathState(old.is_dir, old.uid, old.gid, old.mode, parsed, parsed)
    for path, (usage, limit) in (case.get("quotas") or {}).items():
        quotas[path] = (usage, limit)
    for path in case.get("missing") or []:
        paths[path] = None
    for path, what in (case.get("kinds") or {}).items():
        old = paths[path]
        paths[path] = spec_mod.PathState(False, 0, 0, 0o777, old.access, None, what)
    catalog = {
        s: [(f"/c/{s}", spec_mod.PathState(True, 0, 0, 0o750, a, a))]
        for s, a in catalog_acl.items()
    }
    return plan_mod.Actual(paths, quotas, catalog, units)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_storage_planner_case(path: Path):
    case = yaml.safe_load(path.read_text())
    spec = spec_of(case)
    plan = plan_mod.plan_projects([spec], LAYOUT, actual_of(case, spec), False, READERS)
    got = sorted(
        (c["project"] or "~", c["op"], c["kind"], c["name"].rsplit("/", 1)[-1])
        for c in plan.changes
    )
    want = sorted((c[0] or "~", *c[1:]) for c in case["changes"])
    assert got == want
    for key, found in (
        ("unsafe", [u["reason"] for u in plan.unsafe]),
        ("blocked", plan.blocked),
    ):
        expected = case.get(key) or []
        assert len(found) == len(expected), (key, found)
        for line, start in zip(found, expected, strict=True):
            assert start in line, (key, line)


def test_there_are_cases():
    assert len(CASES) >= 7
