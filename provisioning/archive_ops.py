"""Archives after the project: list, verify, object, withdraw (docs/retention.md).

``views`` joins each archive row with its project's last applied contract and the purge
notices sent; ``verify`` reads archives back on the archive host (``playbooks/archive.yml``,
module ``tre.secenv.tre_archive_verify``) and records each result in the state store and the
ledger; ``object``/``withdraw`` record an objection to a purge. The rules are pure
(``provisioning.retention``).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .errors import ProvisioningError, RunError
from .ids import PROJECT_RE
from .retention import ARCHIVED, NOTICE_JOB, ArchiveView, running_reopens, view
from .runner import new_run_id, run_read
from .state import StateStore

PLAYBOOK = "archive.yml"


class ArchiveStateError(ProvisioningError, ValueError):
    """An archive command names a project without a fitting archive: one line."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def views(store: StateStore) -> list[ArchiveView]:
    contracts = store.applied_contracts()
    notices = store.job_records(NOTICE_JOB)
    return [view(r, contracts.get(r["project"]), notices) for r in store.archives()]


def reopened(store: StateStore, today: date) -> dict[str, str]:
    """Archived project → the reopened project running on ``today`` (its ``reopens``)."""
    return running_reopens(list(store.applied_contracts().values()), today)


def _archived_row(store: StateStore, project: str) -> dict[str, Any]:
    if not PROJECT_RE.fullmatch(project):
        raise ArchiveStateError(f"not a project number: {project[:20]!r}")
    row = store.archive(project)
    if row is None:
        raise ArchiveStateError(f"project {project} has no archive in the state store")
    if row["status"] != ARCHIVED:
        raise ArchiveStateError(
            f"the archive of project {project} is {row['status']}, not archived"
        )
    return row


def verify(
    inventory: Path, store: StateStore, projects: list[str], today: date, who: str
) -> list[dict[str, Any]]:
    """Read the archives of ``projects`` back on the archive host(s) and record each result
    (``ok`` or ``failed: <one line>``): the row's ``verified_on``/``verify_result`` and one
    ledger entry ``op verify``. A manifest whose SHA-256 is not the recorded one fails."""
    rows = {p: _archived_row(store, p) for p in projects}
    if not rows:
        return []
    with tempfile.TemporaryDirectory(prefix="tre-verify-") as tmp:
        extravars = {"tre_archive_verify_projects": sorted(rows, key=int)}
        result = run_read(inventory, PLAYBOOK, extravars, Path(tmp))
    if not result.ok:
        why = result.failures[0] if result.failures else result.status
        raise RunError(f"verifying archives failed: {why}")
    found = _by_project(result.archive_verified)
    run_id = f"verify-{new_run_id()}"
    out = []
    for project, row in sorted(rows.items(), key=lambda kv: int(kv[0])):
        v = found.get(project) or {"result": "failed: no archive host reported it"}
        recorded = row.get("manifest_sha256")
        if v["result"] == "ok" and recorded and v.get("manifest_sha256") != recorded:
            v = dict(v, result="failed: the manifest's SHA-256 is not the recorded one")
        detail = {k: v.get(k) for k in ("files", "bytes", "manifest_sha256", "first_failure")}
        detail.update(host=v.get("host"), verified_on=today.isoformat())
        store.record_verification(
            project, v["result"], today.isoformat(), v.get("at") or now(), who, run_id, detail
        )
        out.append(dict(v, project=project))
    return out


def _by_project(verified: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One result per project over all archive hosts: the host that has the archive (a host
    without it reports it missing)."""
    out: dict[str, dict[str, Any]] = {}
    for v in verified:
        p = str(v["project"])
        missing = v["result"].endswith(" is missing")
        if p not in out or (out[p]["result"].endswith(" is missing") and not missing):
            out[p] = v
    return out


def object_to_purge(
    store: StateStore, project: str, until: date, reason: str, today: date, who: str
) -> None:
    row = _archived_row(store, project)
    reason = " ".join(reason.split())
    if not reason:
        raise ArchiveStateError("an objection needs a reason (--reason TEXT)")
    if until < today:
        raise ArchiveStateError(f"--until {until} is before --today {today}")
    if row.get("objection_by"):
        raise ArchiveStateError(
            f"project {project} already has an objection until {row['objection_until']};"
            " withdraw it first"
        )
    store.object_to_purge(project, who, now(), until.isoformat(), reason, f"object-{new_run_id()}")


def withdraw(store: StateStore, project: str, who: str) -> None:
    row = _archived_row(store, project)
    if not row.get("objection_by"):
        raise ArchiveStateError(f"project {project} has no objection to withdraw")
    store.withdraw_objection(project, who, now(), f"withdraw-{new_run_id()}")
