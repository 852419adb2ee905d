"""load_inventory: the lab writer's output round-trips; missing pieces give one clear error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from provisioning.errors import InventoryError, LabError
from provisioning.inventory import GROUPS, load_inventory
from provisioning.lab import inventory_writer
from provisioning.lab.config import LabConfig
from provisioning.lab.proc import Report


def write_lab_inventory(tmp_path: Path) -> LabConfig:
    cfg = LabConfig(lab_dir=tmp_path / "lab", inventory_dir=tmp_path / "inv")
    inventory_writer.write(cfg, Report())
    return cfg


def test_lab_inventory_round_trips(tmp_path):
    cfg = write_lab_inventory(tmp_path)
    inv = load_inventory(cfg.inventory_dir)
    assert inv.ad_server == "127.0.10.1" and inv.ad_port == 636
    assert inv.ad_ca_file == tmp_path / "lab" / "ca" / "ca.pem"
    assert inv.ad_projects_ou == "OU=Projects,DC=lab,DC=example,DC=org"
    assert inv.ad_software_ou == "OU=Software,OU=Projects,DC=lab,DC=example,DC=org"
    assert inv.ad_bind_user == "svc-prov@lab.example.org"
    assert inv.ad_id_min == 200000
    assert inv.projects_root == Path("/srv/tre/projects")
    assert inv.workspaces_root == Path("/srv/tre/home")
    assert inv.catalog_root == Path("/srv/tre/catalog")
    assert (inv.smtp_host, inv.smtp_port) == ("127.0.10.2", 25)
    assert (inv.ossc_host, inv.ossc_port, inv.ossc_user) == ("127.0.10.3", 2222, "tre-ossc")
    assert inv.ossc_known_hosts == cfg.inventory_dir / "known_hosts"
    assert inv.lab_mail_dir == tmp_path / "lab" / "mail"
    assert inv.is_lab
    assert set(inv.hosts) == set(GROUPS) and all(inv.hosts[g] for g in GROUPS)
    hosts = yaml.safe_load((cfg.inventory_dir / "hosts.yml").read_text())
    for group in GROUPS:
        for host_vars in hosts["all"]["children"][group]["hosts"].values():
            assert host_vars["ansible_connection"] == "local"
            assert host_vars["ansible_python_interpreter"]


def test_no_secret_in_the_inventory(tmp_path):
    cfg = write_lab_inventory(tmp_path)
    text = (cfg.inventory_dir / "group_vars" / "all.yml").read_text()
    assert "password:" not in text.replace("password_file:", "").replace("password_dir:", "")


def test_second_write_changes_nothing(tmp_path):
    cfg = write_lab_inventory(tmp_path)
    report = Report()
    inventory_writer.write(cfg, report)
    assert report.actions == []


def test_missing_inventory_names_the_fix(tmp_path):
    with pytest.raises(InventoryError, match="tre lab up"):
        load_inventory(tmp_path / "lab")


def test_missing_keys_are_all_named(tmp_path):
    cfg = write_lab_inventory(tmp_path)
    path = cfg.inventory_dir / "group_vars" / "all.yml"
    data = yaml.safe_load(path.read_text())
    del data["tre_ad_ca_file"], data["tre_smtp_port"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InventoryError, match="tre_ad_ca_file, tre_smtp_port"):
        load_inventory(cfg.inventory_dir)


def test_bad_number_and_missing_group(tmp_path):
    cfg = write_lab_inventory(tmp_path)
    path = cfg.inventory_dir / "group_vars" / "all.yml"
    data = yaml.safe_load(path.read_text())
    data["tre_ad_port"] = "ldaps"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InventoryError, match="tre_ad_port must be a number"):
        load_inventory(cfg.inventory_dir)
    (cfg.inventory_dir / "hosts.yml").write_text("all:\n  children:\n    fileservers: {}\n")
    with pytest.raises(InventoryError, match="domain_controllers"):
        load_inventory(cfg.inventory_dir)


def test_bind_password_read_from_its_file(tmp_path):
    cfg = write_lab_inventory(tmp_path)
    cfg.secrets_dir.mkdir(parents=True)
    cfg.bind_password_file.write_text("s3cret\n")
    assert load_inventory(cfg.inventory_dir).bind_password() == "s3cret"


def test_lab_needs_root(monkeypatch, tmp_path):
    from provisioning import lab

    monkeypatch.setattr("os.geteuid", lambda: 1000)
    cfg = LabConfig(lab_dir=tmp_path / "lab", inventory_dir=tmp_path / "inv")
    for action in (lab.up, lab.down, lab.status):
        with pytest.raises(LabError, match="root"):
            action(cfg)


def test_example_inventory_is_complete() -> None:
    """inventory/example (production-shaped, docs/inventory.md) has every setting and group."""
    example = Path(__file__).resolve().parents[2] / "inventory" / "example"
    inv = load_inventory(example)
    assert set(inv.hosts) == {"domain_controllers", "fileservers", "archive", "ossc_gateway"}
    assert inv.ad_port == 636 and str(inv.ad_ca_file).startswith("/etc/tre/")


def test_plan_with_an_unparsable_inventory_fails_in_one_line(tmp_path):
    """Ansible runs a broken hosts.yml as an empty inventory ("no changes"); tre refuses."""
    import os
    import subprocess
    import sys

    inventory = tmp_path / "inv"
    shutil.copytree(Path(__file__).resolve().parents[2] / "inventory" / "example", inventory)
    (inventory / "hosts.yml").write_text("all:\n  children: [unclosed\n")
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "tre"), "plan", str(repo / "examples/contracts"),
         "--inventory", str(inventory), "--today", "2026-12-01"],
        capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "TRE_STATE": f"sqlite:///{tmp_path}/s.db", "TRE_HOME": str(tmp_path)},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "hosts.yml line 3: not valid YAML" in lines[0], proc.stderr
