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
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "proto/internal.h"
#include "proto/proto.h"

#define STOP_TIMEOUT_DEFAULT 10000
#define STOP_TIMEOUT_MAX 3600000

/* lookup flags */
#define F_REQ 1          /* absent is an error */
#define F_EMPTY_NULL 2   /* "" decodes to NULL: CRI's "unset" */

static const msgpack_object empty_map = { .type = MSGPACK_OBJECT_MAP };

/* ------------------------------------------------------------------ */
/* decoding helpers                                                   */

static const char *obj_type_name(const msgpack_object *o)
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

static int expect(const msgpack_object *o, const struct ppath *p, const char *want,
                  struct cradle_err *err)
{
	return proto_fail(err, p, "expected %s, got %s", want, obj_type_name(o));
}

/* A caller's mistake rather than the peer's: not INVALID_ARGUMENT. */
__attribute__((format(printf, 3, 4)))
static int efail(struct cradle_err *err, int code, const char *fmt, ...)
{
	char msg[CRADLE_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cradle_err_set(err, code, "%s", msg);
	return -EINVAL;
}

static int oom(struct cradle_err *err, const char *what)
{
	cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "out of memory %s", what);
	return -ENOMEM;
}

static bool key_is(const msgpack_object *k, const char *key, size_t klen)
{
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
	       memcmp(k->via.str.ptr, key, klen) == 0;
}

/* Find key in map m.  Returns <0 on error, 0 when absent (or nil: peers
 * that write nil for unset fields mean absent), 1 when found, with the key
 * pushed onto p and *old set for the caller's ppath_pop. */
static int lookup(const msgpack_object *m, const char *key, struct ppath *p, int flags,
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
typedef int (*dec_fn)(const msgpack_object *o, struct ppath *p, void *arg,
                      struct cradle_err *err);

/* Run fn on the value under key in map m, with the key on the path.
 * Returns <0 on error, 0 when absent, else what fn returns. */
static int get_field(const msgpack_object *m, const char *key, struct ppath *p, int flags,
                     dec_fn fn, void *arg, struct cradle_err *err)
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

static int val_map(const msgpack_object *v, const struct ppath *p, struct cradle_err *err)
{
	return v->type == MSGPACK_OBJECT_MAP ? 0 : expect(v, p, "map", err);
}

/* String bytes checked for NUL and UTF-8; *s and *n point into the tree. */
static int val_text(const msgpack_object *v, const struct ppath *p, const char **s,
                    size_t *n, struct cradle_err *err)
{
	*s = "";
	*n = 0;
	if (v->type != MSGPACK_OBJECT_STR)
		return expect(v, p, "string", err);
	*s = v->via.str.ptr;
	*n = v->via.str.size;
	return proto_check_text(*s, *n, p, err);
}

struct str_arg {
	int flags;
	char **out;
};

static int val_str(const msgpack_object *v, struct ppath *p, void *arg,
                   struct cradle_err *err)
{
	const struct str_arg *a = arg;
	const char *s;
	size_t n;
	int rc;

	rc = val_text(v, p, &s, &n, err);
	if (rc)
		return rc;
	if (n == 0 && (a->flags & F_EMPTY_NULL))
		return 0;
	*a->out = strndup(s, n);
	return *a->out ? 0 : oom(err, "decoding a string");
}

static int get_str(const msgpack_object *m, const char *key, struct ppath *p, int flags,
                   char **out, struct cradle_err *err)
{
	struct str_arg a = { flags, out };

	return get_field(m, key, p, flags, val_str, &a, err);
}

struct strbuf_arg {
	char *buf;
	size_t size;
};

static int val_strbuf(const msgpack_object *v, struct ppath *p, void *arg,
                      struct cradle_err *err)
{
	const struct strbuf_arg *a = arg;
	const char *s;
	size_t n;
	int rc;

	rc = val_text(v, p, &s, &n, err);
	if (!rc && n >= a->size)
		rc = proto_fail(err, p, "string of %zu bytes exceeds %zu", n, a->size - 1);
	if (!rc) {
		memcpy(a->buf, s, n);
		a->buf[n] = '\0';
	}
	return rc;
}

/* A string into a fixed buffer of size bytes (NUL included). */
static int get_strbuf(const msgpack_object *m, const char *key, struct ppath *p, int flags,
                      char *buf, size_t size, struct cradle_err *err)
{
	struct strbuf_arg a = { buf, size };

	return get_field(m, key, p, flags, val_strbuf, &a, err);
}

/* arg: char[CRADLE_ID_LEN + 1] */
static int val_id(const msgpack_object *v, struct ppath *p, void *arg,
                  struct cradle_err *err)
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
	return proto_fail(err, p, "%s is not a valid sandbox id (want %d lower-case "
	                  "hex characters)", q, CRADLE_ID_LEN);
}

static int get_id(const msgpack_object *m, const char *key, struct ppath *p, int flags,
                  char id[CRADLE_ID_LEN + 1], struct cradle_err *err)
{
	return get_field(m, key, p, flags, val_id, id, err);
}

struct u64_arg {
	uint64_t max;
	uint64_t *out;
};

static int val_u64(const msgpack_object *v, struct ppath *p, void *arg,
                   struct cradle_err *err)
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

static int get_u64(const msgpack_object *m, const char *key, struct ppath *p, int flags,
                   uint64_t max, uint64_t *out, struct cradle_err *err)
{
	struct u64_arg a = { max, out };

	return get_field(m, key, p, flags, val_u64, &a, err);
}

struct i64_arg {
	int64_t min, max;
	int64_t *out;
};

static int val_i64(const msgpack_object *v, struct ppath *p, void *arg,
                   struct cradle_err *err)
{
	const struct i64_arg *a = arg;
	int64_t x;

	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (v->via.u64 > (uint64_t)a->max)
			return proto_fail(err, p, "%" PRIu64 " is out of range (%" PRId64
			                  "..%" PRId64 ")", v->via.u64, a->min, a->max);
		x = (int64_t)v->via.u64;
	} else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		x = v->via.i64;
	} else {
		return expect(v, p, "integer", err);
	}
	if (x < a->min || x > a->max)
		return proto_fail(err, p, "%" PRId64 " is out of range (%" PRId64 "..%"
		                  PRId64 ")", x, a->min, a->max);
	*a->out = x;
	return 0;
}

static int get_i64(const msgpack_object *m, const char *key, struct ppath *p, int flags,
                   int64_t min, int64_t max, int64_t *out, struct cradle_err *err)
{
	struct i64_arg a = { min, max, out };

	return get_field(m, key, p, flags, val_i64, &a, err);
}

static int get_i32(const msgpack_object *m, const char *key, struct ppath *p, int flags,
                   int32_t *out, struct cradle_err *err)
{
	int64_t x = *out;
	int rc;

	rc = get_i64(m, key, p, flags, INT32_MIN, INT32_MAX, &x, err);
	if (!rc)
		*out = (int32_t)x;
	return rc;
}

static int val_bool(const msgpack_object *v, struct ppath *p, void *arg,
                    struct cradle_err *err)
{
	bool *out = arg;

	if (v->type != MSGPACK_OBJECT_BOOLEAN)
		return expect(v, p, "boolean", err);
	*out = v->via.boolean;
	return 0;
}

static int get_bool(const msgpack_object *m, const char *key, struct ppath *p, int flags,
                    bool *out, struct cradle_err *err)
{
	return get_field(m, key, p, flags, val_bool, out, err);
}

static int cmp_kv_ptr(const void *a, const void *b)
{
	const msgpack_object *x = &(*(const msgpack_object_kv *const *)a)->key;
	const msgpack_object *y = &(*(const msgpack_object_kv *const *)b)->key;

	if (x->via.str.size != y->via.str.size)
		return x->via.str.size < y->via.str.size ? -1 : 1;
	return memcmp(x->via.str.ptr, y->via.str.ptr, x->via.str.size);
}

/* Sorting finds duplicates in n log n: pairwise compares of up to 1024
 * keys of up to 16 KiB each would let one message burn real CPU. */
static int check_dup_keys(const msgpack_object *m, const struct ppath *p,
                          struct cradle_err *err)
{
	const msgpack_object_kv **v;
	char q[QUOTE_MAX];
	uint32_t i, n = m->via.map.size;
	int rc = 0;

