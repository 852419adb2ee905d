"""Write the lab's inventory (``docs/inventory.md``): hosts.yml, group_vars/all.yml,
known_hosts. Files are rewritten only when their content changes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from provisioning.errors import LabError

from . import archive_host
from .config import (
    AD_ADDRESS,
    ARCHIVE_ADDRESS,
    ARCHIVE_PORT,
    ARCHIVE_SFTP_ROOT,
    ARCHIVE_USER,
    BASE_DN,
    DNS_DOMAIN,
    ID_MIN,
    LDAPS_PORT,
    OSSC_ADDRESS,
    OSSC_INBOX,
    OSSC_PORT,
    OSSC_USER,
    PROJECTS_OU,
    SERVICE_ACCOUNT,
    SMTP_ADDRESS,
    SMTP_FROM,
    SMTP_PORT,
    SOFTWARE_OU,
    LabConfig,
)
from .proc import Report, write_if_changed

HOSTS = {
    "domain_controllers": "lab-dc",
    "fileservers": "lab-fileserver",
    "archive": "lab-archive",
    "ossc_gateway": "lab-ossc",
}
HEADER = "# Written by `tre lab up`; rewritten by every `up`. Spec: docs/inventory.md\n"


def python() -> str:
    """The running Python, named stably (``python`` and ``python3`` of one venv are the same
    interpreter: the inventory must not flip between them from one `up` to the next)."""
    stable = Path(sys.prefix) / "bin" / "python3"
    return str(stable) if stable.exists() else sys.executable


def hosts_yml() -> dict[str, Any]:
    host_vars = {"ansible_connection": "local", "ansible_python_interpreter": python()}
    return {
        "all": {
            "children": {group: {"hosts": {host: dict(host_vars)}} for group, host in HOSTS.items()}
        }
    }


def all_yml(cfg: LabConfig) -> dict[str, Any]:
    return {
        "tre_ad_server": AD_ADDRESS,
        "tre_ad_port": LDAPS_PORT,
        "tre_ad_ca_file": str(cfg.ca_file),
        "tre_ad_base_dn": BASE_DN,
        "tre_ad_projects_ou": PROJECTS_OU,
        "tre_ad_software_ou": SOFTWARE_OU,
        "tre_ad_upn_suffix": DNS_DOMAIN,
        "tre_ad_bind_user": f"{SERVICE_ACCOUNT}@{DNS_DOMAIN}",
        "tre_ad_bind_password_file": str(cfg.bind_password_file),
        "tre_ad_id_min": ID_MIN,
        "tre_initial_password_dir": str(cfg.initial_password_dir),
        "tre_projects_root": str(cfg.root("projects")),
        "tre_workspaces_root": str(cfg.root("home")),
        # on the archive host (lab-archive reads it locally); the file servers write the same
        # directory over SFTP, where the chrooted account sees it as tre_archive_sftp_root
        "tre_archive_root": str(cfg.archive_root),
        "tre_archive_sftp_host": ARCHIVE_ADDRESS,
        "tre_archive_sftp_port": ARCHIVE_PORT,
        "tre_archive_sftp_user": ARCHIVE_USER,
        "tre_archive_sftp_key_file": str(cfg.archive_key_file),
        "tre_archive_sftp_known_hosts": str(cfg.known_hosts),
        "tre_archive_sftp_root": ARCHIVE_SFTP_ROOT,
        "tre_catalog_root": str(cfg.root("catalog")),
        "tre_quota_backend": "btrfs",
        "tre_smtp_host": SMTP_ADDRESS,
        "tre_smtp_port": SMTP_PORT,
        "tre_smtp_from": SMTP_FROM,
        "tre_ossc_host": OSSC_ADDRESS,
        "tre_ossc_port": OSSC_PORT,
        "tre_ossc_user": OSSC_USER,
        "tre_ossc_key_file": str(cfg.ossc_key_file),
        "tre_ossc_known_hosts": str(cfg.known_hosts),
        "tre_ossc_inbox": OSSC_INBOX,
        "tre_lab_dir": str(cfg.lab_dir),
        "tre_lab_mail_dir": str(cfg.mail_dir),
        "tre_lab_ad_admin_password_file": str(cfg.admin_password_file),
        "tre_lab_postgres_url": cfg.postgres_url,  # the password is in the passfile it names
    }


def known_hosts_line(cfg: LabConfig) -> str | None:
    pub = cfg.sshd_dir / "ssh_host_ed25519_key.pub"
    if not pub.exists():
        return None
    key_type, key = pub.read_text().split()[:2]
    return f"[{OSSC_ADDRESS}]:{OSSC_PORT} {key_type} {key}\n"


def write(cfg: LabConfig, report: Report) -> None:
    hosts = cfg.inventory_dir / "hosts.yml"
    if hosts.exists() and not hosts.read_text(errors="replace").startswith(HEADER):
        # e.g. `inventory` in /etc/tre/tre.toml names the production inventory
        raise LabError(
            f"{cfg.inventory_dir} holds an inventory the lab did not write: not overwriting it;"
            " pass --inventory DIR for the lab's"
        )
    cfg.inventory_dir.mkdir(parents=True, exist_ok=True)
    (cfg.inventory_dir / "group_vars").mkdir(exist_ok=True)
    files: dict[Path, str] = {
        cfg.inventory_dir / "hosts.yml": HEADER + yaml.safe_dump(hosts_yml(), sort_keys=False),
        cfg.inventory_dir / "group_vars" / "all.yml": HEADER
        + yaml.safe_dump(all_yml(cfg), sort_keys=False),
    }
    lines = [line for line in (known_hosts_line(cfg), archive_host.known_hosts_line(cfg)) if line]
    if lines:
        files[cfg.known_hosts] = "".join(lines)
    changed = [p for p, text in files.items() if write_if_changed(p, text)]
    if changed:
        report.did(
            f"wrote the inventory {cfg.inventory_dir} "
            f"({', '.join(str(p.relative_to(cfg.inventory_dir)) for p in changed)})"
        )
