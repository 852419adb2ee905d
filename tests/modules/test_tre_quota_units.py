"""Pure parts of tre_quota_report: the qgroup report parser, the untrusted-accounting warnings,
usage per unit (nested subvolumes, level-1 groups) and the mapping to projects/workspaces.
The texts are captured from btrfs-progs 6.2 on kernel 6.18 (a scratch file system)."""

from __future__ import annotations

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_btrfs as btrfs
from ansible_collections.tre.secenv.plugins.module_utils import tre_quota_map as qmap

# `btrfs qgroup show -pcre --raw` after `qgroup assign --no-rescan 0/258 1/100` of a snapshot
# (shared extents): the group's numbers are stale, stderr says so.
INCONSISTENT_OUT = """\
Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive Parent   Child         Path 
--------    ----------    ---------  --------------  ------------- ------   -----         ---- 
0/5              16384        16384            none           none -        -             <toplevel>
0/256          5259264        16384            none           none 1/100    -             a
0/257            16384        16384            none           none -        -             a/n
0/258          5259264        16384            none           none 1/100    -             s
1/100          5259264      5259264            none           none -        0/256,0/258   <0 member qgroups>
"""  # noqa: W291, E501 - btrfs pads the header; real lines are long
INCONSISTENT_ERR = "WARNING: qgroup data inconsistent, rescan recommended\n"
RESCAN_ERR = "WARNING: rescan is running, qgroup data may be incorrect\n"

# The lab's layout: projects/P<nr>, home/<sam>, a nested subvolume in P7001/export, a
# level-1 group over P7002 and its nested subvolume, a path with a space.
LAB_OUT = """\
Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive Parent   Child   Path 
--------    ----------    ---------  --------------  ------------- ------   -----   ---- 
0/5             163840       163840            none           none -        -       <toplevel>
0/300         10502144     10502144        52428800           none -        -       projects/P7001
0/301          3162112      3162112            none           none -        -       projects/P7001/export/escape
0/302          1064960      1064960         1048576           none -        -       home/p7001.jdevries
0/303          2113536      2113536        52428800           none 1/303    -       projects/P7002
0/304          4210688      4210688            none           none 1/303    -       projects/P7002/import/deep
0/305            16384        16384            none           none -        -       home/not a workspace
0/306            16384        16384      1073741824           none -        -       home/p7002.a-b.c
1/303          6324224      6324224        52428800           none -        0/303,0/304 <2 member qgroups>
"""  # noqa: W291, E501


def test_parse_rows_real_output_with_parents_children_and_paths() -> None:
    rows = {r.qgroup: r for r in btrfs.parse_qgroup_rows(INCONSISTENT_OUT)}
    assert set(rows) == {"0/5", "0/256", "0/257", "0/258", "1/100"}
    assert rows["0/5"].path is None  # <toplevel>
    assert rows["0/257"].path == "a/n"
    assert rows["1/100"].children == frozenset({"0/256", "0/258"})
    assert rows["1/100"].path is None
    assert rows["0/256"].referenced == 5259264 and rows["0/256"].limit is None


def test_parse_rows_path_with_space_and_fs_tree_prefix() -> None:
    rows = {r.qgroup: r for r in btrfs.parse_qgroup_rows(LAB_OUT)}
    assert rows["0/305"].path == "home/not a workspace"
    assert rows["0/300"].limit == 52428800
    text = LAB_OUT.replace("projects/P7001/export", "<FS_TREE>/projects/P7001/export")
    rows = {r.qgroup: r for r in btrfs.parse_qgroup_rows(text)}
    assert rows["0/301"].path == "projects/P7001/export/escape"


def test_old_progs_without_path_column() -> None:
    old = "\n".join(
        " ".join(line.split()[:7]) for line in LAB_OUT.splitlines() if not line.startswith("--")
    ).replace("Qgroupid Referenced Exclusive Max referenced Max", "Qgroupid Referenced Excl")
    rows = btrfs.parse_qgroup_rows(old)
    assert len(rows) == 9 and all(r.path is None for r in rows)


def test_untrusted_notes_from_real_stderr() -> None:
    assert btrfs.untrusted_notes(INCONSISTENT_ERR) == [
        "qgroup data inconsistent, rescan recommended"
    ]
    assert btrfs.untrusted_notes(RESCAN_ERR) == ["rescan is running, qgroup data may be incorrect"]
    assert btrfs.untrusted_notes(INCONSISTENT_ERR + RESCAN_ERR + INCONSISTENT_ERR) == [
        "qgroup data inconsistent, rescan recommended",
        "rescan is running, qgroup data may be incorrect",
    ]
    assert btrfs.untrusted_notes("") == []
    assert btrfs.untrusted_notes("WARNING: something else entirely\n") == []


def _lab_paths() -> dict[int, str]:
    rows = btrfs.parse_qgroup_rows(LAB_OUT)
    relative = {int(r.qgroup[2:]): r.path for r in rows if r.qgroup.startswith("0/") and r.path}
    return btrfs.map_paths(relative, "/", "/srv/tre")


def test_unit_usage_counts_nested_and_level1_groups() -> None:
    usage = btrfs.unit_usage(btrfs.parse_qgroup_rows(LAB_OUT), _lab_paths())
    # P7001: its own bytes plus the nested subvolume's (no group holds them)
    assert usage["/srv/tre/projects/P7001"] == (10502144 + 3162112, 52428800)
    # P7002: the group 1/303 counts the unit and its nested subvolume once
    assert usage["/srv/tre/projects/P7002"] == (6324224, 52428800)
    assert usage["/srv/tre/home/p7001.jdevries"] == (1064960, 1048576)
    assert usage["/srv/tre/projects/P7001/export/escape"] == (3162112, None)


