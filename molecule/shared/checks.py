"""The checks both scenarios make: the hosts and AD hold exactly what a desired state asks for.

Every check reads the real systems: AD over LDAPS (uid/gid numbers are the ones tre_ad gave
the objects), the file server through ``podman exec``.
"""

from __future__ import annotations

from pathlib import Path

import tre_verify as tv
import yaml

from provisioning.ldap import filetime


def _prepared_subjects() -> tuple[str, ...]:
    """The ten subjects prepare-hosts.yml puts in every catalogue (one list, kept there)."""
    plays = yaml.safe_load((Path(__file__).parent / "prepare-hosts.yml").read_text())
    return tuple(plays[0]["vars"]["tre_file_subjects"])


FILE_SUBJECTS = _prepared_subjects()
PROJECT_FOLDERS = ("export", "import", "OtherData", "archive")  # tre_storage_spec.py


def _both(entries: list[str]) -> set[str]:
    return set(entries) | {f"default:{e}" for e in entries}


def group_gids(ad: tv.AD, project: dict) -> tuple[int, int]:
    return (
        ad.number(project["groups"]["members"]["name"], "gidNumber"),
        ad.number(project["groups"]["observers"]["name"], "gidNumber"),
    )


def check_ad_project(ad: tv.AD, settings: dict, project: dict) -> None:
    id_min = int(settings.get("tre_ad_id_min", 200000))
    ou = ad.get(ad.ou_dn(project["ou"]))
    assert ou is not None, f"OU {project['ou']} missing under {settings['tre_ad_projects_ou']}"
    want_members: dict[str, set[str]] = {"members": set(), "observers": set()}
    for account in project["accounts"]:
        want_members[account["group"]].add(f"cn={account['sam']},{ad.ou_dn(project['ou'])}".lower())
    gids = {}
    for role in ("members", "observers"):
        name = project["groups"][role]["name"]
        dn, _ = ad.sam(name)
        assert dn.lower() == f"cn={name},{ad.ou_dn(project['ou'])}".lower()
        gids[role] = ad.number(name, "gidNumber")
        assert gids[role] >= id_min
        assert ad.members(name) == want_members[role], f"members of {name}"
    for account in project["accounts"]:
        sam = account["sam"]
        dn, _ = ad.sam(sam)
        assert dn.lower() == f"cn={sam},{ad.ou_dn(project['ou'])}".lower()
        assert ad.number(sam, "uidNumber") >= id_min
        assert ad.number(sam, "gidNumber") == gids[account["group"]]
        uac = ad.number(sam, "userAccountControl")
        assert bool(uac & tv.UAC_DISABLED) == (not account["enabled"]), (
            f"{sam}: userAccountControl {uac}, enabled should be {account['enabled']}"
        )
        assert ad.number(sam, "accountExpires") == filetime(account["expires"]), (
            f"{sam}: accountExpires"
        )
        assert ad.one(sam, "userPrincipalName") == f"{sam}@{settings['tre_ad_upn_suffix']}"


def check_ad_unique_numbers(ad: tv.AD, desired: dict) -> None:
    uids = [ad.number(a["sam"], "uidNumber") for p in desired["projects"] for a in p["accounts"]]
    assert len(uids) == len(set(uids)), uids
    gids = [g for p in desired["projects"] for g in group_gids(ad, p)]
    assert len(gids) == len(set(gids)), gids
    assert not set(uids) & set(gids)


def check_ad_seats(ad: tv.AD, desired: dict) -> None:
    run_accounts = {
        f"cn={a['sam']},{ad.ou_dn(p['ou'])}".lower(): a["sam"]
        for p in desired["projects"]
        for a in p["accounts"]
    }
    for package, seat in desired["software"].items():
        members = ad.members(seat["group"])
        of_run = {run_accounts[m] for m in members if m in run_accounts}
        assert of_run == set(seat["members"]), f"seat group {seat['group']} ({package})"


def catalog_subjects(desired: dict) -> list[str]:
    """The catalogue prepare made: the ten subjects plus every subject of the run."""
    run = {s for p in desired["projects"] for s in p["storage"]["file_subjects"]}
    return sorted(set(FILE_SUBJECTS) | run)