	if (n < 2)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return oom(err, "checking keys");
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

static int val_kvs(const msgpack_object *v, struct ppath *p, void *arg,
                   struct cradle_err *err)
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
		return oom(err, "decoding a map");
	for (i = 0; i < v->via.map.size; i++) {
		kv = &v->via.map.ptr[i];
		out->n++;
		out->v[i].key = strndup(kv->key.via.str.ptr, kv->key.via.str.size);
		out->v[i].value = strndup(kv->val.via.str.ptr, kv->val.via.str.size);
		if (!out->v[i].key || !out->v[i].value)
			return oom(err, "decoding a map");
	}
	return 0;
}

static int get_kvs(const msgpack_object *m, const char *key, struct ppath *p,
                   struct proto_kvs *out, struct cradle_err *err)
{
	return get_field(m, key, p, 0, val_kvs, out, err);
}

/* How val_list() decodes one kind of array. */
struct list_desc {
	size_t size;             /* bytes per element */
	dec_fn elem;             /* decodes one element into its zeroed slot */
	uint32_t max;            /* most elements, 0: only the walker's bound */
	const char *noun;        /* "sandboxes": the message over max */
	const char *what;        /* "decoding an array": the message on ENOMEM */
};

struct list_arg {
	const struct list_desc *d;
	void *vec;               /* &owner->v, a T **: set with memcpy, so any T */
	size_t *n;               /* &owner->n */
};

/* An array decoded element by element into a calloc'd vector.  Each
 * element is counted in *n before it is decoded, so the owner's fini also
 * releases one that failed half-way (a zeroed slot must be safe to fini). */
static int val_list(const msgpack_object *v, struct ppath *p, void *arg,
                    struct cradle_err *err)
{
	const struct list_arg *a = arg;
	const struct list_desc *d = a->d;
	void *items = NULL;
	uint32_t i, len;
	size_t old;
	int rc = 0;

	if (v->type != MSGPACK_OBJECT_ARRAY)
		return expect(v, p, "array", err);
	len = v->via.array.size;
	if (d->max && len > d->max)
		return proto_fail(err, p, "%u %s exceed %u", len, d->noun, d->max);
	if (len) {
		items = calloc(len, d->size);
		if (!items)
			return oom(err, d->what);
		memcpy(a->vec, &items, sizeof(items));
	}
	for (i = 0; i < len && !rc; i++) {
		(*a->n)++;
		old = ppath_push_index(p, i);
		rc = d->elem(&v->via.array.ptr[i], p, (char *)items + (size_t)i * d->size, err);
		ppath_pop(p, old);
	}
	return rc;
}

static int get_list(const msgpack_object *m, const char *key, struct ppath *p, int flags,
                    const struct list_desc *d, void *vec, size_t *n, struct cradle_err *err)
{
	struct list_arg a = { d, vec, n };

	return get_field(m, key, p, flags, val_list, &a, err);
}

static int elem_str(const msgpack_object *e, struct ppath *p, void *item,
                    struct cradle_err *err)
{
	struct str_arg a = { 0, item };

	return val_str(e, p, &a, err);
}

static const struct list_desc strs_list = {
	sizeof(char *), elem_str, 0, NULL, "decoding an array",
};

static int get_strs(const msgpack_object *m, const char *key, struct ppath *p,
                    struct proto_strs *out, struct cradle_err *err)
{
	return get_list(m, key, p, 0, &strs_list, &out->v, &out->n, err);
}

/* An enum the peer may send as its number or as its name (names[i] is
 * value i); the texts only feed messages. */
struct enum_desc {
	const char *what;        /* "namespace mode" */
	const char *numbered;    /* "POD=0, CONTAINER=1, ..." */
	const char *listed;      /* "POD, CONTAINER, ..." */
	size_t n;
	const char *names[4];
};

static const struct enum_desc ns_modes = {
	"namespace mode", "POD=0, CONTAINER=1, NODE=2, TARGET=3",
	"POD, CONTAINER, NODE, TARGET", 4, { "POD", "CONTAINER", "NODE", "TARGET" },
};

static const struct enum_desc seccomp_types = {
	"seccomp profile type", "RuntimeDefault=0, Unconfined=1, Localhost=2",
	"RuntimeDefault, Unconfined, Localhost", 3,
	{ "RuntimeDefault", "Unconfined", "Localhost" },
};

static const struct enum_desc states = {
	"sandbox state", "SANDBOX_READY=0, SANDBOX_NOTREADY=1",
	"SANDBOX_READY, SANDBOX_NOTREADY", 2, { "SANDBOX_READY", "SANDBOX_NOTREADY" },
};

struct enum_arg {
	const struct enum_desc *d;
	int *out;
};

static int val_enum(const msgpack_object *v, struct ppath *p, void *arg,
                    struct cradle_err *err)
{
	const struct enum_arg *a = arg;
	const struct enum_desc *d = a->d;
	char q[QUOTE_MAX];
	size_t i;

	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (v->via.u64 >= d->n)
			return proto_fail(err, p, "%" PRIu64 " is out of range (%s)",
			                  v->via.u64, d->numbered);
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

static int get_ns_mode(const msgpack_object *m, const char *key, struct ppath *p,
                       int *out, struct cradle_err *err)
{
	struct enum_arg a = { &ns_modes, out };

	return get_field(m, key, p, 0, val_enum, &a, err);
}

static int get_seccomp_type(const msgpack_object *m, const char *key, struct ppath *p,
                            int *out, struct cradle_err *err)
{
	struct enum_arg a = { &seccomp_types, out };

	return get_field(m, key, p, 0, val_enum, &a, err);
}

static int get_state(const msgpack_object *m, const char *key, struct ppath *p,
                     int *out, struct cradle_err *err)
{
	struct enum_arg a = { &states, out };

	return get_field(m, key, p, 0, val_enum, &a, err);
}

static int val_phase(const msgpack_object *v, struct ppath *p, void *arg,
                     struct cradle_err *err)
{
	int *out = arg;
	char q[QUOTE_MAX];
	int i;

	if (v->type != MSGPACK_OBJECT_STR)
		return expect(v, p, "string", err);
	for (i = PHASE_CREATED; i <= PHASE_EXITED; i++) {
		if (key_is(v, proto_phase_name(i), strlen(proto_phase_name(i)))) {
			*out = i;
			return 0;
		}
	}
	proto_quote(q, v->via.str.ptr, v->via.str.size);
	return proto_fail(err, p, "%s is not a sandbox phase (created, running, exited)", q);
}

static int get_phase(const msgpack_object *m, const char *key, struct ppath *p,
                     int flags, int *out, struct cradle_err *err)
{
	return get_field(m, key, p, flags, val_phase, out, err);
}

struct sub_arg {
	dec_fn fn;
	void *arg;
};

static int val_sub(const msgpack_object *v, struct ppath *p, void *arg,
                   struct cradle_err *err)
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
static int sub(const msgpack_object *m, const char *key, struct ppath *p, int flags,
               dec_fn fn, void *arg, struct cradle_err *err)
{
	struct sub_arg a = { fn, arg };

	return get_field(m, key, p, flags, val_sub, &a, err);
}

/* Find the map under key and leave the key on the path for what is decoded
 * from it.  An absent map leaves *out alone: the caller's {} stands. */
static int enter_map(const msgpack_object *m, const char *key, struct ppath *p,
                     const msgpack_object **out, struct cradle_err *err)
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

static int dec_metadata(const msgpack_object *m, struct ppath *p, void *arg,
                        struct cradle_err *err)
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

static int dec_dns(const msgpack_object *m, struct ppath *p, void *arg,
                   struct cradle_err *err)
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

static int dec_idmap(const msgpack_object *m, struct ppath *p, void *arg,
                     struct cradle_err *err)
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
	sizeof(struct proto_idmap), dec_idmap, 0, NULL, "decoding an array",
};

static int get_idmaps(const msgpack_object *m, const char *key, struct ppath *p,
                      struct proto_idmaps *out, struct cradle_err *err)
{
	return get_list(m, key, p, 0, &idmaps_list, &out->v, &out->n, err);
}

static int elem_i64(const msgpack_object *e, struct ppath *p, void *item,
                    struct cradle_err *err)
{
	struct i64_arg a = { 0, INT64_MAX, item };

	return val_i64(e, p, &a, err);
}

/* An array of int64 >= 0 (supplemental_groups). */
static const struct list_desc i64s_list = {
	sizeof(int64_t), elem_i64, 0, NULL, "decoding an array",
};

