"""tre.secenv.tre_ad against the lab's Samba AD, through a real Ansible run (ansible-runner).

Every behaviour in the check -> apply -> idempotent triplet. Projects 71xx only; their OUs,
seat groups (SW-T71xx) and allocators are removed before and after each test.
"""

from __future__ import annotations

import contextlib
import stat
import sys
import threading
from pathlib import Path

import ldap3
import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_ldap
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_apply import (
    reserve_ids,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import (
    Settings,
    filetime,
)

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / "playbooks" / "collections"
PLAYBOOK = Path(__file__).parent / "playbooks" / "ad_reconcile.yml"
TASK = "Reconcile AD objects of every project in the run"

pytestmark = pytest.mark.lab
TREE_DELETE = "1.2.840.113556.1.4.805"


def person(project: str, pid: str, group: str = "members", enabled: bool = True) -> dict:
    return {
        "person": pid,
        "sam": f"p{project}.{pid}",
        "role": "researcher",
        "display_name": f"{pid.title()} Ørsted-Šimić",
        "given_name": pid.title(),
        "surname": "Ørsted-Šimić",
        "mail": f"{pid}@uu.nl",
        "employer": "Universiteit Utrecht",
        "group": group,
        "enabled": enabled,
        "expires": "2028-02-01",
    }


def project(number: str, accounts: list[dict]) -> dict:
    return {
        "project": number,
        "ou": f"P{number}",
        "title": f"Test project {number}",
        "start": "2026-02-01",
        "end": "2028-01-31",
        "groups": {
            "members": {"name": f"p{number}-members"},
            "observers": {"name": f"p{number}-observers"},
        },
        "accounts": accounts,
    }


def state(*projects: dict, software: dict | None = None) -> dict:
    return {"today": "2026-11-27", "projects": list(projects), "software": software or {}}


@pytest.fixture
def lab(lab_inventory):
    return lab_inventory


@pytest.fixture
def params(lab) -> dict:
    return {
        "server": lab.ad_server,
        "port": lab.ad_port,
        "ca_file": str(lab.ad_ca_file),
        "bind_user": lab.ad_bind_user,
        "bind_password_file": str(lab.ad_bind_password_file),
        "base_dn": lab.ad_base_dn,
        "projects_ou": lab.ad_projects_ou,
        "software_ou": lab.ad_software_ou,
        "timeout": 10,
    }


@pytest.fixture
def ad(params):
    conn = tre_ldap.connect(params, tre_ldap.read_secret(params["bind_password_file"]))
    yield conn
    conn.unbind()


@pytest.fixture
def cleanup(ad, lab):
    """Remove the OUs and seat groups named by the test, before and after it."""
    names: list[str] = []

    def purge() -> None:
        for dn in names:
            with contextlib.suppress(ldap3.core.exceptions.LDAPNoSuchObjectResult):
                ad.delete(dn, controls=[(TREE_DELETE, True, None)])

    def register(*dns: str) -> None:
        names.extend(dns)
        purge()

    yield register
    purge()


def ou_dn(lab, number: str) -> str:
    return f"OU=P{number},{lab.ad_projects_ou}"


def read(ad, dn: str, attrs=("*",)) -> dict | None:
    try:
        ad.search(dn, "(objectClass=*)", ldap3.BASE, attributes=list(attrs))
    except ldap3.core.exceptions.LDAPNoSuchObjectResult:
        return None
    raw = ad.response[0]["raw_attributes"]
    return {k: [v.decode("utf-8", "replace") for v in vs] for k, vs in raw.items()}


def run_module(lab, tmp_path: Path, desired: dict, check: bool = False, **overrides):
    """One ansible-runner run of the test playbook; (status, res of the task, artifacts, stdout)."""
    import ansible_runner

    extravars = dict(lab.vars)
    extravars.update(tre_desired=desired, tre_initial_password_dir=str(tmp_path / "initial"))
    extravars.update(overrides)
    private = tmp_path / f"runner{len(list(tmp_path.glob('runner*')))}"
    private.mkdir()
    r = ansible_runner.run(
        private_data_dir=str(private),
        playbook=str(PLAYBOOK),
        inventory=f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}",
        extravars=extravars,
        cmdline="--diff --check" if check else "--diff",
        quiet=True,
        envvars={"ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS)},
    )
    res = next(
        (
            e["event_data"]["res"]
            for e in r.events
            if e["event"] in ("runner_on_ok", "runner_on_failed")
            and e["event_data"].get("task") == TASK
        ),
        None,
    )
    return r.status, res, private / "artifacts", r.stdout.read()


def ops(res: dict) -> list[tuple[str, str, str]]:
    return sorted((c["op"], c["kind"], c["name"]) for c in res["changes"])


def test_create_check_apply_idempotent(lab, ad, cleanup, tmp_path):
    cleanup(ou_dn(lab, "7101"), f"CN=SW-T7101,{lab.ad_software_ou}")
    want = state(
        project(
            "7101",
            [
                person("7101", "jan"),
                person("7101", "piet"),
                person("7101", "obs", group="observers"),
            ],
        ),
        software={"T7101": {"group": "SW-T7101", "seats": 2, "members": ["p7101.jan"]}},
    )
    status, res, _, _ = run_module(lab, tmp_path, want, check=True)
    assert status == "successful" and res["changed"] is True
    assert ("create", "account", "p7101.jan") in ops(res)
    assert res["ids"]["accounts"]["p7101.jan"] == {"uid": None, "gid": None}
    assert f"account CN=p7101.jan,{ou_dn(lab, '7101')}: created" in res["diff"]["after"]
    assert read(ad, ou_dn(lab, "7101")) is None  # check mode wrote nothing
    assert not (tmp_path / "initial").exists()

    status, res, artifacts, stdout = run_module(lab, tmp_path, want)
    assert status == "successful" and res["changed"] is True, res
    assert ops(res) == sorted(
        [
            ("create", "ou", "P7101"),
            ("create", "group", "p7101-members"),
            ("create", "group", "p7101-observers"),
            ("create", "group", "SW-T7101"),
            ("add_members", "group", "p7101-members"),
            ("add_members", "group", "p7101-observers"),
            ("add_members", "group", "SW-T7101"),
            ("create", "account", "p7101.jan"),
            ("create", "account", "p7101.piet"),
            ("create", "account", "p7101.obs"),
        ]
    )
    ids = res["ids"]
    jan = read(ad, f"CN=p7101.jan,{ou_dn(lab, '7101')}")
    assert jan["displayName"] == ["Jan Ørsted-Šimić"] and jan["sn"] == ["Ørsted-Šimić"]
    assert jan["userPrincipalName"] == [f"p7101.jan@{lab.ad_upn_suffix}"]
    assert jan["userAccountControl"] == ["512"] and jan["pwdLastSet"] == ["0"]
    assert jan["accountExpires"] == [str(filetime("2028-02-01"))]
    assert int(jan["uidNumber"][0]) == ids["accounts"]["p7101.jan"]["uid"]
    assert int(jan["gidNumber"][0]) == ids["groups"]["p7101-members"]
    obs = read(ad, f"CN=p7101.obs,{ou_dn(lab, '7101')}")
    assert int(obs["gidNumber"][0]) == ids["groups"]["p7101-observers"]
    members = read(ad, f"CN=p7101-members,{ou_dn(lab, '7101')}", ["member", "gidNumber"])
    assert len(members["member"]) == 2
    seat = read(ad, f"CN=SW-T7101,{lab.ad_software_ou}", ["member"])
    assert seat["member"] == [f"CN=p7101.jan,{ou_dn(lab, '7101')}"]
    numbers = [v["uid"] for v in ids["accounts"].values()] + list(ids["groups"].values())
    assert len(set(numbers)) == len(numbers) and min(numbers) >= lab.ad_id_min

    folder = tmp_path / "initial" / "7101"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    passwords = []
    for sam in ("p7101.jan", "p7101.piet", "p7101.obs"):
        f = folder / f"{sam}.txt"
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        passwords.append(f.read_text().strip())
        assert len(passwords[-1]) >= 20
    # no initial password anywhere in the run's artifacts or stdout
    blobs = [stdout] + [p.read_text(errors="replace") for p in artifacts.rglob("*") if p.is_file()]
    for pw in passwords:
        assert not any(pw in blob for blob in blobs)

    status, res, _, _ = run_module(lab, tmp_path, want)
    assert status == "successful" and res["changed"] is False and res["changes"] == []
    assert res["ids"] == ids
    status, res, _, _ = run_module(lab, tmp_path, want, check=True)
    assert res["changed"] is False


def test_disabled_then_enabled_by_a_later_run(lab, ad, cleanup, tmp_path):
    cleanup(ou_dn(lab, "7102"))
    dn = f"CN=p7102.anna,{ou_dn(lab, '7102')}"
    later = state(project("7102", [person("7102", "anna", enabled=False)]))
    status, res, _, _ = run_module(lab, tmp_path, later)
    assert status == "successful" and read(ad, dn)["userAccountControl"] == ["514"]
    now = state(project("7102", [person("7102", "anna", enabled=True)]))
    _, res, _, _ = run_module(lab, tmp_path, now, check=True)
    assert ops(res) == [("enable", "account", "p7102.anna")]
    assert read(ad, dn)["userAccountControl"] == ["514"]
    status, res, _, _ = run_module(lab, tmp_path, now)
    assert status == "successful", res
    assert ops(res) == [("enable", "account", "p7102.anna")]
    assert read(ad, dn)["userAccountControl"] == ["512"]
    _, res, _, _ = run_module(lab, tmp_path, now)
    assert res["changed"] is False
    # a person dropped from the contract: disabled and reported, never deleted
    _, res, _, _ = run_module(lab, tmp_path, state(project("7102", [])))
    assert ("disable", "account", "p7102.anna") in ops(res)
    assert any("p7102.anna" in w for w in res["ad_warnings"])
    assert read(ad, dn)["userAccountControl"] == ["514"]


def test_seats_membership_and_over_capacity(lab, ad, cleanup, tmp_path):
    seat_dn = f"CN=SW-T7103,{lab.ad_software_ou}"
    cleanup(ou_dn(lab, "7103"), ou_dn(lab, "7104"), seat_dn)
    other = state(
        project("7104", [person("7104", "eve")]),
        software={"T": {"group": "SW-T7103", "seats": 2, "members": ["p7104.eve"]}},
    )
    assert run_module(lab, tmp_path, other)[0] == "successful"
    people = [person("7103", "a"), person("7103", "b")]
    want = state(
        project("7103", people),
        software={"T": {"group": "SW-T7103", "seats": 2, "members": ["p7103.a", "p7103.b"]}},
    )
    _, res, _, _ = run_module(lab, tmp_path, want, check=True)
    warning = "SW-T7103: 3 members for 2 seats (over capacity by 1)"
    seats = [{"group": "SW-T7103", "holders": 3, "seats": 2, "projects": ["7103"]}]
    assert res["ad_seat_warnings"] == seats and warning not in res["ad_warnings"]
    status, res, _, _ = run_module(lab, tmp_path, want)
    assert status == "successful" and res["ad_seat_warnings"] == seats
    assert any(warning in w for w in res.get("warnings", []))
    assert len(read(ad, seat_dn, ["member"])["member"]) == 3
    fewer = state(
        project("7103", people),
        software={"T": {"group": "SW-T7103", "seats": 2, "members": ["p7103.b"]}},
    )
    _, res, _, _ = run_module(lab, tmp_path, fewer)
    assert [(c["op"], c["before"]) for c in res["changes"]] == [
        ("remove_members", {"member": ["p7103.a"]})
    ]
    assert res["ad_warnings"] == [] and res["ad_seat_warnings"] == []
    members = read(ad, seat_dn, ["member"])["member"]
    assert sorted(m.split(",")[0] for m in members) == ["CN=p7103.b", "CN=p7104.eve"]
    assert run_module(lab, tmp_path, fewer)[1]["changed"] is False


def test_hand_made_clash_fails_and_writes_nothing(lab, ad, cleanup, tmp_path):
    hand_ou = f"OU=T7106,{lab.ad_projects_ou}"
    cleanup(ou_dn(lab, "7106"), hand_ou)
    ad.add(hand_ou, ["top", "organizationalUnit"])
    ad.add(
        f"CN=Jan by hand,{hand_ou}",
        ["top", "person", "organizationalPerson", "user"],
        {"sAMAccountName": "p7106.jan"},
    )
    want = state(project("7106", [person("7106", "jan"), person("7106", "piet")]))
    for check in (True, False):
        status, res, _, _ = run_module(lab, tmp_path, want, check=check)
        assert status == "failed"
        assert res["msg"] == (
            f"sAMAccountName p7106.jan is already used by CN=Jan by hand,"
            f"{hand_ou}, not by the expected CN=p7106.jan,"
            f"{ou_dn(lab, '7106')}: rename or remove that object"
        )
        assert res["changes"] == []
    assert read(ad, ou_dn(lab, "7106")) is None


def test_failure_half_way_reports_only_what_was_applied(lab, ad, cleanup, tmp_path):
    outside = f"CN=Users,{lab.ad_base_dn}"  # the service account may not write there
    cleanup(ou_dn(lab, "7108"))
    want = state(
        project("7108", [person("7108", "jan")]),
        software={"T": {"group": "SW-T7108", "seats": 1, "members": ["p7108.jan"]}},
    )
    status, res, _, _ = run_module(lab, tmp_path, want, tre_ad_software_ou=outside)
    assert status == "failed"
    assert res["msg"] == (
        f"insufficient rights: {lab.ad_bind_user} may not create CN=SW-T7108,{outside}"
    )
    assert ops(res) == sorted(
        [
            ("create", "ou", "P7108"),
            ("create", "account", "p7108.jan"),
            ("create", "group", "p7108-members"),
            ("add_members", "group", "p7108-members"),
            ("create", "group", "p7108-observers"),
            # its seat group was not written: no enabled account without its groups (issue 9)
            ("disable", "account", "p7108.jan"),
        ]
    )
    jan = read(ad, f"CN=p7108.jan,{ou_dn(lab, '7108')}")
    assert jan is not None and int(jan["userAccountControl"][0]) & 2


@pytest.mark.parametrize(
    "override, message",
    [
        ("password", "rejected the credentials of {user} (invalidCredentials)"),
        ("ca", "could not be verified with CA file"),
        ("down", "unreachable (connection refused)"),
    ],
)
def test_connection_errors_are_one_line(lab, tmp_path, override, message):
    # (hostname mismatch needs a second name for the DC: covered by the unit tests)
    extra = {}
    if override == "password":
        bad = tmp_path / "wrong.password"
        bad.write_text("not-the-password\n")
        extra["tre_ad_bind_password_file"] = str(bad)
    elif override == "ca":
        extra["tre_ad_ca_file"] = "/etc/ssl/certs/ca-certificates.crt"
    else:
        extra["tre_ad_server"] = "127.0.10.254"
    status, res, _, _ = run_module(lab, tmp_path, state(), **extra)
    assert status == "failed"
    assert message.format(user=lab.ad_bind_user) in res["msg"]
    assert "\n" not in res["msg"] and "Traceback" not in res["msg"]


def test_allocator_hands_out_disjoint_ranges_under_concurrency(lab, ad, cleanup, params):
    scratch = f"OU=P7107,{lab.ad_projects_ou}"
    cleanup(scratch)
    ad.add(scratch, ["top", "organizationalUnit"])
    settings = Settings(projects_ou=scratch, software_ou=scratch, upn_suffix="x")
    got: list[range] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            conn = tre_ldap.connect(params, tre_ldap.read_secret(params["bind_password_file"]))
            for _ in range(15):
                start = reserve_ids(conn, settings, 500000, 0, 3)
                got.append(range(start, start + 3))
            conn.unbind()
        except BaseException as e:  # noqa: BLE001 - reported by the test thread
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    numbers = [n for r in got for n in r]
    assert len(numbers) == 135 and len(set(numbers)) == 135
    assert min(numbers) == 500000
