"""Pure parts of the XFS project-quota backend (module_utils/tre_xfs.py) and the planner with
it: the report parser on output captured from the Molecule vm scenario's VM (xfsprogs 6.1,
Debian's 6.1 kernel), the projid rules, one report per file system, the commands it runs, and
a plan applied through the storage operations to a recording backend. The backend on a real
XFS is tested on the VM (molecule/vm/tests)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_storage_ops as ops_mod
from ansible_collections.tre.secenv.plugins.module_utils import tre_storage_plan as plan_mod
from ansible_collections.tre.secenv.plugins.module_utils import tre_storage_spec as spec_mod
from ansible_collections.tre.secenv.plugins.module_utils import tre_xfs as xfs
from ansible_collections.tre.secenv.plugins.module_utils.tre_btrfs import QuotaError
from ansible_collections.tre.secenv.plugins.module_utils.tre_quota_backend import get_backend

from tests.modules.test_tre_storage_units import IDS, LAYOUT, READERS, converged, desired

# `xfs_quota -x -c 'report -p -b -n -N' /srv/fs` on the VM: P9140 with 3 MiB written and a
# 10 MiB limit, a workspace projid (2**31 + uid 300001) with a 1 MiB limit, project 0.
REPORT_N = """\
#0                1024          0          0     00 [--------]
#9140             3072          0      10240     00 [--------]
#2147783649          0          0       1024     00 [--------]
"""
# the same without -N (header lines)
REPORT_HEADER = """\
Project quota on /srv/fs (/dev/vdb)
                               Blocks                     
Project ID       Used       Soft       Hard    Warn/Grace     
---------- -------------------------------------------------- 
#0                   0          0          0     00 [--------]
#9140             3072          0      10240     00 [--------]

"""  # noqa: W291 - xfs_quota pads the header
MOUNTINFO = (
    "26 1 254:0 / / rw,noatime shared:1 - ext4 /dev/vda rw\n"
    "150 27 254:16 / /srv/fs rw,relatime shared:60 - xfs /dev/vdb "
    "rw,attr2,inode64,logbufs=8,logbsize=32k,prjquota\n"
)
MIB = 2**20


def test_parse_report_bytes_and_no_limit() -> None:
    assert xfs.parse_report(REPORT_N) == {
        0: (1024 * 1024, None),
        9140: (3 * MIB, 10 * MIB),
        2**31 + 300001: (0, MIB),
    }
    assert xfs.parse_report(REPORT_HEADER) == {0: (0, None), 9140: (3 * MIB, 10 * MIB)}


def test_super_options_of_the_mount() -> None:
    assert "prjquota" in xfs.super_options(MOUNTINFO, "/srv/fs")
    assert "prjquota" not in xfs.super_options(MOUNTINFO, "/")
    assert xfs.super_options(MOUNTINFO, "/nowhere") == set()


def test_projid_project_folder_and_workspace_ranges_never_meet() -> None:
    assert xfs.projid_for("/srv/fs/projects/P9140", 0) == 9140
    assert xfs.projid_for("/srv/fs/projects/P99999999", 0) == 99_999_999
    assert xfs.projid_for("/srv/fs/home/p9140.kvisser", 300001) == 2**31 + 300001
    assert xfs.PROJECT_MAX < xfs.WORKSPACE_BASE  # the two ranges do not overlap
    for path, uid in [("/srv/fs/home/p9140.kvisser", 0), ("/x/P1", 2**31 - 1), ("/x/P01", 0)]:
        with pytest.raises(QuotaError, match="no project id"):
            xfs.projid_for(path, uid)


def test_get_backend_by_name() -> None:
    assert get_backend("xfs", lambda argv: (0, "", "")).name == "xfs"
    assert get_backend("btrfs", lambda argv: (0, "", "")).name == "btrfs"


@pytest.fixture
def fake_fs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Two roots on one 'XFS' (mount check and projid ioctl replaced; directories real)."""
    projects, home = tmp_path / "projects", tmp_path / "home"
    for path in (projects / "P9140", projects / "plain", home / "p9140.kvisser"):
        path.mkdir(parents=True)
    (projects / "file").write_text("x")
    os.chown(home / "p9140.kvisser", 300001, -1)  # the account owns its workspace
    projids = {str(projects / "P9140"): 9140, str(home / "p9140.kvisser"): 2**31 + 300001}
    monkeypatch.setattr(xfs, "read_projid", lambda p: (projids.get(p, 0), p in projids))
    monkeypatch.setattr(xfs.XfsQuota, "_mountpoint", lambda self, root: str(tmp_path))
    return projects, home


def test_one_report_per_file_system(fake_fs) -> None:
    projects, home = fake_fs
    calls: list[list[str]] = []

    def run(argv: list[str]) -> tuple[int, str, str]:
        calls.append(argv)
        return 0, REPORT_N, ""

    backend = xfs.XfsQuota(run)
    assert backend.read_all(str(projects)) == {str(projects / "P9140"): (3 * MIB, 10 * MIB)}
    assert backend.read_all(str(home)) == {str(home / "p9140.kvisser"): (0, MIB)}
    reading = backend.read_usage(str(projects))
    assert backend.read_usage(str(home)) is reading  # same file system: one reading
    assert set(reading.units) == {str(projects / "P9140"), str(home / "p9140.kvisser")}
    assert reading.consistent and reading.reads == 1
    assert calls == [["xfs_quota", "-x", "-c", "report -p -b -n -N", str(projects.parent)]]
    assert backend.subvolume_ids(str(projects)) == {} and backend.groups(str(home)) == {}


