"""Helpers for the scenarios' testinfra tests (imported by each scenario's conftest.py).

Hosts come from Molecule's inventory (``MOLECULE_INVENTORY_FILE``): container hosts are
reached with testinfra's podman backend (``podman://NAME``, ~10x faster than the ansible
backend); the inventory's variables (the lab's group_vars plus the scenario's) are read with
Ansible's own inventory API so the tests see exactly what the playbook saw.
AD is checked over the project's one verified LDAPS connection (``provisioning.ldap``), bound
as the service account, read-only.
"""

from __future__ import annotations

import json
import os
import shlex
from functools import cache
from pathlib import Path

from provisioning.ldap import connect, inventory_params, read_secret

UAC_DISABLED = 0x2


def ephemeral_dir() -> Path:
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


@cache
def _inventory():
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    source = str(Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent)
    inventory = InventoryManager(loader=loader, sources=[source])
    return loader, inventory, VariableManager(loader=loader, inventory=inventory)


def group_hosts(group: str) -> list[str]:
    _, inventory, _ = _inventory()
    found = inventory.groups.get(group)
    return sorted(h.name for h in found.get_hosts()) if found else []


@cache
def host_vars(name: str) -> dict:
    """The host's variables, templated (``{{ ... }}`` in the lab's group_vars resolved)."""
    from ansible.template import Templar

    loader, inventory, manager = _inventory()
    variables = manager.get_vars(host=inventory.get_host(name))
    templar = Templar(loader=loader, variables=variables)
    keys = [k for k in variables if k.startswith("tre_")]
    return {k: templar.template(variables[k]) for k in keys}


def podman_host(name: str):
    import testinfra

    return testinfra.get_host(f"podman://{name}")


def desired(name: str = "desired.json") -> dict:
    return json.loads((ephemeral_dir() / name).read_text())


def ad_connection(settings: dict):
    """The verified LDAPS connection, read-only, bound as the service account."""
    params = inventory_params(settings)
    return connect(params, read_secret(params["bind_password_file"]), read_only=True)


class AD:
    """What the tests read from AD: entries under the projects OU, by DN and sAMAccountName."""

    ATTRS = [
        "objectClass",
        "sAMAccountName",
        "uidNumber",
        "gidNumber",
        "member",
        "memberOf",
        "userAccountControl",
        "accountExpires",
        "description",
        "userPrincipalName",
        "displayName",
        "mail",
    ]

    def __init__(self, settings: dict) -> None:
        self.settings = settings
        conn = ad_connection(settings)
        try:
            entries = conn.extend.standard.paged_search(
                settings["tre_ad_projects_ou"],
                "(objectClass=*)",
                attributes=self.ATTRS,
                paged_size=500,
                generator=False,
            )
        finally:
            conn.unbind()
        self.by_dn: dict[str, dict[str, list[str]]] = {}
        self.by_sam: dict[str, tuple[str, dict[str, list[str]]]] = {}
        for e in entries:
            if e.get("type") != "searchResEntry":
                continue
            attrs = {
                k.split(";", 1)[0].lower(): [v.decode("utf-8", "replace") for v in vals]
                for k, vals in e["raw_attributes"].items()
            }
            self.by_dn[e["dn"].lower()] = attrs
            for sam in attrs.get("samaccountname", []):
                self.by_sam[sam.lower()] = (e["dn"], attrs)

    def ou_dn(self, ou: str) -> str:
        return f"OU={ou},{self.settings['tre_ad_projects_ou']}"

    def get(self, dn: str) -> dict | None:
        return self.by_dn.get(dn.lower())

    def sam(self, name: str) -> tuple[str, dict]:
        return self.by_sam[name.lower()]

    def members(self, name: str) -> set[str]:
        _, attrs = self.sam(name)
        return {m.lower() for m in attrs.get("member", [])}

    def one(self, name: str, attr: str) -> str | None:
        _, attrs = self.sam(name)
        values = attrs.get(attr.lower())
        return values[0] if values else None

    def number(self, name: str, attr: str) -> int:
        value = self.one(name, attr)
        assert value is not None, f"{name} has no {attr}"
        return int(value)


def getfacl(host, path: str) -> set[str]:
    """Access and default ACL entries of ``path`` (numeric, no effective-rights comments)."""
    out = host.check_output(
        "getfacl --omit-header --numeric --no-effective --absolute-names %s", path
    )
    return {line.strip() for line in out.splitlines() if line.strip()}


class Snapshot:
    """Owner, mode, subvolume-ness and ACL of many paths, read with two ``podman exec`` calls.

    (testinfra's ``host.file(p).uid`` etc. costs one exec per attribute: ~0.1 s each.)
    """

    def __init__(self, host, paths: list[str]) -> None:
        self.stat: dict[str, tuple[int, int, int, bool, bool]] = {}
        self.acl: dict[str, set[str]] = {}
        quoted = " ".join(shlex.quote(p) for p in sorted(set(paths)))
        out = host.run(f"stat -c '%n|%u|%g|%a|%i|%F' {quoted}").stdout
        for line in out.splitlines():
            name, uid, gid, mode, inode, kind = line.rsplit("|", 5)
            # on btrfs the root directory of every subvolume has inode number 256
            self.stat[name] = (
                int(uid),
                int(gid),
                int(mode, 8),
                kind == "directory",
                int(inode) == 256,
            )
        out = host.run(f"getfacl --numeric --no-effective --absolute-names {quoted}").stdout
        current = None
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("# file: "):
                current = line[len("# file: ") :]
                self.acl[current] = set()
            elif line and not line.startswith("#") and current is not None:
                self.acl[current].add(line)

    def exists(self, path: str) -> bool:
        return path in self.stat

    def owner(self, path: str) -> tuple[int, int]:
        assert path in self.stat, f"{path} does not exist"
        return self.stat[path][0], self.stat[path][1]

    def mode(self, path: str) -> int:
        assert path in self.stat, f"{path} does not exist"
        return self.stat[path][2]

    def is_dir(self, path: str) -> bool:
        return path in self.stat and self.stat[path][3]

    def is_subvolume(self, path: str) -> bool:
        return path in self.stat and self.stat[path][3] and self.stat[path][4]


def qgroups(host, mount: str) -> dict[str, int | None]:
    """Subvolume path relative to ``mount`` → its referenced-bytes limit (None: no limit)."""
    out = host.check_output("btrfs qgroup show -re --raw %s", mount)
    limits = {}
    for line in out.splitlines():
        cols = line.split()
        if len(cols) < 6 or not cols[0].startswith("0/"):
            continue
        limits[cols[5]] = None if cols[3] == "none" else int(cols[3])
    return limits


def sftp_listing(settings: dict, directory: str) -> dict[str, bytes]:
    """{name: content} of the ``*.json`` files in a directory of the OSSC gateway (SFTP, host
    key verified against the inventory's known_hosts only)."""
    import paramiko

    client = paramiko.SSHClient()
    client.load_host_keys(settings["tre_ossc_known_hosts"])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        settings["tre_ossc_host"],
        port=int(settings.get("tre_ossc_port", 22)),
        username=settings["tre_ossc_user"],
        key_filename=settings["tre_ossc_key_file"],
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    try:
        sftp = client.open_sftp()
        found = {}
        for name in sftp.listdir(directory):
            if name.endswith(".json"):
                with sftp.open(f"{directory}/{name}") as fh:
                    found[name] = fh.read()
        return found
    finally:
        client.close()
