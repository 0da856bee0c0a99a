/* bounds.c - walk raw msgpack before msgpack-c sees it.
 *
 * msgpack-c's unpacker trusts the counts in container headers: it allocates
 * count * sizeof(msgpack_object) from the zone as soon as it reads a header,
 * so five bytes claiming 2^31 array entries cost gigabytes before it notices
 * the data is missing.  This walker reads every header itself and refuses
 * anything over the limits of proto.h, without allocating.  Recursion depth
 * is bounded by PROTO_MAX_DEPTH, checked before each descent.
 *
 * The walker also enforces two shape rules that hold for every cradle
 * message: the top level is a map, and map keys are strings.  It remembers
 * the keys on the way down so that errors name the offending field.
 */
#include "proto/proto.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "proto/internal.h"

struct comp {
	const char *key; /* NULL for an array index */
	size_t klen;
	size_t index;
};

struct walker {
	const unsigned char *start, *p, *end;
	int list_reply;
	struct comp comp[PROTO_MAX_DEPTH + 1];
	int ncomp;
	struct cradle_err *err;
};

__attribute__((format(printf, 2, 3))) static int
walk_fail(struct walker *w, const char *fmt, ...)
{
	struct ppath path;
	va_list ap;
	int i, rc;

	ppath_init(&path, NULL);
	for (i = 0; i < w->ncomp; i++) {
		if (w->comp[i].key)
			ppath_push_key(&path, w->comp[i].key, w->comp[i].klen);
		else
			ppath_push_index(&path, w->comp[i].index);
	}
	va_start(ap, fmt);
	rc = proto_vfail(w->err, &path, fmt, ap);
	va_end(ap);
	return rc;
}

static size_t
left(const struct walker *w)
{
	return (size_t)(w->end - w->p);
}

/* Truncation is reported without a path: the field being read when the
 * bytes ran out says little about where they were lost. */
static int
truncated(struct walker *w)
{
	struct ppath none;

	ppath_init(&none, NULL);
	return proto_fail(w->err, &none, "message truncated (%zu bytes)",
	                  (size_t)(w->end - w->start));
}

/* Read an n-byte big-endian length or count. */
static int
read_be(struct walker *w, size_t n, uint64_t *v)
{
	size_t i;

	*v = 0;
	if (left(w) < n)
		return truncated(w);
	for (i = 0; i < n; i++)
		*v = (*v << 8) | w->p[i];
	w->p += n;
	return 0;
}

static const char *
byte_type_name(unsigned char b)
{
	if (b <= 0x7f || (b >= 0xcc && b <= 0xcf))
		return "unsigned integer";
	if (b >= 0xe0 || (b >= 0xd0 && b <= 0xd3))
		return "integer";
	if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf)
		return "map";
	if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd)
		return "array";
	if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb))
		return "string";
	switch (b) {
	case 0xc0:
		return "nil";
	case 0xc2:
	case 0xc3:
		return "boolean";
	case 0xc4:
	case 0xc5:
	case 0xc6:
		return "binary";
	case 0xca:
	case 0xcb:
		return "float";
	case 0xc1:
		return "invalid byte 0xc1";
	default:
		return "ext";
	}
}

/* Length of the string or binary whose header starts at w->p (the type
 * byte already consumed as b); leaves w->p at the payload. */
static int
blob_len(struct walker *w, unsigned char b, uint64_t *len)
{
	if ((b & 0xe0) == 0xa0) {
		*len = b & 0x1f;
		return 0;
	}
	switch (b) {
	case 0xc4:
	case 0xd9:
		return read_be(w, 1, len);
	case 0xc5:
	case 0xda:
		return read_be(w, 2, len);
	default: /* 0xc6, 0xdb */
		return read_be(w, 4, len);
	}
}

static int
skip_blob(struct walker *w, unsigned char b, const char **ptr, size_t *plen)
{
	const char *kind = (b >= 0xc4 && b <= 0xc6) ? "binary" : "string";
	uint64_t len;
	int rc;

	rc = blob_len(w, b, &len);
	if (rc)
		return rc;
	if (len > PROTO_MAX_STR)
		return walk_fail(w, "%s of %llu bytes exceeds %d", kind, (unsigned long long)len,
		                 PROTO_MAX_STR);
	if (len > left(w))
		return truncated(w);
	if (ptr) {
		*ptr = (const char *)w->p;
		*plen = (size_t)len;
	}
	w->p += len;
	return 0;
}

static bool
is_str_byte(unsigned char b)
{
	return (b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb);
}

