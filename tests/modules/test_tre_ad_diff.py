"""Unit tests of the pure AD planner (tre_ad_diff): no AD needed.

A tiny in-memory directory (FakeAD) applies the planned writes the way AD would, so every
scenario can also check that a second plan is empty (the idempotent half of the triplet).
"""

from __future__ import annotations

import copy

from ansible_collections.tre.secenv.plugins.module_utils import tre_ad_diff as d
from ansible_collections.tre.secenv.plugins.module_utils import tre_ad_wanted as wanted
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import (
    NEVER,
    Entry,
    Index,
    Settings,
    filetime,
    filetime_text,
    norm_dn,
)

BASE = "DC=lab,DC=example,DC=org"
S = Settings(
    projects_ou=f"OU=Projects,{BASE}",
    software_ou=f"OU=Software,OU=Projects,{BASE}",
    upn_suffix="lab.example.org",
)
P_OU = f"OU=P7001,OU=Projects,{BASE}"


def account(person: str, group: str = "members", enabled: bool = True, **extra) -> dict:
    a = {
        "person": person,
        "sam": f"p7001.{person}",
        "role": "researcher",
        "display_name": f"{person.title()} Ørsted-Müller",
        "given_name": person.title(),
        "surname": "Ørsted-Müller",
        "mail": f"{person}@uu.nl",
        "employer": "UU",
        "group": group,
        "enabled": enabled,
        "expires": "2028-02-01",
    }
    a.update(extra)
    return a


def desired(accounts=None, software=None, project="7001") -> dict:
    return {
        "today": "2026-11-27",
        "projects": [
            {
                "project": project,
                "ou": f"P{project}",
                "title": "Mobility and income",
                "start": "2026-02-01",
                "end": "2028-01-31",
                "groups": {
                    "members": {"name": f"p{project}-members"},
                    "observers": {"name": f"p{project}-observers"},
                },
                "accounts": accounts if accounts is not None else [account("jan"), account("piet")],
            }
        ],
        "software": software or {},
    }


