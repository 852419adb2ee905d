"""What ``tre_archive`` does for one ended project, as executor steps (docs/storage.md).

Per ended project with live data (its subvolume ``P<nr>`` or a workspace of its accounts),
in this order, each a step of ``tre_executor`` (journaled ``intent``/``done``), each batch run
with ``STOP`` so nothing after a failed step runs:

1. ``archive`` (only when the bag ``P<nr>`` is not complete in the archive store): copy the
   selection into a new bag and rename it into place (``tre_archive_bag.write_bag_to``);
2. ``verify``: read the bag back through the store against its manifests
   (``tre_archive_check.verify_store``) - in every run that removes anything, also when the
   bag was made by an earlier (killed) run. A failed verification is journaled at once as
   done (``{op: verify, kind: archive, result: "failed: ..."}``), so a run killed after it
   still has it recorded, once, by the next apply;
3. ``remove`` the subvolume ``P<nr>`` and then each workspace (the quota backend's
   ``delete_unit``: nested subvolumes, limits and qgroups too).

The state is read from the disks alone (bag complete? subvolume and workspaces there?), so a
second run finds nothing to do and a killed run is finished by the next one. The change of a
later step is built only once the step before it succeeded (the verify change names the
manifest's SHA-256), so the journal's intent and done of a step are the same entry.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_bag import (
    ArchiveError,
    size_gb,
    write_bag_to,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_check import (
    expected as bag_expected,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_check import (
    tighten,
    verify_store,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_sftp import (
    TRANSPORT_ERRORS,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import (
    ArchiveStore,
    StoreError,
    bag_name,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_walk import (
    WalkError,
    open_project,
    walk,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_confirmed import allowed, refusal
from ansible_collections.tre.secenv.plugins.module_utils.tre_executor import (
    STOP,
    OperationError,
    Step,
    execute,
)

#: What reaching or using the archive store can raise (one line each, never a traceback).
STORE_ERRORS = (ArchiveError, StoreError, OSError, RuntimeError, *TRANSPORT_ERRORS)

#: Test hook (lab tests only), parts separated by ``;``: ``flip`` flips one byte of the first
#: archived file between the copy and the verification; ``pause:<point>:<file>`` writes the
#: module's pid to ``<file>`` at ``<point>`` (copied, archived, verified, verify-failed,
#: subvolume-removed) and waits to be killed.
TEST_HOOK = "TRE_ARCHIVE_TEST_HOOK"


def _hooks() -> list[str]:
    return [part for part in os.environ.get(TEST_HOOK, "").split(";") if part]


@dataclass
class Roots:
    projects: str
    workspaces: str


@dataclass
class Report:
    changes: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)  # {project, reason}
    verified: list[dict] = field(default_factory=list)  # {project, result, at, ...}
    operations: int = 0
    root_fixed: bool = False  # the archive root's mode was corrected


def hook(point: str) -> None:
    value = next((h for h in _hooks() if h.startswith(f"pause:{point}:")), None)
    if value is None:
        return
    with open(value.split(":", 2)[2], "w", encoding="utf-8") as handle:
        handle.write(str(os.getpid()))
    time.sleep(300)


def _flip_first_file(store: ArchiveStore, project: str) -> None:
    if "flip" not in _hooks():
        return
    for entry in store.listing(project, "data"):
        if entry.kind == "file" and entry.size:
            with store.open_read(project, entry.path) as handle:
                first = handle.read(1)
            store.patch(f"{bag_name(project)}/{entry.path}", 0, bytes([first[0] ^ 0xFF]))
            return


def _units(project: dict, roots: Roots, backend) -> tuple[str | None, list[tuple[str, str]]]:
    """The project's live quota units: its subvolume (or None) and (sam, path) workspaces."""
    quotas = dict(backend.read_all(roots.projects))
    quotas.update(backend.read_all(roots.workspaces))
    subvolume = os.path.join(roots.projects, f"P{project['project']}")
    live = subvolume if subvolume in quotas and backend.is_unit(subvolume) else None
    spaces = []
    for account in project.get("accounts") or []:
        path = os.path.join(roots.workspaces, account["sam"])
        if path in quotas and not os.path.islink(path) and backend.is_unit(path):
            spaces.append((account["sam"], path))
    return live, spaces


def _usage(backend, roots: Roots, path: str) -> int:
    quotas = dict(backend.read_all(roots.projects))
    quotas.update(backend.read_all(roots.workspaces))
    return (quotas.get(path) or (0, None))[0]


def _nested(backend, path: str) -> list[str]:
    """Subvolumes inside ``path`` (deleted with it; named in the ledger)."""
    ids = backend.subvolume_ids(os.path.dirname(path))
    return sorted(p for p in ids if p.startswith(path + "/"))


def _op(action, *args):
    def run() -> None:
        try:
            action(*args)
        except STORE_ERRORS as exc:
            raise OperationError(str(exc) or type(exc).__name__) from None

    return run


def live_units(
    project: dict, roots: Roots, backend
) -> tuple[str | None, list[tuple[str, str]]] | None:
    """``_units`` of a project, or None when it has nothing live (nothing to archive)."""
    live, spaces = _units(project, roots, backend)
    return (live, spaces) if live or spaces else None


