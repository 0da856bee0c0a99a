/* record.c - image records in the store's "images" database (record.h).
 *
 * Decoding follows proto/codec.c: proto_check_bounds() over the raw bytes
 * first (size, depth, entry counts, string lengths, string map keys), then
 * msgpack-c builds the (now small) tree, then each field is checked for
 * type and its own rules before it is copied out.  Every decode failure is
 * INVALID_ARGUMENT naming the field ("image record: layers[2]: ...");
 * the store functions turn it into INTERNAL, since a record cradle wrote
 * itself that no longer decodes is corruption, not a caller's mistake.
 *
 * The encoder refuses what the decoder would refuse, and runs the bounds
 * check over its own output, so every record that is stored can be read.
 */
#include "image/record.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHAT "image record"

/* ------------------------------------------------------------------ */
/* shared checks                                                      */

__attribute__((format(printf, 2, 3))) static int
bad(struct cradle_err *err, const char *fmt, ...)
{
	char msg[CRADLE_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cradle_err_set(err, CRADLE_INVALID_ARGUMENT, WHAT ": %s", msg);
	return (-EINVAL);
}

/* Text that becomes a C string: no NUL, valid UTF-8. */
static bool
text_ok(const char *s, size_t n)
{
	return (memchr(s, '\0', n) == NULL && proto_valid_utf8(s, n));
}

static int
check_ref(const char *ref, size_t n, struct cradle_err *err)
{
	if (n == 0) {
		return (bad(err, "ref: must not be empty"));
	}
	if (n > IMAGE_REF_MAX) {
		return (bad(err, "ref: %zu bytes exceeds %d", n, IMAGE_REF_MAX));
	}
	if (!text_ok(ref, n)) {
		return (bad(err, "ref: not valid UTF-8 text"));
	}
	return (0);
}

/* ------------------------------------------------------------------ */
/* encoding                                                           */

static int
pk_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	if (msgpack_pack_str(pk, n) != 0) {
		return (-1);
	}
	return (msgpack_pack_str_body(pk, s, n));
}

static int
pack(msgpack_packer *pk, const struct image_record *r)
{
	size_t i;

	if (msgpack_pack_map(pk, 8) != 0 || pk_str(pk, "ref") != 0 || pk_str(pk, r->ref) != 0 ||
	    pk_str(pk, "manifest_digest") != 0 || pk_str(pk, r->manifest_digest) != 0 ||
	    pk_str(pk, "config_digest") != 0 || pk_str(pk, r->config_digest) != 0 ||
	    pk_str(pk, "layers") != 0 || msgpack_pack_array(pk, r->n_layers) != 0) {
		return (-1);
	}
	for (i = 0; i < r->n_layers; i++) {
		if (pk_str(pk, r->layers[i]) != 0) {
			return (-1);
		}
	}
	if (pk_str(pk, "size") != 0 || msgpack_pack_int64(pk, r->size) != 0 ||
	    pk_str(pk, "labels") != 0 || msgpack_pack_map(pk, r->labels.n) != 0) {
		return (-1);
	}
	for (i = 0; i < r->labels.n; i++) {
		if (pk_str(pk, r->labels.v[i].key) != 0 || pk_str(pk, r->labels.v[i].value) != 0) {
			return (-1);
		}
	}
	if (pk_str(pk, "pinned") != 0 ||
	    (r->pinned ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) != 0 ||
	    pk_str(pk, "created_at") != 0 || msgpack_pack_int64(pk, r->created_at) != 0) {
		return (-1);
	}
	return (0);
}

