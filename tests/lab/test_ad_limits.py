"""The lab's Samba AD takes the longest values `tre contract check` accepts (marker ``lab``).

Project 7610 (OU=P7610 under the projects OU) only; it is removed before and after. Run as
root: ``flock /tmp/tre-lab.lock pytest -m lab tests/lab/test_ad_limits.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ldap3 import BASE, MODIFY_REPLACE, SUBTREE

from provisioning.contract import check_files, load_contract
from provisioning.contract.adlimits import AD_LIMITS
from provisioning.desired import project_desired
from provisioning.inventory import Inventory
from provisioning.policy import load_policy

pytestmark = pytest.mark.lab

PROJECT = "7610"
POLICY = load_policy()
EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"
USER_CLASSES = ["top", "person", "organizationalPerson", "user"]
GIVEN = "Å" * 64  # givenName at its limit
SURNAME = "van " + "ß" * 51  # the rest of a 120-character name (the contract's own limit)


def _purge(conn: Any, dn: str) -> None:
    """Remove ``dn`` and everything under it (deepest first)."""
    if not conn.search(dn, "(objectClass=*)", search_scope=SUBTREE, attributes=["cn"]):
        return
    for entry_dn in sorted((e.entry_dn for e in conn.entries), key=len, reverse=True):
        conn.delete(entry_dn)


@pytest.fixture
def project_ou(lab_inventory: Inventory, ad_service_connection: Any) -> Iterator[str]:
    ou = f"OU=P{PROJECT},{lab_inventory.ad_projects_ou}"
    _purge(ad_service_connection, ou)
    yield ou
    _purge(ad_service_connection, ou)


def _max_contract(tmp_path: Path) -> Path:
    """Project 7610 whose second researcher has every value at the longest tre accepts."""
    text = (EXAMPLES / "9001-small.yaml").read_text(encoding="utf-8")
    text = text.replace("project: 9001", f"project: {PROJECT}")
    text = text.replace("title: Woonmobiliteit van jonge gezinnen", "title: " + "T" * 300)
    text = text.replace(
        """  - {id: zvanthoff, name: "Zoë van 't Hoff", email: z.vanthoff@uu.nl,
     employer: Universiteit Utrecht,""",
        f"""  - {{id: zabcdefghijklmno, name: "{GIVEN} {SURNAME}", email: {"a" * 240}@uu.example.nl,
     employer: {"E" * 64},""",
    )
    path = tmp_path / f"{PROJECT}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _read(conn: Any, dn: str, attrs: list[str]) -> dict[str, Any]:
    assert conn.search(dn, "(objectClass=*)", search_scope=BASE, attributes=attrs), conn.result
    return {a: conn.entries[0][a].value for a in attrs}


def test_the_longest_contract_values_land_in_ad(
    tmp_path: Path, project_ou: str, ad_service_connection: Any
) -> None:
    conn = ad_service_connection
    path = _max_contract(tmp_path)
    assert check_files([str(path)], POLICY) == []
    contract = load_contract(str(path), POLICY)
    desired = project_desired(contract, POLICY, date(2026, 3, 1))
    account = next(a for a in desired["accounts"] if a["person"] == "zabcdefghijklmno")
    assert (account["given_name"], account["surname"]) == (GIVEN, SURNAME)
    wanted = {
        "displayName": account["display_name"],
        "givenName": account["given_name"],
        "sn": account["surname"],
        "mail": account["mail"],
        "company": account["employer"],
        "employeeID": account["person"],
    }
    assert [len(wanted[a]) for a in ("givenName", "company", "employeeID")] == [64, 64, 16]
    assert len(wanted["mail"]) == 254 and len(wanted["displayName"]) == 120
    assert conn.add(project_ou, ["organizationalUnit"], {"description": desired["title"]}), (
        conn.result
    )
    dn = f"CN={account['sam']},{project_ou}"
    assert conn.add(dn, USER_CLASSES, {"sAMAccountName": account["sam"], **wanted}), conn.result
    assert _read(conn, dn, list(wanted)) == wanted
    assert _read(conn, project_ou, ["description"]) == {"description": "T" * 300}


@pytest.mark.parametrize(
    ("attribute", "unit"),
    [
        ("displayName", "d"),
        ("givenName", "g"),
        ("sn", "s"),
        ("sn", "\U0001f600"),  # two UTF-16 units each: AD counts those, not characters
        ("mail", "m"),
        ("company", "c"),
        ("employeeID", "e"),
        ("description", "x"),
    ],
)
def test_ad_takes_each_limit_and_refuses_one_more(
    project_ou: str, ad_service_connection: Any, attribute: str, unit: str
) -> None:
    conn = ad_service_connection
    assert conn.add(project_ou, ["organizationalUnit"]), conn.result
    dn = project_ou
    if attribute != "description":
        dn = f"CN=p{PROJECT}.limits,{project_ou}"
        assert conn.add(dn, USER_CLASSES, {"sAMAccountName": f"p{PROJECT}.limits"}), conn.result
    count = AD_LIMITS[attribute] * 2 // len(unit.encode("utf-16-le"))  # units → characters
    at_limit = unit * count
    assert conn.modify(dn, {attribute: [(MODIFY_REPLACE, [at_limit])]}), conn.result
    assert _read(conn, dn, [attribute]) == {attribute: at_limit}
    assert not conn.modify(dn, {attribute: [(MODIFY_REPLACE, [at_limit + unit])]})
    assert conn.result["description"] == "invalidAttributeSyntax"


def test_the_limits_are_the_lab_schema_range_upper(
    lab_inventory: Inventory, ad_service_connection: Any
) -> None:
    conn = ad_service_connection
    schema = f"CN=Schema,CN=Configuration,{lab_inventory.ad_base_dn}"
    found = {}
    for attribute in AD_LIMITS:
        assert conn.search(schema, f"(lDAPDisplayName={attribute})", attributes=["rangeUpper"])
        found[attribute] = conn.entries[0]["rangeUpper"].value
    assert found == AD_LIMITS
