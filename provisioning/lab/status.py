"""Check every part of the lab for real: the same way the toolkit will use it."""

from __future__ import annotations

import smtplib
import time
from dataclasses import asdict, dataclass

from ldap3 import BASE

from provisioning.errors import InventoryError

from .config import (
    AD_ADDRESS,
    LDAPS_PORT,
    OSSC_ADDRESS,
    OSSC_INBOX,
    OSSC_PORT,
    OSSC_USER,
    PROJECTS_OU,
    SERVICE_ACCOUNT,
    SMTP_ADDRESS,
    SMTP_PORT,
    LabConfig,
)
from .sftp import sftp_login


@dataclass(frozen=True)
class Check:
    part: str
    ok: bool
    detail: str
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _timed(part: str, fn) -> Check:  # fn() -> detail; raises on failure
    start = time.monotonic()
    try:
        detail = fn()
        ok = True
    except Exception as e:  # noqa: BLE001 - any failure is "down", reported in one line
        detail = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".rstrip(": ")
        ok = False
    return Check(part, ok, detail, round(time.monotonic() - start, 3))


def check_ad(cfg: LabConfig) -> str:
    from . import ad

    password = cfg.bind_password_file.read_text().strip()
    conn = ad.connect_as(cfg, SERVICE_ACCOUNT, password)
    try:
        conn.search(PROJECTS_OU, "(objectClass=organizationalUnit)", BASE, attributes=["ou"])
        if not conn.entries:
            raise RuntimeError(f"{PROJECTS_OU} not found")
    finally:
        conn.unbind()
    return f"LDAPS bind verified as {SERVICE_ACCOUNT} on {AD_ADDRESS}:{LDAPS_PORT}, projects OU ok"


def check_storage(cfg: LabConfig) -> str:
    from . import storage

    source = storage.mounted_source(cfg.mount)
    if source is None:
        raise RuntimeError(f"{cfg.mount} is not mounted")
    if source not in storage.loops_of(cfg.image):
        raise RuntimeError(f"{cfg.mount} holds {source}, not the lab image")
    if not storage.quota_enabled(cfg.mount):
        raise RuntimeError(f"btrfs quotas are not enabled on {cfg.mount}")
    missing = [r for r in storage.ROOT_MODES if not cfg.root(r).is_dir()]
    if missing:
        raise RuntimeError(f"missing roots: {', '.join(missing)}")
    return f"btrfs {source} on {cfg.mount}, quotas enabled"


def check_smtp(cfg: LabConfig) -> str:
    with smtplib.SMTP(SMTP_ADDRESS, SMTP_PORT, timeout=5) as smtp:
        code, _ = smtp.ehlo("status.tre-lab")
        if code != 250:
            raise RuntimeError(f"EHLO answered {code}")
    return f"EHLO answered on {SMTP_ADDRESS}:{SMTP_PORT}, mail in {cfg.mail_dir}"


def check_sftp(cfg: LabConfig) -> str:
    with sftp_login(cfg, OSSC_ADDRESS, OSSC_PORT, OSSC_USER, cfg.ossc_key_file) as sftp:
        entries = sftp.listdir(OSSC_INBOX)
    where = f"{OSSC_ADDRESS}:{OSSC_PORT}"
    return f"SFTP login as {OSSC_USER} on {where}, {OSSC_INBOX}/ has {len(entries)} entries"


def check_archive_host(cfg: LabConfig) -> str:
    from . import archive_host

    return archive_host.check(cfg)


def check_postgres(cfg: LabConfig) -> str:
    from . import postgres

    return postgres.check(cfg)


def check_inventory(cfg: LabConfig) -> str:
    from provisioning.inventory import load_inventory

    try:
        inv = load_inventory(cfg.inventory_dir)
    except InventoryError as e:
        raise RuntimeError(str(e)) from None
    return f"{inv.path} complete"


def checks(cfg: LabConfig) -> list[Check]:
    return [
        _timed("ad", lambda: check_ad(cfg)),
        _timed("storage", lambda: check_storage(cfg)),
        _timed("smtp", lambda: check_smtp(cfg)),
        _timed("sftp", lambda: check_sftp(cfg)),
        _timed("archive", lambda: check_archive_host(cfg)),
        _timed("postgres", lambda: check_postgres(cfg)),
        _timed("inventory", lambda: check_inventory(cfg)),
    ]
