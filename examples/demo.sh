#!/usr/bin/env bash
# make demo: start cradled with its defaults, start a handful of real pod
# sandboxes, show them and what the kernel says of them, stop and remove
# them, stop the daemon.
set -euo pipefail
build=${1:-build}
if [ "$(id -u)" != 0 ]; then
	echo "demo: cradled makes namespaces and mounts: run as root (sudo make demo)" >&2
	exit 1
fi
cradled=$build/cradled
cradle=$build/cradle
state=/run/cradle
export CRADLE_SOCKET=$state/cradle.sock
log=$(mktemp /tmp/cradled-demo.XXXXXX.log)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "starting cradled with its defaults (root /var/lib/cradle, state $state); log in $log"
"$cradled" >"$log" 2>&1 &
daemon=$!
cleanup() {
	if kill -0 "$daemon" 2>/dev/null; then
		"$cradle" rmp --all >/dev/null 2>&1 || true
		kill -TERM "$daemon"
		wait "$daemon" || true
	fi
}
trap cleanup EXIT
for _ in $(seq 100); do
	[ -S "$state/cradle.sock" ] && "$cradle" version >/dev/null 2>&1 && break
	kill -0 "$daemon" 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.05
done
"$cradle" version

step "the sandbox image, imported from the OCI archive make built (no registry needed)"
"$cradle" images

step "starting 5 sandboxes from examples/pod.json-like configs"
ids=()
tmp=$(mktemp -d)
for i in 1 2 3 4 5; do
	sed -e "s/\"name\": *\"[^\"]*\"/\"name\": \"demo-$i\"/" \
	    -e "s/\"uid\": *\"[^\"]*\"/\"uid\": \"demo-uid-$i\"/" \
	    -e "s/\"hostname\": *\"[^\"]*\"/\"hostname\": \"demo-$i\"/" examples/pod.json >"$tmp/pod-$i.json"
	ids+=("$("$cradle" runp "$tmp/pod-$i.json")")
done
ids+=("$("$cradle" runp examples/pod-hostnet.json)")
rm -rf "$tmp"
echo "started ${#ids[@]} sandboxes"

step "cradle pods"
"$cradle" pods

step "cradle inspectp ${ids[0]:0:13}"
"$cradle" inspectp "${ids[0]}"

step "what the kernel shows for the first sandbox"
pid=$("$cradle" inspectp "${ids[0]}" | sed -n 's/^ *"pid": *\([0-9]*\).*/\1/p' | head -1)
for ns in pid ipc uts mnt net; do
	printf '  %-4s host %-22s pause %s\n' "$ns" "$(readlink /proc/self/ns/$ns)" "$(readlink /proc/$pid/ns/$ns)"
done
grep NSpid "/proc/$pid/status" | sed 's/^/  /'
printf '  hostname inside: %s\n' "$(nsenter -t "$pid" -u hostname)"

step "stopping and removing them"
"$cradle" stopp "${ids[@]}"
"$cradle" pods
"$cradle" rmp "${ids[@]}"
"$cradle" pods

step "stopping cradled"
kill -TERM "$daemon"
wait "$daemon"
echo "cradled exited with status $?"
