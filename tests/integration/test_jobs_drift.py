"""`tre jobs run` in the lab: a kill -9 after a mail left and before its record sends that
one mail again and no other; drift reports hand-made changes (AD, quota) to the operator and
changes nothing; reconcile (when configured) puts them back; two runs never overlap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from ldap3 import MODIFY_REPLACE

from tests.integration.helpers import (
    INVENTORY,
    REPO,
    ad_connection,
    ad_objects,
    clean_project,
    example_contract,
    lab_vars,
    tre,
    write_contract,
)
from tests.integration.jobs_helpers import Maildir, fill, small_policy

pytestmark = pytest.mark.lab

DOMAIN = "jobs79.example.org"


def _setup(tmp_path: Path, project: str, lead: str, other: str) -> tuple[Path, Path, dict]:
    v = lab_vars()
    clean_project(v, project)
    base = example_contract("9001-small.yaml", project)
    people = [dict(base["researchers"][0], email=f"{lead}@{DOMAIN}"),
              dict(base["researchers"][1], email=f"{other}@{DOMAIN}")]  # fmt: skip
    path = write_contract(tmp_path / f"{project}.yaml", dict(base, researchers=people))
    policy = small_policy(tmp_path / "policy.yaml")
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home"),
           "TRE_OPERATOR_EMAIL": f"ops{project}@{DOMAIN}",
           "TRE_METRICS_DIR": str(tmp_path)}  # fmt: skip
    tre("apply", str(path), "--policy", str(policy), "--today", "2026-12-01", "--yes", env=env)
    return path, policy, env


KILLER = """
import os, signal, sys
from provisioning.jobs import mail
sent = mail.Mailer.send
def send(self, msg):
    sent(self, msg)
    os.kill(os.getpid(), signal.SIGKILL)  # after the mail left, before its record
mail.Mailer.send = send
from provisioning.cli import cli
cli(sys.argv[1:], prog_name="tre")
"""


def test_kill_after_sending_gives_at_most_one_duplicate(lab_inventory, tmp_path):
    v = lab_vars()
    path, policy, env = _setup(tmp_path, "7903", "ann7903", "bas7903")
    fill(Path(v["tre_projects_root"]) / "P7903", "data.bin", 19)  # 95 %: lead and researcher
    maildir = Maildir(Path(v["tre_lab_mail_dir"]), DOMAIN)
    args = ["jobs", "run", str(path), "--policy", str(policy), "--today", "2026-12-07",
            "--only", "quota-weekly"]  # fmt: skip
    killer_env = {"TRE_INVENTORY": str(INVENTORY), **os.environ, **env}  # as helpers.tre
    killed = subprocess.run([sys.executable, "-c", KILLER, *args], env=killer_env,
                            cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert killed.returncode == -9
    assert [m["to"] for m in maildir.new_mails()] == [f"ann7903@{DOMAIN}"]
    tre(*args, env=env)
    after = Counter(m["to"] for m in maildir.new_mails())
    assert after == {f"ann7903@{DOMAIN}": 1, f"bas7903@{DOMAIN}": 1}  # ann's one duplicate
    tre(*args, env=env)
    assert maildir.new_mails() == []
    clean_project(v, "7903")


def _limit(path: Path) -> int:
    out = subprocess.run(["btrfs", "qgroup", "show", "-re", "--raw", str(path)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    qgroup = subprocess.run(["btrfs", "subvolume", "show", str(path)], capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    subvol_id = next(ln.split()[-1] for ln in qgroup.splitlines() if "Subvolume ID" in ln)
    row = next(ln.split() for ln in out.splitlines() if ln.startswith(f"0/{subvol_id} "))
    return int(row[3])


def test_drift_reported_not_changed_then_reconciled(lab_inventory, tmp_path):
    v = lab_vars()
    path, policy, env = _setup(tmp_path, "7904", "cor7904", "dirk7904")
    folder = Path(v["tre_projects_root"]) / "P7904"
    subprocess.run(["btrfs", "qgroup", "limit", "30M", str(folder)], check=True)  # by hand
    conn = ad_connection(v)
    account = ad_objects(conn, v["tre_ad_projects_ou"])["p7904.jdevries"]
    conn.modify(account["dn"], {"userAccountControl": [(MODIFY_REPLACE, [514])]})  # by hand
    maildir = Maildir(Path(v["tre_lab_mail_dir"]), DOMAIN)

    def jobs(day: str, *extra: str) -> list[dict]:
        out = tre("jobs", "run", str(path), "--policy", str(policy), "--today", day, *extra,
                  "--json", env=env)  # fmt: skip
        return json.loads(out.stdout)

    (drift,) = jobs("2026-12-02", "--only", "drift")
    assert drift["status"] == "done" and drift["figures"]["differences"] == 2, drift
    (mail,) = maildir.new_mails()
    assert mail["to"] == f"ops7904@{DOMAIN}"
    assert mail["subject"] == "Afwijkingen van de contracten (2026-12-02): project 7904"
    assert "p7904.jdevries" in mail["body"] and "P7904" in mail["body"]
    assert _limit(folder) == 30 * 1024**2  # nothing changed
    assert (
        int(ad_objects(conn, v["tre_ad_projects_ou"])["p7904.jdevries"]["userAccountControl"])
        == 514
    )
    assert jobs("2026-12-02", "--only", "drift")[0]["status"] == "not-due"
    assert maildir.new_mails() == []
    off = jobs("2026-12-03", "--only", "reconcile")
    assert off[0]["status"] == "off"
    (rec,) = jobs("2026-12-03", "--only", "reconcile", "--reconcile")
    assert rec["status"] == "done" and rec["figures"]["changes"] == 2, rec
    assert _limit(folder) == 20 * 1024**2
    assert (
        int(ad_objects(conn, v["tre_ad_projects_ou"])["p7904.jdevries"]["userAccountControl"])
        == 512
    )
    (clean,) = jobs("2026-12-04", "--only", "drift")
    assert clean["figures"]["differences"] == 0 and maildir.new_mails() == []
    listed = json.loads(tre("jobs", "list", "--today", "2026-12-04", "--json", env=env).stdout)
    drift_row = next(r for r in listed if r["job"] == "drift")
    assert (drift_row["last_period"], drift_row["next_due"]) == ("2026-12-04", "2026-12-05")
    clean_project(v, "7904")


def test_two_runs_never_overlap(lab_inventory, tmp_path):
    """A run holding the lock: a second refuses at once, one line, exit 1, nothing sent."""
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    holder = subprocess.Popen(["flock", str(tmp_path / "home" / "jobs.lock"), "sleep", "30"])
    try:
        import time

        time.sleep(0.5)
        second = tre("jobs", "run", str(REPO / "examples" / "contracts"), env=env, check=False)
    finally:
        holder.kill()
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [
        f"Error: another tre jobs run holds {tmp_path / 'home' / 'jobs.lock'}; this run does"
        " nothing"
    ]
