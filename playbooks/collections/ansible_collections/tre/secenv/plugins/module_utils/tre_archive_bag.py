"""A project's archive as a BagIt-like bag under the archive root, written and read back.

Layout of ``<archive_root>/P<nr>/`` (docs/storage.md, "Archive"):

- ``data/archive/...``, ``data/OtherData/...``: the archived files, byte for byte (mode 0600,
  their modification time kept; empty directories are not kept);
- ``bagit.txt``; ``bag-info.txt``: project, start, end, archived on, ``Payload-Oxum``
  (bytes.files), the bytes of ``archive/`` and its size in whole GB (rounded up), skipped
  paths, hard-linked files, ``volgend project`` entries;
- ``skipped.txt``: paths not archived and why (a symbolic link, a FIFO, ...);
- ``volgend-project.txt``: per zip in ``archive/`` the entries of its top-level
  ``volgend project/`` folder (zip listing only, never extracted);
- ``manifest-sha256.txt``: ``<sha256>  data/<path>`` for every archived file, written after
  every file is on disk; ``tagmanifest-sha256.txt``: the same for the tag files, written last.

Paths in the manifests are UTF-8; ``%``, CR and LF are percent-encoded (BagIt), and a name
that is not UTF-8 has every byte >= 0x80 percent-encoded too, so every name round-trips.

The bag is written into ``<archive_root>/.incoming-P<nr>`` (a leftover of a killed run is
removed first: it was never complete) and renamed to ``P<nr>`` once synced, so ``P<nr>``
exists only complete. ``verify`` reads every file back from disk (its cached pages dropped
first) and compares the set of files and every digest with the manifest.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import math
import os
import shutil
import stat
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_walk import walk

CHUNK = 4 << 20
GB = 10**9
FOLLOW_UP = "volgend project/"
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"
TAG_FILES = ("bagit.txt", "bag-info.txt", "skipped.txt", "volgend-project.txt", MANIFEST)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class ArchiveError(Exception):
    """An archive could not be written or did not verify; the message is one line."""


@dataclass(frozen=True)
class Bag:
    location: str
    files: int
    bytes: int
    archive_bytes: int  # the prepared zips: what ``size_gb`` measures
    manifest_sha256: str
    follow_up: int = 0
    skipped: int = 0

    @property
    def size_gb(self) -> int:
        return size_gb(self.archive_bytes)

    def summary(self) -> dict:
        return {
            "location": self.location,
            "files": self.files,
            "bytes": self.bytes,
            "size_gb": self.size_gb,
            "manifest_sha256": self.manifest_sha256,
            "follow_up_entries": self.follow_up,
            "skipped": self.skipped,
        }


def size_gb(archive_bytes: int) -> int:
    """The prepared zips' size in whole GB (10^9 bytes), rounded up (billing)."""
    return math.ceil(archive_bytes / GB)


def encode_path(rel: str) -> str:
    raw = os.fsencode(rel)
    try:
        raw.decode("utf-8")
        keep = lambda b: b not in b"%\r\n"  # noqa: E731
    except UnicodeDecodeError:
        keep = lambda b: b not in b"%\r\n" and b < 0x80  # noqa: E731
    return (
        "".join(chr(b) if keep(b) else f"%{b:02X}" for b in raw)
        .encode("latin-1")
        .decode("utf-8", "surrogateescape")
    )


def decode_path(text: str) -> str:
    """The relative path a manifest line names (inverse of ``encode_path``)."""
    out = bytearray()
    raw = text.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(raw):
        if raw[i : i + 1] == b"%" and i + 3 <= len(raw):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return os.fsdecode(bytes(out))


def final_dir(archive_root: str, project: str) -> str:
    return os.path.join(archive_root, f"P{project}")


def staging_dir(archive_root: str, project: str) -> str:
    return os.path.join(archive_root, f".incoming-P{project}")


def is_complete(archive_root: str, project: str) -> bool:
    """Whether ``P<nr>`` exists as a directory (not a link) holding its tag manifest."""
    path = final_dir(archive_root, project)
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise ArchiveError(f"{path} is not a directory; refused")
        return stat.S_ISREG(os.lstat(os.path.join(path, TAGMANIFEST)).st_mode)
    except FileNotFoundError:
        return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_file(directory: str, name: str, text: str) -> bytes:
    data = text.encode("utf-8", "surrogateescape")
    fd = os.open(os.path.join(directory, name), _NEW_FLAGS, 0o600)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return data


