"""Contract values against the AD attribute limits (rangeUpper) of where they land.

The lab test ``tests/lab/test_ad_limits.py`` shows the real Samba AD taking the maxima and
the limits equal to the lab schema's rangeUpper.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from provisioning.contract import load_contract
from provisioning.contract.adlimits import ad_length, check
from provisioning.contract.parse import Draft
from provisioning.policy import load_policy
from provisioning.validation.fields import Checker

EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"
POLICY = load_policy()
TYPICAL = load_contract(str(EXAMPLES / "9002-typical.yaml"), POLICY)


def _problems(title: str | None = None, **person: str) -> list[tuple[str, str, str]]:
    lead = dataclasses.replace(TYPICAL.researchers[0], **person)
    d = Draft(title=title or TYPICAL.title, researchers=[lead], observers=[])
    c = Checker("c.yaml")
    check(d, c)
    return [(p.path, p.rule, p.message) for p in c.problems]


def test_length_is_counted_in_utf16_units_as_ad_does() -> None:
    assert ad_length("Zoë") == 3
    assert ad_length("😀") == 2


def test_maxima_pass() -> None:
    assert (
        _problems(
            title="t" * 1024,
            name="G" * 64 + " " + "S" * 64,
            email="m" * 247 + "@uu.nl.x",
            employer="E" * 64,
            id="a" * 16,
        )
        == []
    )


@pytest.mark.parametrize(
    ("field", "value", "path", "rule", "message"),
    [
        ("name", "G" * 65 + " Smit", "researchers[0].name", "ad-given-name", "is 65 characters"),
        (
            "name",
            "Jan " + "S" * 65,
            "researchers[0].name",
            "ad-surname",
            "AD's sn holds at most 64",
        ),
        ("employer", "E" * 65, "researchers[0].employer", "ad-company", "is 65 characters"),
        ("email", "m" * 249 + "@uu.nl.x", "researchers[0].email", "ad-mail", "is 257 characters"),
        ("id", "a" * 17, "researchers[0].id", "ad-employee-id", "at most 16"),
    ],
)
def test_one_line_per_value_over_its_limit(
    field: str, value: str, path: str, rule: str, message: str
) -> None:
    (problem,) = _problems(**{field: value})
    assert problem[:2] == (path, rule) and message in problem[2]


def test_display_name_over_256() -> None:
    name = " ".join(["Abcdefg"] * 40)  # 319 characters (the surname part is over 64 too)
    problems = _problems(name=name)
    assert ("researchers[0].name", "ad-display-name") in [p[:2] for p in problems]
    assert any("is 319 characters; AD's displayName holds at most 256" in p[2] for p in problems)


def test_title_over_1024() -> None:
    (problem,) = _problems(title="t" * 1025)
    assert problem == (
        "title",
        "ad-description",
        "the title (the project OU's description) is 1025 characters; AD's description "
        "holds at most 1024",
    )


def test_an_observer_without_an_account_lands_nowhere() -> None:
    observer = dataclasses.replace(TYPICAL.observers[0], employer="E" * 80)
    assert not observer.has_account
    c = Checker("c.yaml")
    check(Draft(title="t", researchers=[], observers=[observer]), c)
    assert c.problems == []
