"""The operations of a ``tre_storage`` plan as executor steps (``tre_executor``).

The planner describes each operation as a tuple whose first item names it (``subvol``,
``limit``, ``mkdir``, ``chown``, ``qgroup``, ``acl``) and whose second is the path; here each
becomes a callable on the quota backend, and a step's failure becomes one line naming the
operation, the path and the cause (``OperationError``).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

from ansible_collections.tre.secenv.plugins.module_utils.tre_acl import write_acls
from ansible_collections.tre.secenv.plugins.module_utils.tre_executor import (
    OperationError,
    Step,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_model import GRACE, Plan

#: ENOSPC/E2BIG on an ACL write: the ACL does not fit in one xattr, not a full disk
ACL_TOO_LARGE = "ACL too large for the file system (one xattr holds about 2,000 entries on btrfs)"


def plan_steps(plan: Plan, backend) -> list[Step]:
    """One executor step per planned step, in execution order (phases, stable within one)."""
    steps = []
    for _phase, ops, indexes in plan.ordered_steps():
        changes = [plan.changes[i] for i in indexes]
        label = ops[0][1] if ops else changes[0]["path"]
        steps.append(Step(changes, [_operation(op, backend) for op in ops], label))
    return steps


def _operation(op: tuple, backend) -> Callable[[], None]:
    def run() -> None:
        try:
            _apply_op(op, backend)
        except (OSError, RuntimeError) as exc:
            raise OperationError(f"{op[0]} {op[1]} failed: {_cause(op, exc)}") from None

    return run


def _cause(op: tuple, exc: Exception) -> str:
    if op[0] == "acl" and isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.E2BIG):
        return ACL_TOO_LARGE
    cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return cause.splitlines()[0] if cause else type(exc).__name__


def _write_acls_full(op: tuple, backend) -> None:
    """An ACL write; on a unit at its limit (EDQUOT, ENOSPC on XFS: even an xattr needs space)
    the limit is raised by GRACE for the write and restored after it. A kill in between leaves
    the limit at limit + GRACE, which the next run's plan restores (op ``restore``)."""
    _name, path, access, default, is_dir, unit = op
    try:
        write_acls(path, access, default, is_dir)
        return
    except OSError as exc:
        full = getattr(backend, "full_errnos", (errno.EDQUOT,))  # XFS projects: ENOSPC
        if exc.errno not in full or unit is None:
            raise
    unit_path, limit = unit
    backend.set_limit(unit_path, limit + GRACE)
    try:
        write_acls(path, access, default, is_dir)
    finally:
        backend.set_limit(unit_path, limit)


def _apply_op(op: tuple, backend) -> None:
    name, path = op[0], op[1]
    if name == "subvol":  # ("subvol", path, owner uid): XFS derives a workspace's projid
        backend.create_subvolume(path, *op[2:3])
    elif name == "limit":
        backend.set_limit(path, op[2])
    elif name == "mkdir":
        os.mkdir(path, 0o700)
    elif name == "chown":
        os.chown(path, op[2], op[3], follow_symlinks=False)
    elif name == "qgroup":
        backend.enforce_group(path, *op[2:])
    elif name == "acl":
        _write_acls_full(op if len(op) == 6 else (*op, None), backend)
    else:  # pragma: no cover - the planner only emits the names above
        raise ValueError(f"unknown operation {name}")
