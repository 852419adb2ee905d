#!/usr/bin/env bash
# What a Molecule scenario needs on this machine before its first step. Molecule runs it as the
# `dependency` step, first in every scenario's sequence (before the first `destroy` calls
# podman), so `molecule test -s NAME` works on a fresh machine:
#   - the Ansible collections from the pinned `ansible` wheel (fetch-collections.sh),
#   - the host tools podman, runc, debootstrap and the base image (build-host-image.sh),
#   - with the argument `vm` (scenario vm) instead: QEMU, debootstrap, xfsprogs and the
#     cached VM image (build-vm-image.sh); no podman.
# Each part does nothing when it is already there. Run as root (apt-get, podman).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
"$here/fetch-collections.sh"
if [[ "${1:-}" == vm ]]; then
    "$here/build-vm-image.sh"
else
    "$here/build-host-image.sh"
fi
