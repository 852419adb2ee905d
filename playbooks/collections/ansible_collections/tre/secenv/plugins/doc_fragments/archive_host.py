"""The archive host options of the modules that write or read archives (tre_archive_store)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  archive_host:
    description:
      - Address of the archive host (the first host of group C(archive)); the archive is
        written and read over SFTP (C(tre_archive_store)). Without it O(archive_root) is a
        directory of this host.
    type: str
  archive_port:
    description: SSH port of the archive host.
    type: int
    default: 22
  archive_user:
    description: The SFTP account on the archive host. Required with O(archive_host).
    type: str
  archive_key_file:
    description: Private key file of that account (root-only). Required with O(archive_host).
    type: path
  archive_known_hosts:
    description:
      - known_hosts file holding the archive host's key; the only file consulted (an unknown
        or different key - nothing is sent). Required with O(archive_host).
    type: path
  archive_timeout:
    description: Seconds to wait for the archive host's SSH connection.
    type: int
    default: 15
"""
