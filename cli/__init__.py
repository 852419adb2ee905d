"""The ``tre`` command: thin click layer over ``provisioning``.

Commands parse arguments, call the domain, print, and map ``ProvisioningError`` to exit codes
(0 ok, 1 failure or invalid input data, 2 bad usage). One file per noun: ``cmd_*.py``.
"""

from __future__ import annotations

import sys

import click

from provisioning import __version__
from provisioning.errors import ProvisioningError

from .cmd_contract import contract
from .cmd_lab import lab
from .cmd_project import project
from .cmd_run import apply, desired, plan

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="tre")
def cli() -> None:
    """tre: turn approved research-project contracts into accounts, storage and access.

    Validate and quote contracts, bring up a lab, plan and apply them to Active Directory
    and the file server, and inspect what was done.

    \b
    Example:
      tre contract check examples/contracts/*.yaml
      tre lab up && tre plan examples/contracts/
    """


cli.add_command(contract)
cli.add_command(lab)
cli.add_command(plan)
cli.add_command(apply)
cli.add_command(project)
cli.add_command(desired)


def main() -> None:
    """Console-script entry: no traceback for a user's mistake, ever."""
    try:
        # Without standalone mode click returns ctx.exit(n)'s code instead of raising it.
        code = cli.main(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(2 if isinstance(e, click.UsageError) else e.exit_code)
    except ProvisioningError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
