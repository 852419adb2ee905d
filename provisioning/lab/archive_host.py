"""The archive host (group ``archive``): a separate sshd on 127.0.10.6:2222 (own config, host
key and pidfile), key authentication only, SFTP only, for the system user ``tre-archive``.

The account is confined by ``ChrootDirectory <mount>/archive-host`` (root-owned, 0755, holding
nothing but ``archive/``) and ``ForceCommand internal-sftp -d /archive -u 0077``: over SFTP it
sees the archive root as ``/archive`` and nothing outside it. On disk the archive root is
``<mount>/archive-host/archive``, owned by ``tre-archive`` and 0700: the path the inventory
gives as ``tre_archive_root`` (modules running on ``lab-archive`` itself read it locally, as
root) is the directory the SFTP account writes into.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from provisioning.errors import LabError

from .config import ARCHIVE_ADDRESS, ARCHIVE_PORT, ARCHIVE_SFTP_ROOT, ARCHIVE_USER, LabConfig
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
from .sftp import SSHD, _keygen, sftp_login, sftp_only_config

ROOT_MODE = 0o700
CHROOT_MODE = 0o755


def pidfile(cfg: LabConfig) -> Path:
    return cfg.archive_sshd_dir / "sshd.pid"


def host_key(cfg: LabConfig) -> Path:
    return cfg.archive_sshd_dir / "ssh_host_ed25519_key"


def log_file(cfg: LabConfig) -> Path:
    return cfg.log_dir / "archive-sshd.log"


def sshd_config(cfg: LabConfig) -> str:
    return sftp_only_config(
        "archive host",
        f"{ARCHIVE_ADDRESS}:{ARCHIVE_PORT}",
        host_key(cfg),
        pidfile(cfg),
        cfg.archive_sshd_dir,
        ARCHIVE_USER,
        f"ChrootDirectory {cfg.archive_chroot}\n"
        f"ForceCommand internal-sftp -d {ARCHIVE_SFTP_ROOT} -u 0077",
    )


def _user(cfg: LabConfig, report: Report) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(ARCHIVE_USER)
    except KeyError:
        pass
    run(
        ["useradd", "--system", "--home-dir", cfg.archive_chroot, "--no-create-home",
         "--shell", "/usr/sbin/nologin", "--comment", "tre lab archive host", ARCHIVE_USER],
        f"creating the user {ARCHIVE_USER}",
    )  # fmt: skip
    # '*' (no password) rather than useradd's '!' (locked): sshd refuses locked accounts
    run(["usermod", "-p", "*", ARCHIVE_USER], f"unlocking {ARCHIVE_USER} for key login")
    report.did(f"created the system user {ARCHIVE_USER}")
    return pwd.getpwnam(ARCHIVE_USER)


def check_layout(cfg: LabConfig) -> None:
    """The chroot root-owned 0755 (sshd's rule), the archive root the account's and 0700."""
    chroot, root = cfg.archive_chroot.lstat(), cfg.archive_root.lstat()
    if not stat.S_ISDIR(chroot.st_mode) or chroot.st_uid != 0 or chroot.st_mode & 0o022:
        raise LabError(f"{cfg.archive_chroot} must be a root-owned directory, not writable")
    user = pwd.getpwnam(ARCHIVE_USER)
    if not stat.S_ISDIR(root.st_mode) or root.st_uid != user.pw_uid:
        raise LabError(f"{cfg.archive_root} must be a directory owned by {ARCHIVE_USER}")
    if stat.S_IMODE(root.st_mode) != ROOT_MODE:
        raise LabError(f"{cfg.archive_root} is {stat.S_IMODE(root.st_mode):04o}, not 0700")
    extra = sorted(p.name for p in cfg.archive_chroot.iterdir() if p != cfg.archive_root)
    if extra:
        raise LabError(f"{cfg.archive_chroot} holds more than the archive root: {extra[0]}")


def ensure(cfg: LabConfig, report: Report) -> None:
    user = _user(cfg, report)
    cfg.archive_chroot.mkdir(exist_ok=True)
    os.chown(cfg.archive_chroot, 0, 0)
    os.chmod(cfg.archive_chroot, CHROOT_MODE)
    if not cfg.archive_root.is_dir():
        cfg.archive_root.mkdir()
        report.did(f"created the archive root {cfg.archive_root}")
    os.chown(cfg.archive_root, user.pw_uid, user.pw_gid)
    os.chmod(cfg.archive_root, ROOT_MODE)
    for d in (cfg.archive_sshd_dir, cfg.archive_sshd_dir / "authorized_keys"):
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, 0, 0)
        os.chmod(d, 0o755)
    if not host_key(cfg).exists():
        _keygen(host_key(cfg), "tre-lab-archive-host")
        report.did(f"created the archive host key {host_key(cfg)}")
    if not cfg.archive_key_file.exists():
        cfg.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _keygen(cfg.archive_key_file, "tre-fileserver@lab")
        report.did(f"created the client key {cfg.archive_key_file}")
    os.chmod(cfg.archive_key_file, 0o600)
    pub = Path(str(cfg.archive_key_file) + ".pub").read_text().strip()
    changed = write_if_changed(
        cfg.archive_sshd_dir / "authorized_keys" / ARCHIVE_USER, f"restrict {pub}\n", 0o644
    )
    changed |= write_if_changed(cfg.archive_sshd_dir / "sshd_config", sshd_config(cfg), 0o644)
    running = read_pid(pidfile(cfg)) is not None
    if running and not changed and port_open(ARCHIVE_ADDRESS, ARCHIVE_PORT):
        return
    if running:
        stop_pid(pidfile(cfg))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
    conf = cfg.archive_sshd_dir / "sshd_config"
    run([SSHD, "-t", "-f", conf], "checking the archive host's sshd_config")
    ensure_free(ARCHIVE_ADDRESS, ARCHIVE_PORT, "the archive host sshd")
    cfg.log_dir.mkdir(parents=True, exist_ok=True)
    run([SSHD, "-f", conf, "-E", log_file(cfg)], "starting the archive host's sshd")
    wait_for(lambda: port_open(ARCHIVE_ADDRESS, ARCHIVE_PORT),
             f"the archive host on {ARCHIVE_ADDRESS}:{ARCHIVE_PORT}", timeout=15,
             died=exited(pidfile(cfg), log_file(cfg)))  # fmt: skip
    report.did(f"started the archive host sshd on {ARCHIVE_ADDRESS}:{ARCHIVE_PORT}")


def teardown(cfg: LabConfig, report: Report) -> None:
    if stop_pid(pidfile(cfg)):
        report.did("stopped the archive host sshd")
    try:
        pwd.getpwnam(ARCHIVE_USER)
    except KeyError:
        return
    run(["userdel", ARCHIVE_USER], f"removing the user {ARCHIVE_USER}")
    report.did(f"removed the system user {ARCHIVE_USER}")


def known_hosts_line(cfg: LabConfig) -> str | None:
    pub = Path(str(host_key(cfg)) + ".pub")
    if not pub.exists():
        return None
    key_type, key = pub.read_text().split()[:2]
    return f"[{ARCHIVE_ADDRESS}]:{ARCHIVE_PORT} {key_type} {key}\n"


def check(cfg: LabConfig) -> str:
    """Log in as the archive account the way the file server does, list the root, and check
    the layout on disk (chroot, owner, 0700)."""
    check_layout(cfg)
    with sftp_login(cfg, ARCHIVE_ADDRESS, ARCHIVE_PORT, ARCHIVE_USER, cfg.archive_key_file) as sftp:
        bags = [n for n in sftp.listdir(ARCHIVE_SFTP_ROOT) if n.startswith("P")]
        if sftp.listdir("/") != [ARCHIVE_SFTP_ROOT.lstrip("/")]:
            raise LabError(f"{ARCHIVE_USER} sees more than {ARCHIVE_SFTP_ROOT}")
    return (
        f"SFTP login as {ARCHIVE_USER} on {ARCHIVE_ADDRESS}:{ARCHIVE_PORT}, chrooted to"
        f" {cfg.archive_chroot}, {ARCHIVE_SFTP_ROOT} = {cfg.archive_root} (0700), {len(bags)} bags"
    )
