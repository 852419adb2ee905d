"""Unit tests of tre_ad's helpers that need no AD: messages, passwords, password files, diff."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

pytest.importorskip("ldap3")
from ansible_collections.tre.secenv.plugins.module_utils import tre_ldap
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_apply import (
    ApplyError,
    apply_writes,
    new_password,
    write_password_file,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import Write
from ansible_collections.tre.secenv.plugins.modules.tre_ad import render_diff


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "socket ssl wrapping error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
            "failed: unable to get local issuer certificate",
            "could not be verified with CA file /ca.pem",
        ),
        (
            "certificate verify failed: IP address mismatch, certificate is not valid for "
            "'127.0.0.9'",
            "does not name that host (hostname mismatch)",
        ),
        ("certificate {'subject': ...} doesn't match any name in ['dc'] ", "hostname mismatch"),
        (
            "socket connection error while opening: [Errno 111] Connection refused",
            "AD server dc:636 unreachable (connection refused)",
        ),
        ("socket connection error while opening: timed out", "unreachable (timed out)"),
    ],
)
def test_connect_messages_are_one_clear_line(text, expected):
    msg = tre_ldap._connect_message("dc:636", "/ca.pem", text)
    assert expected in msg and "\n" not in msg


def test_operation_message_never_contains_values():
    from ldap3.core.exceptions import (
        LDAPConstraintViolationResult,
        LDAPInsufficientAccessRightsResult,
    )

    e = LDAPInsufficientAccessRightsResult(
        result=50, description="insufficientAccessRights", message="00002098: ...", dn="CN=x"
    )
    assert (
        tre_ldap.operation_message(e, "create", "CN=x,CN=Users", "svc@lab")
        == "insufficient rights: svc@lab may not create CN=x,CN=Users"
    )
    e = LDAPConstraintViolationResult(
        result=19,
        description="constraintViolation",
        message="0000052D: password too short\nsecond line",
    )
    assert (
        tre_ldap.operation_message(e, "create", "CN=y", "svc")
        == "LDAP create of CN=y failed (constraintViolation): 0000052D: password too short"
    )


def test_read_secret_errors_are_one_line(tmp_path):
    with pytest.raises(tre_ldap.LdapError, match="cannot read bind password file .*: No such"):
        tre_ldap.read_secret(str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(tre_ldap.LdapError, match="is empty"):
        tre_ldap.read_secret(str(empty))


def test_passwords_are_strong_random_and_avoid_names():
    seen = set()
    for _ in range(300):
        pw = new_password("p9001.jan", "Jan de Vries")
        assert len(pw) >= 20
        assert any(c.isupper() for c in pw) and any(c.islower() for c in pw)
        assert any(c.isdigit() for c in pw) and any(not c.isalnum() for c in pw)
        assert "jan" not in pw.lower() and "vries" not in pw.lower()
        assert not set(pw) & set("\"'\\ ")
        seen.add(pw)
    assert len(seen) == 300


def test_password_file_is_root_only_and_atomic(tmp_path):
    root = tmp_path / "initial"
    path = write_password_file(str(root), "9001", "p9001.jan", "Secret-1")
    assert path == str(root / "9001" / "p9001.jan.txt")
    assert Path(path).read_text() == "Secret-1\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(root / "9001").st_mode) == 0o700
    write_password_file(str(root), "9001", "p9001.jan", "Secret-2")
    assert Path(path).read_text() == "Secret-2\n"
    assert sorted(os.listdir(root / "9001")) == ["p9001.jan.txt"]  # no temp files left


class FailingConn:
    """Accepts the first ``ok`` operations, then fails like AD refusing a write."""

    def __init__(self, ok: int) -> None:
        self.ok, self.seen = ok, []

    def add(self, dn, classes, attrs):
        self._op(dn, attrs)

    def modify(self, dn, changes):
        self._op(dn, changes)

    def _op(self, dn, attrs):
        from ldap3.core.exceptions import LDAPInsufficientAccessRightsResult

        self.seen.append((dn, attrs))
        if len(self.seen) > self.ok:
            raise LDAPInsufficientAccessRightsResult(
                result=50, description="insufficientAccessRights"
            )


def test_apply_stops_at_first_failure_and_reports_only_applied(tmp_path):
    writes = [
        Write(
            "add",
            f"CN=p9001.u{i},OU=P9001",
            {"sAMAccountName": f"p9001.u{i}"},
            ["user"],
            [{"name": f"u{i}"}],
            ("9001", f"p9001.u{i}"),
        )
        for i in range(3)
    ]
    conn = FailingConn(ok=1)
    with pytest.raises(ApplyError) as err:
        apply_writes(conn, writes, str(tmp_path), "svc", {})
    assert err.value.applied == [{"name": "u0"}]
    assert str(err.value) == "insufficient rights: svc may not create CN=p9001.u1,OU=P9001"
    # the password of the account that was not created is not kept; none is in the message
    assert sorted(os.listdir(tmp_path / "9001")) == ["p9001.u0.txt"]
    password = (tmp_path / "9001" / "p9001.u0.txt").read_text().strip()
    sent = conn.seen[0][1]["unicodePwd"]
    assert sent == f'"{password}"'.encode("utf-16-le")
    assert "unicodePwd" not in writes[0].attrs  # the plan (and so `changes`) never holds it


def test_diff_is_compact_text():
    changes = [
        {
            "project": "1",
            "op": "create",
            "kind": "ou",
            "name": "P1",
            "dn": "OU=P1",
            "before": None,
            "after": {"description": "t"},
        },
        {
            "project": "1",
            "op": "disable",
            "kind": "account",
            "name": "a",
            "dn": "CN=a",
            "before": {"userAccountControl": 512},
            "after": {"userAccountControl": 514},
        },
        {
            "project": "1",
            "op": "add_members",
            "kind": "group",
            "name": "g",
            "dn": "CN=g",
            "before": None,
            "after": {"member": ["a", "b"]},
        },
    ]
    assert render_diff(changes) == {
        "before": "account CN=a: userAccountControl=512\n",
        "after": "ou OU=P1: created\naccount CN=a: userAccountControl=514\n"
        "group CN=g: member +a\ngroup CN=g: member +b\n",
    }
