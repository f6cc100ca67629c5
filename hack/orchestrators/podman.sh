# shellcheck shell=bash
# Podman steps: podman 4.3 and conmon 2.1 call the runtime given by path
# with `podman --runtime PATH`; containers.conf (from the docs) lists it in
# runtime_supports_json so that its errors come from its --log file.

podman_steps() {
	step run p_run
	step run-by-name p_run_by_name
	step exit-code with_podman cli_exit_code
	step missing-binary p_missing
	step not-executable p_noexec
	step tty with_podman cli_tty
	step run-detached with_podman cli_detach
	step exec p_exec
	step exec-tty with_podman cli_exec_tty
	step top with_podman cli_top
	step pause-unpause with_podman cli_pause
	step update-memory p_update
	step kill-signal with_podman cli_kill_signal
	step stop with_podman cli_stop
	step kill with_podman cli_kill
	step rm p_rm
	step judge-time-limit p_judge_time
	step judge-clean-run p_judge_ok
	step judge-memory-limit p_judge_memory
	step judge-stop p_judge_stop
	step judge-update p_judge_update
}

# pmr ARGS...: podman with the runtime under test, as the docs show it.
pmr() { pm --runtime "$E2E_RUN/bin/$E2E_RT" "$@"; }
prun() { pmr run --network none --cgroup-parent "/$E2E_CGROUP/podman" "$@"; }
pname() { printf 'e2e-%s-%s' "$E2E_RT" "$1"; }
pstate() { pmr inspect -f "{{.State.$2}}" "$(pname "$1")"; }
# shellcheck disable=SC2153 # IMAGE is set in setup.sh
PIMAGE=localhost/$IMAGE
# with_podman FUNCTION: a shared step of cli.sh with Podman's commands.
with_podman() {
	CLI=pmr CLI_LABEL=podman CLI_RUN=prun CLI_IMAGE=$PIMAGE CLI_NAME=pname CLI_STATE=pstate "$@"
}

p_run() {
	expect_out hello prun --rm "$PIMAGE" echo hello
}

# containers.conf's [engine.runtimes] names the runtime too.
p_run_by_name() {
	expect_out hello pm --runtime "$E2E_RT" run --rm --network none --cgroup-parent "/$E2E_CGROUP/podman" "$PIMAGE" echo hello
}

# Podman maps the runtime's error text to 127 and 126; with the runtime in
# runtime_supports_json it reads the text from the --log file as one JSON
# object.
p_missing() {
	local out rc=0 name id
	name=$(pname missing)
	out=$(capture prun --name "$name" "$PIMAGE" /nonexistent) || rc=$?
	((rc == 127)) || fail "exit $rc, want 127: $out"
	expect_match 'no such file or directory' "$out" "podman's error"
	# The runtime's --log file, as podman reads it: one JSON object.
	id=$(pmr inspect -f '{{.Id}}' "$name") || fail "podman inspect: exit $?"
	out=$(run ocicheck podmanlog "$E2E_RUN/podman/overlay-containers/$id/userdata/oci-log") ||
		fail "podman could not use the runtime's oci-log"
	expect_match 'no such file or directory' "$out" "the oci-log message"
	run pmr rm "$name" >/dev/null || fail "podman rm: exit $?"
}

p_noexec() {
	local out rc=0
	out=$(capture prun --rm "$PIMAGE" /box/noexec) || rc=$?
	((rc == 126)) || fail "exit $rc, want 126: $out"
	expect_match 'permission denied' "$out" "podman's error"
}

# conmon runs exec with --detach, a pid file and, for -t, --tty and a
# console socket.
p_exec() {
	expect_out hi pmr exec "$(pname long)" echo hi
	expect_rc 5 pmr exec "$(pname long)" sh -c 'exit 5'
	local out rc=0
	out=$(capture pmr exec "$(pname long)" /nonexistent) || rc=$?
	((rc == 127)) || fail "exec of a missing binary: exit $rc, want 127: $out"
}

# podman update writes the resources to a file: update --resources=FILE.
p_update() {
	local name pid f
	name=$(pname long)
	run pmr update --memory 64m --memory-swap 128m "$name" >/dev/null || fail "podman update: exit $?"
	pid=$(pstate long Pid)
	f=$(cgroup_file "$pid" memory memory.limit_in_bytes) || fail "no memory cgroup for pid $pid"
	[[ $(cat "$f") == 67108864 ]] || fail "$f is $(cat "$f"), want 67108864"
}

p_rm() {
	local n
	for n in long victim; do
		run pmr rm -f "$(pname "$n")" >/dev/null || fail "podman rm $(pname "$n"): exit $?"
	done
	[[ -z $(pm ps -aq --filter "name=e2e-$E2E_RT-") ]] || fail "containers left: $(pm ps -a --filter "name=e2e-$E2E_RT-")"
}