def test_commands_for_create_limit_delete(fake_fs) -> None:
    projects, home = fake_fs
    calls: list[str] = []
    backend = xfs.XfsQuota(lambda argv: (calls.append(argv[3]), (0, "", ""))[1])
    (projects / ".tre-new.P9141").mkdir()  # a killed run's leftover: removed, made again
    backend.create_subvolume(str(projects / "P9141"), 0)
    backend.create_subvolume(str(home / "p9141.anna"), 300002)
    assert (projects / "P9141").is_dir() and not (projects / ".tre-new.P9141").exists()
    assert (home / "p9141.anna").stat().st_uid == 300002  # owned before its projid is set
    backend.set_limit(str(projects / "P9141"), 50 * MIB)
    backend.set_limit(str(home / "p9140.kvisser"), 5 * MIB)
    assert calls == [
        f"project -s -p {projects / '.tre-new.P9141'} 9141",
        f"project -s -p {home / '.tre-new.p9141.anna'} {2**31 + 300002}",
        f"limit -p bhard={50 * MIB} 9141",
        f"limit -p bhard={5 * MIB} {2**31 + 300001}",
    ]
    (projects / "P9140" / "data").write_text("x")
    assert backend.delete_unit(str(projects / "P9140")) == [str(projects / "P9140")]
    assert calls[-1] == "limit -p bhard=0 9140" and not (projects / "P9140").exists()
    with pytest.raises(QuotaError, match="has no project id of its own"):
        backend.set_limit(str(projects / "plain"), MIB)


def test_a_projid_changed_by_the_owner_is_no_unit(fake_fs, monkeypatch) -> None:
    """The owner of a workspace can give it another projid (e.g. the project folder's, to
    share its larger limit): then it is no unit (the plan reports it unsafe) and no limit is
    set through it on the other unit's projid."""
    projects, home = fake_fs
    workspace = str(home / "p9140.kvisser")
    monkeypatch.setattr(xfs, "read_projid", lambda p: (9140, True))
    calls: list[list[str]] = []
    backend = xfs.XfsQuota(lambda argv: (calls.append(argv), (0, REPORT_N, ""))[1])
    assert backend.read_all(str(home)) == {}
    assert not backend.is_unit(workspace) and backend.is_unit(str(projects / "P9140"))
    with pytest.raises(QuotaError, match="no project id of its own"):
        backend.set_limit(workspace, MIB)
    assert all("limit" not in argv[3] for argv in calls)


def test_a_failure_on_stderr_is_one_line_even_with_exit_code_0(fake_fs) -> None:
    projects, _home = fake_fs
    backend = xfs.XfsQuota(lambda argv: (0, "", "xfs_quota: cannot set limits: No such\n"))
    with pytest.raises(QuotaError, match="cannot set limits: No such$"):
        backend.set_limit(str(projects / "P9140"), MIB)
    with pytest.raises(QuotaError, match="mounted with prjquota"):
        backend.read_all(str(projects))


# ---- the planner and the operations with the XFS backend ---------------------------------


class Recorder:
    """A backend that records the calls of the storage operations (no file system)."""

    name = "xfs"
    full_errnos = xfs.FULL_ERRNOS

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def create_subvolume(self, path: str, owner_uid: int = 0) -> None:
        self.calls.append(("create", path, owner_uid))

    def set_limit(self, path: str, limit: int) -> None:
        self.calls.append(("limit", path, limit))


def test_new_project_creates_units_with_the_owner_for_the_projid(monkeypatch) -> None:
    (spec,) = spec_mod.normalize(desired(), IDS)
    actual = plan_mod.Actual({}, {}, {"SUBA": converged(spec).catalog["SUBB"]}, set())
    plan = plan_mod.plan_projects([spec], LAYOUT, actual, force=False, readers=READERS)
    backend = Recorder()
    monkeypatch.setattr(ops_mod, "write_acls", lambda *a: None)
    monkeypatch.setattr(ops_mod.os, "mkdir", lambda *a: None)
    monkeypatch.setattr(ops_mod.os, "chown", lambda *a, **k: None)
    for step in ops_mod.plan_steps(plan, backend):
        for operation in step.operations:
            operation()
    assert [c for c in backend.calls if c[0] == "create"] == [
        ("create", "/p/P6001", 0),
        ("create", "/h/p6001.alice", 600001),
    ]
    assert ("limit", "/p/P6001", 100) in backend.calls
    assert ("limit", "/h/p6001.alice", 10) in backend.calls


def test_converged_on_xfs_plans_nothing_and_nothing_nested() -> None:
    (spec,) = spec_mod.normalize(desired(), IDS)
    actual = converged(spec)  # XFS: no subvolume ids, no qgroups
    assert actual.ids == {} and actual.groups == {}
    assert plan_mod.plan_projects([spec], LAYOUT, actual, force=False).changes == []
    actual.units.discard("/h/p6001.alice")  # its projid gone (changed by its owner)
    plan = plan_mod.plan_projects([spec], LAYOUT, actual, force=False)
    assert [u["path"] for u in plan.unsafe] == ["/h/p6001.alice"] and plan.steps == []


def test_acl_write_on_a_full_project_retries_with_grace_on_enospc(monkeypatch) -> None:
    attempts = []

    def write_acls(*args) -> None:
        attempts.append(args[0])
        if len(attempts) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ops_mod, "write_acls", write_acls)
    backend = Recorder()
    ops_mod._write_acls_full(("acl", "/p/P6001", [], None, True, ("/p/P6001", 100)), backend)
    assert attempts == ["/p/P6001", "/p/P6001"]
    assert backend.calls == [
        ("limit", "/p/P6001", 100 + plan_mod.GRACE),
        ("limit", "/p/P6001", 100),
    ]
