"""The lab's parts, checked for real (marker ``lab``; run as root: ``pytest -m lab tests/lab``).

Every test uses its own uniquely named objects and removes them, so sessions may run in
parallel against the one lab. The lab stays up afterwards.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import mailbox
import smtplib
import socket
import ssl
import subprocess
import sys
import uuid
from email.message import EmailMessage
from pathlib import Path

import paramiko
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ldap3 import BASE
from ldap3.core.exceptions import LDAPConnectionIsReadOnlyError, LDAPNoSuchObjectResult

from provisioning import lab
from provisioning.inventory import Inventory
from provisioning.lab import ad, postgres, smtp
from provisioning.lab.config import LabConfig
from provisioning.ldap import LdapError, connect, inventory_params, read_secret
from tests.lab_fixtures import LAB_INVENTORY, REPO

pytestmark = pytest.mark.lab

TRE = str(Path(sys.executable).parent / "tre")


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def lab_config(inv: Inventory) -> LabConfig:
    return LabConfig.from_env(lab_dir=inv.lab_dir, inventory_dir=inv.path)


# --- AD --------------------------------------------------------------------------------------
def test_ldaps_bind_as_service_account_verifies_the_certificate(
    ad_service_connection, lab_inventory
):
    conn = ad_service_connection
    assert conn.bound
    assert conn.server.ssl
    assert conn.server.tls.validate == ssl.CERT_REQUIRED
    assert conn.user == lab_inventory.ad_bind_user
    conn.search(lab_inventory.ad_base_dn, "(sAMAccountName=svc-prov)", attributes=["cn"])
    assert len(conn.entries) == 1


def test_service_account_works_in_projects_ou_only(ad_service_connection, lab_inventory):
    conn = ad_service_connection
    name = unique("tl")
    dn = f"CN={name},{lab_inventory.ad_projects_ou}"
    password = ad.new_password(24)  # like the AD module's: 20+ characters, mixed
    ok = conn.add(
        dn,
        ["top", "person", "organizationalPerson", "user"],
        {
            "sAMAccountName": name,
            "unicodePwd": f'"{password}"'.encode("utf-16-le"),
            "userAccountControl": "512",
        },
    )
    assert ok, conn.result
    try:
        group_dn = f"CN=SW-{name.upper()},{lab_inventory.ad_software_ou}"
        assert conn.add(group_dn, ["top", "group"], {"sAMAccountName": f"SW-{name}"}), conn.result
        assert conn.delete(group_dn), conn.result
    finally:
        assert conn.delete(dn), conn.result
    outside = f"CN={name},CN=Users,{lab_inventory.ad_base_dn}"
    assert not conn.add(outside, ["top", "person", "organizationalPerson", "user"],
                        {"sAMAccountName": name})  # fmt: skip
    assert conn.result["description"] == "insufficientAccessRights"


def test_service_account_is_not_a_domain_admin(ad_service_connection, lab_inventory):
    conn = ad_service_connection
    conn.search(lab_inventory.ad_base_dn, "(sAMAccountName=svc-prov)", attributes=["memberOf"])
    groups = [str(g) for g in conn.entries[0].memberOf.values]
    assert not any("Admins" in g or "Administrators" in g for g in groups)


def _self_signed_ca(path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "someone else's CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_wrong_ca_fails_verification(lab_inventory, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    _self_signed_ca(other_ca)
    with pytest.raises(LdapError, match=r"could not be verified with CA file .*other-ca\.pem"):
        ad.connect(other_ca, lab_inventory.ad_bind_user, lab_inventory.bind_password())


def test_the_one_connection_serves_module_lab_and_verify_styles(lab_inventory):
    """provisioning.ldap.connect: raw and raising (module), typed and boolean (lab, tests),
    read-only (Molecule's verify), always over verified LDAPS."""
    params = inventory_params(
        {f"tre_{k}": v for k, v in vars(lab_inventory).items() if k.startswith("ad_")}
    )
    password = read_secret(params["bind_password_file"])
    missing = f"OU=NoSuchOu{uuid.uuid4().hex[:6]},{lab_inventory.ad_projects_ou}"
    raw = connect(params, password)
    typed = connect(params, password, schema=True, raise_exceptions=False)
    verify = connect(params, password, read_only=True)
    try:
        assert raw.server.tls.validate == typed.server.tls.validate == ssl.CERT_REQUIRED
        with pytest.raises(LDAPNoSuchObjectResult):
            raw.search(missing, "(objectClass=*)", BASE)
        assert typed.search(missing, "(objectClass=*)", BASE) is False
        flt = "(sAMAccountName=svc-prov)"
        raw.search(lab_inventory.ad_base_dn, flt, attributes=["userAccountControl"])
        assert raw.response[0]["attributes"]["userAccountControl"] == ["66048"]  # no schema
        typed.search(lab_inventory.ad_base_dn, flt, attributes=["userAccountControl"])
        assert typed.response[0]["attributes"]["userAccountControl"] == 66048
        with pytest.raises(LDAPConnectionIsReadOnlyError):
            verify.delete(missing)  # ldap3 guards delete and modify (not add)
    finally:
        for conn in (raw, typed, verify):
            conn.unbind()
    with pytest.raises(LdapError, match=r"rejected the credentials .*: check "):
        connect(params, password + "x")


def _handshake(ca_file: Path, address: str, server_hostname: str) -> None:
    ctx = ssl.create_default_context(cafile=str(ca_file))
    with (
        socket.create_connection((address, lab_inventory_port := 636), timeout=5) as sock,
        ctx.wrap_socket(sock, server_hostname=server_hostname),
    ):
        assert lab_inventory_port


def test_certificate_names_the_dc_by_ip_and_dns_name_only(lab_inventory):
    _handshake(lab_inventory.ad_ca_file, lab_inventory.ad_server, lab_inventory.ad_server)
    _handshake(lab_inventory.ad_ca_file, lab_inventory.ad_server, "dc.lab.example.org")
    with pytest.raises(ssl.SSLCertVerificationError, match="match"):
        _handshake(lab_inventory.ad_ca_file, lab_inventory.ad_server, "wrong.lab.example.org")


# --- storage ---------------------------------------------------------------------------------
@pytest.fixture
def subvolume(lab_inventory):
    """A throwaway subvolume at the top of the lab file system (outside the roots that
    reconcilers sweep)."""
    path = lab_inventory.projects_root.parent / unique(".tre-lab-test-")
    subprocess.run(["btrfs", "subvolume", "create", str(path)], check=True, capture_output=True)
    yield path
    subprocess.run(["btrfs", "subvolume", "delete", str(path)], check=True, capture_output=True)


def test_write_past_qgroup_limit_fails(subvolume):
    subprocess.run(["btrfs", "qgroup", "limit", "2M", str(subvolume)], check=True)
    proc = subprocess.run(
        ["dd", "if=/dev/zero", f"of={subvolume}/big", "bs=1M", "count=16", "conv=fsync"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Disk quota exceeded" in proc.stderr


def test_posix_acl_is_read_back(subvolume):
    folder = subvolume / "shared"
    folder.mkdir(mode=0o770)
    subprocess.run(
        ["setfacl", "-m", "g:200123:rwX", "-m", "d:g:200123:rwX", str(folder)], check=True
    )
    out = subprocess.run(
        ["getfacl", "-n", "-p", str(folder)], capture_output=True, text=True, check=True
    ).stdout
    assert "group:200123:rwx" in out
    assert "default:group:200123:rwx" in out


def test_catalog_subjects_are_closed_to_others(lab_inventory):
    subjects = [p for p in lab_inventory.catalog_root.iterdir() if p.is_dir()]
    assert len(subjects) >= 10
    for folder in subjects:
        st = folder.stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, 0, 0o750)
        files = list(folder.iterdir())
        assert files and all(f.stat().st_mode & 0o777 == 0o640 for f in files)


# --- SMTP and SFTP ---------------------------------------------------------------------------
def test_mail_lands_in_the_maildir(lab_inventory):
    subject = unique("tre lab test ")
    msg = EmailMessage()
    msg["From"] = lab_inventory.smtp_from
    msg["To"] = "researcher@example.org"
    msg["Subject"] = subject
    msg.set_content("hello from the lab tests")
    with smtplib.SMTP(lab_inventory.smtp_host, lab_inventory.smtp_port, timeout=10) as s:
        s.send_message(msg)
    box = mailbox.Maildir(str(lab_inventory.lab_mail_dir), create=False)
    found = [key for key, m in box.items() if m["Subject"] == subject]
    assert len(found) == 1
    box.remove(found[0])


def test_sftp_upload_lands_in_the_inbox(lab_inventory):
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab_inventory.ossc_known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        lab_inventory.ossc_host, port=lab_inventory.ossc_port, username=lab_inventory.ossc_user,
        key_filename=str(lab_inventory.ossc_key_file), look_for_keys=False, allow_agent=False,
    )  # fmt: skip
    name = unique("handoff-") + ".txt"
    try:
        with client.open_sftp() as sftp:
            with sftp.open(f"{lab_inventory.ossc_inbox}/{name}", "w") as f:
                f.write(b"payload\n")
            assert name in sftp.listdir(lab_inventory.ossc_inbox)
        landed = lab_inventory.lab_dir / "ossc" / lab_inventory.ossc_inbox / name
        assert landed.read_bytes() == b"payload\n"
        landed.unlink()
    finally:
        client.close()


def test_sftp_refuses_an_unknown_host_key(lab_inventory, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    client = paramiko.SSHClient()
    client.load_host_keys(str(empty))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.SSHException):
        client.connect(
            lab_inventory.ossc_host, port=lab_inventory.ossc_port,
            username=lab_inventory.ossc_user, key_filename=str(lab_inventory.ossc_key_file),
            look_for_keys=False, allow_agent=False,
        )  # fmt: skip
    client.close()


# --- up / status / repair --------------------------------------------------------------------
def test_second_up_changes_nothing(lab_inventory):
    assert lab.up(lab_config(lab_inventory)).actions == []
    out = subprocess.run([TRE, "lab", "up"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out.startswith("nothing to do")


def test_status_exits_0_with_every_part_up(lab_inventory):
    proc = subprocess.run([TRE, "lab", "status", "--json"], cwd=REPO, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    parts = {p["part"]: p for p in json.loads(proc.stdout)}
    expected = {"ad", "storage", "smtp", "sftp", "archive", "postgres", "inventory"}
    assert expected <= set(parts), parts
    assert all(p["ok"] is True for p in parts.values()), parts


def test_up_restarts_a_killed_smtp_server(lab_inventory):
    cfg = lab_config(lab_inventory)
    lab.proc.stop_pid(smtp.pidfile(cfg))
    report = lab.up(cfg)
    assert len(report.actions) == 1 and "SMTP" in report.actions[0]
    assert smtp.answers()


def _lab_pids(cfg: LabConfig) -> set[int]:
    roots = {
        lab.proc.read_pid(p)
        for p in (
            ad.pidfile(cfg),
            smtp.pidfile(cfg),
            cfg.sshd_dir / "sshd.pid",
            postgres.data_dir(cfg) / "postmaster.pid",
        )
    }
    roots.discard(None)
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    pids, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in pids:
            pids.add(pid)
            todo.extend(children.get(pid, []))
    return pids


def test_nothing_of_the_lab_listens_off_loopback(lab_inventory):
    pids = _lab_pids(lab_config(lab_inventory))
    assert len(pids) >= 4
    out = subprocess.run(["ss", "-ltunpH"], capture_output=True, text=True, check=True).stdout
    seen = 0
    for line in out.splitlines():
        if not any(f"pid={p}," in line for p in pids):
            continue
        seen += 1
        local = line.split()[4].rsplit(":", 1)[0].strip("[]")
        assert ipaddress.ip_address(local.split("%")[0]).is_loopback, line
    assert seen >= 4
    assert lab_inventory.path == LAB_INVENTORY
