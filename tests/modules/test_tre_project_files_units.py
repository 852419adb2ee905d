"""tre_project_files' local parts on the test's own temporary directory, with a stand-in quota
backend (directories as units): the move's checks, copy, verification and removal, resuming
after a kill, and transfers once. The lab tests (tests/integration/test_move_*.py) run it on
btrfs with ACLs, as the people."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_run import Report
from ansible_collections.tre.secenv.plugins.module_utils.tre_files_copy import (
    copy_file,
    open_root,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal
from ansible_collections.tre.secenv.plugins.module_utils.tre_move_run import move_project
from ansible_collections.tre.secenv.plugins.module_utils.tre_transfer_run import transfer_files

from cli.render import change_line


class Units:
    """Directories below the roots are the quota units; a limit per path if set."""

    def __init__(self, limits: dict[str, int] | None = None) -> None:
        self.limits = limits or {}

    def read_all(self, root: str) -> dict[str, tuple[int, int | None]]:
        out = {}
        for p in Path(root).iterdir():
            used = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            out[str(p)] = (used, self.limits.get(str(p)))
        return out

    def is_unit(self, path: str) -> bool:
        return os.path.isdir(path) and not os.path.islink(path)

    def subvolume_ids(self, root: str) -> dict[str, int]:
        return {}

    def delete_unit(self, path: str) -> list[str]:
        shutil.rmtree(path)
        return [path]


class Roots:
    def __init__(self, tmp: Path) -> None:
        self.projects = str(tmp / "projects")
        self.workspaces = str(tmp / "home")


def _lab(tmp: Path) -> Roots:
    old, new = tmp / "projects" / "P7311", tmp / "projects" / "P7315"
    for sub in ("OtherData/deep", "export", "import", "archive"):
        (old / sub).mkdir(parents=True, exist_ok=True)
        (new / sub.split("/")[0]).mkdir(parents=True, exist_ok=True)
    (old / "OtherData" / "deep" / "a.bin").write_bytes(os.urandom(5000))
    (old / "export" / "t.csv").write_text("a,b\n")
    (old / "OtherData" / "link").symlink_to("/etc/passwd")
    (new / "OtherData" / "theirs.txt").write_text("M's own file stays")
    (tmp / "home" / "p7311.jdevries").mkdir(parents=True)
    return Roots(tmp)


MOVED = {
    "project": "7311",
    "status": "moved",
    "moved_to": "7315",
    "accounts": [{"sam": "p7311.jdevries"}, {"sam": "p7311.zvanthoff"}],
}


def _move(roots: Roots, check: bool = False, units: Units | None = None, journal=None) -> Report:
    rep = Report()
    move_project(MOVED, roots, units or Units(), journal or Journal(None), check, rep)
    return rep


def _ops(rep: Report) -> list[tuple[str, str, str]]:
    return [(c["op"], c["kind"], c["name"]) for c in rep.changes]


def test_plan_then_move_verify_remove_then_nothing(tmp_path: Path) -> None:
    roots = _lab(tmp_path)
    old = tmp_path / "projects" / "P7311"
    plan = _move(roots, check=True)
    assert [change_line(c) for c in plan.changes] == [
        "  > move P7311 → P7315 (2 files, 5.0 kB)",
        "  > verify P7311 copies in P7315, read back (SHA-256)",
        "  - remove P7311 content after verified move",
        "  - remove workspace p7311.jdevries after verified move",
    ]
    assert old.exists() and not (tmp_path / "projects" / "P7315" / "export" / "t.csv").exists()
    data = (old / "OtherData" / "deep" / "a.bin").read_bytes()
    done = _move(roots, journal=Journal(str(tmp_path / "journal.jsonl")))
    assert _ops(done) == _ops(plan) and not done.failed
    new = tmp_path / "projects" / "P7315"
    assert (new / "OtherData" / "deep" / "a.bin").read_bytes() == data
    assert (new / "OtherData" / "theirs.txt").exists()
    assert not old.exists() and not (tmp_path / "home" / "p7311.jdevries").exists()
    assert not (new / "OtherData" / "link").exists()
    assert any("OtherData/link (a symbolic link) is not moved" in w for w in done.warnings)
    journal = (tmp_path / "journal.jsonl").read_text()
    assert journal.count('"journal": "done"') == 4
    assert _move(roots).changes == []


def test_a_name_taken_in_the_new_project_refuses_before_copying(tmp_path: Path) -> None:
    roots = _lab(tmp_path)
    new = tmp_path / "projects" / "P7315"
    (new / "export" / "t.csv").write_text("other")
    rep = _move(roots)
    assert rep.changes == []
    (failure,) = rep.failed
    assert "cannot move P7311 into P7315: 'export/t.csv' exists there" in failure["reason"]
    assert not (new / "OtherData" / "deep").exists()  # nothing copied
    assert (tmp_path / "projects" / "P7311").exists()


def test_too_little_free_quota_refuses_before_copying(tmp_path: Path) -> None:
    roots = _lab(tmp_path)
    target = str(tmp_path / "projects" / "P7315")
    rep = _move(roots, units=Units({target: 1000}))
    assert rep.changes == [] and "bytes free, moving P7311 needs 5004" in rep.failed[0]["reason"]


def test_resumed_after_a_kill_between_copy_and_removal(tmp_path: Path) -> None:
    """The copies are there (and a killed copy's .part file): verified, removed, no move."""
    roots = _lab(tmp_path)
    src, dst = (open_root(str(tmp_path / "projects" / p)) for p in ("P7311", "P7315"))
    try:
        os.mkdir(tmp_path / "projects" / "P7315" / "OtherData" / "deep")
        for rel in ("OtherData/deep/a.bin", "export/t.csv"):
            copy_file(src, rel, dst, rel)
    finally:
        os.close(src)
        os.close(dst)
    (tmp_path / "projects" / "P7315" / "export" / ".tre-copy.x.part").write_text("half")
    rep = _move(roots)
    assert _ops(rep) == [
        ("verify", "move", "P7311"),
        ("remove", "content", "P7311"),
        ("remove", "workspace", "p7311.jdevries"),
    ]
    assert not (tmp_path / "projects" / "P7311").exists()


def test_a_copy_that_differs_is_never_followed_by_a_removal(tmp_path: Path) -> None:
    roots = _lab(tmp_path)
    dst = tmp_path / "projects" / "P7315" / "export" / "t.csv"
    dst.write_text("a,c\n")  # same size, other content: a collision found by the hashes
    for check in (True, False):  # the plan says so too
        rep = _move(roots, check=check)
        assert rep.changes == [] and "'export/t.csv' exists there" in rep.failed[0]["reason"]
    assert (tmp_path / "projects" / "P7311" / "export" / "t.csv").exists()


def _transfer(tmp: Path, done: list[str], check: bool = False) -> Report:
    rep = Report()
    entry = {
        "project": "7315",
        "transfers": [{"from_project": "7302", "from": "2027-09-01", "done": done}],
    }
    transfer_files(entry, Roots(tmp), Journal(None), check, rep)
    return rep


def test_transfer_once_without_links_or_overwrites(tmp_path: Path) -> None:
    folder = tmp_path / "projects" / "P7302" / "Overzetten naar project 7315"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("id\n1\n")
    (folder / "sub" / "b.txt").write_text("b")
    (folder / "same.txt").write_text("same")
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "linked").symlink_to(tmp_path)
    imported = tmp_path / "projects" / "P7315" / "import"
    imported.mkdir(parents=True)
    (imported / "sub").mkdir()
    (imported / "sub" / "b.txt").write_text("theirs")
    (imported / "same.txt").write_text("same")
    plan = _transfer(tmp_path, [], check=True)
    (change,) = plan.changes
    line = "  > transfer P7302/Overzetten naar project 7315 → P7315/import (2 files, 9 bytes)"
    assert change_line(change) == line
    rep = _transfer(tmp_path, [])
    (change,) = rep.changes
    assert [e["path"] for e in change["after"]["entries"]] == ["a.csv", "same.txt"]
    assert (imported / "a.csv").read_text() == "id\n1\n"
    assert (imported / "sub" / "b.txt").read_text() == "theirs"
    assert not (imported / "passwd").exists() and not (imported / "linked").exists()
    assert sorted(w.split(": ", 1)[1] for w in rep.warnings) == [
        "import/'sub/b.txt' exists with other content; the file from P7302 is not transferred"
        " (never overwritten)",
        "transfer from P7302: 'linked' is a symbolic link; not followed, not transferred",
        "transfer from P7302: 'passwd' is a symbolic link; not followed, not transferred",
    ]
    (imported / "a.csv").unlink()
    assert _transfer(tmp_path, ["a.csv", "same.txt"]).changes == []  # recorded: never again
    (folder / "c.csv").write_text("c")
    (later,) = _transfer(tmp_path, ["a.csv", "same.txt"]).changes
    assert [e["path"] for e in later["after"]["entries"]] == ["c.csv"]


