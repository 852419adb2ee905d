"""`tre config show`: every setting's effective value and where it came from."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from .config import ConfigShowCommand, config_path, settings
from .options import json_option

_SOURCE = {
    ParameterSource.COMMANDLINE: "flag",
    ParameterSource.ENVIRONMENT: "env",
    ParameterSource.DEFAULT_MAP: "config",
    ParameterSource.DEFAULT: "default",
}
#: ``scheme://user:password@host``: the password is never printed.
_URL_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]*@")


def shown(key: str, value: Any) -> Any:
    """The value as printed: paths as text, passwords masked."""
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        if "password" in key or "secret" in key:
            return "***" if value else value
        return _URL_PASSWORD.sub(r"\1***@", value)
    return value


@click.group()
def config() -> None:
    """The config file (/etc/tre/tre.toml, or $TRE_CONFIG) and the settings in effect.

    Each setting comes from, in this order: its command-line flag, its TRE_... environment
    variable, the config file, the built-in default.

    \b
    Example:
      tre config show
    """


@config.command(cls=ConfigShowCommand)
@json_option
@click.pass_context
def show(ctx: click.Context, as_json: bool, **values: Any) -> None:
    """Print every setting's value and its source: flag, env, config or default.

    Takes every setting as an option too (--inventory, --state, ...), to show what a
    command given that flag would use. Passwords in URLs are masked.

    \b
    Example:
      tre config show --json
    """
    path = ctx.meta.get("tre.config") or config_path()[0]
    known = settings(ctx.find_root().command)
    rows = {
        key: {
            "value": shown(key, values.get(key)),
            "source": _SOURCE.get(ctx.get_parameter_source(key), "default"),  # type: ignore[arg-type]
            "env": known[key].envvar,
        }
        for key in sorted(known)
    }
    if as_json:
        doc = {"config": str(path), "exists": Path(path).is_file(), "settings": rows}
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"config file: {path}{'' if Path(path).is_file() else ' (absent)'}")
    width = max(len(k) for k in rows)
    for key, row in rows.items():
        value = "(unset)" if row["value"] is None else row["value"]
        click.echo(f"{key:<{width}}  {row['source']:<7}  {value}")
