"""Benchmark: archive + verify of a 2 GB project folder (tre_archive's own code) next to
``tar -cf`` and ``sha256sum`` of the same files, in the same run. Not a timed test: run it by
hand as root (it makes and mounts its own btrfs image, so the shared lab's 4 GB file system
is never filled):

    . .venv/bin/activate && python bench/bench_archive.py [--gb 2] [--rounds 3]

Per round, each side starts with the source's pages dropped (``POSIX_FADV_DONTNEED`` on every
file): tre copies and hashes in one pass, ``syncfs``, writes the manifests, renames the bag,
then reads it back from disk (its pages dropped too) against the manifest; the reference is
``tar -cf`` of ``archive/`` and ``OtherData/`` plus ``sync -f`` (an archive only in the page
cache is not an archive; the time without the sync is printed too), then ``sha256sum`` of the
same files. Ratio = (tar + sync + sha256sum) / (tre archive + verify); target >= 0.8.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "playbooks" / "collections"))
from ansible_collections.tre.secenv.plugins.module_utils import tre_archive_bag as bag  # noqa: E402
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_walk import (  # noqa: E402
    open_project,
)

MB = 1 << 20


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def make_project(top: Path, total: int) -> list[Path]:
    """Two prepared zips (40 %) in archive/, 200 files in OtherData/ (60 %), random bytes."""
    for sub in ("archive", "OtherData", "export"):
        (top / sub).mkdir(parents=True)
    files = [top / "archive" / "resultaten-1.zip", top / "archive" / "resultaten-2.zip"]
    sizes = [total // 5, total // 5]
    files += [top / "OtherData" / f"tabel-{i:03d}.csv" for i in range(200)]
    sizes += [(total - sum(sizes)) // 200] * 200
    for path, size in zip(files, sizes, strict=True):
        with open(path, "wb") as out:
            for left in range(size, 0, -8 * MB):
                out.write(os.urandom(min(8 * MB, left)))
    run("sync")
    return files


def evict(paths: list[Path]) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def tre_round(projects: Path, archive: Path, files: list[Path]) -> tuple[float, float]:
    evict(files)
    began = time.perf_counter()
    fd = open_project(str(projects), "7849")
    try:
        bag.write_bag(fd, str(archive), "7849", {"Project": "7849"})
    finally:
        os.close(fd)
    copied = time.perf_counter()
    result = bag.verify(str(archive), "7849")
    verified = time.perf_counter()
    assert result.files == len(files)
    shutil.rmtree(archive / "P7849")
    return copied - began, verified - copied


def reference_round(top: Path, archive: Path, files: list[Path]) -> tuple[float, float, float]:
    evict(files)
    began = time.perf_counter()
    run("tar", "-cf", str(archive / "P7849.tar"), "-C", str(top), "archive", "OtherData")
    tarred = time.perf_counter()
    run("sync", "-f", str(archive / "P7849.tar"))
    synced = time.perf_counter()
    evict(files)
    hashed_from = time.perf_counter()
    subprocess.run(["sha256sum", *map(str, files)], check=True, stdout=subprocess.DEVNULL)
    hashed = time.perf_counter()
    os.unlink(archive / "P7849.tar")
    return tarred - began, synced - tarred, hashed - hashed_from


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0, help="project folder size (10^9 bytes)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", default="/var/tmp", help="where the btrfs image goes")
    args = parser.parse_args()
    total = int(args.gb * 10**9)
    work = Path(tempfile.mkdtemp(prefix="tre-bench-archive-", dir=args.workdir))
    image, mount = work / "btrfs.img", work / "mnt"
    mount.mkdir()
    with open(image, "wb") as handle:
        handle.truncate(int(total * 2.6) + 512 * MB)
    run("mkfs.btrfs", "-q", str(image))
    run("mount", "-o", "loop", str(image), str(mount))
    try:
        projects, archive = mount / "projects", mount / "archive"
        archive.mkdir(mode=0o700)
        files = make_project(projects / "P7849", total)
        size = sum(p.stat().st_size for p in files)
        print(f"project folder: {len(files)} files, {size / 1e9:.2f} GB (btrfs on {image})")
        for n in range(1, args.rounds + 1):
            copy, check = tre_round(projects, archive, files)
            tar, sync, sha = reference_round(projects / "P7849", archive, files)
            ours, theirs = copy + check, tar + sync + sha
            print(
                f"round {n}: tre archive {copy:.1f} s + verify {check:.1f} s ="
                f" {size / ours / 1e6:.0f} MB/s | tar {tar:.1f} s + sync {sync:.1f} s +"
                f" sha256sum {sha:.1f} s = {size / theirs / 1e6:.0f} MB/s"
                f" (without sync {size / (tar + sha) / 1e6:.0f} MB/s) | ratio {theirs / ours:.2f}"
                f" (without sync {(tar + sha) / ours:.2f})"
            )
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
