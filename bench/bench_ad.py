"""AD benchmark (issue 4), against the lab's Samba AD. Not a timed test: prints figures.

(a) apply 200 projects x 4 people from scratch through the real playbook (AD play only),
    next to two raw ldap3 rates measured in the same run, each in the tightest loop on one
    connection: bare account adds with a password, and the same work as tre (per project
    its OU, its accounts with a password, the members group holding them, the observers
    group: the same DNs and attributes tre_ad writes), timed before and after tre's run
    (the DC drifts during a run) and compared by their mean; prints both ratios and where
    tre's wall time went (Ansible's start, the module task, the end);
(b) a second apply with no changes (wall time, Ansible start-up included);
(c) the naive way: one Ansible task per account (the cheapest real module run per item; any
    real per-account LDAP task costs at least this),
    on a sample, extrapolated to all accounts; prints the ratio (c)/(b).

    python bench/bench_ad.py [--projects 200] [--people 4] [--sample 20] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from common import INVENTORY, lab_vars, synthetic_contract
from ldap3 import SUBTREE, Connection

from provisioning.desired import build_desired_state
from provisioning.ldap import connect as ldap_connect
from provisioning.ldap import filetime, inventory_params, read_secret
from provisioning.policy import load_policy
from provisioning.runner import run_site

FIRST = 800001
#: group descriptions as tre_ad writes them
ROLE_TEXT = {"members": "researchers", "observers": "observers (read-only)"}
TODAY = date(2026, 12, 1)


def connect(v: dict) -> Connection:
    """The project's one LDAPS connection, bound as the lab's service account."""
    params = inventory_params(v)
    return ldap_connect(params, read_secret(params["bind_password_file"]))


def delete_under(conn: Connection, base: str, ou_filter: str) -> None:
    conn.search(base, ou_filter, SUBTREE, attributes=[])
    dns = [e.entry_dn for e in conn.entries]
    for ou in dns:
        conn.search(ou, "(objectClass=*)", SUBTREE, attributes=[])
        for dn in sorted((e.entry_dn for e in conn.entries), key=len, reverse=True):
            conn.delete(dn)


def raw_add_rate(conn: Connection, v: dict, n: int = 50) -> float:
    """Accounts/s for plain ldap3 adds with a password, one connection (the machine's limit)."""
    ou = f"OU=BenchRaw,{v['tre_ad_projects_ou']}"
    delete_under(conn, v["tre_ad_projects_ou"], "(ou=BenchRaw)")
    conn.add(ou, "organizationalUnit")
    start = time.perf_counter()
    for i in range(n):
        pw = f'"{secrets.token_urlsafe(18)}aA1!"'.encode("utf-16-le")
        conn.add(
            f"CN=rawbench{i},{ou}",
            ["top", "person", "organizationalPerson", "user"],
            {"sAMAccountName": f"rawbench{i}", "unicodePwd": pw, "userAccountControl": 512},
        )
        assert conn.result["result"] == 0, conn.result
    rate = n / (time.perf_counter() - start)
    delete_under(conn, v["tre_ad_projects_ou"], "(ou=BenchRaw)")
    return rate


def raw_same_work(conn: Connection, v: dict, desired: dict) -> tuple[int, float]:
    """(accounts, seconds) for creating what tre creates for ``desired``, in one ldap3 loop.

    Per project: the OU, every account with a password (and the attributes tre_ad sets),
    the members group added with its members, the observers group. Fixed id numbers (tre
    allocates them in one modify). The objects are deleted afterwards.
    """
    base = v["tre_ad_projects_ou"]
    number = 900000
    accounts = 0
    start = time.perf_counter()
    for p in desired["projects"]:
        ou = f"OU={p['ou']},{base}"
        conn.add(ou, ["top", "organizationalUnit"], {"description": p["title"]})
        members: dict[str, list[str]] = {role: [] for role in p["groups"]}
        gids = {role: number + i for i, role in enumerate(sorted(p["groups"]))}
        number += len(gids)
        for a in p["accounts"]:
            number += 1
            dn = f"CN={a['sam']},{ou}"
            pw = f'"{secrets.token_urlsafe(18)}aA1!"'.encode("utf-16-le")
            conn.add(
                dn,
                ["top", "person", "organizationalPerson", "user"],
                {
                    "sAMAccountName": a["sam"],
                    "userPrincipalName": f"{a['sam']}@{v['tre_ad_upn_suffix']}",
                    "displayName": a["display_name"],
                    "givenName": a["given_name"],
                    "sn": a["surname"],
                    "mail": a["mail"],
                    "company": a["employer"],
                    "employeeID": a["person"],
                    "uidNumber": number,
                    "gidNumber": gids[a["group"]],
                    "userAccountControl": 512,
                    "accountExpires": filetime(a["expires"]),
                    "pwdLastSet": 0,
                    "unicodePwd": pw,
                },
            )
            members[a["group"]].append(dn)
            accounts += 1
        for role, group in sorted(p["groups"].items()):
            attrs = {
                "sAMAccountName": group["name"],
                "groupType": -2147483646,  # global security group
                "gidNumber": gids[role],
                "description": f"Project {p['project']} {ROLE_TEXT[role]}",
            }
            if members[role]:
                attrs["member"] = members[role]
            conn.add(f"CN={group['name']},{ou}", ["top", "group"], attrs)
    seconds = time.perf_counter() - start
    return accounts, seconds


def phases(private: str, started: float, ended: float) -> str:
    """Where a run's wall time went, from ansible-runner's event timestamps: Ansible's start
    (process, inventory, extra vars, play set-up), the module task (templating its
    arguments, AnsiballZ, the module itself), the end (results, stats, process exit)."""
    events = {}
    for path in (Path(private) / "artifacts" / "run" / "job_events").glob("*.json"):
        event = json.loads(path.read_text())
        if event.get("event") in ("playbook_on_task_start", "runner_on_ok", "runner_on_failed"):
            events[event["event"]] = datetime.fromisoformat(event["created"]).timestamp()
    task_start = events.get("playbook_on_task_start")
    task_end = events.get("runner_on_ok") or events.get("runner_on_failed")
    if task_start is None or task_end is None:
        return "no task events"
    return (
        f"Ansible start {task_start - started:.2f} s, module task {task_end - task_start:.2f} s, "
        f"end {ended - task_end:.2f} s"
    )


NAIVE_PLAYBOOK = """
- hosts: domain_controllers
  gather_facts: false
  tasks:
    - name: One task per account (the naive way; the cheapest real module run per item)
      ansible.builtin.command: "true"
      changed_when: false
      loop: "{{ accounts }}"
"""


def naive_time(accounts: list[str]) -> float:
    import ansible_runner

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        (project / "naive.yml").write_text(NAIVE_PLAYBOOK)
        start = time.perf_counter()
        r = ansible_runner.run(
            private_data_dir=tmp,
            playbook="naive.yml",
            inventory=str(INVENTORY.resolve()),
            extravars={"accounts": accounts},
            envvars={"ANSIBLE_RUN_TAGS": "all"},  # main() selects the AD play of site.yml only
            quiet=True,
        )
        elapsed = time.perf_counter() - start
        if r.status != "successful":
            raise SystemExit(f"naive run failed: {r.status}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--projects", type=int, default=200)
    ap.add_argument("--people", type=int, default=4)
    ap.add_argument("--sample", type=int, default=20)
    ap.add_argument("--keep", action="store_true", help="leave the bench projects in AD")
    args = ap.parse_args()
    # AD play only: Ansible's own tag selection (run_site has no tags of its own)
    os.environ["ANSIBLE_RUN_TAGS"] = "ad"
    v = lab_vars()
    conn = connect(v)
    policy = load_policy()
    contracts = [synthetic_contract(FIRST + i, args.people) for i in range(args.projects)]
    desired = build_desired_state(contracts, policy, TODAY)
    accounts = [a["sam"] for p in desired["projects"] for a in p["accounts"]]
    delete_under(conn, v["tre_ad_projects_ou"], "(ou=P8*)")

    raw = raw_add_rate(conn, v)
    same_accounts, same_before = raw_same_work(conn, v, desired)
    delete_under(conn, v["tre_ad_projects_ou"], "(ou=P8*)")
    home = Path(tempfile.mkdtemp(prefix="tre-bench-"))
    t0, wall0 = time.perf_counter(), time.time()
    first = run_site(INVENTORY, desired, check=False, home=home)
    a_time = time.perf_counter() - t0
    a_phases = phases(first.artifacts, wall0, time.time())
    assert first.ok, first.failures
    created = sum(1 for c in first.changes if c["op"] == "create" and c["kind"] == "account")
    t0, wall0 = time.perf_counter(), time.time()
    second = run_site(INVENTORY, desired, check=False, home=home)
    b_time = time.perf_counter() - t0
    b_phases = phases(second.artifacts, wall0, time.time())
    assert second.ok and not second.changes, second.changes[:3]
    # the raw same work once more after tre's run (the DC slows down while a run goes on:
    # tombstones, other load); tre is compared with the mean of before and after
    same_times = [same_before]
    if not args.keep:
        delete_under(conn, v["tre_ad_projects_ou"], "(ou=P8*)")
        same_times.append(raw_same_work(conn, v, desired)[1])
    same_time = sum(same_times) / len(same_times)
    same = same_accounts / same_time
    sample = accounts[: args.sample]
    c_sample = naive_time(sample)
    c_time = c_sample / len(sample) * len(accounts)

    rate = created / a_time
    print(
        f"(a) from scratch: {created} accounts in {a_time:.1f} s = {rate:.1f}/s; "
        f"raw ldap3, same work: {same_accounts} in "
        f"{' / '.join(f'{t:.1f}' for t in same_times)} s (before / after) = {same:.1f}/s "
        f"-> {100 * rate / same:.0f} %; raw bare add with password: {raw:.1f}/s "
        f"-> {100 * rate / raw:.0f} %"
    )
    print(f"    {a_phases}")
    print(f"(b) no-change reconcile of {len(accounts)} accounts: {b_time:.1f} s ({b_phases})")
    print(
        f"(c) naive, one task per account: {c_sample:.1f} s for {len(sample)} -> "
        f"{c_time:.0f} s for {len(accounts)} (extrapolated); ratio (c)/(b) = {c_time / b_time:.0f}"
    )
    if not args.keep:
        delete_under(conn, v["tre_ad_projects_ou"], "(ou=P8*)")


if __name__ == "__main__":
    main()
