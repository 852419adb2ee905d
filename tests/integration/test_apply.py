"""`tre plan` / `tre apply` end to end against the lab: AD read back, idempotence, secrets."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from provisioning.contract import load_contracts
from provisioning.desired import build_desired_state
from provisioning.policy import load_policy
from tests.integration.conftest import TODAY
from tests.integration.helpers import (
    EXAMPLES,
    ad_objects,
    tre_json,
    write_contract,
)

pytestmark = pytest.mark.lab


def filetime(day: str) -> int:
    moment = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return int((moment - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds()) * 10_000_000


def as_filetime(value) -> int:
    if isinstance(value, datetime):
        return filetime(value.astimezone(UTC).replace(tzinfo=None).isoformat())
    return int(value)


def test_apply_creates_every_object_with_its_attributes(applied):
    v, conn = applied["v"], applied["conn"]
    policy = load_policy()
    contracts = load_contracts([EXAMPLES], policy)
    desired = build_desired_state(contracts, policy, date.fromisoformat(TODAY))
    objects = ad_objects(conn, v["tre_ad_projects_ou"])
    uids: set[int] = set()
    for p in desired["projects"]:
        assert p["ou"] in objects, f"OU {p['ou']} missing"
        members = objects[p["groups"]["members"]["name"]]
        observers = objects[p["groups"]["observers"]["name"]]
        assert members["gidNumber"] and observers["gidNumber"]
        for a in p["accounts"]:
            o = objects[a["sam"]]
            assert o["dn"].lower().startswith(f"cn={a['sam']},ou={p['ou']},".lower())
            assert o["displayName"] == a["display_name"]
            assert o["mail"] == a["mail"]
            assert o["sn"] == a["surname"] and o["givenName"] == a["given_name"]
            assert int(o["userAccountControl"]) & 2 == (0 if a["enabled"] else 2)
            assert as_filetime(o["accountExpires"]) == filetime(a["expires"])
            group = members if a["group"] == "members" else observers
            assert o["gidNumber"] == group["gidNumber"]
            assert o["dn"].lower() in [m.lower() for m in group.get("member", [])]
            assert o["uidNumber"] not in uids
            uids.add(o["uidNumber"])
    for package, seat in desired["software"].items():
        group = objects[seat["group"]]
        have = {m.split(",", 1)[0][3:].lower() for m in group.get("member", [])}
        assert set(seat["members"]) <= have, package


def test_unicode_names_pass_through_intact(applied):
    objects = ad_objects(applied["conn"], applied["v"]["tre_ad_projects_ou"])
    assert objects["p9002.lnguyen"]["displayName"] == "Linh Nguyễn"
    assert objects["p9002.asmit"]["displayName"] == "Anneke Smit-Ørsted"


def test_second_apply_changes_nothing(applied):
    again = tre_json("apply", str(EXAMPLES), "--today", TODAY, "--yes", env=applied["env"])
    assert again["changes"] == []


def test_plan_of_an_added_researcher_shows_exactly_that(applied, tmp_path):
    contract = yaml.safe_load((EXAMPLES / "9001-small.yaml").read_text())
    contract["researchers"].append(
        dict(
            contract["researchers"][-1],
            id="nieuwkomer",
            name="Noor Nieuwkomer",
            email="n.nieuwkomer@example.org",
            token="T-0099999",
        )
    )
    changed = write_contract(tmp_path / "9001.yaml", contract)
    plan = tre_json("plan", str(changed), "--today", TODAY, env=applied["env"])
    changes = plan["changes"]
    assert changes, "the plan shows no change"
    for c in changes:
        text = str(c)
        assert "nieuwkomer" in text, f"unexpected change {c}"
    kinds = {(c["op"], c["kind"]) for c in changes}
    assert ("create", "account") in kinds
    ad = ad_objects(applied["conn"], applied["v"]["tre_ad_projects_ou"])
    assert "p9001.nieuwkomer" not in ad  # plan changed nothing


def test_ledger_records_what_was_done(applied):
    """Every object of project 9001 in AD has exactly one create in the ledger, and no more."""
    show = tre_json("project", "show", "9001", env=applied["env"])
    creates = [
        (e["kind"], e["name"])
        for e in show["ledger"]
        if e["op"] == "create" and e["kind"] in ("ou", "group", "account")
    ]
    v = applied["v"]
    objects = ad_objects(applied["conn"], f"OU=P9001,{v['tre_ad_projects_ou']}")
    in_ad = {
        ("ou" if "organizationalUnit" in o["objectClass"] else
         "group" if "group" in o["objectClass"] else "account", name)
        for name, o in objects.items()
    }  # fmt: skip
    assert sorted(creates) == sorted(in_ad)
    assert ("account", "p9001.jdevries") in in_ad
    assert len(show["revisions"]) == 1


def test_no_initial_password_anywhere(applied):
    secrets_dir = Path(applied["v"]["tre_initial_password_dir"])
    passwords = [f.read_text().strip() for f in secrets_dir.glob("900[123]/*.txt")]
    assert len(passwords) >= 10
    for f in secrets_dir.glob("900[123]/*.txt"):
        assert f.stat().st_mode & 0o077 == 0
    haystacks = [applied["first"].stdout, applied["first"].stderr]
    for path in Path(applied["home"]).rglob("*"):
        if path.is_file():
            haystacks.append(path.read_bytes().decode("utf-8", "replace"))
    for secret in passwords:
        assert len(secret) >= 16
        assert not any(secret in h for h in haystacks)


def test_ossc_handoff_recorded_with_destruction_deadline(applied):
    show = tre_json("project", "show", "9002", env=applied["env"])
    assert show["project"]["ossc_end"] == "2027-08-31"
    assert show["project"]["ossc_destruction_deadline"] == "2027-09-10"
    handoffs = [e for e in show["ledger"] if e["op"] == "handoff"]
    assert len(handoffs) == 1, handoffs
    inbox = Path(applied["v"]["tre_lab_dir"]) / "ossc" / "inbox"
    name = Path(handoffs[0]["name"]).name
    manifest = json.loads((inbox / name).read_text())
    assert manifest["manifest"]["project"] == "9002"
    assert manifest["manifest"]["purpose"] == "OSSC"
