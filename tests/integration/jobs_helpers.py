"""Helpers of the jobs lab tests: a policy with MB sizes, real writes into quotas, the lab's
maildir read back (only the files a test's run added, only the test's own addresses)."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from provisioning.policy import DEFAULT_POLICY


def small_policy(path: Path, project_mb: int = 20, workspace_mb: int = 8) -> Path:
    """The shipped policy with quotas in MB (project, workspace) and a 10MB storage step."""
    policy = yaml.safe_load(DEFAULT_POLICY.read_text())
    policy["project_quota"] = f"{project_mb}MB"
    policy["workspace_quota"] = f"{workspace_mb}MB"
    policy["storage_steps"] = [
        {"size": "10MB", "monthly": 26, "min_months": 1},
        {"size": "1TB", "monthly": 128, "min_months": 6},
    ]
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return path


def fill(directory: Path, name: str, mb: float) -> None:
    """Write ``mb`` MB of incompressible data into ``directory/name`` and let btrfs count it."""
    target = directory / name
    with open(target, "wb") as f:
        f.write(os.urandom(int(mb * 1024**2)))
        f.flush()
        os.fsync(f.fileno())
    subprocess.run(["btrfs", "filesystem", "sync", str(directory)], check=True)


def remove(directory: Path, name: str) -> None:
    (directory / name).unlink()
    subprocess.run(["btrfs", "filesystem", "sync", str(directory)], check=True)


class Maildir:
    """The lab SMTP server's maildir; ``new_mails`` reads only files added since ``mark``."""

    def __init__(self, path: Path, domain: str) -> None:
        self.path, self.domain = path, domain
        self.seen: set[str] = set()
        self.mark()

    def _files(self) -> set[str]:
        return {f"{sub}/{p.name}" for sub in ("new", "cur") for p in (self.path / sub).iterdir()}

    def mark(self) -> None:
        self.seen = self._files()

    def new_mails(self) -> list[dict[str, Any]]:
        """Mails to this test's domain added since the last ``mark`` (then marks again)."""
        out = []
        added = sorted(self._files() - self.seen)
        for name in added:
            msg = email.message_from_bytes(
                (self.path / name).read_bytes(), policy=email.policy.default
            )
            if not str(msg["To"]).endswith("@" + self.domain):
                continue
            out.append(
                {
                    "to": str(msg["To"]),
                    "subject": str(msg["Subject"]),
                    "auto": str(msg["Auto-Submitted"]),
                    "message_id": str(msg["Message-ID"]),
                    "date": str(msg["Date"]),
                    "body": msg.get_content(),
                }
            )
        self.seen |= set(added)
        return out


def days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
