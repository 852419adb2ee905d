"""One verified-LDAPS connection and one FILETIME conversion for the whole tree.

The module, the lab, the tests, Molecule's verify and the benchmarks all connect through
``tre_ldap.connect`` (outside Ansible via ``provisioning.ldap``); the inventory's ``tre_ad_*``
variables become its parameters exactly as ``site.yml`` hands them to ``tre_ad``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml
from ansible_collections.tre.secenv.plugins.module_utils import tre_ad_model, tre_ldap
from ansible_collections.tre.secenv.plugins.module_utils.tre_ldap import INVENTORY_VARIABLES

from provisioning import ldap
from provisioning.ldap import filetime, filetime_text, inventory_params

REPO = Path(__file__).resolve().parents[2]
MODULE_UTILS = REPO / "playbooks/collections/ansible_collections/tre/secenv/plugins/module_utils"
HOME = MODULE_UTILS / "tre_ldap.py"
LDAP3_CONSTRUCTORS = {"Tls", "Server", "Connection"}


def _sources() -> list[Path]:
    skip = {".venv", ".cache", ".git", "build"}
    return [
        p
        for p in REPO.rglob("*.py")
        if not skip & set(p.relative_to(REPO).parts)
        and "ansible_collections/ansible/" not in p.as_posix()
        and "ansible_collections/community/" not in p.as_posix()
    ]


def _ldap3_constructions(path: Path) -> list[str]:
    """Where a file builds ldap3's Tls/Server/Connection itself (imported or as ldap3.X)."""
    tree = ast.parse(path.read_text(), str(path))
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ldap3")
        for alias in node.names
        if alias.name in LDAP3_CONSTRUCTORS
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if (isinstance(f, ast.Name) and f.id in imported) or (
            isinstance(f, ast.Attribute)
            and f.attr in LDAP3_CONSTRUCTORS
            and isinstance(f.value, ast.Name)
            and f.value.id == "ldap3"
        ):
            found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_ldap3_connections_are_made_in_tre_ldap_only():
    elsewhere = [
        where for path in _sources() if path != HOME for where in _ldap3_constructions(path)
    ]
    assert elsewhere == []
    assert len(_ldap3_constructions(HOME)) == 3  # Tls, Server, Connection: once each


def test_filetime_epoch_is_defined_once_outside_the_tests_and_once_in_them():
    epoch = re.compile(r"datetime\(\s*1601\b")
    holders = [p.relative_to(REPO) for p in _sources() if epoch.search(p.read_text())]
    outside = [p for p in holders if p.parts[0] != "tests"]
    oracles = [p for p in holders if p.parts[0] == "tests"]
    assert outside == [MODULE_UTILS.relative_to(REPO) / "tre_ad_model.py"]
    assert len(oracles) <= 1, oracles


def test_provisioning_ldap_reexports_the_collections_own_objects():
    assert ldap.connect is tre_ldap.connect
    assert ldap.filetime is tre_ad_model.filetime
    assert filetime_text(filetime("2028-02-01")) == "2028-02-01T00:00:00Z"


def _site_ad_args() -> dict[str, str]:
    plays = yaml.safe_load((REPO / "playbooks" / "site.yml").read_text())
    task = next(t for p in plays for t in p.get("tasks", []) if "tre.secenv.tre_ad" in t)
    return task["tre.secenv.tre_ad"]


def test_inventory_params_map_the_variables_as_site_yml_does():
    args = _site_ad_args()
    for param, variable in INVENTORY_VARIABLES.items():
        template = args[param]
        assert re.match(r"\{\{\s*" + variable + r"\b", template), (param, template)
        default = re.search(r"default\((\d+)\)", template)
        if default:  # the module's default is the playbook's default
            assert inventory_params({})[param] == int(default.group(1)), param


def test_inventory_params_types_and_defaults():
    params = inventory_params(
        {
            "tre_ad_server": "127.0.10.1",
            "tre_ad_port": "1636",
            "tre_ad_ca_file": "/ca.pem",
            "tre_ad_bind_user": "svc-prov@lab.example.org",
            "tre_ad_bind_password_file": "/pw",
            "tre_ad_projects_ou": "OU=Projects,DC=lab",
            "tre_other": "ignored",
        }
    )
    assert params["server"] == "127.0.10.1"
    assert params["port"] == 1636  # an int, as the module's argument spec makes it
    assert params["bind_password_file"] == "/pw"
    assert params["projects_ou"] == "OU=Projects,DC=lab"
    assert params["timeout"] == 10 and params["id_min"] == 200000
    assert "tre_other" not in params.values()
