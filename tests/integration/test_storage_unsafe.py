"""One researcher's symlink never blocks the batch (issue 9, item 7): `tre plan`/`tre apply`
apply every other project, record their changes, print one line for the unsafe project and
exit 1; its revision stays unsaved, so the next apply (trap removed) does it.

Projects 7630-7632 (copies of example 9001), cleaned at the start and at the end.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from provisioning.state import StateStore
from tests.integration.conftest import TODAY
from tests.integration.helpers import (
    EXAMPLES,
    ad_connection,
    ad_objects,
    delete_subtree,
    lab_vars,
    remove_project_storage,
    tre,
    write_contract,
)

pytestmark = pytest.mark.lab

PROJECTS = ("7630", "7631")


def _clean(v: dict, projects: tuple[str, ...] = PROJECTS) -> None:
    conn = ad_connection(v)
    for nr in projects:
        export = Path(v["tre_projects_root"]) / f"P{nr}" / "export"
        if export.is_symlink():
            export.unlink()
        delete_subtree(conn, f"OU=P{nr},{v['tre_ad_projects_ou']}")
        remove_project_storage(v, nr)
        shutil.rmtree(Path(v["tre_initial_password_dir"]) / nr, ignore_errors=True)


def _unsafe_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "7630" in ln]


def _contracts(folder: Path, extra: bool) -> Path:
    folder.mkdir(exist_ok=True)
    for nr in PROJECTS:
        contract = yaml.safe_load((EXAMPLES / "9001-small.yaml").read_text())
        contract["project"] = int(nr)
        if extra:
            contract.setdefault("storage", {})["extra"] = [{"size": "50GB", "from": TODAY}]
        write_contract(folder / f"{nr}.yaml", contract)
    return folder


def test_symlinked_export_refuses_one_project_and_applies_the_other(lab_inventory, tmp_path):
    v = lab_vars()
    _clean(v)
    env = {"TRE_STATE": f"sqlite:///{tmp_path}/state.db", "TRE_HOME": str(tmp_path / "home")}
    args = ("--today", TODAY)
    try:
        tre("apply", str(_contracts(tmp_path / "v1", extra=False)), *args, "--yes", env=env)
        export = Path(v["tre_projects_root"]) / "P7630" / "export"
        export.rmdir()
        export.symlink_to("/etc")  # what a member of 7630 can do
        v2 = str(_contracts(tmp_path / "v2", extra=True))
        line = f"unsafe: project 7630: {export} is a symbolic link; left unchanged"

        plan = tre("plan", v2, *args, env=env, check=False)
        assert plan.returncode == 1, plan.stderr
        assert _unsafe_lines(plan.stderr) == [line]
        assert "+ " not in plan.stdout or "7630" not in plan.stdout.split("7631")[0]

        applied = tre("apply", v2, *args, "--yes", env=env, check=False)
        assert applied.returncode == 1, applied.stderr
        assert _unsafe_lines(applied.stderr) == [line]  # once, at the end
        assert "Traceback" not in applied.stdout + applied.stderr
        store = StateStore(env["TRE_STATE"])
        raised = [e for e in store.ledger("7631") if (e.op, e.kind) == ("raise", "quota")]
        assert len(raised) == 1  # the other project was applied and recorded
        assert not [e for e in store.ledger("7630") if e.op == "raise"]
        assert len(store.revisions("7631")) == 2
        assert len(store.revisions("7630")) == 1  # unsaved: the next apply retries it
        assert export.is_symlink()

        export.unlink()  # the admin removes the trap
        again = tre("apply", v2, *args, "--yes", env=env, check=False)
        assert again.returncode == 0, again.stderr
        assert [e for e in store.ledger("7630") if (e.op, e.kind) == ("raise", "quota")]
        assert len(store.revisions("7630")) == 2
        assert export.is_dir()
    finally:
        _clean(v)


def test_fresh_state_never_revokes_a_subject_the_acls_show(lab_inventory, tmp_path):
    """Item 14: a contract revision without a granted subject, planned with a fresh state
    store (so no revision check can see the removal), is refused from what AD shows: the
    project's groups in the subject's reader group (issue 17; before, the ACLs)."""
    v = lab_vars()
    nr = "7632"
    _clean(v, (nr,))
    contract = yaml.safe_load((EXAMPLES / "9001-small.yaml").read_text())
    contract["project"] = int(nr)
    first = write_contract(tmp_path / "v1.yaml", contract)
    removed = contract["file_subjects"].pop()
    second = write_contract(tmp_path / "v2.yaml", contract)
    old = {"TRE_STATE": f"sqlite:///{tmp_path}/old.db", "TRE_HOME": str(tmp_path / "home")}
    fresh = {"TRE_STATE": f"sqlite:///{tmp_path}/fresh.db", "TRE_HOME": str(tmp_path / "home")}
    try:
        tre("apply", str(first), "--today", TODAY, "--yes", env=old)
        plan = tre("plan", str(second), "--today", TODAY, env=fresh, check=False)
        assert plan.returncode == 1, plan.stderr
        lines = [ln for ln in plan.stderr.splitlines() if nr in ln]
        assert len(lines) == 1 and lines[0].endswith(
            f"project {nr}: subject {removed} is granted in AD (DS-{removed}) but not in the "
            "contract; subjects are never removed"
        ), plan.stderr
        assert "revoke" not in plan.stdout
        applied = tre("apply", str(second), "--today", TODAY, "--yes", env=fresh, check=False)
        assert applied.returncode == 1, applied.stderr
        objects = ad_objects(ad_connection(v), v["tre_ad_projects_ou"])
        reader = objects[f"DS-{removed}"]
        members = objects[f"p{nr}-members"]
        assert members["dn"].lower() in [m.lower() for m in reader["member"]]  # still granted
    finally:
        _clean(v, (nr,))
