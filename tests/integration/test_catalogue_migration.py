"""Issue 17: an environment applied with per-project catalogue entries (the model before reader
groups) converges to one reader group per subject in one `tre apply`, shown in the plan, and
no project that reads a subject is ever without access (AD membership first, then one ACL
write per path that adds the reader entry and drops the project's entries). Project 7603.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from ldap3 import MODIFY_DELETE

from tests.integration.helpers import (
    EXAMPLES,
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
TODAY = "2026-12-01"
NR = "7603"


def getfacl(path: Path) -> str:
    return subprocess.run(
        ["getfacl", "-n", "-p", str(path)], capture_output=True, text=True, check=True
    ).stdout


def test_per_project_entries_converge_to_reader_groups_in_one_apply(lab_inventory, tmp_path):
    v = lab_vars()
    conn = ad_connection(v)
    delete_subtree(conn, f"OU=P{NR},{v['tre_ad_projects_ou']}")
    remove_project_storage(v, NR)
    contract = yaml.safe_load((EXAMPLES / "9001-small.yaml").read_text())
    contract["project"] = int(NR)
    for i, person in enumerate(contract["researchers"]):
        person["token"] = f"T-76030{i:02d}"
    path = write_contract(tmp_path / f"{NR}.yaml", contract)
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/s.db", "TRE_HOME": str(tmp_path / "home")}
    subject = contract["file_subjects"][0]
    folder = Path(v["tre_catalog_root"]) / subject
    try:
        tre("apply", str(path), "--today", TODAY, "--yes", env=env)
        objects = ad_objects(conn, v["tre_ad_projects_ou"])
        reader = objects[f"DS-{subject}"]
        members, observers = objects[f"p{NR}-members"], objects[f"p{NR}-observers"]
        # back to the model before reader groups: no nesting, the project's own entries
        for group in (members, observers):
            conn.modify(reader["dn"], {"member": [(MODIFY_DELETE, [group["dn"]])]})
        old = ",".join(
            f"{d}g:{g['gidNumber']}:r-X" for g in (members, observers) for d in ("", "d:")
        )
        subprocess.run(["setfacl", "-R", "-m", old, str(folder)], check=True)

        plan = tre_json("plan", str(path), "--today", TODAY, env=env)
        shown = {(c["op"], c["kind"], c["name"]) for c in plan["changes"] if c["project"] == NR}
        assert ("add_members", "group", f"DS-{subject}") in shown
        assert ("update", "catalog_acl", subject) in shown
        result = tre_json("apply", str(path), "--today", TODAY, "--yes", env=env)
        order = [(c["kind"], c["op"]) for c in result["changes"] if c["project"] == NR]
        # AD membership is made before the project's own entries go
        assert order.index(("group", "add_members")) < order.index(("catalog_acl", "update"))
        acl = getfacl(folder)
        assert f"group:{reader['gidNumber']}:r-x" in acl
        assert f"group:{members['gidNumber']}:" not in acl
        assert f"group:{observers['gidNumber']}:" not in acl
        assert tre_json("plan", str(path), "--today", TODAY, env=env)["changes"] == []
    finally:
        delete_subtree(conn, f"OU=P{NR},{v['tre_ad_projects_ou']}")
        remove_project_storage(v, NR)
        conn.unbind()
