"""`tre lab up|status|down`: the lab on this machine (see provisioning.lab)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from provisioning import lab as lab_api
from provisioning.lab.config import DEFAULT_MOUNT, DEFAULT_SIZE, LabConfig

from .options import inventory_option, json_option

lab_dir_option = click.option(
    "--lab-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="TRE_LAB_DIR",
    default=None,
    help="The lab's directory [env TRE_LAB_DIR; default /var/lib/tre-lab].",
)


@click.group()
def lab() -> None:
    """A real secure environment on this machine, for trying tre and for tests.

    Samba AD DC (127.0.10.1, LDAPS), btrfs with quotas (/srv/tre), an SMTP server
    (127.0.10.2:25) and the OSSC SFTP gateway (127.0.10.3:2222). The inventory describing
    it is written to --inventory (default: where the last `up` wrote it, else
    <lab dir>/inventory), and /etc/tre/tre.toml ($TRE_CONFIG) points at it, unless an
    administrator wrote that file. Needs root.

    \b
    Example:
      tre lab up && tre lab status
    """


@lab.command()
@click.option("--reset", is_flag=True, help="Take the lab down completely first.")
@lab_dir_option
@inventory_option
@click.option("--size", default=DEFAULT_SIZE, show_default=True, help="Size of the btrfs image.")
@click.option(
    "--mount",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_MOUNT,
    show_default=True,
    help="Where the btrfs file system is mounted.",
)
def up(reset: bool, lab_dir: Path | None, inventory: Path, size: str, mount: Path) -> None:
    """Bring the lab up, or repair what is missing (idempotent).

    Installs missing Debian packages, provisions what does not exist yet, restarts what is
    not running and prints what it did ("nothing to do" when all was up).

    \b
    Example:
      tre lab up --size 8G
    """
    cfg = LabConfig.from_env(lab_dir, inventory, mount, size)
    start = time.monotonic()
    report = lab_api.up(cfg, reset=reset, echo=click.echo)
    took = time.monotonic() - start
    if report.actions:
        click.echo(f"lab up in {took:.1f} s: inventory {cfg.inventory_dir}")
    else:
        click.echo(f"nothing to do: the lab is up ({took:.1f} s)")


@lab.command()
@lab_dir_option
@inventory_option
@json_option
@click.pass_context
def status(ctx: click.Context, lab_dir: Path | None, inventory: Path, as_json: bool) -> None:
    """Check every part of the lab for real; exit 1 if any is down.

    \b
    Example:
      tre lab status --json
    """
    cfg = LabConfig.from_env(lab_dir, inventory)
    results = lab_api.status(cfg)
    if as_json:
        click.echo(json.dumps([c.as_dict() for c in results], indent=2))
    else:
        width = max(len(c.part) for c in results)
        for c in results:
            click.echo(f"{c.part:<{width}}  {'up' if c.ok else 'DOWN':<4}  {c.detail}")
    if not all(c.ok for c in results):
        ctx.exit(1)


@lab.command()
@lab_dir_option
@inventory_option
def down(lab_dir: Path | None, inventory: Path) -> None:
    """Stop the lab and remove it completely (processes, mount, files, inventory, user).

    \b
    Example:
      tre lab down
    """
    cfg = LabConfig.from_env(lab_dir, inventory)
    report = lab_api.down(cfg, echo=click.echo)
    click.echo("the lab is down" if report.actions else "nothing to do: no lab here")
