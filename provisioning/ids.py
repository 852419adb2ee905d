"""Identifier patterns: the edge of the system.

Every value that ever becomes part of an LDAP DN or filter, a path or a command line is
checked against one of these strict patterns first, so no hostile value can reach them.
"""

from __future__ import annotations

import re

#: Project number: digits only, no leading zero, at most 8 digits.
PROJECT_RE = re.compile(r"^[1-9][0-9]{0,7}$")
#: Person id: lower-case letter, then lower-case letters/digits, 2..16 characters in all.
PERSON_ID_RE = re.compile(r"^[a-z][a-z0-9]{1,15}$")
#: File subject: upper-case catalogue name, letters and digits, 2..40 characters.
FILE_SUBJECT_RE = re.compile(r"^[A-Z][A-Z0-9]{1,39}$")
#: Software package name as in the policy.
PACKAGE_RE = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
#: Token serial as issued, e.g. T-0012345.
TOKEN_RE = re.compile(r"^[A-Z]{1,3}-?[0-9]{4,12}$")
#: A pragmatic e-mail check: one @, no spaces or control characters, a dotted domain.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
EMAIL_RE = re.compile(rf"^[^@\s\x00-\x1f\"<>,;:()\[\]\\]+@{_LABEL}(?:\.{_LABEL})+$")


def is_project(value: object) -> bool:
    return isinstance(value, str) and bool(PROJECT_RE.match(value))


def is_person_id(value: object) -> bool:
    return isinstance(value, str) and bool(PERSON_ID_RE.match(value))


def is_file_subject(value: object) -> bool:
    return isinstance(value, str) and bool(FILE_SUBJECT_RE.match(value))
