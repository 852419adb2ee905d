"""Verify the VM file server as production would see it (issue 18): identities from sssd
against the lab DC (names, never numbers typed by hand: the numbers compared are AD's),
XFS project quotas (projid per unit, limits, a write past a limit refused), reads and writes
as the people themselves (``runuser -u <account>``), the catalogue per subject group."""

from __future__ import annotations

import tre_verify as tv

DESIRED = tv.desired()
(PROJECT,) = DESIRED["projects"]
NR = PROJECT["project"]
ACCOUNTS = {a["sam"]: a for a in PROJECT["accounts"]}
MEMBERS = sorted(s for s, a in ACCOUNTS.items() if a["group"] == "members")
OBSERVERS = sorted(s for s, a in ACCOUNTS.items() if a["group"] == "observers")
GROUPS = {role: g["name"] for role, g in PROJECT["groups"].items()}
SUBJECTS = PROJECT["storage"]["file_subjects"]
UNCONTRACTED = "GBAHUISHOUDENSBUS"  # prepared in the catalogue, not in the contract
MIB = 2**20


def as_user(fs, sam: str, command: str):
    return fs.run("runuser -u %s -- sh -c %s", sam, command)


def test_sssd_resolves_people_with_ad_numbers_and_groups(fs, ad):
    assert MEMBERS and OBSERVERS
    for sam in ACCOUNTS:
        uid, gid = ad.number(sam, "uidNumber"), ad.number(sam, "gidNumber")
        ident = fs.check_output("id %s", sam)
        assert ident.startswith(f"uid={uid}({sam}) gid={gid}("), ident
        names = set(fs.check_output("id -Gn %s", sam).split())
        role = GROUPS[ACCOUNTS[sam]["group"]]
        assert role in names, (sam, names)
        # the catalogue reader groups, in which the project groups are nested (tokenGroups-
        # like expansion by sssd's AD schema)
        assert {f"DS-{s}" for s in SUBJECTS} <= names, (sam, names)
        assert f"DS-{UNCONTRACTED}" not in names
    getent = fs.check_output("getent group %s", GROUPS["members"])
    assert set(getent.split(":")[3].split(",")) == set(MEMBERS)


def quota_report(fs, fs_vars) -> dict[int, tuple[int, int]]:
    """{projid: (used bytes, hard limit bytes)} as xfs_quota prints them (1 KiB blocks)."""
    mount = fs_vars["tre_projects_root"].rsplit("/", 1)[0]
    report = fs.check_output("xfs_quota -x -c 'report -p -b -n -N' %s", mount)
    rows = (line.split() for line in report.splitlines() if line.startswith("#"))
    return {int(f[0][1:]): (int(f[1]) * 1024, int(f[3]) * 1024) for f in rows}


def used_bytes(fs, fs_vars) -> dict[int, int]:
    return {projid: used for projid, (used, _limit) in quota_report(fs, fs_vars).items()}


def test_units_have_their_projid_and_limit(fs, fs_vars):
    root, home = fs_vars["tre_projects_root"], fs_vars["tre_workspaces_root"]
    limits = {projid: limit for projid, (_used, limit) in quota_report(fs, fs_vars).items()}
    # one command: each unit's projid and flags (xfs_io), each account's uid (sssd)
    script = f"xfs_io -c lsproj {root}/P{NR}; " + "".join(
        f"id -u {sam}; xfs_io -c lsproj -c 'lsattr -v' {home}/{sam}; " for sam in ACCOUNTS
    )
    lines = fs.check_output("sh -c %s", script).splitlines()
    assert lines[0] == f"projid = {NR}"
    assert limits[int(NR)] == PROJECT["storage"]["quota_bytes"]
    for at, sam in enumerate(ACCOUNTS):
        uid, projid_line, attrs = lines[1 + 3 * at : 4 + 3 * at]
        projid = 2**31 + int(uid)
        assert projid_line == f"projid = {projid}", sam
        assert limits[projid] == PROJECT["storage"]["workspace_quota_bytes"]
        assert "proj-inherit" in attrs, attrs  # inherited by what is made inside


def test_people_read_and_write_as_themselves(fs, fs_vars):
    export = f"{fs_vars['tre_projects_root']}/P{NR}/export"
    home = fs_vars["tre_workspaces_root"]
    writer, other = MEMBERS[0], MEMBERS[1]
    observer = OBSERVERS[0]
    try:
        assert as_user(fs, writer, f"echo hello > {export}/{writer}.txt").rc == 0
        assert as_user(fs, other, f"cat {export}/{writer}.txt").stdout.strip() == "hello"
        assert as_user(fs, observer, f"cat {export}/{writer}.txt").stdout.strip() == "hello"
        refused = as_user(fs, observer, f"echo x > {export}/{observer}.txt")
        assert refused.rc != 0 and "Permission denied" in refused.stderr
        # a file made by a member belongs to them and inherits the project's group access
        assert fs.check_output("stat -c %%U %s/%s.txt", export, writer) == writer
        assert as_user(fs, writer, f"echo mine > {home}/{writer}/notes.txt").rc == 0
        refused = as_user(fs, other, f"cat {home}/{writer}/notes.txt")
        assert refused.rc != 0 and "Permission denied" in refused.stderr
    finally:
        fs.run("rm -f %s/*.txt %s/%s/notes.txt", export, home, writer)


