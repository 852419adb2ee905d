"""Storage measurement against the lab (issue 13): real writes into a project folder and a
workspace made by `tre apply` with quotas in MB from the policy, read back by
``provisioning.usage.measure`` through Ansible (tre_quota_report): the bytes within a small
tolerance, the limits exactly, one `btrfs` process per file system; a file system whose qgroup
accounting btrfs calls inconsistent gives unknown usage and a warning, never a number.

Projects 7950 (lab) and 7951 (a scratch btrfs of its own, so the lab's accounting is never
made inconsistent), cleaned at the start and at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from provisioning.errors import RunError
from provisioning.inventory import load_inventory
from provisioning.policy import DEFAULT_POLICY
from provisioning.usage import measure, metrics_text, write_metrics
from tests.integration.conftest import TODAY
from tests.integration.helpers import (
    INVENTORY,
    clean_project,
    example_contract,
    lab_vars,
    tre,
    write_contract,
)

pytestmark = pytest.mark.lab

MB = 1024**2
PROJECT = "7950"
SCRATCH_PROJECT = "7951"
SCRATCH = Path("/tmp/tre-test-usage-scratch")  # fixed: a crashed run's mount is found again
#: Per unit: a few metadata blocks of the subvolume and the files (btrfs: 16 KiB nodes).
TOLERANCE = 256 * 1024


def small_policy(path: Path) -> Path:
    """The CBS policy with quotas small enough to fill: 50MB + 10MB steps, 5MB workspaces."""
    policy = yaml.safe_load(DEFAULT_POLICY.read_text())
    policy.update(
        project_quota="50MB",
        workspace_quota="5MB",
        storage_steps=[
            {"size": "10MB", "monthly": 26, "min_months": 1},
            {"size": "1GB", "monthly": 128, "min_months": 6},
        ],
    )
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return path


def write_bytes(path: Path, size: int) -> int:
    """Write ``size`` random bytes (incompressible, no holes) and sync; returns what was
    written before the quota refused (EDQUOT), if it did."""
    written = 0
    with path.open("wb") as handle:
        try:
            while written < size:
                chunk = os.urandom(min(MB, size - written))
                handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
                written += len(chunk)
        except OSError as exc:
            assert exc.errno == 122, exc  # EDQUOT: the quota, nothing else
    return written


def counting_btrfs(tmp_path: Path) -> tuple[str, Path]:
    """A PATH entry whose `btrfs` logs each call, then runs the real one."""
    real = shutil.which("btrfs")
    assert real
    shim = tmp_path / "shim"
    shim.mkdir()
    log = tmp_path / "btrfs-calls.log"
    script = shim / "btrfs"
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    script.chmod(0o755)
    return str(shim), log


def by_unit(report) -> dict:
    return {(u.kind, u.owner): u for u in report.items}


def test_measure_reports_real_writes_and_policy_limits(lab_inventory, tmp_path, monkeypatch):
    v = lab_vars()
    clean_project(v, PROJECT)
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    policy = small_policy(tmp_path / "policy.yaml")
    contract = example_contract("9001-small.yaml", PROJECT)
    contract["storage"] = {"extra": [{"size": "10MB", "from": TODAY}]}
    folder = tmp_path / "contracts"
    folder.mkdir()
    write_contract(folder / f"{PROJECT}.yaml", contract)
    project_dir = Path(v["tre_projects_root"]) / f"P{PROJECT}"
    workspace = Path(v["tre_workspaces_root"]) / f"p{PROJECT}.jdevries"
    try:
        tre("apply", str(folder), "--policy", str(policy), "--today", TODAY, "--yes", env=env)
        before = by_unit(measure(lab_inventory, [PROJECT]))
        assert set(before) == {
            ("project", None),
            ("workspace", f"p{PROJECT}.jdevries"),
            ("workspace", f"p{PROJECT}.zvanthoff"),
        }
        assert write_bytes(project_dir / "export" / "data.bin", 20 * MB) == 20 * MB
        assert write_bytes(workspace / "notes.bin", 3 * MB) == 3 * MB

        shim, log = counting_btrfs(tmp_path)
        monkeypatch.setenv("PATH", f"{shim}:{os.environ['PATH']}")
        report = measure(lab_inventory, [PROJECT])
        calls = log.read_text().splitlines()
        assert calls == [f"qgroup show -pcre --raw --sync {find_mount(project_dir)}"]
        assert report.warnings == []
        units = by_unit(report)
        project = units[("project", None)]
        assert project.server == "lab-fileserver" and project.path == str(project_dir)
        assert project.limit_bytes == 60 * MB  # 50MB + the contract's 10MB step
        grown = project.used_bytes - before[("project", None)].used_bytes
        assert 20 * MB <= grown <= 20 * MB + TOLERANCE, grown
        ws = units[("workspace", f"p{PROJECT}.jdevries")]
        assert ws.limit_bytes == 5 * MB
        grown = ws.used_bytes - before[("workspace", f"p{PROJECT}.jdevries")].used_bytes
        assert 3 * MB <= grown <= 3 * MB + TOLERANCE, grown
        other = units[("workspace", f"p{PROJECT}.zvanthoff")]
        assert other.used_bytes == before[("workspace", f"p{PROJECT}.zvanthoff")].used_bytes

        # fill the workspace to its quota: the kernel refuses, the measurement says > 90 %
        written = write_bytes(workspace / "more.bin", 10 * MB)
        assert written < 10 * MB
        full = by_unit(measure(lab_inventory, [PROJECT]))[("workspace", f"p{PROJECT}.jdevries")]
        assert full.percent is not None and full.percent > 90, full

        # all projects: 7950 is among them, with the same numbers; the metrics file says so
        everything = measure(lab_inventory)
        mine = [u for u in everything.items if u.project == PROJECT]
        assert {(u.kind, u.owner) for u in mine} == set(before)
        path = write_metrics(everything, tmp_path)
        assert path.read_text() == metrics_text(everything)
        line = f'tre_quota_limit_bytes{{project="{PROJECT}",kind="project",owner=""}} {60 * MB}'
        assert line in path.read_text().splitlines()
    finally:
        clean_project(v, PROJECT)


def find_mount(path: Path) -> str:
    out = subprocess.run(
        ["findmnt", "-n", "-o", "TARGET", "-T", str(path)], capture_output=True, text=True
    )
    return out.stdout.strip()


def _scratch_down() -> None:
    mnt = SCRATCH / "mnt"
    if mnt.is_dir() and os.path.ismount(mnt):
        subprocess.run(["umount", str(mnt)], check=True)
    shutil.rmtree(SCRATCH, ignore_errors=True)


def _scratch_up(tmp_path: Path) -> tuple[Path, Path]:
    """A 256 MB btrfs with quotas, mounted at SCRATCH/mnt, and an inventory copying the lab's
    whose projects/workspaces roots are on it (the same Ansible hosts and machinery)."""
    SCRATCH.mkdir(parents=True)
    image, mnt = SCRATCH / "fs.img", SCRATCH / "mnt"
    mnt.mkdir()
    with image.open("wb") as handle:
        handle.truncate(256 * MB)
    for argv in (
        ["mkfs.btrfs", "-q", str(image)],
        ["mount", "-o", "loop", str(image), str(mnt)],
        ["btrfs", "quota", "enable", str(mnt)],
    ):
        subprocess.run(argv, check=True, capture_output=True)
    (mnt / "projects").mkdir()
    (mnt / "home").mkdir()
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    shutil.copy(INVENTORY / "hosts.yml", inventory / "hosts.yml")
    settings = lab_vars()
    settings.update(tre_projects_root=str(mnt / "projects"), tre_workspaces_root=str(mnt / "home"))
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    return mnt, inventory


def btrfs(*args: str) -> str:
    return subprocess.run(["btrfs", *args], check=True, capture_output=True, text=True).stdout


def subvolume_id(path: Path) -> str:
    shown = btrfs("subvolume", "show", str(path))
    return next(ln.split()[-1] for ln in shown.splitlines() if "Subvolume ID:" in ln)


def test_inconsistent_accounting_is_unknown_not_a_number(lab_inventory, tmp_path):
    _scratch_down()
    try:
        mnt, inventory_dir = _scratch_up(tmp_path)
        project = mnt / "projects" / f"P{SCRATCH_PROJECT}"
        btrfs("subvolume", "create", str(project))
        btrfs("subvolume", "create", str(mnt / "home" / f"p{SCRATCH_PROJECT}.jdevries"))
        btrfs("qgroup", "limit", str(50 * MB), str(project))
        assert write_bytes(project / "data.bin", 5 * MB) == 5 * MB
        inventory = load_inventory(inventory_dir)

        consistent = by_unit(measure(inventory))
        assert 5 * MB <= consistent[("project", None)].used_bytes <= 5 * MB + TOLERANCE

        # What tre_storage does for a nested subvolume, without the rescan: a snapshot (shared
        # extents) assigned to a level-1 qgroup with --no-rescan. btrfs marks the accounting
        # inconsistent until a rescan.
        btrfs("subvolume", "snapshot", str(project), str(project / "escape"))
        group = f"1/{subvolume_id(project)}"
        btrfs("qgroup", "create", group, str(mnt))
        for unit in (project, project / "escape"):
            btrfs("qgroup", "assign", "--no-rescan", f"0/{subvolume_id(unit)}", group, str(mnt))
        shown = subprocess.run(
            ["btrfs", "qgroup", "show", str(mnt)], capture_output=True, text=True, check=True
        )
        assert "inconsistent" in shown.stderr  # the state under test is real

        report = measure(inventory)
        units = by_unit(report)
        assert set(units) == {("project", None), ("workspace", f"p{SCRATCH_PROJECT}.jdevries")}
        assert [u.used_bytes for u in report.items] == [None, None]
        assert units[("project", None)].limit_bytes == 50 * MB  # limits are still known
        assert report.unknown == report.items
        assert len(report.warnings) == 1
        warning = report.warnings[0]
        assert warning.startswith("lab-fileserver: quota accounting of ")
        assert "qgroup data inconsistent, rescan recommended" in warning
        assert f"btrfs quota rescan -w {mnt}" in warning
        text = metrics_text(report)
        assert "tre_quota_unknown 2" in text
        assert not [ln for ln in text.splitlines() if ln.startswith("tre_quota_used_bytes{")]

        btrfs("quota", "rescan", "-w", str(mnt))
        repaired = measure(inventory)
        assert repaired.warnings == []
        used = by_unit(repaired)[("project", None)].used_bytes
        # the project and its nested snapshot share the extents: counted once, in the group
        assert 5 * MB <= used <= 5 * MB + TOLERANCE, used

        btrfs("quota", "disable", str(mnt))  # nothing to read: one line, no number at all
        with pytest.raises(RunError) as failed:
            measure(inventory)
        assert str(failed.value).startswith(
            f"measuring storage failed: lab-fileserver: cannot read qgroups of {mnt}"
            " (quota enabled?): "
        )
        assert "\n" not in str(failed.value)
    finally:
        _scratch_down()
