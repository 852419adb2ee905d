"""Two admin machines, one PostgreSQL store: two `tre apply` at once (real processes, their
own --home, so no local lock is shared). The second is refused with the holder's name, or
with --wait waits; the ledger has each run in one piece and its hash chain verifies."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from itertools import groupby
from pathlib import Path

import psycopg
import pytest

from provisioning.state.lock import APPLY_LOCK_KEY
from tests.integration.conftest import TODAY
from tests.integration.helpers import (
    REPO,
    clean_project,
    example_contract,
    lab_vars,
    tre,
    write_contract,
)
from tests.state_fixtures import pg_database

pytestmark = pytest.mark.lab

PROJECTS = ("8050", "8051", "8052")


def start_apply(contract: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "tre"), "apply", str(contract), "--today", TODAY,
             "--yes"],
            cwd=REPO, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def wait_until_locked(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as db:
        while time.monotonic() < deadline:
            row = db.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = %s AND objid = %s",
                (APPLY_LOCK_KEY >> 32, APPLY_LOCK_KEY & 0xFFFFFFFF),
            ).fetchone()
            if row[0]:
                return
            assert proc.poll() is None, "the first apply ended before it took the lock"
            time.sleep(0.05)
    pytest.fail("the first apply never took the apply lock")


def test_two_applies_at_once_on_one_postgresql_store(lab_inventory, tmp_path):
    v = lab_vars()
    for p in PROJECTS:
        clean_project(v, p)
    contracts = {
        p: write_contract(tmp_path / f"{p}.yaml", example_contract("9001-small.yaml", p))
        for p in PROJECTS
    }
    with pg_database() as url:
        machine_a = {"TRE_STATE": url, "TRE_HOME": str(tmp_path / "home-a")}
        machine_b = {"TRE_STATE": url, "TRE_HOME": str(tmp_path / "home-b")}
        tre("state", "migrate", env=machine_a)

        first = start_apply(contracts["8050"], machine_a, tmp_path / "first.log")
        wait_until_locked(url, first)
        refused = tre("apply", str(contracts["8051"]), "--today", TODAY, "--yes",
                      env=machine_b, check=False)  # fmt: skip
        assert refused.returncode == 1, refused.stdout
        (line,) = refused.stderr.splitlines()
        assert line.startswith(
            f"Error: another tre apply holds the apply lock of {url}: root on"
            f" {socket.gethostname()} (pid {first.pid}"
        ), line
        assert line.endswith("try again when it has finished (or pass --wait)"), line
        assert first.wait(timeout=600) == 0, (tmp_path / "first.log").read_text()

        holder = start_apply(contracts["8052"], machine_a, tmp_path / "holder.log")
        wait_until_locked(url, holder)
        waited = tre("apply", str(contracts["8051"]), "--today", TODAY, "--yes", "--wait",
                     env=machine_b)  # fmt: skip
        assert "Note: waiting for the apply lock of" in waited.stderr
        assert f"(pid {holder.pid}" in waited.stderr
        assert holder.wait(timeout=600) == 0, (tmp_path / "holder.log").read_text()

        with psycopg.connect(url) as db:
            rows = db.execute("SELECT run_id, project FROM ledger ORDER BY id").fetchall()
        runs = [run for run, _ in groupby(r[0] for r in rows)]
        assert len(runs) == len(set(runs)) == 3, runs  # each run's entries in one piece
        assert [{p for r, p in rows if r == run} for run in runs] == [
            {"8050"}, {"8052"}, {"8051"}
        ]  # fmt: skip
        verified = tre("ledger", "verify", env=machine_a)
        assert verified.stdout.startswith(f"ledger of {url}: {len(rows)} entries, chain intact")
    for p in PROJECTS:
        clean_project(v, p)
