"""The audit ledger's hash chain: every row carries ``prev_sha256`` and ``sha256``.

``sha256`` is SHA-256 over the canonical serialisation of the row's own content and
``prev_sha256`` (the previous row's ``sha256``; the first row's is 64 zeros): a JSON array,
no spaces, UTF-8, in the column order of :data:`CONTENT`, ``detail`` as the stored JSON text.
The row id is not part of it: the order is the chain's. An edited row no longer matches its
``sha256``, a deleted one breaks the next row's link, an inserted one breaks both (docs/state.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .backend import POSTGRESQL, Db

GENESIS = "0" * 64
#: The columns a row's hash covers, in this order.
CONTENT = ("at", "actor", "run_id", "project", "host", "op", "kind", "name", "detail")


def entry_hash(content: Sequence[Any], prev: str) -> str:
    """SHA-256 (hex) of ``[*content, prev]`` as compact UTF-8 JSON."""
    text = json.dumps([*content, prev], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def row_hash(row: Mapping[str, Any], prev: str) -> str:
    return entry_hash([row[c] for c in CONTENT], prev)


def head(db: Db) -> str:
    """The last row's ``sha256`` (GENESIS for an empty ledger); the caller holds the write
    lock (SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL :func:`lock_for_append`)."""
    row = db.execute("SELECT sha256 FROM ledger ORDER BY id DESC LIMIT 1").fetchone()
    return row["sha256"] if row and row["sha256"] else GENESIS


def lock_for_append(db: Db) -> None:
    """Appends queue behind each other so the chain has one order (SQLite: already so)."""
    if db.dialect == POSTGRESQL:
        db.execute("LOCK TABLE ledger IN SHARE ROW EXCLUSIVE MODE")


def append(db: Db, rows: Sequence[Sequence[Any]]) -> None:
    """Append rows (values of :data:`CONTENT`, ``detail`` as JSON text) to the chain, inside
    the caller's write transaction: every ledger write of the store goes through here."""
    if not rows:
        return
    lock_for_append(db)
    prev = head(db)
    values = []
    for content in rows:
        sha = entry_hash(list(content), prev)
        values.append((*content, prev, sha))
        prev = sha
    db.executemany(
        f"INSERT INTO ledger ({', '.join(CONTENT)}, prev_sha256, sha256)"
        f" VALUES ({', '.join('?' * (len(CONTENT) + 2))})",
        values,
    )


def chain_rows(db: Db) -> int:
    """Give every row its chain hashes, in id order (the migration; triggers lifted)."""
    prev = GENESIS
    rows = db.execute(f"SELECT id, {', '.join(CONTENT)} FROM ledger ORDER BY id").fetchall()
    for row in rows:
        sha = row_hash(row, prev)
        db.execute(
            "UPDATE ledger SET prev_sha256 = ?, sha256 = ? WHERE id = ?", (prev, sha, row["id"])
        )
        prev = sha
    return len(rows)


@dataclass(frozen=True)
class Problem:
    id: int
    what: str  # edited | inserted | deleted
    message: str


@dataclass(frozen=True)
class Verdict:
    rows: int
    head: str  # the last good row's sha256: keep it elsewhere to notice a cut-off tail
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        out = {"ok": self.ok, "rows": self.rows, "head": self.head, "problem": None}
        if self.problem:
            out["problem"] = asdict(self.problem)
        return out


def verify(db: Db) -> Verdict:
    """Walk the chain in id order; the first row that breaks it, and how."""
    rows = db.execute(
        f"SELECT id, {', '.join(CONTENT)}, prev_sha256, sha256 FROM ledger ORDER BY id"
    ).fetchall()
    prev, prev_id = GENESIS, None
    for i, row in enumerate(rows):
        own = row["sha256"] == row_hash(row, row["prev_sha256"] or "")
        linked = row["prev_sha256"] == prev
        if own and linked:
            prev, prev_id = row["sha256"], row["id"]
            continue
        after = f"row {prev_id}" if prev_id is not None else "the start of the ledger"
        following = rows[i + 1] if i + 1 < len(rows) else None
        if following is not None and following["prev_sha256"] == prev:
            problem = Problem(
                row["id"],
                "inserted",
                f"row {row['id']} was inserted: the next row {following['id']} links to"
                f" {after}, not to it",
            )
        elif not own:
            problem = Problem(
                row["id"],
                "edited",
                f"row {row['id']} was edited: its content no longer matches its sha256",
            )
        else:
            problem = Problem(
                row["id"],
                "deleted",
                f"row(s) deleted before row {row['id']}: its prev_sha256 does not match {after}",
            )
        return Verdict(len(rows), prev, problem)
    return Verdict(len(rows), prev, None)
