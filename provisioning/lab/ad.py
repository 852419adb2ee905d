"""The lab's Active Directory: a Samba AD DC on 127.0.10.1 with the projects OU and the
least-privilege service account ``svc-prov`` (full control on ``OU=Projects`` only)."""

from __future__ import annotations

import secrets
import shutil
import ssl
import string
from pathlib import Path

from ldap3 import BASE, Connection
from ldap3.core.exceptions import LDAPException

from provisioning import ldap
from provisioning.errors import LabError

from . import certs
from .config import (
    AD_ADDRESS,
    BASE_DN,
    DC_HOST,
    DNS_DOMAIN,
    DOMAIN,
    LDAPS_PORT,
    PROJECTS_OU,
    REALM,
    SERVICE_ACCOUNT,
    SOFTWARE_OU,
    LabConfig,
)
from .proc import (
    Report,
    ensure_free,
    exited,
    read_pid,
    run,
    stop_pid,
    wait_for,
    write_secret,
)

# Only what an LDAP directory needs: no SMB file service, no DNS (its forwarder would point
# off-box), no NetBIOS, no DCE/RPC endpoint mapper.
SERVER_SERVICES = "-dns -dnsupdate -nbt -wrepl -s3fs -rpc"
UF_NORMAL_ACCOUNT = 0x200
UF_DONT_EXPIRE_PASSWD = 0x10000
# outside the delegated OU: reconcilers that sweep OU=Projects must never see it
SVC_DN = f"CN={SERVICE_ACCOUNT},CN=Users,{BASE_DN}"


def pidfile(cfg: LabConfig) -> Path:
    return cfg.ad_dir / "run" / "samba.pid"


def new_password(length: int = 32) -> str:
    """A random password that meets AD complexity (upper, lower, digit, symbol)."""
    alphabet = string.ascii_letters + string.digits + "-_.!+"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in pw)
            and any(c.isupper() for c in pw)
            and any(c.isdigit() for c in pw)
            and any(c in "-_.!+" for c in pw)
        ):
            return pw


def connect(
    ca_file: Path,
    user: str,
    password: str,
    host: str = AD_ADDRESS,
    port: int = LDAPS_PORT,
    password_file: Path | str = "the password file",
) -> Connection:
    """The project's one LDAPS connection (``provisioning.ldap.connect``: the server
    certificate verified against ``ca_file`` and ``host``), bound as ``user``, with ldap3's
    typed values and boolean results (the lab's style). ``password_file`` is named if the DC
    rejects the password. Raises ``ldap.LdapError`` (one line) if the bind fails."""
    params = {
        "server": host,
        "port": port,
        "ca_file": str(ca_file),
        "bind_user": user,
        "bind_password_file": str(password_file),
        "timeout": 5,
    }
    return ldap.connect(params, password, schema=True, raise_exceptions=False)


def connect_as(cfg: LabConfig, account: str, password: str) -> Connection:
    """``connect`` to the lab's DC as ``account`` (``Administrator`` or the service account),
    naming its password file if the DC rejects the password."""
    secret = cfg.admin_password_file if account == "Administrator" else cfg.bind_password_file
    return connect(cfg.ca_file, f"{account}@{DNS_DOMAIN}", password, password_file=secret)


def ldaps_ready(cfg: LabConfig) -> bool:
    """True when the DC completes a verified TLS handshake on LDAPS."""
    import socket

    ctx = ssl.create_default_context(cafile=str(cfg.ca_file))
    try:
        with (
            socket.create_connection((AD_ADDRESS, LDAPS_PORT), timeout=1) as sock,
            ctx.wrap_socket(sock, server_hostname=AD_ADDRESS),
        ):
            return True
    except (OSError, ssl.SSLError):
        return False


def ensure(cfg: LabConfig, report: Report) -> None:
    if certs.ensure(cfg, report) and read_pid(pidfile(cfg)) is not None:
        stop(cfg, report)  # samba reads its certificate at start: restart it with the new one
    _provision(cfg, report)
    _start(cfg, report)
    try:
        _configure(cfg, report)
    except (LDAPException, ldap.LdapError) as e:
        raise LabError(f"configuring AD over LDAPS failed: {e}") from e


