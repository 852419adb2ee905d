"""The contract key ``reopens: N`` (issue 12, *Heropenen afgesloten onderzoeksproject*).

What one contract alone can show: ``N`` is a project number and not the contract's own. The
rules that need the state store (N has ended, N's archive exists, no other running project
reopened N) are ``provisioning.reopening.reopen_problems``, checked before every run.
"""

from __future__ import annotations

from typing import Any

from provisioning.ids import PROJECT_RE
from provisioning.validation.fields import Checker


def reopens_key(value: Any, own: str | None, c: Checker) -> str | None:
    """The project number ``reopens`` names (str), or None with a problem in ``c``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    what = "a project number (1-8 digits, no leading 0)"
    number = c.pattern(value, "reopens", PROJECT_RE, "project-number", what)
    if number is not None and number == own:
        c.add(
            "reopens",
            "reopens-self",
            f"project {own} cannot reopen itself; a reopen is a new contract with its own number",
        )
        return None
    return number
