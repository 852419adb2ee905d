"""Reading a bag back through its archive store and checking it (docs/storage.md, "Archive").

``verify_store`` reads every tag file and every payload file of ``P<nr>`` back through the
store (a local store drops the cached pages first; over SFTP every byte comes back over the
connection) and compares them with ``tagmanifest-sha256.txt`` and ``manifest-sha256.txt``:
the set of files below ``data/`` exactly the manifest's (a link, FIFO or anything but a
regular file or directory refuses the bag), every digest equal. ``expected`` is what the bag
said when it was made (manifest digest, Payload-Oxum, sizes); ``tighten`` takes group and
other permissions off whatever in the bag has them (files 0600, directories 0700).
"""

from __future__ import annotations

import errno
import hashlib

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_bag import (
    CHUNK,
    MANIFEST,
    ArchiveError,
    Bag,
    _hash_while,
    decode_path,
    encode_path,
    read_all,
    size_gb,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import (
    DIR_MODE,
    FILE_MODE,
    TAGMANIFEST,
    ArchiveStore,
    StoreError,
    bag_name,
)


def _manifest(raw: bytes, name: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in raw.decode("utf-8", "surrogateescape").splitlines():
        digest, sep, path = line.partition("  ")
        if not sep or len(digest) != 64:
            raise ArchiveError(f"{name}: a line is not '<sha256>  <path>'")
        try:
            rel = decode_path(path)
        except ValueError:
            raise ArchiveError(f"{name}: a line's path is not %-encoded; refused") from None
        parts = rel.split("/")
        if "\0" in rel or any(p in ("", ".", "..") for p in parts):
            raise ArchiveError(f"{name}: a line names a path outside the bag; refused")
        entries[rel] = digest
    return entries


def _digest(store: ArchiveStore, project: str, relpath: str) -> tuple[str, int]:
    with store.open_read(project, relpath) as handle:
        return _hash_while(lambda: handle.read(CHUNK), None)


def _payload(store: ArchiveStore, project: str) -> set[str]:
    """Every regular file below ``data/`` (relative to the bag); anything else refuses."""
    if store.kind(f"{bag_name(project)}/data") != "dir":
        raise ArchiveError("data is not a directory; refused")
    found = set()
    for entry in store.listing(project, "data"):
        if entry.kind not in ("file", "dir"):
            raise ArchiveError(f"{entry.path} is not a regular file or directory; refused")
        if entry.kind == "file":
            found.add(entry.path)
    return found


def verify_store(store: ArchiveStore, project: str) -> Bag:
    """Read the bag back and compare it with its manifests; ``ArchiveError`` on a mismatch."""
    location = store.location(project)
    where = f"archive of P{project} at {location}"
    try:
        tags = _manifest(read_all(store, project, TAGMANIFEST), TAGMANIFEST)
        for name, digest in tags.items():
            if _digest(store, project, name)[0] != digest:
                raise ArchiveError(f"{where}: {name} does not match {TAGMANIFEST}")
        raw = read_all(store, project, MANIFEST)
        entries = _manifest(raw, MANIFEST)
        present, listed = _payload(store, project), set(entries)
        if present != listed:
            missing, extra = len(listed - present), len(present - listed)
            raise ArchiveError(
                f"{where}: {missing} file(s) of the manifest missing, {extra} not in it"
            )
        total = archive_bytes = 0
        bad = []
        for rel in sorted(listed):
            digest, size = _digest(store, project, rel)
            total += size
            archive_bytes += size if rel.startswith("data/archive/") else 0
            if digest != entries[rel]:
                bad.append(rel)
        if bad:
            raise ArchiveError(
                f"{where}: {len(bad)} of {len(listed)} file(s) differ from the manifest"
                f" (first: {encode_path(bad[0])})"
            )
        follow = _count_lines(read_all(store, project, "volgend-project.txt"))
        skipped = _count_lines(read_all(store, project, "skipped.txt"))
    except ArchiveError as exc:
        if str(exc).startswith(where):
            raise
        raise ArchiveError(f"{where}: {exc}") from None
    except StoreError as exc:
        raise ArchiveError(f"{where}: {exc}") from None
    except ValueError as exc:  # a name the store refuses to resolve: never read
        raise ArchiveError(f"{where}: {str(exc).splitlines()[0]}; refused") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ArchiveError(f"{where}: a symbolic link in the archive; refused") from None
        raise ArchiveError(f"{where}: {exc.strerror or exc}") from None
    digest = hashlib.sha256(raw).hexdigest()
    return Bag(location, len(listed), total, archive_bytes, digest, follow, skipped)


def _count_lines(raw: bytes) -> int:
    return sum(1 for line in raw.splitlines() if b"(not a readable zip)" not in line)


def expected(store: ArchiveStore, project: str) -> dict:
    """What the verification must find: from the bag's manifest and bag-info."""
    manifest = read_all(store, project, MANIFEST)
    info = {}
    for line in read_all(store, project, "bag-info.txt").decode("utf-8").splitlines():
        key, _, value = line.partition(": ")
        info[key] = value
    total, _, files = info.get("Payload-Oxum", "0.0").partition(".")
    return {
        "location": store.location(project),
        "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
        "files": int(files or 0),
        "bytes": int(total or 0),
        "size_gb": size_gb(int(info.get("Archive-Bytes", "0"))),
        "archived_on": info.get("Archived-On"),
    }


def tighten(store: ArchiveStore, project: str) -> int:
    """Files 0600 and directories 0700 in the bag (the bag directory too); how many were
    changed. Links and other kinds are left alone (a verified bag has none)."""
    changed = 0
    top = bag_name(project)
    entries = [(top, "dir", store.mode(top))]
    entries += [(f"{top}/{e.path}", e.kind, e.mode) for e in store.listing(project)]
    for name, kind, mode in entries:
        want = DIR_MODE if kind == "dir" else FILE_MODE if kind == "file" else None
        if want is not None and mode & 0o077:
            store.chmod(name, want)
            changed += 1
    return changed
