"""A closed project's accounts and groups deleted by the pure planner (tre_ad_closed), and the
heavy desktop group as a seat pool: no AD needed (FakeAD of test_tre_ad_diff)."""

from __future__ import annotations

import copy

from ansible_collections.tre.secenv.plugins.module_utils import tre_ad_wanted as wanted
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import SeatWarning
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import validate

from tests.modules.test_tre_ad_diff import BASE, P_OU, FakeAD, S, desired, reports, run, software

READERS = f"CN=DS-GBAPERSOONTAB,OU=Subjects,{S.projects_ou}"


def with_reading(want: dict, reading: bool) -> dict:
    want = copy.deepcopy(want)
    want["subjects"] = {
        "GBAPERSOONTAB": {"group": "DS-GBAPERSOONTAB", "projects": ["7001"] if reading else []}
    }
    return want


def closed(want: dict) -> dict:
    """The desired state closed_account_days after the end: nothing held, all absent."""
    want = with_reading(want, False)
    project = want["projects"][0]
    project.update(status="ended", accounts=[], absent=["accounts", "groups"])
    for pool in want.get("software", {}).values():
        pool["members"] = []
    return want


def set_up() -> tuple[FakeAD, dict]:
    ad = FakeAD()
    ad.add(f"OU=Subjects,{S.projects_ou}", ["top", "organizationalUnit"], {})
    active = with_reading(desired(software=software(["p7001.jan", "p7001.piet"])), True)
    run(ad, active)
    assert (
        len(ad.get(READERS)["member"]) == 2
        and len(ad.get(f"CN=SW-SAS,{S.software_ou}")["member"]) == 2
    )
    return ad, active


def test_closed_project_memberships_go_first_then_accounts_then_groups():
    ad, active = set_up()
    before = run(ad, active)[2]  # nothing to change: the numbers AD holds
    gids, jan_ids = before["groups"], before["accounts"]["p7001.jan"]
    writes, warnings, ids = run(ad, closed(active))
    ops = [(r["op"], r["kind"], r["name"]) for r in reports(writes)]
    assert ops == [
        ("remove_members", "group", "SW-SAS"),
        ("remove_members", "group", "DS-GBAPERSOONTAB"),
        ("delete", "account", "p7001.jan"),
        ("delete", "account", "p7001.piet"),
        ("delete", "group", "p7001-members"),
        ("delete", "group", "p7001-observers"),
    ]
    assert warnings == []
    jan = reports(writes)[2]
    assert jan["before"] == {
        "sAMAccountName": "p7001.jan",
        "employeeID": "jan",
        "uidNumber": jan_ids["uid"],
        "gidNumber": jan_ids["gid"],
    }
    assert jan["after"] is None and jan["project"] == "7001"
    assert reports(writes)[4]["before"]["member"] == ["p7001.jan", "p7001.piet"]
    # the deleted groups' numbers stay in ids (storage keeps its ACL entries by number)
    assert ids["groups"]["p7001-members"] == gids["p7001-members"] == jan_ids["gid"]
    assert ids["accounts"] == {}
    left = {dn for dn in ad.objects if dn.endswith(P_OU.lower())}
    assert left == {P_OU.lower()}  # the OU stays (purge, issue 14, removes it)
    assert run(ad, closed(active))[0] == []  # the second plan is empty


def test_closed_project_asks_for_no_numbers_and_check_mode_writes_nothing():
    ad, active = set_up()
    want = closed(active)
    assert wanted.missing_ids(want, ad.index()) == []
    before = copy.deepcopy(ad.objects)
    writes, _, _ = run(ad, want, check=True)
    assert len([w for w in writes if w.op == "delete"]) == 4
    assert ad.objects == before
    ad.apply(writes)  # what a killed run left half-way: the accounts gone, the groups not
    ad.add(f"CN=p7001-members,{P_OU}", ["top", "group"], {"gidNumber": 200000})
    writes, _, _ = run(ad, want)
    assert [(r["op"], r["name"]) for r in reports(writes)] == [("delete", "p7001-members")]


