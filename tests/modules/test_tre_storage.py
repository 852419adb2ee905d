"""tre_storage through real Ansible runs on btrfs: check → apply → idempotent, then what the
researchers see (as local users carrying the project's numeric uid/gid): subject access, project
folder writes, observers read-only, the quota, quota raise/lower planning and revocation.

Runs against the lab (``lab_inventory``: /srv/tre). For development without the lab, set
``TRE_TEST_BTRFS=<a mounted btrfs with quota enabled>``: the test then makes its own roots and
two catalogue subjects there. Project 6101, ids 600011.. ; everything is removed afterwards.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tre_storage_runner import local_inventory, run_as, run_playbook

pytestmark = pytest.mark.lab

ALICE, BOB = (600011, 600111), (600012, 600112)  # researcher, observer: (uid, gid)
MEMBERS, OBSERVERS, FOREIGN = 600111, 600112, 600199
QUOTA = 8 * 2**20
IDS = {
    "accounts": {
        "p6101.alice": {"uid": ALICE[0], "gid": ALICE[1]},
        "p6101.bob": {"uid": BOB[0], "gid": BOB[1]},
        "p6101.carol": {"uid": 600013, "gid": MEMBERS},
    },
    "groups": {
        "p6101-members": MEMBERS,
        "p6101-observers": OBSERVERS,
        "DS-TESTA": 600121,  # the reader groups of the two test subjects (issue 17)
        "DS-TESTB": 600122,
    },
}
READERS = ("DS-TESTA", "DS-TESTB")


def reader_gids(env: Env, granted: list[str]) -> tuple[int, ...]:
    """The groups AD's nesting gives the project's people: the readers of granted subjects."""
    return tuple(IDS["groups"][READERS[env.subjects.index(s)]] for s in granted)


def desired(
    subjects: list[str], quota: int = QUOTA, carol: bool = False, contract: list[str] = ()
) -> dict:
    carol_account = [{"sam": "p6101.carol", "group": "members"}] if carol else []
    return {
        "today": "2026-11-27",
        "projects": [
            {
                "project": "6101",
                "ou": "P6101",
                "groups": {
                    "members": {"name": "p6101-members"},
                    "observers": {"name": "p6101-observers"},
                },
                "accounts": [
                    {"sam": "p6101.alice", "group": "members"},
                    {"sam": "p6101.bob", "group": "observers"},
                    *carol_account,
                ],
                "storage": {
                    "quota_bytes": quota,
                    "workspace_quota_bytes": 2 * 2**20,
                    "file_subjects": subjects,
                    # both test subjects are in the contract (the second granted later):
                    # revoking one not granted today is drift repair, not a removal
                    "contract_subjects": sorted({*subjects, *contract}),
                    "recorded_grants": None,
                },
            }
        ],
        "subjects": {
            subject: {"group": READERS[i], "projects": ["6101"] if subject in subjects else []}
            for i, subject in enumerate(contract)
        },
    }


class Env:
    def __init__(self, inventory, roots: dict[str, str], subjects: list[str]) -> None:
        self.inventory, self.roots, self.subjects = inventory, roots, subjects
        self.project = f"{roots['tre_projects_root']}/P6101"
        self.catalog = roots["tre_catalog_root"]

    def run(
        self,
        subjects: list[str],
        check: bool = False,
        quota: int = QUOTA,
        force: bool = False,
        carol: bool = False,
    ) -> tuple[str, dict]:
        extravars = {
            "tre_desired": desired(subjects, quota, carol, self.subjects),
            "tre_ids": IDS,
            "tre_check": check,
            "tre_force": force,
            **self.roots,
        }
        status, result, _ = run_playbook("storage_reconcile.yml", extravars, self.inventory)
        return status, result


def _dev_env(mount: Path) -> Env:
    roots = {}
    for name in ("projects", "home", "catalog"):
        (mount / name).mkdir(exist_ok=True)
        roots[f"tre_{'workspaces' if name == 'home' else name}_root"] = str(mount / name)
    subjects = ["TRETESTA", "TRETESTB"]
    for subject in subjects:
        folder = mount / "catalog" / subject
        folder.mkdir(mode=0o750, exist_ok=True)
        (folder / "README.txt").write_text("sample\n")
        os.chmod(folder / "README.txt", 0o640)
    return Env(local_inventory(), roots, subjects)


@pytest.fixture(scope="module")
def env(request) -> Env:
    dev = os.environ.get("TRE_TEST_BTRFS")
    if dev:
        environment = _dev_env(Path(dev))
    else:
        inv = request.getfixturevalue("lab_inventory")
        subjects = sorted(p.name for p in Path(inv.catalog_root).iterdir() if p.is_dir())[:2]
        roots = {
            "tre_projects_root": str(inv.projects_root),
            "tre_workspaces_root": str(inv.workspaces_root),
            "tre_catalog_root": str(inv.catalog_root),
        }
        environment = Env(str(inv.path), roots, subjects)
    # a foreign project's entry on the first subject: must survive every run of ours
    first = f"{environment.catalog}/{environment.subjects[0]}"
    _drop_readers(environment)
    subprocess.run(["setfacl", "-m", f"g:{FOREIGN}:r-x", first], check=True)
    yield environment
    environment.run([])  # revoke our gids from every subject
    _drop_readers(environment)
    subprocess.run(["setfacl", "-x", f"g:{FOREIGN}", first], check=False)
    for path in (
        environment.project,
        *(f"{environment.roots['tre_workspaces_root']}/{sam}" for sam in IDS["accounts"]),
    ):
        subprocess.run(["btrfs", "subvolume", "delete", path], capture_output=True, check=False)


def _drop_readers(env: Env) -> None:
    """The test reader groups' entries off the lab's subjects (before and after the module)."""
    for subject in env.subjects:
        for reader in READERS:
            gid = IDS["groups"][reader]
            subprocess.run(
                ["setfacl", "-R", "-x", f"g:{gid},d:g:{gid}", f"{env.catalog}/{subject}"],
                capture_output=True,
                check=False,
            )


def _getfacl(path: str) -> str:
    return subprocess.run(
        ["getfacl", "-n", "-p", path], capture_output=True, text=True, check=True
    ).stdout


def test_check_apply_idempotent(env: Env) -> None:
    granted = env.subjects[:1]
    status, result = env.run(granted, check=True)
    assert status == "successful" and result["changed"]
    kinds = {c["kind"] for c in result["changes"]}
    assert {"subvolume", "quota", "folder", "acl", "workspace", "catalog_acl"} <= kinds
    assert not os.path.exists(env.project)  # check mode changed nothing
    status, result = env.run(granted)
    assert status == "successful" and result["changed"], result.get("msg")
    assert os.path.isdir(f"{env.project}/export")
    status, result = env.run(granted)
    assert status == "successful" and not result["changed"] and result["changes"] == []
    assert f"group:{MEMBERS}:rwx" in _getfacl(env.project)
    assert f"default:group:{OBSERVERS}:r-x" in _getfacl(f"{env.project}/export")
    for subject, reader in zip(env.subjects, READERS, strict=True):  # one entry per subject
        acl = _getfacl(f"{env.catalog}/{subject}")
        assert f"group:{IDS['groups'][reader]}:r-x" in acl and f"group:{MEMBERS}:" not in acl


def test_researcher_and_observer_access(env: Env) -> None:
    contracted, other = (f"{env.catalog}/{s}" for s in env.subjects)
    readers = reader_gids(env, env.subjects[:1])
    for who in (ALICE, BOB):
        rc, err = run_as(*who, "ls", contracted, groups=readers)
        assert rc == 0, err
    readme = next(p for p in sorted(Path(contracted).iterdir()) if p.is_file())
    assert run_as(*ALICE, "cat", str(readme), groups=readers)[0] == 0
    assert run_as(*ALICE, "cat", str(readme))[0] != 0  # not through the project's own gid
    rc, err = run_as(*ALICE, "ls", other, groups=readers)
    assert rc != 0 and "Permission denied" in err
    rc, err = run_as(*ALICE, "sh", "-c", f"echo result > {env.project}/export/table.csv")
    assert rc == 0, err
    assert run_as(*BOB, "cat", f"{env.project}/export/table.csv")[0] == 0  # inherited ACL
    rc, err = run_as(*BOB, "sh", "-c", f"echo x > {env.project}/export/bob.csv")
    assert rc != 0 and "Permission denied" in err
    workspace = f"{env.roots['tre_workspaces_root']}/p6101.alice"
    assert run_as(*ALICE, "sh", "-c", f"echo mine > {workspace}/notes.txt")[0] == 0
    rc, err = run_as(*BOB, "ls", workspace)
    assert rc != 0 and "Permission denied" in err


def test_write_past_quota_fails(env: Env) -> None:
    rc, err = run_as(
        *ALICE,
        "dd",
        "if=/dev/zero",
        f"of={env.project}/import/big.bin",
        "bs=1M",
        f"count={2 * QUOTA // 2**20}",
        "conv=fsync",
    )
    assert rc != 0 and "Disk quota exceeded" in err


def test_raise_shows_exactly_one_quota_change(env: Env) -> None:
    status, result = env.run(env.subjects[:1], check=True, quota=2 * QUOTA)
    assert status == "successful"
    assert [(c["kind"], c["op"], c["after"]) for c in result["changes"]] == [
        ("quota", "raise", 2 * QUOTA)
    ]


def test_lowering_under_usage_warns_then_refuses_unless_forced(env: Env) -> None:
    low = 2**20  # the project holds ~QUOTA bytes after the quota test
    status, result = env.run(env.subjects[:1], check=True, quota=low)
    assert status == "successful" and result["changed"]
    assert any("below its usage" in w for w in result["storage_warnings"])
    status, result = env.run(env.subjects[:1], quota=low)
    assert status == "failed"
    assert "below its usage" in result["msg"] and "force" in result["msg"]
    assert "\n" not in result["msg"]
    status, result = env.run(env.subjects[:1], quota=low, force=True)
    assert status == "successful" and result["changed"]
    os.remove(f"{env.project}/import/big.bin")
    status, result = env.run(env.subjects[:1])  # back to the normal limit
    assert status == "successful"


def test_subject_change_is_membership_not_acl(env: Env) -> None:
    """Issue 17: which projects read a subject is AD membership; the ACLs do not change."""
    first, second = env.subjects
    status, result = env.run([second])
    assert status == "successful", result.get("msg")
    assert [c for c in result["changes"] if c["kind"] == "catalog_acl"] == []
    acl = _getfacl(f"{env.catalog}/{first}")
    assert f"group:{MEMBERS}:" not in acl and f"group:{FOREIGN}:r-x" in acl
    readers = reader_gids(env, [second])
    rc, err = run_as(*ALICE, "ls", f"{env.catalog}/{first}", groups=readers)
    assert rc != 0 and "Permission denied" in err
    assert run_as(*ALICE, "ls", f"{env.catalog}/{second}", groups=readers)[0] == 0


def test_per_project_entries_migrate_to_the_reader_entry(env: Env) -> None:
    """Issue 17: entries of the model before reader groups go in one write, readers stay."""
    first = f"{env.catalog}/{env.subjects[0]}"
    subprocess.run(["setfacl", "-m", f"g:{MEMBERS}:r-x,d:g:{MEMBERS}:r-x", first], check=True)
    status, result = env.run(env.subjects[:1], check=True)
    assert status == "successful"
    ops = [
        (c["project"], c["op"], c["name"]) for c in result["changes"] if c["kind"] == "catalog_acl"
    ]
    assert ops == [("6101", "update", env.subjects[0])]
    status, result = env.run(env.subjects[:1])
    assert status == "successful", result.get("msg")
    acl = _getfacl(first)
    assert f"group:{MEMBERS}:" not in acl and f"group:{IDS['groups'][READERS[0]]}:r-x" in acl


def test_a_failing_path_fails_only_its_step_and_reports_the_changes_applied(env: Env) -> None:
    export = f"{env.project}/export"
    workspace = f"{env.roots['tre_workspaces_root']}/p6101.carol"
    subprocess.run(["setfacl", "-m", f"g:{FOREIGN}:rwx", export], check=True)  # drift
    # an immutable folder refuses the ACL repair (a full project no longer does: the limit
    # is raised for the write, see test_tre_storage_unsafe)
    subprocess.run(["chattr", "+i", export], check=True)
    # a new account's workspace is made; the ACL repair of the export folder fails, and
    # fails only itself: the workspace's ACL (a later step) is still written
    try:
        status, result = env.run(env.subjects[-1:], carol=True)
    finally:
        subprocess.run(["chattr", "-i", export], check=True)
    assert status == "failed"
    assert result["msg"] == f"acl {export} failed: Operation not permitted"
    applied = {(c["kind"], c["op"], c["name"]) for c in result["changes"]}
    assert ("workspace", "create", "p6101.carol") in applied
    assert ("acl", "set", "p6101.carol") in applied
    assert not any(c["kind"] == "acl" and c["path"] == export for c in result["changes"])
    status, result = env.run(env.subjects[-1:], carol=True)  # the next run repairs
    assert status == "successful", result.get("msg")
    assert {(c["kind"], c["path"]) for c in result["changes"]} == {("acl", export)}
    assert f"group:{FOREIGN}:" not in _getfacl(export)
    assert workspace not in {c["path"] for c in result["changes"]}
