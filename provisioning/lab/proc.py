"""Small process helpers shared by the lab parts: run a command, pidfiles, wait for a port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from provisioning.errors import LabError


@dataclass
class Report:
    """What `up`/`down` did, line by line; ``echo`` shows each line as it happens."""

    echo: Callable[[str], None] | None = None
    actions: list[str] = field(default_factory=list)

    def did(self, message: str) -> None:
        self.actions.append(message)
        if self.echo:
            self.echo(message)

    def say(self, message: str) -> None:
        """Progress that is not a change (e.g. 'waiting for LDAPS')."""
        if self.echo:
            self.echo(message)


def run(
    cmd: Sequence[str | os.PathLike[str]],
    what: str,
    *,
    input: str | None = None,
    check: bool = True,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; on failure raise a one-line ``LabError`` naming ``what`` failed and why."""
    args = [str(a) for a in cmd]
    try:
        proc = subprocess.run(
            args, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as e:
        raise LabError(f"{what}: command not found: {args[0]}") from e
    except subprocess.TimeoutExpired as e:
        raise LabError(f"{what}: {args[0]} did not finish within {timeout:.0f} s") from e
    if check and proc.returncode != 0:
        raise LabError(
            f"{what}: {last_line(proc.stderr or proc.stdout) or f'exit {proc.returncode}'}"
        )
    return proc


def last_line(text: str) -> str:
    """The last non-empty line of a command's output (the one that usually says why)."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def read_pid(pidfile: Path) -> int | None:
    """The pid in ``pidfile`` if that process is alive, else None."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    # a zombie or a recycled pid of another program does not count
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return None if state == "Z" else pid


def stop_pid(pidfile: Path, timeout: float = 10) -> bool:
    """SIGTERM the process in ``pidfile`` (its group if it leads one), then SIGKILL; True if
    one was running."""
    pid = read_pid(pidfile)
    if pid is None:
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if read_pid(pidfile) is None or not _alive(pid):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(
    check: Callable[[], bool],
    what: str,
    timeout: float = 60,
    step: float = 0.2,
    died: Callable[[], str | None] | None = None,
) -> None:
    """Poll ``check`` until true; raise ``LabError`` after ``timeout`` seconds, or as soon as
    ``died()`` returns a reason (the process we wait for has exited)."""
    deadline = time.monotonic() + timeout
    grace = time.monotonic() + 2  # a daemon writes its pidfile only after forking
    while time.monotonic() < deadline:
        if check():
            return
        if died is not None and time.monotonic() > grace:
            reason = died()
            if reason:
                raise LabError(f"{what} did not come up: {reason}")
        time.sleep(step)
    raise LabError(f"{what} did not come up within {timeout:.0f} s")


def exited(pidfile: Path, log: Path) -> Callable[[], str | None]:
    """For ``wait_for(died=...)``: the log's last line once the process in ``pidfile`` is gone."""

    def reason() -> str | None:
        if read_pid(pidfile) is not None:
            return None
        try:
            tail = last_line(log.read_text(errors="replace")[-4000:])
        except OSError:
            tail = ""
        return f"it exited ({log}: {tail})" if tail else f"it exited (see {log})"

    return reason


def ensure_free(host: str, port: int, what: str) -> None:
    """Refuse to start ``what`` when something else already listens on its address."""
    if port_open(host, port):
        raise LabError(f"cannot start {what}: {host}:{port} is already in use by another process")


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to a root-only file (0600) in a root-only directory (0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def write_if_changed(path: Path, text: str, mode: int | None = None) -> bool:
    """Write ``text`` unless the file already holds it; True when written (idempotent ``up``)."""
    with contextlib.suppress(OSError):
        if path.read_text() == text:
            return False
    path.write_text(text)
    if mode is not None:
        os.chmod(path, mode)
    return True
