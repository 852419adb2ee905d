"""Pure parts of tre_storage / tre_ossc_handoff: xattr ACL codec, btrfs output parsers,
input validation, planning (diff) and the OSSC manifest. No file system, no Ansible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import (
    tre_acl as acl,
)
from ansible_collections.tre.secenv.plugins.module_utils import (
    tre_btrfs as btrfs,
)
from ansible_collections.tre.secenv.plugins.module_utils import (
    tre_ossc_manifest as manifest,
)
from ansible_collections.tre.secenv.plugins.module_utils import (
    tre_storage_plan as plan_mod,
)
from ansible_collections.tre.secenv.plugins.module_utils import (
    tre_storage_spec as spec_mod,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_quota_backend import get_backend

# getfacl: user::rwx group::r-x group:600001:rwx mask::rwx other::r-x (read from a real file)
REAL_XATTR = bytes.fromhex(
    "0200000001000700ffffffff04000500ffffffff08000700c127090010000700ffffffff20000500ffffffff"
)


# ---- ACL codec -------------------------------------------------------------------------------


def test_parse_real_xattr_and_roundtrip() -> None:
    parsed = acl.parse_acl(REAL_XATTR)
    assert acl.format_acl(parsed) == ("user::rwx,group::r-x,group:600001:rwx,mask::rwx,other::r-x")
    assert acl.encode_acl(parsed) == REAL_XATTR


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01\x00\x00\x00",
        REAL_XATTR[:-1],
        b"\x02\x00\x00\x00" + b"\x40\x00\x07\x00\xff\xff\xff\xff",
    ],
)
def test_parse_rejects_malformed(data: bytes) -> None:
    with pytest.raises(acl.AclError):
        acl.parse_acl(data)


def test_with_mask_is_union_of_group_class_and_dropped_without_named() -> None:
    base = [(acl.USER_OBJ, None, 7), (acl.GROUP_OBJ, None, 0), (acl.OTHER, None, 0)]
    assert acl.format_acl(acl.with_mask([*base, (acl.GROUP, 5, 5)])) == (
        "user::rwx,group::---,group:5:r-x,mask::r-x,other::---"
    )
    assert acl.with_mask([*base, (acl.MASK, None, 7)]) == acl.canonical(base)


def test_merge_groups_touches_only_managed_gids() -> None:
    current = acl.parse_acl(REAL_XATTR)  # has foreign gid 600001
    merged = acl.merge_groups(current, {700, 701}, {700: 5})
    assert acl.named_groups(merged, {600001}) == {600001: 7}
    assert acl.named_groups(merged, {700, 701}) == {700: 5}
    same = acl.merge_groups(merged, {700, 701}, {700: 5})
    assert same is merged  # unchanged: not rewritten, mask left alone
    revoked = acl.merge_groups(merged, {700}, {})
    assert acl.named_groups(revoked, {700}) == {}
    assert (acl.GROUP, 600001, 7) in revoked


@pytest.mark.parametrize(
    ("text", "is_dir", "mode", "bits"),
    [
        ("r-X", True, 0o700, 5),
        ("r-X", False, 0o644, 4),
        ("r-X", False, 0o755, 5),
        ("rwX", False, 0o600, 6),
        ("rwx", False, 0o600, 7),
        ("---", True, 0, 0),
    ],
)
def test_parse_perm_capital_x(text: str, is_dir: bool, mode: int, bits: int) -> None:
    assert acl.parse_perm(text, is_dir, mode) == bits


def test_minimal_from_mode() -> None:
    assert acl.format_acl(acl.minimal_from_mode(0o750)) == "user::rwx,group::r-x,other::---"


# ---- btrfs parsers ---------------------------------------------------------------------------

QGROUP_SHOW = """\
Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive   Path
--------    ----------    ---------  --------------  -------------   ----
0/5              16384        16384            none           none   <toplevel>
0/257         10485760        16384        20971520           none   projects/P6001
0/258            16384        16384            none           none   home/p6001.a b
1/100            32768        32768            none           none   <0 member qgroups>
"""
SUBVOLUME_LIST = """\
ID 257 gen 9 top level 5 path projects/P6001
ID 258 gen 10 top level 5 path home/p6001.a b
ID 259 gen 11 top level 5 path <FS_TREE>/data/x
"""
MOUNTINFO = (
    "43 27 0:39 / /srv/tre rw,relatime - btrfs /dev/loop0 rw,subvolid=5,subvol=/\n"
    "44 27 0:40 /@data /srv/data\\040x rw - btrfs /dev/loop1 rw,subvolid=256,subvol=/@data\n"
    "45 27 0:41 / /srv/plain rw - ext4 /dev/sda1 rw\n"
)


def test_parse_qgroup_show_level0_only() -> None:
    assert btrfs.parse_qgroup_show(QGROUP_SHOW) == {
        5: (16384, None),
        257: (10485760, 20971520),
        258: (16384, None),
    }


def test_parse_subvolume_list_keeps_spaces() -> None:
    assert btrfs.parse_subvolume_list(SUBVOLUME_LIST) == {
        257: "projects/P6001",
        258: "home/p6001.a b",
        259: "data/x",
    }


def test_mountinfo_and_path_mapping() -> None:
    assert btrfs.parse_mountinfo(MOUNTINFO, "/srv/tre") == ("/", "btrfs")
    assert btrfs.parse_mountinfo(MOUNTINFO, "/srv/data x") == ("/@data", "btrfs")
    assert btrfs.parse_mountinfo(MOUNTINFO, "/srv/plain") == ("/", "ext4")
    ids = {1: "@data/projects/P1", 2: "other/P2"}
    assert btrfs.map_paths(ids, "/@data", "/mnt") == {1: "/mnt/projects/P1"}
    assert btrfs.map_paths({1: "projects/P1"}, "/", "/srv/tre") == {1: "/srv/tre/projects/P1"}


def test_backend_runs_each_command_once(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def run(argv: list[str]) -> tuple[int, str, str]:
        calls.append(argv)
        return (0, SUBVOLUME_LIST if "list" in argv else QGROUP_SHOW, "")

    backend = btrfs.BtrfsQuota(run)
    backend._cache["/"] = {}
    assert backend.read_all("/") == {}
    assert calls == []
    with pytest.raises(btrfs.QuotaError, match="quota backend 'zfs'.*available: btrfs, xfs"):
        get_backend("zfs", run)


# ---- validation ------------------------------------------------------------------------------


def desired(**storage) -> dict:
    return {
        "projects": [
            {
                "project": "6001",
                "groups": {
                    "members": {"name": "p6001-members"},
                    "observers": {"name": "p6001-obs"},
                },
                "accounts": [{"sam": "p6001.alice", "group": "members"}],
                "storage": {
                    "quota_bytes": 100,
                    "workspace_quota_bytes": 10,
                    "file_subjects": ["SUBA"],
                    **storage,
                },
            }
        ]
    }


IDS = {
    "accounts": {"p6001.alice": {"uid": 600001, "gid": 600101}},
    "groups": {"p6001-members": 600101, "p6001-obs": 600102},
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("project",), "06001"),
        (("project",), "60a1"),
        (("accounts", 0, "sam"), ".."),
        (("accounts", 0, "sam"), "../etc"),
        (("accounts", 0, "sam"), "A"),
        (("storage", "file_subjects", 0), "suba"),
        (("storage", "file_subjects", 0), "SUB/A"),
        (("storage", "quota_bytes"), 0),
        (("storage", "quota_bytes"), True),
    ],
)
def test_normalize_rejects_unsafe_identifiers(path: tuple, value: object) -> None:
    data = desired()
    target = data["projects"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(spec_mod.SpecError):
        spec_mod.normalize(data, IDS)


def test_normalize_unknown_ids_are_none() -> None:
    (spec,) = spec_mod.normalize(desired(), {})
    assert spec.members_gid is None and spec.accounts[0].uid is None


def test_child_refuses_symlink_escape(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "evil").symlink_to("/etc")
    root = str(tmp_path / "root")
    assert spec_mod.child(root, "ok") == f"{root}/ok"
    with pytest.raises(spec_mod.SpecError, match="leaves its root"):
        spec_mod.child(root, "evil")
    with pytest.raises(spec_mod.SpecError):
        spec_mod.child(root, "..")


# ---- planning --------------------------------------------------------------------------------

#: the catalogue reader groups (tre_ad): SUBA is read through DS-SUBA, gid 600900
READERS = {"SUBA": ("DS-SUBA", 600900), "SUBB": ("DS-SUBB", 600901)}

LAYOUT = plan_mod.Layout("/p", "/h", "/c")


def converged(
    spec: spec_mod.ProjectSpec,
    usage: int = 0,
    limit: int | None = None,
    extra_subject_gids: dict[int, int] | None = None,
) -> plan_mod.Actual:
    """The actual state after a successful apply of ``spec`` (optionally edited)."""
    pacl = plan_mod.project_acl(spec)
    paths: dict = {"/p/P6001": spec_mod.PathState(True, 0, 0, 0o770, pacl, pacl)}
    for folder in spec_mod.PROJECT_FOLDERS:
        paths[f"/p/P6001/{folder}"] = spec_mod.PathState(True, 0, 0, 0o770, pacl, pacl)
    wacl = plan_mod.workspace_acl(600001)
    paths["/h/p6001.alice"] = spec_mod.PathState(True, 600001, 600101, 0o770, wacl, wacl)
    base = [(acl.USER_OBJ, None, 7), (acl.GROUP_OBJ, None, 5), (acl.OTHER, None, 0)]
    granted = acl.with_mask([*base, (acl.GROUP, 600101, 5), (acl.GROUP, 600102, 5)])
    other = acl.with_mask(
        [*base, *((acl.GROUP, g, p) for g, p in (extra_subject_gids or {}).items())]
    )
    catalog = {
        "SUBA": [("/c/SUBA", spec_mod.PathState(True, 0, 0, 0o750, granted, granted))],
        "SUBB": [("/c/SUBB", spec_mod.PathState(True, 0, 0, 0o750, other, other))],
    }
    quotas = {
        "/p/P6001": (usage, limit if limit is not None else spec.quota_bytes),
        "/h/p6001.alice": (0, spec.workspace_quota_bytes),
    }
    return plan_mod.Actual(paths, quotas, catalog, {"/p/P6001", "/h/p6001.alice"})


def test_new_project_plan_orders_raise_before_acl_and_mkdir_after_subvolume() -> None:
    (spec,) = spec_mod.normalize(desired(), IDS)
    actual = plan_mod.Actual({}, {}, {"SUBA": converged(spec).catalog["SUBB"]}, set())
    plan = plan_mod.plan_projects([spec], LAYOUT, actual, force=False, readers=READERS)
    kinds = [(c["kind"], c["op"]) for c in plan.changes]
    assert ("subvolume", "create") in kinds and ("workspace", "create") in kinds
    assert ("catalog_acl", "grant") in kinds
    names = [op[0] for _phase, ops, _ in plan.ordered_steps() for op in ops]
    assert names.index("subvol") < names.index("limit") < names.index("mkdir") < names.index("acl")


def test_converged_state_plans_nothing() -> None:
    (spec,) = spec_mod.normalize(desired(), IDS)
    plan = plan_mod.plan_projects([spec], LAYOUT, converged(spec), force=False)
    assert plan.changes == [] and plan.steps == [] and plan.warnings == []


def test_raise_is_exactly_one_quota_change() -> None:
    (spec,) = spec_mod.normalize(desired(quota_bytes=200), IDS)
    plan = plan_mod.plan_projects([spec], LAYOUT, converged(spec, limit=100), force=False)
    assert [(c["kind"], c["op"], c["before"], c["after"]) for c in plan.changes] == [
        ("quota", "raise", 100, 200)
    ]
    assert plan.ordered_steps()[0][0] == plan_mod.RAISE


@pytest.mark.parametrize("force", [False, True])
def test_lowering_under_usage_warns_and_blocks_unless_forced(force: bool) -> None:
    (spec,) = spec_mod.normalize(desired(quota_bytes=50), IDS)
    plan = plan_mod.plan_projects([spec], LAYOUT, converged(spec, usage=80, limit=100), force)
    assert [(c["op"], c["after"]) for c in plan.changes] == [("lower", 50)]
    assert len(plan.warnings) == 1 and "below its usage of 80 bytes" in plan.warnings[0]
    assert bool(plan.blocked) is not force
    assert plan.ordered_steps()[-1][0] == plan_mod.LOWER


def test_lowering_above_usage_is_silent() -> None:
    (spec,) = spec_mod.normalize(desired(quota_bytes=50), IDS)
    plan = plan_mod.plan_projects([spec], LAYOUT, converged(spec, usage=10, limit=100), False)
    assert not plan.warnings and not plan.blocked and len(plan.changes) == 1


def test_catalog_revokes_run_gids_on_unlisted_subject_and_keeps_foreign() -> None:
    (spec,) = spec_mod.normalize(desired(contract_subjects=["SUBA", "SUBB"]), IDS)
    actual = converged(spec, extra_subject_gids={600101: 5, 999: 5})
    plan = plan_mod.plan_projects([spec], LAYOUT, actual, force=False)
    assert [(c["kind"], c["op"], c["name"]) for c in plan.changes] == [
        ("catalog_acl", "revoke", "SUBB")
    ]
    (_phase, ops, _idx) = plan.steps[0]
    (_op, path, access, default, _is_dir) = ops[0]
    assert path == "/c/SUBB"
    assert acl.named_groups(access, {600101, 999}) == {999: 5}
    assert acl.named_groups(default, {600101, 999}) == {999: 5}


def test_pending_ids_plan_changes_without_operations() -> None:
    (spec,) = spec_mod.normalize(desired(), {})
    actual = plan_mod.Actual({}, {}, {"SUBA": converged(spec).catalog["SUBB"]}, set())
    plan = plan_mod.plan_projects([spec], LAYOUT, actual, force=False)
    acl_changes = [c for c in plan.changes if c["kind"] == "acl"]
    assert len(acl_changes) == 6  # P6001, export, import, OtherData, archive, the workspace
    assert all("<p6001-members>" in c["after"] for c in acl_changes[:5])
    assert "user:<uid of p6001.alice>:rwx" in acl_changes[5]["after"]
    ops = [op for _p, step_ops, _i in plan.steps for op in step_ops]
    assert not [op for op in ops if op[0] == "acl"]
    assert all(isinstance(v, int) for op in ops if op[0] == "chown" for v in op[2:])


def test_plain_directory_where_subvolume_expected_is_unsafe() -> None:
    (spec,) = spec_mod.normalize(desired(), IDS)
    actual = converged(spec)
    actual.units.discard("/p/P6001")
    plan = plan_mod.plan_projects([spec], LAYOUT, actual, force=False)
    assert plan.unsafe == [
        {"project": "6001", "path": "/p/P6001", "reason": "/p/P6001 is not a subvolume"}
    ]
    assert plan.changes == [] and plan.steps == []


# ---- OSSC manifest ---------------------------------------------------------------------------


def ossc_project(**ossc) -> dict:
    base = {
        "researchers": [{"person": "jdevries", "name": "Jan de Vries", "email": "j.devries@uu.nl"}],
        "start": "2026-09-01",
        "end": "2027-08-31",
        "destruction_deadline": "2027-09-10",
        "revision": "0123456789abcdef" * 4,
    }
    return {"project": "6001", "ossc": {**base, **ossc}}


def test_manifest_checksum_verifies_and_name_is_per_revision() -> None:
    body = manifest.build_body(ossc_project())
    data = manifest.render(body)
    assert manifest.verify(data) == body
    assert json.loads(data)["manifest"]["purpose"] == "OSSC"
    assert manifest.remote_name(body) == "P6001-0123456789abcdef.json"
    tampered = data.replace(b"Jan de Vries", b"Jan de Vriez")
    with pytest.raises(manifest.ManifestError):
        manifest.verify(tampered)


@pytest.mark.parametrize(
    "ossc",
    [
        {"revision": "../x"},
        {"end": "31-08-2027"},
        {"researchers": []},
        {"researchers": [{"person": "a1", "name": "x\ny", "email": "a@b.nl"}]},
        {"researchers": [{"person": "ab", "name": "x", "email": "nope"}]},
    ],
)
def test_manifest_rejects_bad_input(ossc: dict) -> None:
    with pytest.raises(manifest.ManifestError):
        manifest.build_body(ossc_project(**ossc))


@pytest.mark.parametrize("inbox", ["../up", "in box", "a/../../b"])
def test_remote_dir_rejects_escapes(inbox: str) -> None:
    with pytest.raises(manifest.ManifestError):
        manifest.remote_dir(inbox, "inbox")
