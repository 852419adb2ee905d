"""Issue 9, items 1 and 2 against the lab: an issued account never changes hands, and a uid/gid
changed by hand in AD never spreads into the file system (restored from tre's record, or the
run refuses naming both objects). Projects 7600-7609 only.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from ldap3 import MODIFY_REPLACE

from tests.integration.helpers import (
    ad_objects,
    delete_subtree,
    lab_vars,
    remove_project_storage,
    tre,
    tre_json,
    write_contract,
)

pytestmark = pytest.mark.lab
TODAY = "2026-12-01"


def person(pid: str, n: int) -> dict[str, Any]:
    return {
        "id": pid,
        "name": f"Onderzoeker {pid}",
        "email": f"{pid}@uu.nl",
        "employer": "Universiteit Utrecht",
        "nda_signed": "2026-01-10",
        "awareness_errors": 0,
        "token": f"T-76{n:05d}",
    }


def contract(project: str, ids: list[str], n0: int) -> dict[str, Any]:
    return {
        "project": int(project),
        "title": f"Identiteit {project}",
        "status": "approved",
        "institution": {"name": "Universiteit Utrecht", "authorization_until": "2028-06-30"},
        "start": "2026-02-01",
        "end": "2027-01-31",
        "retention_years": 5,
        "lead": ids[0],
        "researchers": [person(pid, n0 + i) for i, pid in enumerate(ids)],
        "file_subjects": ["GBAPERSOONTAB"],
    }


@pytest.fixture
def lab(lab_inventory, tmp_path):
    v = lab_vars()
    from tests.integration.helpers import ad_connection

    conn = ad_connection(v)
    projects = ["7600", "7601", "7602", "7607"]

    def clean() -> None:
        for p in projects:
            delete_subtree(conn, f"OU=P{p},{v['tre_ad_projects_ou']}")
            remove_project_storage(v, p)
            shutil.rmtree(Path(v["tre_initial_password_dir"]) / p, ignore_errors=True)

    clean()
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    yield {"v": v, "conn": conn, "env": env, "dir": tmp_path}
    clean()
    conn.unbind()


def account(conn, v, sam: str) -> dict[str, Any]:
    conn.search(v["tre_ad_projects_ou"], f"(sAMAccountName={sam})", attributes=["*"])
    assert len(conn.entries) == 1, sam
    return conn.entries[0].entry_attributes_as_dict


def test_adding_a_person_never_moves_an_issued_account(lab):
    """Repro of item 1: the newcomer's id cuts to the same name; the first keeps theirs."""
    v, conn, env, d = lab["v"], lab["conn"], lab["env"], lab["dir"]
    path = d / "c" / "7607.yaml"
    path.parent.mkdir()
    write_contract(path, contract("7607", ["researcherabcaid"], 1))
    tre("apply", str(path), "--today", TODAY, "--yes", env=env)
    first = account(conn, v, "p7607.researcher-3bx")
    assert first["employeeID"] == ["researcherabcaid"]
    password = Path(v["tre_initial_password_dir"]) / "7607" / "p7607.researcher-3bx.txt"
    before = password.read_text()

    write_contract(path, contract("7607", ["researcherabcaid", "researcherabcadk"], 1))
    plan = tre_json("plan", str(path), "--today", TODAY, env=env)
    ops = {(c["op"], c["kind"], c["name"]) for c in plan["changes"]}
    assert not any(name == "p7607.researcher-3bx" for _, kind, name in ops if kind == "account")
    created = [n for op, kind, n in ops if (op, kind) == ("create", "account")]
    assert len(created) == 1 and created[0] != "p7607.researcher-3bx"

    tre("apply", str(path), "--today", TODAY, "--yes", env=env)
    assert account(conn, v, "p7607.researcher-3bx")["employeeID"] == ["researcherabcaid"]
    assert account(conn, v, created[0])["employeeID"] == ["researcherabcadk"]
    assert password.read_text() == before  # nobody else got the first person's password


def test_an_account_of_another_person_is_refused_even_with_a_fresh_state_store(lab):
    """Without tre's records (fresh --state) AD's employeeID still stops a hand-over."""
    v, conn, env, d = lab["v"], lab["conn"], lab["env"], lab["dir"]
    path = write_contract(d / "7607.yaml", contract("7607", ["researcherabcaid"], 1))
    tre("apply", str(path), "--today", TODAY, "--yes", env=env)
    # a new state store: the names are worked out as if nobody had one; the newcomer sorts
    # first and would get p7607.researcher-3bx, which AD says is researcherabcaid's
    fresh = dict(env, TRE_STATE=f"sqlite:///{d}/fresh.db")
    write_contract(path, contract("7607", ["researcherabcaid", "researcherabcadk"], 1))
    result = tre("apply", str(path), "--today", TODAY, "--yes", env=fresh, check=False)
    assert result.returncode == 1
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "p7607.researcher-3bx belongs to person researcherabcaid" in lines[0]
    assert "Traceback" not in result.stderr
    assert account(conn, v, "p7607.researcher-3bx")["employeeID"] == ["researcherabcaid"]


