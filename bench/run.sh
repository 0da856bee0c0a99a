#!/bin/bash
# bench/run.sh BUILD [N] [C,C...] - the benchmark `make bench` prints.
#
# Against one fresh cradled in a temporary root (its state dir on a tmpfs,
# as /run is on a node), cradle-bench runs once per live count (LIVE,
# default "0 5000"): with that many sandboxes alive it starts N (default
# 200) sandboxes through the daemon and N through the same-plan floor, for
# each client concurrency (C, default "1,8"), ROUNDS (3) times, and reports
# medians.  Then runc starts RUNC_N (500) sandboxes of the same namespaces
# running the same pause binary, for the kernel memory each costs; crun is
# tried once (1.8 refuses a hybrid cgroup layout: reported, not worked
# around).  Last, the headline table, and the latency CDF drawn with
# gnuplot into OUT (default BUILD/bench), where the raw output, the JSON
# and the CDF data stay too.
#
#   BENCH_LIVE="0 5000" BENCH_ROUNDS=3 BENCH_RUNC_N=500 BENCH_OUT=DIR bench/run.sh build
#
# BENCH_CNI=1: pods with a network.  cradled runs in a network namespace of
# its own (so the bridge and every veth stay out of the host's and go with
# it), with a conflist of bridge + host-local + portmap + loopback on a
# private subnet, host-local's data in the temp dir; the floor is the same
# (a network namespace, no CNI), so the ratios show what the network costs.
# A Linux bridge holds at most 1,024 ports: the live counts default to
# "0 1000", and the output goes to BUILD/bench-cni.
#
# Needs root (the daemon, the floor and runc create namespaces, mounts and
# cgroups).  Everything it starts is cleaned up on every exit path: the
# daemon is stopped, pause processes it still holds are reported as leaks
# and killed (they outlive cradled by design, so only the bench's removal
# should ever end them), runc and crun containers are deleted, the cgroup
# parents of the run are removed, mounts under the temp dir are detached
# and the dir is removed.  Only processes the script can prove are its own
# are killed.
# shellcheck disable=SC2317  # cleanup and its helpers run from the EXIT trap
set -u

usage() {
	echo "usage: bench/run.sh BUILD [N] [C,C...]   (defaults N=200 C=1,8;" \
		"env BENCH_LIVE, BENCH_ROUNDS, BENCH_RUNC_N, BENCH_OUT, BENCH_CNI)" >&2
	exit 2
}
if [ $# -lt 1 ] || [ $# -gt 3 ]; then usage; fi
[ -d "$1" ] || { echo "run.sh: build dir \"$1\" not found" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
N=${2:-200}
CS=${3:-1,8}
CNI=${BENCH_CNI:-0}
if [ "$CNI" = 1 ]; then
	LIVES=${BENCH_LIVE:-0 1000}
	OUT=${BENCH_OUT:-$BUILD/bench-cni}
else
	LIVES=${BENCH_LIVE:-0 5000}
	OUT=${BENCH_OUT:-$BUILD/bench}
fi
ROUNDS=${BENCH_ROUNDS:-3}
RUNC_N=${BENCH_RUNC_N:-500}
case "$N$ROUNDS$RUNC_N${LIVES// /}${CS//,/}" in *[!0-9]*) usage ;; esac

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: needs root: cradled, the floor and runc create namespaces, mounts and cgroups" >&2
	exit 1
fi
for f in cradled cradle-bench pause pause.oci.tar; do
	[ -e "$BUILD/$f" ] || { echo "run.sh: $BUILD/$f missing: run make" >&2; exit 1; }
done
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)

# Every cgroup parent this run makes, below each hierarchy's root.
CG_DAEMON=/cradle-bench
CG_FLOOR=/cradle-bench-floor
CG_RUNC=/cradle-bench-runc
CG_CRUN=/cradle-bench-crun

tmp=$(mktemp -d /tmp/cradle-bench.XXXXXX) || exit 1
run=$tmp/run     # a tmpfs, as /run: cradled's state, the floor's, runc's
state=$run/cradle
sock=$state/cradle.sock
mkdir -p "$run" && mount -t tmpfs -o mode=0711,size=512m cradle-bench "$run" || exit 1
mkdir -p "$state" "$run/floor" "$run/runc" "$run/crun" "$tmp/bundles" || exit 1
dpid=
leaks=
status=0

