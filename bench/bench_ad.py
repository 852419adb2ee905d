"""AD benchmark (issue 4), against the lab's Samba AD. Not a timed test: prints figures.

(a) apply 200 projects x 4 people from scratch through the real playbook (AD play only),
    next to the raw ldap3 add-with-password rate measured in the same run;
(b) a second apply with no changes (wall time, Ansible start-up included);
(c) the naive way: one Ansible task per account (the cheapest real module run per item; any
    real per-account LDAP task costs at least this),
    on a sample, extrapolated to all accounts; prints the ratio (c)/(b).

    python bench/bench_ad.py [--projects 200] [--people 4] [--sample 20] [--keep]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from datetime import date
from pathlib import Path

from common import INVENTORY, lab_vars, synthetic_contract
from ldap3 import SUBTREE, Connection

from provisioning.desired import build_desired_state
from provisioning.ldap import connect as ldap_connect
from provisioning.ldap import inventory_params, read_secret
from provisioning.policy import load_policy
from provisioning.runner import run_site

FIRST = 800001
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
    v = lab_vars()
    conn = connect(v)
    policy = load_policy()
    contracts = [synthetic_contract(FIRST + i, args.people) for i in range(args.projects)]
    desired = build_desired_state(contracts, policy, TODAY)
    accounts = [a["sam"] for p in desired["projects"] for a in p["accounts"]]
    delete_under(conn, v["tre_ad_projects_ou"], "(ou=P8*)")

    raw = raw_add_rate(conn, v)
    home = Path(tempfile.mkdtemp(prefix="tre-bench-"))
    t0 = time.perf_counter()
    first = run_site(INVENTORY, desired, check=False, home=home, tags="ad")
    a_time = time.perf_counter() - t0
    assert first.ok, first.failures
    created = sum(1 for c in first.changes if c["op"] == "create" and c["kind"] == "account")
    t0 = time.perf_counter()
    second = run_site(INVENTORY, desired, check=False, home=home, tags="ad")
    b_time = time.perf_counter() - t0
    assert second.ok and not second.changes, second.changes[:3]
    sample = accounts[: args.sample]
    c_sample = naive_time(sample)
    c_time = c_sample / len(sample) * len(accounts)

    print(
        f"(a) from scratch: {created} accounts in {a_time:.1f} s = {created / a_time:.1f}/s "
        f"(raw ldap3 add with password: {raw:.1f}/s; {100 * created / a_time / raw:.0f} %)"
    )
    print(f"(b) no-change reconcile of {len(accounts)} accounts: {b_time:.1f} s")
    print(
        f"(c) naive, one task per account: {c_sample:.1f} s for {len(sample)} -> "
        f"{c_time:.0f} s for {len(accounts)} (extrapolated); ratio (c)/(b) = {c_time / b_time:.0f}"
    )
    if not args.keep:
        delete_under(conn, v["tre_ad_projects_ou"], "(ou=P8*)")


if __name__ == "__main__":
    main()
