"""The verified archive at the end of a project, against the lab (issue 11, second half).

`--today` steps from active to ended: the plan lists the archive, its verification and every
removal; the apply writes the bag, reads it back, then removes the subvolume, the workspaces
and their qgroups. Files and checksums are compared with what the researchers left, the
state store and the ledger are read back, a second apply changes nothing. A byte flipped
between copy and verification deletes nothing (exit 1, one line); links, FIFOs and hard links
never bring in anything from outside the project.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.integration.archive_helpers import (
    ENDED,
    bag_files,
    folder,
    put_files,
    qgroup_ids,
    set_up,
    subvolume_id,
)
from tests.integration.helpers import tre, tre_json

pytestmark = pytest.mark.lab


def _archive_row(tmp_path: Path, project: str) -> dict:
    db = sqlite3.connect(tmp_path / "state.db")
    db.row_factory = sqlite3.Row
    row = db.execute("SELECT * FROM archives WHERE project = ?", (project,)).fetchone()
    return dict(row) if row else {}


def _ledger(env: dict, project: str) -> list[tuple[str, str, str]]:
    ledger = tre_json("project", "show", project, env=env)["ledger"]
    return [(e["op"], e["kind"], e["name"]) for e in ledger]


def test_archive_at_the_end_files_checksums_state_and_ledger(lab_inventory, tmp_path):
    project = "7800"
    v, env, path = set_up(tmp_path, project)
    kept = put_files(v, project)
    top = folder(v, project)
    spaces = [Path(v["tre_workspaces_root"]) / f"p{project}.{p}" for p in ("jdevries", "zvanthoff")]
    qgroups = {subvolume_id(p) for p in [top, *spaces]}
    assert qgroups <= qgroup_ids(v)
    assert (top / "archive").is_dir()  # made at setup, beside export, import, OtherData

    still = tre_json("apply", str(path), "--today", "2027-01-31", "--yes", env=env)
    assert [c for c in still["changes"] if c["kind"] in ("archive", "subvolume")] == []

    plan = tre("plan", str(path), "--today", ENDED, env=env).stdout
    where = f"sftp://{v['tre_archive_sftp_user']}@{v['tre_archive_sftp_host']}:2222/archive"
    assert f"> archive P{project} (4 files, 3.4 MB) to {where}/P{project}" in plan
    assert f"> verify P{project} archive, read back against its manifest" in plan
    assert f"- remove subvolume P{project} after verified archive" in plan
    assert f"- remove workspace p{project}.jdevries after verified archive" in plan

    root = Path(v["tre_archive_root"])
    os.chmod(root, 0o755)  # the module makes the archive root 0700 again (and says so)
    try:
        done = tre_json("apply", str(path), "--today", ENDED, "--yes", env=env)
    finally:
        mode = stat.S_IMODE(root.stat().st_mode)
        os.chmod(root, 0o700)
    assert mode == 0o700
    assert any("was 0755; set to 0700" in w for w in done["warnings"]), done["warnings"]
    steps = [(c["op"], c["kind"]) for c in done["changes"] if c["op"] in ("archive", "verify")]
    steps += [(c["op"], c["kind"]) for c in done["changes"] if c["op"] == "remove"]
    assert steps == [
        ("archive", "archive"),
        ("verify", "archive"),
        ("remove", "subvolume"),
        ("remove", "workspace"),
        ("remove", "workspace"),
    ]
    bag = Path(v["tre_archive_root"]) / f"P{project}"
    assert bag_files(bag) == kept  # byte for byte; export/ and workspaces never
    manifest = (bag / "manifest-sha256.txt").read_bytes()
    listed = dict(reversed(ln.split("  data/", 1)) for ln in manifest.decode().splitlines())
    notes = "archive/sub dir/notities 100%.txt"  # % is written %25 in a manifest (BagIt)
    assert listed[notes.replace("%", "%25")] == kept[notes]
    assert len(listed) == len(kept)
    size = sum((bag / "data" / p).stat().st_size for p in kept)
    info = (bag / "bag-info.txt").read_text()
    assert f"Payload-Oxum: {size}.4" in info
    assert "Archived-On: 2027-02-01" in info and "Volgend-Project-Entries: 2" in info
    follow = (bag / "volgend-project.txt").read_text().splitlines()
    assert [ln.split("\t")[:2] for ln in follow] == [
        ["archive/resultaten.zip", "volgend project/cohort.csv"],
        ["archive/resultaten.zip", "volgend project/syntax/model.do"],
    ]
    assert not top.exists() and not any(p.exists() for p in spaces)
    assert not qgroups & qgroup_ids(v)  # the qgroups went with the subvolumes

    row = _archive_row(tmp_path, project)
    assert row["status"] == "live-removed" and row["verify_result"] == "ok"
    assert row["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert (row["files"], row["bytes"], row["size_gb"]) == (4, size, 1)
    # written over SFTP: the row names the archive host's bag, which is `bag` on its disk
    assert (row["archived_on"], row["location"]) == (ENDED, f"{where}/P{project}")
    owner = pwd.getpwnam(v["tre_archive_sftp_user"]).pw_uid
    for written in [bag, *bag.rglob("*")]:
        st = written.lstat()
        private = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (owner, private), written
    show = tre_json("project", "show", project, env=env)
    assert (show["project"]["status"], show["project"]["status_since"]) == ("archived", ENDED)
    removed = [e for e in show["ledger"] if e["op"] == "remove"]
    assert {e["detail"]["path"] for e in removed} == {str(top), *map(str, spaces)}
    assert all(e["detail"]["manifest_sha256"] == row["manifest_sha256"] for e in removed)

    assert tre_json("apply", str(path), "--today", ENDED, "--yes", env=env)["changes"] == []
    later = tre_json("apply", str(path), "--today", "2027-03-01", "--yes", env=env)
    assert later["changes"] == [] and not top.exists()  # nothing made again
    listed_on = {
        day: [r["status"] for r in tre_json("project", "list", "--today", day, env=env)]
        for day in ("2027-01-15", "2027-03-01")
    }
    assert listed_on == {"2027-01-15": ["active"], "2027-03-01": ["archived"]}
    assert _ledger(env, project).count(("archive", "archive", f"P{project}")) == 1


def test_failed_verification_deletes_nothing(lab_inventory, tmp_path):
    project = "7801"
    v, env, path = set_up(tmp_path, project)
    kept = put_files(v, project)
    flipped = {**env, "TRE_ARCHIVE_TEST_HOOK": "flip"}
    failed = tre("apply", str(path), "--today", ENDED, "--yes", env=flipped, check=False)
    assert failed.returncode == 1
    errors = [ln for ln in failed.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "differ from the manifest" in errors[0], failed.stderr
    assert "Traceback" not in failed.stderr
    top = folder(v, project)
    now = {k: hashlib.sha256((top / k).read_bytes()).hexdigest() for k in kept}
    assert now == kept  # the live data is untouched
    assert (Path(v["tre_workspaces_root"]) / f"p{project}.jdevries" / "personal.txt").exists()
    ledger = tre_json("project", "show", project, env=env)["ledger"]
    assert not [e for e in ledger if e["op"] == "remove"]
    assert [e["detail"]["result"][:7] for e in ledger if e["op"] == "verify"] == ["failed:"]
    assert _archive_row(tmp_path, project)["verify_result"].startswith("failed:")

    again = tre("apply", str(path), "--today", ENDED, "--yes", env=env, check=False)
    assert again.returncode == 1 and top.exists()  # a bad archive is never trusted ...
    assert _ledger(env, project).count(("archive", "archive", f"P{project}")) == 1  # ... nor redone
    shutil.rmtree(Path(v["tre_archive_root"]) / f"P{project}")  # the operator discards it
    tre("apply", str(path), "--today", ENDED, "--yes", env=env)
    assert bag_files(Path(v["tre_archive_root"]) / f"P{project}") == kept
    assert not top.exists()


def test_links_fifos_and_hard_links_never_bring_in_the_outside(lab_inventory, tmp_path):
    project = "7802"
    v, env, path = set_up(tmp_path, project)
    top = folder(v, project)
    secret = os.urandom(16).hex()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(secret)
    (top / "archive" / "link-out.txt").symlink_to(outside / "secret.txt")
    (top / "archive" / "dir-out").symlink_to(outside)
    (top / "OtherData" / "etc").symlink_to("/etc")
    os.mkfifo(top / "OtherData" / "pipe")
    (top / "export" / "inside.csv").write_text("a,b\n1,2\n")
    os.link(top / "export" / "inside.csv", top / "archive" / "hard.csv")  # inside the project
    workspace = Path(v["tre_workspaces_root"]) / f"p{project}.jdevries" / "personal.txt"
    workspace.write_text(secret)
    with pytest.raises(OSError) as crossing:  # a hard link never leaves a subvolume
        os.link(workspace, top / "OtherData" / "from-workspace.txt")
    assert crossing.value.errno == 18  # EXDEV
    (top / "OtherData" / "echt.csv").write_text("x\n")

    tre("apply", str(path), "--today", ENDED, "--yes", env=env)
    bag = Path(v["tre_archive_root"]) / f"P{project}"
    assert set(bag_files(bag)) == {"archive/hard.csv", "OtherData/echt.csv"}
    assert (bag / "data" / "archive" / "hard.csv").read_text() == "a,b\n1,2\n"
    everything = b"".join(p.read_bytes() for p in bag.rglob("*") if p.is_file())
    assert secret.encode() not in everything
    skipped = dict(ln.split("\t") for ln in (bag / "skipped.txt").read_text().splitlines())
    assert skipped == {
        "archive/dir-out": "a symbolic link",
        "archive/link-out.txt": "a symbolic link",
        "OtherData/etc": "a symbolic link",
        "OtherData/pipe": "a FIFO",
    }
    info = (bag / "bag-info.txt").read_text()
    assert "Hard-Linked-Files: 1" in info and "Skipped-Paths: 4" in info
    assert (outside / "secret.txt").read_text() == secret  # the target is left alone
    assert not top.exists()
    assert json.loads(json.dumps(_archive_row(tmp_path, project)))["files"] == 2


def test_a_nested_subvolume_goes_with_the_project_and_its_qgroups(lab_inventory, tmp_path):
    """A researcher's subvolume inside archive/ (tre_storage enforces the project's limit over
    it with a level-1 qgroup): archived like a folder, deleted first, every qgroup destroyed."""
    project = "7803"
    v, env, path = set_up(tmp_path, project)
    top = folder(v, project)
    nested = top / "archive" / "eigen"
    subprocess.run(["btrfs", "subvolume", "create", str(nested)], check=True, capture_output=True)
    (nested / "model.rds").write_bytes(os.urandom(5000))
    expected = hashlib.sha256((nested / "model.rds").read_bytes()).hexdigest()
    tre("apply", str(path), "--today", "2027-01-15", "--yes", env=env, check=False)
    qgroups = {subvolume_id(top), subvolume_id(nested), "1/" + subvolume_id(top)[2:]}
    assert qgroups <= qgroup_ids(v)  # the limit enforced over the nested subvolume

    tre("apply", str(path), "--today", ENDED, "--yes", env=env, check=False)
    assert bag_files(Path(v["tre_archive_root"]) / f"P{project}") == {
        "archive/eigen/model.rds": expected
    }
    assert not top.exists()
    assert not qgroups & qgroup_ids(v)
    removed = [e for e in tre_json("project", "show", project, env=env)["ledger"]]
    removed = [e for e in removed if (e["op"], e["kind"]) == ("remove", "subvolume")]
    assert [e["detail"]["nested_subvolumes"] for e in removed] == [[str(nested)]]
