"""The wheel carries the playbooks and the tre.secenv collection (and nothing fetched)."""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

from tests.wheel import REPO, build_wheel, copy_sources, tracked


def test_the_wheel_ships_site_yml_and_the_collection(tmp_path: Path) -> None:
    src = copy_sources(tmp_path / "src")
    # a collection fetched into the checkout (gitignored, scripts/fetch-collections.sh) stays out
    fetched = src / "playbooks/collections/ansible_collections/community/general/plugins"
    fetched.mkdir(parents=True)
    (fetched / "x.py").write_text("")
    wheel = build_wheel(src, tmp_path / "dist")
    names = set(zipfile.ZipFile(wheel).namelist())

    shipped = {
        n.removeprefix("provisioning/") for n in names if n.startswith("provisioning/playbooks/")
    }
    assert shipped == tracked("playbooks"), "the wheel's playbooks differ from git's"
    assert "playbooks/site.yml" in shipped
    assert not any("community" in n or "__pycache__" in n for n in names)
    assert {"provisioning/cli/__init__.py", "provisioning/data/cbs-2026.yaml"} <= names
    data = {f for f in tracked("provisioning/jobs") if not f.endswith(".py")}
    assert len(data) == 18 and data <= names, (
        "the jobs' mail templates and systemd units must ship in the wheel (docs/jobs.md)"
    )

    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    meta = zipfile.ZipFile(wheel).read(f"tre-{version}.dist-info/entry_points.txt").decode()
    assert "tre = provisioning.cli:main" in meta
    assert wheel.name == f"tre-{version}-py3-none-any.whl"
