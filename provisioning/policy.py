"""Loading the policy: every number of the service catalogue, from one YAML (docs/policy.md).

``load_policy()`` reads, in order: the path given, ``$TRE_POLICY``, or the shipped default
``provisioning/data/cbs-2026.yaml``. A broken policy raises ``PolicyError`` with the same
one-line ``FILE: path: message`` problems as a contract.
"""

from __future__ import annotations

import os
import re
from dataclasses import MISSING, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import PolicyError
from .ids import FILE_SUBJECT_RE, PACKAGE_RE
from .policy_model import Policy, SoftwarePackage, StorageStep, Tariffs
from .validation.fields import FILE_PATH, Checker, join
from .validation.files import read_bytes
from .validation.yamlsafe import load_bytes

DEFAULT_POLICY = Path(__file__).parent / "data" / "cbs-2026.yaml"
ENV_VAR = "TRE_POLICY"
SIZE_RE = re.compile(r"^([1-9][0-9]{0,5})(MB|GB|TB)\Z")
_UNITS = {"MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
BILLING = ("per_month", "until_end", "minimum")
#: The catalogue reader group of a subject: letters, digits, '.', '-' around one {subject}.
SUBJECT_GROUP_RE = re.compile(r"^[A-Za-z][A-Za-z0-9.-]{0,8}\{subject\}[A-Za-z0-9.-]{0,8}\Z")

#: Whole-number settings: key → (minimum, maximum).
_INTS: dict[str, tuple[int, int]] = {
    "quota_warn_percent": (1, 100),
    "max_duration_months": (1, 600),
    "institution_authorization_max_years": (1, 50),
    "awareness_error_limit": (1, 1000),
    "researcher_min_months": (1, 120),
    "ossc_destruction_days": (0, 3650),
    "invoice_period_months": (1, 12),
    "archive_free_gb": (0, 10**6),
    "large_archive_period_years": (1, 100),
    "suspension_min_months": (1, 120),
    "extension_notice_working_days": (0, 365),
    "heavy_desktop_days": (0, 365),
    "heavy_desktop_extensions": (0, 100),
    "heavy_desktop_max_researchers": (0, 1000),
    "heavy_desktop_capacity": (0, 100000),
    "closed_account_days": (1, 36500),
    "output_light_max_files": (0, 10**6),
    "output_light_max_cells": (0, 10**9),
    "run_records_days": (1, 36500),
    "archive_verify_days": (1, 3650),
    "purge_grace_days": (0, 3650),
    "purge_max_per_run": (1, 100000),
}
_REQUIRED = (
    "name",
    "currency",
    "project_quota",
    "workspace_quota",
    "storage_steps",
    "retention_years",
    "software",
    "tariffs",
    "file_subjects",
    "subject_group",
    *[k for k in _INTS if k in {f.name for f in fields(Policy) if f.default is MISSING}],
)
_DAY_LISTS = ("end_reminder_days", "purge_notice_days")
_OPTIONAL = (*(k for k in _INTS if k not in _REQUIRED), *_DAY_LISTS)
_TARIFFS_REQUIRED = tuple(f.name for f in fields(Tariffs) if not isinstance(f.default, Decimal))
_TARIFFS_OPTIONAL = tuple(f.name for f in fields(Tariffs) if isinstance(f.default, Decimal))


def size_bytes(size: str) -> int:
    """``"50GB"`` → bytes (binary units: MB, GB, TB; ``50MB`` for small quotas in tests).
    Raises ``ValueError`` for anything else."""
    m = SIZE_RE.fullmatch(size)
    if not m:
        raise ValueError(f"not a size: {size!r}")
    return int(m.group(1)) * _UNITS[m.group(2)]


def load_policy(path: str | None = None) -> Policy:
    """The policy at ``path``, else ``$TRE_POLICY``, else the shipped CBS 2026 default."""
    chosen = path or os.environ.get(ENV_VAR) or str(DEFAULT_POLICY)
    c = Checker(chosen)
    data = read_bytes(chosen, c, what="a policy")
    policy = None
    if data is not None:
        doc, problem = load_bytes(data)
        if problem is not None:
            c.add(FILE_PATH, problem.rule, problem.message)
        else:
            policy = parse_policy(doc, c, source=chosen)
    if c.problems or policy is None:
        raise PolicyError(c.problems or [_empty(chosen)])
    return policy


def _empty(file: str) -> Any:
    c = Checker(file)
    c.add(FILE_PATH, "type", "the policy is empty")
    return c.problems[0]


def parse_policy(doc: Any, c: Checker, source: str = "") -> Policy | None:
    m = c.mapping(doc, "", _REQUIRED, _OPTIONAL)
    if m is None:
        return None
    ints = {k: c.integer(m[k], k, *rng) for k, rng in _INTS.items() if k in m}
    name = c.text(m.get("name"), "name") if "name" in m else None
    currency = (
        c.pattern(m["currency"], "currency", re.compile(r"^[A-Z]{3}\Z"), "currency", "ISO 4217")
        if "currency" in m
        else None
    )
    quotas = {k: _size(m[k], k, c) for k in ("project_quota", "workspace_quota") if k in m}
    steps = _steps(m.get("storage_steps"), c) if "storage_steps" in m else None
    retention = _retention(m.get("retention_years"), c) if "retention_years" in m else None
    software = _software(m.get("software"), c) if "software" in m else None
    tariffs = _tariffs(m.get("tariffs"), c) if "tariffs" in m else None
    subjects = _subjects(m.get("file_subjects"), c) if "file_subjects" in m else None
    subject_group = (
        c.pattern(m["subject_group"], "subject_group", SUBJECT_GROUP_RE, "subject-group",
                  "a group name pattern with {subject}, e.g. DS-{subject}")
        if "subject_group" in m
        else None
    )  # fmt: skip
    day_lists = {k: _days(m[k], k, c) for k in _DAY_LISTS if k in m}
    if c.problems:
        return None
    ints.update(day_lists)  # type: ignore[arg-type]
    return Policy(
        name=name,  # type: ignore[arg-type]
        currency=currency,  # type: ignore[arg-type]
        project_quota_bytes=quotas["project_quota"],  # type: ignore[arg-type]
        workspace_quota_bytes=quotas["workspace_quota"],  # type: ignore[arg-type]
        storage_steps=steps,  # type: ignore[arg-type]
        retention_years=retention,  # type: ignore[arg-type]
        software=software,  # type: ignore[arg-type]
        file_subjects=subjects,  # type: ignore[arg-type]
        tariffs=tariffs,  # type: ignore[arg-type]
        subject_group=subject_group,  # type: ignore[arg-type]
        source=source,
        **ints,  # type: ignore[arg-type]
    )


def _size(value: Any, path: str, c: Checker) -> int | None:
    if not isinstance(value, str) or not SIZE_RE.fullmatch(value):
        c.add(path, "size", "expected a size such as 50MB, 50GB or 1TB")
        return None
    return size_bytes(value)


def _list(value: Any, path: str, c: Checker) -> list[Any]:
    seq = c.sequence(value, path)
    if seq is not None and not seq:
        c.add(path, "required", "must not be empty")
    return seq or []


def _steps(value: Any, c: Checker) -> tuple[StorageStep, ...] | None:
    out: list[StorageStep] = []
    for i, item in enumerate(_list(value, "storage_steps", c)):
        p = join("storage_steps", i)
        s = c.mapping(item, p, ("size", "monthly", "min_months"))
        if s is None or len(s) != 3:
            continue
        size = _size(s["size"], join(p, "size"), c)
        monthly = c.money(s["monthly"], join(p, "monthly"))
        months = c.integer(s["min_months"], join(p, "min_months"), 1, 120)
        if size is not None and monthly is not None and months is not None:
            if any(x.size == s["size"] for x in out):
                c.add(join(p, "size"), "duplicate", f"{s['size']} is listed twice")
            out.append(StorageStep(s["size"], size, monthly, months))
    return tuple(out)


def _days(value: Any, key: str, c: Checker) -> tuple[int, ...]:
    """``end_reminder_days``, ``purge_notice_days``: distinct whole days before a date,
    largest first."""
    days = [
        d
        for i, v in enumerate(_list(value, key, c))
        if (d := c.integer(v, join(key, i), 1, 3650)) is not None
    ]
    if len(set(days)) != len(days):
        c.add(key, "duplicate", "a day is listed twice")
    return tuple(sorted(set(days), reverse=True))


def _retention(value: Any, c: Checker) -> tuple[int, ...]:
    return tuple(
        y
        for i, v in enumerate(_list(value, "retention_years", c))
        if (y := c.integer(v, join("retention_years", i), 1, 100)) is not None
    )


def _software(value: Any, c: Checker) -> tuple[SoftwarePackage, ...]:
    out: list[SoftwarePackage] = []
    keys = ("name", "billing", "monthly", "min_months", "seats")
    for i, item in enumerate(_list(value, "software", c)):
        p = join("software", i)
        s = c.mapping(item, p, keys)
        if s is None or any(k not in s for k in keys):
            continue
        name = c.pattern(s["name"], join(p, "name"), PACKAGE_RE, "package", "a package name")
        billing = s["billing"]
        if billing not in BILLING:
            c.add(join(p, "billing"), "billing", f"expected one of {', '.join(BILLING)}")
        monthly = c.money(s["monthly"], join(p, "monthly"))
        months = c.integer(s["min_months"], join(p, "min_months"), 1, 120)
        seats = c.integer(s["seats"], join(p, "seats"), 0, 100000)
        if name and billing in BILLING and None not in (monthly, months, seats):
            if any(x.name == name for x in out):
                c.add(join(p, "name"), "duplicate", f"{name} is listed twice")
            out.append(SoftwarePackage(name, billing, monthly, months, seats))  # type: ignore[arg-type]
    return tuple(out)


def _tariffs(value: Any, c: Checker) -> Tariffs | None:
    m = c.mapping(value, "tariffs", _TARIFFS_REQUIRED, _TARIFFS_OPTIONAL)
    if m is None:
        return None
    amounts = {
        k: c.money(
            v,
            join("tariffs", k),
        )
        for k, v in m.items()
        if isinstance(k, str) and k in _TARIFFS_REQUIRED + _TARIFFS_OPTIONAL
    }
    if None in amounts.values() or any(k not in m for k in _TARIFFS_REQUIRED):
        return None
    return Tariffs(**amounts)  # type: ignore[arg-type]


def _subjects(value: Any, c: Checker) -> tuple[str, ...]:
    out: list[str] = []
    for i, v in enumerate(_list(value, "file_subjects", c)):
        p = join("file_subjects", i)
        name = c.pattern(v, p, FILE_SUBJECT_RE, "file-subject-name", "a file subject name")
        if name and name in out:
            c.add(p, "duplicate", f"{name} is listed twice")
        elif name:
            out.append(name)
    return tuple(out)
