#!/usr/bin/env bash
# Runs mini-isolate behind Docker, Podman, containerd (ctr) and Kubernetes'
# CRI (crictl against containerd), and the same steps with runc as the
# reference. See hack/orchestrators/README.md.
#
# Usage: hack/orchestrators/run.sh [--runtime PATH] [--reference PATH]
#                                  [--only docker,podman,containerd,kubernetes]
#                                  [--keep]
#
# Exit status: 0 when mini-isolate passes, behind every orchestrator,
# every step runc passes and every judge step; 1 otherwise; 2 when the
# test bed itself could not be set up.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO=$(cd "$here/../.." && pwd)
runtime=$E2E_REPO/bin/mini-isolate
reference=
only=docker,podman,containerd,kubernetes
keep=0
while (($#)); do
	case $1 in
	--runtime) runtime=$2 && shift ;;
	--runtime=*) runtime=${1#*=} ;;
	--reference) reference=$2 && shift ;;
	--reference=*) reference=${1#*=} ;;
	--only) only=$2 && shift ;;
	--only=*) only=${1#*=} ;;
	--keep) keep=1 ;;
	-h | --help)
		sed -n '2,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
		exit 0
		;;
	*)
		echo "run.sh: unknown argument $1 (see --help)" >&2
		exit 2
		;;
	esac
	shift
done

export E2E_REPO
export E2E_RUN=/run/mini-isolate-e2e
export E2E_BASE=/var/lib/mini-isolate-e2e
export E2E_LOGS=${E2E_LOGS:-$E2E_REPO/bin/orchestrators}
STEP_TIMEOUT=${E2E_STEP_TIMEOUT:-60}
# Steps that would start after this many seconds fail unrun, so that a
# hanging orchestrator cannot hold CI for long (set-up phases are not
# counted: installing can take minutes on a fresh machine).
DEADLINE=${E2E_DEADLINE:-600}
# In CI a step that cannot run fails the run instead of being skipped.
strict=0
[[ ${CI:-} == true || ${E2E_STRICT:-0} == 1 ]] && strict=1

# shellcheck source=load.sh
. "$here/load.sh"

for o in ${only//,/ }; do
	case $o in
	docker | podman | containerd | kubernetes) ;;
	*)
		echo "run.sh: --only: unknown orchestrator $o (docker, podman, containerd, kubernetes)" >&2
		exit 2
		;;
	esac
