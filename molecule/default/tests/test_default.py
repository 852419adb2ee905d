"""Verify the example contracts on the throwaway file server and in the lab's AD."""

import checks
import pytest
import tre_verify as tv

DESIRED = tv.desired()
PROJECTS = DESIRED["projects"]
IDS = [p["project"] for p in PROJECTS]


def test_the_run_has_projects():
    assert PROJECTS, "the desired state lists no project"


@pytest.mark.parametrize("project", PROJECTS, ids=IDS)
def test_ad_project(ad, dc_vars, project):
    checks.check_ad_project(ad, dc_vars, project)


def test_ad_numbers_unique(ad):
    checks.check_ad_unique_numbers(ad, DESIRED)


def test_ad_seat_groups(ad):
    checks.check_ad_seats(ad, DESIRED)


@pytest.fixture(scope="module")
def snap(fs, fs_vars):
    return tv.Snapshot(fs, checks.storage_paths(fs_vars, DESIRED))


@pytest.mark.parametrize("project", PROJECTS, ids=IDS)
def test_project_subvolume_quota_acl(snap, fs_vars, qgroups, ad, project):
    checks.check_project_storage(snap, fs_vars, qgroups, ad, project)


@pytest.mark.parametrize("project", PROJECTS, ids=IDS)
def test_personal_workspaces(snap, fs_vars, qgroups, ad, project):
    checks.check_workspaces(snap, fs_vars, qgroups, ad, project)


def test_catalogue_subjects(snap, fs_vars, ad):
    checks.check_catalog(snap, fs_vars, ad, DESIRED)