static int
check_record(const struct image_record *r, struct cradle_err *err)
{
	size_t i, j, n;
	int rc;

	n = strnlen(r->ref, sizeof(r->ref));
	if (n == sizeof(r->ref)) {
		return (bad(err, "ref: not NUL-terminated"));
	}
	if ((rc = check_ref(r->ref, n, err)) < 0) {
		return (rc);
	}
	if (!digest_valid(r->manifest_digest)) {
		return (bad(err,
		            "manifest_digest of \"%s\": not a sha256 "
		            "digest",
		            r->ref));
	}
	if (!digest_valid(r->config_digest)) {
		return (bad(err, "config_digest of \"%s\": not a sha256 digest", r->ref));
	}
	if (r->n_layers > 0 && r->layers == NULL) {
		return (bad(err, "layers of \"%s\": %zu layers but no array", r->ref, r->n_layers));
	}
	if (r->n_layers > IMAGE_MAX_LAYERS) {
		return (bad(err, "layers of \"%s\": %zu layers exceeds %d", r->ref, r->n_layers,
		            IMAGE_MAX_LAYERS));
	}
	for (i = 0; i < r->n_layers; i++) {
		if (!digest_valid(r->layers[i])) {
			return (bad(err,
			            "layers[%zu] of \"%s\": not a sha256 "
			            "digest",
			            i, r->ref));
		}
	}
	if (r->size < 0) {
		return (bad(err, "size of \"%s\": %" PRId64 " is negative", r->ref, r->size));
	}
	if (r->labels.n > PROTO_MAX_ENTRIES) {
		return (bad(err, "labels of \"%s\": %zu entries exceeds %d", r->ref, r->labels.n,
		            PROTO_MAX_ENTRIES));
	}
	if (r->labels.n > 0 && r->labels.v == NULL) {
		return (bad(err, "labels of \"%s\": %zu entries but no array", r->ref,
		            r->labels.n));
	}
	for (i = 0; i < r->labels.n; i++) {
		const char *k = r->labels.v[i].key, *v = r->labels.v[i].value;

		if (k == NULL || v == NULL || k[0] == '\0' || !text_ok(k, strlen(k)) ||
		    !text_ok(v, strlen(v))) {
			return (bad(err,
			            "labels[%zu] of \"%s\": keys must be "
			            "non-empty and keys and values UTF-8 text",
			            i, r->ref));
		}
		/* Duplicates would make the decoder refuse the record.
		 * Labels are few; quadratic is fine at this size. */
		for (j = 0; j < i; j++) {
			if (strcmp(r->labels.v[j].key, k) == 0) {
				return (bad(err,
				            "labels of \"%s\": duplicate "
				            "key \"%.64s\"",
				            r->ref, k));
			}
		}
	}
	return (0);
}

int
image_record_encode(const struct image_record *r, msgpack_sbuffer *sb, struct cradle_err *err)
{
	msgpack_packer pk;
	size_t old = sb->size;
	int rc;

	if ((rc = check_record(r, err)) < 0) {
		return (rc);
	}
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if (pack(&pk, r) != 0) {
		sb->size = old;
		return (cradle_err_nomem(err));
	}
	/* Lengths of strings and the whole: what check_record cannot see
	 * cheaply, the decoder's own walk checks. */
	if ((rc = proto_check_bounds(sb->data + old, sb->size - old, err)) < 0) {
		sb->size = old;
		cradle_err_wrap(err, "cannot encode " WHAT " of \"%s\"", r->ref);
		return (rc);
	}
	return (0);
}

/* ------------------------------------------------------------------ */
/* decoding                                                           */

static bool
key_is(const msgpack_object *k, const char *key)
{
	size_t n = strlen(key);

	return (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	        memcmp(k->via.str.ptr, key, n) == 0);
}

/* The value under key in map m, NULL when absent or nil.  Duplicate keys
 * were refused before. */
static const msgpack_object *
field(const msgpack_object *m, const char *key)
{
	uint32_t i;

	for (i = 0; i < m->via.map.size; i++) {
		if (key_is(&m->via.map.ptr[i].key, key)) {
			const msgpack_object *v = &m->via.map.ptr[i].val;

			return (v->type == MSGPACK_OBJECT_NIL ? NULL : v);
		}
	}
	return (NULL);
}

static int
cmp_keys(const void *a, const void *b)
{
	const msgpack_object *x = &(*(const msgpack_object_kv *const *)a)->key;
	const msgpack_object *y = &(*(const msgpack_object_kv *const *)b)->key;

	if (x->via.str.size != y->via.str.size) {
		return (x->via.str.size < y->via.str.size ? -1 : 1);
	}
	return (memcmp(x->via.str.ptr, y->via.str.ptr, x->via.str.size));
}

/* Keys of m (strings: the bounds walk checked) must be unique.  Sorted,
 * n log n (m has at most PROTO_MAX_ENTRIES entries). */