static int get_i64s(const msgpack_object *m, const char *key, struct ppath *p,
                    struct proto_i64s *out, struct cradle_err *err)
{
	return get_list(m, key, p, 0, &i64s_list, &out->v, &out->n, err);
}

static int dec_userns(const msgpack_object *m, struct ppath *p, void *arg,
                      struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	USERNS(c).present = true;
	if ((rc = get_ns_mode(m, "mode", p, &USERNS(c).mode, err)) ||
	    (rc = get_idmaps(m, "uids", p, &USERNS(c).uids, err)) ||
	    (rc = get_idmaps(m, "gids", p, &USERNS(c).gids, err)))
		return rc;
	return 0;
}

static int dec_nsopts(const msgpack_object *m, struct ppath *p, void *arg,
                      struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	if ((rc = get_ns_mode(m, "network", p,
	                      &c->linux.security_context.namespace_options.network, err)) ||
	    (rc = get_ns_mode(m, "pid", p,
	                      &c->linux.security_context.namespace_options.pid, err)) ||
	    (rc = get_ns_mode(m, "ipc", p,
	                      &c->linux.security_context.namespace_options.ipc, err)) ||
	    (rc = get_str(m, "target_id", p, F_EMPTY_NULL,
	                  &c->linux.security_context.namespace_options.target_id, err)) ||
	    (rc = sub(m, "userns_options", p, 0, dec_userns, c, err)) < 0)
		return rc;
	return 0;
}

static int dec_selinux(const msgpack_object *m, struct ppath *p, void *arg,
                       struct cradle_err *err)
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

