"""The apply lock of a PostgreSQL store (lab: a real server): a second holder is refused in
one line naming the first (actor, host, pid, run id); a killed holder frees it at once. And
a password in a store URL never reaches a message."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from provisioning.errors import StateError
from provisioning.state import StateStore, shown
from provisioning.state.lock import advisory_apply_lock

HOLD = """
import sys, time
from provisioning.state.lock import advisory_apply_lock
with advisory_apply_lock(sys.argv[1], "bob") as held:
    held.running("r-killed")
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.mark.lab
def test_a_second_holder_is_refused_naming_the_first(pg_state_url):
    state_url = pg_state_url
    with advisory_apply_lock(state_url, "alice") as held:
        held.running("20261201T101500Z-1a2b3c4d")
        with pytest.raises(StateError) as e, advisory_apply_lock(state_url, "bob"):
            pass
    line = str(e.value)
    assert "\n" not in line
    assert (
        f"holds the apply lock of {shown(state_url)}: alice on {socket.gethostname()} (pid"
        f" {os.getpid()}, run 20261201T101500Z-1a2b3c4d, since "
    ) in line
    with advisory_apply_lock(state_url, "bob"):  # released: free again
        pass


@pytest.mark.lab
def test_a_killed_holder_frees_the_lock(pg_state_url):
    state_url = pg_state_url
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, state_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(StateError, match=r"bob on .*run r-killed"),
            advisory_apply_lock(state_url, "carol"),
        ):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    start = time.monotonic()
    with advisory_apply_lock(state_url, "carol", wait_seconds=10):
        pass
    assert time.monotonic() - start < 5


def test_a_password_in_the_url_is_never_shown():
    url = "postgresql://tre:s3cret-pw@127.0.0.1:1/tre"
    assert shown(url) == "postgresql://tre:***@127.0.0.1:1/tre"
    with pytest.raises(StateError) as e:
        StateStore(url)
    assert "s3cret-pw" not in str(e.value) and "\n" not in str(e.value)
    assert str(e.value).startswith("cannot open the state store postgresql://tre:***@")
