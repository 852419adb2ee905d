"""tre_confirmed: the irreversible steps a real run may take are those of the confirmed plan."""

from __future__ import annotations

import base64

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_confirmed as confirmed
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import Write
from ansible_collections.tre.secenv.plugins.modules.tre_ad import bound_to_plan


def change(op: str, name: str, project: str = "7310", kind: str = "account") -> dict:
    return {"project": project, "op": op, "kind": kind, "name": name, "dn": f"CN={name}"}


PLAN = [change("delete", "p7310.a"), change("add", "p7310.b"), change("modify", "p7310.c")]


def test_only_irreversible_steps_are_sent_and_they_round_trip():
    steps = confirmed.decode(confirmed.encode(PLAN))
    assert steps == {("7310", "delete", "account", "p7310.a")}


def test_a_step_outside_the_plan_is_refused_and_reversible_ones_always_pass():
    steps = confirmed.decode(confirmed.encode(PLAN))
    assert confirmed.allowed(change("delete", "p7310.a"), steps)
    assert not confirmed.allowed(change("delete", "p7310.x"), steps)
    assert not confirmed.allowed(change("delete", "p7310.a", project="7311"), steps)
    assert not confirmed.allowed(change("delete", "p7310.a", kind="group"), steps)
    assert not confirmed.allowed(change("remove", "P7310", kind="subvolume"), steps)
    assert confirmed.allowed(change("add", "p7310.x"), steps)
    assert confirmed.allowed(change("delete", "p7310.x"), None)  # no binding given


def test_an_empty_confirmed_plan_allows_no_deletion():
    steps = confirmed.decode(confirmed.encode([change("add", "p7310.b")]))
    assert steps == set()
    assert not confirmed.allowed(change("delete", "p7310.a"), steps)


@pytest.mark.parametrize(
    "value",
    ["not base64!", base64.b64encode(b"{}").decode(), base64.b64encode(b"[1]").decode()],
)
def test_a_malformed_value_is_one_line(value):
    with pytest.raises(ValueError) as e:
        confirmed.decode(value)
    assert "\n" not in str(e.value) and value not in str(e.value)


def test_the_ad_module_drops_unconfirmed_deletions_with_a_warning():
    writes = [
        Write("delete", "CN=p7310.a", reports=[change("delete", "p7310.a")]),
        Write("delete", "CN=p7310.late", reports=[change("delete", "p7310.late")]),
        Write("modify", "CN=x", reports=[change("modify", "p7310.c")]),
    ]
    warnings: list[str] = []
    kept = bound_to_plan(writes, confirmed.decode(confirmed.encode(PLAN)), warnings)
    assert [w.dn for w in kept] == ["CN=p7310.a", "CN=x"]
    assert warnings == [
        "P7310: delete account p7310.late was not in the confirmed plan; left alone"
        " (the next plan shows it)"
    ]
    assert bound_to_plan(writes, None, []) == writes
