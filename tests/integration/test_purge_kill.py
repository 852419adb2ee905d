"""`kill -9` of `tre purge --yes` at five points; the next run converges (issue 14).

Two eligible archives per point (bags in the lab's archive root, rows made eligible); the
test hook ``TRE_ARCHIVE_TEST_HOOK=pause:<point>:<file>`` pauses tre (``marked``: rows marked
purging; ``tombstoned``: tombstones written, nothing deleted; ``ran-2``: both deleted,
the delete run's changes not yet in the ledger) or the module (``detached``: the first
archive renamed; ``deleting``: the first archive's data/ deleted), which writes its
pid; the test kills tre's process group and the paused process with SIGKILL.

After the kill an archive is either whole at ``P<nr>`` (its manifest the recorded one, read
back ok) with no tombstone, or no longer at ``P<nr>`` with its row saying ``purging`` or
``purged``; a tombstone never coexists with ``P<nr>``. The next run leaves a tombstone each,
status ``purged``, and nothing of either archive.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_archive_bag as bag_mod

from provisioning.state import StateStore
from tests.bag_fixtures import manifest_sha256
from tests.integration.helpers import REPO, lab_vars, tre_json
from tests.integration.retention_helpers import clean, make_eligible, seed

pytestmark = pytest.mark.lab

POINTS = [("marked", "8260"), ("detached", "8262"), ("tombstoned", "8264"), ("deleting", "8266"),
          ("ran-2", "8268")]  # fmt: skip


def _kill_at(point: str, env: dict[str, str], marker: Path) -> None:
    hooked = {**os.environ, **env, "TRE_ARCHIVE_TEST_HOOK": f"pause:{point}:{marker}"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "tre"), "purge", "--today", "2032-02-01", "--yes"],
        cwd=REPO, env=hooked, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not (marker.exists() and marker.read_text()):
        assert proc.poll() is None, f"purge ended before reaching {point}"
        assert time.monotonic() < deadline, f"{point} not reached"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 -<pgid of the CLI>
    os.kill(int(marker.read_text()), signal.SIGKILL)  # and the paused process
    proc.wait(timeout=30)


def _whole(root: Path, project: str, sha: str) -> bool:
    bag = root / f"P{project}"
    if not bag.is_dir():
        return False
    return manifest_sha256(bag) == sha and bag_mod.verify(str(root), project).files == 2


@pytest.mark.parametrize(("point", "first"), POINTS)
def test_kill_9_mid_purge_then_the_next_run_finishes(lab_inventory, tmp_path, point, first):
    v = lab_vars()
    projects = [first, str(int(first) + 1)]
    clean(v, projects)
    root = Path(v["tre_archive_root"])
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    store = StateStore(env["TRE_STATE"])
    sha = {}
    for p in projects:
        sha[p] = manifest_sha256(seed(store, root, p, "jan@purge14.example.org"))
        make_eligible(store, p)
    planned = [a["project"] for a in tre_json("purge", "--today", "2032-02-01", env=env)["purge"]]
    assert planned == projects

    _kill_at(point, env, tmp_path / "paused")
    store = StateStore(env["TRE_STATE"])
    states = []
    for p in projects:
        tombstones = [e for e in store.ledger(p) if e.op == "purge"]
        row = store.archive(p)
        if _whole(root, p, sha[p]):
            assert tombstones == [], (point, p)
            states.append("whole")
        else:
            assert not (root / f"P{p}").exists()
            assert row["status"] in ("purging", "purged"), (point, p)
            states.append("tombstoned" if tombstones else "detached")
    assert (
        states
        == {
            "marked": ["whole", "whole"],
            "detached": ["detached", "whole"],
            "tombstoned": ["tombstoned", "tombstoned"],
            "deleting": ["tombstoned", "tombstoned"],
            "ran-2": ["tombstoned", "tombstoned"],
        }[point]
    )

    done = json.loads(
        subprocess.run(
            [str(Path(sys.executable).parent / "tre"), "purge", "--today", "2032-02-01",
             "--yes", "--json"], cwd=REPO, env={**os.environ, **env},
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    assert sorted(done["purged"] + done["recovered"]) == projects, done
    store = StateStore(env["TRE_STATE"])
    for p in projects:
        assert not (root / f"P{p}").exists() and not (root / f".purging-P{p}").exists()
        assert store.archive(p)["status"] == "purged"
        (tomb,) = [e for e in store.ledger(p) if e.op == "purge"]
        assert tomb.detail["manifest_sha256"] == sha[p]
        ops = [(e.op, bool(e.detail.get("recovered"))) for e in store.ledger(p)
               if e.op in ("detach", "delete")]  # fmt: skip
        deletes = [recovered for op, recovered in ops if op == "delete"]
        assert len(deletes) == 1 and len(ops) <= 2, (point, ops)  # never twice
        assert deletes == [point == "ran-2"]  # from the killed run's journal
    assert store.verify_ledger().ok
    again = tre_json("purge", "--today", "2032-02-01", "--yes", env=env)
    assert again["purged"] == again["recovered"] == []
    clean(v, projects)
