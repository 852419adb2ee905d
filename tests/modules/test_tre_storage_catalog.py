"""The catalogue with reader groups (issue 17), pure: migration in one write, a fixed-size ACL
for any number of projects, nothing taken away before a reader group has its gid."""

from __future__ import annotations

from ansible_collections.tre.secenv.plugins.module_utils import tre_acl as acl
from ansible_collections.tre.secenv.plugins.module_utils import (
    tre_storage_catalog as catalog_mod,
)
from ansible_collections.tre.secenv.plugins.module_utils import tre_storage_plan as plan_mod
from ansible_collections.tre.secenv.plugins.module_utils import tre_storage_spec as spec_mod

from tests.modules.test_tre_storage_units import IDS, LAYOUT, READERS, converged, desired


def reader_acl(gid: int) -> acl.Acl:
    base = [(acl.USER_OBJ, None, 7), (acl.GROUP_OBJ, None, 5), (acl.OTHER, None, 0)]
    return acl.with_mask([*base, (acl.GROUP, gid, 5)])


def test_per_project_entries_migrate_to_the_reader_group_in_one_write() -> None:
    """Issue 17: the old model's project entries go in the write that adds the reader entry."""
    (spec,) = spec_mod.normalize(desired(), IDS)
    actual = converged(spec)  # SUBA carries p6001's two entries (the per-project model)
    plan = plan_mod.plan_projects([spec], LAYOUT, actual, force=False, readers=READERS)
    suba = [op for _ph, ops, _ in plan.ordered_steps() for op in ops if op[1] == "/c/SUBA"]
    assert len(suba) == 1  # one write: no moment without access
    _name, _path, access, default, _is_dir = suba[0]
    assert acl.named_groups(access, {600101, 600102, 600900}) == {600900: 5}
    assert acl.named_groups(default, {600101, 600102, 600900}) == {600900: 5}
    changes = {(c["project"], c["op"], c["name"]) for c in plan.changes}
    assert changes == {(None, "grant", "SUBA"), ("6001", "update", "SUBA"), (None, "grant", "SUBB")}


def test_three_thousand_projects_leave_the_subject_acl_at_its_fixed_size() -> None:
    """Issue 17: the subject's ACL holds one entry for its reader group, whatever the projects."""
    specs = []
    for n in range(3000):
        nr = str(10000 + n)
        data = desired()
        data["projects"][0].update(
            project=nr,
            groups={"members": {"name": f"p{nr}-members"}, "observers": {"name": f"p{nr}-obs"}},
            accounts=[],
        )
        ids = {"groups": {f"p{nr}-members": 700000 + 2 * n, f"p{nr}-obs": 700001 + 2 * n}}
        specs.extend(spec_mod.normalize(data, ids))
    base = [(acl.USER_OBJ, None, 7), (acl.GROUP_OBJ, None, 5), (acl.OTHER, None, 0)]
    empty = acl.canonical(base)
    actual = plan_mod.Actual(
        {}, {}, {"SUBA": [("/c/SUBA", spec_mod.PathState(True, 0, 0, 0o750, empty, None))]}, set()
    )
    plan = plan_mod.Plan()
    catalog_mod.plan_catalog(plan, specs, LAYOUT, actual, READERS)
    (op,) = [op for _ph, ops, _ in plan.steps for op in ops]
    _name, _path, access, default, _is_dir = op
    assert access == reader_acl(600900)
    assert len(acl.named_groups(default, set(range(600000, 800000)))) == 1
    assert [c["op"] for c in plan.changes] == ["grant"]


def test_a_new_reader_group_without_gid_keeps_the_old_entries_for_now() -> None:
    """Check mode of a first run: the reader group has no gid yet; nothing is taken away."""
    (spec,) = spec_mod.normalize(desired(), IDS)
    plan = plan_mod.plan_projects(
        [spec], LAYOUT, converged(spec), force=False, readers={"SUBA": ("DS-SUBA", None)}
    )
    assert [op for _ph, ops, _ in plan.steps for op in ops] == []
    assert [(c["op"], c["after"]) for c in plan.changes] == [
        ("grant", "group:<DS-SUBA>:r-X,default:group:<DS-SUBA>:r-X")
    ]


def test_a_reader_gid_that_fails_a_check_stops_the_run() -> None:
    """Item 2 for reader groups: a gid below the range, or another group's, is never written."""
    import pytest

    desired = {"subjects": {"SUBA": {"group": "DS-SUBA", "projects": []}}}
    ids = {"groups": {"DS-SUBA": 600900, "p6001-members": 600101}}
    assert catalog_mod.reader_groups(desired, ids, 200000) == {"SUBA": ("DS-SUBA", 600900)}
    with pytest.raises(spec_mod.SpecError, match="below id_min"):
        catalog_mod.reader_groups(desired, {"groups": {"DS-SUBA": 0}}, 200000)
    shared = {"groups": {"DS-SUBA": 600101, "p6001-members": 600101}}
    with pytest.raises(spec_mod.SpecError, match="held by both DS-SUBA and p6001-members"):
        catalog_mod.reader_groups(desired, shared, 200000)