def test_catalogue_is_read_through_the_subject_groups(fs, fs_vars):
    catalog = fs_vars["tre_catalog_root"]
    # one runuser per person: what each step printed (first line) and its exit code
    steps = [f"head -1 {catalog}/{s}/{s}.csv" for s in SUBJECTS]
    steps += [f"ls {catalog}/{UNCONTRACTED}", f"touch {catalog}/{SUBJECTS[0]}/new.csv"]
    script = "".join(
        f'out=$({step} 2>&1); rc=$?; echo "$rc $(printf \'%s\\n\' "$out" | head -1)"; '
        for step in steps
    )
    for sam in (*MEMBERS, *OBSERVERS):
        results = as_user(fs, sam, script).stdout.splitlines()
        assert len(results) == len(steps), results
        for subject, line in zip(SUBJECTS, results, strict=False):
            assert line.startswith("0 rinpersoon"), (sam, subject, line)
        listed, touched = results[-2:]
        assert not listed.startswith("0 ") and "Permission denied" in listed, (sam, listed)
        assert not touched.startswith("0 ") and "Permission denied" in touched, (sam, touched)


def test_a_write_past_the_quota_is_refused(fs, fs_vars):
    """XFS answers a write past a PROJECT quota with ENOSPC ("No space left on device";
    EDQUOT, "Disk quota exceeded", is for user and group quotas): the kernel's choice
    (xfs_trans_dqresv), on the workspace limit and on the project folder's."""
    sam = MEMBERS[0]
    workspace = f"{fs_vars['tre_workspaces_root']}/{sam}/fill.bin"
    folder = f"{fs_vars['tre_projects_root']}/P{NR}/export/fill.bin"
    ws_limit = PROJECT["storage"]["workspace_quota_bytes"]
    limit = PROJECT["storage"]["quota_bytes"]
    try:
        for path, size in ((workspace, ws_limit), (folder, limit)):
            mib = size // MIB + 2
            out = as_user(fs, sam, f"dd if=/dev/zero of={path} bs=1M count={mib} conv=fsync")
            assert out.rc != 0 and "No space left on device" in out.stderr, out.stderr
            written = int(fs.check_output("stat -c %%s %s", path))
            assert size - MIB <= written <= size, (path, written, size)
        # another unit is not affected by a full one
        assert as_user(fs, MEMBERS[1], f"echo ok > {workspace}.other").rc != 0  # not theirs
        other = f"{fs_vars['tre_workspaces_root']}/{MEMBERS[1]}/ok.txt"
        assert as_user(fs, MEMBERS[1], f"echo ok > {other}").rc == 0
    finally:
        fs.run(
            "rm -f %s %s %s",
            workspace,
            folder,
            f"{fs_vars['tre_workspaces_root']}/{MEMBERS[1]}/ok.txt",
        )


def test_measure_reads_the_vm_in_one_report(fs, fs_name, fs_vars):
    """tre_quota_report with the XFS backend (provisioning.usage.measure over SSH): a real
    write measured, every limit the desired state's."""
    import dataclasses
    import os
    from pathlib import Path

    from provisioning.inventory import load_inventory
    from provisioning.usage import measure

    repo = Path(__file__).resolve().parents[3]
    lab = load_inventory(repo / "inventory" / "lab")
    inventory = dataclasses.replace(lab, path=Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent)
    folder = f"{fs_vars['tre_projects_root']}/P{NR}/export/measure.bin"
    before = used_bytes(fs, fs_vars)[int(NR)]  # xfs_quota itself, not the code under test
    try:
        fs.check_output("head -c %s /dev/urandom > %s && sync", str(3 * MIB), folder)
        report = measure(inventory, [NR])
    finally:
        fs.run("rm -f %s", folder)
    assert report.warnings == []
    units = {(u.kind, u.owner): u for u in report.items}
    assert set(units) == {("project", None)} | {("workspace", s) for s in ACCOUNTS}
    assert {u.server for u in report.items} == {fs_name}
    assert units[("project", None)].limit_bytes == PROJECT["storage"]["quota_bytes"]
    for sam in ACCOUNTS:
        assert units[("workspace", sam)].limit_bytes == PROJECT["storage"]["workspace_quota_bytes"]
    grown = units[("project", None)].used_bytes - before
    assert 3 * MIB <= grown <= 3 * MIB + 64 * 1024, grown
