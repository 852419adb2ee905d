"""The processes of one Ansible run: tied to tre's life, marked, and waited for.

ansible-runner starts ``ansible-playbook`` under pexpect in its own session with SIGHUP
ignored, so a ``kill -9`` of tre alone would leave it running: it would start the next tasks
and its modules would go on writing the killed run's journal while the next apply already
reads it. Two measures close that:

- ``ansible-playbook`` is started through :func:`guard_main` (``python -m
  provisioning.process``), which asks the kernel to SIGKILL it when tre dies
  (``PR_SET_PDEATHSIG``) and then execs ``ansible-playbook``: no task starts after tre died.
- ``ansible-playbook`` is the one beside the running interpreter (the venv's ``bin``), so
  ``/opt/tre/bin/tre apply`` works without the venv on ``PATH`` (systemd, cron); that
  directory is also put first on the run's ``PATH``. Only if it has none, ``PATH`` decides.
- Every process of the run carries ``TRE_RUN_ID=<run id>`` in its environment (Ansible's
  workers and the modules they start inherit it). A module already running when tre died
  finishes its batch and its journal; :func:`wait_for_run` lets the next apply wait for it
  before it reads that journal.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

#: The environment variable that marks every process of a run (value: the run id).
RUN_MARKER = "TRE_RUN_ID"
#: The pid of tre, for the guard to notice a tre that died before the guard was armed.
PARENT_PID = "TRE_PARENT_PID"
#: What the guard execs.
PLAYBOOK_BINARY = "ansible-playbook"
_PR_SET_PDEATHSIG = 1


def run_environment(run_id: str) -> dict[str, str]:
    """Variables to add to the run's environment (ansible-runner's ``envvars``)."""
    return {RUN_MARKER: run_id, PARENT_PID: str(os.getpid())}


def guard_command() -> tuple[str, list[str]]:
    """The binary and leading arguments that start ``ansible-playbook`` through the guard.

    The same interpreter as tre's, so the guard is importable wherever tre is.
    """
    return sys.executable, ["-m", "provisioning.process"]


def playbook_binary() -> str:
    """``ansible-playbook`` beside the running interpreter if there is one, else its name."""
    beside = Path(sys.executable).parent / PLAYBOOK_BINARY  # not resolved: the venv's bin
    return str(beside) if os.access(beside, os.X_OK) else PLAYBOOK_BINARY


def _set_parent_death_signal(sig: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def guard_main(argv: list[str]) -> None:
    """Arm the parent-death signal, then become ``ansible-playbook ARGV``.

    The death signal survives ``exec`` but belongs to the thread that forked this process:
    ansible-runner runs in tre's main thread. If tre died before the signal was armed,
    stop here instead of starting a playbook nobody waits for.
    """
    _set_parent_death_signal(signal.SIGKILL)
    expected = os.environ.get(PARENT_PID)
    if expected is not None and str(os.getppid()) != expected:
        sys.stderr.write("tre ended before ansible-playbook started; not starting it\n")
        raise SystemExit(1)
    binary = playbook_binary()
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", os.defpath).split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join([bin_dir, *(p for p in path if p != bin_dir)])
    try:
        os.execvp(binary, [binary, *argv])
    except OSError as e:
        sys.stderr.write(f"ERROR: cannot start {PLAYBOOK_BINARY}: {e.strerror}\n")
        raise SystemExit(127) from None


def _environ(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone meanwhile, or not ours to read (then not tre's either)
        return b""


def run_processes(run_id: str) -> list[int]:
    """Pids of the live processes that carry ``TRE_RUN_ID=<run_id>``."""
    marker = f"{RUN_MARKER}={run_id}".encode()
    pids = (p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid())
    return [int(p) for p in pids if marker in _environ(p).split(b"\0")]


def wait_for_run(
    run_ids: Iterable[str],
    limit: float = 900,
    say: Callable[[str], None] | None = None,
    after: float = 5,
) -> list[int]:
    """Wait until no process of these runs is alive; at most ``limit`` seconds.

    ``say`` gets one line once the wait has taken ``after`` seconds. Returns the pids still
    alive at the limit (empty when all ended).
    """
    ids = list(run_ids)
    start = time.monotonic()
    told = False
    while True:
        alive = [pid for run_id in ids for pid in run_processes(run_id)]
        if not alive:
            return []
        waited = time.monotonic() - start
        if waited >= limit:
            return alive
        if say is not None and not told and waited >= after:
            say(
                f"waiting for {len(alive)} process(es) of interrupted run(s) {', '.join(ids)}"
                f" to end (pid {alive[0]}; at most {limit:.0f} s)"
            )
            told = True
        time.sleep(0.2)


if __name__ == "__main__":
    guard_main(sys.argv[1:])
