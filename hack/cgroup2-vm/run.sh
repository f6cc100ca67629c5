#!/usr/bin/env bash
# make test-cgroup2: runs the cgroup code paths' tests on a pure cgroup v2
# host: a Debian 12 guest (image.sh) booted with QEMU's software emulation
# (these machines have no KVM). The Go test binaries are built here,
# statically, and run in the guest from a payload disk, first with the
# caller in the root cgroup and then from a populated leaf, as under
# systemd. A second, shorter boot runs Debian 11's kernel 5.10 with
# swapaccount=0 (6.1 ignores it): no swap accounting, and none of
# memory.peak, pids.peak and cgroup.kill. The raw test output comes back on a
# third disk and is summarised here (hack/testsum).
#
#   hack/cgroup2-vm/run.sh BIN      # BIN: the mini-isolate binary to test
#
# Environment: CG2_TIMEOUT bounds each boot (seconds, default 1500);
# RESULTS is where the counts go (default bin/results); CG2_KEEP=1 keeps
# the work directory. Exit status 1 when a check failed, 2 when the test
# bed could not be set up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$(realpath "${1:-$root/bin/mini-isolate}")
RESULTS=${RESULTS:-$root/bin/results}
timeout_s=${CG2_TIMEOUT:-1500}
GO=${GO:-go}
tags="seccomp netgo osusergo urfave_cli_no_docs"
mkdir -p "$RESULTS"
RESULTS=$(realpath "$RESULTS")

fail_setup() {
	echo "cgroup2-vm: $*" >&2
	printf 'passed 0\nfailed 1\nskipped 0\nfail test bed: %s\n' "$*" >"$RESULTS/cgroup2.sum"
	exit 2
}
command -v qemu-system-x86_64 >/dev/null || fail_setup "qemu-system-x86_64 is missing (Debian package qemu-system-x86)"
[[ -x $bin ]] || fail_setup "no mini-isolate binary at $bin"
image=$("$here/image.sh") || fail_setup "the guest image could not be built"

work=$(mktemp -d /var/tmp/mini-isolate-cgroup2.XXXXXX)
[[ ${CG2_KEEP:-0} == 1 ]] && echo "cgroup2-vm: work directory $work" || trap 'rm -rf "$work"' EXIT
payload=$work/payload
mkdir -p "$payload" "$work/out"

