"""tre_ad planner cases as data (tests/modules/ad_cases/*.yaml; the format is in its README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_diff import plan
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_identity import (
    number_problems,
    owner_problems,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import (
    Entry,
    Index,
    Settings,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_subjects import (
    revocation_problems,
)

CASES = sorted((Path(__file__).parent / "ad_cases").glob("*.yaml"))
PROJECTS_OU = "OU=Projects,DC=lab,DC=example,DC=org"
S = Settings(PROJECTS_OU, f"OU=Software,{PROJECTS_OU}", "lab.example.org")
ID_MIN = 200000


def absolute(dn: str) -> str:
    return dn if "DC=" in dn else f"{dn},{PROJECTS_OU}"


def full_desired(case: dict[str, Any]) -> dict[str, Any]:
    """Short project/account entries of a case filled in as the desired state has them."""
    d = case["desired"]
    projects = []
    for p in d["projects"]:
        nr = p["project"]
        accounts = []
        for a in p.get("accounts", []):
            group = a.get("group", "members")
            accounts.append(
                {
                    "person": a["person"],
                    "sam": a.get("sam", f"p{nr}.{a['person']}"),
                    "role": "researcher" if group == "members" else "observer",
                    "group": group,
                    "enabled": a.get("enabled", True),
                    "expires": None,
                    **{k: a[k] for k in ("display_name", "mail") if k in a},
                }
            )
        projects.append(
            {
                "project": nr,
                "ou": f"P{nr}",
                "title": p.get("title", f"Project {nr}"),
                "groups": {r: {"name": f"p{nr}-{r}"} for r in ("members", "observers")},
                "accounts": accounts,
                **{k: p[k] for k in ("storage", "status") if k in p},
            }
        )
    return {
        "projects": projects,
        "software": d.get("software", {}),
        "subjects": d.get("subjects", {}),
        "identities": d.get("identities", {}),
    }


def index_of(case: dict[str, Any]) -> Index:
    entries = []
    for obj in case.get("actual") or []:
        raw = {}
        for k, vs in obj["attrs"].items():
            values = [absolute(v) if k == "member" else v for v in vs]
            raw[k] = [str(v).encode() for v in values]
        entries.append(Entry.from_raw(absolute(obj["dn"]), raw))
    return Index(entries, S)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_ad_planner_case(path: Path):
    case = yaml.safe_load(path.read_text())
    desired, index = full_desired(case), index_of(case)
    problems = (
        owner_problems(desired, index)
        + number_problems(desired, index, ID_MIN)
        + revocation_problems(desired, index)
    )
    expected_problems = case.get("problems") or []
    assert len(problems) == len(expected_problems), problems
    for got, want in zip(problems, expected_problems, strict=True):
        assert got.startswith(want), got
    if expected_problems:
        return
    writes, warnings, _ = plan(desired, index, case.get("new_ids") or {})
    reports = [r for w in writes for r in w.reports]
    got = sorted((r["op"], r["kind"], r["name"]) for r in reports)
    want = sorted(tuple(c[:3]) for c in case["changes"])
    assert got == want
    for c in case["changes"]:
        if len(c) < 4:
            continue
        merged_before: dict[str, Any] = {}
        merged_after: dict[str, Any] = {}
        for r in reports:
            if (r["op"], r["kind"], r["name"]) == tuple(c[:3]):
                merged_before.update(r["before"] or {})
                merged_after.update(r["after"] or {})
        for attr, (before, after) in c[3].items():
            assert (merged_before.get(attr), merged_after.get(attr)) == (before, after), attr
    for got_w, want_w in zip(warnings, case.get("warnings") or [], strict=True):
        assert got_w.startswith(want_w), got_w


def test_there_are_cases():
    assert len(CASES) >= 7
