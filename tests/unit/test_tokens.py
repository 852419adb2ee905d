"""One token, one person across the contracts checked together and the applied state."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioning.cli import cli
from provisioning.contract import load_contract
from provisioning.orchestrate import RevisionError, prepare
from provisioning.policy import load_policy
from provisioning.state import StateStore

EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"
SMALL_PATH = str(EXAMPLES / "9001-small.yaml")
SMALL = Path(SMALL_PATH).read_text(encoding="utf-8")
POLICY = load_policy()


def _other_project(text: str = SMALL) -> str:
    """Project 9005: zvanthoff holds jdevries's token T-0012345 (another person)."""
    return (
        text.replace("project: 9001", "project: 9005")
        .replace("token: T-0012345}", "token: T-0099999}")
        .replace("token: T-0012346,", "token: T-0012345,")
    )


def token_conflicts(*args, **kwargs):  # imported late: the module is new with the fix
    from provisioning.contract.tokens import token_conflicts as conflicts

    return conflicts(*args, **kwargs)


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _summary(project: str) -> dict[str, str]:
    return {"project": project, "title": "t", "start": "2026-02-01", "end": "2027-01-31"}


def test_two_people_with_one_token_in_two_contracts(tmp_path: Path) -> None:
    a = load_contract(_write(tmp_path, "a.yaml", SMALL), POLICY)
    b = load_contract(_write(tmp_path, "b.yaml", _other_project()), POLICY)
    (k,) = token_conflicts([a, b])
    line = k.message()
    assert "token T-0012345" in line
    assert "project 9001 person jdevries" in line and "project 9005 person zvanthoff" in line
    for person in a.people + b.people:  # names and e-mails never in the message
        assert person.name not in line and person.email not in line


def test_the_same_person_with_the_same_token_in_two_projects_passes(tmp_path: Path) -> None:
    a = load_contract(_write(tmp_path, "a.yaml", SMALL), POLICY)
    b = load_contract(_write(tmp_path, "b.yaml", SMALL.replace("9001", "9005")), POLICY)
    assert token_conflicts([a, b]) == []


def test_same_id_and_token_but_another_name_is_another_person(tmp_path: Path) -> None:
    a = load_contract(_write(tmp_path, "a.yaml", SMALL), POLICY)
    other = SMALL.replace("project: 9001", "project: 9005").replace("Jan de Vries", "Jan Smit")
    b = load_contract(_write(tmp_path, "b.yaml", other), POLICY)
    assert [k.token for k in token_conflicts([a, b])] == ["T-0012345"]


def test_against_the_applied_state(tmp_path: Path) -> None:
    a = load_contract(_write(tmp_path, "a.yaml", SMALL), POLICY)
    b = load_contract(_write(tmp_path, "b.yaml", _other_project()), POLICY)
    applied = {"9001": dataclasses.asdict(a)}
    (k,) = token_conflicts([b], applied)
    assert k.given.project == "9005" and k.given.path == "researchers[1].token"
    assert "(applied state)" in k.message()
    # a new revision of the applied project itself replaces it: no conflict with itself
    changed = dataclasses.replace(a, title="Another title")
    assert token_conflicts([changed], applied) == []


def test_contract_check_of_two_files_refuses_one_line(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.yaml", SMALL)
    b = _write(tmp_path, "b.yaml", _other_project())
    state = f"sqlite:///{tmp_path / 'none.db'}"
    r = CliRunner().invoke(cli, ["contract", "check", "--state", state, a, b])
    assert r.exit_code == 1, r.output
    lines = r.stdout.splitlines()
    assert lines == [
        f"{b}: researchers[1].token: token T-0012345 is held by two different people: "
        f"project 9001 person jdevries ({a}) and project 9005 person zvanthoff ({b}); "
        "a token is personal"
    ]
    assert not (tmp_path / "none.db").exists()  # check never creates a state store


def _applied_store(tmp_path: Path, url: str) -> tuple[str, StateStore]:
    store = StateStore(url)
    a = load_contract(_write(tmp_path, "applied.yaml", SMALL), POLICY)
    store.save_revision(_summary("9001"), "rev1", "run1", a.source, dataclasses.asdict(a))
    return url, store


def test_contract_check_against_the_state_store(tmp_path: Path, state_url: str) -> None:
    url, store = _applied_store(tmp_path, state_url)
    store.close()
    b = _write(tmp_path, "b.yaml", _other_project())
    r = CliRunner().invoke(cli, ["contract", "check", "--state", url, b])
    assert r.exit_code == 1, r.output
    (line,) = r.stdout.splitlines()
    assert line.startswith(f"{b}: researchers[1].token: token T-0012345 ")
    assert "project 9001 person jdevries (applied state)" in line
    ok = _write(tmp_path, "ok.yaml", SMALL.replace("9001", "9005"))  # same person: fine
    r = CliRunner().invoke(cli, ["contract", "check", "--state", url, ok])
    assert r.exit_code == 0, r.output


def test_prepare_refuses_a_token_of_another_person_in_the_applied_state(
    tmp_path: Path, state_url: str
) -> None:
    _url, store = _applied_store(tmp_path, state_url)
    b = load_contract(_write(tmp_path, "b.yaml", _other_project()), POLICY)
    with pytest.raises(RevisionError) as e:
        prepare([b], POLICY, date(2026, 3, 1), store)
    (problem,) = e.value.problems
    assert problem.rule == "token-person" and problem.project == "9005"
    same = load_contract(_write(tmp_path, "same.yaml", SMALL.replace("9001", "9005")), POLICY)
    assert prepare([same], POLICY, date(2026, 3, 1), store).contracts == [same]


def test_applied_contracts_is_the_latest_of_every_project(state_url: str) -> None:
    store = StateStore(state_url)
    store.save_revision(_summary("9001"), "a", "r1", "x.yaml", {"title": "old"})
    store.save_revision(_summary("9001"), "b", "r2", "x.yaml", {"title": "new"})
    store.save_revision(_summary("9002"), "c", "r3", "y.yaml", {"title": "other"})
    assert store.applied_contracts() == {"9001": {"title": "new"}, "9002": {"title": "other"}}


def test_contract_check_with_a_broken_state_store_given_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_text("not a database " * 20, encoding="utf-8")
    entry = "import sys; from provisioning.cli import main; sys.argv[0] = 'tre'; main()"
    args = ["contract", "check", "--state", f"sqlite:///{bad}", SMALL_PATH]
    r = subprocess.run(
        [sys.executable, "-c", entry, *args], capture_output=True, text=True, check=False
    )
    assert r.returncode != 0
    assert r.stderr.splitlines() == [
        f"Error: cannot open the state store {bad}: file is not a database"
    ]
