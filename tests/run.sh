#!/usr/bin/env bash
# Run test binaries and print one closing line: "N passed, N failed".
# usage: tests/run.sh KIND BUILD BIN...
# Each binary is a Check suite; a binary passes when it exits 0.
set -u
kind=$1; build=$2; shift 2
export CRADLE_BUILD=$(cd "$build" && pwd)
# TSan builds: the suppressions for uninstrumented libraries, and a short
# exit sleep (the default 1 s is paid by every forked Check test child).
export TSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/tsan.supp atexit_sleep_ms=50 ${TSAN_OPTIONS:-}"
if [ "$(id -u)" != 0 ]; then
	echo "tests: the integration tests need root (namespaces, mounts); run as root" >&2
fi
pass=0; fail=0; failed=()

# One binary: its output, then its time; counted.
report() { # name rc ms log
	cat "$4"
	printf '    (%s: %d.%03ds)\n' "$1" $(($3 / 1000)) $(($3 % 1000))
	if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=("$1"); fi
}

run_one() { # bin dir: output to dir/name.log, status and ms to dir/name.rc
	local name start rc
	name=$(basename "$1")
	start=$(date +%s%N)
	"$1" > "$2/$name.log" 2>&1
	rc=$?
	echo "$rc $(( ($(date +%s%N) - start) / 1000000 ))" > "$2/$name.rc"
}

# Unit suites that start no sandbox (every layer but sandbox/ and worker/)
# share nothing but the CPUs: two run at a time.  The others, and every
# integration suite, run one after another.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
par=(); seq_=()
for t in "$@"; do
	case "$t" in
	*/tests/unit/sandbox/* | */tests/unit/worker/*) seq_+=("$t") ;;
	*/tests/unit/*) par+=("$t") ;;
	*) seq_+=("$t") ;;
	esac
done
if [ ${#par[@]} -gt 0 ]; then
	export -f run_one
	printf '%s\n' "${par[@]}" | xargs -P 2 -I{} bash -c 'run_one "$1" "$2"' _ {} "$tmp"
	for t in "${par[@]}"; do
		name=$(basename "$t")
		echo "=== $name"
		read -r rc ms < "$tmp/$name.rc" || { rc=1; ms=0; }
		report "$name" "$rc" "$ms" "$tmp/$name.log"
	done
fi
for t in "${seq_[@]}"; do
	name=$(basename "$t")
	echo "=== $name"
	start=$(date +%s%N)
	if "$t"; then rc=0; else rc=$?; fi
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	printf '    (%s: %d.%03ds)\n' "$name" $((ms / 1000)) $((ms % 1000))
	if [ "$rc" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=("$name"); fi
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$kind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
