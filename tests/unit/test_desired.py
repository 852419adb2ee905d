"""The desired state built from contracts: pure rules that take ``today``."""

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from provisioning.contract import load_contract
from provisioning.desired import build_desired_state, revision_of
from provisioning.policy import load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
GB = 1024**3


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.fixture(scope="module")
def typical(policy):
    return load_contract(EXAMPLES / "9002-typical.yaml", policy)


def project(state, number):
    return next(p for p in state["projects"] if p["project"] == number)


def test_accounts_only_for_researchers_and_read_account_observers(typical, policy):
    p = project(build_desired_state([typical], policy, date(2026, 12, 1)), "9002")
    assert [a["sam"] for a in p["accounts"]] == [
        "p9002.mbakker",
        "p9002.selkaddouri",
        "p9002.lnguyen",
        "p9002.asmit",
    ]
    assert {a["group"] for a in p["accounts"] if a["role"] == "observer"} == {"observers"}
    assert p["accounts"][2]["display_name"] == "Linh Nguyễn"  # Unicode intact


def test_account_enabled_only_inside_the_persons_period(typical, policy):
    def enabled(today):
        p = project(build_desired_state([typical], policy, today), "9002")
        return {a["person"]: a["enabled"] for a in p["accounts"]}

    assert enabled(date(2026, 5, 31))["lnguyen"] is False  # starts 2026-06-01
    assert enabled(date(2026, 6, 1))["lnguyen"] is True
    assert enabled(date(2027, 6, 1))["lnguyen"] is False  # until 2027-05-31
    assert enabled(date(2026, 2, 28))["mbakker"] is False  # project starts 2026-03-01


def test_expires_is_the_day_after_the_last_day(typical, policy):
    p = project(build_desired_state([typical], policy, date(2026, 12, 1)), "9002")
    by_person = {a["person"]: a for a in p["accounts"]}
    assert by_person["mbakker"]["expires"] == "2028-03-01"  # project end 2028-02-29
    assert by_person["lnguyen"]["expires"] == "2027-06-01"


def test_quota_follows_extra_storage_in_force(typical, policy):
    def quota(today):
        return project(build_desired_state([typical], policy, today), "9002")["storage"][
            "quota_bytes"
        ]

    assert quota(date(2026, 5, 31)) == 100 * GB
    assert quota(date(2026, 6, 1)) == 150 * GB  # 50GB from 2026-06-01
    assert quota(date(2026, 9, 1)) == 100 * GB  # ended 2026-08-31
    assert quota(date(2027, 1, 1)) == 100 * GB + 1024 * GB  # 1TB


def test_subjects_appear_from_their_grant_month(typical, policy):
    def subjects(today):
        return project(build_desired_state([typical], policy, today), "9002")["storage"][
            "file_subjects"
        ]

    assert "INPATAB" not in subjects(date(2026, 8, 31))
    assert "INPATAB" in subjects(date(2026, 9, 1))
    assert subjects(date(2026, 2, 1)) == []  # before the project starts


def test_seats_only_in_contracted_months(typical, policy):
    def sas(today):
        return build_desired_state([typical], policy, today)["software"]["SAS"]["members"]

    assert sas(date(2026, 9, 30)) == []
    assert sas(date(2026, 10, 1)) == ["p9002.lnguyen", "p9002.mbakker", "p9002.selkaddouri"]
    assert sas(date(2026, 12, 1)) == []


def test_ossc_destruction_deadline_is_end_plus_policy_days(typical, policy):
    ossc = project(build_desired_state([typical], policy, date(2026, 12, 1)), "9002")["ossc"]
    assert ossc["end"] == "2027-08-31"
    assert ossc["destruction_deadline"] == "2027-09-10"
    assert [r["person"] for r in ossc["researchers"]] == ["mbakker", "selkaddouri"]


def test_drafts_and_duplicates_are_refused(typical, policy):
    with pytest.raises(ValueError, match="only approved"):
        build_desired_state(
            [dataclasses.replace(typical, status="draft")], policy, date(2026, 12, 1)
        )
    with pytest.raises(ValueError, match="twice"):
        build_desired_state([typical, typical], policy, date(2026, 12, 1))


def test_revision_changes_with_content_only(typical):
    assert revision_of(typical) == revision_of(dataclasses.replace(typical, source="x"))
    assert revision_of(typical) != revision_of(dataclasses.replace(typical, title="other"))


def test_issued_names_and_recorded_grants_reach_the_desired_state(typical, policy):
    """Issue 9 items 1, 2, 14: records of the state store go into the run's desired state."""
    from provisioning.identity import Identity, Issued

    person = typical.researchers[0].id
    issued = Issued(
        (
            Identity("account", "p9002.keepsname", "9002", person, 200500),
            Identity("group", "p9002-members", "9002", None, 200400),
            Identity("group", "p9999-members", "9999", None, 200300),  # not in the run
        )
    )
    state = build_desired_state(
        [typical], policy, date(2026, 12, 1), issued, {"9002": ["GBAPERSOONTAB"]}
    )
    p = project(state, "9002")
    assert next(a for a in p["accounts"] if a["person"] == person)["sam"] == "p9002.keepsname"
    assert state["identities"]["accounts"] == {"p9002.keepsname": {"person": person, "uid": 200500}}
    assert state["identities"]["groups"] == {"p9002-members": {"gid": 200400}}
    assert p["storage"]["recorded_grants"] == ["GBAPERSOONTAB"]
    assert set(p["storage"]["contract_subjects"]) >= set(p["storage"]["file_subjects"])
    fresh = project(build_desired_state([typical], policy, date(2026, 12, 1)), "9002")
    assert fresh["storage"]["recorded_grants"] is None


def test_issued_names_per_project_from_the_index():
    """names_of answers from an index built once: only that project's accounts, the later
    record of a person winning as before, groups and records without a person left out."""
    from provisioning.identity import Identity, Issued

    issued = Issued(
        (
            Identity("account", "p1.old", "1", "ann", 200001),
            Identity("account", "p2.ann", "2", "ann", 200002),
            Identity("account", "p1.ann", "1", "ann", 200003),  # later record: wins
            Identity("account", "p1.bob", "1", "bob", 200004),
            Identity("account", "p1.nobody", "1", None, 200005),
            Identity("group", "p1-members", "1", None, 200006),
        )
    )
    assert issued.names_of("1") == {"ann": "p1.ann", "bob": "p1.bob"}
    assert issued.names_of("2") == {"ann": "p2.ann"}
    assert issued.names_of("3") == {}
    issued.names_of("1")["ann"] = "changed"  # a caller's copy, not the index
    assert issued.names_of("1")["ann"] == "p1.ann"
