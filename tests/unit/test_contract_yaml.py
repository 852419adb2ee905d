"""Safe YAML loading: size, encoding, aliases, depth, duplicate keys, dates, tags."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from provisioning.contract import check_files
from provisioning.policy import load_policy
from provisioning.validation.yamlsafe import MAX_BYTES, load_bytes

POLICY = load_policy()


def _only(data: bytes) -> tuple[str, str]:
    doc, problem = load_bytes(data)
    assert doc is None and problem is not None
    return problem.rule, problem.message


def test_alias_bomb_is_refused_fast() -> None:
    bomb = b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, 12):
        new, old = chr(97 + i), chr(96 + i)
        bomb += f"{new}: &{new} [*{old}, *{old}, *{old}, *{old}]\n".encode()
    t = time.monotonic()
    rule, _ = _only(bomb)
    assert rule == "yaml-alias"
    assert time.monotonic() - t < 1


def test_merge_keys_are_plain_unknown_keys() -> None:
    doc, problem = load_bytes(b"<<: {a: 1}\n")
    assert problem is None and doc == {"<<": {"a": 1}}


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"\x00\x01\x02", "yaml-encoding"),
        (b"title: caf\xe9\n", "yaml-encoding"),
        (b"a: 1\n" + b"#" * MAX_BYTES, "yaml-size"),
        (b"[" * 1000, "yaml-depth"),
        (b"a: 1\na: 2\n", "yaml-duplicate-key"),
        (b"a: !!binary aGVsbG8=\n", "yaml-syntax"),
        (b"a: !!timestamp 2026-01-01\n", "yaml-syntax"),
        (b"--- 1\n--- 2\n", "yaml-syntax"),
        (b"a: \x1b[31m\n", "yaml-syntax"),
        (b"a: " + b"9" * 5000 + b"\n", "range"),
    ],
)
def test_refused(data: bytes, rule: str) -> None:
    assert _only(data)[0] == rule


def test_plain_types_and_no_implicit_dates() -> None:
    doc, problem = load_bytes("\ufeffd: 2026-02-01\nh: 0x10\nn: 9001\nb: true\nz: Zoë\n".encode())
    assert problem is None
    assert doc == {"d": "2026-02-01", "h": "0x10", "n": 9001, "b": True, "z": "Zoë"}


def test_missing_file_and_directory_are_problems(tmp_path: Path) -> None:
    problems = check_files([str(tmp_path / "nope.yaml"), str(tmp_path)], POLICY)
    assert [(p.path, p.rule) for p in problems] == [("(file)", "file-missing")] * 2
    assert "does not exist" in problems[0].message
    assert "directory has no *.yaml/*.yml files" in problems[1].message


def test_datetime_is_not_a_date(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("start: 2026-02-01 10:00:00\n", encoding="utf-8")
    problems = check_files([str(f)], POLICY)
    assert any(p.path == "start" and p.rule == "date-format" for p in problems)
