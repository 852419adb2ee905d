"""The one validation of ``tre_desired`` in the collection, and its identifier patterns.

Every module that reads the desired state (docs/desired-state.md) checks it here first, so
a value reaching a DN, an LDAP filter, a path or a manifest has passed one strict pattern.
``validate`` returns one line per problem (never the whole value of a free text); it checks
every part that is present, and ``required`` names the project parts a module reads and so
cannot do without (``tre_ad``: ``ou`` and ``groups``; ``tre_storage``: ``groups`` and
``storage``). What a module adds on top (``ids`` of ``tre_storage``, remote paths of the
OSSC hand-off) stays in that module.

The names are those ``provisioning/naming.py`` builds, at most 20 characters (the
pre-Windows 2000 logon name limit of AD):

- accounts ``p<project>.<person id>`` (a cut id ends in ``-`` and three characters of a
  hash): lower-case letters, digits, ``.`` and ``-``, never starting with ``.`` or ``-``
  (``ACCOUNT_RE``);
- groups: the project groups ``p<project>-members``/``-observers`` (lower case), the seat
  groups ``SW-<PACKAGE>``, the heavy desktop's ``HEAVY-DESKTOP`` (``heavy_desktop``, shaped
  like a seat pool) and the reader groups ``DS-<SUBJECT>`` (upper case; a cut reader
  group ends in ``-`` and three lower-case hash characters): letters, digits and ``-``, no
  ``.`` and no ``_`` (``GROUP_RE``).

The patterns shared with the controller (project, subject, person id, e-mail) have
the values of ``provisioning/ids.py``: the collection keeps its own copy because modules run
without the ``tre`` package; tests/modules/test_tre_desired.py checks that they agree.

Patterns end in ``\\Z`` (``$`` also matches before a trailing newline) and are used with
``fullmatch``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import date

PROJECT_RE = re.compile(r"^[1-9][0-9]{0,7}\Z")
OU_NAME_RE = re.compile(r"^P[1-9][0-9]{0,7}\Z")
ACCOUNT_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,19}\Z")
GROUP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}\Z")
SUBJECT_RE = re.compile(r"^[A-Z][A-Z0-9]{1,39}\Z")
PERSON_RE = re.compile(r"^[a-z][a-z0-9]{1,15}\Z")
REVISION_RE = re.compile(r"^[0-9a-f]{16,64}\Z")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
EMAIL_RE = re.compile(rf"^[^@\s\x00-\x1f\x7f-\x9f\"<>,;:()\[\]\\]+@{_LABEL}(?:\.{_LABEL})+\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ROLES = ("members", "observers")
#: Parts of a project that ``absent`` may name (docs/desired-state.md); groups only with
#: accounts (an account's primary group is a project group); the OU only with the groups
#: (a purged project, docs/retention.md).
ABSENT_PARTS = ("accounts", "groups", "ou")


def matches(pattern: re.Pattern, value: object) -> bool:
    return isinstance(value, str) and bool(pattern.fullmatch(value))


def is_date(value: object) -> bool:
    if not matches(DATE_RE, value):
        return False
    try:
        date.fromisoformat(value)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def _size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _subjects(value: object, nullable: bool = False) -> bool:
    if value is None:
        return nullable
    return isinstance(value, list) and all(matches(SUBJECT_RE, s) for s in value)


def validate(desired: object, required: tuple[str, ...] = ()) -> list[str]:
    """Problems with the desired state's shape and names, one line each (empty: valid)."""
    if not isinstance(desired, dict):
        return ["the desired state is not a mapping"]
    errors: list[str] = []
    if "today" in desired and not is_date(desired["today"]):
        errors.append(f"today {desired['today']!r} is not an ISO date")
    projects = desired.get("projects") or []
    if not isinstance(projects, list):
        return [*errors, "projects is not a list"]
    seen_projects: set[str] = set()
    seen_sams: set[str] = set()
    for p in projects:
        if not isinstance(p, dict):
            errors.append("a project is not a mapping")
            continue
        project = str(p.get("project", ""))
        ou = p.get("ou")
        bad_ou = ("ou" in required or ou is not None) and (
            ou != f"P{project}" or not matches(OU_NAME_RE, ou)
        )
        if not PROJECT_RE.fullmatch(project) or bad_ou:
            errors.append(f"project {project!r}: bad project number or ou {ou!r}")
            continue
        if project in seen_projects:
            errors.append(f"project {project} is listed twice")
        seen_projects.add(project)
        for part in required:
            if part != "ou" and not p.get(part):
                errors.append(f"project {project}: {part} missing")
        errors.extend(_project_problems(p, project, seen_sams))
    errors.extend(_software_problems(desired.get("software")))
    if desired.get("heavy_desktop") is not None:
        errors.extend(_software_problems({"heavy_desktop": desired["heavy_desktop"]}))
    errors.extend(_subject_problems(desired.get("subjects")))
    errors.extend(_identity_problems(desired.get("identities")))
    return errors