def test_only_provable_accounts_are_deleted():
    """An account in the OU that tre did not name for the project is disabled, never deleted;
    objects of other projects are never touched."""
    ad, active = set_up()
    ad.add(f"CN=helpdesk,{P_OU}", ["top", "person", "user"], {"sAMAccountName": "helpdesk"})
    ad.add(
        f"CN=p7002.jan,{P_OU}", ["top", "person", "user"], {"sAMAccountName": "p7002.jan"}
    )  # another project's pattern in this OU
    other = f"CN=p7999.x,OU=P7999,OU=Projects,{BASE}"
    ad.add(other, ["top", "person", "user"], {"sAMAccountName": "p7999.x"})
    writes, warnings, _ = run(ad, closed(active))
    deleted = sorted(r["name"] for r in reports(writes) if r["op"] == "delete")
    assert deleted == ["p7001-members", "p7001-observers", "p7001.jan", "p7001.piet"]
    disabled = sorted(r["name"] for r in reports(writes) if r["op"] == "disable")
    assert disabled == ["helpdesk", "p7002.jan"]
    assert len(warnings) == 2 and all("not in the desired state" in w for w in warnings)
    assert ad.get(other) and ad.get(f"CN=helpdesk,{P_OU}")


def test_absent_shape_is_validated():
    ad, active = set_up()
    want = closed(active)
    assert validate(want, required=("ou", "groups")) == []
    bad = copy.deepcopy(want)
    bad["projects"][0]["absent"] = ["groups"]
    assert validate(bad) == ["project 7001: groups can be absent only with the accounts"]
    bad["projects"][0]["absent"] = ["ou", "accounts", "groups"]  # purged (issue 14)
    assert validate(bad) == []
    bad["projects"][0]["absent"] = ["ou", "accounts"]
    assert validate(bad) == ["project 7001: the OU can be absent only with the groups"]
    bad["projects"][0]["absent"] = "accounts"
    assert validate(bad) == ["project 7001: absent must be a list of accounts, groups, ou"]
    listed = copy.deepcopy(active)
    listed["projects"][0]["absent"] = ["accounts"]
    assert validate(listed) == ["project 7001: accounts are listed but absent"]
    assert validate(dict(want, identities={"highest": -1})) == [
        "identities: bad highest issued number"
    ]


def purged(want: dict) -> dict:
    want = closed(want)
    want["projects"][0]["absent"] = ["accounts", "groups", "ou"]
    return want


def test_purged_project_ou_deleted_last_and_never_made_again():
    ad, active = set_up()
    writes, warnings, _ = run(ad, purged(active))
    ops = [(r["op"], r["kind"], r["name"]) for r in reports(writes) if r["op"] == "delete"]
    assert ops[-1] == ("delete", "ou", "P7001") and len(ops) == 5
    assert warnings == []
    assert not {dn for dn in ad.objects if dn.endswith(P_OU.lower())}
    assert run(ad, purged(active))[0] == []  # gone, and not made again


def test_purged_project_ou_with_foreign_object_stays():
    ad, active = set_up()
    ad.add(f"CN=helpdesk,{P_OU}", ["top", "person", "user"], {"sAMAccountName": "helpdesk"})
    writes, warnings, _ = run(ad, purged(active))
    assert "ou" not in {r["kind"] for r in reports(writes) if r["op"] == "delete"}
    assert any("the OU is left" in w for w in warnings)
    assert ad.get(P_OU) and ad.get(f"CN=helpdesk,{P_OU}")


def heavy(members: list[str], seats: int = 2) -> dict:
    return {"group": "HEAVY-DESKTOP", "seats": seats, "members": members}


def test_heavy_desktop_group_is_a_seat_pool():
    ad = FakeAD()
    want = dict(desired(), heavy_desktop=heavy(["p7001.jan"]))
    assert validate(want) == []
    writes, warnings, ids = run(ad, want)
    group = ad.get(f"CN=HEAVY-DESKTOP,{S.software_ou}")
    assert group["member"] == [f"CN=p7001.jan,{P_OU}"]
    assert group["description"] == ["Heavy desktop places HEAVY-DESKTOP"]
    assert isinstance(ids["groups"]["HEAVY-DESKTOP"], int) and warnings == []
    writes, warnings, _ = run(ad, dict(desired(), heavy_desktop=heavy(["p7001.piet"])))
    assert [(r["op"], r["after"], r["before"]) for r in reports(writes)] == [
        ("add_members", {"member": ["p7001.piet"]}, None),
        ("remove_members", None, {"member": ["p7001.jan"]}),
    ]
    _, warnings, _ = run(ad, dict(desired(), heavy_desktop=heavy(["p7001.jan", "p7001.piet"], 1)))
    over = [w.attribution() for w in warnings if isinstance(w, SeatWarning)]
    assert over == [{"group": "HEAVY-DESKTOP", "holders": 2, "seats": 1, "projects": ["7001"]}]
    bad = dict(desired(), heavy_desktop={"group": "HEAVY DESKTOP", "seats": 1, "members": []})
    assert validate(bad) == ["software 'heavy_desktop': bad group name or seats"]
