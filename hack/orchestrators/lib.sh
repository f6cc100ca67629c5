# shellcheck shell=bash
# Helpers shared by run.sh and the step functions (sourced, never run).
#
# A step is a shell function that runs in a child bash under `timeout`
# (see step.sh): it returns 0 to pass, calls `fail MSG` to fail, and
# `na MSG` when the step does not apply to the runtime under test.

# log MSG... prints a line on the console, and into the current log.
log() {
	printf '%s\n' "$*"
	if [[ -n ${E2E_LOG:-} ]]; then printf '%s\n' "$*" >>"$E2E_LOG"; fi
}

# say MSG... writes to the current step's log only (stderr of a step goes
# there).
say() { printf '%s\n' "$*" >&2; }

# fail MSG ends the step as failed, with MSG as its error.
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# na MSG ends the step as not applicable to this runtime.
na() {
	printf 'N/A: %s\n' "$*" >&2
	exit 3
}

# skip MSG ends the step as skipped: it cannot run here, for MSG.
skip() {
	printf 'SKIP: %s\n' "$*" >&2
	exit 4
}

# q ARGS... prints its arguments shell-quoted, for logs.
q() {
	local out='' a
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then out+=" $a"; else out+=" $(printf '%q' "$a")"; fi
	done
	printf '%s' "${out# }"
}

# run CMD... logs the command and its output to the step log and prints
# the command's stdout on stdout; its status is the command's.
run() {
	say "\$ $(q "$@")"
	local out rc=0 errf
	errf=$(mktemp "${E2E_RUN:-/tmp}/tmp/err.XXXXXX")
	out=$("$@" 2>"$errf") || rc=$?
	logged "$out" '|'
	logged "$(cat "$errf")" '!'
	rm -f "$errf"
	((rc == 0)) || say "  (exit $rc)"
	[[ -z $out ]] || printf '%s\n' "$out"
	return "$rc"
}

# capture CMD... is run with stdout and stderr together, for messages.
capture() {
	say "\$ $(q "$@")"
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	logged "$out" '|'
	((rc == 0)) || say "  (exit $rc)"
	[[ -z $out ]] || printf '%s\n' "$out"
	return "$rc"
}

# logged TEXT MARK writes TEXT to the step log, indented behind MARK.
logged() {
	[[ -n $1 ]] || return 0
	printf '%s\n' "$1" | head -c 4000 | sed "s/^/  $2 /" >&2
}

# expect_rc WANT CMD... runs CMD and fails the step unless it exits WANT.
expect_rc() {
	local want=$1 rc=0
	shift
	run "$@" >/dev/null || rc=$?
	((rc == want)) || fail "$(q "$@"): exit $rc, want $want"
}

# expect_out WANT CMD... runs CMD (which must succeed) and fails unless
# its output, carriage returns dropped and trimmed, is WANT.
expect_out() {
	local want=$1 out
	shift
	out=$(run "$@") || fail "$(q "$@"): exit $?"
	out=$(printf '%s' "$out" | tr -d '\r')
	[[ $out == "$want" ]] || fail "$(q "$@"): output $(q "$out"), want $(q "$want")"
}

# expect_match REGEX TEXT WHAT fails unless TEXT matches the extended REGEX.
expect_match() {
	[[ $2 =~ $1 ]] || fail "$3: $(q "${2:0:300}") does not match /$1/"
}

# wait_for SECONDS WHAT CMD... polls CMD every 0.1 s until it succeeds.
wait_for() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || fail "timed out after ${secs}s waiting for $what"
		sleep 0.1
	done
}

# rand_id PREFIX prints PREFIX followed by 8 random hex digits.
rand_id() { printf '%s%s' "$1" "$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"; }

# cgroup_file PID CONTROLLER FILE prints the path of FILE in the v1
# CONTROLLER hierarchy for the cgroup of PID.
cgroup_file() {
	local pid=$1 ctl=$2 file=$3 line path
	while IFS= read -r line; do
		local ctls=${line#*:}
		ctls=${ctls%%:*}
		path=${line#*:*:}
		if [[ ,$ctls, == *",$ctl,"* ]]; then
			printf '/sys/fs/cgroup/%s%s/%s' "$ctl" "$path" "$file"
			return 0
		fi
	done <"/proc/$pid/cgroup"
	return 1
}

# The orchestrators' command-line tools, pointed at the private daemons.
# Debian's docker CLI, not a newer one that may come first in PATH.
docker() { DOCKER_CONFIG=$E2E_RUN/docker-cli /usr/bin/docker "$@"; }
# pm_args sets PM_ARGS to podman's global flags for the private stores.
pm_args() {
	PM_ARGS=(--root "$E2E_BASE/podman/storage" --runroot "$E2E_RUN/podman"
		--tmpdir "$E2E_RUN/podman-tmp" --volumepath "$E2E_BASE/podman/volumes"
		--network-config-dir "$E2E_RUN/podman-net"
		--cgroup-manager cgroupfs --events-backend file --storage-driver overlay)
}
pm() {
	local PM_ARGS
	pm_args
	TMPDIR=$E2E_BASE/tmp podman "${PM_ARGS[@]}" "$@"
}
crictl() { "$E2E_RUN/bin/crictl" --config "$E2E_RUN/crictl.yaml" "$@"; }
ocicheck() { "$E2E_RUN/bin/ocicheck" "$@"; }

# judged fails the step as not applicable unless the runtime under test
# implements judge annotations.
judged() {
	[[ ${E2E_JUDGE:-0} == 1 ]] || na "$E2E_RT does not implement the io.github.mini-isolate. annotations"
}

# meta_get FILE KEY prints KEY's value from an isolate-format meta report.
meta_get() { sed -n "s/^$2://p" "$1"; }

# expect_meta FILE KEY=VALUE... fails unless the report has each KEY=VALUE
# (VALUE empty: KEY must be absent).
expect_meta() {
	local file=$1 kv k v got
	shift
	[[ -s $file ]] || fail "no meta report at $file"
	say "meta report $file: $(tr '\n' ' ' <"$file")"
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		got=$(meta_get "$file" "$k")
		[[ $got == "$v" ]] || fail "meta report: $k is $(q "$got"), want $(q "$v") ($(tr '\n' ' ' <"$file"))"
	done
}
