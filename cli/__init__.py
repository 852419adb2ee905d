"""The ``tre`` command: thin click layer over ``provisioning``.

Commands parse arguments, call the domain and print; they raise, never exit. The root group
(``errors.TreGroup``) maps ``ProvisioningError`` to click exceptions and click's standalone
``main`` to exit codes (0 ok, 1 failure or invalid input data, 2 bad usage, 130 interrupted).
One file per noun: ``cmd_*.py``.
"""

from __future__ import annotations

import click

from provisioning import __version__

from .cmd_archive import archive, purge
from .cmd_bill import bill
from .cmd_config import config
from .cmd_contract import contract
from .cmd_jobs import jobs
from .cmd_lab import lab
from .cmd_ossc import ossc
from .cmd_project import project
from .cmd_run import apply, desired, plan
from .cmd_state import ledger, state
from .config import ConfiguredGroup

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=ConfiguredGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="tre")
def cli() -> None:
    """tre: turn approved research-project contracts into accounts, storage and access.

    Validate and quote contracts, bring up a lab, plan and apply them to Active Directory
    and the file server, and inspect what was done.

    Settings: flag > TRE_... environment variable > /etc/tre/tre.toml ($TRE_CONFIG) >
    built-in default (`tre config show`).

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
cli.add_command(jobs)
cli.add_command(ossc)
cli.add_command(config)
cli.add_command(bill)
cli.add_command(state)
cli.add_command(ledger)
cli.add_command(archive)
cli.add_command(purge)


def main() -> None:
    """Console-script entry: click's standalone mode prints the error and exits (cli/errors.py)."""
    cli(prog_name="tre")
