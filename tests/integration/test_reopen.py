"""Reopen from the archive, against the lab (issue 12, projects 8300-8309).

One flow shared by the tests (module fixture, economical): 8300, 8303 and 8305 run, end and
are archived in the same applies (8305 with a zip-slip zip in its archive/). Then:

- 8301 ``reopens: 8300``: `tre plan` lists the restore; the first apply is killed (-9) in the
  middle of the restore (files written, not renamed into place); the next apply finishes it;
  the files are back byte for byte, the zip unpacked, readable by the project's groups only;
  the ledger has one restore; a third apply changes nothing; links both ways;
- 8304 ``reopens: 8303``: killed after the rename, before the journal's done: recorded once;
- 8306 ``reopens: 8305``: refused with one line naming the project, the zip and the reason;
  the plan refuses it, so the apply writes nothing at all;
- refused before any run: a never-archived project, a running one, a second reopen of 8300
  while 8301 runs, a purged archive.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.archive_helpers import ACTIVE, ENDED, folder, put_files
from tests.integration.helpers import (
    REPO,
    clean_project,
    example_contract,
    lab_vars,
    tre,
    tre_json,
    write_contract,
)
from tests.modules import zip_makers as zm

pytestmark = pytest.mark.lab

OLD, NEW, EVIL_OLD, EVIL_NEW, OTHER = "8300", "8301", "8305", "8306", "8302"
LATE_OLD, LATE_NEW = "8303", "8304"  # killed after the rename, before the journal's done
REOPEN_DAY = "2027-02-15"  # 8300 ended 2027-01-31, archived 2027-02-01; 8301 starts 03-01


def _reopening(tmp_path: Path, project: str, of: str, **changes) -> Path:
    contract = example_contract(
        "9001-small.yaml", project, start="2027-03-01", end="2027-12-31", reopens=int(of)
    )
    return write_contract(tmp_path / f"{project}.yaml", dict(contract, **changes))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _kill_in_restore(path: Path, env: dict[str, str], marker: Path, point: str = "copied") -> None:
    hooked = {**os.environ, **env, "TRE_RESTORE_TEST_HOOK": f"pause:{point}:{marker}"}
    tre_bin = str(Path(sys.executable).parent / "tre")
    proc = subprocess.Popen(
        [tre_bin, "apply", str(path), "--today", REOPEN_DAY, "--yes"],
        cwd=REPO,
        env=hooked,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not (marker.exists() and marker.read_text()):
        assert proc.poll() is None, "apply ended before the restore was written"
        assert time.monotonic() < deadline, "the restore was not reached"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    os.kill(int(marker.read_text()), signal.SIGKILL)  # the module too, as if the host died
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def flow(lab_inventory, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reopen")
    v = lab_vars()
    for p in (OLD, NEW, EVIL_OLD, EVIL_NEW, OTHER, LATE_OLD, LATE_NEW):
        clean_project(v, p)
        stage = Path(v["tre_projects_root"]) / f"P{p}"
        shutil.rmtree(stage, ignore_errors=True)
    env = {"TRE_STATE": f"sqlite:///{tmp}/state.db", "TRE_HOME": str(tmp / "home")}
    olds = [
        write_contract(tmp / f"{p}.yaml", example_contract("9001-small.yaml", p))
        for p in (OLD, EVIL_OLD, LATE_OLD)
    ]
    tre("apply", *map(str, olds), "--today", ACTIVE, "--yes", env=env)
    kept = put_files(v, OLD)
    evil = folder(v, EVIL_OLD) / "archive" / "uitvoer.zip"
    evil.write_bytes(zm.zip_slip())
    (folder(v, LATE_OLD) / "OtherData" / "late.csv").write_text("a,b\n1,2\n")
    tre("apply", *map(str, olds), "--today", ENDED, "--yes", env=env)
    assert not folder(v, OLD).exists() and not folder(v, EVIL_OLD).exists()  # archived
    return {"v": v, "env": env, "tmp": tmp, "kept": kept}


def test_reopen_restores_the_archive_byte_for_byte_after_a_kill(flow):
    v, env, tmp, kept = flow["v"], flow["env"], flow["tmp"], flow["kept"]
    path = _reopening(tmp, NEW, OLD)
    plan = tre("plan", str(path), "--today", REOPEN_DAY, env=env).stdout
    assert f"> restore {OLD} → P{NEW}/restored (4 files; 3 entries from 1 zip(s))" in plan

    _kill_in_restore(path, env, tmp / "paused")
    top = folder(v, NEW)
    assert not (top / "restored").exists()  # written under the staging name only
    assert (top / f".restoring-P{OLD}").is_dir()

    repair = tre("apply", str(path), "--today", REOPEN_DAY, "--yes", env=env)
    assert "was interrupted" in repair.stderr
    restored = top / "restored"
    assert {k: _sha(restored / k) for k in kept} == kept  # the zip back byte for byte
    unpacked = restored / "archive" / "resultaten"
    assert (unpacked / "volgend project" / "cohort.csv").read_text() == "id,jaar\n1,2026\n"
    assert (unpacked / "volgend project" / "syntax" / "model.do").is_file()
    assert not (top / f".restoring-P{OLD}").exists()

    acl = subprocess.run(["getfacl", "-n", "-p", str(top)], capture_output=True, text=True)
    members = next(ln.split(":")[1] for ln in acl.stdout.splitlines() if ln.endswith(":rwx")
                   and ln.startswith("group:") and ln.split(":")[1])  # fmt: skip
    target = str(restored / "OtherData" / "data.bin")
    as_member = ["setpriv", "--reuid=65534", f"--regid={members}", "--clear-groups"]
    as_other = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    got = subprocess.run([*as_member, "sha256sum", target], capture_output=True, text=True)
    assert got.returncode == 0 and got.stdout.split()[0] == kept["OtherData/data.bin"]
    assert subprocess.run([*as_other, "cat", target], capture_output=True).returncode != 0

    same = tre_json("apply", str(path), "--today", REOPEN_DAY, "--yes", env=env)
    assert same["changes"] == []  # idempotent: restored once
    started = tre_json("apply", str(path), "--today", "2027-03-01", "--yes", env=env)
    assert [c for c in started["changes"] if c["op"] == "restore"] == []  # also later
    show = tre_json("project", "show", NEW, env=env)
    restores = [e for e in show["ledger"] if e["op"] == "restore"]
    assert len(restores) == 1 and restores[0]["name"] == f"P{OLD}"
    assert restores[0]["detail"]["after"]["files"] == 4
    assert show["project"]["reopens"] == OLD
    old = tre_json("project", "show", OLD, env=env)["project"]
    assert (old["reopened_as"], old["status_since"]) == ([NEW], "2027-03-01")
    assert old["status"] == f"reopened as {NEW}"  # 8301 applied on its start
    listed = {r["project"]: r for r in tre_json("project", "list", "--today", "2027-03-01",
                                                "--json", env=env)}  # fmt: skip
    assert listed[OLD]["status"] == f"reopened as {NEW}"
    assert listed[OLD]["status_since"] == "2027-03-01"
    listed = {r["project"]: r for r in tre_json("project", "list", "--today", "2027-02-28",
                                                "--json", env=env)}  # fmt: skip
    assert listed[OLD]["status"] == "archived"  # before 8301's start
    text = tre("project", "show", OLD, env=env).stdout
    assert f"status      reopened as {NEW} since 2027-03-01" in text
    assert f"reopened as {NEW}\n" in text
    assert f"reopens     {OLD}" in tre("project", "show", NEW, env=env).stdout
    assert (Path(v["tre_archive_root"]) / f"P{OLD}" / "manifest-sha256.txt").is_file()  # stays


def test_kill_9_after_the_rename_records_the_restore_once(flow):
    """Killed with ``restored/`` in place but the journal's done not written: the next apply
    finds the restore complete (its marker), changes nothing and records the killed run's
    restore once (``recovered``)."""
    v, env, tmp = flow["v"], flow["env"], flow["tmp"]
    path = _reopening(tmp, LATE_NEW, LATE_OLD)
    _kill_in_restore(path, env, tmp / "renamed", point="renamed")
    late = folder(v, LATE_NEW) / "restored" / "OtherData" / "late.csv"
    assert late.read_text() == "a,b\n1,2\n"
    repair = tre_json("apply", str(path), "--today", REOPEN_DAY, "--yes", env=env)
    assert [c for c in repair["changes"] if c["op"] == "restore"] == []
    restores = [e for e in tre_json("project", "show", LATE_NEW, env=env)["ledger"]
                if e["op"] == "restore"]  # fmt: skip
    assert len(restores) == 1 and restores[0]["detail"].get("recovered") is True
    again = tre_json("apply", str(path), "--today", REOPEN_DAY, "--yes", env=env)
    assert again["changes"] == []


def test_a_zip_slip_in_the_archive_refuses_the_restore_writing_nothing(flow):
    v, env, tmp = flow["v"], flow["env"], flow["tmp"]
    path = _reopening(tmp, EVIL_NEW, EVIL_OLD)
    failed = tre("apply", str(path), "--today", REOPEN_DAY, "--yes", env=env, check=False)
    assert failed.returncode == 1
    errors = [ln for ln in failed.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1, failed.stderr
    assert f"project {EVIL_NEW}: restore of P{EVIL_OLD} refused" in errors[0]
    assert "zip archive/uitvoer.zip" in errors[0] and "'..' component" in errors[0]
    assert "Traceback" not in failed.stderr
    top = folder(v, EVIL_NEW)
    assert not top.exists()  # the plan refused it: the apply ran nothing at all
    root = Path(v["tre_projects_root"])
    assert not (root / "escaped.txt").exists() and not (root.parent / "escaped.txt").exists()
    show = tre_json("project", "show", EVIL_OLD, env=env)
    assert show["archive"]["status"] == "live-removed"  # the archive is left as it was


@pytest.mark.parametrize(
    ("project", "reopens", "rule"),
    [
        (OTHER, "8349", "reopen-no-archive"),  # never applied, never archived
        (OTHER, NEW, "reopen-not-ended"),  # 8301 is planned/running
        (OTHER, OLD, "reopen-running"),  # 8300 is reopened as 8301, which has not ended
    ],
)
def test_reopen_refused_before_any_run(flow, project, reopens, rule):
    path = _reopening(flow["tmp"], project, reopens)
    got = tre("plan", str(path), "--today", REOPEN_DAY, env=flow["env"], check=False)
    assert got.returncode == 1
    lines = [ln for ln in got.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].endswith(f"[{rule}]"), got.stderr
    assert f"project {project}:" in lines[0]


def test_a_purged_archive_is_not_reopened(flow):
    state = flow["tmp"] / "purged.db"
    shutil.copy(flow["tmp"] / "state.db", state)
    with sqlite3.connect(state) as db:  # what purge (issue 14) records
        db.execute("UPDATE archives SET status = 'purged' WHERE project = ?", (EVIL_OLD,))
    env = dict(flow["env"], TRE_STATE=f"sqlite:///{state}")
    path = _reopening(flow["tmp"], OTHER, EVIL_OLD)
    got = tre("plan", str(path), "--today", REOPEN_DAY, env=env, check=False)
    assert got.returncode == 1 and "was purged" in got.stderr
    lines = [ln for ln in got.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].endswith("[reopen-no-archive]")
