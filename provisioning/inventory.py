"""Read an inventory directory (``docs/inventory.md``) into a typed, frozen ``Inventory``.

>>> inv = load_inventory("inventory/lab")
>>> inv.ad_server, inv.ad_projects_ou, inv.hosts["fileservers"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from provisioning.errors import InventoryError

GROUPS = ("domain_controllers", "fileservers", "archive", "ossc_gateway")


@dataclass(frozen=True)
class Inventory:
    """Every setting of ``group_vars/all.yml``; field = key without the ``tre_`` prefix."""

    path: Path  # the inventory directory
    hosts: Mapping[str, tuple[str, ...]]  # group -> host names, for the four groups
    ad_server: str  # DC address or name (must match its certificate)
    ad_port: int  # LDAPS port
    ad_ca_file: Path  # CA bundle that verifies the DC's certificate
    ad_base_dn: str  # domain base DN
    ad_projects_ou: str  # OU holding one OU per project
    ad_software_ou: str  # OU holding the seat groups SW-<PACKAGE>
    ad_upn_suffix: str  # userPrincipalName suffix
    ad_bind_user: str  # least-privilege service account (UPN)
    ad_bind_password_file: Path  # root-only file holding its password
    ad_id_min: int  # first uidNumber/gidNumber the toolkit allocates
    initial_password_dir: Path  # root-only directory for initial passwords
    projects_root: Path  # project subvolumes
    workspaces_root: Path  # personal workspaces
    archive_root: Path  # archives of closed projects
    catalog_root: Path  # data catalogue, one directory per file subject
    quota_backend: str  # quota implementation (btrfs)
    smtp_host: str  # SMTP relay
    smtp_port: int
    smtp_from: str  # sender of notification mail
    ossc_host: str  # OSSC gateway (SFTP)
    ossc_port: int
    ossc_user: str  # SFTP login
    ossc_key_file: Path  # root-only private key for that login
    ossc_known_hosts: Path  # known_hosts that verifies the gateway's host key
    ossc_inbox: str  # inbox directory on the gateway (SFTP path)
    lab_dir: Path | None = None  # lab only: the lab's directory
    lab_mail_dir: Path | None = None  # lab only: maildir of the lab's SMTP server
    lab_ad_admin_password_file: Path | None = None  # lab only: Administrator's password file
    vars: Mapping[str, Any] = field(default_factory=dict)  # all of group_vars/all.yml, raw

    @property
    def is_lab(self) -> bool:
        return self.lab_dir is not None

    def bind_password(self) -> str:
        """The service account's password, read from its root-only file."""
        return _read_secret(self.ad_bind_password_file, "tre_ad_bind_password_file")


_INT_KEYS = {"ad_port", "ad_id_min", "smtp_port", "ossc_port"}
_PATH_KEYS = {
    "ad_ca_file",
    "ad_bind_password_file",
    "initial_password_dir",
    "projects_root",
    "workspaces_root",
    "archive_root",
    "catalog_root",
    "ossc_key_file",
    "ossc_known_hosts",
    "lab_dir",
    "lab_mail_dir",
    "lab_ad_admin_password_file",
}
_OPTIONAL = {"lab_dir", "lab_mail_dir", "lab_ad_admin_password_file"}
_SETTINGS = [f.name for f in fields(Inventory) if f.name not in {"path", "hosts", "vars"}]


def load_inventory(path: str | Path) -> Inventory:
    """Load ``hosts.yml`` and ``group_vars/all.yml`` from the inventory directory ``path``.

    Relative paths in the settings are taken relative to the inventory directory.
    Raises ``InventoryError`` naming every missing or malformed piece.
    """
    inv_dir = Path(path)
    if inv_dir.is_file():  # tolerate the hosts.yml itself
        inv_dir = inv_dir.parent
    if not inv_dir.is_dir():
        hint = " (run `tre lab up` to create the lab inventory)" if inv_dir.name == "lab" else ""
        raise InventoryError(f"inventory {inv_dir} does not exist{hint}")
    hosts = _load_hosts(inv_dir)
    data = _load_yaml(inv_dir / "group_vars" / "all.yml")
    if not isinstance(data, dict):
        raise InventoryError(f"{inv_dir}/group_vars/all.yml: expected a mapping of settings")

    missing = [
        f"tre_{k}" for k in _SETTINGS if k not in _OPTIONAL and data.get(f"tre_{k}") in (None, "")
    ]
    if missing:
        raise InventoryError(
            f"{inv_dir}/group_vars/all.yml is missing {', '.join(missing)} (see docs/inventory.md)"
        )
    values: dict[str, Any] = {}
    for key in _SETTINGS:
        raw = data.get(f"tre_{key}")
        if raw in (None, ""):
            continue
        if key in _INT_KEYS:
            try:
                values[key] = int(raw)
            except (TypeError, ValueError):
                raise InventoryError(
                    f"{inv_dir}/group_vars/all.yml: tre_{key} must be a number, not {raw!r}"
                ) from None
        elif key in _PATH_KEYS:
            p = Path(str(raw))
            values[key] = p if p.is_absolute() else (inv_dir / p).absolute()
        else:
            values[key] = str(raw)
    return Inventory(
        path=inv_dir.absolute(),
        hosts=MappingProxyType(hosts),
        vars=MappingProxyType(data),
        **values,
    )


def _load_yaml(path: Path) -> Any:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InventoryError(f"{path} is missing (see docs/inventory.md)") from None
    except OSError as e:
        raise InventoryError(f"cannot read {path}: {e.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise InventoryError(f"{path}{where}: not valid YAML") from None


def _load_hosts(inv_dir: Path) -> dict[str, tuple[str, ...]]:
    path = inv_dir / "hosts.yml"
    if not path.exists() and (inv_dir / "hosts.yaml").exists():
        path = inv_dir / "hosts.yaml"
    data = _load_yaml(path)
    if not isinstance(data, dict):
        raise InventoryError(f"{path}: expected a YAML inventory (groups with hosts)")
    groups: dict[str, Any] = {}
    top = data.get("all")
    if isinstance(top, dict) and isinstance(top.get("children"), dict):
        groups.update(top["children"])
    groups.update({k: v for k, v in data.items() if k != "all"})
    result: dict[str, tuple[str, ...]] = {}
    missing = []
    for group in GROUPS:
        entry = groups.get(group)
        names = tuple((entry or {}).get("hosts") or {}) if isinstance(entry, dict) else ()
        if not names:
            missing.append(group)
        result[group] = names
    if missing:
        raise InventoryError(f"{path}: no host in group(s) {', '.join(missing)}")
    return result


def _read_secret(path: Path, key: str) -> str:
    try:
        value = path.read_text().strip()
    except OSError as e:
        raise InventoryError(f"cannot read {key} {path}: {e.strerror}") from None
    if not value:
        raise InventoryError(f"{key} {path} is empty")
    return value
