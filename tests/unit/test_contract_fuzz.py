"""Any input whatsoever gets clean one-line problems and exit 1 from `tre contract check`."""

from __future__ import annotations

import copy
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioning.cli import cli

EXAMPLE = Path(__file__).parents[2] / "examples" / "contracts" / "9002-typical.yaml"
BASE = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
KEYS = list(BASE) + ["id", "name", "from", "until", "token", "extra", "size", "package"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)),
    st.sampled_from(["2026-02-30", "2026-2-1", "9001", "T-0012345", "GBAPERSOONTAB", "SAS"]),
)
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=10)), inner, max_size=6),
    ),
    max_leaves=30,
)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(data: bytes) -> tuple[int, str, str]:
    fd, name = tempfile.mkstemp(suffix=".yaml")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        result = CliRunner().invoke(cli, ["contract", "check", name])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        return result.exit_code, result.stdout, name
    finally:
        os.unlink(name)


def _assert_clean(out: str, name: str) -> None:
    lines = out.splitlines()
    assert lines, "an invalid file must produce at least one problem line"
    for line in lines:
        assert line.startswith(f"{name}: "), line
        assert "Traceback" not in line
        path, _, message = line[len(name) + 2 :].partition(": ")
        assert path and message, line


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    code, out, name = _run(data)
    assert code == 1
    _assert_clean(out, name)


@SETTINGS
@given(structures)
def test_arbitrary_yaml_structures(doc: Any) -> None:
    code, out, name = _run(yaml.safe_dump(doc, allow_unicode=True).encode("utf-8"))
    assert code == 1
    _assert_clean(out, name)


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, prefix + (i,))
    return out


PATHS = _paths(BASE)


@SETTINGS
@given(st.sampled_from(PATHS), structures)
def test_mutated_contract(path: tuple, value: Any) -> None:
    """A valid contract with one value replaced by anything: valid, or clean problems."""
    doc = copy.deepcopy(BASE)
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    code, out, name = _run(yaml.safe_dump(doc, allow_unicode=True).encode("utf-8"))
    assert code in (0, 1)
    if code == 1:
        _assert_clean(out, name)
    else:
        assert out == ""
