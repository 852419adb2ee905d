import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
# detailed assertion messages (set differences) inside the shared check helpers too
pytest.register_assert_rewrite("checks", "tre_verify", "conftest_common")

from conftest_common import ad, dc_vars, fs, fs_name, fs_vars, qgroups  # noqa: E402,F401


@pytest.fixture(scope="session")
def archive_name() -> str:
    import tre_verify as tv

    hosts = tv.group_hosts("archive")
    assert len(hosts) == 1, hosts
    return hosts[0]


@pytest.fixture(scope="session")
def archive(archive_name):
    import tre_verify as tv

    return tv.podman_host(archive_name)


@pytest.fixture(scope="session")
def archive_vars(archive_name) -> dict:
    import tre_verify as tv

    return tv.host_vars(archive_name)
