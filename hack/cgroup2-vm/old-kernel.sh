#!/bin/sh
# mmdebstrap customize hook of image.sh: installs Debian 11's kernel (5.10)
# beside Debian 12's in the guest's root ($1), from mirror $2. 5.10 is what
# Debian 11 hosts run: no memory.peak, pids.peak or cgroup.kill, and swap
# accounting that swapaccount=0 still turns off (6.1 ignores it).
set -eu
root=$1 mirror=$2
list=$root/etc/apt/sources.list.d/bullseye.list
echo "deb $mirror bullseye main" >"$list"
chroot "$root" apt-get -qq update
# The meta package names the current ABI's image.
image=$(chroot "$root" apt-cache depends linux-image-amd64/bullseye | awk '/Depends: linux-image-5/ { print $2; exit }')
[ -n "$image" ] || { echo "old-kernel: no Debian 11 kernel image found" >&2; exit 1; }
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -qq install -y --no-install-recommends "$image/bullseye" >/dev/null
rm -f "$list"
chroot "$root" apt-get -qq update
