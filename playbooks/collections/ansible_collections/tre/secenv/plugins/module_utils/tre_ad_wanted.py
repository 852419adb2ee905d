"""Which AD objects a run wants, and which of them clash or lack a number (tre_ad).

Pure (no LDAP I/O): the desired state and the ``Index`` read from AD in, names and keys out.
"""

from __future__ import annotations

from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_identity import (
    recorded_gid,
    recorded_uid,
    records,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import (
    Entry,
    Index,
    account_dn,
    group_dn,
    norm_dn,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_subjects import reader_dn

ROLES = ("members", "observers")


def desired_objects(desired: dict, index: Index) -> list[tuple[str, str, str, str | None]]:
    """(kind, name, dn, project) of every group and account the run wants, groups first."""
    s = index.settings
    groups, accounts = [], []
    for p in desired.get("projects", []):
        for role in ROLES if "groups" not in (p.get("absent") or ()) else ():
            name = p["groups"][role]["name"]
            groups.append(("group", name, group_dn(s, p["ou"], name), p["project"]))
        for a in p.get("accounts", []):
            accounts.append(("account", a["sam"], account_dn(s, p["ou"], a["sam"]), p["project"]))
    for pool, _ in seat_pools(desired):
        groups.append(("group", pool["group"], group_dn(s, None, pool["group"]), None))
    for subject in sorted(desired.get("subjects") or {}):
        name = desired["subjects"][subject]["group"]
        groups.append(("group", name, reader_dn(index, name), None))
    return groups + accounts


def seat_pools(desired: dict) -> list[tuple[dict, str]]:
    """(pool, group description) of every seat pool: the software packages' seat groups, then
    the heavy desktop's group (the same shape: ``group``, ``seats``, ``members``)."""
    software = desired.get("software") or {}
    pools = [
        (software[pkg], f"Software seats {software[pkg]['group']}") for pkg in sorted(software)
    ]
    heavy = desired.get("heavy_desktop")
    if heavy:
        pools.append((heavy, f"Heavy desktop places {heavy['group']}"))
    return pools


def new_names(desired: dict, index: Index) -> dict[str, str]:
    """sAMAccountName (lower-case) -> expected DN of each wanted object not yet at its DN."""
    return {
        name.lower(): dn
        for _, name, dn, _ in desired_objects(desired, index)
        if index.get(dn) is None
    }


def clashes(desired: dict, index: Index, found: list[Entry]) -> list[str]:
    """One line per wanted name held by another object, or wrong kind at an expected DN."""
    problems = []
    wanted = new_names(desired, index)
    for e in found:
        sam = (e.one("sAMAccountName") or "").lower()
        if sam in wanted and norm_dn(e.dn) != norm_dn(wanted[sam]):
            problems.append(
                f"sAMAccountName {sam} is already used by {e.dn}, not by the "
                f"expected {wanted[sam]}: rename or remove that object"
            )
    for kind, _, dn, _ in desired_objects(desired, index):
        e = index.get(dn)
        if e is not None and e.kind != kind:
            problems.append(f"{dn} exists as {e.kind}, expected {kind}")
    return problems


def missing_ids(desired: dict, index: Index) -> list[str]:
    """Keys ``group:<name>`` / ``account:<sam>`` of wanted objects that have no number yet."""
    keys = []
    recs = records(desired)
    for kind, name, dn, _ in desired_objects(desired, index):
        recorded = recorded_gid(recs, name) if kind == "group" else recorded_uid(recs, name)
        if recorded is not None:
            continue  # issued once: restored from the record, never re-allocated
        e = index.get(dn)
        if e is None or e.number("gidNumber" if kind == "group" else "uidNumber") is None:
            keys.append(f"{kind}:{name}")
    return keys
