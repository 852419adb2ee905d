"""Run the Molecule scenarios (`molecule test -s NAME`) and assert that they pass.

Needs root. Brings the lab up like the lab tests do (``lab_inventory``: the scenarios use its
Samba DC) and runs scripts/molecule-dependency.sh (the scenarios' dependency step: collections,
podman/runc/debootstrap, base image) once before them. Marker: molecule. See docs/molecule.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))

pytestmark = pytest.mark.molecule


def molecule_env() -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")  # molecule calls ansible-config
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    env["PY_COLORS"] = "0"
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture(scope="session")
def prerequisites(lab_inventory):
    if os.geteuid() != 0:
        pytest.fail("Molecule scenarios need root (podman --privileged, loop mounts)")
    env = molecule_env()
    subprocess.run([str(REPO / "scripts/molecule-dependency.sh")], check=True, cwd=REPO, env=env)


def test_scenarios_found():
    assert {"default", "lifecycle", "vm"} <= set(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, prerequisites):
    started = time.monotonic()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "molecule"), "test", "-s", scenario],
        cwd=REPO,
        env=molecule_env(),
        capture_output=True,
        text=True,
    )
    took = time.monotonic() - started
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"molecule test -s {scenario} failed:\n{output[-8000:]}"
    print(f"molecule test -s {scenario}: {took:.0f} s")
