#!/usr/bin/env bash
# check-layers.sh - every project include points down (docs/ARCHITECTURE.md).
#
# Each folder may include its own headers and those of the layers below
# it, named root-relative ("sandbox/spec.h"), nothing else:
#
#   server  ->  worker  ->  image, core  ->  sandbox  ->  util  ->  proto
#   client  ->  proto          bench  ->  client, image, sandbox, util, proto
#
# image/ may use only sandbox/types.h of the sandbox layer; core/ uses no
# sandbox; pause/ is on its own.  A unit test under tests/unit/<layer>/
# follows its layer's rule and may use tests/unit/lib/ and the test helpers
# (tests/unit/<l>/lib*.h) of the layers its layer may use; integration tests
# drive the daemon from outside, through client/ and proto/; the fuzz
# targets (tests/fuzz/) may use any layer, the client included.  Prints each
# violation as FILE:LINE and exits 1 if there is any.
set -u
cd "$(dirname "$0")/.."

allowed() {
	case $1 in
	proto) echo "proto" ;;
	util) echo "util proto" ;;
	sandbox) echo "sandbox util proto" ;;
	core) echo "core util proto" ;;
	image) echo "image sandbox/types.h util proto" ;;
	worker) echo "worker image core sandbox util proto" ;;
	server) echo "server worker image core sandbox util proto" ;;
	client) echo "client proto" ;;
	bench) echo "bench client image sandbox util proto" ;;
	pause) echo "" ;;
	tests/unit/lib) echo "tests/unit/lib" ;;
	tests/integ) echo "tests/integ client proto" ;;
	tests/fuzz) echo "tests/fuzz server worker image core sandbox util proto client" ;;
	tests/unit/*)
		# the layer's rule, plus the test helpers of the layers it may use
		a=$(allowed "${1#tests/unit/}") || return 1
		h=""
		for l in $a; do
			case $l in */*) ;; *) h="$h tests/unit/$l" ;; esac
		done
		echo "tests/unit/lib $a$h"
		;;
	*) return 1 ;;
	esac
}

# the layer a file belongs to: its folder, or tests/unit/<layer>
layer_of() {
	case $1 in
	tests/unit/lib/*) echo tests/unit/lib ;;
	tests/unit/*/*) f=${1#tests/unit/}; echo "tests/unit/${f%%/*}" ;;
	tests/integ/*) echo tests/integ ;;
	tests/fuzz/*) echo tests/fuzz ;;
	*/*) echo "${1%%/*}" ;;
	*) echo "" ;;
	esac
}

files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null) || files=$(find . -name '*.[ch]' -not -path './build*' | sed 's|^\./||')
bad=0
for f in $files; do
	layer=$(layer_of "$f")
	if ! ok=$(allowed "$layer"); then
		echo "$f: not in a known layer (add its folder to tests/check-layers.sh)"
		bad=1
		continue
	fi
	while IFS=: read -r line inc; do
		inc=${inc#*\"}
		inc=${inc%\"*}
		pass=0
		case $inc in
		../* | ./*)
			echo "$f:$line: \"$inc\": includes are root-relative (\"layer/file.h\")"
			bad=1
			continue
			;;
		esac
		for a in $ok; do
			case $inc in
			"$a" | "$a"/*) pass=1 ;;
			esac
		done
		if [ $pass = 0 ]; then
			echo "$f:$line: \"$inc\": $layer may include only: ${ok:-nothing of the project}"
			bad=1
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
done
if [ $bad = 0 ]; then
	echo "check-layers: every include points down"
fi
exit $bad
