"""Rules for a new revision against the applied one (RULES.md: subjects never removed...)."""

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from provisioning.contract import load_contract
from provisioning.contract.model import FileSubjectGrant
from provisioning.policy import load_policy
from provisioning.revisions import check_revision

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
TODAY = date(2026, 12, 1)
POLICY = load_policy()


@pytest.fixture(scope="module")
def typical():
    return load_contract(EXAMPLES / "9002-typical.yaml", load_policy())


def applied(contract):
    return dataclasses.asdict(contract)


def rules(problems):
    return [p.rule for p in problems]


def test_first_revision_and_same_revision_pass(typical):
    assert check_revision(typical, None, TODAY, POLICY) == []
    assert check_revision(typical, applied(typical), TODAY, POLICY) == []


def test_removing_a_subject_is_refused(typical):
    fewer = dataclasses.replace(typical, file_subjects=typical.file_subjects[1:])
    problems = check_revision(fewer, applied(typical), TODAY, POLICY)
    assert rules(problems) == ["subjects-never-removed"]
    assert "SPOLISBUS" in problems[0].message


def test_adding_a_subject_passes(typical):
    more = dataclasses.replace(
        typical,
        file_subjects=typical.file_subjects + (FileSubjectGrant("LBZBASISTAB", date(2027, 1, 1)),),
    )
    assert check_revision(more, applied(typical), TODAY, POLICY) == []


def test_a_granted_subject_cannot_start_later(typical):
    moved = tuple(
        dataclasses.replace(g, start=date(2027, 1, 1)) if g.name == "INPATAB" else g
        for g in typical.file_subjects
    )
    problems = check_revision(
        dataclasses.replace(typical, file_subjects=moved), applied(typical), TODAY, POLICY
    )
    assert rules(problems) == ["subjects-never-removed"]


def test_a_running_project_keeps_its_start(typical):
    problems = check_revision(
        dataclasses.replace(typical, start=date(2026, 4, 1)), applied(typical), TODAY, POLICY
    )
    assert rules(problems) == ["start-fixed"]


def test_the_only_active_researcher_cannot_be_removed(typical):
    alone = dataclasses.replace(typical, researchers=typical.researchers[:1], lead="mbakker")
    other = dataclasses.replace(
        alone, researchers=(dataclasses.replace(typical.researchers[1], id="newcomer"),)
    )
    problems = check_revision(other, applied(alone), TODAY, POLICY)
    assert rules(problems) == ["last-researcher"]


def _extended(contract, end: date, authorization_until: date | None = None):
    inst = dataclasses.replace(
        contract.institution,
        authorization_until=authorization_until or contract.institution.authorization_until,
    )
    return dataclasses.replace(contract, end=end, institution=inst)


def test_extension_in_time_passes(typical):
    """9002 ends Tue 2028-02-29; 5 working days before: Tue 22 (Mon 28, Fri 25, Thu 24,
    Wed 23, Tue 22). Applied on the 22nd: in time."""
    later = _extended(typical, date(2028, 12, 31))
    assert check_revision(later, applied(typical), date(2028, 2, 22), POLICY) == []
    assert check_revision(later, applied(typical), date(2027, 6, 1), POLICY) == []


def test_extension_too_late_is_refused_but_forceable(typical):
    later = _extended(typical, date(2028, 12, 31))
    problems = check_revision(later, applied(typical), date(2028, 2, 23), POLICY)
    assert rules(problems) == ["extension-notice"]
    assert problems[0].forceable
    line = problems[0].line()
    assert "\n" not in line and "2028-02-29" in line and "by 2028-02-22" in line
    assert "--force" in line
    after_end = check_revision(later, applied(typical), date(2028, 3, 10), POLICY)
    assert rules(after_end) == ["extension-notice"]


def test_other_problems_are_not_forceable(typical):
    fewer = dataclasses.replace(typical, file_subjects=typical.file_subjects[1:])
    assert not check_revision(fewer, applied(typical), TODAY, POLICY)[0].forceable


def test_extension_notice_comes_from_the_policy(typical):
    later = _extended(typical, date(2028, 12, 31))
    ten = dataclasses.replace(POLICY, extension_notice_working_days=10)
    assert rules(check_revision(later, applied(typical), date(2028, 2, 22), ten)) == [
        "extension-notice"
    ]
    assert check_revision(later, applied(typical), date(2028, 2, 15), ten) == []


def test_same_or_earlier_end_is_no_extension(typical):
    same = check_revision(typical, applied(typical), date(2028, 2, 28), POLICY)
    assert same == []
