"""After side_effect's end and archive of project 9101 (run by side_effect.yml, not by
`molecule verify`, whose tests check the live revision 2): the bag is on the archive container,
written over SFTP by the file server, byte for byte what the researchers left, its manifests
checked with sha256sum there, every name the archive account's and private; the file server
holds no archive of its own and the project's subvolume, workspaces and qgroups are gone."""

import tre_verify as tv

EXPECTED = dict(
    reversed(line.split(None, 1))
    for line in (tv.ephemeral_dir() / "archive-expected.sha256").read_text().splitlines()
)


def _bag(archive_vars) -> str:
    return f"{archive_vars['tre_archive_root']}/P9101"


def test_the_bag_holds_what_the_researchers_left(archive, archive_vars):
    bag = _bag(archive_vars)
    found = archive.check_output(f"cd {bag}/data && find . -type f -print0 | xargs -0 sha256sum")
    sums = {
        name.removeprefix("./"): digest
        for digest, name in (ln.split(None, 1) for ln in found.splitlines())
    }
    assert sums == EXPECTED


def test_the_manifests_check_on_the_archive_host(archive, archive_vars):
    bag = _bag(archive_vars)
    for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        assert archive.run(f"cd {bag} && sha256sum --quiet -c {manifest}").rc == 0, manifest
    assert archive.file(f"{bag}/skipped.txt").contains("^archive/link-out\ta symbolic link$")
    assert archive.file(f"{bag}/volgend-project.txt").contains("volgend project/cohort.csv")


def test_every_name_is_the_archive_accounts_and_private(archive, archive_vars):
    user = archive_vars["tre_archive_sftp_user"]
    root = archive.file(archive_vars["tre_archive_root"])
    assert (root.user, root.mode, root.is_directory) == (user, 0o700, True)
    listing = archive.check_output(
        f"find {_bag(archive_vars)} -printf '%u %m %y %p\\n'"
    ).splitlines()
    assert listing
    for line in listing:
        owner, mode, kind, path = line.split(" ", 3)
        assert (owner, mode) == (user, "700" if kind == "d" else "600"), path
    chroot = archive.file(archive_vars["tre_archive_root"].rsplit("/", 1)[0])
    assert (chroot.user, chroot.mode) == ("root", 0o755)


def test_the_live_data_is_gone_from_the_file_server(fs, fs_vars, qgroups):
    assert not fs.file(f"{fs_vars['tre_projects_root']}/P9101").exists
    assert (
        fs.check_output(f"find {fs_vars['tre_workspaces_root']} -maxdepth 1 -name 'p9101.*'") == ""
    )
    root = fs_vars["tre_projects_root"].rsplit("/", 1)[1]
    assert f"{root}/P9101" not in qgroups
    local = fs.check_output(f"find {fs_vars['tre_archive_root']} -mindepth 1 -maxdepth 1")
    assert local == ""  # written to the archive host, never to the file server's own root
