"""tre_ossc_handoff through real Ansible runs against the lab's OSSC gateway (SFTP on
127.0.10.3:2222): the manifest arrives once, parses, its checksum matches; a wrong or unknown
host key fails with one clear line and uploads nothing.

For development without the lab set ``TRE_TEST_OSSC`` to a JSON object with the keys
host, port, user, key_file, known_hosts, inbox. Project 6102; its manifests are removed after.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import paramiko
import pytest
from ansible_collections.tre.secenv.plugins.module_utils.tre_ossc_manifest import verify
from tre_storage_runner import local_inventory, run_playbook

pytestmark = pytest.mark.lab

REVISION = "6102" + "ab" * 30
OTHER_REVISION = "6102" + "cd" * 30


def desired(revision: str) -> dict:
    return {
        "today": "2026-11-27",
        "projects": [
            {
                "project": "6102",
                "ossc": {
                    "researchers": [
                        {"person": "jdevries", "name": "Jan de Vries", "email": "j.devries@uu.nl"},
                        {"person": "aamber", "name": "Anna Ämber", "email": "a.amber@vu.nl"},
                    ],
                    "start": "2026-09-01",
                    "end": "2027-08-31",
                    "destruction_deadline": "2027-09-10",
                    "revision": revision,
                },
            }
        ],
    }


@pytest.fixture(scope="module")
def gateway(request) -> dict:
    dev = os.environ.get("TRE_TEST_OSSC")
    if dev:
        settings = json.loads(dev)
    else:
        inv = request.getfixturevalue("lab_inventory")
        settings = {
            "host": inv.ossc_host,
            "port": inv.ossc_port,
            "user": inv.ossc_user,
            "key_file": str(inv.ossc_key_file),
            "known_hosts": str(inv.ossc_known_hosts),
            "inbox": inv.ossc_inbox,
        }
    yield settings
    with _sftp(settings) as sftp:
        for name in sftp.listdir(settings["inbox"]):
            if "P6102-" in name:
                sftp.remove(f"{settings['inbox']}/{name}")


class _sftp:
    def __init__(self, settings: dict) -> None:
        self.client = paramiko.SSHClient()
        self.client.load_host_keys(settings["known_hosts"])
        self.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        self.client.connect(
            settings["host"],
            port=int(settings["port"]),
            username=settings["user"],
            key_filename=settings["key_file"],
            allow_agent=False,
            look_for_keys=False,
        )

    def __enter__(self) -> paramiko.SFTPClient:
        return self.client.open_sftp()

    def __exit__(self, *exc) -> None:
        self.client.close()


def _run(settings: dict, revision: str, check: bool = False, **override) -> tuple[str, dict]:
    extravars = {f"tre_ossc_{k}": v for k, v in {**settings, **override}.items()}
    extravars.update(tre_desired=desired(revision), tre_check=check)
    status, result, _ = run_playbook("ossc_handoff.yml", extravars, local_inventory("ossc"))
    return status, result


def _ours(settings: dict) -> list[str]:
    with _sftp(settings) as sftp:
        return sorted(n for n in sftp.listdir(settings["inbox"]) if "P6102-" in n)


def test_manifest_arrives_once_and_verifies(gateway: dict) -> None:
    status, result = _run(gateway, REVISION, check=True)
    assert status == "successful" and result["changed"]
    assert [c["kind"] for c in result["changes"]] == ["ossc"]
    assert _ours(gateway) == []  # check mode uploaded nothing
    status, result = _run(gateway, REVISION)
    assert status == "successful" and result["changed"], result.get("msg")
    (change,) = result["changes"]
    assert change["op"] == "handoff" and change["project"] == "6102"
    status, again = _run(gateway, REVISION)
    assert status == "successful" and not again["changed"] and again["changes"] == []
    names = _ours(gateway)
    assert names == [f"P6102-{REVISION[:16]}.json"]  # once, no temporary file left
    with _sftp(gateway) as sftp, sftp.open(change["path"], "rb") as handle:
        body = verify(handle.read())
    assert body["purpose"] == "OSSC" and body["project"] == "6102"
    assert body["contract_revision"] == REVISION
    assert {r["email"] for r in body["researchers"]} == {"j.devries@uu.nl", "a.amber@vu.nl"}
    assert body["period"] == {"start": "2026-09-01", "end": "2027-08-31"}
    assert body["destruction_deadline"] == "2027-09-10"
    assert result["manifests"]["6102"]["checksum"] == change["after"]["checksum"]


@pytest.mark.parametrize("case", ["wrong", "unknown"])
def test_bad_host_key_fails_and_uploads_nothing(gateway: dict, tmp_path: Path, case: str) -> None:
    known = tmp_path / "known_hosts"
    if case == "wrong":
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")],
            check=True,
        )
        key = (tmp_path / "other.pub").read_text().split()[:2]
        known.write_text(f"[{gateway['host']}]:{gateway['port']} {' '.join(key)}\n")
    else:
        known.write_text("")
    status, result = _run(gateway, OTHER_REVISION, known_hosts=str(known))
    assert status == "failed"
    message = result["msg"]
    assert "\n" not in message and f"{gateway['host']}:{gateway['port']}" in message
    assert ("does not match" if case == "wrong" else "host key unknown") in message
    assert result["changes"] == []
    assert not [n for n in _ours(gateway) if OTHER_REVISION[:16] in n]
