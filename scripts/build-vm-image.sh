#!/usr/bin/env bash
# Build the disk image of Molecule's throwaway VMs (scenario `vm`, docs/molecule.md) without
# any registry: debootstrap of Debian bookworm with Debian's own kernel (linux-image-amd64),
# sshd, python3, xfsprogs, acl and sssd (LDAP provider), written into a raw ext4 image with
# `mkfs.ext4 -d` (no loop mount), plus the kernel and initrd beside it for QEMU's -kernel.
#
# Cached under $TRE_VM_CACHE (default <repo>/.cache/vm) in a folder named after a hash of its
# inputs (this script, the suite, the packages, the mirror): a second run finds it and does
# nothing; a changed input builds a new one. Prints the folder on its last line.
# Installs the host tools it needs (debootstrap, qemu-system-x86, qemu-utils, xfsprogs,
# openssh-client) when one is missing. Run as root.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
SUITE="${TRE_VM_SUITE:-bookworm}"
PACKAGES="linux-image-amd64,systemd-sysv,udev,kmod,openssh-server,python3,acl,xfsprogs,sudo"
PACKAGES+=",iproute2,sssd-ldap,libnss-sss,libpam-sss"
CACHE="${TRE_VM_CACHE:-$repo/.cache/vm}"

missing=()
for tool in debootstrap:debootstrap qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils \
    mkfs.xfs:xfsprogs ssh:openssh-client ssh-keygen:openssh-client mkfs.ext4:e2fsprogs; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi

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

key="$( (sha256sum "$0" | cut -d' ' -f1; echo "$SUITE $PACKAGES $mirror") | sha256sum | cut -c1-16)"
out="$CACHE/$SUITE-$key"
if [[ -f "$out/done" ]]; then
    echo "image $out exists: nothing to do"
    echo "$out"
    exit 0
fi

mkdir -p "$CACHE"
work="$(mktemp -d "$CACHE/.build.XXXXXX")"
# the root file system is made outside the checkout (debootstrap mounts /proc in it: tools
# walking the repository must never meet it)
rootfs="$(mktemp -d /var/tmp/tre-vm-rootfs.XXXXXX)"
cleanup() {
    for m in dev/pts dev proc sys; do umount "$rootfs/$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$rootfs" "$work"
}
trap cleanup EXIT

start=$SECONDS
echo "debootstrap $SUITE from $mirror"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
echo "debootstrap: $((SECONDS - start)) s"

# --- the guest's own configuration -------------------------------------------------------
echo "tre-vm" >"$rootfs/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\ttre-vm\n' >"$rootfs/etc/hosts"
printf '/dev/vda / ext4 defaults,noatime 0 1\n' >"$rootfs/etc/fstab"
# QEMU user-mode network: a static address on slirp's network; no gateway (nothing beyond
# the host's forwards is reachable: QEMU runs it with restrict=on).
mkdir -p "$rootfs/etc/systemd/network"
cat >"$rootfs/etc/systemd/network/10-slirp.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
ln -sf /lib/systemd/system/systemd-networkd.service \
    "$rootfs/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
# Nothing a throwaway VM needs at boot under emulation.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
    fstrim.timer systemd-networkd-wait-online.service getty@tty1.service getty-static.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
# sshd: keys only; reverse tunnels may bind the lab's loopback addresses (127.0.10.1:636).
mkdir -p "$rootfs/etc/ssh/sshd_config.d"
cat >"$rootfs/etc/ssh/sshd_config.d/tre.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
GatewayPorts clientspecified
EOF
# Root's authorized key comes with each boot on the kernel command line
# (tre.key=<type>,<base64>), so one cached image serves every run with a fresh key pair.
cat >"$rootfs/usr/local/sbin/tre-authorized-key" <<'EOF'
#!/bin/sh
set -e
key="$(tr ' ' '\n' </proc/cmdline | sed -n 's/^tre\.key=//p' | tr ',' ' ')"
[ -n "$key" ] || exit 0
install -d -m 700 /root/.ssh
echo "$key" >/root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys
EOF
chmod 755 "$rootfs/usr/local/sbin/tre-authorized-key"
cat >"$rootfs/etc/systemd/system/tre-authorized-key.service" <<'EOF'
[Unit]
Description=Root's SSH key from the kernel command line
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/tre-authorized-key

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/tre-authorized-key.service \
    "$rootfs/etc/systemd/system/multi-user.target.wants/tre-authorized-key.service"
# A small initrd: only what finds the root disk (MODULES=most took 22 s of kernel time under
# TCG). xfs (and crc32c, which it needs first) is loaded by modprobe when prepare mounts it.
printf 'MODULES=list\n' >"$rootfs/etc/initramfs-tools/conf.d/tre.conf"
printf 'virtio_pci\nvirtio_blk\nvirtio_net\next4\n' >>"$rootfs/etc/initramfs-tools/modules"
chroot "$rootfs" update-initramfs -u -k all >/dev/null 2>&1 ||
    { echo "update-initramfs failed" >&2; exit 1; }
# sssd is configured by the scenario's prepare, not enabled before.
rm -f "$rootfs/etc/systemd/system/multi-user.target.wants/sssd.service"
passwd -R "$rootfs" -l root >/dev/null

cp "$rootfs"/boot/vmlinuz-* "$work/vmlinuz"
cp "$rootfs"/boot/initrd.img-* "$work/initrd.img"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/boot/initrd.img-*
size_mb=$(($(du -sm "$rootfs" | cut -f1) + 512))
mkfs.ext4 -q -L root -d "$rootfs" "$work/root.img" "${size_mb}M"
rm -rf --one-file-system "$rootfs"
rm -f "$work/debootstrap.log"
touch "$work/done"
rm -rf "$out"
mv "$work" "$out"
echo "built $out in $((SECONDS - start)) s"
echo "$out"