static int
check_dups(const msgpack_object *m, const char *where, struct cradle_err *err)
{
	const msgpack_object_kv **v;
	uint32_t i, n = m->via.map.size;
	int rc = 0;

	if (n < 2) {
		return (0);
	}
	v = malloc(n * sizeof(*v));
	if (v == NULL) {
		return (cradle_err_nomem(err));
	}
	for (i = 0; i < n; i++) {
		v[i] = &m->via.map.ptr[i];
	}
	qsort(v, n, sizeof(*v), cmp_keys);
	for (i = 1; i < n; i++) {
		if (cmp_keys(&v[i - 1], &v[i]) == 0) {
			const msgpack_object *k = &v[i]->key;
			bool show = text_ok(k->via.str.ptr, k->via.str.size);

			rc = bad(err, "%s: duplicate key \"%.*s\"", where,
			         show ? (int)(k->via.str.size > 64 ? 64 : k->via.str.size) : 0,
			         show ? k->via.str.ptr : "");
			break;
		}
	}
	free(v);
	return (rc);
}

static const char *
type_name(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return ("nil");
	case MSGPACK_OBJECT_BOOLEAN:
		return ("boolean");
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return ("unsigned integer");
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return ("negative integer");
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return ("float");
	case MSGPACK_OBJECT_STR:
		return ("string");
	case MSGPACK_OBJECT_BIN:
		return ("binary");
	case MSGPACK_OBJECT_ARRAY:
		return ("array");
	case MSGPACK_OBJECT_MAP:
		return ("map");
	default:
		return ("ext");
	}
}

/* A digest string into out[DIGEST_LEN + 1]. */
static int
get_digest(const msgpack_object *v, const char *name, char *out, struct cradle_err *err)
{
	if (v->type != MSGPACK_OBJECT_STR) {
		return (bad(err, "%s: expected string, got %s", name, type_name(v)));
	}
	if (v->via.str.size == DIGEST_LEN) {
		memcpy(out, v->via.str.ptr, DIGEST_LEN);
		out[DIGEST_LEN] = '\0';
		if (digest_valid(out)) {
			return (0);
		}
	}
	out[0] = '\0';
	return (bad(err,
	            "%s: not a sha256 digest (want \"sha256:\" and 64 "
	            "lower-case hex characters)",
	            name));
}

static int
get_i64(const msgpack_object *v, const char *name, int64_t min, int64_t *out,
        struct cradle_err *err)
{
	int64_t x;

	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (v->via.u64 > (uint64_t)INT64_MAX) {
			return (bad(err, "%s: %" PRIu64 " is out of range", name, v->via.u64));
		}
		x = (int64_t)v->via.u64;
	} else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		x = v->via.i64;
	} else {
		return (bad(err, "%s: expected integer, got %s", name, type_name(v)));
	}
	if (x < min) {
		return (bad(err,
		            "%s: %" PRId64 " is out of range (at least "
		            "%" PRId64 ")",
		            name, x, min));
	}
	*out = x;
	return (0);
}

static int
dec_layers(const msgpack_object *v, struct image_record *r, struct cradle_err *err)
{
	char name[32];
	uint32_t i;
	int rc;

	if (v->type != MSGPACK_OBJECT_ARRAY) {
		return (bad(err, "layers: expected array, got %s", type_name(v)));
	}
	if (v->via.array.size > IMAGE_MAX_LAYERS) {
		return (bad(err, "layers: %" PRIu32 " layers exceeds %d", v->via.array.size,
		            IMAGE_MAX_LAYERS));
	}
	if (v->via.array.size == 0) {
		return (0);
	}
	r->layers = calloc(v->via.array.size, sizeof(*r->layers));
	if (r->layers == NULL) {
		return (cradle_err_nomem(err));
	}
	for (i = 0; i < v->via.array.size; i++) {
		snprintf(name, sizeof(name), "layers[%" PRIu32 "]", i);
		r->layers[i] = malloc(DIGEST_LEN + 1);
		if (r->layers[i] == NULL) {
			return (cradle_err_nomem(err));
		}
		r->n_layers++;
		if ((rc = get_digest(&v->via.array.ptr[i], name, r->layers[i], err)) < 0) {
			return (rc);
		}
	}
	return (0);
}

