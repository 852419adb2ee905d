"""The examples load into the typed model; the public loading API."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from provisioning.contract import Contract, check_files, load_contract, load_contracts
from provisioning.errors import ContractError
from provisioning.policy import load_policy

EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"
POLICY = load_policy()


def test_examples_are_valid() -> None:
    files = sorted(str(p) for p in EXAMPLES.glob("*.yaml"))
    assert len(files) >= 3
    assert check_files(files, POLICY) == []


def test_small_example_model() -> None:
    c = load_contract(str(EXAMPLES / "9001-small.yaml"), POLICY)
    assert isinstance(c, Contract)
    assert c.project == "9001"  # an int in YAML, normalised to text
    assert c.status == "approved" and c.retention_years == 5
    assert c.start == date(2026, 2, 1) and c.end == date(2027, 1, 31)
    zoe = c.person("zvanthoff")
    assert zoe.name == "Zoë van 't Hoff"
    assert zoe.existing_token and zoe.role == "researcher" and zoe.has_account
    # defaults: the person's period is the project's, subjects granted from the start
    assert (zoe.start, zoe.end) == (c.start, c.end)
    assert [(g.name, g.start) for g in c.file_subjects] == [
        ("GBAPERSOONTAB", c.start),
        ("GBAADRESOBJECTBUS", c.start),
    ]
    assert c.observers == () and c.software == () and c.extra_storage == () and c.ossc is None


def test_typical_example_model() -> None:
    c = load_contract(str(EXAMPLES / "9002-typical.yaml"), POLICY)
    pjansen, asmit = c.observers
    assert not pjansen.read_account and not pjansen.has_account
    assert asmit.read_account and asmit.has_account and asmit.name == "Anneke Smit-Ørsted"
    assert c.person("lnguyen").name == "Linh Nguyễn"
    assert c.person("lnguyen").start == date(2026, 6, 1)
    mlwin = c.software[2]
    assert (mlwin.package, mlwin.end) == ("MLWIN", c.end)  # until defaults to the end
    assert [(e.size, e.size_bytes) for e in c.extra_storage] == [
        ("50GB", 50 * 1024**3),
        ("1TB", 1024**4),
    ]
    assert c.ossc is not None and c.ossc.researchers == ("mbakker", "selkaddouri")
    assert c.file_subjects[3].start == date(2026, 9, 1)


def test_consortium_has_fifty_researchers() -> None:
    c = load_contract(str(EXAMPLES / "9003-consortium.yaml"), POLICY)
    assert len(c.researchers) == 50


def test_load_contracts_directory_sorted() -> None:
    contracts = load_contracts([str(EXAMPLES)], POLICY)
    assert [c.project for c in contracts] == ["9001", "9002", "9003"]


def test_load_contracts_reports_all_problems_of_all_files(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "9001-small.yaml", tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("project: 9002\nstatus: final\n", encoding="utf-8")
    shutil.copy(EXAMPLES / "9001-small.yaml", tmp_path / "c.yml")
    (tmp_path / "notes.txt").write_text("not a contract", encoding="utf-8")
    with pytest.raises(ContractError) as e:
        load_contracts([str(tmp_path)], POLICY)
    files = {Path(p.file).name for p in e.value.problems}
    assert files == {"a.yaml", "b.yaml", "c.yml"}  # both files of project 9001 refuse
    assert any(p.rule == "project-unique" for p in e.value.problems)
    assert "(and " in str(e.value)


def test_load_contract_raises_with_lines(tmp_path: Path) -> None:
    f = tmp_path / "x.yaml"
    f.write_text("[]\n", encoding="utf-8")
    with pytest.raises(ContractError) as e:
        load_contract(str(f), POLICY)
    assert str(e.value) == f"{f}: (file): expected a mapping (key: value), got a list"


def test_documented_example_is_valid(tmp_path: Path) -> None:
    doc = (EXAMPLES.parents[1] / "docs" / "contracts.md").read_text(encoding="utf-8")
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    f = tmp_path / "doc.yaml"
    f.write_text(block, encoding="utf-8")
    assert check_files([str(f)], POLICY) == []


def test_every_rule_is_documented() -> None:
    from provisioning.contract.ruleids import RULES

    doc = (EXAMPLES.parents[1] / "docs" / "contracts.md").read_text(encoding="utf-8")
    assert [r for r in RULES if f"`{r}`" not in doc] == []
