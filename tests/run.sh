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

# A binary's key in the temp dir: its path, flattened (two layers may have
# suites of the same name, as proto/ and server/ have test_config).
key() { local k=${1#"$CRADLE_BUILD"/}; echo "${k//\//_}"; }

run_one() { # bin dir: output to dir/KEY.log, status and ms to dir/KEY.rc
	local name start rc
	name=$(key "$1")
	start=$(date +%s%N)
	"$1" > "$2/$name.log" 2>&1
	rc=$?
	echo "$rc $(( ($(date +%s%N) - start) / 1000000 ))" > "$2/$name.rc"
}

# Unit suites that start no sandbox (every layer but sandbox/ and worker/)
# share nothing but the CPUs: two run at a time.  The unit suites that
# launch sandboxes (sandbox/, worker/) name whatever they make outside
# their base directory after their runner's pid (cgroup parents
# /cradle-unit-<pid>, cradle-test-<pid>, cradle-devtest-<pid>; scratch
# dirs /tmp/cradle-<suite>-XXXXXX; the node of the CNI tests is a network
# namespace of each test's own) and check and sweep only that, so they
# run $CRADLE_SANDBOX_PAR (3) at a time: much of their time is spent
# waiting on plugins and the kernel.  The integration suites share
# nothing either: each has a cgroup parent, temp dirs and a sweep of its
# own (IT_TAG, tests/integ/libinteg.h), and most of their time is spent
# waiting on daemons, plugins and the kernel, so three run at a time
# ($CRADLE_INTEG_PAR).  Each group runs the longest first.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
LONGEST="test_events test_sandbox test_chaos test_network test_limits test_security
         test_proto test_pull test_unpack test_lifecycle test_sp
         test_seccomp test_cni test_start test_selinux test_plan test_nri"
par=(); sbx=(); integ=()
for t in "$@"; do
	case "$t" in
	*/tests/unit/sandbox/* | */tests/unit/worker/*) sbx+=("$t") ;;
	*/tests/unit/*) par+=("$t") ;;
	*) integ+=("$t") ;;
	esac
done
# The names in $LONGEST first, in its order, then the rest as given
# (no command substitution inside the loops: a fork per pair cost seconds).
longest_first() {
	local l t all=" ${LONGEST//[[:space:]]/ } "
	for l in $LONGEST; do
		for t in "$@"; do [ "${t##*/}" = "$l" ] && echo "$t"; done
	done
	for t in "$@"; do
		case "$all" in *" ${t##*/} "*) ;; *) echo "$t" ;; esac
	done
}
mapfile -t integ < <(longest_first "${integ[@]}")
mapfile -t par < <(longest_first "${par[@]}")
mapfile -t sbx < <(longest_first "${sbx[@]}")

export -f run_one key
run_par() { # P BIN...: P at a time, then each one's output in order
	local p=$1 t0=$SECONDS
	shift
	printf '%s\n' "$@" | xargs -P "$p" -I{} bash -c 'run_one "$1" "$2"' _ {} "$tmp"
	for t in "$@"; do
		name=${t##*/}
		echo "=== $name"
		read -r rc ms < "$tmp/$(key "$t").rc" || { rc=1; ms=0; }
		report "$name" "$rc" "$ms" "$tmp/$(key "$t").log"
	done
	echo "--- $# suites, $p at a time: $((SECONDS - t0)) s"
}
[ ${#par[@]} -gt 0 ] && run_par 2 "${par[@]}"
[ ${#sbx[@]} -gt 0 ] && run_par "${CRADLE_SANDBOX_PAR:-3}" "${sbx[@]}"
[ ${#integ[@]} -gt 0 ] && run_par "${CRADLE_INTEG_PAR:-3}" "${integ[@]}"
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$kind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
