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


def test_hand_made_object_with_the_same_name(lab_inventory, tmp_path):
    """An account made by hand elsewhere with the name tre would use stops the whole run."""
    from tests.integration.helpers import ad_connection, delete_subtree, lab_vars, write_contract

    v = lab_vars()
    conn = ad_connection(v)
    handmade_ou = f"OU=Handmade,{v['tre_ad_projects_ou']}"
    delete_subtree(conn, handmade_ou)
    delete_subtree(conn, f"OU=P9060,{v['tre_ad_projects_ou']}")
    conn.add(handmade_ou, "organizationalUnit")
    conn.add(
        f"CN=someone,{handmade_ou}",
        ["top", "person", "organizationalPerson", "user"],
        {"sAMAccountName": "p9060.jdevries", "userAccountControl": 514},
    )
    contract = yaml.safe_load((EXAMPLES / "9001-small.yaml").read_text())
    contract["project"] = 9060
    path = write_contract(tmp_path / "9060.yaml", contract)
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    try:
        result = tre("apply", str(path), "--today", "2026-12-01", "--yes", env=env, check=False)
        assert_one_line_failure(result, "p9060.jdevries")
        assert ledger_rows(tmp_path) == 0
        conn.search(v["tre_ad_projects_ou"], "(ou=P9060)", attributes=[])
        assert conn.entries == [], "nothing may be written when a name clashes"
    finally:
        delete_subtree(conn, handmade_ou)
