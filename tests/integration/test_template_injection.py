"""A contract's text never runs as an Ansible template (found by an attacker's probe).

Ansible evaluates ``{{ ... }}`` in the strings of extra variables; a contract title like
``{{ lookup('pipe', 'touch /x') }}`` handed over as the desired state ran as root in check mode.
The desired state now travels base64-encoded (runner.encode_desired, site.yml decodes it with a
filter), and `tre contract check` refuses template syntax in text fields.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest

from provisioning.contract import load_contracts
from provisioning.desired import build_desired_state
from provisioning.policy import load_policy
from provisioning.runner import run_site
from tests.integration.helpers import EXAMPLES, INVENTORY

pytestmark = pytest.mark.lab


def test_template_syntax_in_the_desired_state_is_never_evaluated(lab_inventory, tmp_path):
    marker = Path(f"/tmp/tre-injected-{uuid.uuid4().hex}")
    policy = load_policy()
    contracts = load_contracts([str(EXAMPLES / "9001-small.yaml")], policy)
    desired = build_desired_state(contracts, policy, date(2026, 12, 1))
    payload = "Study {{ lookup('ansible.builtin.pipe', 'touch " + str(marker) + "') }}"
    desired["projects"][0]["title"] = payload  # past contract check, as a crafted state
    desired["projects"][0]["accounts"][0]["display_name"] = "{% raw %}x{% endraw %}"
    result = run_site(INVENTORY, desired, check=True, home=tmp_path / "home")
    assert result.ok, result.failures
    assert not marker.exists(), "a contract's text ran as a template"
    ou = [c for c in result.changes if c["kind"] == "ou" and c["name"] == "P9001"]
    assert ou and payload in str(ou[0]["after"])  # reaches AD as the literal text
