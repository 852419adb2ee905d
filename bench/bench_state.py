"""Benchmark: the state store on SQLite next to PostgreSQL, in the same run. Not a timed
test: run it by hand on the lab (root, `tre lab up` done):

    . .venv/bin/activate && python bench/bench_state.py [--runs 3] [--entries 10000]

1. `tre plan examples/contracts/ --today 2026-12-01` (the three examples, real Ansible check
   mode against the lab) with `--state` a fresh SQLite file and a fresh PostgreSQL database
   of the lab, alternating, ``--runs`` times each;
2. appending ``--entries`` ledger entries (batches of 100, hash-chained) and
   `tre ledger verify` of them on each back end.
It uses its own temporary PostgreSQL database (dropped afterwards) and temporary files.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from provisioning.lab.config import LabConfig  # noqa: E402
from provisioning.state import LedgerEntry, StateStore, migrate  # noqa: E402

TRE = str(Path(sys.executable).parent / "tre")


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    subprocess.run([TRE, *args], cwd=REPO, env={**os.environ, **env}, check=True,
                   capture_output=True)  # fmt: skip
    return time.monotonic() - start


def ledger(url: str, entries: int) -> tuple[float, float]:
    store = StateStore(url)
    batch = [
        LedgerEntry("2026-12-01T10:00:00+00:00", "root", "bench", "9001", "dc", "create",
                    "account", f"p9001.u{i}", {"dn": f"CN=p9001.u{i}", "i": i})
        for i in range(100)
    ]  # fmt: skip
    start = time.monotonic()
    for _ in range(entries // 100):
        store.record(batch)
    appended = time.monotonic() - start
    store.close()
    return appended, timed(["ledger", "verify", "--state", url], {})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--entries", type=int, default=10000)
    args = ap.parse_args()
    admin = LabConfig.from_env().postgres_url
    name = f"tre_bench_{secrets.token_hex(4)}"
    base, query = admin.split("?", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            urls = {
                "sqlite": f"sqlite:///{tmp}/state.db",
                "postgresql": f"{base.rsplit('/', 1)[0]}/{name}?{query}",
            }
            for url in urls.values():
                migrate(url)
            plan = ["plan", "examples/contracts/", "--today", "2026-12-01"]
            times: dict[str, list[float]] = {k: [] for k in urls}
            for _ in range(args.runs):
                for kind, url in urls.items():
                    env = {"TRE_HOME": f"{tmp}/home-{kind}"}
                    times[kind].append(timed([*plan, "--state", url], env))
            for kind, ts in times.items():
                shown = ", ".join(f"{t:.2f}" for t in ts)
                print(f"tre plan (3 examples), {kind:<10}: {shown} s")
            for kind, url in urls.items():
                appended, verified = ledger(url, args.entries)
                print(
                    f"ledger {args.entries} entries, {kind:<10}: append {appended:.2f} s,"
                    f" tre ledger verify {verified:.2f} s"
                )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
