"""The ``archives`` table of the state store: one row per project archive (docs/state.md).

Written by ``tre apply`` from what ``tre.secenv.tre_archive`` reported (or journaled, for a
killed run): ``copying`` (planned in this run) → ``copied`` (the bag is complete) →
``verified`` (read back against its manifest) → ``live-removed`` (the project's subvolume and
workspaces are gone; the project's status is then ``archived``). A failed verification keeps
the status and records ``verify_result: failed: ...``. Billing reads ``size_gb`` (the prepared
zips in ``archive/``, whole GB rounded up) and ``archived_on`` (the ``--today`` of the run
that wrote the bag); the retention and purge commands read the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .backend import Db

#: Migration 6 (``migrations.py``).
ARCHIVES_DDL = """
CREATE TABLE IF NOT EXISTS archives (
    project TEXT PRIMARY KEY, status TEXT NOT NULL, location TEXT NOT NULL,
    manifest_sha256 TEXT, files INTEGER, bytes BIGINT, size_gb INTEGER, archived_on TEXT,
    verified_at TEXT, verify_result TEXT, run_id TEXT NOT NULL, updated TEXT NOT NULL
);
"""

#: Columns a caller may set (``project``, ``run_id`` and ``updated`` are set by the store).
ARCHIVE_FIELDS = (
    "status",
    "location",
    "manifest_sha256",
    "files",
    "bytes",
    "size_gb",
    "archived_on",
    "verified_at",
    "verify_result",
)


class _Store(Protocol):
    def _tx(self) -> AbstractContextManager[Db]: ...

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]: ...


class ArchivesMixin:
    """Methods of ``StateStore`` on the ``archives`` table (a mixin: ``_tx``/``_read`` are
    the store's)."""

    def archive(self: _Store, project: str) -> dict[str, Any] | None:
        """The project's archive row, or None when it has none."""
        rows = self._read("SELECT * FROM archives WHERE project = ?", (project,))
        return dict(rows[0]) if rows else None

    def archives(self: _Store) -> list[dict[str, Any]]:
        """Every archive row, by project number."""
        rows = self._read("SELECT * FROM archives ORDER BY CAST(project AS INTEGER)")
        return [dict(r) for r in rows]

    def save_archive(self: _Store, project: str, run_id: str, at: str, **fields: Any) -> None:
        """Insert or update a project's archive row; only the given ``fields`` change."""
        unknown = set(fields) - set(ARCHIVE_FIELDS)
        if unknown:
            raise ValueError(f"unknown archive fields: {sorted(unknown)}")
        with self._tx() as db:
            row = db.execute("SELECT * FROM archives WHERE project = ?", (project,)).fetchone()
            merged = {k: row[k] for k in ARCHIVE_FIELDS} if row else {}
            merged.update(fields)
            merged.setdefault("status", "copying")
            merged.setdefault("location", "")
            values = [merged.get(k) for k in ARCHIVE_FIELDS]
            db.execute(
                f"INSERT INTO archives (project, {', '.join(ARCHIVE_FIELDS)}, run_id, updated)"
                f" VALUES ({', '.join('?' * (len(ARCHIVE_FIELDS) + 3))})"
                " ON CONFLICT(project) DO UPDATE SET "
                + ", ".join(f"{k}=excluded.{k}" for k in (*ARCHIVE_FIELDS, "run_id", "updated")),
                (project, *values, run_id, at),
            )


_TRACKED = {
    ("archive", "archive"),
    ("verify", "archive"),
    ("remove", "subvolume"),
    ("remove", "workspace"),
}


def _rows(changes: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for c in changes:
        if (c.get("op"), c.get("kind")) in _TRACKED and c.get("via") != "move":
            yield str(c["project"]), c  # a moved project's removals are no archive's


def archive_updates(
    changes: list[dict[str, Any]], verified: list[dict[str, Any]], today: str, now: str
) -> list[tuple[str, dict[str, Any]]]:
    """(project, fields) to save, in order, from a run's changes (or a killed run's journaled
    changes) and its verifications (``archive_verified``; a failed one is not a change, but
    the module journals it as one, ``{op: verify, result: "failed: ..."}``, which a killed
    run's recovery passes here among the changes).
    ``now``: the time of a verification whose own time is not known (journaled)."""
    times = {str(v["project"]): v.get("at") for v in verified if v.get("result") == "ok"}
    updates: list[tuple[str, dict[str, Any]]] = []
    for project, c in _rows(changes):
        after = c.get("after") or {}
        if c["op"] == "archive":
            updates.append(
                (
                    project,
                    {
                        "status": "copied",
                        "location": c.get("path") or "",
                        "files": after.get("files"),
                        "bytes": after.get("bytes"),
                        "size_gb": after.get("size_gb"),
                        "archived_on": today,
                    },
                )
            )
        elif c["op"] == "verify" and str(c.get("result") or "ok") != "ok":
            # a failed verification the module journaled (recovered from a killed run)
            updates.append((project, {"verify_result": c["result"], "verified_at": c.get("at")}))
        elif c["op"] == "verify":
            fields = {k: after.get(k) for k in ("location", "manifest_sha256", "files", "bytes")}
            fields.update(size_gb=after.get("size_gb"), status="verified", verify_result="ok")
            fields["verified_at"] = times.get(project) or now
            if after.get("archived_on"):
                fields["archived_on"] = after["archived_on"]
            updates.append((project, {k: v for k, v in fields.items() if v is not None}))
        else:
            updates.append((project, {"status": "live-removed"}))
    for v in verified:
        if v.get("result") != "ok":
            updates.append(
                (str(v["project"]), {"verify_result": v["result"], "verified_at": v.get("at")})
            )
    return updates
