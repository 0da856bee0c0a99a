#!/bin/sh
# mkimage.sh - build the pause image as an OCI archive (a tar of an OCI
# image layout) from the static pause binary.
#
#   pause/mkimage.sh PAUSE_BINARY IMAGE_CONFIG_JSON OUT.tar [REF]
#
# One gzip layer holding /pause (0755), the mount points proc dev sys, and
# etc/{resolv.conf,hostname,hosts,passwd,group}; the config blob is the given
# image config with "rootfs" (the layer's diff_id) added; index.json names
# the manifest with org.opencontainers.image.ref.name = REF (default
# cradle.local/pause:built-in).  Deterministic: the same inputs give the same
# bytes (sorted names, mtime 0, uid/gid 0, gzip -n).
# Uses only coreutils, tar, gzip, sha256sum and printf.
set -eu

usage() {
	echo "usage: $0 PAUSE_BINARY IMAGE_CONFIG_JSON OUT.tar [REF]" >&2
	exit 2
}

die() {
	echo "mkimage.sh: $*" >&2
	exit 1
}

if [ $# -lt 3 ] || [ $# -gt 4 ]; then usage; fi
pause_bin=$1
config_in=$2
out=$3
ref=${4:-cradle.local/pause:built-in}

[ -f "$pause_bin" ] || die "pause binary \"$pause_bin\": not a file"
[ -f "$config_in" ] || die "image config \"$config_in\": not a file"
case $ref in
'' | *'"'* | *'\'* | *[[:cntrl:]]*) die "reference \"$ref\": empty or holds a quote, backslash or control character" ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkimage.XXXXXX")
trap 'rm -rf "$tmp"' EXIT HUP INT TERM

export LC_ALL=C
TAR_DET="--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu"

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { wc -c < "$1" | tr -d ' '; }

# --- the layer: a root filesystem ----------------------------------------
root=$tmp/root
mkdir -p "$root/proc" "$root/dev" "$root/sys" "$root/etc"
: > "$root/etc/resolv.conf"
: > "$root/etc/hostname"
: > "$root/etc/hosts"
printf 'root:x:0:0:root:/:/pause\nnobody:x:65534:65534:nobody:/:/pause\n' > "$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' > "$root/etc/group"
cp "$pause_bin" "$root/pause"
chmod 0755 "$root" "$root/proc" "$root/dev" "$root/sys" "$root/etc" "$root/pause"
chmod 0644 "$root/etc/resolv.conf" "$root/etc/hostname" "$root/etc/hosts" \
	"$root/etc/passwd" "$root/etc/group"

# shellcheck disable=SC2086
tar $TAR_DET -C "$root" -cf "$tmp/layer.tar" dev etc pause proc sys
gzip -n -9 -c "$tmp/layer.tar" > "$tmp/layer.tar.gz"

mkdir -p "$tmp/oci/blobs/sha256"
blobs=$tmp/oci/blobs/sha256

diff_id=$(sha "$tmp/layer.tar")
layer_digest=$(sha "$tmp/layer.tar.gz")
layer_size=$(size "$tmp/layer.tar.gz")
mv "$tmp/layer.tar.gz" "$blobs/$layer_digest"

# --- the config: the given JSON object with "rootfs" appended ------------
cfg=$(cat "$config_in")
case $cfg in
*'"rootfs"'*) die "image config \"$config_in\" already has \"rootfs\"" ;;
esac
# drop trailing white space, then the closing brace of the top-level object
while :; do
	case $cfg in
	*[[:space:]]) cfg=${cfg%?} ;;
	*) break ;;
	esac
done
case $cfg in
'{'*'}') cfg=${cfg%?} ;;
*) die "image config \"$config_in\": not a JSON object" ;;
esac
body=$cfg
while :; do
	case $body in
	*[[:space:]]) body=${body%?} ;;
	*) break ;;
	esac
done
sep=','
[ "$body" = '{' ] && sep=''
printf '%s%s\n  "rootfs": {"type": "layers", "diff_ids": ["sha256:%s"]}\n}\n' \
	"$body" "$sep" "$diff_id" > "$tmp/config.json"
config_digest=$(sha "$tmp/config.json")
config_size=$(size "$tmp/config.json")
mv "$tmp/config.json" "$blobs/$config_digest"

# --- manifest, index, layout ---------------------------------------------
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
	"$config_digest" "$config_size" "$layer_digest" "$layer_size" > "$tmp/manifest.json"
manifest_digest=$(sha "$tmp/manifest.json")
manifest_size=$(size "$tmp/manifest.json")
mv "$tmp/manifest.json" "$blobs/$manifest_digest"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
	"$manifest_digest" "$manifest_size" "$ref" > "$tmp/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$tmp/oci/oci-layout"
chmod 0755 "$tmp/oci" "$tmp/oci/blobs" "$blobs"
chmod 0644 "$tmp/oci/index.json" "$tmp/oci/oci-layout" "$blobs"/*

# write next to OUT and rename, so OUT is never half written
part=$out.part.$$
# shellcheck disable=SC2086
tar $TAR_DET -C "$tmp/oci" -cf "$part" oci-layout index.json blobs || { rm -f "$part"; exit 1; }
mv -f "$part" "$out"
