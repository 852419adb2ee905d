"""Ansible's start in a tre run: the settings ``run_site`` gives ansible-runner.

An inventory directory holds hosts.yml, group_vars/ and the OSSC gateway's known_hosts
(docs/inventory.md). With the runner's settings Ansible reads the hosts and never tries
known_hosts as an inventory source (each inventory plugin in turn, three warnings per run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from provisioning.runner import STARTUP_ENV

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_INVENTORY = str(Path(sys.executable).parent / "ansible-inventory")


def _inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "inventory"
    shutil.copytree(REPO / "inventory" / "example", inv)
    (inv / "known_hosts").write_text("[127.0.10.3]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\n")
    return inv


def _graph(inv: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ANSIBLE_INVENTORY, "-i", str(inv), "--graph"],
        capture_output=True,
        text=True,
        env={**os.environ, "ANSIBLE_NOCOLOR": "True", **env},
        timeout=60,
    )


def test_known_hosts_is_not_an_inventory_source(tmp_path):
    inv = _inventory(tmp_path)
    plain = _graph(inv, {})
    assert "known_hosts" in plain.stderr  # what every run printed before
    tre = _graph(inv, STARTUP_ENV)
    assert tre.returncode == 0, tre.stderr
    assert "known_hosts" not in tre.stderr and "WARNING" not in tre.stderr
    for group in ("domain_controllers", "fileservers", "archive", "ossc_gateway"):
        assert f"@{group}:" in tre.stdout
