"""A `tre apply` killed half-way (admin machine gone) is repaired by the next apply."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import TODAY
from tests.integration.helpers import (
    EXAMPLES,
    REPO,
    ad_connection,
    ad_objects,
    delete_subtree,
    lab_vars,
    remove_project_storage,
    tre,
    tre_json,
    write_contract,
)

pytestmark = pytest.mark.lab

PROJECT = "9050"


def kill_everything(proc: subprocess.Popen, home: Path) -> None:
    """SIGKILL tre, ansible-playbook (own session, under pexpect) and the running module."""
    os.killpg(proc.pid, signal.SIGKILL)
    subprocess.run(["pkill", "-KILL", "-f", str(home)], check=False)
    subprocess.run(["pkill", "-KILL", "-f", "AnsiballZ_tre_"], check=False)
    proc.wait(timeout=30)


def test_killed_apply_is_repaired_by_the_next(lab_inventory, tmp_path):
    v = lab_vars()
    conn = ad_connection(v)
    delete_subtree(conn, f"OU=P{PROJECT},{v['tre_ad_projects_ou']}")
    remove_project_storage(v, PROJECT)
    passwords = Path(v["tre_initial_password_dir"]) / PROJECT
    shutil.rmtree(passwords, ignore_errors=True)
    contract = yaml.safe_load((EXAMPLES / "9003-consortium.yaml").read_text())
    contract["project"] = int(PROJECT)
    contract.pop("ossc", None)
    path = write_contract(tmp_path / f"{PROJECT}.yaml", contract)
    home = tmp_path / "home"
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(home)}

    first = subprocess.Popen(
        [str(Path(sys.executable).parent / "tre"), "apply", str(path), "--today", TODAY, "--yes"],
        cwd=REPO,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if passwords.is_dir() and len(list(passwords.glob("*.txt"))) >= 5:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the first apply never started creating accounts")
    kill_everything(first, home)
    half = ad_objects(conn, f"OU=P{PROJECT},{v['tre_ad_projects_ou']}")
    accounts = [a for a in contract["researchers"]]
    assert 0 < sum(1 for k in half if k.startswith(f"p{PROJECT}.")) < len(accounts)

    second = tre("apply", str(path), "--today", TODAY, "--yes", env=env)
    assert "was interrupted" in second.stderr
    full = ad_objects(conn, f"OU=P{PROJECT},{v['tre_ad_projects_ou']}")
    assert sum(1 for k in full if k.startswith(f"p{PROJECT}.")) == len(accounts)
    assert (Path(v["tre_projects_root"]) / f"P{PROJECT}" / "OtherData").is_dir()

    third = tre_json("apply", str(path), "--today", TODAY, "--yes", env=env)
    assert third["changes"] == []
    db = sqlite3.connect(tmp_path / "state.db")
    statuses = [r[0] for r in db.execute("SELECT status FROM runs ORDER BY started")]
    assert statuses[0] == "interrupted" and "successful" in statuses
    # The ledger holds every account creation exactly once: those of the killed run
    # recovered from its journal, the rest from the repairing run.
    created = db.execute(
        "SELECT name, detail FROM ledger WHERE project = ? AND op = 'create' AND kind = 'account'",
        (PROJECT,),
    ).fetchall()
    names = [name for name, _ in created]
    assert sorted(names) == sorted(set(names)) and len(names) == len(accounts)
    assert any('"recovered": true' in detail for _, detail in created)

    delete_subtree(conn, f"OU=P{PROJECT},{v['tre_ad_projects_ou']}")
    remove_project_storage(v, PROJECT)
    shutil.rmtree(passwords, ignore_errors=True)
