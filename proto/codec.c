/* codec.c - msgpack encoders and decoders for requests, replies, sandbox
 * records and events (proto/PROTOCOL.md).
 *
 * Decoding is three passes: proto_bounds() over the raw bytes, msgpack-c
 * building a tree (now known to be small), then the walk below, which checks
 * each field's type and copies it out.  Meaning (DNS names, paths, counts)
 * is checked by pod_config_validate() in config.c so the CLI can share it.
 *
 * Decoders are lenient where newer peers need it and strict where bytes
 * become C strings: unknown keys are skipped, nil means absent, but every
 * string must be valid UTF-8 without NUL and every integer must fit.
 *
 * Encoders do not validate configs: the daemon must be testable with
 * configs it refuses, and the client learns the daemon's rules from its
 * replies.  They do refuse what the peer's decoder could never read (an
 * oversized message, a record with a bad id or phase).
 *
 * Each kind of message (request, reply, sandbox record, image, event) is
 * described once, by a struct msg_kind; every public encoder and decoder
 * is one call of the frame that works from it, encode_msg() or
 * decode_msg().
 */
#include "proto/proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "proto/internal.h"

#define STOP_TIMEOUT_DEFAULT 10000
#define STOP_TIMEOUT_MAX 3600000

/* lookup flags */
#define F_REQ 1        /* absent is an error */
#define F_EMPTY_NULL 2 /* "" decodes to NULL: CRI's "unset" */
#define F_ONE 4        /* get_list(): one element on its own, not an array */

static const msgpack_object empty_map = { .type = MSGPACK_OBJECT_MAP };

/* ------------------------------------------------------------------ */
/* decoding helpers                                                   */

static const char *
obj_type_name(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return "nil";
	case MSGPACK_OBJECT_BOOLEAN:
		return "boolean";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return "unsigned integer";
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return "negative integer";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return "float";
	case MSGPACK_OBJECT_STR:
		return "string";
	case MSGPACK_OBJECT_BIN:
		return "binary";
	case MSGPACK_OBJECT_ARRAY:
		return "array";
	case MSGPACK_OBJECT_MAP:
		return "map";
	default:
		return "ext";
	}
}

static int
expect(const msgpack_object *o, const struct ppath *p, const char *want, struct cradle_err *err)
{
	return proto_fail(err, p, "expected %s, got %s", want, obj_type_name(o));
}

static bool
key_is(const msgpack_object *k, const char *key, size_t klen)
{
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
	       memcmp(k->via.str.ptr, key, klen) == 0;
}

/* Find key in map m.  Returns <0 on error, 0 when absent (or nil: peers
 * that write nil for unset fields mean absent), 1 when found, with the key
 * pushed onto p and *old set for the caller's ppath_pop. */
static int
lookup(const msgpack_object *m, const char *key, struct ppath *p, int flags,
       const msgpack_object **out, size_t *old, struct cradle_err *err)
{
	const msgpack_object *found = NULL;
	size_t klen = strlen(key);
	uint32_t i;
	int rc;

	*out = NULL;
	for (i = 0; i < m->via.map.size; i++) {
		if (!key_is(&m->via.map.ptr[i].key, key, klen))
			continue;
		if (found) {
			*old = ppath_push(p, key);
			rc = proto_fail(err, p, "duplicate key");
			ppath_pop(p, *old);
			return rc;
		}
		found = &m->via.map.ptr[i].val;
	}
	if (!found || found->type == MSGPACK_OBJECT_NIL) {
		if (!(flags & F_REQ))
			return 0;
		*old = ppath_push(p, key);
		rc = proto_fail(err, p, "required field is missing");
		ppath_pop(p, *old);
		return rc;
	}
	*old = ppath_push(p, key);
	*out = found;
	return 1;
}

/* Decodes the object o (its path in p) into what arg points at: a value
 * decoder for get_field(), or a map's fields for sub(). */
typedef int (*dec_fn)(const msgpack_object *o, struct ppath *p, void *arg, struct cradle_err *err);

/* Run fn on the value under key in map m, with the key on the path.
 * Returns <0 on error, 0 when absent, else what fn returns. */
static int
get_field(const msgpack_object *m, const char *key, struct ppath *p, int flags, dec_fn fn,
          void *arg, struct cradle_err *err)
{
	const msgpack_object *v;
	size_t old;
	int rc;

	rc = lookup(m, key, p, flags, &v, &old, err);
	if (rc <= 0)
		return rc;
	rc = fn(v, p, arg, err);
	ppath_pop(p, old);
	return rc;
}

static int
val_map(const msgpack_object *v, const struct ppath *p, struct cradle_err *err)
{
	return v->type == MSGPACK_OBJECT_MAP ? 0 : expect(v, p, "map", err);
}

/* String bytes checked for NUL and UTF-8; *s and *n point into the tree. */
static int
val_text(const msgpack_object *v, const struct ppath *p, const char **s, size_t *n,
         struct cradle_err *err)
{
	*s = "";
	*n = 0;
	if (v->type != MSGPACK_OBJECT_STR)
		return expect(v, p, "string", err);
	*s = v->via.str.ptr;
	*n = v->via.str.size;
	return proto_check_text(*s, *n, p, err);
}

/* Where val_str() puts a string: a copy of its own in *out, or a fixed
 * buffer buf of size bytes (NUL included) when buf is set. */
struct str_arg {
	int flags;
	char **out;
	char *buf;
	size_t size;
};

static int
val_str(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	const struct str_arg *a = arg;
	const char *s;
	size_t n;
	int rc;

	rc = val_text(v, p, &s, &n, err);
	if (rc)
		return rc;
	if (a->buf) {
		if (n >= a->size)
			return proto_fail(err, p, "string of %zu bytes exceeds %zu", n,
			                  a->size - 1);
		memcpy(a->buf, s, n);
		a->buf[n] = '\0';
		return 0;
	}
	if (n == 0 && (a->flags & F_EMPTY_NULL))
		return 0;
	*a->out = strndup(s, n);
	return *a->out ? 0 : cradle_err_nomem(err);
}

static int
get_str(const msgpack_object *m, const char *key, struct ppath *p, int flags, char **out,
        struct cradle_err *err)
{
	struct str_arg a = { flags, out, NULL, 0 };

	return get_field(m, key, p, flags, val_str, &a, err);
}

static int
get_strbuf(const msgpack_object *m, const char *key, struct ppath *p, int flags, char *buf,
           size_t size, struct cradle_err *err)
{
	struct str_arg a = { flags, NULL, buf, size };

	return get_field(m, key, p, flags, val_str, &a, err);
}

/* arg: char[CRADLE_ID_LEN + 1] */
static int
val_id(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	char *id = arg;
	char q[QUOTE_MAX];
	const char *s;
	size_t n;
	int rc;

	rc = val_text(v, p, &s, &n, err);
	if (rc)
		return rc;
	if (n == CRADLE_ID_LEN) {
		memcpy(id, s, n);
		id[n] = '\0';
		if (proto_valid_id(id))
			return 0;
		id[0] = '\0';
	}
	proto_quote(q, s, n);
	return proto_fail(err, p,
	                  "%s is not a valid sandbox id (want %d lower-case "
	                  "hex characters)",
	                  q, CRADLE_ID_LEN);
}

static int
get_id(const msgpack_object *m, const char *key, struct ppath *p, int flags,
       char id[CRADLE_ID_LEN + 1], struct cradle_err *err)
{
	return get_field(m, key, p, flags, val_id, id, err);
}

struct u64_arg {
	uint64_t max;
	uint64_t *out;
};

static int
val_u64(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	const struct u64_arg *a = arg;

	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return expect(v, p, "unsigned integer", err);
	if (v->via.u64 > a->max)
		return proto_fail(err, p, "%" PRIu64 " is out of range (0..%" PRIu64 ")",
		                  v->via.u64, a->max);
	*a->out = v->via.u64;
	return 0;
}

static int
get_u64(const msgpack_object *m, const char *key, struct ppath *p, int flags, uint64_t max,
        uint64_t *out, struct cradle_err *err)
{
	struct u64_arg a = { max, out };

	return get_field(m, key, p, flags, val_u64, &a, err);
}

struct i64_arg {
	int64_t min, max;
	int64_t *out;
};

static int
val_i64(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	const struct i64_arg *a = arg;
	int64_t x;

	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (v->via.u64 > (uint64_t)a->max)
			return proto_fail(err, p,
			                  "%" PRIu64 " is out of range (%" PRId64 "..%" PRId64 ")",
			                  v->via.u64, a->min, a->max);
		x = (int64_t)v->via.u64;
	} else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		x = v->via.i64;
	} else {
		return expect(v, p, "integer", err);
	}
	if (x < a->min || x > a->max)
		return proto_fail(err, p, "%" PRId64 " is out of range (%" PRId64 "..%" PRId64 ")",
		                  x, a->min, a->max);
	*a->out = x;
	return 0;
}

static int
get_i64(const msgpack_object *m, const char *key, struct ppath *p, int flags, int64_t min,
        int64_t max, int64_t *out, struct cradle_err *err)
{
	struct i64_arg a = { min, max, out };

	return get_field(m, key, p, flags, val_i64, &a, err);
}

static int
get_i32(const msgpack_object *m, const char *key, struct ppath *p, int flags, int32_t *out,
        struct cradle_err *err)
{
	int64_t x = *out;
	int rc;

	rc = get_i64(m, key, p, flags, INT32_MIN, INT32_MAX, &x, err);
	if (!rc)
		*out = (int32_t)x;
	return rc;
}

static int
val_bool(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	bool *out = arg;

	if (v->type != MSGPACK_OBJECT_BOOLEAN)
		return expect(v, p, "boolean", err);
	*out = v->via.boolean;
	return 0;
}

static int
get_bool(const msgpack_object *m, const char *key, struct ppath *p, int flags, bool *out,
         struct cradle_err *err)
{
	return get_field(m, key, p, flags, val_bool, out, err);
}

static int
cmp_kv_ptr(const void *a, const void *b)
{
	const msgpack_object *x = &(*(const msgpack_object_kv *const *)a)->key;
	const msgpack_object *y = &(*(const msgpack_object_kv *const *)b)->key;

	if (x->via.str.size != y->via.str.size)
		return x->via.str.size < y->via.str.size ? -1 : 1;
	return memcmp(x->via.str.ptr, y->via.str.ptr, x->via.str.size);
}

/* Sorting finds duplicates in n log n: pairwise compares of up to 1024
 * keys of up to 16 KiB each would let one message burn real CPU. */
static int
check_dup_keys(const msgpack_object *m, const struct ppath *p, struct cradle_err *err)
{
	const msgpack_object_kv **v;
	char q[QUOTE_MAX];
	uint32_t i, n = m->via.map.size;
	int rc = 0;

	if (n < 2)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return cradle_err_nomem(err);
	for (i = 0; i < n; i++)
		v[i] = &m->via.map.ptr[i];
	qsort(v, n, sizeof(*v), cmp_kv_ptr);
	for (i = 1; i < n; i++) {
		if (cmp_kv_ptr(&v[i - 1], &v[i]) == 0) {
			proto_quote(q, v[i]->key.via.str.ptr, v[i]->key.via.str.size);
			rc = proto_fail(err, p, "duplicate key %s", q);
			break;
		}
	}
	free(v);
	return rc;
}

static int
val_kvs(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_kvs *out = arg;
	const msgpack_object_kv *kv;
	const char *s;
	size_t n, old;
	uint32_t i;
	int rc;

	rc = val_map(v, p, err);
	if (rc)
		return rc;
	for (i = 0; i < v->via.map.size; i++) {
		kv = &v->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR)
			return proto_fail(err, p, "map key must be a string, got %s",
			                  obj_type_name(&kv->key));
		rc = proto_check_key(kv->key.via.str.ptr, kv->key.via.str.size, p, err);
		if (rc)
			return rc;
		old = ppath_push_key(p, kv->key.via.str.ptr, kv->key.via.str.size);
		rc = val_text(&kv->val, p, &s, &n, err);
		ppath_pop(p, old);
		if (rc)
			return rc;
	}
	rc = check_dup_keys(v, p, err);
	if (rc)
		return rc;
	if (v->via.map.size == 0)
		return 0;
	out->v = calloc(v->via.map.size, sizeof(*out->v));
	if (!out->v)
		return cradle_err_nomem(err);
	for (i = 0; i < v->via.map.size; i++) {
		kv = &v->via.map.ptr[i];
		out->n++;
		out->v[i].key = strndup(kv->key.via.str.ptr, kv->key.via.str.size);
		out->v[i].value = strndup(kv->val.via.str.ptr, kv->val.via.str.size);
		if (!out->v[i].key || !out->v[i].value)
			return cradle_err_nomem(err);
	}
	return 0;
}

static int
get_kvs(const msgpack_object *m, const char *key, struct ppath *p, struct proto_kvs *out,
        struct cradle_err *err)
{
	return get_field(m, key, p, 0, val_kvs, out, err);
}

/* How val_list() decodes one kind of array. */
struct list_desc {
	size_t size;      /* bytes per element */
	dec_fn elem;      /* decodes one element into its zeroed slot */
	uint32_t max;     /* most elements, 0: only the walker's bound */
	const char *noun; /* "sandboxes": the message over max; a list's key */
	const char *one;  /* "sandbox": the key of the one of a status reply */
};

struct list_arg {
	const struct list_desc *d;
	bool one;  /* F_ONE: v is the one element */
	void *vec; /* &owner->v, a T **: set with memcpy, so any T */
	size_t *n; /* &owner->n */
};

/* An array decoded element by element into a calloc'd vector (or, for
 * F_ONE, one element into a vector of one).  Each element is counted in *n
 * before it is decoded, so the owner's fini also releases one that failed
 * half-way (a zeroed slot must be safe to fini). */
