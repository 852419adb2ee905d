"""tre: provisioning toolkit for a secure remote-access research environment.

Pure domain lives here (contracts, policy, rules, planning, state); the click CLI lives in
``provisioning.cli`` (source folder ``cli/``) and the Ansible collection in ``playbooks/``.
"""

__version__ = "0.1.0"
