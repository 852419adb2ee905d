"""The catalogue's services as billing codes: a stable code, the Dutch name, the tariff.

Names are the catalogue's own (*Tarievenoverzicht 2026*); prices always come from the
policy (``policy.tariffs``, ``policy.software``, ``policy.storage_steps``), never from here.
docs/billing.md lists every code.
"""

from __future__ import annotations

from decimal import Decimal

from ..policy_model import Policy

#: code → (catalogue name, ``Tariffs`` attribute)
FIXED: dict[str, tuple[str, str]] = {
    "START": ("Opstarten nieuw onderzoeksproject: basis opstartkosten", "project_start"),
    "START-SUBJECT": (
        "Opstarten nieuw onderzoeksproject: kosten per bestandsonderwerp",
        "file_subject",
    ),
    "RESEARCHER-NEW": ("Autorisatie nieuwe onderzoeker (geen token in bezit)", "new_researcher"),
    "RESEARCHER-TOKEN": ("Toevoegen onderzoeker (token al in bezit)", "researcher_with_token"),
    "OBSERVER-NEW": (
        "Autorisatie nieuwe meekijker met leesrechten-account (geen token in bezit)",
        "observer_account_new",
    ),
    "OBSERVER-TOKEN": (
        "Toevoegen meekijker met leesrechten-account (token al in bezit)",
        "observer_account_with_token",
    ),
    "OBSERVER-NO-ACCOUNT": (
        "Autorisatie/toevoegen meekijker zonder leesrechten-account",
        "observer_without_account",
    ),
    "OSSC": ("Gebruik van OSSC (per onderzoeker)", "ossc_per_researcher"),
    "SUPPORT-SUBJECT": (
        "Ondersteuningskosten per bestandsonderwerp (per maand)",
        "support_file_subject_monthly",
    ),
    "SUPPORT-RESEARCHER": (
        "Ondersteuningskosten per onderzoeker (per maand)",
        "support_researcher_monthly",
    ),
    "SUPPORT-OBSERVER": (
        "Ondersteuningskosten per meekijker (per maand)",
        "support_observer_monthly",
    ),
    "SUBJECT-ADDED": ("Nieuw bestandsonderwerp toevoegen (per onderwerp)", "file_subject_added"),
    "SUSPENSION": ("Tijdelijk stilleggen onderzoeksproject (per maand)", "suspension_monthly"),
    "MOVE": ("Verhuizen onderzoeksproject", "move_project"),
    "REOPEN": ("Heropenen afgesloten onderzoeksproject", "reopen_project"),
    "ARCHIVE-GB": ("Bewaren groot projectarchief (per extra GB)", "large_archive_per_gb"),
}

#: Codes made from the policy: software packages and storage steps.
SOFTWARE_PREFIX = "SOFTWARE-"
STORAGE_PREFIX = "STORAGE-"
MEASURED_SUFFIX = "-MEASURED"


def software_code(package: str) -> str:
    return f"{SOFTWARE_PREFIX}{package}"


def storage_code(size: str, measured: bool = False) -> str:
    return f"{STORAGE_PREFIX}{size}{MEASURED_SUFFIX if measured else ''}"


def _size_words(size: str) -> str:
    """``50GB`` → ``50 GB`` (the catalogue's spelling)."""
    digits = size.rstrip("KMGTPB")
    return f"{digits} {size[len(digits) :]}" if digits and digits != size else size


def service(code: str, policy: Policy) -> tuple[str, Decimal]:
    """The catalogue name and the policy's unit price of a code. KeyError: unknown code."""
    if code in FIXED:
        name, tariff = FIXED[code]
        return name, getattr(policy.tariffs, tariff)
    if code.startswith(SOFTWARE_PREFIX):
        pkg = policy.package(code[len(SOFTWARE_PREFIX) :])
        return f"Gebruik aanvullende aanwezige software {pkg.name} per maand", pkg.monthly
    if code.startswith(STORAGE_PREFIX):
        size = code[len(STORAGE_PREFIX) :].removesuffix(MEASURED_SUFFIX)
        step = policy.storage_step(size)
        return f"Extra opslagcapaciteit (per {_size_words(step.size)} per maand)", step.monthly
    raise KeyError(code)


def all_codes(policy: Policy) -> list[str]:
    """Every code this policy can bill, in the order docs/billing.md lists them."""
    return (
        list(FIXED)
        + [software_code(p.name) for p in policy.software]
        + [storage_code(s.size, m) for s in policy.storage_steps for m in (False, True)]
    )
