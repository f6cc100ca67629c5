# shellcheck shell=bash
# Set-up and tear-down of the private orchestrators (sourced by run.sh).
#
# Everything lives in three places: E2E_RUN (sockets, daemon state, pid
# files, the traced runtimes), E2E_BASE (image stores, the test image) and
# E2E_LOGS (logs and traces, kept after the run). Containers go into cgroups
# below /mini-isolate-e2e. Outside these, the orchestrators create a few
# paths whatever they are told (HOST_PATHS); teardown removes those that
# were not there before the run.

E2E_CGROUP=mini-isolate-e2e
CRICTL_VERSION=${E2E_CRICTL_VERSION:-v1.34.0}
# Namespaces: ctr's is also the first component of its containers' cgroups.
CTR_NS=mini-isolate-e2e
CRI_NS=k8s.io
IMAGE=mini-isolate-e2e/busybox:1
PAUSE_IMAGE=mini-isolate-e2e/pause:1
# Host paths the orchestrators create on their own (see teardown).
HOST_PATHS=(/run/containerd /var/lib/containers /etc/docker/key.json)

# doc_block NAME prints the code block marked `<!-- e2e:NAME -->` in
# docs/orchestrators.md, with the documented install path of mini-isolate
# replaced by the traced binary under test.
doc_block() {
	local block
	block=$(awk -v mark="<!-- e2e:$1 -->" '
		$0 == mark { found = 1; next }
		found && /^```/ { if (inside) exit; inside = 1; next }
		inside { print }
	' "$E2E_REPO/docs/orchestrators.md")
	[[ -n $block ]] || {
		echo "docs/orchestrators.md has no block marked <!-- e2e:$1 -->" >&2
		return 1
	}
	printf '%s\n' "${block//\/usr\/local\/bin\/mini-isolate/$E2E_RUN/bin/mini-isolate}"
}

# our_pid FILE PATTERN prints the pid in FILE if that process is alive and
# its command line contains PATTERN (so a reused pid is never ours).
our_pid() {
	local pid
	[[ -s $1 ]] || return 1
	pid=$(tr -dc 0-9 <"$1")
	[[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
	printf '%s' "$pid"
}

# stop_pid PID NAME: SIGTERM, up to 20 s, then SIGKILL.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "orchestrators: $2 (pid $pid) ignored SIGTERM for 20s; killing it" >&2
	kill -KILL "$pid" 2>/dev/null || true
}

# our_processes prints the pids of processes that belong to this run: the
# daemons, shims, conmons and containers whose command line names our
# directories or our containerd socket.
our_processes() {
	local pids pid
	# grep finds itself too: only what still exists afterwards counts.
	pids=$(grep -lsaF -e "$E2E_RUN/" -e "$E2E_BASE/" /proc/[0-9]*/cmdline 2>/dev/null |
		sed -n 's|^/proc/\([0-9]*\)/cmdline$|\1|p') || true
	for pid in $pids; do
		[[ $pid != "$$" && $pid != "$BASHPID" && -d /proc/$pid ]] && printf '%s\n' "$pid"
	done
	return 0
}

# teardown stops everything a run started; it is also run first, for what
# an interrupted run left. It prints what it could not clean up and
# returns 1 if anything was left.
teardown() {
	local pid left=0 m d
	# Containers first, while the daemons still answer.
	if [[ -S $E2E_RUN/docker.sock ]]; then
		# shellcheck disable=SC2046
		timeout 60 /usr/bin/docker -H "unix://$E2E_RUN/docker.sock" rm -f $(timeout 20 /usr/bin/docker -H "unix://$E2E_RUN/docker.sock" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
	fi
	if [[ -d $E2E_BASE/podman ]]; then
		local PM_ARGS
		pm_args
		timeout 60 podman "${PM_ARGS[@]}" rm -af -t 0 >/dev/null 2>&1 || true
	fi
	if [[ -S $E2E_RUN/containerd.sock ]]; then
		if [[ -x $E2E_RUN/bin/crictl ]]; then
			timeout 60 "$E2E_RUN/bin/crictl" -r "unix://$E2E_RUN/containerd.sock" -i "unix://$E2E_RUN/containerd.sock" rmp -af >/dev/null 2>&1 || true
		fi
		local t
		for t in $(timeout 20 ctr -a "$E2E_RUN/containerd.sock" -n "$CTR_NS" tasks ls -q 2>/dev/null); do
			timeout 20 ctr -a "$E2E_RUN/containerd.sock" -n "$CTR_NS" tasks kill -s KILL "$t" >/dev/null 2>&1 || true
			timeout 20 ctr -a "$E2E_RUN/containerd.sock" -n "$CTR_NS" tasks rm -f "$t" >/dev/null 2>&1 || true
		done
		for t in $(timeout 20 ctr -a "$E2E_RUN/containerd.sock" -n "$CTR_NS" containers ls -q 2>/dev/null); do
			timeout 20 ctr -a "$E2E_RUN/containerd.sock" -n "$CTR_NS" containers rm "$t" >/dev/null 2>&1 || true
		done
	fi
	if pid=$(our_pid "$E2E_RUN/dockerd.pid" "$E2E_RUN/docker.sock"); then stop_pid "$pid" dockerd; fi
	if pid=$(our_pid "$E2E_RUN/containerd.pid" "$E2E_RUN/containerd.toml"); then stop_pid "$pid" containerd; fi
	# Shims of killed daemons, conmons, stray container processes.
	local try
	for pid in $(our_processes); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for ((try = 0; try < 20; try++)); do
		[[ -n $(our_processes) ]] || break
		sleep 0.1
	done
	for pid in $(our_processes); do
		echo "orchestrators: left behind: process $pid: $(tr '\0' ' ' 2>/dev/null </proc/"$pid"/cmdline)" >&2
		left=1
	done
	# Mounts below our directories (overlays, shm, netns), deepest first.
	for m in $(findmnt -rn -o TARGET | grep -E "^($E2E_RUN|$E2E_BASE)(/|$)" | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || {
			echo "orchestrators: left behind: mount $m" >&2
			left=1
		}
	done
	# Whatever still runs in our cgroups (a container whose shim died),
	# then the cgroups, deepest first.
	find /sys/fs/cgroup/*/"$E2E_CGROUP" /sys/fs/cgroup/"$E2E_CGROUP" -name freezer.state 2>/dev/null |
		while read -r f; do echo THAWED >"$f" 2>/dev/null || true; done || true
	for pid in $(find /sys/fs/cgroup/*/"$E2E_CGROUP" /sys/fs/cgroup/"$E2E_CGROUP" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for d in /sys/fs/cgroup/*/"$E2E_CGROUP" /sys/fs/cgroup/"$E2E_CGROUP"; do
		[[ -d $d ]] || continue
		# A directory on /sys/fs/cgroup where no hierarchy is mounted (left
		# by whatever mounted one elsewhere) still gets our "cgroups" from
		# conmon: plain directories with a tasks file.
		case $(stat -f -c %T "$d") in
		cgroupfs | cgroup2fs) ;;
		*)
			rm -rf "$d"
			continue
			;;
		esac
		# Killed processes take a moment to leave their cgroups.
		for ((try = 0; try < 20; try++)); do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
			[[ -d $d ]] || break
			sleep 0.1
		done
		if [[ -d $d ]]; then
			echo "orchestrators: left behind: cgroup $(find "$d" -depth -type d | head -3 | tr '\n' ' ')" >&2
			left=1
		fi
	done
	rm -rf "$E2E_RUN" "$E2E_BASE" 2>/dev/null || {
		echo "orchestrators: could not remove $E2E_RUN or $E2E_BASE" >&2
		left=1
	}
	# What the orchestrators create outside our directories whatever they
	# are told: containerd's shim socket directory and runtime roots under
	# /run/containerd, Podman's blob cache, dockerd's key. Only what did not
	# exist before the run is removed, and of /run/containerd only empty
	# directories.
	rmdir "/run/containerd/runc/$CTR_NS" 2>/dev/null || true
	local p
	for p in "${HOST_PATHS[@]}"; do
		[[ -f $E2E_LOGS/.created${p//\//_} ]] || continue
		if [[ $p == /run/containerd ]]; then
			find "$p" -depth -type d -empty -delete 2>/dev/null || true
		else
			rm -rf "$p"
		fi
		if [[ -e $p ]]; then
			echo "orchestrators: left behind: $(find "$p" | head -5 | tr '\n' ' ')" >&2
			left=1
		else
			rm -f "$E2E_LOGS/.created${p//\//_}"
		fi
	done
	return "$left"
}

# make_wrapper NAME REAL writes $E2E_RUN/bin/NAME, which logs each call to
# $E2E_LOGS/trace-NAME.log and runs REAL. create, exec and run keep their
# stdio untouched (it is the container's); the output of every other call
# and the stdin of update are recorded too.
make_wrapper() {
	local name=$1 real=$2 trace=$E2E_LOGS/trace-$1.log
	: >"$trace"
	mkdir -p "$E2E_RUN/bin" "$E2E_RUN/trace.d"
	cat >"$E2E_RUN/bin/$name" <<EOF
#!/bin/sh
# Written by hack/orchestrators/run.sh: traces calls of $real.
real='$real'
trace='$trace'
tmpd='$E2E_RUN/trace.d'
EOF
	cat >>"$E2E_RUN/bin/$name" <<'EOF'
t0=$(date +%s%N)
sub= logf= res= skip= prev=
args=
for a in "$@"; do
	case $a in
	*[!A-Za-z0-9_./:=,@%+-]* | '') args="$args '$a'" ;;
	*) args="$args $a" ;;
	esac
	case $prev in
	--log) logf=$a ;;
	--resources | -r) res=$a ;;
	esac
	prev=$a
	case $a in
	--log=*) logf=${a#--log=} ;;
	--resources=*) res=${a#--resources=} ;;
	esac
	[ -z "$sub" ] || continue
	if [ -n "$skip" ]; then skip=; continue; fi
	case $a in
	--root | --log | --log-format | --criu | --rootless | --cgroup-manager) skip=1 ;;
	-*) ;;
	*) sub=$a ;;
	esac
done
parent=$(cat /proc/$PPID/comm 2>/dev/null)
extra=
case $sub in
create | exec | run | restore)
	"$real" "$@"
	rc=$?
	;;
*)
	d="$tmpd/$$"
	mkdir -p "$d"
	if [ "$sub" = update ] && [ "$res" = - ]; then
		cat >"$d/in"
		"$real" "$@" <"$d/in" >"$d/out" 2>"$d/err"
		rc=$?
		extra="$extra
  stdin: $(head -c 2000 "$d/in" | sed '2,$s/^/    /')"
	else
		"$real" "$@" >"$d/out" 2>"$d/err"
		rc=$?
	fi
	cat "$d/out"
	cat "$d/err" >&2
	[ ! -s "$d/out" ] || extra="$extra
  stdout: $(head -c 2000 "$d/out" | sed '2,$s/^/    /')"
	[ ! -s "$d/err" ] || extra="$extra
  stderr: $(head -c 2000 "$d/err" | sed '2,$s/^/    /')"
	rm -rf "$d"
	;;
esac
if [ -n "$res" ] && [ "$res" != - ] && [ -r "$res" ]; then
	extra="$extra
  resources: $(head -c 2000 "$res" | sed '2,$s/^/    /')"
fi
if [ "$rc" != 0 ] && [ -n "$logf" ] && [ -r "$logf" ]; then
	extra="$extra
  log: $(tail -n 2 "$logf" | head -c 2000)"
fi
t1=$(date +%s%N)
printf '%s rc=%s %sms parent=%s cwd=%s:%s%s\n' "$(date +%T.%3N)" "$rc" "$(((t1 - t0) / 1000000))" "$parent" "$PWD" "$args" "$extra" >>"$trace"
exit "$rc"
EOF
	chmod 0755 "$E2E_RUN/bin/$name"
}

# build_image writes the test root filesystem (a static busybox), a rootfs
# tar for docker and podman import, and an OCI image layout with the
# busybox and pause images for ctr images import.
build_image() {
	local img=$E2E_BASE/image root a
	root=$img/rootfs
	mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,root,box}
	chmod 1777 "$root/tmp"
	cp /bin/busybox "$root/bin/busybox"
	for a in $("$root/bin/busybox" --list); do
		[[ $a == busybox ]] || ln -sf busybox "$root/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	printf '#!/bin/sh\necho not executable\n' >"$root/box/noexec"
	chmod 0644 "$root/box/noexec"
	tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$img/rootfs.tar" .

	# OCI layout: one uncompressed layer, two configs, two manifests.
	local oci=$img/oci layer_d layer_n
	mkdir -p "$oci/blobs/sha256"
	layer_d=$(sha256sum "$img/rootfs.tar" | cut -d' ' -f1)
	layer_n=$(stat -c %s "$img/rootfs.tar")
	cp "$img/rootfs.tar" "$oci/blobs/sha256/$layer_d"
	local manifests='' name cmd cfg cfg_d man man_d
	for name in busybox pause; do
		if [[ $name == busybox ]]; then cmd='["sh"]'; else cmd='["sleep","2147483647"]'; fi
		cfg=$(printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
			"$(go_arch)" "$cmd" "$layer_d")
		cfg_d=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
		printf '%s' "$cfg" >"$oci/blobs/sha256/$cfg_d"
		man=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
			"$cfg_d" "${#cfg}" "$layer_d" "$layer_n")
		man_d=$(printf '%s' "$man" | sha256sum | cut -d' ' -f1)
		printf '%s' "$man" >"$oci/blobs/sha256/$man_d"
		manifests+=$(printf '%s{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"docker.io/mini-isolate-e2e/%s:1","org.opencontainers.image.ref.name":"1"}}' \
			"${manifests:+,}" "$man_d" "${#man}" "$name")
	done
	printf '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"
	printf '{"schemaVersion":2,"manifests":[%s]}' "$manifests" >"$oci/index.json"
	tar -C "$oci" -cf "$img/oci.tar" .
}

go_arch() {
	case $(uname -m) in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	*) uname -m ;;
	esac
}

# write_configs writes containerd's, dockerd's and podman's configuration:
# the private parts here, the parts that register mini-isolate taken from
# docs/orchestrators.md as they are written there.
write_configs() {
	mkdir -p "$E2E_RUN/cni/net.d" "$E2E_BASE/cni/bin"
	{
		cat <<EOF
version = 2
root = "$E2E_BASE/containerd"
state = "$E2E_RUN/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$E2E_RUN/containerd.sock"
[ttrpc]
  address = "$E2E_RUN/containerd.sock.ttrpc"
[debug]
  address = "$E2E_RUN/containerd-debug.sock"
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = "$E2E_BASE/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF
		# Without CAP_SYS_RESOURCE the sandbox's oomScoreAdj of -998 cannot
		# be set (runc fails in nsexec), so keep scores at or above ours.
		if ! has_cap 24; then echo '  restrict_oom_score_adj = true'; fi
		cat <<EOF
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "$E2E_BASE/cni/bin"
  conf_dir = "$E2E_RUN/cni/net.d"
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

EOF
		doc_block containerd-cri.toml
	} >"$E2E_RUN/containerd.toml"

	doc_block daemon.json >"$E2E_RUN/daemon.json"

	{
		doc_block containers.conf
		# Podman's default ulimits (1048576 open files and processes) need
		# CAP_SYS_RESOURCE to raise the hard limits; without it, keep ours.
		if ! has_cap 24; then
			local nofile nproc
			nofile=$(ulimit -Hn)
			nproc=$(ulimit -Hu)
			[[ $nproc == unlimited ]] && nproc=$(cat /proc/sys/kernel/pid_max)
			((nproc <= $(cat /proc/sys/kernel/pid_max))) || nproc=$(cat /proc/sys/kernel/pid_max)
			printf '\n[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' "$nofile" "$nofile" "$nproc" "$nproc"
		fi
	} >"$E2E_RUN/containers.conf"
}

# has_cap N: whether this shell has capability N in its effective set.
has_cap() {
	local eff
	eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
	(((16#$eff >> $1) & 1))
}

# start_daemons starts the private containerd, then dockerd on top of it.
start_daemons() {
	local p
	for p in "${HOST_PATHS[@]}"; do
		[[ -e $p ]] || touch "$E2E_LOGS/.created${p//\//_}"
	done
	PATH=$E2E_RUN/bin:$PATH setsid containerd --config "$E2E_RUN/containerd.toml" \
		</dev/null >>"$E2E_LOGS/containerd.log" 2>&1 &
	echo $! >"$E2E_RUN/containerd.pid"
	local i
	for ((i = 0; i < 300; i++)); do
		ctr -a "$E2E_RUN/containerd.sock" version >/dev/null 2>&1 && break
		kill -0 "$(cat "$E2E_RUN/containerd.pid")" 2>/dev/null || {
			tail -n 5 "$E2E_LOGS/containerd.log" >&2
			return 1
		}
		sleep 0.1
	done
	ctr -a "$E2E_RUN/containerd.sock" version >/dev/null || return 1

	# dockerd writes its own pid file; setsid's pid is dockerd's.
	PATH=$E2E_RUN/bin:$PATH setsid dockerd \
		--containerd "$E2E_RUN/containerd.sock" \
		--config-file "$E2E_RUN/daemon.json" \
		--data-root "$E2E_BASE/docker" --exec-root "$E2E_RUN/docker" \
		--pidfile "$E2E_RUN/dockerd.pid" -H "unix://$E2E_RUN/docker.sock" \
		--bridge none --iptables=false --ip-masq=false --ip-forward=false \
		--userland-proxy=false --exec-opt native.cgroupdriver=cgroupfs \
		--cgroup-parent "/$E2E_CGROUP/docker" --storage-driver overlay2 --log-level warn \
		</dev/null >>"$E2E_LOGS/dockerd.log" 2>&1 &
	local dpid=$!
	for ((i = 0; i < 600; i++)); do
		docker info >/dev/null 2>&1 && return 0
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 5 "$E2E_LOGS/dockerd.log" >&2
	return 1
}

# import_images loads the test image into docker, podman and containerd.
import_images() {
	local img=$E2E_BASE/image
	docker import --change 'CMD ["sh"]' "$img/rootfs.tar" "$IMAGE" >/dev/null
	pm import -q --change 'CMD ["sh"]' "$img/rootfs.tar" "localhost/$IMAGE" >/dev/null
	local ns
	for ns in "$CTR_NS" "$CRI_NS"; do
		ctr -a "$E2E_RUN/containerd.sock" -n "$ns" images import "$img/oci.tar" >/dev/null
	done
}

# build_crictl builds crictl from the Go module proxy into bin/, once.
build_crictl() {
	local bin=$E2E_REPO/bin/crictl-$CRICTL_VERSION
	if [[ ! -x $bin ]]; then
		GOBIN=$E2E_BASE/gobin CGO_ENABLED=0 go install \
			-ldflags "-X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION#v}" \
			"sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
		mkdir -p "$E2E_REPO/bin"
		mv "$E2E_BASE/gobin/crictl" "$bin"
	fi
	ln -sf "$bin" "$E2E_RUN/bin/crictl"
}
