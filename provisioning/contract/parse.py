"""Structure: parsed YAML → typed draft of a contract, with a problem for every bad field.

The draft holds the model dataclasses, but any field that failed to read is ``None`` so that
``rules.py`` can still check everything else (all problems in one pass). Only when no problem
is left does ``load.py`` turn the draft into a real ``Contract``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from provisioning.ids import (
    EMAIL_RE,
    FILE_SUBJECT_RE,
    PACKAGE_RE,
    PERSON_ID_RE,
    PROJECT_RE,
    TOKEN_RE,
)
from provisioning.policy_model import Policy
from provisioning.validation.fields import FILE_PATH, Checker, join

from .model import (
    ExtraStorage,
    FileSubjectGrant,
    HeavyDesktop,
    Institution,
    Ossc,
    Person,
    SoftwareSeat,
    Suspension,
    Transfer,
)
from .reopens import reopens_key

TOP_REQUIRED = (
    "project",
    "title",
    "status",
    "institution",
    "start",
    "end",
    "retention_years",
    "lead",
    "researchers",
)
TOP_OPTIONAL = (
    "observers",
    "file_subjects",
    "software",
    "storage",
    "ossc",
    "suspensions",
    "heavy_desktop",
    "moves_from",
    "transfers",
    "reopens",
)
PERSON_REQUIRED = ("id", "name", "email", "employer")
PERSON_OPTIONAL = (
    "nda_signed",
    "awareness_errors",
    "token",
    "existing_token",
    "from",
    "until",
    "language",
)
LANGUAGE_RE = re.compile(r"^(nl|en)\Z")
STATUS_RE = re.compile(r"^(draft|approved)\Z")
MAX_PEOPLE = 500
MAX_ITEMS = 200


@dataclass
class Draft:
    """A contract as far as it could be read; ``None`` marks a field that had a problem."""

    project: str | None = None
    title: str | None = None
    status: str | None = None
    institution: Institution | None = None
    start: date | None = None
    end: date | None = None
    retention_years: int | None = None
    lead: str | None = None
    researchers: list[Person | None] = field(default_factory=list)
    observers: list[Person | None] = field(default_factory=list)
    file_subjects: list[FileSubjectGrant | None] = field(default_factory=list)
    software: list[SoftwareSeat | None] = field(default_factory=list)
    extra_storage: list[ExtraStorage | None] = field(default_factory=list)
    ossc: Ossc | None = None
    suspensions: list[Suspension | None] = field(default_factory=list)
    heavy_desktop: list[HeavyDesktop | None] = field(default_factory=list)
    moves_from: str | None = None  # read by links.py
    transfers: list[Transfer | None] = field(default_factory=list)  # read by links.py
    reopens: str | None = None  # issue 12: the ended project this new one reopens
    #: Which optional keys were given explicitly (``from``/``until`` defaults are filled in).
    given: set[str] = field(default_factory=set)


def parse(doc: Any, policy: Policy, c: Checker) -> Draft:
    d = Draft()
    if isinstance(doc, dict) and not any(k in TOP_REQUIRED + TOP_OPTIONAL for k in doc):
        # another kind of file (a symlink to /etc/shadow ...): its keys are never echoed
        c.add(
            FILE_PATH,
            "type",
            f"not a contract: none of its {len(doc)} keys is a contract key "
            "(project, title, researchers, ...); its content is not shown",
        )
        return d
    top = c.mapping(doc, "", TOP_REQUIRED, TOP_OPTIONAL)
    if top is None:
        return d
    d.project = _project(top.get("project"), c) if "project" in top else None
    if "title" in top:
        d.title = c.text(top["title"], "title", max_len=300)
    if "status" in top:
        d.status = c.pattern(top["status"], "status", STATUS_RE, "status", "draft or approved")
    if "institution" in top:
        d.institution = _institution(top["institution"], c)
    if "start" in top:
        d.start = c.date(top["start"], "start")
    if "end" in top:
        d.end = c.date(top["end"], "end")
    if "retention_years" in top:
        d.retention_years = c.integer(top["retention_years"], "retention_years", 1, 100)
    if "lead" in top:
        d.lead = c.pattern(top["lead"], "lead", PERSON_ID_RE, "person-id", _ID_WHAT)
    if "researchers" in top:
        d.researchers = _people(top["researchers"], "researchers", "researcher", d, c)
        if isinstance(top["researchers"], list) and len(top["researchers"]) <= MAX_PEOPLE:
            d.given.add("researchers")
    if top.get("observers") is not None:
        d.observers = _people(top["observers"], "observers", "observer", d, c)
    if top.get("file_subjects") is not None:
        d.file_subjects = _subjects(top["file_subjects"], d, c)
    if top.get("software") is not None:
        d.software = _software(top["software"], d, c)
    if top.get("storage") is not None:
        d.extra_storage = _storage(top["storage"], d, policy, c)
    if top.get("ossc") is not None:
        d.ossc = _ossc(top["ossc"], d, c)
        d.given.add("ossc")
    if top.get("suspensions") is not None:
        d.suspensions = _suspensions(top["suspensions"], d, c)
    if top.get("heavy_desktop") is not None:
        d.heavy_desktop = _heavy_desktop(top["heavy_desktop"], d, c)
    if top.get("reopens") is not None:
        d.reopens = reopens_key(top["reopens"], d.project, c)
    return d


_ID_WHAT = "a person id (a lower-case letter, then 1-15 lower-case letters or digits)"


def _project(value: Any, c: Checker) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return c.pattern(
        value,
        "project",
        PROJECT_RE,
        "project-number",
        "a project number (1-8 digits, no leading 0)",
    )


def _institution(value: Any, c: Checker) -> Institution | None:
    m = c.mapping(value, "institution", ("name", "authorization_until"))
    if m is None:
        return None
    name = c.text(m["name"], "institution.name") if "name" in m else None
    until = (
        c.date(m["authorization_until"], "institution.authorization_until")
        if "authorization_until" in m
        else None
    )
    return Institution(name, until)  # type: ignore[arg-type]


def _items(value: Any, path: str, c: Checker, limit: int = MAX_ITEMS) -> list[Any]:
    seq = c.sequence(value, path)
    if seq is None:
        return []
    if len(seq) > limit:
        c.add(path, "range", f"{len(seq)} entries; at most {limit}")
        return []
    return seq


def _period(
    m: dict[str, Any],
    path: str,
    default_start: date | None,
    default_end: date | None,
    d: Draft,
    c: Checker,
) -> tuple[date | None, date | None]:
    """``from``/``until`` of an entry (defaults filled in); records which were given."""
    for key in ("from", "until"):
        if key in m:
            d.given.add(join(path, key))
    start = c.date(m["from"], join(path, "from")) if "from" in m else default_start
    end = c.date(m["until"], join(path, "until")) if "until" in m else default_end
    return start, end


def _people(value: Any, path: str, role: str, d: Draft, c: Checker) -> list[Person | None]:
    out: list[Person | None] = []
    optional = PERSON_OPTIONAL + (("read_account",) if role == "observer" else ())
    for i, item in enumerate(_items(value, path, c, MAX_PEOPLE)):
        p = join(path, i)
        m = c.mapping(item, p, PERSON_REQUIRED, optional)
        if m is None:
            out.append(None)
            continue
        get = m.get
        pid = (
            c.pattern(get("id"), join(p, "id"), PERSON_ID_RE, "person-id", _ID_WHAT)
            if "id" in m
            else None
        )
        name = c.text(get("name"), join(p, "name"), max_len=120) if "name" in m else None
        email = None
        if "email" in m:
            email = c.pattern(
                get("email"), join(p, "email"), EMAIL_RE, "email", "an e-mail address"
            )
            if email and len(email) > 254:
                c.add(join(p, "email"), "email", "longer than 254 characters")
                email = None
        employer = c.text(get("employer"), join(p, "employer")) if "employer" in m else None
        nda = (
            c.date(get("nda_signed"), join(p, "nda_signed"))
            if get("nda_signed") is not None
            else None
        )
        errors = (
            c.integer(get("awareness_errors"), join(p, "awareness_errors"), 0, 1000)
            if get("awareness_errors") is not None
            else None
        )
        token = (
            c.pattern(
                get("token"),
                join(p, "token"),
                TOKEN_RE,
                "token-format",
                "a token serial such as T-0012345",
            )
            if get("token") is not None
            else None
        )
        existing = (
            c.boolean(get("existing_token"), join(p, "existing_token"))
            if "existing_token" in m
            else False
        )
        read = True
        if role == "observer":
            read = (
                c.boolean(get("read_account"), join(p, "read_account"))
                if "read_account" in m
                else False
            )
        language = (
            c.pattern(get("language"), join(p, "language"), LANGUAGE_RE, "language", "nl or en")
            if "language" in m
            else "nl"
        )
        start, end = _period(m, p, d.start, d.end, d, c)
        out.append(
            Person(
                id=pid,  # type: ignore[arg-type]
                name=name,  # type: ignore[arg-type]
                email=email,  # type: ignore[arg-type]
                employer=employer,  # type: ignore[arg-type]
                role=role,  # type: ignore[arg-type]
                nda_signed=nda,
                awareness_errors=errors,
                token=token,
                existing_token=bool(existing),
                read_account=bool(read) if read is not None else False,
                language=language or "nl",  # type: ignore[arg-type]
                start=start,  # type: ignore[arg-type]
                end=end,  # type: ignore[arg-type]
            )
        )
    return out


def _subjects(value: Any, d: Draft, c: Checker) -> list[FileSubjectGrant | None]:
    out: list[FileSubjectGrant | None] = []
    what = "a catalogue file subject name (upper-case letters and digits)"
    for i, item in enumerate(_items(value, "file_subjects", c)):
        p = join("file_subjects", i)
        if isinstance(item, dict):
            m = c.mapping(item, p, ("name",), ("from",))
            assert m is not None
            name = (
                c.pattern(
                    m.get("name"), join(p, "name"), FILE_SUBJECT_RE, "file-subject-name", what
                )
                if "name" in m
                else None
            )
            start = c.date(m["from"], join(p, "from")) if "from" in m else d.start
            if "from" in m:
                d.given.add(join(p, "from"))
        elif isinstance(item, str):
            name = c.pattern(item, p, FILE_SUBJECT_RE, "file-subject-name", what)
            start = d.start
        else:
            c.wrong_type(item, p, "a subject name or {name, from}")
            out.append(None)
            continue
        out.append(FileSubjectGrant(name, start) if name else None)  # type: ignore[arg-type]
    return out


def _software(value: Any, d: Draft, c: Checker) -> list[SoftwareSeat | None]:
    out: list[SoftwareSeat | None] = []
    for i, item in enumerate(_items(value, "software", c)):
        p = join("software", i)
        m = c.mapping(item, p, ("package", "from"), ("until",))
        if m is None:
            out.append(None)
            continue
        package = (
            c.pattern(
                m["package"],
                join(p, "package"),
                PACKAGE_RE,
                "software-unknown",
                "a package name such as SAS",
            )
            if "package" in m
            else None
        )
        start, end = _period(m, p, None, d.end, d, c)
        out.append(SoftwareSeat(package, start, end))  # type: ignore[arg-type]
    return out


def _storage(value: Any, d: Draft, policy: Policy, c: Checker) -> list[ExtraStorage | None]:
    m = c.mapping(value, "storage", (), ("extra",))
    if m is None or m.get("extra") is None:
        return []
    out: list[ExtraStorage | None] = []
    sizes = [s.size for s in policy.storage_steps]
    for i, item in enumerate(_items(m["extra"], "storage.extra", c)):
        p = join("storage.extra", i)
        e = c.mapping(item, p, ("size", "from"), ("until",))
        if e is None:
            out.append(None)
            continue
        size, size_bytes = None, 0
        if "size" in e:
            if e["size"] in sizes:
                size = e["size"]
                size_bytes = policy.storage_step(size).size_bytes
            else:
                got = e["size"] if isinstance(e["size"], str) else repr(e["size"])
                c.add(
                    join(p, "size"),
                    "storage-step",
                    f"{got[:20]!r} is not an allowed step; one of {', '.join(sizes)} per entry "
                    "(add entries for more)",
                )
        start, end = _period(e, p, None, d.end, d, c)
        out.append(ExtraStorage(size, size_bytes, start, end) if size else None)  # type: ignore[arg-type]
    return out


def _ossc(value: Any, d: Draft, c: Checker) -> Ossc | None:
    m = c.mapping(value, "ossc", ("researchers", "from"), ("until",))
    if m is None:
        return None
    ids: list[str] = []
    for i, item in enumerate(_items(m.get("researchers", []), "ossc.researchers", c)):
        pid = c.pattern(item, join("ossc.researchers", i), PERSON_ID_RE, "person-id", _ID_WHAT)
        if pid:
            ids.append(pid)
    start, end = _period(m, "ossc", None, d.end, d, c)
    return Ossc(tuple(ids), start, end)  # type: ignore[arg-type]


def _suspensions(value: Any, d: Draft, c: Checker) -> list[Suspension | None]:
    out: list[Suspension | None] = []
    for i, item in enumerate(_items(value, "suspensions", c)):
        p = join("suspensions", i)
        m = c.mapping(item, p, ("from", "until"))
        if m is None or "from" not in m or "until" not in m:
            out.append(None)
            continue
        start, end = _period(m, p, None, None, d, c)
        out.append(Suspension(start, end) if start and end else None)
    return out


def _heavy_desktop(value: Any, d: Draft, c: Checker) -> list[HeavyDesktop | None]:
    out: list[HeavyDesktop | None] = []
    for i, item in enumerate(_items(value, "heavy_desktop", c)):
        p = join("heavy_desktop", i)
        m = c.mapping(item, p, ("researcher", "from", "until"))
        if m is None or any(k not in m for k in ("researcher", "from", "until")):
            out.append(None)
            continue
        pid = c.pattern(m["researcher"], join(p, "researcher"), PERSON_ID_RE, "person-id", _ID_WHAT)
        start, end = _period(m, p, None, None, d, c)
        out.append(HeavyDesktop(pid, start, end) if pid and start and end else None)
    return out
