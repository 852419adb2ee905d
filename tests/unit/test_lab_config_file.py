"""`tre lab up` points the config file at its inventory; no lab default depends on the cwd."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from provisioning.lab.config import LabConfig
from provisioning.lab.proc import Report
from provisioning.lab.tre_config import HEADER, is_lab_config, remove, write


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "etc" / "tre" / "tre.toml"
    monkeypatch.setenv("TRE_CONFIG", str(path))
    return path


def lab(tmp_path: Path) -> LabConfig:
    return LabConfig(lab_dir=tmp_path / "lab", inventory_dir=tmp_path / "lab" / "inventory")


def test_up_writes_the_config_once_and_down_removes_it(tmp_path: Path, config: Path) -> None:
    cfg = lab(tmp_path)
    report = Report()
    write(cfg, report)
    assert report.actions == [f"wrote the config {config} (inventory {cfg.inventory_dir})"]
    data = tomllib.loads(config.read_text())
    assert data == {"inventory": str(cfg.inventory_dir), "lab_dir": str(cfg.lab_dir)}
    assert is_lab_config(config) and oct(config.stat().st_mode & 0o777) == "0o644"
    again = Report()
    write(cfg, again)
    assert again.actions == []  # a second `up` changes nothing
    moved = LabConfig(lab_dir=cfg.lab_dir, inventory_dir=tmp_path / "elsewhere")
    write(moved, again)
    assert tomllib.loads(config.read_text())["inventory"] == str(tmp_path / "elsewhere")
    gone = Report()
    remove(gone)
    assert not config.exists() and gone.actions == [f"removed the config {config}"]


def test_an_administrators_config_is_left_alone(tmp_path: Path, config: Path) -> None:
    config.parent.mkdir(parents=True)
    config.write_text('inventory = "/etc/tre/inventory"\n')
    said: list[str] = []
    report = Report(echo=said.append)
    write(lab(tmp_path), report)
    remove(report)
    assert config.read_text() == 'inventory = "/etc/tre/inventory"\n'
    assert report.actions == []
    assert said and "not written by the lab" in said[0]


def test_a_path_with_quotes_is_valid_toml(tmp_path: Path, config: Path) -> None:
    odd = tmp_path / 'a "quoted" \\ dir'
    write(LabConfig(lab_dir=odd, inventory_dir=odd / "inventory"), Report())
    assert config.read_text().startswith(HEADER)
    assert tomllib.loads(config.read_text())["inventory"] == str(odd / "inventory")


def test_the_lab_inventory_default_never_depends_on_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRE_INVENTORY", raising=False)
    monkeypatch.chdir(tmp_path)
    fresh = LabConfig.from_env(lab_dir=tmp_path / "lab")
    assert fresh.inventory_dir == tmp_path / "lab" / "inventory"
    (tmp_path / "lab").mkdir()
    LabConfig(lab_dir=tmp_path / "lab", inventory_dir=tmp_path / "inv").save()
    assert LabConfig.from_env(lab_dir=tmp_path / "lab").inventory_dir == tmp_path / "inv"
    os.chdir("/")
    assert LabConfig.from_env(lab_dir=tmp_path / "lab").inventory_dir == tmp_path / "inv"
    explicit = LabConfig.from_env(lab_dir=tmp_path / "lab", inventory_dir=tmp_path / "x")
    assert explicit.inventory_dir == tmp_path / "x"


def test_up_never_overwrites_an_inventory_it_did_not_write(tmp_path: Path) -> None:
    """`inventory` in the config may name the production inventory: the lab refuses it."""
    from provisioning.errors import LabError
    from provisioning.lab import inventory_writer

    prod = tmp_path / "prod"
    prod.mkdir()
    (prod / "hosts.yml").write_text("all:\n  children: {}\n")
    cfg = LabConfig(lab_dir=tmp_path / "lab", inventory_dir=prod)
    with pytest.raises(LabError, match="did not write: not overwriting"):
        inventory_writer.write(cfg, Report())
    assert (prod / "hosts.yml").read_text() == "all:\n  children: {}\n"
    assert not (prod / "group_vars").exists()
    lab_inv = LabConfig(lab_dir=tmp_path / "lab", inventory_dir=tmp_path / "labinv")
    inventory_writer.write(lab_inv, Report())
    inventory_writer.write(lab_inv, Report())  # its own: rewritten freely
    assert (tmp_path / "labinv" / "hosts.yml").read_text().startswith(inventory_writer.HEADER)
