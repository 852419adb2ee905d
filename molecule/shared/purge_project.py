"""Remove a Molecule-owned project from the lab so a scenario starts from nothing.

Deletes everything under ``OU=P<project>,<projects OU>`` and the OU itself (the toolkit never
deletes AD objects; a throwaway test must), the project's initial-password files and, with
``--ossc-*``, its hand-off manifests ``P<project>-*.json`` in the OSSC gateway's inbox.
Refuses project numbers outside 9100-9199, the range reserved for Molecule scenarios.
Bound as the lab's service account over the project's one verified LDAPS connection
(``provisioning.ldap``); SFTP with the inventory's key and known_hosts only.
Prints ``purged N`` (N objects/files deleted) or ``absent``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ldap3 import BASE, LEVEL

from provisioning.ldap import connect, read_secret

RESERVED = range(9100, 9200)


def purge_inbox(args) -> int:
    import paramiko

    client = paramiko.SSHClient()
    client.load_host_keys(args.ossc_known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        args.ossc_host,
        port=args.ossc_port,
        username=args.ossc_user,
        key_filename=args.ossc_key_file,
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    removed = 0
    try:
        sftp = client.open_sftp()
        for name in sftp.listdir(args.ossc_inbox):
            if name.startswith(f"P{args.project}-") and name.endswith(".json"):
                sftp.remove(f"{args.ossc_inbox}/{name}")
                removed += 1
    finally:
        client.close()
    return removed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=636)
    ap.add_argument("--ca-file", required=True)
    ap.add_argument("--bind-user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--projects-ou", required=True)
    ap.add_argument("--initial-password-dir")
    ap.add_argument("--ossc-host")
    ap.add_argument("--ossc-port", type=int, default=22)
    ap.add_argument("--ossc-user")
    ap.add_argument("--ossc-key-file")
    ap.add_argument("--ossc-known-hosts")
    ap.add_argument("--ossc-inbox", default="inbox")
    ap.add_argument("project", type=int)
    args = ap.parse_args()
    if args.project not in RESERVED:
        ap.error(f"project {args.project} is not a Molecule project (9100-9199)")

    params = {
        "server": args.server,
        "port": args.port,
        "ca_file": args.ca_file,
        "bind_user": args.bind_user,
        "bind_password_file": args.password_file,
    }
    conn = connect(params, read_secret(args.password_file), raise_exceptions=False)
    ou = f"OU=P{args.project},{args.projects_ou}"
    deleted = 0

    def exists(dn: str) -> bool:
        return conn.search(dn, "(objectClass=*)", BASE, attributes=["1.1"])

    def purge(dn: str) -> None:
        nonlocal deleted
        conn.search(dn, "(objectClass=*)", LEVEL, attributes=["1.1"])
        for child in [e.entry_dn for e in conn.entries]:
            purge(child)
        if not conn.delete(dn):
            raise SystemExit(f"cannot delete {dn}: {conn.result['description']}")
        deleted += 1

    if exists(ou):
        purge(ou)
    conn.unbind()
    if args.initial_password_dir:
        shutil.rmtree(Path(args.initial_password_dir) / str(args.project), ignore_errors=True)
    if args.ossc_host:
        deleted += purge_inbox(args)
    print(f"purged {deleted}" if deleted else "absent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
