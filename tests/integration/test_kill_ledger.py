"""`kill -9` of `tre apply` at ten points of a 40-person apply: AD and the ledger agree.

Only tre is killed, as an operator would (its pid, or the CLI's process group): whatever
Ansible had already started must not write into the killed run's journal behind the back of
the next apply, and no task may start after tre died (issue 9, item 3).
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import TODAY
from tests.integration.helpers import (
    EXAMPLES,
    REPO,
    ad_connection,
    ad_objects,
    delete_subtree,
    lab_vars,
    remove_project_storage,
    tre,
    tre_json,
    write_contract,
)

pytestmark = pytest.mark.lab

MEASURED = 7640  # applied once without a kill: how long a whole apply takes
KILLED = list(range(7641, 7651))  # one project per kill point
PEOPLE = 40


def contract_of(project: int) -> dict[str, Any]:
    """40 researchers in the shape of the consortium example, tokens of this project."""
    contract = yaml.safe_load((EXAMPLES / "9003-consortium.yaml").read_text())
    people = [r for r in contract["researchers"] if "from" not in r][:PEOPLE]
    assert len(people) == PEOPLE
    for i, person in enumerate(people):
        person["token"] = f"T-{project}{i:03d}"
    for key in ("ossc", "observers", "software", "storage"):
        contract.pop(key, None)
    return {
        **contract,
        "project": project,
        "researchers": people,
        "file_subjects": ["GBAPERSOONTAB"],
    }


def clean(v: dict[str, Any], conn, project: int) -> None:
    delete_subtree(conn, f"OU=P{project},{v['tre_ad_projects_ou']}")
    remove_project_storage(v, str(project))
    shutil.rmtree(Path(v["tre_initial_password_dir"]) / str(project), ignore_errors=True)


def start_apply(path: Path, env: dict[str, str]) -> subprocess.Popen:
    """`tre apply` as an operator starts it: its own process group, as from a shell."""
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "tre"), "apply", str(path), "--today", TODAY, "--yes"],
        cwd=REPO,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def created(db: sqlite3.Connection, project: int, kinds: tuple[str, ...]) -> Counter:
    marks = ", ".join("?" for _ in kinds)
    rows = db.execute(
        f"SELECT name FROM ledger WHERE project = ? AND op = 'create' AND kind IN ({marks})",
        (str(project), *kinds),
    ).fetchall()
    return Counter(name for (name,) in rows)


def assert_agree(v: dict[str, Any], conn, db: sqlite3.Connection, project: int) -> None:
    """Every AD account/group and workspace of the project is created once in the ledger."""
    in_ad = {
        name
        for name, obj in ad_objects(conn, f"OU=P{project},{v['tre_ad_projects_ou']}").items()
        if "organizationalUnit" not in obj["objectClass"]
    }
    ledger = created(db, project, ("account", "group"))
    assert len(in_ad) == PEOPLE + 2
    assert sorted(n for n, times in ledger.items() if times > 1) == [], f"P{project}: twice"
    missing = sorted(in_ad - set(ledger))
    assert missing == [], f"P{project}: {len(missing)} of {len(in_ad)} in AD, not in the ledger"
    assert sorted(set(ledger) - in_ad) == [], f"P{project}: in the ledger, not in AD"
    on_disk = {p.name for p in Path(v["tre_workspaces_root"]).glob(f"p{project}.*")}
    workspaces = created(db, project, ("workspace",))
    assert max(workspaces.values(), default=1) == 1, f"P{project}: workspace created twice"
    assert on_disk == set(workspaces) and len(on_disk) == PEOPLE


def test_kill_9_at_ten_points_leaves_ad_and_ledger_agreeing(lab_inventory, tmp_path):
    v = lab_vars()
    conn = ad_connection(v)
    for project in [MEASURED, *KILLED]:
        clean(v, conn, project)
    home = tmp_path / "home"
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(home)}
    paths = {p: write_contract(tmp_path / f"{p}.yaml", contract_of(p)) for p in [MEASURED, *KILLED]}

    began = time.monotonic()
    measured = start_apply(paths[MEASURED], env)
    assert measured.wait(timeout=300) == 0
    duration = time.monotonic() - began
    db = sqlite3.connect(tmp_path / "state.db")
    assert_agree(v, conn, db, MEASURED)

    killed_in_run = 0
    for k, project in enumerate(KILLED, start=1):
        proc = start_apply(paths[project], env)
        time.sleep(duration * (k - 0.5) / len(KILLED))
        if k % 2:
            os.kill(proc.pid, signal.SIGKILL)  # kill -9 <tre pid>
        else:
            os.killpg(proc.pid, signal.SIGKILL)  # kill -9 -<pgid of the CLI>
        proc.wait(timeout=30)
        # At once, as an operator retrying would: the killed run's modules may still be busy.
        repair = tre("apply", str(paths[project]), "--today", TODAY, "--yes", env=env, check=False)
        killed_in_run += "was interrupted" in repair.stderr
        waited = [ln for ln in repair.stderr.splitlines() if "waiting for" in ln]
        recovered = db.execute(
            "SELECT count(*) FROM ledger WHERE project = ? AND detail LIKE '%\"recovered\": true%'",
            (str(project),),
        ).fetchone()[0]
        print(
            f"P{project}: kill -9 at {duration * (k - 0.5) / len(KILLED):.1f} s of"
            f" {duration:.1f} s, run interrupted: {'was interrupted' in repair.stderr},"
            f" recovered from its journal: {recovered}",
            *waited,
        )
        assert_agree(v, conn, db, project)
        assert repair.returncode == 0, repair.stderr
        final = tre_json("apply", str(paths[project]), "--today", TODAY, "--yes", env=env)
        assert final["changes"] == [], f"P{project}: a second apply still changes things"
    # The points are spread over plan and run: several kills hit the run itself.
    assert killed_in_run >= 3, f"only {killed_in_run} of the kills hit a running apply"

    for project in [MEASURED, *KILLED]:
        clean(v, conn, project)
