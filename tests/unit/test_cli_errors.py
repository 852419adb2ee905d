"""click's own error path (cli/errors.py): the root group maps the project's errors.

Through ``cli`` in click's standalone mode, as the console script runs it: a
``ProvisioningError`` is one ``Error:`` line and exit 1, problems one line each, a bad
argument click's usage error (exit 2), Ctrl-C ``Interrupted.`` (130), a declined prompt 1.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

import provisioning.cli.cmd_run as cmd_run
from provisioning.cli import cli
from provisioning.orchestrate import Interrupted
from provisioning.state import StateStore

EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"
SMALL = str(EXAMPLES / "9001-small.yaml")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}


def tre(*args: str, env: dict[str, str], stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), env=env, input=stdin)


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("Error:")]


def test_apply_json_without_yes_is_a_usage_error(tmp_path, env):
    """No prompt in the JSON: refused before anything is read or run, stdout empty."""
    r = tre("apply", SMALL, "--json", "--inventory", str(tmp_path / "nowhere"), env=env)
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    assert error_lines(r.stderr) == [
        "Error: --json needs --yes: apply asks for confirmation of a plan it shows"
    ]
    assert not (tmp_path / "home").exists()


def test_provisioning_error_is_one_error_line_exit_1(tmp_path, env):
    r = tre("plan", SMALL, "--inventory", str(tmp_path / "nowhere"), env=env)
    assert r.exit_code == 1, r.output
    assert isinstance(r.exception, SystemExit)  # not the InventoryError itself
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: no inventory at "), r.stderr
    assert "Traceback" not in r.output


def test_bad_argument_is_a_usage_error_exit_2(env):
    r = tre("project", "show", "42;rm", env=env)
    assert r.exit_code == 2, r.output
    assert error_lines(r.stderr) == [
        "Error: Invalid value for NUMBER: '42;rm' is not a project number (digits only, e.g. 9001)"
    ]


def test_keyboard_interrupt_is_interrupted_exit_130(monkeypatch, env):
    def interrupted(_path):
        raise KeyboardInterrupt

    monkeypatch.setattr(cmd_run, "load_policy", interrupted)
    r = tre("desired", SMALL, env=env)
    assert r.exit_code == 130, r.output
    assert r.stderr == "Interrupted.\n"


def test_declined_prompt_aborts_exit_1_and_applies_nothing(monkeypatch, tmp_path, env):
    applied = []
    planned = SimpleNamespace(
        changes=[{"op": "create", "kind": "account", "name": "p9001.a", "project": "9001"}],
        warnings=[],
        seat_warnings=[],
    )
    prepared = SimpleNamespace(contracts=[], desired=None)
    monkeypatch.setattr(cmd_run, "private_umask", lambda: None)
    monkeypatch.setattr(cmd_run, "_prepare", lambda *a: (prepared, None))
    monkeypatch.setattr(cmd_run, "close_interrupted", lambda *a, **k: Interrupted([], []))
    monkeypatch.setattr(cmd_run, "do_plan", lambda *a: planned)
    monkeypatch.setattr(cmd_run, "do_apply", lambda *a, **k: applied.append(a))
    r = tre("apply", SMALL, "--inventory", str(tmp_path), env=env, stdin="n\n")
    assert r.exit_code == 1, r.output
    assert "Apply these changes? [y/N]" in r.stdout
    assert r.stderr.splitlines()[-1] == "Aborted!"
    assert applied == []


def broken_policy(tmp_path: Path) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text("tarifs: 1\n", encoding="utf-8")
    return policy


@pytest.mark.parametrize(
    "args",
    [
        ["contract", "check", SMALL],
        ["contract", "quote", SMALL],
        ["plan", SMALL, "--inventory", "."],
        ["apply", SMALL, "--yes", "--inventory", "."],
        ["desired", SMALL],
        ["project", "show", "9001"],
    ],
)
def test_every_command_prints_problems_the_same_way(args, monkeypatch, tmp_path, env):
    """One printer: a policy's problems, one line each on stderr, no Error: prefix, exit 1."""
    monkeypatch.setattr(cmd_run, "private_umask", lambda: None)  # not this test process's
    StateStore(env["TRE_STATE"]).save_revision(
        {"project": "9001", "title": "t", "start": "2026-02-01", "end": "2027-01-31"},
        "aaa",
        "r0",
        "9001.yaml",
        {},
    )
    policy = broken_policy(tmp_path)
    r = tre(*args, "--policy", str(policy), env=env)
    assert r.exit_code == 1, r.output
    lines = r.stderr.splitlines()
    assert lines[0] == f"{policy}: tarifs: unknown key; did you mean 'tariffs'?"
    assert f"{policy}: run_records_days: required key is missing" in lines
    assert all(ln.startswith(f"{policy}: ") for ln in lines), r.stderr
    assert r.stdout == ""


def options_named(flag: str) -> dict[str, tuple]:
    """Every command's option FLAG, as (dest, envvar, default, help) by command path."""
    found = {}

    def walk(cmd: click.Command, path: str) -> None:
        for param in cmd.params:
            if isinstance(param, click.Option) and flag in param.opts:
                found[path] = (param.name, param.envvar, param.default, param.help)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(cli, "tre")
    return found


@pytest.mark.parametrize("flag", ["--inventory", "--json"])
def test_one_option_for_every_command(flag):
    """`tre lab` takes --inventory and --json from cli/options.py like every other command."""
    found = options_named(flag)
    assert any(path.startswith("tre lab") for path in found), found
    assert len(set(found.values())) == 1, found
