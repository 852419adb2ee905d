"""`tre jobs run` stepping day by day through three months in the lab (issue 13): quotas
filled by real writes into btrfs, mails read back from the lab's maildir, a second run each
day sending nothing, a skipped Monday caught up on Tuesday, usage falling below 90 % stopping
the mails, billable extra storage on the 1sts, the OSSC deadline until confirmed.

Projects (9001-small renumbered; policy quotas 20MB / workspaces 8MB, step 10MB):
- 7900: lead Jan (nl), researcher Zoë (en); ends 2027-01-31; folder 95 % until 22 Dec, then
  50 %; Zoë's workspace 95 % throughout.
- 7901: lead Jan (the same person), researcher Rik (nl); ends 2027-01-31; folder 95 %;
  OSSC until 2026-12-15 (deadline 25 Dec), destruction confirmed on 28 Dec.
- 7902: other people; ends 2027-06-30; folder limit raised by hand to 40MB, 28MB written:
  8MB over the 20MB allowance, 70 % of its limit (no warning): one step billed each 1st.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from provisioning.state import StateStore
from tests.integration.helpers import (
    clean_project,
    example_contract,
    lab_vars,
    tre,
    write_contract,
)
from tests.integration.jobs_helpers import Maildir, days, fill, remove, small_policy

pytestmark = pytest.mark.lab

DOMAIN = "jobs79.example.org"
JAN, ZOE, RIK = (f"{n}@{DOMAIN}" for n in ("jan", "zoe", "rik"))
OPERATOR = f"ops@{DOMAIN}"
PROJECTS = ("7900", "7901", "7902")
JOBS = ["--only", "end-reminders", "--only", "quota-weekly", "--only", "quota-monthly",
        "--only", "ossc-deadline"]  # fmt: skip
SKIPPED = date(2026, 12, 14)  # a Monday on which the timer did not run

Q = "Opslag bijna vol: project "
QZ = "Storage nearly full: project 7900"
OSSC = "OSSC-vernietiging: project 7901"
#: day → the mails of that day's run: (recipient, subject)
EXPECTED: dict[date, set[tuple[str, str]]] = {
    date(2026, 12, 1): {(JAN, Q + "7900, 7901"), (ZOE, QZ), (RIK, Q + "7901")},  # W49 (Tue)
    date(2026, 12, 7): {(JAN, Q + "7900, 7901"), (ZOE, QZ), (RIK, Q + "7901")},
    date(2026, 12, 15): {(JAN, Q + "7900, 7901"), (ZOE, QZ), (RIK, Q + "7901")},  # caught up
    date(2026, 12, 16): {(OPERATOR, OSSC)},  # OSSC use ended 15 Dec: deadline 25 Dec
    date(2026, 12, 20): {(JAN, "Herinnering: einddatum project 7900, 7901 nadert")},  # 42 d
    date(2026, 12, 21): {(JAN, Q + "7900, 7901"), (ZOE, QZ), (RIK, Q + "7901")},
    date(2026, 12, 26): {(OPERATOR, OSSC)},  # overdue, every day until confirmed
    date(2026, 12, 27): {(OPERATOR, OSSC)},
    # 7900 below 90 % since 22 Dec: Jan hears of 7901 only; Zoë of her workspace still
    date(2026, 12, 28): {(JAN, Q + "7901"), (ZOE, QZ), (RIK, Q + "7901")},
    date(2027, 1, 4): {(JAN, Q + "7901"), (ZOE, QZ), (RIK, Q + "7901")},
    date(2027, 1, 11): {(JAN, Q + "7901"), (ZOE, QZ), (RIK, Q + "7901")},
    date(2027, 1, 17): {(JAN, "Herinnering: einddatum project 7900, 7901 nadert")},  # 14 d
    date(2027, 1, 18): {(JAN, Q + "7901"), (ZOE, QZ), (RIK, Q + "7901")},
    date(2027, 1, 25): {(JAN, Q + "7901"), (ZOE, QZ), (RIK, Q + "7901")},
    date(2027, 2, 1): {(JAN, "Bevestiging: project 7900, 7901 is beëindigd")},
}


def _contracts(tmp_path: Path) -> list[Path]:
    def people(lead, lead_mail, other, other_mail, other_lang):
        base = example_contract("9001-small.yaml", "1")["researchers"]
        first = dict(base[0], id=lead, email=lead_mail)
        second = dict(base[1], id=other, email=other_mail, language=other_lang)
        return [first, second]

    c0 = example_contract(
        "9001-small.yaml",
        "7900",
        lead="jdevries",
        researchers=people("jdevries", JAN, "zvanthoff", ZOE, "en"),
    )
    c1 = example_contract(
        "9001-small.yaml",
        "7901",
        lead="jdevries",
        researchers=people("jdevries", JAN, "rvos", RIK, "nl"),
        ossc={
            "researchers": ["rvos"],
            "from": datetime.date(2026, 2, 1),
            "until": datetime.date(2026, 12, 15),
        },
    )
    c2 = example_contract("9001-small.yaml", "7902", lead="kbos", end=datetime.date(2027, 6, 30),
                          researchers=people("kbos", f"kees@{DOMAIN}", "lbos",
                                             f"lies@{DOMAIN}", "nl"))  # fmt: skip
    for c in (c1, c2):  # other tokens than 7900's people
        for i, r in enumerate(c["researchers"]):
            if r["id"] != "jdevries":
                r["token"] = f"T-079{c['project'] % 100:02d}{i}"
    directory = tmp_path / "contracts"
    directory.mkdir()
    for c in (c0, c1, c2):
        write_contract(directory / f"{c['project']}.yaml", c)
    return [directory]


def _clean(v) -> None:
    for p in PROJECTS:
        clean_project(v, p)
        for manifest in (Path(v["tre_lab_dir"]) / "ossc" / "inbox").glob(f"P{p}-*"):
            manifest.unlink()


def _run(paths, policy, day: date, env) -> list[dict]:
    out = tre("jobs", "run", *map(str, paths), "--policy", str(policy), "--today",
              day.isoformat(), *JOBS, "--json", env=env)  # fmt: skip
    return json.loads(out.stdout)


def test_three_months_of_jobs(lab_inventory, tmp_path):
    v = lab_vars()
    _clean(v)
    policy = small_policy(tmp_path / "policy.yaml")
    paths = _contracts(tmp_path)
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home"),
           "TRE_OPERATOR_EMAIL": OPERATOR, "TRE_METRICS_DIR": str(metrics)}  # fmt: skip
    tre("apply", *map(str, paths), "--policy", str(policy), "--today", "2026-12-01", "--yes",
        env=env)  # fmt: skip
    projects, workspaces = Path(v["tre_projects_root"]), Path(v["tre_workspaces_root"])
    fill(projects / "P7900", "data.bin", 19)  # 95 % of 20MB
    fill(projects / "P7901", "data.bin", 19)
    fill(workspaces / "p7900.zvanthoff", "work.bin", 7.6)  # 95 % of 8MB
    subprocess.run(["btrfs", "qgroup", "limit", "40M", str(projects / "P7902")], check=True)
    fill(projects / "P7902", "data.bin", 28)  # 70 % of its limit, 8MB over the allowance
    maildir = Maildir(Path(v["tre_lab_mail_dir"]), DOMAIN)
    got: dict[date, set[tuple[str, str]]] = {}
    for day in days(date(2026, 12, 1), date(2027, 2, 28)):
        if day == SKIPPED:
            continue
        if day == date(2026, 12, 22):
            remove(projects / "P7900", "data.bin")
            fill(projects / "P7900", "half.bin", 10)  # 50 %
        if day == date(2026, 12, 28):
            tre("ossc", "confirm-destroyed", "7901", "--today", day.isoformat(), env=env)
        reports = _run(paths, policy, day, env)
        assert all(r["status"] != "failed" for r in reports), (day, reports)
        mails = maildir.new_mails()
        assert len(mails) == len({(m["to"], m["subject"]) for m in mails}), day  # one each
        assert all(m["auto"] == "auto-generated" and m["message_id"] for m in mails)
        if mails:
            got[day] = {(m["to"], m["subject"]) for m in mails}
        again = _run(paths, policy, day, env)  # the same day again: nothing
        assert maildir.new_mails() == [], day
        assert all(r["status"] in ("not-due", "done") for r in again)
        assert all(r["figures"].get("mails", 0) == 0 for r in again)
    assert got == EXPECTED
    assert sum(len(m) for m in got.values()) == 33
    billed = StateStore(env["TRE_STATE"]).billable_usage(kind="extra_storage")
    assert [(b["project"], b["period"], b["quantity"]) for b in billed] == [
        ("7902", "2026-12", 1),
        ("7902", "2027-01", 1),
        ("7902", "2027-02", 1),
    ]
    prom = (metrics / "tre_quota.prom").read_text()
    assert 'tre_quota_limit_bytes{project="7902",kind="project",owner=""} 41943040' in prom
    ledger = json.loads(tre("project", "show", "7901", "--json", env=env).stdout)["ledger"]
    assert [e["op"] for e in ledger if e["kind"] == "ossc"].count("confirm-destroyed") == 1
    _clean(v)
    shutil.rmtree(tmp_path / "home", ignore_errors=True)
