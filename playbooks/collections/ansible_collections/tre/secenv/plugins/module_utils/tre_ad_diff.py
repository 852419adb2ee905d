"""Pure planning for the tre_ad module: desired state + objects read from AD -> writes.

Which objects a run wants and which names or numbers clash live in ``tre_ad_wanted``.

No LDAP I/O here: the module reads AD once into an :class:`Index`, and this module works out
which objects to create, which attributes to change, which accounts to enable or disable and
which members to add or remove (all members of a group in one write). Every write carries the
``changes`` entries it realises, so the module can report exactly what was applied when a later
write fails. Passwords never pass through this module.
"""

from __future__ import annotations

from ansible_collections.tre.secenv.plugins.module_utils import tre_ad_closed as closed
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_identity import (
    recorded_gid,
    recorded_uid,
    records,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import (
    ACCOUNT_CLASSES,
    GLOBAL_SECURITY_GROUP,
    GROUP_CLASSES,
    NEVER,
    OU_CLASSES,
    UAC_DISABLED,
    UAC_NORMAL,
    Index,
    SeatWarning,
    Write,
    account_dn,
    filetime,
    filetime_text,
    group_dn,
    is_under,
    norm_dn,
    project_ou_dn,
    rdn_value,
    report,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_subjects import (
    reader_dn,
    subjects_ou,
    wanted_readers,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_wanted import seat_pools

ROLES = (("members", "researchers"), ("observers", "observers (read-only)"))


class Planner:
    """Builds the writes for one run; ``new_ids`` gives the numbers of ``missing_ids``."""

    def __init__(self, desired: dict, index: Index, new_ids: dict[str, int | None]) -> None:
        self.desired, self.index, self.s, self.new_ids = desired, index, index.settings, new_ids
        self.records = records(desired)
        self.warnings: list[str] = []
        self.gids: dict[str, int | None] = {}
        self.uids: dict[str, dict] = {}
        # sam (lower) -> (project, dn) of every account of the run
        self.account_of: dict[str, tuple[str, str]] = {}
        self.project_ous = {
            norm_dn(project_ou_dn(self.s, p["ou"])): p["project"]
            for p in desired.get("projects", [])
        }
        for p in desired.get("projects", []):
            for a in p.get("accounts", []):
                self.account_of[a["sam"].lower()] = (
                    p["project"],
                    account_dn(self.s, p["ou"], a["sam"]),
                )

    def plan(self) -> tuple[list[Write], list[str], dict]:
        ous, groups, accounts, members = [], [], [], []
        if self.desired.get("software") and self.index.get(self.s.software_ou) is None:
            if is_under(self.s.software_ou, self.s.projects_ou):
                ous.append(
                    self._add(
                        None,
                        "ou",
                        self.s.software_ou,
                        OU_CLASSES,
                        {"description": "Software seat groups"},
                    )
                )
            else:
                self.warnings.append(f"software OU {self.s.software_ou} not found")
        for p in self.desired.get("projects", []):
            ous.extend(self._ou(p))
            if "groups" in closed.absent(p):  # deleted last, after every membership change
                self.gids.update(closed.group_gids(p, self.index, self.records))
                continue
            for role, text in ROLES:
                name = p["groups"][role]["name"]
                wanted = [
                    account_dn(self.s, p["ou"], a["sam"])
                    for a in p.get("accounts", [])
                    if a["group"] == role
                ]
                # a project's own groups are authoritative: hand-added members go too
                g, m = self._group(
                    p["project"],
                    name,
                    group_dn(self.s, p["ou"], name),
                    f"Project {p['project']} {text}",
                    wanted,
                    "all",
                )
                groups.extend(g)
                members.extend(m)
        for pool, description in seat_pools(self.desired):
            g, m = self._seats(pool, description)
            groups.extend(g)
            members.extend(m)
        ous.extend(self._subjects_ou())
        for subject in sorted(self.desired.get("subjects") or {}):
            name = self.desired["subjects"][subject]["group"]
            g, m = self._group(
                None,
                name,
                reader_dn(self.index, name),
                f"Catalogue readers of {subject}",
                wanted_readers(self.desired, self.index, subject),
                None,
            )
            groups.extend(g)
            members.extend(m)
        deleted = []
        for p in self.desired.get("projects", []):
            accounts.extend(self._accounts(p))
            gone = closed.deletions(p, self.index)
            deleted.extend(gone)
            ou, why = closed.ou_deletion(p, self.index, {norm_dn(w.dn) for w in gone})
            deleted.extend(ou)
            if why:
                self.warnings.append(why)
        ids = {"accounts": self.uids, "groups": self.gids}
        # accounts before groups: new groups are added with their members in the same add;
        # deletions last: memberships in reader, seat and heavy desktop groups go first
        return ous + accounts + groups + members + deleted, self.warnings, ids

    def _add(self, project, kind, dn, classes, after, new_account=None) -> Write:
        attrs = {k: v for k, v in after.items() if v is not None}
        return Write(
            "add",
            dn,
            attrs,
            list(classes),
            [report(project, "create", kind, rdn_value(dn), dn, None, after)],
            new_account,
        )

    def _ou(self, p: dict) -> list[Write]:
        if "ou" in closed.absent(p):  # purged: deleted last (closed.ou_deletion)
            return []
        dn = project_ou_dn(self.s, p["ou"])
        title = p.get("title") or f"Project {p['project']}"
        entry = self.index.get(dn)
        if entry is None:
            return [self._add(p["project"], "ou", dn, OU_CLASSES, {"description": title})]
        if entry.one("description") != title:
            return [
                _replace(
                    p["project"],
                    "update",
                    "ou",
                    dn,
                    {"description": (entry.one("description"), title)},
                )
            ]
        return []

    def _group(self, project, name, dn, description, wanted, scope) -> tuple[list, list]:
        """Create or update a group; ``scope``: "all" members, or None: those of run projects."""
        entry = self.index.get(dn)
        have = entry.number("gidNumber") if entry else None
        gid = recorded_gid(self.records, name)  # an issued number is restored, never moved
        if gid is None:
            gid = have if have is not None else self.new_ids.get(f"group:{name}")
        self.gids[name] = gid
        if entry is None:
            after = {
                "sAMAccountName": name,
                "groupType": GLOBAL_SECURITY_GROUP,
                "gidNumber": gid,
                "description": description,
            }
            add = self._add(project, "group", dn, GROUP_CLASSES, after)
            if wanted:
                add.attrs["member"] = list(wanted)
                add.reports.extend(self._member_reports(project, "add_members", name, dn, wanted))
            return [add], []
        pairs = {}
        if have is None or have != gid:
            pairs["gidNumber"] = (have, gid)
        if entry.one("description") != description:
            pairs["description"] = (entry.one("description"), description)
        writes = [_replace(project, "update", "group", dn, pairs)] if pairs else []
        current = {norm_dn(m): m for m in entry.members()}
        wanted_n = {norm_dn(m): m for m in wanted}
        add = [m for k, m in wanted_n.items() if k not in current]
        remove = [m for k, m in current.items() if k not in wanted_n and self._managed(m, scope)]
        if not add and not remove:
            return writes, []
        mods = []
        if add:
            mods.append(("MODIFY_ADD", add))
        if remove:
            mods.append(("MODIFY_DELETE", remove))
        w = Write("modify", dn, {"member": mods})
        w.reports = self._member_reports(
            project, "add_members", name, dn, add
        ) + self._member_reports(project, "remove_members", name, dn, remove)
        return writes, [w]

    def _managed(self, member_dn: str, scope: str | None) -> bool:
        """Whether the run may remove this member: all, or those in a run project's OU."""
        return scope == "all" or self._project_of(member_dn) is not None

    def _project_of(self, member_dn: str) -> str | None:
        """The run project whose OU holds this account (accounts sit right in the OU)."""
        return self.project_ous.get(norm_dn(member_dn).split(",", 1)[-1])

    def _member_reports(self, project, op, name, dn, members) -> list[dict]:
        """One report per project (seat groups mix projects), members named by their CN."""
        by_project: dict = {}
        for m in members:
            owner = project if project is not None else self._project_of(m)
            by_project.setdefault(owner, []).append(rdn_value(m))
        key = "after" if op == "add_members" else "before"
        return [
            report(owner, op, "group", name, dn, **{key: {"member": sorted(names)}})
            for owner, names in by_project.items()
        ]

    def _subjects_ou(self) -> list[Write]:
        dn = subjects_ou(self.s.projects_ou)
        if not self.desired.get("subjects") or self.index.get(dn) is not None:
            return []
        return [self._add(None, "ou", dn, OU_CLASSES, {"description": "Catalogue readers"})]

    def _seats(self, sw: dict, description: str) -> tuple[list, list]:
        name = sw["group"]
        wanted = []
        for sam in dict.fromkeys(sw.get("members", [])):
            if sam.lower() in self.account_of:
                wanted.append(self.account_of[sam.lower()][1])
            else:
                self.warnings.append(f"{name}: seat holder {sam} is not an account of this run")
        dn = group_dn(self.s, None, name)
        writes, members = self._group(None, name, dn, description, wanted, None)
        entry = self.index.get(dn)
        kept = [m for m in (entry.members() if entry else []) if not self._managed(m, None)]
        total = len(kept) + len(wanted)
        if total > sw.get("seats", 0):
            # attributed to the run's projects holding seats: only their plans show it
            holding = {self._project_of(m) for m in wanted}
            projects = sorted(filter(None, holding), key=lambda p: (len(p), p))
            self.warnings.append(SeatWarning(name, total, sw.get("seats", 0), projects))
        return writes, members

    def _accounts(self, p: dict) -> list[Write]:
        writes = []
        wanted = {norm_dn(e.dn) for e in closed.accounts_to_delete(p, self.index)}  # deleted
        for a in p.get("accounts", []):
            dn = account_dn(self.s, p["ou"], a["sam"])
            wanted.add(norm_dn(dn))
            writes.extend(self._account(p, a, dn))
        ou = norm_dn(project_ou_dn(self.s, p["ou"]))
        for e in self.index.accounts_in.get(ou, []):  # accounts the desired state lacks
            if norm_dn(e.dn) not in wanted:
                uac = e.number("userAccountControl") or UAC_NORMAL
                if not uac & UAC_DISABLED:
                    self.warnings.append(
                        f"{e.one('sAMAccountName') or e.dn} in project "
                        f"{p['project']} is not in the desired state: disabled"
                    )
                    writes.append(
                        _replace(
                            p["project"],
                            "disable",
                            "account",
                            e.dn,
                            {"userAccountControl": (uac, uac | UAC_DISABLED)},
                        )
                    )
        return writes

    def _account(self, p: dict, a: dict, dn: str) -> list[Write]:
        entry = self.index.get(dn)
        uid = recorded_uid(self.records, a["sam"])  # an issued number is restored, never moved
        if uid is None:
            uid = entry.number("uidNumber") if entry else None
        if uid is None:
            uid = self.new_ids.get(f"account:{a['sam']}")
        gid = self.gids.get(p["groups"][a["group"]]["name"])
        self.uids[a["sam"]] = {"uid": uid, "gid": gid}
        want = {
            "sAMAccountName": a["sam"],
            "userPrincipalName": f"{a['sam']}@{self.s.upn_suffix}",
            "displayName": a.get("display_name") or None,
            "givenName": a.get("given_name") or None,
            "sn": a.get("surname") or None,
            "mail": a.get("mail") or None,
            "company": a.get("employer") or None,
            # the person the account belongs to, for life (checked by tre_ad_identity)
            "employeeID": a.get("person") or None,
            "uidNumber": uid,
            "gidNumber": gid,
        }
        expires = filetime(a.get("expires"))
        if entry is None:
            uac = UAC_NORMAL | (0 if a.get("enabled") else UAC_DISABLED)
            after = dict(
                want, userAccountControl=uac, accountExpires=filetime_text(expires), pwdLastSet=0
            )
            w = self._add(
                p["project"], "account", dn, ACCOUNT_CLASSES, after, (p["project"], a["sam"])
            )
            w.attrs["accountExpires"] = expires
            return [w]
        pairs = {}
        for k, v in want.items():
            have = _typed(entry.one(k), v)
            # a missing number is reported even in check mode, where the new one is unknown
            if have != v or (have is None and k in ("uidNumber", "gidNumber")):
                pairs[k] = (have, v)
        reports = []
        if pairs:
            reports.append(
                report(
                    p["project"],
                    "update",
                    "account",
                    a["sam"],
                    dn,
                    {k: v[0] for k, v in pairs.items()},
                    {k: v[1] for k, v in pairs.items()},
                )
            )
        mods = {k: [("MODIFY_REPLACE", [] if v[1] is None else [v[1]])] for k, v in pairs.items()}
        have = entry.number("accountExpires")
        if not (have == expires or (have in (0, NEVER) and expires == NEVER)):
            mods["accountExpires"] = [("MODIFY_REPLACE", [expires])]
            reports.append(
                report(
                    p["project"],
                    "update",
                    "account",
                    a["sam"],
                    dn,
                    {"accountExpires": filetime_text(have)},
                    {"accountExpires": filetime_text(expires)},
                )
            )
        uac = entry.number("userAccountControl") or UAC_NORMAL
        if bool(uac & UAC_DISABLED) == bool(a.get("enabled")):
            new = (uac & ~UAC_DISABLED) | (0 if a.get("enabled") else UAC_DISABLED)
            mods["userAccountControl"] = [("MODIFY_REPLACE", [new])]
            reports.append(
                report(
                    p["project"],
                    "enable" if a.get("enabled") else "disable",
                    "account",
                    a["sam"],
                    dn,
                    {"userAccountControl": uac},
                    {"userAccountControl": new},
                )
            )
        return [Write("modify", dn, mods, reports=reports)] if mods else []


def _typed(actual: str | None, wanted):
    """The actual value in the wanted value's type, so 200001 == "200001"."""
    if actual is not None and isinstance(wanted, int):
        try:
            return int(actual)
        except ValueError:
            return actual
    return actual


def _replace(project, op, kind, dn, pairs: dict) -> Write:
    """Replace every attribute of ``pairs`` ({attr: (before, after)}); after None deletes."""
    mods = {k: [("MODIFY_REPLACE", [] if v[1] is None else [v[1]])] for k, v in pairs.items()}
    return Write(
        "modify",
        dn,
        mods,
        reports=[
            report(
                project,
                op,
                kind,
                rdn_value(dn),
                dn,
                {k: v[0] for k, v in pairs.items()},
                {k: v[1] for k, v in pairs.items()},
            )
        ],
    )


def plan(desired: dict, index: Index, new_ids: dict[str, int | None]):
    """(writes, warnings, ids) that bring AD to ``desired``."""
    return Planner(desired, index, new_ids).plan()
