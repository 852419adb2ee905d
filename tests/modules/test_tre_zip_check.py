"""The zip checks of tre_restore (pure: tre_zip_check on zips made in memory)."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest
from ansible_collections.tre.secenv.plugins.module_utils.tre_zip_check import (
    Limits,
    ZipRefused,
    check_entries,
    copy_entry,
    name_parts,
)

from tests.modules import zip_makers as zm


def _check(data: bytes, limits: Limits | None = None):
    return check_entries(zipfile.ZipFile(io.BytesIO(data)).infolist(), limits or Limits())


def test_an_ordinary_zip_passes_with_its_folders_and_sizes() -> None:
    entries = _check(zm.ordinary())
    assert [(e.parts, e.is_dir, e.size) for e in entries] == [
        (("volgend project",), True, 0),
        (("volgend project", "cohort.csv"), False, 15),
        (("rapport.txt",), False, 1100),
    ]


@pytest.mark.parametrize(
    ("maker", "reason"),
    [
        (zm.zip_slip, "a '..' component"),
        (zm.absolute, "an absolute path"),
        (zm.symlink_out, "a symbolic link"),
        (zm.device, "a character device"),
        (lambda: zm.make_zip([("fifo", b"", stat.S_IFIFO | 0o644)]), "a FIFO"),
        (lambda: zm.make_zip([("a\\..\\b", b"", 0)]), "a '..' component"),
        (lambda: zm.make_zip([("C:evil", b"", 0)]), "an absolute path"),
        (lambda: zm.make_zip([("a//b", b"", 0)]), "an empty or '.' component"),
        (lambda: zm.make_zip([("bel\x07.txt", b"", 0)]), "a control character"),
        (lambda: zm.make_zip([("Data.csv", b"1", 0), ("data.CSV", b"2", 0)]), "the same name"),
        (lambda: zm.make_zip([("x.txt", b"1", 0), ("x.txt", b"2", 0)]), "the same name"),
        (lambda: zm.make_zip([("caf\u00e9", b"1", 0), ("cafe\u0301", b"2", 0)]), "the same name"),
        (lambda: zm.make_zip([("a", b"1", 0), ("a/b", b"2", 0)]), "which is a file"),
        (lambda: zm.make_zip([("a/b", b"1", 0), ("a", b"2", 0)]), "the same name"),
        (lambda: zm.make_zip([("/".join(["d"] * 70), b"", 0)]), "deeper than 64"),
        (lambda: zm.make_zip([("n" * 256, b"", 0)]), "over 255 bytes"),
    ],
)
def test_hostile_central_directories_are_refused(maker, reason: str) -> None:
    data = maker()
    with pytest.raises(ZipRefused, match=reason):
        _check(data)


def test_the_entry_limit_is_a_policy_number() -> None:
    data = zm.many_tiny(101)
    assert len(_check(data, Limits(max_entries=101))) == 101
    with pytest.raises(ZipRefused, match="101 entries; at most 100"):
        _check(data, Limits(max_entries=100))


def test_declared_bytes_over_the_limit_refuse() -> None:
    data = zm.bomb(8 << 20)
    assert len(data) < 100_000  # about a thousandth
    with pytest.raises(ZipRefused, match="possible zip bomb"):
        _check(data, Limits(max_bytes=4 << 20))


def test_a_lying_size_is_caught_when_the_bytes_are_counted() -> None:
    data = zm.lying(real=1 << 20, declared=100)
    zipped = zipfile.ZipFile(io.BytesIO(data))
    (entry,) = check_entries(zipped.infolist(), Limits())
    assert entry.size == 100  # what the headers claim
    got: list[bytes] = []
    with pytest.raises(ZipRefused, match="small.txt"):
        copy_entry(zipped, entry, got.append)
    assert sum(map(len, got)) <= 100  # never more than declared is handed on


def test_copy_entry_returns_the_real_bytes() -> None:
    zipped = zipfile.ZipFile(io.BytesIO(zm.ordinary()))
    entries = check_entries(zipped.infolist(), Limits())
    got: list[bytes] = []
    assert copy_entry(zipped, entries[1], got.append) == 15
    assert b"".join(got) == b"id,jaar\n1,2026\n"


def test_name_parts_of_a_directory() -> None:
    assert name_parts("a/b/") == (("a", "b"), True)
    assert name_parts("a\\b") == (("a", "b"), False)


@pytest.mark.parametrize("name", ["nel\x85.txt", "csi\x9b2J.txt", "ls\u2028x.txt", "ps\u2029x"])
def test_c1_controls_and_line_separators_are_control_characters_too(name: str) -> None:
    """U+0080-U+009F (C1, e.g. the one-byte CSI \\x9b of terminals) and the Unicode line and
    paragraph separators break names into lines (str.splitlines splits on them) just as
    C0 controls do: refused like them."""
    with pytest.raises(ZipRefused, match="a control character"):
        _check(zm.make_zip([(name, b"x", 0)]))
