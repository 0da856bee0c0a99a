#!/usr/bin/env bash
# tests/install/run.sh BUILD - `make install` and `make uninstall` into a
# throwaway DESTDIR (PREFIX=/usr), and the installed cradle at work:
#   - exactly the expected files, links and modes; one version everywhere
#     (VERSION, cradled --version, cradle --version, libcradle.pc, .so name);
#   - the installed libcradle.so exports only cradle_* (nm -D);
#   - the man pages (cradle.1 is what the installed CLI prints) and the
#     bash, zsh and fish completions; the bash one registers for cradle;
#   - the sample config loads, and uncommented it means the defaults;
#   - a tiny program built with `pkg-config --cflags --libs libcradle`
#     (PKG_CONFIG_SYSROOT_DIR into the DESTDIR) talks to the installed
#     cradled, started from the DESTDIR's sbin/ with no --image-archive (it
#     finds the installed pause archive itself) and NOTIFY_SOCKET set: the
#     test's datagram socket gets READY=1, then STOPPING=1 after SIGTERM;
#   - uninstall leaves no file behind, and keeps a config that was changed.
# Run by `make test` (and `make test-install`) after the other suites: it
# runs make on the build dir, which must be built already.  Everything it
# makes is under one temp dir, removed at exit.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
version=$(cat "$src/VERSION")
major=${version%%.*}
tmp=$(mktemp -d /tmp/cradle-install.XXXXXX)
dest=$tmp/dest
daemon=0
listener=0
checks=0

cleanup() {
	if [ "$daemon" != 0 ]; then kill -9 "$daemon" 2>/dev/null || :; wait "$daemon" 2>/dev/null || :; fi
	if [ "$listener" != 0 ]; then kill "$listener" 2>/dev/null || :; wait "$listener" 2>/dev/null || :; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "tests/install: FAIL: $*" >&2
	if [ -f "$tmp/cradled.log" ]; then
		echo "--- cradled's log:" >&2
		cat "$tmp/cradled.log" >&2
	fi
	exit 1
}
ok() { checks=$((checks + 1)); }

# make in the source tree on this build dir; not the caller's jobserver
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$src" \
		BUILD="$build" PREFIX=/usr DESTDIR="$dest" "$@"
}

# --- install: the files, and nothing else ---
mk install > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "make install"; }
expected="etc/cradle/cradled.conf
usr/bin/cradle
usr/bin/cradle-bench
usr/include/cradle/cradle.h
usr/lib/cradle/pause.oci.tar
usr/lib/libcradle.so
usr/lib/libcradle.so.$major
usr/lib/libcradle.so.$version
usr/lib/pkgconfig/libcradle.pc
usr/lib/systemd/system/cradled.service
usr/sbin/cradled
usr/share/bash-completion/completions/cradle
usr/share/fish/vendor_completions.d/cradle.fish
usr/share/man/man1/cradle.1
usr/share/man/man5/cradled.conf.5
usr/share/man/man8/cradled.8
usr/share/zsh/site-functions/_cradle"
got=$(cd "$dest" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort)
[ "$got" = "$expected" ] || fail "installed files differ from the expected:
$(diff <(echo "$expected") <(echo "$got") || :)"
ok
[ "$(readlink "$dest/usr/lib/libcradle.so")" = "libcradle.so.$major" ] || fail "libcradle.so link"
[ "$(readlink "$dest/usr/lib/libcradle.so.$major")" = "libcradle.so.$version" ] ||
	fail "libcradle.so.$major link"
[ -f "$dest/usr/lib/libcradle.so.$version" ] && [ ! -L "$dest/usr/lib/libcradle.so.$version" ] ||
	fail "libcradle.so.$version is not a file"
ok
for f in usr/sbin/cradled usr/bin/cradle usr/bin/cradle-bench usr/lib/libcradle.so.$version; do
	[ "$(stat -c %a "$dest/$f")" = 755 ] || fail "$f: mode $(stat -c %a "$dest/$f"), not 755"
done
for f in etc/cradle/cradled.conf usr/include/cradle/cradle.h usr/lib/cradle/pause.oci.tar \
	usr/lib/pkgconfig/libcradle.pc usr/lib/systemd/system/cradled.service \
	usr/share/man/man1/cradle.1 usr/share/man/man5/cradled.conf.5 usr/share/man/man8/cradled.8 \
	usr/share/bash-completion/completions/cradle usr/share/zsh/site-functions/_cradle \
	usr/share/fish/vendor_completions.d/cradle.fish; do
	[ "$(stat -c %a "$dest/$f")" = 644 ] || fail "$f: mode $(stat -c %a "$dest/$f"), not 644"
