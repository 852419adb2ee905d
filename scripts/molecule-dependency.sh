#!/usr/bin/env bash
# What a Molecule scenario needs on this machine before its first step. Molecule runs it as the
# `dependency` step, first in every scenario's sequence (before the first `destroy` calls
# podman), so `molecule test -s NAME` works on a fresh machine:
#   - the Ansible collections from the pinned `ansible` wheel (fetch-collections.sh),
#   - the host tools podman, runc, debootstrap and the base image (build-host-image.sh).
# Each part does nothing when it is already there. Run as root (apt-get, podman).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
"$here/fetch-collections.sh"
"$here/build-host-image.sh"
