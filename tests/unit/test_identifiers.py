"""No value accepted by an identifier check or a contract text field holds a control character.

``re.match`` with ``$`` accepted ``"9001\\n"`` as a project number (``$`` matches before a
trailing newline): e-mails with ``\\n`` reached AD, tokens escaped ``token-unique``.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioning import ids
from provisioning.contract.load import check_document
from provisioning.policy import load_policy
from provisioning.validation.fields import Checker
from provisioning.validation.yamlsafe import load_text

POLICY = load_policy()
EXAMPLE = Path(__file__).parents[2] / "examples" / "contracts" / "9002-typical.yaml"
BASE = load_text(EXAMPLE.read_text(encoding="utf-8"))
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Characters no accepted value may contain (categories Cc, Cf, Zl, Zp and friends).
BAD_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
controls = st.one_of(
    st.sampled_from(["\n", "\r", "\t", "\x00", "\x7f", "\x85", "\u200b", "\u2028", "\u2029"]),
    st.characters(categories=["Cc", "Cf", "Zl", "Zp"]),
)

CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "project": (lambda v: ids.matches(ids.PROJECT_RE, v), "9001"),
    "person id": (lambda v: ids.matches(ids.PERSON_ID_RE, v), "mbakker"),
    "file subject": (lambda v: ids.matches(ids.FILE_SUBJECT_RE, v), "GBAPERSOONTAB"),
    "package": (lambda v: ids.matches(ids.PACKAGE_RE, v), "SAS"),
    "token": (lambda v: ids.matches(ids.TOKEN_RE, v), "T-0012345"),
    "e-mail": (lambda v: ids.matches(ids.EMAIL_RE, v), "m.bakker@eur.nl"),
}


def _has_bad(value: str) -> bool:
    return any(unicodedata.category(ch) in BAD_CATEGORIES for ch in value)


@pytest.mark.parametrize("what", sorted(CHECKS))
def test_valid_sample_is_accepted(what: str) -> None:
    check, sample = CHECKS[what]
    assert check(sample)


@pytest.mark.parametrize("what", sorted(CHECKS))
@SETTINGS
@given(bad=controls, where=st.integers(min_value=0, max_value=40))
def test_a_control_character_anywhere_is_refused(what: str, bad: str, where: int) -> None:
    check, sample = CHECKS[what]
    at = min(where, len(sample))
    assert not check(sample[:at] + bad + sample[at:])
    assert not check(sample + bad)  # the trailing newline `$` let through


@pytest.mark.parametrize("what", sorted(CHECKS))
@SETTINGS
@given(value=st.text(max_size=60))
def test_nothing_accepted_holds_a_control_character(what: str, value: str) -> None:
    check, _sample = CHECKS[what]
    if check(value):
        assert not _has_bad(value), repr(value)


#: Contract fields and what a problem for them is filed under.
FIELDS = {
    "project": "project",
    "title": "title",
    "lead": "lead",
    "institution.name": "institution.name",
    "researchers[0].id": "researchers[0].id",
    "researchers[0].name": "researchers[0].name",
    "researchers[0].email": "researchers[0].email",
    "researchers[0].employer": "researchers[0].employer",
    "researchers[0].token": "researchers[0].token",
    "observers[1].name": "observers[1].name",
    "file_subjects[0]": "file_subjects[0]",
    "software[0].package": "software[0].package",
    "ossc.researchers[0]": "ossc.researchers[0]",
}


def _steps(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in path.replace("]", "").replace("[", ".").split("."):
        out.append(int(part) if part.isdigit() else part)
    return out


def _with(path: str, fn: Callable[[Any], Any]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    node: Any = doc
    steps = _steps(path)
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = fn(node[steps[-1]])
    return doc


def _problems(doc: dict[str, Any]) -> list[tuple[str, str]]:
    c = Checker("c.yaml")
    check_document(doc, POLICY, c)
    return [(p.path, p.rule) for p in c.problems]


def test_the_base_contract_is_valid() -> None:
    assert _problems(copy.deepcopy(BASE)) == []


@pytest.mark.parametrize("field", sorted(FIELDS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad=controls, where=st.integers(min_value=0, max_value=60))
def test_contract_field_with_a_control_character_is_refused(
    field: str, bad: str, where: int
) -> None:
    def inject(value: Any) -> str:
        text = str(value)
        at = min(where, len(text))
        return text[:at] + bad + text[at:]

    problems = _problems(_with(field, inject))
    assert any(path == FIELDS[field] for path, _rule in problems), problems


def _module_utils_patterns() -> list[tuple[str, re.Pattern[str], str]]:
    """Every identifier pattern of the collection's module_utils (one set, tre_desired),
    with a valid sample."""
    from ansible_collections.tre.secenv.plugins.module_utils import (
        tre_desired,
        tre_ossc_manifest,
    )

    return [
        ("ACCOUNT_RE", tre_desired.ACCOUNT_RE, "p9001.mbakker"),
        ("GROUP_RE", tre_desired.GROUP_RE, "p9001-members"),
        ("GROUP_RE seat", tre_desired.GROUP_RE, "SW-SAS"),
        ("PROJECT_RE", tre_desired.PROJECT_RE, "9001"),
        ("OU_NAME_RE", tre_desired.OU_NAME_RE, "P9001"),
        ("SUBJECT_RE", tre_desired.SUBJECT_RE, "GBAPERSOONTAB"),
        ("PERSON_RE", tre_desired.PERSON_RE, "mbakker"),
        ("REVISION_RE", tre_desired.REVISION_RE, "0123456789abcdef"),
        ("DATE_RE", tre_desired.DATE_RE, "2026-03-01"),
        ("EMAIL_RE", tre_desired.EMAIL_RE, "m.bakker@eur.nl"),
        ("ossc INBOX_RE", tre_ossc_manifest.INBOX_RE, "inbox/p9001"),
    ]


@pytest.mark.parametrize("bad", ["\n", "\r\n", "\x00", "\t"])
def test_module_utils_patterns_refuse_a_trailing_control_character(bad: str) -> None:
    """Even a caller that uses ``.match`` (not ``fullmatch``) gets no trailing newline."""
    for name, pattern, sample in _module_utils_patterns():
        assert pattern.fullmatch(sample), name
        assert not pattern.match(sample + bad), name


@pytest.mark.parametrize("bad", ["\n", "\x00"])
def test_module_utils_checks_refuse_a_trailing_newline(bad: str) -> None:
    from ansible_collections.tre.secenv.plugins.module_utils import (
        tre_desired,
        tre_ossc_manifest,
    )

    assert tre_desired.validate({"projects": [{"project": "9001" + bad}]})
    assert not tre_desired.matches(tre_desired.EMAIL_RE, "a@b.nl" + bad)
    with pytest.raises(tre_ossc_manifest.ManifestError):
        tre_ossc_manifest.remote_dir("inbox" + bad, "inbox")
