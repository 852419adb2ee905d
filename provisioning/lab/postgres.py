"""The lab's PostgreSQL 15: a team's state store on 127.0.10.5:5432 (docs/lab.md).

Debian's ``postgresql-15`` binaries, run as the ``postgres`` user on a data directory of the
lab's own (``<lab>/postgres/data``, the system's cluster is untouched), listening on the
loopback address only, password authentication ``scram-sha-256`` for TCP (peer for the
superuser over the lab's own socket directory). The ``tre`` role's password is generated once
and kept in ``<lab>/secrets/postgres.pgpass`` (0600, libpq's ``passfile``): never on a command
line, never printed. The database ``tre`` is migrated to tre's schema.
"""

from __future__ import annotations

import os
import pwd
import secrets
from pathlib import Path

from provisioning.errors import LabError

from .config import POSTGRES_ADDRESS, POSTGRES_DB, POSTGRES_PORT, POSTGRES_USER, LabConfig
from .proc import Report, ensure_free, port_open, read_pid, run, wait_for, write_secret

BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"
HBA = (
    "# Written by `tre lab up`\n"
    f"local all {SUPERUSER} peer\n"
    f"host all {POSTGRES_USER} 127.0.0.0/8 scram-sha-256\n"
)


def data_dir(cfg: LabConfig) -> Path:
    return cfg.postgres_dir / "data"


def socket_dir(cfg: LabConfig) -> Path:
    return cfg.postgres_dir / "run"


def log_file(cfg: LabConfig) -> Path:
    return cfg.log_dir / "postgres.log"


def _as_postgres(*cmd: str | Path) -> list[str]:
    return ["runuser", "-u", SUPERUSER, "--", *(str(c) for c in cmd)]


def _own(path: Path, mode: int) -> None:
    user = pwd.getpwnam(SUPERUSER)
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(path, mode)


def _sql(cfg: LabConfig, sql: str, what: str, db: str = "postgres") -> str:
    """SQL as the superuser over the lab's socket; given on stdin (never on a command line)."""
    cmd = _as_postgres(
        BIN / "psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
        "-h", socket_dir(cfg), "-p", str(POSTGRES_PORT), "-d", db, "-f", "-",
    )  # fmt: skip
    return run(cmd, what, input=sql, timeout=60).stdout.strip()


def running(cfg: LabConfig) -> bool:
    return read_pid(data_dir(cfg) / "postmaster.pid") is not None


def ensure(cfg: LabConfig, report: Report) -> None:
    """Initialise, start, and make the ``tre`` role and database (each only if missing)."""
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise LabError(
            "the lab's PostgreSQL needs Debian's postgresql-15 (no postgres user)"
        ) from None
    _own(cfg.postgres_dir, 0o700)
    if not (data_dir(cfg) / "PG_VERSION").exists():
        _own(data_dir(cfg), 0o700)
        run(
            _as_postgres(
                BIN / "initdb", "-D", data_dir(cfg), "-U", SUPERUSER, "--encoding=UTF8",
                "--locale=C.UTF-8", "--auth-local=peer", "--auth-host=scram-sha-256",
            ),
            "initdb", timeout=120,
        )  # fmt: skip
        report.did(f"initialised PostgreSQL 15 in {data_dir(cfg)}")
    hba = data_dir(cfg) / "pg_hba.conf"
    if hba.read_text() != HBA:
        hba.write_text(HBA)
        if running(cfg):
            run(_as_postgres(BIN / "pg_ctl", "-D", data_dir(cfg), "reload"), "pg_ctl reload")
    if not (running(cfg) and port_open(POSTGRES_ADDRESS, POSTGRES_PORT)):
        _start(cfg, report)
    _role_and_database(cfg, report)
    _migrate(cfg, report)


