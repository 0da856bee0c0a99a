#!/bin/sh
# check-exports.sh - fail unless SO exports exactly the functions HEADER
# declares with CRADLE_API, each in version node CRADLE_0.
# usage: client/check-exports.sh build/libcradle.so.0.1.0 client/cradle.h
set -eu
so=$1
header=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one declaration a line starts "CRADLE_API <type> <name>("
sed -n 's/^CRADLE_API .*[ *]\(cradle_[a-z0-9_]*\)(.*/\1/p' "$header" | sort >"$tmp/want"
# "0000000000004a10 T cradle_close@@CRADLE_0"; the node itself is an A
nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | sort >"$tmp/got"

status=0
if grep -v '@@CRADLE_0$' "$tmp/got" >"$tmp/unversioned"; then
	echo "$so: exported outside version node CRADLE_0:" >&2
	cat "$tmp/unversioned" >&2
	status=1
fi
sed 's/@.*//' "$tmp/got" >"$tmp/names"
if ! diff -u "$tmp/want" "$tmp/names" >"$tmp/diff"; then
	echo "$so: exports differ from the CRADLE_API declarations of $header" \
	     "(- declared, not exported; + exported, not declared):" >&2
	tail -n +3 "$tmp/diff" | grep '^[-+]' >&2
	status=1
fi
exit $status
