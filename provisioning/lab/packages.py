"""Install the Debian packages the lab needs, only those missing (fast when all are present)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from provisioning.errors import LabError

from .proc import Report, last_line, run

PACKAGES = (
    "samba",
    "samba-ad-dc",
    "samba-ad-provision",  # a Recommends of samba-ad-dc, needed by `domain provision`
    "krb5-user",
    "winbind",
    "smbclient",
    "ldb-tools",
    "btrfs-progs",
    "acl",
    "attr",
    "openssh-server",
    "postgresql-15",  # the lab's PostgreSQL state store (its own cluster: lab/postgres.py)
)


def missing(packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """Packages not installed, by one ``dpkg-query`` call."""
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *packages],
        capture_output=True,
        text=True,
        check=False,
    )
    installed = {
        line.split()[0] for line in proc.stdout.splitlines() if line.split()[1:] == ["installed"]
    }
    return [p for p in packages if p not in installed]


def ensure(report: Report) -> None:
    """Install what is missing with apt-get, saying what it installs."""
    try:
        todo = missing()
    except FileNotFoundError as e:
        raise LabError("the lab needs a Debian-based machine (dpkg-query not found)") from e
    if not todo:
        return
    report.say(f"installing Debian packages: {' '.join(todo)} (about 1-2 minutes)")
    env_cmd = ["env", "DEBIAN_FRONTEND=noninteractive"]
    run([*env_cmd, "apt-get", "update", "-q"], "apt-get update", timeout=600)
    # policy-rc.d 101: Debian must not start the system-wide samba/sshd on all addresses while
    # installing; the lab runs its own copies on loopback addresses.
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        proc = run(
            [*env_cmd, "apt-get", "install", "-y", "-q", "--no-install-recommends", *todo],
            "apt-get install",
            check=False,
            timeout=1200,
        )
    finally:
        if own_policy:
            policy.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise LabError(f"apt-get install {' '.join(todo)} failed: {last_line(proc.stderr)}")
    # and they must not start at the next boot either (the system's sshd is left alone)
    if shutil.which("systemctl"):
        for unit in ("samba-ad-dc", "smbd", "nmbd", "winbind", "postgresql"):
            subprocess.run(["systemctl", "disable", unit], capture_output=True, check=False)
    report.did(f"installed Debian packages: {' '.join(todo)}")
