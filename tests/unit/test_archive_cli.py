"""`tre archive list|object|withdraw` and the `tre purge` dry run on a store without the lab:
the list and its JSON, one-line refusals (exit 1), usage errors (exit 2), the dry run's reasons.
The archive host's parts (verify, --yes) are lab tests (tests/integration/test_retention.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioning.cli import cli
from provisioning.state import StateStore

CONTRACT = {
    "project": "8290", "title": "T", "institution": {"name": "Universiteit Utrecht"},
    "start": "2026-02-01", "end": "2027-01-31", "retention_years": 5, "lead": "jan",
    "researchers": [{"id": "jan", "name": "Jan", "email": "jan@example.org"}],
}  # fmt: skip


@pytest.fixture
def url(state_url):
    store = StateStore(state_url)
    store.save_revision({"project": "8290", "end": "2027-01-31", "retention_years": 5}, "r",
                        "run", "x.yaml", CONTRACT)  # fmt: skip
    store.save_archive("8290", "run", "T", status="live-removed", location="/a/P8290",
                       manifest_sha256="ab" * 32, files=3, bytes=1_000_000_001)  # fmt: skip
    store.record_job("purge-notices", [("8290", "2032-01-31/30d", "sent 2032-01-01 2")], "T")
    store.record_verification("8290", "ok", "2032-01-02", "T", "ops", "v", {})
    return state_url


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_list_shows_due_date_size_notices_and_never_a_name(url):
    out = run("archive", "list", "--state", url)
    assert out.exit_code == 0
    line = out.output.splitlines()[1]
    assert line.startswith(
        "8290  live-removed  Universiteit Utrecht  2027-01-31  5y  2032-01-31  2"
    )
    assert "30d 2032-01-01" in line
    assert "jan@example.org" not in out.output and "Jan" not in out.output
    (row,) = json.loads(run("archive", "list", "--state", url, "--json").output)
    assert (row["due"], row["size_whole_gb"], row["objection_open"]) == ("2032-01-31", 2, False)
    assert "lead" not in row


def test_objection_blocks_the_dry_run_until_withdrawn(url):
    ok = run("purge", "--state", url, "--today", "2032-02-01", "--json")
    assert [a["project"] for a in json.loads(ok.output)["purge"]] == ["8290"]
    assert run("archive", "object", "8290", "--until", "2032-06-30", "--reason", "study",
               "--state", url, "--today", "2032-01-15").exit_code == 0  # fmt: skip
    dry = run("purge", "--state", url, "--today", "2032-02-01")
    assert dry.exit_code == 0 and "would purge (dry run; --yes deletes them) 0" in dry.output
    assert ". skip P8290: objection by " in dry.output and "until 2032-06-30" in dry.output
    twice = run("archive", "object", "8290", "--until", "2032-06-30", "--reason", "x",
                "--state", url, "--today", "2032-01-15")  # fmt: skip
    assert twice.exit_code == 1 and "already has an objection" in twice.output
    assert run("archive", "withdraw", "8290", "--state", url).exit_code == 0
    again = run("archive", "withdraw", "8290", "--state", url)
    assert (
        again.exit_code == 1
        and again.output == "Error: project 8290 has no objection to withdraw\n"
    )


def test_bad_input_is_one_line_or_a_usage_error(url):
    none = run("archive", "object", "8291", "--until", "2032-06-30", "--reason", "r",
               "--state", url)  # fmt: skip
    assert none.exit_code == 1
    assert none.output == "Error: project 8291 has no archive in the state store\n"
    bad = run("archive", "object", "8290", "--until", "soon", "--reason", "r", "--state", url)
    assert bad.exit_code == 2 and "is not a date" in bad.output


def test_the_source_of_a_running_reopened_project_is_kept(url):
    store = StateStore(url)
    reopen = {"project": "8291", "reopens": 8290, "start": "2032-01-01", "end": "2032-12-31"}
    store.save_revision({"project": "8291"}, "r2", "run", "y.yaml", reopen)
    dry = json.loads(run("purge", "--state", url, "--today", "2032-02-01", "--json").output)
    assert dry["purge"] == []
    assert dry["skip"][0]["reasons"] == ["source of running reopened project 8291"]
    later = json.loads(run("purge", "--state", url, "--today", "2033-01-03", "--json").output)
    assert [a["project"] for a in later["purge"]] == []  # verified too long ago by then
    assert later["skip"][0]["reasons"] == ["last verified 2032-01-02, more than 365 days ago"]


def test_yes_reports_each_outcome_and_exits_1_on_a_refusal(url, tmp_path, monkeypatch):
    from provisioning import purge
    from provisioning.retention import PurgePlan

    def execute(inventory, store, policy, today, home, who):
        p = purge.plan(store, policy, today)
        purged = [a.project for a, _ in p.purge]
        refused = [("8289", "a symbolic link")]
        return purge.PurgeResult(PurgePlan([], [], []), purged, ["8288"], refused=refused)

    monkeypatch.setattr(purge, "execute", execute)
    inventory = Path(__file__).resolve().parents[2] / "inventory" / "example"
    out = run("purge", "--yes", "--state", url, "--today", "2032-02-01", "--inventory",
              str(inventory), "--home", str(tmp_path / "home"))  # fmt: skip
    assert out.exit_code == 1
    assert "purged P8290: tombstone recorded" in out.output
    assert "recovered P8288: an interrupted purge finished (tombstone recorded)" in out.output
    assert out.output.endswith("Error: purge refused P8289: a symbolic link\n")
