# shellcheck shell=bash
# Steps shared by Docker and Podman, whose command lines agree. Each runs
# with, set for its call: CLI (the command: docker, or pmr for podman with
# the runtime under test), CLI_LABEL (its name in messages), CLI_RUN (run
# with the runtime under test), CLI_IMAGE, and the orchestrator's container
# name and state functions as CLI_NAME and CLI_STATE.

cli_exit_code() {
	expect_rc 3 "$CLI_RUN" --rm "$CLI_IMAGE" sh -c 'exit 3'
}

cli_tty() {
	local out
	out=$(run "$CLI_RUN" --rm -t "$CLI_IMAGE" tty) || fail "$CLI_LABEL run -t: exit $?"
	out=${out//$'\r'/}
	expect_match '^/dev/pts/[0-9]+$' "$out" "tty in the container"
}

cli_detach() {
	run "$CLI_RUN" -d --name "$("$CLI_NAME" long)" "$CLI_IMAGE" sleep 600 >/dev/null || fail "$CLI_LABEL run -d: exit $?"
	[[ $("$CLI_STATE" long Status) == running ]] || fail "status $("$CLI_STATE" long Status), want running"
}

cli_exec_tty() {
	local out
	out=$(run "$CLI" exec -t "$("$CLI_NAME" long)" tty) || fail "$CLI_LABEL exec -t: exit $?"
	out=${out//$'\r'/}
	expect_match '^/dev/pts/[0-9]+$' "$out" "tty of the exec"
}

# top runs `ps --format json` (Docker, through the shim) or reads the
# container's processes itself (Podman).
cli_top() {
	local out
	out=$(run "$CLI" top "$("$CLI_NAME" long)") || fail "$CLI_LABEL top: exit $?"
	expect_match 'sleep 600' "$out" "$CLI_LABEL top"
}

cli_pause() {
	local name pid freezer
	name=$("$CLI_NAME" long)
	run "$CLI" pause "$name" >/dev/null || fail "$CLI_LABEL pause: exit $?"
	[[ $("$CLI_STATE" long Status) == paused ]] || fail "status $("$CLI_STATE" long Status) after pause"
	pid=$("$CLI_STATE" long Pid)
	freezer=$(cgroup_file "$pid" freezer freezer.state) || fail "no freezer cgroup for pid $pid"
	[[ $(cat "$freezer") == FROZEN ]] || fail "$freezer is $(cat "$freezer"), want FROZEN"
	run "$CLI" unpause "$name" >/dev/null || fail "$CLI_LABEL unpause: exit $?"
	[[ $("$CLI_STATE" long Status) == running ]] || fail "status $("$CLI_STATE" long Status) after unpause"
	expect_out hi "$CLI" exec "$name" echo hi
}

cli_logs_have() { "$CLI" logs "$1" 2>&1 | grep "$2" >/dev/null; }

cli_kill_signal() {
	local name
	name=$("$CLI_NAME" sig)
	run "$CLI_RUN" -d --name "$name" "$CLI_IMAGE" sh -c 'trap "exit 7" USR1; echo ready; while :; do sleep 0.1; done' >/dev/null || fail "$CLI_LABEL run -d: exit $?"
	wait_for 20 "the trap to be set" cli_logs_have "$name" ready
	run "$CLI" kill -s USR1 "$name" >/dev/null || fail "$CLI_LABEL kill -s USR1: exit $?"
	expect_out 7 "$CLI" wait "$name"
	run "$CLI" rm "$name" >/dev/null || fail "$CLI_LABEL rm: exit $?"
}

# sleep as PID 1 ignores SIGTERM: stop sends TERM, then KILL after 1 s. A
# stopped container: kill must then fail, as the runtime reports it not
# running.
cli_stop() {
	local name t0
	name=$("$CLI_NAME" long)
	t0=$SECONDS
	run "$CLI" stop -t 1 "$name" >/dev/null || fail "$CLI_LABEL stop: exit $?"
	((SECONDS - t0 < 15)) || fail "$CLI_LABEL stop took $((SECONDS - t0))s"
	[[ $("$CLI_STATE" long Status) == exited ]] || fail "status $("$CLI_STATE" long Status) after stop"
	[[ $("$CLI_STATE" long ExitCode) == 137 ]] || fail "exit code $("$CLI_STATE" long ExitCode) after stop, want 137"
	local out rc=0
	out=$(capture "$CLI" kill "$name") || rc=$?
	((rc != 0)) || fail "$CLI_LABEL kill of a stopped container succeeded"
	printf '%s' "$out"
}

cli_kill() {
	local name
	name=$("$CLI_NAME" victim)
	run "$CLI_RUN" -d --name "$name" "$CLI_IMAGE" sleep 600 >/dev/null || fail "$CLI_LABEL run -d: exit $?"
	run "$CLI" kill "$name" >/dev/null || fail "$CLI_LABEL kill: exit $?"
	expect_out 137 "$CLI" wait "$name"
}