static int
val_list(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	const struct list_arg *a = arg;
	const struct list_desc *d = a->d;
	const msgpack_object *elems = v;
	uint32_t i, len = 1;
	void *items;
	size_t old;
	int rc = 0;

	if (!a->one) {
		if (v->type != MSGPACK_OBJECT_ARRAY)
			return expect(v, p, "array", err);
		elems = v->via.array.ptr;
		len = v->via.array.size;
	}
	if (d->max && len > d->max)
		return proto_fail(err, p, "%u %s exceed %u", len, d->noun, d->max);
	if (!len)
		return 0;
	items = calloc(len, d->size);
	if (!items)
		return cradle_err_nomem(err);
	memcpy(a->vec, &items, sizeof(items));
	for (i = 0; i < len && !rc; i++) {
		(*a->n)++;
		old = a->one ? p->len : ppath_push_index(p, i);
		rc = d->elem(&elems[i], p, (char *)items + (size_t)i * d->size, err);
		ppath_pop(p, old);
	}
	return rc;
}

static int
get_list(const msgpack_object *m, const char *key, struct ppath *p, int flags,
         const struct list_desc *d, void *vec, size_t *n, struct cradle_err *err)
{
	struct list_arg a = { d, (flags & F_ONE) != 0, vec, n };

	return get_field(m, key, p, flags, val_list, &a, err);
}

static int
elem_str(const msgpack_object *e, struct ppath *p, void *item, struct cradle_err *err)
{
	struct str_arg a = { 0, item, NULL, 0 };

	return val_str(e, p, &a, err);
}

static const struct list_desc strs_list = { sizeof(char *), elem_str, 0, NULL, NULL };

static int
get_strs(const msgpack_object *m, const char *key, struct ppath *p, struct proto_strs *out,
         struct cradle_err *err)
{
	return get_list(m, key, p, 0, &strs_list, &out->v, &out->n, err);
}

/* An enum the peer may send as its number or as its name (names[i] is
 * value i); the texts only feed messages. */
struct enum_desc {
	const char *what;     /* "namespace mode" */
	const char *numbered; /* "POD=0, CONTAINER=1, ..." */
	const char *listed;   /* "POD, CONTAINER, ..." */
	size_t n;
	const char *names[4];
};

static const struct enum_desc ns_modes = {
	"namespace mode",
	"POD=0, CONTAINER=1, NODE=2, TARGET=3",
	"POD, CONTAINER, NODE, TARGET",
	4,
	{ "POD", "CONTAINER", "NODE", "TARGET" },
};

static const struct enum_desc protocols = {
	"protocol", "TCP=0, UDP=1, SCTP=2", "TCP, UDP, SCTP", 3, { "TCP", "UDP", "SCTP" },
};

static const struct enum_desc seccomp_types = {
	"seccomp profile type",
	"RuntimeDefault=0, Unconfined=1, Localhost=2",
	"RuntimeDefault, Unconfined, Localhost",
	3,
	{ "RuntimeDefault", "Unconfined", "Localhost" },
};

static const struct enum_desc states = {
	"sandbox state",
	"SANDBOX_READY=0, SANDBOX_NOTREADY=1",
	"SANDBOX_READY, SANDBOX_NOTREADY",
	2,
	{ "SANDBOX_READY", "SANDBOX_NOTREADY" },
};

struct enum_arg {
	const struct enum_desc *d;
	int *out;
};

static int
val_enum(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	const struct enum_arg *a = arg;
	const struct enum_desc *d = a->d;
	char q[QUOTE_MAX];
	size_t i;

	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (v->via.u64 >= d->n)
			return proto_fail(err, p, "%" PRIu64 " is out of range (%s)", v->via.u64,
			                  d->numbered);
		*a->out = (int)v->via.u64;
		return 0;
	}
	if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return proto_fail(err, p, "%" PRId64 " is out of range (%s)", v->via.i64,
		                  d->numbered);
	if (v->type != MSGPACK_OBJECT_STR)
		return expect(v, p, "integer or string", err);
	for (i = 0; i < d->n; i++) {
		if (key_is(v, d->names[i], strlen(d->names[i]))) {
			*a->out = (int)i;
			return 0;
		}
	}
	proto_quote(q, v->via.str.ptr, v->via.str.size);
	return proto_fail(err, p, "%s is not a %s (%s)", q, d->what, d->listed);
}

static int
get_enum(const msgpack_object *m, const char *key, struct ppath *p, const struct enum_desc *d,
         int *out, struct cradle_err *err)
{
	struct enum_arg a = { d, out };

	return get_field(m, key, p, 0, val_enum, &a, err);
}

/* A value the peer must send by its name (name(i) for i in 0..n-1); an
 * unknown name is refused with unknown, whose %s is the quoted string. */
struct named_desc {
	const char *(*name)(int);
	int n;
	const char *unknown;
};

static const struct named_desc phases = {
	proto_phase_name,
	PHASE_EXITED + 1,
	"%s is not a sandbox phase (created, running, exited)",
};

static const struct named_desc ops = { proto_op_name, OP__COUNT, "unknown operation %s" };

struct named_arg {
	const struct named_desc *d;
	int *out;
};

static int
val_named(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	const struct named_arg *a = arg;
	char q[QUOTE_MAX];
	int i;

	if (v->type != MSGPACK_OBJECT_STR)
		return expect(v, p, "string", err);
	for (i = 0; i < a->d->n; i++) {
		if (key_is(v, a->d->name(i), strlen(a->d->name(i)))) {
			*a->out = i;
			return 0;
		}
	}
	proto_quote(q, v->via.str.ptr, v->via.str.size);
	return proto_fail(err, p, a->d->unknown, q);
}

static int
get_named(const msgpack_object *m, const char *key, struct ppath *p, const struct named_desc *d,
          int *out, struct cradle_err *err)
{
	struct named_arg a = { d, out };

	return get_field(m, key, p, F_REQ, val_named, &a, err);
}

struct sub_arg {
	dec_fn fn;
	void *arg;
};

static int
val_sub(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	const struct sub_arg *a = arg;
	int rc;

	rc = val_map(v, p, err);
	if (!rc)
		rc = a->fn(v, p, a->arg, err);
	return rc ? rc : 1;
}

/* Run fn on the map under key, with the key on the path.  Returns <0 on
 * error, 0 when absent, 1 when decoded. */
static int
sub(const msgpack_object *m, const char *key, struct ppath *p, int flags, dec_fn fn, void *arg,
    struct cradle_err *err)
{
	struct sub_arg a = { fn, arg };

	return get_field(m, key, p, flags, val_sub, &a, err);
}

/* Find the map under key and leave the key on the path for what is decoded
 * from it.  An absent map leaves *out alone: the caller's {} stands. */
static int
enter_map(const msgpack_object *m, const char *key, struct ppath *p, const msgpack_object **out,
          struct cradle_err *err)
{
	const msgpack_object *v;
	size_t old;
	int rc;

	rc = lookup(m, key, p, 0, &v, &old, err);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		ppath_push(p, key);
		return 0;
	}
	rc = val_map(v, p, err);
	if (!rc)
		*out = v;
	return rc;
}

/* ------------------------------------------------------------------ */
/* pod config                                                         */

static int
dec_metadata(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct pod_config *c = arg;
	uint64_t attempt = 0;
	int rc;

	if ((rc = get_str(m, "name", p, 0, &c->metadata.name, err)) ||
	    (rc = get_str(m, "uid", p, 0, &c->metadata.uid, err)) ||
	    (rc = get_str(m, "namespace", p, 0, &c->metadata.namespace, err)) ||
	    (rc = get_u64(m, "attempt", p, 0, UINT32_MAX, &attempt, err)))
		return rc;
	c->metadata.attempt = (uint32_t)attempt;
	return 0;
}

static int
dec_dns(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	c->has_dns_config = true;
	if ((rc = get_strs(m, "servers", p, &c->dns_config.servers, err)) ||
	    (rc = get_strs(m, "searches", p, &c->dns_config.searches, err)) ||
	    (rc = get_strs(m, "options", p, &c->dns_config.options, err)))
		return rc;
	return 0;
}

static int
dec_idmap(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_idmap *map = arg;
	uint64_t host = 0, cont = 0, len = 0;
	int rc;

	if ((rc = val_map(m, p, err)) ||
	    (rc = get_u64(m, "host_id", p, 0, UINT32_MAX, &host, err)) ||
	    (rc = get_u64(m, "container_id", p, 0, UINT32_MAX, &cont, err)) ||
	    (rc = get_u64(m, "length", p, 0, UINT32_MAX, &len, err)))
		return rc;
	map->host_id = (uint32_t)host;
	map->container_id = (uint32_t)cont;
	map->length = (uint32_t)len;
	return 0;
}

/* [{host_id, container_id, length}, ...]; the count is a rule of
 * pod_config_validate(), the walker's limit bounds what is allocated. */
static const struct list_desc idmaps_list = {
	sizeof(struct proto_idmap), dec_idmap, 0, NULL, NULL,
};

static int
get_idmaps(const msgpack_object *m, const char *key, struct ppath *p, struct proto_idmaps *out,
           struct cradle_err *err)
{
	return get_list(m, key, p, 0, &idmaps_list, &out->v, &out->n, err);
}

static int
elem_i64(const msgpack_object *e, struct ppath *p, void *item, struct cradle_err *err)
{
	struct i64_arg a = { 0, INT64_MAX, item };

	return val_i64(e, p, &a, err);
}

/* An array of int64 >= 0 (supplemental_groups). */
static const struct list_desc i64s_list = { sizeof(int64_t), elem_i64, 0, NULL, NULL };

static int
get_i64s(const msgpack_object *m, const char *key, struct ppath *p, struct proto_i64s *out,
         struct cradle_err *err)
{
	return get_list(m, key, p, 0, &i64s_list, &out->v, &out->n, err);
}

static int
dec_userns(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	USERNS(c).present = true;
	if ((rc = get_enum(m, "mode", p, &ns_modes, &USERNS(c).mode, err)) ||
	    (rc = get_idmaps(m, "uids", p, &USERNS(c).uids, err)) ||
	    (rc = get_idmaps(m, "gids", p, &USERNS(c).gids, err)))
		return rc;
	return 0;
}

static int
dec_nsopts(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	if ((rc = get_enum(m, "network", p, &ns_modes, &NSO(c).network, err)) ||
	    (rc = get_enum(m, "pid", p, &ns_modes, &NSO(c).pid, err)) ||
	    (rc = get_enum(m, "ipc", p, &ns_modes, &NSO(c).ipc, err)) ||
	    (rc = get_str(m, "target_id", p, F_EMPTY_NULL, &NSO(c).target_id, err)) ||
	    (rc = sub(m, "userns_options", p, 0, dec_userns, c, err)) < 0)
		return rc;
	return 0;
}

static int
dec_selinux(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	if ((rc = get_str(m, "user", p, F_EMPTY_NULL, &SECCTX(c).selinux_options.user, err)) ||
	    (rc = get_str(m, "role", p, F_EMPTY_NULL, &SECCTX(c).selinux_options.role, err)) ||
	    (rc = get_str(m, "type", p, F_EMPTY_NULL, &SECCTX(c).selinux_options.type, err)) ||
	    (rc = get_str(m, "level", p, F_EMPTY_NULL, &SECCTX(c).selinux_options.level, err)))
		return rc;
	return 0;
}

static int
dec_seccomp(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	SECCTX(c).seccomp.present = true;
	if ((rc = get_enum(m, "profile_type", p, &seccomp_types, &SECCTX(c).seccomp.profile_type,
	                   err)) ||
	    (rc = get_str(m, "localhost_ref", p, F_EMPTY_NULL, &SECCTX(c).seccomp.localhost_ref,
	                  err)))
		return rc;
	return 0;
}

/* run_as_user, run_as_group: CRI's Int64Value wrapper is a plain integer
 * here; being there is what sets has_*. */
struct opt_id_arg {
	bool *has;
	int64_t *out;
};

static int
val_opt_id(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	const struct opt_id_arg *a = arg;
	struct i64_arg ia = { 0, INT64_MAX, a->out };
	int rc;

	rc = val_i64(v, p, &ia, err);
	if (!rc)
		*a->has = true;
	return rc;
}

static int
get_opt_id(const msgpack_object *m, const char *key, struct ppath *p, bool *has, int64_t *out,
           struct cradle_err *err)
{
	struct opt_id_arg a = { has, out };

	return get_field(m, key, p, 0, val_opt_id, &a, err);
}

static int
dec_secctx(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	if ((rc = sub(m, "namespace_options", p, 0, dec_nsopts, c, err)) < 0 ||
	    (rc = get_bool(m, "privileged", p, 0, &SECCTX(c).privileged, err)) ||
	    (rc = get_opt_id(m, "run_as_user", p, &SECCTX(c).has_run_as_user,
	                     &SECCTX(c).run_as_user, err)) ||
	    (rc = get_opt_id(m, "run_as_group", p, &SECCTX(c).has_run_as_group,
	                     &SECCTX(c).run_as_group, err)) ||
	    (rc = get_str(m, "run_as_username", p, F_EMPTY_NULL, &SECCTX(c).run_as_username,
	                  err)) ||
	    (rc = get_i64s(m, "supplemental_groups", p, &SECCTX(c).supplemental_groups, err)) ||
	    (rc = get_bool(m, "readonly_rootfs", p, 0, &SECCTX(c).readonly_rootfs, err)) ||
	    (rc = sub(m, "selinux_options", p, 0, dec_selinux, c, err)) < 0 ||
	    (rc = sub(m, "seccomp", p, 0, dec_seccomp, c, err)) < 0 ||
	    (rc = get_str(m, "seccomp_profile_path", p, F_EMPTY_NULL,
	                  &SECCTX(c).seccomp_profile_path, err)))
		return rc;
	return 0;
}

static int
dec_resources(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	c->linux.resources.present = true;
	if ((rc = get_i64(m, "cpu_period", p, 0, INT64_MIN, INT64_MAX,
	                  &c->linux.resources.cpu_period, err)) ||
	    (rc = get_i64(m, "cpu_quota", p, 0, INT64_MIN, INT64_MAX, &c->linux.resources.cpu_quota,
	                  err)) ||
	    (rc = get_i64(m, "cpu_shares", p, 0, INT64_MIN, INT64_MAX,
	                  &c->linux.resources.cpu_shares, err)) ||
	    (rc = get_i64(m, "memory_limit_in_bytes", p, 0, INT64_MIN, INT64_MAX,
	                  &c->linux.resources.memory_limit_in_bytes, err)))
		return rc;
	return 0;
}

