"""What ``tre_project_files`` does for one moved project (*Verhuizen*; docs/storage.md).

A project entry with ``status: moved`` and ``moved_to: M`` whose subvolume ``P<N>`` (or a
workspace of its accounts) is still there, in this order, each a ``tre_executor`` step
(journaled ``intent``/``done``), ``STOP`` after a failed one:

1. checks, before anything is written: every file of ``P<N>`` lands at the same relative path
   in ``P<M>`` (``OtherData/x`` → ``P<M>/OtherData/x``; directories merge); a name that exists
   there with other content (or as a link, a directory, ...) refuses the move with one line;
   the content must fit in ``P<M>``'s free quota;
2. ``move`` (only when some file or directory is missing in ``P<M>``): copy them
   (``tre_files_copy``: no link followed, no file replaced; the copies belong to root and
   inherit ``P<M>``'s default ACL - M's groups, nobody of N);
3. ``verify``: read every copy back (cached pages dropped) and compare its SHA-256 with the
   source's - in every run that removes, also when an earlier (killed) run copied;
4. ``remove`` ``P<N>`` (subvolume, nested subvolumes, qgroups) and then N's workspaces
   (personal: never moved; removed like an archived project's).

From the disks alone: a file already in ``P<M>`` with the same content counts as copied, a
second run finds nothing (``P<N>`` gone), a run killed anywhere is finished by the next.
Links, FIFOs and devices in ``P<N>`` are not moved (listed in ``skipped``; gone with it).
"""

from __future__ import annotations