def acl_gids(path: Path) -> set[int]:
    out = os.popen(f"getfacl -n -p {path} 2>/dev/null").read()
    return {
        int(ln.split(":")[1])
        for ln in out.splitlines()
        if ln.startswith("group:") and ln.split(":")[1]
    }


def test_a_gid_changed_by_hand_is_restored_and_never_reaches_the_acls(lab):
    """Repro of item 2: 7601's members group gets 7600's gid by hand; apply restores it."""
    v, conn, env, d = lab["v"], lab["conn"], lab["env"], lab["dir"]
    paths = [
        write_contract(d / "7600.yaml", contract("7600", ["anna"], 10)),
        write_contract(d / "7601.yaml", contract("7601", ["bert"], 20)),
    ]
    args = [str(p) for p in paths]
    tre("apply", *args, "--today", TODAY, "--yes", env=env)
    objs = ad_objects(conn, v["tre_ad_projects_ou"])
    gid_a, gid_b = objs["p7600-members"]["gidNumber"], objs["p7601-members"]["gidNumber"]
    uid_a, uid_b = objs["p7600.anna"]["uidNumber"], objs["p7601.bert"]["uidNumber"]
    conn.modify(objs["p7601-members"]["dn"], {"gidNumber": [(MODIFY_REPLACE, [gid_a])]})
    conn.modify(objs["p7601.bert"]["dn"], {"uidNumber": [(MODIFY_REPLACE, [uid_a])]})

    plan = tre_json("plan", *args, "--today", TODAY, env=env)
    restores = {
        (c["name"], k): (c["before"][k], c["after"][k])
        for c in plan["changes"]
        if c["op"] == "update"
        for k in ("gidNumber", "uidNumber")
        if k in (c.get("after") or {})
    }
    assert restores[("p7601-members", "gidNumber")] == (gid_a, gid_b)
    assert restores[("p7601.bert", "uidNumber")] == (uid_a, uid_b)

    tre("apply", *args, "--today", TODAY, "--yes", env=env)
    objs = ad_objects(conn, v["tre_ad_projects_ou"])
    assert objs["p7601-members"]["gidNumber"] == gid_b
    assert objs["p7601.bert"]["uidNumber"] == uid_b
    folder = Path(v["tre_projects_root"]) / "P7600"
    assert gid_b not in acl_gids(folder) and gid_a in acl_gids(folder)
    assert tre_json("plan", *args, "--today", TODAY, env=env)["changes"] == []


def test_a_duplicate_gid_without_a_record_is_refused_naming_both(lab):
    """No record to restore from (fresh state): one line naming both groups, nothing written."""
    v, conn, env, d = lab["v"], lab["conn"], lab["env"], lab["dir"]
    paths = [
        write_contract(d / "7600.yaml", contract("7600", ["anna"], 10)),
        write_contract(d / "7602.yaml", contract("7602", ["carla"], 30)),
    ]
    args = [str(p) for p in paths]
    tre("apply", *args, "--today", TODAY, "--yes", env=env)
    objs = ad_objects(conn, v["tre_ad_projects_ou"])
    gid_a = objs["p7600-members"]["gidNumber"]
    conn.modify(objs["p7602-members"]["dn"], {"gidNumber": [(MODIFY_REPLACE, [gid_a])]})
    fresh = dict(env, TRE_STATE=f"sqlite:///{d}/fresh.db")
    acl_before = acl_gids(Path(v["tre_projects_root"]) / "P7602")
    result = tre("apply", *args, "--today", TODAY, "--yes", env=fresh, check=False)
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "\n" not in line and f"gidNumber {gid_a} is held by both" in line
    assert "p7600-members" in line and "p7602-members" in line
    assert acl_gids(Path(v["tre_projects_root"]) / "P7602") == acl_before
    assert gid_a not in acl_before


def test_an_id_below_the_range_is_refused(lab):
    """A gidNumber set to 0 (root) by hand never becomes an ACL entry."""
    v, conn, env, d = lab["v"], lab["conn"], lab["env"], lab["dir"]
    path = write_contract(d / "7602.yaml", contract("7602", ["carla"], 30))
    tre("apply", str(path), "--today", TODAY, "--yes", env=env)
    objs = ad_objects(conn, v["tre_ad_projects_ou"])
    conn.modify(objs["p7602-members"]["dn"], {"gidNumber": [(MODIFY_REPLACE, ["0"])]})
    fresh = dict(env, TRE_STATE=f"sqlite:///{d}/fresh.db")
    result = tre("plan", str(path), "--today", TODAY, env=fresh, check=False)
    assert result.returncode == 1
    assert "gidNumber 0 of CN=p7602-members" in result.stderr
    assert 0 not in acl_gids(Path(v["tre_projects_root"]) / "P7602")
