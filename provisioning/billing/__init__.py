"""Quarterly invoice lines per institution, from what actually happened (docs/billing.md).

Pure rules: ``history`` (which contract items were in force when), ``charges`` (what each
project owes per month and service), ``invoice`` (a quarter's lines, corrections of issued
quarters, CSV/JSON). ``sources`` reads the state store; ``issue`` issues a quarter.
"""

from __future__ import annotations

from .charges import BillingError, should_lines
from .invoice import line_dict, lines_csv, lines_sha256, quarter_lines, total
from .issue import AlreadyIssued, Invoice, invoice, issue
from .model import (
    AppliedRevision,
    Archive,
    BillingInput,
    FeeEvent,
    InvoiceLine,
    Quarter,
    Usage,
    money,
)
from .services import all_codes, service

__all__ = [
    "AlreadyIssued",
    "AppliedRevision",
    "Archive",
    "BillingError",
    "BillingInput",
    "FeeEvent",
    "Invoice",
    "InvoiceLine",
    "Quarter",
    "Usage",
    "all_codes",
    "invoice",
    "issue",
    "line_dict",
    "lines_csv",
    "lines_sha256",
    "money",
    "quarter_lines",
    "service",
    "should_lines",
    "total",
]