done
ok
cmp -s "$src/client/cradle.h" "$dest/usr/include/cradle/cradle.h" || fail "the header differs"
cmp -s "$build/pause.oci.tar" "$dest/usr/lib/cradle/pause.oci.tar" || fail "the archive differs"
# man pages and completions: what the installed CLI prints, pages with a title
"$dest/usr/bin/cradle" help --man | cmp -s - "$dest/usr/share/man/man1/cradle.1" ||
	fail "cradle.1 is not what the installed cradle prints"
for m in man1/cradle.1 man5/cradled.conf.5 man8/cradled.8; do
	grep -q '^\.TH ' "$dest/usr/share/man/$m" || fail "$m has no .TH"
done
bash -c "source '$dest/usr/share/bash-completion/completions/cradle' && complete -p cradle" |
	grep -q '_cradle cradle$' || fail "the bash completion does not register for cradle"
soname=$(objdump -p "$dest/usr/lib/libcradle.so.$version" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = "libcradle.so.$major" ] || fail "SONAME is \"$soname\""
ok

# the unit: systemd's notify type, and the installed path
unit=$dest/usr/lib/systemd/system/cradled.service
for line in Type=notify Delegate=yes KillMode=process ExecStart=/usr/sbin/cradled; do
	grep -qx "$line" "$unit" || fail "cradled.service has no line \"$line\""
done
nofile=$(sed -n 's/^LimitNOFILE=//p' "$unit")
[ "$nofile" -ge 20000 ] || fail "LimitNOFILE=$nofile holds too few sandboxes"
ok

# --- one version ---
[ "$("$dest/usr/sbin/cradled" --version)" = "cradled version $version" ] || fail "cradled --version"
[ "$("$dest/usr/bin/cradle" --version)" = "cradle CLI version $version" ] || fail "cradle --version"
export PKG_CONFIG_PATH=$dest/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=
[ "$(pkg-config --modversion libcradle)" = "$version" ] || fail "libcradle.pc's version"
ok

# --- exports: only cradle_* (and the version node) ---
syms=$(nm -D --defined-only "$dest/usr/lib/libcradle.so.$version" | awk '{ print $3 }')
echo "$syms" | grep -qx 'cradle_version@@CRADLE_0' || fail "no cradle_version in the .so: $syms"
bad=$(echo "$syms" | grep -v -e '^cradle_[a-z0-9_]*@@CRADLE_0$' -e '^CRADLE_0$' || :)
[ -z "$bad" ] || fail "libcradle.so exports more than cradle_*: $bad"
ok

# --- pkg-config and a program of a user of the library ---
flags=$(pkg-config --cflags --libs libcradle | sed 's/ *$//')
[ "$flags" = "-I$dest/usr/include -L$dest/usr/lib -lcradle" ] || fail "pkg-config flags: $flags"
cat > "$tmp/hello.c" << 'EOF'
#include <cradle/cradle.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	struct cradle_conn *c;
	struct cradle_version v;
	struct cradle_error err = { 0 };

	if (argc != 2 || cradle_connect(argv[1], 10000, &c, &err) < 0 ||
	    cradle_version(c, &v, &err) < 0) {
		fprintf(stderr, "hello: %s\n", err.message);
		return 1;
	}
	printf("%s\n", v.version);
	cradle_close(c);
	return 0;
}
EOF
# shellcheck disable=SC2086 # the flags are words
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/hello" "$tmp/hello.c" $flags ||
	fail "a program with pkg-config's flags does not build"
export LD_LIBRARY_PATH=$dest/usr/lib
ldd "$tmp/hello" > "$tmp/ldd.out"
grep -q "libcradle.so.$major => $dest/usr/lib/libcradle.so.$major " "$tmp/ldd.out" ||
	fail "hello does not load the installed libcradle: $(cat "$tmp/ldd.out")"
ok

# --- the sample config: accepted, and its commented values are the defaults ---
sample=$dest/etc/cradle/cradled.conf
grep -qx "; image_archive = /usr/lib/cradle/pause.oci.tar" "$sample" ||
	fail "the sample does not show the installed archive"
"$dest/usr/sbin/cradled" --config "$sample" --print-config > "$tmp/sample.out" 2>&1 ||
	fail "the sample config is refused: $(cat "$tmp/sample.out")"
# uncommented: every "; key = value" line and the section headers; workers'
# default depends on the CPUs and image_archive's on where cradled runs
sed -e 's/^; \[/[/' -e 's/^; \([a-z_]* =\)/\1/' -e '/^workers =/d' -e '/^image_archive =/d' \
	"$sample" > "$tmp/uncommented.conf"
[ "$(grep -c '^[a-z_]* =' "$tmp/uncommented.conf")" -ge 30 ] || fail "the sample has few keys"
"$dest/usr/sbin/cradled" --config "$tmp/uncommented.conf" --print-config > "$tmp/u.out" 2>&1 ||
	fail "the uncommented sample is refused: $(cat "$tmp/u.out")"
