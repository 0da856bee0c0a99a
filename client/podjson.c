/* podjson.c - crictl-style PodSandboxConfig JSON into a struct pod_config
 * (behind cradle_pod_from_json), and the names of the CRI enums it reads.
 *
 * json-c builds the tree; this file walks it the way Go's encoding/json
 * would fill crictl's struct: exact key first, then a key that differs only
 * in case; null is the same as absent; unknown keys are skipped.  Only type
 * and shape are checked here (each failure names its field path), and what
 * a value means is left to pod_config_validate() so the CLI and the daemon
 * refuse the same configs with the same words.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client/podjson.h"

/* --- field paths ---------------------------------------------------- */

/* Same spelling as proto's paths ("linux.sysctls[\"net.ipv4.x\"]") so a
 * message reads alike whichever side refused the config.  Long paths are
 * cut: they only feed messages, which are bounded anyway. */
struct jpath {
	char s[256];
	size_t len;
};

static void
jp_append(struct jpath *p, const char *t, size_t n)
{
	size_t room = sizeof(p->s) - 1 - p->len;

	if (n > room)
		n = room;
	memcpy(p->s + p->len, t, n);
	p->len += n;
	p->s[p->len] = '\0';
}

static size_t
jp_push(struct jpath *p, const char *key)
{
	size_t old = p->len;

	if (p->len)
		jp_append(p, ".", 1);
	jp_append(p, key, strlen(key));
	return old;
}

static bool
plain_key(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	}
	return n > 0 && n <= 64;
}

/* A key chosen by the user: ".key" when it is a plain word, else
 * ["key"] JSON-escaped (label keys like "app.kubernetes.io/name"). */
static size_t
jp_push_key(struct jpath *p, const char *key)
{
	size_t old = p->len;
	json_object *s;
	const char *q;

	if (plain_key(key))
		return jp_push(p, key);
	s = json_object_new_string(key);
	q = s ? json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN |
	                                                  JSON_C_TO_STRING_NOSLASHESCAPE)
	      : "\"?\"";
	jp_append(p, "[", 1);
	jp_append(p, q, strlen(q) > 64 ? 64 : strlen(q));
	if (strlen(q) > 64)
		jp_append(p, "...", 3);
	jp_append(p, "]", 1);
	json_object_put(s);
	return old;
}

static size_t
jp_push_index(struct jpath *p, size_t i)
{
	size_t old = p->len;
	char buf[32];

	snprintf(buf, sizeof(buf), "[%zu]", i);
	jp_append(p, buf, strlen(buf));
	return old;
}

static void
jp_pop(struct jpath *p, size_t len)
{
	p->len = len;
	p->s[len] = '\0';
}

