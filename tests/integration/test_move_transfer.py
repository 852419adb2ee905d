"""Move and transfer against the lab (issue 12): one module-scoped set-up, applied on the day
before and on the day of the move.

8350 (Universiteit Utrecht) moves to 8351 (Erasmus, from 2026-03-01; same two researchers,
new accounts p8351.*). 8351 also receives a transfer from 8352's folder
``Overzetten naar project 8351/`` from 2026-03-01. Files are written and read as the people
themselves (their uidNumber, gidNumber and the groups AD resolves).
"""

from __future__ import annotations

import os
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
from tests.integration.helpers import example_contract, lab_vars, tre, tre_json
from tests.integration.test_storage_access import as_person

pytestmark = pytest.mark.lab

OLD, NEW, SOURCE = "8350", "8351", "8352"
PROJECTS = [OLD, NEW, SOURCE]
FOLDER = f"Overzetten naar project {NEW}"


@pytest.fixture(scope="module")
def moved(lab_inventory, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("move")
    v = lab_vars()
    clean(v, PROJECTS)
    env = env_of(tmp)
    transfers = [{"from_project": int(SOURCE), "from": MOVE_DAY}]
    docs = [
        example_contract("9001-small.yaml", OLD),
        new_contract(NEW, OLD, transfers=transfers),
        example_contract("9001-small.yaml", SOURCE),
    ]
    contracts = write_contracts(tmp, docs)
    tre("apply", str(contracts), "--today", BEFORE, "--yes", env=env)
    who = people(v, PROJECTS)
    root = Path(v["tre_projects_root"])
    old = root / f"P{OLD}"
    researcher = who[f"p{OLD}.jdevries"]
    write_as(researcher, old / "OtherData" / "data.bin", os.urandom(1_500_000))
    write_as(researcher, old / "export" / "tabel 1.csv", b"a,b\n1,2\n")
    write_as(researcher, old / "archive" / "sub" / "notities.txt", "café\n".encode())
    (old / "OtherData" / "link").symlink_to("/etc/passwd")  # not moved, never followed
    write_as(researcher, Path(v["tre_workspaces_root"]) / f"p{OLD}.jdevries" / "mine.txt", b"x")
    source = root / f"P{SOURCE}" / FOLDER
    write_as(who[f"p{SOURCE}.jdevries"], source / "a.csv", b"id\n1\n")
    write_as(who[f"p{SOURCE}.jdevries"], source / "sub" / "b.txt", b"approved\n")
    (source / "passwd").symlink_to("/etc/passwd")  # a researcher's link: skipped, reported
    (root / f"P{NEW}" / "import" / "sub").mkdir()
    (root / f"P{NEW}" / "import" / "sub" / "b.txt").write_bytes(b"already here, other\n")
    before = tree(old)
    plan = tre("plan", str(contracts), "--today", MOVE_DAY, env=env)
    applied = tre_json("apply", str(contracts), "--today", MOVE_DAY, "--yes", env=env)
    yield {
        "v": v,
        "env": env,
        "contracts": contracts,
        "plan": plan,
        "applied": applied,
        "before": before,
        "root": root,
        "people": people(v, PROJECTS),
    }
    clean(v, PROJECTS)


def test_plan_lists_the_move_and_the_transfer(moved):
    text = moved["plan"].stdout
    assert f"Project {OLD} (moved):" in text
    assert f"  > move P{OLD} → P{NEW} (3 files, 1.5 MB)" in text
    assert f"  - remove P{OLD} content after verified move" in text
    assert f"  - remove workspace p{OLD}.jdevries after verified move" in text
    assert f"  > transfer P{SOURCE}/{FOLDER} → P{NEW}/import (1 files, 5 bytes)" in text


def test_content_moved_byte_for_byte_and_the_source_removed(moved):
    root, v = moved["root"], moved["v"]
    assert not (root / f"P{OLD}").exists()
    assert not list(Path(v["tre_workspaces_root"]).glob(f"p{OLD}.*"))  # personal: not moved
    new = tree(root / f"P{NEW}")
    assert {k: new[k] for k in moved["before"]} == moved["before"]
    assert not (root / f"P{NEW}" / "OtherData" / "link").exists()
    copy = root / f"P{NEW}" / "OtherData" / "data.bin"
    assert (copy.stat().st_uid, copy.stat().st_gid) == (0, 0)


def test_new_people_have_access_the_old_accounts_none(moved):
    who, root = moved["people"], moved["root"]
    copy = root / f"P{NEW}" / "OtherData" / "data.bin"
    reader = as_person(who[f"p{NEW}.zvanthoff"], "sha256sum", str(copy))
    assert reader.returncode == 0, reader.stderr
    assert reader.stdout.split()[0] == moved["before"]["OtherData/data.bin"]
    writer = as_person(who[f"p{NEW}.jdevries"], "sh", "-c", f"echo x >> '{copy.parent}/new.txt'")
    assert writer.returncode == 0, writer.stderr
    for sam in (f"p{OLD}.jdevries", f"p{OLD}.zvanthoff"):
        refused = as_person(who[sam], "cat", str(copy))
        assert refused.returncode != 0 and "Permission denied" in refused.stderr
        # even with the file's directory path known, and the owner's own files gone
        assert "Permission denied" in as_person(who[sam], "ls", str(copy.parent)).stderr
        assert int(who[sam]["userAccountControl"]) & 2  # disabled from the move day
    assert not int(who[f"p{NEW}.jdevries"]["userAccountControl"]) & 2


def test_transfer_once_links_skipped_nothing_overwritten(moved):
    root, env, contracts = moved["root"], moved["env"], moved["contracts"]
    imported = root / f"P{NEW}" / "import"
    assert (imported / "a.csv").read_bytes() == b"id\n1\n"
    assert (imported / "sub" / "b.txt").read_bytes() == b"already here, other\n"
    assert not (imported / "passwd").exists()
    warnings = " ".join(moved["applied"].get("warnings", []))
    assert "'passwd' is a symbolic link; not followed" in warnings
    assert "import/'sub/b.txt' exists with other content" in warnings
    reader = as_person(moved["people"][f"p{NEW}.zvanthoff"], "cat", str(imported / "a.csv"))
    assert reader.returncode == 0 and reader.stdout == "id\n1\n"
    (imported / "a.csv").unlink()  # the copy deleted: never transferred again
    write_as(moved["people"][f"p{SOURCE}.jdevries"], root / f"P{SOURCE}" / FOLDER / "c.csv", b"c\n")
    later = tre_json("apply", str(contracts), "--today", "2026-03-02", "--yes", env=env)
    (change,) = later["changes"]
    assert (change["op"], change["kind"], change["after"]["files"]) == ("transfer", "files", 1)
    assert [e["path"] for e in change["after"]["entries"]] == ["c.csv"]
    assert not (imported / "a.csv").exists() and (imported / "c.csv").read_bytes() == b"c\n"
    again = tre_json("apply", str(contracts), "--today", "2026-03-02", "--yes", env=env)
    assert again["changes"] == []
    show = tre_json("project", "show", NEW, env=env)
    assert show["links"]["transfers_in"] == [{"project": SOURCE, "files": 2, "bytes": 7}]
    assert show["links"]["moved_from"] == {"project": OLD, "since": MOVE_DAY}
    ledger = [e for e in show["ledger"] if e["op"] == "transfer"]
    assert [e["detail"]["after"]["files"] for e in ledger] == [1, 1]


def test_status_links_ledger_and_no_archive_later(moved):
    env, contracts = moved["env"], moved["contracts"]
    show = tre_json("project", "show", OLD, env=env)
    assert show["project"]["status"] == "moved"
    assert show["links"]["moved_to"] == {"project": NEW, "since": MOVE_DAY}
    counts = Counter((e["op"], e["kind"], e["name"]) for e in show["ledger"])
    assert counts[("move", "content", f"P{OLD}")] == 1
    assert counts[("remove", "content", f"P{OLD}")] == 1
    move = next(e for e in show["ledger"] if e["op"] == "move")
    assert (move["detail"]["after"]["files"], move["detail"]["after"]["bytes"]) == (3, 1_500_014)
    text = tre("project", "show", OLD, env=env).stdout
    assert f"moved to    {NEW} since {MOVE_DAY}" in text
    # after the old contract's end (2027-01-31): still moved, nothing archived, no change
    late = tre_json("plan", str(contracts), "--today", "2027-02-01", env=env)
    assert [c for c in late["changes"] if c.get("project") == OLD] == []
