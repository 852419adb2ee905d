"""The collection's LDAP pieces for code that runs outside Ansible: the lab, the tests,
Molecule's verify and the benchmarks.

The one verified-LDAPS ``connect`` and the one FILETIME conversion live in the collection's
``module_utils`` (``tre_ldap``, ``tre_ad_model``), because the ``tre_ad`` module can import
only from there. This module is the ONE place that makes the collection (the one
``provisioning.runner`` runs: in the wheel or the checkout, see ``playbooks_dir``) importable
and re-exports them::

    from provisioning.ldap import connect, inventory_params, read_secret
    conn = connect(inventory_params(group_vars), read_secret(path), schema=True)
"""

from __future__ import annotations

import sys

from .runner import playbooks_dir

#: the collection tre.secenv's root (the one ``provisioning.runner`` runs)
COLLECTIONS = playbooks_dir() / "collections"

if str(COLLECTIONS) not in sys.path:
    sys.path.append(str(COLLECTIONS))

from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import (  # noqa: E402
    NEVER,
    filetime,
    filetime_text,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_confirmed import (  # noqa: E402
    encode as encode_confirmed,  # for provisioning.runner: the plan's irreversible steps
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ldap import (  # noqa: E402
    LdapError,
    connect,
    inventory_params,
    read_secret,
)

__all__ = [
    "COLLECTIONS",
    "NEVER",
    "LdapError",
    "connect",
    "encode_confirmed",
    "filetime",
    "filetime_text",
    "inventory_params",
    "read_secret",
]
