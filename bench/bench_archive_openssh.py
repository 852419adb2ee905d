"""Benchmark (prototype, not the module's code): the bulk transfer of the archive bag through
OpenSSH's ``sftp -b`` client against tre's paramiko writer and reader, same files, same run.

    . .venv/bin/activate && python bench/bench_archive_openssh.py [--gb 2] [--rounds 2]

Uses bench_archive.py's btrfs image, project folder and throwaway sshd (127.0.10.7:2222).
Per round, source pages dropped before each side:

- ``tre``: tre_archive's own archive + verify over SFTP (paramiko), as bench_archive.py;
- ``openssh put``: the destination files created exclusively at 0600 by paramiko, each
  source opened ``O_NOFOLLOW`` and hashed (SHA-256, one read: the page cache then serves the
  client), then ONE ``sftp -b`` process ``put -f /dev/fd/N <dest>`` for every file (fds
  inherited through ``pass_fds``; ``-f``: fsync@openssh.com), then the (ino, size, mtime)
  of each source compared with what it was before;
- the read-back stays paramiko's pipelined reader (``verify_store``): OpenSSH's ``get``
  cannot write into a pipe (``local ftruncate "/dev/fd/4": Invalid argument``, ``write
  local: Illegal seek``: it writes at offsets), and the verification must hash the bytes
  read back from the archive host, not a local copy.

Printed: each phase in s and the ratio (tar + sync + sha256sum) / (transfer + read-back)
the put with paramiko's read-back would give (target >= 0.8, issue 11).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_archive as ba  # noqa: E402

CHUNK = 1 << 20
TUNING = {"buffer": 0, "requests": 64}  # -B 0: OpenSSH's default (32 KiB)
CIPHERS = "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr"


def sftp_argv(p: dict) -> list[str]:
    tuning = ["-B", str(TUNING["buffer"]), "-R", str(TUNING["requests"])]
    return [
        "sftp", *tuning[: 4 if TUNING["buffer"] else 0], "-q", "-b", "-",
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={p['known_hosts']}", "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none", "-o", f"Ciphers={CIPHERS}", "-i", p["key_file"],
        "-P", str(p["port"]), f"{p['user']}@{p['host']}",
    ]  # fmt: skip


def openssh_put(p: dict, files: list[Path]) -> tuple[float, float, float, list[str], list[str]]:
    """Destination names are plain (``f000``...): no quoting question in this prototype."""
    store = ba.SftpArchiveStore(**p)
    began = time.perf_counter()
    store.mkdir("P7849-openssh")
    dests = []
    for i, _ in enumerate(files):
        name = f"P7849-openssh/f{i:03d}"
        store.open_write(name).close()  # exclusive, 0600, empty
        dests.append(name)
    created = time.perf_counter()
    fds: list[int] = []
    before, digests = [], []
    try:
        _hash_and_put(p, files, dests, fds, before, digests)
    finally:
        for fd in fds:
            os.close(fd)
    put = time.perf_counter()
    for d, path in zip(dests, files, strict=True):
        st = store._sftp.stat(store._path(d))  # noqa: SLF001
        assert st.st_size == path.stat().st_size and st.st_mode & 0o777 == 0o600, d
    store.close()
    return created - began, HASHED[0] - created, put - HASHED[0], digests, dests


HASHED = [0.0]


def _hash_and_put(p, files, dests, fds, before, digests) -> None:
    for path in files:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        st = os.fstat(fd)
        h = hashlib.sha256()
        while chunk := os.read(fd, CHUNK):
            h.update(chunk)
        digests.append(h.hexdigest())
        fds.append(fd)
        before.append((st.st_ino, st.st_size, st.st_mtime_ns))
    HASHED[0] = time.perf_counter()
    batch = "".join(f"put -f /dev/fd/{fd} /archive/{d}\n" for fd, d in zip(fds, dests, strict=True))
    for fd in fds:
        os.lseek(fd, 0, os.SEEK_SET)
    subprocess.run(sftp_argv(p), input=batch.encode(), check=True, pass_fds=fds,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    for fd, was in zip(fds, before, strict=True):
        st = os.fstat(fd)
        assert (st.st_ino, st.st_size, st.st_mtime_ns) == was


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", default="/var/tmp")
    parser.add_argument("--buffer", type=int, default=0, help="sftp -B (bytes per request)")
    parser.add_argument("--requests", type=int, default=64, help="sftp -R (in flight)")
    args = parser.parse_args()
    TUNING.update(buffer=args.buffer, requests=args.requests)
    total = int(args.gb * 10**9)
    work = Path(tempfile.mkdtemp(prefix="tre-bench-ossh-", dir=args.workdir))
    image = work / "btrfs.img"
    mount = Path(tempfile.mkdtemp(prefix="tre-bench-mnt-", dir="/run"))
    os.chmod(mount, 0o755)
    with open(image, "wb") as handle:
        handle.truncate(int(total * 3.6) + 512 * ba.MB)
    ba.run("mkfs.btrfs", "-q", str(image))
    ba.run("mount", "-o", "loop", str(image), str(mount))
    sshd = None
    try:
        projects, archive = mount / "projects", mount / "archive"
        archive.mkdir(mode=0o700)
        files = ba.make_project(projects / "P7849", total)
        size = sum(p.stat().st_size for p in files)
        print(f"project folder: {len(files)} files, {size / 1e9:.2f} GB; sftp: {os.uname()[1]}")
        sshd, params, remote = ba.start_sshd(work, mount)
        for n in range(1, args.rounds + 1):
            copy, check = ba.tre_round(projects, remote, files, params)
            ba.evict(files)
            create, hashing, put, digests, dests = openssh_put(params, files)
            shutil.rmtree(remote / "P7849-openssh")
            tar, sync, sha = ba.reference_round(projects / "P7849", archive, files)
            ref = tar + sync + sha
            ossh_copy = create + hashing + put
            print(
                f"round {n}: reference tar+sync+sha256sum {ref:.1f} s | paramiko: archive"
                f" {copy:.1f} s verify {check:.1f} s ratio {ref / (copy + check):.2f} |"
                f" openssh put: create {create:.1f} s + hash {hashing:.1f} s + put {put:.1f} s"
                f" = {ossh_copy:.1f} s ({size / put / 1e6:.0f} MB/s on the wire) | ratio"
                f" openssh put + paramiko verify {ref / (ossh_copy + check):.2f}"
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
