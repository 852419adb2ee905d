"""The storage measurement (``provisioning.usage.measure``: playbooks/measure.yml, module
tre.secenv.tre_quota_report) reads the throwaway file server over its podman connection, with
the container's own Python and btrfs-progs, as it reads the lab's local one: real writes in
a project folder and a workspace are measured, every limit is the desired state's."""

import dataclasses
import os
from pathlib import Path

import pytest
import tre_verify as tv

from provisioning.inventory import load_inventory
from provisioning.usage import measure

REPO = Path(__file__).resolve().parents[3]
DESIRED = tv.desired()
PROJECTS = DESIRED["projects"]
MIB = 1024**2
TOLERANCE = 256 * 1024  # metadata blocks of the files


@pytest.fixture(scope="module")
def inventory():
    """The lab's settings (as every scenario links them), read at Molecule's inventory."""
    lab = load_inventory(REPO / "inventory" / "lab")
    return dataclasses.replace(lab, path=Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent)


def _units(report) -> dict:
    return {(u.project, u.kind, u.owner): u for u in report.items}


def test_measure_reads_the_container_file_server(inventory, fs, fs_name, fs_vars):
    numbers = [p["project"] for p in PROJECTS]
    first = PROJECTS[0]
    folder = f"{fs_vars['tre_projects_root']}/P{first['project']}/export/measure.bin"
    sam = first["accounts"][0]["sam"]
    workspace = f"{fs_vars['tre_workspaces_root']}/{sam}/measure.bin"
    before = _units(measure(inventory, numbers))
    try:
        fs.check_output("head -c %s /dev/urandom > %s && sync", str(3 * MIB), folder)
        fs.check_output("head -c %s /dev/urandom > %s && sync", str(MIB), workspace)
        report = measure(inventory, numbers)
    finally:
        fs.run("rm -f %s %s", folder, workspace)
    assert report.warnings == []
    units = _units(report)
    want = {(p["project"], "project", None) for p in PROJECTS} | {
        (p["project"], "workspace", a["sam"]) for p in PROJECTS for a in p["accounts"]
    }
    assert set(units) == want == set(before)
    assert {u.server for u in report.items} == {fs_name}
    for p in PROJECTS:
        assert units[(p["project"], "project", None)].limit_bytes == p["storage"]["quota_bytes"]
        for a in p["accounts"]:
            unit = units[(p["project"], "workspace", a["sam"])]
            assert unit.limit_bytes == p["storage"]["workspace_quota_bytes"]
    key = (first["project"], "project", None)
    grown = units[key].used_bytes - before[key].used_bytes
    assert 3 * MIB <= grown <= 3 * MIB + TOLERANCE, grown
    key = (first["project"], "workspace", sam)
    grown = units[key].used_bytes - before[key].used_bytes
    assert MIB <= grown <= MIB + TOLERANCE, grown