def test_a_linked_transfer_folder_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x").write_text("x")
    (tmp_path / "projects" / "P7302").mkdir(parents=True)
    (tmp_path / "projects" / "P7302" / "Overzetten naar project 7315").symlink_to(
        tmp_path / "elsewhere"
    )
    (tmp_path / "projects" / "P7315" / "import").mkdir(parents=True)
    rep = _transfer(tmp_path, [])
    assert rep.changes == [] and "is a symbolic link or not a folder" in rep.warnings[0]


def test_a_moved_projects_removals_make_no_archive_row() -> None:
    """The move's workspace removal has the archive's (op, kind); it is no archive."""
    from provisioning.state.archives import archive_updates

    removal = {"project": "7311", "op": "remove", "kind": "workspace", "name": "p7311.x"}
    assert archive_updates([dict(removal, via="move")], [], "2027-02-01", "NOW") == []
    assert archive_updates([removal], [], "2027-02-01", "NOW") == [
        ("7311", {"status": "live-removed"})
    ]


def test_removals_only_as_confirmed_in_the_plan(tmp_path: Path) -> None:
    """docs/safety.md: a removal not in the confirmed plan is left alone, with a warning."""
    from ansible_collections.tre.secenv.plugins.module_utils.tre_confirmed import key

    roots = _lab(tmp_path)
    plan = _move(roots, check=True)
    confirmed = {key(c) for c in plan.changes if c["op"] == "remove"}
    (tmp_path / "home" / "p7311.zvanthoff").mkdir()  # appeared after the plan was shown
    rep = Report()
    move_project(MOVED, roots, Units(), Journal(None), False, rep, confirmed)
    assert not (tmp_path / "projects" / "P7311").exists()
    assert not (tmp_path / "home" / "p7311.jdevries").exists()
    assert (tmp_path / "home" / "p7311.zvanthoff").exists()
    assert rep.warnings[-1] == (
        "P7311: remove workspace p7311.zvanthoff was not in the confirmed plan; left alone"
        " (the next plan shows it)"
    )
    roots = _lab(tmp_path / "again")
    rep = Report()
    move_project(MOVED, roots, Units(), Journal(None), False, rep, set())  # nothing confirmed
    assert (tmp_path / "again" / "projects" / "P7311").exists()  # copied, verified, kept
    assert [c["op"] for c in rep.changes] == ["move", "verify"]
    assert "remove content P7311 was not in the confirmed plan" in rep.warnings[-1]


