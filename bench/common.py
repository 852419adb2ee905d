"""Shared pieces of the benchmarks: synthetic contracts and the lab's settings."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from provisioning.contract.model import Contract, FileSubjectGrant, Institution, Person  # noqa: E402

INVENTORY = REPO / "inventory" / "lab"


def lab_vars() -> dict[str, Any]:
    path = INVENTORY / "group_vars" / "all.yml"
    if not path.exists():
        sys.exit("no lab inventory: run 'tre lab up' first")
    return yaml.safe_load(path.read_text())


def synthetic_contract(project: int, people: int, subjects: tuple[str, ...] = ()) -> Contract:
    """An approved contract with ``people`` researchers (valid by construction)."""
    institution = "Universiteit Utrecht"
    researchers = tuple(
        Person(
            id=f"r{n:02d}x{project % 1000:03d}",
            name=f"Onderzoeker {n} van 't Project {project}",
            email=f"r{n}.p{project}@uu.nl",
            employer=institution,
            role="researcher",
            nda_signed=date(2026, 1, 5),
            awareness_errors=1,
            token=f"T-{project:07d}",
            start=date(2026, 1, 1),
            end=date(2027, 12, 31),
        )
        for n in range(people)
    )
    return Contract(
        project=str(project),
        title=f"Benchmark project {project}",
        status="approved",
        institution=Institution(institution, date(2028, 12, 31)),
        start=date(2026, 1, 1),
        end=date(2027, 12, 31),
        retention_years=5,
        lead=researchers[0].id,
        researchers=researchers,
        file_subjects=tuple(FileSubjectGrant(s, date(2026, 1, 1)) for s in subjects),
    )
