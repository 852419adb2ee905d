"""What ``tre_project_files`` does for one transfer (*Overzetten bestanden*; docs/storage.md).

Project M's entry lists ``transfers: [{from_project: S, from, done: [paths]}]`` (those whose
``from`` day has come; ``done``: the paths the state store recorded as transferred). The
files below ``P<S>/Overzetten naar project <M>/`` whose path is not in ``done`` are copied to
the same path below ``P<M>/import/``, read back and compared with the source's SHA-256, in
one ``tre_executor`` step per transfer (``transfer``, with every file's path, size and
SHA-256: ``tre apply`` records them, so each is transferred once - a copy deleted from
``import/`` later is not made again; a file added to the folder later is transferred by a
later apply).

- Never follows a link: a symbolic link (FIFO, device) in the folder is skipped and named in
  a warning; so is the folder itself when it is a link. A file whose name is not UTF-8 is
  skipped with a warning too (its path is recorded in the state store, which holds text).
- Never replaces a file: a different file at the same path in ``import/`` is skipped with a
  warning; the same content there (an earlier, killed run's copy) counts as transferred
  and is recorded without copying.
- No folder, or nothing new in it: nothing to do.
"""

from __future__ import annotations

import errno
import os

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_run import Report, _run
from ansible_collections.tre.secenv.plugins.module_utils.tre_executor import (
    OperationError,
    Step,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_files_copy import (
    CopyError,
    copy_file,
    list_tree,
    open_dir,
    open_root,
    same_file,
    sha256_of,
)


def _utf8(name: str) -> bool:
    """Whether a name from the disk is text (bytes that are not UTF-8 come as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def folder(to: str) -> str:
    return f"Overzetten naar project {to}"


def _open_folder(roots, source: str, to: str) -> tuple[int | None, str]:
    """The transfer folder's descriptor (None: absent) and a warning ('' when none)."""
    project = open_root(os.path.join(roots.projects, f"P{source}"))
    if project is None:
        return None, ""
    try:
        return open_dir(project, folder(to)), ""
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            return None, f"P{source}/{folder(to)} is a symbolic link or not a folder; not followed"
        raise
    finally:
        os.close(project)


def transfer_files(project: dict, roots, journal, check: bool, rep: Report) -> None:
    """Plan (check mode) or do every transfer of one project entry."""
    to = str(project["project"])
    for t in project.get("transfers") or []:
        source = str(t["from_project"])
        try:
            _transfer(to, source, set(t.get("done") or []), roots, journal, check, rep)
        except (CopyError, OSError) as exc:
            line = f"transfer from P{source}: {exc}".splitlines()[0]
            rep.failed.append({"project": to, "reason": line})


def _transfer(to: str, source: str, done: set[str], roots, journal, check, rep) -> None:
    src, warning = _open_folder(roots, source, to)
    if warning:
        rep.warnings.append(f"project {to}: {warning}")
    if src is None:
        return
    target = os.path.join(roots.projects, f"P{to}", "import")
    dst = open_root(target)
    try:
        listing = list_tree(src)
        for rel, what in listing.skipped:
            rep.warnings.append(
                f"project {to}: transfer from P{source}: {rel!r} is {what}; not followed,"
                " not transferred"
            )
        entries = []
        for rel, size in listing.files:
            if rel in done:
                continue
            if not _utf8(rel):  # the state store records each path: it must be text
                text = os.fsencode(rel).decode("utf-8", "backslashreplace")
                shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
                rep.warnings.append(
                    f"project {to}: transfer from P{source}: '{shown}' has a name that is not"
                    " UTF-8; not transferred (rename it)"
                )
                continue
            if check and dst is None:
                entries.append({"path": rel, "size": size, "sha256": None})
                continue
            size, digest = sha256_of(src, rel)
            there = same_file(dst, rel, size, digest) if dst is not None else None
            if there is False:
                rep.warnings.append(
                    f"project {to}: import/{rel!r} exists with other content; the file from"
                    f" P{source} is not transferred (never overwritten)"
                )
                continue
            entries.append({"path": rel, "size": size, "sha256": digest, "there": bool(there)})
        if not entries:
            return
        if dst is None and not check:
            rep.failed.append({"project": to, "reason": f"{target} does not exist"})
            return
        change = {
            "project": to,
            "op": "transfer",
            "kind": "files",
            "name": f"P{source}/{folder(to)}",
            "path": target,
            "from_project": source,
            "before": None,
            "after": {
                "files": len(entries),
                "bytes": sum(e["size"] for e in entries),
                "entries": [{k: e[k] for k in ("path", "size", "sha256")} for e in entries],
            },
        }
        step = Step([change], [_copy(src, dst, entries)], f"P{to}/import")
        _run([step], journal, check, rep, to)
    finally:
        os.close(src)
        if dst is not None:
            os.close(dst)


def _copy(src: int, dst: int | None, entries: list[dict]):
    def run() -> None:
        try:
            for e in entries:
                if not e.get("there"):
                    got = copy_file(src, e["path"], dst, e["path"])
                    if got != (e["size"], e["sha256"]):
                        raise CopyError(0, f"{e['path']!r} changed while it was transferred")
                back = sha256_of(dst, e["path"], uncached=True)
                if back != (e["size"], e["sha256"]):
                    raise CopyError(0, f"the copy of {e['path']!r} differs from its source")
        except OSError as exc:
            raise OperationError(str(exc)) from None

    return run