def test_a_researchers_file_named_like_a_copy_part_is_moved_not_lost(tmp_path: Path) -> None:
    """P<N> never holds a copy's .part file (copies are written in P<M>): a file of N's
    researchers with such a name is content and must be moved, not silently deleted with
    P<N>."""
    roots = _lab(tmp_path)
    old = tmp_path / "projects" / "P7311"
    (old / "OtherData" / ".tre-copy.results.part").write_text("a week of work")
    rep = _move(roots)
    assert not rep.failed
    assert not old.exists()
    moved = tmp_path / "projects" / "P7315" / "OtherData" / ".tre-copy.results.part"
    assert moved.read_text() == "a week of work"


def test_a_file_of_the_new_project_named_like_a_copy_part_is_never_deleted(
    tmp_path: Path,
) -> None:
    """The copy's temporary file has no name a researcher of M can have taken: their file
    ``.tre-copy.t.csv.part`` next to where ``t.csv`` lands stays as it is (move, transfer)."""
    roots = _lab(tmp_path)
    theirs = tmp_path / "projects" / "P7315" / "export" / ".tre-copy.t.csv.part"
    theirs.write_text("M's notes")
    assert not _move(roots).failed
    assert (tmp_path / "projects" / "P7315" / "export" / "t.csv").read_text() == "a,b\n"
    assert theirs.read_text() == "M's notes"
    folder = tmp_path / "projects" / "P7302" / "Overzetten naar project 7315"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("id\n1\n")
    imported = tmp_path / "projects" / "P7315" / "import"
    (imported / ".tre-copy.a.csv.part").write_text("M's import notes")
    assert not _transfer(tmp_path, []).failed
    assert (imported / "a.csv").read_text() == "id\n1\n"
    assert (imported / ".tre-copy.a.csv.part").read_text() == "M's import notes"


