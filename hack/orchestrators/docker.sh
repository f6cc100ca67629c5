# shellcheck shell=bash
# Docker steps: dockerd 20.10 through containerd's runc shim v2, with the
# runtime registered in daemon.json (mini-isolate, from the docs) or the
# built-in runc. Containers run with --network none.

docker_steps() {
	step run d_run
	step exit-code with_docker cli_exit_code
	step missing-binary d_missing
	step not-executable d_noexec
	step tty with_docker cli_tty
	step run-detached with_docker cli_detach
	step exec d_exec
	step exec-tty with_docker cli_exec_tty
	step top with_docker cli_top
	step pause-unpause with_docker cli_pause
	step update-memory d_update
	step kill-signal with_docker cli_kill_signal
	step stop d_stop
	step kill with_docker cli_kill
	step rm d_rm
}

# drun ARGS...: docker run with the runtime under test and no network.
drun() { docker run --runtime "$E2E_DOCKER_RUNTIME" --network none "$@"; }
dname() { printf 'e2e-%s-%s' "$E2E_RT" "$1"; }
dstate() { docker inspect -f "{{.State.$2}}" "$(dname "$1")"; }
# with_docker FUNCTION: a shared step of cli.sh with Docker's commands.
with_docker() {
	CLI=docker CLI_LABEL=docker CLI_RUN=drun CLI_IMAGE=$IMAGE CLI_NAME=dname CLI_STATE=dstate "$@"
}

d_run() {
	expect_out hello drun --rm "$IMAGE" echo hello
}

# Docker maps the runtime's error text to 127 and 126; the text comes from
# the runtime's --log file.
d_missing() {
	local out rc=0
	out=$(capture drun --rm "$IMAGE" /nonexistent) || rc=$?
	((rc == 127)) || fail "exit $rc, want 127: $out"
	expect_match 'OCI runtime create failed: .*no such file or directory' "$out" "docker's error"
	runtime_error_read "$out"
}

# runtime_error_read OUT fails if containerd could not read the runtime's
# --log file (its own message then names log.json).
runtime_error_read() {
	[[ $1 != *"unable to retrieve OCI runtime error"* ]] || fail "containerd could not read the runtime's log.json: $1"
}

d_noexec() {
	local out rc=0
	out=$(capture drun --rm "$IMAGE" /box/noexec) || rc=$?
	((rc == 126)) || fail "exit $rc, want 126: $out"
	expect_match 'OCI runtime create failed: .*permission denied' "$out" "docker's error"
	runtime_error_read "$out"
}

d_exec() {
	expect_out hi docker exec "$(dname long)" echo hi
	expect_rc 5 docker exec "$(dname long)" sh -c 'exit 5'
	# A missing binary in exec: the runtime's error, exit 126 or 127 as runc.
	local out rc=0
	out=$(capture docker exec "$(dname long)" /nonexistent) || rc=$?
	((rc == 126 || rc == 127)) || fail "exec of a missing binary: exit $rc: $out"
	expect_match 'no such file or directory' "$out" "docker's error"
	runtime_error_read "$out"
}

# docker update sends every resource it knows on stdin, zeros included.
d_update() {
	local name pid f
	name=$(dname long)
	run docker update --memory 64m --memory-swap 128m "$name" >/dev/null || fail "docker update: exit $?"
	[[ $(docker inspect -f '{{.HostConfig.Memory}}' "$name") == 67108864 ]] || fail "HostConfig.Memory not updated"
	pid=$(dstate long Pid)
	f=$(cgroup_file "$pid" memory memory.limit_in_bytes) || fail "no memory cgroup for pid $pid"
	[[ $(cat "$f") == 67108864 ]] || fail "$f is $(cat "$f"), want 67108864"
	run docker update --cpu-shares 512 "$name" >/dev/null || fail "docker update --cpu-shares: exit $?"
	f=$(cgroup_file "$pid" cpu cpu.shares) || fail "no cpu cgroup for pid $pid"
	[[ $(cat "$f") == 512 ]] || fail "$f is $(cat "$f"), want 512"
	[[ $(cat "$(cgroup_file "$pid" memory memory.limit_in_bytes)") == 67108864 ]] || fail "cpu update changed the memory limit"
}

# Docker also says why the kill of a stopped container failed.
d_stop() {
	local out
	out=$(with_docker cli_stop) || exit 1
	expect_match 'is not running' "$out" "docker kill of a stopped container"
}

d_rm() {
	local n
	for n in long victim; do
		run docker rm -f "$(dname "$n")" >/dev/null || fail "docker rm $(dname "$n"): exit $?"
	done
	[[ -z $(docker ps -aq --filter "name=e2e-$E2E_RT-") ]] || fail "containers left: $(docker ps -a --filter "name=e2e-$E2E_RT-")"
	# Nothing left in the runtime's state either.
	local left
	left=$(run "$E2E_RUN/bin/$E2E_RT" --root "$E2E_RUN/docker/runtime-runc/moby" list -q) || fail "list: exit $?"
	[[ -z $left ]] || fail "the runtime still lists: $left"
}
