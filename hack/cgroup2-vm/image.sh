#!/usr/bin/env bash
# Builds the cgroup v2 test guest once and prints the directory that holds
# it: a Debian 12 root filesystem image (root.img, ext4 made with mke2fs -d,
# no loop mount), its kernel (vmlinuz) and initrd (initrd.img), and Debian
# 11's kernel 5.10 (vmlinuz-5.10, initrd-5.10.img), installed beside it
# with its modules, for the checks of an older kernel. The guest
# boots into /sbin/cg2-init, which mounts the second disk (the payload that
# run.sh writes) and hands over to its init.sh.
#
# The image is cached under $CG2_CACHE (default
# /var/cache/mini-isolate/cgroup2-vm), keyed by a hash of this recipe, and
# reused until the recipe changes. The first build takes about 11 minutes
# (mmdebstrap of Debian's packages); progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${CG2_CACHE:-/var/cache/mini-isolate/cgroup2-vm}
mirror=${CG2_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
# What the checks need in the guest: a kernel with cgroup v2, a static
# busybox for the test rootfs, gcc for the test programs, and the tools
# the tests call.
packages=linux-image-amd64,busybox-static,gcc,libc6-dev,python3,procps,util-linux,kmod

key=$( { echo "$suite $mirror $packages"; cat "$here/image.sh" "$here/cg2-init" "$here/old-kernel.sh"; } | sha256sum | cut -c1-16)
dir=$cache/$suite-$key
if [[ -f $dir/root.img && -f $dir/vmlinuz && -f $dir/initrd.img && -f $dir/vmlinuz-5.10 ]]; then
	echo "$dir"
	exit 0
fi

for tool in mmdebstrap mke2fs; do
	command -v "$tool" >/dev/null || { echo "cgroup2-vm: $tool is missing (Debian packages mmdebstrap, e2fsprogs)" >&2; exit 2; }
done
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "cgroup2-vm: building the guest image (Debian $suite, about 11 minutes once) in $tmp" >&2
t0=$SECONDS
# The initrd needs only what mounts the root disk: listing those modules
# (instead of Debian's "most") makes it small and quick to build.
mmdebstrap --quiet --variant=minbase --include="$packages" \
	--essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"' \
	--essential-hook='echo MODULES=list >"$1/etc/initramfs-tools/conf.d/cg2-guest"' \
	--essential-hook='printf "virtio_pci\nvirtio_blk\next4\n" >"$1/usr/share/initramfs-tools/modules.d/cg2-guest"' \
	--customize-hook="$here/old-kernel.sh \"\$1\" $mirror" \
	--customize-hook='echo cg2-guest >"$1/etc/hostname"' \
	--customize-hook="copy-in $here/cg2-init /sbin" \
	--customize-hook='chmod 0755 "$1/sbin/cg2-init"' \
	--customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
	"$suite" "$tmp/rootfs" "$mirror" >&2
# Two kernels: Debian 12's, and Debian 11's (old-kernel.sh).
cp "$tmp"/rootfs/boot/vmlinuz-6.* "$tmp/vmlinuz"
cp "$tmp"/rootfs/boot/initrd.img-6.* "$tmp/initrd.img"
cp "$tmp"/rootfs/boot/vmlinuz-5.10.* "$tmp/vmlinuz-5.10"
cp "$tmp"/rootfs/boot/initrd.img-5.10.* "$tmp/initrd-5.10.img"
# Room for the checks' own files beside the system; the tests write to
# tmpfs, so a little headroom is enough.
size_mb=$(($(du -sm "$tmp/rootfs" | cut -f1) + 512))
: >"$tmp/root.img"
mke2fs -q -F -t ext4 -L cg2root -d "$tmp/rootfs" "$tmp/root.img" "${size_mb}M" >&2
rm -rf "$tmp/rootfs"
mkdir -p "$dir"
mv "$tmp/vmlinuz" "$tmp/initrd.img" "$tmp/vmlinuz-5.10" "$tmp/initrd-5.10.img" "$tmp/root.img" "$dir/"
echo "cgroup2-vm: image built in $((SECONDS - t0))s: $dir" >&2
echo "$dir"
