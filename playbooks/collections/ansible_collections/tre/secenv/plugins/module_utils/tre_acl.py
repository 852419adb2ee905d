"""POSIX ACLs read and written as the kernel's xattrs (no getfacl/setfacl processes).

An ACL is a tuple of entries ``(tag, qualifier, perm)`` sorted in the kernel's canonical
order; ``qualifier`` is the numeric uid/gid for named entries and ``None`` otherwise, ``perm``
is 0..7 (r=4, w=2, x=1). The binary layout of ``system.posix_acl_access`` /
``system.posix_acl_default`` is a little-endian u32 version (2) followed by entries of
u16 tag, u16 perm, u32 id. Parsing, encoding, formatting and merging are pure functions.
"""

from __future__ import annotations

import errno
import os
import stat
import struct

ACCESS_XATTR = "system.posix_acl_access"
DEFAULT_XATTR = "system.posix_acl_default"

USER_OBJ = 0x01
USER = 0x02
GROUP_OBJ = 0x04
GROUP = 0x08
MASK = 0x10
OTHER = 0x20

_VERSION = 2
_UNDEFINED_ID = 0xFFFFFFFF
_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")
_NAMED = (USER, GROUP)
_TAG_NAMES = {
    USER_OBJ: "user",
    USER: "user",
    GROUP_OBJ: "group",
    GROUP: "group",
    MASK: "mask",
    OTHER: "other",
}

Entry = tuple[int, int | None, int]
Acl = tuple[Entry, ...]


class AclError(ValueError):
    """A malformed ACL (bad xattr bytes or an impossible entry list)."""


def parse_acl(data: bytes) -> Acl:
    """Decode the xattr bytes into a canonical (sorted) ACL."""
    if len(data) < _HEADER.size or (len(data) - _HEADER.size) % _ENTRY.size:
        raise AclError(f"ACL xattr has a bad length {len(data)}")
    (version,) = _HEADER.unpack_from(data, 0)
    if version != _VERSION:
        raise AclError(f"ACL xattr version {version} is not {_VERSION}")
    entries = []
    for offset in range(_HEADER.size, len(data), _ENTRY.size):
        tag, perm, ident = _ENTRY.unpack_from(data, offset)
        if tag not in _TAG_NAMES:
            raise AclError(f"ACL xattr has an unknown tag {tag:#x}")
        entries.append((tag, ident if tag in _NAMED else None, perm & 7))
    return canonical(entries)


def encode_acl(acl: Acl) -> bytes:
    """Encode an ACL into the xattr bytes (entries in canonical order)."""
    parts = [_HEADER.pack(_VERSION)]
    for tag, ident, perm in canonical(acl):
        parts.append(_ENTRY.pack(tag, perm, _UNDEFINED_ID if ident is None else ident))
    return b"".join(parts)


def _order(entry: Entry) -> tuple:
    # placeholders (str qualifiers, shown in check mode for ids not yet allocated) sort last
    tag, ident, _perm = entry
    if ident is None:
        return (tag, 0, 0)
    return (tag, 1, ident) if isinstance(ident, int) else (tag, 2, ident)


def canonical(entries) -> Acl:
    return tuple(sorted(entries, key=_order))


def perm_text(perm: int) -> str:
    return ("r" if perm & 4 else "-") + ("w" if perm & 2 else "-") + ("x" if perm & 1 else "-")


def format_acl(acl: Acl | None, prefix: str = "") -> str:
    """getfacl-style text with numeric ids, entries joined by commas ('' for no ACL)."""
    if acl is None:
        return ""
    return ",".join(
        f"{prefix}{_TAG_NAMES[tag]}:{'' if ident is None else ident}:{perm_text(perm)}"
        for tag, ident, perm in canonical(acl)
    )


def parse_perm(text: str, is_dir: bool, mode: int) -> int:
    """'rwX' → bits; X is execute for directories or for files already executable."""
    perm = 0
    for char in text:
        if char == "r":
            perm |= 4
        elif char == "w":
            perm |= 2
        elif char == "x" or (char == "X" and (is_dir or mode & 0o111)):
            perm |= 1
        elif char not in "-X":
            raise AclError(f"bad permission {text!r}")
    return perm


def minimal_from_mode(mode: int) -> Acl:
    """The ACL a file without an access ACL xattr has: its mode bits."""
    return canonical(
        [
            (USER_OBJ, None, (mode >> 6) & 7),
            (GROUP_OBJ, None, (mode >> 3) & 7),
            (OTHER, None, mode & 7),
        ]
    )


def with_mask(entries) -> Acl:
    """Recompute the mask as the union of the group class (setfacl's default behaviour).

    Without named entries no mask is needed, and none is kept.
    """
    body = [e for e in entries if e[0] != MASK]
    if not any(e[0] in _NAMED for e in body):
        return canonical(body)
    union = 0
    for tag, _ident, perm in body:
        if tag in (USER, GROUP_OBJ, GROUP):
            union |= perm
    return canonical([*body, (MASK, None, union)])


def named_groups(acl: Acl | None, gids) -> dict[int, int]:
    """{gid: perm} of the named group entries whose gid is in ``gids``."""
    if not acl:
        return {}
    return {ident: perm for tag, ident, perm in acl if tag == GROUP and ident in gids}


def merge_groups(acl: Acl, managed_gids, wanted: dict[int, int]) -> Acl:
    """Replace the named group entries of ``managed_gids`` by ``wanted``; keep all others.

    Returns ``acl`` unchanged (same object) when the managed entries already match, so an
    existing mask somebody chose deliberately is left alone.
    """
    if named_groups(acl, managed_gids) == wanted:
        return acl
    kept = [e for e in acl if not (e[0] == GROUP and e[1] in managed_gids)]
    return with_mask([*kept, *((GROUP, gid, perm) for gid, perm in wanted.items())])


def _get(path: str, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP):
            return None
        raise


def read_acls(path: str, st: os.stat_result) -> tuple[Acl, Acl | None]:
    """(access ACL, default ACL or None) of a path; the access ACL falls back to the mode."""
    raw = _get(path, ACCESS_XATTR)
    access = parse_acl(raw) if raw is not None else minimal_from_mode(st.st_mode)
    default = None
    if stat.S_ISDIR(st.st_mode):
        raw_default = _get(path, DEFAULT_XATTR)
        default = parse_acl(raw_default) if raw_default is not None else None
    return access, default


def write_acls(path: str, access: Acl, default: Acl | None, is_dir: bool) -> None:
    """Write the access ACL (the kernel updates the mode bits) and, for directories, the
    default ACL (removed when ``None``).

    A directory is opened with ``O_NOFOLLOW | O_DIRECTORY`` and written through its file
    descriptor: a symlink or a FIFO a researcher put there since it was read is refused
    (ELOOP/ENOTDIR), never followed or opened for reading. Other files are written by path
    without following a final symlink.
    """
    if not is_dir:
        os.setxattr(path, ACCESS_XATTR, encode_acl(access), follow_symlinks=False)
        return
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    fd = os.open(path, flags)
    try:
        os.setxattr(fd, ACCESS_XATTR, encode_acl(access))
        if default is None:
            try:
                os.removexattr(fd, DEFAULT_XATTR)
            except OSError as exc:
                if exc.errno != errno.ENODATA:
                    raise
        else:
            os.setxattr(fd, DEFAULT_XATTR, encode_acl(default))
    finally:
        os.close(fd)
