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

from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import (
    PROJECT_RE,
    matches,
    ossc_problems,
)

FORMAT = "tre-ossc-handoff/1"
INBOX_RE = re.compile(r"^[A-Za-z0-9_./-]{1,200}\Z")


class ManifestError(ValueError):
    """Invalid hand-off input; the message is one line."""


def _check(pattern: re.Pattern, value: object, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ManifestError(f"invalid {what}: {value!r}")
    return value


def build_body(project: dict) -> dict:
    """The manifest body of one desired-state project that has ``ossc``.

    Its ``project`` and ``ossc`` are checked by ``tre_desired`` (one validation of the
    desired state); a problem raises ManifestError with the first line.
    """
    number = str(project.get("project"))
    problems = [] if matches(PROJECT_RE, number) else [f"invalid project number: {number!r}"]
    problems += ossc_problems(project.get("ossc") or {}, number)
    if problems:
        raise ManifestError(problems[0])
    ossc = project["ossc"]
    researchers = [
        {"id": person["person"], "name": person["name"], "email": person["email"]}
        for person in ossc["researchers"]
    ]
    return {
        "format": FORMAT,
        "project": number,
        "purpose": "OSSC",
        "researchers": sorted(researchers, key=lambda r: r["id"]),
        "period": {"start": ossc["start"], "end": ossc["end"]},
        "destruction_deadline": ossc["destruction_deadline"],
        "contract_revision": ossc["revision"],
    }


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
