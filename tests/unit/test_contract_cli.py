"""`tre contract check` / `tre contract quote` through click, as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioning.cli import cli

EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"
SMALL = str(EXAMPLES / "9001-small.yaml")


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def test_check_valid_examples_exit_0() -> None:
    r = run("contract", "check", str(EXAMPLES))
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    assert "3 contract(s) valid" in r.stderr


def test_check_reports_all_problems_of_all_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        Path(SMALL)
        .read_text(encoding="utf-8")
        .replace("start: 2026-02-01", "start: 2026-02-03")
        .replace("retention_years: 5", "retention_years: 6"),
        encoding="utf-8",
    )
    missing = tmp_path / "missing.yaml"
    r = run("contract", "check", SMALL, str(bad), str(missing))
    assert r.exit_code == 1
    assert r.stdout.splitlines() == [
        f"{bad}: start: 2026-02-03 is not the 1st of a month; projects always start on the 1st",
        f"{bad}: retention_years: 6 is not allowed; archives are kept 5 or 10 years",
        f"{missing}: (file): does not exist; expected a contract YAML file",
    ]


def test_check_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("project: 9001\nresearchers: []\ntitel: x\n", encoding="utf-8")
    r = run("contract", "check", "--json", str(bad))
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert {"file", "path", "rule", "message"} == set(data[0])
    hint = next(d for d in data if d["path"] == "titel")
    assert hint["rule"] == "unknown-key" and "did you mean 'title'?" in hint["message"]
    assert json.loads(run("contract", "check", "--json", SMALL).stdout) == []


def test_policy_option_and_env(tmp_path: Path) -> None:
    broken = tmp_path / "policy.yaml"
    broken.write_text("name: x\ncurency: EUR\n", encoding="utf-8")
    for r in (
        run("contract", "check", "--policy", str(broken), SMALL),
        run("contract", "check", SMALL, env={"TRE_POLICY": str(broken)}),
    ):
        assert r.exit_code == 1
        assert f"{broken}: curency: unknown key; did you mean 'currency'?" in r.stderr


def test_quote_table() -> None:
    r = run("contract", "quote", SMALL)
    assert r.exit_code == 0, r.output
    assert "project start (base)" in r.stdout
    assert "2026-Q1" in r.stdout
    assert r.stdout.rstrip().endswith("Total EUR 6738.00")


def test_quote_json_and_csv() -> None:
    data = json.loads(run("contract", "quote", "--json", SMALL).stdout)
    assert data["total"] == "6738.00" and data["currency"] == "EUR"
    assert [q["period"] for q in data["quarters"]][:2] == ["2026-Q1", "2026-Q2"]
    assert len(data["months"]) == 12
    rows = list(csv.DictReader(io.StringIO(run("contract", "quote", "--csv", SMALL).stdout)))
    assert sum(float(r["amount"]) for r in rows) == 6738.0
    assert {"month", "period", "kind", "item", "quantity", "unit_price", "amount"} <= set(rows[0])


def test_quote_invalid_contract_is_lines_not_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe")
    r = run("contract", "quote", str(bad))
    assert r.exit_code == 1
    assert r.stderr.startswith(f"{bad}: (file): not UTF-8 text")
    assert r.exception is None or isinstance(r.exception, SystemExit)


@pytest.mark.parametrize("cmd", [[], ["check"], ["quote"]])
def test_help_ends_with_example(cmd: list[str]) -> None:
    r = run("contract", *cmd, "--help")
    assert r.exit_code == 0
    assert "Example:" in r.stdout and "tre contract" in r.stdout.split("Example:")[-1]


def test_console_entry_exit_codes(tmp_path: Path) -> None:
    """Through the real console-script entry (not only CliRunner): 0 valid, 1 invalid."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("project: x\n", encoding="utf-8")
    entry = "import sys; from provisioning.cli import main; sys.argv[0] = 'tre'; main()"
    ok = subprocess.run([sys.executable, "-c", entry, "contract", "check", SMALL], check=False)
    assert ok.returncode == 0
    r = subprocess.run(
        [sys.executable, "-c", entry, "contract", "check", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1
    assert f"{bad}: project: 'x' is not a project number" in r.stdout
    assert "Traceback" not in r.stderr
