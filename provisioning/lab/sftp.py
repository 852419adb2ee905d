"""The OSSC gateway: a separate sshd on 127.0.10.3:2222 (own config, host key and pidfile),
key authentication only, SFTP only, for the system user ``tre-ossc`` with an ``inbox``."""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import OSSC_ADDRESS, OSSC_INBOX, OSSC_PORT, OSSC_USER, LabConfig
from .proc import (
    Report,
    ensure_free,
    exited,
    port_open,
    read_pid,
    run,
    stop_pid,
    wait_for,
    write_if_changed,
)

SSHD = "/usr/sbin/sshd"


def pidfile(cfg: LabConfig) -> Path:
    return cfg.sshd_dir / "sshd.pid"


def host_key(cfg: LabConfig) -> Path:
    return cfg.sshd_dir / "ssh_host_ed25519_key"


def sftp_only_config(
    title: str,
    listen: str,
    host_key: Path,
    pidfile: Path,
    keys_dir: Path,
    user: str,
    confinement: str = "ForceCommand internal-sftp",
) -> str:
    """An sshd of the lab's own (not the system's): key login only, SFTP only, one user, no
    forwarding of any kind. ``confinement``: the last lines (ForceCommand, ChrootDirectory)."""
    return f"""# tre lab {title} (written by `tre lab up`; not the system's sshd)
ListenAddress {listen}
HostKey {host_key}
PidFile {pidfile}
AuthorizedKeysFile {keys_dir}/authorized_keys/%u
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitRootLogin no
UsePAM no
StrictModes yes
AllowTcpForwarding no
AllowAgentForwarding no
AllowStreamLocalForwarding no
X11Forwarding no
PermitTunnel no
PermitTTY no
Subsystem sftp internal-sftp
{confinement}
LogLevel INFO
"""


@contextmanager
def sftp_login(cfg: LabConfig, address: str, port: int, user: str, key: Path) -> Iterator[Any]:
    """An SFTP session as the file server opens one: the lab's known_hosts only, the key."""
    import paramiko

    client = paramiko.SSHClient()
    client.load_host_keys(str(cfg.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            address,
            port=port,
            username=user,
            key_filename=str(key),
            look_for_keys=False,
            allow_agent=False,
            timeout=5,
            banner_timeout=5,
            auth_timeout=5,
        )
        with client.open_sftp() as sftp:
            yield sftp
    finally:
        client.close()


def sshd_config(cfg: LabConfig) -> str:
    return sftp_only_config(
        "OSSC gateway",
        f"{OSSC_ADDRESS}:{OSSC_PORT}",
        host_key(cfg),
        pidfile(cfg),
        cfg.sshd_dir,
        OSSC_USER,
    )


def _user(cfg: LabConfig, report: Report) -> pwd.struct_passwd:
    try:
        entry = pwd.getpwnam(OSSC_USER)
    except KeyError:
        run(
            ["useradd", "--system", "--home-dir", cfg.ossc_home, "--no-create-home",
             "--shell", "/usr/sbin/nologin", "--comment", "tre lab OSSC gateway", OSSC_USER],
            f"creating the user {OSSC_USER}",
        )  # fmt: skip
        # '*' (no password) rather than useradd's '!' (locked): sshd refuses locked accounts
        run(["usermod", "-p", "*", OSSC_USER], f"unlocking {OSSC_USER} for key login")
        report.did(f"created the system user {OSSC_USER} (home {cfg.ossc_home})")
        return pwd.getpwnam(OSSC_USER)
    if Path(entry.pw_dir) != cfg.ossc_home:
        run(["usermod", "-d", cfg.ossc_home, OSSC_USER], f"moving {OSSC_USER}'s home")
        report.did(f"set {OSSC_USER}'s home to {cfg.ossc_home}")
    return entry


def _keygen(path: Path, comment: str) -> None:
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
        f"ssh-keygen {path.name}")  # fmt: skip


def ensure(cfg: LabConfig, report: Report) -> None:
    user = _user(cfg, report)
    for d, mode, owner in (
        (cfg.ossc_home, 0o750, user.pw_uid),
        (cfg.ossc_home / OSSC_INBOX, 0o750, user.pw_uid),
        (cfg.sshd_dir, 0o755, 0),
        (cfg.sshd_dir / "authorized_keys", 0o755, 0),
    ):
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, owner, user.pw_gid if owner else 0)
        os.chmod(d, mode)
    if not host_key(cfg).exists():
        _keygen(host_key(cfg), "tre-lab-ossc-gateway")
        report.did(f"created the gateway host key {host_key(cfg)}")
    if not cfg.ossc_key_file.exists():
        cfg.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _keygen(cfg.ossc_key_file, "tre@lab")
        report.did(f"created the client key {cfg.ossc_key_file}")
    os.chmod(cfg.ossc_key_file, 0o600)
    pub = Path(str(cfg.ossc_key_file) + ".pub").read_text().strip()
    changed = write_if_changed(
        cfg.sshd_dir / "authorized_keys" / OSSC_USER, f"restrict {pub}\n", 0o644
    )
    changed |= write_if_changed(cfg.sshd_dir / "sshd_config", sshd_config(cfg), 0o644)
    running = read_pid(pidfile(cfg)) is not None
    if running and not changed and port_open(OSSC_ADDRESS, OSSC_PORT):
        return
    if running:
        stop_pid(pidfile(cfg))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
    conf = cfg.sshd_dir / "sshd_config"
    run([SSHD, "-t", "-f", conf], "checking the gateway's sshd_config")
    ensure_free(OSSC_ADDRESS, OSSC_PORT, "the OSSC gateway sshd")
    cfg.log_dir.mkdir(parents=True, exist_ok=True)
    run([SSHD, "-f", conf, "-E", cfg.log_dir / "sshd.log"], "starting the gateway's sshd")
    wait_for(lambda: port_open(OSSC_ADDRESS, OSSC_PORT),
             f"the OSSC gateway on {OSSC_ADDRESS}:{OSSC_PORT}", timeout=15,
             died=exited(pidfile(cfg), cfg.log_dir / "sshd.log"))  # fmt: skip
    report.did(f"started the OSSC gateway sshd on {OSSC_ADDRESS}:{OSSC_PORT}")


def teardown(cfg: LabConfig, report: Report) -> None:
    if stop_pid(pidfile(cfg)):
        report.did("stopped the OSSC gateway sshd")
    try:
        entry = pwd.getpwnam(OSSC_USER)
    except KeyError:
        return
    if Path(entry.pw_dir) != cfg.ossc_home:
        report.say(f"left the user {OSSC_USER} alone: it belongs to another lab ({entry.pw_dir})")
        return
    run(["userdel", OSSC_USER], f"removing the user {OSSC_USER}")
    report.did(f"removed the system user {OSSC_USER}")
    if cfg.ossc_home.exists():
        shutil.rmtree(cfg.ossc_home)
