#!/usr/bin/env bash
# make test: runs each stage given as an argument (a make target), goes on
# after a failure so that one run shows every result, and ends with a
# summary: one line per stage with its passed, failed and skipped counts,
# every skip with its reason, the host cases the tests checked, the stages
# left out ($NOT_RUN), and one "N passed, M failed" line for the whole run. Exit status 1 when a stage
# failed.
#
# A stage reports its counts in $RESULTS/STAGE.sum (hack/testsum's format:
# "passed N", "failed N", "skipped N", "skip NAME: REASON", "host NAME:
# CASE", "fail NAME"); a stage that writes none is read from its last
# "N passed, M failed[, K skipped]" line, or else counts as one check.
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS=${RESULTS:-bin/results}
export RESULTS
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

declare -A rcs secs
for stage in "$@"; do
	echo "==== $stage"
	t0=$SECONDS
	make --no-print-directory "$stage" 2>&1 | tee "$RESULTS/$stage.log"
	rcs[$stage]=${PIPESTATUS[0]}
	secs[$stage]=$((SECONDS - t0))
	echo
done

# counts STAGE: sets p, f, s from the stage's .sum file or its log.
counts() {
	local stage=$1 sum="$RESULTS/$1.sum" line
	p=0 f=0 s=0
	if [[ -s $sum ]]; then
		p=$(awk '$1 == "passed" { print $2 }' "$sum")
		f=$(awk '$1 == "failed" { print $2 }' "$sum")
		s=$(awk '$1 == "skipped" { print $2 }' "$sum")
	elif line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$RESULTS/$stage.log" | tail -1) && [[ -n $line ]]; then
		[[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} s=${BASH_REMATCH[4]:-0}
	elif ((rcs[$stage] == 0)); then
		p=1
	fi
	# A stage that failed with nothing counted as failed still fails.
	if ((rcs[$stage] != 0 && f == 0)); then
		f=1
	fi
}

echo "==== summary"
printf '%-12s %7s %7s %8s %7s\n' stage passed failed skipped time
total_p=0 total_f=0 total_s=0
for stage in "$@"; do
	counts "$stage"
	printf '%-12s %7d %7d %8d %6ds\n' "$stage" "$p" "$f" "$s" "${secs[$stage]}"
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
done
for kind in skip host fail; do
	lines=$(for stage in "$@"; do
		[[ -f $RESULTS/$stage.sum ]] && awk -v k="$kind" -v st="$stage" '$1 == k { $1 = ""; print "  " st ":" $0 }' "$RESULTS/$stage.sum"
	done)
	[[ -n $lines ]] || continue
	case $kind in
	skip) echo "skipped (nothing could be asserted on this host):" ;;
	host) echo "host cases checked (what this host has, and what was asserted):" ;;
	fail) echo "failed:" ;;
	esac
	echo "$lines"
done
# Stages without a counts file: their own failure lines.
for stage in "$@"; do
	if [[ ! -f $RESULTS/$stage.sum && ${rcs[$stage]} != 0 ]]; then
		echo "$stage failed; from its log:"
		lines=$(grep -E 'FAIL|^Failures:|^  [a-z0-9-]+: ' "$RESULTS/$stage.log" | tail -n 10)
		# Nothing it recognises (gofmt's or vet's complaint, say): its end.
		[[ -n $lines ]] || lines=$(tail -n 10 "$RESULTS/$stage.log")
		echo "$lines" | sed 's/^/  /'
	fi
done
for off in ${NOT_RUN:-}; do
	echo "not run: $off"
done
echo "$total_s skipped in all"
echo "$total_p passed, $total_f failed"
((total_f == 0))
