# shellcheck shell=bash
# Kubernetes steps: containerd's CRI plugin driven with crictl, as the
# kubelet drives it, with the runtime chosen by RuntimeClass handler
# (`crictl runp --runtime HANDLER`). The handler for mini-isolate is the one
# docs/orchestrators.md registers; runc is containerd's default handler.
# Pods use the host network (no CNI here), and each container gets its own
# PID namespace, as the kubelet asks unless shareProcessNamespace is set.

cri_steps() {
	step runp k_runp
	step create-start k_create_start
	step exec k_exec
	step logs-exit-code k_logs
	step update-memory k_update
	step stop k_stop
	step rm k_rm
	step stopp-rmp k_stopp
	step judge-pod-annotations k_judge
}

kstate() { printf '%s/tmp/cri-%s-%s' "$E2E_RUN" "$E2E_RT" "$1"; }
kbundle() { printf '%s/containerd/io.containerd.runtime.v2.task/%s/%s' "$E2E_RUN" "$CRI_NS" "$1"; }
# kinspect ID PATH: a field of `crictl inspect`.
kinspect() { crictl inspect "$1" | ocicheck get "$2"; }
kstate_is() { [[ $(kinspect "$1" status/state) == "$2" ]]; }

# pod_config NAME [ANNOTATIONS_JSON] writes a pod sandbox config and prints
# its path.
pod_config() {
	local name=$1 ann=${2:-'{}'} f
	f=$(kstate "$name.pod.json")
	mkdir -p "$E2E_RUN/cri-logs/$E2E_RT-$name"
	cat >"$f" <<EOF
{
  "metadata": {"name": "e2e-$E2E_RT-$name", "namespace": "mini-isolate-e2e", "uid": "$(rand_id uid-)", "attempt": 0},
  "log_directory": "$E2E_RUN/cri-logs/$E2E_RT-$name",
  "annotations": $ann,
  "linux": {
    "cgroup_parent": "/$E2E_CGROUP/cri",
    "security_context": {"namespace_options": {"network": 2, "pid": 1}}
  }
}
EOF
	printf '%s' "$f"
}

# container_config NAME ARGS_JSON [RESOURCES_JSON] writes a container config.
container_config() {
	local name=$1 args=$2 res=${3:-'{}'} f
	f=$(kstate "$name.ctr.json")
	cat >"$f" <<EOF
{
  "metadata": {"name": "$name"},
  "image": {"image": "docker.io/$IMAGE"},
  "command": $args,
  "log_path": "$name.log",
  "linux": {
    "resources": $res,
    "security_context": {"namespace_options": {"pid": 1}}
  }
}
EOF
	printf '%s' "$f"
}

k_runp() {
	local pod
	pod=$(run crictl runp --runtime "$E2E_CRI_HANDLER" "$(pod_config main)") || fail "crictl runp: exit $?"
	printf '%s' "$pod" >"$(kstate pod)"
	[[ $(crictl inspectp "$pod" | ocicheck get status/state) == SANDBOX_READY ]] || fail "sandbox not ready"
}

k_create_start() {
	local pod cid
	pod=$(cat "$(kstate pod)")
	cid=$(run crictl create "$pod" "$(container_config long '["sleep", "600"]')" "$(kstate main.pod.json)") ||
		fail "crictl create: exit $?"
	printf '%s' "$cid" >"$(kstate long)"
	[[ $(kinspect "$cid" status/state) == CONTAINER_CREATED ]] || fail "state $(kinspect "$cid" status/state), want CONTAINER_CREATED"
	run crictl start "$cid" >/dev/null || fail "crictl start: exit $?"
	[[ $(kinspect "$cid" status/state) == CONTAINER_RUNNING ]] || fail "state $(kinspect "$cid" status/state), want CONTAINER_RUNNING"
}

k_exec() {
	local cid rc=0 out
	cid=$(cat "$(kstate long)")
	expect_out hi crictl exec -s "$cid" echo hi
	# crictl exits 1 and names the exit code of the command.
	out=$(capture crictl exec -s "$cid" sh -c 'exit 5') || rc=$?
	((rc != 0)) || fail "crictl exec -s of 'exit 5' succeeded"
	expect_match 'exited with 5' "$out" "crictl exec -s of 'exit 5'"
}

# A container that writes and exits: its output reaches the CRI log, its
# exit code the container status.
k_logs() {
	local pod cid
	pod=$(cat "$(kstate pod)")
	cid=$(run crictl create "$pod" "$(container_config echo '["sh", "-c", "echo hello cri; exit 4"]')" "$(kstate main.pod.json)") ||
		fail "crictl create: exit $?"
	printf '%s' "$cid" >"$(kstate echo)"
	run crictl start "$cid" >/dev/null || fail "crictl start: exit $?"
	wait_for 20 "container $cid to exit" kstate_is "$cid" CONTAINER_EXITED
	[[ $(kinspect "$cid" status/exitCode) == 4 ]] || fail "exit code $(kinspect "$cid" status/exitCode), want 4"
	expect_out 'hello cri' crictl logs "$cid"
}

