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


@pytest.fixture(scope="module")
def typical():
    return load_contract(EXAMPLES / "9002-typical.yaml", load_policy())


def applied(contract):
    return dataclasses.asdict(contract)


def rules(problems):
    return [p.rule for p in problems]


def test_first_revision_and_same_revision_pass(typical):
    assert check_revision(typical, None, TODAY) == []
    assert check_revision(typical, applied(typical), TODAY) == []


def test_removing_a_subject_is_refused(typical):
    fewer = dataclasses.replace(typical, file_subjects=typical.file_subjects[1:])
    problems = check_revision(fewer, applied(typical), TODAY)
    assert rules(problems) == ["subjects-never-removed"]
    assert "SPOLISBUS" in problems[0].message


def test_adding_a_subject_passes(typical):
    more = dataclasses.replace(
        typical,
        file_subjects=typical.file_subjects + (FileSubjectGrant("LBZBASISTAB", date(2027, 1, 1)),),
    )
    assert check_revision(more, applied(typical), TODAY) == []


def test_a_granted_subject_cannot_start_later(typical):
    moved = tuple(
        dataclasses.replace(g, start=date(2027, 1, 1)) if g.name == "INPATAB" else g
        for g in typical.file_subjects
    )
    problems = check_revision(
        dataclasses.replace(typical, file_subjects=moved), applied(typical), TODAY
    )
    assert rules(problems) == ["subjects-never-removed"]


def test_a_running_project_keeps_its_start(typical):
    problems = check_revision(
        dataclasses.replace(typical, start=date(2026, 4, 1)), applied(typical), TODAY
    )
    assert rules(problems) == ["start-fixed"]


def test_the_only_active_researcher_cannot_be_removed(typical):
    alone = dataclasses.replace(typical, researchers=typical.researchers[:1], lead="mbakker")
    other = dataclasses.replace(
        alone, researchers=(dataclasses.replace(typical.researchers[1], id="newcomer"),)
    )
    problems = check_revision(other, applied(alone), TODAY)
    assert rules(problems) == ["last-researcher"]
