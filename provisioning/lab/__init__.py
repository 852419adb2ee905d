"""The lab: a real secure environment on this machine (Samba AD DC, btrfs with quotas, SMTP,
an SFTP gateway, an archive host reached over SFTP, PostgreSQL for a team's state store) and
the Ansible inventory describing it. ``up`` / ``down`` / ``status``.

Every server binds to its own 127.0.10.x address; nothing leaves loopback.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from provisioning.errors import LabError

from . import (
    ad,
    archive_host,
    inventory_writer,
    packages,
    postgres,
    sftp,
    smtp,
    storage,
    tre_config,
)
from .config import LabConfig
from .proc import Report
from .status import Check, checks

__all__ = ["Check", "LabConfig", "Report", "down", "status", "up"]


#: root's tools (losetup, samba, sshd, useradd): cron's PATH is only /usr/bin:/bin
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "the lab must run as root (it runs Samba, mounts a file system and adds a system "
            "user): try `sudo tre lab up`"
        )
    path = os.environ.get("PATH", os.defpath).split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join([*path, *(d for d in SBIN if d not in path)])


@contextmanager
def _locked(cfg: LabConfig) -> Iterator[None]:
    """One `up`/`down` at a time per lab (test sessions may start in parallel)."""
    # in /run/lock (tmpfs): not part of the lab, so `down` leaves nothing behind on disk
    name = hashlib.sha256(str(cfg.lab_dir).encode()).hexdigest()[:12]
    lock_path = Path("/run/lock") / f"tre-lab-{name}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        except OSError as e:  # a file-system surprise: one line, not a traceback
            where = f"{e.filename}: " if e.filename else ""
            raise LabError(f"{where}{e.strerror or e}") from e


def up(
    cfg: LabConfig | None = None,
    *,
    reset: bool = False,
    echo: Callable[[str], None] | None = None,
) -> Report:
    """Bring the lab up, or repair what is missing; the report lists what was done."""
    cfg = cfg or LabConfig.from_env()
    _require_root()
    report = Report(echo=echo)
    with _locked(cfg):
        if reset:
            _down(cfg, report)
        packages.ensure(report)
        cfg.lab_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(cfg.lab_dir, 0o755)  # the gateway user must traverse to its home
        recorded = LabConfig.load_recorded(cfg.lab_dir)
        if recorded is not None and recorded.mount != cfg.mount:
            raise LabError(
                f"the lab in {cfg.lab_dir} is mounted at {recorded.mount}, not {cfg.mount}: "
                "use `tre lab up --reset` to move it"
            )
        if recorded != cfg:
            cfg.save()
        for d in (cfg.log_dir, cfg.run_dir):
            d.mkdir(exist_ok=True)
        ad.ensure(cfg, report)
        storage.ensure(cfg, report)
        smtp.ensure(cfg, report)
        sftp.ensure(cfg, report)
        archive_host.ensure(cfg, report)
        postgres.ensure(cfg, report)
        inventory_writer.write(cfg, report)
        tre_config.write(cfg, report)
    return report


def down(cfg: LabConfig | None = None, *, echo: Callable[[str], None] | None = None) -> Report:
    """Stop everything and remove the lab completely (processes, mount, loop device, files,
    the lab directory, the inventory and the config file it wrote, the gateway user)."""
    cfg = cfg or LabConfig.from_env()
    _require_root()
    report = Report(echo=echo)
    with _locked(cfg):
        _down(cfg, report)
    return report


def _down(cfg: LabConfig, report: Report) -> None:
    recorded = LabConfig.load_recorded(cfg.lab_dir)
    if recorded is not None:
        cfg = recorded  # remove what `up` made, wherever that was
    if cfg.lab_dir.exists() and not _is_lab_dir(cfg.lab_dir):
        raise LabError(f"{cfg.lab_dir} holds files the lab did not make: not removing it")
    smtp.teardown(cfg, report)
    sftp.teardown(cfg, report)
    archive_host.teardown(cfg, report)
    postgres.teardown(cfg, report)
    ad.stop(cfg, report)
    storage.teardown(cfg, report)
    tre_config.remove(report)
    if _is_lab_inventory(cfg.inventory_dir):
        shutil.rmtree(cfg.inventory_dir)
        report.did(f"removed the inventory {cfg.inventory_dir}")
    if cfg.lab_dir.exists():
        shutil.rmtree(cfg.lab_dir)
        report.did(f"removed {cfg.lab_dir}")


LAB_ENTRIES = {
    *("ad", "ca", "secrets", "log", "run", "mail", "sshd", "ossc", "fs.img", "lab.json"),
    "postgres",  # the lab's PostgreSQL cluster (postgres.py)
    "archive-sshd",  # the archive host's sshd (archive_host.py)
    "inventory",  # the inventory's default place (config.INVENTORY_NAME)
}


def _is_lab_dir(lab_dir: Path) -> bool:
    """Only what `up` makes: a safety net against `down --lab-dir /` and the like."""
    return lab_dir.is_dir() and all(p.name in LAB_ENTRIES for p in lab_dir.iterdir())


def _is_lab_inventory(inv_dir: Path) -> bool:
    try:
        return (inv_dir / "hosts.yml").read_text().startswith(inventory_writer.HEADER)
    except OSError:
        return False


def status(cfg: LabConfig | None = None) -> list[Check]:
    """Check every part for real; a part is down when its check fails."""
    cfg = cfg or LabConfig.from_env()
    _require_root()  # the checks read root-only secrets
    recorded = LabConfig.load_recorded(cfg.lab_dir)
    # an inventory named by flag, environment or config that holds none: trust what `up`
    # recorded
    if (
        recorded is not None
        and recorded.inventory_dir != cfg.inventory_dir
        and not (cfg.inventory_dir / "hosts.yml").exists()
    ):
        cfg = recorded
    return checks(cfg)
