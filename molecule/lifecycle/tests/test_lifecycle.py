"""Verify revision 2 of project 9101 and what changed since revision 1."""

import json

import checks
import pytest
import tre_verify as tv

REV1 = tv.desired("rev1.json")
REV2 = tv.desired("rev2.json")
P1, P2 = REV1["projects"][0], REV2["projects"][0]
REV1_IDS = json.loads((tv.ephemeral_dir() / "rev1-ids.json").read_text())


def _sams(project):
    return {a["sam"] for a in project["accounts"]}


def test_the_revisions_differ_as_the_scenario_needs():
    assert _sams(P2) - _sams(P1) == {"p9101.yhaddad"}
    assert P2["storage"]["quota_bytes"] > P1["storage"]["quota_bytes"]
    assert set(P2["storage"]["file_subjects"]) - set(P1["storage"]["file_subjects"]) == {
        "VSLGWBTAB"
    }


def test_ad_state_is_revision_2(ad, dc_vars):
    checks.check_ad_project(ad, dc_vars, P2)
    checks.check_ad_unique_numbers(ad, REV2)
    checks.check_ad_seats(ad, REV2)


def test_revision_1_objects_kept_their_numbers(ad):
    for sam in _sams(P1):
        assert ad.number(sam, "uidNumber") == REV1_IDS["accounts"][sam]["uid"], sam
    for role in ("members", "observers"):
        name = P1["groups"][role]["name"]
        assert ad.number(name, "gidNumber") == REV1_IDS["groups"][name], name


def test_added_researcher_is_a_new_enabled_member(ad):
    uid = ad.number("p9101.yhaddad", "uidNumber")
    assert uid not in {v["uid"] for v in REV1_IDS["accounts"].values()}
    assert "p9101.yhaddad" not in REV1_IDS["accounts"]
    assert not ad.number("p9101.yhaddad", "userAccountControl") & tv.UAC_DISABLED
    dn, _ = ad.sam("p9101.yhaddad")
    assert dn.lower() in ad.members("p9101-members")
    assert dn.lower() in ad.members("SW-SAS")


@pytest.fixture(scope="module")
def snap(fs, fs_vars):
    return tv.Snapshot(fs, checks.storage_paths(fs_vars, REV2))


def test_storage_is_revision_2(snap, fs_vars, qgroups, ad):
    checks.check_project_storage(snap, fs_vars, qgroups, ad, P2)
    checks.check_workspaces(snap, fs_vars, qgroups, ad, P2)
    checks.check_catalog(snap, fs_vars, ad, REV2)


def test_extra_storage_raised_the_limit(qgroups, fs_vars):
    root = fs_vars["tre_projects_root"].rsplit("/", 1)[1]
    assert qgroups[f"{root}/P9101"] == P2["storage"]["quota_bytes"] == 100 * 2**30 + 50 * 2**30


def test_added_subject_is_readable_by_the_project(snap, fs_vars, ad):
    """Revision 2 adds VSLGWBTAB: the project's groups are nested in its reader group, whose
    entry (one, whatever the projects) is on the subject's directory."""
    reader = REV2["subjects"]["VSLGWBTAB"]["group"]
    gid = ad.number(reader, "gidNumber")
    acl = snap.acl[f"{fs_vars['tre_catalog_root']}/VSLGWBTAB"]
    assert {f"group:{gid}:r-x", f"default:group:{gid}:r-x"} <= acl
    nested = ad.members(reader)
    for role in ("members", "observers"):
        assert ad.sam(P2["groups"][role]["name"])[0].lower() in nested


def test_added_researcher_has_a_workspace(snap, fs_vars, ad):
    uid = ad.number("p9101.yhaddad", "uidNumber")
    path = f"{fs_vars['tre_workspaces_root']}/p9101.yhaddad"
    assert snap.is_subvolume(path) and snap.owner(path)[0] == uid