def _provision(cfg: LabConfig, report: Report) -> None:
    if (cfg.ad_dir / "private" / "sam.ldb").exists() and cfg.smb_conf.exists():
        return
    if cfg.ad_dir.exists():  # a half-made provision: start again
        shutil.rmtree(cfg.ad_dir)
    (cfg.ad_dir / "run").mkdir(parents=True, mode=0o755)
    cfg.log_dir.mkdir(parents=True, exist_ok=True)
    admin_password = new_password()
    write_secret(cfg.admin_password_file, admin_password)
    options = {
        # with a netmask: 127.0.10.1 is routed to lo but is not one of its addresses, and
        # Samba ignores a bare address it does not find among the interfaces
        "interfaces": f"{AD_ADDRESS}/8",
        "bind interfaces only": "yes",
        "server services": SERVER_SERVICES,
        "disable netbios": "yes",
        "dns forwarder": "127.0.0.1",
        "tls enabled": "yes",
        "tls keyfile": str(certs.server_key(cfg)),
        "tls certfile": str(certs.server_cert(cfg)),
        "tls cafile": str(cfg.ca_file),
        "pid directory": str(cfg.ad_dir / "run"),
        "winbindd socket directory": str(cfg.ad_dir / "run" / "winbindd"),
        "ntp signd socket directory": str(cfg.ad_dir / "run" / "ntp_signd"),
        "log file": str(cfg.log_dir / "samba.log"),
        "max log size": "10000",
    }
    run(
        [
            "samba-tool",
            "domain",
            "provision",
            f"--realm={REALM}",
            f"--domain={DOMAIN}",
            "--server-role=dc",
            "--dns-backend=SAMBA_INTERNAL",
            "--use-rfc2307",
            "--backend-store=mdb",
            f"--adminpass={admin_password}",
            f"--targetdir={cfg.ad_dir}",
            f"--host-name={DC_HOST}",
            f"--host-ip={AD_ADDRESS}",
            *(f"--option={k}={v}" for k, v in options.items()),
        ],
        "samba-tool domain provision",
    )
    report.did(f"provisioned Samba AD DC {REALM} in {cfg.ad_dir}")


def _start(cfg: LabConfig, report: Report) -> None:
    if read_pid(pidfile(cfg)) is not None:
        if not ldaps_ready(cfg):
            report.say("waiting for LDAPS on 127.0.10.1:636")
            wait_for(lambda: ldaps_ready(cfg), "Samba LDAPS on 127.0.10.1:636", timeout=90)
        return
    (cfg.ad_dir / "run").mkdir(parents=True, exist_ok=True)
    ensure_free(AD_ADDRESS, LDAPS_PORT, "samba")
    run(["samba", "-s", cfg.smb_conf, "-D"], "starting samba")
    report.say("waiting for LDAPS on 127.0.10.1:636")
    wait_for(
        lambda: ldaps_ready(cfg),
        "Samba LDAPS on 127.0.10.1:636",
        timeout=90,
        died=exited(pidfile(cfg), cfg.log_dir / "samba.log"),
    )
    report.did(f"started samba (AD DC) on {AD_ADDRESS}")


def stop(cfg: LabConfig, report: Report) -> None:
    if stop_pid(pidfile(cfg), timeout=15):
        report.did("stopped samba")


def _configure(cfg: LabConfig, report: Report) -> None:
    try:
        admin_password = cfg.admin_password_file.read_text().strip()
    except OSError as e:
        raise LabError(f"cannot read {cfg.admin_password_file}: {e.strerror}") from e
    try:
        conn = connect_as(cfg, "Administrator", admin_password)
    except ldap.LdapError as e:
        raise LabError(f"LDAPS bind as Administrator failed: {e}") from e
    try:
        admin_password = _rotate_admin_password(cfg, conn, admin_password, report)
        for dn in (PROJECTS_OU, SOFTWARE_OU):
            if not _exists(conn, dn):
                _check(conn, conn.add(dn, ["top", "organizationalUnit"]), f"creating {dn}")
                report.did(f"created {dn}")
        _ensure_service_account(cfg, conn, report)
    finally:
        conn.unbind()
    marker = cfg.ad_dir / ".svc-prov-delegated"
    if not marker.exists():
        sid = _sid_of(cfg, admin_password)
        run(
            [
                "samba-tool",
                "dsacl",
                "set",
                "-s",
                cfg.smb_conf,
                f"--objectdn={PROJECTS_OU}",
                "--action=allow",
                f"--sddl=(A;CI;GA;;;{sid})",
            ],
            "delegating OU=Projects to svc-prov",
        )
        marker.write_text(sid + "\n")
        report.did(f"delegated full control on {PROJECTS_OU} (only) to {SERVICE_ACCOUNT}")


