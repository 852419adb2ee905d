"""The state store (docs/state.md): SQLite by default, PostgreSQL for a team.

- ``store.py``: ``StateStore``, the API the rest of tre uses;
- ``backend.py``: URLs and the ``Db`` interface; ``sqlite.py`` and ``postgres.py`` implement it;
- ``migrations.py``: the versioned schema (adding a table = appending one ``Migration``);
- ``ledger.py``: the ledger's hash chain and its verification;
- ``lock.py``: the apply lock on a PostgreSQL store (an advisory lock).
"""

from __future__ import annotations

from ..errors import StateError
from .backend import POSTGRESQL, SQLITE, dialect_of, open_db, shown, sqlite_path
from .migrations import SCHEMA_VERSION
from .store import DEFAULT_STATE_URL, TO_RECOVER, LedgerEntry, StateStore

__all__ = [
    "DEFAULT_STATE_URL",
    "POSTGRESQL",
    "SCHEMA_VERSION",
    "SQLITE",
    "TO_RECOVER",
    "LedgerEntry",
    "StateStore",
    "dialect_of",
    "migrate",
    "shown",
    "sqlite_path",
]


def migrate(url: str) -> tuple[int, list[tuple[int, str]]]:
    """Bring the store at ``url`` to this tre's schema: (version before, [(version, name)])."""
    from . import migrations

    db = open_db(url)
    try:
        before = migrations.current_version(db)
        done = migrations.migrate(db)
    except db.errors as e:
        raise StateError(f"state store {db.where}: {' '.join(str(e).split())}") from None
    finally:
        db.close()
    return before, [(m.version, m.name) for m in done]
