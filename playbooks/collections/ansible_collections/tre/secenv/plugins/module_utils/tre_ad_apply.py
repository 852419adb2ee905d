"""Writing side of tre_ad: uid/gid reservation, initial passwords, applying planned writes.

Initial passwords exist only in memory for the one add that sets them and in a 0600 file under
the initial password directory; they are never returned, logged or put into exceptions.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import secrets
import tempfile
import time
from collections.abc import Callable

try:
    import ldap3
    from ldap3.core import exceptions as lx
except ImportError:  # reported by the module with missing_required_lib("ldap3")
    ldap3 = lx = None  # type: ignore[assignment]

from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import (
    GLOBAL_SECURITY_GROUP,
    GROUP_CLASSES,
    UAC_DISABLED,
    Settings,
    Write,
    report,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_executor import (
    STOP,
    OperationError,
    Step,
    execute,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal
from ansible_collections.tre.secenv.plugins.module_utils.tre_ldap import (
    LdapError,
    operation_message,
)

# no look-alikes (I l 1 O 0) and no quotes, backslashes or blanks
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_LOWER = "abcdefghijkmnopqrstuvwxyz"
_DIGITS = "23456789"
_SYMBOLS = "!#%+-=?@^_~"
PASSWORD_LENGTH = 24
ALLOCATOR_RETRIES = 50


class ApplyError(Exception):
    """A write failed; ``applied`` holds the changes that really happened before it."""

    def __init__(self, msg: str, applied: list[dict]) -> None:
        super().__init__(msg)
        self.applied = applied


def new_password(sam: str, display_name: str | None = None) -> str:
    """Random password meeting AD complexity: 4 character classes, no part of the names."""
    alphabet = _UPPER + _LOWER + _DIGITS + _SYMBOLS
    tokens = [t.lower() for t in re.split(r"[,.\-_#\s]+", display_name or "") if len(t) >= 3]
    if len(sam) >= 3:
        tokens.append(sam.lower())
    while True:
        chars = [secrets.choice(c) for c in (_UPPER, _LOWER, _DIGITS, _SYMBOLS)]
        chars += [secrets.choice(alphabet) for _ in range(PASSWORD_LENGTH - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        password = "".join(chars)
        if not any(t in password.lower() for t in tokens):
            return password


def write_password_file(root: str, project: str, sam: str, password: str) -> str:
    """<root>/<project>/<sam>.txt, 0600 in 0700 directories, written to a temp file + rename."""
    old = os.umask(0o077)
    try:
        folder = os.path.join(root, project)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
        fd, tmp = tempfile.mkstemp(prefix=f".{sam}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(password + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            path = os.path.join(folder, f"{sam}.txt")
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    finally:
        os.umask(old)
    return path


def reserve_ids(conn, settings: Settings, id_min: int, floor: int, count: int) -> int:
    """Reserve ``count`` consecutive numbers; return the first.

    The allocator object's gidNumber holds the next free number. One modify replaces it by
    deleting the value read and adding the new one: if another run moved it meanwhile the
    delete fails (noSuchAttribute) and we read again. ``floor`` (above the highest number in
    use) makes sure no number already held by an object is handed out.
    """
    dn = settings.allocator_dn
    for _ in range(ALLOCATOR_RETRIES):
        try:
            conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["gidNumber"])
            values = conn.response[0]["raw_attributes"].get("gidNumber", [])
        except lx.LDAPNoSuchObjectResult:
            # no sAMAccountName: AD generates a unique one (several allocators may exist)
            with contextlib.suppress(lx.LDAPEntryAlreadyExistsResult):  # another run was first
                conn.add(
                    dn,
                    GROUP_CLASSES,
                    {
                        "groupType": GLOBAL_SECURITY_GROUP,
                        "gidNumber": max(id_min, floor),
                        "description": "tre: gidNumber is the next free uid/gid number",
                    },
                )
            continue
        if not values:
            raise LdapError(f"id allocator {dn} has no gidNumber")
        current = int(values[0])
        start = max(current, floor, id_min)
        try:
            conn.modify(
                dn,
                {
                    "gidNumber": [
                        (ldap3.MODIFY_DELETE, [str(current)]),
                        (ldap3.MODIFY_ADD, [str(start + count)]),
                    ]
                },
            )
            return start
        except (lx.LDAPNoSuchAttributeResult, lx.LDAPAttributeOrValueExistsResult):
            time.sleep(random.uniform(0.01, 0.1))  # lost the race: read again
    raise LdapError(f"could not reserve {count} ids at {dn}: too many concurrent runs")


def apply_writes(
    conn,
    writes: list[Write],
    password_dir: str | None,
    bind_user: str,
    names: dict[str, str | None],
    journal: Journal | None = None,
) -> list[dict]:
    """Apply ``writes`` in order; return their reports, or raise ApplyError at the first failure.

    One step per write through ``tre_executor.execute`` (policy STOP: the journal gets each
    write's reports as intent before it and as done after it). After a failed LDAP write the
    accounts this run enabled without their groups are disabled again (``_disable_orphans``).

    ``names`` maps a new account's sAMAccountName to its display name (password check).
    """
    steps = [
        Step(w.reports, [_write(conn, w, password_dir, bind_user, names)], w.dn) for w in writes
    ]
    outcome = execute(steps, journal, check_mode=False, on_failure=STOP)
    if outcome.ok:
        return outcome.applied
    failure = outcome.failures[0]
    applied = outcome.applied
    if failure.error.rollback:
        applied.extend(_disable_orphans(conn, applied, outcome.remaining, journal))
    raise ApplyError(failure.message, applied)


def _write(
    conn, w: Write, password_dir: str | None, bind_user: str, names: dict[str, str | None]
) -> Callable[[], None]:
    """The operation of one write; its failures as OperationError (one line, no attribute)."""

    def run() -> None:
        password_file = None
        try:
            if w.op == "add":
                attrs = dict(w.attrs)
                if w.new_account:
                    project, sam = w.new_account
                    if not password_dir:
                        raise OperationError(
                            f"initial_password_dir is required to create account {sam}",
                            rollback=False,
                        )
                    password = new_password(sam, names.get(sam))
                    try:
                        password_file = write_password_file(password_dir, project, sam, password)
                    except OSError as e:
                        raise OperationError(
                            f"cannot write initial password under {password_dir}: {e.strerror}",
                            rollback=False,
                        ) from None
                    attrs["unicodePwd"] = f'"{password}"'.encode("utf-16-le")
                    del password
                conn.add(w.dn, w.classes, attrs)
            elif w.op == "delete":
                _delete(conn, w.dn)
            else:
                changes = {
                    attr: [(getattr(ldap3, op), values) for op, values in mods]
                    for attr, mods in w.attrs.items()
                }
                conn.modify(w.dn, changes)
        except OperationError:
            raise
        except OSError as e:  # ldap3 socket errors: the add may have happened, keep the file
            message = f"AD connection lost at {w.dn}: {type(e).__name__}"
            raise OperationError(message, rollback=False) from None
        except Exception as e:  # ldap3 errors: one line, never the attributes sent
            if password_file and os.path.exists(password_file):
                os.unlink(password_file)
            verb = {"add": "create", "delete": "delete"}.get(w.op, "modify")
            raise OperationError(operation_message(e, verb, w.dn, bind_user)) from None

    return run


def _delete(conn, dn: str) -> None:
    """Delete one object; one already gone (a run killed after its delete) is done."""
    with contextlib.suppress(lx.LDAPNoSuchObjectResult):
        conn.delete(dn)


def _disable_orphans(
    conn, applied: list[dict], remaining: list[Step], journal: Journal | None
) -> list[dict]:
    """After a failed write: disable accounts this run enabled whose groups were not written.

    An account created (or enabled) enabled earlier in the run, whose membership of a group is
    still among the ``remaining`` steps (the failed write and those after it), would be an
    enabled account without its groups; it is disabled again (the next apply adds the
    membership and enables it). Best effort, one executor step per account, stopping at the
    first failure: the ledger tells the truth (only what succeeded is reported).
    """
    pending_members = {
        m.lower()
        for step in remaining
        for r in step.changes
        if r.get("op") == "add_members"
        for m in (r.get("after") or {}).get("member", [])
    }
    steps: list[Step] = []
    for r in applied:
        if r.get("kind") != "account" or str(r.get("name")).lower() not in pending_members:
            continue
        uac = (r.get("after") or {}).get("userAccountControl")
        if r.get("op") not in ("create", "enable") or not isinstance(uac, int) or uac & 2:
            continue
        rep = report(
            r["project"],
            "disable",
            "account",
            r["name"],
            r["dn"],
            {"userAccountControl": uac},
            {"userAccountControl": uac | UAC_DISABLED, "reason": "its groups were not written"},
        )
        steps.append(Step([rep], [_disable(conn, r["dn"], uac | UAC_DISABLED)], r["dn"]))
    return execute(steps, journal, check_mode=False, on_failure=STOP).applied


def _disable(conn, dn: str, uac: int) -> Callable[[], None]:
    def run() -> None:
        try:
            conn.modify(dn, {"userAccountControl": [(ldap3.MODIFY_REPLACE, [uac])]})
        except Exception:  # noqa: BLE001 - the write's error is the one reported
            raise OperationError(f"cannot disable {dn}") from None

    return run
