"""The ledger's actor: the real uid's user, and the sudo caller only from sudo itself."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from provisioning import orchestrate
from provisioning.orchestrate import actor

PARENT = 4242


def fake_parent(proc: Path, exe: str, real_uid: int) -> Path:
    """A /proc/<ppid> with the parent's executable and its real uid."""
    parent = proc / str(PARENT)
    parent.mkdir(parents=True)
    (parent / "exe").symlink_to(exe)
    (parent / "status").write_text(f"Name:\tx\nUid:\t{real_uid}\t0\t0\t0\nGid:\t0\t0\t0\t0\n")
    return proc


@pytest.fixture
def as_root(monkeypatch):
    monkeypatch.setattr(orchestrate.os, "getuid", lambda: 0)
    monkeypatch.setattr(orchestrate.os, "getppid", lambda: PARENT)


def a_user() -> pwd.struct_passwd:
    return next(p for p in pwd.getpwall() if p.pw_uid != 0)


def test_sudo_user_set_by_hand_is_not_the_actor(monkeypatch):
    monkeypatch.setenv("SUDO_USER", "mallory")
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    assert actor() == pwd.getpwuid(os.getuid()).pw_name


def test_root_under_sudo_records_both_from_the_sudo_process(tmp_path, as_root, monkeypatch):
    user = a_user()
    monkeypatch.setenv("SUDO_USER", "mallory")  # `sudo env SUDO_USER=mallory tre ...`
    proc = fake_parent(tmp_path, "/usr/bin/sudo", user.pw_uid)
    assert actor(proc) == f"root (sudo by {user.pw_name})"


def test_root_whose_parent_is_not_sudo_is_root(tmp_path, as_root, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "mallory")
    proc = fake_parent(tmp_path, "/bin/bash", a_user().pw_uid)
    assert actor(proc) == "root"


def test_root_running_sudo_as_root_is_root(tmp_path, as_root):
    assert actor(fake_parent(tmp_path, "/usr/bin/sudo", 0)) == "root"


def test_parent_gone_is_root(tmp_path, as_root):
    assert actor(tmp_path) == "root"


def test_uid_without_a_name(monkeypatch):
    monkeypatch.setattr(orchestrate.os, "getuid", lambda: 54321)
    monkeypatch.setattr(orchestrate.pwd, "getpwuid", pwd_missing)
    assert actor() == "uid 54321"


def pwd_missing(uid: int) -> pwd.struct_passwd:
    raise KeyError(uid)
