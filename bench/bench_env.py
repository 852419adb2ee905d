"""Whole-environment benchmark (issue 17), against the lab: a real environment's size.

1,250 projects x 4 researchers, each project on GBAPERSOONTAB (shared by all) plus one other
subject, written as contract files and run through the real command line:

(a) `tre apply DIR --yes` from scratch (5,000 accounts, 2,500 project groups, 6,250
    subvolumes, reader-group memberships), wall time;
(b) the no-change `tre plan DIR` of all of them (target < 15 s), wall time, with where the
    time goes (each play's task time from ansible-runner's events; the rest is tre itself:
    reading 1,250 contracts, the desired state, Ansible's start);
(c) the size of GBAPERSOONTAB's ACL xattr before and after (constant: one reader entry).

    python bench/bench_env.py [--projects 1250] [--people 4] [--plans 2] [--keep]
    python bench/bench_env.py --plan-only WORKDIR [--plans 3]   # re-measure (b) on a kept run
    python bench/bench_env.py --clean [--projects 1250]         # remove a kept environment

Projects 500001.. are created and (without --keep) removed again; --keep leaves them and the
work directory (contracts, state, runs) in place and prints it, so (b) can be measured again
with --plan-only without the 6-minute apply. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import INVENTORY, REPO, lab_vars

FIRST = 500001
SHARED = "GBAPERSOONTAB"
OTHERS = ("SPOLISBUS", "INPATAB", "HOOGSTEOPLTAB", "SECMBUS", "IHITAB", "VEHTAB")


def contract(nr: int, people: int) -> dict:
    ids = [f"r{n}p{nr}" for n in range(people)]
    return {
        "project": nr,
        "title": f"Benchmark {nr}",
        "status": "approved",
        "institution": {"name": "Universiteit Utrecht", "authorization_until": "2028-06-30"},
        "start": "2026-02-01",
        "end": "2027-01-31",
        "retention_years": 5,
        "lead": ids[0],
        "researchers": [
            {
                "id": pid,
                "name": f"Onderzoeker {pid}",
                "email": f"{pid}@uu.nl",
                "employer": "Universiteit Utrecht",
                "nda_signed": "2026-01-10",
                "awareness_errors": 0,
                "token": f"T-{nr}{n}",
            }
            for n, pid in enumerate(ids)
        ],
        "file_subjects": [SHARED, OTHERS[nr % len(OTHERS)]],
    }


def tre(*args: str, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "tre"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=REPO,
    )
    if proc.returncode != 0:
        sys.exit(f"tre {args[0]} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - started, proc


def task_seconds(home: Path) -> dict[str, float]:
    """Seconds per task of the newest run (ansible-runner's job events)."""
    runs = sorted((home / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    out: dict[str, float] = {}
    for path in sorted((runs[-1] / "artifacts" / "run" / "job_events").glob("*.json")):
        event = json.loads(path.read_text())
        data = event.get("event_data", {})
        if event.get("event") in ("runner_on_ok", "runner_on_failed"):
            out[data.get("task", "?")] = float(data.get("duration") or 0.0)
    return out


def acl_bytes(path: Path) -> int:
    try:
        return len(os.getxattr(path, "system.posix_acl_access"))
    except OSError:
        return 0


def clean(v: dict, projects: range) -> None:
    from tests.integration.helpers import ad_connection, delete_subtree

    conn = ad_connection(v)
    for nr in projects:
        delete_subtree(conn, f"OU=P{nr},{v['tre_ad_projects_ou']}")
    conn.unbind()
    roots = [Path(v["tre_projects_root"]), Path(v["tre_workspaces_root"])]
    victims = [p for r in roots for p in r.glob("[Pp]5*") if p.name[1:7].isdigit()]
    victims = [p for p in victims if int(p.name[1:7]) in projects]
    for chunk in range(0, len(victims), 200):
        subprocess.run(
            ["btrfs", "subvolume", "delete", *map(str, victims[chunk : chunk + 200])],
            capture_output=True,
            check=False,
        )
    if victims:  # their qgroups stay behind: 6,250 make every `qgroup show` slower
        subprocess.run(
            ["btrfs", "subvolume", "sync", str(roots[0])], capture_output=True, check=False
        )
        subprocess.run(
            ["btrfs", "qgroup", "clear-stale", str(roots[0])], capture_output=True, check=False
        )


def environment(work: Path) -> dict[str, str]:
    return {
        "TRE_STATE": f"sqlite:///{work}/state.db",
        "TRE_HOME": str(work / "home"),
        "TRE_INVENTORY": str(INVENTORY),
    }


def no_change_plans(work: Path, plans: int) -> None:
    """(b): ``plans`` no-change plans of the environment in ``work``, with each play's time."""
    env = environment(work)
    folder = work / "contracts"
    times, tasks = [], {}
    for _ in range(plans):
        took, proc = tre("plan", str(folder), "--today", "2026-12-01", "--json", env=env)
        assert json.loads(proc.stdout)["changes"] == [], "the second plan should be empty"
        times.append(took)
        tasks = task_seconds(work / "home")
        rest = took - sum(tasks.values())
        parts = ", ".join(f"{t[:22]}… {s:.1f}" for t, s in tasks.items())
        print(f"      plan {took:.1f} s: {parts}, rest {rest:.1f}", flush=True)
    print(f"(b) no-change plan of all: {', '.join(f'{t:.1f}' for t in times)} s (target < 15)")
    for task, seconds in tasks.items():
        print(f"      {seconds:7.1f} s  {task}")
    rest = min(times) - sum(tasks.values())
    print(f"      {rest:7.1f} s  tre itself (contracts, desired state) and Ansible's start/end")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--projects", type=int, default=1250)
    ap.add_argument("--people", type=int, default=4)
    ap.add_argument("--plans", type=int, default=2, help="no-change plans to time in (b)")
    ap.add_argument("--keep", action="store_true", help="leave the environment in place")
    ap.add_argument("--plan-only", type=Path, metavar="WORKDIR", help="only (b), on a kept run")
    ap.add_argument("--clean", action="store_true", help="only remove the environment")
    args = ap.parse_args()
    v = lab_vars()
    projects = range(FIRST, FIRST + args.projects)
    shared = Path(v["tre_catalog_root"]) / SHARED
    sys.path.insert(0, str(REPO))
    if args.plan_only:
        no_change_plans(args.plan_only, args.plans)
        return
    clean(v, projects)
    if args.clean:
        return
    work = Path(tempfile.mkdtemp(prefix="tre-bench-env-"))
    folder = work / "contracts"
    folder.mkdir()
    for nr in projects:
        (folder / f"{nr}.yaml").write_text(yaml.safe_dump(contract(nr, args.people)))
    env = environment(work)
    before = acl_bytes(shared)
    a_time, _ = tre("apply", str(folder), "--today", "2026-12-01", "--yes", "--json", env=env)
    a_tasks = task_seconds(work / "home")
    people = args.projects * args.people
    print(f"(a) apply from scratch: {args.projects} projects, {people} accounts: {a_time:.1f} s")
    for task, seconds in a_tasks.items():
        print(f"      {seconds:7.1f} s  {task}")
    no_change_plans(work, args.plans)
    after = acl_bytes(shared)
    print(f"(c) {SHARED} ACL xattr: {before} bytes before, {after} bytes after")
    if args.keep:
        print(f"kept: {work} (re-measure: --plan-only {work}; remove: --clean)")
    else:
        clean(v, projects)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
