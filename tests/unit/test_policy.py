"""The shipped CBS 2026 policy holds every number of RULES.md; broken policies say why."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from provisioning.errors import PolicyError
from provisioning.policy import DEFAULT_POLICY, load_policy, size_bytes

GB = 1024**3


def test_default_policy_numbers() -> None:
    p = load_policy()
    assert p.name == "CBS microdata 2026" and p.currency == "EUR"
    assert p.project_quota_bytes == 100 * GB and p.workspace_quota_bytes == GB
    assert p.quota_warn_percent == 90
    assert [(s.size, s.monthly, s.min_months) for s in p.storage_steps] == [
        ("50GB", Decimal(26), 1),
        ("1TB", Decimal(128), 6),
    ]
    assert p.retention_years == (5, 10)
    assert p.max_duration_months == 36 and p.institution_authorization_max_years == 3
    assert p.awareness_error_limit == 6 and p.researcher_min_months == 3
    assert p.ossc_destruction_days == 10 and p.invoice_period_months == 3
    assert [(s.name, s.billing, s.monthly, s.min_months) for s in p.software] == [
        ("SAS", "per_month", Decimal(571), 1),
        ("MLWIN", "until_end", Decimal(41), 1),
        ("MPLUS", "minimum", Decimal(102), 3),
    ]
    t = p.tariffs
    assert (t.project_start, t.file_subject, t.new_researcher, t.researcher_with_token) == (
        Decimal(1955), Decimal(196), Decimal(407), Decimal(0),
    )  # fmt: skip
    assert (t.observer_account_new, t.observer_account_with_token) == (Decimal(407), Decimal(217))
    assert (t.ossc_per_researcher, t.replacement_token) == (Decimal(271), Decimal(28))
    assert (t.support_file_subject_monthly, t.support_researcher_monthly) == (19, 147)
    assert (t.file_subject_added, t.suspension_monthly, t.move_project) == (196, 82, 663)
    assert (t.reopen_project, t.large_archive_per_gb) == (663, 51)
    assert (t.import_simple, t.import_normal, t.import_complex) == (271, 733, 1413)
    assert (t.output_regular, t.output_conform, t.output_light, t.output_scripts) == (
        380, 280, 140, 50,
    )  # fmt: skip
    assert (t.output_decrypt, t.output_replicate) == (271, 544)
    assert (p.heavy_desktop_days, p.heavy_desktop_extensions) == (10, 2)
    assert p.heavy_desktop_max_researchers == 2 and p.archive_free_gb == 1
    required = {"GBAPERSOONTAB", "GBAHUISHOUDENSBUS", "GBAADRESOBJECTBUS", "SPOLISBUS"}
    required |= {"HOOGSTEOPLTAB", "INPATAB", "LBZBASISTAB", "MEDICIJNTAB", "ONDERWIJSINSCHRTAB"}
    assert required | {"VSLGWBTAB"} <= set(p.file_subjects)
    assert p.source == str(DEFAULT_POLICY)


def test_env_and_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(
        DEFAULT_POLICY.read_text(encoding="utf-8").replace(
            "max_duration_months: 36", "max_duration_months: 48"
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("TRE_POLICY", str(other))
    assert load_policy().max_duration_months == 48
    assert load_policy(str(DEFAULT_POLICY)).max_duration_months == 36


@pytest.mark.parametrize(
    ("change", "path", "rule"),
    [
        (("monthly: 26,", "monthly: 26.5,"), "storage_steps[0].monthly", "money"),
        (("billing: minimum", "billing: mimimum"), "software[2].billing", "billing"),
        (("project_start: 1955", "project_strat: 1955"), "tariffs.project_strat", "unknown-key"),
        (("retention_years: [5, 10]", "retention_years: five"), "retention_years", "type"),
        (("project_quota: 100GB", "project_quota: 100 GB"), "project_quota", "size"),
        (("  - VSLGWBTAB ", "  - vslgwbtab "), "file_subjects", "file-subject-name"),
        (
            ("awareness_error_limit: 6", "awareness_error_limit: 0"),
            "awareness_error_limit",
            "range",
        ),
    ],
)
def test_broken_policy(tmp_path: Path, change: tuple[str, str], path: str, rule: str) -> None:
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert change[0] in text
    broken = tmp_path / "p.yaml"
    broken.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    with pytest.raises(PolicyError) as e:
        load_policy(str(broken))
    found = [(p.path, p.rule) for p in e.value.problems]
    assert any(p.startswith(path) and r == rule for p, r in found), found
    assert all(p.line().startswith(f"{broken}: ") for p in e.value.problems)


def test_missing_policy_and_sizes(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(str(tmp_path / "nope.yaml"))
    assert size_bytes("50GB") == 50 * GB and size_bytes("1TB") == 1024 * GB
    with pytest.raises(ValueError):
        size_bytes("1PB")
