"""The README's commands work on a fresh machine in the order shown.

``molecule test -s NAME`` starts with ``destroy``, which calls podman: every scenario's first
step must be the dependency step that installs podman (and the base image, the collections).
The package builds without setuptools deprecation warnings (``project.license`` as SPDX).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / "molecule").glob("*/molecule.yml"))
DEPENDENCY = REPO / "scripts" / "molecule-dependency.sh"


def test_there_are_scenarios():
    assert {p.parent.name for p in SCENARIOS} >= {"default", "lifecycle"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.parent.name)
def test_every_sequence_prepares_the_machine_before_podman_is_called(path):
    config = yaml.safe_load(path.read_text())
    dependency = config["dependency"]
    assert dependency["name"] == "shell" and dependency.get("enabled", True)
    script, *args = dependency["command"].split()
    assert script == "${MOLECULE_PROJECT_DIRECTORY}/scripts/molecule-dependency.sh"
    assert args in ([], ["vm"])  # vm: QEMU and the VM image instead of podman
    sequence = config["scenario"]["test_sequence"]
    assert sequence[0] == "dependency", sequence
    for name in ("converge", "destroy", "create"):  # Molecule's defaults start with dependency
        assert f"{name}_sequence" not in config["scenario"], name


def test_the_dependency_script_installs_podman_and_fetches_the_collections():
    assert DEPENDENCY.stat().st_mode & 0o111, "not executable"
    text = DEPENDENCY.read_text()
    assert "set -euo pipefail" in text
    assert "/fetch-collections.sh" in text and "/build-host-image.sh" in text
    build = (REPO / "scripts" / "build-host-image.sh").read_text()
    installs = build.index("apt-get install")
    assert "podman:podman" in build and installs < build.index("podman image exists")


def test_readme_shows_the_steps_in_an_order_that_works():
    readme = (REPO / "README.md").read_text()
    block = readme[readme.index("One part at a time") :]
    block = block[: block.index("```", block.index("```bash") + 7)]
    order = [
        "make install",
        ". .venv/bin/activate",
        "pytest ",
        "tre lab up",
        "pytest -m lab",
        "molecule test -s default",
    ]
    positions = [block.index(step) for step in order]
    assert positions == sorted(positions), order


def test_license_is_an_spdx_string_for_a_setuptools_that_reads_it():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert data["project"]["license"] == "MIT"
    (requirement,) = [r for r in data["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", requirement)
    assert minimum and int(minimum.group(1)) >= 77, requirement  # PEP 639 support
