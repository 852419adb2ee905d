"""The examples applied once per test session, shared by the integration tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.helpers import (
    EXAMPLES,
    ad_connection,
    delete_subtree,
    lab_vars,
    remove_project_storage,
    tre,
)

TODAY = "2026-12-01"
PROJECTS = ["9001", "9002", "9003"]


@pytest.fixture(scope="session")
def applied(lab_inventory, tmp_path_factory):
    """Clean the example projects out of the lab, then apply the examples once.

    ``conn`` is for the tests that run right after (test_apply): the DC ends an LDAP session
    idle for longer than MaxConnIdleTime (900 s), and the whole lab run takes longer than
    that - a module that comes later opens its own (``ad_connection(v)``)."""
    v = lab_vars()
    conn = ad_connection(v)
    for p in PROJECTS:
        delete_subtree(conn, f"OU=P{p},{v['tre_ad_projects_ou']}")
        remove_project_storage(v, p)
        shutil.rmtree(Path(v["tre_initial_password_dir"]) / p, ignore_errors=True)
        for manifest in (Path(v["tre_lab_dir"]) / "ossc" / "inbox").glob(f"P{p}-*"):
            manifest.unlink()
    home = tmp_path_factory.mktemp("tre-home")
    env = {"TRE_STATE": f"sqlite:///{home}/state.db", "TRE_HOME": str(home)}
    first = tre("apply", str(EXAMPLES), "--today", TODAY, "--yes", "--json", env=env)
    return {"v": v, "conn": conn, "env": env, "home": home, "first": first}
