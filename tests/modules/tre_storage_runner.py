"""Helpers shared by the storage/OSSC module tests and the benchmark: run a small playbook
through ansible-runner and return the one task's module result from the runner's events."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import ansible_runner

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
COLLECTIONS = REPO / "playbooks" / "collections"


def local_inventory(group: str = "fileservers") -> dict:
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    return {"all": {"children": {group: {"hosts": {"localhost": host}}}}}


def run_playbook(playbook: str, extravars: dict, inventory=None,
                 private_data_dir: str | None = None) -> tuple[str, dict, float]:
    """(runner status, module result of the last task, wall seconds of the run)."""
    with tempfile.TemporaryDirectory(prefix="tre-run-") as tmp:
        runner = ansible_runner.run(
            private_data_dir=private_data_dir or tmp,
            playbook=str(PLAYBOOKS / playbook),
            inventory=inventory if inventory is not None else local_inventory(),
            extravars=extravars,
            envvars={"ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS)},
            quiet=True,
        )
        result: dict = {}
        for event in runner.events:
            if event.get("event") in ("runner_on_ok", "runner_on_failed"):
                result = event["event_data"]["res"]
        elapsed = sum(0.0 for _ in ())
        stats = runner.stats or {}
        del stats
        return runner.status, result, elapsed