def _project_problems(p: dict, project: str, seen_sams: set[str]) -> list[str]:
    errors = []
    groups = p.get("groups")
    if groups is not None:
        for role in ROLES:
            name = ((groups or {}).get(role) or {}).get("name", "")
            if not matches(GROUP_RE, name):
                errors.append(f"project {project}: bad {role} group name {name!r}")
    for a in p.get("accounts") or []:
        sam = a.get("sam", "")
        if not matches(ACCOUNT_RE, sam):
            errors.append(f"project {project}: bad sAMAccountName {sam!r}")
            continue
        if sam.lower() in seen_sams:
            errors.append(f"project {project}: sAMAccountName {sam} appears twice")
        seen_sams.add(sam.lower())
        if a.get("group") not in ROLES:
            errors.append(f"{sam}: group must be members or observers")
        if a.get("expires") and not is_date(a["expires"]):
            errors.append(f"{sam}: expires {a.get('expires')!r} is not an ISO date")
        if "enabled" in a and not isinstance(a["enabled"], bool):
            errors.append(f"{sam}: enabled must be true or false")
    if p.get("absent") is not None:
        errors.extend(_absent_problems(p, project))
    if p.get("storage") is not None:
        errors.extend(_storage_problems(p["storage"], project))
    if p.get("ossc"):
        errors.extend(ossc_problems(p["ossc"], project))
    if p.get("restore") is not None:
        errors.extend(restore_problems(p["restore"], project))
    errors.extend(link_problems(p, project))
    return errors


#: Statuses of a project whose catalogue reading is withdrawn as a whole and whose storage
#: is never made again: ended (archived by tre_archive) and moved (tre_project_files).
CLOSED_STATUSES = ("ended", "moved")


def link_problems(p: dict, project: str) -> list[str]:
    """``moved_to``, ``moves_from`` and ``transfers`` of one project (docs/desired-state.md):
    project numbers (they become paths), ISO dates, ``done`` a list of relative paths."""
    errors = []
    for key in ("moved_to", "moves_from"):
        if p.get(key) is not None and not matches(PROJECT_RE, p[key]):
            errors.append(f"project {project}: bad {key} {p[key]!r}")
    if p.get("moved_to") is not None and p.get("status") != "moved":
        errors.append(f"project {project}: moved_to without status moved")
    transfers = p.get("transfers")
    if transfers is None:
        return errors
    if not isinstance(transfers, list):
        return [*errors, f"project {project}: transfers is not a list"]
    for t in transfers:
        if not isinstance(t, dict) or not matches(PROJECT_RE, t.get("from_project")):
            errors.append(f"project {project}: bad transfer source")
            continue
        if not is_date(t.get("from")):
            errors.append(f"project {project}: transfer from {t.get('from')!r} is not a date")
        done = t.get("done")
        if not isinstance(done, list) or not all(
            isinstance(d, str) and d and not d.startswith("/") and "\x00" not in d for d in done
        ):
            errors.append(f"project {project}: transfer done must be a list of relative paths")
    return errors


SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")


