"""Pure identity checks of tre_ad (issue 9 items 1, 2) and the half-way rollback (item 5)."""

from __future__ import annotations

import pytest
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_apply import (
    ApplyError,
    apply_writes,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_diff import plan
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_identity import (
    number_problems,
    owner_problems,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import (
    Entry,
    Index,
    Settings,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_wanted import missing_ids

S = Settings("OU=Projects,DC=x", "OU=Software,OU=Projects,DC=x", "x")


def group(name: str, project: str, gid: int) -> Entry:
    dn = f"CN={name},OU=P{project},OU=Projects,DC=x"
    return Entry(dn, "group", {"samaccountname": [name], "gidnumber": [str(gid)]})


def user(sam: str, project: str, uid: int, gid: int, person: str | None = None) -> Entry:
    attrs = {"samaccountname": [sam], "uidnumber": [str(uid)], "gidnumber": [str(gid)]}
    if person:
        attrs["employeeid"] = [person]
    return Entry(f"CN={sam},OU=P{project},OU=Projects,DC=x", "account", attrs)


def desired(project: str, people: dict[str, str], identities: dict | None = None) -> dict:
    return {
        "projects": [
            {
                "project": project,
                "ou": f"P{project}",
                "groups": {
                    "members": {"name": f"p{project}-members"},
                    "observers": {"name": f"p{project}-observers"},
                },
                "accounts": [
                    {"person": pid, "sam": sam, "group": "members", "enabled": True}
                    for sam, pid in people.items()
                ],
            }
        ],
        "software": {},
        "identities": identities or {},
    }


def test_an_account_is_never_handed_to_another_person():
    index = Index([user("p1.a-3bx", "1", 200010, 200001, person="alice")], S)
    d = desired("1", {"p1.a-3bx": "bob"})
    assert owner_problems(d, index) == [
        "account p1.a-3bx belongs to person alice; the desired state gives it to person bob:"
        " an issued account never changes hands"
    ]
    recorded = desired("1", {"p1.a-3bx": "bob"}, {"accounts": {"p1.a-3bx": {"person": "alice"}}})
    assert owner_problems(recorded, Index([], S))  # the record alone is enough
    assert owner_problems(desired("1", {"p1.a-3bx": "alice"}), index) == []


def test_recorded_numbers_are_restored_and_never_reallocated():
    index = Index([group("p1-members", "1", 200099), user("p1.ann", "1", 200098, 200099, "ann")], S)
    ids = {"groups": {"p1-members": {"gid": 200001}}, "accounts": {"p1.ann": {"uid": 200003}}}
    d = desired("1", {"p1.ann": "ann"}, ids)
    assert "group:p1-members" not in missing_ids(d, index)
    writes, _, out = plan(d, index, {"group:p1-observers": 200004})
    assert out["groups"]["p1-members"] == 200001
    assert out["accounts"]["p1.ann"] == {"uid": 200003, "gid": 200001}
    updates = {
        (r["name"], k): (r["before"][k], r["after"][k])
        for w in writes
        for r in w.reports
        for k in ("gidNumber", "uidNumber")
        if r["op"] == "update" and k in (r["after"] or {})
    }
    assert updates[("p1-members", "gidNumber")] == (200099, 200001)
    assert updates[("p1.ann", "uidNumber")] == (200098, 200003)


def test_duplicates_and_numbers_below_the_range_are_refused():
    index = Index([group("p1-members", "1", 200001), group("p2-members", "2", 200001)], S)
    problems = number_problems(desired("1", {}), index, 200000)
    assert len(problems) == 1 and problems[0].startswith("gidNumber 200001 is held by both")
    # the record of the run's group restores it: no duplicate left
    ids = {"groups": {"p2-members": {"gid": 200002}}}
    assert number_problems(desired("2", {}, ids), index, 200000) == []
    low = Index([group("p1-members", "1", 0)], S)
    assert number_problems(desired("1", {}), low, 200000)[0].startswith("gidNumber 0 of")


class GroupAddFails:
    """Accounts can be added and modified; group adds fail (insufficient rights)."""

    def __init__(self) -> None:
        self.modified: list[tuple[str, dict]] = []

    def add(self, dn, classes, attrs):
        if "group" in classes:
            from ldap3.core.exceptions import LDAPInsufficientAccessRightsResult

            raise LDAPInsufficientAccessRightsResult("no")

    def modify(self, dn, changes):
        self.modified.append((dn, changes))


def test_a_failed_group_write_leaves_no_enabled_account_without_its_groups(tmp_path):
    """Item 5: the account created enabled is disabled again when its group add fails."""
    d = desired("1", {"p1.ann": "ann"})
    writes, _, _ = plan(
        d, Index([], S), {"group:p1-members": 1, "group:p1-observers": 2, "account:p1.ann": 3}
    )
    conn = GroupAddFails()
    with pytest.raises(ApplyError) as err:
        apply_writes(conn, writes, str(tmp_path), "svc", {})
    ops = [(r["op"], r["kind"], r["name"]) for r in err.value.applied]
    assert ("create", "account", "p1.ann") in ops
    assert ops[-1] == ("disable", "account", "p1.ann")
    assert conn.modified[-1][0].startswith("CN=p1.ann,")
    assert conn.modified[-1][1]["userAccountControl"][0][1] == [0x202]


def test_the_rollback_goes_through_the_journal_like_every_write(tmp_path):
    """tre_ad on the one executor: each write is an intent before and done after it; the
    failed group add stays an intent; the disabling rollback is journaled intent + done."""
    import json

    from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal

    d = desired("1", {"p1.ann": "ann"})
    writes, _, _ = plan(
        d, Index([], S), {"group:p1-members": 1, "group:p1-observers": 2, "account:p1.ann": 3}
    )
    journal = Journal(str(tmp_path / "journal" / "ad.jsonl"))
    with pytest.raises(ApplyError) as err:
        apply_writes(GroupAddFails(), writes, str(tmp_path / "pw"), "svc", {}, journal)
    journal.close()
    lines = [json.loads(x) for x in (tmp_path / "journal" / "ad.jsonl").read_text().splitlines()]
    done = [(x["op"], x["name"]) for x in lines if x["journal"] == "done"]
    assert done == [(r["op"], r["name"]) for r in err.value.applied]  # the ledger's truth
    assert done[-1] == ("disable", "p1.ann")
    intents = [(x["op"], x["name"]) for x in lines if x["journal"] == "intent"]
    failed = [i for i in intents if i not in done]
    assert failed and all(op in ("create", "add_members") for op, _name in failed)
    assert str(err.value).startswith("insufficient rights: svc may not")
