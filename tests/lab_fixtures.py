"""Session fixtures for every test that needs the lab (marker ``lab``), exposed by
``tests/conftest.py``:

- ``lab_inventory``: brings the real lab up once per session (``provisioning.lab.up``, the
  same as ``tre lab up``: a no-op of about a second when it is already up) with the inventory
  ``inventory/lab`` under the repo root (which the config file it writes then names), and
  yields ``load_inventory(...)``.
- ``ad_service_connection``: the project's one LDAPS connection (``provisioning.ldap``,
  certificate verified) in the lab's style (``provisioning.lab.ad.connect``), bound as the
  service account (rights on the projects OU only).

The lab stays up after the session: other sessions use it; ``tre lab down`` removes it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning.inventory import Inventory, load_inventory

REPO = Path(__file__).resolve().parents[1]
LAB_INVENTORY = REPO / "inventory" / "lab"


@pytest.fixture(scope="session")
def lab_inventory() -> Inventory:
    if os.geteuid() != 0:
        pytest.fail("the lab tests need root (pytest -m lab as root); they never skip")
    from provisioning import lab
    from provisioning.lab.config import LabConfig

    cfg = LabConfig.from_env(inventory_dir=LAB_INVENTORY)
    lab.up(cfg)
    return load_inventory(LAB_INVENTORY)


@pytest.fixture
def ad_service_connection(lab_inventory: Inventory) -> Iterator[object]:
    from provisioning.lab.ad import connect

    conn = connect(
        lab_inventory.ad_ca_file,
        lab_inventory.ad_bind_user,
        lab_inventory.bind_password(),
        host=lab_inventory.ad_server,
        port=lab_inventory.ad_port,
        password_file=lab_inventory.ad_bind_password_file,
    )
    try:
        yield conn
    finally:
        conn.unbind()