def restore_problems(restore: object, project: str) -> list[str]:
    """The ``restore`` part of a reopened project (issue 12; tre_restore reads it)."""
    if not isinstance(restore, dict):
        return [f"project {project}: restore is not a mapping"]
    n = str(restore.get("from_project", ""))
    if not PROJECT_RE.fullmatch(n) or n == project:
        return [f"project {project}: bad restore from_project {n!r}"]
    if not matches(SHA256_RE, restore.get("manifest_sha256")):
        return [f"project {project}: restore of P{n} has no recorded manifest SHA-256"]
    return []


def _absent_problems(p: dict, project: str) -> list[str]:
    absent = p["absent"]
    if not isinstance(absent, list) or not all(part in ABSENT_PARTS for part in absent):
        return [f"project {project}: absent must be a list of {', '.join(ABSENT_PARTS)}"]
    if "groups" in absent and "accounts" not in absent:
        return [f"project {project}: groups can be absent only with the accounts"]
    if "ou" in absent and "groups" not in absent:
        return [f"project {project}: the OU can be absent only with the groups"]
    if "accounts" in absent and p.get("accounts"):
        return [f"project {project}: accounts are listed but absent"]
    return []


def _storage_problems(storage: object, project: str) -> list[str]:
    if not isinstance(storage, dict):
        return [f"project {project}: storage is not a mapping"]
    errors = []
    for key in ("quota_bytes", "workspace_quota_bytes"):
        if not _size(storage.get(key)):
            errors.append(f"project {project}: bad storage {key} {storage.get(key)!r}")
    if not _subjects(storage.get("file_subjects") or []):
        errors.append(f"project {project}: bad file subject in {storage.get('file_subjects')!r}")
    if not _subjects(storage.get("contract_subjects") or []):
        errors.append(f"project {project}: bad contract subject")
    if not _subjects(storage.get("recorded_grants"), nullable=True):
        errors.append(f"project {project}: recorded_grants must be null or a list of subjects")
    return errors


def ossc_problems(ossc: object, project: str) -> list[str]:
    """The ``ossc`` part of one project (the OSSC hand-off's manifest is built from it)."""
    if not isinstance(ossc, dict):
        return [f"project {project}: ossc is not a mapping"]
    errors = []
    researchers = ossc.get("researchers") or []
    if not researchers:
        errors.append(f"project {project}: ossc has no researchers")
    for person in researchers:
        if not matches(PERSON_RE, person.get("person")):
            errors.append(f"invalid researcher id in P{project}: {person.get('person')!r}")
        name = person.get("name")
        if (
            not isinstance(name, str)
            or not name.strip()
            or _CONTROL.search(name)
            or len(name) > 200
        ):
            errors.append(f"invalid researcher name in P{project}")
        if not matches(EMAIL_RE, person.get("email")):
            errors.append(f"invalid researcher email in P{project}: {person.get('email')!r}")
    for key in ("start", "end", "destruction_deadline"):
        if not matches(DATE_RE, ossc.get(key)):
            errors.append(f"invalid ossc {key} of P{project}: {ossc.get(key)!r}")
    if not matches(REVISION_RE, ossc.get("revision")):
        errors.append(f"invalid contract revision of P{project}: {ossc.get('revision')!r}")
    return errors


def _software_problems(software: object) -> list[str]:
    errors = []
    for pkg, sw in (software or {}).items():
        if (
            not isinstance(sw, dict)
            or not matches(GROUP_RE, sw.get("group", ""))
            or not isinstance(sw.get("seats"), int)
        ):
            errors.append(f"software {pkg!r}: bad group name or seats")
            continue
        if not all(matches(ACCOUNT_RE, m) for m in sw.get("members") or []):
            errors.append(f"software {pkg}: bad member name")
    return errors


def _subject_problems(subjects: object) -> list[str]:
    errors = []
    for subject, entry in (subjects or {}).items():
        if not matches(SUBJECT_RE, subject):
            errors.append(f"subject {subject!r}: bad file subject")
            continue
        if not isinstance(entry, dict) or not matches(GROUP_RE, entry.get("group") or ""):
            errors.append(f"subject {subject!r}: bad reader group name")
            continue
        if not all(matches(PROJECT_RE, str(nr)) for nr in entry.get("projects") or []):
            errors.append(f"subject {subject}: bad project number among its readers")
    return errors


