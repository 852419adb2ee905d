"""Errors of a run: one line, non-zero exit, nothing recorded as done that was not done."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from tests.integration.helpers import EXAMPLES, INVENTORY, tre

pytestmark = pytest.mark.lab


def broken_inventory(tmp_path: Path, **changes: object) -> Path:
    inv = tmp_path / "inventory"
    shutil.copytree(INVENTORY, inv)
    path = inv / "group_vars" / "all.yml"
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data))
    return inv


def run_apply(inv: Path, tmp_path: Path):
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    result = tre(
        "apply",
        str(EXAMPLES / "9001-small.yaml"),
        "--inventory",
        str(inv),
        "--today",
        "2026-12-01",
        "--yes",
        env=env,
        check=False,
    )
    return result


def assert_one_line_failure(result, *fragments: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), lines[0]


def ledger_rows(tmp_path: Path) -> int:
    db = tmp_path / "state.db"
    if not db.exists():
        return 0
    return sqlite3.connect(db).execute("SELECT COUNT(*) FROM ledger").fetchone()[0]


def test_wrong_credentials(lab_inventory, tmp_path):
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password\n")
    wrong.chmod(0o600)
    result = run_apply(broken_inventory(tmp_path, tre_ad_bind_password_file=str(wrong)), tmp_path)
    assert_one_line_failure(result, "credentials")
    assert ledger_rows(tmp_path) == 0


def test_ad_unreachable(lab_inventory, tmp_path):
    result = run_apply(broken_inventory(tmp_path, tre_ad_server="127.0.10.99"), tmp_path)
    assert_one_line_failure(result, "127.0.10.99")
    assert ledger_rows(tmp_path) == 0


def test_certificate_not_trusted(lab_inventory, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(Path("/etc/ssl/certs/ca-certificates.crt").read_bytes())
    result = run_apply(broken_inventory(tmp_path, tre_ad_ca_file=str(other_ca)), tmp_path)
    assert_one_line_failure(result, "certificate")
    assert ledger_rows(tmp_path) == 0
