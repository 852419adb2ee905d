"""Hostile and ordinary zips for the restore tests (unit and lab)."""

from __future__ import annotations

import io
import stat
import struct
import warnings
import zipfile


def make_zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A zip of (name, data, unix mode or 0) entries, names exactly as given."""
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        warnings.simplefilter("ignore")  # "Duplicate name": wanted here
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2027, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode:
                info.external_attr = mode << 16
                info.create_system = 3
            z.writestr(info, data)
    return out.getvalue()


def ordinary() -> bytes:
    return make_zip(
        [
            ("volgend project/", b"", stat.S_IFDIR | 0o755),
            ("volgend project/cohort.csv", b"id,jaar\n1,2026\n", stat.S_IFREG | 0o644),
            ("rapport.txt", b"resultaten\n" * 100, 0),
        ]
    )


def zip_slip() -> bytes:
    return make_zip([("ok.txt", b"ok", 0), ("../../escaped.txt", b"out", 0)])


def absolute() -> bytes:
    return make_zip([("/tmp/tre-restore-absolute.txt", b"out", 0)])


def symlink_out() -> bytes:
    return make_zip([("link", b"/etc/passwd", stat.S_IFLNK | 0o777), ("link/x", b"x", 0)])


def device() -> bytes:
    return make_zip([("null", b"", stat.S_IFCHR | 0o666)])


def many_tiny(n: int) -> bytes:
    return make_zip([(f"tiny/{i:05d}.txt", b"x", 0) for i in range(n)])


def bomb(size: int) -> bytes:
    """Honest headers: ``size`` zero bytes, compressed to about a thousandth."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z,
        z.open("zeros.bin", "w", force_zip64=True) as member,
    ):
        block = b"\0" * (1 << 20)
        for _ in range(size // len(block)):
            member.write(block)
    return out.getvalue()


def lying(real: int, declared: int) -> bytes:
    """One entry of ``real`` zero bytes whose local and central headers say ``declared``."""
    data = bytearray(make_zip([("small.txt", b"\0" * real, 0)]))
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, declared)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)
