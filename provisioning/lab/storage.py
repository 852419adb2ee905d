"""The file server's storage: btrfs on a loop-mounted image, quotas on, the four roots and the
data catalogue (one root-owned directory per file subject, with small sample files)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

from provisioning.errors import LabError

from .config import LabConfig
from .proc import Report, run

# Root mode: members reach their project / workspace / subject through ACLs on the directory
# below; the roots only need to be traversable (x), not listable, by others. The archive root
# is the archive host's (archive_host.py: <mount>/archive-host/archive, 0700).
ROOT_MODES = {"projects": 0o711, "home": 0o711, "catalog": 0o711}


def file_subjects() -> tuple[str, ...]:
    """The catalogue's subjects: those of the policy in force ($TRE_POLICY or the default)."""
    from provisioning.policy import load_policy

    return tuple(load_policy().file_subjects)


def mounted_source(mount: Path) -> str | None:
    """The device mounted at ``mount`` (None if nothing is)."""
    proc = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE", "--mountpoint", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    return (
        proc.stdout.strip().splitlines()[-1]
        if proc.returncode == 0 and proc.stdout.strip()
        else None
    )


def loops_of(image: Path) -> list[str]:
    """Loop devices backed by ``image`` (never hard-code loop numbers: they are machine-global)."""
    proc = subprocess.run(
        ["losetup", "-j", str(image)], capture_output=True, text=True, check=False
    )
    return [line.split(":", 1)[0] for line in proc.stdout.splitlines() if line.strip()]


def is_ours(cfg: LabConfig) -> bool:
    source = mounted_source(cfg.mount)
    return source is not None and source in loops_of(cfg.image)


def quota_enabled(mount: Path) -> bool:
    proc = subprocess.run(
        ["btrfs", "qgroup", "show", str(mount)], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0


def ensure(cfg: LabConfig, report: Report) -> None:
    if not cfg.image.exists():
        cfg.image.parent.mkdir(parents=True, exist_ok=True)
        run(["truncate", "-s", cfg.size, cfg.image], "creating the file system image")
        run(["mkfs.btrfs", "-q", "-f", cfg.image], "mkfs.btrfs")
        report.did(f"created a {cfg.size} btrfs image {cfg.image}")
    source = mounted_source(cfg.mount)
    if source is None:
        cfg.mount.mkdir(parents=True, exist_ok=True)
        run(["mount", "-o", "loop", cfg.image, cfg.mount], f"mounting {cfg.image}")
        report.did(f"mounted {cfg.image} at {cfg.mount}")
    elif source not in loops_of(cfg.image):
        raise LabError(f"{cfg.mount} is already in use ({source} is mounted there)")
    if not quota_enabled(cfg.mount):
        run(["btrfs", "quota", "enable", cfg.mount], "btrfs quota enable")
        report.did(f"enabled btrfs quotas on {cfg.mount}")
    for name, mode in ROOT_MODES.items():
        root = cfg.root(name)
        if not root.is_dir():
            root.mkdir()
            report.did(f"created {root}")
        if (root.stat().st_mode & 0o7777) != mode:
            os.chmod(root, mode)
    _catalog(cfg, report)


def _catalog(cfg: LabConfig, report: Report) -> None:
    created = []
    for subject in file_subjects():
        folder = cfg.root("catalog") / subject
        if folder.is_dir():
            continue
        folder.mkdir(mode=0o750)
        os.chown(folder, 0, 0)
        os.chmod(folder, 0o750)
        for name, text in _samples(subject).items():
            path = folder / name
            path.write_text(text)
            os.chown(path, 0, 0)
            os.chmod(path, 0o640)
        created.append(subject)
    if created:
        report.did(
            f"created {len(created)} catalogue subjects with sample files in {cfg.root('catalog')}"
        )


def _samples(subject: str) -> dict[str, str]:
    """Small synthetic files (no real data): a CSV per year and a description."""
    files = {}
    for year in (2022, 2023):
        rows = ["rinpersoons,rinpersoon,jaar,waarde"]
        rows += [f"R,{100000000 + i * 7919 % 99991:09d},{year},{(i * 37) % 1000}" for i in range(5)]
        files[f"{subject}{year}V1.csv"] = "\n".join(rows) + "\n"
    files["README.txt"] = f"{subject}: synthetic sample files for the tre lab (no real data).\n"
    return files


def teardown(cfg: LabConfig, report: Report) -> None:
    """Unmount, detach the image's loop devices and remove the mount point."""
    if is_ours(cfg):
        proc = run(["umount", cfg.mount], f"unmounting {cfg.mount}", check=False)
        if proc.returncode != 0:
            run(["umount", "-l", cfg.mount], f"unmounting {cfg.mount}")
        report.did(f"unmounted {cfg.mount}")
    for loop in loops_of(cfg.image):
        run(["losetup", "-d", loop], f"detaching {loop}", check=False)
        report.did(f"detached {loop}")
    if cfg.mount.is_dir() and mounted_source(cfg.mount) is None:
        with contextlib.suppress(OSError):  # not empty: something else's files; leave them
            cfg.mount.rmdir()
