/* fuzz_tar.h - tar archives written by the fuzz targets themselves
 * (fuzz_unpack, fuzz_import), from inputs a fuzzer can mutate usefully.
 *
 * libarchive is not instrumented, and it refuses a tar header whose
 * checksum is off before the code under test sees the entry, so raw bytes
 * alone rarely get past the first header.  A target takes, besides raw
 * streams (fuzz_tar_fix_checksums() mends what it can of a plain tar):
 *
 *   a first byte below 8, then one entry a line.  The first byte picks
 *   the tar flavour (bits 0-1: pax restricted, ustar, GNU, pax) and gzip
 *   (bit 2).  An entry line is "<type><flags><path>" and, for some types,
 *   "\t<arg>": type f file (arg: its content), d directory, l symlink
 *   (arg: target), h hard link (arg: target), c and b devices, p fifo,
 *   n no entry: its path is a name handed to the target (name);
 *   flags is one byte of bits: 1 owner 65534, 2 owner 2^32-2, 4 mode 07777
 *   (else 0755 or 0644), 8 no mtime, 16 xattr user.fuzz, 32 xattr
 *   trusted.overlay.opaque, 64 xattr security.capability, 128 a declared
 *   size 1000 bytes beyond the content.
 *
 * With resolve, "@X" in an arg stands for the sha256 (64 hex) of the arg
 * of entry X - '0' when that entry comes later, and "#X" for its length,
 * so an input can name its own blobs by digest as image layouts do; in a
 * path, X may also be the entry itself.  Entries are resolved from the
 * last one back.
 */
#ifndef CRADLE_TESTS_FUZZ_TAR_H
#define CRADLE_TESTS_FUZZ_TAR_H

#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/content.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_TAR_ENTRIES 512

struct fuzz_tar_entry {
	char type;
	unsigned char flags;
	char *path, *arg; /* malloc'd, NUL-terminated */
	size_t path_len, arg_len;
	char hex[65]; /* sha256 of arg (resolve) */
};

/* security.capability: struct vfs_cap_data revision 2, effective,
 * permitted CAP_NET_BIND_SERVICE */
static const char fuzz_tar_vfs_cap[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x04 };

static char *
fuzz_tar_dup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	FUZZ_CHECK(d != NULL, "out of memory");
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* s with "@X" and "#X" of entries min.. replaced; *len in and out. */
static char *
fuzz_tar_subst(const char *s, size_t *len, const struct fuzz_tar_entry *ents, size_t n, size_t min)
{
	size_t cap = *len * 32 + 1, o = 0;
	char *out = malloc(cap);

	FUZZ_CHECK(out != NULL, "out of memory");
	for (size_t i = 0; i < *len; i++) {
		size_t x = i + 1 < *len ? (size_t)(unsigned char)s[i + 1] - '0' : n;

		if ((s[i] == '@' || s[i] == '#') && x >= min && x < n) {
			if (s[i] == '@')
				o += (size_t)snprintf(out + o, cap - o, "%s", ents[x].hex);
			else
				o += (size_t)snprintf(out + o, cap - o, "%zu", ents[x].arg_len);
			i++;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	*len = o;
	return out;
}

/* The entries of data[1..size); their count. */
static size_t
fuzz_tar_parse(const uint8_t *data, size_t size, bool resolve, struct fuzz_tar_entry *ents)
{
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	size_t n = 0;

	while (p < end && n < FUZZ_TAR_ENTRIES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);

		if (len >= 2) {
			const char *tab = memchr(p + 2, '\t', len - 2);
			size_t plen = tab ? (size_t)(tab - p) - 2 : len - 2;
			struct fuzz_tar_entry *e = &ents[n++];

			e->type = p[0];
			e->flags = (unsigned char)p[1];
			e->path = fuzz_tar_dup(p + 2, plen);
			e->path_len = plen;
			e->arg_len = tab ? len - plen - 3 : 0;
			e->arg = fuzz_tar_dup(tab ? tab + 1 : "", e->arg_len);
		}
		p += len + (nl ? 1 : 0);
	}
	for (size_t i = n; resolve && i-- > 0;) {
		struct fuzz_tar_entry *e = &ents[i];
		char *s, digest[DIGEST_LEN + 1];

		s = fuzz_tar_subst(e->arg, &e->arg_len, ents, n, i + 1);
		free(e->arg);
		e->arg = s;
		FUZZ_CHECK(digest_of(e->arg, e->arg_len, digest) == 0, "sha256");
		memcpy(e->hex, digest + 7, 65);
		s = fuzz_tar_subst(e->path, &e->path_len, ents, n, i);
		free(e->path);
		e->path = s;
	}
	return n;
}

static void
fuzz_tar_add(struct archive *a, struct archive_entry *ae, const struct fuzz_tar_entry *e)
{
	unsigned type;
	int64_t owner = (e->flags & 1) ? 65534 : (e->flags & 2) ? 4294967294LL : 0;

	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, e->path);
	switch (e->type) {
	case 'f':
		type = AE_IFREG;
		break;
	case 'd':
		type = AE_IFDIR;
		break;
	case 'l':
		type = AE_IFLNK;
		archive_entry_set_symlink(ae, e->arg);
		break;
	case 'h':
		type = AE_IFREG;
		archive_entry_set_hardlink(ae, e->arg);
		break;
	case 'c':
		type = AE_IFCHR;
		archive_entry_set_rdevmajor(ae, (unsigned)(e->flags & 7));
		archive_entry_set_rdevminor(ae, (unsigned)(e->flags >> 3));
		break;
	case 'b':
		type = AE_IFBLK;
		archive_entry_set_rdevmajor(ae, 7);
		archive_entry_set_rdevminor(ae, 0);
		break;
	case 'p':
		type = AE_IFIFO;
		break;
	default:
		return;
	}
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, (e->flags & 4) ? 07777 : type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_uid(ae, owner);
	archive_entry_set_gid(ae, owner);
	if (!(e->flags & 8))
		archive_entry_set_mtime(ae, 1700000000, 123456789);
	if (e->flags & 16)
		archive_entry_xattr_add_entry(ae, "user.fuzz", "1", 1);
	if (e->flags & 32)
		archive_entry_xattr_add_entry(ae, "trusted.overlay.opaque", "y", 1);
	if (e->flags & 64)
		archive_entry_xattr_add_entry(ae, "security.capability", fuzz_tar_vfs_cap,
		                              sizeof(fuzz_tar_vfs_cap));
	if (e->type == 'f')
		archive_entry_set_size(ae, (la_int64_t)e->arg_len + ((e->flags & 128) ? 1000 : 0));
	else
		archive_entry_set_size(ae, 0);
	if (archive_write_header(a, ae) < ARCHIVE_WARN)
		return;
	if (e->type == 'f' && e->arg_len > 0)
		(void)archive_write_data(a, e->arg, e->arg_len);
}

