"""Verify the example contracts on the throwaway file server and in the lab's AD."""

import json

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


def test_ossc_handoff_manifests():
    """Every project with OSSC use has its revision's manifest in the gateway's inbox."""
    with_ossc = [p for p in PROJECTS if p.get("ossc")]
    gateways = tv.group_hosts("ossc_gateway")
    # The default scenario converges the examples, two of which hand off to OSSC: a run
    # without them or without a gateway is a broken scenario, not a reason to skip.
    assert with_ossc and gateways, "the default scenario must exercise the OSSC hand-off"
    settings = tv.host_vars(gateways[0])
    inbox = tv.sftp_listing(settings, settings["tre_ossc_inbox"])
    for project in with_ossc:
        name = f"P{project['project']}-{project['ossc']['revision'][:16]}.json"
        assert name in inbox, f"{name} not in the OSSC inbox: {sorted(inbox)}"
        manifest = json.loads(inbox[name])["manifest"]
        assert manifest["project"] == project["project"]
        assert sorted(r["id"] for r in manifest["researchers"]) == sorted(
            r["person"] for r in project["ossc"]["researchers"]
        )


def test_jobs_timer_enabled_service_never_run():
    """playbooks/jobs.yml on the admin host: both units as shipped (ExecStart the installed
    tre), the timer wanted by timers.target, settings 0600, and the service never started
    (no jobs lock, no state store: a deploy sends no mail)."""
    (name,) = tv.group_hosts("admin")
    host = tv.podman_host(name)
    units = "/etc/systemd/system"
    service = host.file(f"{units}/tre-jobs.service")
    assert service.mode == 0o644 and "Type=oneshot" in service.content_string
    assert "ExecStart=/opt/tre/bin/tre jobs run" in service.content_string
    timer = host.file(f"{units}/tre-jobs.timer").content_string
    assert "Persistent=true" in timer and "RandomizedDelaySec=" in timer
    wanted = host.file(f"{units}/timers.target.wants/tre-jobs.timer")
    assert wanted.is_symlink and wanted.linked_to == f"{units}/tre-jobs.timer"
    assert not host.file(f"{units}/multi-user.target.wants/tre-jobs.service").exists
    env = host.file("/etc/tre/jobs.env")
    assert env.mode == 0o600 and "TRE_CONTRACTS=/etc/tre/contracts" in env.content_string
    assert not host.file("/var/lib/tre/jobs.lock").exists
    assert not host.file("/var/lib/tre/state.db").exists
