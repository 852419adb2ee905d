"""The config file (/etc/tre/tre.toml, $TRE_CONFIG): precedence, checks, `tre config show`."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provisioning import __version__
from provisioning.cli import cli
from provisioning.cli.config import ConfiguredGroup, settings
from tests.integration.helpers import EXAMPLES

REPO = Path(__file__).resolve().parents[2]
SETTINGS_ENV = ("TRE_INVENTORY", "TRE_STATE", "TRE_HOME", "TRE_POLICY", "TRE_LAB_DIR")


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty config file named by $TRE_CONFIG; no TRE_ setting from the caller's shell."""
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "etc" / "tre.toml"
    path.parent.mkdir()
    path.write_text("")
    monkeypatch.setenv("TRE_CONFIG", str(path))
    return path


def show(*args: str, env: dict[str, str] | None = None) -> dict[str, dict[str, object]]:
    result = CliRunner().invoke(cli, ["config", "show", "--json", *args], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["settings"]


def test_precedence_flag_env_config_default(config: Path) -> None:
    config.write_text('home = "/from/config"\nstate = "sqlite:////from/config.db"\n')
    env = {"TRE_HOME": "/from/env"}
    got = show("--home", "/from/flag", env=env)
    assert got["home"] == {"value": "/from/flag", "source": "flag", "env": "TRE_HOME"}
    got = show(env=env)
    assert (got["home"]["value"], got["home"]["source"]) == ("/from/env", "env")
    got = show()
    assert (got["home"]["value"], got["home"]["source"]) == ("/from/config", "config")
    assert (got["state"]["value"], got["state"]["source"]) == (
        "sqlite:////from/config.db",
        "config",
    )
    assert (got["policy"]["value"], got["policy"]["source"]) == (None, "default")
    config.write_text("")
    got = show()
    assert (got["home"]["value"], got["home"]["source"]) == ("/var/lib/tre", "default")


def test_a_command_takes_its_inventory_from_the_config(config: Path, tmp_path: Path) -> None:
    """`tre plan` gets the inventory from the file: relative to the file, not the cwd."""
    config.write_text('inventory = "inv"\n')
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/s.db", "TRE_HOME": str(tmp_path / "home")}
    result = CliRunner().invoke(cli, ["plan", str(EXAMPLES), "--today", "2026-12-01"], env=env)
    assert result.exit_code == 1
    assert f"no inventory at {config.parent / 'inv'} (hosts.yml missing)" in result.output
    flagged = CliRunner().invoke(
        cli, ["plan", str(EXAMPLES), "-i", str(tmp_path / "flag")], env=env
    )
    assert f"no inventory at {tmp_path / 'flag'} " in flagged.output


def test_no_inventory_anywhere_says_how_to_set_it(config: Path, tmp_path: Path) -> None:
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/s.db", "TRE_HOME": str(tmp_path / "home")}
    result = CliRunner().invoke(cli, ["plan", str(EXAMPLES), "--today", "2026-12-01"], env=env)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    for hint in ("--inventory", "TRE_INVENTORY", "/etc/tre/tre.toml", "tre lab up"):
        assert hint in lines[0]


@pytest.mark.parametrize(
    "text,message",
    [
        ('inventori = "x"\n', "unknown key 'inventori' (known: "),
        ("inventory = 3\n", "inventory must be a string, not an integer"),
        ("home = true\n", "home must be a string, not a boolean"),
        ('state = ["a"]\n', "state must be a string, not an array"),
        ("[lab]\nsize = 1\n", "unknown key 'lab'"),
        ('inventory = "x\n', "not valid TOML"),
    ],
)
def test_a_wrong_file_is_one_line_naming_file_and_key(config: Path, text, message) -> None:
    config.write_text(text)
    result = CliRunner().invoke(cli, ["project", "list"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {config}: {message}"), result.output


def test_a_named_config_that_is_missing_is_an_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TRE_CONFIG", str(tmp_path / "nope.toml"))
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 1
    assert (
        result.output == f"Error: {tmp_path / 'nope.toml'}: no such file (named by $TRE_CONFIG)\n"
    )


def test_help_and_version_answer_with_a_broken_file(config: Path) -> None:
    config.write_text("this is not toml\n")
    assert CliRunner().invoke(cli, ["--version"]).output == f"tre, version {__version__}\n"
    assert CliRunner().invoke(cli, ["plan", "--help"]).exit_code == 0


def test_show_masks_passwords_and_names_the_file(config: Path) -> None:
    config.write_text('state = "postgresql://tre:s3cret@db.example.org/tre"\n')
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 0
    assert "s3cret" not in result.output
    assert "postgresql://tre:***@db.example.org/tre" in result.output
    assert result.output.splitlines()[0] == f"config file: {config}"
    row = next(ln for ln in result.output.splitlines() if ln.startswith("state "))
    assert row.split()[1] == "config"


def test_every_setting_is_an_option_with_a_tre_variable() -> None:
    """The keys are derived, not listed: TRE_<KEY> of every option that has one."""
    found = settings(cli)
    assert {"inventory", "state", "home", "policy", "lab_dir"} <= set(found)
    for key, setting in found.items():
        assert setting.envvar == f"TRE_{key.upper()}"


def test_an_option_added_later_is_configurable_without_touching_the_config_code(
    config: Path,
) -> None:
    """The mechanism is generic: a new option with an envvar is a key (here: smtp_port)."""

    @click.group(cls=ConfiguredGroup)
    def root() -> None:
        pass

    @root.group()
    def mail() -> None:
        pass

    @mail.command()
    @click.option("--smtp-port", envvar="TRE_SMTP_PORT", type=int, default=25)
    @click.option("--smtp-host", envvar="TRE_SMTP_HOST", default="localhost")
    def send(smtp_port: int, smtp_host: str) -> None:
        click.echo(f"{smtp_host}:{smtp_port}")

    config.write_text('smtp_host = "relay.example.org"\nsmtp_port = 587\n')
    assert CliRunner().invoke(root, ["mail", "send"]).output == "relay.example.org:587\n"
    got = CliRunner().invoke(root, ["mail", "send", "--smtp-port", "2525"]).output
    assert got == "relay.example.org:2525\n"
    config.write_text('smtp_port = "587"\n')
    result = CliRunner().invoke(root, ["mail", "send"])
    assert result.exit_code == 1
    assert f"{config}: smtp_port must be an integer, not a string" in result.output


def test_version_is_the_one_in_pyproject() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    result = CliRunner().invoke(cli, ["--version"])
    assert result.output == f"tre, version {pyproject['project']['version']}\n"
