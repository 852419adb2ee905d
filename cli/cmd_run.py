"""`tre plan` / `tre apply` (placeholder)."""

from __future__ import annotations

import click


@click.command()
def plan() -> None:
    """Placeholder.

    \b
    Example:
      tre plan examples/contracts/
    """


@click.command()
def apply() -> None:
    """Placeholder.

    \b
    Example:
      tre apply examples/contracts/
    """