__attribute__((format(printf, 3, 4))) static int
jfail(struct cradle_err *err, const struct jpath *p, const char *fmt, ...)
{
	char what[CRADLE_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (p->len)
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: %s", p->s, what);
	else
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s", what);
	return -EINVAL;
}

/* What the user wrote, for "got ...": scalars as JSON text (shortened),
 * containers by kind. */
static const char *
describe(json_object *v, char buf[80])
{
	const char *s;
	size_t n;

	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	default:
		break;
	}
	s = json_object_to_json_string_ext(v,
	                                   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	n = strlen(s);
	if (n < 80) {
		memcpy(buf, s, n + 1);
	} else {
		memcpy(buf, s, 72);
		memcpy(buf + 72, "...", 4);
	}
	return buf;
}

static int
expected(struct cradle_err *err, const struct jpath *p, const char *want, json_object *got)
{
	char buf[80];

	return jfail(err, p, "expected %s, got %s", want, describe(got, buf));
}

/* --- typed field access ------------------------------------------- */

/* Value of key in obj, as Go's encoding/json matches it: exact name, else
 * the first key equal ignoring case.  NULL when absent or null. */
static json_object *
field(json_object *obj, const char *key)
{
	struct json_object_iter it;
	json_object *v;

	if (json_object_object_get_ex(obj, key, &v))
		return v;
	json_object_object_foreachC(obj, it) {
		if (strcasecmp(it.key, key) == 0)
			return it.val;
	}
	return NULL;
}

static int
take_string(json_object *v, const struct jpath *p, char **out, struct cradle_err *err)
{
	const char *s;
	size_t n;

	if (!json_object_is_type(v, json_type_string))
		return expected(err, p, "a string", v);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	/* "\u0000" would silently cut the C string short */
	if (memchr(s, '\0', n))
		return jfail(err, p, "contains a NUL character");
	if (n > PROTO_MAX_STR)
		return jfail(err, p, "string of %zu bytes exceeds the limit of %d", n,
		             PROTO_MAX_STR);
	*out = strdup(s);
	if (!*out)
		return cradle_err_errno(err, ENOMEM, "%s", p->s);
	return 0;
}

/* Optional string field: absent/null leaves *out alone. */
static int
get_string(json_object *obj, const char *key, struct jpath *p, char **out, struct cradle_err *err)
{
	json_object *v = field(obj, key);
	size_t old;
	int rc;

	if (!v)
		return 0;
	old = jp_push(p, key);
	free(*out);
	*out = NULL;
	rc = take_string(v, p, out, err);
	jp_pop(p, old);
	return rc;
}

static int
get_bool(json_object *obj, const char *key, struct jpath *p, bool *out, struct cradle_err *err)
{
	json_object *v = field(obj, key);
	size_t old;
	int rc = 0;

	if (!v)
		return 0;
	old = jp_push(p, key);
	if (!json_object_is_type(v, json_type_boolean))
		rc = expected(err, p, "true or false", v);
	else
		*out = json_object_get_boolean(v);
	jp_pop(p, old);
	return rc;
}

/* An integer in [min, max]; JSON reals (1.0, 1e3) are refused as Go does
 * for integer fields. */
static int
take_int(json_object *v, const struct jpath *p, int64_t min, int64_t max, int64_t *out,
         struct cradle_err *err)
{
	char want[80];
	int64_t n;

	if (min == INT64_MIN && max == INT64_MAX)
		snprintf(want, sizeof(want), "an integer");
	else
		snprintf(want, sizeof(want), "an integer %" PRId64 "..%" PRId64, min, max);
	if (!json_object_is_type(v, json_type_int))
		return expected(err, p, want, v);
	/* json-c clamps values beyond int64 to its ends, which the range
	 * check below refuses unless the range is all of int64; above
	 * INT64_MAX its uint64 view still tells (below INT64_MIN nothing
	 * does) */
	n = json_object_get_int64(v);
	if (n < min || n > max ||
	    (n == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX))
		return expected(err, p, want, v);
	*out = n;
	return 0;
}

/* Optional object: absent/null gives *out = NULL. */
static int
get_object(json_object *obj, const char *key, struct jpath *p, json_object **out,
           struct cradle_err *err)
{
	json_object *v = field(obj, key);
	size_t old;
	int rc = 0;

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_object)) {
		old = jp_push(p, key);
		rc = expected(err, p, "an object", v);
		jp_pop(p, old);
		return rc;
	}
	*out = v;
	return 0;
}

/* The frame every array field shares: look the key up, name it in the
 * path, check it is an array (and at most max entries when max > 0), let
 * begin(n) prepare the destination, then hand each element, its index in
 * the path, to each(); the first error stops the walk. */
static int
get_array(json_object *obj, const char *key, struct jpath *p, const char *what, size_t max,
          int (*begin)(size_t n, void *arg),
          int (*each)(json_object *e, struct jpath *p, size_t i, void *arg, struct cradle_err *err),
          void *arg, struct cradle_err *err)
{
	json_object *v = field(obj, key);
	size_t old, n;
	int rc = 0;

	if (!v)
		return 0;
	old = jp_push(p, key);
	if (!json_object_is_type(v, json_type_array)) {
		rc = expected(err, p, what, v);
		goto out;
	}
	n = json_object_array_length(v);
	/* bound before copying: the validator would refuse it anyway */
	if (max > 0 && n > max) {
		rc = jfail(err, p, "%zu entries exceed the limit of %zu", n, max);
		goto out;
	}
	if (begin(n, arg) < 0) {
		rc = cradle_err_errno(err, ENOMEM, "%s", p->s);
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		size_t o2 = jp_push_index(p, i);
		rc = each(json_object_array_get_idx(v, i), p, i, arg, err);
		jp_pop(p, o2);
	}
out:
	jp_pop(p, old);
	return rc;
}

static int
strings_begin(size_t n, void *arg)
{
	(void)n;
	proto_strs_fini(arg);
	return 0;
}