static int
dec_labels(const msgpack_object *v, struct image_record *r, struct cradle_err *err)
{
	const msgpack_object_kv *kv;
	uint32_t i;
	int rc;

	if (v->type != MSGPACK_OBJECT_MAP) {
		return (bad(err, "labels: expected map, got %s", type_name(v)));
	}
	for (i = 0; i < v->via.map.size; i++) {
		kv = &v->via.map.ptr[i];
		/* keys are strings: the bounds walk refuses other keys */
		if (kv->key.via.str.size == 0 ||
		    !text_ok(kv->key.via.str.ptr, kv->key.via.str.size)) {
			return (bad(err, "labels: keys must be non-empty UTF-8 "
			                 "text"));
		}
		if (kv->val.type != MSGPACK_OBJECT_STR) {
			return (bad(err,
			            "labels[\"%.*s\"]: expected string, "
			            "got %s",
			            (int)(kv->key.via.str.size > 64 ? 64 : kv->key.via.str.size),
			            kv->key.via.str.ptr, type_name(&kv->val)));
		}
		if (!text_ok(kv->val.via.str.ptr, kv->val.via.str.size)) {
			return (bad(err,
			            "labels[\"%.*s\"]: not valid UTF-8 "
			            "text",
			            (int)(kv->key.via.str.size > 64 ? 64 : kv->key.via.str.size),
			            kv->key.via.str.ptr));
		}
	}
	if ((rc = check_dups(v, "labels", err)) < 0) {
		return (rc);
	}
	if (v->via.map.size == 0) {
		return (0);
	}
	r->labels.v = calloc(v->via.map.size, sizeof(*r->labels.v));
	if (r->labels.v == NULL) {
		return (cradle_err_nomem(err));
	}
	for (i = 0; i < v->via.map.size; i++) {
		kv = &v->via.map.ptr[i];
		r->labels.n++;
		r->labels.v[i].key = strndup(kv->key.via.str.ptr, kv->key.via.str.size);
		r->labels.v[i].value = strndup(kv->val.via.str.ptr, kv->val.via.str.size);
		if (r->labels.v[i].key == NULL || r->labels.v[i].value == NULL) {
			return (cradle_err_nomem(err));
		}
	}
	return (0);
}

static int
dec_record(const msgpack_object *m, struct image_record *r, struct cradle_err *err)
{
	const msgpack_object *v;
	int rc;

	if ((rc = check_dups(m, "top level", err)) < 0) {
		return (rc);
	}
	if ((v = field(m, "ref")) == NULL) {
		return (bad(err, "ref: required field is missing"));
	}
	if (v->type != MSGPACK_OBJECT_STR) {
		return (bad(err, "ref: expected string, got %s", type_name(v)));
	}
	if ((rc = check_ref(v->via.str.ptr, v->via.str.size, err)) < 0) {
		return (rc);
	}
	memcpy(r->ref, v->via.str.ptr, v->via.str.size);
	r->ref[v->via.str.size] = '\0';

	if ((v = field(m, "manifest_digest")) == NULL) {
		return (bad(err, "manifest_digest: required field is missing"));
	}
	if ((rc = get_digest(v, "manifest_digest", r->manifest_digest, err)) < 0) {
		return (rc);
	}
	if ((v = field(m, "config_digest")) == NULL) {
		return (bad(err, "config_digest: required field is missing"));
	}
	if ((rc = get_digest(v, "config_digest", r->config_digest, err)) < 0) {
		return (rc);
	}
	if ((v = field(m, "layers")) == NULL) {
		return (bad(err, "layers: required field is missing"));
	}
	if ((rc = dec_layers(v, r, err)) < 0) {
		return (rc);
	}
	if ((v = field(m, "size")) == NULL) {
		return (bad(err, "size: required field is missing"));
	}
	if ((rc = get_i64(v, "size", 0, &r->size, err)) < 0) {
		return (rc);
	}
	if ((v = field(m, "labels")) != NULL && (rc = dec_labels(v, r, err)) < 0) {
		return (rc);
	}
	if ((v = field(m, "pinned")) != NULL) {
		if (v->type != MSGPACK_OBJECT_BOOLEAN) {
			return (bad(err, "pinned: expected boolean, got %s", type_name(v)));
		}
		r->pinned = v->via.boolean;
	}
	if ((v = field(m, "created_at")) != NULL &&
	    (rc = get_i64(v, "created_at", INT64_MIN, &r->created_at, err)) < 0) {
		return (rc);
	}
	return (0);
}

