"""Benchmark: `tre bill` of one quarter over many projects (pure, no lab). Run by hand:

    . .venv/bin/activate && python bench/bench_bill.py              # 1,250 projects
    python bench/bench_bill.py --projects 200

A temporary SQLite store gets N copies of examples/contracts/9002-typical.yaml (renumbered,
saved through the store's API as `tre apply` saves them, each applied twice), then
`tre bill 2026Q4 --json` runs as a separate process and is timed, and the quarter issued.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from provisioning.contract import load_contract  # noqa: E402
from provisioning.desired import revision_of  # noqa: E402
from provisioning.policy import load_policy  # noqa: E402
from provisioning.state import StateStore  # noqa: E402


def fill(url: str, n: int) -> None:
    policy = load_policy()
    c = load_contract(str(REPO / "examples" / "contracts" / "9002-typical.yaml"), policy)
    contract = dataclasses.asdict(c)
    store = StateStore(url)
    for i in range(n):
        number = str(10000 + i)
        for run, today in ((f"a{i}", "2026-02-01"), (f"b{i}", "2026-07-01")):
            store.start_run(run, "bench", "apply", today, [number])
            summary = {"project": number, "title": c.title, "start": "2026-03-01"}
            store.save_revision(
                summary, revision_of(c) + today, run, "bench", dict(contract, project=number)
            )
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--projects", type=int, default=1250)
    args = ap.parse_args()
    tre = str(Path(sys.executable).parent / "tre")
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/state.db"
        fill(url, args.projects)
        t = time.perf_counter()
        out = subprocess.run(
            [tre, "bill", "2026Q4", "--json", "--state", url], capture_output=True, check=True
        ).stdout
        preview = time.perf_counter() - t
        lines = json.loads(out)
        t = time.perf_counter()
        subprocess.run(
            [tre, "bill", "2026Q4", "--issue", "--today", "2027-01-02", "--state", url],
            capture_output=True,
            check=True,
        )
        issued = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run([tre, "bill", "2026Q4", "--state", url], capture_output=True, check=True)
        shown = time.perf_counter() - t
    print(
        f"{args.projects} projects, {len(lines)} lines: preview {preview:.2f} s,"
        f" issue {issued:.2f} s, issued quarter shown {shown:.2f} s"
    )


if __name__ == "__main__":
    main()
