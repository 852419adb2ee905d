"""The state store on both back ends, for the state tests (exposed by ``tests/conftest.py``).

- ``state_url``: parametrised ``sqlite`` (a file under ``tmp_path``) and ``postgresql`` (a fresh
  database in the lab's PostgreSQL, migrated, dropped after the test). The PostgreSQL case is
  marked ``lab``: ``pytest`` runs the SQLite half, ``pytest -m lab`` the PostgreSQL half.
- ``pg_database()``: a fresh, empty (un-migrated) database; ``raw(url)``: a plain driver
  connection (autocommit) for what tre itself never does (tampering with the ledger).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from provisioning.state import migrate, sqlite_path


def lab_postgres_url() -> str:
    from provisioning.lab.config import LabConfig

    return LabConfig.from_env().postgres_url


@contextmanager
def pg_database(admin_url: str | None = None) -> Iterator[str]:
    """A new database owned by the lab's ``tre`` role; its URL. Dropped afterwards."""
    import psycopg

    admin_url = admin_url or lab_postgres_url()
    name = f"tre_test_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base, query = admin_url.split("?", 1)
    try:
        yield f"{base.rsplit('/', 1)[0]}/{name}?{query}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def raw(url: str) -> Iterator[Any]:
    """A plain autocommit connection to the store (sqlite3 or psycopg)."""
    if url.startswith("postgresql://"):
        import psycopg

        conn = psycopg.connect(url, autocommit=True)
    else:
        conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.lab)]


@pytest.fixture(params=BACKENDS)
def state_url(request, tmp_path) -> Iterator[str]:
    """A ready (migrated) store's URL on each back end."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/state.db"
        migrate(url)
        yield url
        return
    request.getfixturevalue("lab_inventory")  # the lab (and its PostgreSQL) is up
    with pg_database() as url:
        migrate(url)
        yield url


@pytest.fixture
def pg_state_url(lab_inventory) -> Iterator[str]:
    """A ready (migrated) PostgreSQL store of its own in the lab (tests marked ``lab``)."""
    with pg_database() as url:
        migrate(url)
        yield url


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path) -> Iterator[str]:
    """An empty store's URL on each back end (nothing migrated yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/state.db"
        return
    request.getfixturevalue("lab_inventory")
    with pg_database() as url:
        yield url
