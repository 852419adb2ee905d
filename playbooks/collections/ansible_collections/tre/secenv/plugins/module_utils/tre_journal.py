"""Append-only journal of changes as a module applies them (JSON lines).

A module reports its changes when it returns; if the run is killed before that, the
controller (``tre apply``) reads the journal of the interrupted run and records in the audit
ledger what really happened. Every change is journaled twice: ``intent`` before it is sent,
``done`` after it succeeded. A kill in between (e.g. while the DC still processes an add)
leaves an intent without done; ``tre apply`` records it only if its next plan shows the
change is no longer needed, i.e. it did happen. Entries carry no secret (the same dicts as
``changes``).
"""

from __future__ import annotations

import json
import os


class Journal:
    """``Journal(None)`` writes nothing, so modules can always call it."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._fh = None

    def intent(self, changes: list) -> None:
        self.write(changes, "intent")

    def done(self, changes: list) -> None:
        self.write(changes, "done")

    def write(self, changes: list, phase: str = "done") -> None:
        if not self.path or not changes:
            return
        if self._fh is None:
            os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
            # 0600 whatever the umask: the entries name people (display names, e-mails)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.fchmod(fd, 0o600)
            self._fh = os.fdopen(fd, "a", encoding="utf-8")
        for change in changes:
            line = dict(change, journal=phase)
            self._fh.write(json.dumps(line, sort_keys=True, default=str) + "\n")
        self._fh.flush()  # in the page cache: survives the process being killed

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
