#!/bin/bash
# bench/run.sh BUILD [N] [C] - run cradle-bench three times against a fresh
# cradled in a temporary root, then print the medians of the headline
# figures.  Needs root (the daemon and the kernel floor create namespaces).
#
# Everything the script starts is cleaned up on every exit path: the daemon
# is stopped, pause processes it still holds are reported as leaks and
# killed (they outlive cradled by design, so only the bench's stop+remove
# should ever end them), mounts under the temp dir are detached and the dir
# is removed.  Only processes the script can prove are its own are killed.
# shellcheck disable=SC2317  # cleanup and its helper run from the EXIT trap
set -u

usage() { echo "usage: bench/run.sh BUILD [N] [C]   (defaults N=200 C=8)" >&2; exit 2; }
if [ $# -lt 1 ] || [ $# -gt 3 ]; then usage; fi
[ -d "$1" ] || { echo "run.sh: build dir \"$1\" not found" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
N=${2:-200}
C=${3:-8}
RUNS=3
case "$N$C" in *[!0-9]*) usage ;; esac

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: needs root: cradled and the kernel floor create namespaces and mounts" >&2
	exit 1
fi
for f in cradled cradle-bench rootfs/pause; do
	[ -x "$BUILD/$f" ] || { echo "run.sh: $BUILD/$f missing: run make" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/cradle-bench.XXXXXX) || exit 1
sock=$tmp/state/cradle.sock
# Lay the dirs out as on a node: the volatile state dir on a tmpfs (as /run
# is), the persistent root on the disk.  On a disk with online discard a
# state dir there would measure the file system, not cradle.
mkdir -p "$tmp/state" && mount -t tmpfs -o mode=0711,size=256m cradle-bench "$tmp/state" || exit 1
dpid=
leaks=
status=0

# true when $1 is a live (not zombie) process named pause
is_live_pause() {
	local stat state
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	state=${stat##*) }   # comm may hold spaces and ')': the state follows the last ") "
	state=${state%% *}
	[ "$state" != Z ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = pause ]
}

# pids of live pause processes whose parent is $1
pause_children() {
	local p
	for p in $(pgrep -P "$1" 2>/dev/null); do
		is_live_pause "$p" && echo "$p"
	done
}

cleanup() {
	local p m
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
		# Whatever pause cradled still holds now, the bench failed to remove.
		leaks=$(pause_children "$dpid")
		kill -TERM "$dpid" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$dpid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$dpid" 2>/dev/null; then
			echo "run.sh: cradled did not exit on SIGTERM within 10 s; killing it" >&2
			kill -KILL "$dpid" 2>/dev/null
			status=1
		fi
		wait "$dpid" 2>/dev/null
	fi
	if [ -n "$leaks" ]; then
		echo "run.sh: LEAK: pause processes left after the bench:" "${leaks//$'\n'/ }" >&2
		status=1
		for p in $leaks; do
			# Orphaned by cradled's exit; still ours only while it is pause.
			is_live_pause "$p" && kill -KILL "$p" 2>/dev/null
		done
		# The new parent reaps them; dying is all we wait for.
		for p in $leaks; do
			for _ in $(seq 50); do
				is_live_pause "$p" || break
				sleep 0.1
			done
			is_live_pause "$p" && echo "run.sh: pause $p still alive after SIGKILL" >&2
		done
	fi
	# Pinned netns and anything else the daemon mounted: deepest first.
	awk -v t="$tmp" '$2 == t || index($2, t "/") == 1 { print $2 }' /proc/self/mounts |
		sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null || echo "run.sh: cannot unmount $m" >&2
		done
	if [ "$status" != 0 ] && [ -f "$tmp/cradled.log" ]; then
		echo "run.sh: last lines of the daemon log:" >&2
		tail -n 20 "$tmp/cradled.log" >&2
	fi
	umount -l "$tmp/state" 2>/dev/null
	rm -rf --one-file-system "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'status=130; exit 130' INT TERM

: >"$tmp/cradled.conf"  # no /etc/cradle/cradled.conf may leak into the figures
"$BUILD/cradled" --config "$tmp/cradled.conf" --root "$tmp/root" --state "$tmp/state" \
	--image-archive "$BUILD/pause.oci.tar" >"$tmp/cradled.log" 2>&1 &
dpid=$!

for _ in $(seq 100); do
	[ -S "$sock" ] && break
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.1
done
if ! [ -S "$sock" ]; then
	echo "run.sh: cradled did not create $sock" >&2
	status=1
	exit 1
fi

echo "cradled pid $dpid, root $tmp; $RUNS runs of n=$N c=$C"
for r in $(seq $RUNS); do
	echo
	echo "=== run $r/$RUNS"
	"$BUILD/cradle-bench" --socket "$sock" -n "$N" -c "$C" | tee "$tmp/run$r.out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" != 0 ]; then
		echo "run.sh: run $r: cradle-bench exited $rc" >&2
		[ "$rc" -ge 128 ] && echo "run.sh: the bench was killed: pause processes of its" \
			"floor part may be left (hostname bench-<i>, parent now init)" >&2
		status=1
	fi
done

# Median of the RESULT lines' values, key by key.
echo
echo "=== median of $RUNS runs (n=$N c=$C)"
cat "$tmp"/run*.out | awk '
	$1 == "RESULT" {
		for (f = 2; f <= NF; f++) {
			split($f, kv, "=")
			if (!(kv[1] in seen)) { seen[kv[1]] = 1; order[++nk] = kv[1] }
			vals[kv[1]] = vals[kv[1]] " " kv[2]
		}
	}
	END {
		if (nk == 0) { print "no results"; exit }
		for (k = 1; k <= nk; k++) {
			n = split(vals[order[k]], v, " ")
			# insertion sort: three values
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
					t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
				}
			printf "  %-18s %s\n", order[k], v[int((n + 1) / 2)]
		}
	}'
exit "$status"