class FakeAD:
    """Applies Writes like AD: add creates, modify adds/deletes/replaces values."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[str, dict[str, list[str]]]] = {}
        self.add(S.projects_ou, ["top", "organizationalUnit"], {})
        self.add(S.software_ou, ["top", "organizationalUnit"], {})

    def add(self, dn: str, classes: list[str], attrs: dict) -> None:
        values = {"objectClass": list(classes)}
        for k, v in attrs.items():
            values[k] = [str(x) for x in (v if isinstance(v, list) else [v])]
        self.objects[norm_dn(dn)] = (dn, values)

    def apply(self, writes: list[d.Write]) -> None:
        for w in writes:
            if w.op == "add":
                assert norm_dn(w.dn) not in self.objects
                self.add(w.dn, w.classes, w.attrs)
                continue
            if w.op == "delete":  # AD also drops the object from every member list
                del self.objects[norm_dn(w.dn)]
                for _, values in self.objects.values():
                    if "member" in values:
                        values["member"] = [
                            m for m in values["member"] if norm_dn(m) != norm_dn(w.dn)
                        ]
                continue
            _, values = self.objects[norm_dn(w.dn)]
            for attr, mods in w.attrs.items():
                for op, vals in mods:
                    vals = [str(v) for v in vals]
                    have = values.setdefault(attr, [])
                    if op == "MODIFY_ADD":
                        have.extend(vals)
                    elif op == "MODIFY_DELETE":
                        for v in vals:
                            have.remove(v)
                    else:
                        values[attr] = vals

    def index(self) -> Index:
        return Index(
            [
                Entry.from_raw(dn, {k: [v.encode() for v in vs] for k, vs in a.items()})
                for dn, a in self.objects.values()
            ],
            S,
        )

    def get(self, dn: str) -> dict[str, list[str]]:
        return self.objects[norm_dn(dn)][1]


def run(ad: FakeAD, want: dict, first_id: int = 200000, check: bool = False):
    index = ad.index()
    missing = wanted.missing_ids(want, index)
    ids = {k: (None if check else first_id + i) for i, k in enumerate(missing)}
    writes, warnings, result_ids = d.plan(want, index, ids)
    if not check:
        ad.apply(writes)
    return writes, warnings, result_ids


def reports(writes) -> list[dict]:
    return [r for w in writes for r in w.reports]


def test_new_project_creates_everything_in_order_and_second_plan_is_empty():
    ad = FakeAD()
    writes, warnings, ids = run(ad, desired())
    ops = [(r["op"], r["kind"], r["name"]) for r in reports(writes)]
    assert ops == [
        ("create", "ou", "P7001"),
        ("create", "account", "p7001.jan"),
        ("create", "account", "p7001.piet"),
        ("create", "group", "p7001-members"),
        ("add_members", "group", "p7001-members"),
        ("create", "group", "p7001-observers"),
    ]
    assert warnings == []
    assert ids == {
        "groups": {"p7001-members": 200000, "p7001-observers": 200001},
        "accounts": {
            "p7001.jan": {"uid": 200002, "gid": 200000},
            "p7001.piet": {"uid": 200003, "gid": 200000},
        },
    }
    jan = ad.get(f"CN=p7001.jan,{P_OU}")
    assert jan["userPrincipalName"] == ["p7001.jan@lab.example.org"]
    assert jan["displayName"] == ["Jan Ørsted-Müller"]
    assert jan["userAccountControl"] == ["512"] and jan["pwdLastSet"] == ["0"]
    assert jan["accountExpires"] == [str(filetime("2028-02-01"))]
    assert ad.get(f"CN=p7001-members,{P_OU}")["member"] == [
        f"CN=p7001.jan,{P_OU}",
        f"CN=p7001.piet,{P_OU}",
    ]
    assert ad.get(f"CN=p7001-members,{P_OU}")["groupType"] == ["-2147483646"]
    create = reports(writes)[1]
    assert create["after"]["accountExpires"] == "2028-02-01T00:00:00Z"
    assert not any("pwd" in k.lower() and k != "pwdLastSet" for w in writes for k in w.attrs)
    assert [w.new_account for w in writes if w.new_account] == [
        ("7001", "p7001.jan"),
        ("7001", "p7001.piet"),
    ]
    assert run(ad, desired())[0] == []


def test_check_mode_reports_null_ids_and_writes_nothing():
    ad = FakeAD()
    writes, _, ids = run(ad, desired(), check=True)
    assert ids["accounts"]["p7001.jan"] == {"uid": None, "gid": None}
    assert ids["groups"]["p7001-members"] is None
    add = next(w for w in writes if w.new_account)
    assert "uidNumber" not in add.attrs and add.reports[0]["after"]["uidNumber"] is None
    assert len(ad.objects) == 2


def test_existing_numbers_are_kept_and_reported():
    ad = FakeAD()
    run(ad, desired(), first_id=300000)
    want = desired([account("jan"), account("piet"), account("kees")])
    assert wanted.missing_ids(want, ad.index()) == ["account:p7001.kees"]
    _, _, ids = run(ad, want, first_id=400000)
    assert ids["accounts"]["p7001.jan"] == {"uid": 300002, "gid": 300000}
    assert ids["accounts"]["p7001.kees"] == {"uid": 400000, "gid": 300000}


def test_disable_then_enable_keeps_other_flags():
    ad = FakeAD()
    run(ad, desired())
    ad.get(f"CN=p7001.jan,{P_OU}")["userAccountControl"] = [str(0x10200)]
    writes, _, _ = run(ad, desired([account("jan", enabled=False), account("piet")]))
    assert [(r["op"], r["name"]) for r in reports(writes)] == [("disable", "p7001.jan")]
    assert ad.get(f"CN=p7001.jan,{P_OU}")["userAccountControl"] == [str(0x10202)]
    writes, _, _ = run(ad, desired())
    assert [(r["op"], r["after"]) for r in reports(writes)] == [
        ("enable", {"userAccountControl": 0x10200})
    ]


def test_new_disabled_account_is_created_disabled():
    ad = FakeAD()
    run(ad, desired([account("jan", enabled=False)]))
    assert ad.get(f"CN=p7001.jan,{P_OU}")["userAccountControl"] == ["514"]


def test_attribute_updates_expiry_and_removed_mail():
    ad = FakeAD()
    run(ad, desired())
    want = desired(
        [
            account("jan", display_name="Jan de Vries", mail=None, expires="2029-01-01"),
            account("piet", expires=None),
        ]
    )
    writes, _, _ = run(ad, want)
    by_name = {}
    for r in reports(writes):
        by_name.setdefault(r["name"], []).append(r)
    jan = by_name["p7001.jan"]
    assert jan[0]["after"] == {"displayName": "Jan de Vries", "mail": None}
    assert jan[1]["after"] == {"accountExpires": "2029-01-01T00:00:00Z"}
    assert by_name["p7001.piet"][0]["after"] == {"accountExpires": "never"}
    assert (
        "mail" not in ad.get(f"CN=p7001.jan,{P_OU}") or ad.get(f"CN=p7001.jan,{P_OU}")["mail"] == []
    )
    assert run(ad, want)[0] == []


def test_never_expiring_zero_equals_never():
    ad = FakeAD()
    run(ad, desired([account("jan", expires=None)]))
    ad.get(f"CN=p7001.jan,{P_OU}")["accountExpires"] = ["0"]
    assert run(ad, desired([account("jan", expires=None)]))[0] == []


def test_observer_gets_observers_gid_and_group():
    ad = FakeAD()
    _, _, ids = run(ad, desired([account("jan"), account("obs", group="observers")]))
    assert ids["accounts"]["p7001.obs"]["gid"] == ids["groups"]["p7001-observers"]
    assert ad.get(f"CN=p7001-observers,{P_OU}")["member"] == [f"CN=p7001.obs,{P_OU}"]


def test_account_missing_from_desired_is_disabled_and_reported_once():
    ad = FakeAD()
    run(ad, desired())
    writes, warnings, _ = run(ad, desired([account("jan")]))
    ops = sorted((r["op"], r["name"]) for r in reports(writes))
    assert ops == [("disable", "p7001.piet"), ("remove_members", "p7001-members")]
    assert warnings == ["p7001.piet in project 7001 is not in the desired state: disabled"]
    assert run(ad, desired([account("jan")]))[0] == []
    assert f"CN=p7001.piet,{P_OU}" in [dn for dn, _ in ad.objects.values()]  # never deleted


def test_hand_added_member_of_project_group_is_removed():
    ad = FakeAD()
    run(ad, desired())
    ad.get(f"CN=p7001-members,{P_OU}")["member"].append(f"CN=intruder,CN=Users,{BASE}")
    writes, _, _ = run(ad, desired())
    assert reports(writes)[0]["op"] == "remove_members"
    assert reports(writes)[0]["before"] == {"member": ["intruder"]}


def software(members, seats=2):
    return {"SAS": {"group": "SW-SAS", "seats": seats, "members": members}}


def test_seat_group_created_and_other_projects_members_left_alone():
    ad = FakeAD()
    other = f"CN=p7999.x,OU=P7999,OU=Projects,{BASE}"
    ad.add(
        f"CN=SW-SAS,{S.software_ou}",
        ["top", "group"],
        {"gidNumber": 250000, "description": "Software seats SW-SAS", "member": [other]},
    )
    writes, warnings, ids = run(ad, desired(software=software(["p7001.jan"])))
    seat = [r for r in reports(writes) if r["name"] == "SW-SAS"]
    assert seat == [
        {
            "project": "7001",
            "op": "add_members",
            "kind": "group",
            "name": "SW-SAS",
            "dn": f"CN=SW-SAS,{S.software_ou}",
            "before": None,
            "after": {"member": ["p7001.jan"]},
        }
    ]
    assert ids["groups"]["SW-SAS"] == 250000
    assert warnings == []
    writes, warnings, _ = run(ad, desired(software=software(["p7001.piet"], seats=1)))
    seat = sorted((r["op"], r["project"], str(r["before"] or r["after"])) for r in reports(writes))
    assert seat == [
        ("add_members", "7001", "{'member': ['p7001.piet']}"),
        ("remove_members", "7001", "{'member': ['p7001.jan']}"),
    ]
    assert warnings == ["SW-SAS: 2 members for 1 seats (over capacity by 1)"]
    assert other in ad.get(f"CN=SW-SAS,{S.software_ou}")["member"]


def test_seat_group_missing_is_created_with_members_and_gid():
    ad = FakeAD()
    writes, warnings, ids = run(ad, desired(software=software(["p7001.jan", "p7001.nobody"])))
    assert warnings == ["SW-SAS: seat holder p7001.nobody is not an account of this run"]
    group = ad.get(f"CN=SW-SAS,{S.software_ou}")
    assert group["member"] == [f"CN=p7001.jan,{P_OU}"]
    assert int(group["gidNumber"][0]) == ids["groups"]["SW-SAS"]
    assert run(ad, desired(software=software(["p7001.jan"])))[0] == []


def test_duplicate_seat_holders_count_once():
    ad = FakeAD()
    _, warnings, _ = run(ad, desired(software=software(["p7001.jan", "p7001.jan"], seats=1)))
    assert warnings == []
    assert ad.get(f"CN=SW-SAS,{S.software_ou}")["member"] == [f"CN=p7001.jan,{P_OU}"]


def test_missing_software_ou_inside_projects_is_created():
    ad = FakeAD()
    del ad.objects[norm_dn(S.software_ou)]
    writes, _, _ = run(ad, desired(software=software([])))
    assert reports(writes)[0]["dn"] == S.software_ou


def test_clash_with_hand_made_object_elsewhere():
    ad = FakeAD()
    index = ad.index()
    hand = Entry.from_raw(
        f"CN=Jan,CN=Users,{BASE}", {"sAMAccountName": [b"p7001.JAN"], "objectClass": [b"user"]}
    )
    problems = wanted.clashes(desired(), index, [hand])
    assert problems == [
        f"sAMAccountName p7001.jan is already used by CN=Jan,CN=Users,{BASE}, "
        f"not by the expected CN=p7001.jan,{P_OU}: rename or remove that object"
    ]
    assert set(wanted.new_names(desired(), index)) == {
        "p7001.jan",
        "p7001.piet",
        "p7001-members",
        "p7001-observers",
    }


def test_wrong_kind_at_expected_dn_is_a_clash():
    ad = FakeAD()
    run(ad, desired())
    _, values = ad.objects[norm_dn(f"CN=p7001.jan,{P_OU}")]
    values["objectClass"] = ["top", "group"]
    assert wanted.clashes(desired(), ad.index(), []) == [
        f"CN=p7001.jan,{P_OU} exists as group, expected account"
    ]


def test_max_id_ignores_allocator_and_counts_all_objects():
    ad = FakeAD()
    ad.add(S.allocator_dn, ["top", "group"], {"gidNumber": 999999})
    ad.add(f"CN=x,OU=P7999,{S.projects_ou}", ["top", "user"], {"uidNumber": 201234})
    assert ad.index().max_id == 201234


def test_several_projects_keep_to_themselves():
    ad = FakeAD()
    two = desired()
    other = copy.deepcopy(desired(project="7002")["projects"][0])
    for a in other["accounts"]:
        a["sam"] = a["sam"].replace("7001", "7002")
    two["projects"].append(other)
    run(ad, two)
    writes, _, _ = run(ad, desired())  # a run of 7001 alone leaves 7002 alone
    assert writes == []


def test_filetime_conversions():
    assert filetime("1970-01-01") == 116444736000000000
    assert filetime(None) == NEVER
    assert filetime_text(filetime("2028-02-01")) == "2028-02-01T00:00:00Z"
    assert filetime_text(0) == filetime_text(NEVER) == "never"


def test_dn_normalisation_and_escaping():
    assert norm_dn("CN=a, OU=P1 ,DC=X") == "cn=a,ou=p1,dc=x"
    from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import group_dn

    assert group_dn(S, None, "a,b+c") == f"CN=a\\,b\\+c,{S.software_ou}"
