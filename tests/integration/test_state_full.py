"""A full file system under the state store (issue 9, item 11): one line, never a traceback;
the run is not lost, and the next apply repairs once there is space again."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning.errors import StateError
from provisioning.state import StateStore
from tests.integration.conftest import TODAY
from tests.integration.helpers import (
    REPO,
    ad_connection,
    ad_objects,
    clean_project,
    example_contract,
    lab_vars,
    tre,
    write_contract,
)

pytestmark = pytest.mark.lab

PROJECT = "7660"


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs for the state store, unmounted after the test."""
    mount = tmp_path / "store"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)], check=True
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def fill(mount: Path) -> Path:
    """Take every free byte of the file system; delete the returned file to free them."""
    filler = mount / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    os.close(fd)
    return filler


def one_line_error(result: subprocess.CompletedProcess, store: Path) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if not ln.startswith("Warning: ")]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert str(store) in lines[0] and "full" in lines[0], lines[0]
    return lines[0]


def test_a_full_store_refuses_a_write_with_one_line(small_fs):
    store = StateStore(f"sqlite:///{small_fs}/state.db")
    store.start_run("r1", "root", "apply", TODAY, [PROJECT])
    fill(small_fs)
    with pytest.raises(StateError, match=r"state\.db: database or disk is full$"):
        store.start_run("r2", "root", "apply", TODAY, [PROJECT])
    assert [r["run_id"] for r in store.interrupted_runs()] == ["r1"]  # still readable
    store.close()


def test_apply_on_a_full_store_fails_in_one_line_and_the_next_apply_repairs(
    lab_inventory, small_fs, tmp_path
):
    v = lab_vars()
    conn = ad_connection(v)
    ou = f"OU=P{PROJECT},{v['tre_ad_projects_ou']}"
    clean_project(v, PROJECT)
    contract = example_contract("9003-consortium.yaml", PROJECT)
    contract.pop("ossc")
    path = write_contract(tmp_path / f"{PROJECT}.yaml", contract)
    db = small_fs / "state.db"
    home = tmp_path / "home"
    env = {"TRE_STATE": f"sqlite:///{db}", "TRE_HOME": str(home)}

    # The disk fills while the apply runs (after its run was recorded as started).
    first = subprocess.Popen(
        [str(Path(sys.executable).parent / "tre"), "apply", str(path), "--today", TODAY, "--yes"],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not (home / "runs").is_dir() or len(list((home / "runs").iterdir())) < 2:
        assert time.monotonic() < deadline and first.poll() is None, "the apply never started"
        time.sleep(0.05)
    filler = fill(small_fs)
    out, err = first.communicate(timeout=600)
    line = one_line_error(subprocess.CompletedProcess(first.args, first.returncode, out, err), db)
    assert "the next apply records run" in line
    made = [k for k in ad_objects(conn, ou) if k.startswith(f"p{PROJECT}.")]
    assert made  # AD was changed; the store could not record it
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as ro:
        status = ro.execute("SELECT status FROM runs").fetchall()
    assert status in ([("running",)], [("unrecorded",)])

    # A plan while the disk is still full reads the store only: it works.
    tre("plan", str(path), "--today", TODAY, env=env)

    filler.unlink()
    second = tre("apply", str(path), "--today", TODAY, "--yes", "--json", env=env)
    assert "was interrupted" in second.stderr
    ro = sqlite3.connect(db)
    statuses = dict(ro.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())
    assert "running" not in statuses and "unrecorded" not in statuses
    assert statuses.get("interrupted") == 1
    created = [
        name
        for (name,) in ro.execute(
            "SELECT name FROM ledger WHERE project = ? AND op = 'create' AND kind = 'account'",
            (PROJECT,),
        )
    ]
    accounts = [k for k in ad_objects(conn, ou) if k.startswith(f"p{PROJECT}.")]
    assert sorted(created) == sorted(accounts)  # AD and the ledger agree
    assert ro.execute("SELECT COUNT(*) FROM revisions WHERE project = ?", (PROJECT,)).fetchone()[0]
    ro.close()

    clean_project(v, PROJECT)


def test_plan_with_a_full_home_fails_in_one_line(lab_inventory, small_fs, tmp_path):
    """The run records (``--home``) on the full file system: one line as well."""
    path = write_contract(tmp_path / "7669.yaml", example_contract("9001-small.yaml", "7669"))
    StateStore(f"sqlite:///{tmp_path}/state.db").close()
    fill(small_fs)
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(small_fs / "home")}
    result = tre("plan", str(path), "--today", TODAY, env=env, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: {small_fs}/home") and "No space left" in line
