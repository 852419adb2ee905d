"""Benchmark: archive + verify of a 2 GB project folder (tre_archive's own code) next to
``tar -cf`` and ``sha256sum`` of the same files, in the same run. Not a timed test: run it by
hand as root (it makes and mounts its own btrfs image, so the shared lab's 4 GB file system
is never filled):

    . .venv/bin/activate && python bench/bench_archive.py [--gb 2] [--rounds 3] \
        [--transport local|sftp|both]

Per round, each side starts with the source's pages dropped (``POSIX_FADV_DONTNEED`` on every
file): tre copies and hashes in one pass, ``syncfs``, writes the manifests, renames the bag,
then reads it back from disk (its pages dropped too) against the manifest; the reference is
``tar -cf`` of ``archive/`` and ``OtherData/`` plus ``sync -f`` (an archive only in the page
cache is not an archive; the time without the sync is printed too), then ``sha256sum`` of the
same files. Ratio = (tar + sync + sha256sum) / (tre archive + verify); target >= 0.8.

``--transport sftp``: tre writes and reads the bag back over SFTP on loopback, as the file
server does to the archive host: the bench starts an sshd of its own on 127.0.10.7:2222 (the
lab's ``tre-archive`` account, chrooted to the bench image's ``archive-host/``, a throwaway key
pair and host key checked against a known_hosts file), so the lab's archive host and its file
system are never touched. The read-back then comes over the connection (from the archive
side's page cache: SFTP cannot drop it); the reference is the same local tar + sha256sum.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "playbooks" / "collections"))
from ansible_collections.tre.secenv.plugins.module_utils import tre_archive_bag as bag  # noqa: E402
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_check import (  # noqa: E402
    verify_store,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_sftp import (  # noqa: E402
    SftpArchiveStore,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_walk import (  # noqa: E402
    open_project,
)

MB = 1 << 20


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def make_project(top: Path, total: int) -> list[Path]:
    """Two prepared zips (40 %) in archive/, 200 files in OtherData/ (60 %), random bytes."""
    for sub in ("archive", "OtherData", "export"):
        (top / sub).mkdir(parents=True)
    files = [top / "archive" / "resultaten-1.zip", top / "archive" / "resultaten-2.zip"]
    sizes = [total // 5, total // 5]
    files += [top / "OtherData" / f"tabel-{i:03d}.csv" for i in range(200)]
    sizes += [(total - sum(sizes)) // 200] * 200
    for path, size in zip(files, sizes, strict=True):
        with open(path, "wb") as out:
            for left in range(size, 0, -8 * MB):
                out.write(os.urandom(min(8 * MB, left)))
    run("sync")
    return files


def evict(paths: list[Path]) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


SFTP_ADDRESS, SFTP_PORT, SFTP_USER = "127.0.10.7", 2222, "tre-archive"


def tre_round(
    projects: Path, archive: Path, files: list[Path], sftp: dict | None = None
) -> tuple[float, float]:
    evict(files)
    began = time.perf_counter()
    store = SftpArchiveStore(**sftp) if sftp else None
    fd = open_project(str(projects), "7849")
    try:
        if store is not None:
            bag.write_bag_to(store, fd, "7849", {"Project": "7849"})
        else:
            bag.write_bag(fd, str(archive), "7849", {"Project": "7849"})
    finally:
        os.close(fd)
    copied = time.perf_counter()
    result = verify_store(store, "7849") if store else bag.verify(str(archive), "7849")
    verified = time.perf_counter()
    assert result.files == len(files)
    if store is not None:
        store.close()
    shutil.rmtree(archive / "P7849")
    return copied - began, verified - copied


def start_sshd(work: Path, mount: Path) -> tuple[subprocess.Popen, dict, Path]:
    """An sshd like the lab's archive host, chrooted to ``<mount>/archive-host``."""
    import pwd

    user = pwd.getpwnam(SFTP_USER)  # made by `tre lab up`
    chroot, archive = mount / "archive-host", mount / "archive-host" / "archive"
    archive.mkdir(parents=True)
    os.chmod(chroot, 0o755)
    os.chown(archive, user.pw_uid, user.pw_gid)
    os.chmod(archive, 0o700)
    # not under /var/tmp (world-writable): sshd's StrictModes would refuse the key file
    keys = Path(tempfile.mkdtemp(prefix="tre-bench-sshd-", dir="/run"))
    os.chmod(keys, 0o755)
    (keys / "authorized").mkdir()
    for name in ("host_key", "client_key"):
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name))
    pub = (keys / "client_key.pub").read_text().strip()
    (keys / "authorized" / SFTP_USER).write_text(f"restrict {pub}\n")
    host_pub = (keys / "host_key.pub").read_text().split()[:2]
    (keys / "known_hosts").write_text(f"[{SFTP_ADDRESS}]:{SFTP_PORT} {' '.join(host_pub)}\n")
    (keys / "sshd_config").write_text(
        f"ListenAddress {SFTP_ADDRESS}:{SFTP_PORT}\nHostKey {keys / 'host_key'}\n"
        f"PidFile {keys / 'sshd.pid'}\nAuthorizedKeysFile {keys}/authorized/%u\n"
        f"AllowUsers {SFTP_USER}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        f"UsePAM no\nPermitTTY no\nChrootDirectory {chroot}\nSubsystem sftp internal-sftp\n"
        "ForceCommand internal-sftp -d /archive -u 0077\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    sshd = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-f", str(keys / "sshd_config"), "-E", str(work / "sshd.log")]
    )
    for _ in range(50):
        if subprocess.run(["ss", "-ltn", f"src {SFTP_ADDRESS}:{SFTP_PORT}"],
                          capture_output=True, text=True).stdout.count("LISTEN"):  # fmt: skip
            break
        time.sleep(0.1)
    params = {
        "host": SFTP_ADDRESS,
        "port": SFTP_PORT,
        "user": SFTP_USER,
        "key_file": str(keys / "client_key"),
        "known_hosts": str(keys / "known_hosts"),
        "root": "/archive",
    }
    return sshd, params, archive


