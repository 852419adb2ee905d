"""Reading a YAML input file (contract or policy) safely: regular files only, size-capped."""

from __future__ import annotations

import os
from pathlib import Path

from .fields import FILE_PATH, Checker
from .yamlsafe import MAX_BYTES, too_big


def read_bytes(path: str, c: Checker, what: str = "a contract") -> bytes | None:
    """The file's bytes, or ``None`` with a problem (missing, a directory, unreadable, huge)."""
    p = Path(path)
    try:
        if not p.is_file():
            if p.is_dir():
                state = "is a directory"
            elif p.exists():
                state = "is not a regular file"
            else:
                state = "does not exist"
            c.add(FILE_PATH, "file-missing", f"{state}; expected {what} YAML file")
            return None
        with p.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_BYTES:
                problem = too_big(size)
                c.add(FILE_PATH, problem.rule, problem.message)
                return None
            return f.read(MAX_BYTES + 1)
    except OSError as e:
        c.add(FILE_PATH, "file-missing", f"cannot be read: {e.strerror or type(e).__name__}")
        return None