static int
strings_each(json_object *e, struct jpath *p, size_t i, void *arg, struct cradle_err *err)
{
	char *s = NULL;
	int rc;

	(void)i;
	rc = e ? take_string(e, p, &s, err) : expected(err, p, "a string", e);
	if (!rc && proto_strs_add(arg, s) < 0)
		rc = cradle_err_errno(err, ENOMEM, "%s", p->s);
	free(s);
	return rc;
}

/* Array of strings (dns servers, searches, options). */
static int
get_strings(json_object *obj, const char *key, struct jpath *p, struct proto_strs *out,
            struct cradle_err *err)
{
	return get_array(obj, key, p, "an array of strings", PROTO_MAX_KV, strings_begin,
	                 strings_each, out, err);
}

/* Object of string values (labels, annotations, sysctls): Go's
 * map[string]string refuses any other value type. */
static int
get_map(json_object *obj, const char *key, struct jpath *p, struct proto_kvs *out,
        struct cradle_err *err)
{
	json_object *v = field(obj, key);
	struct json_object_iter it;
	size_t old, o2, n;
	char *s;
	int rc = 0;

	if (!v)
		return 0;
	old = jp_push(p, key);
	if (!json_object_is_type(v, json_type_object)) {
		rc = expected(err, p, "an object of strings", v);
		goto out;
	}
	n = (size_t)json_object_object_length(v);
	/* proto_kvs_add is linear per key: bound the count first */
	if (n > PROTO_MAX_KV) {
		rc = jfail(err, p, "%zu entries exceed the limit of %d", n, PROTO_MAX_KV);
		goto out;
	}
	proto_kvs_fini(out);
	json_object_object_foreachC(v, it) {
		o2 = jp_push_key(p, it.key);
		s = NULL;
		if (!it.val)
			rc = expected(err, p, "a string", it.val);
		else
			rc = take_string(it.val, p, &s, err);
		if (!rc && proto_kvs_add(out, it.key, s) < 0)
			rc = cradle_err_errno(err, ENOMEM, "%s", p->s);
		free(s);
		jp_pop(p, o2);
		if (rc)
			break;
	}
out:
	jp_pop(p, old);
	return rc;
}

/* --- the PodSandboxConfig shape ------------------------------------ */

static const char *const ns_names[] = {
	[NS_POD] = "POD",
	[NS_CONTAINER] = "CONTAINER",
	[NS_NODE] = "NODE",
	[NS_TARGET] = "TARGET",
};

static const char *const seccomp_names[] = {
	[SECCOMP_PROFILE_RUNTIME_DEFAULT] = "RuntimeDefault",
	[SECCOMP_PROFILE_UNCONFINED] = "Unconfined",
	[SECCOMP_PROFILE_LOCALHOST] = "Localhost",
};

#define N_NAMES(names) (sizeof(names) / sizeof((names)[0]))

const char *
podjson_ns_mode_name(int mode)
{
	return mode >= 0 && (size_t)mode < N_NAMES(ns_names) ? ns_names[mode] : NULL;
}

const char *
podjson_seccomp_type_name(int type)
{
	return type >= 0 && (size_t)type < N_NAMES(seccomp_names) ? seccomp_names[type] : NULL;
}

/* A CRI enum: crictl's JSON has the number, protobuf's JSON form has the
 * name (any case here); take both.  names[i] is value i. */
static int
get_enum(json_object *obj, const char *key, struct jpath *p, const char *const *names, size_t n,
         const char *want, int *out, struct cradle_err *err)
{
	json_object *v = field(obj, key);
	const char *s;
	size_t old, i;
	int rc = 0;

	if (!v)
		return 0;
	old = jp_push(p, key);
	if (json_object_is_type(v, json_type_int)) {
		int64_t x = json_object_get_int64(v);

		if (x >= 0 && x < (int64_t)n)
			*out = (int)x;
		else
			rc = expected(err, p, want, v);
	} else if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		for (i = 0; i < n; i++) {
			if (strcasecmp(s, names[i]) == 0 &&
			    strlen(s) == (size_t)json_object_get_string_len(v))
				break;
		}
		if (i < n)
			*out = (int)i;
		else
			rc = expected(err, p, want, v);
	} else {
		rc = expected(err, p, want, v);
	}
	jp_pop(p, old);
	return rc;
}

