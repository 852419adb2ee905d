"""Where tre's one config file is: ``$TRE_CONFIG``, else ``/etc/tre/tre.toml``.

Its keys and their precedence are the CLI's (``provisioning.cli.config``, docs/install.md);
here only its place, which ``tre lab up`` also needs to write the lab's.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CONFIG = Path("/etc/tre/tre.toml")
CONFIG_ENV = "TRE_CONFIG"


def config_path() -> tuple[Path, bool]:
    """The config file and whether ``$TRE_CONFIG`` named it (then it must exist)."""
    named = os.environ.get(CONFIG_ENV)
    return (Path(named).absolute(), True) if named else (DEFAULT_CONFIG, False)
