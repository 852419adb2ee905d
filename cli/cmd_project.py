"""`tre project` commands (placeholder until its issue lands)."""

from __future__ import annotations

import click


@click.group()
def project() -> None:
    """Placeholder.

    \b
    Example:
      tre project --help
    """
