# shellcheck shell=bash
# containerd steps: ctr 1.6 with `--runc-binary PATH`, which sets the runc
# shim v2's BinaryName. The shim calls the runtime with --root, --log
# <bundle>/log.json and --log-format json.

containerd_steps() {
	step run c_run
	step exit-code c_exit_code
	step missing-binary c_missing
	step tty c_tty
	step run-detached c_detach
	step exec c_exec
	step exec-tty c_exec_tty
	step ps c_ps
	step pause-resume c_pause
	step metrics c_metrics
	step call-formats c_formats
	step kill c_kill
	step rm c_rm
	step judge-time-limit c_judge_time
}

# crun ARGS... IMAGE ID CMD...: ctr run with the runtime under test.
crun_() { ctr run --runc-binary "$E2E_RUN/bin/$E2E_RT" "$@"; }
cname() { printf 'e2e-%s-%s' "$E2E_RT" "$1"; }
# shellcheck disable=SC2153 # IMAGE is set in setup.sh
CIMAGE=docker.io/$IMAGE
cbundle() { printf '%s/containerd/io.containerd.runtime.v2.task/%s/%s' "$E2E_RUN" "$CTR_NS" "$1"; }
# ctask ID prints the task's status as `ctr task ls` shows it.
ctask() { ctr task ls | awk -v id="$1" '$1 == id { print $3 }'; }
ctask_is() { [[ $(ctask "$1") == "$2" ]]; }

c_run() {
	expect_out hello crun_ --rm "$CIMAGE" "$(cname run)" echo hello
}

c_exit_code() {
	expect_rc 3 crun_ --rm "$CIMAGE" "$(cname exit)" sh -c 'exit 3'
}

# The error the user sees is the last "error" entry of log.json.
c_missing() {
	local out rc=0
	out=$(capture crun_ --rm "$CIMAGE" "$(cname missing)" /nonexistent) || rc=$?
	((rc != 0)) || fail "ctr run of a missing binary succeeded"
	expect_match 'OCI runtime create failed: .*no such file or directory' "$out" "ctr's error"
	[[ $out != *"unable to retrieve OCI runtime error"* ]] || fail "containerd could not read the runtime's log.json: $out"
	ctr container rm "$(cname missing)" >/dev/null 2>&1 || true
}

# ctr -t needs a terminal: script(1) provides one.
c_tty() {
	local out
	out=$(run script -qec "ctr run --rm -t --runc-binary $E2E_RUN/bin/$E2E_RT $CIMAGE $(cname tty) tty" /dev/null) ||
		fail "ctr run -t: exit $?"
	# script(1) adds what the terminal echoed; the line from tty(1) counts.
	expect_match '(^|[^a-z])/dev/pts/[0-9]+'$'\r' "$out" "tty in the container"
}

c_detach() {
	run crun_ -d "$CIMAGE" "$(cname long)" sleep 600 >/dev/null || fail "ctr run -d: exit $?"
	[[ $(ctask "$(cname long)") == RUNNING ]] || fail "task status $(ctask "$(cname long)"), want RUNNING"
}

c_exec() {
	expect_out hi ctr task exec --exec-id e1 "$(cname long)" echo hi
	expect_rc 5 ctr task exec --exec-id e2 "$(cname long)" sh -c 'exit 5'
	local out rc=0
	out=$(capture ctr task exec --exec-id e3 "$(cname long)" /nonexistent) || rc=$?
	((rc != 0)) || fail "exec of a missing binary succeeded"
	expect_match 'OCI runtime exec failed: .*no such file or directory' "$out" "ctr's error"
}

c_exec_tty() {
	local out
	out=$(run script -qec "ctr task exec -t --exec-id t1 $(cname long) tty" /dev/null) || fail "ctr task exec -t: exit $?"
	expect_match '(^|[^a-z])/dev/pts/[0-9]+'$'\r' "$out" "tty of the exec"
}

