"""Every module's documented options (doc fragments included) are exactly its argument spec."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[2] / "playbooks" / "collections"
MODULES = sorted(
    p.stem for p in (COLLECTIONS / "ansible_collections/tre/secenv/plugins/modules").glob("*.py")
)


class _Captured(Exception):
    pass


def argument_spec(name: str, monkeypatch) -> dict:
    module = importlib.import_module(f"ansible_collections.tre.secenv.plugins.modules.{name}")
    seen: dict = {}

    def capture(*args, **kwargs):
        seen.update(kwargs["argument_spec"])
        raise _Captured

    monkeypatch.setattr(module, "AnsibleModule", capture)
    with pytest.raises(_Captured):
        module.main()
    return seen


@pytest.mark.parametrize("name", MODULES)
def test_documented_options_are_the_argument_spec(name, monkeypatch):
    out = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), "--json", f"tre.secenv.{name}"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS)},
    )
    doc = json.loads(out.stdout)[f"tre.secenv.{name}"]["doc"]
    spec = argument_spec(name, monkeypatch)
    assert set(doc["options"]) == set(spec)
    for option, documented in doc["options"].items():
        assert documented.get("type", "str") == spec[option].get("type", "str"), option
        assert bool(documented.get("required")) == bool(spec[option].get("required")), option
        if "default" in spec[option]:
            assert documented.get("default") == spec[option]["default"], option