static int
get_ns_mode(json_object *obj, const char *key, struct jpath *p, int *out, struct cradle_err *err)
{
	return get_enum(obj, key, p, ns_names, N_NAMES(ns_names),
	                "a namespace mode (0-3 or POD/CONTAINER/NODE/TARGET)", out, err);
}

static int
get_seccomp_type(json_object *obj, const char *key, struct jpath *p, int *out,
                 struct cradle_err *err)
{
	return get_enum(obj, key, p, seccomp_names, N_NAMES(seccomp_names),
	                "a seccomp profile type (0-2 or RuntimeDefault/Unconfined/Localhost)", out,
	                err);
}

/* run_as_user, run_as_group: crictl writes protobuf's Int64Value wrapper
 * as {"value": N} ({} and {"value": null} are 0, as Go reads them); a bare
 * integer is taken too.  Either sets *has.  The range (>= 0) is the
 * validator's, so the CLI and the daemon say it alike. */
static int
get_id_value(json_object *obj, const char *key, struct jpath *p, bool *has, int64_t *out,
             struct cradle_err *err)
{
	json_object *v = field(obj, key), *inner;
	size_t old;
	int64_t n = 0;
	int rc = 0;

	if (!v)
		return 0;
	old = jp_push(p, key);
	if (json_object_is_type(v, json_type_int)) {
		rc = take_int(v, p, INT64_MIN, INT64_MAX, &n, err);
	} else if (json_object_is_type(v, json_type_object)) {
		inner = field(v, "value");
		if (inner) {
			jp_push(p, "value");
			rc = take_int(inner, p, INT64_MIN, INT64_MAX, &n, err);
		}
	} else {
		rc = expected(err, p, "an integer or {\"value\": integer}", v);
	}
	if (!rc) {
		*has = true;
		*out = n;
	}
	jp_pop(p, old);
	return rc;
}

/* An array of fixed-size elements (supplemental groups, id mappings):
 * begin allocates all n slots, each fills slot i and counts it. */
struct slots {
	void *v;
	size_t n, size;
};

static int
slots_begin(size_t n, void *arg)
{
	struct slots *s = arg;

	s->v = calloc(n ? n : 1, s->size);
	return s->v ? 0 : -1;
}

/* Walk the array under key into a new block of elements of size bytes:
 * returns it (NULL when the key is absent or on failure) with *n filled
 * and *rc the result.  The caller's typed array (of a fresh config) takes
 * it over. */
static void *
get_slots(json_object *obj, const char *key, struct jpath *p, const char *what, size_t size,
          int (*each)(json_object *e, struct jpath *p, size_t i, void *arg, struct cradle_err *err),
          size_t *n, int *rc, struct cradle_err *err)
{
	struct slots s = { .size = size };

	*rc = get_array(obj, key, p, what, 0, slots_begin, each, &s, err);
	if (*rc) {
		free(s.v);
		s.v = NULL;
		s.n = 0;
	}
	*n = s.n;
	return s.v;
}

static int
i64s_each(json_object *e, struct jpath *p, size_t i, void *arg, struct cradle_err *err)
{
	struct slots *s = arg;
	int64_t *v = s->v;
	int rc = e ? take_int(e, p, INT64_MIN, INT64_MAX, &v[i], err)
	           : expected(err, p, "an integer", e);
	if (!rc)
		s->n++;
	return rc;
}

/* Array of int64 (supplemental_groups); the count and the sign are the
 * validator's rules. */
static int
get_int64s(json_object *obj, const char *key, struct jpath *p, struct proto_i64s *out,
           struct cradle_err *err)
{
	int rc;

	out->v = get_slots(obj, key, p, "an array of integers", sizeof(*out->v), i64s_each, &out->n,
	                   &rc, err);
	return rc;
}

/* An integer field of an object in [min, max] into *n; *n untouched when
 * the field is absent. */
static int
get_ranged(json_object *obj, const char *key, struct jpath *p, int64_t min, int64_t max, int64_t *n,
           struct cradle_err *err)
{
	json_object *v = field(obj, key);
	size_t old;
	int rc;

	if (!v)
		return 0;
	old = jp_push(p, key);
	rc = take_int(v, p, min, max, n, err);
	jp_pop(p, old);
	return rc;
}

/* A uint32 field of an object. */
static int
get_u32(json_object *obj, const char *key, struct jpath *p, uint32_t *out, struct cradle_err *err)
{
	int64_t n = *out;
	int rc = get_ranged(obj, key, p, 0, UINT32_MAX, &n, err);

	*out = (uint32_t)n;
	return rc;
}

