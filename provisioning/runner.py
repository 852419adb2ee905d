"""The ansible-runner adapter: one run of ``playbooks/site.yml`` and what it reported.

Check mode (``tre plan``) and real mode (``tre apply``) run the same playbook. The run's
private data directory is kept (``<home>/runs/<run_id>``, 0700, files 0600) as the run's
record until pruned (``provisioning.records``); its ``env/extravars`` (the desired state) is
deleted when the run ends. No secrets: the modules read them from root-only files themselves.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import RunError
from .process import guard_command, run_environment
from .records import forget_desired, new_run_dir

#: The one playbook plan and apply run (in ``playbooks_dir()``).
PLAYBOOK = "site.yml"


#: Ansible settings for a quick start (docs/inventory.md, README "Figures"): the inventory
#: directory's known_hosts (the OSSC gateway's host key) is not an inventory source; without
#: this every run tries it with each inventory plugin and prints three warnings.
STARTUP_ENV = {"ANSIBLE_INVENTORY_IGNORE_REGEX": "^known_hosts$"}


def playbooks_dir() -> Path:
    """The Ansible project (site.yml and the tre.secenv collection).

    ``$TRE_PLAYBOOKS`` if set; else the copy inside the installed package (the wheel ships
    ``playbooks/`` as ``provisioning/playbooks``, see pyproject.toml); else ``playbooks/`` of
    the checkout beside the package (an editable install). Never the current directory.
    """
    env = os.environ.get("TRE_PLAYBOOKS")
    if env:
        candidates = [Path(env)]
    else:
        package = Path(__file__).resolve().parent
        candidates = [package / "playbooks", package.parent / "playbooks"]
    for path in candidates:
        if (path / PLAYBOOK).is_file():
            return path
    where = " nor ".join(str(p) for p in candidates)
    raise RunError(
        f"no {PLAYBOOK} in {where}: reinstall tre, or set TRE_PLAYBOOKS to the playbooks directory"
    )


def collections_path(playbooks: Path) -> str:
    paths = [playbooks / "collections"]
    cache = playbooks.parent / ".cache" / "collections"
    if cache.is_dir():
        paths.append(cache)
    return os.pathsep.join(str(p) for p in paths)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


@dataclass
class TaskResult:
    host: str
    task: str
    ok: bool
    changed: bool
    changes: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    run_id: str
    check: bool
    status: str
    rc: int
    artifacts: str
    tasks: list[TaskResult]

    @property
    def ok(self) -> bool:
        return self.status == "successful" and all(t.ok for t in self.tasks)

    @property
    def changes(self) -> list[dict[str, Any]]:
        return [dict(c, host=t.host) for t in self.tasks for c in t.changes]

    @property
    def warnings(self) -> list[str]:
        return [w for t in self.tasks for w in t.warnings]

    @property
    def unsafe(self) -> list[dict[str, Any]]:
        """Projects a module left unchanged as unsafe (``storage_unsafe``): {project, path,
        reason}. The run goes on for the others; the CLI exits 1 at the end."""
        return [u for t in self.tasks for u in t.data.get("storage_unsafe") or []]

    @property
    def ad_ids(self) -> dict[str, Any] | None:
        """The checked uid/gid numbers the AD module returned (None if it did not run)."""
        return next((t.data["ids"] for t in self.tasks if "ids" in t.data), None)

    @property
    def seat_warnings(self) -> list[dict[str, Any]]:
        """Seat pools over capacity: ``{group, holders, seats, projects}`` (tre_ad)."""
        return [w for t in self.tasks for w in t.data.get("ad_seat_warnings") or []]

    @property
    def archive_verified(self) -> list[dict[str, Any]]:
        """Every archive verification of the run (tre_archive): ``{project, result, at, ...}``."""
        found = [(t.host, v) for t in self.tasks for v in t.data.get("archive_verified") or []]
        return [dict(v, host=host) for host, v in found]

    @property
    def failures(self) -> list[str]:
        return [f"{t.host}: {t.message}" for t in self.tasks if not t.ok]


def _one_line(text: Any) -> str:
    line = " ".join(str(text).split())
    return line[:400] + ("…" if len(line) > 400 else "")


def _warnings(res: dict[str, Any]) -> list[str]:
    """The modules' own warnings (``ad_warnings``, ``storage_warnings``, ...).

    They are also raised as Ansible warnings, which land in ``warnings`` beside Ansible's
    generic ones; those are used only when a module has no ``*_warnings`` key.
    """
    keys = [k for k in res if k.endswith("_warnings")]
    found = [w for k in keys for w in res[k] or []] if keys else res.get("warnings") or []
    return [_one_line(w) for w in found if isinstance(w, str)]  # not ad_seat_warnings


#: Module results kept per task (beside changes and warnings): tre_ad's ids and seat warnings,
#: tre_storage's unsafe projects, tre_quota_report's measurement, tre_archive's verifications.
_DATA_KEYS = (
    "ids",
    "ad_seat_warnings",
    "storage_unsafe",
    "quota_usage",
    "consistent",
    "archive_verified",
    "archive_failed",
    "archive_state",
    "archive_refused",
    "restore_failed",
)


def _task_result(event: dict[str, Any]) -> TaskResult | None:
    kind = event.get("event")
    data = event.get("event_data", {})
    if kind not in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable"):
        return None
    res = data.get("res") or {}
    ok = kind == "runner_on_ok"
    message = "" if ok else _one_line(res.get("msg") or res.get("stderr") or "failed")
    if kind == "runner_on_unreachable":
        message = f"unreachable: {message}"
    return TaskResult(
        host=data.get("host", "?"),
        task=data.get("task", "?"),
        ok=ok,
        changed=bool(res.get("changed")),
        changes=list(res.get("changes") or []),
        warnings=_warnings(res),
        message=message,
        data={k: res[k] for k in _DATA_KEYS if k in res},
    )


def encode_confirmed(changes: list[dict[str, Any]]) -> str:
    """The irreversible steps of a confirmed plan as the modules take them (tre_confirmed)."""
    from .ldap import encode_confirmed as encode  # ldap.py puts the collection on sys.path

    return encode(changes)


def encode_desired(desired: dict[str, Any]) -> str:
    """The desired state as the playbook takes it: base64 of its JSON.

    Ansible evaluates template syntax in the strings of extra variables (``{{ lookup('pipe',
    ...) }}`` in a contract title would run as root). Base64 holds no such syntax; site.yml
    decodes it with a filter, whose result Ansible never evaluates again.
    """
    text = json.dumps(desired, sort_keys=True, ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _extravars(
    desired: dict[str, Any],
    force: bool,
    journal: Path | None,
    confirmed: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    extravars: dict[str, Any] = {"tre_desired_b64": encode_desired(desired), "tre_force": force}
    if confirmed is not None:  # the plan the operator confirmed binds the irreversible steps
        extravars["tre_confirmed_b64"] = encode_confirmed(confirmed)
    # site.yml skips the OSSC hand-off without projects that use it (2.9 MB for nothing)
    extravars["tre_ossc_projects"] = sum(1 for p in desired.get("projects", []) if p.get("ossc"))
    # and the project files play without moved projects or transfers (docs/storage.md)
    extravars["tre_file_projects"] = sum(
        1 for p in desired.get("projects", []) if p.get("moved_to") or p.get("transfers")
    )
    # and the restore play without a reopened project to restore (issue 12)
    extravars["tre_restore_projects"] = sum(
        1 for p in desired.get("projects", []) if p.get("restore")
    )
    if journal is not None:
        extravars["tre_journal_dir"] = str(journal)
    return extravars


def _change_key(change: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in change.items() if k != "journal"}, sort_keys=True)


def journal_host(stem: str) -> str:
    """The host a journal file belongs to: site.yml names them ``<task>@<inventory host>``."""
    return stem.split("@", 1)[1] if "@" in stem else stem


def journal_entries(private: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What the modules journaled in a run: (done, pending).

    ``pending`` are intents without a ``done``: the kill came while the change was under way,
    so it may or may not have happened (see ``orchestrate.confirm_pending``).
    """
    done: list[dict[str, Any]] = []
    intents: list[dict[str, Any]] = []
    for path in sorted((private / "journal").glob("*.jsonl")):
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = dict(json.loads(line), host=journal_host(path.stem))
            except ValueError:
                continue  # a line cut by the kill
            (intents if entry.pop("journal", "done") == "intent" else done).append(entry)
    finished = {_change_key(c) for c in done}
    pending = [c for c in intents if _change_key(c) not in finished]
    return done, pending