# The checks (checks.txt: NAME ROUNDS PACKAGE TIMEOUT REGEX) go to the
# guest with each package replaced by its test binary's name.
cp "$here/guest.sh" "$payload/init.sh"
cp "$bin" "$payload/mini-isolate"
# The manager's binary, which mini-isolate runs from its own directory.
[[ ! -x $(dirname "$bin")/mini-isolate-manager ]] || cp "$(dirname "$bin")/mini-isolate-manager" "$payload/"
declare -A built
while read -r name rounds pkg tmo regex; do
	[[ -z $name || $name == \#* ]] && continue
	testbin=$(echo "${pkg#./}" | tr / _).test
	if [[ -z ${built[$testbin]:-} ]]; then
		(cd "$root" && CGO_ENABLED=1 $GO test -c -tags "$tags" -ldflags '-extldflags -static' -o "$payload/$testbin" "$pkg") ||
			fail_setup "building the test binary of $pkg failed"
		built[$testbin]=1
		# Tests open testdata/ relative to their package directory.
		mkdir -p "$payload/src/${testbin%.test}"
		[[ ! -d $root/$pkg/testdata ]] || cp -r "$root/$pkg/testdata" "$payload/src/${testbin%.test}/"
	fi
	echo "$name $rounds $testbin $tmo $regex"
done <"$here/checks.txt" >"$payload/checks"

# Transparent huge pages are off in the guest: under software emulation,
# Linux 5.10's khugepaged once locked up both CPUs beside a memory-limited
# test for the whole timeout (soft lockups, RCU stalls); no test needs them.
#
# boot NAME ROUNDS KERNEL TCG [KERNEL ARGS]: one guest run with the image's
# kernel KERNEL (vmlinuz or vmlinuz-5.10), QEMU's TCG threading TCG (multi:
# a host thread per vCPU; single: one for both); its results land in
# $work/out/NAME.
boot() {
	local name=$1 rounds=$2 kernel=$3 tcg=$4 extra=${5:-} rc=0
	local initrd=initrd.img
	[[ $kernel == vmlinuz ]] || initrd=initrd${kernel#vmlinuz}.img
	local pimg=$work/$name-payload.img rimg=$work/$name-results.img
	: >"$pimg"
	mke2fs -q -F -t ext4 -d "$payload" "$pimg" "$(($(du -sm "$payload" | cut -f1) + 64))M"
	truncate -s 256M "$rimg"
	echo "cgroup2-vm: booting the guest ($name: $kernel, rounds $rounds${extra:+, $extra}; software emulation, $tcg-threaded, timeout ${timeout_s}s)"
	timeout -k 10 "$timeout_s" qemu-system-x86_64 -machine q35 -accel tcg,thread="$tcg" -cpu max -smp 2 -m 4096 \
		-kernel "$image/$kernel" -initrd "$image/$initrd" \
		-append "console=ttyS0 root=/dev/vda rw init=/sbin/cg2-init quiet panic=-1 transparent_hugepage=never cg2.rounds=$rounds $extra" \
		-drive "file=$image/root.img,if=virtio,format=raw,snapshot=on" \
		-drive "file=$pimg,if=virtio,format=raw,readonly=on" \
		-drive "file=$rimg,if=virtio,format=raw" \
		-display none -serial stdio -no-reboot -net none </dev/null >"$work/$name-console.log" 2>&1 &
	local qpid=$!
	# Progress: the guest's own lines, as they come.
	tail -n +1 -F --pid=$qpid "$work/$name-console.log" 2>/dev/null | grep --line-buffered '^cg2: ' | sed -u 's/^/  /' &
	wait $qpid || rc=$?
	sleep 0.2
	mkdir -p "$work/out/$name"
	if ((rc != 0)) || ! tar -C "$work/out/$name" -xf "$rimg" 2>/dev/null; then
		echo "cgroup2-vm: the $name guest ended without results (exit $rc); its console:" >&2
		tail -n 150 "$work/$name-console.log" >&2
		return 1
	fi
}

# Both boots run single-threaded: with a host thread per vCPU, a vCPU
# can keep executing code the other has just patched (a static key's
# int3). 5.10 hung in 2 of 7 fresh-clone CI runs before the cpuset pin in
# guest.sh, and in 1 of 12 after it. Without the pin, a mkdir/rmdir loop
# of cpuset cgroups beside two busy loops locked a multi-threaded 5.10
# guest up within 30 s, and ran 240 s (638 rounds) single-threaded
# without one. 6.1 never hung in CI, but the same loop locks it up too
# (guest.sh). On this 2-CPU host the checks took as long either way (the
# 5.10 boot's oldkernel check: 40 s multi-threaded, 42 s single).
boot main root,leaf vmlinuz single || true
# loglevel=7: a guest that locks up leaves the kernel's stacks on its
# console.
boot noswap noswap vmlinuz-5.10 single "swapaccount=0 loglevel=7" || true

# Every round's output as go test -json events, one package per round and
# check, then the counts. A check the guest did not run is a failure.
events() {
	local name=$1 rounds=$2 round check rest out p rc
	for round in ${rounds//,/ }; do
		while read -r check rest; do
			[[ -z $check || $check == \#* ]] && continue
			[[ ,$(echo "$rest" | cut -d' ' -f1), == *,$round,* ]] || continue
			out=$work/out/$name/$round/$check.out p=cgroup2/$round/$check
			if [[ ! -f $out ]]; then
				printf '{"Action":"fail","Package":"%s","Test":"(not run: the guest gave no result)"}\n' "$p"
				continue
			fi
			$GO tool test2json -t -p "$p" <"$out"
			rc=$(cat "${out%.out}.rc" 2>/dev/null || echo missing)
			if [[ $rc != 0 ]] && ! grep -q -- '--- FAIL' "$out"; then
				printf '{"Action":"fail","Package":"%s","Test":"(test binary exit %s)"}\n' "$p" "$rc"
			fi
		done <"$payload/checks"
	done
	[[ ! -f $work/out/$name/guest.txt ]] || sed "s/^/  $name guest: /" "$work/out/$name/guest.txt" >&2
}

# premise: the noswap boot checks a kernel without swap accounting only if
# its cgroups really have no memory.swap.* files.
premise() {
	local f=$work/out/noswap/noswap/swapfiles.txt p=cgroup2/noswap
	if [[ $(cat "$f" 2>/dev/null) == absent ]]; then
		printf '{"Action":"pass","Package":"%s","Test":"(premise: no memory.swap.max with swapaccount=0)"}\n' "$p"
	else
		printf '{"Action":"output","Package":"%s","Test":"(premise: no memory.swap.max with swapaccount=0)","Output":"memory.swap.max: %s\\n"}\n' "$p" "$(cat "$f" 2>/dev/null || echo unknown)"
		printf '{"Action":"fail","Package":"%s","Test":"(premise: no memory.swap.max with swapaccount=0)"}\n' "$p"
	fi
}
{
	events main root,leaf
	events noswap noswap
	premise
} | (cd "$root" && $GO run ./hack/testsum -stage cgroup2 -out "$RESULTS/cgroup2.sum")
