"""The quota backend named by ``tre_quota_backend`` (docs/storage.md, "Choosing the quota
backend"): ``btrfs`` (subvolumes + qgroups, ``tre_btrfs``) or ``xfs`` (project quotas,
``tre_xfs``). Both have the same interface (``read_all``, ``read_usage``, ``is_unit``,
``create_subvolume``, ``set_limit``, ``delete_unit``, ``subvolume_ids``, ``groups``)."""

from __future__ import annotations

from ansible_collections.tre.secenv.plugins.module_utils.tre_btrfs import (
    BtrfsQuota,
    QuotaError,
    Runner,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_xfs import XfsQuota

BACKENDS = ("btrfs", "xfs")

#: The ``quota_backend`` option of every module that reads or changes quotas.
QUOTA_BACKEND_OPTION = {
    "quota_backend": {"type": "str", "default": "btrfs", "choices": list(BACKENDS)}
}


def get_backend(name: str, run: Runner) -> BtrfsQuota | XfsQuota:
    if name == "btrfs":
        return BtrfsQuota(run)
    if name == "xfs":
        return XfsQuota(run)
    raise QuotaError(f"quota backend {name!r} is not implemented (available: btrfs, xfs)")
