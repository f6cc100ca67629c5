#!/usr/bin/env bash
# Installs what building and testing mini-isolate needs on Debian 12, as root,
# and the Debian packages given as arguments (what one stage alone needs).
# Idempotent: packages already present are not reinstalled, and apt is skipped
# entirely when nothing is missing.
set -euo pipefail

packages=(
	build-essential pkg-config libseccomp-dev # cgo, libcontainer's seccomp
	musl-tools                                # the isolate front end (Makefile)
	runc crun busybox-static                  # side-by-side runs, test rootfs
	tar gzip util-linux procps iproute2 git   # harness and test tools
	# Toolchains of the built-in language profiles (profiles/), which the
	# demo and the profile tests compile and run in sandboxes.
	gcc g++ python3 default-jdk-headless golang rustc nodejs
	"$@"
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH=/usr/local/go/bin:$PATH
fi
command -v go >/dev/null 2>&1 || {
	echo "install-deps: no Go toolchain found (need Go >= 1.26.8 (go.mod) at /usr/local/go or in PATH)" >&2
	exit 1
}