static int dec_seccomp(const msgpack_object *m, struct ppath *p, void *arg,
                       struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	SECCTX(c).seccomp.present = true;
	if ((rc = get_seccomp_type(m, "profile_type", p, &SECCTX(c).seccomp.profile_type,
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

static int val_opt_id(const msgpack_object *v, struct ppath *p, void *arg,
                      struct cradle_err *err)
{
	const struct opt_id_arg *a = arg;
	struct i64_arg ia = { 0, INT64_MAX, a->out };
	int rc;

	rc = val_i64(v, p, &ia, err);
	if (!rc)
		*a->has = true;
	return rc;
}

static int get_opt_id(const msgpack_object *m, const char *key, struct ppath *p,
                      bool *has, int64_t *out, struct cradle_err *err)
{
	struct opt_id_arg a = { has, out };

	return get_field(m, key, p, 0, val_opt_id, &a, err);
}

static int dec_secctx(const msgpack_object *m, struct ppath *p, void *arg,
                      struct cradle_err *err)
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

static int dec_resources(const msgpack_object *m, struct ppath *p, void *arg,
                         struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	c->linux.resources.present = true;
	if ((rc = get_i64(m, "cpu_period", p, 0, INT64_MIN, INT64_MAX,
	                  &c->linux.resources.cpu_period, err)) ||
	    (rc = get_i64(m, "cpu_quota", p, 0, INT64_MIN, INT64_MAX,
	                  &c->linux.resources.cpu_quota, err)) ||
	    (rc = get_i64(m, "cpu_shares", p, 0, INT64_MIN, INT64_MAX,
	                  &c->linux.resources.cpu_shares, err)) ||
	    (rc = get_i64(m, "memory_limit_in_bytes", p, 0, INT64_MIN, INT64_MAX,
	                  &c->linux.resources.memory_limit_in_bytes, err)))
		return rc;
	return 0;
}

static int dec_linux(const msgpack_object *m, struct ppath *p, void *arg,
                     struct cradle_err *err)
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

/* Types only; the caller runs pod_config_validate() where it wants the
 * rules (requests), and not where refusing would lose state (records). */
static int dec_config(const msgpack_object *m, struct ppath *p, void *arg,
                      struct cradle_err *err)
{
	struct pod_config *c = arg;
	int rc;

	if ((rc = sub(m, "metadata", p, 0, dec_metadata, c, err)) < 0 ||
	    (rc = get_str(m, "hostname", p, F_EMPTY_NULL, &c->hostname, err)) ||
	    (rc = get_str(m, "log_directory", p, F_EMPTY_NULL, &c->log_directory, err)) ||
	    (rc = sub(m, "dns_config", p, 0, dec_dns, c, err)) < 0 ||
	    (rc = get_kvs(m, "labels", p, &c->labels, err)) ||
	    (rc = get_kvs(m, "annotations", p, &c->annotations, err)) ||
	    (rc = sub(m, "linux", p, 0, dec_linux, c, err)) < 0)
		return rc;
	return 0;
}

/* ------------------------------------------------------------------ */
/* sandbox                                                            */

static int dec_sandbox(const msgpack_object *m, struct ppath *p, void *arg,
                       struct cradle_err *err)
{
	struct proto_sandbox *s = arg;
	uint64_t pst = 0;
	int rc;

	rc = val_map(m, p, err);
	if (rc)
		return rc;
	if ((rc = get_id(m, "id", p, F_REQ, s->id, err)) ||
	    (rc = sub(m, "config", p, F_REQ, dec_config, &s->config, err)) < 0 ||
	    (rc = get_str(m, "runtime_handler", p, F_EMPTY_NULL, &s->runtime_handler, err)) ||
	    (rc = get_phase(m, "phase", p, F_REQ, &s->phase, err)) ||
	    (rc = get_i64(m, "created_at", p, 0, INT64_MIN, INT64_MAX, &s->created_at, err)) ||
	    (rc = get_i64(m, "started_at", p, 0, INT64_MIN, INT64_MAX, &s->started_at, err)) ||
	    (rc = get_i32(m, "pid", p, 0, &s->pid, err)) ||
	    (rc = get_u64(m, "pid_start_time", p, 0, UINT64_MAX, &pst, err)) ||
	    (rc = get_i32(m, "exit_status", p, 0, &s->exit_status, err)) ||
	    (rc = get_i64(m, "exited_at", p, 0, INT64_MIN, INT64_MAX, &s->exited_at, err)) ||
	    (rc = get_str(m, "netns_path", p, F_EMPTY_NULL, &s->netns_path, err)) ||
	    (rc = get_str(m, "hostname_path", p, F_EMPTY_NULL, &s->hostname_path, err)) ||
	    (rc = get_str(m, "hosts_path", p, F_EMPTY_NULL, &s->hosts_path, err)) ||
	    (rc = get_str(m, "resolv_conf_path", p, F_EMPTY_NULL, &s->resolv_conf_path, err)) ||
	    (rc = get_str(m, "shm_path", p, F_EMPTY_NULL, &s->shm_path, err)) ||
	    (rc = get_str(m, "cgroup_path", p, F_EMPTY_NULL, &s->cgroup_path, err)) ||
	    (rc = get_str(m, "process_label", p, F_EMPTY_NULL, &s->process_label, err)) ||
	    (rc = get_str(m, "mount_label", p, F_EMPTY_NULL, &s->mount_label, err)) ||
	    (rc = get_str(m, "runtime_type", p, F_EMPTY_NULL, &s->runtime_type, err)) ||
	    (rc = get_str(m, "image_ref", p, F_EMPTY_NULL, &s->image_ref, err)))
		return rc;
	s->pid_start_time = pst;
	return 0;
}

/* ------------------------------------------------------------------ */
/* image                                                              */

/* Types and sizes only: refs in replies are the daemon's, not re-judged. */
static int dec_image(const msgpack_object *m, struct ppath *p, void *arg,
                     struct cradle_err *err)
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

static int unpack(const void *buf, size_t len, msgpack_unpacked *up, struct cradle_err *err)
{
	msgpack_unpack_return ret;
	size_t off = 0;

	msgpack_unpacked_init(up);
	ret = msgpack_unpack_next(up, buf, len, &off);
	if (ret == MSGPACK_UNPACK_SUCCESS && off == len && up->data.type == MSGPACK_OBJECT_MAP)
		return 0;
	msgpack_unpacked_destroy(up);
	if (ret == MSGPACK_UNPACK_NOMEM_ERROR)
		return oom(err, "unpacking a message");
	/* the walker accepted it, so msgpack-c and it disagree */
	return proto_fail(err, NULL, "malformed msgpack (unpack returned %d)", (int)ret);
}

static int check_version(const msgpack_object *m, struct ppath *p, struct cradle_err *err)
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

static bool handler_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* Handler names select configuration and may name files: keep them plain. */
static int check_handler(const char *h, struct ppath *p, struct cradle_err *err)
{
	size_t old, i, n;
	char q[QUOTE_MAX];
	int rc = 0;

	if (!h)
		return 0;
	n = strlen(h);
	for (i = 0; i < n && handler_char(h[i]); i++)
		;
	if (i < n || n > PROTO_MAX_NAME || strcmp(h, ".") == 0 || strcmp(h, "..") == 0) {
		old = ppath_push(p, "runtime_handler");
		proto_quote(q, h, n);
		rc = proto_fail(err, p, "%s is not a valid runtime handler name (up to %d "
		                "letters, digits, '.', '_' or '-')", q, PROTO_MAX_NAME);
		ppath_pop(p, old);
	}
	return rc;
}

/* An image reference under key (already decoded into ref, NULL when
 * absent): 1..PROTO_MAX_REF bytes of docker's reference characters. */
static int check_ref(const char *ref, struct ppath *p, const char *key,
                     struct cradle_err *err)
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
		rc = proto_fail(err, p, "%s is not a valid image reference (only letters, "
		                "digits, '.', '_', ':', '/', '@' and '-')", q);
	}
	ppath_pop(p, old);
	return rc;
}

/* image.import's path: absolute, at most PROTO_MAX_IMPORT_PATH bytes (the NUL
 * and UTF-8 checks are the decoder's). */
static int check_import_path(const char *path, struct ppath *p, struct cradle_err *err)
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

static int val_op(const msgpack_object *v, struct ppath *p, void *arg,
                  struct cradle_err *err)
{
	int *out = arg;
	char q[QUOTE_MAX];
	int op;

	if (v->type != MSGPACK_OBJECT_STR)
		return expect(v, p, "string", err);
	for (op = 0; op < OP__COUNT; op++) {
		if (key_is(v, proto_op_name(op), strlen(proto_op_name(op)))) {
			*out = op;
			return 0;
		}
	}
	proto_quote(q, v->via.str.ptr, v->via.str.size);
	return proto_fail(err, p, "unknown operation %s", q);
}

static int dec_request(const msgpack_object *top, struct ppath *p, void *arg,
                       struct cradle_err *err)
{
	const msgpack_object *args = &empty_map;
	struct proto_request *req = arg;
	size_t old;
	int rc;

	rc = check_version(top, p, err);
	if (rc)
		return rc;
	rc = get_field(top, "op", p, F_REQ, val_op, &req->op, err);
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
		rc = get_str(args, "runtime_handler", p, F_EMPTY_NULL, &req->runtime_handler,
		             err);
		return rc ? rc : check_handler(req->runtime_handler, p, err);
	case OP_START:
	case OP_REMOVE:
	case OP_STATUS:
		return get_id(args, "id", p, F_REQ, req->id, err);
	case OP_STOP:
		rc = get_id(args, "id", p, F_REQ, req->id, err);
		return rc ? rc : get_i64(args, "timeout_ms", p, 0, 0, STOP_TIMEOUT_MAX,
		                         &req->timeout_ms, err);
	case OP_LIST:
		rc = get_state(args, "state", p, &req->state_filter, err);
		if (rc)
			return rc;
		rc = get_kvs(args, "labels", p, &req->label_filter, err);
		if (!rc && req->label_filter.n > PROTO_MAX_KV) {
			old = ppath_push(p, "labels");
			rc = proto_fail(err, p, "%zu entries exceed the limit of %d",
			                req->label_filter.n, PROTO_MAX_KV);
			ppath_pop(p, old);
		}
		return rc;
	case OP_IMAGE_PULL:
	case OP_IMAGE_STATUS:
	case OP_IMAGE_REMOVE:
		rc = get_str(args, "ref", p, F_REQ, &req->ref, err);
		return rc ? rc : check_ref(req->ref, p, "ref", err);
	case OP_IMAGE_IMPORT:
		rc = get_str(args, "path", p, F_REQ, &req->path, err);
		if (!rc)
			rc = check_import_path(req->path, p, err);
		if (!rc)
			rc = get_str(args, "name", p, F_EMPTY_NULL, &req->ref, err);
		return rc ? rc : check_ref(req->ref, p, "name", err);
	case OP_IMAGE_LIST:
		return 0;
	}
	return 0;
}

/* Copy a peer's error message into dst, replacing what is not UTF-8 (and
 * NUL) with '?', so a reply can always be encoded and always be read. */
static void clean_message(char *dst, size_t size, const char *src, size_t len)
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

static int val_message(const msgpack_object *v, struct ppath *p, void *arg,
                       struct cradle_err *err)
{
	struct proto_reply *rep = arg;

	if (v->type != MSGPACK_OBJECT_STR)
		return expect(v, p, "string", err);
	clean_message(rep->err.msg, sizeof(rep->err.msg), v->via.str.ptr, v->via.str.size);
	return 0;
}

static int dec_error(const msgpack_object *m, struct ppath *p, void *arg,
                     struct cradle_err *err)
{
	struct proto_reply *rep = arg;
	int64_t code = CRADLE_INTERNAL;
	int rc;

	rc = get_i64(m, "code", p, F_REQ, INT32_MIN, INT32_MAX, &code, err);
	if (rc)
		return rc;
	/* ok:false with code OK would read as success to a careless caller */
	rep->err.code = code == CRADLE_OK ? CRADLE_INTERNAL : (int)code;
	rep->err.msg[0] = '\0';
	rc = get_field(m, "message", p, 0, val_message, rep, err);
	if (rc)
		return rc;
	if (!rep->err.msg[0])
		snprintf(rep->err.msg, sizeof(rep->err.msg), "%s",
		         cradle_code_name(rep->err.code));
	return 0;
}

static int dec_status(const msgpack_object *m, struct ppath *p, void *arg,
                      struct cradle_err *err)
{
	struct proto_reply *rep = arg;
	rep->sandboxes = calloc(1, sizeof(*rep->sandboxes));
	if (!rep->sandboxes)
		return oom(err, "decoding a reply");
	pod_config_init(&rep->sandboxes[0].config);
	rep->n_sandboxes = 1;
	return dec_sandbox(m, p, &rep->sandboxes[0], err);
}

static int elem_sandbox(const msgpack_object *e, struct ppath *p, void *item,
                        struct cradle_err *err)
{
	struct proto_sandbox *s = item;

	pod_config_init(&s->config);
	return dec_sandbox(e, p, s, err);
}

static const struct list_desc sandboxes_list = {
	sizeof(struct proto_sandbox), elem_sandbox, PROTO_MAX_LIST_REPLY, "sandboxes",
	"decoding a reply",
};

static int dec_one_image(const msgpack_object *m, struct ppath *p, void *arg,
                         struct cradle_err *err)
{
	struct proto_reply *rep = arg;

	rep->images = calloc(1, sizeof(*rep->images));
	if (!rep->images)
		return oom(err, "decoding a reply");
	rep->n_images = 1;
	return dec_image(m, p, &rep->images[0], err);
}

static const struct list_desc images_list = {
	sizeof(struct proto_image), dec_image, PROTO_MAX_LIST_REPLY, "images",
	"decoding a reply",
};

static int dec_reply(const msgpack_object *top, struct ppath *p, void *arg,
                     struct cradle_err *err)
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
		rc = get_id(res, "id", p, F_REQ, rep->id, err);
		return rc ? rc : get_i64(res, "created_at", p, 0, INT64_MIN, INT64_MAX,
		                         &rep->created_at, err);
	case OP_START:
	case OP_RUN:
		if ((rc = get_id(res, "id", p, F_REQ, rep->id, err)) ||
		    (rc = get_i32(res, "pid", p, 0, &rep->pid, err)) ||
		    (rc = get_i64(res, "created_at", p, 0, INT64_MIN, INT64_MAX,
		                  &rep->created_at, err)))
			return rc;
		return 0;
	case OP_STATUS:
		rc = sub(res, "sandbox", p, F_REQ, dec_status, rep, err);
		return rc < 0 ? rc : 0;
	case OP_LIST:
		return get_list(res, "sandboxes", p, F_REQ, &sandboxes_list, &rep->sandboxes,
		                &rep->n_sandboxes, err);
	case OP_IMAGE_PULL:
	case OP_IMAGE_STATUS:
	case OP_IMAGE_IMPORT:
		rc = sub(res, "image", p, F_REQ, dec_one_image, rep, err);
		return rc < 0 ? rc : 0;
	case OP_IMAGE_LIST:
		return get_list(res, "images", p, F_REQ, &images_list, &rep->images,
		                &rep->n_images, err);
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* public decoders                                                    */

/* The frame of every public decoder: check the size, unpack, decode the
 * top map into obj with dec, release the tree.  obj is already
 * initialised; on failure fini puts it back to that state. */
static int decode_msg(const void *buf, size_t len, size_t max_msg, int list_reply,
                      dec_fn dec, void (*fini)(void *obj), void *obj,
                      struct cradle_err *err)
{
	msgpack_unpacked up;
	struct ppath p;
	int rc;

	rc = proto_bounds(buf, len, max_msg, list_reply, err);
	if (rc)
		return rc;
	rc = unpack(buf, len, &up, err);
	if (rc)
		return rc;
	ppath_init(&p, NULL);
	rc = dec(&up.data, &p, obj, err);
	msgpack_unpacked_destroy(&up);
	if (rc)
		fini(obj);
	return rc;
}

void proto_request_init(struct proto_request *req, int op)
{
	if (!req)
		return;
	memset(req, 0, sizeof(*req));
	req->op = op;
	pod_config_init(&req->config);
	req->timeout_ms = STOP_TIMEOUT_DEFAULT;
	req->state_filter = -1;
}

void proto_request_fini(struct proto_request *req)
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
}

