"""After `tre apply`: access as the people themselves (numeric ids), and quota plans."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from ldap3 import SUBTREE
from ldap3.utils.conv import escape_filter_chars

from tests.integration.conftest import PROJECTS, TODAY
from tests.integration.helpers import EXAMPLES, ad_connection, ad_objects, tre_json, write_contract

pytestmark = pytest.mark.lab


def resolved_groups(conn, base_dn: str, dn: str) -> list[int]:
    """The account's groups as the file server's resolver gives them (docs/storage.md:
    sssd's AD provider expands nesting): every group holding it, directly or through nested
    groups (LDAP_MATCHING_RULE_IN_CHAIN), by gidNumber."""
    conn.search(
        base_dn,
        f"(&(objectClass=group)(member:1.2.840.113556.1.4.1941:={escape_filter_chars(dn)}))",
        SUBTREE,
        attributes=["gidNumber"],
    )
    return sorted(int(e.gidNumber.value) for e in conn.entries if e.gidNumber.value)


def as_person(obj: dict, *cmd: str) -> subprocess.CompletedProcess:
    """Run a command as the person: uidNumber, gidNumber and the groups AD resolves."""
    uid, gid = int(obj["uidNumber"]), int(obj["gidNumber"])
    groups = obj.get("groups") or []
    extra = [f"--groups={','.join(map(str, groups))}"] if groups else ["--clear-groups"]
    return subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={gid}", *extra, *cmd],
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def people(applied):
    v = applied["v"]
    # a connection of its own: the session's (applied["conn"]) has been idle since the first
    # apply, longer than the DC keeps an idle LDAP session (AD's MaxConnIdleTime, 900 s)
    conn = ad_connection(v)
    # Only the example projects' OUs and the reader groups: a lab that also holds a big
    # environment (bench/bench_env.py) must not make this read time out.
    ou = v["tre_ad_projects_ou"]
    objects: dict = {}
    for base in (*(f"OU=P{p},{ou}" for p in PROJECTS), f"OU=Subjects,{ou}"):
        objects.update(ad_objects(conn, base))
    for obj in objects.values():
        if obj.get("uidNumber"):
            obj["groups"] = resolved_groups(conn, v["tre_ad_base_dn"], obj["dn"])
    return objects


def test_contracted_subject_readable_other_refused(applied, people):
    catalog = Path(applied["v"]["tre_catalog_root"])
    researcher = people["p9001.jdevries"]
    granted = next((catalog / "GBAPERSOONTAB").glob("*.csv"))
    other = next((catalog / "SPOLISBUS").glob("*.csv"))  # not in contract 9001
    ok = as_person(researcher, "cat", str(granted))
    assert ok.returncode == 0 and ok.stdout, ok.stderr
    refused = as_person(researcher, "cat", str(other))
    assert refused.returncode != 0 and "Permission denied" in refused.stderr
    # the access is the reader group's: the project's own gids alone do not read it
    own_only = as_person(dict(researcher, groups=[]), "cat", str(granted))
    assert own_only.returncode != 0 and "Permission denied" in own_only.stderr
    reader = people["DS-GBAPERSOONTAB"]
    assert int(reader["gidNumber"]) in researcher["groups"]


def test_observer_reads_the_subject_through_the_observers_group(applied, people):
    catalog = Path(applied["v"]["tre_catalog_root"])
    observer = people["p9002.asmit"]  # project 9002 reads SPOLISBUS
    granted = next((catalog / "SPOLISBUS").glob("*.csv"))
    assert as_person(observer, "cat", str(granted)).returncode == 0
    write = as_person(observer, "sh", "-c", f"echo x >> {granted}")
    assert write.returncode != 0 and "Permission denied" in write.stderr


def test_the_subject_acl_has_one_entry_for_its_reader_group(applied, people):
    """Issue 17: the ACL does not grow with projects: one named group, the reader group."""
    catalog = Path(applied["v"]["tre_catalog_root"]) / "GBAPERSOONTAB"
    acl = subprocess.run(["getfacl", "-n", "-p", str(catalog)], capture_output=True, text=True)
    named = [ln for ln in acl.stdout.splitlines() if ln.startswith("group:") and ln.split(":")[1]]
    reader = int(people["DS-GBAPERSOONTAB"]["gidNumber"])
    project_gids = {int(o["gidNumber"]) for n, o in people.items() if n.startswith("p900")}
    assert f"group:{reader}:r-x" in named
    assert not [ln for ln in named if int(ln.split(":")[1]) in project_gids]


def test_members_write_observers_only_read(applied, people):
    project = Path(applied["v"]["tre_projects_root"]) / "P9002"
    target = project / "export" / "table.csv"
    wrote = as_person(people["p9002.mbakker"], "sh", "-c", f"echo a,b > {target}")
    assert wrote.returncode == 0, wrote.stderr
    observer = people["p9002.asmit"]
    assert as_person(observer, "cat", str(target)).returncode == 0
    refused = as_person(observer, "sh", "-c", f"echo x > {project}/export/observer.csv")
    assert refused.returncode != 0 and "Permission denied" in refused.stderr
    stranger = people["p9001.jdevries"]
    assert "Permission denied" in as_person(stranger, "ls", str(project)).stderr
    target.unlink()


def test_workspace_only_for_its_owner(applied, people):
    home = Path(applied["v"]["tre_workspaces_root"])
    owner = as_person(people["p9001.jdevries"], "touch", str(home / "p9001.jdevries" / "x"))
    assert owner.returncode == 0, owner.stderr
    other = as_person(people["p9001.zvanthoff"], "ls", str(home / "p9001.jdevries"))
    assert "Permission denied" in other.stderr
    (home / "p9001.jdevries" / "x").unlink()


def test_extra_storage_shows_exactly_one_quota_change(applied, tmp_path):
    contract = yaml.safe_load((EXAMPLES / "9001-small.yaml").read_text())
    contract.setdefault("storage", {}).setdefault("extra", []).append(
        {"size": "50GB", "from": TODAY}
    )
    changed = write_contract(tmp_path / "9001.yaml", contract)
    plan = tre_json("plan", str(changed), "--today", TODAY, env=applied["env"])
    assert [(c["op"], c["kind"], c["name"]) for c in plan["changes"]] == [
        ("raise", "quota", "P9001")
    ]
    change = plan["changes"][0]
    assert change["after"] - change["before"] == 50 * 1024**3