static int
dec_linux(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	if ((rc = get_str(m, "cgroup_parent", p, F_EMPTY_NULL, &c->linux.cgroup_parent, err)) ||
	    (rc = get_kvs(m, "sysctls", p, &c->linux.sysctls, err)))
		return rc;
	if ((rc = sub(m, "security_context", p, 0, dec_secctx, c, err)) < 0 ||
	    (rc = sub(m, "resources", p, 0, dec_resources, c, err)) < 0)
		return rc;
	return 0;
}

static int
dec_port_mapping(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_port_mapping *pm = arg;
	int rc;

	if ((rc = val_map(m, p, err)) ||
	    (rc = get_enum(m, "protocol", p, &protocols, &pm->protocol, err)) ||
	    (rc = get_i32(m, "container_port", p, 0, &pm->container_port, err)) ||
	    (rc = get_i32(m, "host_port", p, 0, &pm->host_port, err)) ||
	    (rc = get_str(m, "host_ip", p, F_EMPTY_NULL, &pm->host_ip, err)))
		return rc;
	return 0;
}

/* [{protocol, container_port, host_port, host_ip}, ...]; the values are
 * rules of pod_config_validate(). */
static const struct list_desc port_mappings_list = {
	sizeof(struct proto_port_mapping),
	dec_port_mapping,
	PROTO_MAX_PORT_MAPPINGS,
	"port_mappings",
	NULL,
};

/* Types only; the caller runs pod_config_validate() where it wants the
 * rules (requests), and not where refusing would lose state (records). */
static int
dec_config(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	if ((rc = sub(m, "metadata", p, 0, dec_metadata, c, err)) < 0 ||
	    (rc = get_str(m, "hostname", p, F_EMPTY_NULL, &c->hostname, err)) ||
	    (rc = get_str(m, "log_directory", p, F_EMPTY_NULL, &c->log_directory, err)) ||
	    (rc = sub(m, "dns_config", p, 0, dec_dns, c, err)) < 0 ||
	    (rc = get_kvs(m, "labels", p, &c->labels, err)) ||
	    (rc = get_kvs(m, "annotations", p, &c->annotations, err)) ||
	    (rc = get_list(m, "port_mappings", p, 0, &port_mappings_list, &c->port_mappings.v,
	                   &c->port_mappings.n, err)) ||
	    (rc = sub(m, "linux", p, 0, dec_linux, c, err)) < 0)
		return rc;
	return 0;
}

/* ------------------------------------------------------------------ */
/* timings and stats                                                  */

