"""The one validation of tre_desired (module_utils/tre_desired.py), used by tre_ad, tre_storage
and tre_ossc_handoff: what the controller builds passes, and every bad part is one line."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_desired
from ansible_collections.tre.secenv.plugins.module_utils import tre_ossc_manifest as manifest
from ansible_collections.tre.secenv.plugins.module_utils import tre_storage_spec as spec_mod
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import (
    ACCOUNT_RE,
    GROUP_RE,
    summary,
    validate,
)

from provisioning import ids, naming
from provisioning.contract import load_contract
from provisioning.desired import build_desired_state
from provisioning.policy import load_policy
from tests.modules.test_tre_ad_diff import desired as ad_desired
from tests.modules.test_tre_ad_diff import software

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
AD = ("ou", "groups")
STORAGE = ("groups", "storage")


@pytest.fixture(scope="module")
def built() -> dict:
    """The desired state the controller builds from the three example contracts."""
    policy = load_policy()
    contracts = [load_contract(path, policy) for path in sorted(EXAMPLES.glob("*.yaml"))]
    return build_desired_state(contracts, policy, date(2026, 12, 1))


def test_what_the_controller_builds_is_valid_for_every_module(built: dict) -> None:
    assert built["projects"] and built["software"]
    assert validate(built, required=AD) == []
    assert validate(built, required=STORAGE) == []
    assert validate(built) == []


def test_the_names_naming_builds_match_the_one_set_of_patterns() -> None:
    long_id = "averyverylongid7"  # cut: prefix, '-' and three hash characters
    for sam in (naming.account_sam("9001", "mbakker"), naming.account_sam("12345678", long_id)):
        assert ACCOUNT_RE.fullmatch(sam), sam
    for group in (
        naming.project_group("9001", "members"),
        naming.project_group("12345678", "observers"),
        naming.seat_group("MLWIN"),
        "DS-GBAPERSOONTAB",  # reader group DS-<SUBJECT> (policy pattern subject_group)
        "DS-SPOLISBUSVE-k3q",  # a cut reader group: '-' and three lower-case hash characters
    ):
        assert GROUP_RE.fullmatch(group), group


def test_the_collection_patterns_agree_with_the_controllers() -> None:
    """Modules run without the tre package, so the collection holds its own copy."""
    assert tre_desired.PROJECT_RE.pattern == ids.PROJECT_RE.pattern
    assert tre_desired.SUBJECT_RE.pattern == ids.FILE_SUBJECT_RE.pattern
    assert tre_desired.PERSON_RE.pattern == ids.PERSON_ID_RE.pattern
    assert tre_desired.EMAIL_RE.pattern == ids.EMAIL_RE.pattern


@pytest.mark.parametrize(
    "name",
    ["P9001.Jan", "p9001_jan", "p9001.jan\n", ".p9001", "p9001.jan/..", "x" * 21, "a,b"],
)
def test_one_account_pattern_for_every_module(name: str) -> None:
    """The AD module used to accept upper case and '_', which the storage module refused."""
    assert not ACCOUNT_RE.fullmatch(name)


@pytest.mark.parametrize("name", ["SW.SAS", "SW_SAS", "p9001-members*", "-x", "A" * 21])
def test_one_group_pattern_for_every_module(name: str) -> None:
    assert not GROUP_RE.fullmatch(name)


def _first(desired: dict) -> dict:
    return desired["projects"][0]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: _first(d)["accounts"][0].update(sam="P9001.X"), "bad sAMAccountName"),
        (lambda d: _first(d)["storage"].update(file_subjects=["gba"]), "bad file subject"),
        (lambda d: _first(d)["storage"].update(quota_bytes=True), "bad storage quota_bytes"),
        (lambda d: _first(d)["storage"].update(recorded_grants="X"), "recorded_grants"),
        (lambda d: _first(d)["storage"].update(contract_subjects=["a/b"]), "contract subject"),
        (lambda d: d["software"]["SAS"].update(group="SW_SAS"), "software 'SAS'"),
        (lambda d: d["software"]["SAS"].update(members=["../x"]), "bad member name"),
        (lambda d: d.update(subjects={"GBAPERSOONTAB": {"group": "DS GBA"}}), "reader group"),
        (lambda d: d.update(subjects={"gba": {"group": "DS-GBA"}}), "bad file subject"),
        (lambda d: d.update(identities={"accounts": {"p9001.x": {"uid": "1"}}}), "bad uid"),
        (lambda d: d.update(identities={"groups": {"SW SAS": {"gid": 1}}}), "bad group"),
        (lambda d: d.update(today="1 December"), "today"),
        (lambda d: d["projects"].append(copy.deepcopy(_first(d))), "listed twice"),
        # moves and transfers (issue 12): numbers become paths, dates, relative paths
        (lambda d: _first(d).update(status="moved", moved_to="../7315"), "bad moved_to"),
        (lambda d: _first(d).update(moved_to="7315"), "moved_to without status moved"),
        (lambda d: _first(d).update(transfers={"x": 1}), "transfers is not a list"),
        (lambda d: _first(d).update(transfers=[{"from_project": "P1"}]), "bad transfer source"),
        (
            lambda d: _first(d).update(
                transfers=[{"from_project": "7302", "from": "2027-09-01", "done": ["/etc"]}]
            ),
            "transfer done must be a list of relative paths",
        ),
        (
            lambda d: _first(d).update(transfers=[{"from_project": "7302", "done": []}]),
            "transfer from None is not a date",
        ),
    ],
)
def test_each_bad_part_is_one_line_naming_it(built: dict, mutate, expected: str) -> None:
    desired = copy.deepcopy(built)
    mutate(desired)
    problems = validate(desired, required=AD)
    assert any(expected in p for p in problems), problems
    assert all("\n" not in p for p in problems)


def test_required_parts_are_those_the_module_reads(built: dict) -> None:
    desired = copy.deepcopy(built)
    for project in desired["projects"]:
        del project["storage"], project["ou"]
    assert validate(desired) == []  # tre_ossc_handoff reads neither
    assert any("storage missing" in p for p in validate(desired, required=STORAGE))
    assert any("bad project number or ou" in p for p in validate(desired, required=AD))


def test_the_ossc_part_is_checked_once_for_the_manifest(built: dict) -> None:
    desired = copy.deepcopy(built)
    ossc = next(p for p in desired["projects"] if p.get("ossc"))
    ossc["ossc"]["researchers"][0]["email"] = "nope"
    (problem,) = validate(desired)
    assert problem.startswith(f"invalid researcher email in P{ossc['project']}")
    with pytest.raises(manifest.ManifestError, match="researcher email"):
        manifest.build_body(ossc)


def test_storage_normalize_refuses_through_the_one_validation(built: dict) -> None:
    desired = copy.deepcopy(built)
    _first(desired)["accounts"][0]["sam"] = "p9001_x"
    _first(desired)["storage"]["file_subjects"] = ["lower"]
    with pytest.raises(spec_mod.SpecError) as err:
        spec_mod.normalize(desired, {})
    assert str(err.value).startswith("invalid desired state: project ")
    assert str(err.value).endswith("(and 1 more)")


def test_summary_is_one_line() -> None:
    assert summary(["a", "b", "c"]) == "invalid desired state: a (and 2 more)"
    assert summary(["a"]) == "invalid desired state: a"


def test_not_a_mapping() -> None:
    assert tre_desired.validate(["x"]) == ["the desired state is not a mapping"]
    assert tre_desired.validate({"projects": "x"}) == ["projects is not a list"]


# ---- the AD planner's cases (moved from test_tre_ad_diff) ---------------------------------


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda w: w["projects"][0].update(project="07001"), "bad project number"),
        (lambda w: w["projects"][0].update(ou="P7002"), "bad project number"),
        (lambda w: w["projects"][0]["accounts"][0].update(sam="x" * 21), "bad sAMAccountName"),
        (lambda w: w["projects"][0]["accounts"][0].update(sam="a,b"), "bad sAMAccountName"),
        (lambda w: w["projects"][0]["accounts"][1].update(sam="p7001.JAN"), "bad sAMAccountName"),
        (
            lambda w: w["projects"][0]["accounts"][1].update(
                sam=w["projects"][0]["accounts"][0]["sam"]
            ),
            "appears twice",
        ),
        (lambda w: w["projects"][0]["accounts"][0].update(group="admins"), "members or observers"),
        (lambda w: w["projects"][0]["accounts"][0].update(expires="soon"), "not an ISO date"),
        (lambda w: w["projects"][0]["groups"]["members"].update(name="a*"), "bad members group"),
    ],
)
def test_validate_rejects_unsafe_names_of_the_ad_planner_cases(mutate, message):
    want = ad_desired()
    mutate(want)
    assert any(message in e for e in validate(want, required=("ou", "groups")))


def test_validate_accepts_the_ad_planner_example():
    assert validate(ad_desired(software=software(["p7001.jan"])), required=("ou", "groups")) == []
