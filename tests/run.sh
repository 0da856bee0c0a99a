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
for t in "$@"; do
	name=$(basename "$t")
	echo "=== $name"
	start=$(date +%s%N)
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=("$name"); fi
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	printf '    (%s: %d.%03ds)\n' "$name" $((ms / 1000)) $((ms % 1000))
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$kind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
