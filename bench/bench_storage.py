"""Benchmark: no-change storage reconcile of 500 projects through ONE tre_storage task, next to
the naive way (one ansible.posix.acl / setfacl task per path and entry) on a sample,
extrapolated. Not a timed test: run it by hand on the lab (root):

    . .venv/bin/activate && python bench/bench_storage.py            # lab btrfs (/srv/tre)
    python bench/bench_storage.py --mount /mnt/somebtrfs --projects 100

It works in its own directory ``<mount>/tre-bench-<pid>`` (projects/home/catalog with 10
catalogue subjects), uses projects 6000.., gids 600000.., uids 610000.., sets limits but
writes no data, and deletes its subvolumes, stale qgroups and files afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "modules"))
from tre_storage_runner import COLLECTIONS, run_playbook  # noqa: E402

SUBJECTS = [f"BENCHSUBJ{i:02d}" for i in range(10)]
FILES_PER_SUBJECT = 3


def lab_mount() -> Path:
    sys.path.insert(0, str(REPO))
    from provisioning.inventory import load_inventory

    return load_inventory(REPO / "inventory" / "lab").projects_root.parent


def build(count: int, per_project: int) -> tuple[dict, dict]:
    projects, accounts, groups = [], {}, {}
    for i in range(count):
        number = str(6000 + i)
        members, observers = f"p{number}-members", f"p{number}-observers"
        groups[members], groups[observers] = 600000 + 2 * i, 600001 + 2 * i
        sam = f"p{number}.bench"
        accounts[sam] = {"uid": 610000 + i, "gid": groups[members]}
        subjects = [SUBJECTS[(i + k) % len(SUBJECTS)] for k in range(per_project)]
        projects.append(
            {
                "project": number,
                "groups": {"members": {"name": members}, "observers": {"name": observers}},
                "accounts": [{"sam": sam, "group": "members"}],
                "storage": {
                    "quota_bytes": 100 * 2**30,
                    "workspace_quota_bytes": 2**30,
                    "file_subjects": sorted(subjects),
                },
            }
        )
    return {"projects": projects}, {"accounts": accounts, "groups": groups}


def naive_items(desired: dict, ids: dict, catalog: Path, roots: dict) -> list[dict]:
    """Every (path, entry) a naive playbook would hold as one task / loop item."""
    items = []
    for project in desired["projects"]:
        gids = [ids["groups"][project["groups"][k]["name"]] for k in ("members", "observers")]
        base = f"{roots['tre_projects_root']}/P{project['project']}"
        for path in (base, *(f"{base}/{f}" for f in ("export", "import", "OtherData"))):
            for gid, perms in zip(gids, ("rwx", "r-x"), strict=True):
                items += [
                    {"path": path, "gid": gid, "perms": perms, "default": d} for d in (False, True)
                ]
        for subject in project["storage"]["file_subjects"]:
            for path in sorted((catalog / subject).rglob("*")) + [catalog / subject]:
                for gid in gids:
                    items.append({"path": str(path), "gid": gid, "perms": "r-X", "default": False})
                    if path.is_dir():
                        items.append(
                            {"path": str(path), "gid": gid, "perms": "r-X", "default": True}
                        )
    return items


def prepare(work: Path) -> tuple[dict, Path]:
    roots = {}
    for name, key in (
        ("projects", "tre_projects_root"),
        ("home", "tre_workspaces_root"),
        ("catalog", "tre_catalog_root"),
    ):
        (work / name).mkdir(parents=True)
        roots[key] = str(work / name)
    for subject in SUBJECTS:
        folder = work / "catalog" / subject
        folder.mkdir(mode=0o750)
        for n in range(FILES_PER_SUBJECT):
            (folder / f"{subject}{2020 + n}V1.csv").write_text("a,b\n1,2\n")
    return roots, work / "catalog"


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


def reconcile(desired: dict, ids: dict, roots: dict) -> tuple[float, dict]:
    status, result, seconds = run_playbook(
        "storage_reconcile.yml", {"tre_desired": desired, "tre_ids": ids, **roots}
    )
    if status != "successful":
        raise SystemExit(f"tre_storage failed: {result.get('msg')}")
    return seconds, result


def naive(items: list[dict]) -> float:
    module = "acl" if (COLLECTIONS / "ansible_collections/ansible/posix").is_dir() else "command"
    status, result, seconds = run_playbook(
        f"storage_naive_{'acl' if module == 'acl' else 'setfacl'}.yml", {"tre_naive_items": items}
    )
    if status != "successful":
        raise SystemExit(f"naive run failed: {result.get('msg')}")
    return seconds, module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mount", type=Path, help="btrfs with quota (default: the lab's)")
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--subjects-per-project", type=int, default=3)
    parser.add_argument("--sample", type=int, default=20)
    args = parser.parse_args()
    work = (args.mount or lab_mount()) / f"tre-bench-{os.getpid()}"
    desired, ids = build(args.projects, args.subjects_per_project)
    try:
        roots, catalog = prepare(work)
        seconds, result = reconcile(desired, ids, roots)
        print(
            f"setup: first apply of {args.projects} projects: {len(result['changes'])} "
            f"changes, {result['stats']['operations']} operations in {seconds:.1f} s"
        )
        seconds, result = reconcile(desired, ids, roots)
        assert not result["changed"], result["changes"][:3]
        stats = result["stats"]
        print(
            f"batch: no-change reconcile, one tre_storage task: {seconds:.2f} s "
            f"({stats['paths_read']} paths read, {stats['subvolumes_known']} subvolumes)"
        )
        items = naive_items(desired, ids, catalog, roots)
        one, module = naive(items[:1])
        sample, _ = naive(items[: args.sample])
        per_item = (sample - one) / (args.sample - 1)
        extrapolated = one + per_item * (len(items) - 1)
        print(
            f"naive ({module}, one loop item per path and entry): {args.sample} items "
            f"{sample:.2f} s, 1 item {one:.2f} s -> {per_item:.3f} s/item; "
            f"{len(items)} items (ACLs only, no quota tasks) ~ {extrapolated:.0f} s"
        )
        print(
            f"ratio naive/batch: {extrapolated / seconds:.0f}x (target >= 20); "
            f"batch {'meets' if seconds < 20 else 'MISSES'} the 20 s budget"
        )
    finally:
        cleanup(work)


if __name__ == "__main__":
    main()