# UpdateContainerResources: the shim runs `update --resources -`.
k_update() {
	local cid pid f
	cid=$(cat "$(kstate long)")
	run crictl update --memory 67108864 "$cid" >/dev/null || fail "crictl update: exit $?"
	pid=$(kinspect "$cid" info/pid)
	f=$(cgroup_file "$pid" memory memory.limit_in_bytes) || fail "no memory cgroup for pid $pid"
	[[ $(cat "$f") == 67108864 ]] || fail "$f is $(cat "$f"), want 67108864"
}

k_stop() {
	local cid t0=$SECONDS
	cid=$(cat "$(kstate long)")
	run crictl stop -t 1 "$cid" >/dev/null || fail "crictl stop: exit $?"
	((SECONDS - t0 < 15)) || fail "crictl stop took $((SECONDS - t0))s"
	[[ $(kinspect "$cid" status/state) == CONTAINER_EXITED ]] || fail "state $(kinspect "$cid" status/state), want CONTAINER_EXITED"
	[[ $(kinspect "$cid" status/exitCode) == 137 ]] || fail "exit code $(kinspect "$cid" status/exitCode), want 137"
}

k_rm() {
	local n
	for n in long echo; do
		run crictl rm "$(cat "$(kstate "$n")")" >/dev/null || fail "crictl rm: exit $?"
	done
	[[ -z $(crictl ps -aq --pod "$(cat "$(kstate pod)")") ]] || fail "containers left in the pod"
}

k_stopp() {
	local pod
	pod=$(cat "$(kstate pod)")
	run crictl stopp "$pod" >/dev/null || fail "crictl stopp: exit $?"
	run crictl rmp "$pod" >/dev/null || fail "crictl rmp: exit $?"
	[[ -z $(crictl pods -q --id "$pod") ]] || fail "pod $pod still listed"
}

# Judge limits as pod annotations, let through by the handler's
# pod_annotations: a spinner with a 0.5 s CPU limit is killed, and the
# report lands at the host path the pod named. containerd gives the pod's
# annotations to the sandbox (pause) container as well: it must go on
# running past the pod's wall-time, and leave the program's report alone.
k_judge() {
	judged
	local meta=$E2E_RUN/tmp/cri-time.meta pod cid ann t0=$SECONDS problems=()
	rm -f "$meta"
	ann=$(printf '{"io.github.mini-isolate.time": "0.5", "io.github.mini-isolate.wall-time": "3", "io.github.mini-isolate.meta": "%s"}' "$meta")
	pod=$(run crictl runp --runtime "$E2E_CRI_HANDLER" "$(pod_config judge "$ann")") || fail "crictl runp: exit $?"
	printf '%s' "$pod" >"$(kstate judge-pod)"
	say "sandbox annotations: $(ocicheck get annotations <"$(kbundle "$pod")/config.json")"
	cid=$(run crictl create "$pod" \
		"$(container_config solution '["sh", "-c", "while :; do :; done"]' '{"memory_limit_in_bytes": 67108864}')" \
		"$(kstate judge.pod.json)") || fail "crictl create: exit $?"
	run crictl start "$cid" >/dev/null || fail "crictl start: exit $?"
	# The bundle exists once the task does, from start on.
	local cfg
	cfg=$(kbundle "$cid")/config.json
	say "container annotations: $(ocicheck get annotations <"$cfg")"
	[[ $(ocicheck get annotations/io.github.mini-isolate.time <"$cfg") == 0.5 ]] ||
		fail "the pod annotation did not reach the container's config.json"
	wait_for 20 "container $cid to exit" kstate_is "$cid" CONTAINER_EXITED
	[[ $(kinspect "$cid" status/exitCode) == 137 ]] || fail "exit code $(kinspect "$cid" status/exitCode), want 137"
	expect_meta "$meta" status=TO killed=1 limit=time
	local report
	report=$(cat "$meta")
	# Past the pod's wall-time: the sandbox must still be there.
	while ((SECONDS - t0 < 5)); do sleep 0.2; done
	local st
	st=$(crictl inspectp "$pod" | ocicheck get status/state)
	[[ $st == SANDBOX_READY ]] ||
		problems+=("the pod's sandbox is $st $((SECONDS - t0))s after runp, past the pod's wall-time of 3s")
	[[ $(cat "$meta") == "$report" ]] ||
		problems+=("the report changed while the pod lived on: $(tr '\n' ' ' <"$meta")")
	report=$(cat "$meta")
	run crictl rm "$cid" >/dev/null || fail "crictl rm: exit $?"
	run crictl stopp "$pod" >/dev/null || fail "crictl stopp: exit $?"
	run crictl rmp "$pod" >/dev/null || fail "crictl rmp: exit $?"
	[[ $(cat "$meta") == "$report" ]] ||
		problems+=("the report changed when the pod stopped: $(tr '\n' ' ' <"$meta")")
	if ((${#problems[@]})); then
		local msg
		msg=$(printf '%s; ' "${problems[@]}")
		fail "${msg%; }"
	fi
}