static int
idmaps_each(json_object *e, struct jpath *p, size_t i, void *arg, struct cradle_err *err)
{
	struct slots *s = arg;
	struct proto_idmap *v = s->v;
	int rc;

	if (!e || !json_object_is_type(e, json_type_object))
		return expected(err, p, "an object", e);
	if (!(rc = get_u32(e, "host_id", p, &v[i].host_id, err)) &&
	    !(rc = get_u32(e, "container_id", p, &v[i].container_id, err)) &&
	    !(rc = get_u32(e, "length", p, &v[i].length, err)))
		s->n++;
	return rc;
}

/* [{"host_id": .., "container_id": .., "length": ..}, ...] (CRI IDMapping);
 * the count is the validator's rule. */
static int
get_idmaps(json_object *obj, const char *key, struct jpath *p, struct proto_idmaps *out,
           struct cradle_err *err)
{
	int rc;

	out->v = get_slots(obj, key, p, "an array of objects", sizeof(*out->v), idmaps_each,
	                   &out->n, &rc, err);
	return rc;
}

/* An int32 field of an object; the range is the validator's rule. */
static int
get_i32(json_object *obj, const char *key, struct jpath *p, int32_t *out, struct cradle_err *err)
{
	int64_t n = *out;
	int rc = get_ranged(obj, key, p, INT32_MIN, INT32_MAX, &n, err);

	*out = (int32_t)n;
	return rc;
}

static const char *const protocol_names[] = { "TCP", "UDP", "SCTP" };

static int
ports_each(json_object *e, struct jpath *p, size_t i, void *arg, struct cradle_err *err)
{
	struct slots *s = arg;
	struct proto_port_mapping *v = s->v;
	int rc;

	if (!e || !json_object_is_type(e, json_type_object))
		return expected(err, p, "an object", e);
	/* counted first: the owner's fini frees a host_ip read before a
	 * later field failed */
	s->n++;
	if (!(rc = get_enum(e, "protocol", p, protocol_names, N_NAMES(protocol_names),
	                    "a protocol (0-2 or TCP/UDP/SCTP)", &v[i].protocol, err)) &&
	    !(rc = get_i32(e, "container_port", p, &v[i].container_port, err)) &&
	    !(rc = get_i32(e, "host_port", p, &v[i].host_port, err)))
		rc = get_string(e, "host_ip", p, &v[i].host_ip, err);
	if (!rc && v[i].host_ip != NULL && v[i].host_ip[0] == '\0') {
		free(v[i].host_ip); /* "": every address, as absent */
		v[i].host_ip = NULL;
	}
	return rc;
}

/* "port_mappings": [{"protocol": 0, "container_port": 80, "host_port":
 * 8080, "host_ip": ""}, ...] (CRI PortMapping); ranges and count are the
 * validator's rules. */
static int
get_port_mappings(json_object *obj, const char *key, struct jpath *p,
                  struct proto_port_mappings *out, struct cradle_err *err)
{
	struct slots s = { .size = sizeof(*out->v) };
	int rc = get_array(obj, key, p, "an array of objects", 0, slots_begin, ports_each, &s, err);
	struct proto_port_mapping *v = s.v;

	if (rc) {
		for (size_t i = 0; i < s.n; i++)
			free(v[i].host_ip);
		free(v);
		v = NULL;
		s.n = 0;
	}
	out->v = v;
	out->n = s.n;
	return rc;
}

static int
dec_metadata(json_object *obj, struct jpath *p, struct pod_config *c, struct cradle_err *err)
{
	json_object *m, *v;
	int64_t n;
	size_t old;
	int rc;

	if ((rc = get_object(obj, "metadata", p, &m, err)) || !m)
		return rc;
	old = jp_push(p, "metadata");
	if ((rc = get_string(m, "name", p, &c->metadata.name, err)) ||
	    (rc = get_string(m, "uid", p, &c->metadata.uid, err)) ||
	    (rc = get_string(m, "namespace", p, &c->metadata.namespace, err)))
		goto out;
	if ((v = field(m, "attempt"))) {
		jp_push(p, "attempt");
		if ((rc = take_int(v, p, 0, UINT32_MAX, &n, err)) == 0)
			c->metadata.attempt = (uint32_t)n;
	}
	/* The validator reports an all-empty metadata as missing altogether;
	 * for "metadata": {} name the first field that is missing instead. */
	if (!rc && !c->metadata.name && !c->metadata.uid && !c->metadata.namespace) {
		jp_pop(p, old);
		jp_push(p, "metadata");
		jp_push(p, "name");
		rc = jfail(err, p, "required field is missing");
	}
out:
	jp_pop(p, old);
	return rc;
}

