"""Option bundles shared by commands (one documented place for each setting)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from provisioning.state import DEFAULT_STATE_URL

F = Callable[..., Any]


def parse_today(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


def today_option(f: F) -> F:
    return click.option(
        "--today",
        callback=parse_today,
        metavar="YYYY-MM-DD",
        help="Evaluate the rules as on this day (default: the real date).",
    )(f)


def policy_option(f: F) -> F:
    return click.option(
        "--policy",
        "policy_path",
        envvar="TRE_POLICY",
        type=click.Path(dir_okay=False),
        help="Policy YAML (default: $TRE_POLICY or the shipped CBS 2026 policy).",
    )(f)


def inventory_option(f: F) -> F:
    return click.option(
        "--inventory",
        "-i",
        envvar="TRE_INVENTORY",
        type=click.Path(file_okay=False, path_type=Path),
        help="Inventory directory: read by plan/apply, written by lab up (env TRE_INVENTORY;"
        " config `inventory`, which `tre lab up` sets).",
    )(f)


def state_url_option(f: F) -> F:
    return click.option(
        "--state",
        "state_url",
        envvar="TRE_STATE",
        default=DEFAULT_STATE_URL,
        show_default=True,
        help="State store URL (env TRE_STATE).",
    )(f)


def state_options(f: F) -> F:
    """--state and --home (where run records are kept)."""
    f = state_url_option(f)
    return click.option(
        "--home",
        envvar="TRE_HOME",
        default="/var/lib/tre",
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Where run records (ansible-runner artifacts) are kept (env TRE_HOME).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(f)


def run_options(f: F) -> F:
    """What plan and apply share: contracts, inventory, --today, policy, state, --json."""
    for option in (json_option, state_options, policy_option, today_option, inventory_option):
        f = option(f)
    return click.argument("contracts", nargs=-1, required=True, type=click.Path(path_type=Path))(f)