# ctr task ps: the shim runs `ps --format json` and parses the pids.
c_ps() {
	local out
	out=$(run ctr task ps "$(cname long)") || fail "ctr task ps: exit $?"
	[[ $(printf '%s\n' "$out" | awk 'NR > 1 && $1 ~ /^[0-9]+$/' | wc -l) -ge 1 ]] || fail "ctr task ps listed no pid"
}

c_pause() {
	run ctr task pause "$(cname long)" >/dev/null || fail "ctr task pause: exit $?"
	[[ $(ctask "$(cname long)") == PAUSED ]] || fail "task status $(ctask "$(cname long)") after pause, want PAUSED"
	run ctr task resume "$(cname long)" >/dev/null || fail "ctr task resume: exit $?"
	[[ $(ctask "$(cname long)") == RUNNING ]] || fail "task status $(ctask "$(cname long)") after resume, want RUNNING"
	expect_out hi ctr task exec --exec-id e4 "$(cname long)" echo hi
}

# The shim reads the metrics from the container's cgroup itself.
c_metrics() {
	local out
	out=$(run ctr task metrics "$(cname long)") || fail "ctr task metrics: exit $?"
	expect_match 'memory\.usage_in_bytes|memory\.usage' "$out" "ctr task metrics"
}

# What the shim read from the runtime, checked the way it reads it, with
# the --root the traced calls used: the pid file (Atoi, no newline), the
# state, `ps --format json`, the log.json the failed exec above wrote,
# and `features`, which containerd 2 and Docker 25 run.
c_formats() {
	local id bundle root rt=$E2E_RUN/bin/$E2E_RT
	id=$(cname long)
	bundle=$(cbundle "$id")
	root=$(grep -F " create " "$E2E_LOGS/trace-$E2E_RT.log" | grep -F " $id" | tail -n 1 | sed -n 's/.* --root \([^ ]*\) .*/\1/p')
	[[ -n $root ]] || fail "no traced create of $id"
	say "runtime root from the trace: $root"
	run ocicheck pidfile "$bundle/init.pid" >/dev/null || fail "init.pid as go-runc reads it"
	run "$rt" --root "$root" state "$id" | ocicheck state >/dev/null || fail "state as podman reads it"
	run "$rt" --root "$root" ps --format json "$id" | ocicheck pids >/dev/null || fail "ps --format json as the shim reads it"
	run ocicheck shimlog "$bundle/log.json" >/dev/null || fail "log.json as the shim reads it"
	run "$rt" features | ocicheck features >/dev/null || fail "features as containerd reads it"
	local v
	v=$(run "$rt" --version) || fail "--version: exit $?"
	[[ $v == *" version "* ]] || fail "--version has no '<name> version <v>' line for docker info"
}

c_kill() {
	local id
	id=$(cname long)
	run ctr task kill -s KILL "$id" >/dev/null || fail "ctr task kill: exit $?"
	wait_for 10 "task $id to stop" ctask_is "$id" STOPPED
}

c_rm() {
	local id
	id=$(cname long)
	run ctr task rm "$id" >/dev/null || fail "ctr task rm: exit $?"
	run ctr container rm "$id" >/dev/null || fail "ctr container rm: exit $?"
	local left
	left=$(ctr container ls -q) || fail "ctr container ls: exit $?"
	[[ $'\n'$left != *$'\n'"e2e-$E2E_RT-"* ]] || fail "containers left: $left"
}

# ctr run --annotation carries judge limits too.
c_judge_time() {
	judged
	local meta=$E2E_RUN/tmp/ctr-time.meta rc=0
	rm -f "$meta"
	run crun_ --rm \
		--annotation io.github.mini-isolate.time=0.5 \
		--annotation io.github.mini-isolate.wall-time=10 \
		--annotation "io.github.mini-isolate.meta=$meta" \
		"$CIMAGE" "$(cname judge)" sh -c 'while :; do :; done' || rc=$?
	((rc == 137)) || fail "exit $rc, want 137 (killed)"
	expect_meta "$meta" status=TO killed=1 limit=time
}
