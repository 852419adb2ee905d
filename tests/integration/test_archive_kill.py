"""`kill -9` between the archive copy and the live removal, at four points: the next apply
finishes, nothing was deleted before a verification, nothing is archived twice, and the
ledger tells the truth (issue 11). And a kill right after a failed verification: the failure
is in the ledger once (the module journaled it), nothing is removed.

The module pauses at a point through its test hook (``TRE_ARCHIVE_TEST_HOOK=pause:...``) and
writes its pid; the test then kills tre's process group and the module with SIGKILL, as a
machine dying there would leave it.
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

from tests.integration.archive_helpers import ENDED, bag_files, folder, put_files, set_up
from tests.integration.helpers import REPO, tre, tre_json

pytestmark = pytest.mark.lab

#: (project, point): copied = data written, no manifest yet; archived = bag renamed into
#: place; verified = read back, nothing removed; subvolume-removed = workspaces still there.
POINTS = [("7810", "copied"), ("7811", "archived"), ("7812", "verified")]
POINTS += [("7813", "subvolume-removed")]


def _kill_at(point: str, path: Path, env: dict[str, str], marker: Path, also: str = "") -> None:
    hook = f"{also};pause:{point}:{marker}" if also else f"pause:{point}:{marker}"
    hooked = {**os.environ, **env, "TRE_ARCHIVE_TEST_HOOK": hook}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "tre"), "apply", str(path), "--today", ENDED, "--yes"],
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


@pytest.mark.parametrize(("project", "point"), POINTS)
def test_kill_9_between_copy_and_removal(lab_inventory, tmp_path, project, point):
    v, env, path = set_up(tmp_path, project)
    kept = put_files(v, project)
    top = folder(v, project)
    spaces = [Path(v["tre_workspaces_root"]) / f"p{project}.{p}" for p in ("jdevries", "zvanthoff")]
    _kill_at(point, path, env, tmp_path / "paused")
    bag = Path(v["tre_archive_root"]) / f"P{project}"
    assert top.exists() is (point != "subvolume-removed")  # nothing removed before verified
    assert all(p.exists() for p in spaces)
    assert bag.exists() is (point != "copied")  # a partial bag is never P<nr>

    repair = tre("apply", str(path), "--today", ENDED, "--yes", env=env)
    assert "was interrupted" in repair.stderr
    assert bag_files(bag) == kept
    assert not top.exists() and not any(p.exists() for p in spaces)
    assert not (Path(v["tre_archive_root"]) / f".incoming-P{project}").exists()
    show = tre_json("project", "show", project, env=env)
    counts = Counter((e["op"], e["kind"], e["name"]) for e in show["ledger"])
    assert counts[("archive", "archive", f"P{project}")] == 1, point  # never twice
    assert counts[("remove", "subvolume", f"P{project}")] == 1, point
    assert counts[("remove", "workspace", f"p{project}.jdevries")] == 1, point
    assert counts[("verify", "archive", f"P{project}")] >= 1, point
    first_verify = next(i for i, e in enumerate(show["ledger"]) if e["op"] == "verify")
    first_remove = next(i for i, e in enumerate(show["ledger"]) if e["op"] == "remove")
    assert first_verify < first_remove
    assert show["archive"]["status"] == "live-removed"
    assert show["project"]["status"] == "archived"
    assert tre_json("apply", str(path), "--today", ENDED, "--yes", env=env)["changes"] == []


def test_kill_9_after_a_failed_verification_records_it_once(lab_inventory, tmp_path):
    """Before, the failure reached the ledger only from the module's result: a kill after the
    verification lost it. Now the module journals it the moment it fails."""
    project = "8210"
    v, env, path = set_up(tmp_path, project)
    kept = put_files(v, project)
    top = folder(v, project)
    _kill_at("verify-failed", path, env, tmp_path / "paused", also="flip")
    killed = tre_json("project", "show", project, env=env)["ledger"]
    assert not [e for e in killed if e["op"] == "verify"]  # the run was not recorded yet

    again = tre("apply", str(path), "--today", ENDED, "--yes", env=env, check=False)
    assert "was interrupted" in again.stderr
    assert again.returncode == 1 and "differ from the manifest" in again.stderr  # still bad
    assert top.exists() and set(kept) <= {str(p.relative_to(top)) for p in top.rglob("*")}
    ledger = tre_json("project", "show", project, env=env)["ledger"]
    failures = [e for e in ledger if e["op"] == "verify"]
    assert [e["detail"]["result"][:7] for e in failures] == ["failed:", "failed:"]
    runs = Counter(e["run_id"] for e in failures)
    assert sorted(runs.values()) == [1, 1]  # the killed run's once, this run's once
    recovered = [e for e in failures if e["detail"].get("recovered")]
    assert len(recovered) == 1 and "differ from the manifest" in recovered[0]["detail"]["result"]
    assert not [e for e in ledger if e["op"] == "remove"]
    tre("apply", str(path), "--today", ENDED, "--yes", env=env, check=False)
    later = tre_json("project", "show", project, env=env)["ledger"]
    assert (
        Counter(e["run_id"] for e in later if e["op"] == "verify")[recovered[0]["run_id"]] == 1
    )  # never recorded twice