: > "$tmp/empty.conf"
"$dest/usr/sbin/cradled" --config "$tmp/empty.conf" --print-config > "$tmp/d.out" 2>&1 ||
	fail "an empty config is refused: $(cat "$tmp/d.out")"
diff "$tmp/d.out" "$tmp/u.out" > "$tmp/diff.out" ||
	fail "the sample's values are not the defaults: $(cat "$tmp/diff.out")"
grep -qx "image_archive = $dest/usr/lib/cradle/pause.oci.tar" "$tmp/d.out" ||
	fail "the installed cradled does not default to the installed archive: $(grep image_archive "$tmp/d.out")"
ok

# --- the installed daemon under a throwaway notify listener ---
cat > "$tmp/listen.py" << 'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
with open(sys.argv[2], "a", buffering=1) as out:
    print("LISTENING", file=out)
    while True:
        msg = s.recv(4096).decode()
        for line in msg.split("\n"):
            if line:
                print(line, file=out)
        if "STOPPING=1" in msg.split("\n"):
            break
EOF
python3 "$tmp/listen.py" "$tmp/notify.sock" "$tmp/notify.log" &
listener=$!
wait_for() { # file line seconds
	for _ in $(seq $(($3 * 20))); do
		grep -qx "$2" "$1" 2> /dev/null && return 0
		sleep 0.05
	done
	return 1
}
wait_for "$tmp/notify.log" LISTENING 10 || fail "the notify listener did not start"
mkdir "$tmp/no-cni"
cat > "$tmp/cradled.conf" << EOF
[sandbox]
cgroup_root = /cradle-install-test
[cni]
conf_dir = $tmp/no-cni
required = false
EOF
NOTIFY_SOCKET=$tmp/notify.sock "$dest/usr/sbin/cradled" --config "$tmp/cradled.conf" \
	--root "$tmp/root" --state "$tmp/state" --workers 2 > /dev/null 2> "$tmp/cradled.log" &
daemon=$!
wait_for "$tmp/notify.log" READY=1 60 || fail "no READY=1 from cradled"
# READY=1 comes once requests are served: the first try answers
[ "$("$tmp/hello" "$tmp/state/cradle.sock")" = "$version" ] || fail "hello's version"
[ "$("$dest/usr/bin/cradle" --socket "$tmp/state/cradle.sock" version | sed -n 2p | cut -d' ' -f1-3)" \
	= "cradled version $version" ] || fail "cradle version"
grep -q "imported the built-in sandbox image .* from $dest/usr/lib/cradle/pause.oci.tar" \
	"$tmp/cradled.log" || fail "cradled did not import the installed archive"
ok
grep -qx STOPPING=1 "$tmp/notify.log" && fail "STOPPING=1 before SIGTERM"
kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
daemon=0
[ "$rc" = 0 ] || fail "cradled exited $rc at SIGTERM"
wait_for "$tmp/notify.log" STOPPING=1 10 || fail "no STOPPING=1 from cradled"
[ "$(grep -v LISTENING "$tmp/notify.log" | tr '\n' ' ')" = "READY=1 STOPPING=1 " ] ||
	fail "notifications: $(cat "$tmp/notify.log")"
wait "$listener" || fail "the notify listener failed"
listener=0
ok
# nothing of the daemon left: no mount under the temp dir, no cgroup
! grep -q " $tmp" /proc/self/mountinfo || fail "mounts left under $tmp"
[ ! -e /sys/fs/cgroup/cradle-install-test ] || fail "cgroup /cradle-install-test left"
ok

# --- uninstall: nothing left but empty directories ---
mk uninstall > "$tmp/uninstall.log" 2>&1 || { cat "$tmp/uninstall.log" >&2; fail "make uninstall"; }
left=$(cd "$dest" && find . ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"
for d in etc/cradle usr/lib/cradle usr/include/cradle; do
	[ ! -e "$dest/$d" ] || fail "make uninstall left $d"
done
ok

# --- an operator's config survives install and uninstall ---
mkdir -p "$dest/etc/cradle"
printf '[cradled]\nworkers = 3\n' > "$dest/etc/cradle/cradled.conf"
mk install > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "make install (again)"; }
mk uninstall > "$tmp/uninstall.log" 2>&1 || { cat "$tmp/uninstall.log" >&2; fail "make uninstall (again)"; }
[ "$(cat "$dest/etc/cradle/cradled.conf")" = "$(printf '[cradled]\nworkers = 3')" ] ||
	fail "install or uninstall changed an operator's config"
left=$(cd "$dest" && find . ! -type d | sed 's|^\./||')
[ "$left" = etc/cradle/cradled.conf ] || fail "the second uninstall left: $left"
ok

echo "tests/install: $checks checks passed (make install/uninstall DESTDIR PREFIX=/usr, version $version)"
