"""The systemd units shipped in the package pass `systemd-analyze verify`, with ExecStart
naming the installed tre as playbooks/jobs.yml writes it; what the issue asks of them holds."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from provisioning.jobs import framework

UNITS = Path(framework.__file__).parent / "systemd"
PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "jobs.yml"
TRE = Path(sys.executable).parent / "tre"


def _installed(tmp_path: Path, service_text: str | None = None) -> list[Path]:
    """The units as the playbook installs them: ExecStart's /opt/tre/bin/tre → this tre."""
    service = service_text or (UNITS / "tre-jobs.service").read_text()
    (tmp_path / "tre-jobs.service").write_text(
        re.sub(r"(?m)^ExecStart=/opt/tre/bin/tre ", f"ExecStart={TRE} ", service)
    )
    shutil.copy(UNITS / "tre-jobs.timer", tmp_path / "tre-jobs.timer")
    return [tmp_path / "tre-jobs.timer", tmp_path / "tre-jobs.service"]


def _verify(paths: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["systemd-analyze", "verify", *map(str, paths)], capture_output=True, text=True
    )


def test_units_pass_systemd_analyze_verify(tmp_path):
    result = _verify(_installed(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_broken_unit_fails_the_same_check(tmp_path):
    broken = (UNITS / "tre-jobs.service").read_text().replace("Type=oneshot", "Type=oneshoot")
    result = _verify(_installed(tmp_path, broken))
    assert result.returncode != 0 or "oneshoot" in result.stderr


def test_what_the_units_say():
    service = (UNITS / "tre-jobs.service").read_text()
    timer = (UNITS / "tre-jobs.timer").read_text()
    assert "\nType=oneshot\n" in service
    assert "\nExecStart=/opt/tre/bin/tre jobs run\n" in service
    assert "\nPersistent=true\n" in timer and "\nRandomizedDelaySec=" in timer
    assert "\nOnCalendar=*-*-* 06:00:00\n" in timer and "\nWantedBy=timers.target\n" in timer


def test_the_playbook_never_starts_the_service():
    (play,) = yaml.safe_load(PLAYBOOK.read_text())
    text = PLAYBOOK.read_text()
    assert "ExecStart=/opt/tre/bin/tre " in text  # the substitution matches the unit's line
    started = [t for t in play["tasks"] if "ansible.builtin.systemd_service" in t]
    assert [t["ansible.builtin.systemd_service"]["name"] for t in started] == ["tre-jobs.timer"]