def test_unit_usage_adds_nested_not_yet_in_the_group() -> None:
    text = LAB_OUT.replace("0/303,0/304", "0/303      ").replace(
        "4210688            none           none 1/303",
        "4210688            none           none -    ",
    )
    usage = btrfs.unit_usage(btrfs.parse_qgroup_rows(text), _lab_paths())
    assert usage["/srv/tre/projects/P7002"] == (6324224 + 4210688, 52428800)


def test_unit_limit_falls_back_to_the_group() -> None:
    text = LAB_OUT.replace("2113536        52428800", "2113536            none")
    usage = btrfs.unit_usage(btrfs.parse_qgroup_rows(text), _lab_paths())
    assert usage["/srv/tre/projects/P7002"][1] == 52428800


def test_classify_names_of_the_layout() -> None:
    roots = ("/srv/tre/projects", "/srv/tre/home")
    assert qmap.classify("/srv/tre/projects/P7001", *roots) == ("7001", "project", "")
    assert qmap.classify("/srv/tre/home/p7001.jdevries", *roots) == (
        "7001",
        "workspace",
        "p7001.jdevries",
    )
    for other in (
        "/srv/tre/projects/P7001/export/escape",  # nested
        "/srv/tre/projects/P0123",  # not a project number
        "/srv/tre/projects/p7001",
        "/srv/tre/home/not a workspace",
        "/srv/tre/home/p7001",  # no person
        "/srv/tre/home/p7001.averyveryverylongname",  # longer than an account name
        "/srv/tre/home/P7001",  # a project folder name among the workspaces
        "/srv/tre/other/P7001",
    ):
        assert qmap.classify(other, *roots) is None, other


def test_usage_items_filter_sort_and_unknown() -> None:
    units = btrfs.unit_usage(btrfs.parse_qgroup_rows(LAB_OUT), _lab_paths())
    roots = ("/srv/tre/projects", "/srv/tre/home")
    items = qmap.usage_items(units, *roots, None, True)
    assert [(i["project"], i["kind"], i["owner"]) for i in items] == [
        ("7001", "project", None),
        ("7001", "workspace", "p7001.jdevries"),
        ("7002", "project", None),
        ("7002", "workspace", "p7002.a-b.c"),
    ]
    only = qmap.usage_items(units, *roots, {"7002", "7003"}, True)
    assert {i["project"] for i in only} == {"7002"}
    assert qmap.missing_projects(only, {"7002", "7003"}) == ["7003"]
    assert qmap.missing_projects(only, None) == []
    unknown = qmap.usage_items(units, *roots, None, False)
    assert [i["used_bytes"] for i in unknown] == [None] * 4
    assert [i["limit_bytes"] for i in unknown] == [52428800, 1048576, 52428800, 1073741824]


class _Fake:
    """A btrfs runner that answers from captured output and counts the calls."""

    def __init__(self, out: str, err: str = "", rc: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.answer = (rc, out, err)

    def __call__(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(argv)
        if argv[1:3] == ["subvolume", "list"]:
            return 0, "ID 300 gen 9 top level 5 path projects/P7001\n", ""
        return self.answer


def test_read_usage_is_one_qgroup_show_and_reports_inconsistency(monkeypatch) -> None:
    monkeypatch.setattr(btrfs, "find_mountpoint", lambda root: "/srv/tre")
    monkeypatch.setattr(btrfs.BtrfsQuota, "_mount_root", lambda self, root, mp: "/")
    fake = _Fake(LAB_OUT)
    backend = btrfs.BtrfsQuota(fake)
    reading = backend.read_usage("/srv/tre/projects")
    assert backend.read_usage("/srv/tre/home") is reading  # the same file system: read once
    assert fake.calls == [["btrfs", "qgroup", "show", "-pcre", "--raw", "--sync", "/srv/tre"]]
    assert reading.consistent and reading.reads == 1 and reading.notes == []
    assert reading.units["/srv/tre/projects/P7001"] == (10502144 + 3162112, 52428800)
    bad = btrfs.BtrfsQuota(_Fake(LAB_OUT, INCONSISTENT_ERR)).read_usage("/srv/tre/projects")
    assert not bad.consistent and bad.notes == ["qgroup data inconsistent, rescan recommended"]


def test_read_usage_old_progs_reads_the_subvolume_list(monkeypatch) -> None:
    monkeypatch.setattr(btrfs, "find_mountpoint", lambda root: "/srv/tre")
    monkeypatch.setattr(btrfs.BtrfsQuota, "_mount_root", lambda self, root, mp: "/")
    old = "Qgroupid Referenced Exclusive\n0/300 500 500 1000 none - -\n"
    fake = _Fake(old)
    reading = btrfs.BtrfsQuota(fake).read_usage("/srv/tre/projects")
    assert reading.reads == 2 and len(fake.calls) == 2
    assert reading.units == {"/srv/tre/projects/P7001": (500, 1000)}


def test_read_usage_failure_is_one_line(monkeypatch) -> None:
    monkeypatch.setattr(btrfs, "find_mountpoint", lambda root: "/srv/tre")
    monkeypatch.setattr(btrfs.BtrfsQuota, "_mount_root", lambda self, root, mp: "/")
    fake = _Fake("", "ERROR: can't list qgroups: quotas not enabled\n", rc=1)
    with pytest.raises(btrfs.QuotaError) as exc:
        btrfs.BtrfsQuota(fake).read_usage("/srv/tre/projects")
    assert str(exc.value) == (
        "cannot read qgroups of /srv/tre (quota enabled?): "
        "ERROR: can't list qgroups: quotas not enabled"
    )
