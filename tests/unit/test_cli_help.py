"""Every command has -h/--help whose text ends with an example."""

import click
import pytest
from click.testing import CliRunner

from provisioning.cli import cli


def walk(group: click.Group, prefix: tuple[str, ...] = ()):
    yield prefix, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from walk(command, prefix + (name,))
        else:
            yield prefix + (name,), command


COMMANDS = list(walk(cli))


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) or "tre" for p, _ in COMMANDS])
def test_every_command_has_help_ending_with_an_example(path, command):
    for flag in ("-h", "--help"):
        result = CliRunner().invoke(cli, [*path, flag])
        assert result.exit_code == 0, result.output
        assert "Example:" in result.output, f"tre {' '.join(path)} --help has no example"
    # The help text itself ends with the example block: its last line is a tre command line.
    lines = command.help.strip().splitlines()
    assert lines[-1].strip().startswith("tre "), lines[-1]
    assert any(line.strip() == "Example:" for line in lines[-4:])


def test_there_are_commands():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"contract check", "contract quote", "plan", "apply", "project show"} <= names
