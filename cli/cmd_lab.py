"""`tre lab` commands (placeholder until its issue lands)."""

from __future__ import annotations

import click


@click.group()
def lab() -> None:
    """Placeholder.

    \b
    Example:
      tre lab --help
    """
