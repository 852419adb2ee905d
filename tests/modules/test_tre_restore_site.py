"""site.yml's restore play: skipped when tre counts no project to restore (like the OSSC
hand-off: a plan of an environment without a reopen pays no module start for it), run when
the count is missing (site.yml by hand), and then a project without ``restore`` is left alone."""

from __future__ import annotations

import sys
from pathlib import Path

import ansible_runner

from provisioning.runner import _extravars, encode_desired

REPO = Path(__file__).resolve().parents[2]
RESTORE = {"from_project": "7310", "manifest_sha256": "a" * 64}


def _desired(restore: bool) -> dict:
    project = {"project": "7313", "status": "active", "storage": {"quota_bytes": 1 << 30,
               "workspace_quota_bytes": 1 << 30}}  # fmt: skip
    if restore:
        project["restore"] = RESTORE
    return {"today": "2027-03-01", "projects": [project]}


def test_tre_counts_the_projects_to_restore_for_site_yml() -> None:
    assert _extravars(_desired(False), False, None)["tre_restore_projects"] == 0
    assert _extravars(_desired(True), False, None)["tre_restore_projects"] == 1


def _site_restore(tmp_path: Path, extravars: dict) -> list[dict]:
    tmp_path.mkdir()
    (tmp_path / "projects").mkdir()
    (tmp_path / "archive").mkdir()
    (tmp_path / "run").mkdir()
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "tre_projects_root": str(tmp_path / "projects"),
        "tre_archive_root": str(tmp_path / "archive"),
    }
    runner = ansible_runner.run(
        private_data_dir=str(tmp_path / "run"),
        project_dir=str(REPO / "playbooks"),
        playbook="site.yml",
        inventory={"all": {"children": {"fileservers": {"hosts": {"fs": host}}}}},
        extravars=extravars,
        cmdline="--tags restore --check",
        envvars={"ANSIBLE_COLLECTIONS_PATH": str(REPO / "playbooks" / "collections")},
        quiet=True,
    )
    assert runner.status == "successful", runner.stdout.read()
    return [e for e in runner.events if e["event"].startswith("runner_on_")]


def test_site_yml_skips_the_restore_without_a_project_to_restore(tmp_path: Path) -> None:
    b64 = encode_desired(_desired(False))
    skipped = _site_restore(tmp_path / "a", {"tre_desired_b64": b64, "tre_restore_projects": 0})
    assert [e["event"] for e in skipped] == ["runner_on_start", "runner_on_skipped"]
    ran = _site_restore(tmp_path / "b", {"tre_desired_b64": b64})
    assert [e["event"] for e in ran] == ["runner_on_start", "runner_on_ok"]
    assert ran[1]["event_data"]["res"]["changes"] == []
