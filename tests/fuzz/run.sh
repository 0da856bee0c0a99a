#!/usr/bin/env bash
# run.sh BUILD SECONDS JOBS TARGET... - run libFuzzer targets (make fuzz).
#
# Each target BUILD/fuzz/T runs SECONDS seconds, JOBS of them at a time, on
# BUILD/corpus/T/ (the seeds of tests/fuzz/corpus/T/ copied in; what the
# fuzzer adds stays there for the next run; tests/fuzz is never written;
# a run shorter than 30 s uses a fresh copy of the seeds instead),
# with tests/fuzz/T.dict when there is one.  Crashing inputs go to
# BUILD/crashes/T/, the output to BUILD/logs/T.log.  Temporary files of a
# target go to a private tmpfs (nosuid, nodev, noexec) in a mount namespace
# of its own when unshare(1) can make one, else to a directory under
# /dev/shm removed afterwards.  Prints the executions of each target and
# the total; exits 1 when a target crashed or did not report its stats.
set -u
cd "$(dirname "$0")/../.."
if [ $# -lt 4 ]; then
	echo "usage: $0 BUILD SECONDS JOBS TARGET..." >&2
	exit 2
fi
build=$1 secs=$2 jobs=$3
shift 3

# per-target options: larger inputs for archives, JSON and INI files
opts_of() {
	case $1 in
	fuzz_unpack | fuzz_import) echo "-max_len=16384" ;;
	fuzz_podjson | fuzz_ini) echo "-max_len=8192" ;;
	*) echo "" ;;
	esac
}

private_tmp=0
if [ "$(id -u)" = 0 ] && unshare --mount --propagation private true 2>/dev/null; then
	private_tmp=1
fi

run_one() {
	local t=$1 bin=$build/fuzz/$1 corpus=$build/corpus/$1 log=$build/logs/$1.log
	local tmp=$build/tmp/$1 dict=() rc
	# a short run (make test) starts from the seeds alone: replaying a
	# corpus grown by long runs would take longer than the run itself
	if [ "$secs" -lt 30 ]; then
		corpus=$build/corpus-short/$t
		rm -rf "$corpus"
	fi
	mkdir -p "$corpus" "$build/crashes/$t" "$build/logs" "$tmp"
	if [ -d "tests/fuzz/corpus/$t" ]; then
		cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
	fi
	[ -f "tests/fuzz/$t.dict" ] && dict=("-dict=tests/fuzz/$t.dict")
	# shellcheck disable=SC2046
	set -- "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=30 \
		-rss_limit_mb=2048 -artifact_prefix="$build/crashes/$t/" "${dict[@]}" \
		$(opts_of "$t") "$corpus"
	if [ $private_tmp = 1 ]; then
		unshare --mount --propagation private -- sh -c \
			'mount -t tmpfs -o nosuid,nodev,noexec,mode=0700,size=2g cradle-fuzz "$0" &&
			 FUZZ_TMPDIR="$0" exec "$@"' "$tmp" "$@" >"$log" 2>&1
		rc=$?
	else
		local shm
		shm=$(mktemp -d /dev/shm/cradle-fuzz."$t".XXXXXX 2>/dev/null || mktemp -d)
		FUZZ_TMPDIR=$shm "$@" >"$log" 2>&1
		rc=$?
		rm -rf --one-file-system "$shm"
	fi
	rmdir "$tmp" 2>/dev/null
	return $rc
}

declare -A pid_of=()
status=0
for t in "$@"; do
	if [ ! -x "$build/fuzz/$t" ]; then
		echo "$build/fuzz/$t: not built" >&2
		exit 2
	fi
done
echo "fuzzing $# targets for ${secs}s each, $jobs at a time"
running=0
for t in "$@"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$t" &
	pid_of[$t]=$!
	running=$((running + 1))
done

total=0
printf '%-20s %12s %10s %8s  %s\n' TARGET EXECUTIONS EXEC/S CORPUS RESULT
for t in "$@"; do
	wait "${pid_of[$t]}"
	rc=$?
	log=$build/logs/$t.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	cdir=$build/corpus/$t
	[ "$secs" -lt 30 ] && cdir=$build/corpus-short/$t
	corp=$(find "$cdir" -type f | wc -l)
	result=ok
	if [ "$rc" != 0 ] || [ -z "$execs" ]; then
		result="FAILED (exit $rc; $log)"
		status=1
	fi
	total=$((total + ${execs:-0}))
	printf '%-20s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$corp" "$result"
done
printf '%-20s %12s\n' total "$total"
if [ $status != 0 ]; then
	for t in "$@"; do
		log=$build/logs/$t.log
		if grep -q -e '^==[0-9]*==ERROR' -e 'check failed' -e 'deadly signal' \
			-e '^SUMMARY' "$log" 2>/dev/null; then
			echo "--- $t ($log) ---" >&2
			grep -m1 -A30 -e '^==[0-9]*==ERROR' -e 'check failed' -e 'deadly signal' \
				"$log" >&2
			ls "$build/crashes/$t" >&2
		fi
	done
fi
exit $status
