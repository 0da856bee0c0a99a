#!/usr/bin/env bash
# make demo: start cradled with its defaults, start a handful of real pod
# sandboxes, show them and what the kernel says of them, stop and remove
# them, stop the daemon.
#
# The pods' network is examples/cni/10-cradle.conflist (Debian's plugins:
# bridge cradle0, host-local addresses of 10.77.0.0/16, portmap,
# loopback), named by a config file of the demo's own ([cni] conf_dir), so
# nothing is installed in /etc/cni.  What the plugins leave on the host
# that the demo did not find there (the bridge, host-local's directory,
# the ip_forward switch the bridge plugin turns on) is put back at the
# end.  Without the plugins the pods get loopback only ([cni] required =
# false).
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
conf=$(mktemp /tmp/cradled-demo.XXXXXX.conf)
ipam=/var/lib/cni/networks/cradle

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# what is there before, so that only what the demo made goes at the end
had_bridge=false; ip link show cradle0 >/dev/null 2>&1 && had_bridge=true
had_ipam=false; [ -e "$ipam" ] && had_ipam=true
had_cni=false; [ -e /var/lib/cni ] && had_cni=true
forward=$(cat /proc/sys/net/ipv4/ip_forward)
if [ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ]; then
	printf '[cni]\nconf_dir = %s/examples/cni\n' "$PWD" >"$conf"
	net="CNI network examples/cni/10-cradle.conflist"
else
	printf '[cni]\nconf_dir = %s/examples/cni\nrequired = false\n' "$PWD" >"$conf"
	net="no CNI plugins found (apt-get install containernetworking-plugins): loopback only"
fi

step "starting cradled with its defaults (root /var/lib/cradle, state $state) and the $net; log in $log"
"$cradled" --config "$conf" >"$log" 2>&1 &
daemon=$!
cleanup() {
	if kill -0 "$daemon" 2>/dev/null; then
		"$cradle" rmp --all >/dev/null 2>&1 || true
		kill -TERM "$daemon"
		wait "$daemon" || true
	fi
	rm -f "$conf"
	$had_bridge || ip link del cradle0 2>/dev/null || true
	$had_ipam || rm -rf "$ipam"
	if ! $had_cni; then
		rmdir /var/lib/cni/networks 2>/dev/null || true
		rmdir /var/lib/cni 2>/dev/null || true
	fi
	echo "$forward" >/proc/sys/net/ipv4/ip_forward
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

step "their addresses (the host-network one has none)"
for id in "${ids[@]}"; do
	printf '  %.13s  %s\n' "$id" "$("$cradle" inspectp "$id" | sed -n 's/^ *"ip": *"\(.*\)".*/\1/p' | head -1)"
done

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
