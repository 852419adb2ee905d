"""The lab's PostgreSQL (a team's state store): up with the lab, password authentication
only, the password in one root-only file and nowhere else, restarted by `up` when stopped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from provisioning import lab
from provisioning.inventory import Inventory
from provisioning.lab import postgres
from provisioning.lab.config import POSTGRES_ADDRESS, POSTGRES_PORT, LabConfig
from provisioning.state import SCHEMA_VERSION
from tests.lab_fixtures import REPO

pytestmark = pytest.mark.lab
TRE = str(Path(sys.executable).parent / "tre")


def lab_config(inv: Inventory) -> LabConfig:
    return LabConfig.from_env(lab_dir=inv.lab_dir, inventory_dir=inv.path)


def password(cfg: LabConfig) -> str:
    return cfg.postgres_passfile.read_text().strip().rsplit(":", 1)[1]


def test_the_lab_store_is_migrated_and_reached_with_the_passfile(lab_inventory):
    cfg = lab_config(lab_inventory)
    with psycopg.connect(cfg.postgres_url) as db:
        (version,) = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        (server,) = db.execute("SELECT inet_server_addr()::text").fetchone()
    assert version == SCHEMA_VERSION and server.startswith(POSTGRES_ADDRESS)
    assert lab_inventory.vars["tre_lab_postgres_url"] == cfg.postgres_url


def test_only_password_authentication_of_tre_over_tcp(lab_inventory, tmp_path):
    cfg = lab_config(lab_inventory)
    empty = tmp_path / "pgpass"
    empty.write_text("")
    empty.chmod(0o600)
    base = f"host={POSTGRES_ADDRESS} port={POSTGRES_PORT} dbname=tre connect_timeout=5"
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(f"{base} user=tre passfile={empty}")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(f"{base} user=tre password=not-it")
    with pytest.raises(psycopg.OperationalError, match="no pg_hba.conf entry"):
        psycopg.connect(f"{base} user=postgres password={password(cfg)}")


def test_the_password_is_in_the_passfile_only(lab_inventory):
    cfg = lab_config(lab_inventory)
    secret = password(cfg)
    assert len(secret) >= 24
    assert cfg.postgres_passfile.stat().st_mode & 0o777 == 0o600
    assert cfg.secrets_dir.stat().st_mode & 0o777 == 0o700
    status = subprocess.run([TRE, "lab", "status"], cwd=REPO, capture_output=True, text=True)
    for text in (
        status.stdout + status.stderr,
        (lab_inventory.path / "group_vars" / "all.yml").read_text(),
        postgres.log_file(cfg).read_text(errors="replace"),
        (cfg.lab_dir / "lab.json").read_text(),
    ):
        assert secret not in text


def test_up_restarts_a_stopped_postgres(lab_inventory):
    cfg = lab_config(lab_inventory)
    assert postgres.stop(cfg)
    report = lab.up(cfg)
    assert report.actions == [f"started PostgreSQL on {POSTGRES_ADDRESS}:{POSTGRES_PORT}"]
    assert postgres.check(cfg).startswith("PostgreSQL 15")


def test_up_leaves_a_store_at_a_newer_schema_as_it_is(lab_inventory, monkeypatch):
    """Another checkout of tre (a branch with a new migration) migrated the shared lab store:
    this tre's `up` says so and goes on, it neither fails nor touches the store."""
    from provisioning.lab.proc import Report
    from provisioning.state import migrate
    from tests.state_fixtures import pg_database

    with pg_database() as url:
        migrate(url)
        with psycopg.connect(url) as db:
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at)"
                " VALUES (%s, 'from a newer tre', '2026-11-30')",
                (SCHEMA_VERSION + 1,),
            )
        monkeypatch.setattr(LabConfig, "postgres_url", property(lambda self: url))
        said: list[str] = []
        postgres._migrate(lab_config(lab_inventory), Report(echo=said.append))
        assert said == [
            f"the lab's PostgreSQL store has schema version {SCHEMA_VERSION + 1}, newer than"
            f" this tre's ({SCHEMA_VERSION}): left as it is"
        ]
        with psycopg.connect(url) as db:
            (version,) = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        assert version == SCHEMA_VERSION + 1
