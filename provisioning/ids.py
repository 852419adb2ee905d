"""Identifier patterns: the edge of the system.

Every value that ever becomes part of an LDAP DN or filter, a path or a command line is
checked against one of these strict patterns first, so no hostile value can reach them.

Patterns end in ``\\Z``, not ``$`` (``$`` also matches before a trailing newline), and the
checks use ``fullmatch``: a value with a control character anywhere is never an identifier.
"""

from __future__ import annotations

import re
import unicodedata

#: Project number: digits only, no leading zero, at most 8 digits.
PROJECT_RE = re.compile(r"^[1-9][0-9]{0,7}\Z")
#: Person id: lower-case letter, then lower-case letters/digits, 2..16 characters in all.
PERSON_ID_RE = re.compile(r"^[a-z][a-z0-9]{1,15}\Z")
#: File subject: upper-case catalogue name, letters and digits, 2..40 characters.
FILE_SUBJECT_RE = re.compile(r"^[A-Z][A-Z0-9]{1,39}\Z")
#: Software package name as in the policy.
PACKAGE_RE = re.compile(r"^[A-Z][A-Z0-9]{1,15}\Z")
#: Token serial as issued, e.g. T-0012345.
TOKEN_RE = re.compile(r"^[A-Z]{1,3}-?[0-9]{4,12}\Z")
#: A pragmatic e-mail check: one @, no spaces or control characters, a dotted domain.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
EMAIL_RE = re.compile(rf"^[^@\s\x00-\x1f\x7f-\x9f\"<>,;:()\[\]\\]+@{_LABEL}(?:\.{_LABEL})+\Z")


#: Unicode categories never allowed in any value: control (Cc), format/invisible (Cf, e.g.
#: zero-width space, bidi overrides), line/paragraph separators (Zl, Zp), surrogates (Cs),
#: private use (Co) and unassigned (Cn).
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def has_control(value: str) -> bool:
    """True if ``value`` holds a control, invisible or line-separator character."""
    return any(unicodedata.category(ch) in CONTROL_CATEGORIES for ch in value)


def matches(pattern: re.Pattern[str], value: object) -> bool:
    """The one identifier check: a string that fully matches and holds no control character."""
    return isinstance(value, str) and bool(pattern.fullmatch(value)) and not has_control(value)
