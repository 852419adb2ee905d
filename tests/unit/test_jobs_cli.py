"""`tre jobs` and `tre ossc confirm-destroyed` at the command line (no lab): usage errors,
one-line refusals, the confirmation recorded once in the ledger."""

from __future__ import annotations

import json

from click.testing import CliRunner

from provisioning.cli import cli
from provisioning.state import StateStore


def _run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)


def test_jobs_run_without_contracts_is_a_usage_error(tmp_path):
    result = _run("jobs", "run", "--state", f"sqlite:///{tmp_path}/s.db", env={"TRE_CONTRACTS": ""})
    assert result.exit_code == 2
    assert "no contracts: give CONTRACT... or --contracts DIR ($TRE_CONTRACTS)" in result.output


def test_jobs_run_unknown_job_is_a_usage_error(tmp_path):
    result = _run("jobs", "run", str(tmp_path), "--only", "purge")
    assert result.exit_code == 2 and "'purge' is not one of" in result.output


def test_jobs_list_json(tmp_path):
    state = f"sqlite:///{tmp_path}/s.db"
    StateStore(state).record_job("quota-weekly", [("*", "2026-W49", "3 measured")], "t1")
    rows = json.loads(_run("jobs", "list", "--state", state, "--today", "2026-12-02",
                           "--json").output)  # fmt: skip
    by_job = {r["job"]: r for r in rows}
    assert by_job["quota-weekly"]["next_due"] == "2026-12-07"
    assert by_job["quota-weekly"]["last_result"] == "3 measured"
    assert by_job["quota-monthly"]["next_due"] == "2026-12-02"  # December not done yet
    assert by_job["reconcile"]["next_due"] is None and not by_job["reconcile"]["enabled"]


def _project(store: StateStore, project: str, ossc_end: str | None) -> None:
    store.save_revision(
        {"project": project, "title": "t", "start": "2026-01-01", "end": "2027-01-31",
         "status": "active", "ossc_end": ossc_end,
         "ossc_destruction_deadline": "2026-12-25" if ossc_end else None},
        "rev", "run", "c.yaml", {"project": project},
    )  # fmt: skip


def test_confirm_destroyed_once(tmp_path):
    state = f"sqlite:///{tmp_path}/s.db"
    store = StateStore(state)
    _project(store, "7950", "2026-12-15")
    first = _run("ossc", "confirm-destroyed", "7950", "--state", state, "--today", "2026-12-20")
    assert first.exit_code == 0 and "confirmed in the ledger" in first.output
    again = _run("ossc", "confirm-destroyed", "7950", "--state", state, "--json")
    assert json.loads(again.output)["recorded"] is False
    entries = [e for e in store.ledger("7950") if e.op == "confirm-destroyed"]
    assert len(entries) == 1
    assert entries[0].detail == {"ossc_end": "2026-12-15", "destroyed_on": "2026-12-20",
                                 "deadline": "2026-12-25"}  # fmt: skip


def test_confirm_destroyed_refusals(tmp_path):
    state = f"sqlite:///{tmp_path}/s.db"
    _project(StateStore(state), "7951", None)
    unknown = _run("ossc", "confirm-destroyed", "7952", "--state", state)
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "Error: project 7952: not in the state store (never applied)"
    no_ossc = _run("ossc", "confirm-destroyed", "7951", "--state", state)
    assert no_ossc.exit_code == 1 and "has no OSSC use" in no_ossc.output
    bad = _run("ossc", "confirm-destroyed", "07", "--state", state)
    assert bad.exit_code == 2


def test_jobs_run_without_an_inventory_is_one_line(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "none.toml").write_text("")  # a config file without an inventory
    result = _run("jobs", "run", str(tmp_path / "c"), "--state", f"sqlite:///{tmp_path}/s.db",
                  "--home", str(tmp_path / "home"),
                  env={"TRE_INVENTORY": "", "TRE_CONFIG": str(tmp_path / "none.toml")})  # fmt: skip
    assert result.exit_code == 1
    assert result.output.startswith("Error: no inventory set: pass --inventory DIR")
    assert len(result.output.strip().splitlines()) == 1
