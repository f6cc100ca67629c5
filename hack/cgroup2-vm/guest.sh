#!/bin/bash
# init.sh of the payload disk: runs in the cgroup v2 guest as PID 1's child.
# Mounts what a host has (cgroup2 with nsdelegate and every controller
# enabled at the root, tmpfs /tmp and /dev/shm), then runs the checks
# listed in /payload/checks once per round named by cg2.rounds= on the
# kernel command line:
#   root    the caller in the root cgroup;
#   leaf    the caller in a populated leaf, as a systemd service is
#           (/system.slice/judge.service, with another process in it);
#   noswap  Debian 11's kernel 5.10 booted with swapaccount=0 (no
#           memory.swap.* files, and no memory.peak, pids.peak, cgroup.kill).
# Each check's raw test output (-test.v=test2json) lands in
# /tmp/results/ROUND/NAME.out with its exit status in NAME.rc; the results
# leave the guest as a tar archive written to the third disk.
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH HOME=/root TMPDIR=/tmp
say() { echo "cg2: $*" >/dev/console; }

mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /dev/shm /dev/pts /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /run
mount -t cgroup2 -o nsdelegate,memory_recursiveprot none /sys/fs/cgroup
echo "+cpuset +cpu +io +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
# One cpuset cgroup for the guest's life. Linux patches its own text (the
# cpuset static keys, read in the page and slab allocators) whenever the
# number of cpuset cgroups goes between 0 and 1, as each box's cgroup made
# it do. Under QEMU's multi-threaded software emulation a vCPU can keep
# running the patch's stale breakpoint and trap on it forever: 5.10 locked
# up both vCPUs so in 3 CI runs. A mkdir/rmdir loop of a cgroup does it to
# 5.10 within a minute and to 6.1 within 3; with this cgroup held, neither
# in 5 minutes.
mkdir /sys/fs/cgroup/cg2-pin
busybox ip link set lo up
hostname cg2-guest
results=/tmp/results
mkdir -p "$results"
{
	uname -a
	echo "cmdline: $(cat /proc/cmdline)"
	echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
	echo "subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
	nproc
	free -m
} >"$results/guest.txt" 2>&1
say "guest up: $(uname -r), controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"

rounds=root
for arg in $(cat /proc/cmdline); do
	case $arg in cg2.rounds=*) rounds=${arg#cg2.rounds=} ;; esac
done

# run_round ROUND: every check of the round, in this shell's cgroup.
run_round() {
	local round=$1 name bin regex timeout rounds_of out t0 rc
	mkdir -p "$results/$round"
	echo "cgroup: $(cat /proc/self/cgroup)" >"$results/$round/cgroup.txt"
	while read -r name rounds_of bin timeout regex; do
		[[ -z $name || $name == \#* ]] && continue
		[[ ,$rounds_of, == *,$round,* ]] || continue
		out=$results/$round/$name
		t0=$SECONDS
		(
			# The package's directory, for its testdata/.
			cd "/payload/src/${bin%.test}" || exit 1
			MINI_ISOLATE_BINARY=/payload/mini-isolate timeout -k 10 "$timeout" \
				"/payload/$bin" -test.v=test2json -test.count=1 -test.timeout="$timeout" -test.run "$regex"
		) >"$out.out" 2>&1 </dev/null
		rc=$?
		echo "$rc" >"$out.rc"
		say "$round/$name: exit $rc in $((SECONDS - t0))s: $(grep -c -- '--- PASS' "$out.out") passed, $(grep -c -- '--- FAIL' "$out.out") failed, $(grep -c -- '--- SKIP' "$out.out") skipped"
	done </payload/checks
}

for round in ${rounds//,/ }; do
	case $round in
	root)
		run_round root
		;;
	noswap)
		# The premise: a child cgroup has no swap files on this boot.
		mkdir -p "$results/noswap" /sys/fs/cgroup/swap-probe
		if [[ -e /sys/fs/cgroup/swap-probe/memory.swap.max ]]; then echo present; else echo absent; fi >"$results/noswap/swapfiles.txt"
		ls /sys/fs/cgroup/swap-probe >"$results/noswap/cgroup-files.txt"
		rmdir /sys/fs/cgroup/swap-probe
		run_round noswap
		;;
	leaf)
		# A systemd service's cgroup: a leaf with no controllers of its
		# own, holding the caller and another process.
		leaf=/sys/fs/cgroup/system.slice/judge.service
		mkdir -p "$leaf"
		sleep 1000000 &
		echo $! >"$leaf/cgroup.procs"
		echo $$ >"$leaf/cgroup.procs"
		run_round leaf
		echo $$ >/sys/fs/cgroup/cgroup.procs
		;;
	*)
		say "unknown round $round"
		;;
	esac
done

tar -C "$results" -cf /dev/vdc . && sync
say "results written"