# true when $1 is a live (not zombie) process named pause
is_live_pause() {
	local stat st
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${stat##*) }   # comm may hold spaces and ')': the state follows the last ") "
	st=${st%% *}
	[ "$st" != Z ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = pause ]
}

# pids of live pause processes whose parent is $1
pause_children() {
	local p
	for p in $(pgrep -P "$1" 2>/dev/null); do
		is_live_pause "$p" && echo "$p"
	done
}

# rmdir cgroup $1 (a path below the root) in every hierarchy
rm_cgroup() {
	local h d
	for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
		d=${h%/}$1
		[ -d "$d" ] || continue
		# deepest first: leaves a run left behind, then the parent
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$d" ] && echo "run.sh: cannot remove cgroup $d (still in use)" >&2 && status=1
	done
}

# delete every container of runtime $1 (runc, crun) with state dir $2
rm_containers() {
	local id
	command -v "$1" >/dev/null || return 0
	for id in $("$1" --root "$2" list -q 2>/dev/null); do
		"$1" --root "$2" delete -f "$id" >/dev/null 2>&1 ||
			echo "run.sh: $1 delete $id failed" >&2
	done
}

cleanup() {
	local p m
	rm_containers runc "$run/runc"
	rm_containers crun "$run/crun"
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
	# Pinned netns and anything else mounted below the temp dir: deepest first.
	awk -v t="$tmp" '$2 != t "/run" && index($2, t "/") == 1 { print $2 }' /proc/self/mounts |
		sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null || echo "run.sh: cannot unmount $m" >&2
		done
	for m in "$CG_DAEMON" "$CG_FLOOR" "$CG_RUNC" "$CG_CRUN"; do
		rm_cgroup "$m"
	done
	if [ "$status" != 0 ] && [ -f "$tmp/cradled.log" ]; then
		echo "run.sh: last lines of the daemon log:" >&2
		tail -n 20 "$tmp/cradled.log" >&2
	fi
	umount -l "$run" 2>/dev/null
	rm -rf --one-file-system "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'status=130; exit 130' INT TERM

# No /etc/cradle/cradled.conf may leak into the figures; the sandboxes go
# under a cgroup parent of this run's, never a kubelet's.  Without
# BENCH_CNI no network (none is configured on a bench machine, and the
# floor has none): pods get loopback only.
mkdir -p "$tmp/cni" "$tmp/cni-data"
printf '[sandbox]\ncgroup_root = %s\n[cni]\nconf_dir = %s/cni\nrequired = false\n' \
	"$CG_DAEMON" "$tmp" >"$tmp/cradled.conf"
netns=()
if [ "$CNI" = 1 ]; then
	cat >"$tmp/cni/10-bench.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "cradle-bench",
  "plugins": [
    { "type": "bridge", "bridge": "cbench0", "isGateway": true, "ipMasq": true,
      "hairpinMode": true,
      "ipam": { "type": "host-local", "dataDir": "$tmp/cni-data",
                "ranges": [[{ "subnet": "10.213.0.0/16" }]],
                "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "loopback" }
  ]
}
EOF
	# unshare execs (no fork): $! is cradled's pid
	netns=(unshare --net --)
fi
"${netns[@]}" "$BUILD/cradled" --config "$tmp/cradled.conf" --root "$tmp/root" --state "$state" \
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

echo "cradled pid $dpid, root $tmp/root, state $state (tmpfs)"
[ "$CNI" = 1 ] && echo "network: $tmp/cni/10-bench.conflist (cradled in a network namespace of its own)"
echo "cradle-bench: n=$N per phase, c=$CS, $ROUNDS rounds, live counts: $LIVES"
for live in $LIVES; do
	echo
	echo "=== $live live sandboxes"
	"$BUILD/cradle-bench" --socket "$sock" -n "$N" -c "$CS" --rounds "$ROUNDS" \
		--live "$live" --floor-root "$tmp" --floor-state "$run/floor" \
		--floor-cgroup "$CG_FLOOR" --image-archive "$BUILD/pause.oci.tar" \
		--cdf "$OUT/live$live" --json-out "$OUT/live$live.json" | tee "$OUT/live$live.out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" != 0 ]; then
		echo "run.sh: live=$live: cradle-bench exited $rc" >&2
		status=1
		[ "$rc" = 130 ] && exit 130
	fi
done

# ---- runc: the same namespaces (net, pid, ipc, uts, mnt), the same pause ----

# An OCI config as `runc spec` writes it (runc 1.1), running /pause from the
# read-only rootfs `make` builds, in cgroup $CG_RUNC/<id>.
runc_config() { # ID
	cat <<EOF
{
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": false,
		"user": { "uid": 0, "gid": 0 },
		"args": [ "/pause" ],
		"env": [ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ],
		"cwd": "/",
		"capabilities": {
			"bounding": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
			"effective": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
			"permitted": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
			"ambient": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ]
		},
		"rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 } ],
		"noNewPrivileges": true
	},
	"root": { "path": "$BUILD/rootfs", "readonly": true },
	"hostname": "$1",
	"mounts": [
		{ "destination": "/proc", "type": "proc", "source": "proc" },
		{ "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
		  "options": [ "nosuid", "strictatime", "mode=755", "size=65536k" ] },
		{ "destination": "/dev/pts", "type": "devpts", "source": "devpts",
		  "options": [ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" ] },
		{ "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
		  "options": [ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" ] },
		{ "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
		  "options": [ "nosuid", "noexec", "nodev" ] },
		{ "destination": "/sys", "type": "sysfs", "source": "sysfs",
		  "options": [ "nosuid", "noexec", "nodev", "ro" ] }
	],
	"linux": {
		"cgroupsPath": "$CG_RUNC/$1",
		"resources": { "devices": [ { "allow": false, "access": "rwm" } ] },
		"namespaces": [
			{ "type": "pid" }, { "type": "network" }, { "type": "ipc" },
			{ "type": "uts" }, { "type": "mount" }
		],
		"maskedPaths": [ "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
			"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
			"/proc/sched_debug", "/sys/firmware", "/proc/scsi" ],
		"readonlyPaths": [ "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
			"/proc/sysrq-trigger" ]
	}
}
EOF
}

# runtime ($1: runc or crun) run -d of container $2; its error in $tmp/err-$2
oci_run() {
	local b=$tmp/bundles/$2
	mkdir -p "$b" && runc_config "$2" >"$b/config.json" &&
		"$1" --root "$run/$1" run -d --bundle "$b" "$2" </dev/null >/dev/null 2>"$tmp/err-$2" ||
		return 1
	rm -f "$tmp/err-$2"
}

runc_line=
crun_line=
echo
if ! command -v runc >/dev/null; then
	echo "=== runc: not installed (make bench installs it): skipped"
	runc_line="runc: not installed"
else
	echo "=== runc $(runc --version | head -1 | awk '{print $3}'): $RUNC_N sandboxes, c=8"
	"$BUILD/cradle-bench" slab-snapshot "$tmp/runc-slab0" || status=1
	t0=$(date +%s.%N)
	# in a subshell, whose jobs and `wait` know nothing of the daemon
	(
		for i in $(seq "$RUNC_N"); do
			oci_run runc "runc-$i" &
			while [ "$(jobs -rp | wc -l)" -ge 8 ]; do wait -n; done
		done
		wait
	)
	t1=$(date +%s.%N)
	started=$(runc --root "$run/runc" list -q | wc -l)
	"$BUILD/cradle-bench" slab-snapshot "$tmp/runc-slab1" || status=1
	echo "runc: $started of $RUNC_N started in $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s"
	if [ "$started" != "$RUNC_N" ]; then
		status=1
		echo "run.sh: runc: $((RUNC_N - started)) failed; the first error:" >&2
		for e in "$tmp"/err-runc-*; do
			[ -f "$e" ] && cat "$e" >&2
			break
		done
	fi
	if [ "$started" -gt 0 ]; then
		"$BUILD/cradle-bench" slab-diff "$tmp/runc-slab0" "$tmp/runc-slab1" "$started" |
			tee "$OUT/runc-slab.out"
		"$BUILD/cradle-bench" slab-diff "$tmp/runc-slab0" "$tmp/runc-slab1" "$started" \
			--json >"$OUT/runc-slab.json"
		runc_line="runc: SUnreclaim $(awk '{print $3; exit}' "$OUT/runc-slab.out") kB per sandbox ($started sandboxes)"
	fi
	t0=$(date +%s.%N)
	(
		for id in $(runc --root "$run/runc" list -q); do
			runc --root "$run/runc" delete -f "$id" >/dev/null 2>&1 &
			while [ "$(jobs -rp | wc -l)" -ge 8 ]; do wait -n; done
		done
		wait
	)
	echo "runc: deleted in $(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}') s"
fi

echo
if ! command -v crun >/dev/null; then
	crun_line="crun: not installed: skipped"
elif oci_run crun crun-1; then
	crun_line="crun $(crun --version | head -1 | awk '{print $3}'): started a sandbox on this node"
	crun --root "$run/crun" delete -f crun-1 >/dev/null 2>&1
else
	crun_line="crun $(crun --version | head -1 | awk '{print $3}') refuses this node: $(head -1 "$tmp/err-crun-1")"
fi
echo "=== $crun_line"

# ---- the headline ----

echo
echo "=== headline: medians of $ROUNDS rounds of n=$N starts (state on tmpfs; ratios: cradled / floor)"
for live in $LIVES; do cat "$OUT/live$live.out"; done 2>/dev/null | awk '
	function v(k) { return (k in kv) ? kv[k] : "-" }
	$1 == "RESULT" {
		delete kv
		for (f = 2; f <= NF; f++) { split($f, p, "="); kv[p[1]] = p[2] }
		line[++n] = sprintf("%6s %4s %10s %10s %7s %10s %10s %7s %9s %9s %9s",
			v("live"), v("c"), v("cradle_p50_ms"), v("floor_p50_ms"), v("p50_ratio"),
			v("cradle_starts_s"), v("floor_starts_s"), v("rate_ratio"),
			v("status_p99_ms"), v("list_p99_ms"), v("daemon_cpu_ms_per_start"))
		if (("slab_kb_per_sandbox" in kv) && !(v("live") in seen)) {
			seen[v("live")] = 1
			mem[++nm] = sprintf("%6s live: daemon VmRSS %s kB, RssAnon %s kB, kernel SUnreclaim %s kB per sandbox",
				v("live"), v("rss_kb_per_sandbox"), v("rss_anon_kb_per_sandbox"), v("slab_kb_per_sandbox"))
		}
	}
	END {
		if (n == 0) { print "no results"; exit }
		printf "%6s %4s %10s %10s %7s %10s %10s %7s %9s %9s %9s\n", "live", "c", "cradle p50",
			"floor p50", "ratio", "cradle/s", "floor/s", "ratio", "status99", "list99", "cpu/start"
		printf "%6s %4s %10s %10s %7s %10s %10s %7s %9s %9s %9s\n", "", "", "ms", "ms", "",
			"", "", "", "ms", "ms", "ms"
		for (i = 1; i <= n; i++) print line[i]
		for (i = 1; i <= nm; i++) print mem[i]
	}'
[ -n "$runc_line" ] && echo "  $runc_line"
echo "  $crun_line"

if command -v gnuplot >/dev/null && ls "$OUT"/live*-cradle-c*.dat >/dev/null 2>&1; then
	if gnuplot -e "out='$OUT/cdf.png'; dir='$OUT'; lives='$LIVES'; cs='${CS//,/ }'" \
		"$(dirname "$0")/cdf.gp"; then
		echo "  latency CDF: $OUT/cdf.png (data, JSON and output in $OUT)"
	else
		echo "run.sh: gnuplot failed" >&2
		status=1
	fi
else
	echo "  no CDF plot (gnuplot missing or no data); output in $OUT"
fi
exit "$status"
