"""Problems and the typed readers of the hand-written validator (contracts and the policy).

Every reader takes the parsed YAML value and its path (``researchers[2].email``), returns the
typed value or ``None``, and records a ``Problem`` instead of raising, so that one pass reports
every problem of a file.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from provisioning.ids import has_control, matches

from .yamlsafe import show

#: The path used for problems of the whole file (unreadable, not a mapping, ...).
FILE_PATH = "(file)"
#: Jinja2 syntax: no text of a contract or policy may carry it (defence in depth: the desired
#: state reaches Ansible base64-encoded, so it is never evaluated anyway).
TEMPLATE_MARKS = ("{{", "{%", "{#")
ISO_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
#: A key shown in a problem path; any other key is never echoed.
PLAIN_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,40}")
MONEY_RE = re.compile(r"^[0-9]{1,9}(?:\.[0-9]{1,2})?\Z")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file: ``FILE: path.to[2].field: message`` (``rule`` is stable)."""

    file: str
    path: str
    rule: str
    message: str

    def line(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


class Checker:
    """Collects problems of one file while reading typed values from the parsed YAML."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, path: str, rule: str, message: str) -> None:
        self.problems.append(Problem(self.file, path or FILE_PATH, rule, message))

    def wrong_type(self, value: Any, path: str, expected: str) -> None:
        self.add(path, "type", f"expected {expected}, got {type_name(value)}")

    def mapping(
        self, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Any] | None:
        """A mapping with exactly these keys; unknown keys get a did-you-mean hint."""
        if not isinstance(value, dict):
            self.wrong_type(value, path, "a mapping (key: value)")
            return None
        known = required + optional
        for key in value:
            if not isinstance(key, str):
                self.add(path, "unknown-key", f"a key that is not text; known: {', '.join(known)}")
            elif key not in known and not PLAIN_KEY_RE.fullmatch(key):
                # never echoed: it may be a line of a file that is no contract at all
                self.add(
                    path,
                    "unknown-key",
                    "a key that is not a plain name (letters, digits, _ and -; not shown); "
                    f"known: {', '.join(known)}",
                )
            elif key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
                self.add(join(path, key), "unknown-key", f"unknown key; {hint}")
        for key in required:
            if key not in value:
                self.add(join(path, key), "required", "required key is missing")
        return value

    def sequence(self, value: Any, path: str, what: str = "a list") -> list[Any] | None:
        if not isinstance(value, list):
            self.wrong_type(value, path, what)
            return None
        return value

    def text(self, value: Any, path: str, max_len: int = 200) -> str | None:
        """Human text (names, titles): any Unicode letter, but no control characters."""
        if not isinstance(value, str):
            self.wrong_type(value, path, "text")
            return None
        if not value.strip():
            self.add(path, "text", "must not be empty")
            return None
        if value != value.strip():
            self.add(path, "text", "remove the leading/trailing spaces")
            return None
        if has_control(value):
            self.add(path, "text", "contains control or invisible characters")
            return None
        if any(mark in value for mark in TEMPLATE_MARKS):
            self.add(
                path, "text", "contains template syntax ({{, {% or {#), which is never allowed"
            )
            return None
        if len(value) > max_len:
            self.add(path, "text", f"too long ({len(value)} characters; at most {max_len})")
            return None
        return unicodedata.normalize("NFC", value)

    def pattern(
        self, value: Any, path: str, regex: re.Pattern[str], rule: str, what: str
    ) -> str | None:
        if not isinstance(value, str):
            self.wrong_type(value, path, f"text ({what})")
            return None
        if not matches(regex, value):
            self.add(path, rule, f"{show(value)} is not {what}")
            return None
        return value

    def date(self, value: Any, path: str) -> date | None:
        if not isinstance(value, str) or not ISO_DATE_RE.fullmatch(value):
            shown = show(value) if isinstance(value, str) else type_name(value)
            self.add(path, "date-format", f"{shown} is not a date; write YYYY-MM-DD")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.add(path, "date-format", f"{show(value)} is not a real calendar date")
            return None

    def integer(self, value: Any, path: str, minimum: int = 0, maximum: int = 10**6) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong_type(value, path, "a whole number")
            return None
        if not minimum <= value <= maximum:
            self.add(path, "range", f"{value} is out of range {minimum}..{maximum}")
            return None
        return value

    def boolean(self, value: Any, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.wrong_type(value, path, "true or false")
            return None
        return value

    def money(self, value: Any, path: str) -> Decimal | None:
        """An amount as a whole number or a decimal text such as "26.50" (never a float)."""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not MONEY_RE.fullmatch(value):
            self.add(path, "money", 'expected an amount such as 26 or "26.50" (no floats)')
            return None
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern already guarantees it
            self.add(path, "money", "not an amount")
            return None
