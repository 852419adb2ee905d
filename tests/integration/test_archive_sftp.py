"""The lab's archive host and the SFTP archive store against it (issue 11: the archive lives
on a separate host of group ``archive``, reached over SFTP).

- The host: key-only, SFTP-only, the account chrooted to the archive: it sees ``/archive`` and
  nothing else, cannot read or write outside it; an unknown host key or another key is
  refused before anything is sent. On disk the archive root is 0700, the account's.
- The store: a bag written through ``SftpArchiveStore`` (project folder 8201 on the test's own
  directory: no tre run needed) is the directory the archive host's local modules read at
  ``tre_archive_root`` (the same bytes, verified both ways: over SFTP and with the local
  ``tre_archive_bag.verify`` the purge runs on the archive host); files 0600, directories
  0700; a byte flipped on the archive host's disk fails the SFTP verification with one line;
  a name that is not UTF-8 round-trips; the root's mode and a bag file readable by others are
  corrected.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path

import paramiko
import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_archive_bag as bag_mod
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_check import (
    tighten,
    verify_store,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_sftp import (
    SftpArchiveStore,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import StoreError
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_walk import open_project

from tests.integration.helpers import lab_vars

pytestmark = pytest.mark.lab

PROJECT = "8201"


@pytest.fixture(scope="module")
def v(lab_inventory) -> dict:
    return lab_vars()


def _store(v: dict, **change) -> SftpArchiveStore:
    args = {
        "host": v["tre_archive_sftp_host"],
        "port": v["tre_archive_sftp_port"],
        "user": v["tre_archive_sftp_user"],
        "key_file": v["tre_archive_sftp_key_file"],
        "known_hosts": v["tre_archive_sftp_known_hosts"],
        "root": v["tre_archive_sftp_root"],
    }
    return SftpArchiveStore(**{**args, **change})


def _sftp(v: dict) -> paramiko.SFTPClient:
    return _store(v)._sftp


def test_the_archive_root_on_disk_is_the_accounts_and_0700(v):
    root = Path(v["tre_archive_root"])
    st = root.lstat()
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700
    assert st.st_uid == __import__("pwd").getpwnam(v["tre_archive_sftp_user"]).pw_uid
    chroot = root.parent.lstat()
    assert chroot.st_uid == 0 and stat.S_IMODE(chroot.st_mode) == 0o755
    assert [p.name for p in root.parent.iterdir()] == [root.name]


def test_the_account_sees_only_the_archive(v):
    sftp = _sftp(v)
    assert sftp.listdir("/") == [v["tre_archive_sftp_root"].strip("/")]
    assert sftp.normalize(".") == v["tre_archive_sftp_root"]
    assert sftp.normalize("/../..") == "/"
    for outside in ("/etc/passwd", "/../../etc/passwd", "/srv/tre/projects"):
        with pytest.raises(FileNotFoundError):
            sftp.stat(outside)
    with pytest.raises(PermissionError):
        sftp.mkdir("/escape")
    with pytest.raises(OSError):  # a link pointing out is only a name inside the chroot
        sftp.symlink("/etc/passwd", f"{v['tre_archive_sftp_root']}/.probe-link")
        sftp.open(f"{v['tre_archive_sftp_root']}/.probe-link").read()
    if (Path(v["tre_archive_root"]) / ".probe-link").is_symlink():
        os.unlink(Path(v["tre_archive_root"]) / ".probe-link")


def test_unknown_host_key_and_other_keys_are_refused(v, tmp_path):
    (tmp_path / "empty").write_text("")
    with pytest.raises(StoreError, match="host key unknown"):
        _store(v, known_hosts=str(tmp_path / "empty"))
    other = paramiko.Ed25519Key.from_private_key_file(v["tre_ossc_key_file"])
    assert other.get_base64() not in Path(v["tre_archive_sftp_key_file"] + ".pub").read_text()
    with pytest.raises(StoreError, match="authentication of tre-archive failed"):
        _store(v, key_file=v["tre_ossc_key_file"])
    client = paramiko.SSHClient()
    client.load_host_keys(v["tre_archive_sftp_known_hosts"])
    with pytest.raises(paramiko.SSHException):  # no password login, no shell
        client.connect(
            v["tre_archive_sftp_host"],
            port=v["tre_archive_sftp_port"],
            username=v["tre_archive_sftp_user"],
            password="anything",
            look_for_keys=False,
            allow_agent=False,
            timeout=5,
        )


def _project(tmp_path: Path) -> Path:
    top = tmp_path / "projects" / f"P{PROJECT}"
    (top / "archive" / "sub").mkdir(parents=True)
    (top / "OtherData").mkdir()
    with zipfile.ZipFile(top / "archive" / "prep.zip", "w") as z:
        z.writestr("volgend project/x.csv", "1\n")
    (top / "archive" / "sub" / "notities 100%.txt").write_text("café\n")
    (top / "OtherData" / os.fsdecode(b"bad-\xff.bin")).write_bytes(os.urandom(300_000))
    (top / "OtherData" / "leeg").write_bytes(b"")
    (top / "archive" / "link-out").symlink_to("/etc/passwd")
    return top


def _clean(v: dict) -> None:
    for name in (f"P{PROJECT}", f".incoming-P{PROJECT}"):
        shutil.rmtree(Path(v["tre_archive_root"]) / name, ignore_errors=True)


def test_a_bag_over_sftp_is_the_archive_hosts_local_bag(v, tmp_path):
    _clean(v)
    top = _project(tmp_path)
    store = _store(v)
    fd = open_project(str(tmp_path / "projects"), PROJECT)
    try:
        location = bag_mod.write_bag_to(store, fd, PROJECT, {"Project": PROJECT})
    finally:
        os.close(fd)
    host = v["tre_archive_sftp_host"]
    assert location == f"sftp://tre-archive@{host}:2222/archive/P{PROJECT}"
    on_disk = Path(v["tre_archive_root"]) / f"P{PROJECT}"
    assert store.is_complete(PROJECT) and bag_mod.is_complete(v["tre_archive_root"], PROJECT)
    for rel in ("archive/prep.zip", "archive/sub/notities 100%.txt", "OtherData/leeg"):
        assert (on_disk / "data" / rel).read_bytes() == (top / rel).read_bytes(), rel
    odd = os.fsdecode(b"OtherData/bad-\xff.bin")
    assert (on_disk / "data" / odd).read_bytes() == (top / odd).read_bytes()
    assert "archive/link-out\ta symbolic link" in (on_disk / "skipped.txt").read_text()
    assert "volgend project/x.csv" in (on_disk / "volgend-project.txt").read_text()
    user = __import__("pwd").getpwnam(v["tre_archive_sftp_user"]).pw_uid
    for path in [on_disk, *on_disk.rglob("*")]:
        st = path.lstat()
        want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        assert (stat.S_IMODE(st.st_mode), st.st_uid) == (want, user), path
    over_sftp, local = verify_store(store, PROJECT), bag_mod.verify(v["tre_archive_root"], PROJECT)
    assert over_sftp.manifest_sha256 == local.manifest_sha256
    assert (
        (over_sftp.files, over_sftp.bytes, over_sftp.follow_up, over_sftp.skipped)
        == (
            local.files,
            local.bytes,
            1,
            1,
        )
        == (4, local.bytes, 1, 1)
    )
    with pytest.raises(bag_mod.ArchiveError, match="not a complete archive"):
        bag_mod.write_bag_to(store, os.open(top, os.O_RDONLY), PROJECT, {})

    victim = on_disk / "data" / odd
    data = bytearray(victim.read_bytes())
    data[1000] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(bag_mod.ArchiveError) as failed:
        verify_store(store, PROJECT)
    line = str(failed.value)
    assert line.startswith(f"archive of P{PROJECT} at sftp://") and "\n" not in line
    assert "1 of 4 file(s) differ from the manifest (first: data/OtherData/bad-%FF.bin)" in line
    _clean(v)


def test_root_mode_and_readable_bag_files_are_corrected(v, tmp_path):
    _clean(v)
    _project(tmp_path)
    store = _store(v)
    root = Path(v["tre_archive_root"])
    fd = open_project(str(tmp_path / "projects"), PROJECT)
    try:
        bag_mod.write_bag_to(store, fd, PROJECT, {})
    finally:
        os.close(fd)
    readable = root / f"P{PROJECT}" / "bag-info.txt"
    os.chmod(readable, 0o644)
    os.chmod(root / f"P{PROJECT}" / "data", 0o755)
    assert tighten(store, PROJECT) == 2
    assert stat.S_IMODE(readable.stat().st_mode) == 0o600
    assert tighten(store, PROJECT) == 0
    os.chmod(root, 0o755)
    try:
        assert store.prepare_root(fix=False).endswith("was 0755; to be set to 0700")
        assert stat.S_IMODE(root.stat().st_mode) == 0o755
        assert store.prepare_root() == (f"archive root {store.root} was 0755; set to 0700")
    finally:
        os.chmod(root, 0o700)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700 and store.prepare_root() is None
    _clean(v)