import os
import stat
import time

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_run import (
    Report,
    _nested,
    _run,
    _units,
    _usage,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_confirmed import (
    allowed,
    refusal,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_executor import (
    OperationError,
    Step,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_files_copy import (
    CopyError,
    Listing,
    copy_file,
    list_tree,
    lstat_below,
    make_dirs,
    open_root,
    sha256_of,
)

#: Test hook (lab tests only), like the archive's: ``pause:<point>:<file>`` writes the
#: module's pid to ``<file>`` at ``<point>`` (moved, verified) and waits to be killed.
MOVE_HOOK = "TRE_MOVE_TEST_HOOK"


def hook(point: str) -> None:
    value = os.environ.get(MOVE_HOOK, "")
    if value.startswith(f"pause:{point}:"):
        with open(value.split(":", 2)[2], "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
        time.sleep(300)


def _shown(name: str) -> str:
    """A path as a warning shows it: every non-printable character escaped (``\\x1b``)."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name)


def _op(action, *args):
    def run() -> None:
        try:
            action(*args)
        except (CopyError, OSError, RuntimeError) as exc:
            raise OperationError(str(exc)) from None

    return run


def _missing(listing: Listing, dst: int | None) -> tuple[list[str], list[tuple[str, int]], str]:
    """Directories and files not yet in the target; the first collision (or '')."""
    if dst is None:
        return list(listing.dirs), list(listing.files), ""
    dirs, files = [], []
    for rel in listing.dirs:
        try:
            st = lstat_below(dst, rel)
        except CopyError:
            return [], [], rel
        if st is None:
            dirs.append(rel)
        elif not stat.S_ISDIR(st.st_mode):
            return [], [], rel
    for rel, size in listing.files:
        try:
            st = lstat_below(dst, rel)
        except CopyError:
            return [], [], rel
        if st is None:
            files.append((rel, size))
        elif not stat.S_ISREG(st.st_mode) or st.st_size != size:
            return [], [], rel
    return dirs, files, ""


def _same_content(src: int, dst: int, present: list[str]) -> str:
    """The first file present in both whose content differs (or '')."""
    for rel in present:
        if sha256_of(src, rel) != sha256_of(dst, rel):
            return rel
    return ""


def _copy_all(src: int, dst: int, dirs: list[str], files: list[tuple[str, int]]) -> None:
    for rel in dirs:
        make_dirs(dst, rel)
    for rel, _size in files:
        copy_file(src, rel, dst, rel)


def _verify(src: int, dst: int, listing: Listing) -> None:
    for rel, _size in listing.files:
        if sha256_of(src, rel) != sha256_of(dst, rel, uncached=True):
            raise CopyError(0, f"the copy of {rel!r} differs from its source")


def move_project(
    project: dict, roots, backend, journal, check: bool, rep: Report, confirmed=None
) -> None:
    """Plan (check mode) or do the move of one moved project into its new project.

    ``confirmed``: the confirmed plan's irreversible steps (``tre_confirmed``; None: no
    binding); a removal not among them is left alone with a warning."""
    nr, to = str(project["project"]), str(project["moved_to"])
    label, target = f"P{nr}", os.path.join(roots.projects, f"P{to}")
    src = dst = None
    removal = None
    try:
        live, spaces = _units(project, roots, backend)
        src = open_root(os.path.join(roots.projects, label)) if live else None
        dst = open_root(target)
        if src is not None:
            if dst is None and not check:
                rep.failed.append({"project": nr, "reason": f"{target} does not exist; not moved"})
                return
            removal = _move_content(nr, to, label, target, src, dst, roots, backend, journal,
                                    check, rep)  # fmt: skip
            if removal is None:
                return
    except (CopyError, OSError, RuntimeError) as exc:
        rep.failed.append({"project": nr, "reason": f"moving {label}: {exc}".splitlines()[0]})
        return
    finally:
        for fd in (src, dst):  # closed before P<N> is deleted
            if fd is not None:
                os.close(fd)
    if removal is not None and not allowed(removal.changes[0], confirmed):
        rep.warnings.append(refusal(removal.changes[0]))
        return  # and the workspaces stay until the project's folder is gone
    if removal is not None and not _run([removal], journal, check, rep, nr):
        return  # the workspaces stay until the project's folder is gone
    for sam, path in spaces:  # personal: not moved, removed with the project's live data
        change = {
            "project": nr,
            "op": "remove",
            "kind": "workspace",
            "name": sam,
            "path": path,
            "via": "move",
            "before": {"usage_bytes": _usage(backend, roots, path)},
            "after": None,
            "moved_to": f"P{to}",
        }
        if not allowed(change, confirmed):
            rep.warnings.append(refusal(change))
            continue
        if not _run([Step([change], [_op(backend.delete_unit, path)], path)], journal, check,
                    rep, nr):  # fmt: skip
            return


def _move_content(nr, to, label, target, src, dst, roots, backend, journal, check, rep):
    """Checks, copy and verification; the removal step of ``P<N>`` (None: stop here)."""
    listing = list_tree(src)
    dirs, files, clash = _missing(listing, dst)
    missing = {rel for rel, _ in files}
    present = [rel for rel, _ in listing.files if rel not in missing] if not clash else []
    clash = clash or _same_content(src, dst, present)  # the plan refuses as the apply would
    if clash:
        rep.failed.append(
            {
                "project": nr,
                "reason": f"cannot move {label} into P{to}: {clash!r} exists there with other"
                " content (or is not a plain file or folder); nothing copied - rename one",
            }
        )
        return None
    todo = sum(size for _, size in files)
    usage, limit = (backend.read_all(roots.projects).get(target) or (0, None)) if dst else (0, None)
    if limit is not None and usage + todo > limit:
        rep.failed.append(
            {
                "project": nr,
                "reason": f"P{to} has {limit - usage} bytes free, moving {label} needs {todo};"
                f" raise P{to}'s storage first; nothing copied",
            }
        )
        return None
    skipped = [  # recorded in the ledger: text, also when a name's bytes are not UTF-8
        f"{os.fsencode(rel).decode('utf-8', 'backslashreplace')} ({what})"
        for rel, what in listing.skipped
    ]
    for rel, what in listing.skipped:  # a name N's researchers chose: escaped for a terminal
        rep.warnings.append(
            f"project {nr}: {_shown(rel)} ({what}) is not moved (removed with {label})"
        )
    summary = {"files": len(listing.files), "bytes": listing.bytes, "to_project": to}
    if dirs or files:
        change = {
            "project": nr,
            "op": "move",
            "kind": "content",
            "name": label,
            "path": target,
            "before": None,
            "after": dict(summary, copied=len(files), copied_bytes=todo, skipped=skipped),
        }
        copy = _op(_copy_all, src, dst, dirs, files)
        if not _run([Step([change], [copy], label)], journal, check, rep, nr):
            return None
        if not check:
            hook("moved")
    verify = {
        "project": nr,
        "op": "verify",
        "kind": "move",
        "name": label,
        "path": target,
        "before": None,
        "after": dict(summary, result="ok"),
    }
    if not _run([Step([verify], [_op(_verify, src, dst, listing)], label)], journal, check, rep,
                nr):  # fmt: skip
        return None
    if not check:
        hook("verified")
    live = os.path.join(roots.projects, label)
    removal = {
        "project": nr,
        "op": "remove",
        "kind": "content",
        "name": label,
        "path": live,
        "via": "move",
        "before": dict(summary, usage_bytes=_usage(backend, roots, live)),
        "after": None,
        "moved_to": f"P{to}",
        "skipped": skipped,
        "nested_subvolumes": _nested(backend, live),
    }
    return Step([removal], [_op(backend.delete_unit, live)], live)
