"""The run's processes: the playbook dies with tre; recovery waits for the marked ones.

Real processes, no lab: a stand-in ``ansible-playbook`` beside a stand-in interpreter (where
the guard looks first) records its pid and sleeps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal

from provisioning.errors import RunError
from provisioning.orchestrate import close_interrupted
from provisioning.process import RUN_MARKER, run_processes, wait_for_run
from provisioning.state import StateStore

RUN = f"r-{uuid.uuid4().hex}"  # this session's killed run: no other process carries it
TRE = """
import os, subprocess, sys, time
from provisioning.process import guard_command, run_environment
binary, lead = guard_command()
env = {**os.environ, **run_environment(sys.argv[1])}
subprocess.Popen([binary, *lead, "site.yml"], env=env, start_new_session=True)
time.sleep(60)
"""


REPO = Path(__file__).resolve().parents[2]


def write_playbook(bin_dir: Path, pid_file: Path) -> None:
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "ansible-playbook"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    script.chmod(0o755)


def fake_interpreter(tmp_path: Path, playbook: bool = True) -> tuple[str, dict[str, str]]:
    """A ``bin`` like a venv's: ``python3`` (this interpreter, run by that path, so it is
    ``sys.executable``) and, if asked, a stand-in ``ansible-playbook`` beside it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python3"
    python.symlink_to(sys.executable)
    if playbook:
        write_playbook(bin_dir, tmp_path / "pid")
    return str(python), {**os.environ, "PYTHONPATH": str(REPO)}


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_until(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_playbook_is_marked_and_dies_with_tre(tmp_path):
    python, env = fake_interpreter(tmp_path)
    run_id = f"r-guard-{uuid.uuid4().hex}"  # not one of an earlier test's leftovers
    tre = subprocess.Popen([python, "-c", TRE, run_id], env=env)
    try:
        assert wait_until(lambda: (tmp_path / "pid").is_file() and (tmp_path / "pid").read_text())
        playbook = int((tmp_path / "pid").read_text())
        assert wait_until(lambda: run_processes(run_id) == [playbook])
        os.kill(tre.pid, signal.SIGKILL)  # kill -9 of tre alone
        tre.wait()
        assert wait_until(lambda: not alive(playbook)), "ansible-playbook outlived tre"
        assert run_processes(run_id) == []
    finally:
        tre.kill()


def test_guard_starts_nothing_when_tre_is_already_gone(tmp_path):
    python, env = fake_interpreter(tmp_path)
    env["TRE_PARENT_PID"] = "1"  # not our parent: tre died before the guard was armed
    guard = subprocess.run(
        [python, "-m", "provisioning.process", "site.yml"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert guard.returncode == 1 and not (tmp_path / "pid").exists()
    assert len(guard.stderr.splitlines()) == 1


def test_guard_runs_the_playbook_beside_the_interpreter_not_the_one_on_path(tmp_path):
    """`/opt/tre/bin/tre apply` from systemd or cron: the venv's bin is not on PATH, and an
    ansible-playbook on PATH is not tre's."""
    python, env = fake_interpreter(tmp_path)
    write_playbook(tmp_path / "elsewhere", tmp_path / "wrong-pid")
    env["PATH"] = f"{tmp_path / 'elsewhere'}{os.pathsep}/usr/bin:/bin"
    guard = subprocess.Popen([python, "-m", "provisioning.process", "site.yml"], env=env)
    try:
        assert wait_until(lambda: (tmp_path / "pid").is_file() and (tmp_path / "pid").read_text())
        assert int((tmp_path / "pid").read_text()) == guard.pid  # exec'd: the same process
        assert not (tmp_path / "wrong-pid").exists()
        environ = Path(f"/proc/{guard.pid}/environ").read_bytes().split(b"\0")
        path = next(v for v in environ if v.startswith(b"PATH=")).decode()
        assert path.split("=", 1)[1].split(os.pathsep)[0] == str(tmp_path / "bin")
    finally:
        guard.kill()
        guard.wait()


def test_guard_without_ansible_playbook_says_so_in_one_line(tmp_path):
    python, env = fake_interpreter(tmp_path, playbook=False)
    env["PATH"] = str(tmp_path)
    guard = subprocess.run(
        [python, "-m", "provisioning.process", "site.yml"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert guard.returncode == 127
    assert guard.stderr.splitlines() == [
        "ERROR: cannot start ansible-playbook: No such file or directory"
    ]


@pytest.fixture
def module_of_run():
    """A process of the killed run still busy (a module that outlived the killed tre)."""
    proc = subprocess.Popen(["sleep", "30"], env={**os.environ, RUN_MARKER: RUN})
    yield proc
    proc.kill()
    proc.wait()


def test_wait_for_run_says_once_and_gives_up_at_the_limit(module_of_run):
    said: list[str] = []
    assert wait_for_run([RUN], limit=0.6, say=said.append, after=0.2) == [module_of_run.pid]
    assert len(said) == 1 and RUN in said[0] and "\n" not in said[0]
    module_of_run.kill()
    module_of_run.wait()
    assert wait_for_run([RUN], limit=5) == []


def test_recovery_waits_for_the_killed_runs_module(tmp_path, module_of_run):
    store = StateStore(f"sqlite:///{tmp_path}/state.db")
    home = tmp_path / "home"
    store.start_run(RUN, "alice", "apply", "2026-12-01", ["9001"])
    journal = Journal(str(home / "runs" / RUN / "journal" / "ad.jsonl"))
    change = {"project": "9001", "op": "create", "kind": "account", "name": "p9001.a"}
    journal.intent([change])
    # Still running: the journal is not read, the run stays open for the next apply.
    with pytest.raises(RunError, match="still running after 1 s"):
        close_interrupted(store, home, wait_seconds=1)
    assert [r["run_id"] for r in store.interrupted_runs()] == [RUN] and store.ledger() == []

    # The module finishes its change and ends while the next apply waits: all of it counts.
    def finish() -> None:
        journal.done([change])
        journal.close()
        module_of_run.kill()
        module_of_run.wait()

    timer = threading.Timer(0.5, finish)
    timer.start()
    interrupted = close_interrupted(store, home, wait_seconds=10)
    timer.join()
    assert interrupted.run_ids == [RUN] and interrupted.pending == []
    assert [e.name for e in store.ledger()] == ["p9001.a"]