def _ensure_service_account(cfg: LabConfig, conn: Connection, report: Report) -> None:
    password = None
    if cfg.bind_password_file.exists():
        password = cfg.bind_password_file.read_text().strip() or None
    if not _exists(conn, SVC_DN):
        password = new_password()
        write_secret(cfg.bind_password_file, password)
        ok = conn.add(
            SVC_DN,
            ["top", "person", "organizationalPerson", "user"],
            {
                "sAMAccountName": SERVICE_ACCOUNT,
                "userPrincipalName": f"{SERVICE_ACCOUNT}@{DNS_DOMAIN}",
                "description": "tre provisioning service account (lab)",
                "unicodePwd": f'"{password}"'.encode("utf-16-le"),
                "userAccountControl": str(UF_NORMAL_ACCOUNT | UF_DONT_EXPIRE_PASSWD),
            },
        )
        _check(conn, ok, f"creating {SVC_DN}")
        report.did(
            f"created the service account {SERVICE_ACCOUNT} (password in {cfg.bind_password_file})"
        )
        return
    if password and _can_bind(cfg, password):
        return
    password = new_password()
    write_secret(cfg.bind_password_file, password)
    ok = conn.modify(
        SVC_DN, {"unicodePwd": [("MODIFY_REPLACE", [f'"{password}"'.encode("utf-16-le")])]}
    )
    _check(conn, ok, f"resetting the password of {SERVICE_ACCOUNT}")
    report.did(f"reset the password of {SERVICE_ACCOUNT} (in {cfg.bind_password_file})")


def _can_bind(cfg: LabConfig, password: str) -> bool:
    try:
        connect_as(cfg, SERVICE_ACCOUNT, password).unbind()
        return True
    except ldap.LdapError:
        return False


def _rotate_admin_password(cfg: LabConfig, conn: Connection, password: str, report: Report) -> str:
    """Replace the provisioning password (it was on samba-tool's command line, visible in
    ``ps`` for a few seconds) by one that only ever lived in the root-only file."""
    marker = cfg.ad_dir / ".admin-password-rotated"
    if marker.exists():
        return password
    fresh = new_password()
    pending = cfg.admin_password_file.with_suffix(".new")
    write_secret(pending, fresh)  # kept before the change: the password is never lost
    ok = conn.modify(
        f"CN=Administrator,CN=Users,{BASE_DN}",
        {"unicodePwd": [("MODIFY_REPLACE", [f'"{fresh}"'.encode("utf-16-le")])]},
    )
    _check(conn, ok, "rotating the Administrator password")
    pending.replace(cfg.admin_password_file)
    marker.write_text("")
    report.did("rotated the Administrator password (only in the root-only file now)")
    return fresh


def _sid_of(cfg: LabConfig, admin_password: str) -> str:
    conn = connect_as(cfg, "Administrator", admin_password)
    try:
        conn.search(SVC_DN, "(objectClass=user)", BASE, attributes=["objectSid"])
        if not conn.entries:
            raise LabError(f"{SVC_DN} not found")
        return str(conn.entries[0].objectSid.value)
    finally:
        conn.unbind()


def _exists(conn: Connection, dn: str) -> bool:
    conn.search(dn, "(objectClass=*)", BASE, attributes=["distinguishedName"])
    return bool(conn.entries)


def _check(conn: Connection, ok: bool, what: str) -> None:
    if not ok:
        res = conn.result
        raise LabError(f"{what} failed: {res.get('description')} {res.get('message', '')}".strip())


__all__ = ["BASE_DN", "connect", "connect_as", "ensure", "ldaps_ready", "new_password", "stop"]