# Judge limits as podman annotations: the time limit kills the program and
# the detached supervisor writes the report to the host path.
p_judge_time() {
	judged
	local meta=$E2E_RUN/tmp/podman-time.meta rc=0 t0=$SECONDS
	rm -f "$meta"
	run prun --rm \
		--annotation io.github.mini-isolate.time=0.5 \
		--annotation io.github.mini-isolate.wall-time=10 \
		--annotation "io.github.mini-isolate.meta=$meta" \
		"$PIMAGE" sh -c 'while :; do :; done' || rc=$?
	((SECONDS - t0 < 20)) || fail "the judged run took $((SECONDS - t0))s"
	((rc == 137)) || fail "exit $rc, want 137 (killed)"
	expect_meta "$meta" status=TO killed=1 limit=time exitsig=9
}

p_judge_ok() {
	judged
	local meta=$E2E_RUN/tmp/podman-ok.meta
	rm -f "$meta"
	expect_out 'hello judge' prun --rm \
		--annotation io.github.mini-isolate.time=5 \
		--annotation "io.github.mini-isolate.meta=$meta" \
		"$PIMAGE" echo hello judge
	expect_meta "$meta" exitcode=0 status= killed=
}

# The memory limit is OCI's (podman --memory); an OOM kill is verdict ML.
p_judge_memory() {
	judged
	local meta=$E2E_RUN/tmp/podman-memory.meta rc=0
	rm -f "$meta"
	# shellcheck disable=SC2016 # expanded by the container's shell
	run prun --rm --memory 32m --memory-swap 32m \
		--annotation io.github.mini-isolate.judge=true \
		--annotation "io.github.mini-isolate.meta=$meta" \
		"$PIMAGE" sh -c 'x=$(head -c 268435456 /dev/zero | tr "\0" a); echo ${#x}' || rc=$?
	((rc == 137)) || fail "exit $rc, want 137 (OOM-killed)"
	expect_meta "$meta" status=ML cg-oom-killed=1
}

# A judge that gives up on a run stops the container: podman stop sends
# SIGTERM, which the judge init (PID 1, no handlers) does not act on, then
# SIGKILL after the timeout. The supervisor still files a report.
p_judge_stop() {
	judged
	local meta=$E2E_RUN/tmp/podman-stop.meta name t0
	name=$(pname judged)
	rm -f "$meta"
	run prun -d --name "$name" \
		--annotation io.github.mini-isolate.judge=true \
		--annotation "io.github.mini-isolate.meta=$meta" \
		"$PIMAGE" sleep 600 >/dev/null || fail "podman run -d: exit $?"
	t0=$SECONDS
	run pmr stop -t 1 "$name" >/dev/null || fail "podman stop: exit $?"
	((SECONDS - t0 < 15)) || fail "podman stop took $((SECONDS - t0))s"
	[[ $(pstate judged ExitCode) == 137 ]] || fail "exit code $(pstate judged ExitCode) after stop, want 137"
	wait_for 10 "the report at $meta" test -s "$meta"
	expect_meta "$meta" status=XX
	run pmr rm "$name" >/dev/null || fail "podman rm: exit $?"
}

# podman update of a judged container: the memory limit lands on the run's
# cgroup, where it is enforced, and the container's keeps it plus 64 MiB of
# headroom for the init. (Debian's Docker 20.10 passes no annotations, so
# it cannot make a judged container; podman sends update --resources FILE,
# the same path in the runtime as Docker's stdin.)
p_judge_update() {
	judged
	local name pid child f
	name=$(pname judged-update)
	run prun -d --name "$name" --memory 64m --memory-swap 64m \
		--annotation io.github.mini-isolate.wall-time=60 \
		"$PIMAGE" sleep 600 >/dev/null || fail "podman run -d: exit $?"
	pid=$(pstate judged-update Pid)
	# procfs files have no size: read them.
	wait_for 10 "the program under the judge init $pid" grep -q . "/proc/$pid/task/$pid/children"
	child=$(tr -d ' ' <"/proc/$pid/task/$pid/children")
	run pmr update --memory 48m --memory-swap 48m "$name" >/dev/null || fail "podman update: exit $?"
	f=$(cgroup_file "$child" memory memory.limit_in_bytes) || fail "no memory cgroup for pid $child"
	[[ $(cat "$f") == 50331648 ]] || fail "the run's $f is $(cat "$f"), want 50331648"
	f=$(dirname "$(dirname "$f")")/memory.limit_in_bytes
	[[ $(cat "$f") == $((50331648 + 67108864)) ]] || fail "the container's $f is $(cat "$f"), want 48 MiB + 64 MiB"
	# The judge init ignores SIGTERM: no point in waiting for it.
	run pmr rm -f -t 0 "$name" >/dev/null || fail "podman rm: exit $?"
}
