"""Fixtures shared by the scenarios' testinfra tests (each scenario's conftest imports these)."""

from __future__ import annotations

import pytest
import tre_verify as tv


@pytest.fixture(scope="session")
def dc_vars() -> dict:
    hosts = tv.group_hosts("domain_controllers")
    assert hosts, "the scenario's inventory has no domain_controllers host"
    return tv.host_vars(hosts[0])


@pytest.fixture(scope="session")
def fs_name() -> str:
    hosts = tv.group_hosts("fileservers")
    assert len(hosts) == 1, hosts
    return hosts[0]


@pytest.fixture(scope="session")
def fs(fs_name):
    return tv.podman_host(fs_name)


@pytest.fixture(scope="session")
def fs_vars(fs_name) -> dict:
    return tv.host_vars(fs_name)


@pytest.fixture(scope="session")
def ad(dc_vars) -> tv.AD:
    return tv.AD(dc_vars)


@pytest.fixture(scope="session")
def qgroups(fs, fs_vars) -> dict:
    mount = fs_vars["tre_projects_root"].rsplit("/", 1)[0]
    return tv.qgroups(fs, mount)
