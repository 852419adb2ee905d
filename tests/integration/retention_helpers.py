"""Shared set-up of the retention lab tests (projects 8250-8299): archives made by the bag
writer in the lab's archive root with their state rows (a project applied and ended, without
the cost of a real apply), the notice and verification records a purge needs, clean-up."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ansible_collections.tre.secenv.plugins.module_utils import tre_archive_bag as bag_mod

from provisioning.retention import due_on
from provisioning.state import StateStore
from tests.bag_fixtures import make_bag, manifest_sha256
from tests.bag_fixtures import remove as remove_bag
from tests.integration.helpers import clean_project

END = "2027-01-31"
DUE = "2032-01-31"  # END + 5 years


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def clean(v: dict[str, Any], projects: list[str]) -> None:
    for p in projects:
        clean_project(v, p)
        remove_bag(Path(v["tre_archive_root"]), p)


def seed(store: StateStore, archive_root: Path, project: str, lead_email: str) -> Path:
    """An archived project as `tre apply` leaves it (revision, archive row ``live-removed``)
    with its bag written by tre_archive's bag writer."""
    bag = make_bag(archive_root, project, {
        "archive/export.zip": os.urandom(50_000), "OtherData/readme.txt": b"seeded\n"})  # fmt: skip
    contract = {
        "project": project, "title": f"Retention test {project}", "status": "approved",
        "institution": {"name": "Universiteit Utrecht", "authorization_until": "2028-06-30"},
        "start": "2026-02-01", "end": END, "retention_years": 5, "lead": "jdevries",
        "researchers": [{"id": "jdevries", "name": "Jan de Vries", "email": lead_email,
                         "language": "nl"}],
    }  # fmt: skip
    summary = {k: contract[k] for k in ("project", "title", "start", "end", "retention_years")}
    store.save_revision(dict(summary, status="ended", status_on="2027-02-01"), f"seed{project}",
                        "seed", "seed", contract)  # fmt: skip
    found = bag_mod.verify(str(archive_root), project)
    store.save_archive(
        project, "seed", now(), status="live-removed", location=str(bag),
        manifest_sha256=manifest_sha256(bag), files=found.files, bytes=found.bytes,
        size_gb=found.size_gb, archived_on="2027-02-01",
    )  # fmt: skip
    store.set_retention(project, 5, due_on(date.fromisoformat(END), 5).isoformat(), now())
    return bag


def make_eligible(store: StateStore, project: str, on: str = "2032-01-01") -> None:
    """The 30-day notice sent and a passing verification, as the jobs record them."""
    store.record_job("purge-notices", [(project, f"{DUE}/30d", f"sent {on} 2")], now())
    store.record_verification(project, "ok", on, now(), "test", "seed", {})


def flip_first_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))


def remove_tree(path: Path) -> None:
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
