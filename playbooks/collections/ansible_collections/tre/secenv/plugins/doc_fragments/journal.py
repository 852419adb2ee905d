"""The journal option every tre.secenv module that changes something shares (tre_journal.py)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  journal:
    description:
      - File (JSON lines, mode 0600) to which every change is appended as it is applied - an
        C(intent) line before, a C(done) line after - so a run killed half-way can still be
        recorded in the audit ledger by C(tre apply).
      - Not written in check mode.
    type: path
"""
