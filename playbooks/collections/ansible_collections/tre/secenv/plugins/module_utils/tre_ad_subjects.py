"""Catalogue reader groups of tre_ad: one AD group per file subject (``DS-<SUBJECT>``).

Pure (no LDAP I/O). Read access to a subject's catalogue directory is membership of its
reader group: the members and observers groups of every project reading the subject are
nested in it (the file server's resolver expands nesting: docs/storage.md#catalogue). A run
manages only the nested groups of its own projects; others are left alone. A grant that AD
shows but the contract lacks is never revoked silently (docs/desired-state.md):

- a subject the contract has with a later grant month (granted too early), or one the state
  store's last applied revision never had (``recorded_grants``), is drift: removed;
- otherwise (no record, or the record had it) the run refuses with one line: subjects are
  never removed;
- except for an ended or moved project (``status: ended``/``moved``): all its catalogue
  reading is withdrawn, so every grant of it is removed (docs/lifecycle.md).
"""

from __future__ import annotations

from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import (
    Index,
    group_dn,
    norm_dn,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import CLOSED_STATUSES


def subjects_ou(projects_ou: str) -> str:
    """Where the reader groups live: ``OU=Subjects,<projects_ou>``."""
    return f"OU=Subjects,{projects_ou}"


def reader_dn(index: Index, name: str) -> str:
    return f"CN={name},{subjects_ou(index.settings.projects_ou)}"


def wanted_readers(desired: dict, index: Index, subject: str) -> list[str]:
    """DNs of the project groups that read ``subject`` today (run projects only)."""
    by_project = {p["project"]: p for p in desired.get("projects", [])}
    out = []
    for nr in desired["subjects"][subject].get("projects", []):
        p = by_project.get(nr)
        if p is None:
            continue
        for role in ("members", "observers"):
            out.append(group_dn(index.settings, p["ou"], p["groups"][role]["name"]))
    return out


def revocation_problems(desired: dict, index: Index) -> list[str]:
    """One line per grant AD shows for a run project that the run may not silently revoke."""
    problems = []
    for subject, entry in sorted((desired.get("subjects") or {}).items()):
        group = index.get(reader_dn(index, entry["group"]))
        if group is None:
            continue
        nested = {norm_dn(m) for m in group.members()}
        reading = set(entry.get("projects", []))
        for p in desired.get("projects", []):
            if p["project"] in reading or p.get("status") in CLOSED_STATUSES:
                continue  # an ended (or moved) project's grants are all withdrawn
            dns = [
                norm_dn(group_dn(index.settings, p["ou"], p["groups"][r]["name"]))
                for r in ("members", "observers")
            ]
            if not any(dn in nested for dn in dns):
                continue
            storage = p.get("storage") or {}
            later = subject in (storage.get("contract_subjects") or [])
            recorded = storage.get("recorded_grants")
            if later or (recorded is not None and subject not in recorded):
                continue  # drift: removed by the plan
            problems.append(
                f"project {p['project']}: subject {subject} is granted in AD"
                f" ({entry['group']}) but not in the contract; subjects are never removed"
            )
    return problems
