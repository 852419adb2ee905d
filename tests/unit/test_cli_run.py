"""`tre plan` / `tre apply` refusals that need no lab: one line, exit 1, nothing run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.integration.helpers import EXAMPLES, tre, write_contract


def assert_one_line_failure(result, *fragments: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), lines[0]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}


def test_missing_inventory(tmp_path, env):
    result = tre(
        "apply",
        str(EXAMPLES / "9001-small.yaml"),
        "--inventory",
        str(tmp_path / "nowhere"),
        "--yes",
        env=env,
        check=False,
    )
    assert_one_line_failure(result, "no inventory")


def test_draft_contract_is_refused(tmp_path, env):
    contract = yaml.safe_load((EXAMPLES / "9001-small.yaml").read_text())
    contract["status"] = "draft"
    draft = write_contract(tmp_path / "draft.yaml", contract)
    result = tre("plan", str(draft), env=env, check=False)
    assert_one_line_failure(result, "only approved")


def test_invalid_contract_lists_its_problems(tmp_path, env):
    bad = tmp_path / "bad.yaml"
    bad.write_text("project: 9001\nresearcherz: []\n")
    result = tre("plan", str(bad), env=env, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "did you mean" in result.stderr


def test_bad_today_is_a_usage_error(env):
    result = tre("plan", str(EXAMPLES), "--today", "1 march", env=env, check=False)
    assert result.returncode == 2
    assert "YYYY-MM-DD" in result.stderr


def test_unknown_project_in_show(env):
    result = tre("project", "show", "4242", env=env, check=False)
    assert result.returncode == 1
    assert "not in the state store" in result.stderr
    result = tre("project", "show", "42;rm", env=env, check=False)
    assert result.returncode == 2


def test_a_move_within_one_institution_is_one_line(tmp_path, env):
    """Both contracts Universiteit Utrecht: refused before anything runs (issue 12)."""
    old = yaml.safe_load((EXAMPLES / "9001-small.yaml").read_text())
    new = dict(old, project=9501, start="2026-06-01", moves_from=9001)
    write_contract(tmp_path / "9001.yaml", old)
    write_contract(tmp_path / "9501.yaml", new)
    result = tre("plan", str(tmp_path / "9001.yaml"), str(tmp_path / "9501.yaml"), env=env,
                 check=False)  # fmt: skip
    assert_one_line_failure(
        result, "project 9501: moves_from: project 9001 is of the same institution",
        "[moves-from-institution]",
    )  # fmt: skip
