"""After `tre apply`: access as the people themselves (numeric ids), and quota plans."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import TODAY
from tests.integration.helpers import EXAMPLES, ad_objects, tre_json, write_contract

pytestmark = pytest.mark.lab


def as_person(obj: dict, *cmd: str) -> subprocess.CompletedProcess:
    """Run a command as a local user carrying the account's uidNumber/gidNumber only."""
    uid, gid = int(obj["uidNumber"]), int(obj["gidNumber"])
    return subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *cmd],
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def people(applied):
    return ad_objects(applied["conn"], applied["v"]["tre_ad_projects_ou"])


def test_contracted_subject_readable_other_refused(applied, people):
    catalog = Path(applied["v"]["tre_catalog_root"])
    researcher = people["p9001.jdevries"]
    granted = next((catalog / "GBAPERSOONTAB").glob("*.csv"))
    other = next((catalog / "SPOLISBUS").glob("*.csv"))  # not in contract 9001
    ok = as_person(researcher, "cat", str(granted))
    assert ok.returncode == 0 and ok.stdout, ok.stderr
    refused = as_person(researcher, "cat", str(other))
    assert refused.returncode != 0 and "Permission denied" in refused.stderr


def test_members_write_observers_only_read(applied, people):
    project = Path(applied["v"]["tre_projects_root"]) / "P9002"
    target = project / "export" / "table.csv"
    wrote = as_person(people["p9002.mbakker"], "sh", "-c", f"echo a,b > {target}")
    assert wrote.returncode == 0, wrote.stderr
    observer = people["p9002.asmit"]
    assert as_person(observer, "cat", str(target)).returncode == 0
    refused = as_person(observer, "sh", "-c", f"echo x > {project}/export/observer.csv")
    assert refused.returncode != 0 and "Permission denied" in refused.stderr
    stranger = people["p9001.jdevries"]
    assert "Permission denied" in as_person(stranger, "ls", str(project)).stderr
    target.unlink()


def test_workspace_only_for_its_owner(applied, people):
    home = Path(applied["v"]["tre_workspaces_root"])
    owner = as_person(people["p9001.jdevries"], "touch", str(home / "p9001.jdevries" / "x"))
    assert owner.returncode == 0, owner.stderr
    other = as_person(people["p9001.zvanthoff"], "ls", str(home / "p9001.jdevries"))
    assert "Permission denied" in other.stderr
    (home / "p9001.jdevries" / "x").unlink()


def test_extra_storage_shows_exactly_one_quota_change(applied, tmp_path):
    contract = yaml.safe_load((EXAMPLES / "9001-small.yaml").read_text())
    contract.setdefault("storage", {}).setdefault("extra", []).append(
        {"size": "50GB", "from": TODAY}
    )
    changed = write_contract(tmp_path / "9001.yaml", contract)
    plan = tre_json("plan", str(changed), "--today", TODAY, env=applied["env"])
    assert [(c["op"], c["kind"], c["name"]) for c in plan["changes"]] == [
        ("raise", "quota", "P9001")
    ]
    change = plan["changes"][0]
    assert change["after"] - change["before"] == 50 * 1024**3
