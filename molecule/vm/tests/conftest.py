import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
# detailed assertion messages (set differences) inside the shared check helpers too
pytest.register_assert_rewrite("checks", "tre_verify", "conftest_common")

from conftest_common import ad, dc_vars, fs_name, fs_vars  # noqa: E402,F401


@pytest.fixture(scope="session")
def fs(fs_name):  # noqa: F811 - the fixture imported above
    """The VM over SSH (testinfra's ssh backend) with the key and port of the instance
    config that create.yml wrote."""
    import testinfra

    instances = _instance_config()
    (vm,) = [i for i in instances if i["instance"] == fs_name]
    opts = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    return testinfra.get_host(
        f"ssh://root@{vm['address']}:{vm['port']}",
        ssh_identity_file=vm["identity_file"],
        ssh_extra_args=opts,
    )


def _instance_config() -> list:
    import yaml

    return yaml.safe_load(Path(os.environ["MOLECULE_INSTANCE_CONFIG"]).read_text())
