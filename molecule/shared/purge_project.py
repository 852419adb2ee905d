"""Remove a Molecule-owned project from the lab's AD so a scenario starts from nothing.

Deletes everything under ``OU=P<project>,<projects OU>`` and the OU itself (the toolkit never
deletes AD objects; a throwaway test must), plus the project's initial-password files.
Refuses project numbers outside 9100-9199, the range reserved for Molecule scenarios.
Bound as the lab's service account over LDAPS with certificate verification.
Prints ``purged N`` (N objects deleted) or ``absent``.
"""

from __future__ import annotations

import argparse
import shutil
import ssl
import sys
from pathlib import Path

from ldap3 import BASE, LEVEL, Connection, Server, Tls

RESERVED = range(9100, 9200)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=636)
    ap.add_argument("--ca-file", required=True)
    ap.add_argument("--bind-user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--projects-ou", required=True)
    ap.add_argument("--initial-password-dir")
    ap.add_argument("project", type=int)
    args = ap.parse_args()
    if args.project not in RESERVED:
        ap.error(f"project {args.project} is not a Molecule project (9100-9199)")

    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=args.ca_file)
    server = Server(args.server, port=args.port, use_ssl=True, tls=tls, get_info=None)
    password = Path(args.password_file).read_text().strip()
    conn = Connection(server, user=args.bind_user, password=password, auto_bind=True)
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
    print(f"purged {deleted}" if deleted else "absent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
