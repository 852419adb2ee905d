"""Storage measurement, pure parts: metrics textfile (content, atomic write), over-allowance
steps, MB sizes in the policy, the billable-usage records, input checks of ``measure``."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest
import yaml

from provisioning import usage
from provisioning.errors import MeasureError, MetricsError, PolicyError
from provisioning.policy import DEFAULT_POLICY, load_policy, size_bytes
from provisioning.state import StateStore
from provisioning.usage import (
    Usage,
    UsageReport,
    metrics_text,
    over_allowance_steps,
    overrun_step,
    write_metrics,
)

MB, GB = 1024**2, 1024**3


def report() -> UsageReport:
    return UsageReport(
        [
            Usage("9001", "project", None, 3 * MB, 50 * MB, "fs1", "/srv/tre/projects/P9001"),
            Usage("9001", "workspace", "p9001.jdevries", 1000, MB, "fs1"),
            Usage("9002", "project", None, None, 100 * GB, "fs1"),  # unknown usage
            Usage("9003", "workspace", 'p9003.a"b\\c', 5, None, "fs1"),  # no limit
        ],
        ["fs1: quota accounting of /srv/tre is not consistent"],
    )


def test_metrics_text_exact() -> None:
    assert metrics_text(report()) == (
        "# HELP tre_quota_used_bytes Bytes used in a project folder or personal workspace.\n"
        "# TYPE tre_quota_used_bytes gauge\n"
        'tre_quota_used_bytes{project="9001",kind="project",owner=""} 3145728\n'
        'tre_quota_used_bytes{project="9001",kind="workspace",owner="p9001.jdevries"} 1000\n'
        'tre_quota_used_bytes{project="9003",kind="workspace",owner="p9003.a\\"b\\\\c"} 5\n'
        "# HELP tre_quota_limit_bytes Quota limit of a project folder or personal workspace"
        " in bytes.\n"
        "# TYPE tre_quota_limit_bytes gauge\n"
        'tre_quota_limit_bytes{project="9001",kind="project",owner=""} 52428800\n'
        'tre_quota_limit_bytes{project="9001",kind="workspace",owner="p9001.jdevries"} 1048576\n'
        'tre_quota_limit_bytes{project="9002",kind="project",owner=""} 107374182400\n'
        "# HELP tre_quota_unknown Units whose usage is unknown (quota accounting not"
        " consistent).\n"
        "# TYPE tre_quota_unknown gauge\n"
        "tre_quota_unknown 1\n"
    )


def test_metrics_of_an_empty_report_still_say_nothing_is_unknown() -> None:
    assert metrics_text(UsageReport([], [])).endswith("tre_quota_unknown 0\n")


def test_write_metrics_replaces_atomically(tmp_path: Path) -> None:
    old = tmp_path / "tre_quota.prom"
    old.write_text("old content\n")
    reader = old.open()  # a collector that opened the old file keeps reading the old one
    old_inode = old.stat().st_ino
    path = write_metrics(report(), tmp_path)
    assert path == old
    assert path.read_text() == metrics_text(report())
    assert reader.read() == "old content\n"
    reader.close()
    assert path.stat().st_ino != old_inode  # renamed over, never rewritten in place
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tre_quota.prom"]


def test_write_metrics_failure_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch) -> None:
    target = tmp_path / "tre_quota.prom"
    target.write_text("old content\n")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(usage.os, "replace", refuse)
    with pytest.raises(MetricsError, match=r"cannot write metrics .*: No space left on device"):
        write_metrics(report(), tmp_path)
    assert target.read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tre_quota.prom"]


def test_write_metrics_missing_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(MetricsError) as e:
        write_metrics(report(), tmp_path / "nope")
    assert (
        str(e.value) == f"cannot write metrics into {tmp_path / 'nope'}: No such file or directory"
    )


def test_default_metrics_directory_is_debians_textfile_dir() -> None:
    assert Path("/var/lib/prometheus/node-exporter") == usage.DEFAULT_METRICS_DIR
    assert write_metrics.__defaults__ == (usage.DEFAULT_METRICS_DIR,)


def test_percent() -> None:
    items = report().items
    assert items[0].percent == pytest.approx(6.0)
    assert items[2].percent is None and items[3].percent is None
    assert report().unknown == [items[2]]


def test_over_allowance_steps_default_policy() -> None:
    policy = load_policy()
    assert overrun_step(policy).size == "50GB"
    allowance = 100 * GB
    assert over_allowance_steps(0, allowance, policy) == 0
    assert over_allowance_steps(allowance, allowance, policy) == 0
    assert over_allowance_steps(allowance + 1, allowance, policy) == 1
    assert over_allowance_steps(allowance + 50 * GB, allowance, policy) == 1
    assert over_allowance_steps(allowance + 50 * GB + 1, allowance, policy) == 2
    assert over_allowance_steps(allowance + 1024**4, allowance, policy) == 21  # 1TB = 20.48
    with pytest.raises(ValueError):
        over_allowance_steps(-1, allowance, policy)


def _policy_file(tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load(DEFAULT_POLICY.read_text())
    data.update(changes)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_policy_sizes_in_mb(tmp_path: Path) -> None:
    steps = [
        {"size": "10MB", "monthly": 26, "min_months": 1},
        {"size": "1GB", "monthly": 128, "min_months": 6},
    ]
    path = _policy_file(tmp_path, project_quota="50MB", workspace_quota="5MB", storage_steps=steps)
    policy = load_policy(str(path))
    assert (policy.project_quota_bytes, policy.workspace_quota_bytes) == (50 * MB, 5 * MB)
    assert overrun_step(policy).size_bytes == 10 * MB
    assert over_allowance_steps(50 * MB + 25 * MB, 50 * MB, policy) == 3
    assert size_bytes("50MB") == 50 * MB
    for bad in ("50KB", "50mb", "0MB", "50 MB", "1.5GB"):
        with pytest.raises(ValueError):
            size_bytes(bad)
    broken = _policy_file(tmp_path, project_quota="50KB")
    with pytest.raises(PolicyError, match="expected a size such as 50MB, 50GB or 1TB"):
        load_policy(str(broken))


def test_overrun_step_without_a_monthly_step_is_the_smallest() -> None:
    policy = load_policy()
    steps = tuple(dataclasses.replace(s, min_months=6) for s in reversed(policy.storage_steps))
    policy = dataclasses.replace(policy, storage_steps=steps)
    assert overrun_step(policy).size == "50GB"


@pytest.fixture
def store(tmp_path):
    return StateStore(f"sqlite:///{tmp_path}/state.db")


def test_billable_usage_recorded_once(store) -> None:
    detail = {"used_bytes": 160 * GB, "allowance_bytes": 100 * GB, "step": "50GB"}
    assert store.record_billable("9001", "extra_storage", "2026-03", 2, detail) is True
    assert store.record_billable("9001", "extra_storage", "2026-03", 5, {"other": 1}) is False
    rows = store.billable_usage()
    assert len(rows) == 1
    row = rows[0]
    assert (row["project"], row["kind"], row["period"], row["quantity"]) == (
        "9001",
        "extra_storage",
        "2026-03",
        2,
    )
    assert row["detail"] == detail and row["recorded_at"]


def test_billable_usage_filters_and_order(store) -> None:
    store.record_billable("10000", "extra_storage", "2026-03", 1, {})
    store.record_billable("9001", "extra_storage", "2026-04", 1, {})
    store.record_billable("9001", "extra_storage", "2026-03", 1, {})
    store.record_billable("9001", "large_archive", "2026-03", 3, {})
    key = [(r["period"], r["project"], r["kind"]) for r in store.billable_usage()]
    assert key == [
        ("2026-03", "9001", "extra_storage"),
        ("2026-03", "9001", "large_archive"),
        ("2026-03", "10000", "extra_storage"),
        ("2026-04", "9001", "extra_storage"),
    ]
    assert len(store.billable_usage(kind="extra_storage")) == 3
    assert len(store.billable_usage(project="9001")) == 3
    assert len(store.billable_usage(kind="large_archive", project="9001")) == 1
    assert store.billable_usage(kind="large_archive", project="10000") == []


def test_billable_usage_survives_reopening(store, tmp_path) -> None:
    store.record_billable("9001", "extra_storage", "2026-03", 1, {})
    store.close()
    again = StateStore(f"sqlite:///{tmp_path}/state.db")
    assert again.record_billable("9001", "extra_storage", "2026-03", 1, {}) is False
    assert len(again.billable_usage()) == 1


@pytest.mark.parametrize("quantity", [-1, 1.5, True, "2"])
def test_billable_quantity_must_be_a_whole_number(store, quantity) -> None:
    with pytest.raises(ValueError):
        store.record_billable("9001", "extra_storage", "2026-03", quantity, {})


def test_measure_checks_project_numbers_before_any_run(monkeypatch) -> None:
    def no_run(*args, **kwargs):
        raise AssertionError("no Ansible run expected")

    monkeypatch.setattr(usage, "run_read", no_run)
    inventory = None  # never reached
    with pytest.raises(MeasureError, match="not a project number: '0123'"):
        usage.measure(inventory, ["9001", "0123"])  # type: ignore[arg-type]
    assert usage.measure(inventory, []) == UsageReport([], [])  # type: ignore[arg-type]


def test_metrics_file_is_not_left_world_writable(tmp_path: Path) -> None:
    os.umask(0o022)
    path = write_metrics(report(), tmp_path)
    assert not path.stat().st_mode & stat.S_IWOTH


def _event(host: str, res: dict, kind: str = "runner_on_ok") -> dict:
    return {"event": kind, "event_data": {"host": host, "task": "measure", "res": res}}


def test_runner_keeps_the_measurement_and_its_warnings() -> None:
    from provisioning.runner import _task_result

    rows = [{"project": "9001", "kind": "project", "owner": None, "used_bytes": 1}]
    task = _task_result(
        _event("fs1", {"quota_usage": rows, "consistent": False, "quota_warnings": ["w1"]})
    )
    assert task is not None
    assert task.data == {"quota_usage": rows, "consistent": False}
    assert task.warnings == ["w1"]


def _fake_run(tasks: list, status: str = "successful"):
    from provisioning.runner import RunResult

    def run_read(inventory, playbook, extravars, private):
        assert playbook == "measure.yml" and private.is_dir()
        assert stat.S_IMODE(private.stat().st_mode) == 0o700  # the record names accounts
        run_read.extravars = extravars
        return RunResult("r1", True, status, 0 if status == "successful" else 2, "", tasks)

    return run_read


def test_measure_maps_every_servers_rows(monkeypatch) -> None:
    from provisioning.runner import TaskResult

    row = {
        "project": "9001",
        "kind": "workspace",
        "owner": "p9001.jdevries",
        "path": "/srv/tre/home/p9001.jdevries",
        "used_bytes": 7,
        "limit_bytes": None,
    }
    tasks = [
        TaskResult("fs1", "m", True, False, data={"quota_usage": [row]}),
        TaskResult("fs2", "m", True, False, warnings=["project 9002: no project folder x"]),
    ]
    fake = _fake_run(tasks)
    monkeypatch.setattr(usage, "run_read", fake)
    inventory = type("Inv", (), {"path": Path("/nonexistent")})()
    got = usage.measure(inventory, ["9002", "9001", "9001"])  # type: ignore[arg-type]
    assert fake.extravars == {"tre_measure_projects": ["9001", "9002"]}
    assert got == UsageReport(
        [Usage("9001", "workspace", "p9001.jdevries", 7, None, "fs1", row["path"])],
        ["fs2: project 9002: no project folder x"],
    )
    usage.measure(inventory)  # type: ignore[arg-type]
    assert fake.extravars == {}


def test_measure_failure_is_one_line(monkeypatch) -> None:
    from provisioning.errors import RunError
    from provisioning.runner import TaskResult

    tasks = [TaskResult("fs1", "m", False, False, message="cannot read qgroups of /srv/tre")]
    monkeypatch.setattr(usage, "run_read", _fake_run(tasks, status="failed"))
    inventory = type("Inv", (), {"path": Path("/nonexistent")})()
    with pytest.raises(RunError) as e:
        usage.measure(inventory)  # type: ignore[arg-type]
    assert str(e.value) == "measuring storage failed: fs1: cannot read qgroups of /srv/tre"
