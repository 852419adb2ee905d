"""The archive host's side of retention on the test's own directory (module_utils
tre_archive_retention and tre_archive_purge's plan): verify, refusals, detach and delete,
never following a link. The lab tests run the modules through Ansible on the archive host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_retention import (
    Root,
    purge_problem,
    state_of,
    verify_one,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_executor import execute
from ansible_collections.tre.secenv.plugins.modules.tre_archive_purge import plan

from tests.bag_fixtures import make_bag, manifest_sha256


@pytest.fixture
def root(tmp_path: Path):
    (tmp_path / "archive").mkdir(mode=0o700)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "precious.txt").write_text("keep me")
    r = Root(str(tmp_path / "archive"))
    yield r
    r.close()


def _purge(root: Root, detach=(), delete=(), inspect=(), check=False) -> dict:
    rep = {"archive_state": {}, "archive_refused": []}
    params = {"detach": list(detach), "delete": list(delete), "inspect": list(inspect)}
    rep["changes"] = execute(plan(root, params, rep), None, check, "isolate").applied
    return rep


def test_verify_reports_ok_then_the_first_failing_file_only(root: Root) -> None:
    bag = make_bag(Path(root.path), "7001")
    ok = verify_one(root, "7001")
    assert (ok["result"], ok["files"], ok["manifest_sha256"]) == ("ok", 2, manifest_sha256(bag))
    target = bag / "data" / "archive" / "results.zip"
    data = bytearray(target.read_bytes())
    data[7] ^= 0x01
    target.write_bytes(bytes(data))
    bad = verify_one(root, "7001")
    assert bad["first_failure"] == "data/archive/results.zip"
    assert bad["result"].startswith("failed: ") and "PK-not" not in bad["result"]


def test_links_are_refused_and_never_followed(root: Root, tmp_path: Path) -> None:
    bag = make_bag(Path(root.path), "7002")
    sha = manifest_sha256(bag)
    (bag / "data" / "OtherData" / "out").symlink_to(tmp_path / "outside")
    assert "not a regular file or directory" in verify_one(root, "7002")["result"]
    (Path(root.path) / "P7003").symlink_to(tmp_path / "outside")
    assert "a symbolic link; refused" in verify_one(root, "7003")["result"]
    assert "a symbolic link; refused" in purge_problem(root, "7003", sha)
    rep = _purge(root, detach=[{"project": "7003", "manifest_sha256": sha}], delete=["7003"])
    assert rep["changes"] == [] and rep["archive_state"]["7003"].startswith("unsafe")
    # the bag with a link inside goes, the link with it; what it pointed to stays
    rep = _purge(root, detach=[{"project": "7002", "manifest_sha256": sha}])
    assert [c["op"] for c in rep["changes"]] == ["detach"]
    rep = _purge(root, delete=["7002"])
    assert [c["op"] for c in rep["changes"]] == ["delete"]
    assert not os.path.lexists(Path(root.path) / ".purging-P7002")
    assert (tmp_path / "outside" / "precious.txt").read_text() == "keep me"
    assert os.path.islink(Path(root.path) / "P7003")  # never a target of delete


def test_detach_needs_the_recorded_manifest_and_delete_only_takes_detached(root: Root) -> None:
    bag = make_bag(Path(root.path), "7004")
    rep = _purge(root, detach=[{"project": "7004", "manifest_sha256": "0" * 64}])
    assert rep["changes"] == [] and "not the recorded one" in rep["archive_refused"][0]["reason"]
    assert _purge(root, delete=["7004"])["changes"] == []  # whole: never deleted
    item = {"project": "7004", "manifest_sha256": manifest_sha256(bag)}
    check = _purge(root, detach=[item], check=True)
    assert [c["op"] for c in check["changes"]] == ["detach"] and bag.is_dir()  # check mode
    _purge(root, detach=[item])
    assert state_of(root, "7004") == "detached" and not bag.exists()
    assert _purge(root, detach=[item])["changes"] == []  # detached already: nothing again
    _purge(root, delete=["7004"])
    assert state_of(root, "7004") == "gone"
    assert _purge(root, delete=["7004"], inspect=["7004"])["changes"] == []


@pytest.mark.parametrize(
    "line",
    [
        "../outside/precious.txt",  # leaves the bag
        "/etc/hostname",  # absolute
        "data/%00x",  # a NUL once decoded
        "bag%zzinfo.txt",  # not a %-escape
    ],
)
def test_a_tampered_tag_manifest_is_a_failed_verification_never_a_crash(
    root: Root, line: str
) -> None:
    """The tag manifest is the bag's own, so anyone who can write the archive can put any
    line in it: verify reports the archive failed, one line, and never reads outside it."""
    bag = make_bag(Path(root.path), "7004")
    tags = bag / "tagmanifest-sha256.txt"
    tags.write_text(tags.read_text() + f"{'0' * 64}  {line}\n")
    got = verify_one(root, "7004")
    assert got["result"].startswith("failed: ") and "\n" not in got["result"]
    manifest = bag / "manifest-sha256.txt"
    tags.write_text(tags.read_text().replace(f"{'0' * 64}  {line}\n", ""))
    manifest.write_text(manifest.read_text() + f"{'0' * 64}  {line}\n")
    got = verify_one(root, "7004")
    assert got["result"].startswith("failed: ") and "\n" not in got["result"]