def _start(cfg: LabConfig, report: Report) -> None:
    if running(cfg):  # alive but deaf: start afresh
        stop(cfg)
    ensure_free(POSTGRES_ADDRESS, POSTGRES_PORT, "PostgreSQL")
    _own(socket_dir(cfg), 0o700)
    cfg.log_dir.mkdir(parents=True, exist_ok=True)
    log_file(cfg).touch()
    _own_file(log_file(cfg))
    options = (
        f"-c listen_addresses={POSTGRES_ADDRESS} -c port={POSTGRES_PORT}"
        f" -c unix_socket_directories={socket_dir(cfg)} -c password_encryption=scram-sha-256"
    )
    run(
        _as_postgres(
            BIN / "pg_ctl", "-D", data_dir(cfg), "-l", log_file(cfg), "-w", "-t", "30",
            "-o", options, "start",
        ),
        f"starting PostgreSQL (see {log_file(cfg)})", timeout=60,
    )  # fmt: skip
    wait_for(
        lambda: port_open(POSTGRES_ADDRESS, POSTGRES_PORT),
        f"PostgreSQL on {POSTGRES_ADDRESS}:{POSTGRES_PORT} (see {log_file(cfg)})",
        timeout=30,
    )
    report.did(f"started PostgreSQL on {POSTGRES_ADDRESS}:{POSTGRES_PORT}")


def _own_file(path: Path) -> None:
    user = pwd.getpwnam(SUPERUSER)
    os.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(path, 0o640)


def _role_and_database(cfg: LabConfig, report: Report) -> None:
    has_role = _sql(cfg, f"SELECT 1 FROM pg_roles WHERE rolname = '{POSTGRES_USER}'", "psql")
    if not has_role or not cfg.postgres_passfile.exists():
        password = secrets.token_urlsafe(24)
        verb = "ALTER" if has_role else "CREATE"
        _sql(
            cfg,
            f"{verb} ROLE {POSTGRES_USER} LOGIN CREATEDB PASSWORD '{password}';",
            f"{verb.lower()} the PostgreSQL role {POSTGRES_USER}",
        )
        write_secret(
            cfg.postgres_passfile,
            f"{POSTGRES_ADDRESS}:{POSTGRES_PORT}:*:{POSTGRES_USER}:{password}\n",
        )
        report.did(f"made the PostgreSQL role {POSTGRES_USER} (password {cfg.postgres_passfile})")
    if not _sql(cfg, f"SELECT 1 FROM pg_database WHERE datname = '{POSTGRES_DB}'", "psql"):
        _sql(cfg, f"CREATE DATABASE {POSTGRES_DB} OWNER {POSTGRES_USER};", "create database")
        report.did(f"made the PostgreSQL database {POSTGRES_DB}")


def _migrate(cfg: LabConfig, report: Report) -> None:
    """Bring the lab's store to this tre's schema. A store already at a newer schema (another
    checkout of tre, e.g. a branch with a new migration, shares the lab) is left as it is:
    the lab is up, and what needs this tre's schema makes its own database (tests do)."""
    from provisioning.state import SCHEMA_VERSION, migrate, open_db
    from provisioning.state.migrations import current_version

    db = open_db(cfg.postgres_url)
    try:
        found = current_version(db)
    finally:
        db.close()
    if found > SCHEMA_VERSION:
        report.say(
            f"the lab's PostgreSQL store has schema version {found}, newer than this tre's"
            f" ({SCHEMA_VERSION}): left as it is"
        )
        return
    _before, done = migrate(cfg.postgres_url)
    if done:
        report.did(f"migrated the lab's PostgreSQL store to schema version {done[-1][0]}")


def stop(cfg: LabConfig) -> bool:
    if not running(cfg):
        return False
    run(
        _as_postgres(BIN / "pg_ctl", "-D", data_dir(cfg), "-m", "fast", "-w", "stop"),
        "stopping PostgreSQL",
        timeout=60,
    )
    return True


def teardown(cfg: LabConfig, report: Report) -> None:
    if stop(cfg):
        report.did("stopped PostgreSQL")


def check(cfg: LabConfig) -> str:
    """Log in as ``tre`` over TCP with the passfile, as the state store does."""
    import psycopg

    with psycopg.connect(cfg.postgres_url, connect_timeout=5) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    where = f"{POSTGRES_ADDRESS}:{POSTGRES_PORT}"
    return f"PostgreSQL {version} on {where}, login as {POSTGRES_USER} (scram-sha-256)"