static void reset_request(void *obj)
{
	proto_request_fini(obj);
	proto_request_init(obj, OP_VERSION);
}

int proto_request_decode(const void *buf, size_t len, struct proto_request *req,
                         struct cradle_err *err)
{
	if (!req)
		return efail(err, CRADLE_INTERNAL, "request is NULL");
	proto_request_init(req, OP_VERSION);
	return decode_msg(buf, len, PROTO_MAX_MSG, 0, dec_request, reset_request, req, err);
}

void proto_reply_init(struct proto_reply *rep, int op)
{
	if (!rep)
		return;
	memset(rep, 0, sizeof(*rep));
	rep->op = op;
	/* fail safe: a reply nobody filled in goes out as an error */
	rep->ok = false;
}

void proto_reply_fini(struct proto_reply *rep)
{
	size_t i;

	if (!rep)
		return;
	for (i = 0; i < rep->n_sandboxes && rep->sandboxes; i++)
		proto_sandbox_fini(&rep->sandboxes[i]);
	free(rep->sandboxes);
	rep->sandboxes = NULL;
	rep->n_sandboxes = 0;
	for (i = 0; i < rep->n_images && rep->images; i++)
		proto_image_fini(&rep->images[i]);
	free(rep->images);
	rep->images = NULL;
	rep->n_images = 0;
}

static void reset_reply(void *obj)
{
	struct proto_reply *rep = obj;
	int op = rep->op;

	proto_reply_fini(rep);
	proto_reply_init(rep, op);
}

int proto_reply_decode(int op, const void *buf, size_t len, struct proto_reply *rep,
                       struct cradle_err *err)
{
	int list;

	if (!rep)
		return efail(err, CRADLE_INTERNAL, "reply is NULL");
	proto_reply_init(rep, op);
	if (!proto_op_name(op))
		return proto_fail(err, NULL, "unknown operation %d", op);
	list = op == OP_LIST || op == OP_IMAGE_LIST;
	return decode_msg(buf, len, list ? PROTO_MAX_LIST_MSG : PROTO_MAX_REPLY_MSG, list,
	                  dec_reply, reset_reply, rep, err);
}

static void fini_sandbox(void *obj)
{
	proto_sandbox_fini(obj);
}

int proto_sandbox_decode(const void *buf, size_t len, struct proto_sandbox *s,
                         struct cradle_err *err)
{
	if (!s)
		return efail(err, CRADLE_INTERNAL, "sandbox is NULL");
	memset(s, 0, sizeof(*s));
	pod_config_init(&s->config);
	return decode_msg(buf, len, PROTO_MAX_REPLY_MSG, 0, dec_sandbox, fini_sandbox, s, err);
}

static void fini_image(void *obj)
{
	proto_image_fini(obj);
}

int proto_image_decode(const void *buf, size_t len, struct proto_image *img,
                       struct cradle_err *err)
{
	if (!img)
		return efail(err, CRADLE_INTERNAL, "image is NULL");
	memset(img, 0, sizeof(*img));
	return decode_msg(buf, len, PROTO_MAX_REPLY_MSG, 0, dec_image, fini_image, img, err);
}

static int dec_event(const msgpack_object *m, struct ppath *p, void *arg,
                     struct cradle_err *err)
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

static void clear_event(void *obj)
{
	memset(obj, 0, sizeof(struct proto_event));
}

int proto_event_decode(const void *buf, size_t len, struct proto_event *ev,
                       struct cradle_err *err)
{
	if (!ev)
		return efail(err, CRADLE_INTERNAL, "event is NULL");
	memset(ev, 0, sizeof(*ev));
	return decode_msg(buf, len, PROTO_MAX_REPLY_MSG, 0, dec_event, clear_event, ev, err);
}

/* ------------------------------------------------------------------ */
/* encoding                                                           */

/* Packers return 0 or -1 (the sbuffer could not grow). */
#define TRY(x)                          \
	do {                            \
		if ((x) != 0)           \
			return -1;      \
	} while (0)

static int pk_strn(msgpack_packer *pk, const char *s, size_t n)
{
	TRY(msgpack_pack_str(pk, n));
	return msgpack_pack_str_body(pk, s, n);
}

static int pk_str(msgpack_packer *pk, const char *s)
{
	return pk_strn(pk, s ? s : "", s ? strlen(s) : 0);
}

static int pk_kstr(msgpack_packer *pk, const char *key, const char *val)
{
	TRY(pk_str(pk, key));
	return pk_str(pk, val);
}

static int pk_ki64(msgpack_packer *pk, const char *key, int64_t val)
{
	TRY(pk_str(pk, key));
	return msgpack_pack_int64(pk, val);
}

static int pk_ku64(msgpack_packer *pk, const char *key, uint64_t val)
{
	TRY(pk_str(pk, key));
	return msgpack_pack_uint64(pk, val);
}

static int pk_kvs(msgpack_packer *pk, const char *key, const struct proto_kvs *kvs)
{
	size_t i;

	TRY(pk_str(pk, key));
	TRY(msgpack_pack_map(pk, kvs->n));
	for (i = 0; i < kvs->n; i++)
		TRY(pk_kstr(pk, kvs->v[i].key, kvs->v[i].value));
	return 0;
}

static int pk_strs(msgpack_packer *pk, const char *key, const struct proto_strs *l)
{
	size_t i;

	TRY(pk_str(pk, key));
	TRY(msgpack_pack_array(pk, l->n));
	for (i = 0; i < l->n; i++)
		TRY(pk_str(pk, l->v[i]));
	return 0;
}