def test_a_skipped_name_is_shown_escaped_never_as_terminal_control(tmp_path: Path) -> None:
    """A researcher of N names a link with terminal escapes (erase the line above, clear
    the screen): the move's warning shows the name escaped, as the transfer's does; it
    goes to the operator's terminal (``Warning: ...``)."""
    roots = _lab(tmp_path)
    evil = "x\x1b[1A\x1b[2K\x9b2Jy"
    (tmp_path / "projects" / "P7311" / "OtherData" / evil).symlink_to("/etc/passwd")
    rep = _move(roots, check=True)
    assert len([w for w in rep.warnings if "not moved" in w]) == 2  # _lab's link and this
    assert all("\x1b" not in w and "\x9b" not in w for w in rep.warnings)
    assert any("\\x1b[1A" in w for w in rep.warnings)


def test_a_name_that_is_not_utf8_never_reaches_the_state_store(tmp_path: Path) -> None:
    """A file or link named with bytes that are not UTF-8 (b'\\xff') comes back from os as a
    lone surrogate, which the state store cannot write (UnicodeEncodeError in
    record_transfers and the ledger, after the copy or the removal was done): the transfer
    skips such a file with a warning, the move lists such a link escaped."""
    import json

    folder = tmp_path / "projects" / "P7302" / "Overzetten naar project 7315"
    folder.mkdir(parents=True)
    (folder / "ok.csv").write_text("1")
    with open(os.fsencode(str(folder)) + b"/bad\xff.csv", "wb") as handle:
        handle.write(b"2")
    (tmp_path / "projects" / "P7315" / "import").mkdir(parents=True)
    rep = _transfer(tmp_path, [])
    (change,) = rep.changes
    assert [e["path"] for e in change["after"]["entries"]] == ["ok.csv"]
    assert any("bad\\xff.csv" in w and "not UTF-8" in w for w in rep.warnings)
    roots = _lab(tmp_path)
    os.symlink("/etc/passwd", os.fsencode(str(tmp_path / "projects" / "P7311")) + b"/l\xfe")
    moved = _move(roots)
    for c in rep.changes + moved.changes:
        json.dumps(c, ensure_ascii=False).encode("utf-8")  # what the store writes
    assert not moved.failed
