"""Data-driven rule tests: every file in contract_cases/ is one invalid contract.

A case is either ``base`` (an example contract) changed by ``set`` / ``delete`` / ``rename``
(paths written as in the problem lines, e.g. ``researchers[1].nda_signed``), or ``raw`` file
text. ``policy`` (optional) replaces numbers of the shipped policy for this case only
(e.g. ``{suspension_min_months: 2}``, a rule the shipped numbers cannot break). ``expect``
lists exactly the problems it must produce: path, rule, message fragment.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioning.contract import check_files
from provisioning.contract.ruleids import RULES
from provisioning.policy import load_policy

CASES = Path(__file__).parent / "contract_cases"
EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"
POLICY = load_policy()
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [int(i) if i else key for key, i in _TOKEN.findall(path)]


def _parent(doc: Any, path: str) -> tuple[Any, str | int]:
    steps = _steps(path)
    for step in steps[:-1]:
        doc = doc[step]
    return doc, steps[-1]


def _set(doc: Any, path: str, value: Any) -> None:
    parent, last = _parent(doc, path)
    if isinstance(parent, list) and last == len(parent):
        parent.append(value)
    else:
        parent[last] = value


def build(case: dict[str, Any]) -> str:
    if "raw" in case:
        return case["raw"]
    doc = yaml.safe_load((EXAMPLES / f"{case['base']}.yaml").read_text(encoding="utf-8"))
    for path, value in (case.get("set") or {}).items():
        _set(doc, path, value)
    for path in case.get("delete") or []:
        parent, last = _parent(doc, path)
        del parent[last]
    for path, new in (case.get("rename") or {}).items():
        parent, last = _parent(doc, path)
        parent[new] = parent.pop(last)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@pytest.mark.parametrize("case_file", sorted(CASES.glob("*.yaml")), ids=lambda p: p.stem)
def test_case(case_file: Path, tmp_path: Path) -> None:
    case = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    contract = tmp_path / "contract.yaml"
    contract.write_text(build(case), encoding="utf-8")
    policy = dataclasses.replace(POLICY, **case.get("policy", {}))
    problems = check_files([str(contract)], policy)
    got = [(p.path, p.rule) for p in problems]
    assert {p.rule for p in problems} <= set(RULES)
    want = [(e["path"], e["rule"]) for e in case["expect"]]
    assert sorted(got) == sorted(want), [p.line() for p in problems]
    for e in case["expect"]:
        p = next(p for p in problems if (p.path, p.rule) == (e["path"], e["rule"]))
        assert e["message"] in p.message
        assert p.line() == f"{contract}: {p.path}: {p.message}"
        assert "\n" not in p.line()


def test_every_rule_has_a_case() -> None:
    """Every documented rule id is covered by a case (file-level ones in test_contract_yaml)."""
    covered = {
        e["rule"]
        for f in CASES.glob("*.yaml")
        for e in yaml.safe_load(f.read_text(encoding="utf-8"))["expect"]
    }
    elsewhere = {
        "file-missing",
        "yaml-encoding",
        "yaml-size",
        "project-unique",
        "file-symlink",  # test_contract_dirs
        "token-person",  # test_tokens
        # test_project_links: they need the other project (run or state store)
        "moves-from-project",
        "moves-from-institution",
        "moves-from-ended",
        "moves-from-twice",
        "transfer-project",
        "transfer-source-active",
        # test_ad_limits: the format's own limits keep a contract below these today
        "ad-display-name",
        "ad-mail",
        "ad-description",
        "ad-employee-id",
    }
    assert set(RULES) - elsewhere - covered == set()


def test_every_emitted_rule_is_documented() -> None:
    emitted: set[str] = set()
    for src in (Path(__file__).parents[2] / "provisioning" / "contract").glob("*.py"):
        text = src.read_text(encoding="utf-8")
        emitted |= set(re.findall(r'"([a-z]+(?:-[a-z]+)+)",\s*(?:f?")', text))
    assert emitted - set(RULES) == set()  # one-word ids are checked in test_case