/* The archive the entry lines of data[1..size) describe, in out[0..cap);
 * its length (what fits).  name (NAME_MAX + 1 bytes, may be NULL) gets
 * the path of the first "n" line, "" when there is none. */
static size_t
fuzz_tar_build(const uint8_t *data, size_t size, bool resolve, unsigned char *out, size_t cap,
               char *name)
{
	static int (*const formats[])(struct archive *) = {
		archive_write_set_format_pax_restricted,
		archive_write_set_format_ustar,
		archive_write_set_format_gnutar,
		archive_write_set_format_pax,
	};
	static struct fuzz_tar_entry ents[FUZZ_TAR_ENTRIES];
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	size_t used = 0, n;

	FUZZ_CHECK(a != NULL && ae != NULL, "out of memory");
	FUZZ_CHECK(formats[data[0] & 3](a) == ARCHIVE_OK, "format");
	if (data[0] & 4)
		FUZZ_CHECK(archive_write_add_filter_gzip(a) == ARCHIVE_OK, "gzip");
	FUZZ_CHECK(archive_write_set_bytes_per_block(a, 512) == ARCHIVE_OK, "block size");
	FUZZ_CHECK(archive_write_open_memory(a, out, cap, &used) == ARCHIVE_OK, "open");
	n = fuzz_tar_parse(data, size, resolve, ents);
	for (size_t i = 0; i < n; i++) {
		if (ents[i].type == 'n' && name != NULL && name[0] == '\0')
			snprintf(name, NAME_MAX + 1, "%s", ents[i].path);
		fuzz_tar_add(a, ae, &ents[i]);
		free(ents[i].path);
		free(ents[i].arg);
	}
	(void)archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(ae);
	return used;
}

/* Octal field of a tar header; base-256 (high bit set) as GNU writes it. */
static uint64_t
fuzz_tar_number(const unsigned char *f, size_t n)
{
	uint64_t v = 0;

	if (f[0] & 0x80) {
		for (size_t i = 1; i < n; i++)
			v = (v << 8) | f[i];
		return v;
	}
	for (size_t i = 0; i < n && f[i] >= '0' && f[i] <= '7'; i++)
		v = (v << 3) | (uint64_t)(f[i] - '0');
	return v;
}

/* Make the checksum of every header of a plain tar right, walking header,
 * data blocks, header... until a zero block or the end. */
static void
fuzz_tar_fix_checksums(unsigned char *b, size_t len)
{
	size_t off = 0;

	while (off + 512 <= len) {
		unsigned char *h = b + off;
		unsigned sum = 0;
		uint64_t size;
		size_t i;

		for (i = 0; i < 512 && h[i] == 0; i++)
			;
		if (i == 512)
			return;
		memset(h + 148, ' ', 8);
		for (i = 0; i < 512; i++)
			sum += h[i];
		snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
		h[155] = ' ';
		size = fuzz_tar_number(h + 124, 12);
		if (size > len)
			return;
		off += 512 + (size_t)((size + 511) / 512) * 512;
	}
}

/* What a target feeds for data: the archive it builds (first byte below
 * 8), a gzip or zstd stream as it is, or a plain tar with its checksums
 * mended; out holds cap bytes.  Returns the bytes to feed (*len); name as
 * fuzz_tar_build's ("" for the other forms). */
static const void *
fuzz_tar_input(const uint8_t *data, size_t size, bool resolve, unsigned char *out, size_t cap,
               size_t *len, char *name)
{
	if (name != NULL)
		name[0] = '\0';
	if (size > 0 && data[0] < 8) {
		*len = fuzz_tar_build(data, size, resolve, out, cap, name);
		return out;
	}
	if (size >= 2 && !(data[0] == 0x1f && data[1] == 0x8b) &&
	    !(data[0] == 0x28 && data[1] == 0xb5)) {
		*len = size < cap ? size : cap;
		memcpy(out, data, *len);
		fuzz_tar_fix_checksums(out, *len);
		return out;
	}
	*len = size;
	return data;
}

#endif
