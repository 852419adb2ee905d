"""Data shapes shared by the tre_ad planner and module: settings, DNs, entries read from AD.

Pure (no LDAP I/O). ldap3 is used only for its escaping helpers when it is importable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

try:
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import escape_rdn
except ImportError:  # the module reports missing_required_lib("ldap3") before any use
    escape_rdn = escape_filter_chars = None  # type: ignore[assignment]

#: accountExpires value meaning "never" (AD also accepts 0).
NEVER = 0x7FFFFFFFFFFFFFFF
UAC_NORMAL = 0x200
UAC_DISABLED = 0x2
#: groupType of a global security group (0x80000002 as signed 32-bit).
GLOBAL_SECURITY_GROUP = -2147483646
ACCOUNT_CLASSES = ["top", "person", "organizationalPerson", "user"]
GROUP_CLASSES = ["top", "group"]
OU_CLASSES = ["top", "organizationalUnit"]
ALLOCATOR_CN = "tre-id-allocator"

_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=UTC)
_DN_SPLIT = re.compile(r"(?<!\\),")


@dataclass(frozen=True)
class Settings:
    """Where the module puts things (docs/inventory.md)."""

    projects_ou: str
    software_ou: str
    upn_suffix: str

    @property
    def allocator_dn(self) -> str:
        return f"CN={ALLOCATOR_CN},{self.projects_ou}"


def rdn(attr: str, value: str) -> str:
    return f"{attr}={escape_rdn(value)}"


def project_ou_dn(s: Settings, ou: str) -> str:
    return f"{rdn('OU', ou)},{s.projects_ou}"


def group_dn(s: Settings, ou: str | None, name: str) -> str:
    """A project group lives in its project OU; a seat group (ou None) in the software OU."""
    parent = s.software_ou if ou is None else project_ou_dn(s, ou)
    return f"{rdn('CN', name)},{parent}"


def account_dn(s: Settings, ou: str, sam: str) -> str:
    return f"{rdn('CN', sam)},{project_ou_dn(s, ou)}"


def norm_dn(dn: str) -> str:
    """Comparable form of a DN: RDNs stripped of blanks around commas, lower-case."""
    return ",".join(part.strip() for part in _DN_SPLIT.split(dn)).lower()


def rdn_value(dn: str) -> str:
    """The value of a DN's first RDN, unescaped (for names in reports)."""
    first = _DN_SPLIT.split(dn, 1)[0]
    return re.sub(r"\\(.)", r"\1", first.split("=", 1)[-1])


def is_under(dn: str, parent: str) -> bool:
    return norm_dn(dn).endswith("," + norm_dn(parent))


def filetime(day: str | None) -> int:
    """``expires`` (ISO date, midnight UTC) as a Windows FILETIME; None means never."""
    if not day:
        return NEVER
    moment = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)
    return (moment - _EPOCH_1601) // timedelta(microseconds=1) * 10


def filetime_text(value: int | None) -> str | None:
    """A FILETIME as shown in reports: ISO timestamp, or ``never``."""
    if value is None:
        return None
    if value in (0, NEVER):
        return "never"
    moment = _EPOCH_1601 + timedelta(microseconds=value // 10)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Entry:
    """One object read from AD: ``kind`` is ou/group/account/other, attribute names lower-case."""

    dn: str
    kind: str
    attrs: dict[str, list[str]]

    @classmethod
    def from_raw(cls, dn: str, raw: dict) -> Entry:
        attrs: dict[str, list[str]] = {}
        for name, values in raw.items():
            base = name.split(";", 1)[0].lower()  # member;range=0-1499 -> member
            attrs.setdefault(base, []).extend(
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values
            )
        classes = {c.lower() for c in attrs.get("objectclass", [])}
        if "organizationalunit" in classes:
            kind = "ou"
        elif "group" in classes:
            kind = "group"
        elif "user" in classes and "computer" not in classes:
            kind = "account"
        else:
            kind = "other"
        return cls(dn=dn, kind=kind, attrs=attrs)

    def one(self, name: str) -> str | None:
        values = self.attrs.get(name.lower())
        return values[0] if values else None

    def number(self, name: str) -> int | None:
        value = self.one(name)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def members(self) -> list[str]:
        return self.attrs.get("member", [])


class Index:
    """The entries read from AD, looked up by normalised DN and by sAMAccountName."""

    def __init__(self, entries: list[Entry], settings: Settings) -> None:
        self.settings = settings
        self.entries = entries
        self.by_dn: dict[str, Entry] = {}
        #: accounts by the normalised DN of the OU right above them
        self.accounts_in: dict[str, list[Entry]] = {}
        allocator = norm_dn(settings.allocator_dn)
        used = [0]
        for e in entries:
            key = norm_dn(e.dn)
            self.by_dn[key] = e
            if e.kind == "account":
                self.accounts_in.setdefault(key.split(",", 1)[-1], []).append(e)
            if key != allocator:
                used.extend(n for n in (e.number("uidNumber"), e.number("gidNumber")) if n)
        #: highest uid/gid number held by any object read (the allocator's own value excluded)
        self.max_id = max(used)

    def get(self, dn: str) -> Entry | None:
        return self.by_dn.get(norm_dn(dn))


@dataclass
class Write:
    """One LDAP operation and the ``changes`` entries it realises when it succeeds."""

    op: str  # add | modify | delete
    dn: str
    #: add: {attr: value or list}; modify: {attr: [(MODIFY_ADD|MODIFY_DELETE|MODIFY_REPLACE, [v])]}
    attrs: dict = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    reports: list[dict] = field(default_factory=list)
    #: (project, sam) of a new account: the module adds an initial password to this add
    new_account: tuple[str, str] | None = None


def report(project, op, kind, name, dn, before=None, after=None) -> dict:
    """One entry of the module's ``changes`` (docs/desired-state.md)."""
    return {
        "project": project,
        "op": op,
        "kind": kind,
        "name": name,
        "dn": dn,
        "before": before,
        "after": after,
    }


class SeatWarning(str):
    """A seat pool over capacity: the one-line warning, and whom it concerns.

    ``projects`` are the run's projects holding seats of the pool; a plan shows the warning
    only when there are any (``tre`` reads ``attribution()`` from ``ad_seat_warnings``).
    """

    group: str
    holders: int
    seats: int
    projects: list[str]

    def __new__(cls, group: str, holders: int, seats: int, projects: list[str]) -> SeatWarning:
        text = f"{group}: {holders} members for {seats} seats (over capacity by {holders - seats})"
        warning = super().__new__(cls, text)
        warning.group, warning.holders, warning.seats = group, holders, seats
        warning.projects = list(projects)
        return warning

    def attribution(self) -> dict:
        return {
            "group": self.group,
            "holders": self.holders,
            "seats": self.seats,
            "projects": self.projects,
        }
