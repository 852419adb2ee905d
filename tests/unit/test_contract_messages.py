"""Messages say what is wrong in human terms: sizes, long lists, huge numbers (issue 9/15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioning.cli import cli

EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"
SMALL = (EXAMPLES / "9001-small.yaml").read_text(encoding="utf-8")


def check(path: Path):
    return CliRunner().invoke(cli, ["contract", "check", str(path)])


def test_a_10_mb_file_says_its_size_and_the_limit(tmp_path: Path) -> None:
    f = tmp_path / "big.yaml"
    f.write_bytes(b"a: 1\n" + b"#" * 9_999_995)
    r = check(f)
    assert r.exit_code == 1
    assert r.stdout.splitlines() == [
        f"{f}: (file): the file is 10.0 MB, over the 1 MB limit; a contract or policy is a few kB"
    ]


def test_just_over_the_limit_is_not_rounded_to_the_limit() -> None:
    from provisioning.validation.yamlsafe import human_size

    assert human_size(1_000_001) == "1,000,001 bytes"
    assert human_size(10_000_000) == "10.0 MB"
    assert human_size(2_500) == "2.5 kB"


def _with_researchers(n: int) -> str:
    people = "".join(
        f"  - {{id: r{i:05d}, name: Researcher {i}, email: r{i}@uu.nl, "
        "employer: Universiteit Utrecht, nda_signed: 2026-01-10, awareness_errors: 0, "
        f"token: T-{i + 50000:07d}}}\n"
        for i in range(n)
    )
    head, _sep, tail = SMALL.partition("researchers:\n")
    rest = tail[tail.index("file_subjects:") :]
    return head.replace("lead: jdevries", "lead: r00000") + "researchers:\n" + people + rest


def test_1000_researchers_is_one_line_about_the_list_not_about_the_lead(tmp_path: Path) -> None:
    f = tmp_path / "many.yaml"
    f.write_text(_with_researchers(1000), encoding="utf-8")
    r = check(f)
    assert r.exit_code == 1
    assert r.stdout.splitlines() == [f"{f}: researchers: 1000 entries; at most 500"]


def test_500_researchers_are_read(tmp_path: Path) -> None:
    f = tmp_path / "many.yaml"
    f.write_text(_with_researchers(500), encoding="utf-8")
    r = check(f)
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("field", ["project", "retention_years"])
def test_a_5000_digit_number_is_one_clear_line(tmp_path: Path, field: str) -> None:
    line = next(ln for ln in SMALL.splitlines() if ln.startswith(f"{field}:"))
    number = line.split(":")[1].strip()
    f = tmp_path / "digits.yaml"
    f.write_text(SMALL.replace(line, f"{field}: {'9' * 5000}"), encoding="utf-8")
    r = check(f)
    assert r.exit_code == 1
    row = SMALL.splitlines().index(line) + 1
    col = len(field) + 3
    assert r.stdout.splitlines() == [
        f"{f}: (file): line {row}, column {col}: a number of 5000 digits; numbers here have "
        "at most 30 digits"
    ]
    assert "ValueError" not in r.output and number


def test_a_5000_digit_number_in_the_policy(tmp_path: Path) -> None:
    f = tmp_path / "policy.yaml"
    f.write_text(f"max_duration_months: {'1' * 5000}\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["contract", "check", "--policy", str(f), str(EXAMPLES)])
    assert r.exit_code == 1
    assert "a number of 5000 digits" in r.stderr and "ValueError" not in r.output
