#!/usr/bin/env bash
# Build the base image for Molecule's throwaway hosts without any container registry:
# debootstrap a minimal Debian bookworm root file system and `podman import` it.
# Does nothing when the image already exists. Run as root (debootstrap, podman).
set -euo pipefail

IMAGE="${TRE_HOST_IMAGE:-localhost/tre-host:bookworm}"
SUITE="${TRE_HOST_SUITE:-bookworm}"
PACKAGES="openssh-server,python3,python3-apt,acl,btrfs-progs,sudo,iproute2"

# Host tools the throwaway hosts need (Debian 12): podman with runc, debootstrap.
missing=()
for tool in podman:podman runc:runc debootstrap:debootstrap; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

if podman image exists "$IMAGE"; then
    echo "image $IMAGE exists: nothing to do"
    exit 0
fi

# The Debian mirror this machine already uses (first URIs: line of the deb822 sources,
# falling back to the classic sources.list); never a hard-coded host.
mirror="${TRE_DEBIAN_MIRROR:-}"
if [[ -z "$mirror" && -r /etc/apt/sources.list.d/debian.sources ]]; then
    mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
fi
if [[ -z "$mirror" && -r /etc/apt/sources.list ]]; then
    mirror="$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' \
        /etc/apt/sources.list)"
fi
if [[ -z "$mirror" ]]; then
    echo "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2
    exit 1
fi

rootfs="$(mktemp -d /var/tmp/tre-host-rootfs.XXXXXX)"
trap 'rm -rf --one-file-system "$rootfs"' EXIT

echo "debootstrap $SUITE from $mirror"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" >/dev/null
# Trim what a throwaway host never needs.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | podman import \
    --change 'CMD ["/bin/sleep", "infinity"]' - "$IMAGE" >/dev/null
echo "built $IMAGE"
