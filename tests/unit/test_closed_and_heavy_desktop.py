"""Pure rules of a closed project (accounts and groups deleted closed_account_days after the
end) and of the heavy desktop (contract key, desired membership, free in the quote)."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest
import yaml

from provisioning.contract import check_files, load_contract
from provisioning.desired import build_desired_state
from provisioning.identity import Identity, Issued
from provisioning.lifecycle import accounts_deleted_from
from provisioning.policy import load_policy
from provisioning.quote import quote

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
POLICY = load_policy()


@pytest.fixture(scope="module")
def small():
    return load_contract(EXAMPLES / "9001-small.yaml", POLICY)


def _project(state: dict) -> dict:
    return state["projects"][0]


def test_policy_number_and_deletion_day(small):
    assert POLICY.closed_account_days == 90
    assert small.end == date(2027, 1, 31)
    assert accounts_deleted_from(small, POLICY.closed_account_days) == date(2027, 5, 1)


@pytest.mark.parametrize(
    ("today", "accounts", "absent"),
    [
        (date(2027, 1, 31), 2, None),  # last day: active
        (date(2027, 2, 1), 2, None),  # ended: disabled, still there
        (date(2027, 4, 30), 2, None),  # day 89 after the end
        (date(2027, 5, 1), 0, ["accounts", "groups"]),  # day 90
        (date(2030, 1, 1), 0, ["accounts", "groups"]),
    ],
)
def test_accounts_and_groups_absent_from_day_90(small, today, accounts, absent):
    p = _project(build_desired_state([small], POLICY, today))
    assert len(p["accounts"]) == accounts
    assert p.get("absent") == absent
    assert p["groups"]["members"]["name"] == "p9001-members"  # named: what is to be absent
    assert p["status"] == ("active" if today <= small.end else "ended")


def test_another_closed_account_days_moves_the_day(small):
    policy = dataclasses.replace(POLICY, closed_account_days=30)
    assert _project(build_desired_state([small], policy, date(2027, 3, 2))).get("absent")
    assert not _project(build_desired_state([small], policy, date(2027, 3, 1))).get("absent")


def test_identities_carry_the_highest_number_ever_issued(small):
    """Of every project, also ones not in the run (their objects may be deleted)."""
    issued = Issued(
        (
            Identity("account", "p9001.jdevries", "9001", "jdevries", 200010),
            Identity("account", "p7000.old", "7000", "old", 250000),  # a deleted project's
            Identity("group", "p9001-members", "9001", None, 200008),
        )
    )
    identities = build_desired_state([small], POLICY, date(2026, 12, 1), issued)["identities"]
    assert identities["highest"] == 250000
    assert set(identities["accounts"]) == {"p9001.jdevries"}
    assert build_desired_state([small], POLICY, date(2026, 12, 1))["identities"]["highest"] == 0


def _with_heavy(tmp_path: Path, reservations: list[dict], name: str = "9002-typical.yaml"):
    doc = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    doc["heavy_desktop"] = reservations
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_a_reservation_and_two_extensions_are_valid_a_gap_starts_anew(tmp_path):
    """mbakker: 1-10 March, extended twice (11-20, 21-30), then after a one-day gap a new
    reservation with its own two extensions; selkaddouri alongside (2 at once)."""
    days = [
        ("mbakker", "2027-03-01", "2027-03-10"),
        ("mbakker", "2027-03-11", "2027-03-20"),
        ("mbakker", "2027-03-21", "2027-03-30"),
        ("mbakker", "2027-04-01", "2027-04-10"),
        ("mbakker", "2027-04-11", "2027-04-20"),
        ("mbakker", "2027-04-21", "2027-04-30"),
        ("selkaddouri", "2027-03-05", "2027-03-14"),
    ]
    reservations = [
        {"researcher": r, "from": date.fromisoformat(f), "until": date.fromisoformat(u)}
        for r, f, u in days
    ]
    path = _with_heavy(tmp_path, reservations)
    assert [p.line() for p in check_files([str(path)], POLICY)] == []
    contract = load_contract(path, POLICY)
    assert len(contract.heavy_desktop) == 7

    def members(day: str) -> list[str]:
        state = build_desired_state([contract], POLICY, date.fromisoformat(day))
        pool = state["heavy_desktop"]
        assert pool["group"] == "HEAVY-DESKTOP" and pool["seats"] == POLICY.heavy_desktop_capacity
        assert "HEAVY-DESKTOP" not in state["software"]
        return pool["members"]

    assert members("2027-02-28") == []
    assert members("2027-03-01") == ["p9002.mbakker"]
    assert members("2027-03-05") == ["p9002.mbakker", "p9002.selkaddouri"]
    assert members("2027-03-15") == ["p9002.mbakker"]
    assert members("2027-03-31") == []  # the gap day
    assert members("2027-04-30") == ["p9002.mbakker"]
    assert members("2027-05-01") == []


def test_no_place_while_suspended_or_ended(tmp_path):
    path = _with_heavy(
        tmp_path,
        [{"researcher": "mbakker", "from": date(2027, 4, 5), "until": date(2027, 4, 14)}],
    )
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["suspensions"] = [{"from": date(2027, 4, 1), "until": date(2027, 4, 30)}]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    contract = load_contract(path, POLICY)
    state = build_desired_state([contract], POLICY, date(2027, 4, 10))
    assert state["heavy_desktop"]["members"] == []
    unsuspended = dataclasses.replace(contract, suspensions=())
    state = build_desired_state([unsuspended], POLICY, date(2027, 4, 10))
    assert state["heavy_desktop"]["members"] == ["p9002.mbakker"]


def test_the_heavy_desktop_is_free(tmp_path):
    """9002 priced with and without three reservations: the same totals (catalogue: "Voor
    deze dienst brengen wij geen kosten in rekening")."""
    plain = load_contract(EXAMPLES / "9002-typical.yaml", POLICY)
    path = _with_heavy(
        tmp_path,
        [
            {"researcher": "mbakker", "from": date(2027, 3, 1), "until": date(2027, 3, 10)},
            {"researcher": "mbakker", "from": date(2027, 3, 11), "until": date(2027, 3, 20)},
            {"researcher": "lnguyen", "from": date(2027, 3, 1), "until": date(2027, 3, 10)},
        ],
    )
    heavy = load_contract(path, POLICY)
    assert quote(heavy, POLICY).total == quote(plain, POLICY).total
    assert quote(heavy, POLICY).quarters() == quote(plain, POLICY).quarters()


def test_a_deletion_in_the_plan_names_what_it_deletes():
    from cli.render import change_line

    line = change_line(
        {
            "op": "delete",
            "kind": "account",
            "name": "p7850.jdevries",
            "before": {"sAMAccountName": "p7850.jdevries", "employeeID": "jdevries"},
            "after": None,
        }
    )
    assert line.split() == [
        "-",
        "delete",
        "account",
        "p7850.jdevries",
        "(sAMAccountName=p7850.jdevries,",
        "employeeID=jdevries)",
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("closed_account_days: 0", "closed_account_days"),  # day 0 would delete an active one
        ("heavy_desktop_capacity: -1", "heavy_desktop_capacity"),
        ("", "closed_account_days: required key is missing"),
    ],
)
def test_policy_numbers_are_checked(tmp_path, line, message):
    from provisioning.errors import PolicyError
    from provisioning.policy import DEFAULT_POLICY, load_policy

    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    key = line.split(":")[0] if line else "closed_account_days"
    lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key}:")]
    path = tmp_path / "policy.yaml"
    path.write_text("\n".join(lines + [line]) + "\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    assert any(message in p.line() for p in caught.value.problems), caught.value.problems


def test_a_closed_project_has_nothing_unchanged(small, capsys):
    from cli.render import render_changes

    state = build_desired_state([small], POLICY, date(2027, 5, 1))
    render_changes([], [], planned=True, desired=state)
    out = capsys.readouterr().out
    assert "Project 9001 (ended):" in out
    assert "= unchanged     0 account(s), 0 group(s); 0 file subject(s) in force" in out