def storage_paths(fs_vars: dict, desired: dict) -> list[str]:
    """Every path the storage checks look at (for one ``tv.Snapshot``)."""
    paths = []
    for project in desired["projects"]:
        root = f"{fs_vars['tre_projects_root']}/{project['ou']}"
        paths += [root] + [f"{root}/{f}" for f in PROJECT_FOLDERS]
        paths += [f"{fs_vars['tre_workspaces_root']}/{a['sam']}" for a in project["accounts"]]
    for subject in catalog_subjects(desired):
        directory = f"{fs_vars['tre_catalog_root']}/{subject}"
        paths += [directory, f"{directory}/{subject}.csv"]
    return paths


def check_project_storage(
    snap: tv.Snapshot, fs_vars: dict, qgroups: dict, ad: tv.AD, project: dict
) -> None:
    members, observers = group_gids(ad, project)
    root = f"{fs_vars['tre_projects_root']}/{project['ou']}"
    rel = f"{fs_vars['tre_projects_root'].rsplit('/', 1)[1]}/{project['ou']}"
    assert snap.is_subvolume(root), f"{root} is not a subvolume"
    assert qgroups.get(rel) == project["storage"]["quota_bytes"], f"qgroup limit of {root}"
    want = _both(
        [
            "user::rwx",
            "group::---",
            f"group:{members}:rwx",
            f"group:{observers}:r-x",
            "mask::rwx",
            "other::---",
        ]
    )
    for path in [root] + [f"{root}/{f}" for f in PROJECT_FOLDERS]:
        assert snap.is_dir(path), f"{path} is not a directory"
        assert snap.owner(path) == (0, 0), f"owner of {path}"
        assert snap.mode(path) & 0o007 == 0, f"{path} is open to others: {oct(snap.mode(path))}"
        assert snap.acl[path] == want, f"ACL of {path}"


def check_workspaces(
    snap: tv.Snapshot, fs_vars: dict, qgroups: dict, ad: tv.AD, project: dict
) -> None:
    home = fs_vars["tre_workspaces_root"]
    rel_home = home.rsplit("/", 1)[1]
    for account in project["accounts"]:
        sam = account["sam"]
        uid, gid = ad.number(sam, "uidNumber"), ad.number(sam, "gidNumber")
        path = f"{home}/{sam}"
        assert snap.is_subvolume(path), f"{path} is not a subvolume"
        assert qgroups.get(f"{rel_home}/{sam}") == project["storage"]["workspace_quota_bytes"], (
            f"qgroup limit of {path}"
        )
        assert snap.owner(path) == (uid, gid), f"owner of {path}"
        assert snap.mode(path) & 0o007 == 0, f"{path} is open to others: {oct(snap.mode(path))}"
        assert snap.acl[path] == _both(
            ["user::rwx", f"user:{uid}:rwx", "group::---", "mask::rwx", "other::---"]
        ), f"ACL of {path}"


def check_catalog(snap: tv.Snapshot, fs_vars: dict, ad: tv.AD, desired: dict) -> None:
    """Each subject carries one read entry, for its reader group, in which the groups of the
    projects contracting it are nested (and no other project's); no project gid on any."""
    catalog = fs_vars["tre_catalog_root"]
    readers = desired.get("subjects") or {}
    for subject in catalog_subjects(desired):
        directory = f"{catalog}/{subject}"
        sample = f"{directory}/{subject}.csv"
        for path in (directory, sample):
            assert snap.owner(path) == (0, 0), f"owner of {path}"
            assert "other::---" in snap.acl[path] and snap.mode(path) & 0o007 == 0, (
                f"{path} is open to others"
            )
        dir_acl, file_acl = snap.acl[directory], snap.acl[sample]
        if subject in readers:
            reader = readers[subject]["group"]
            gid = ad.number(reader, "gidNumber")
            assert f"group:{gid}:r-x" in dir_acl, f"{directory}: no read for {reader}"
            assert f"default:group:{gid}:r-x" in dir_acl, f"{directory}: no default read"
            assert f"group:{gid}:r--" in file_acl, f"{sample}: no read for {reader}"
            nested = ad.members(reader)
        else:
            nested = set()
        for project in desired["projects"]:
            gids = group_gids(ad, project)
            stray = sorted(e for e in dir_acl | file_acl for g in gids if f":{g}:" in e)
            assert not stray, f"{subject}: project {project['project']}'s own entries {stray}"
            dns = {
                ad.sam(project["groups"][role]["name"])[0].lower()
                for role in ("members", "observers")
            }
            if subject in project["storage"]["file_subjects"]:
                assert dns <= nested, f"{subject}: project {project['project']} cannot read it"
            else:
                assert not dns & nested, f"{subject} is not contracted by {project['project']}"
