"""The lab's own CA and the DC's server certificate (subjectAltName: its IP and DNS name)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .config import AD_ADDRESS, DC_FQDN, LabConfig
from .proc import Report

VALID_DAYS = 3650


def server_cert(cfg: LabConfig) -> Path:
    return cfg.ca_dir / "dc.pem"


def server_key(cfg: LabConfig) -> Path:
    return cfg.ca_dir / "dc.key"


def ensure(cfg: LabConfig, report: Report) -> bool:
    """Create the CA and the DC certificate unless both exist; True if they were (re)made."""
    ca_key_path = cfg.ca_dir / "ca.key"
    if all(p.exists() for p in (cfg.ca_file, ca_key_path, server_cert(cfg), server_key(cfg))):
        return False
    cfg.ca_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    until = now + dt.timedelta(days=VALID_DAYS)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tre lab CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DC_FQDN)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(DC_FQDN), x509.IPAddress(ipaddress.ip_address(AD_ADDRESS))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    _write_key(ca_key_path, ca_key)
    _write_key(server_key(cfg), key)
    cfg.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    server_cert(cfg).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    report.did(
        f"created the lab CA {cfg.ca_file} and the DC certificate for {DC_FQDN}, {AD_ADDRESS}"
    )
    return True


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    # Samba refuses a key file readable by others: 0600, owned by root.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    os.chmod(path, 0o600)
