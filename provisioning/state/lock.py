"""The apply lock: one ``tre apply`` at a time per state store (``apply_lock``).

SQLite (one admin machine): ``<home>/apply.lock`` with ``flock``, waited for.
PostgreSQL (a team, several admin machines): a session-level advisory lock on the store
(``pg_try_advisory_lock`` on :data:`APPLY_LOCK_KEY`) held by a connection of its own for the
whole apply. The holder writes who it is (actor, host, pid, run id, since) into the
``apply_lock`` row, keyed by its database session, so a second apply can name it. The lock
ends with the holder's session: a killed ``tre`` or a lost connection frees it at once.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ProvisioningError, StateError
from .backend import POSTGRESQL, dialect_of
from .postgres import PostgresDb

#: ``tre\\x65\\0`` + 1: the apply lock; ``migrations.MIGRATE_LOCK_KEY`` is + 2.
APPLY_LOCK_KEY = 0x7472_6500_0001
_CLASSID, _OBJID = APPLY_LOCK_KEY >> 32, APPLY_LOCK_KEY & 0xFFFFFFFF


class Held:
    """The held lock; ``running(run_id)`` adds the run id to what others are told."""

    def __init__(self, db: PostgresDb | None) -> None:
        self._db = db

    def running(self, run_id: str) -> None:
        if self._db is not None:
            with suppress(*self._db.errors):
                self._db.execute(
                    "UPDATE apply_lock SET run_id = ? WHERE name = 'apply'"
                    " AND backend_pid = pg_backend_pid()",
                    (run_id,),
                )


def holder(db: PostgresDb) -> str:
    """Who holds the apply lock, as one phrase (from pg_locks and the ``apply_lock`` row)."""
    row = db.execute(
        "SELECT l.pid AS backend_pid, h.actor, h.host, h.pid, h.run_id, h.since"
        " FROM pg_locks l LEFT JOIN apply_lock h ON h.name = 'apply' AND h.backend_pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ? AND l.objid = ?"
        " AND l.objsubid = 1",
        (_CLASSID, _OBJID),
    ).fetchone()
    if row is None:
        return "a session that has just ended"
    if row["actor"] is None:
        return f"database session {row['backend_pid']} (not yet recorded who)"
    run = f", run {row['run_id']}" if row["run_id"] else ""
    return f"{row['actor']} on {row['host']} (pid {row['pid']}{run}, since {row['since']})"


@contextmanager
def advisory_apply_lock(
    url: str,
    actor: str,
    wait_seconds: float | None = None,
    say: Callable[[str], None] | None = None,
) -> Iterator[Held]:
    """Hold the store's apply lock; refuse in one line naming the holder, or with
    ``wait_seconds`` wait that long for it (``say`` gets one line when waiting starts)."""
    db = PostgresDb(url, what="tre apply")
    try:
        deadline = time.monotonic() + (wait_seconds or 0)
        told = False
        while not db.execute("SELECT pg_try_advisory_lock(?) AS got", (APPLY_LOCK_KEY,)).fetchone()[
            "got"
        ]:
            who = holder(db)
            if wait_seconds is None:
                raise StateError(
                    f"another tre apply holds the apply lock of {db.where}: {who}; try again"
                    " when it has finished (or pass --wait)"
                )
            if time.monotonic() > deadline:
                raise StateError(
                    f"another tre apply has held the apply lock of {db.where} for over"
                    f" {wait_seconds:.0f} s: {who}"
                )
            if not told and say is not None:
                say(f"waiting for the apply lock of {db.where}: held by {who}")
                told = True
            time.sleep(1)
        db.execute(
            "INSERT INTO apply_lock (name, backend_pid, actor, host, pid, run_id, since)"
            " VALUES ('apply', pg_backend_pid(), ?, ?, ?, NULL, ?) ON CONFLICT (name) DO UPDATE"
            " SET backend_pid = excluded.backend_pid, actor = excluded.actor,"
            " host = excluded.host, pid = excluded.pid, run_id = NULL, since = excluded.since",
            (
                actor,
                socket.gethostname(),
                os.getpid(),
                datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )
        yield Held(db)
    except db.errors as e:
        raise StateError(f"apply lock of {db.where}: {e}") from None
    finally:
        with suppress(*db.errors):
            db.execute("SELECT pg_advisory_unlock(?)", (APPLY_LOCK_KEY,))
        db.close()


@contextmanager
def apply_lock(
    home: Path,
    wait_seconds: float = 600,
    state_url: str | None = None,
    wait: bool = False,
    say: Callable[[str], None] | None = None,
) -> Iterator[Held]:
    """One apply at a time per state store; the held lock (``running(run_id)`` names the run).

    Two admins applying at once would race on the same subvolumes; AD numbering is safe
    anyway (atomic allocator), this keeps the file server and the ledger orderly too.
    A PostgreSQL store (a team, several admin machines): its advisory lock (below); a second
    apply is refused in one line naming the holder, or with ``wait`` waits up to
    ``wait_seconds``. An SQLite store (one machine): ``<home>/apply.lock``, waited for.
    """
    if state_url is not None and dialect_of(state_url) == POSTGRESQL:
        from ..orchestrate import actor  # late: orchestrate imports the store

        limit = wait_seconds if wait else None
        with advisory_apply_lock(state_url, actor(), limit, say) as held:
            yield held
        return
    with _local_lock(home, wait_seconds):
        yield Held(None)


@contextmanager
def _local_lock(home: Path, wait_seconds: float) -> Iterator[None]:
    """``<home>/apply.lock``: one apply at a time on this admin machine (per ``--home``)."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(home / "apply.lock", "a+") as lock:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ProvisioningError(
                        f"another tre apply holds {home / 'apply.lock'} for over"
                        f" {wait_seconds:.0f} s; try again when it has finished"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
