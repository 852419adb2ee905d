"""`kill -9` in the middle of a move - the copies made, nothing verified or removed yet: the
next apply verifies and finishes it; nothing lost, nothing duplicated in the ledger (issue 12).

The module pauses through its test hook (``TRE_MOVE_TEST_HOOK=pause:moved:<file>``) and writes
its pid; the test kills tre's process group and the module with SIGKILL, as a machine dying
there would leave it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.files_helpers import (
    BEFORE,
    MOVE_DAY,
    clean,
    env_of,
    new_contract,
    people,
    tree,
    write_as,
    write_contracts,
)
from tests.integration.helpers import REPO, example_contract, lab_vars, tre, tre_json

pytestmark = pytest.mark.lab

OLD, NEW = "8360", "8361"


def _kill_at(point: str, contracts: Path, env: dict[str, str], marker: Path) -> None:
    hooked = {**os.environ, **env, "TRE_MOVE_TEST_HOOK": f"pause:{point}:{marker}"}
    argv = [str(Path(sys.executable).parent / "tre"), "apply", str(contracts)]
    proc = subprocess.Popen(
        [*argv, "--today", MOVE_DAY, "--yes"],
        cwd=REPO,
        env=hooked,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not (marker.exists() and marker.read_text()):
        assert proc.poll() is None, f"apply ended before reaching {point}"
        assert time.monotonic() < deadline, f"{point} not reached"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 -<pgid of the CLI>
    os.kill(int(marker.read_text()), signal.SIGKILL)  # and the module, as if the host died
    proc.wait(timeout=30)


def test_kill_9_after_the_copy_before_the_removal(lab_inventory, tmp_path):
    v = lab_vars()
    clean(v, [OLD, NEW])
    env = env_of(tmp_path)
    contracts = write_contracts(
        tmp_path, [example_contract("9001-small.yaml", OLD), new_contract(NEW, OLD)]
    )
    tre("apply", str(contracts), "--today", BEFORE, "--yes", env=env)
    old = Path(v["tre_projects_root"]) / f"P{OLD}"
    researcher = people(v, [OLD])[f"p{OLD}.jdevries"]
    for i in range(5):
        write_as(researcher, old / "OtherData" / f"deel {i}.bin", os.urandom(200_000))
    before = tree(old)

    _kill_at("moved", contracts, env, tmp_path / "paused")
    assert old.exists() and tree(old) == before  # nothing removed before a verification
    new = Path(v["tre_projects_root"]) / f"P{NEW}"
    assert {k: tree(new).get(k) for k in before} == before  # the copies are complete

    repair = tre("apply", str(contracts), "--today", MOVE_DAY, "--yes", env=env)
    assert "was interrupted" in repair.stderr
    assert not old.exists()
    assert {k: tree(new).get(k) for k in before} == before  # nothing lost
    assert not list(new.rglob(".tre-copy.*"))
    show = tre_json("project", "show", OLD, env=env)
    counts = Counter((e["op"], e["kind"], e["name"]) for e in show["ledger"])
    assert counts[("move", "content", f"P{OLD}")] == 1  # recovered from the journal, once
    assert counts[("remove", "content", f"P{OLD}")] == 1
    assert counts[("verify", "move", f"P{OLD}")] == 1
    order = [e["op"] for e in show["ledger"] if e["kind"] in ("content", "move")]
    assert order == ["move", "verify", "remove"]
    assert tre_json("apply", str(contracts), "--today", MOVE_DAY, "--yes", env=env)["changes"] == []
    clean(v, [OLD, NEW])