done
((EUID == 0)) || {
	echo "orchestrators: must run as root" >&2
	exit 2
}
[[ $runtime == /* ]] || runtime=$PWD/$runtime
[[ -x $runtime ]] || {
	echo "orchestrators: no runtime at $runtime (make build)" >&2
	exit 2
}

# Daemons and shims take their stdin from /dev/null: the containerd shim
# parses it as options. A host where something replaced it by a regular
# file fails in ways that have nothing to do with the runtime.
devnull_ok() { [[ -c /dev/null && $(stat -c %t:%T /dev/null) == 1:3 ]]; }
devnull_ok || {
	echo "orchestrators: /dev/null is not the null device ($(stat -c '%F, owner %u' /dev/null)); restore it: rm /dev/null && mknod -m 666 /dev/null c 1 3" >&2
	exit 2
}

mkdir -p "$E2E_LOGS" /run/lock
exec 9>/run/lock/mini-isolate-e2e.lock
flock -w 900 9 || {
	echo "orchestrators: another run holds /run/lock/mini-isolate-e2e.lock" >&2
	exit 2
}
rm -f "$E2E_LOGS"/*.log "$E2E_LOGS"/results.tsv
export E2E_LOG=$E2E_LOGS/setup.log
RESULTS=$E2E_LOGS/results.tsv
: >"$RESULTS"
started=$SECONDS

export DOCKER_HOST=unix://$E2E_RUN/docker.sock
export CONTAINERD_ADDRESS=$E2E_RUN/containerd.sock
export CONTAINERD_NAMESPACE=$CTR_NS
export CONTAINERS_CONF=$E2E_RUN/containers.conf
export CONTAINERS_REGISTRIES_CONF=$E2E_RUN/registries.conf

# phase NAME SECONDS FUNCTION [ARGS...] runs a set-up function from
# setup.sh under a time limit, logging to setup.log.
phase() {
	local name=$1 secs=$2 rc=0 t0=$SECONDS
	shift 2
	printf '\n=== setup: %s\n' "$name" >>"$E2E_LOGS/setup.log"
	timeout -k 10 "$secs" bash "$here/step.sh" "$@" </dev/null >>"$E2E_LOGS/setup.log" 2>&1 9>&- || rc=$?
	if ((rc == 124 || rc == 137)); then
		printf 'timed out after %ss\n' "$secs" >>"$E2E_LOGS/setup.log"
	fi
	printf '  setup  %-28s %s %ss\n' "$name" "$( ((rc == 0)) && echo ok || echo "FAILED (exit $rc)")" "$((SECONDS - t0))"
	return "$rc"
}

# setup_error MSG: the test bed could not be built; stop here.
setup_error() {
	echo "orchestrators: setup failed: $*; see $E2E_LOGS/setup.log" >&2
	tail -n 15 "$E2E_LOGS/setup.log" | sed 's/^/  | /' >&2
	exit 2
}

# step NAME FUNCTION [ARGS...] runs one step for the current orchestrator
# and runtime (E2E_ORCH, E2E_RT), records its result and prints a line.
step() {
	local name=$1 fn=$2 rc=0 t0 status msg trace off logoff
	shift 2
	trace=$E2E_LOGS/trace-$E2E_RT.log
	off=$(stat -c %s "$trace")
	printf '\n=== %s / %s / %s\n' "$E2E_ORCH" "$E2E_RT" "$name" >>"$E2E_LOG"
	logoff=$(stat -c %s "$E2E_LOG")
	t0=$EPOCHREALTIME
	if [[ -n ${ORCH_BROKEN:-} ]]; then
		# Cannot run here: skipped, except under CI, where that fails.
		if ((strict)); then
			printf 'FAIL: %s\n' "$ORCH_BROKEN" >>"$E2E_LOG"
			rc=1
		else
			printf 'SKIP: %s\n' "$ORCH_BROKEN" >>"$E2E_LOG"
			rc=4
		fi
	elif ((SECONDS - steps_started > DEADLINE)); then
		printf 'FAIL: not run: the steps took longer than %ss in all (E2E_DEADLINE)\n' "$DEADLINE" >>"$E2E_LOG"
		rc=1
	else
		timeout -k 5 "$STEP_TIMEOUT" bash "$here/step.sh" "$fn" "$@" </dev/null >>"$E2E_LOG" 2>&1 9>&- || rc=$?
	fi
	local secs
	secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	msg=$(tail -c +$((logoff + 1)) "$E2E_LOG" | grep -E '^(FAIL|N/A|SKIP): ' | tail -n 1 | sed -E 's/^[A-Z/]+: //') || true
	case $rc in
	0) status=PASS ;;
	3) status=N/A ;;
	4) status=SKIP ;;
	124 | 137)
		status=FAIL
		msg="timed out after ${STEP_TIMEOUT}s${msg:+ ($msg)}"
		;;
	*)
		status=FAIL
		[[ -n $msg ]] || msg="exit $rc: $(tail -n 1 "$E2E_LOG")"
		;;
	esac
	[[ $status != FAIL ]] || printf 'FAILED: %s\n' "$msg" >>"$E2E_LOG"
	{
		echo "--- runtime calls during this step"
		tail -c +$((off + 1)) "$trace" | head -c 60000
	} >>"$E2E_LOG"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$E2E_ORCH" "$E2E_RT" "$name" "$status" "$secs" "${msg//$'\t'/ }" >>"$RESULTS"
	printf '  %-11s %-13s %-22s %-4s %5ss%s\n' "$E2E_ORCH" "$E2E_RT" "$name" "$status" "$secs" "${msg:+  $msg}"
}

finish() {
	local rc=$?
	if ((keep == 0)); then
		teardown >>"$E2E_LOGS/setup.log" 2>&1 9>&- || true
	fi
	exit "$rc"
}
trap finish EXIT
trap 'echo "orchestrators: interrupted; stopping what the run started" >&2; exit 130' INT TERM

echo "orchestrators: $runtime against ${reference:-runc}; logs in $E2E_LOGS"
phase install 900 bash "$here/install.sh" || setup_error "installing the orchestrators"
[[ -n $reference ]] || reference=$(command -v runc || echo /usr/sbin/runc)
[[ -x $reference ]] || setup_error "no reference runtime at $reference"
phase "stop leftovers" 120 teardown || setup_error "a previous run left things behind that could not be removed"
mkdir -p "$E2E_RUN/bin" "$E2E_RUN/tmp" "$E2E_BASE/tmp" "$E2E_RUN/docker-cli"
phase "build ocicheck" 300 go build -o "$E2E_RUN/bin/ocicheck" "$here/ocicheck" || setup_error "building ocicheck"
cri_broken=
if [[ ,$only, == *,kubernetes,* ]]; then
	phase "build crictl $CRICTL_VERSION" 900 build_crictl || cri_broken="crictl $CRICTL_VERSION could not be built from the Go module proxy"
fi
# A copy, as an installed binary would be: a rebuild during the run must
# not change the runtime under test.
install -m 0755 "$runtime" "$E2E_RUN/bin/real-mini-isolate"
make_wrapper mini-isolate "$E2E_RUN/bin/real-mini-isolate"
make_wrapper runc "$reference"
phase "test image" 120 build_image || setup_error "building the test image"
phase configs 60 write_configs || setup_error "writing the configurations (are the docs' e2e blocks intact?)"
printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 30\n' \
	"$E2E_RUN/containerd.sock" "$E2E_RUN/containerd.sock" >"$E2E_RUN/crictl.yaml"
printf 'unqualified-search-registries = []\n' >"$E2E_RUN/registries.conf"
phase daemons 180 start_daemons || setup_error "starting containerd and dockerd"
phase "import images" 180 import_images || setup_error "importing the test image"

# One block per orchestrator; runc first, as the reference.
steps_started=$SECONDS
declare -A orch_fn=([docker]=docker_steps [podman]=podman_steps [containerd]=containerd_steps [kubernetes]=cri_steps)
orchs=()
for o in docker podman containerd kubernetes; do
	[[ ,$only, == *,$o,* ]] && orchs+=("$o")
done
for o in "${orchs[@]}"; do
	export E2E_ORCH=$o
	for rt in runc mini-isolate; do
		export E2E_RT=$rt E2E_LOG=$E2E_LOGS/$o-$rt.log
		export E2E_DOCKER_RUNTIME=$rt E2E_CRI_HANDLER=$rt
		export E2E_JUDGE=0
		[[ $rt == mini-isolate ]] && E2E_JUDGE=1
		ORCH_BROKEN=
		[[ $o != kubernetes ]] || ORCH_BROKEN=$cri_broken
		"${orch_fn[$o]}"
	done
done

# Tear down now, so that what is left behind counts.
cleanup_ok=1
if ((keep == 0)); then
	teardown >>"$E2E_LOGS/setup.log" 2>&1 9>&- || cleanup_ok=0
	trap - EXIT
fi

echo
passed=0 failed=0 skipped=0
for o in "${orchs[@]}"; do
	IFS=$'\t' read -r verdict text < <(
		awk -F'\t' -v o="$o" '
			$1 == o { st[$2 "\t" $3] = $4; msg[$2 "\t" $3] = $6; if (!seen[$3]++) steps[++n] = $3 }
			END {
				bad = 0; skip = 0; both = ""; regress = ""
				for (i = 1; i <= n; i++) {
					s = steps[i]; m = st["mini-isolate\t" s]; c = st["runc\t" s]
					for (r = 1; r <= 2; r++) {
						rt = r == 1 ? "mini-isolate" : "runc"; v = st[rt "\t" s]
						if (v == "N/A") { na[rt]++; continue }
						t[rt]++; if (v == "PASS") p[rt]++
					}
					if (m == "SKIP" || c == "SKIP") { skip++; if (why == "") why = msg["mini-isolate\t" s] != "" ? msg["mini-isolate\t" s] : msg["runc\t" s] }
					if (m != "PASS" && m != "SKIP" && (c == "PASS" || c == "N/A")) { bad++; regress = regress " " s }
					else if (m == "FAIL" && c == "FAIL") { bad++; both = both " " s }
					else if (m == "PASS" && c == "FAIL") rfail = rfail " " s
				}
				line = sprintf("mini-isolate %d/%d, runc %d/%d steps", p["mini-isolate"], t["mini-isolate"], p["runc"], t["runc"])
				if (na["runc"]) line = line sprintf(" (%d judge step%s n/a for runc)", na["runc"], na["runc"] > 1 ? "s" : "")
				if (regress != "") line = line "; mini-isolate fails where runc passes:" regress
				if (both != "") line = line "; runc fails too (test bed or host):" both
				if (rfail != "") line = line "; only runc fails:" rfail
				if (skip) line = line sprintf("; %d skipped: %s", skip, why)
				print (bad ? "FAIL" : (skip ? "SKIP" : "PASS")) "\t" line
			}' "$RESULTS"
	)
	case $verdict in
	PASS) passed=$((passed + 1)) ;;
	SKIP) if ((strict)); then failed=$((failed + 1)); else skipped=$((skipped + 1)); fi ;;
	*) failed=$((failed + 1)) ;;
	esac
	printf '%-11s %-4s  %s\n' "$o" "$verdict" "$text"
done
if ! devnull_ok; then
	failed=$((failed + 1))
	echo "host        FAIL  /dev/null was replaced during the run ($(stat -c '%F, owner %u' /dev/null)): results are not reliable"
fi
if ((cleanup_ok == 0)); then
	failed=$((failed + 1))
	echo "cleanup     FAIL  something was left behind; see $E2E_LOGS/setup.log"
fi
echo "runtime calls traced: $(grep -c '^[0-9]' "$E2E_LOGS/trace-mini-isolate.log") of mini-isolate, $(grep -c '^[0-9]' "$E2E_LOGS/trace-runc.log") of runc; logs and traces in $E2E_LOGS"
echo "time: $((SECONDS - started))s"
if ((keep)); then
	echo "kept running: DOCKER_HOST=$DOCKER_HOST /usr/bin/docker ...; CONTAINERD_ADDRESS=$CONTAINERD_ADDRESS ctr -n $CTR_NS ...;"
	echo "  $E2E_RUN/bin/crictl --config $E2E_RUN/crictl.yaml ...; podman with the flags of pm_args in $here/lib.sh and CONTAINERS_CONF=$CONTAINERS_CONF"
fi
if ((skipped)); then
	echo "orchestrators: $passed passed, $failed failed, $skipped skipped"
else
	echo "orchestrators: $passed passed, $failed failed"
fi
((failed == 0))
