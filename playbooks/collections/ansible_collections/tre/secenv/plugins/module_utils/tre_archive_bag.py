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
removed first: it was never complete) and renamed to ``P<nr>`` once durable, so ``P<nr>``
exists only complete. Everything goes through an archive store (``tre_archive_store``: the
root on this host, or on the archive host over SFTP): ``write_bag_to(store, ...)`` here and
``tre_archive_check.verify_store(store, ...)``, which reads every file back and compares the
set of files and every digest with the manifest. ``write_bag``, ``verify``, ``is_complete``
and ``final_dir`` are the same for a root on this host, by its path (the archive host's own
modules use these).
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import (
    TAGMANIFEST,
    ArchiveStore,
    LocalArchiveStore,
    bag_name,
    incoming_name,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_walk import walk

CHUNK = 4 << 20
GB = 10**9
FOLLOW_UP = "volgend project/"
MANIFEST = "manifest-sha256.txt"
TAG_FILES = ("bagit.txt", "bag-info.txt", "skipped.txt", "volgend-project.txt", MANIFEST)


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


def _copier(store: ArchiveStore, data_dir: str, digests: dict[str, str]):
    made: set[str] = {data_dir}

    def copy(rel: str, src: int, st: os.stat_result) -> int:
        target = f"{data_dir}/{rel}"
        parts = target.split("/")
        for depth in range(2, len(parts)):
            parent = "/".join(parts[:depth])
            if parent not in made:
                store.mkdir(parent)
                made.add(parent)
        out = store.open_write(target)
        try:
            digests[rel], copied = _hash_while(lambda: os.read(src, CHUNK), out.write)
        finally:
            out.close()
        store.set_times(target, st.st_atime_ns, st.st_mtime_ns)
        return copied

    return copy


def read_all(store: ArchiveStore, project: str, relpath: str) -> bytes:
    """A whole (small) file of the bag ``P<nr>``: a tag file or a manifest."""
    with store.open_read(project, relpath) as handle:
        return b"".join(iter(lambda: handle.read(CHUNK), b""))


def follow_up_in(
    opener: Callable[[str], BinaryIO], files: list[tuple[str, int]]
) -> list[tuple[str, str, int]]:
    """(zip, entry, size) of every ``volgend project/`` entry of the zips in ``archive/``.

    ``opener(rel)`` opens an archived copy (ours), read as a listing only; a file that is not
    a readable zip is listed as such with entry ``""``.
    """
    found = []
    for rel, _size in files:
        if not (rel.startswith("archive/") and rel.lower().endswith(".zip")):
            continue
        try:
            with opener(rel) as handle, zipfile.ZipFile(handle) as zipped:
                for info in zipped.infolist():
                    if info.filename.startswith(FOLLOW_UP) and info.filename != FOLLOW_UP:
                        found.append((rel, info.filename, info.file_size))
        except (zipfile.BadZipFile, OSError, ValueError):
            found.append((rel, "", -1))
    return found


def follow_up_entries(data_dir: str, files: list[tuple[str, int]]) -> list[tuple[str, str, int]]:
    """``follow_up_in`` for a bag's ``data/`` directory on this host."""
    return follow_up_in(lambda rel: open(os.path.join(data_dir, rel), "rb"), files)


def write_bag_to(
    store: ArchiveStore,
    project_fd: int,
    project: str,
    info: dict[str, str],
    copied: Callable[[], None] | None = None,
) -> str:
    """Copy the selection into a new bag through ``store`` and make it ``P<nr>``; returns
    its location. ``copied`` is called once every file is copied and durable, before any
    manifest (tests)."""
    final = store.location(project)
    if store.exists(project):
        raise ArchiveError(f"{final} exists but is not a complete archive; refused")
    store.remove_incoming(project)  # never complete (no rename): a killed run's leftover
    stage = incoming_name(project)
    store.mkdir(stage)
    store.mkdir(f"{stage}/data")
    digests: dict[str, str] = {}
    walked = walk(project_fd, _copier(store, f"{stage}/data", digests))
    store.sync(stage)  # every archived byte durable before the manifest names it
    follow = follow_up_in(lambda rel: store.open_name(f"{stage}/data/{rel}"), walked.files)
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
        name: hashlib.sha256(_write_tag(store, f"{stage}/{name}", tags[name])).hexdigest()
        for name in TAG_FILES
    }
    _write_tag(
        store, f"{stage}/{TAGMANIFEST}", "".join(f"{d}  {n}\n" for n, d in tag_digests.items())
    )
    store.sync(stage)
    store.rename(stage, bag_name(project))
    return final


def _write_tag(store: ArchiveStore, name: str, text: str) -> bytes:
    data = text.encode("utf-8", "surrogateescape")
    out = store.open_write(name)
    try:
        out.write(data)
    finally:
        out.close()
    return data


def write_bag(
    project_fd: int,
    archive_root: str,
    project: str,
    info: dict[str, str],
    copied: Callable[[], None] | None = None,
) -> str:
    """``write_bag_to`` an archive root on this host; returns the bag's path."""
    return write_bag_to(LocalArchiveStore(archive_root), project_fd, project, info, copied)


def verify(archive_root: str, project: str) -> Bag:
    """Read the bag ``<archive_root>/P<nr>`` back from this host's disk (cached pages dropped)
    and compare it with its manifests; ``ArchiveError`` on a mismatch."""
    from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_check import (
        verify_store,
    )

    return verify_store(LocalArchiveStore(archive_root), project)
