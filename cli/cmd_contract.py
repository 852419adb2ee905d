"""`tre contract` commands (placeholder until its issue lands)."""

from __future__ import annotations

import click


@click.group()
def contract() -> None:
    """Placeholder.

    \b
    Example:
      tre contract --help
    """
