"""Helpers shared by the storage/OSSC module tests and the benchmark: run a small playbook
through ansible-runner and return the one task's module result from the runner's events."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import ansible_runner

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
COLLECTIONS = REPO / "playbooks" / "collections"


def local_inventory(group: str = "fileservers") -> dict:
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    return {"all": {"children": {group: {"hosts": {"localhost": host}}}}}


def run_playbook(
    playbook: str, extravars: dict, inventory=None, collections: Path = COLLECTIONS
) -> tuple[str, dict, float]:
    """(runner status, result of the playbook's last module task, wall seconds of the run)."""
    with tempfile.TemporaryDirectory(prefix="tre-run-") as tmp:
        started = time.monotonic()
        runner = ansible_runner.run(
            private_data_dir=tmp,
            playbook=str(PLAYBOOKS / playbook),
            inventory=inventory if inventory is not None else local_inventory(),
            extravars=extravars,
            # ansible-runner drops a result bigger than MAX_EVENT_RES (700,000 characters) from
            # its events; a first apply of hundreds of projects returns more than that
            envvars={"ANSIBLE_COLLECTIONS_PATH": str(collections), "MAX_EVENT_RES": "100000000"},
            quiet=True,
        )
        elapsed = time.monotonic() - started
        result: dict = {}
        for event in runner.events:
            if event.get("event") in ("runner_on_ok", "runner_on_failed"):
                result = event["event_data"]["res"]
        return runner.status, result, elapsed


def run_as(uid: int, gid: int, *argv: str, groups: tuple[int, ...] = ()) -> tuple[int, str]:
    """Run a command as a local user carrying only ``uid``/``gid`` and the supplementary
    ``groups`` a resolver would give it (no name service needed); returns (exit code, stderr).
    """
    import subprocess

    extra = [f"--groups={','.join(map(str, groups))}"] if groups else ["--clear-groups"]
    proc = subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={gid}", *extra, "--", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stderr.strip()
