"""Shared helpers of the integration tests: run the real `tre`, read AD and the lab back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from ldap3 import SUBTREE, Connection
from ldap3.core.exceptions import LDAPNoSuchObjectResult

from provisioning.ldap import connect, inventory_params, read_secret

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "contracts"
INVENTORY = REPO / "inventory" / "lab"


def lab_vars(inventory: Path = INVENTORY) -> dict[str, Any]:
    return yaml.safe_load((inventory / "group_vars" / "all.yml").read_text())


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_contract(path: Path, contract: dict[str, Any]) -> Path:
    """Write a contract as a person would: no YAML anchors (the loader refuses them)."""
    path.write_text(yaml.dump(contract, Dumper=_NoAliases, allow_unicode=True, sort_keys=False))
    return path


def tre(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """The real command line, as an admin runs it."""
    tre_bin = Path(sys.executable).parent / "tre"
    result = subprocess.run(
        [str(tre_bin), *args],
        capture_output=True,
        text=True,
        # the checkout's lab inventory, whatever /etc/tre/tre.toml says (a test's env wins)
        env={"TRE_INVENTORY": str(INVENTORY), **os.environ, **env},
        cwd=REPO,
        timeout=900,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tre {' '.join(args)} → {result.returncode}\n{result.stderr}")
    return result


def tre_json(*args: str, env: dict[str, str]) -> dict[str, Any]:
    return json.loads(tre(*args, "--json", env=env).stdout)


def ad_connection(v: dict[str, Any]) -> Connection:
    """The project's one LDAPS connection, bound as the inventory's service account."""
    params = inventory_params(v)
    return connect(params, read_secret(params["bind_password_file"]), schema=True)


def ad_objects(conn: Connection, base: str) -> dict[str, dict[str, Any]]:
    """Every object under ``base`` by sAMAccountName (or OU name), attributes as values."""
    try:
        entries = conn.extend.standard.paged_search(
            base,
            "(objectClass=*)",
            SUBTREE,
            attributes=[
                "sAMAccountName",
                "ou",
                "displayName",
                "givenName",
                "sn",
                "mail",
                "uidNumber",
                "gidNumber",
                "userAccountControl",
                "accountExpires",
                "member",
                "objectClass",
                "pwdLastSet",
            ],
            paged_size=500,
            generator=False,
        )
    except LDAPNoSuchObjectResult:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.get("type") != "searchResEntry":
            continue
        a = e["attributes"]
        key = a.get("sAMAccountName") or (a.get("ou") or [None])[0] or e["dn"]
        out[key if isinstance(key, str) else key[0]] = {"dn": e["dn"], **a}
    return out


def delete_subtree(conn: Connection, dn: str) -> None:
    """Delete an OU and everything in it, leaves first (test clean-up only)."""
    try:
        conn.search(dn, "(objectClass=*)", SUBTREE, attributes=[])
    except LDAPNoSuchObjectResult:
        return
    for entry_dn in sorted((e.entry_dn for e in conn.entries), key=len, reverse=True):
        conn.delete(entry_dn)


def run_root(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def remove_project_storage(v: dict[str, Any], project: str) -> None:
    """Delete a project's subvolumes (project folder, workspaces) in the lab (clean-up)."""
    roots = [Path(v["tre_projects_root"]) / f"P{project}"]
    roots += sorted(Path(v["tre_workspaces_root"]).glob(f"p{project}.*"))
    for path in roots:
        if path.exists():
            subprocess.run(
                ["btrfs", "subvolume", "delete", str(path)], capture_output=True, check=True
            )


def clean_project(v: dict[str, Any], project: str) -> None:
    """Remove a test project from the lab: its AD OU, storage, initial passwords and archive
    (a complete bag and a killed run's partial one)."""
    delete_subtree(ad_connection(v), f"OU=P{project},{v['tre_ad_projects_ou']}")
    remove_project_storage(v, project)
    shutil.rmtree(Path(v["tre_initial_password_dir"]) / project, ignore_errors=True)
    for name in (f"P{project}", f".incoming-P{project}"):
        shutil.rmtree(Path(v["tre_archive_root"]) / name, ignore_errors=True)


def example_contract(name: str, project: str, **changes: Any) -> dict[str, Any]:
    """An example contract (``examples/contracts/NAME``) renumbered, with ``changes``."""
    contract = yaml.safe_load((EXAMPLES / name).read_text())
    return dict(contract, project=int(project), **changes)
