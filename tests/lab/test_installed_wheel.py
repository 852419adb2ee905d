"""The wheel, installed into a fresh venv, plans against the lab from `/` as cron would run it:
``env -i PATH=/usr/bin:/bin /venv/bin/tre plan ...`` (marker ``lab``, root).

No venv on PATH, no checkout as the current directory, no TRE_INVENTORY and no
TRE_PLAYBOOKS: the inventory comes from the config file `tre lab up` wrote, the playbooks and
the collection from the installed package, ansible-playbook from the venv's bin. Plan only
(check mode) of the examples, with its own state and run records in a tmp directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from provisioning.config_file import config_path
from provisioning.lab.tre_config import is_lab_config
from tests.lab_fixtures import LAB_INVENTORY
from tests.wheel import REPO, build_wheel, copy_sources

pytestmark = pytest.mark.lab

TODAY = "2026-12-01"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with only the wheel (and its dependencies) in it; its bin directory."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(copy_sources(tmp / "src"), tmp / "dist")
    python3 = shutil.which("python3", path="/usr/bin:/bin")
    assert python3, "no /usr/bin/python3"
    venv = tmp / "venv"
    subprocess.run([python3, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return venv / "bin"


def bare(tre: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``env -i PATH=/usr/bin:/bin [VAR=...] /venv/bin/tre ARGS`` from ``/``."""
    named = os.environ.get("TRE_CONFIG")  # only if this session uses another config file
    pairs = [f"{k}={v}" for k, v in {**({"TRE_CONFIG": named} if named else {}), **env}.items()]
    return subprocess.run(
        ["env", "-i", "PATH=/usr/bin:/bin", *pairs, str(tre), *args],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_lab_up_wrote_the_config_that_points_at_its_inventory(lab_inventory) -> None:
    path, _ = config_path()
    assert is_lab_config(path), f"{path} is not the lab's"
    assert tomllib.loads(path.read_text())["inventory"] == str(LAB_INVENTORY)


def test_the_installed_wheel_plans_from_slash_with_a_bare_environment(
    lab_inventory, installed: Path, tmp_path: Path
) -> None:
    tre = installed / "tre"
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert bare(tre, "--version").stdout == f"tre, version {version}\n"

    shown = json.loads(bare(tre, "config", "show", "--json").stdout)["settings"]
    assert shown["inventory"] == {
        "value": str(LAB_INVENTORY),
        "source": "config",
        "env": "TRE_INVENTORY",
    }

    home = tmp_path / "home"
    proc = bare(
        tre,
        *("plan", str(REPO / "examples" / "contracts"), "--today", TODAY, "--json"),
        TRE_STATE=f"sqlite:///{tmp_path}/state.db",
        TRE_HOME=str(home),
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["check"] is True and Path(result["artifacts"]).is_relative_to(home)
    command = json.loads((Path(result["artifacts"]) / "artifacts/run/command").read_text())
    site_packages = installed.parent / "lib"
    assert Path(command["command"][0]).parent == installed  # the venv's python runs the guard
    assert Path(command["cwd"]).is_relative_to(site_packages)  # the wheel's playbooks
    assert command["cwd"].endswith("provisioning/playbooks")
    collections = command["env"]["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)
    assert Path(collections[0]).is_relative_to(site_packages)
    stdout = (Path(result["artifacts"]) / "artifacts/run/stdout").read_text()
    assert "PLAY RECAP" in stdout and "failed=0" in stdout


def test_lab_status_answers_from_slash(lab_inventory, installed: Path) -> None:
    proc = bare(installed / "tre", "lab", "status", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    parts = {p["part"]: p["ok"] for p in json.loads(proc.stdout)}
    assert parts and all(parts.values()), parts
