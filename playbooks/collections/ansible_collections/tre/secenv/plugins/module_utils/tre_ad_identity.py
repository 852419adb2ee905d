"""Identity checks of tre_ad: who an account belongs to, and whose a uid/gid number is.

Pure (no LDAP I/O). tre issues every account name and uid/gid number once and records it
(state store); the run hands those records in as ``desired["identities"]``:

    {"accounts": {sam: {"person": id, "uid": n}}, "groups": {name: {"gid": n}}}

Before any write the module checks what it read from AD against them: an account whose
``employeeID`` (the person id, set at creation) or record names another person than the
desired state never changes hands; a number that differs from its record is restored from the
record; after that, every uid of a tre account and every gid of a tre group must be unique
and inside the id range, or the run refuses with one line naming both objects. Only numbers
that passed these checks are returned in ``ids`` (the storage module writes ACLs from them).
"""

from __future__ import annotations

from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import (
    Index,
    account_dn,
    group_dn,
    norm_dn,
)


def records(desired: dict) -> tuple[dict, dict]:
    """(accounts, groups) records of the run, keyed by lower-case name."""
    ids = desired.get("identities") or {}
    accounts = {k.lower(): v for k, v in (ids.get("accounts") or {}).items()}
    groups = {k.lower(): v for k, v in (ids.get("groups") or {}).items()}
    return accounts, groups


def recorded_uid(desired_records: tuple[dict, dict], sam: str) -> int | None:
    rec = desired_records[0].get(sam.lower()) or {}
    return rec.get("uid") if isinstance(rec.get("uid"), int) else None


def recorded_gid(desired_records: tuple[dict, dict], name: str) -> int | None:
    rec = desired_records[1].get(name.lower()) or {}
    return rec.get("gid") if isinstance(rec.get("gid"), int) else None


def owner_problems(desired: dict, index: Index) -> list[str]:
    """Accounts the desired state would hand to another person than the one who has them."""
    s = index.settings
    accounts, _ = records(desired)
    problems = []
    for p in desired.get("projects", []):
        for a in p.get("accounts", []):
            person, sam = a.get("person"), a["sam"]
            recorded = (accounts.get(sam.lower()) or {}).get("person")
            entry = index.get(account_dn(s, p["ou"], sam))
            in_ad = entry.one("employeeID") if entry is not None else None
            if recorded and in_ad and recorded != in_ad:
                problems.append(
                    f"account {sam} is recorded for person {recorded} but its employeeID in AD"
                    f" says {in_ad}: fix AD by hand before applying"
                )
                continue
            holder = recorded or in_ad
            if holder and person != holder:
                problems.append(
                    f"account {sam} belongs to person {holder}; the desired state gives it to"
                    f" person {person}: an issued account never changes hands"
                )
    return problems


def number_problems(desired: dict, index: Index, id_min: int) -> list[str]:
    """Duplicate or out-of-range uid/gid numbers among tre's objects, after restoring records.

    In-run objects count with their recorded number (the run restores it); all other objects
    under the projects OU with the number AD shows.
    """
    recs = records(desired)
    allocator = norm_dn(index.settings.allocator_dn)
    holders: dict[tuple[str, int], list[str]] = {}
    problems = []
    for e in index.entries:
        if norm_dn(e.dn) == allocator or e.kind not in ("account", "group"):
            continue
        name = e.one("sAMAccountName") or ""
        if e.kind == "account":
            attr, number = "uidNumber", recorded_uid(recs, name)
        else:
            attr, number = "gidNumber", recorded_gid(recs, name)
        if number is None:
            number = e.number(attr)
        if number is None:
            continue
        if number < id_min:
            problems.append(
                f"{attr} {number} of {e.dn} is below tre's id range (from {id_min}):"
                " fix it in AD by hand; tre never writes file-system entries from it"
            )
            continue
        holders.setdefault((attr, number), []).append(e.dn)
    for p in desired.get("projects", []):  # recorded objects missing in AD come back as such
        for a in p.get("accounts", []):
            dn = account_dn(index.settings, p["ou"], a["sam"])
            uid = recorded_uid(recs, a["sam"])
            if uid is not None and index.get(dn) is None:
                holders.setdefault(("uidNumber", uid), []).append(dn)
        for role in ("members", "observers") if "groups" not in (p.get("absent") or ()) else ():
            name = p["groups"][role]["name"]
            dn = group_dn(index.settings, p["ou"], name)
            gid = recorded_gid(recs, name)
            if gid is not None and index.get(dn) is None:
                holders.setdefault(("gidNumber", gid), []).append(dn)
    for (attr, number), dns in sorted(holders.items()):
        if len(dns) > 1:
            problems.append(
                f"{attr} {number} is held by both {dns[0]} and {dns[1]}"
                + (f" (and {len(dns) - 2} more)" if len(dns) > 2 else "")
                + ": ids never move between objects; restore the right number in AD by hand"
                " or apply the project whose record restores it"
            )
    return problems
