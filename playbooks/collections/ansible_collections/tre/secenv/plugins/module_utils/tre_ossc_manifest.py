"""The OSSC hand-off manifest: pure construction, canonical form, checksum, remote name.

File format (JSON, UTF-8)::

    {"manifest": {...body...}, "checksum": {"algorithm": "sha256", "value": "<hex>"}}

The checksum is the sha256 of the *canonical* body: ``json.dumps(body, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8. A receiver verifies it by
re-serialising ``manifest`` the same way. The body holds no timestamps, so one contract
revision always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re

FORMAT = "tre-ossc-handoff/1"
PROJECT_RE = re.compile(r"^[1-9][0-9]{0,7}\Z")
PERSON_RE = re.compile(r"^[a-z][a-z0-9]{1,15}\Z")
REVISION_RE = re.compile(r"^[0-9a-f]{16,64}\Z")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
EMAIL_RE = re.compile(
    r"^[^@\s\x00-\x1f\x7f-\x9f\"<>,;:()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}"
    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+\Z"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
INBOX_RE = re.compile(r"^[A-Za-z0-9_./-]{1,200}\Z")


class ManifestError(ValueError):
    """Invalid hand-off input; the message is one line."""


def _check(pattern: re.Pattern, value: object, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ManifestError(f"invalid {what}: {value!r}")
    return value


def _text(value: object, what: str) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or _CONTROL.search(value)
        or len(value) > 200
    ):
        raise ManifestError(f"invalid {what}")
    return value


def build_body(project: dict) -> dict:
    """The manifest body of one desired-state project that has ``ossc``."""
    number = _check(PROJECT_RE, str(project.get("project")), "project number")
    ossc = project.get("ossc") or {}
    researchers = []
    for person in ossc.get("researchers") or []:
        researchers.append(
            {
                "id": _check(PERSON_RE, person.get("person"), f"researcher id in P{number}"),
                "name": _text(person.get("name"), f"researcher name in P{number}"),
                "email": _check(EMAIL_RE, person.get("email"), f"researcher email in P{number}"),
            }
        )
    if not researchers:
        raise ManifestError(f"project {number}: ossc has no researchers")
    body = {
        "format": FORMAT,
        "project": number,
        "purpose": "OSSC",
        "researchers": sorted(researchers, key=lambda r: r["id"]),
        "period": {
            "start": _check(DATE_RE, ossc.get("start"), f"ossc start of P{number}"),
            "end": _check(DATE_RE, ossc.get("end"), f"ossc end of P{number}"),
        },
        "destruction_deadline": _check(
            DATE_RE, ossc.get("destruction_deadline"), f"ossc destruction_deadline of P{number}"
        ),
        "contract_revision": _check(
            REVISION_RE, ossc.get("revision"), f"contract revision of P{number}"
        ),
    }
    return body


def canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def checksum(body: dict) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


def render(body: dict) -> bytes:
    """The file's bytes: readable JSON holding the body and its checksum."""
    document = {"manifest": body, "checksum": {"algorithm": "sha256", "value": checksum(body)}}
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def verify(data: bytes) -> dict:
    """Parse a manifest file and check its checksum; returns the body."""
    document = json.loads(data)
    body = document["manifest"]
    if document.get("checksum", {}).get("value") != checksum(body):
        raise ManifestError("manifest checksum does not match its body")
    return body


def remote_name(body: dict) -> str:
    """One file name per project and contract revision: the key of idempotence."""
    return f"P{body['project']}-{body['contract_revision'][:16]}.json"


def remote_dir(path: str, what: str) -> str:
    """An SFTP directory path (relative to the login's home or absolute), no '..'."""
    _check(INBOX_RE, path, what)
    if ".." in path.split("/"):
        raise ManifestError(f"invalid {what}: {path!r}")
    return posixpath.normpath(path)
