"""The policy: every number of the service catalogue, as typed frozen data.

Loaded from YAML by ``provisioning.policy.load_policy`` (default: the shipped CBS 2026 policy,
``provisioning/data/cbs-2026.yaml``). Money is ``Decimal``; sizes are bytes. No number of the
catalogue is a default here: every one comes from the policy file.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

#: How a software package is billed and how long it must at least be taken:
#: per_month = whole calendar months (SAS); until_end = from the request month to the project
#: end (MLWin); minimum = at least ``min_months`` months (MPLUS).
SoftwareBilling = Literal["per_month", "until_end", "minimum"]


@dataclass(frozen=True)
class SoftwarePackage:
    name: str
    billing: SoftwareBilling
    monthly: Decimal
    min_months: int
    #: Concurrent seats the operator keeps; more seat holders than this gives a warning.
    seats: int


@dataclass(frozen=True)
class StorageStep:
    """An allowed step of extra storage, e.g. 50GB monthly or 1TB for at least 6 months."""

    size: str
    size_bytes: int
    monthly: Decimal
    min_months: int


@dataclass(frozen=True)
class Tariffs:
    project_start: Decimal
    file_subject: Decimal
    new_researcher: Decimal
    researcher_with_token: Decimal
    observer_account_new: Decimal
    observer_account_with_token: Decimal
    observer_without_account: Decimal
    ossc_per_researcher: Decimal
    support_file_subject_monthly: Decimal
    support_researcher_monthly: Decimal
    support_observer_monthly: Decimal
    file_subject_added: Decimal
    suspension_monthly: Decimal
    move_project: Decimal
    reopen_project: Decimal
    large_archive_per_gb: Decimal
    replacement_token: Decimal
    #: The tariff table's one-off prices (docs/policy.md).
    import_simple: Decimal
    import_normal: Decimal
    import_complex: Decimal
    output_regular: Decimal
    output_conform: Decimal
    output_light: Decimal
    output_scripts: Decimal
    output_decrypt: Decimal
    output_replicate: Decimal
    extend_project: Decimal
    end_project: Decimal


@dataclass(frozen=True)
class Policy:
    name: str
    currency: str
    #: Shared project workspace (bytes), e.g. 100 GB.
    project_quota_bytes: int
    #: Personal workspace per account (bytes), e.g. 1 GB.
    workspace_quota_bytes: int
    #: Percentage of the allowed space above which the weekly quota mail is sent.
    quota_warn_percent: int
    storage_steps: tuple[StorageStep, ...]
    retention_years: tuple[int, ...]
    max_duration_months: int
    institution_authorization_max_years: int
    #: Awareness questionnaire: fewer than this many errors passes (CBS: 6).
    awareness_error_limit: int
    #: A researcher is added for at least this many months (or the rest of the project).
    researcher_min_months: int
    ossc_destruction_days: int
    software: tuple[SoftwarePackage, ...]
    file_subjects: tuple[str, ...]
    #: Name pattern of a subject's catalogue reader group in AD, e.g. ``DS-{subject}``.
    subject_group: str
    tariffs: Tariffs
    #: Invoices go out after each calendar quarter (months per invoice period).
    invoice_period_months: int
    # The catalogue's other numbers (docs/policy.md).
    #: An archive up to this many GB (zipped, rounded up) is free; each GB above is billed.
    archive_free_gb: int
    #: A large archive's GB price covers this many years.
    large_archive_period_years: int
    #: Temporary suspension in whole months, at least this many.
    suspension_min_months: int
    #: An extension is requested at least this many working days before the end.
    extension_notice_working_days: int
    #: Heavy desktop: reserved at most this many days, extensions, researchers per project.
    heavy_desktop_days: int
    heavy_desktop_extensions: int
    heavy_desktop_max_researchers: int
    #: Concurrent heavy desktop places the operator keeps (group HEAVY-DESKTOP), like seats.
    heavy_desktop_capacity: int
    #: Accounts and groups of an ended project are deleted this many days after its end.
    closed_account_days: int
    #: "Output light": at most this many csv files and cells in total.
    output_light_max_files: int
    output_light_max_cells: int
    #: Run records (``<home>/runs/*``) name people: deleted this many days after the run.
    run_records_days: int
    #: The lead is reminded this many days before the project's end (docs/jobs.md).
    end_reminder_days: tuple[int, ...] = (42, 14)
    #: Every archive is read back against its manifest at least this often (docs/retention.md).
    archive_verify_days: int = 365
    #: The lead and the operator are mailed this many days before an archive's purge is due.
    purge_notice_days: tuple[int, ...] = (90, 30)
    #: An archive is purged no sooner than this many days after its last notice.
    purge_grace_days: int = 30
    #: ``tre purge --yes`` deletes at most this many archives per run.
    purge_max_per_run: int = 10
    #: Where the policy was read from (file path, or the shipped default's name).
    source: str = ""

    def package(self, name: str) -> SoftwarePackage:
        for p in self.software:
            if p.name == name:
                return p
        raise KeyError(name)

    def storage_step(self, size: str) -> StorageStep:
        for s in self.storage_steps:
            if s.size == size:
                return s
        raise KeyError(size)
