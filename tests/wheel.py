"""Build tre's wheel from a copy of the checkout (the source tree gets no build/ directory)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: What the wheel is built from (pyproject.toml's package-dir and readme).
SOURCES = ("pyproject.toml", "README.md", "provisioning", "cli", "playbooks")


def copy_sources(dest: Path) -> Path:
    dest.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=skip, symlinks=True)
        else:
            shutil.copy2(src, dest / name)
    return dest


def build_wheel(src: Path, out: Path) -> Path:
    """``pip wheel`` of ``src`` (isolated build, as any installer does it); the wheel's path."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (wheel,) = out.glob("tre-*.whl")
    return wheel


def tracked(prefix: str) -> set[str]:
    """The files git tracks under ``prefix`` (what the wheel must carry of it)."""
    out = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--", prefix],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(out.split())