static int pk_bool(msgpack_packer *pk, const char *key, bool val)
{
	TRY(pk_str(pk, key));
	return val ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

static int pk_idmaps(msgpack_packer *pk, const char *key, const struct proto_idmaps *l)
{
	size_t i;

	TRY(pk_str(pk, key));
	TRY(msgpack_pack_array(pk, l->n));
	for (i = 0; i < l->n; i++) {
		TRY(msgpack_pack_map(pk, 3));
		TRY(pk_ku64(pk, "host_id", l->v[i].host_id));
		TRY(pk_ku64(pk, "container_id", l->v[i].container_id));
		TRY(pk_ku64(pk, "length", l->v[i].length));
	}
	return 0;
}

static int pk_i64s(msgpack_packer *pk, const char *key, const struct proto_i64s *l)
{
	size_t i;

	TRY(pk_str(pk, key));
	TRY(msgpack_pack_array(pk, l->n));
	for (i = 0; i < l->n; i++)
		TRY(msgpack_pack_int64(pk, l->v[i]));
	return 0;
}

static bool nonempty(const char *s)
{
	return s && s[0];
}

/* What makes an optional map worth writing: given, or anything set in it. */
static bool has_userns(const struct pod_config *c)
{
	return USERNS(c).present || USERNS(c).mode || USERNS(c).uids.n || USERNS(c).gids.n;
}

static bool has_selinux(const struct pod_config *c)
{
	return nonempty(SECCTX(c).selinux_options.user) ||
	       nonempty(SECCTX(c).selinux_options.role) ||
	       nonempty(SECCTX(c).selinux_options.type) ||
	       nonempty(SECCTX(c).selinux_options.level);
}

static bool has_seccomp(const struct pod_config *c)
{
	return SECCTX(c).seccomp.present || SECCTX(c).seccomp.profile_type ||
	       nonempty(SECCTX(c).seccomp.localhost_ref);
}

static bool has_resources(const struct pod_config *c)
{
	return c->linux.resources.present || c->linux.resources.cpu_period ||
	       c->linux.resources.cpu_quota || c->linux.resources.cpu_shares ||
	       c->linux.resources.memory_limit_in_bytes;
}

static int pk_nsopts(msgpack_packer *pk, const struct pod_config *c)
{
	const char *tid = NSO(c).target_id;
	bool userns = has_userns(c);

	TRY(pk_str(pk, "namespace_options"));
	TRY(msgpack_pack_map(pk, 3 + nonempty(tid) + userns));
	TRY(pk_ki64(pk, "network", NSO(c).network));
	TRY(pk_ki64(pk, "pid", NSO(c).pid));
	TRY(pk_ki64(pk, "ipc", NSO(c).ipc));
	if (nonempty(tid))
		TRY(pk_kstr(pk, "target_id", tid));
	if (userns) {
		TRY(pk_str(pk, "userns_options"));
		TRY(msgpack_pack_map(pk, 1 + (USERNS(c).uids.n > 0) + (USERNS(c).gids.n > 0)));
		TRY(pk_ki64(pk, "mode", USERNS(c).mode));
		if (USERNS(c).uids.n)
			TRY(pk_idmaps(pk, "uids", &USERNS(c).uids));
		if (USERNS(c).gids.n)
			TRY(pk_idmaps(pk, "gids", &USERNS(c).gids));
	}
	return 0;
}

static int pk_secctx(msgpack_packer *pk, const struct pod_config *c)
{
	bool se = has_selinux(c), sc = has_seccomp(c);

	TRY(pk_str(pk, "security_context"));
	TRY(msgpack_pack_map(pk, 2 + SECCTX(c).has_run_as_user + SECCTX(c).has_run_as_group +
	                         nonempty(SECCTX(c).run_as_username) +
	                         (SECCTX(c).supplemental_groups.n > 0) +
	                         SECCTX(c).readonly_rootfs + se + sc +
	                         nonempty(SECCTX(c).seccomp_profile_path)));
	TRY(pk_nsopts(pk, c));
	TRY(pk_bool(pk, "privileged", SECCTX(c).privileged));
	if (SECCTX(c).has_run_as_user)
		TRY(pk_ki64(pk, "run_as_user", SECCTX(c).run_as_user));
	if (SECCTX(c).has_run_as_group)
		TRY(pk_ki64(pk, "run_as_group", SECCTX(c).run_as_group));
	if (nonempty(SECCTX(c).run_as_username))
		TRY(pk_kstr(pk, "run_as_username", SECCTX(c).run_as_username));
	if (SECCTX(c).supplemental_groups.n)
		TRY(pk_i64s(pk, "supplemental_groups", &SECCTX(c).supplemental_groups));
	if (SECCTX(c).readonly_rootfs)
		TRY(pk_bool(pk, "readonly_rootfs", true));
	if (se) {
		TRY(pk_str(pk, "selinux_options"));
		TRY(msgpack_pack_map(pk, nonempty(SECCTX(c).selinux_options.user) +
		                         nonempty(SECCTX(c).selinux_options.role) +
		                         nonempty(SECCTX(c).selinux_options.type) +
		                         nonempty(SECCTX(c).selinux_options.level)));
		if (nonempty(SECCTX(c).selinux_options.user))
			TRY(pk_kstr(pk, "user", SECCTX(c).selinux_options.user));
		if (nonempty(SECCTX(c).selinux_options.role))
			TRY(pk_kstr(pk, "role", SECCTX(c).selinux_options.role));
		if (nonempty(SECCTX(c).selinux_options.type))
			TRY(pk_kstr(pk, "type", SECCTX(c).selinux_options.type));
		if (nonempty(SECCTX(c).selinux_options.level))
			TRY(pk_kstr(pk, "level", SECCTX(c).selinux_options.level));
	}
	if (sc) {
		TRY(pk_str(pk, "seccomp"));
		TRY(msgpack_pack_map(pk, 1 + nonempty(SECCTX(c).seccomp.localhost_ref)));
		TRY(pk_ki64(pk, "profile_type", SECCTX(c).seccomp.profile_type));
		if (nonempty(SECCTX(c).seccomp.localhost_ref))
			TRY(pk_kstr(pk, "localhost_ref", SECCTX(c).seccomp.localhost_ref));
	}
	if (nonempty(SECCTX(c).seccomp_profile_path))
		TRY(pk_kstr(pk, "seccomp_profile_path", SECCTX(c).seccomp_profile_path));
	return 0;
}

static int pk_config(msgpack_packer *pk, const struct pod_config *c)
{
	bool dns = c->has_dns_config || c->dns_config.servers.n ||
	           c->dns_config.searches.n || c->dns_config.options.n;
	bool res = has_resources(c);

	TRY(msgpack_pack_map(pk, 2 + nonempty(c->hostname) + nonempty(c->log_directory) + dns +
	                         (c->labels.n > 0) + (c->annotations.n > 0)));
	TRY(pk_str(pk, "metadata"));
	TRY(msgpack_pack_map(pk, 1 + nonempty(c->metadata.name) + nonempty(c->metadata.uid) +
	                         nonempty(c->metadata.namespace)));
	if (nonempty(c->metadata.name))
		TRY(pk_kstr(pk, "name", c->metadata.name));
	if (nonempty(c->metadata.uid))
		TRY(pk_kstr(pk, "uid", c->metadata.uid));
	if (nonempty(c->metadata.namespace))
		TRY(pk_kstr(pk, "namespace", c->metadata.namespace));
	TRY(pk_ku64(pk, "attempt", c->metadata.attempt));
	if (nonempty(c->hostname))
		TRY(pk_kstr(pk, "hostname", c->hostname));
	if (nonempty(c->log_directory))
		TRY(pk_kstr(pk, "log_directory", c->log_directory));
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
	TRY(pk_str(pk, "linux"));
	TRY(msgpack_pack_map(pk, 1 + nonempty(c->linux.cgroup_parent) + (c->linux.sysctls.n > 0) +
	                         res));
	if (nonempty(c->linux.cgroup_parent))
		TRY(pk_kstr(pk, "cgroup_parent", c->linux.cgroup_parent));
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

static int pk_sandbox(msgpack_packer *pk, const struct proto_sandbox *s)
{
	TRY(msgpack_pack_map(pk, 10 + nonempty(s->runtime_handler) + nonempty(s->netns_path) +
	                         nonempty(s->hostname_path) + nonempty(s->hosts_path) +
	                         nonempty(s->resolv_conf_path) + nonempty(s->shm_path) +
	                         nonempty(s->cgroup_path) + nonempty(s->process_label) +
	                         nonempty(s->mount_label) + nonempty(s->runtime_type) +
	                         nonempty(s->image_ref)));
	TRY(pk_str(pk, "id"));
	TRY(pk_strn(pk, s->id, strnlen(s->id, CRADLE_ID_LEN)));
	TRY(pk_str(pk, "config"));
	TRY(pk_config(pk, &s->config));
	if (nonempty(s->runtime_handler))
		TRY(pk_kstr(pk, "runtime_handler", s->runtime_handler));
	TRY(pk_kstr(pk, "phase", proto_phase_name(s->phase)));
	TRY(pk_kstr(pk, "state", proto_state_name(proto_sandbox_state(s))));
	TRY(pk_ki64(pk, "created_at", s->created_at));
	TRY(pk_ki64(pk, "started_at", s->started_at));
	TRY(pk_ki64(pk, "pid", s->pid));
	TRY(pk_ku64(pk, "pid_start_time", s->pid_start_time));
	TRY(pk_ki64(pk, "exit_status", s->exit_status));
	TRY(pk_ki64(pk, "exited_at", s->exited_at));
	if (nonempty(s->netns_path))
		TRY(pk_kstr(pk, "netns_path", s->netns_path));
	if (nonempty(s->hostname_path))
		TRY(pk_kstr(pk, "hostname_path", s->hostname_path));
	if (nonempty(s->hosts_path))
		TRY(pk_kstr(pk, "hosts_path", s->hosts_path));
	if (nonempty(s->resolv_conf_path))
		TRY(pk_kstr(pk, "resolv_conf_path", s->resolv_conf_path));
	if (nonempty(s->shm_path))
		TRY(pk_kstr(pk, "shm_path", s->shm_path));
	if (nonempty(s->cgroup_path))
		TRY(pk_kstr(pk, "cgroup_path", s->cgroup_path));
	if (nonempty(s->process_label))
		TRY(pk_kstr(pk, "process_label", s->process_label));
	if (nonempty(s->mount_label))
		TRY(pk_kstr(pk, "mount_label", s->mount_label));
	if (nonempty(s->runtime_type))
		TRY(pk_kstr(pk, "runtime_type", s->runtime_type));
	if (nonempty(s->image_ref))
		TRY(pk_kstr(pk, "image_ref", s->image_ref));
	return 0;
}

static int pk_image(msgpack_packer *pk, const struct proto_image *img)
{
	size_t md = strnlen(img->manifest_digest, PROTO_DIGEST_MAX);
	size_t cd = strnlen(img->config_digest, PROTO_DIGEST_MAX);

	TRY(msgpack_pack_map(pk, 6 + (md > 0) + (cd > 0) + (img->labels.n > 0)));
	TRY(pk_kstr(pk, "ref", img->ref));
	if (md) {
		TRY(pk_str(pk, "manifest_digest"));
		TRY(pk_strn(pk, img->manifest_digest, md));
	}
	if (cd) {
		TRY(pk_str(pk, "config_digest"));
		TRY(pk_strn(pk, img->config_digest, cd));
	}
	TRY(pk_strs(pk, "layers", &img->layers));
	TRY(pk_ki64(pk, "size", img->size));
	if (img->labels.n)
		TRY(pk_kvs(pk, "labels", &img->labels));
	TRY(pk_bool(pk, "pinned", img->pinned));
	TRY(pk_ki64(pk, "created_at", img->created_at));
	return pk_bool(pk, "in_use", img->in_use);
}

/* What the decoder would refuse in an image must not be written. */
static int check_image(const struct proto_image *img, struct cradle_err *err)
{
	if (!nonempty(img->ref))
		return efail(err, CRADLE_INTERNAL, "image without a reference");
	if (img->size < 0)
		return efail(err, CRADLE_INTERNAL, "image %s has negative size %lld", img->ref,
		             (long long)img->size);
	return 0;
}

/* What the decoder would refuse in a record must not be written. */
static int check_sandbox(const struct proto_sandbox *s, struct cradle_err *err)
{
	char q[QUOTE_MAX];

	if (!proto_valid_id(s->id)) {
		proto_quote(q, s->id, strnlen(s->id, sizeof(s->id)));
		return efail(err, CRADLE_INTERNAL, "sandbox id %s is not valid", q);
	}
	if (s->phase < PHASE_CREATED || s->phase > PHASE_EXITED)
		return efail(err, CRADLE_INTERNAL, "sandbox %s has invalid phase %d",
		             s->id, s->phase);
	return 0;
}

/* Common tail of every encoder: undo a partial write and enforce the size
 * the peer will accept. */
static int enc_finish(msgpack_sbuffer *sbuf, size_t start, int rc, size_t max,
                      int too_big_code, const char *what, struct cradle_err *err)
{
	size_t n = sbuf->size - start;

	if (rc) {
		sbuf->size = start;
		return oom(err, what);
	}
	if (n > max) {
		sbuf->size = start;
		cradle_err_set(err, too_big_code, "%s of %zu bytes exceeds %zu", what, n, max);
		return -EMSGSIZE;
	}
	return 0;
}

static int pk_request(msgpack_packer *pk, const struct proto_request *req)
{
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
		if (nonempty(req->runtime_handler))
			TRY(pk_kstr(pk, "runtime_handler", req->runtime_handler));
		return 0;
	case OP_STOP:
		TRY(msgpack_pack_map(pk, 1 + (req->timeout_ms >= 0)));
		TRY(pk_str(pk, "id"));
		TRY(pk_strn(pk, req->id, strnlen(req->id, CRADLE_ID_LEN)));
		if (req->timeout_ms >= 0)
			TRY(pk_ki64(pk, "timeout_ms", req->timeout_ms));
		return 0;
	case OP_LIST:
		TRY(msgpack_pack_map(pk, (req->state_filter >= 0) + (req->label_filter.n > 0)));
		if (req->state_filter == STATE_READY || req->state_filter == STATE_NOTREADY)
			TRY(pk_kstr(pk, "state", proto_state_name(req->state_filter)));
		else if (req->state_filter >= 0)
			TRY(pk_ki64(pk, "state", req->state_filter));
		if (req->label_filter.n)
			TRY(pk_kvs(pk, "labels", &req->label_filter));
		return 0;
	case OP_IMAGE_PULL:
	case OP_IMAGE_STATUS:
	case OP_IMAGE_REMOVE:
		/* always written: an empty ref is the daemon's to refuse */
		TRY(msgpack_pack_map(pk, 1));
		return pk_kstr(pk, "ref", req->ref);
	case OP_IMAGE_LIST:
		return msgpack_pack_map(pk, 0);
	case OP_IMAGE_IMPORT:
		TRY(msgpack_pack_map(pk, 1 + nonempty(req->ref)));
		TRY(pk_kstr(pk, "path", req->path));
		if (nonempty(req->ref))
			TRY(pk_kstr(pk, "name", req->ref));
		return 0;
	default:        /* start, remove, status */
		TRY(msgpack_pack_map(pk, 1));
		TRY(pk_str(pk, "id"));
		return pk_strn(pk, req->id, strnlen(req->id, CRADLE_ID_LEN));
	}
}

int proto_request_encode(msgpack_sbuffer *sbuf, const struct proto_request *req,
                         struct cradle_err *err)
{
	msgpack_packer pk;
	size_t start;

	if (!sbuf || !req)
		return efail(err, CRADLE_INTERNAL, "request encode: NULL argument");
	if (!proto_op_name(req->op))
		return efail(err, CRADLE_INVALID_ARGUMENT, "unknown operation %d", req->op);
	start = sbuf->size;
	msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
	return enc_finish(sbuf, start, pk_request(&pk, req), PROTO_MAX_MSG,
	                  CRADLE_INVALID_ARGUMENT, "request", err);
}

static int pk_error(msgpack_packer *pk, const struct cradle_err *e)
{
	char msg[CRADLE_ERR_MSG_MAX];
	int code = e ? e->code : CRADLE_INTERNAL;

	if (code == CRADLE_OK)
		code = CRADLE_INTERNAL;
	msg[0] = '\0';
	if (e)
		clean_message(msg, sizeof(msg), e->msg, strnlen(e->msg, sizeof(e->msg)));
	if (!msg[0])
		snprintf(msg, sizeof(msg), "%s", cradle_code_name(code));
	TRY(msgpack_pack_map(pk, 3));
	TRY(pk_ku64(pk, "v", PROTO_VERSION));
	TRY(pk_str(pk, "ok"));
	TRY(msgpack_pack_false(pk));
	TRY(pk_str(pk, "error"));
	TRY(msgpack_pack_map(pk, 2));
	TRY(pk_ki64(pk, "code", code));
	return pk_kstr(pk, "message", msg);
}

int proto_reply_encode_error(msgpack_sbuffer *sbuf, const struct cradle_err *e)
{
	msgpack_packer pk;
	size_t start;

	if (!sbuf)
		return -EINVAL;
	start = sbuf->size;
	msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
	if (pk_error(&pk, e)) {
		sbuf->size = start;
		return -ENOMEM;
	}
	return 0;
}

static int pk_result(msgpack_packer *pk, const struct proto_reply *rep)
{
	size_t i;

	TRY(msgpack_pack_map(pk, 3));
	TRY(pk_ku64(pk, "v", PROTO_VERSION));
	TRY(pk_str(pk, "ok"));
	TRY(msgpack_pack_true(pk));
	TRY(pk_str(pk, "result"));
	switch (rep->op) {
	case OP_VERSION:
		TRY(msgpack_pack_map(pk, 3));
		TRY(pk_str(pk, "version"));
		TRY(pk_strn(pk, rep->version.version,
		            strnlen(rep->version.version, sizeof(rep->version.version) - 1)));
		TRY(pk_ku64(pk, "api_version", rep->version.api_version));
		return pk_ki64(pk, "pid", rep->version.pid);
	case OP_CREATE:
		TRY(msgpack_pack_map(pk, 2));
		TRY(pk_str(pk, "id"));
		TRY(pk_strn(pk, rep->id, strnlen(rep->id, CRADLE_ID_LEN)));
		return pk_ki64(pk, "created_at", rep->created_at);
	case OP_START:
	case OP_RUN:
		TRY(msgpack_pack_map(pk, 3));
		TRY(pk_str(pk, "id"));
		TRY(pk_strn(pk, rep->id, strnlen(rep->id, CRADLE_ID_LEN)));
		TRY(pk_ki64(pk, "pid", rep->pid));
		return pk_ki64(pk, "created_at", rep->created_at);
	case OP_STATUS:
		TRY(msgpack_pack_map(pk, 1));
		TRY(pk_str(pk, "sandbox"));
		return pk_sandbox(pk, &rep->sandboxes[0]);
	case OP_LIST:
		TRY(msgpack_pack_map(pk, 1));
		TRY(pk_str(pk, "sandboxes"));
		TRY(msgpack_pack_array(pk, rep->n_sandboxes));
		for (i = 0; i < rep->n_sandboxes; i++)
			TRY(pk_sandbox(pk, &rep->sandboxes[i]));
		return 0;
	case OP_IMAGE_PULL:
	case OP_IMAGE_STATUS:
	case OP_IMAGE_IMPORT:
		TRY(msgpack_pack_map(pk, 1));
		TRY(pk_str(pk, "image"));
		return pk_image(pk, &rep->images[0]);
	case OP_IMAGE_LIST:
		TRY(msgpack_pack_map(pk, 1));
		TRY(pk_str(pk, "images"));
		TRY(msgpack_pack_array(pk, rep->n_images));
		for (i = 0; i < rep->n_images; i++)
			TRY(pk_image(pk, &rep->images[i]));
		return 0;
	default:        /* stop, remove */
		return msgpack_pack_map(pk, 0);
	}
}

int proto_reply_encode(msgpack_sbuffer *sbuf, const struct proto_reply *rep,
                       struct cradle_err *err)
{
	msgpack_packer pk;
	size_t start, i;
	int rc;

	if (!sbuf || !rep)
		return efail(err, CRADLE_INTERNAL, "reply encode: NULL argument");
	if (!rep->ok) {
		rc = proto_reply_encode_error(sbuf, &rep->err);
		return rc ? oom(err, "encoding an error reply") : 0;
	}
	if (!proto_op_name(rep->op))
		return efail(err, CRADLE_INTERNAL, "reply for unknown operation %d", rep->op);
	if (rep->op == OP_STATUS && (rep->n_sandboxes < 1 || !rep->sandboxes))
		return efail(err, CRADLE_INTERNAL, "status reply without a sandbox");
	if (rep->op == OP_LIST) {
		if (rep->n_sandboxes && !rep->sandboxes)
			return efail(err, CRADLE_INTERNAL, "list reply without its sandboxes");
		if (rep->n_sandboxes > PROTO_MAX_LIST_REPLY)
			return efail(err, CRADLE_RESOURCE_EXHAUSTED,
			             "list reply of %zu sandboxes exceeds %d",
			             rep->n_sandboxes, PROTO_MAX_LIST_REPLY);
	}
	if (rep->op == OP_STATUS || rep->op == OP_LIST) {
		for (i = 0; i < rep->n_sandboxes && (rep->op == OP_LIST || i < 1); i++) {
			rc = check_sandbox(&rep->sandboxes[i], err);
			if (rc)
				return rc;
		}
	}
	if (rep->op == OP_IMAGE_PULL || rep->op == OP_IMAGE_STATUS ||
	    rep->op == OP_IMAGE_IMPORT) {
		if (rep->n_images < 1 || !rep->images)
			return efail(err, CRADLE_INTERNAL, "%s reply without an image",
			             proto_op_name(rep->op));
		rc = check_image(&rep->images[0], err);
		if (rc)
			return rc;
	}
	if (rep->op == OP_IMAGE_LIST) {
		if (rep->n_images && !rep->images)
			return efail(err, CRADLE_INTERNAL, "image list reply without its images");
		if (rep->n_images > PROTO_MAX_LIST_REPLY)
			return efail(err, CRADLE_RESOURCE_EXHAUSTED,
			             "image list reply of %zu images exceeds %d",
			             rep->n_images, PROTO_MAX_LIST_REPLY);
		for (i = 0; i < rep->n_images; i++) {
			rc = check_image(&rep->images[i], err);
			if (rc)
				return rc;
		}
	}
	start = sbuf->size;
	msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
	return enc_finish(sbuf, start, pk_result(&pk, rep),
	                  rep->op == OP_LIST || rep->op == OP_IMAGE_LIST ? PROTO_MAX_LIST_MSG
	                                                                 : PROTO_MAX_REPLY_MSG,
	                  CRADLE_RESOURCE_EXHAUSTED, "reply", err);
}

int proto_sandbox_encode(msgpack_sbuffer *sbuf, const struct proto_sandbox *s,
                         struct cradle_err *err)
{
	msgpack_packer pk;
	size_t start;
	int rc;

	if (!sbuf || !s)
		return efail(err, CRADLE_INTERNAL, "sandbox encode: NULL argument");
	rc = check_sandbox(s, err);
	if (rc)
		return rc;
	start = sbuf->size;
	msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
	return enc_finish(sbuf, start, pk_sandbox(&pk, s), PROTO_MAX_REPLY_MSG,
	                  CRADLE_RESOURCE_EXHAUSTED, "sandbox record", err);
}

static int pk_event(msgpack_packer *pk, const struct proto_event *ev)
{
	size_t tlen = strnlen(ev->type, sizeof(ev->type) - 1);

	if (tlen == strlen(PROTO_EVENT_IMAGE_PROGRESS) &&
	    memcmp(ev->type, PROTO_EVENT_IMAGE_PROGRESS, tlen) == 0) {
		TRY(msgpack_pack_map(pk, 5));
		TRY(pk_ku64(pk, "seq", ev->seq));
		TRY(pk_kstr(pk, "type", PROTO_EVENT_IMAGE_PROGRESS));
		TRY(pk_str(pk, "ref"));
		TRY(pk_strn(pk, ev->ref, strnlen(ev->ref, sizeof(ev->ref) - 1)));
		TRY(pk_ku64(pk, "done", ev->done));
		return pk_ki64(pk, "total", ev->total);
	}

	TRY(msgpack_pack_map(pk, 6));
	TRY(pk_ku64(pk, "seq", ev->seq));
	TRY(pk_str(pk, "type"));
	/* the only event there is today; spare every publisher the strcpy */
	if (tlen)
		TRY(pk_strn(pk, ev->type, tlen));
	else
		TRY(pk_str(pk, "sandbox.exit"));
	TRY(pk_str(pk, "id"));
	TRY(pk_strn(pk, ev->id, strnlen(ev->id, CRADLE_ID_LEN)));
	TRY(pk_ki64(pk, "pid", ev->pid));
	TRY(pk_ki64(pk, "exit_status", ev->exit_status));
	return pk_ki64(pk, "exited_at", ev->exited_at);
}

int proto_image_encode(msgpack_sbuffer *sbuf, const struct proto_image *img,
                       struct cradle_err *err)
{
	msgpack_packer pk;
	size_t start;
	int rc;

	if (!sbuf || !img)
		return efail(err, CRADLE_INTERNAL, "image encode: NULL argument");
	rc = check_image(img, err);
	if (rc)
		return rc;
	start = sbuf->size;
	msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
	return enc_finish(sbuf, start, pk_image(&pk, img), PROTO_MAX_REPLY_MSG,
	                  CRADLE_RESOURCE_EXHAUSTED, "image", err);
}

int proto_event_encode(msgpack_sbuffer *sbuf, const struct proto_event *ev,
                       struct cradle_err *err)
{
	msgpack_packer pk;
	size_t start;

	if (!sbuf || !ev)
		return efail(err, CRADLE_INTERNAL, "event encode: NULL argument");
	start = sbuf->size;
	msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
	return enc_finish(sbuf, start, pk_event(&pk, ev), PROTO_MAX_REPLY_MSG,
	                  CRADLE_RESOURCE_EXHAUSTED, "event", err);
}