static int
dec_dns(json_object *obj, struct jpath *p, struct pod_config *c, struct cradle_err *err)
{
	json_object *d;
	size_t old;
	int rc;

	if ((rc = get_object(obj, "dns_config", p, &d, err)) || !d)
		return rc;
	c->has_dns_config = true;
	old = jp_push(p, "dns_config");
	if (!(rc = get_strings(d, "servers", p, &c->dns_config.servers, err)) &&
	    !(rc = get_strings(d, "searches", p, &c->dns_config.searches, err)))
		rc = get_strings(d, "options", p, &c->dns_config.options, err);
	jp_pop(p, old);
	return rc;
}

#define SC(c) ((c)->linux.security_context)
#define NSO(c) ((c)->linux.security_context.namespace_options)

static int
dec_namespace_options(json_object *sc, struct jpath *p, struct pod_config *c,
                      struct cradle_err *err)
{
	json_object *ns, *us;
	size_t old, o2;
	int rc;

	if ((rc = get_object(sc, "namespace_options", p, &ns, err)) || !ns)
		return rc;
	old = jp_push(p, "namespace_options");
	if ((rc = get_ns_mode(ns, "network", p, &NSO(c).network, err)) ||
	    (rc = get_ns_mode(ns, "pid", p, &NSO(c).pid, err)) ||
	    (rc = get_ns_mode(ns, "ipc", p, &NSO(c).ipc, err)) ||
	    (rc = get_string(ns, "target_id", p, &NSO(c).target_id, err)) ||
	    (rc = get_object(ns, "userns_options", p, &us, err)) || !us)
		goto out;
	NSO(c).userns_options.present = true;
	o2 = jp_push(p, "userns_options");
	if (!(rc = get_ns_mode(us, "mode", p, &NSO(c).userns_options.mode, err)) &&
	    !(rc = get_idmaps(us, "uids", p, &NSO(c).userns_options.uids, err)))
		rc = get_idmaps(us, "gids", p, &NSO(c).userns_options.gids, err);
	jp_pop(p, o2);
out:
	jp_pop(p, old);
	return rc;
}

static int
dec_selinux_options(json_object *sc, struct jpath *p, struct pod_config *c, struct cradle_err *err)
{
	json_object *se;
	size_t old;
	int rc;

	if ((rc = get_object(sc, "selinux_options", p, &se, err)) || !se)
		return rc;
	old = jp_push(p, "selinux_options");
	if (!(rc = get_string(se, "user", p, &SC(c).selinux_options.user, err)) &&
	    !(rc = get_string(se, "role", p, &SC(c).selinux_options.role, err)) &&
	    !(rc = get_string(se, "type", p, &SC(c).selinux_options.type, err)))
		rc = get_string(se, "level", p, &SC(c).selinux_options.level, err);
	jp_pop(p, old);
	return rc;
}

static int
dec_seccomp(json_object *sc, struct jpath *p, struct pod_config *c, struct cradle_err *err)
{
	json_object *s;
	size_t old;
	int rc;

	if ((rc = get_object(sc, "seccomp", p, &s, err)) || !s)
		return rc;
	SC(c).seccomp.present = true;
	old = jp_push(p, "seccomp");
	if (!(rc = get_seccomp_type(s, "profile_type", p, &SC(c).seccomp.profile_type, err)))
		rc = get_string(s, "localhost_ref", p, &SC(c).seccomp.localhost_ref, err);
	jp_pop(p, old);
	return rc;
}

static int
dec_security_context(json_object *lnx, struct jpath *p, struct pod_config *c,
                     struct cradle_err *err)
{
	json_object *sc, *ignored;
	size_t old;
	int rc;