def _identity_problems(identities: object) -> list[str]:
    if not identities:
        return []
    if not isinstance(identities, dict):
        return ["identities is not a mapping"]
    errors = []
    if not _number(identities.get("highest")):
        errors.append("identities: bad highest issued number")
    for sam, record in (identities.get("accounts") or {}).items():
        if not matches(ACCOUNT_RE, sam) or not isinstance(record, dict):
            errors.append(f"identities: bad account {sam!r}")
            continue
        if record.get("person") is not None and not matches(PERSON_RE, record["person"]):
            errors.append(f"identities: bad person id of {sam}")
        if not _number(record.get("uid")):
            errors.append(f"identities: bad uid of {sam}")
    for name, record in (identities.get("groups") or {}).items():
        if not matches(GROUP_RE, name) or not isinstance(record, dict):
            errors.append(f"identities: bad group {name!r}")
        elif not _number(record.get("gid")):
            errors.append(f"identities: bad gid of {name}")
    return errors


def _number(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def summary(problems: list[str]) -> str:
    """The modules' one-line failure for an invalid desired state."""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"invalid desired state: {problems[0]}{more}"


#: The desired-state options every module takes: the mapping itself, or ``desired_b64`` (what
#: site.yml passes: the extra variable ``tre_desired_b64`` as it is, decoded by the module).
#: Ansible handles one string of 2.9 MB (1,250 projects) about 0.6 s faster per task than the
#: same state decoded into a mapping (``b64decode | from_json``) and passed on, and never
#: sees the decoded text at all.
DESIRED_OPTIONS = {"desired": {"type": "dict"}, "desired_b64": {"type": "str"}}
DESIRED_ONE_OF = [("desired", "desired_b64")]


def desired_from(params: dict) -> dict:
    """The desired state of a module's arguments: ``desired``, or ``desired_b64`` decoded.

    Raises ValueError with one line when ``desired_b64`` is not base64 of a JSON mapping
    (never echoing it). The shape is then checked by ``validate`` as for ``desired``.
    """
    if params.get("desired") is not None:
        return params["desired"]
    try:
        data = json.loads(base64.b64decode(params.get("desired_b64") or "", validate=True))
    except (ValueError, binascii.Error):
        raise ValueError("desired_b64 is not base64 of a JSON document") from None
    if not isinstance(data, dict):
        raise ValueError("desired_b64 does not hold a mapping (the desired state)")
    return data


def invocation(params: dict) -> dict:
    """The ``invocation`` of a module's result: its arguments, the desired state (and
    ``tre_storage``'s ``ids``) summarised.

    Ansible echoes every argument in the result unless ``invocation`` is set; for 1,250
    projects that is 2.6 MB through Ansible's result handling, every callback and
    ansible-runner's event files (0.4 s per task).
    """
    args = dict(params)
    desired = args.get("desired")
    if isinstance(desired, dict):
        projects = desired.get("projects")
        projects = projects if isinstance(projects, list) else []
        accounts = sum(
            len(p["accounts"]) for p in projects if isinstance(p, dict) and _listed(p, "accounts")
        )
        args["desired"] = f"{len(projects)} projects, {accounts} accounts"
    for name in ("desired_b64", "confirmed_b64"):
        if isinstance(args.get(name), str):
            args[name] = f"{len(args[name])} characters"
    if isinstance(args.get("confirmed"), set):  # tre_confirmed.decode's set of steps
        args["confirmed"] = f"{len(args['confirmed'])} confirmed irreversible steps"
    ids = args.get("ids")  # tre_storage: every uid/gid of the run
    if isinstance(ids, dict):
        args["ids"] = ", ".join(
            f"{len(v) if isinstance(v, dict) else 0} {k}" for k, v in sorted(ids.items())
        )
    return {"module_args": args}


def _listed(mapping: dict, key: str) -> bool:
    return isinstance(mapping.get(key), list)
