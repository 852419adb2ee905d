"""Start and stop the throwaway QEMU VM of the Molecule scenario `vm` (docs/molecule.md).

    vmctl.py start --image DIR --state DIR [--forward ADDR:PORT ...] [--data-size 1G]
    vmctl.py stop --state DIR

``start`` boots the cached image (scripts/build-vm-image.sh) on a copy-on-write overlay, with
a second, empty raw disk (/dev/vdb, for XFS), a fresh ed25519 key pair for root (handed to
the guest on the kernel command line), QEMU user-mode networking only (``restrict=on``: the
guest reaches nothing but the forwards) with SSH on a free ``127.0.0.1`` port
(``hostfwd``), then opens an SSH reverse tunnel per ``--forward`` so the guest reaches the
lab's loopback services at the same address (``127.0.10.1:636`` in the guest is the lab DC).
KVM is used when a probe boot under KVM reaches the kernel's panic on a missing root within
6 s, otherwise TCG (the default here: KVM guests hang on this machine). ``TRE_VM_ACCEL=tcg``
or ``kvm`` skips the probe. Prints the instance as JSON.

``stop`` ends the tunnel and QEMU (by the pids recorded in the state folder, each checked
against its command line first) and removes the state folder: overlay, data disk, keys.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SSH_OPTS = [
    "-o", "StrictHostKeyChecking=no",  # a VM booted a moment ago, on our own loopback port
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "IdentitiesOnly=yes",
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=5",
]  # fmt: skip
PROBE_SECONDS = 6  # a working KVM guest panics on the missing root in 1-2 s
BOOT_TIMEOUT = int(os.environ.get("TRE_VM_BOOT_TIMEOUT", "420"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def probe_kvm(image: Path, state: Path) -> bool:
    """Whether a KVM guest runs here: boot the kernel without a root file system; a working
    guest panics ("VFS: Unable to mount root") within seconds, a broken one hangs or aborts."""
    forced = os.environ.get("TRE_VM_ACCEL", "")
    if forced in ("kvm", "tcg"):
        return forced == "kvm"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    log = state / "kvm-probe.log"
    argv = [
        "qemu-system-x86_64", "-accel", "kvm", "-m", "256", "-kernel", str(image / "vmlinuz"),
        "-append", "console=ttyS0 panic=-1 edd=off", "-nographic", "-no-reboot", "-nic", "none",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return b"VFS: Unable to mount root" in log.read_bytes()


def ssh_argv(state: Path, port: int, *extra: str) -> list[str]:
    return ["ssh", *SSH_OPTS, "-i", str(state / "id_ed25519"), "-p", str(port), *extra]


def alive(pid: int, marker: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return marker.encode() in cmdline


def wait_ssh(state: Path, port: int, qemu_pid: int, started: float) -> None:
    while time.monotonic() - started < BOOT_TIMEOUT:
        if not alive(qemu_pid, str(state)):
            raise SystemExit(f"QEMU exited during boot; console: {console_tail(state)}")
        probe = subprocess.run(
            ssh_argv(state, port, "root@127.0.0.1", "true"), capture_output=True, timeout=60
        )
        if probe.returncode == 0:
            return
        time.sleep(2)
    raise SystemExit(f"no SSH after {BOOT_TIMEOUT} s; console: {console_tail(state)}")


def console_tail(state: Path) -> str:
    try:
        lines = (state / "console.log").read_text(errors="replace").splitlines()
    except OSError:
        return "(no console log)"
    return " | ".join(line.strip() for line in lines[-5:])


def start(args: argparse.Namespace) -> dict:
    image, state = Path(args.image).resolve(), Path(args.state).resolve()
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = state / "id_ed25519"
    if not key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tre-vm", "-f", str(key)],
            check=True,
        )
    pub_type, pub_blob = (state / "id_ed25519.pub").read_text().split()[:2]
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
         "-b", str(image / "root.img"), str(state / "root.qcow2")],
        check=True,
    )  # fmt: skip
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "raw", str(state / "data.img"), args.data_size],
        check=True,
    )
    kvm = probe_kvm(image, state)
    port = free_port()
    append = (
        f"root=/dev/vda rw console=ttyS0 edd=off quiet systemd.show_status=0 "
        f"tre.key={pub_type},{pub_blob}"
    )
    argv = [
        "qemu-system-x86_64", "-name", "tre-vm,process=tre-vm",
        "-accel", "kvm" if kvm else "tcg,thread=multi",
        # KVM: QEMU's default CPU, as in the probe (-cpu host|max abort here on MSR 0x10a)
        *([] if kvm else ["-cpu", "max"]), "-smp", "2", "-m", args.memory,
        "-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initrd.img"),
        "-append", append,
        "-drive", f"file={state / 'root.qcow2'},if=virtio,format=qcow2,cache=unsafe",
        "-drive", f"file={state / 'data.img'},if=virtio,format=raw,cache=unsafe",
        "-nic", f"user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:22",
        "-display", "none", "-serial", f"file:{state / 'console.log'}",
        "-pidfile", str(state / "qemu.pid"), "-daemonize",
    ]  # fmt: skip
    started = time.monotonic()
    subprocess.run(argv, check=True)
    qemu_pid = int((state / "qemu.pid").read_text())
    wait_ssh(state, port, qemu_pid, started)
    booted = time.monotonic() - started
    tunnel_pid = None
    if args.forward:
        remote = []
        for forward in args.forward:
            remote += ["-R", f"{forward}:{forward}"]  # the same loopback address in the guest
        with (state / "tunnel.log").open("wb") as log:
            tunnel = subprocess.Popen(
                ssh_argv(state, port, "-N", "-o", "ExitOnForwardFailure=yes",
                         "-o", "ServerAliveInterval=10", *remote, "root@127.0.0.1"),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        tunnel_pid = tunnel.pid
        time.sleep(2)
        if tunnel.poll() is not None:
            raise SystemExit(f"SSH tunnel failed: {(state / 'tunnel.log').read_text().strip()}")
    instance = {
        "port": port,
        "identity_file": str(key),
        "accel": "kvm" if kvm else "tcg",
        "boot_seconds": round(booted, 1),
        "qemu_pid": qemu_pid,
        "tunnel_pid": tunnel_pid,
        "forwards": args.forward or [],
    }
    (state / "instance.json").write_text(json.dumps(instance))
    return instance


def _end(pid: int | None, marker: str) -> bool:
    if not pid or not alive(pid, marker):
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if not alive(pid, marker):
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


def stop(args: argparse.Namespace) -> dict:
    state = Path(args.state).resolve()
    if not state.exists():
        return {"stopped": False}
    try:
        instance = json.loads((state / "instance.json").read_text())
    except (OSError, ValueError):
        instance = {}
    ended = _end(instance.get("tunnel_pid"), str(state / "id_ed25519"))
    qemu_pid = instance.get("qemu_pid")
    if qemu_pid is None and (state / "qemu.pid").exists():
        qemu_pid = int((state / "qemu.pid").read_text() or 0)
    ended = _end(qemu_pid, str(state)) or ended
    shutil.rmtree(state)
    return {"stopped": ended}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("start")
    up.add_argument("--image", required=True)
    up.add_argument("--state", required=True)
    up.add_argument("--forward", action="append", help="ADDR:PORT on the host's loopback")
    up.add_argument("--data-size", default="1G")
    up.add_argument("--memory", default="1024")
    down = sub.add_parser("stop")
    down.add_argument("--state", required=True)
    args = parser.parse_args()
    result = start(args) if args.command == "start" else stop(args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