def run_site(
    inventory: Path,
    desired: dict[str, Any],
    *,
    check: bool,
    home: Path,
    force: bool = False,
    run_id: str | None = None,
    confirmed: list[dict[str, Any]] | None = None,
) -> RunResult:
    """Run site.yml once over the whole desired state; never raises for task failures.

    ``confirmed``: the changes of the plan the operator confirmed; their irreversible steps
    are the only ones the modules may take (docs/safety.md)."""
    playbooks = playbooks_dir()
    run_id = run_id or new_run_id()
    private = new_run_dir(home, run_id)
    runner = _run(
        private,
        playbooks,
        PLAYBOOK,
        inventory,
        check,
        run_id,
        _extravars(desired, force, None if check else private / "journal", confirmed),
    )
    forget_desired(private)
    return _result(runner, run_id, check, private)


def _result(runner: Any, run_id: str, check: bool, private: Path) -> RunResult:
    tasks = [t for t in map(_task_result, runner.events) if t is not None]
    result = RunResult(run_id, check, runner.status, runner.rc or 0, str(private), tasks)
    if runner.status != "successful" and not result.failures:
        # Failed before any task (inventory or syntax error): say so from stdout's tail.
        tail = _stdout_tail(private)
        result.tasks.append(TaskResult("ansible", "start", False, False, message=tail))
    return result


