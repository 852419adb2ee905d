"""A storage step failing on one path fails only itself (issue 10, point 1: tre_storage runs
its steps through tre_executor with the ISOLATE policy): `tre apply` applies and records every
other project's changes, prints one line naming the failed path and exits non-zero.

Projects 7700 and 7701 (copies of example 9001), cleaned at the start and at the end.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from provisioning.state import StateStore
from tests.integration.conftest import TODAY
from tests.integration.helpers import (
    clean_project,
    example_contract,
    lab_vars,
    tre,
    write_contract,
)

pytestmark = pytest.mark.lab

FAILING, OTHER = "7700", "7701"
FOREIGN = 600199  # a gid no project of the run has: drift that the next apply repairs


def _clean(v: dict) -> None:
    export = Path(v["tre_projects_root"]) / f"P{FAILING}" / "export"
    if export.is_dir():
        subprocess.run(["chattr", "-i", str(export)], check=False)
    for nr in (FAILING, OTHER):
        clean_project(v, nr)


def _contracts(folder: Path, extra: bool) -> str:
    folder.mkdir()
    for nr in (FAILING, OTHER):
        contract = example_contract("9001-small.yaml", nr)
        if extra:
            contract.setdefault("storage", {})["extra"] = [{"size": "50GB", "from": TODAY}]
        write_contract(folder / f"{nr}.yaml", contract)
    return str(folder)


def _getfacl(path: Path) -> str:
    return subprocess.run(
        ["getfacl", "-n", "-p", str(path)], capture_output=True, text=True, check=True
    ).stdout


def test_one_failing_path_leaves_the_other_projects_applied_and_recorded(lab_inventory, tmp_path):
    v = lab_vars()
    _clean(v)
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    exports = {nr: Path(v["tre_projects_root"]) / f"P{nr}" / "export" for nr in (FAILING, OTHER)}
    try:
        tre("apply", _contracts(tmp_path / "v1", extra=False), "--today", TODAY, "--yes", env=env)
        store = StateStore(env["TRE_STATE"])
        first = {nr: len(store.ledger(nr)) for nr in (FAILING, OTHER)}
        for export in exports.values():  # drift on both projects' export folders
            subprocess.run(["setfacl", "-m", f"g:{FOREIGN}:rwx", str(export)], check=True)
        # 7700's repair is the first ACL step of the run; 7701's comes after it
        subprocess.run(["chattr", "+i", str(exports[FAILING])], check=True)

        applied = tre(
            "apply", _contracts(tmp_path / "v2", extra=True), "--today", TODAY, "--yes",
            env=env, check=False,
        )  # fmt: skip

        assert applied.returncode != 0, applied.stdout
        output = applied.stdout + applied.stderr
        assert "Traceback" not in output
        named = [ln for ln in output.splitlines() if str(exports[FAILING]) in ln]
        assert len(named) == 1, output
        assert "Operation not permitted" in named[0]
        # the other project's ACL repair (after the failed step) was applied ...
        assert f"group:{FOREIGN}:" not in _getfacl(exports[OTHER])
        assert f"group:{FOREIGN}:rwx" in _getfacl(exports[FAILING])
        # ... and recorded, as were both quota raises; the failed repair was not
        other = [(e.op, e.kind, e.name) for e in store.ledger(OTHER)[first[OTHER] :]]
        assert ("set", "acl", f"P{OTHER}/export") in other
        assert ("raise", "quota", f"P{OTHER}") in other
        failing = [(e.op, e.kind, e.name) for e in store.ledger(FAILING)[first[FAILING] :]]
        assert ("raise", "quota", f"P{FAILING}") in failing
        assert ("set", "acl", f"P{FAILING}/export") not in failing

        subprocess.run(["chattr", "-i", str(exports[FAILING])], check=True)
        again = tre("apply", str(tmp_path / "v2"), "--today", TODAY, "--yes", env=env, check=False)
        assert again.returncode == 0, again.stderr
        assert f"group:{FOREIGN}:" not in _getfacl(exports[FAILING])
        repaired = [(e.op, e.kind, e.name) for e in store.ledger(FAILING)[first[FAILING] :]]
        assert ("set", "acl", f"P{FAILING}/export") in repaired
    finally:
        _clean(v)