	if ((rc = get_object(lnx, "security_context", p, &sc, err)) || !sc)
		return rc;
	old = jp_push(p, "security_context");
	if ((rc = dec_namespace_options(sc, p, c, err)) ||
	    (rc = get_bool(sc, "privileged", p, &SC(c).privileged, err)) ||
	    (rc = get_id_value(sc, "run_as_user", p, &SC(c).has_run_as_user, &SC(c).run_as_user,
	                       err)) ||
	    (rc = get_id_value(sc, "run_as_group", p, &SC(c).has_run_as_group, &SC(c).run_as_group,
	                       err)) ||
	    (rc = get_string(sc, "run_as_username", p, &SC(c).run_as_username, err)) ||
	    (rc = get_int64s(sc, "supplemental_groups", p, &SC(c).supplemental_groups, err)) ||
	    (rc = get_bool(sc, "readonly_rootfs", p, &SC(c).readonly_rootfs, err)) ||
	    (rc = dec_selinux_options(sc, p, c, err)) || (rc = dec_seccomp(sc, p, c, err)) ||
	    (rc = get_string(sc, "seccomp_profile_path", p, &SC(c).seccomp_profile_path, err)))
		goto out;
	/* accepted and not used; its shape is still checked */
	rc = get_object(sc, "apparmor", p, &ignored, err);
out:
	jp_pop(p, old);
	return rc;
}

/* linux.resources: CRI LinuxContainerResources, the fields cradle keeps;
 * the others are skipped like any unknown key. */
static int
dec_resources(json_object *lnx, struct jpath *p, struct pod_config *c, struct cradle_err *err)
{
	static const char *const keys[] = {
		"cpu_period",
		"cpu_quota",
		"cpu_shares",
		"memory_limit_in_bytes",
	};
	int64_t *const outs[] = {
		&c->linux.resources.cpu_period,
		&c->linux.resources.cpu_quota,
		&c->linux.resources.cpu_shares,
		&c->linux.resources.memory_limit_in_bytes,
	};
	json_object *r, *v;
	size_t old, o2, i;
	int rc;

	if ((rc = get_object(lnx, "resources", p, &r, err)) || !r)
		return rc;
	c->linux.resources.present = true;
	old = jp_push(p, "resources");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && !rc; i++) {
		if (!(v = field(r, keys[i])))
			continue;
		o2 = jp_push(p, keys[i]);
		rc = take_int(v, p, INT64_MIN, INT64_MAX, outs[i], err);
		jp_pop(p, o2);
	}
	jp_pop(p, old);
	return rc;
}

static int
dec_linux(json_object *obj, struct jpath *p, struct pod_config *c, struct cradle_err *err)
{
	json_object *lnx;
	size_t old;
	int rc;

	if ((rc = get_object(obj, "linux", p, &lnx, err)) || !lnx)
		return rc;
	old = jp_push(p, "linux");
	if (!(rc = get_string(lnx, "cgroup_parent", p, &c->linux.cgroup_parent, err)) &&
	    !(rc = get_map(lnx, "sysctls", p, &c->linux.sysctls, err)) &&
	    !(rc = dec_security_context(lnx, p, c, err)))
		rc = dec_resources(lnx, p, c, err);
	jp_pop(p, old);
	return rc;
}

static int
dec_config(json_object *top, struct pod_config *c, struct cradle_err *err)
{
	struct jpath p = { .s = "", .len = 0 };
	int rc;

	if (!json_object_is_type(top, json_type_object))
		return expected(err, &p, "a JSON object (PodSandboxConfig) at the top level", top);
	if ((rc = dec_metadata(top, &p, c, err)) ||
	    (rc = get_string(top, "hostname", &p, &c->hostname, err)) ||
	    (rc = get_string(top, "log_directory", &p, &c->log_directory, err)) ||
	    (rc = dec_dns(top, &p, c, err)) || (rc = get_map(top, "labels", &p, &c->labels, err)) ||
	    (rc = get_map(top, "annotations", &p, &c->annotations, err)) ||
	    (rc = get_port_mappings(top, "port_mappings", &p, &c->port_mappings, err)) ||
	    (rc = dec_linux(top, &p, c, err)))
		return rc;
	return 0;
}

/* --- entry points -------------------------------------------------- */

