"""The archive's record in the state store, from what ``tre.secenv.tre_archive`` reported.

``tre apply`` calls these around the run (``orchestrate``): ``mark_copying`` before it (the
plan's archive steps), ``record_archives`` after it and after recovering a killed run's
journal. The archive itself is judged from the disks by the module, never from this record;
the record is for people, billing (``size_gb``, ``archived_on``) and the purge.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .state import LedgerEntry, StateStore
from .state_archives import archive_updates


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def mark_copying(store: StateStore, run_id: str, planned: list[dict[str, Any]]) -> None:
    """Rows ``copying`` for the projects whose archive this run is about to write."""
    for c in planned:
        if c.get("op") == "archive" and c.get("kind") == "archive":
            row = store.archive(str(c["project"]))
            if row is None or row["status"] in ("copying", "copied"):
                store.save_archive(
                    str(c["project"]), run_id, _now(), status="copying", location=c.get("path")
                )


def record_archives(
    store: StateStore,
    run_id: str,
    who: str,
    today: str,
    changes: list[dict[str, Any]],
    verified: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> None:
    """Update the archive rows; a failed verification also gets a ledger entry (it changed
    nothing, but the audit must show it was tried and why it failed)."""
    now = _now()
    store.record(
        [
            LedgerEntry(
                v.get("at") or now,
                who,
                run_id,
                str(v["project"]),
                v.get("host"),
                "verify",
                "archive",
                f"P{v['project']}",
                {"result": v["result"]},
            )
            for v in verified
            if v.get("result") != "ok"
        ]
    )
    for project, fields in archive_updates(changes, list(verified), today, now):
        if store.archive(project) is None and "location" not in fields:
            fields = dict(fields, location="")
        store.save_archive(project, run_id, now, **fields)


def archived(store: StateStore, project: str) -> dict[str, Any] | None:
    """The archive row when the project's live data is gone (status ``archived``)."""
    row = store.archive(project)
    return row if row and row["status"] == "live-removed" else None