def _syncfs(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syncfs(fd) != 0:
        raise OSError(ctypes.get_errno(), "syncfs failed")


def _hash_while(read: Callable[[], bytes], use: Callable[[bytes], object] | None) -> tuple:
    """SHA-256 of the chunks ``read`` returns (until ``b""``), hashing chunk n in a second
    thread while chunk n is used (written) and chunk n+1 read: hashlib and the system calls
    release the GIL, so the hashing costs next to no wall time on two cores."""
    digest = hashlib.sha256()
    size = 0
    with ThreadPoolExecutor(max_workers=1) as hasher:
        pending = None
        while chunk := read():
            if pending is not None:
                pending.result()
            pending = hasher.submit(digest.update, chunk)
            if use is not None:
                use(chunk)
            size += len(chunk)
        if pending is not None:
            pending.result()
    return digest.hexdigest(), size


def _copier(data_dir: str, digests: dict[str, str]):
    def copy(rel: str, src: int, st: os.stat_result) -> int:
        target = os.path.join(data_dir, rel)
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        out = os.open(target, _NEW_FLAGS, 0o600)
        try:
            digests[rel], copied = _hash_while(
                lambda: os.read(src, CHUNK), lambda chunk: _write_all(out, chunk)
            )
            os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(out)
        return copied

    return copy


def follow_up_entries(data_dir: str, files: list[tuple[str, int]]) -> list[tuple[str, str, int]]:
    """(zip, entry, size) of every ``volgend project/`` entry of the zips in ``archive/``.

    Read from the archived copies (ours), listing only; a file that is not a readable zip is
    listed as such with entry ``""``.
    """
    found = []
    for rel, _size in files:
        if not (rel.startswith("archive/") and rel.lower().endswith(".zip")):
            continue
        try:
            with zipfile.ZipFile(os.path.join(data_dir, rel)) as zipped:
                for info in zipped.infolist():
                    if info.filename.startswith(FOLLOW_UP) and info.filename != FOLLOW_UP:
                        found.append((rel, info.filename, info.file_size))
        except (zipfile.BadZipFile, OSError, ValueError):
            found.append((rel, "", -1))
    return found


def write_bag(
    project_fd: int,
    archive_root: str,
    project: str,
    info: dict[str, str],
    copied: Callable[[], None] | None = None,
) -> str:
    """Copy the selection into a new bag and make it ``P<nr>``; returns its location.

    ``copied`` is called once every file is copied and synced, before any manifest (tests).
    """
    final, stage = final_dir(archive_root, project), staging_dir(archive_root, project)
    if os.path.lexists(final):
        raise ArchiveError(f"{final} exists but is not a complete archive; refused")
    if os.path.lexists(stage):
        shutil.rmtree(stage)  # never complete (no rename): a killed run's leftover
    os.mkdir(stage, 0o700)
    data_dir = os.path.join(stage, "data")
    os.mkdir(data_dir, 0o700)
    digests: dict[str, str] = {}
    walked = walk(project_fd, _copier(data_dir, digests))
    follow = follow_up_entries(data_dir, walked.files)
    fd = os.open(stage, _DIR_FLAGS)
    try:
        _syncfs(fd)  # every archived byte on disk before the manifest names it
    finally:
        os.close(fd)
    if copied is not None:
        copied()
    archive_bytes = walked.bytes_under("archive")
    fields = {
        "External-Identifier": f"P{project}",
        **info,
        "Bagging-Date": datetime.now(UTC).date().isoformat(),
        "Payload-Oxum": f"{walked.bytes}.{len(walked.files)}",
        "Archive-Bytes": str(archive_bytes),
        "Archive-Size-GB": str(size_gb(archive_bytes)),
        "OtherData-Bytes": str(walked.bytes_under("OtherData")),
        "Skipped-Paths": str(len(walked.skipped)),
        "Hard-Linked-Files": str(walked.hard_linked),
        "Volgend-Project-Entries": str(sum(1 for f in follow if f[1])),
        "Bag-Software-Agent": "tre.secenv.tre_archive",
    }
    tags = {
        "bagit.txt": "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        "bag-info.txt": "".join(f"{k}: {v}\n" for k, v in fields.items()),
        "skipped.txt": "".join(f"{encode_path(p)}\t{why}\n" for p, why in walked.skipped),
        "volgend-project.txt": "".join(
            f"{encode_path(z)}\t{encode_path(e) if e else '(not a readable zip)'}\t{n}\n"
            for z, e, n in follow
        ),
        MANIFEST: "".join(
            f"{digests[rel]}  data/{encode_path(rel)}\n" for rel, _ in sorted(walked.files)
        ),
    }
    tag_digests = {
        name: hashlib.sha256(_write_file(stage, name, tags[name])).hexdigest() for name in TAG_FILES
    }
    _write_file(stage, TAGMANIFEST, "".join(f"{d}  {n}\n" for n, d in tag_digests.items()))
    _fsync_dir(stage)
    os.rename(stage, final)
    _fsync_dir(archive_root)
    return final


def _fsync_dir(path: str) -> None:
    fd = os.open(path, _DIR_FLAGS)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_digest(path: str, drop_cache: bool = True) -> tuple[str, int]:
    fd = os.open(path, _READ_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ArchiveError(f"{path} is not a regular file")
        if drop_cache:  # read back from the disk, not from the pages just written
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return _hash_while(lambda: os.read(fd, CHUNK), None)
    finally:
        os.close(fd)


def _manifest(path: str) -> tuple[bytes, dict[str, str]]:
    fd = os.open(path, _READ_FLAGS)
    try:
        raw = b"".join(iter(lambda: os.read(fd, CHUNK), b""))
    finally:
        os.close(fd)
    entries: dict[str, str] = {}
    for line in raw.decode("utf-8", "surrogateescape").splitlines():
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise ArchiveError(f"{path}: a line is not '<sha256>  <path>'")
        entries[decode_path(name)] = digest
    return raw, entries


def _payload(data_dir: str) -> list[str]:
    """Every regular file below ``data/`` (relative to the bag); anything else refuses."""
    found: list[str] = []
    if stat.S_ISLNK(os.lstat(data_dir).st_mode):
        raise ArchiveError(f"{data_dir} is a symbolic link; refused")
    for top, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            path = os.path.join(top, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                raise ArchiveError(f"{path} is not a regular file or directory; refused")
        found += [os.path.relpath(os.path.join(top, n), os.path.dirname(data_dir)) for n in files]
    return found


def verify(archive_root: str, project: str) -> Bag:
    """Read the bag back and compare it with its manifests; ``ArchiveError`` on a mismatch."""
    bag = final_dir(archive_root, project)
    where = f"archive of P{project} at {bag}"
    try:
        _tag_raw, tags = _manifest(os.path.join(bag, TAGMANIFEST))
        for name, expected in tags.items():
            if _read_digest(os.path.join(bag, name))[0] != expected:
                raise ArchiveError(f"{where}: {name} does not match {TAGMANIFEST}")
        raw, entries = _manifest(os.path.join(bag, MANIFEST))
        present = set(_payload(os.path.join(bag, "data")))
        listed = set(entries)
        if present != listed:
            missing, extra = len(listed - present), len(present - listed)
            raise ArchiveError(
                f"{where}: {missing} file(s) of the manifest missing, {extra} not in it"
            )
        total = archive_bytes = 0
        bad = []
        for rel in sorted(listed):
            digest, size = _read_digest(os.path.join(bag, rel))
            total += size
            archive_bytes += size if rel.startswith("data/archive/") else 0
            if digest != entries[rel]:
                bad.append(rel)
        if bad:
            raise ArchiveError(
                f"{where}: {len(bad)} of {len(listed)} file(s) differ from the manifest"
                f" (first: {encode_path(bad[0])})"
            )
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ArchiveError(f"{where}: a symbolic link in the archive; refused") from None
        raise ArchiveError(f"{where}: {exc.strerror or exc}") from None
    follow = _count_lines(os.path.join(bag, "volgend-project.txt"))
    skipped = _count_lines(os.path.join(bag, "skipped.txt"))
    return Bag(
        bag,
        len(listed),
        total,
        archive_bytes,
        hashlib.sha256(raw).hexdigest(),
        follow,
        skipped,
    )


def _count_lines(path: str) -> int:
    with open(path, "rb") as handle:
        return sum(1 for line in handle if b"(not a readable zip)" not in line)