static void
line_col(const char *text, size_t off, size_t *line, size_t *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* json-c keeps a top-level number open at the end of its input, waiting
 * for more digits; parse from a NUL-terminated copy and hand json-c the
 * terminator so every value is complete at the end of the text. */
static int
parse_json(const char *text, size_t len, json_object **out, struct cradle_err *err)
{
	enum json_tokener_error jerr;
	struct json_tokener *tok;
	json_object *obj;
	size_t off, line, col;
	const char *nul;
	char *copy;
	int rc = 0;

	*out = NULL;
	nul = memchr(text, '\0', len);
	if (nul) {
		line_col(text, (size_t)(nul - text), &line, &col);
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid JSON at line %zu, column %zu: NUL byte in the text",
		                      line, col);
	}
	copy = malloc(len + 1);
	tok = json_tokener_new_ex(PODJSON_MAX_DEPTH);
	if (!copy || !tok) {
		free(copy);
		if (tok)
			json_tokener_free(tok);
		return cradle_err_errno(err, ENOMEM, "parsing JSON");
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	/* strict: no comments, no single quotes, nothing after the value;
	 * crictl (Go's encoding/json) refuses those too */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, copy, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if (jerr != json_tokener_success) {
		off = json_tokener_get_parse_end(tok);
		if (off > len)
			off = len;
		line_col(copy, off, &line, &col);
		if (jerr == json_tokener_continue)
			rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                    "invalid JSON at line %zu, column %zu: "
			                    "unexpected end of input",
			                    line, col);
		else
			rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                    "invalid JSON at line %zu, column %zu: %s", line, col,
			                    json_tokener_error_desc(jerr));
		json_object_put(obj);
	} else if (!obj) {
		/* the text was "null" */
		rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                    "expected a JSON object "
		                    "(PodSandboxConfig) at the top level, got null");
	} else {
		*out = obj;
	}
	json_tokener_free(tok);
	free(copy);
	return rc < 0 ? -EINVAL : 0;
}

int
podjson_parse(const char *text, size_t len, struct pod_config *out, struct cradle_err *err)
{
	json_object *top;
	int rc;

	pod_config_init(out);
	if (!text)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "no pod config given");
	if (len > PODJSON_MAX_BYTES)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "pod config of %zu bytes exceeds the limit of %u bytes", len,
		                      PODJSON_MAX_BYTES);
	rc = parse_json(text, len, &top, err);
	if (rc)
		return rc;
	rc = dec_config(top, out, err);
	json_object_put(top);
	if (!rc)
		rc = pod_config_validate(out, "", err);
	if (rc) {
		pod_config_fini(out);
		return rc < 0 ? rc : -EINVAL;
	}
	return 0;
}

/* Read at most PODJSON_MAX_BYTES + 1 bytes, so an oversized file is
 * recognised without reading all of it (stat is no help for pipes). */
static int
read_bounded(int fd, char **buf, size_t *len)
{
	size_t cap = PODJSON_MAX_BYTES + 1, n = 0;
	char *b;
	ssize_t r;

	b = malloc(cap);
	if (!b)
		return -ENOMEM;
	while (n < cap) {
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(b);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

int
podjson_parse_file(const char *path, struct pod_config *out, struct cradle_err *err)
{
	struct stat st;
	size_t len = 0;
	char *buf = NULL;
	int fd, rc;

	pod_config_init(out);
	if (!path || !path[0])
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "no pod config file given");
	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return cradle_err_errno(err, errno, "cannot open pod config \"%s\"", path);
	}
	if (fstat(fd, &st) < 0) {
		rc = cradle_err_errno(err, errno, "cannot read pod config \"%s\"", path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = cradle_err_errno(err, EISDIR, "cannot read pod config \"%s\"", path);
		goto out;
	}
	/* refuse a large regular file before reading it */
	if (S_ISREG(st.st_mode) && st.st_size > PODJSON_MAX_BYTES) {
		rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                    "pod config \"%s\": file of %lld bytes exceeds the "
		                    "limit of %u bytes",
		                    path, (long long)st.st_size, PODJSON_MAX_BYTES);
		goto out;
	}
	rc = read_bounded(fd, &buf, &len);
	if (rc < 0) {
		rc = cradle_err_errno(err, -rc, "cannot read pod config \"%s\"", path);
		goto out;
	}
	if (len > PODJSON_MAX_BYTES) {
		rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                    "pod config \"%s\": more than the limit of %u bytes", path,
		                    PODJSON_MAX_BYTES);
	} else {
		rc = podjson_parse(buf, len, out, err);
		if (rc)
			cradle_err_wrap(err, "pod config \"%s\"", path);
	}
	free(buf);
out:
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}
