"""The checks a zip passes before ``tre_restore`` unpacks it (pure; docs/storage.md#restore).

Zips are archived as the researchers made them, so a zip restored from an archive is
untrusted input. Its whole central directory is checked before anything is written:

- every name relative and inside the target: no absolute path (``/x``, ``\\x``, ``C:x``), no
  ``..`` component (``/`` and ``\\`` both count as separators), no empty component, no NUL or
  control character (C0, DEL, C1, U+2028/U+2029), each component at most 255 bytes, at most
  ``MAX_DEPTH`` levels;
- only regular files and directories: the unix mode in ``external_attr`` (high 16 bits) of a
  symbolic link, a device, a FIFO or a socket refuses the zip; an encrypted entry too;
- no two entries that land on the same name: duplicates, names equal after case folding and
  Unicode NFC normalisation (a case-insensitive reader would see one file), a file where
  another entry needs a directory (``a`` and ``a/b``);
- at most ``Limits.max_entries`` entries and ``Limits.max_bytes`` declared uncompressed
  bytes; only compression methods Python reads (stored, deflate, bzip2, lzma).

The caller adds what needs the disk: the sum of everything to be written within the new
project's quota headroom, and while unpacking (``copy_entry``) it counts the real bytes and
stops an entry that is longer than declared (a zip bomb with lying headers) - ``zipfile``
also stops at the declared size and then fails on the CRC.
"""

from __future__ import annotations

import stat
import unicodedata
import zipfile
from dataclasses import dataclass

MAX_DEPTH = 64
MAX_COMPONENT = 255
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
#: C0, DEL and C1 controls (Cc), the line and paragraph separators (str.splitlines splits there)
_CONTROL = ("Cc", "Zl", "Zp")
_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


class ZipRefused(Exception):
    """A zip that is not unpacked: one line naming the entry (percent-free, cut) and why."""


@dataclass(frozen=True)
class Limits:
    """Policy limits per zip: entries and declared uncompressed bytes."""

    max_entries: int = 10_000
    max_bytes: int = 10**12


@dataclass(frozen=True)
class Entry:
    """One member to unpack: its parts below the target, a directory or not, its size."""

    parts: tuple[str, ...]
    is_dir: bool
    size: int
    info: zipfile.ZipInfo


def shown(name: str) -> str:
    """A name as it may appear in a message: control characters escaped, at most 80 chars."""
    text = name.encode("unicode_escape", "backslashreplace").decode("ascii")
    return text if len(text) <= 80 else text[:79] + "…"


def name_parts(name: str) -> tuple[tuple[str, ...], bool]:
    """(components, is a directory) of an entry name; ``ZipRefused`` when it could leave the
    target."""
    if not name:
        raise ZipRefused("an entry with an empty name")
    if any(unicodedata.category(ch) in _CONTROL for ch in name):
        raise ZipRefused(f"entry {shown(name)}: a control character in the name")
    if name[0] in "/\\" or (len(name) > 1 and name[1] == ":"):
        raise ZipRefused(f"entry {shown(name)}: an absolute path")
    is_dir = name.endswith(("/", "\\"))
    parts = tuple(name.replace("\\", "/").rstrip("/").split("/"))
    for part in parts:
        if part in ("", ".", ".."):
            why = "a '..' component" if part == ".." else "an empty or '.' component"
            raise ZipRefused(f"entry {shown(name)}: {why} (the path could leave its folder)")
        if len(part.encode("utf-8", "surrogateescape")) > MAX_COMPONENT:
            raise ZipRefused(f"entry {shown(name)}: a name component over {MAX_COMPONENT} bytes")
    if len(parts) > MAX_DEPTH:
        raise ZipRefused(f"entry {shown(name)}: deeper than {MAX_DEPTH} levels")
    return parts, is_dir


def entry_kind(info: zipfile.ZipInfo) -> str | None:
    """What a non-regular entry is (``a symbolic link`` ...), None for a file or directory."""
    mode = info.external_attr >> 16
    return _KINDS.get(stat.S_IFMT(mode)) if mode else None


def _key(parts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", p).casefold() for p in parts)


def check_entries(infos: list[zipfile.ZipInfo], limits: Limits) -> list[Entry]:
    """The entries to unpack, in order, after every check; ``ZipRefused`` at the first bad
    one (nothing is written before this returns)."""
    if len(infos) > limits.max_entries:
        raise ZipRefused(f"{len(infos)} entries; at most {limits.max_entries} are unpacked")
    entries: list[Entry] = []
    files: dict[tuple[str, ...], str] = {}
    dirs: dict[tuple[str, ...], str] = {}
    total = 0
    for info in infos:
        parts, is_dir = name_parts(info.filename)
        kind = entry_kind(info)
        if kind is not None:
            raise ZipRefused(f"entry {shown(info.filename)}: {kind}")
        if info.flag_bits & 0x1:
            raise ZipRefused(f"entry {shown(info.filename)}: encrypted")
        if info.compress_type not in _METHODS:
            raise ZipRefused(
                f"entry {shown(info.filename)}: compression method {info.compress_type}"
            )
        is_dir = is_dir or stat.S_ISDIR(info.external_attr >> 16)
        key = _key(parts)
        if key in files or (not is_dir and key in dirs):
            raise ZipRefused(
                f"entry {shown(info.filename)}: the same name as another entry (case and"
                " Unicode form ignored); it would overwrite it"
            )
        for depth in range(1, len(key)):
            if key[:depth] in files:
                raise ZipRefused(
                    f"entry {shown(info.filename)}: below {shown('/'.join(parts[:depth]))},"
                    " which is a file in the zip"
                )
            dirs.setdefault(key[:depth], info.filename)
        if is_dir:
            dirs.setdefault(key, info.filename)
        else:
            files[key] = info.filename
            total += info.file_size
            if total > limits.max_bytes:
                raise ZipRefused(
                    f"over {limits.max_bytes} bytes declared uncompressed; refused as a"
                    " possible zip bomb"
                )
        entries.append(Entry(parts, is_dir, 0 if is_dir else info.file_size, info))
    return entries


def declared_bytes(entries: list[Entry]) -> int:
    return sum(e.size for e in entries if not e.is_dir)


def copy_entry(zipped: zipfile.ZipFile, entry: Entry, write, chunk: int = 1 << 20) -> int:
    """Unpack one file entry through ``write(bytes)``, counting the real bytes; ``ZipRefused``
    when it is longer than declared (or the data does not match its CRC)."""
    written = 0
    try:
        with zipped.open(entry.info) as member:
            while data := member.read(chunk):
                written += len(data)
                if written > entry.size:
                    raise ZipRefused(
                        f"entry {shown(entry.info.filename)}: more bytes than its declared"
                        f" {entry.size}; refused as a zip bomb"
                    )
                if write is not None:
                    write(data)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ZipRefused(f"entry {shown(entry.info.filename)}: unreadable ({line})") from None
    if written != entry.size:
        raise ZipRefused(
            f"entry {shown(entry.info.filename)}: {written} bytes, declared {entry.size}"
        )
    return written
