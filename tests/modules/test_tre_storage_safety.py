"""Pure parts of tre_storage's safety rules (issue 9, items 2, 7, 8, 9, 14): unsafe projects
are left out of the plan (the others are planned), ids are checked, catalogue revokes that
would remove a contracted subject are refused, nested subvolumes are reported and counted,
and a limit left raised by a killed ACL write is restored. No file system, no Ansible."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import (
    tre_acl as acl,
)
from ansible_collections.tre.secenv.plugins.module_utils import (
    tre_storage_plan as plan_mod,
)
from ansible_collections.tre.secenv.plugins.module_utils import (
    tre_storage_safety as safety,
)
from ansible_collections.tre.secenv.plugins.module_utils import (
    tre_storage_spec as spec_mod,
)

LAYOUT = plan_mod.Layout("/p", "/h", "/c")
GRACE = 16 * 2**20 + 4096


def project(nr: str, subjects: list[str], **storage) -> dict:
    return {
        "project": nr,
        "groups": {
            "members": {"name": f"p{nr}-members"},
            "observers": {"name": f"p{nr}-observers"},
        },
        "accounts": [{"sam": f"p{nr}.alice", "group": "members"}],
        "storage": {
            "quota_bytes": 100,
            "workspace_quota_bytes": 10,
            "file_subjects": subjects,
            **storage,
        },
    }


def ids(*numbers: tuple[str, int, int, int]) -> dict:
    """(project, members gid, observers gid, alice uid) → the ``ids`` of tre_ad."""
    return {
        "accounts": {f"p{nr}.alice": {"uid": uid, "gid": mg} for nr, mg, _og, uid in numbers},
        "groups": {
            name: gid
            for nr, mg, og, _uid in numbers
            for name, gid in ((f"p{nr}-members", mg), (f"p{nr}-observers", og))
        },
    }


def check(all_specs: list[spec_mod.ProjectSpec], numbers: dict) -> list[dict]:
    return safety.check_ids(all_specs, numbers, 200000)


def specs(projects: list[dict], numbers: dict) -> list[spec_mod.ProjectSpec]:
    return spec_mod.normalize({"projects": projects}, numbers)


def converged(all_specs: list[spec_mod.ProjectSpec], catalog: dict | None = None):
    """The actual state after a successful apply of every spec (no subject granted)."""
    paths: dict = {}
    quotas: dict = {}
    for spec in all_specs:
        pacl = plan_mod.project_acl(spec)
        root = f"/p/P{spec.project}"
        paths[root] = spec_mod.PathState(True, 0, 0, 0o770, pacl, pacl)
        quotas[root] = (0, spec.quota_bytes)
        for folder in spec_mod.PROJECT_FOLDERS:
            paths[f"{root}/{folder}"] = spec_mod.PathState(True, 0, 0, 0o770, pacl, pacl)
        for account in spec.accounts:
            wacl = plan_mod.workspace_acl(account.uid)
            home = f"/h/{account.sam}"
            paths[home] = spec_mod.PathState(True, account.uid, account.gid, 0o770, wacl, wacl)
            quotas[home] = (0, spec.workspace_quota_bytes)
    units = {p for p in paths if p in quotas}
    return plan_mod.Actual(paths, quotas, catalog or {}, units)


def subject_dir(subject: str, *gids: int) -> list:
    base = [(acl.USER_OBJ, None, 7), (acl.GROUP_OBJ, None, 5), (acl.OTHER, None, 0)]
    access = acl.with_mask([*base, *((acl.GROUP, g, 5) for g in gids)])
    return [(f"/c/{subject}", spec_mod.PathState(True, 0, 0, 0o750, access, access))]


# ---- item 7: one project's trap never blocks the others ------------------------------------


def test_fifo_at_import_makes_only_that_project_unsafe() -> None:
    both = specs(
        [project("7620", []), project("7621", [])],
        ids(("7620", 762101, 762102, 762001), ("7621", 762111, 762112, 762011)),
    )
    actual = converged(both)
    fifo = spec_mod.PathState(False, 0, 0, 0o644, acl.minimal_from_mode(0o644), None, "a FIFO")
    actual.paths["/p/P7620/import"] = fifo
    actual.quotas["/p/P7621"] = (0, 50)  # 7621 needs a quota raise
    plan = plan_mod.plan_projects(both, LAYOUT, actual, force=False)
    assert plan.unsafe == [
        {
            "project": "7620",
            "path": "/p/P7620/import",
            "reason": "/p/P7620/import is a FIFO, not a directory",
        }
    ]
    assert [(c["project"], c["op"], c["kind"]) for c in plan.changes] == [
        ("7621", "raise", "quota")
    ]
    assert plan.errors == []


def test_symlinked_export_is_an_unsafe_path_never_followed(tmp_path: Path) -> None:
    root = tmp_path / "P7620"
    root.mkdir()
    (root / "export").symlink_to("/etc")
    with pytest.raises(spec_mod.UnsafePath) as caught:
        spec_mod.child(str(root), "export")
    assert caught.value.path == f"{root}/export"
    assert caught.value.reason == f"{root}/export is a symbolic link"
    assert "/etc" not in caught.value.reason  # never the link target


# ---- item 2: ids that fail a check --------------------------------------------------------


def test_shared_gid_makes_both_projects_unsafe_naming_both_groups() -> None:
    numbers = ids(("7620", 762101, 762102, 762001), ("7621", 762111, 762112, 762011))
    numbers["groups"]["p7621-members"] = 762101  # hand-set to 7620's number
    numbers["accounts"]["p7621.alice"]["gid"] = 762101
    found = check(specs([project("7620", []), project("7621", [])], numbers), numbers)
    assert {u["project"] for u in found} == {"7620", "7621"}
    assert "gidNumber 762101 is held by group p7620-members and group p7621-members" in {
        u["reason"] for u in found
    }


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (("accounts", "p7620.alice", "uid", 1000), "uidNumber 1000 of account p7620.alice"),
        (("groups", "p7620-observers", None, 762101), "gidNumber 762101 is held by"),
        (("accounts", "p7620.alice", "gid", 762102), "account p7620.alice has gidNumber 762102"),
    ],
)
def test_failed_ids_make_the_project_unsafe(edit: tuple, reason: str) -> None:
    numbers = ids(("7620", 762101, 762102, 762001))
    kind, name, key, value = edit
    if key is None:
        numbers[kind][name] = value
    else:
        numbers[kind][name][key] = value
    found = check(specs([project("7620", [])], numbers), numbers)
    assert found and all(u["project"] == "7620" for u in found)
    assert any(u["reason"].startswith(reason) for u in found), found


def test_duplicate_uid_of_two_accounts_and_pending_ids_pass_unchecked() -> None:
    numbers = ids(("7620", 762101, 762102, 762001), ("7621", 762111, 762112, 762001))
    found = check(specs([project("7620", []), project("7621", [])], numbers), numbers)
    assert {u["reason"] for u in found} == {
        "uidNumber 762001 is held by account p7620.alice and account p7621.alice"
    }
    assert check(specs([project("7620", [])], {}), {}) == []  # check mode, new


# ---- item 14: subjects are never removed, judged from the ACLs ----------------------------


@pytest.mark.parametrize(
    ("storage", "refused"),
    [
        ({}, True),  # fields missing: the strict case
        ({"contract_subjects": ["SUBA"], "recorded_grants": None}, True),  # fresh state store
        ({"contract_subjects": ["SUBA"], "recorded_grants": ["SUBA", "SUBX"]}, True),
        ({"contract_subjects": ["SUBA", "SUBX"], "recorded_grants": None}, False),  # too early
        ({"contract_subjects": ["SUBA"], "recorded_grants": ["SUBA"]}, False),  # hand-made
    ],
)
def test_revoke_of_a_subject_only_when_the_contract_explains_it(
    storage: dict, refused: bool
) -> None:
    numbers = ids(("7620", 762101, 762102, 762001))
    (spec,) = specs([project("7620", ["SUBA"], **storage)], numbers)
    actual = converged(
        [spec], {"SUBA": subject_dir("SUBA", 762101, 762102), "SUBX": subject_dir("SUBX", 762101)}
    )
    plan = plan_mod.plan_projects([spec], LAYOUT, actual, force=False)
    if refused:
        assert plan.unsafe == [
            {
                "project": "7620",
                "path": "/c/SUBX",
                "reason": "subject SUBX is granted on the file system but not in the contract; "
                "subjects are never removed",
            }
        ]
        assert plan.changes == [] and plan.steps == []
    else:
        assert plan.unsafe == []
        assert [(c["op"], c["name"]) for c in plan.changes] == [("revoke", "SUBX")]


# ---- item 9: nested subvolumes --------------------------------------------------------------


def test_nested_subvolume_is_reported_and_its_usage_counted() -> None:
    numbers = ids(("7620", 762101, 762102, 762001))
    (spec,) = specs([project("7620", [], quota_bytes=60)], numbers)
    actual = converged([spec])
    actual.quotas["/p/P7620"] = (30, 100)
    actual.quotas["/p/P7620/export/big"] = (50, None)  # made by a researcher, own qgroup
    plan = plan_mod.plan_projects([spec], LAYOUT, actual, force=False)
    assert any(
        "/p/P7620/export/big is a nested subvolume inside /p/P7620" in w for w in plan.warnings
    )
    report = [c for c in plan.changes if c["kind"] == "nested_subvolume"]
    assert [(c["op"], c["path"]) for c in report] == [("report", "/p/P7620/export/big")]
    # 30 + 50 bytes used: lowering the limit to 60 is below the usage, refused without force
    assert any("below its usage of 80 bytes" in b for b in plan.blocked)


# ---- item 8: ACL writes on a full unit --------------------------------------------------------


def test_acl_step_carries_the_unit_and_its_limit_at_acl_time() -> None:
    numbers = ids(("7620", 762101, 762102, 762001))
    (spec,) = specs([project("7620", [])], numbers)
    actual = converged([spec])
    base = [(acl.USER_OBJ, None, 7), (acl.GROUP_OBJ, None, 0), (acl.OTHER, None, 0)]
    drift = acl.with_mask([*base, (acl.USER, 762001, 7), (acl.GROUP, 999999, 7)])
    home = actual.paths["/h/p7620.alice"]
    actual.paths["/h/p7620.alice"] = spec_mod.PathState(
        True, home.uid, home.gid, 0o770, drift, drift
    )
    plan = plan_mod.plan_projects([spec], LAYOUT, actual, force=False)
    ((_phase, ops, _ix),) = plan.steps
    assert ops[0][0] == "acl" and ops[0][5] == ("/h/p7620.alice", 10)


def test_limit_left_raised_by_a_killed_acl_write_is_restored_without_force() -> None:
    numbers = ids(("7620", 762101, 762102, 762001))
    (spec,) = specs([project("7620", [])], numbers)
    actual = converged([spec])
    actual.quotas["/h/p7620.alice"] = (10 + GRACE, 10 + GRACE)  # full, limit left raised
    plan = plan_mod.plan_projects([spec], LAYOUT, actual, force=False)
    assert [(c["op"], c["before"], c["after"]) for c in plan.changes] == [
        ("restore", 10 + GRACE, 10)
    ]
    assert plan.blocked == [] and plan.ordered_steps()[0][0] == plan_mod.LOWER


def test_nested_subvolume_limit_enforced_by_a_level1_qgroup_once() -> None:
    numbers = ids(("7620", 762101, 762102, 762001))
    (spec,) = specs([project("7620", [], quota_bytes=60)], numbers)
    actual = converged([spec])
    actual.quotas["/p/P7620"] = (30, 60)
    actual.quotas["/p/P7620/export/big"] = (20, None)
    actual.ids = {"/p/P7620": 300, "/p/P7620/export/big": 301, "/h/p7620.alice": 302}
    plan = plan_mod.plan_projects([spec], LAYOUT, actual, force=False)
    (enforce,) = [c for c in plan.changes if c["kind"] == "qgroup"]
    assert (enforce["op"], enforce["name"], enforce["path"]) == ("enforce", "1/300", "/p/P7620")
    ops = [op for _ph, step_ops, _ix in plan.ordered_steps() for op in step_ops]
    assert ops == [("qgroup", "/p/P7620", "1/300", ("0/300", "0/301"), 60, True)]
    actual.groups = {"1/300": (50, 60, frozenset({"0/300", "0/301"}))}
    again = plan_mod.plan_projects([spec], LAYOUT, actual, force=False)
    assert [c["kind"] for c in again.changes] == ["nested_subvolume"]  # still reported
    assert again.steps == []
    del actual.quotas["/p/P7620/export/big"]  # removed; the group keeps following the quota
    (later,) = specs([project("7620", [], quota_bytes=90)], numbers)
    raised = plan_mod.plan_projects([later], LAYOUT, actual, force=False)
    assert {(c["kind"], c["after"]) for c in raised.changes} == {
        ("quota", 90),
        ("qgroup", "limit 90 over /p/P7620 and 0 nested subvolume(s)"),
    }


def test_parse_level1_qgroups_with_children() -> None:
    from ansible_collections.tre.secenv.plugins.module_utils import tre_btrfs

    text = (
        "Qgroupid Referenced Exclusive Max referenced Max exclusive Parent Child Path\n"
        "0/2866 16384 16384 none none 1/2866 - projects/P7639\n"
        "1/2866 8421376 8421376 4194304 none - 0/2866,0/2867 <0 member qgroups>\n"
        "1/7 0 0 none none - - <0 member qgroups>\n"
    )
    assert tre_btrfs.parse_qgroup_groups(text) == {
        "1/2866": (8421376, 4194304, frozenset({"0/2866", "0/2867"})),
        "1/7": (0, None, frozenset()),
    }
