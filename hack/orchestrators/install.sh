#!/usr/bin/env bash
# Installs, from Debian, what the orchestrator run needs and is missing:
# docker.io, containerd, podman, conmon, the reference runc and the
# busybox-static the test image is made of. Package scripts are kept from
# starting the daemons they ship (we start private ones).
set -euo pipefail

packages=(docker.io containerd podman conmon runc busybox-static util-linux procps)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0

echo "orchestrators: installing ${missing[*]}" >&2
# invoke-rc.d asks policy-rc.d whether to start a service; 101 says no.
# Only add one for the install when the machine has none.
policy=/usr/sbin/policy-rc.d
added_policy=
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\n# added by mini-isolate hack/orchestrators/install.sh for one install\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	added_policy=1
fi
cleanup() { if [[ -n $added_policy ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
