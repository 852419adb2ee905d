"""tre: provisioning toolkit for a secure remote-access research environment.

Pure domain lives here (contracts, policy, rules, planning, state); the click CLI lives in
``provisioning.cli`` (source folder ``cli/``) and the Ansible collection in ``playbooks/``
(shipped in the wheel as ``provisioning/playbooks``).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    #: The one source of the version is pyproject.toml; installs (wheel, editable) record it.
    __version__ = version("tre")
except PackageNotFoundError:  # a bare source tree on sys.path, never installed
    __version__ = "0+unknown"
