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


GROUPS = {p[0] for p, c in COMMANDS if len(p) == 1 and isinstance(c, click.Group)}


def readme_commands() -> set[str]:
    """Commands of the README's CLI table: `tre lab up [--reset]` / `status` / `down` → 3."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = text.split("## CLI reference", 1)[1].split("\n## ", 1)[0]
    found = set()
    for row in table.splitlines():
        if not row.startswith("| `tre "):
            continue
        chunks = re.findall(r"`([^`]*)`", row.split("|")[1])
        words = chunks[0].split()[1:]
        group = words[0] if words[0] in GROUPS else None
        found.add(" ".join(words[:2]) if group else words[0])
        found.update(f"{group} {chunk.split()[0]}" for chunk in chunks[1:] if group)
    return found


def test_the_readme_table_and_the_cli_agree():
    """Every command in the README's CLI table exists, and every tre command is in it."""
    leaves = {" ".join(p) for p, c in COMMANDS if p and not isinstance(c, click.Group)}
    assert readme_commands() == leaves