static bool
comp_is(const struct comp *c, const char *name)
{
	return c->key && c->klen == strlen(name) && memcmp(c->key, name, c->klen) == 0;
}

static int walk(struct walker *w);

static int
walk_container(struct walker *w, bool is_map, uint64_t count)
{
	const char *kind = is_map ? "map" : "array";
	uint64_t limit = PROTO_MAX_ENTRIES, i;
	struct comp *c;
	int rc;

	if (w->ncomp + 1 > PROTO_MAX_DEPTH)
		return walk_fail(w, "nesting deeper than %d", PROTO_MAX_DEPTH);
	if (!is_map && w->list_reply && w->ncomp == 2 && comp_is(&w->comp[0], "result") &&
	    (comp_is(&w->comp[1], "sandboxes") || comp_is(&w->comp[1], "images")))
		limit = PROTO_MAX_LIST_REPLY;
	if (count > limit)
		return walk_fail(w, "%s with %llu entries exceeds %llu", kind,
		                 (unsigned long long)count, (unsigned long long)limit);
	/* every entry takes at least one byte, every map entry two */
	if (count > left(w) / (is_map ? 2 : 1))
		return walk_fail(w, "%s claims %llu entries but only %zu bytes remain", kind,
		                 (unsigned long long)count, left(w));
	c = &w->comp[w->ncomp];
	for (i = 0; i < count; i++) {
		if (is_map) {
			unsigned char kb;

			if (left(w) < 1)
				return truncated(w);
			kb = *w->p;
			if (!is_str_byte(kb))
				return walk_fail(w, "map key must be a string, got %s",
				                 byte_type_name(kb));
			w->p++;
			rc = skip_blob(w, kb, &c->key, &c->klen);
			if (rc)
				return rc;
		} else {
			c->key = NULL;
			c->index = (size_t)i;
		}
		w->ncomp++;
		rc = walk(w);
		w->ncomp--;
		if (rc)
			return rc;
	}
	return 0;
}

static int
walk(struct walker *w)
{
	unsigned char b;
	uint64_t n;
	int rc;

	if (left(w) < 1)
		return truncated(w);
	b = *w->p++;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return 0;
	if ((b & 0xf0) == 0x80)
		return walk_container(w, true, b & 0x0f);
	if ((b & 0xf0) == 0x90)
		return walk_container(w, false, b & 0x0f);
	if (is_str_byte(b) || (b >= 0xc4 && b <= 0xc6))
		return skip_blob(w, b, NULL, NULL);
	switch (b) {
	case 0xcc:
	case 0xd0:
		n = 1;
		break;
	case 0xcd:
	case 0xd1:
		n = 2;
		break;
	case 0xca:
	case 0xce:
	case 0xd2:
		n = 4;
		break;
	case 0xcb:
	case 0xcf:
	case 0xd3:
		n = 8;
		break;
	case 0xdc:
	case 0xde:
		rc = read_be(w, 2, &n);
		return rc ? rc : walk_container(w, b == 0xde, n);
	case 0xdd:
	case 0xdf:
		rc = read_be(w, 4, &n);
		return rc ? rc : walk_container(w, b == 0xdf, n);
	case 0xc1:
		return walk_fail(w, "invalid msgpack byte 0xc1 at offset %zu",
		                 (size_t)(w->p - 1 - w->start));
	default: /* 0xc7..0xc9, 0xd4..0xd8 */
		return walk_fail(w, "msgpack ext types are not allowed");
	}
	if (left(w) < n)
		return truncated(w);
	w->p += n;
	return 0;
}

int
proto_bounds(const void *buf, size_t len, size_t max_msg, int list_reply, struct cradle_err *err)
{
	struct walker w;
	unsigned char b;
	int rc;

	memset(&w, 0, sizeof(w));
	w.err = err;
	if (!buf || len == 0)
		return proto_fail(err, NULL, "empty message");
	if (len > max_msg)
		return proto_fail(err, NULL, "message of %zu bytes exceeds %zu", len, max_msg);
	w.start = w.p = buf;
	w.end = w.start + len;
	w.list_reply = list_reply;
	b = w.start[0];
	if (!((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf))
		return proto_fail(err, NULL, "message must be a map, got %s", byte_type_name(b));
	rc = walk(&w);
	if (rc)
		return rc;
	if (w.p != w.end)
		return proto_fail(err, NULL, "trailing bytes after the message (%zu)",
		                  (size_t)(w.end - w.p));
	return 0;
}

int
proto_check_bounds(const void *buf, size_t len, struct cradle_err *err)
{
	return proto_bounds(buf, len, PROTO_MAX_MSG, 0, err);
}