int
image_record_decode(const void *buf, size_t len, struct image_record *r, struct cradle_err *err)
{
	msgpack_unpacked up;
	msgpack_unpack_return ret;
	size_t off = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	if (buf == NULL || len == 0) {
		return (bad(err, "empty"));
	}
	/* size, depth, counts, string lengths; top level a map with string
	 * keys; no trailing bytes */
	if ((rc = proto_check_bounds(buf, len, err)) < 0) {
		cradle_err_wrap(err, WHAT);
		return (rc);
	}
	msgpack_unpacked_init(&up);
	ret = msgpack_unpack_next(&up, buf, len, &off);
	if (ret != MSGPACK_UNPACK_SUCCESS || off != len || up.data.type != MSGPACK_OBJECT_MAP) {
		msgpack_unpacked_destroy(&up);
		if (ret == MSGPACK_UNPACK_NOMEM_ERROR) {
			return (cradle_err_nomem(err));
		}
		return (bad(err, "malformed msgpack (unpack returned %d)", (int)ret));
	}
	rc = dec_record(&up.data, r, err);
	msgpack_unpacked_destroy(&up);
	if (rc < 0) {
		image_record_fini(r);
	}
	return (rc);
}

void
image_record_fini(struct image_record *r)
{
	size_t i;

	if (r == NULL) {
		return;
	}
	for (i = 0; i < r->n_layers; i++) {
		free(r->layers[i]);
	}
	free(r->layers);
	proto_kvs_fini(&r->labels);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------------ */
/* the store                                                          */

/* Decode a stored value for key ref; corrupt -> INTERNAL, -EIO. */
static int
decode_stored(const char *ref, const void *buf, size_t len, struct image_record *out,
              struct cradle_err *err)
{
	int rc;

	if ((rc = image_record_decode(buf, len, out, err)) < 0) {
		cradle_err_wrap(err, "corrupt record for image \"%s\"", ref);
		if (err != NULL) {
			err->code = CRADLE_INTERNAL;
		}
		return (-EIO);
	}
	if (strcmp(out->ref, ref) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "corrupt record for image "
		               "\"%s\": it holds ref \"%s\"",
		               ref, out->ref);
		image_record_fini(out);
		return (-EIO);
	}
	return (0);
}

int
image_record_put(struct store *st, const struct image_record *r, struct cradle_err *err)
{
	msgpack_sbuffer sb;
	int rc;

	msgpack_sbuffer_init(&sb);
	if ((rc = image_record_encode(r, &sb, err)) < 0) {
		msgpack_sbuffer_destroy(&sb);
		return (rc);
	}
	rc = store_put(st, IMAGE_DB, r->ref, sb.data, sb.size, err);
	msgpack_sbuffer_destroy(&sb);
	return (rc);
}

int
image_record_get(struct store *st, const char *ref, struct image_record *out,
                 struct cradle_err *err)
{
	void *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (ref == NULL) {
		return (bad(err, "ref: NULL"));
	}
	if ((rc = store_get(st, IMAGE_DB, ref, &buf, &len, err)) < 0) {
		if (rc == -ENOENT) {
			cradle_err_set(err, CRADLE_NOT_FOUND,
			               "image \"%s\" "
			               "not found",
			               ref);
		}
		return (rc);
	}
	rc = decode_stored(ref, buf, len, out, err);
	free(buf);
	return (rc);
}

int
image_record_del(struct store *st, const char *ref, struct cradle_err *err)
{
	if (ref == NULL) {
		return (bad(err, "ref: NULL"));
	}
	return (store_del(st, IMAGE_DB, ref, err));
}

struct walk {
	int (*fn)(struct image_record *r, void *arg);
	void *arg;
};

static int
walk_one(const char *key, const void *data, size_t len, void *arg)
{
	struct walk *w = arg;
	struct image_record r;
	struct cradle_err e;
	int rc;

	memset(&e, 0, sizeof(e));
	if (decode_stored(key, data, len, &r, &e) < 0) {
		return (0); /* skipped, as documented */
	}
	rc = w->fn(&r, w->arg);
	image_record_fini(&r);
	return (rc);
}

int
image_record_foreach(struct store *st, int (*fn)(struct image_record *r, void *arg), void *arg,
                     struct cradle_err *err)
{
	struct walk w = { fn, arg };

	return (store_foreach(st, IMAGE_DB, walk_one, &w, err));
}
