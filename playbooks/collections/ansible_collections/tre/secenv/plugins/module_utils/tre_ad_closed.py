"""Deleting a closed project's accounts and groups (tre_ad; docs/lifecycle.md).

Pure (no LDAP I/O). A project entry of the desired state may list parts that must not exist:
``absent: ["accounts", "groups"]`` (``closed_account_days`` after the end). The module then
deletes them, but only objects it can prove are that project's:

- an account right inside ``OU=P<project>`` whose sAMAccountName is ``p<project>.<...>``
  (the names ``provisioning/naming.py`` builds); any other account in the OU is left alone
  (the planner disables it, with a warning, as before);
- the project's members and observers groups, at their DN in the OU, named
  ``p<project>-<role>``.

Memberships of the project in the reader groups (``DS-*``), seat groups and the heavy desktop
group are removed first (an ended project holds none: those writes come earlier in the plan);
the deletions are the plan's last writes. Deleting never frees a name or a number: tre's
identity records keep them (docs/ad-model.md#identity-names-and-numbers-never-change-hands).
"""

from __future__ import annotations

from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_identity import recorded_gid
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import (
    Entry,
    Index,
    Write,
    group_dn,
    norm_dn,
    project_ou_dn,
    rdn_value,
    report,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import ACCOUNT_RE

ROLES = ("members", "observers")


def absent(p: dict) -> set[str]:
    """The parts of a project entry that must not exist (validated by tre_desired)."""
    return set(p.get("absent") or ())


def tre_account(p: dict, entry: Entry) -> bool:
    """Whether an account in the project's OU is provably one tre made for this project."""
    sam = (entry.one("sAMAccountName") or "").lower()
    return bool(ACCOUNT_RE.fullmatch(sam)) and sam.startswith(f"p{p['project']}.")


def accounts_to_delete(p: dict, index: Index) -> list[Entry]:
    """The project's own accounts still in AD, when its accounts must be absent."""
    if "accounts" not in absent(p):
        return []
    ou = norm_dn(project_ou_dn(index.settings, p["ou"]))
    found = [e for e in index.accounts_in.get(ou, []) if tre_account(p, e)]
    return sorted(found, key=lambda e: norm_dn(e.dn))


def group_gids(p: dict, index: Index, records) -> dict[str, int | None]:
    """The numbers of an absent project's groups, for ``ids``: recorded, else AD's (a deleted
    group's number stays tre's; the storage module keeps ACL entries by number)."""
    gids = {}
    for role in ROLES:
        name = p["groups"][role]["name"]
        entry = index.get(group_dn(index.settings, p["ou"], name))
        gid = recorded_gid(records, name)
        gids[name] = gid if gid is not None else (entry.number("gidNumber") if entry else None)
    return gids


def deletions(p: dict, index: Index) -> list[Write]:
    """One delete per account, then per group; each report holds what was deleted."""
    writes = []
    for e in accounts_to_delete(p, index):
        before = {k: e.one(k) for k in ("sAMAccountName", "employeeID", "uidNumber", "gidNumber")}
        writes.append(_delete(p["project"], "account", e, before))
    if "groups" not in absent(p):
        return writes
    for role in ROLES:
        name = p["groups"][role]["name"]
        e = index.get(group_dn(index.settings, p["ou"], name))
        if e is None or e.kind != "group" or name.lower() != f"p{p['project']}-{role}":
            continue
        members = sorted(rdn_value(m) for m in e.members())
        before = {"sAMAccountName": e.one("sAMAccountName"), "gidNumber": e.one("gidNumber")}
        writes.append(_delete(p["project"], "group", e, dict(before, member=members)))
    return writes


def ou_deletion(p: dict, index: Index, deleted: set[str]) -> tuple[list[Write], str | None]:
    """A purged project's OU (``absent`` holds "ou"), deleted after its accounts and groups -
    only when nothing else tre read is inside it (else it stays, with a warning line)."""
    if "ou" not in absent(p):
        return [], None
    ou = index.get(project_ou_dn(index.settings, p["ou"]))
    if ou is None or ou.kind != "ou":
        return [], None
    key = norm_dn(ou.dn)
    inside = [e for e in index.entries if norm_dn(e.dn).endswith("," + key)]
    others = [e for e in inside if norm_dn(e.dn) not in deleted]
    if others:
        return [], (
            f"project {p['project']}: OU {ou.dn} holds {len(others)} object(s) that are not"
            " the project's own; the OU is left"
        )
    before = {"description": ou.one("description")}
    return [_delete(p["project"], "ou", ou, before)], None


def _delete(project: str, kind: str, e: Entry, before: dict) -> Write:
    before = {k: v for k, v in before.items() if v is not None}
    for key in ("uidNumber", "gidNumber"):
        if isinstance(before.get(key), str) and before[key].isdigit():
            before[key] = int(before[key])
    name = e.one("sAMAccountName") or rdn_value(e.dn)
    return Write("delete", e.dn, reports=[report(project, "delete", kind, name, e.dn, before)])
