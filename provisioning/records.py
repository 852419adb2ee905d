"""Run records under ``--home``: private to root, free of the desired state, pruned in time.

Every plan and apply keeps its ansible-runner directory ``<home>/runs/<run_id>`` (artifacts,
the modules' journals). These name the people of the projects, so:

- the home, ``runs`` and every run directory are 0700 and a run writes its files with umask
  077 (0600 files, 0700 directories), whoever runs ``tre`` and with whatever umask;
- ``env/extravars`` (the whole desired state: names, e-mails, employers) is deleted as soon as
  the run has ended: nothing reads it afterwards (recovery reads the journals);
- run directories older than the policy's ``run_records_days`` are deleted at the start of
  every plan and apply. Their ledger entries, revisions and ``runs`` rows stay in the state
  store; a run the store still has to recover (``running``, ``unrecorded``) is never pruned.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .errors import RunError
from .state import StateStore

#: ``runner.new_run_id``: ``20261201T101500Z-1a2b3c4d``.
RUN_ID_RE = re.compile(r"(\d{8}T\d{6}Z)-[0-9a-f]{8}")


def secure_home(home: Path) -> Path:
    """``home`` and ``home/runs`` as 0700 directories (existing ones are tightened).

    A shared directory (sticky bit, e.g. ``/tmp``) is refused rather than made private.
    """
    for directory in (home, home / "runs"):
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        mode = directory.stat().st_mode
        if mode & stat.S_ISVTX:
            raise RunError(
                f"{directory} is a shared directory (mode {stat.S_IMODE(mode):o}): run records"
                " name people; give --home a private directory"
            )
        if stat.S_IMODE(mode) != 0o700:
            os.chmod(directory, 0o700)
    return home / "runs"


def new_run_dir(home: Path, run_id: str) -> Path:
    """A fresh 0700 directory for one run's record."""
    private = secure_home(home) / run_id
    private.mkdir(mode=0o700)
    os.chmod(private, 0o700)
    return private


def private_umask() -> None:
    """Umask 077 for the rest of this process (``tre plan``/``apply``): the run record, the
    journals the modules write (they inherit it) and the state store are 0600/0700."""
    os.umask(0o077)


@contextmanager
def disk_errors(home: Path) -> Iterator[None]:
    """A file system that refuses a run record (full, read-only) is one line, not a traceback.

    An apply stopped this way after its start is left ``running`` in the state store: the
    next apply recovers it from its journal.
    """
    try:
        yield
    except OSError as e:
        where = e.filename or f"{home} (run records)"
        raise RunError(f"{where}: {e.strerror or e}") from None


def forget_desired(private: Path) -> None:
    """Delete the run's ``env/extravars``: the desired state, with every person's data."""
    (private / "env" / "extravars").unlink(missing_ok=True)


def run_started(run_id: str) -> datetime | None:
    """When a run started, from its id; None for a name that is no run id."""
    m = RUN_ID_RE.fullmatch(run_id)
    if m is None:
        return None
    return datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def prune_run_records(
    home: Path, store: StateStore, days: int, now: datetime | None = None
) -> list[str]:
    """Delete run directories older than ``days`` days; returns the pruned run ids.

    Never touches the state store (ledger, revisions and runs rows stay), directories that are
    not run records, or a run the store still has to recover.
    """
    runs = home / "runs"
    if not runs.is_dir():
        return []
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    keep = {r["run_id"] for r in store.interrupted_runs()}
    pruned = []
    for path in sorted(runs.iterdir()):
        started = run_started(path.name)
        if started is None or started >= cutoff or path.name in keep:
            continue
        if path.is_symlink() or not path.is_dir():
            continue
        shutil.rmtree(path)
        pruned.append(path.name)
    return pruned