def archive_project(
    project: dict,
    today: str,
    roots: Roots,
    store: Callable[[], ArchiveStore],
    backend,
    journal,
    check: bool,
    rep: Report,
    confirmed: set | None = None,
) -> None:
    """Plan (check mode) or do the archive, verification and removal of one ended project.

    ``store`` gives the archive store (opened on first use: a run without live data to
    archive never connects to the archive host). ``confirmed``: the irreversible steps of
    the plan the operator confirmed (``tre_confirmed``); a removal not in it is left alone
    with a warning (a refused subvolume keeps the workspaces too)."""
    nr = str(project["project"])
    label = f"P{nr}"
    try:
        units = live_units(project, roots, backend)
        if units is None:
            return  # archived already (or never had storage): nothing live to remove
        live, spaces = units
        archive = store()
        complete = archive.is_complete(nr)
        fd = open_project(roots.projects, nr) if live else None
    except (WalkError, *STORE_ERRORS) as exc:
        rep.failed.append({"project": nr, "reason": str(exc).splitlines()[0]})
        return
    if not complete and not live:
        rep.warnings.append(
            f"project {nr}: workspaces are left but no project folder and no archive;"
            " nothing removed"
        )
        return
    bag = archive.location(nr)
    try:
        if not complete:
            try:
                walked = walk(fd)
            except OSError as exc:
                rep.failed.append({"project": nr, "reason": f"reading {label}: {exc.strerror}"})
                return
            change = {
                "project": nr,
                "op": "archive",
                "kind": "archive",
                "name": label,
                "path": bag,
                "before": None,
                "after": {
                    "files": len(walked.files),
                    "bytes": walked.bytes,
                    "size_gb": size_gb(walked.bytes_under("archive")),
                    "skipped": len(walked.skipped),
                },
            }
            info = {
                "Project": nr,
                "Project-Start": project.get("start") or "",
                "Project-End": project.get("end") or "",
                "Archived-On": today,
            }
            copy = _op(write_bag_to, archive, fd, nr, info, lambda: hook("copied"))
            if not _run([Step([change], [copy], bag)], journal, check, rep, nr):
                return
            if not check:
                hook("archived")
                _flip_first_file(archive, nr)
    finally:
        if fd is not None:
            os.close(fd)
    try:
        expected = bag_expected(archive, nr) if complete or not check else {"location": bag}
    except (ValueError, *STORE_ERRORS) as exc:
        rep.failed.append({"project": nr, "reason": f"archive {bag} unreadable: {exc}"})
        return
    expected.setdefault("manifest_sha256", None)
    check_step = Step(
        [
            {
                "project": nr,
                "op": "verify",
                "kind": "archive",
                "name": label,
                "path": bag,
                "before": None,
                "after": dict(expected, result="ok"),
            }
        ],
        [_op(_verified, archive, nr, expected, rep, journal)],
        bag,
    )
    if not _run([check_step], journal, check, rep, nr):
        return
    if not check:
        hook("verified")
    for kind, name, path in [("subvolume", label, live)] + [("workspace", s, p) for s, p in spaces]:
        if path is None:
            continue
        change = {
            "project": nr,
            "op": "remove",
            "kind": kind,
            "name": name,
            "path": path,
            "before": {"usage_bytes": _usage(backend, roots, path)},
            "after": None,
            "archive": bag,
            "manifest_sha256": expected["manifest_sha256"],
            "nested_subvolumes": _nested(backend, path),
        }
        if not check and not allowed(change, confirmed):
            rep.warnings.append(refusal(change))
            if kind == "subvolume":
                return  # the workspaces stay until the subvolume is gone
            continue
        removal = Step([change], [_op(backend.delete_unit, path)], path)
        if not _run([removal], journal, check, rep, nr):
            return  # the workspaces stay until the subvolume is gone
        if kind == "subvolume" and not check:
            hook("subvolume-removed")


def _verified(store: ArchiveStore, nr: str, expected: dict, rep: Report, journal) -> None:
    at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        bag = verify_store(store, nr)
        found = bag.summary()
        differs = [k for k in ("manifest_sha256", "files", "bytes") if found[k] != expected[k]]
        if differs:
            raise ArchiveError(
                f"archive of P{nr}: {', '.join(differs)} differ from the bag-info and manifest"
            )
    except STORE_ERRORS as exc:
        result = f"failed: {str(exc) or type(exc).__name__}"
        failure = {"project": nr, "result": result, "at": at}
        # journaled as done now: a run killed from here on still has it recorded (once)
        journal.done(
            [dict(failure, op="verify", kind="archive", name=f"P{nr}", path=expected["location"])]
        )
        rep.verified.append(failure)
        hook("verify-failed")
        raise
    rep.verified.append(dict(found, project=nr, result="ok", at=at))
    private = tighten(store, nr)
    if private:
        rep.warnings.append(
            f"project {nr}: {private} name(s) in {bag.location} were readable by others;"
            " made 0600/0700"
        )


def _run(steps: list[Step], journal, check: bool, rep: Report, nr: str) -> bool:
    outcome = execute(steps, journal, check, on_failure=STOP)
    rep.changes.extend(outcome.applied)
    rep.operations += outcome.operations
    if not outcome.ok:
        rep.failed.append({"project": nr, "reason": outcome.message()})
    return outcome.ok
