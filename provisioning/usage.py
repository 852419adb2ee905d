"""Storage measurement: usage and limits of project folders and workspaces (docs/storage.md).

``measure(inventory)`` reads every file server through the same Ansible machinery as apply
(``playbooks/measure.yml``, module ``tre.secenv.tre_quota_report``, in check mode: it never
changes anything), one quota read per file system. A usage the file server cannot vouch for
(btrfs: "qgroup data inconsistent", "rescan is running") is ``None``, never a number, and the
report carries a warning line for the operator.

``write_metrics(report)`` writes the Prometheus textfile ``tre_quota.prom`` atomically;
``over_allowance_steps`` says how many extra-storage steps of the policy a usage above its
allowance takes (billed by quota-monthly, RULES.md "Quota monitoring").
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import MeasureError, MetricsError, RunError
from .ids import PROJECT_RE
from .inventory import Inventory
from .policy_model import Policy, StorageStep
from .runner import run_read

#: The read-only playbook beside site.yml.
MEASURE_PLAYBOOK = "measure.yml"
#: Debian's prometheus-node-exporter textfile collector directory.
DEFAULT_METRICS_DIR = Path("/var/lib/prometheus/node-exporter")
METRICS_FILE = "tre_quota.prom"

UsageKind = Literal["project", "workspace"]


@dataclass(frozen=True)
class Usage:
    """One project folder (``kind="project"``, ``owner`` None) or personal workspace
    (``kind="workspace"``, ``owner`` = its account name) on ``server`` (inventory host)."""

    project: str
    kind: UsageKind
    owner: str | None
    used_bytes: int | None  # None: unknown (the file server's accounting is not consistent)
    limit_bytes: int | None  # None: no limit set
    server: str
    path: str = ""

    @property
    def percent(self) -> float | None:
        """Used as a percentage of the limit; None when either is unknown (or no limit)."""
        if self.used_bytes is None or not self.limit_bytes:
            return None
        return 100.0 * self.used_bytes / self.limit_bytes


@dataclass(frozen=True)
class UsageReport:
    items: list[Usage]
    warnings: list[str]

    @property
    def unknown(self) -> list[Usage]:
        return [u for u in self.items if u.used_bytes is None]


def measure(inventory: Inventory, projects: list[str] | None = None) -> UsageReport:
    """Usage and limit of every project folder and workspace (of ``projects``, or all).

    Raises ``RunError`` (one line) when a file server could not be read at all,
    ``MeasureError`` for a project that is not a project number (before any run).
    """
    if projects is not None:
        bad = [p for p in projects if not isinstance(p, str) or not PROJECT_RE.fullmatch(p)]
        if bad:
            raise MeasureError(f"not a project number: {bad[0]!r}")
        if not projects:
            return UsageReport([], [])
    extravars = {} if projects is None else {"tre_measure_projects": sorted(set(projects))}
    # The run's record names accounts: a private temporary directory, gone afterwards.
    with tempfile.TemporaryDirectory(prefix="tre-measure-") as tmp:
        result = run_read(inventory.path, MEASURE_PLAYBOOK, extravars, Path(tmp))
    if not result.ok:
        why = result.failures[0] if result.failures else result.status
        raise RunError(f"measuring storage failed: {why}")
    items: list[Usage] = []
    warnings: list[str] = []
    for task in result.tasks:
        items.extend(_usage(row, task.host) for row in task.data.get("quota_usage") or [])
        warnings.extend(f"{task.host}: {w}" for w in task.warnings)
    return UsageReport(items, warnings)


def _usage(row: dict, server: str) -> Usage:
    return Usage(
        project=str(row["project"]),
        kind=row["kind"],
        owner=row.get("owner"),
        used_bytes=None if row.get("used_bytes") is None else int(row["used_bytes"]),
        limit_bytes=None if row.get("limit_bytes") is None else int(row["limit_bytes"]),
        server=server,
        path=str(row.get("path") or ""),
    )


# Prometheus textfile ------------------------------------------------------------------------
_METRICS = (
    ("tre_quota_used_bytes", "Bytes used in a project folder or personal workspace."),
    ("tre_quota_limit_bytes", "Quota limit of a project folder or personal workspace in bytes."),
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(u: Usage) -> str:
    return f'{{project="{_label(u.project)}",kind="{u.kind}",owner="{_label(u.owner or "")}"}}'


def metrics_text(report: UsageReport) -> str:
    """The textfile's content (Prometheus text exposition format 0.0.4): used and limit per
    unit (an unknown usage or a missing limit is left out, never written as a number) and
    ``tre_quota_unknown``, the number of units whose usage is unknown."""
    lines: list[str] = []
    for (name, text), attr in zip(_METRICS, ("used_bytes", "limit_bytes"), strict=True):
        lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
        for u in report.items:
            value = getattr(u, attr)
            if value is not None:
                lines.append(f"{name}{_labels(u)} {int(value)}")
    lines += [
        "# HELP tre_quota_unknown Units whose usage is unknown (quota accounting not consistent).",
        "# TYPE tre_quota_unknown gauge",
        f"tre_quota_unknown {len(report.unknown)}",
    ]
    return "\n".join(lines) + "\n"


def write_metrics(report: UsageReport, directory: Path = DEFAULT_METRICS_DIR) -> Path:
    """Write ``<directory>/tre_quota.prom`` atomically: a temporary file in the same directory
    (a name node-exporter ignores), fsync, rename over the old file, fsync the directory. A
    reader sees the old file or the new one, never a half-written one. Mode 0644 (the
    collector runs as its own user); the file holds account names, no person's name."""
    directory = Path(directory)
    target = directory / METRICS_FILE
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{METRICS_FILE}.", suffix=".tmp")
    except OSError as e:
        raise MetricsError(f"cannot write metrics into {directory}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(metrics_text(report))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        _fsync_dir(directory)
    except OSError as e:
        with suppress(OSError):
            os.unlink(tmp)
        raise MetricsError(f"cannot write metrics {target}: {e.strerror}") from None
    return target


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Billing of usage above the allowance ----------------------------------------------------------
def overrun_step(policy: Policy) -> StorageStep:
    """The extra-storage step a usage above the allowance is billed in: the smallest step that
    can be taken for a single month (min_months 1; CBS: 50GB, "per maand opzegbaar"), else the
    smallest step. The catalogue bills the overrun "as extra storage" without naming a step;
    a month's overrun is not a commitment of six months."""
    steps = sorted(policy.storage_steps, key=lambda s: s.size_bytes)
    monthly = [s for s in steps if s.min_months == 1]
    return (monthly or steps)[0]


def over_allowance_steps(used_bytes: int, allowance_bytes: int, policy: Policy) -> int:
    """How many steps of ``overrun_step(policy)`` cover the usage above the allowance (0 when
    at or below it): ``ceil((used - allowance) / step size)``; one byte over is one step."""
    if used_bytes < 0 or allowance_bytes < 0:
        raise ValueError("sizes must not be negative")
    excess = used_bytes - allowance_bytes
    if excess <= 0:
        return 0
    return -(-excess // overrun_step(policy).size_bytes)
