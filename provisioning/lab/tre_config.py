"""The config file that points tre at the lab (``/etc/tre/tre.toml`` or ``$TRE_CONFIG``).

`up` writes it so that every command works from any directory; it is the lab's only while it
carries :data:`HEADER`: a file an administrator wrote is left alone (`up` says what to add).
`down` removes the lab's file.
"""

from __future__ import annotations

import json
from pathlib import Path

from provisioning.config_file import config_path

from .config import LabConfig
from .proc import Report, write_if_changed

HEADER = (
    "# Written by `tre lab up` (rewritten by every `up`, removed by `down`); edit it and"
    " remove this line to keep it. Keys: docs/install.md\n"
)


def text(cfg: LabConfig) -> str:
    def toml(path: Path) -> str:
        return json.dumps(str(path))  # a JSON string is a TOML basic string

    return HEADER + f"inventory = {toml(cfg.inventory_dir)}\nlab_dir = {toml(cfg.lab_dir)}\n"


def is_lab_config(path: Path) -> bool:
    try:
        with open(path) as f:
            return f.readline() == HEADER
    except (OSError, UnicodeDecodeError):
        return False


def write(cfg: LabConfig, report: Report) -> None:
    path, _ = config_path()
    if path.exists() and not is_lab_config(path):
        report.say(
            f"left {path} as it is (not written by the lab): it needs"
            f" inventory = {json.dumps(str(cfg.inventory_dir))} for the lab"
        )
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    if write_if_changed(path, text(cfg), mode=0o644):
        report.did(f"wrote the config {path} (inventory {cfg.inventory_dir})")


def remove(report: Report) -> None:
    path, _ = config_path()
    if is_lab_config(path):
        path.unlink()
        report.did(f"removed the config {path}")
