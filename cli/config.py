"""One config file, ``/etc/tre/tre.toml`` (or ``$TRE_CONFIG``), as click's ``default_map``.

A setting is any option with a ``TRE_...`` environment variable; its key in the file is that
variable without ``TRE_``, in lower case (``TRE_INVENTORY`` -> ``inventory``, ``TRE_STATE``
-> ``state``). Nothing here lists the settings: options added later are covered as they come.
click resolves each option as command line > environment > ``default_map`` (this file) >
built-in default. Spec: docs/install.md.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from provisioning.config_file import CONFIG_ENV, config_path

from .errors import TreGroup

_PREFIX = "TRE_"


class ConfigError(click.ClickException):
    """The config file is unreadable or wrong: one ``Error:`` line naming file and key, exit 1."""

    exit_code = 1


@dataclass(frozen=True)
class Setting:
    """One configurable setting: its key, variable and the option that first declares it."""

    key: str
    envvar: str
    option: click.Option

    @property
    def expected(self) -> tuple[type, ...]:
        kind = _base_type(self.option)
        return (list,) if self.option.multiple or self.option.nargs != 1 else kind

    @property
    def type_name(self) -> str:
        names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
        if self.expected == (list,):
            return "a list"
        return names[self.expected[0]]


def _base_type(option: click.Option) -> tuple[type, ...]:
    if option.is_flag:
        return (bool,)
    if isinstance(option.type, click.types.IntParamType):
        return (int,)
    if isinstance(option.type, click.types.FloatParamType):
        return (float, int)
    return (str,)


def setting_key(param: click.Parameter) -> str | None:
    """The config key of an option with a ``TRE_`` variable (``None``: not configurable)."""
    envvar = param.envvar if isinstance(param, click.Option) else None
    if isinstance(envvar, str) and envvar.startswith(_PREFIX) and envvar != CONFIG_ENV:
        return envvar[len(_PREFIX) :].lower()
    return None


def walk(command: click.Command) -> Iterator[click.Command]:
    yield command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from walk(command.commands[name])


def settings(root: click.Command) -> dict[str, Setting]:
    """Every configurable setting of the command tree, by key (the first declaration wins)."""
    found: dict[str, Setting] = {}
    for command in walk(root):
        for param in command.params:
            key = setting_key(param)
            if key is not None and key not in found:
                assert isinstance(param, click.Option) and isinstance(param.envvar, str)
                found[key] = Setting(key, param.envvar, param)
    return found


def read_config(path: Path, required: bool) -> dict[str, Any]:
    """The file's table; ``{}`` when the default file is absent."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: no such file (named by ${CONFIG_ENV})") from None
        return {}
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:  # its message names line and column, not content
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8") from None


def check_config(data: dict[str, Any], known: dict[str, Setting], path: Path) -> dict[str, Any]:
    """The values by key, type-checked; relative paths taken relative to the file."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        setting = known.get(key)
        if setting is None:
            raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        if (
            isinstance(value, bool)
            and bool not in setting.expected
            or not isinstance(value, setting.expected)
        ):
            raise ConfigError(f"{path}: {key} must be {setting.type_name}, not {_toml_type(value)}")
        if isinstance(setting.option.type, click.Path) and isinstance(value, str):
            value = str(path.parent / Path(value).expanduser()) if value else value
        values[key] = value
    return values


def _toml_type(value: Any) -> str:
    kinds = [(bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string")]
    kinds += [(list, "an array"), (dict, "a table")]
    return next((name for kind, name in kinds if isinstance(value, kind)), "a date or time")


def default_map(command: click.Command, values: dict[str, Any]) -> dict[str, Any]:
    """click's ``default_map`` for ``command`` and its sub-commands from the config values."""
    if isinstance(command, ConfigShowCommand):
        return dict(values)  # its options are every setting, named by key
    out: dict[str, Any] = {}
    for param in command.params:
        key = setting_key(param)
        if key in values and param.name is not None:
            out[param.name] = values[key]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            sub_map = default_map(sub, values)
            if sub_map:
                out[name] = sub_map
    return out


def load(root: click.Command) -> tuple[Path, dict[str, Any]]:
    """The config file in effect and its checked values."""
    path, required = config_path()
    data = read_config(path, required)
    return path, check_config(data, settings(root), path)


class ConfiguredGroup(TreGroup):
    """The root group: its context's ``default_map`` comes from the config file.

    A broken file is reported when a command runs (one line, exit 1); ``--help`` and
    ``--version`` still answer.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        error: ConfigError | None = None
        if parent is None and "default_map" not in extra:
            try:
                path, values = load(self)
                extra["default_map"] = default_map(self, values)
            except ConfigError as e:
                error, path = e, config_path()[0]
        else:
            path = config_path()[0]
        ctx = super().make_context(info_name, args, parent=parent, **extra)
        ctx.meta["tre.config"] = path
        ctx.meta["tre.config_error"] = error
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        error = ctx.meta.get("tre.config_error")
        rest = [*getattr(ctx, "_protected_args", ()), *ctx.args]  # the sub-command's args
        asks_help = set(ctx.help_option_names) & set(rest)
        if error is not None and not asks_help:
            raise error
        return super().invoke(ctx)


class ConfigShowCommand(click.Command):
    """A command whose options are every setting of the tree (``tre config show``)."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        own = super().get_params(ctx)
        taken = {p.name for p in own}
        cloned = [
            _clone(s) for s in settings(ctx.find_root().command).values() if s.key not in taken
        ]
        return cloned + own


def _clone(setting: Setting) -> click.Option:
    """The setting as an option of ``config show``: same variable and default, no checks."""
    option = setting.option
    if option.is_flag:
        return click.Option(
            [f"--{setting.key.replace('_', '-')}/--no-{setting.key.replace('_', '-')}"],
            setting.key,
            envvar=setting.envvar,
            default=option.default,
            help=option.help,
        )
    kind = _base_type(option)[0]
    return click.Option(
        [f"--{setting.key.replace('_', '-')}"],
        setting.key,
        envvar=setting.envvar,
        default=option.default,
        type=click.STRING if kind is str else kind,
        multiple=option.multiple,
        help=option.help,
    )
