"""tre_storage against researchers' traps and drift (issue 9, items 2, 7, 8, 9, 14), through
real Ansible runs on the lab's btrfs: one project's symlink/FIFO or failed ids leave that
project unchanged and the others applied; a foreign ACL entry goes from a full workspace; a
nested subvolume is reported and counted; a grant the contract does not explain is refused.

Projects 7620-7622 (ids 762001..), cleaned at the start and at the end.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tre_storage_runner import run_as, run_playbook

pytestmark = pytest.mark.lab

PROJECTS = ("7620", "7621", "7622")
QUOTA = 8 * 2**20
WS_QUOTA = 2 * 2**20
FOREIGN = 762999


def members(nr: str) -> int:
    return int(nr) * 100 + 1


def alice(nr: str) -> tuple[int, int]:
    return int(nr) * 100 + 11, members(nr)


def ids(projects=PROJECTS) -> dict:
    accounts = {}
    groups = {}
    for nr in projects:
        groups[f"p{nr}-members"] = members(nr)
        groups[f"p{nr}-observers"] = members(nr) + 1
        accounts[f"p{nr}.alice"] = {"uid": alice(nr)[0], "gid": members(nr)}
    return {"accounts": accounts, "groups": groups}


def project(nr: str, subjects=(), quota: int = QUOTA, **storage) -> dict:
    return {
        "project": nr,
        "groups": {
            "members": {"name": f"p{nr}-members"},
            "observers": {"name": f"p{nr}-observers"},
        },
        "accounts": [{"sam": f"p{nr}.alice", "group": "members"}],
        "storage": {
            "quota_bytes": quota,
            "workspace_quota_bytes": WS_QUOTA,
            "file_subjects": list(subjects),
            "contract_subjects": list(subjects),
            "recorded_grants": None,
            **storage,
        },
    }


class Lab:
    def __init__(self, inventory, roots: dict[str, str], subject: str) -> None:
        self.inventory, self.roots, self.subject = inventory, roots, subject
        self.projects = Path(roots["tre_projects_root"])
        self.home = Path(roots["tre_workspaces_root"])
        self.catalog = Path(roots["tre_catalog_root"])

    def run(self, projects: list[dict], numbers: dict | None = None, check: bool = False):
        extravars = {
            "tre_desired": {"today": "2026-12-01", "projects": projects},
            "tre_ids": numbers or ids(),
            "tre_check": check,
            **self.roots,
        }
        status, result, _ = run_playbook("storage_reconcile.yml", extravars, self.inventory)
        return status, result

    def converge(self) -> None:
        status, result = self.run([project(nr) for nr in PROJECTS])
        assert status == "successful" and not result.get("storage_unsafe"), result.get("msg")


def _subvolumes_below(top: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, _files in os.walk(top):
        for name in dirnames:
            path = Path(dirpath) / name
            if not path.is_symlink() and path.stat().st_ino == 256:
                found.append(path)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _group(unit: Path) -> str:
    """The level-1 qgroup tre_storage makes for a unit with nested subvolumes."""
    rootid = subprocess.run(
        ["btrfs", "inspect-internal", "rootid", str(unit)], capture_output=True, text=True
    )
    return f"1/{rootid.stdout.strip()}"


def _btrfs(*args: str) -> None:
    subprocess.run(["btrfs", *args], capture_output=True, check=False)


def _clean(lab: Lab) -> None:
    for nr in PROJECTS:
        for top in (lab.projects / f"P{nr}", lab.home / f"p{nr}.alice"):
            if top.is_symlink() or not top.exists():
                continue
            group = _group(top)
            _btrfs("qgroup", "limit", "none", group, str(top))  # else a full one blocks delete
            for path in [*_subvolumes_below(top), top]:
                _btrfs("subvolume", "delete", str(path))
            _btrfs("qgroup", "destroy", group, str(lab.projects))
    gids = [str(g) for nr in PROJECTS for g in (members(nr), members(nr) + 1)]
    for gid in gids:
        subprocess.run(
            ["setfacl", "-R", "-x", f"g:{gid}", "-x", f"d:g:{gid}", str(lab.catalog / lab.subject)],
            capture_output=True,
        )


@pytest.fixture(scope="module")
def lab(lab_inventory) -> Lab:
    roots = {
        "tre_projects_root": str(lab_inventory.projects_root),
        "tre_workspaces_root": str(lab_inventory.workspaces_root),
        "tre_catalog_root": str(lab_inventory.catalog_root),
    }
    subject = sorted(p.name for p in Path(lab_inventory.catalog_root).iterdir() if p.is_dir())[0]
    environment = Lab(str(lab_inventory.path), roots, subject)
    _clean(environment)
    environment.converge()
    yield environment
    _clean(environment)


def _getfacl(path: Path) -> str:
    return subprocess.run(
        ["getfacl", "-n", "-p", str(path)], capture_output=True, text=True, check=True
    ).stdout


def _limit(path: Path) -> int | None:
    out = subprocess.run(
        ["btrfs", "qgroup", "show", "-re", "--raw", "-f", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("0/")][0].split()
    return None if line[3] == "none" else int(line[3])


def test_symlink_and_fifo_leave_only_their_projects_unchanged(lab: Lab) -> None:
    export = lab.projects / "P7620" / "export"
    imp = lab.projects / "P7621" / "import"
    drift = lab.projects / "P7622" / "export"
    etc_before = _getfacl(Path("/etc"))
    export.rmdir()
    export.symlink_to("/etc")
    imp.rmdir()
    os.mkfifo(imp)
    subprocess.run(["setfacl", "-m", f"g:{FOREIGN}:rwx", str(drift)], check=True)
    try:
        for check in (True, False):
            status, result = lab.run([project(nr) for nr in PROJECTS], check=check)
            assert status == "successful", result.get("msg")
            assert sorted(
                (u["project"], u["path"], u["reason"]) for u in result["storage_unsafe"]
            ) == [
                ("7620", str(export), f"{export} is a symbolic link"),
                ("7621", str(imp), f"{imp} is a FIFO, not a directory"),
            ]
            assert {(c["project"], c["path"]) for c in result["changes"]} == {("7622", str(drift))}
            assert any("project 7620:" in w for w in result.get("warnings", []))
        assert f"group:{FOREIGN}:" not in _getfacl(drift)  # the other project was applied
        assert _getfacl(Path("/etc")) == etc_before  # the symlink was never followed
        assert export.is_symlink() and Path(imp).is_fifo()  # nothing changed there
    finally:
        export.unlink()
        imp.unlink()
        subprocess.run(["setfacl", "-x", f"g:{FOREIGN}", str(drift)], capture_output=True)
    lab.converge()
    assert export.is_dir() and imp.is_dir()


def test_failed_ids_leave_both_projects_holding_a_number_unchanged(lab: Lab) -> None:
    numbers = ids()
    numbers["groups"]["p7621-members"] = members("7620")  # hand-set to 7620's gid
    numbers["accounts"]["p7621.alice"]["gid"] = members("7620")
    before = {nr: _getfacl(lab.projects / f"P{nr}") for nr in ("7620", "7621")}
    drift = lab.projects / "P7622" / "import"
    subprocess.run(["setfacl", "-m", f"g:{FOREIGN}:rwx", str(drift)], check=True)
    status, result = lab.run([project(nr) for nr in PROJECTS], numbers)
    assert status == "successful", result.get("msg")
    reasons = {(u["project"], u["reason"]) for u in result["storage_unsafe"]}
    line = "gidNumber 762001 is held by group p7620-members and group p7621-members"
    assert {("7620", line), ("7621", line)} <= reasons
    assert {u["project"] for u in result["storage_unsafe"]} == {"7620", "7621"}
    assert {c["project"] for c in result["changes"]} == {"7622"}
    assert f"group:{FOREIGN}:" not in _getfacl(drift)
    assert {nr: _getfacl(lab.projects / f"P{nr}") for nr in ("7620", "7621")} == before
    status, result = lab.run(
        [project(nr) for nr in PROJECTS],
        dict(ids(), groups={})
        | {
            "accounts": {"p7620.alice": {"uid": 1000, "gid": members("7620")}},
            "groups": {"p7620-members": members("7620"), "p7620-observers": members("7620") + 1},
        },
        check=True,
    )
    assert [u["reason"] for u in result["storage_unsafe"] if u["project"] == "7620"] == [
        "uidNumber 1000 of account p7620.alice is below id_min 200000"
    ]


def test_foreign_entry_goes_from_a_full_workspace(lab: Lab) -> None:
    workspace = lab.home / "p7622.alice"
    subprocess.run(["setfacl", "-m", f"g:{FOREIGN}:rwx", str(workspace)], check=True)
    fill = workspace / "fill.bin"
    rc, err = run_as(*alice("7622"), "dd", "if=/dev/zero", f"of={fill}", "bs=64K", "count=64",
                     "conv=fsync")  # fmt: skip
    assert rc != 0 and "Disk quota exceeded" in err
    refused = subprocess.run(
        ["setfacl", "-x", f"g:{FOREIGN}", str(workspace)], capture_output=True, text=True
    )
    assert "Disk quota exceeded" in refused.stderr  # what an admin meets by hand
    try:
        status, result = lab.run([project(nr) for nr in PROJECTS])
        assert status == "successful", result.get("msg")
        assert [(c["kind"], c["path"]) for c in result["changes"]] == [("acl", str(workspace))]
        assert f"group:{FOREIGN}:" not in _getfacl(workspace)
        assert _limit(workspace) == WS_QUOTA  # the brief raise was undone
    finally:
        fill.unlink()
    status, result = lab.run([project(nr) for nr in PROJECTS], check=True)
    assert result["changes"] == []


def test_nested_subvolume_is_reported_and_counted(lab: Lab) -> None:
    nested = lab.projects / "P7622" / "export" / "escape"
    rc, err = run_as(*alice("7622"), "btrfs", "subvolume", "create", str(nested))
    assert rc == 0, err  # any member can make one: its qgroup is outside the project's
    rc, err = run_as(*alice("7622"), "dd", "if=/dev/zero", f"of={nested}/big.bin", "bs=1M",
                     f"count={QUOTA // 2**20 + 2}", "conv=fsync")  # fmt: skip
    assert rc == 0, err  # written past the project's quota
    try:
        projects = [project(nr) for nr in PROJECTS[:2]] + [project("7622", quota=QUOTA // 2)]
        status, result = lab.run(projects, check=True)
        assert status == "successful", result.get("msg")
        assert any(
            f"{nested} is a nested subvolume inside {lab.projects / 'P7622'}" in w
            for w in result["storage_warnings"]
        )
        assert ("report", "nested_subvolume", str(nested)) in {
            (c["op"], c["kind"], c["path"]) for c in result["changes"]
        }
        # the nested data counts: lowering the limit to QUOTA/2 is below the usage
        assert any("below its usage" in w for w in result["storage_warnings"])
        # apply: a level-1 qgroup carries the project's limit over the nested subvolume too
        status, result = lab.run([project(nr) for nr in PROJECTS])
        assert status == "successful", result.get("msg")
        group = _group(lab.projects / "P7622")
        assert ("enforce", "qgroup", group) in {
            (c["op"], c["kind"], c["name"]) for c in result["changes"]
        }
        rc, err = run_as(*alice("7622"), "dd", "if=/dev/zero", f"of={nested}/more.bin",
                         "bs=1M", "count=1", "conv=fsync")  # fmt: skip
        assert rc != 0 and "Disk quota exceeded" in err  # no longer escapes
        status, result = lab.run([project(nr) for nr in PROJECTS])
        assert [(c["op"], c["kind"]) for c in result["changes"]] == []  # reported, enforced
        assert any("nested subvolume" in w for w in result["storage_warnings"])
    finally:
        group = _group(lab.projects / "P7622")
        _btrfs("qgroup", "limit", "none", group, str(lab.projects))  # else the delete fails
        subprocess.run(["btrfs", "subvolume", "delete", str(nested)], check=True,
                       capture_output=True)  # fmt: skip
    lab.converge()  # the group's limit is set again
    projects = [project(nr) for nr in PROJECTS]
    assert lab.run(projects, check=True)[1]["changes"] == []


def test_grant_not_explained_by_the_contract_is_refused(lab: Lab) -> None:
    subject = lab.catalog / lab.subject
    # a grant as the model before reader groups made it: the project's own entries
    gid = members("7622")
    subprocess.run(["setfacl", "-m", f"g:{gid}:r-x,d:g:{gid}:r-x", str(subject)], check=True)
    assert f"group:{members('7622')}:r-x" in _getfacl(subject)
    # a fresh state store and a contract without the subject: never revoked
    status, result = lab.run([project(nr) for nr in PROJECTS])
    assert status == "successful", result.get("msg")
    assert result["storage_unsafe"] == [
        {
            "project": "7622",
            "path": str(subject),
            "reason": f"subject {lab.subject} is granted on the file system but not in the "
            "contract; subjects are never removed",
        }
    ]
    assert f"group:{members('7622')}:r-x" in _getfacl(subject)
    # the state store says tre never granted it: hand-made drift, revoked
    hand_made = [project(nr) for nr in PROJECTS[:2]] + [project("7622", recorded_grants=[])]
    status, result = lab.run(hand_made)
    assert status == "successful" and not result.get("storage_unsafe"), result.get("msg")
    assert ("revoke", lab.subject) in {(c["op"], c["name"]) for c in result["changes"]}
    assert f"group:{members('7622')}:" not in _getfacl(subject)