def run_read(inventory: Path, playbook: str, extravars: dict[str, Any], private: Path) -> RunResult:
    """Run a read-only playbook beside site.yml (``measure.yml``) in check mode, with its
    ansible-runner directory at ``private`` (the caller's, e.g. a temporary directory)."""
    playbooks = playbooks_dir()
    if not (playbooks / playbook).is_file():
        raise RunError(f"no {playbook} in {playbooks}")
    run_id = new_run_id()
    runner = _run(private, playbooks, playbook, inventory, True, run_id, extravars)
    return _result(runner, run_id, True, private)


def run_playbook(
    inventory: Path,
    playbook: str,
    extravars: dict[str, Any],
    *,
    check: bool,
    home: Path,
    run_id: str,
) -> RunResult:
    """Run another playbook beside site.yml (``archive.yml``) for real or in check mode; its
    ansible-runner directory is kept as the run's record (``<home>/runs/<run_id>``,
    the journal of the modules under ``journal/``)."""
    playbooks = playbooks_dir()
    if not (playbooks / playbook).is_file():
        raise RunError(f"no {playbook} in {playbooks}")
    private = new_run_dir(home, run_id)
    extravars = dict(extravars, tre_journal_dir=str(private / "journal"))
    runner = _run(private, playbooks, playbook, inventory, check, run_id, extravars)
    return _result(runner, run_id, check, private)


def _run(
    private: Path,
    playbooks: Path,
    playbook: str,
    inventory: Path,
    check: bool,
    run_id: str,
    extravars: dict[str, Any],
) -> Any:
    import ansible_runner  # heavy import: only when a run happens

    binary, cmdline = _guarded_command(check, playbook)
    return ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(playbooks),
        playbook=playbook,
        binary=binary,
        inventory=str(inventory.resolve()),
        extravars=extravars,
        cmdline=cmdline,
        envvars={
            **run_environment(run_id),
            "ANSIBLE_COLLECTIONS_PATH": collections_path(playbooks),
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "True",
            # ansible-runner empties results above 700,000 characters by default; a first
            # apply of hundreds of projects reports more changes than that.
            "MAX_EVENT_RES": "100000000",
            **STARTUP_ENV,
        },
        ident="run",
        quiet=True,
    )


def _guarded_command(check: bool, playbook: str = PLAYBOOK) -> tuple[str, str]:
    """ansible-runner's ``binary`` and ``cmdline``: ansible-playbook started by the guard.

    The guard (``provisioning.process``) ties the playbook's life to tre's. With ``binary``
    set, ansible-runner no longer appends the playbook itself: it leads the arguments.
    """
    binary, lead = guard_command()
    args = [*lead, playbook]
    # --diff only for plans: an apply reports through `changes`, the diff would double it
    if check:
        args += ["--check", "--diff"]
    return binary, shlex.join(args)


def _stdout_tail(private: Path) -> str:
    stdout = private / "artifacts" / "run" / "stdout"
    try:
        lines = [ln for ln in stdout.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "ansible-playbook failed before running any task"
    errors = [ln for ln in lines if "ERROR" in ln or "error" in ln.lower()]
    return _one_line((errors or lines or ["ansible-playbook failed"])[-1])
