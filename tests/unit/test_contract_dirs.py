"""Contract directories: one loader for `tre contract check DIR` and `tre plan DIR`.

A symlink leading out of the directory is refused unread, hidden files are skipped,
``.YAML``/``.Yml`` count as contracts, and the content of a file that is not a contract is
never echoed back.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioning.cli import cli

EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"
SMALL = EXAMPLES / "9001-small.yaml"
SECRET = "s3cr3tHASHxyz"
#: Lines shaped like /etc/shadow: YAML reads each as a key of a mapping.
SHADOW = "".join(f"user{i}:$6${SECRET}{i}$abc:20228:0:99999:7::\n" for i in range(5))


def check(*args: str):
    return CliRunner().invoke(cli, ["contract", "check", *args])


def plan(tmp_path: Path, *args: str):
    state = f"sqlite:///{tmp_path / 'state.db'}"
    opts = ["--state", state, "--home", str(tmp_path / "home"), "--today", "2026-03-01"]
    return CliRunner().invoke(cli, ["plan", *opts, *args])


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "shadow"
    secret.parent.mkdir()
    secret.write_text(SHADOW, encoding="utf-8")
    return secret


def _dir(tmp_path: Path) -> Path:
    d = tmp_path / "contracts"
    d.mkdir()
    shutil.copy(SMALL, d / "9001.yaml")
    return d


def test_symlink_leaving_the_directory_is_refused_unread(tmp_path: Path, outside: Path) -> None:
    d = _dir(tmp_path)
    (d / "evil.yaml").symlink_to(outside)
    r = check(str(d))
    assert r.exit_code == 1
    assert r.stdout.splitlines() == [
        f"{d / 'evil.yaml'}: (file): a symbolic link leading outside {d}; refused, not read"
    ]
    assert SECRET not in r.output and "user0" not in r.output


def test_symlink_to_etc_shadow(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    (d / "shadow.yaml").symlink_to("/etc/shadow")
    r = check(str(d))
    assert r.exit_code == 1
    assert len(r.stdout.splitlines()) == 1 and "refused, not read" in r.stdout
    assert "root:" not in r.output and "daemon" not in r.output


def test_symlink_inside_the_directory_is_read(tmp_path: Path) -> None:
    d = tmp_path / "contracts"
    (d / "store").mkdir(parents=True)
    shutil.copy(SMALL, d / "store" / "9001.yaml")
    (d / "current.yaml").symlink_to(d / "store" / "9001.yaml")
    r = check(str(d))
    assert r.exit_code == 0, r.output
    assert "1 contract(s) valid" in r.stderr


def test_a_file_that_is_not_a_contract_is_never_echoed(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    (d / "notes.yaml").write_text(SHADOW, encoding="utf-8")
    r = check(str(d))
    assert r.exit_code == 1
    (line,) = r.stdout.splitlines()
    assert line.startswith(f"{d / 'notes.yaml'}: (file): not a contract: none of its 5 keys")
    assert SECRET not in r.output and "user" not in r.output


def test_odd_keys_of_a_contract_are_not_echoed(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(SMALL.read_text(encoding="utf-8") + f"x:{SECRET}:1::: 2\n", encoding="utf-8")
    r = check(str(f))
    assert r.exit_code == 1
    assert SECRET not in r.output
    assert "a key that is not a plain name" in r.stdout


def test_hidden_files_are_skipped_and_suffixes_ignore_case(tmp_path: Path) -> None:
    d = tmp_path / "contracts"
    d.mkdir()
    (d / ".9001.yaml.swp").write_text(SHADOW, encoding="utf-8")
    (d / ".draft.yaml").write_text(SHADOW, encoding="utf-8")
    shutil.copy(SMALL, d / "9001.YAML")
    text = SMALL.read_text(encoding="utf-8").replace("9001", "9002")
    (d / "9002.Yml").write_text(text, encoding="utf-8")
    r = check(str(d))
    assert r.exit_code == 0, r.output
    assert "2 contract(s) valid" in r.stderr
    (d / "9003.YML").write_text("project: 9003\n", encoding="utf-8")
    r = check(str(d))
    assert r.exit_code == 1 and f"{d / '9003.YML'}: title: required key is missing" in r.stdout


def test_two_files_of_one_project_both_refuse_in_check_and_plan(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    shutil.copy(SMALL, d / "9001-copy.yaml")
    want = [
        f"{d / '9001-copy.yaml'}: project: project 9001 is also in {d / '9001.yaml'}; "
        "one contract per project",
        f"{d / '9001.yaml'}: project: project 9001 is also in {d / '9001-copy.yaml'}; "
        "one contract per project",
    ]
    r = check(str(d))
    assert r.exit_code == 1 and sorted(r.stdout.splitlines()) == want
    p = plan(tmp_path, str(d))
    assert p.exit_code == 1 and sorted(p.stderr.splitlines()) == want
    assert not (tmp_path / "state.db").exists()


@pytest.mark.parametrize("case", ["symlink", "not-a-contract", "empty", "hidden-only"])
def test_check_and_plan_give_the_same_verdict(tmp_path: Path, outside: Path, case: str) -> None:
    d = tmp_path / "contracts"
    d.mkdir()
    if case == "symlink":
        shutil.copy(SMALL, d / "9001.yaml")
        (d / "x.yaml").symlink_to(outside)
    elif case == "not-a-contract":
        (d / "x.yml").write_text(SHADOW, encoding="utf-8")
    elif case == "hidden-only":
        shutil.copy(SMALL, d / ".9001.yaml")
    r = check(str(d))
    p = plan(tmp_path, str(d))
    assert r.exit_code == p.exit_code == 1
    assert r.stdout.splitlines() == p.stderr.splitlines()
    assert SECRET not in r.output + p.output
