"""The one gate before a run: only approved contracts, one contract per project."""

from __future__ import annotations

from provisioning.errors import NotApprovedError

from .model import Contract


def require_runnable(contracts: list[Contract]) -> None:
    """Raise ``NotApprovedError`` (one line) unless every contract may be planned or applied."""
    seen: dict[str, str] = {}
    for c in contracts:
        if c.status != "approved":
            raise NotApprovedError(
                f"{c.source or 'project ' + c.project}: status is {c.status}; only approved"
                " contracts are planned or applied"
            )
        if c.project in seen:
            raise NotApprovedError(
                f"project {c.project} is given twice ({seen[c.project]}, {c.source}):"
                " one contract per project per run"
            )
        seen[c.project] = c.source or f"project {c.project}"