/* arg: char[PROTO_STEP_NAME_MAX + 1] */
static int
val_step_name(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	char *buf = arg;
	char q[QUOTE_MAX];
	const char *s;
	size_t n;
	int rc;

	rc = val_text(v, p, &s, &n, err);
	if (rc)
		return rc;
	if (n == 0 || n > PROTO_STEP_NAME_MAX || proto_word_span(s, n, "._-") != n) {
		proto_quote(q, s, n);
		return proto_fail(err, p,
		                  "%s is not a step name (1 to %d letters, digits, '.', '_' "
		                  "or '-')",
		                  q, PROTO_STEP_NAME_MAX);
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

static int
dec_step_time(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_step_time *st = arg;
	uint64_t us = 0;
	int rc;

	if ((rc = val_map(m, p, err)) ||
	    (rc = get_field(m, "step", p, F_REQ, val_step_name, st->name, err)) ||
	    (rc = get_u64(m, "us", p, F_REQ, UINT32_MAX, &us, err)))
		return rc;
	st->us = (uint32_t)us;
	return 0;
}

/* An array of at most PROTO_MAX_STEPS elements decoded into the fixed
 * slots v (each size bytes) by elem; *n is set when all are decoded. */
struct fixed_arg {
	dec_fn elem;
	void *v;
	size_t size;
	size_t *n;
};

static int
val_fixed(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	const struct fixed_arg *a = arg;
	uint32_t i;
	size_t old;
	int rc;

	if (v->type != MSGPACK_OBJECT_ARRAY)
		return expect(v, p, "array", err);
	if (v->via.array.size > PROTO_MAX_STEPS)
		return proto_fail(err, p, "%u steps exceed %d", v->via.array.size, PROTO_MAX_STEPS);
	for (i = 0; i < v->via.array.size; i++) {
		old = ppath_push_index(p, i);
		rc = a->elem(&v->via.array.ptr[i], p, (char *)a->v + (size_t)i * a->size, err);
		ppath_pop(p, old);
		if (rc)
			return rc;
	}
	*a->n = v->via.array.size;
	return 0;
}

/* {"start": [{"step", "us"}...], "stop": [...]} */
static int
val_timings(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_timings **out = arg;
	int op, rc;

	rc = val_map(v, p, err);
	if (rc)
		return rc;
	if (!(*out = calloc(1, sizeof(**out))))
		return cradle_err_nomem(err);
	for (op = 0; op < PROTO_TIMED_OPS; op++) {
		struct fixed_arg a = { dec_step_time, (*out)->v[op], sizeof((*out)->v[op][0]),
			               &(*out)->n[op] };
		rc = get_field(v, proto_timed_name(op), p, 0, val_fixed, &a, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* arg: uint64_t[PROTO_STATS_BUCKETS], zeroed; fewer may be sent */
static int
val_buckets(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	uint64_t *b = arg;
	uint32_t i;
	size_t old;
	int rc;

	if (v->type != MSGPACK_OBJECT_ARRAY)
		return expect(v, p, "array", err);
	if (v->via.array.size > PROTO_STATS_BUCKETS)
		return proto_fail(err, p, "%u buckets exceed %d", v->via.array.size,
		                  PROTO_STATS_BUCKETS);
	for (i = 0; i < v->via.array.size; i++) {
		struct u64_arg a = { UINT64_MAX, &b[i] };
		old = ppath_push_index(p, i);
		rc = val_u64(&v->via.array.ptr[i], p, &a, err);
		ppath_pop(p, old);
		if (rc)
			return rc;
	}
	return 0;
}

/* One histogram; a step's has its name ("step"), the total none. */
static int
dec_hist(const msgpack_object *m, struct ppath *p, struct proto_histogram *h, bool step,
         struct cradle_err *err)
{
	uint64_t sum = 0;
	size_t i, old;
	int rc;

	if ((rc = val_map(m, p, err)) ||
	    (step && (rc = get_field(m, "step", p, F_REQ, val_step_name, h->step, err))) ||
	    (rc = get_u64(m, "count", p, F_REQ, UINT64_MAX, &h->count, err)) ||
	    (rc = get_u64(m, "sum_ns", p, 0, UINT64_MAX, &h->sum_ns, err)) ||
	    (rc = get_u64(m, "p50_ns", p, 0, UINT64_MAX, &h->p50_ns, err)) ||
	    (rc = get_u64(m, "p99_ns", p, 0, UINT64_MAX, &h->p99_ns, err)) ||
	    (rc = get_field(m, "buckets", p, 0, val_buckets, h->buckets, err)) < 0)
		return rc;
	for (i = 0; i < PROTO_STATS_BUCKETS; i++) {
		if (__builtin_add_overflow(sum, h->buckets[i], &sum))
			break;
	}
	if (i < PROTO_STATS_BUCKETS || sum != h->count) {
		old = ppath_push(p, "count");
		rc = i < PROTO_STATS_BUCKETS
		             ? proto_fail(err, p, "the buckets add up to more than 2^64")
		             : proto_fail(err, p,
		                          "%" PRIu64
		                          " differs from the sum of the buckets (%" PRIu64 ")",
		                          h->count, sum);
		ppath_pop(p, old);
		return rc;
	}
	return 0;
}

static int
dec_total(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	return dec_hist(m, p, arg, false, err);
}

static int
dec_step_hist(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	return dec_hist(m, p, arg, true, err);
}

/* {"INTERNAL": n, ...}: codes by name; names this side does not know are
 * skipped (a newer daemon's codes). arg: uint64_t[CRADLE_CODE_MAX + 1] */
static int
dec_errors(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	uint64_t *errors = arg;
	const msgpack_object_kv *kv;
	uint32_t i;
	size_t old;
	int c, rc;

	rc = check_dup_keys(m, p, err);
	if (rc)
		return rc;
	for (i = 0; i < m->via.map.size; i++) {
		kv = &m->via.map.ptr[i];
		for (c = 1; c <= CRADLE_CODE_MAX; c++) {
			const char *name = cradle_code_name(c);
			if (!key_is(&kv->key, name, strlen(name)))
				continue;
			struct u64_arg a = { UINT64_MAX, &errors[c] };
			old = ppath_push(p, name);
			rc = val_u64(&kv->val, p, &a, err);
			ppath_pop(p, old);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int
dec_op_stats(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_op_stats *o = arg;
	struct fixed_arg a = { dec_step_hist, o->steps, sizeof(o->steps[0]), &o->n_steps };
	int rc;

	if ((rc = sub(m, "total", p, F_REQ, dec_total, &o->total, err)) < 0 ||
	    (rc = sub(m, "errors", p, 0, dec_errors, o->errors, err)) < 0 ||
	    (rc = get_field(m, "steps", p, 0, val_fixed, &a, err)) < 0)
		return rc;
	return 0;
}

static int
dec_phase_counts(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	uint64_t *counts = arg;
	int i, rc;

	for (i = 0; i < PROTO_N_PHASES; i++) {
		rc = get_u64(m, proto_phase_name(i), p, 0, UINT64_MAX, &counts[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

static int
dec_stats(const msgpack_object *m, struct ppath *p, struct proto_stats *st, struct cradle_err *err)
{
	int op, rc;

	if ((rc = get_u64(m, "queue_depth", p, 0, UINT64_MAX, &st->queue_depth, err)) ||
	    (rc = get_u64(m, "quarantined", p, 0, UINT64_MAX, &st->quarantined, err)) ||
	    (rc = sub(m, "sandboxes", p, 0, dec_phase_counts, st->sandboxes, err)) < 0)
		return rc;
	for (op = 0; op < PROTO_TIMED_OPS; op++) {
		rc = sub(m, proto_timed_name(op), p, F_REQ, dec_op_stats, &st->op[op], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* sandbox                                                            */

static int
dec_sandbox(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_sandbox *s = arg;
	uint64_t pst = 0;
	size_t i;
	int rc;

	rc = val_map(m, p, err);
	if (rc)
		return rc;
	if ((rc = get_id(m, "id", p, F_REQ, s->id, err)) ||
	    (rc = sub(m, "config", p, F_REQ, dec_config, &s->config, err)) < 0 ||
	    (rc = get_str(m, "runtime_handler", p, F_EMPTY_NULL, &s->runtime_handler, err)) ||
	    (rc = get_named(m, "phase", p, &phases, &s->phase, err)) ||
	    (rc = get_i64(m, "created_at", p, 0, INT64_MIN, INT64_MAX, &s->created_at, err)) ||
	    (rc = get_i64(m, "started_at", p, 0, INT64_MIN, INT64_MAX, &s->started_at, err)) ||
	    (rc = get_i32(m, "pid", p, 0, &s->pid, err)) ||
	    (rc = get_u64(m, "pid_start_time", p, 0, UINT64_MAX, &pst, err)) ||
	    (rc = get_i32(m, "exit_status", p, 0, &s->exit_status, err)) ||
	    (rc = get_i64(m, "exited_at", p, 0, INT64_MIN, INT64_MAX, &s->exited_at, err)))
		return rc;
	for (i = 0; i < PROTO_SANDBOX_STRS; i++) {
		rc = get_str(m, proto_sandbox_strs[i].key, p, F_EMPTY_NULL,
		             &PROTO_STR_AT(s, proto_sandbox_strs[i].off), err);
		if (rc)
			return rc;
	}
	rc = get_field(m, "timings", p, 0, val_timings, &s->timings, err);
	if (rc < 0)
		return rc;
	if ((rc = get_strs(m, "pod_ips", p, &s->pod_ips, err)))
		return rc;
	if (s->pod_ips.n > PROTO_MAX_POD_IPS)
		return proto_fail(err, p, "pod_ips: %zu addresses exceed %d", s->pod_ips.n,
		                  PROTO_MAX_POD_IPS);
	for (i = 0; i < s->pod_ips.n; i++)
		if (!proto_valid_ip(s->pod_ips.v[i]))
			return proto_fail(err, p, "pod_ips[%zu]: not an IP address", i);
	/* absent in records from before they were kept: empty */
	if ((rc = get_kvs(m, "spec_annotations", p, &s->spec_annotations, err)) ||
	    (rc = get_kvs(m, "spec_labels", p, &s->spec_labels, err)))
		return rc;
	s->pid_start_time = pst;
	return 0;
}

/* ------------------------------------------------------------------ */
/* image                                                              */

/* Types and sizes only: refs in replies are the daemon's, not re-judged. */
static int
dec_image(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_image *img = arg;
	size_t old;
	int rc;

	rc = val_map(m, p, err);
	if (rc)
		return rc;
	if ((rc = get_str(m, "ref", p, F_REQ, &img->ref, err)))
		return rc;
	if (!img->ref[0]) {
		old = ppath_push(p, "ref");
		rc = proto_fail(err, p, "must not be empty");
		ppath_pop(p, old);
		return rc;
	}
	if ((rc = get_strbuf(m, "manifest_digest", p, 0, img->manifest_digest,
	                     sizeof(img->manifest_digest), err)) ||
	    (rc = get_strbuf(m, "config_digest", p, 0, img->config_digest,
	                     sizeof(img->config_digest), err)) ||
	    (rc = get_strs(m, "layers", p, &img->layers, err)) ||
	    (rc = get_i64(m, "size", p, 0, 0, INT64_MAX, &img->size, err)) ||
	    (rc = get_kvs(m, "labels", p, &img->labels, err)) ||
	    (rc = get_bool(m, "pinned", p, 0, &img->pinned, err)) ||
	    (rc = get_i64(m, "created_at", p, 0, INT64_MIN, INT64_MAX, &img->created_at, err)) ||
	    (rc = get_bool(m, "in_use", p, 0, &img->in_use, err)))
		return rc;
	return 0;
}

/* ------------------------------------------------------------------ */
/* envelope                                                           */

static int
unpack(const void *buf, size_t len, msgpack_unpacked *up, struct cradle_err *err)
{
	msgpack_unpack_return rc;
	size_t off = 0;

	msgpack_unpacked_init(up);
	rc = msgpack_unpack_next(up, buf, len, &off);
	if (rc == MSGPACK_UNPACK_SUCCESS && off == len && up->data.type == MSGPACK_OBJECT_MAP)
		return 0;
	msgpack_unpacked_destroy(up);
	if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
		return cradle_err_nomem(err);
	/* the walker accepted it, so msgpack-c and it disagree */
	return proto_fail(err, NULL, "malformed msgpack (unpack returned %d)", (int)rc);
}

static int
check_version(const msgpack_object *m, struct ppath *p, struct cradle_err *err)
{
	uint64_t v = 0;
	int rc;

	rc = get_u64(m, "v", p, F_REQ, UINT64_MAX, &v, err);
	if (rc)
		return rc;
	if (v != PROTO_VERSION)
		return proto_fail(err, NULL, "unsupported protocol version %" PRIu64, v);
	return 0;
}

/* Handler names select configuration and may name files: keep them plain. */
static int
check_handler(const char *h, struct ppath *p, struct cradle_err *err)
{
	size_t old, n;
	char q[QUOTE_MAX];
	int rc = 0;

	if (!h)
		return 0;
	n = strlen(h);
	if (proto_word_span(h, n, "_-.") < n || n > PROTO_MAX_NAME || strcmp(h, ".") == 0 ||
	    strcmp(h, "..") == 0) {
		old = ppath_push(p, "runtime_handler");
		proto_quote(q, h, n);
		rc = proto_fail(err, p,
		                "%s is not a valid runtime handler name (up to %d "
		                "letters, digits, '.', '_' or '-')",
		                q, PROTO_MAX_NAME);
		ppath_pop(p, old);
	}
	return rc;
}

/* An image reference under key (already decoded into ref, NULL when
 * absent): 1..PROTO_MAX_REF bytes of docker's reference characters. */
static int
check_ref(const char *ref, struct ppath *p, const char *key, struct cradle_err *err)
{
	char q[QUOTE_MAX];
	size_t old, n;
	int rc = 0;

	if (!ref)
		return 0;
	n = strlen(ref);
	old = ppath_push(p, key);
	if (n == 0)
		rc = proto_fail(err, p, "must not be empty");
	else if (n > PROTO_MAX_REF)
		rc = proto_fail(err, p, "%zu bytes exceeds %d", n, PROTO_MAX_REF);
	else if (!proto_valid_image_ref(ref)) {
		proto_quote(q, ref, n);
		rc = proto_fail(err, p,
		                "%s is not a valid image reference (only letters, "
		                "digits, '.', '_', ':', '/', '@' and '-')",
		                q);
	}
	ppath_pop(p, old);
	return rc;
}

/* image.pull's credentials (already decoded, NULL when absent): at most
 * PROTO_MAX_AUTH bytes of base64 whose content proto_auth_decode accepts.
 * The message never shows the value: it is a secret. */
static int
check_auth(const char *auth, struct ppath *p, struct cradle_err *err)
{
	char user[PROTO_AUTH_USER_MAX + 1], pass[PROTO_AUTH_PASS_MAX + 1];
	struct cradle_err e;
	size_t old;
	int rc;

	if (!auth)
		return 0;
	memset(&e, 0, sizeof(e));
	rc = proto_auth_decode(auth, user, pass, &e);
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(user, sizeof(user));
	if (!rc)
		return 0;
	old = ppath_push(p, "auth");
	/* e's text starts with "auth: " */
	rc = proto_fail(err, p, "%s", strncmp(e.msg, "auth: ", 6) ? e.msg : e.msg + 6);
	ppath_pop(p, old);
	return rc;
}

/* image.import's path: absolute, at most PROTO_MAX_IMPORT_PATH bytes (the NUL
 * and UTF-8 checks are the decoder's). */
static int
check_import_path(const char *path, struct ppath *p, struct cradle_err *err)
{
	size_t old, n = path ? strlen(path) : 0;
	int rc = 0;

	old = ppath_push(p, "path");
	if (n == 0 || path[0] != '/')
		rc = proto_fail(err, p, "must be an absolute path");
	else if (n > PROTO_MAX_IMPORT_PATH)
		rc = proto_fail(err, p, "path of %zu bytes exceeds %d", n, PROTO_MAX_IMPORT_PATH);
	ppath_pop(p, old);
	return rc;
}

static int
dec_request(const msgpack_object *top, struct ppath *p, void *arg, struct cradle_err *err)
{
	const msgpack_object *args = &empty_map;
	struct proto_request *req = arg;
	size_t old;
	int rc;

	rc = check_version(top, p, err);
	if (rc)
		return rc;
	rc = get_named(top, "op", p, &ops, &req->op, err);
	if (rc)
		return rc;
	rc = enter_map(top, "args", p, &args, err);
	if (rc)
		return rc;

	switch (req->op) {
	case OP_VERSION:
		return 0;
	case OP_CREATE:
	case OP_RUN:
		rc = sub(args, "config", p, F_REQ, dec_config, &req->config, err);
		if (rc < 0)
			return rc;
		rc = pod_config_validate(&req->config, "args.config", err);
		if (rc)
			return rc;
		rc = get_str(args, "runtime_handler", p, F_EMPTY_NULL, &req->runtime_handler, err);
		return rc ? rc : check_handler(req->runtime_handler, p, err);
	case OP_START:
	case OP_REMOVE:
		return get_id(args, "id", p, F_REQ, req->id, err);
	case OP_STATUS:
		rc = get_id(args, "id", p, F_REQ, req->id, err);
		return rc ? rc : get_bool(args, "verbose", p, 0, &req->verbose, err);
	case OP_STOP:
		rc = get_id(args, "id", p, F_REQ, req->id, err);
		return rc ? rc
		          : get_i64(args, "timeout_ms", p, 0, 0, STOP_TIMEOUT_MAX, &req->timeout_ms,
		                    err);
	case OP_LIST:
		rc = get_enum(args, "state", p, &states, &req->state_filter, err);
		if (rc)
			return rc;
		rc = get_kvs(args, "labels", p, &req->label_filter, err);
		if (rc)
			return rc;
		old = ppath_push(p, "labels");
		rc = proto_check_count(req->label_filter.n, PROTO_MAX_KV, p, err);
		ppath_pop(p, old);
		return rc ? rc : get_id(args, "after", p, 0, req->after, err);
	case OP_IMAGE_PULL:
	case OP_IMAGE_STATUS:
	case OP_IMAGE_REMOVE:
		rc = get_str(args, "ref", p, F_REQ, &req->ref, err);
		if (!rc)
			rc = check_ref(req->ref, p, "ref", err);
		if (!rc && req->op == OP_IMAGE_PULL)
			rc = get_str(args, "auth", p, F_EMPTY_NULL, &req->auth, err);
		return rc ? rc : check_auth(req->auth, p, err);
	case OP_IMAGE_IMPORT:
		rc = get_str(args, "path", p, F_REQ, &req->path, err);
		if (!rc)
			rc = check_import_path(req->path, p, err);
		if (!rc)
			rc = get_str(args, "name", p, F_EMPTY_NULL, &req->ref, err);
		return rc ? rc : check_ref(req->ref, p, "name", err);
	case OP_IMAGE_LIST:
	case OP_DAEMON_STATS:
	case OP_DAEMON_INFO:
		return 0;
	case OP_EVENTS_SINCE:
		return get_u64(args, "seq", p, 0, UINT64_MAX, &req->since, err);
	}
	return 0;
}

/* Copy a peer's error message into dst, replacing what is not UTF-8 (and
 * NUL) with '?', so a reply can always be encoded and always be read. */
static void
clean_message(char *dst, size_t size, const char *src, size_t len)
{
	size_t i = 0, o = 0, n;
	unsigned char c;

	while (i < len && o + 1 < size) {
		c = (unsigned char)src[i];
		n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		if (c == 0 || n > len - i || !proto_valid_utf8(src + i, n)) {
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + n >= size)
			break;
		memcpy(dst + o, src + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
}

/* An error as it goes on the wire: never code OK (ok:false with OK would
 * read as success to a careless caller), never an empty message (the
 * code's name stands in).  The encoder and the decoder both apply it. */
static void
wire_error(struct cradle_err *e)
{
	if (e->code == CRADLE_OK)
		e->code = CRADLE_INTERNAL;
	if (!e->msg[0])
		snprintf(e->msg, sizeof(e->msg), "%s", cradle_code_name(e->code));
}

static int
val_message(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_reply *rep = arg;

	if (v->type != MSGPACK_OBJECT_STR)
		return expect(v, p, "string", err);
	clean_message(rep->err.msg, sizeof(rep->err.msg), v->via.str.ptr, v->via.str.size);
	return 0;
}

static int
dec_error(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_reply *rep = arg;
	int64_t code = CRADLE_INTERNAL;
	int rc;

	rc = get_i64(m, "code", p, F_REQ, INT32_MIN, INT32_MAX, &code, err);
	if (rc)
		return rc;
	rep->err.code = (int)code;
	rep->err.msg[0] = '\0';
	rc = get_field(m, "message", p, 0, val_message, rep, err);
	if (rc)
		return rc;
	wire_error(&rep->err);
	return 0;
}

static int dec_event(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err);

static const struct list_desc events_list = {
	sizeof(struct proto_event), dec_event, PROTO_MAX_EVENTS_PAGE, "events", "event",
};

static int
elem_sandbox(const msgpack_object *e, struct ppath *p, void *item, struct cradle_err *err)
{
	struct proto_sandbox *s = item;

	pod_config_init(&s->config);
	return dec_sandbox(e, p, s, err);
}

/* The results of replies: all of them in a list (sandbox.list, image.list)
 * or the one of a status (sandbox.status, the other image ops). */
static const struct list_desc sandboxes_list = {
	sizeof(struct proto_sandbox), elem_sandbox, PROTO_MAX_LIST_REPLY, "sandboxes", "sandbox",
};

static const struct list_desc images_list = {
	sizeof(struct proto_image), dec_image, PROTO_MAX_LIST_REPLY, "images", "image",
};

/* The ops whose replies list all their results; the others with results
 * (the status ops) have one. */
static bool
lists_all(int op)
{
	return op == OP_LIST || op == OP_IMAGE_LIST;
}

static int
get_results(const msgpack_object *res, struct ppath *p, bool all, const struct list_desc *d,
            void *vec, size_t *n, struct cradle_err *err)
{
	return get_list(res, all ? d->noun : d->one, p, all ? F_REQ : F_REQ | F_ONE, d, vec, n,
	                err);
}

/* --- daemon.info ---------------------------------------------------- */

/* key's value must not be empty ("<path>.<key>: must not be empty"). */
static int
not_empty(const char *s, const char *key, struct ppath *p, struct cradle_err *err)
{
	size_t old;
	int rc;

	if (s != NULL && s[0] != '\0')
		return 0;
	old = ppath_push(p, key);
	rc = proto_fail(err, p, "must not be empty");
	ppath_pop(p, old);
	return rc;
}

static int
dec_condition(const msgpack_object *m, struct ppath *p, struct proto_condition *c,
              struct cradle_err *err)
{
	int rc;

	if ((rc = val_map(m, p, err)) ||
	    (rc = get_strbuf(m, "type", p, F_REQ, c->type, sizeof(c->type), err)) ||
	    (rc = get_bool(m, "status", p, F_REQ, &c->status, err)) ||
	    (rc = get_strbuf(m, "reason", p, 0, c->reason, sizeof(c->reason), err)) ||
	    (rc = get_strbuf(m, "message", p, 0, c->message, sizeof(c->message), err)))
		return rc;
	return not_empty(c->type, "type", p, err);
}

/* arg: struct proto_info; its fixed array of conditions */
static int
val_conditions(const msgpack_object *v, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_info *info = arg;
	size_t old;
	int rc = 0;

	if (v->type != MSGPACK_OBJECT_ARRAY)
		return expect(v, p, "array", err);
	if (v->via.array.size > PROTO_MAX_CONDITIONS)
		return proto_fail(err, p, "%u conditions exceed %d", v->via.array.size,
		                  PROTO_MAX_CONDITIONS);
	for (uint32_t i = 0; i < v->via.array.size && !rc; i++) {
		old = ppath_push_index(p, i);
		rc = dec_condition(&v->via.array.ptr[i], p, &info->conditions[i], err);
		ppath_pop(p, old);
		info->n_conditions = i + 1;
	}
	return rc;
}

static int
dec_node_info(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_node_info *n = arg;
	int rc;

	if ((rc = get_strbuf(m, "cgroup_layout", p, F_REQ, n->cgroup_layout,
	                     sizeof(n->cgroup_layout), err)) ||
	    (rc = get_str(m, "cgroups", p, F_EMPTY_NULL, &n->cgroups, err)) ||
	    (rc = get_strbuf(m, "device_control", p, 0, n->device_control,
	                     sizeof(n->device_control), err)) ||
	    (rc = get_bool(m, "selinux_enabled", p, 0, &n->selinux_enabled, err)) ||
	    (rc = get_bool(m, "selinux_applied", p, 0, &n->selinux_applied, err)) ||
	    (rc = get_bool(m, "seccomp_available", p, 0, &n->seccomp_available, err)) ||
	    (rc = get_bool(m, "restrict_oom_score_adj", p, 0, &n->restrict_oom_score_adj, err)) ||
	    (rc = get_i32(m, "oom_score_adj", p, 0, &n->oom_score_adj, err)) ||
	    (rc = get_bool(m, "in_user_namespace", p, 0, &n->in_user_namespace, err)) ||
	    (rc = get_strbuf(m, "kernel", p, 0, n->kernel, sizeof(n->kernel), err)))
		return rc;
	return 0;
}

static int
elem_section(const msgpack_object *e, struct ppath *p, void *item, struct cradle_err *err)
{
	struct proto_config_section *s = item;
	int rc;

	if ((rc = val_map(e, p, err)) || (rc = get_str(e, "name", p, F_REQ, &s->name, err)) ||
	    (rc = not_empty(s->name, "name", p, err)))
		return rc;
	return get_kvs(e, "keys", p, &s->keys, err);
}

static const struct list_desc sections_list = {
	sizeof(struct proto_config_section),
	elem_section,
	PROTO_MAX_CONFIG_SECTIONS,
	"sections",
	NULL,
};

static int
dec_info(const msgpack_object *res, struct ppath *p, struct proto_info *info,
         struct cradle_err *err)
{
	uint64_t api = 0;
	int rc;

	if ((rc = get_strbuf(res, "version", p, F_REQ, info->version.version,
	                     sizeof(info->version.version), err)) ||
	    (rc = get_u64(res, "api_version", p, F_REQ, UINT32_MAX, &api, err)) ||
	    (rc = get_i32(res, "pid", p, 0, &info->version.pid, err)) ||
	    (rc = get_field(res, "conditions", p, F_REQ, val_conditions, info, err)) < 0)
		return rc;
	info->version.api_version = (uint32_t)api;
	if ((rc = sub(res, "node", p, F_REQ, dec_node_info, &info->node, err)) < 0)
		return rc;
	return get_list(res, "config", p, F_REQ, &sections_list, &info->sections, &info->n_sections,
	                err);
}

static int
dec_reply(const msgpack_object *top, struct ppath *p, void *arg, struct cradle_err *err)
{
	const msgpack_object *res = &empty_map;
	struct proto_reply *rep = arg;
	uint64_t api = 0;
	int rc;

	rc = check_version(top, p, err);
	if (rc)
		return rc;
	rc = get_bool(top, "ok", p, F_REQ, &rep->ok, err);
	if (rc)
		return rc;
	if (!rep->ok) {
		rc = sub(top, "error", p, F_REQ, dec_error, rep, err);
		return rc < 0 ? rc : 0;
	}
	/* an absent result reads as {}: stop and remove need nothing more */
	rc = enter_map(top, "result", p, &res, err);
	if (rc)
		return rc;
	switch (rep->op) {
	case OP_VERSION:
		rc = get_strbuf(res, "version", p, F_REQ, rep->version.version,
		                sizeof(rep->version.version), err);
		if (!rc)
			rc = get_u64(res, "api_version", p, F_REQ, UINT32_MAX, &api, err);
		rep->version.api_version = (uint32_t)api;
		if (!rc)
			rc = get_i32(res, "pid", p, 0, &rep->version.pid, err);
		return rc;
	case OP_CREATE:
	case OP_START:
	case OP_RUN:
		/* create's reply has no pid (it stays 0) */
		if ((rc = get_id(res, "id", p, F_REQ, rep->id, err)) ||
		    (rep->op != OP_CREATE && (rc = get_i32(res, "pid", p, 0, &rep->pid, err))) ||
		    (rc = get_i64(res, "created_at", p, 0, INT64_MIN, INT64_MAX, &rep->created_at,
		                  err)))
			return rc;
		return 0;
	case OP_STATUS:
	case OP_LIST:
		rc = get_results(res, p, lists_all(rep->op), &sandboxes_list, &rep->sandboxes,
		                 &rep->n_sandboxes, err);
		if (rc || rep->op != OP_LIST)
			return rc;
		return get_bool(res, "more", p, 0, &rep->more, err);
	case OP_IMAGE_PULL:
	case OP_IMAGE_STATUS:
	case OP_IMAGE_IMPORT:
	case OP_IMAGE_LIST:
		return get_results(res, p, lists_all(rep->op), &images_list, &rep->images,
		                   &rep->n_images, err);
	case OP_DAEMON_STATS:
		if (!(rep->stats = calloc(1, sizeof(*rep->stats))))
			return cradle_err_nomem(err);
		return dec_stats(res, p, rep->stats, err);
	case OP_DAEMON_INFO:
		if (!(rep->info = calloc(1, sizeof(*rep->info))))
			return cradle_err_nomem(err);
		return dec_info(res, p, rep->info, err);
	case OP_EVENTS_SINCE:
		if ((rc = get_list(res, "events", p, F_REQ, &events_list, &rep->events,
		                   &rep->n_events, err)) ||
		    (rc = get_u64(res, "oldest", p, F_REQ, UINT64_MAX, &rep->oldest_seq, err)) ||
		    (rc = get_u64(res, "last", p, F_REQ, UINT64_MAX, &rep->last_seq, err)) ||
		    (rc = get_bool(res, "more", p, 0, &rep->more, err)))
			return rc;
		for (size_t i = 1; i < rep->n_events; i++)
			if (rep->events[i].seq <= rep->events[i - 1].seq)
				return proto_fail(err, p,
				                  "events[%zu]: seq %" PRIu64
				                  " does not follow %" PRIu64,
				                  i, rep->events[i].seq, rep->events[i - 1].seq);
		return 0;
	default:
		return 0;
	}
}

static int
dec_event(const msgpack_object *m, struct ppath *p, void *arg, struct cradle_err *err)
{
	struct proto_event *ev = arg;
	int rc;

	if ((rc = get_u64(m, "seq", p, F_REQ, UINT64_MAX, &ev->seq, err)) ||
	    (rc = get_strbuf(m, "type", p, F_REQ, ev->type, sizeof(ev->type), err)) ||
	    (rc = get_id(m, "id", p, 0, ev->id, err)) ||
	    (rc = get_i32(m, "pid", p, 0, &ev->pid, err)) ||
	    (rc = get_i32(m, "exit_status", p, 0, &ev->exit_status, err)) ||
	    (rc = get_i64(m, "exited_at", p, 0, INT64_MIN, INT64_MAX, &ev->exited_at, err)) ||
	    (rc = get_strbuf(m, "ref", p, 0, ev->ref, sizeof(ev->ref), err)) ||
	    (rc = get_u64(m, "done", p, 0, UINT64_MAX, &ev->done, err)) ||
	    (rc = get_i64(m, "total", p, 0, INT64_MIN, INT64_MAX, &ev->total, err)))
		return rc;
	return 0;
}

/* ------------------------------------------------------------------ */
/* encoding                                                           */

/* Packers return 0 or -1 (the sbuffer could not grow). */
#define TRY(x)                     \
	do {                       \
		if ((x) != 0)      \
			return -1; \
	} while (0)

/* Packs the object at obj: a whole message, or one element of an array. */
typedef int (*pk_fn)(msgpack_packer *pk, const void *obj);

static int
pk_strn(msgpack_packer *pk, const char *s, size_t n)
{
	TRY(msgpack_pack_str(pk, n));
	return msgpack_pack_str_body(pk, s, n);
}

static int
pk_str(msgpack_packer *pk, const char *s)
{
	return pk_strn(pk, s ? s : "", s ? strlen(s) : 0);
}

static int
pk_boolean(msgpack_packer *pk, bool val)
{
	return val ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

/* pk_k<type>(pk, key, val): a map entry, the key and then the value. */
#define PK_KEYED(name, type, pack)                                     \
	static int name(msgpack_packer *pk, const char *key, type val) \
	{                                                              \
		TRY(pk_str(pk, key));                                  \
		return pack(pk, val);                                  \
	}

PK_KEYED(pk_kstr, const char *, pk_str)
PK_KEYED(pk_ki64, int64_t, msgpack_pack_int64)
PK_KEYED(pk_ku64, uint64_t, msgpack_pack_uint64)
PK_KEYED(pk_kbool, bool, pk_boolean)

static bool
nonempty(const char *s)
{
	return s && s[0];
}

/* An optional string: the entry only when it is set (the map's count
 * says so with nonempty() too). */
static int
pk_kopt(msgpack_packer *pk, const char *key, const char *val)
{
	return nonempty(val) ? pk_kstr(pk, key, val) : 0;
}

/* A string held in a fixed buffer of size bytes (NUL included), which may
 * fill it up to the last byte. */
static int
pk_kbuf(msgpack_packer *pk, const char *key, const char *buf, size_t size)
{
	TRY(pk_str(pk, key));
	return pk_strn(pk, buf, strnlen(buf, size - 1));
}

static int
pk_kvs(msgpack_packer *pk, const char *key, const struct proto_kvs *kvs)
{
	size_t i;

	TRY(pk_str(pk, key));
	TRY(msgpack_pack_map(pk, kvs->n));
	for (i = 0; i < kvs->n; i++)
		TRY(pk_kstr(pk, kvs->v[i].key, kvs->v[i].value));
	return 0;
}

/* key: [the n elements of the vector v, each packed by elem] */
static int
pk_array(msgpack_packer *pk, const char *key, const void *v, size_t n, size_t size, pk_fn elem)
{
	size_t i;

	TRY(pk_str(pk, key));
	TRY(msgpack_pack_array(pk, n));
	for (i = 0; i < n; i++)
		TRY(elem(pk, (const char *)v + i * size));
	return 0;
}

#define PK_ARRAY(pk, key, v, n, elem) pk_array(pk, key, v, n, sizeof(*(v)), elem)

static int
pke_str(msgpack_packer *pk, const void *item)
{
	return pk_str(pk, *(const char *const *)item);
}

static int
pke_i64(msgpack_packer *pk, const void *item)
{
	return msgpack_pack_int64(pk, *(const int64_t *)item);
}

static int
pke_idmap(msgpack_packer *pk, const void *item)
{
	const struct proto_idmap *map = item;

	TRY(msgpack_pack_map(pk, 3));
	TRY(pk_ku64(pk, "host_id", map->host_id));
	TRY(pk_ku64(pk, "container_id", map->container_id));
	return pk_ku64(pk, "length", map->length);
}

static int
pke_port_mapping(msgpack_packer *pk, const void *item)
{
	const struct proto_port_mapping *pm = item;

	TRY(msgpack_pack_map(pk, 3 + nonempty(pm->host_ip)));
	TRY(pk_ki64(pk, "protocol", pm->protocol));
	TRY(pk_ki64(pk, "container_port", pm->container_port));
	TRY(pk_ki64(pk, "host_port", pm->host_port));
	return pk_kopt(pk, "host_ip", pm->host_ip);
}

static int
pk_strs(msgpack_packer *pk, const char *key, const struct proto_strs *l)
{
	return PK_ARRAY(pk, key, l->v, l->n, pke_str);
}

/* What makes an optional map worth writing: given, or anything set in it. */
static bool
has_userns(const struct pod_config *c)
{
	return USERNS(c).present || USERNS(c).mode || USERNS(c).uids.n || USERNS(c).gids.n;
}

/* How many selinux_options are set: the map is written when any is. */
static int
n_selinux(const struct pod_config *c)
{
	return nonempty(SECCTX(c).selinux_options.user) + nonempty(SECCTX(c).selinux_options.role) +
	       nonempty(SECCTX(c).selinux_options.type) + nonempty(SECCTX(c).selinux_options.level);
}

static bool
has_seccomp(const struct pod_config *c)
{
	return SECCTX(c).seccomp.present || SECCTX(c).seccomp.profile_type ||
	       nonempty(SECCTX(c).seccomp.localhost_ref);
}

static bool
has_resources(const struct pod_config *c)
{
	return c->linux.resources.present || c->linux.resources.cpu_period ||
	       c->linux.resources.cpu_quota || c->linux.resources.cpu_shares ||
	       c->linux.resources.memory_limit_in_bytes;
}

static int
pk_nsopts(msgpack_packer *pk, const struct pod_config *c)
{
	const char *tid = NSO(c).target_id;
	bool userns = has_userns(c);

	TRY(pk_str(pk, "namespace_options"));
	TRY(msgpack_pack_map(pk, 3 + nonempty(tid) + userns));
	TRY(pk_ki64(pk, "network", NSO(c).network));
	TRY(pk_ki64(pk, "pid", NSO(c).pid));
	TRY(pk_ki64(pk, "ipc", NSO(c).ipc));
	TRY(pk_kopt(pk, "target_id", tid));
	if (userns) {
		TRY(pk_str(pk, "userns_options"));
		TRY(msgpack_pack_map(pk, 1 + (USERNS(c).uids.n > 0) + (USERNS(c).gids.n > 0)));
		TRY(pk_ki64(pk, "mode", USERNS(c).mode));
		if (USERNS(c).uids.n)
			TRY(PK_ARRAY(pk, "uids", USERNS(c).uids.v, USERNS(c).uids.n, pke_idmap));
		if (USERNS(c).gids.n)
			TRY(PK_ARRAY(pk, "gids", USERNS(c).gids.v, USERNS(c).gids.n, pke_idmap));
	}
	return 0;
}

static int
pk_secctx(msgpack_packer *pk, const struct pod_config *c)
{
	const struct proto_i64s *groups = &SECCTX(c).supplemental_groups;
	int se = n_selinux(c);
	bool sc = has_seccomp(c);

	TRY(pk_str(pk, "security_context"));
	TRY(msgpack_pack_map(pk, 2 + SECCTX(c).has_run_as_user + SECCTX(c).has_run_as_group +
	                                 nonempty(SECCTX(c).run_as_username) + (groups->n > 0) +
	                                 SECCTX(c).readonly_rootfs + (se > 0) + sc +
	                                 nonempty(SECCTX(c).seccomp_profile_path)));
	TRY(pk_nsopts(pk, c));
	TRY(pk_kbool(pk, "privileged", SECCTX(c).privileged));
	if (SECCTX(c).has_run_as_user)
		TRY(pk_ki64(pk, "run_as_user", SECCTX(c).run_as_user));
	if (SECCTX(c).has_run_as_group)
		TRY(pk_ki64(pk, "run_as_group", SECCTX(c).run_as_group));
	TRY(pk_kopt(pk, "run_as_username", SECCTX(c).run_as_username));
	if (groups->n)
		TRY(PK_ARRAY(pk, "supplemental_groups", groups->v, groups->n, pke_i64));
	if (SECCTX(c).readonly_rootfs)
		TRY(pk_kbool(pk, "readonly_rootfs", true));
	if (se) {
		TRY(pk_str(pk, "selinux_options"));
		TRY(msgpack_pack_map(pk, se));
		TRY(pk_kopt(pk, "user", SECCTX(c).selinux_options.user));
		TRY(pk_kopt(pk, "role", SECCTX(c).selinux_options.role));
		TRY(pk_kopt(pk, "type", SECCTX(c).selinux_options.type));
		TRY(pk_kopt(pk, "level", SECCTX(c).selinux_options.level));
	}
	if (sc) {
		TRY(pk_str(pk, "seccomp"));
		TRY(msgpack_pack_map(pk, 1 + nonempty(SECCTX(c).seccomp.localhost_ref)));
		TRY(pk_ki64(pk, "profile_type", SECCTX(c).seccomp.profile_type));
		TRY(pk_kopt(pk, "localhost_ref", SECCTX(c).seccomp.localhost_ref));
	}
	return pk_kopt(pk, "seccomp_profile_path", SECCTX(c).seccomp_profile_path);
}

static int
pk_config(msgpack_packer *pk, const struct pod_config *c)
{
	bool dns = c->has_dns_config || c->dns_config.servers.n || c->dns_config.searches.n ||
	           c->dns_config.options.n;
	bool res = has_resources(c);

	TRY(msgpack_pack_map(pk, 2 + nonempty(c->hostname) + nonempty(c->log_directory) + dns +
	                                 (c->labels.n > 0) + (c->annotations.n > 0) +
	                                 (c->port_mappings.n > 0)));
	TRY(pk_str(pk, "metadata"));
	TRY(msgpack_pack_map(pk, 1 + nonempty(c->metadata.name) + nonempty(c->metadata.uid) +
	                                 nonempty(c->metadata.namespace)));
	TRY(pk_kopt(pk, "name", c->metadata.name));
	TRY(pk_kopt(pk, "uid", c->metadata.uid));
	TRY(pk_kopt(pk, "namespace", c->metadata.namespace));
	TRY(pk_ku64(pk, "attempt", c->metadata.attempt));
	TRY(pk_kopt(pk, "hostname", c->hostname));
	TRY(pk_kopt(pk, "log_directory", c->log_directory));
	if (dns) {
		TRY(pk_str(pk, "dns_config"));
		TRY(msgpack_pack_map(pk, 3));
		TRY(pk_strs(pk, "servers", &c->dns_config.servers));
		TRY(pk_strs(pk, "searches", &c->dns_config.searches));
		TRY(pk_strs(pk, "options", &c->dns_config.options));
	}
	if (c->labels.n)
		TRY(pk_kvs(pk, "labels", &c->labels));
	if (c->annotations.n)
		TRY(pk_kvs(pk, "annotations", &c->annotations));
	if (c->port_mappings.n)
		TRY(PK_ARRAY(pk, "port_mappings", c->port_mappings.v, c->port_mappings.n,
		             pke_port_mapping));
	TRY(pk_str(pk, "linux"));
	TRY(msgpack_pack_map(pk, 1 + nonempty(c->linux.cgroup_parent) + (c->linux.sysctls.n > 0) +
	                                 res));
	TRY(pk_kopt(pk, "cgroup_parent", c->linux.cgroup_parent));
	if (c->linux.sysctls.n)
		TRY(pk_kvs(pk, "sysctls", &c->linux.sysctls));
	TRY(pk_secctx(pk, c));
	if (res) {
		TRY(pk_str(pk, "resources"));
		TRY(msgpack_pack_map(pk, 4));
		TRY(pk_ki64(pk, "cpu_period", c->linux.resources.cpu_period));
		TRY(pk_ki64(pk, "cpu_quota", c->linux.resources.cpu_quota));
		TRY(pk_ki64(pk, "cpu_shares", c->linux.resources.cpu_shares));
		TRY(pk_ki64(pk, "memory_limit_in_bytes", c->linux.resources.memory_limit_in_bytes));
	}
	return 0;
}

/* "timings": {"start": [{"step", "us"}...], "stop": [...]} */
static int
pk_timings(msgpack_packer *pk, const struct proto_timings *t)
{
	int op;
	size_t i;

	TRY(pk_str(pk, "timings"));
	TRY(msgpack_pack_map(pk, PROTO_TIMED_OPS));
	for (op = 0; op < PROTO_TIMED_OPS; op++) {
		TRY(pk_str(pk, proto_timed_name(op)));
		TRY(msgpack_pack_array(pk, t->n[op]));
		for (i = 0; i < t->n[op]; i++) {
			TRY(msgpack_pack_map(pk, 2));
			TRY(pk_kbuf(pk, "step", t->v[op][i].name, sizeof(t->v[op][i].name)));
			TRY(pk_ku64(pk, "us", t->v[op][i].us));
		}
	}
	return 0;
}

static int
pk_sandbox(msgpack_packer *pk, const void *obj)
{
	const struct proto_sandbox *s = obj;
	size_t i, opt = (s->timings != NULL) + (s->pod_ips.n > 0) + (s->spec_annotations.n > 0) +
	                (s->spec_labels.n > 0);

	for (i = 0; i < PROTO_SANDBOX_STRS; i++)
		opt += nonempty(PROTO_CSTR_AT(s, proto_sandbox_strs[i].off));
	TRY(msgpack_pack_map(pk, 10 + nonempty(s->runtime_handler) + opt));
	TRY(pk_kbuf(pk, "id", s->id, sizeof(s->id)));
	TRY(pk_str(pk, "config"));
	TRY(pk_config(pk, &s->config));
	TRY(pk_kopt(pk, "runtime_handler", s->runtime_handler));
	TRY(pk_kstr(pk, "phase", proto_phase_name(s->phase)));
	TRY(pk_kstr(pk, "state", proto_state_name(proto_sandbox_state(s))));
	TRY(pk_ki64(pk, "created_at", s->created_at));
	TRY(pk_ki64(pk, "started_at", s->started_at));
	TRY(pk_ki64(pk, "pid", s->pid));
	TRY(pk_ku64(pk, "pid_start_time", s->pid_start_time));
	TRY(pk_ki64(pk, "exit_status", s->exit_status));
	TRY(pk_ki64(pk, "exited_at", s->exited_at));
	for (i = 0; i < PROTO_SANDBOX_STRS; i++)
		TRY(pk_kopt(pk, proto_sandbox_strs[i].key,
		            PROTO_CSTR_AT(s, proto_sandbox_strs[i].off)));
	if (s->pod_ips.n)
		TRY(pk_strs(pk, "pod_ips", &s->pod_ips));
	if (s->spec_annotations.n)
		TRY(pk_kvs(pk, "spec_annotations", &s->spec_annotations));
	if (s->spec_labels.n)
		TRY(pk_kvs(pk, "spec_labels", &s->spec_labels));
	return s->timings ? pk_timings(pk, s->timings) : 0;
}

/* A histogram; a step's with its name.  Trailing empty buckets are left
 * out (the decoder reads them as 0). */
static int
pk_hist(msgpack_packer *pk, const struct proto_histogram *h, bool step)
{
	size_t i, nb = PROTO_STATS_BUCKETS;

	while (nb > 0 && h->buckets[nb - 1] == 0)
		nb--;
	TRY(msgpack_pack_map(pk, 5 + step));
	if (step)
		TRY(pk_kbuf(pk, "step", h->step, sizeof(h->step)));
	TRY(pk_ku64(pk, "count", h->count));
	TRY(pk_ku64(pk, "sum_ns", h->sum_ns));
	TRY(pk_ku64(pk, "p50_ns", h->p50_ns));
	TRY(pk_ku64(pk, "p99_ns", h->p99_ns));
	TRY(pk_str(pk, "buckets"));
	TRY(msgpack_pack_array(pk, nb));
	for (i = 0; i < nb; i++)
		TRY(msgpack_pack_uint64(pk, h->buckets[i]));
	return 0;
}

/* {"total": HIST, "errors": {"<CODE>": n...}, "steps": [HIST...]} */
static int
pk_op_stats(msgpack_packer *pk, const struct proto_op_stats *o)
{
	size_t i, n_err = 0;
	int c;

	for (c = 1; c <= CRADLE_CODE_MAX; c++)
		n_err += o->errors[c] != 0;
	TRY(msgpack_pack_map(pk, 3));
	TRY(pk_str(pk, "total"));
	TRY(pk_hist(pk, &o->total, false));
	TRY(pk_str(pk, "errors"));
	TRY(msgpack_pack_map(pk, n_err));
	for (c = 1; c <= CRADLE_CODE_MAX; c++)
		if (o->errors[c])
			TRY(pk_ku64(pk, cradle_code_name(c), o->errors[c]));
	TRY(pk_str(pk, "steps"));
	TRY(msgpack_pack_array(pk, o->n_steps));
	for (i = 0; i < o->n_steps; i++)
		TRY(pk_hist(pk, &o->steps[i], true));
	return 0;
}

static int
pk_stats(msgpack_packer *pk, const struct proto_stats *st)
{
	int i, op;

	TRY(msgpack_pack_map(pk, 2 + (st->quarantined > 0) + PROTO_TIMED_OPS));
	TRY(pk_ku64(pk, "queue_depth", st->queue_depth));
	if (st->quarantined > 0) /* (left out when 0, as before it was kept) */
		TRY(pk_ku64(pk, "quarantined", st->quarantined));
	TRY(pk_str(pk, "sandboxes"));
	TRY(msgpack_pack_map(pk, PROTO_N_PHASES));
	for (i = 0; i < PROTO_N_PHASES; i++)
		TRY(pk_ku64(pk, proto_phase_name(i), st->sandboxes[i]));
	for (op = 0; op < PROTO_TIMED_OPS; op++) {
		TRY(pk_str(pk, proto_timed_name(op)));
		TRY(pk_op_stats(pk, &st->op[op]));
	}
	return 0;
}

static int
pk_condition(msgpack_packer *pk, const void *obj)
{
	const struct proto_condition *c = obj;

	TRY(msgpack_pack_map(pk, 4));
	TRY(pk_kbuf(pk, "type", c->type, sizeof(c->type)));
	TRY(pk_kbool(pk, "status", c->status));
	TRY(pk_kbuf(pk, "reason", c->reason, sizeof(c->reason)));
	return pk_kbuf(pk, "message", c->message, sizeof(c->message));
}

static int
pk_section(msgpack_packer *pk, const void *obj)
{
	const struct proto_config_section *s = obj;

	TRY(msgpack_pack_map(pk, 2));
	TRY(pk_kstr(pk, "name", s->name));
	return pk_kvs(pk, "keys", &s->keys);
}

static int
pk_info(msgpack_packer *pk, const struct proto_info *info)
{
	const struct proto_node_info *n = &info->node;

	TRY(msgpack_pack_map(pk, 6));
	TRY(pk_kbuf(pk, "version", info->version.version, sizeof(info->version.version)));
	TRY(pk_ku64(pk, "api_version", info->version.api_version));
	TRY(pk_ki64(pk, "pid", info->version.pid));
	TRY(PK_ARRAY(pk, "conditions", info->conditions, info->n_conditions, pk_condition));
	TRY(pk_str(pk, "node"));
	TRY(msgpack_pack_map(pk, 9 + nonempty(n->cgroups)));
	TRY(pk_kbuf(pk, "cgroup_layout", n->cgroup_layout, sizeof(n->cgroup_layout)));
	TRY(pk_kopt(pk, "cgroups", n->cgroups));
	TRY(pk_kbuf(pk, "device_control", n->device_control, sizeof(n->device_control)));
	TRY(pk_kbool(pk, "selinux_enabled", n->selinux_enabled));
	TRY(pk_kbool(pk, "selinux_applied", n->selinux_applied));
	TRY(pk_kbool(pk, "seccomp_available", n->seccomp_available));
	TRY(pk_kbool(pk, "restrict_oom_score_adj", n->restrict_oom_score_adj));
	TRY(pk_ki64(pk, "oom_score_adj", n->oom_score_adj));
	TRY(pk_kbool(pk, "in_user_namespace", n->in_user_namespace));
	TRY(pk_kbuf(pk, "kernel", n->kernel, sizeof(n->kernel)));
	return PK_ARRAY(pk, "config", info->sections, info->n_sections, pk_section);
}

static int
pk_image(msgpack_packer *pk, const void *obj)
{
	const struct proto_image *img = obj;
	bool md = img->manifest_digest[0], cd = img->config_digest[0];

	TRY(msgpack_pack_map(pk, 6 + md + cd + (img->labels.n > 0)));
	TRY(pk_kstr(pk, "ref", img->ref));
	if (md)
		TRY(pk_kbuf(pk, "manifest_digest", img->manifest_digest,
		            sizeof(img->manifest_digest)));
	if (cd)
		TRY(pk_kbuf(pk, "config_digest", img->config_digest, sizeof(img->config_digest)));
	TRY(pk_strs(pk, "layers", &img->layers));
	TRY(pk_ki64(pk, "size", img->size));
	if (img->labels.n)
		TRY(pk_kvs(pk, "labels", &img->labels));
	TRY(pk_kbool(pk, "pinned", img->pinned));
	TRY(pk_ki64(pk, "created_at", img->created_at));
	return pk_kbool(pk, "in_use", img->in_use);
}

static int
pk_request(msgpack_packer *pk, const void *obj)
{
	const struct proto_request *req = obj;
	int op = req->op;

	TRY(msgpack_pack_map(pk, op == OP_VERSION ? 2 : 3));
	TRY(pk_ku64(pk, "v", PROTO_VERSION));
	TRY(pk_kstr(pk, "op", proto_op_name(op)));
	if (op == OP_VERSION)
		return 0;
	TRY(pk_str(pk, "args"));
	switch (op) {
	case OP_CREATE:
	case OP_RUN:
		TRY(msgpack_pack_map(pk, 1 + nonempty(req->runtime_handler)));
		TRY(pk_str(pk, "config"));
		TRY(pk_config(pk, &req->config));
		return pk_kopt(pk, "runtime_handler", req->runtime_handler);
	case OP_STOP:
		TRY(msgpack_pack_map(pk, 1 + (req->timeout_ms >= 0)));
		TRY(pk_kbuf(pk, "id", req->id, sizeof(req->id)));
		if (req->timeout_ms >= 0)
			TRY(pk_ki64(pk, "timeout_ms", req->timeout_ms));
		return 0;
	case OP_LIST:
		TRY(msgpack_pack_map(pk, (req->state_filter >= 0) + (req->label_filter.n > 0) +
		                                 (req->after[0] != '\0')));
		if (req->state_filter == STATE_READY || req->state_filter == STATE_NOTREADY)
			TRY(pk_kstr(pk, "state", proto_state_name(req->state_filter)));
		else if (req->state_filter >= 0)
			TRY(pk_ki64(pk, "state", req->state_filter));
		if (req->label_filter.n)
			TRY(pk_kvs(pk, "labels", &req->label_filter));
		if (req->after[0] != '\0')
			TRY(pk_kbuf(pk, "after", req->after, sizeof(req->after)));
		return 0;
	case OP_IMAGE_PULL:
	case OP_IMAGE_STATUS:
	case OP_IMAGE_REMOVE:
		/* always written: an empty ref is the daemon's to refuse */
		TRY(msgpack_pack_map(pk, 1 + (req->op == OP_IMAGE_PULL && nonempty(req->auth))));
		TRY(pk_kstr(pk, "ref", req->ref));
		return req->op == OP_IMAGE_PULL ? pk_kopt(pk, "auth", req->auth) : 0;
	case OP_IMAGE_LIST:
	case OP_DAEMON_STATS:
	case OP_DAEMON_INFO:
		return msgpack_pack_map(pk, 0);
	case OP_EVENTS_SINCE:
		TRY(msgpack_pack_map(pk, 1));
		return pk_ku64(pk, "seq", req->since);
	case OP_STATUS:
		TRY(msgpack_pack_map(pk, 1 + req->verbose));
		TRY(pk_kbuf(pk, "id", req->id, sizeof(req->id)));
		return req->verbose ? pk_kbool(pk, "verbose", true) : 0;
	case OP_IMAGE_IMPORT:
		TRY(msgpack_pack_map(pk, 1 + nonempty(req->ref)));
		TRY(pk_kstr(pk, "path", req->path));
		return pk_kopt(pk, "name", req->ref);
	default: /* start, remove */
		TRY(msgpack_pack_map(pk, 1));
		return pk_kbuf(pk, "id", req->id, sizeof(req->id));
	}
}

static int
pk_event(msgpack_packer *pk, const void *obj)
{
	const struct proto_event *ev = obj;
	size_t tlen = strnlen(ev->type, sizeof(ev->type) - 1);

	if (tlen == strlen(PROTO_EVENT_IMAGE_PROGRESS) &&
	    memcmp(ev->type, PROTO_EVENT_IMAGE_PROGRESS, tlen) == 0) {
		TRY(msgpack_pack_map(pk, 5));
		TRY(pk_ku64(pk, "seq", ev->seq));
		TRY(pk_kstr(pk, "type", PROTO_EVENT_IMAGE_PROGRESS));
		TRY(pk_kbuf(pk, "ref", ev->ref, sizeof(ev->ref)));
		TRY(pk_ku64(pk, "done", ev->done));
		return pk_ki64(pk, "total", ev->total);
	}

	TRY(msgpack_pack_map(pk, 6));
	TRY(pk_ku64(pk, "seq", ev->seq));
	/* the only other event there is; spare every publisher the strcpy */
	if (tlen)
		TRY(pk_kbuf(pk, "type", ev->type, sizeof(ev->type)));
	else
		TRY(pk_kstr(pk, "type", PROTO_EVENT_EXIT));
	TRY(pk_kbuf(pk, "id", ev->id, sizeof(ev->id)));
	TRY(pk_ki64(pk, "pid", ev->pid));
	TRY(pk_ki64(pk, "exit_status", ev->exit_status));
	return pk_ki64(pk, "exited_at", ev->exited_at);
}

/* ------------------------------------------------------------------ */
/* what the encoders refuse: what the peer's decoder could not read   */

static int
check_request(const void *obj, struct cradle_err *err)
{
	const struct proto_request *req = obj;

	if (!proto_op_name(req->op))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "unknown operation %d",
		                      req->op);
	return 0;
}

static int
check_image(const void *obj, struct cradle_err *err)
{
	const struct proto_image *img = obj;

	if (!nonempty(img->ref))
		return cradle_err_set(err, CRADLE_INTERNAL, "image without a reference");
	if (img->size < 0)
		return cradle_err_set(err, CRADLE_INTERNAL, "image %s has negative size %lld",
		                      img->ref, (long long)img->size);
	return 0;
}

static int
check_sandbox(const void *obj, struct cradle_err *err)
{
	const struct proto_sandbox *s = obj;
	char q[QUOTE_MAX];

	if (!proto_valid_id(s->id)) {
		proto_quote(q, s->id, strnlen(s->id, sizeof(s->id)));
		return cradle_err_set(err, CRADLE_INTERNAL, "sandbox id %s is not valid", q);
	}
	if (s->phase < PHASE_CREATED || s->phase > PHASE_EXITED)
		return cradle_err_set(err, CRADLE_INTERNAL, "sandbox %s has invalid phase %d",
		                      s->id, s->phase);
	for (int op = 0; s->timings && op < PROTO_TIMED_OPS; op++) {
		if (s->timings->n[op] > PROTO_MAX_STEPS)
			return cradle_err_set(err, CRADLE_INTERNAL, "sandbox %s: %zu %s steps",
			                      s->id, s->timings->n[op], proto_timed_name(op));
		for (size_t i = 0; i < s->timings->n[op]; i++)
			if (!proto_valid_step_name(s->timings->v[op][i].name))
				return cradle_err_set(err, CRADLE_INTERNAL,
				                      "sandbox %s: %s step %zu has no valid name",
				                      s->id, proto_timed_name(op), i);
	}
	if (s->pod_ips.n > PROTO_MAX_POD_IPS)
		return cradle_err_set(err, CRADLE_INTERNAL, "sandbox %s: %zu pod IPs", s->id,
		                      s->pod_ips.n);
	for (size_t i = 0; i < s->pod_ips.n; i++)
		if (!proto_valid_ip(s->pod_ips.v[i]))
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "sandbox %s: pod IP %zu is not an address", s->id, i);
	/* the image's labels (up to PROTO_MAX_ENTRIES) and the pod's may add
	 * up to more than one map may hold */
	if (s->spec_labels.n > PROTO_MAX_ENTRIES || s->spec_annotations.n > PROTO_MAX_ENTRIES)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
		                      "sandbox %s: %zu labels and %zu annotations in its spec; "
		                      "a record holds at most %d of each",
		                      s->id, s->spec_labels.n, s->spec_annotations.n,
		                      PROTO_MAX_ENTRIES);
	return 0;
}

/* What daemon.stats sends must read back: step names, counts that are
 * the sums of their buckets. */
static int
check_hist(const struct proto_histogram *h, int op, bool step, struct cradle_err *err)
{
	uint64_t sum = 0;

	if (step && !proto_valid_step_name(h->step))
		return cradle_err_set(err, CRADLE_INTERNAL,
		                      "daemon.stats: a %s step has no valid name",
		                      proto_timed_name(op));
	for (size_t i = 0; i < PROTO_STATS_BUCKETS; i++)
		sum += h->buckets[i];
	if (sum != h->count)
		return cradle_err_set(err, CRADLE_INTERNAL,
		                      "daemon.stats: %s %s: count %" PRIu64
		                      " is not the sum of its buckets (%" PRIu64 ")",
		                      proto_timed_name(op), step ? h->step : "total", h->count,
		                      sum);
	return 0;
}

static int
check_stats(const struct proto_stats *st, struct cradle_err *err)
{
	int op, rc;

	if (!st)
		return cradle_err_set(err, CRADLE_INTERNAL, "daemon.stats reply without stats");
	for (op = 0; op < PROTO_TIMED_OPS; op++) {
		const struct proto_op_stats *o = &st->op[op];
		if (o->n_steps > PROTO_MAX_STEPS)
			return cradle_err_set(err, CRADLE_INTERNAL, "daemon.stats: %zu %s steps",
			                      o->n_steps, proto_timed_name(op));
		if ((rc = check_hist(&o->total, op, false, err)))
			return rc;
		for (size_t i = 0; i < o->n_steps; i++)
			if ((rc = check_hist(&o->steps[i], op, true, err)))
				return rc;
	}
	return 0;
}

/* What the decoder would refuse: an info whose strings are not valid
 * UTF-8, empty names, too many conditions or sections, long strings. */
static bool
info_text_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n <= PROTO_MAX_STR && proto_valid_utf8(s ? s : "", n);
}

static int
check_info(const struct proto_info *info, struct cradle_err *err)
{
	if (!info)
		return cradle_err_set(err, CRADLE_INTERNAL, "daemon.info reply without its info");
	if (info->n_conditions > PROTO_MAX_CONDITIONS)
		return cradle_err_set(err, CRADLE_INTERNAL, "daemon.info: %zu conditions exceed %d",
		                      info->n_conditions, PROTO_MAX_CONDITIONS);
	for (size_t i = 0; i < info->n_conditions; i++) {
		const struct proto_condition *c = &info->conditions[i];
		if (c->type[0] == '\0' || !info_text_ok(c->message) || !info_text_ok(c->reason))
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "daemon.info: condition %zu: empty type or text that "
			                      "is not UTF-8",
			                      i);
	}
	if (info->node.cgroup_layout[0] == '\0' || !info_text_ok(info->node.cgroups) ||
	    !info_text_ok(info->node.kernel))
		return cradle_err_set(err, CRADLE_INTERNAL,
		                      "daemon.info: node facts without a cgroup layout, or with "
		                      "text that is not UTF-8");
	if (info->n_sections > PROTO_MAX_CONFIG_SECTIONS || (info->n_sections && !info->sections))
		return cradle_err_set(err, CRADLE_INTERNAL,
		                      "daemon.info: %zu config sections (at most %d)",
		                      info->n_sections, PROTO_MAX_CONFIG_SECTIONS);
	for (size_t i = 0; i < info->n_sections; i++) {
		const struct proto_config_section *s = &info->sections[i];
		if (!nonempty(s->name) || !info_text_ok(s->name) || s->keys.n > PROTO_MAX_ENTRIES)
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "daemon.info: config section %zu: no name, a name "
			                      "that is not UTF-8, or more than %d keys",
			                      i, PROTO_MAX_ENTRIES);
		for (size_t j = 0; j < s->keys.n; j++)
			if (!nonempty(s->keys.v[j].key) || !info_text_ok(s->keys.v[j].key) ||
			    !info_text_ok(s->keys.v[j].value))
				return cradle_err_set(err, CRADLE_INTERNAL,
				                      "daemon.info: config [%.64s] key %zu: empty, "
				                      "too long or not UTF-8",
				                      s->name, j);
	}
	return 0;
}

/* A sandbox event names its sandbox: one without a valid id would reach
 * subscribers as bytes their decoder refuses. */
static int
check_event(const void *obj, struct cradle_err *err)
{
	const struct proto_event *ev = obj;
	char q[QUOTE_MAX];

	if (strncmp(ev->type, PROTO_EVENT_IMAGE_PROGRESS, sizeof(ev->type)) == 0)
		return 0;
	if (!proto_valid_id(ev->id)) {
		proto_quote(q, ev->id, strnlen(ev->id, sizeof(ev->id)));
		return cradle_err_set(err, CRADLE_INTERNAL,
		                      "event %.32s: sandbox id %s is not valid",
		                      ev->type[0] ? ev->type : PROTO_EVENT_EXIT, q);
	}
	return 0;
}

/* What a reply carries as results, both ways (the decoder reads them with
 * get_results()). */
struct results_desc {
	const struct list_desc *list; /* the keys, the element size */
	const char *a_one;            /* "a sandbox": what a status reply must hold */
	pk_fn pack;
	int (*check)(const void *item, struct cradle_err *err);
};

static const struct results_desc sandbox_results = {
	&sandboxes_list,
	"a sandbox",
	pk_sandbox,
	check_sandbox,
};

static const struct results_desc image_results = {
	&images_list,
	"an image",
	pk_image,
	check_image,
};

/* The n results at v of a "<what>" reply: all of them for a list (at most
 * PROTO_MAX_LIST_REPLY), else the one of a status; each one writable. */
static int
check_results(const struct results_desc *d, const char *what, bool all, size_t n, const void *v,
              struct cradle_err *err)
{
	size_t i;
	int rc;

	if (!all && (n < 1 || !v))
		return cradle_err_set(err, CRADLE_INTERNAL, "%s reply without %s", what, d->a_one);
	if (all && n && !v)
		return cradle_err_set(err, CRADLE_INTERNAL, "%s reply without its %s", what,
		                      d->list->noun);
	if (all && n > PROTO_MAX_LIST_REPLY)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
		                      "%s reply of %zu %s exceeds %d", what, n, d->list->noun,
		                      PROTO_MAX_LIST_REPLY);
	for (i = 0; i < (all ? n : 1); i++) {
		rc = d->check((const char *)v + i * d->list->size, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Results already packed (each checked when it was packed, and not
 * unpacked again here: that would cost a list more than it saves): not
 * more than a list may hold, and bytes exactly when there are some. */
static int
check_packed(const struct results_desc *d, const char *what, size_t n, size_t len,
             struct cradle_err *err)
{
	if (n > PROTO_MAX_LIST_REPLY)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
		                      "%s reply of %zu %s exceeds %d", what, n, d->list->noun,
		                      PROTO_MAX_LIST_REPLY);
	if ((n == 0) != (len == 0))
		return cradle_err_set(err, CRADLE_INTERNAL, "%s reply: %zu packed bytes for %zu %s",
		                      what, len, n, d->list->noun);
	return 0;
}

static int
check_reply(const void *obj, struct cradle_err *err)
{
	const struct proto_reply *rep = obj;
	bool all = lists_all(rep->op);

	if (!rep->ok)
		return 0;
	switch (rep->op) {
	case OP_STATUS:
	case OP_LIST:
		if (all && rep->sandboxes_msg != NULL)
			return check_packed(&sandbox_results, "list", rep->n_sandboxes,
			                    rep->sandboxes_msg_len, err);
		return check_results(&sandbox_results, all ? "list" : "status", all,
		                     rep->n_sandboxes, rep->sandboxes, err);
	case OP_IMAGE_PULL:
	case OP_IMAGE_STATUS:
	case OP_IMAGE_IMPORT:
	case OP_IMAGE_LIST:
		return check_results(&image_results, all ? "image list" : proto_op_name(rep->op),
		                     all, rep->n_images, rep->images, err);
	case OP_DAEMON_STATS:
		return check_stats(rep->stats, err);
	case OP_DAEMON_INFO:
		return check_info(rep->info, err);
	case OP_EVENTS_SINCE:
		if (rep->n_events > PROTO_MAX_EVENTS_PAGE)
			return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
			                      "events.since reply of %zu events exceeds %d",
			                      rep->n_events, PROTO_MAX_EVENTS_PAGE);
		if (rep->n_events && !rep->events)
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "events.since reply without its events");
		for (size_t i = 0; i < rep->n_events; i++)
			if (check_event(&rep->events[i], err))
				return -1;
		return 0;
	default:
		if (!proto_op_name(rep->op))
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "reply for unknown operation %d", rep->op);
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* replies                                                            */

/* A reply's results: all n at v under the list's key, or the one of a
 * status under its own (as get_results() reads them). */
static int
pk_results(msgpack_packer *pk, const struct results_desc *d, bool all, const void *v, size_t n)
{
	TRY(msgpack_pack_map(pk, 1));
	if (all)
		return pk_array(pk, d->list->noun, v, n, d->list->size, d->pack);
	TRY(pk_str(pk, d->list->one));
	return d->pack(pk, v);
}

/* {v, ok, result|error: ...}: the envelope of every reply, up to the
 * value under its last key. */
static int
pk_envelope(msgpack_packer *pk, bool ok)
{
	TRY(msgpack_pack_map(pk, 3));
	TRY(pk_ku64(pk, "v", PROTO_VERSION));
	TRY(pk_kbool(pk, "ok", ok));
	return pk_str(pk, ok ? "result" : "error");
}

static int
pk_error(msgpack_packer *pk, const struct cradle_err *e)
{
	struct cradle_err w;

	w.code = e->code;
	clean_message(w.msg, sizeof(w.msg), e->msg, strnlen(e->msg, sizeof(e->msg)));
	wire_error(&w);
	TRY(pk_envelope(pk, false));
	TRY(msgpack_pack_map(pk, 2));
	TRY(pk_ki64(pk, "code", w.code));
	return pk_kstr(pk, "message", w.msg);
}

/* A reply that is not ok goes out as its error. */
static int
pk_reply(msgpack_packer *pk, const void *obj)
{
	const struct proto_reply *rep = obj;
	int op = rep->op;

	if (!rep->ok)
		return pk_error(pk, &rep->err);
	TRY(pk_envelope(pk, true));
	switch (op) {
	case OP_VERSION:
		TRY(msgpack_pack_map(pk, 3));
		TRY(pk_kbuf(pk, "version", rep->version.version, sizeof(rep->version.version)));
		TRY(pk_ku64(pk, "api_version", rep->version.api_version));
		return pk_ki64(pk, "pid", rep->version.pid);
	case OP_CREATE:
	case OP_START:
	case OP_RUN:
		/* a sandbox just created has no pid yet */
		TRY(msgpack_pack_map(pk, op == OP_CREATE ? 2 : 3));
		TRY(pk_kbuf(pk, "id", rep->id, sizeof(rep->id)));
		if (op != OP_CREATE)
			TRY(pk_ki64(pk, "pid", rep->pid));
		return pk_ki64(pk, "created_at", rep->created_at);
	case OP_LIST:
		TRY(msgpack_pack_map(pk, rep->more ? 2 : 1)); /* a page: {sandboxes, more} */
		if (rep->sandboxes_msg != NULL) {
			TRY(pk_str(pk, sandbox_results.list->noun));
			TRY(msgpack_pack_array(pk, rep->n_sandboxes));
			TRY(pk->callback(pk->data, rep->sandboxes_msg, rep->sandboxes_msg_len));
		} else {
			TRY(pk_array(pk, sandbox_results.list->noun, rep->sandboxes,
			             rep->n_sandboxes, sandbox_results.list->size,
			             sandbox_results.pack));
		}
		return rep->more ? pk_kbool(pk, "more", true) : 0;
	case OP_STATUS:
		return pk_results(pk, &sandbox_results, false, rep->sandboxes, rep->n_sandboxes);
	case OP_IMAGE_PULL:
	case OP_IMAGE_STATUS:
	case OP_IMAGE_IMPORT:
	case OP_IMAGE_LIST:
		return pk_results(pk, &image_results, lists_all(op), rep->images, rep->n_images);
	case OP_DAEMON_STATS:
		return pk_stats(pk, rep->stats);
	case OP_DAEMON_INFO:
		return pk_info(pk, rep->info);
	case OP_EVENTS_SINCE:
		TRY(msgpack_pack_map(pk, 4));
		TRY(pk_array(pk, "events", rep->events, rep->n_events, sizeof(*rep->events),
		             pk_event));
		TRY(pk_ku64(pk, "oldest", rep->oldest_seq));
		TRY(pk_ku64(pk, "last", rep->last_seq));
		return pk_kbool(pk, "more", rep->more);
	default: /* stop, remove */
		return msgpack_pack_map(pk, 0);
	}
}

/* ------------------------------------------------------------------ */
/* the frames of the public encoders and decoders                     */

/* One kind of message, as encode_msg() and decode_msg() handle it. */
struct msg_kind {
	const char *name; /* "sandbox": names the object when it is NULL */
	const char *what; /* "sandbox record": names a message too large */
	size_t max_msg;   /* bytes in one message, both ways */
	int list_reply;   /* proto_bounds(): long result lists are allowed */
	int too_big_code; /* the code for a message over max_msg */
	/* refuses an object the peer's decoder could not read; NULL: none */
	int (*check)(const void *obj, struct cradle_err *err);
	pk_fn pack; /* packs the object as one map */
	dec_fn dec; /* decodes the top map into the object */
	/* puts the object in its initial state for op; held: it holds what a
	 * decode that failed half-way left */
	void (*reset)(void *obj, int op, bool held);
};

/* Pack obj at the end of sbuf.  On failure sbuf is as it was. */
static int
encode_msg(const struct msg_kind *k, msgpack_sbuffer *sbuf, const void *obj, struct cradle_err *err)
{
	msgpack_packer pk;
	size_t start, n;
	int rc;

	if (!sbuf || !obj)
		return cradle_err_set(err, CRADLE_INTERNAL, "%s encode: NULL argument", k->name);
	rc = k->check ? k->check(obj, err) : 0;
	if (rc)
		return rc;
	start = sbuf->size;
	msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
	rc = k->pack(&pk, obj);
	n = sbuf->size - start;
	if (!rc && n <= k->max_msg)
		return 0;
	sbuf->size = start;
	if (rc)
		return cradle_err_nomem(err);
	cradle_err_set(err, k->too_big_code, "%s of %zu bytes exceeds %zu", k->what, n, k->max_msg);
	return -EMSGSIZE;
}

/* Initialise obj for op (the op a reply answers; OP_VERSION for the
 * other kinds), check the size, unpack, decode the top map into obj,
 * release the tree.  On failure obj is back in its initial state and
 * holds nothing to free. */
static int
decode_msg(const struct msg_kind *k, int op, const void *buf, size_t len, void *obj,
           struct cradle_err *err)
{
	msgpack_unpacked up;
	struct ppath p;
	int rc;

	if (!obj)
		return cradle_err_set(err, CRADLE_INTERNAL, "%s is NULL", k->name);
	k->reset(obj, op, false);
	if (!proto_op_name(op))
		return proto_fail(err, NULL, "unknown operation %d", op);
	rc = proto_bounds(buf, len, k->max_msg, k->list_reply, err);
	if (rc)
		return rc;
	rc = unpack(buf, len, &up, err);
	if (rc)
		return rc;
	ppath_init(&p, NULL);
	rc = k->dec(&up.data, &p, obj, err);
	msgpack_unpacked_destroy(&up);
	if (rc)
		k->reset(obj, op, true);
	return rc;
}

static void
reset_request(void *obj, int op, bool held)
{
	if (held)
		proto_request_fini(obj);
	proto_request_init(obj, op);
}

static void
reset_reply(void *obj, int op, bool held)
{
	if (held)
		proto_reply_fini(obj);
	proto_reply_init(obj, op);
}

static void
reset_sandbox(void *obj, int op, bool held)
{
	struct proto_sandbox *s = obj;

	(void)op;
	if (held)
		proto_sandbox_fini(s);
	memset(s, 0, sizeof(*s));
	pod_config_init(&s->config);
}

static void
reset_image(void *obj, int op, bool held)
{
	(void)op;
	if (held)
		proto_image_fini(obj);
	memset(obj, 0, sizeof(struct proto_image));
}

/* An event owns no memory. */
static void
reset_event(void *obj, int op, bool held)
{
	(void)op;
	(void)held;
	memset(obj, 0, sizeof(struct proto_event));
}

enum { K_REQUEST, K_REPLY, K_LIST_REPLY, K_SANDBOX, K_IMAGE, K_EVENT };

/* A request and its reply have the daemon's limits; records and events
 * carry a whole config and some slack, list replies many sandboxes
 * (proto.h). */
static const struct msg_kind kinds[] = {
	[K_REQUEST] = { "request", "request", PROTO_MAX_MSG, 0, CRADLE_INVALID_ARGUMENT,
	                check_request, pk_request, dec_request, reset_request },
	[K_REPLY] = { "reply", "reply", PROTO_MAX_REPLY_MSG, 0, CRADLE_RESOURCE_EXHAUSTED,
	              check_reply, pk_reply, dec_reply, reset_reply },
	[K_LIST_REPLY] = { "reply", "reply", PROTO_MAX_LIST_MSG, 1, CRADLE_RESOURCE_EXHAUSTED,
	                   check_reply, pk_reply, dec_reply, reset_reply },
	[K_SANDBOX] = { "sandbox", "sandbox record", PROTO_MAX_REPLY_MSG, 0,
	                CRADLE_RESOURCE_EXHAUSTED, check_sandbox, pk_sandbox, dec_sandbox,
	                reset_sandbox },
	[K_IMAGE] = { "image", "image", PROTO_MAX_REPLY_MSG, 0, CRADLE_RESOURCE_EXHAUSTED,
	              check_image, pk_image, dec_image, reset_image },
	[K_EVENT] = { "event", "event", PROTO_MAX_REPLY_MSG, 0, CRADLE_RESOURCE_EXHAUSTED,
	              check_event, pk_event, dec_event, reset_event },
};

static int
reply_kind(int op)
{
	return lists_all(op) ? K_LIST_REPLY : K_REPLY;
}

/* ------------------------------------------------------------------ */
/* the public API                                                     */

void
proto_request_init(struct proto_request *req, int op)
{
	if (!req)
		return;
	memset(req, 0, sizeof(*req));
	req->op = op;
	pod_config_init(&req->config);
	req->timeout_ms = STOP_TIMEOUT_DEFAULT;
	req->state_filter = -1;
}

void
proto_request_fini(struct proto_request *req)
{
	if (!req)
		return;
	pod_config_fini(&req->config);
	free(req->runtime_handler);
	req->runtime_handler = NULL;
	proto_kvs_fini(&req->label_filter);
	free(req->ref);
	req->ref = NULL;
	free(req->path);
	req->path = NULL;
	if (req->auth) {
		explicit_bzero(req->auth, strlen(req->auth));
		free(req->auth);
		req->auth = NULL;
	}
}

void
proto_reply_init(struct proto_reply *rep, int op)
{
	if (!rep)
		return;
	memset(rep, 0, sizeof(*rep));
	rep->op = op;
	/* fail safe: a reply nobody filled in goes out as an error */
	rep->ok = false;
}

void
proto_info_fini(struct proto_info *info)
{
	if (!info)
		return;
	free(info->node.cgroups);
	for (size_t i = 0; i < info->n_sections && info->sections; i++) {
		free(info->sections[i].name);
		proto_kvs_fini(&info->sections[i].keys);
	}
	free(info->sections);
	memset(info, 0, sizeof(*info));
}

void
proto_reply_fini(struct proto_reply *rep)
{
	size_t i;

	if (!rep)
		return;
	for (i = 0; i < rep->n_sandboxes && rep->sandboxes; i++)
		proto_sandbox_fini(&rep->sandboxes[i]);
	free(rep->sandboxes);
	rep->sandboxes = NULL;
	rep->n_sandboxes = 0;
	free(rep->sandboxes_msg);
	rep->sandboxes_msg = NULL;
	rep->sandboxes_msg_len = 0;
	for (i = 0; i < rep->n_images && rep->images; i++)
		proto_image_fini(&rep->images[i]);
	free(rep->images);
	rep->images = NULL;
	rep->n_images = 0;
	free(rep->stats);
	rep->stats = NULL;
	proto_info_fini(rep->info);
	free(rep->info);
	rep->info = NULL;
	free(rep->events);
	rep->events = NULL;
	rep->n_events = 0;
}

int
proto_reply_encode(msgpack_sbuffer *sbuf, const struct proto_reply *rep, struct cradle_err *err)
{
	return encode_msg(&kinds[reply_kind(rep ? rep->op : OP_VERSION)], sbuf, rep, err);
}

int
proto_reply_encode_error(msgpack_sbuffer *sbuf, const struct cradle_err *e)
{
	struct proto_reply rep;

	proto_reply_init(&rep, OP_VERSION);
	if (e)
		rep.err = *e;
	return encode_msg(&kinds[K_REPLY], sbuf, &rep, NULL);
}

int
proto_reply_decode(int op, const void *buf, size_t len, struct proto_reply *rep,
                   struct cradle_err *err)
{
	return decode_msg(&kinds[reply_kind(op)], op, buf, len, rep, err);
}

/* The encoder and decoder of each kind but replies, one call of the
 * frame each: proto_request_encode(), proto_request_decode(),
 * proto_sandbox_encode(), proto_sandbox_decode(), proto_image_encode(),
 * proto_image_decode(), proto_event_encode() and proto_event_decode(). */
#define PROTO_CODEC(name, type, kind)                                                             \
	int proto_##name##_encode(msgpack_sbuffer *sbuf, const type *obj, struct cradle_err *err) \
	{                                                                                         \
		return encode_msg(&kinds[kind], sbuf, obj, err);                                  \
	}                                                                                         \
	int proto_##name##_decode(const void *buf, size_t len, type *obj, struct cradle_err *err) \
	{                                                                                         \
		return decode_msg(&kinds[kind], OP_VERSION, buf, len, obj, err);                  \
	}

PROTO_CODEC(request, struct proto_request, K_REQUEST)
PROTO_CODEC(sandbox, struct proto_sandbox, K_SANDBOX)
PROTO_CODEC(image, struct proto_image, K_IMAGE)
PROTO_CODEC(event, struct proto_event, K_EVENT)
