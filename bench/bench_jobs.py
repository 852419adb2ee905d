"""Benchmark: quota-weekly's read (``provisioning.usage.measure`` + ``write_metrics``) over
1,000 projects and 4,000 personal workspaces on the lab's file server (target < 5 s, one qgroup
read per file server). Not a timed test: run it by hand on the lab (root):

    . .venv/bin/activate && flock /tmp/tre-lab.lock python bench/bench_jobs.py
    python bench/bench_jobs.py --projects 200 --per-project 4 --runs 5

Fixture: in its own directory ``<lab mount>/tre-bench-jobs-<pid>`` (``projects/P6000``...,
``home/p6000.r0``...: the layout's names, bench project numbers 6000..) subvolumes made
directly with ``btrfs subvolume create`` and ``btrfs qgroup limit`` (100 GB / 1 GB), 1 MiB
written into every 100th project; an inventory copying the lab's with its roots pointing there,
so the same Ansible machinery (``playbooks/measure.yml``, ``tre.secenv.tre_quota_report``)
reads the same file system, which also holds the lab's own subvolumes. Every ``btrfs``
process of a measurement is counted through a logging ``btrfs`` first on ``PATH``. The
subvolumes, their stale qgroups and the directory are deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from provisioning.inventory import load_inventory  # noqa: E402
from provisioning.usage import measure, write_metrics  # noqa: E402

LAB = REPO / "inventory" / "lab"
FIRST = 6000
PROJECT_LIMIT, WORKSPACE_LIMIT = 100 * 1024**3, 1024**3
MIB = 1024**2


def btrfs(*args: str) -> None:
    subprocess.run(["btrfs", *args], check=True, capture_output=True)


def build(work: Path, projects: int, per_project: int) -> dict[str, int]:
    """The subvolumes and their limits; returns {path: limit}."""
    (work / "projects").mkdir(parents=True)
    (work / "home").mkdir()
    units: dict[str, int] = {}
    for i in range(projects):
        nr = FIRST + i
        units[str(work / "projects" / f"P{nr}")] = PROJECT_LIMIT
        for r in range(per_project):
            units[str(work / "home" / f"p{nr}.r{r}")] = WORKSPACE_LIMIT

    def make(item: tuple[str, int]) -> None:
        btrfs("subvolume", "create", item[0])
        btrfs("qgroup", "limit", str(item[1]), item[0])

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(make, units.items()))
    for i in range(0, projects, 100):
        (work / "projects" / f"P{FIRST + i}" / "data.bin").write_bytes(os.urandom(MIB))
    return units


def cleanup(work: Path) -> None:
    subvolumes = [
        p
        for root in ("projects", "home")
        if (work / root).is_dir()
        for p in (work / root).iterdir()
        if p.stat().st_ino == 256
    ]
    for chunk in range(0, len(subvolumes), 200):
        subprocess.run(
            ["btrfs", "subvolume", "delete", *map(str, subvolumes[chunk : chunk + 200])],
            capture_output=True,
            check=False,
        )
    subprocess.run(["btrfs", "subvolume", "sync", str(work)], capture_output=True, check=False)
    subprocess.run(["btrfs", "qgroup", "clear-stale", str(work)], capture_output=True, check=False)
    shutil.rmtree(work, ignore_errors=True)


def inventory_for(work: Path, into: Path) -> Path:
    (into / "group_vars").mkdir(parents=True)
    shutil.copy(LAB / "hosts.yml", into / "hosts.yml")
    settings = yaml.safe_load((LAB / "group_vars" / "all.yml").read_text())
    settings.update(
        tre_projects_root=str(work / "projects"), tre_workspaces_root=str(work / "home")
    )
    (into / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    return into


def counting_path(into: Path) -> Path:
    """A ``btrfs`` that logs its arguments, then runs the real one; put first on PATH."""
    real = shutil.which("btrfs")
    if real is None:
        sys.exit("no btrfs on PATH")
    shim = into / "shim"
    shim.mkdir()
    log = into / "btrfs-calls.log"
    (shim / "btrfs").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    (shim / "btrfs").chmod(0o755)
    os.environ["PATH"] = f"{shim}{os.pathsep}{os.environ['PATH']}"
    return log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--per-project", type=int, default=4, help="workspaces per project")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not LAB.is_dir():
        sys.exit("no lab inventory: run 'tre lab up' first")
    mount = load_inventory(LAB).projects_root.parent
    work = mount / f"tre-bench-jobs-{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="tre-bench-jobs-") as tmp:
        try:
            started = time.monotonic()
            units = build(work, args.projects, args.per_project)
            print(
                f"setup: {len(units)} subvolumes with limits in {time.monotonic() - started:.1f} s"
            )
            inventory = load_inventory(inventory_for(work, Path(tmp) / "inventory"))
            listed = subprocess.run(
                ["btrfs", "subvolume", "list", str(mount)], capture_output=True, text=True
            ).stdout
            print(f"the file system holds {len(listed.splitlines())} subvolumes in all")
            log = counting_path(Path(tmp))
            metrics_dir = Path(tmp) / "metrics"
            metrics_dir.mkdir()
            numbers = [str(FIRST + i) for i in range(args.projects)]
            times = []
            for run in range(args.runs):
                log.unlink(missing_ok=True)
                started = time.monotonic()
                report = measure(inventory, numbers)  # as quota-weekly: the contracts' projects
                write_metrics(report, metrics_dir)
                times.append(time.monotonic() - started)
                calls = log.read_text().splitlines()
                check(report, units, work, args.projects)
                print(
                    f"run {run + 1}: {len(report.items)} units measured and written in "
                    f"{times[-1]:.2f} s; btrfs processes: {len(calls)} ({'; '.join(calls)})"
                )
            median = statistics.median(times)
            print(
                f"measure + metrics, {args.projects} projects + "
                f"{args.projects * args.per_project} workspaces: median {median:.2f} s, "
                f"min {min(times):.2f} s, max {max(times):.2f} s over {args.runs} runs "
                f"(target < 5 s: {'met' if max(times) < 5 else 'NOT met'})"
            )
        finally:
            cleanup(work)


def check(report, units: dict[str, int], work: Path, projects: int) -> None:
    """The measurement is right, not only fast: every unit, its limit, the written MiB."""
    found = {u.path: u for u in report.items}
    if set(found) != set(units) or report.warnings:
        sys.exit(f"wrong units: {len(found)} found, {len(units)} made; {report.warnings[:3]}")
    wrong = [p for p, u in found.items() if u.limit_bytes != units[p] or u.used_bytes is None]
    if wrong:
        sys.exit(f"wrong limit or unknown usage: {wrong[:3]}")
    for i in range(0, projects, 100):
        used = found[str(work / "projects" / f"P{FIRST + i}")].used_bytes or 0
        if used < MIB:
            sys.exit(f"P{FIRST + i}: {used} bytes measured, at least {MIB} written")


if __name__ == "__main__":
    main()
