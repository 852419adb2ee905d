"""Where the lab lives and what it is called: one place for every lab setting."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_LAB_DIR = Path("/var/lib/tre-lab")
#: The inventory's place under the lab directory when none is given (never the cwd).
INVENTORY_NAME = "inventory"
DEFAULT_MOUNT = Path("/srv/tre")
DEFAULT_SIZE = "4G"

REALM = "LAB.EXAMPLE.ORG"
DOMAIN = "LAB"
DNS_DOMAIN = "lab.example.org"
BASE_DN = "DC=lab,DC=example,DC=org"
DC_HOST = "dc"
DC_FQDN = f"{DC_HOST}.{DNS_DOMAIN}"
PROJECTS_OU = f"OU=Projects,{BASE_DN}"
SOFTWARE_OU = f"OU=Software,{PROJECTS_OU}"
SERVICE_ACCOUNT = "svc-prov"
ID_MIN = 200000

AD_ADDRESS = "127.0.10.1"
LDAPS_PORT = 636
SMTP_ADDRESS = "127.0.10.2"
SMTP_PORT = 25
SMTP_FROM = f"tre@{DNS_DOMAIN}"
OSSC_ADDRESS = "127.0.10.3"
OSSC_PORT = 2222
OSSC_USER = "tre-ossc"
OSSC_INBOX = "inbox"
#: The archive host (group ``archive``): its own sshd, SFTP only, the account chrooted to
#: ``<mount>/archive-host`` where it sees the archive root as ``/archive``.
ARCHIVE_ADDRESS = "127.0.10.6"
ARCHIVE_PORT = 2222
ARCHIVE_USER = "tre-archive"
ARCHIVE_SFTP_ROOT = "/archive"
POSTGRES_ADDRESS = "127.0.10.5"
POSTGRES_PORT = 5432
POSTGRES_USER = "tre"  # the lab store's role (LOGIN CREATEDB: tests make their databases)
POSTGRES_DB = "tre"


@dataclass(frozen=True)
class LabConfig:
    """Paths of one lab; every file the lab writes is under ``lab_dir`` or ``inventory_dir``."""

    lab_dir: Path = DEFAULT_LAB_DIR  # the lab's own directory (AD, CA, secrets, logs, image)
    inventory_dir: Path = DEFAULT_LAB_DIR / INVENTORY_NAME  # where the inventory is written
    mount: Path = DEFAULT_MOUNT  # where the btrfs image is mounted
    size: str = DEFAULT_SIZE  # size of the btrfs image (truncate syntax: 4G, 512M)

    @classmethod
    def from_env(
        cls,
        lab_dir: Path | str | None = None,
        inventory_dir: Path | str | None = None,
        mount: Path | str | None = None,
        size: str | None = None,
    ) -> LabConfig:
        """Explicit arguments win, then ``TRE_LAB_DIR`` / ``TRE_INVENTORY``, then defaults.

        The inventory's default is where the lab's last `up` wrote it (``lab.json``), else
        ``<lab dir>/inventory``: nothing depends on the current directory.
        """
        lab = Path(lab_dir or os.environ.get("TRE_LAB_DIR") or DEFAULT_LAB_DIR).absolute()
        inv = inventory_dir or os.environ.get("TRE_INVENTORY")
        if not inv:
            recorded = cls.load_recorded(lab)
            inv = recorded.inventory_dir if recorded else lab / INVENTORY_NAME
        return cls(
            lab_dir=lab,
            inventory_dir=Path(inv).absolute(),
            mount=Path(mount or DEFAULT_MOUNT).absolute(),
            size=size or DEFAULT_SIZE,
        )

    # --- paths ---------------------------------------------------------------------------
    @property
    def ad_dir(self) -> Path:
        return self.lab_dir / "ad"

    @property
    def smb_conf(self) -> Path:
        return self.ad_dir / "etc" / "smb.conf"

    @property
    def ca_dir(self) -> Path:
        return self.lab_dir / "ca"

    @property
    def ca_file(self) -> Path:
        return self.ca_dir / "ca.pem"

    @property
    def secrets_dir(self) -> Path:
        return self.lab_dir / "secrets"

    @property
    def bind_password_file(self) -> Path:
        return self.secrets_dir / f"{SERVICE_ACCOUNT}.password"

    @property
    def admin_password_file(self) -> Path:
        return self.secrets_dir / "administrator.password"

    @property
    def initial_password_dir(self) -> Path:
        return self.secrets_dir / "initial"

    @property
    def ossc_key_file(self) -> Path:
        return self.secrets_dir / "ossc_ed25519"

    @property
    def log_dir(self) -> Path:
        return self.lab_dir / "log"

    @property
    def run_dir(self) -> Path:
        return self.lab_dir / "run"

    @property
    def mail_dir(self) -> Path:
        return self.lab_dir / "mail"

    @property
    def sshd_dir(self) -> Path:
        return self.lab_dir / "sshd"

    @property
    def ossc_home(self) -> Path:
        return self.lab_dir / "ossc"

    @property
    def archive_sshd_dir(self) -> Path:
        """The archive host's sshd: config, host key, authorized keys, pidfile."""
        return self.lab_dir / "archive-sshd"

    @property
    def archive_key_file(self) -> Path:
        """The file servers' client key for the archive account."""
        return self.secrets_dir / "archive_ed25519"

    @property
    def archive_chroot(self) -> Path:
        """The archive account's chroot (root-owned, 0755): holds only the archive root."""
        return self.mount / "archive-host"

    @property
    def archive_root(self) -> Path:
        """The archive root on disk (0700, the archive account's): ``/archive`` over SFTP."""
        return self.archive_chroot / ARCHIVE_SFTP_ROOT.lstrip("/")

    @property
    def postgres_dir(self) -> Path:
        return self.lab_dir / "postgres"

    @property
    def postgres_passfile(self) -> Path:
        """libpq's password file for the ``tre`` role (``host:port:db:user:password``)."""
        return self.secrets_dir / "postgres.pgpass"

    @property
    def postgres_url(self) -> str:
        """The lab's PostgreSQL state store; the password stays in the passfile."""
        return (
            f"postgresql://{POSTGRES_USER}@{POSTGRES_ADDRESS}:{POSTGRES_PORT}/{POSTGRES_DB}"
            f"?passfile={self.postgres_passfile}"
        )

    @property
    def image(self) -> Path:
        return self.lab_dir / "fs.img"

    @property
    def known_hosts(self) -> Path:
        return self.inventory_dir / "known_hosts"

    @property
    def state_file(self) -> Path:
        return self.lab_dir / "lab.json"

    def root(self, name: str) -> Path:
        """A storage root under the mount (projects, home, archive, catalog)."""
        return self.mount / name

    # --- the record of what `up` set up, so `down` removes exactly that -------------------
    def save(self) -> None:
        data = {k: str(v) for k, v in asdict(self).items()}
        self.state_file.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load_recorded(cls, lab_dir: Path) -> LabConfig | None:
        """The configuration recorded by the last `up` in ``lab_dir``, if any."""
        path = lab_dir / "lab.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return cls(
            lab_dir=Path(data["lab_dir"]),
            inventory_dir=Path(data["inventory_dir"]),
            mount=Path(data["mount"]),
            size=data["size"],
        )