def reference_round(top: Path, archive: Path, files: list[Path]) -> tuple[float, float, float]:
    evict(files)
    began = time.perf_counter()
    run("tar", "-cf", str(archive / "P7849.tar"), "-C", str(top), "archive", "OtherData")
    tarred = time.perf_counter()
    run("sync", "-f", str(archive / "P7849.tar"))
    synced = time.perf_counter()
    evict(files)
    hashed_from = time.perf_counter()
    subprocess.run(["sha256sum", *map(str, files)], check=True, stdout=subprocess.DEVNULL)
    hashed = time.perf_counter()
    os.unlink(archive / "P7849.tar")
    return tarred - began, synced - tarred, hashed - hashed_from


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0, help="project folder size (10^9 bytes)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", default="/var/tmp", help="where the btrfs image goes")
    parser.add_argument("--transport", choices=["local", "sftp", "both"], default="local")
    args = parser.parse_args()
    total = int(args.gb * 10**9)
    work = Path(tempfile.mkdtemp(prefix="tre-bench-archive-", dir=args.workdir))
    image = work / "btrfs.img"
    # sshd's ChrootDirectory wants every component root-owned and not world-writable:
    # the mount point is not under /var/tmp
    mount = Path(tempfile.mkdtemp(prefix="tre-bench-mnt-", dir="/run"))
    os.chmod(mount, 0o755)
    with open(image, "wb") as handle:
        handle.truncate(int(total * 2.6) + 512 * MB)
    run("mkfs.btrfs", "-q", str(image))
    run("mount", "-o", "loop", str(image), str(mount))
    sshd = None
    try:
        projects, archive = mount / "projects", mount / "archive"
        archive.mkdir(mode=0o700)
        files = make_project(projects / "P7849", total)
        size = sum(p.stat().st_size for p in files)
        print(f"project folder: {len(files)} files, {size / 1e9:.2f} GB (btrfs on {image})")
        sides: list[tuple[str, Path, dict | None]] = []
        if args.transport in ("local", "both"):
            sides.append(("local", archive, None))
        if args.transport in ("sftp", "both"):
            sshd, params, remote = start_sshd(work, mount)
            sides.append((f"sftp {SFTP_ADDRESS}:{SFTP_PORT}", remote, params))
        for n, (label, root, params) in (
            (n, side) for n in range(1, args.rounds + 1) for side in sides
        ):
            copy, check = tre_round(projects, root, files, params)
            tar, sync, sha = reference_round(projects / "P7849", archive, files)
            ours, theirs = copy + check, tar + sync + sha
            print(
                f"round {n} ({label}): tre archive {copy:.1f} s + verify {check:.1f} s ="
                f" {size / ours / 1e6:.0f} MB/s | tar {tar:.1f} s + sync {sync:.1f} s +"
                f" sha256sum {sha:.1f} s = {size / theirs / 1e6:.0f} MB/s"
                f" (without sync {size / (tar + sha) / 1e6:.0f} MB/s) | ratio {theirs / ours:.2f}"
                f" (without sync {(tar + sha) / ours:.2f})"
            )
    finally:
        if sshd is not None:
            sshd.terminate()
            sshd.wait(timeout=10)
            shutil.rmtree(Path(params["key_file"]).parent, ignore_errors=True)
        subprocess.run(["umount", str(mount)], check=False)
        if not os.path.ismount(mount):
            mount.rmdir()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
