/* test_proto.c - the wire format (proto/) and the error helpers.
 *
 * Round trips for every request, reply shape, sandbox and image record and
 * event (exit and image progress);
 * then hostile input: garbage, every prefix of valid messages, oversized,
 * deep, huge claimed counts in tiny buffers, wrong types for each kind of
 * field, missing fields, bad UTF-8, NUL bytes, bad ids and names.  Every
 * refusal is checked for its code and for a message naming the field.
 *
 * Malformed messages are made by encoding a valid one, unpacking it into a
 * msgpack-c tree, editing the tree at a dotted path (set a value, rename a
 * key, add a key) and packing it again, so each case changes one thing.
 * Most cases are rows of tables (struct bad_edit, struct bad_bytes) that
 * one helper runs, decoding the result as the kind of message under test.
 */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/proto.h"
#include "tests/unit/lib/unit.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

#define ASSERT_ERR(rc, e, want_code, needle)                                                     \
	do {                                                                                     \
		ck_assert_msg((rc) < 0, "expected failure, got %d", (int)(rc));                  \
		ck_assert_msg((e).code == (want_code),                                           \
		              "code %s (%d), want %s; "                                          \
		              "message: %s",                                                     \
		              cradle_code_name((e).code), (e).code, cradle_code_name(want_code), \
		              (e).msg);                                                          \
		ck_assert_msg(strstr((e).msg, (needle)) != NULL, "message \"%s\" lacks \"%s\"",  \
		              (e).msg, (needle));                                                \
	} while (0)

#define ASSERT_INVALID(rc, e, needle) ASSERT_ERR(rc, e, CRADLE_INVALID_ARGUMENT, needle)

/* a->f == b->f for a scalar field f, which the message names */
#define ASSERT_FIELD_EQ(a, b, f)                                                   \
	ck_assert_msg((a)->f == (b)->f, "%s: %lld != %lld", #f, (long long)(a)->f, \
	              (long long)(b)->f)

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* the anonymous structs of struct pod_config, by a config pointer */
#define SECCTX(c) ((c)->linux.security_context)
#define USERNS(c) ((c)->linux.security_context.namespace_options.userns_options)

/* ------------------------------------------------------------------ */
/* fixtures                                                           */

static void
xkv(struct proto_kvs *kvs, const char *k, const char *v)
{
	ck_assert_int_eq(proto_kvs_add(kvs, k, v), 0);
}

static void
xstr(struct proto_strs *l, const char *s)
{
	ck_assert_int_eq(proto_strs_add(l, s), 0);
}

static void
add_idmap(struct proto_idmaps *l, uint32_t host, uint32_t cont, uint32_t len)
{
	struct proto_idmap *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	ck_assert_ptr_nonnull(v);
	v[l->n].host_id = host;
	v[l->n].container_id = cont;
	v[l->n].length = len;
	l->v = v;
	l->n++;
}

static void
add_i64(struct proto_i64s *l, int64_t x)
{
	int64_t *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	ck_assert_ptr_nonnull(v);
	v[l->n++] = x;
	l->v = v;
}

/* The security context fields beyond namespaces, and resources, all set. */
static void
fill_secctx(struct pod_config *c)
{
	USERNS(c).present = true;
	USERNS(c).mode = NS_POD;
	add_idmap(&USERNS(c).uids, 100000, 0, 65536);
	add_idmap(&USERNS(c).gids, 100000, 0, 65536);
	add_idmap(&USERNS(c).gids, UINT32_MAX, 65536, 1);
	SECCTX(c).has_run_as_user = true;
	SECCTX(c).run_as_user = 1000;
	SECCTX(c).has_run_as_group = true;
	SECCTX(c).run_as_group = 0; /* 0 is set, not absent */
	SECCTX(c).run_as_username = unit_strdup("nginx");
	add_i64(&SECCTX(c).supplemental_groups, 1);
	add_i64(&SECCTX(c).supplemental_groups, 65534);
	add_i64(&SECCTX(c).supplemental_groups, 1LL << 40);
	SECCTX(c).readonly_rootfs = true;
	SECCTX(c).selinux_options.user = unit_strdup("system_u");
	SECCTX(c).selinux_options.role = unit_strdup("system_r");
	SECCTX(c).selinux_options.type = unit_strdup("container_t");
	SECCTX(c).selinux_options.level = unit_strdup("s0:c1,c2");
	SECCTX(c).seccomp.present = true;
	SECCTX(c).seccomp.profile_type = SECCOMP_PROFILE_LOCALHOST;
	SECCTX(c).seccomp.localhost_ref = unit_strdup("/var/lib/kubelet/seccomp/audit.json");
	SECCTX(c).seccomp_profile_path = unit_strdup("localhost/profiles/audit.json");
	c->linux.resources.present = true;
	c->linux.resources.cpu_period = 100000;
	c->linux.resources.cpu_quota = -1;
	c->linux.resources.cpu_shares = 512;
	c->linux.resources.memory_limit_in_bytes = INT64_MAX;
}

/* A config with every field set. */
static void
fill_config(struct pod_config *c)
{
	pod_config_init(c);
	c->metadata.name = unit_strdup("nginx-7d9f");
	c->metadata.uid = unit_strdup("0b8a5c2e-1234-4c1b-9a7e-5f6d2c3b4a10");
	c->metadata.namespace = unit_strdup("default");
	c->metadata.attempt = 3;
	c->hostname = unit_strdup("nginx-7d9f.example.com");
	c->log_directory = unit_strdup("/var/log/pods/default_nginx");
	c->has_dns_config = true;
	xstr(&c->dns_config.servers, "10.96.0.10");
	xstr(&c->dns_config.searches, "default.svc.cluster.local");
	xstr(&c->dns_config.searches, "svc.cluster.local");
	xstr(&c->dns_config.options, "ndots:5");
	xkv(&c->labels, "app", "nginx");
	xkv(&c->labels, "app.kubernetes.io/name", "caf\xc3\xa9");
	xkv(&c->labels, "empty", "");
	xkv(&c->annotations, "kubernetes.io/config.seen", "2024-01-01T00:00:00Z");
	c->linux.cgroup_parent = unit_strdup("/kubepods/besteffort/pod0b8a");
	xkv(&c->linux.sysctls, "net.ipv4.ip_local_port_range", "1024 65535");
	SECCTX(c).namespace_options.network = NS_NODE;
	SECCTX(c).namespace_options.pid = NS_CONTAINER;
	SECCTX(c).namespace_options.ipc = NS_POD;
	SECCTX(c).namespace_options.target_id = unit_strdup("abc");
	SECCTX(c).privileged = true;
	fill_secctx(c);
}

/* The smallest config the daemon accepts. */
static void
min_config(struct pod_config *c)
{
	pod_config_init(c);
	c->metadata.name = unit_strdup("p");
	c->metadata.uid = unit_strdup("u");
	c->metadata.namespace = unit_strdup("ns");
}

#define DIGEST_A  \
	"sha256:" \
	"a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
#define DIGEST_B  \
	"sha256:" \
	"350b164e7ae1dcddeffadd65c76226c9b6dc5553f5179153fb0e36b78f2a5e06"
#define DIGEST_C  \
	"sha256:" \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define REF_A "registry.k8s.io/pause:3.9"
#define REF_B "docker.io/library/busybox@" DIGEST_C

static void
fill_sandbox(struct proto_sandbox *s, const char *id, int phase)
{
	memset(s, 0, sizeof(*s));
	fill_config(&s->config);
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->runtime_handler = unit_strdup("runc");
	s->phase = phase;
	s->created_at = 1700000000123456789LL;
	s->started_at = 1700000000223456789LL;
	s->pid = 4242;
	s->pid_start_time = 123456789012ULL;
	s->exit_status = 137;
	s->exited_at = -5; /* any int64 survives */
	s->netns_path = unit_strdup("/run/cradle/netns/" ID_A);
	s->hostname_path = unit_strdup("/run/cradle/sandboxes/" ID_A "/hostname");
	s->hosts_path = unit_strdup("/run/cradle/sandboxes/" ID_A "/hosts");
	s->resolv_conf_path = unit_strdup("/run/cradle/sandboxes/" ID_A "/resolv.conf");
	s->shm_path = unit_strdup("/run/cradle/sandboxes/" ID_A "/shm");
	s->cgroup_path = unit_strdup("/kubepods/besteffort/pod0b8a/" ID_A);
	s->process_label = unit_strdup("system_u:system_r:container_t:s0:c1,c2");
	s->mount_label = unit_strdup("system_u:object_r:container_file_t:s0:c1,c2");
	s->runtime_type = unit_strdup("io.containerd.runc.v2");
	s->image_ref = unit_strdup(REF_A);
}

static void
fill_image(struct proto_image *img, const char *ref)
{
	memset(img, 0, sizeof(*img));
	img->ref = unit_strdup(ref);
	snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", DIGEST_A);
	snprintf(img->config_digest, sizeof(img->config_digest), "%s", DIGEST_B);
	xstr(&img->layers, DIGEST_C);
	xstr(&img->layers, DIGEST_A);
	img->size = 1234567;
	xkv(&img->labels, "org.opencontainers.image.title", "pause");
	xkv(&img->labels, "empty", "");
	img->pinned = true;
	img->created_at = 1700000000123456789LL;
	img->in_use = true;
}

/* An ok reply to op with room for n results (zeroed sandboxes for the
 * sandbox ops, images for the image ops). */
static void
ok_reply(struct proto_reply *rep, int op, size_t n)
{
	proto_reply_init(rep, op);
	rep->ok = true;
	if (!n)
		return;
	if (op >= OP_IMAGE_PULL) {
		rep->images = calloc(n, sizeof(*rep->images));
		ck_assert_ptr_nonnull(rep->images);
		rep->n_images = n;
	} else {
		rep->sandboxes = calloc(n, sizeof(*rep->sandboxes));
		ck_assert_ptr_nonnull(rep->sandboxes);
		rep->n_sandboxes = n;
	}
}

/* ------------------------------------------------------------------ */
/* comparisons                                                        */

/* Both NULL or equal strings; name says which field. */
static void
assert_str_eq_null(const char *name, const char *a, const char *b)
{
	ck_assert_msg(a == b || (a && b && strcmp(a, b) == 0), "%s: \"%s\" != \"%s\"", name,
	              a ? a : "(null)", b ? b : "(null)");
}

/* A string field of two structs of one type at byte offset off. */
struct str_field {
	const char *name;
	size_t off;
};

#define STR_AT(obj, off) (*(char *const *)((const char *)(obj) + (off)))

static void
assert_str_fields_eq(const void *a, const void *b, const struct str_field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_str_eq_null(f[i].name, STR_AT(a, f[i].off), STR_AT(b, f[i].off));
}

/* clang-format off */
#define CONFIG_STR(f) { #f, offsetof(struct pod_config, f) }
/* clang-format on */

static const struct str_field config_strs[] = {
	CONFIG_STR(metadata.name),
	CONFIG_STR(metadata.uid),
	CONFIG_STR(metadata.namespace),
	CONFIG_STR(hostname),
	CONFIG_STR(log_directory),
	CONFIG_STR(linux.cgroup_parent),
	CONFIG_STR(linux.security_context.namespace_options.target_id),
	CONFIG_STR(linux.security_context.run_as_username),
	CONFIG_STR(linux.security_context.selinux_options.user),
	CONFIG_STR(linux.security_context.selinux_options.role),
	CONFIG_STR(linux.security_context.selinux_options.type),
	CONFIG_STR(linux.security_context.selinux_options.level),
	CONFIG_STR(linux.security_context.seccomp.localhost_ref),
	CONFIG_STR(linux.security_context.seccomp_profile_path),
};

/* clang-format off */
#define SANDBOX_STR(f) { #f, offsetof(struct proto_sandbox, f) }
/* clang-format on */

static const struct str_field sandbox_strs[] = {
	SANDBOX_STR(runtime_handler), SANDBOX_STR(netns_path),       SANDBOX_STR(hostname_path),
	SANDBOX_STR(hosts_path),      SANDBOX_STR(resolv_conf_path), SANDBOX_STR(shm_path),
	SANDBOX_STR(cgroup_path),     SANDBOX_STR(process_label),    SANDBOX_STR(mount_label),
	SANDBOX_STR(runtime_type),    SANDBOX_STR(image_ref),
};

static void
assert_kvs_eq(const struct proto_kvs *a, const struct proto_kvs *b)
{
	size_t i;

	ck_assert_uint_eq(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		ck_assert_str_eq(a->v[i].key, b->v[i].key);
		ck_assert_str_eq(a->v[i].value, b->v[i].value);
	}
}

static void
assert_strs_eq(const struct proto_strs *a, const struct proto_strs *b)
{
	size_t i;

	ck_assert_uint_eq(a->n, b->n);
	for (i = 0; i < a->n; i++)
		ck_assert_str_eq(a->v[i], b->v[i]);
}

static void
assert_idmaps_eq(const struct proto_idmaps *a, const struct proto_idmaps *b)
{
	size_t i;

	ck_assert_uint_eq(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		ck_assert_uint_eq(a->v[i].host_id, b->v[i].host_id);
		ck_assert_uint_eq(a->v[i].container_id, b->v[i].container_id);
		ck_assert_uint_eq(a->v[i].length, b->v[i].length);
	}
}

static void
assert_config_eq(const struct pod_config *a, const struct pod_config *b)
{
	size_t i;

	assert_str_fields_eq(a, b, config_strs, N_OF(config_strs));
	ASSERT_FIELD_EQ(a, b, metadata.attempt);
	ASSERT_FIELD_EQ(a, b, has_dns_config);
	assert_strs_eq(&a->dns_config.servers, &b->dns_config.servers);
	assert_strs_eq(&a->dns_config.searches, &b->dns_config.searches);
	assert_strs_eq(&a->dns_config.options, &b->dns_config.options);
	assert_kvs_eq(&a->labels, &b->labels);
	assert_kvs_eq(&a->annotations, &b->annotations);
	assert_kvs_eq(&a->linux.sysctls, &b->linux.sysctls);
	ASSERT_FIELD_EQ(&SECCTX(a), &SECCTX(b), namespace_options.network);
	ASSERT_FIELD_EQ(&SECCTX(a), &SECCTX(b), namespace_options.pid);
	ASSERT_FIELD_EQ(&SECCTX(a), &SECCTX(b), namespace_options.ipc);
	ASSERT_FIELD_EQ(&SECCTX(a), &SECCTX(b), privileged);
	ASSERT_FIELD_EQ(&USERNS(a), &USERNS(b), present);
	ASSERT_FIELD_EQ(&USERNS(a), &USERNS(b), mode);
	assert_idmaps_eq(&USERNS(a).uids, &USERNS(b).uids);
	assert_idmaps_eq(&USERNS(a).gids, &USERNS(b).gids);
	ASSERT_FIELD_EQ(&SECCTX(a), &SECCTX(b), has_run_as_user);
	ASSERT_FIELD_EQ(&SECCTX(a), &SECCTX(b), run_as_user);
	ASSERT_FIELD_EQ(&SECCTX(a), &SECCTX(b), has_run_as_group);
	ASSERT_FIELD_EQ(&SECCTX(a), &SECCTX(b), run_as_group);
	ck_assert_uint_eq(SECCTX(a).supplemental_groups.n, SECCTX(b).supplemental_groups.n);
	for (i = 0; i < SECCTX(a).supplemental_groups.n; i++)
		ck_assert_int_eq(SECCTX(a).supplemental_groups.v[i],
		                 SECCTX(b).supplemental_groups.v[i]);
	ASSERT_FIELD_EQ(&SECCTX(a), &SECCTX(b), readonly_rootfs);
	ASSERT_FIELD_EQ(&SECCTX(a), &SECCTX(b), seccomp.present);
	ASSERT_FIELD_EQ(&SECCTX(a), &SECCTX(b), seccomp.profile_type);
	ASSERT_FIELD_EQ(a, b, linux.resources.present);
	ASSERT_FIELD_EQ(a, b, linux.resources.cpu_period);
	ASSERT_FIELD_EQ(a, b, linux.resources.cpu_quota);
	ASSERT_FIELD_EQ(a, b, linux.resources.cpu_shares);
	ASSERT_FIELD_EQ(a, b, linux.resources.memory_limit_in_bytes);
}

static void
assert_image_eq(const struct proto_image *a, const struct proto_image *b)
{
	assert_str_eq_null("ref", a->ref, b->ref);
	ck_assert_str_eq(a->manifest_digest, b->manifest_digest);
	ck_assert_str_eq(a->config_digest, b->config_digest);
	assert_strs_eq(&a->layers, &b->layers);
	ASSERT_FIELD_EQ(a, b, size);
	assert_kvs_eq(&a->labels, &b->labels);
	ASSERT_FIELD_EQ(a, b, pinned);
	ASSERT_FIELD_EQ(a, b, created_at);
	ASSERT_FIELD_EQ(a, b, in_use);
}

static void
assert_sandbox_eq(const struct proto_sandbox *a, const struct proto_sandbox *b)
{
	ck_assert_str_eq(a->id, b->id);
	assert_config_eq(&a->config, &b->config);
	assert_str_fields_eq(a, b, sandbox_strs, N_OF(sandbox_strs));
	ASSERT_FIELD_EQ(a, b, phase);
	ASSERT_FIELD_EQ(a, b, created_at);
	ASSERT_FIELD_EQ(a, b, started_at);
	ASSERT_FIELD_EQ(a, b, pid);
	ASSERT_FIELD_EQ(a, b, pid_start_time);
	ASSERT_FIELD_EQ(a, b, exit_status);
	ASSERT_FIELD_EQ(a, b, exited_at);
}

/* A decoded request that failed must hold nothing. */
static void
assert_req_clean(const struct proto_request *r)
{
	ck_assert_ptr_null(r->config.metadata.name);
	ck_assert_ptr_null(r->config.metadata.uid);
	ck_assert_ptr_null(r->config.labels.v);
	ck_assert_uint_eq(r->config.labels.n, 0);
	ck_assert_ptr_null(r->runtime_handler);
	ck_assert_ptr_null(r->label_filter.v);
	ck_assert_ptr_null(r->ref);
	ck_assert_ptr_null(r->path);
}

/* ------------------------------------------------------------------ */
/* messages of every kind                                             */

struct msg {
	char *data;
	size_t len;
};

static struct msg
take(msgpack_sbuffer *sb)
{
	struct msg m = { sb->data, sb->size };

	msgpack_sbuffer_init(sb);
	return m;
}

static void
msg_free(struct msg *m)
{
	free(m->data);
	m->data = NULL;
	m->len = 0;
}

static struct msg
raw(const void *bytes, size_t len)
{
	struct msg m;

	m.data = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(m.data);
	memcpy(m.data, bytes, len);
	m.len = len;
	return m;
}

#define RAW(lit) raw(lit, sizeof(lit) - 1)

/* The kinds of message, for the helpers that handle any of them. */
enum kind { K_REQUEST, K_REPLY, K_SANDBOX, K_IMAGE, K_EVENT, K__COUNT };

/* Encode obj, a struct of kind k, at the end of sb. */
static int
encode_as(enum kind k, msgpack_sbuffer *sb, const void *obj, struct cradle_err *e)
{
	switch (k) {
	case K_REQUEST:
		return proto_request_encode(sb, obj, e);
	case K_REPLY:
		return proto_reply_encode(sb, obj, e);
	case K_SANDBOX:
		return proto_sandbox_encode(sb, obj, e);
	case K_IMAGE:
		return proto_image_encode(sb, obj, e);
	default:
		return proto_event_encode(sb, obj, e);
	}
}

/* obj encoded as kind k; it must encode. */
static struct msg
enc(enum kind k, const void *obj)
{
	struct cradle_err e = { 0 };
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	ck_assert_msg(encode_as(k, &sb, obj, &e) == 0, "%s", e.msg);
	return take(&sb);
}

/* Encoding obj as kind k must fail with code and needle and leave the
 * buffer as it was. */
static void
enc_fails(enum kind k, const void *obj, int code, const char *needle)
{
	struct cradle_err e = { 0 };
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	msgpack_sbuffer_write(&sb, "xy", 2);
	ASSERT_ERR(encode_as(k, &sb, obj, &e), e, code, needle);
	ck_assert_uint_eq(sb.size, 2);
	msgpack_sbuffer_destroy(&sb);
}

/* Decode buf as kind k (a reply to op) and free what was decoded.  A
 * failed decode must leave nothing behind.  Returns what the decoder did. */
static int
decode_as(enum kind k, int op, const void *buf, size_t len, struct cradle_err *e)
{
	union {
		struct proto_request req;
		struct proto_reply rep;
		struct proto_sandbox sb;
		struct proto_image img;
		struct proto_event ev;
	} o;
	int rc;

	switch (k) {
	case K_REQUEST:
		rc = proto_request_decode(buf, len, &o.req, e);
		if (rc)
			assert_req_clean(&o.req);
		proto_request_fini(&o.req);
		break;
	case K_REPLY:
		rc = proto_reply_decode(op, buf, len, &o.rep, e);
		if (rc) {
			ck_assert_ptr_null(o.rep.sandboxes);
			ck_assert_uint_eq(o.rep.n_sandboxes, 0);
			ck_assert_ptr_null(o.rep.images);
			ck_assert_uint_eq(o.rep.n_images, 0);
		}
		proto_reply_fini(&o.rep);
		break;
	case K_SANDBOX:
		rc = proto_sandbox_decode(buf, len, &o.sb, e);
		if (rc) {
			ck_assert_ptr_null(o.sb.config.metadata.name);
			ck_assert_ptr_null(o.sb.runtime_handler);
			ck_assert_ptr_null(o.sb.netns_path);
		}
		proto_sandbox_fini(&o.sb);
		break;
	case K_IMAGE:
		rc = proto_image_decode(buf, len, &o.img, e);
		if (rc) {
			ck_assert_ptr_null(o.img.ref);
			ck_assert_ptr_null(o.img.layers.v);
		}
		proto_image_fini(&o.img);
		break;
	default:
		rc = proto_event_decode(buf, len, &o.ev, e);
		if (rc) {
			ck_assert_uint_eq(o.ev.seq, 0);
			ck_assert_str_eq(o.ev.ref, "");
		}
		break;
	}
	return rc;
}

/* Decode m as kind k (a reply to op) and expect INVALID_ARGUMENT with
 * needle; m is freed. */
static void
dec_fails(enum kind k, int op, struct msg m, const char *needle)
{
	struct cradle_err e = { 0 };

	ASSERT_INVALID(decode_as(k, op, m.data, m.len, &e), e, needle);
	msg_free(&m);
}

static void
req_fails(struct msg m, const char *needle)
{
	dec_fails(K_REQUEST, OP_VERSION, m, needle);
}

/* Decode m as a request, expect success, hand back the request. */
static void
req_ok(struct msg m, struct proto_request *req)
{
	struct cradle_err e = { 0 };
	int rc;

	rc = proto_request_decode(m.data, m.len, req, &e);
	ck_assert_msg(rc == 0, "decode failed: %s", e.msg);
	msg_free(&m);
}

/* A request for op: create and run carry the full config and the handler
 * "runc", the others id, ref and path when given. */
static struct msg
req_msg(int op, const char *id, const char *ref, const char *path)
{
	struct proto_request req;
	struct msg m;

	proto_request_init(&req, op);
	if (op == OP_CREATE || op == OP_RUN) {
		fill_config(&req.config);
		req.runtime_handler = unit_strdup("runc");
	}
	snprintf(req.id, sizeof(req.id), "%s", id ? id : "");
	req.ref = ref ? unit_strdup(ref) : NULL;
	req.path = path ? unit_strdup(path) : NULL;
	m = enc(K_REQUEST, &req);
	proto_request_fini(&req);
	return m;
}

/* A valid create request with the full config. */
static struct msg
create_msg(void)
{
	return req_msg(OP_CREATE, NULL, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* tree edits                                                         */

enum edit_kind { SET, RENAME, ADD };

/* msgpack objects to put into a message */
static msgpack_object
o_strn(const char *s, size_t n)
{
	return (msgpack_object){ .type = MSGPACK_OBJECT_STR,
		                 .via.str = { .size = (uint32_t)n, .ptr = s } };
}

static msgpack_object
o_str(const char *s)
{
	return o_strn(s, strlen(s));
}

static msgpack_object
o_bin(const char *s)
{
	return (msgpack_object){ .type = MSGPACK_OBJECT_BIN,
		                 .via.bin = { .size = (uint32_t)strlen(s), .ptr = s } };
}

static msgpack_object
o_uint(uint64_t v)
{
	return (msgpack_object){ .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = v };
}

/* as msgpack-c reads it: a value >= 0 is a positive integer */
static msgpack_object
o_int(int64_t v)
{
	if (v >= 0)
		return o_uint((uint64_t)v);
	return (msgpack_object){ .type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = v };
}

static msgpack_object
o_bool(bool b)
{
	return (msgpack_object){ .type = MSGPACK_OBJECT_BOOLEAN, .via.boolean = b };
}

static msgpack_object
o_float(double d)
{
	return (msgpack_object){ .type = MSGPACK_OBJECT_FLOAT64, .via.f64 = d };
}

/* nil, or an empty map or array (all of via zero) */
static msgpack_object
o_type(msgpack_object_type t)
{
	msgpack_object o;

	memset(&o, 0, sizeof(o));
	o.type = t;
	return o;
}

#define O_NIL o_type(MSGPACK_OBJECT_NIL)
#define O_MAP o_type(MSGPACK_OBJECT_MAP)
#define O_ARRAY o_type(MSGPACK_OBJECT_ARRAY)

/* Find the object at a dotted path ("args.config.metadata.name", array
 * elements by number); *kv gets the map entry holding it.  Keys may hold
 * dots themselves ("net.ipv4.ip_forward"): the longest key that matches the
 * rest of the path wins. */
static msgpack_object *
find(msgpack_object *root, const char *path, msgpack_object_kv **kv)
{
	msgpack_object *cur = root;
	const char *rest = path;
	size_t best_len, klen;
	uint32_t i, best;
	char *endp;

	*kv = NULL;
	while (*rest) {
		if (cur->type == MSGPACK_OBJECT_ARRAY) {
			i = (uint32_t)strtoul(rest, &endp, 10);
			ck_assert_uint_lt(i, cur->via.array.size);
			cur = &cur->via.array.ptr[i];
			*kv = NULL;
			rest = *endp == '.' ? endp + 1 : endp;
			continue;
		}
		ck_assert_msg(cur->type == MSGPACK_OBJECT_MAP, "%s: not a map at %s", path, rest);
		best = UINT32_MAX;
		best_len = 0;
		for (i = 0; i < cur->via.map.size; i++) {
			msgpack_object *k = &cur->via.map.ptr[i].key;

			if (k->type != MSGPACK_OBJECT_STR)
				continue;
			klen = k->via.str.size;
			if (strncmp(rest, k->via.str.ptr, klen) == 0 &&
			    (rest[klen] == '.' || rest[klen] == '\0') &&
			    (best == UINT32_MAX || klen > best_len)) {
				best = i;
				best_len = klen;
			}
		}
		if (best == UINT32_MAX)
			return NULL;
		*kv = &cur->via.map.ptr[best];
		cur = &cur->via.map.ptr[best].val;
		rest += best_len;
		if (*rest == '.')
			rest++;
	}
	return cur;
}

/* The object at path in message m, unpacked into up (the caller destroys
 * it); NULL when there is none. */
static msgpack_object *
find_in(const struct msg *m, msgpack_unpacked *up, const char *path)
{
	msgpack_object_kv *kv;
	size_t off = 0;

	msgpack_unpacked_init(up);
	ck_assert_int_eq(msgpack_unpack_next(up, m->data, m->len, &off), MSGPACK_UNPACK_SUCCESS);
	return find(&up->data, path, &kv);
}

/* Edit one place in m and return the re-packed message.
 *   SET:    the value at path becomes *v
 *   RENAME: the key of the entry at path becomes key (klen bytes)
 *   ADD:    the map at path gains key: *v (duplicates allowed) */
static struct msg
edit(const struct msg *m, enum edit_kind kind, const char *path, const char *key, size_t klen,
     const msgpack_object *v)
{
	msgpack_object_kv *kv, *grown = NULL;
	msgpack_unpacked up;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_object *o;
	size_t off = 0;
	uint32_t n;

	msgpack_unpacked_init(&up);
	ck_assert_int_eq(msgpack_unpack_next(&up, m->data, m->len, &off), MSGPACK_UNPACK_SUCCESS);
	o = find(&up.data, path, &kv);
	ck_assert_msg(o != NULL, "no %s in the message", path);
	switch (kind) {
	case SET:
		*o = *v;
		break;
	case RENAME:
		ck_assert_ptr_nonnull(kv);
		kv->key = o_strn(key, klen);
		break;
	case ADD:
		ck_assert_int_eq(o->type, MSGPACK_OBJECT_MAP);
		n = o->via.map.size;
		grown = calloc(n + 1, sizeof(*grown));
		ck_assert_ptr_nonnull(grown);
		if (n)
			memcpy(grown, o->via.map.ptr, n * sizeof(*grown));
		grown[n].key = o_strn(key, klen);
		grown[n].val = *v;
		o->via.map.ptr = grown;
		o->via.map.size = n + 1;
		break;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ck_assert_int_eq(msgpack_pack_object(&pk, up.data), 0);
	free(grown);
	msgpack_unpacked_destroy(&up);
	return take(&sb);
}

static struct msg
set_at(const struct msg *m, const char *path, msgpack_object v)
{
	return edit(m, SET, path, NULL, 0, &v);
}

/* Renaming to an unknown key makes the field read as absent. */
#define DROPPED_KEY "zz-dropped"

static struct msg
drop(const struct msg *m, const char *path)
{
	return edit(m, RENAME, path, DROPPED_KEY, strlen(DROPPED_KEY), NULL);
}

static struct msg
add_at(const struct msg *m, const char *path, const char *key, msgpack_object v)
{
	return edit(m, ADD, path, key, strlen(key), &v);
}

/* One edit of a valid message, and what refusing the result must say. */
struct bad_edit {
	enum edit_kind kind;
	const char *path;
	const char *key; /* RENAME, ADD: klen bytes */
	size_t klen;
	msgpack_object v; /* SET, ADD */
	const char *needle;
};

/* clang-format off */
#define E_SET(path, v, needle) { SET, path, NULL, 0, v, needle }
/* clang-format on */
#define E_DROP(path, needle) E_RENAME(path, DROPPED_KEY, needle)
/* clang-format off */
#define E_RENAME(path, key, needle) { RENAME, path, key, sizeof(key) - 1, O_NIL, needle }
#define E_ADD(path, key, v, needle) { ADD, path, key, sizeof(key) - 1, v, needle }
/* clang-format on */

/* Each edit of m must make it a kind k message (a reply to op) that is
 * refused with the case's needle. */
static void
edits_fail(const struct msg *m, enum kind k, int op, const struct bad_edit *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dec_fails(k, op, edit(m, c[i].kind, c[i].path, c[i].key, c[i].klen, &c[i].v),
		          c[i].needle);
}

#define EDITS_FAIL(m, k, op, cases) edits_fail(m, k, op, cases, N_OF(cases))

/* The same for edits of the full create request (create_msg()). */
static void
create_edits_fail(const struct bad_edit *c, size_t n)
{
	struct msg m = create_msg();

	edits_fail(&m, K_REQUEST, OP_VERSION, c, n);
	msg_free(&m);
}

/* Bytes that are no valid message, and what refusing them must say. */
struct bad_bytes {
	int op; /* replies: the op they answer */
	const char *bytes;
	size_t len;
	const char *needle;
};

/* clang-format off */
#define B(op, lit, needle) { op, lit, sizeof(lit) - 1, needle }
/* clang-format on */

static void
bytes_fail(enum kind k, const struct bad_bytes *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dec_fails(k, c[i].op, raw(c[i].bytes, c[i].len), c[i].needle);
}

#define BYTES_FAIL(k, cases) bytes_fail(k, cases, N_OF(cases))

/* ------------------------------------------------------------------ */
/* err.h                                                              */

START_TEST(test_err_code_names)
{
	ck_assert_str_eq(cradle_code_name(CRADLE_OK), "OK");
	ck_assert_str_eq(cradle_code_name(CRADLE_INVALID_ARGUMENT), "INVALID_ARGUMENT");
	ck_assert_str_eq(cradle_code_name(CRADLE_NOT_FOUND), "NOT_FOUND");
	ck_assert_str_eq(cradle_code_name(CRADLE_ALREADY_EXISTS), "ALREADY_EXISTS");
	ck_assert_str_eq(cradle_code_name(CRADLE_FAILED_PRECONDITION), "FAILED_PRECONDITION");
	ck_assert_str_eq(cradle_code_name(CRADLE_RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
	ck_assert_str_eq(cradle_code_name(CRADLE_PERMISSION_DENIED), "PERMISSION_DENIED");
	ck_assert_str_eq(cradle_code_name(CRADLE_UNAVAILABLE), "UNAVAILABLE");
	ck_assert_str_eq(cradle_code_name(CRADLE_INTERNAL), "INTERNAL");
	ck_assert_str_eq(cradle_code_name(-1), "UNKNOWN");
	ck_assert_str_eq(cradle_code_name(CRADLE_CODE_MAX + 1), "UNKNOWN");
}
END_TEST

START_TEST(test_err_from_errno)
{
	ck_assert_int_eq(cradle_code_from_errno(EEXIST), CRADLE_ALREADY_EXISTS);
	ck_assert_int_eq(cradle_code_from_errno(ENOENT), CRADLE_NOT_FOUND);
	ck_assert_int_eq(cradle_code_from_errno(EPERM), CRADLE_PERMISSION_DENIED);
	ck_assert_int_eq(cradle_code_from_errno(EACCES), CRADLE_PERMISSION_DENIED);
	ck_assert_int_eq(cradle_code_from_errno(ENOMEM), CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_int_eq(cradle_code_from_errno(ENOSPC), CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_int_eq(cradle_code_from_errno(EMFILE), CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_int_eq(cradle_code_from_errno(EAGAIN), CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_int_eq(cradle_code_from_errno(EINVAL), CRADLE_INVALID_ARGUMENT);
	ck_assert_int_eq(cradle_code_from_errno(EIO), CRADLE_INTERNAL);
	ck_assert_int_eq(cradle_code_from_errno(0), CRADLE_INTERNAL);
	ck_assert_int_eq(cradle_code_from_errno(-ENOENT), CRADLE_NOT_FOUND);
}
END_TEST

START_TEST(test_err_set_errno_wrap)
{
	struct cradle_err e = { 0 };
	char big[2000];

	ck_assert_int_eq(cradle_err_set(NULL, CRADLE_INTERNAL, "x %d", 1), -1);
	ck_assert_int_lt(cradle_err_errno(NULL, ENOENT, "x"), 0);
	cradle_err_wrap(NULL, "nothing");
	ck_assert_int_eq(cradle_err_nomem(NULL), -ENOMEM);

	ck_assert_int_eq(cradle_err_set(&e, CRADLE_NOT_FOUND, "sandbox %s", "abc"), -1);
	ck_assert_int_eq(e.code, CRADLE_NOT_FOUND);
	ck_assert_str_eq(e.msg, "sandbox abc");

	ck_assert_int_eq(cradle_err_nomem(&e), -ENOMEM);
	ck_assert_int_eq(e.code, CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_str_eq(e.msg, "out of memory");

	ck_assert_int_eq(cradle_err_errno(&e, EACCES,
	                                  "failed to create sandbox root directory \"%s\"", "/x"),
	                 -EACCES);
	ck_assert_int_eq(e.code, CRADLE_PERMISSION_DENIED);
	ck_assert_str_eq(e.msg, "failed to create sandbox root directory \"/x\": "
	                        "Permission denied");
	/* a negative errno is taken as meant */
	ck_assert_int_eq(cradle_err_errno(&e, -EEXIST, "mkdir"), -EEXIST);
	ck_assert_int_eq(e.code, CRADLE_ALREADY_EXISTS);
	ck_assert_str_eq(e.msg, "mkdir: File exists");
	ck_assert_int_eq(cradle_err_errno(&e, 0, "odd"), -1);
	ck_assert_int_eq(e.code, CRADLE_INTERNAL);
	ck_assert_str_eq(e.msg, "odd");

	cradle_err_set(&e, CRADLE_NOT_FOUND, "inner");
	cradle_err_wrap(&e, "outer %d", 2);
	ck_assert_int_eq(e.code, CRADLE_NOT_FOUND);
	ck_assert_str_eq(e.msg, "outer 2: inner");
	cradle_err_wrap(&e, "top");
	ck_assert_str_eq(e.msg, "top: outer 2: inner");

	/* truncation: bounded, terminated, never inside a UTF-8 character */
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	cradle_err_set(&e, CRADLE_INTERNAL, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), CRADLE_ERR_MSG_MAX - 1);
	cradle_err_wrap(&e, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), CRADLE_ERR_MSG_MAX - 1);
	cradle_err_errno(&e, ENOENT, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), CRADLE_ERR_MSG_MAX - 1);
	/* 510 ASCII bytes then "é" (2 bytes) would end at byte 512: cut before it */
	memset(big, 'a', 510);
	strcpy(big + 510, "\xc3\xa9zz");
	cradle_err_set(&e, CRADLE_INTERNAL, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), 510);
	ck_assert(proto_valid_utf8(e.msg, strlen(e.msg)));
	memset(big, 'a', 509);
	strcpy(big + 509, "\xc3\xa9zz");
	cradle_err_set(&e, CRADLE_INTERNAL, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), 511);
	/* a 4-byte character cut after 1, 2 or 3 of its bytes */
	for (int k = 1; k <= 3; k++) {
		memset(big, 'a', sizeof(big));
		strcpy(big + 511 - k, "\xf0\x9f\x98\x80");
		cradle_err_set(&e, CRADLE_INTERNAL, "%s", big);
		ck_assert_uint_eq(strlen(e.msg), 511 - (size_t)k);
		ck_assert(proto_valid_utf8(e.msg, strlen(e.msg)));
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* small validators                                                   */

START_TEST(test_validators)
{
	/* each refuses NULL too */
	static const struct {
		bool (*valid)(const char *s);
		const char *ok[3], *bad[7]; /* up to a NULL */
	} cases[] = {
		{ proto_valid_id, { ID_A }, { "", ID_A "0" } },
		{ proto_valid_dns_label,
		  { "a", "a-1", "0" },
		  { "", "-a", "a-", "A", "a_b", "a.b" } },
		{ proto_valid_dns_subdomain,
		  { "a", "a-b.c-d.example" },
		  { "", "a..b", ".a", "a.", "a.-b", "Example.com" } },
	};
	static const struct {
		const char *s;
		size_t len;
		bool want;
	} utf8[] = {
		{ "", 0, true },
		{ NULL, 0, true },
		{ NULL, 1, false },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, true },
		{ "\xff", 1, false },
		{ "\xc3", 1, false },             /* truncated */
		{ "\xc3\x28", 2, false },         /* bad continuation */
		{ "\xc0\xaf", 2, false },         /* overlong '/' */
		{ "\xe0\x80\xaf", 3, false },     /* overlong */
		{ "\xed\xa0\x80", 3, false },     /* surrogate */
		{ "\xf4\x90\x80\x80", 4, false }, /* > U+10FFFF */
		{ "\xf5\x80\x80\x80", 4, false },
		{ "\x80", 1, false },
	};
	char s[300];
	size_t i, j;

	for (i = 0; i < N_OF(cases); i++) {
		ck_assert_msg(!cases[i].valid(NULL), "case %zu: NULL", i);
		for (j = 0; j < N_OF(cases[i].ok) && cases[i].ok[j]; j++)
			ck_assert_msg(cases[i].valid(cases[i].ok[j]), "\"%s\"", cases[i].ok[j]);
		for (j = 0; j < N_OF(cases[i].bad) && cases[i].bad[j]; j++)
			ck_assert_msg(!cases[i].valid(cases[i].bad[j]), "\"%s\"", cases[i].bad[j]);
	}
	for (i = 0; i < N_OF(utf8); i++)
		ck_assert_msg(proto_valid_utf8(utf8[i].s, utf8[i].len) == utf8[i].want,
		              "utf8 case %zu", i);

	snprintf(s, sizeof(s), "%.63s", ID_A);
	ck_assert(!proto_valid_id(s));
	snprintf(s, sizeof(s), "%s", ID_A);
	s[5] = 'A';
	ck_assert(!proto_valid_id(s));
	s[5] = 'g';
	ck_assert(!proto_valid_id(s));

	memset(s, 'a', 63);
	s[63] = '\0';
	ck_assert(proto_valid_dns_label(s));
	s[63] = 'a';
	s[64] = '\0';
	ck_assert(!proto_valid_dns_label(s));
	ck_assert(!proto_valid_dns_subdomain(s)); /* one label of 64 */
	/* 4 labels of 63 + 3 dots = 255 > 253 */
	for (i = 0; i < 255; i++)
		s[i] = (i % 64 == 63) ? '.' : 'a';
	s[255] = '\0';
	ck_assert(!proto_valid_dns_subdomain(s));
	s[253] = '\0';
	s[252] = 'a';
	ck_assert(proto_valid_dns_subdomain(s));

	ck_assert_str_eq(proto_op_name(OP_VERSION), "version");
	ck_assert_str_eq(proto_op_name(OP_RUN), "sandbox.run");
	ck_assert_str_eq(proto_op_name(OP_LIST), "sandbox.list");
	ck_assert_ptr_null(proto_op_name(OP__COUNT));
	ck_assert_ptr_null(proto_op_name(-1));
	ck_assert_str_eq(proto_state_name(STATE_READY), "SANDBOX_READY");
	ck_assert_str_eq(proto_state_name(STATE_NOTREADY), "SANDBOX_NOTREADY");
	ck_assert_str_eq(proto_phase_name(PHASE_CREATED), "created");
	ck_assert_str_eq(proto_phase_name(PHASE_RUNNING), "running");
	ck_assert_str_eq(proto_phase_name(PHASE_EXITED), "exited");
}
END_TEST

START_TEST(test_kvs_strs)
{
	struct proto_kvs kvs = { 0 };
	struct proto_strs strs = { 0 };

	ck_assert_ptr_null(proto_kvs_get(&kvs, "a"));
	ck_assert_ptr_null(proto_kvs_get(NULL, "a"));
	xkv(&kvs, "a", "1");
	xkv(&kvs, "b", "2");
	xkv(&kvs, "a", "3"); /* replaces */
	ck_assert_uint_eq(kvs.n, 2);
	ck_assert_str_eq(proto_kvs_get(&kvs, "a"), "3");
	ck_assert_str_eq(proto_kvs_get(&kvs, "b"), "2");
	ck_assert_ptr_null(proto_kvs_get(&kvs, "c"));
	ck_assert_int_eq(proto_kvs_add(&kvs, NULL, "x"), -EINVAL);
	ck_assert_int_eq(proto_kvs_add(&kvs, "x", NULL), -EINVAL);
	proto_kvs_fini(&kvs);
	proto_kvs_fini(&kvs);
	ck_assert_uint_eq(kvs.n, 0);
	proto_kvs_fini(NULL);

	xstr(&strs, "x");
	xstr(&strs, "y");
	ck_assert_uint_eq(strs.n, 2);
	ck_assert_str_eq(strs.v[1], "y");
	ck_assert_int_eq(proto_strs_add(&strs, NULL), -EINVAL);
	proto_strs_fini(&strs);
	proto_strs_fini(&strs);
	proto_strs_fini(NULL);
}
END_TEST

START_TEST(test_fini_safe)
{
	struct proto_request req;
	struct proto_reply rep;
	struct proto_sandbox sb;
	struct pod_config c;

	memset(&req, 0, sizeof(req));
	proto_request_fini(&req);
	proto_request_fini(&req);
	proto_request_init(&req, OP_RUN);
	ck_assert_int_eq(req.timeout_ms, 10000);
	ck_assert_int_eq(req.state_filter, -1);
	proto_request_fini(&req);
	proto_request_fini(&req);
	proto_request_fini(NULL);

	memset(&rep, 0, sizeof(rep));
	proto_reply_fini(&rep);
	proto_reply_init(&rep, OP_LIST);
	ck_assert(!rep.ok);
	proto_reply_fini(&rep);
	proto_reply_fini(&rep);
	proto_reply_fini(NULL);

	memset(&sb, 0, sizeof(sb));
	proto_sandbox_fini(&sb);
	fill_sandbox(&sb, ID_A, PHASE_RUNNING);
	proto_sandbox_fini(&sb);
	proto_sandbox_fini(&sb);
	proto_sandbox_fini(NULL);

	memset(&c, 0, sizeof(c));
	pod_config_fini(&c);
	fill_config(&c);
	pod_config_fini(&c);
	pod_config_fini(&c);
	pod_config_fini(NULL);
}
END_TEST

START_TEST(test_copy)
{
	struct proto_sandbox a, b;
	struct pod_config c, d;

	fill_sandbox(&a, ID_A, PHASE_EXITED);
	ck_assert_int_eq(proto_sandbox_copy(&b, &a), 0);
	assert_sandbox_eq(&a, &b);
	ck_assert_ptr_ne(a.config.metadata.name, b.config.metadata.name);
	ck_assert_ptr_ne(a.config.labels.v, b.config.labels.v);
	ck_assert_ptr_ne(USERNS(&a.config).uids.v, USERNS(&b.config).uids.v);
	ck_assert_ptr_ne(SECCTX(&a.config).supplemental_groups.v,
	                 SECCTX(&b.config).supplemental_groups.v);
	ck_assert_ptr_ne(SECCTX(&a.config).seccomp.localhost_ref,
	                 SECCTX(&b.config).seccomp.localhost_ref);
	ck_assert_ptr_ne(a.shm_path, b.shm_path);
	proto_sandbox_fini(&a);
	ck_assert_str_eq(b.config.labels.v[0].key, "app"); /* independent */
	proto_sandbox_fini(&b);
	ck_assert_int_eq(proto_sandbox_copy(&b, NULL), 0);
	ck_assert_ptr_null(b.runtime_handler);
	proto_sandbox_fini(&b);

	min_config(&c);
	ck_assert_int_eq(pod_config_copy(&d, &c), 0);
	assert_config_eq(&c, &d);
	ck_assert_ptr_null(d.hostname);
	ck_assert_ptr_null(d.labels.v);
	pod_config_fini(&c);
	pod_config_fini(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* round trips                                                        */

START_TEST(test_request_roundtrip)
{
	struct cradle_err e = { 0 };
	struct proto_request in, out;
	struct msg m;
	int op;

	for (op = 0; op < OP__COUNT; op++) {
		proto_request_init(&in, op);
		switch (op) {
		case OP_CREATE:
		case OP_RUN:
			fill_config(&in.config);
			in.runtime_handler = unit_strdup("kata-qemu");
			break;
		case OP_STOP:
			in.timeout_ms = 2500;
			/* fall through */
		case OP_START:
		case OP_REMOVE:
		case OP_STATUS:
			snprintf(in.id, sizeof(in.id), "%s", ID_B);
			break;
		case OP_LIST:
			in.state_filter = STATE_NOTREADY;
			xkv(&in.label_filter, "app", "nginx");
			xkv(&in.label_filter, "tier", "web");
			break;
		case OP_IMAGE_PULL:
		case OP_IMAGE_STATUS:
			in.ref = unit_strdup(REF_A);
			break;
		case OP_IMAGE_REMOVE:
			in.ref = unit_strdup(REF_B);
			break;
		case OP_IMAGE_IMPORT:
			in.path = unit_strdup("/var/lib/images/pause.oci.tar");
			in.ref = unit_strdup("localhost/pause:built-in");
			break;
		}
		m = enc(K_REQUEST, &in);
		ck_assert_msg(proto_request_decode(m.data, m.len, &out, &e) == 0, "%s: %s",
		              proto_op_name(op), e.msg);
		ck_assert_int_eq(out.op, op);
		assert_config_eq(&in.config, &out.config);
		assert_str_eq_null("runtime_handler", in.runtime_handler, out.runtime_handler);
		ck_assert_str_eq(in.id, out.id);
		ck_assert_int_eq(in.timeout_ms, out.timeout_ms);
		ck_assert_int_eq(in.state_filter, out.state_filter);
		assert_kvs_eq(&in.label_filter, &out.label_filter);
		assert_str_eq_null("ref", in.ref, out.ref);
		assert_str_eq_null("path", in.path, out.path);
		proto_request_fini(&out);
		proto_request_fini(&in);
		msg_free(&m);
	}

	/* defaults: stop without timeout (<0 means "the daemon's"), list without filters */
	proto_request_init(&in, OP_STOP);
	snprintf(in.id, sizeof(in.id), "%s", ID_A);
	in.timeout_ms = -1;
	req_ok(enc(K_REQUEST, &in), &out);
	ck_assert_int_eq(out.timeout_ms, 10000);
	proto_request_fini(&out);
	in.timeout_ms = 0;
	req_ok(enc(K_REQUEST, &in), &out);
	ck_assert_int_eq(out.timeout_ms, 0);
	proto_request_fini(&out);
	proto_request_fini(&in);

	proto_request_init(&in, OP_LIST);
	req_ok(enc(K_REQUEST, &in), &out);
	ck_assert_int_eq(out.state_filter, -1);
	ck_assert_uint_eq(out.label_filter.n, 0);
	proto_request_fini(&out);
	proto_request_fini(&in);

	/* the minimal config and a nameless handler */
	proto_request_init(&in, OP_RUN);
	min_config(&in.config);
	req_ok(enc(K_REQUEST, &in), &out);
	assert_config_eq(&in.config, &out.config);
	ck_assert_ptr_null(out.runtime_handler);
	ck_assert(!out.config.has_dns_config);
	ck_assert(!USERNS(&out.config).present);
	ck_assert(!SECCTX(&out.config).has_run_as_user);
	ck_assert(!SECCTX(&out.config).has_run_as_group);
	ck_assert(!SECCTX(&out.config).seccomp.present);
	ck_assert_ptr_null(SECCTX(&out.config).selinux_options.level);
	ck_assert(!out.config.linux.resources.present);
	proto_request_fini(&out);
	proto_request_fini(&in);

	/* version needs no args at all */
	m = RAW("\x82\xa1v\x01\xa2op\xa7version");
	req_ok(m, &out);
	ck_assert_int_eq(out.op, OP_VERSION);
	proto_request_fini(&out);
}
END_TEST

/* Encode in (a reply to op), decode it, compare: results and all. */
static void
assert_reply_roundtrip(const struct proto_reply *in)
{
	struct cradle_err e = { 0 };
	struct proto_reply out;
	struct msg m;
	size_t i;

	m = enc(K_REPLY, in);
	ck_assert_msg(proto_reply_decode(in->op, m.data, m.len, &out, &e) == 0, "%s: %s",
	              proto_op_name(in->op), e.msg);
	ck_assert(out.ok);
	ck_assert_int_eq(out.op, in->op);
	ck_assert_str_eq(out.version.version, in->version.version);
	ck_assert_uint_eq(out.version.api_version, in->version.api_version);
	ck_assert_int_eq(out.version.pid, in->version.pid);
	ck_assert_str_eq(out.id, in->id);
	ck_assert_int_eq(out.pid, in->op == OP_CREATE ? 0 : in->pid);
	ck_assert_int_eq(out.created_at, in->created_at);
	ck_assert_uint_eq(out.n_sandboxes, in->n_sandboxes);
	ck_assert_uint_eq(out.n_images, in->n_images);
	if (!in->n_sandboxes)
		ck_assert_ptr_null(out.sandboxes);
	if (!in->n_images)
		ck_assert_ptr_null(out.images);
	for (i = 0; i < in->n_sandboxes; i++)
		assert_sandbox_eq(&in->sandboxes[i], &out.sandboxes[i]);
	for (i = 0; i < in->n_images; i++)
		assert_image_eq(&in->images[i], &out.images[i]);
	proto_reply_fini(&out);
	msg_free(&m);
}

/* A daemon.info result with every field set: two conditions, node facts,
 * two config sections (one key empty). */
static struct proto_info *
fill_info(void)
{
	struct proto_info *info = calloc(1, sizeof(*info));

	ck_assert_ptr_nonnull(info);
	snprintf(info->version.version, sizeof(info->version.version), "0.9.1");
	info->version.api_version = PROTO_VERSION;
	info->version.pid = 4242;
	info->n_conditions = 2;
	snprintf(info->conditions[0].type, sizeof(info->conditions[0].type), "RuntimeReady");
	info->conditions[0].status = true;
	snprintf(info->conditions[1].type, sizeof(info->conditions[1].type), "NetworkReady");
	snprintf(info->conditions[1].reason, sizeof(info->conditions[1].reason),
	         "NetworkPluginNotReady");
	snprintf(info->conditions[1].message, sizeof(info->conditions[1].message),
	         "Network plugin returns error: no CNI config in /etc/cni/net.d");
	snprintf(info->node.cgroup_layout, sizeof(info->node.cgroup_layout), "hybrid");
	info->node.cgroups = unit_strdup("hybrid: v1 cpu,memory + v2 at /sys/fs/cgroup/unified");
	snprintf(info->node.device_control, sizeof(info->node.device_control), "v1");
	info->node.selinux_enabled = true;
	info->node.seccomp_available = true;
	info->node.restrict_oom_score_adj = true;
	info->node.oom_score_adj = -500;
	info->node.in_user_namespace = true;
	snprintf(info->node.kernel, sizeof(info->node.kernel), "6.1.0-18-amd64");
	info->n_sections = 2;
	info->sections = calloc(2, sizeof(*info->sections));
	ck_assert_ptr_nonnull(info->sections);
	info->sections[0].name = unit_strdup("cradled");
	xkv(&info->sections[0].keys, "root", "/var/lib/cradle");
	xkv(&info->sections[0].keys, "workers", "8");
	xkv(&info->sections[0].keys, "group", "");
	info->sections[1].name = unit_strdup("runtime.runc");
	xkv(&info->sections[1].keys, "type", "io.containerd.runc.v2");
	return info;
}

START_TEST(test_daemon_info)
{
	struct cradle_err e = { 0 };
	struct proto_request req, rout;
	struct proto_reply in, out;
	struct msg m;

	/* the request: no args */
	proto_request_init(&req, OP_DAEMON_INFO);
	m = enc(K_REQUEST, &req);
	ck_assert_msg(proto_request_decode(m.data, m.len, &rout, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(rout.op, OP_DAEMON_INFO);
	ck_assert_str_eq(proto_op_name(OP_DAEMON_INFO), "daemon.info");
	proto_request_fini(&rout);
	msg_free(&m);

	/* every field comes back */
	ok_reply(&in, OP_DAEMON_INFO, 0);
	in.info = fill_info();
	m = enc(K_REPLY, &in);
	ck_assert_msg(proto_reply_decode(OP_DAEMON_INFO, m.data, m.len, &out, &e) == 0, "%s",
	              e.msg);
	ck_assert(out.ok);
	ck_assert_ptr_nonnull(out.info);
	ck_assert_str_eq(out.info->version.version, "0.9.1");
	ck_assert_uint_eq(out.info->version.api_version, PROTO_VERSION);
	ck_assert_int_eq(out.info->version.pid, 4242);
	ck_assert_uint_eq(out.info->n_conditions, 2);
	ck_assert_str_eq(out.info->conditions[0].type, "RuntimeReady");
	ck_assert(out.info->conditions[0].status);
	ck_assert_str_eq(out.info->conditions[0].reason, "");
	ck_assert_str_eq(out.info->conditions[1].type, "NetworkReady");
	ck_assert(!out.info->conditions[1].status);
	ck_assert_str_eq(out.info->conditions[1].reason, "NetworkPluginNotReady");
	ck_assert_str_eq(out.info->conditions[1].message,
	                 "Network plugin returns error: no CNI config in /etc/cni/net.d");
	ck_assert_str_eq(out.info->node.cgroup_layout, "hybrid");
	ck_assert_str_eq(out.info->node.cgroups,
	                 "hybrid: v1 cpu,memory + v2 at /sys/fs/cgroup/unified");
	ck_assert_str_eq(out.info->node.device_control, "v1");
	ck_assert(out.info->node.selinux_enabled);
	ck_assert(!out.info->node.selinux_applied);
	ck_assert(out.info->node.seccomp_available);
	ck_assert(out.info->node.restrict_oom_score_adj);
	ck_assert_int_eq(out.info->node.oom_score_adj, -500);
	ck_assert(out.info->node.in_user_namespace);
	ck_assert_str_eq(out.info->node.kernel, "6.1.0-18-amd64");
	ck_assert_uint_eq(out.info->n_sections, 2);
	ck_assert_str_eq(out.info->sections[0].name, "cradled");
	ck_assert_uint_eq(out.info->sections[0].keys.n, 3);
	/* in the order sent */
	ck_assert_str_eq(out.info->sections[0].keys.v[0].key, "root");
	ck_assert_str_eq(out.info->sections[0].keys.v[1].value, "8");
	ck_assert_str_eq(out.info->sections[0].keys.v[2].key, "group");
	ck_assert_str_eq(out.info->sections[0].keys.v[2].value, "");
	ck_assert_str_eq(out.info->sections[1].name, "runtime.runc");
	ck_assert_str_eq(proto_kvs_get(&out.info->sections[1].keys, "type"),
	                 "io.containerd.runc.v2");
	proto_reply_fini(&out);
	ck_assert_ptr_null(out.info);

	/* the decoder refuses what it must, naming the field */
	static const char fix7[] = { (char)0xa7, 'c', 'r', 'a', 'd', 'l', 'e', 'd' };
	char *at = memmem(m.data, m.len, fix7, sizeof(fix7));
	ck_assert_ptr_nonnull(at);
	at[1] = '\0'; /* a NUL in a section's name */
	ck_assert_int_lt(proto_reply_decode(OP_DAEMON_INFO, m.data, m.len, &out, &e), 0);
	ck_assert_msg(strstr(e.msg, "result.config[0].name") != NULL, "%s", e.msg);
	ck_assert_ptr_null(out.info);
	msg_free(&m);

	/* more conditions than the limit, on the wire */
	in.info->n_conditions = PROTO_MAX_CONDITIONS;
	for (size_t i = 2; i < PROTO_MAX_CONDITIONS; i++)
		snprintf(in.info->conditions[i].type, sizeof(in.info->conditions[i].type), "C%zu",
		         i);
	m = enc(K_REPLY, &in);
	ck_assert_msg(proto_reply_decode(OP_DAEMON_INFO, m.data, m.len, &out, &e) == 0, "%s",
	              e.msg);
	ck_assert_uint_eq(out.info->n_conditions, PROTO_MAX_CONDITIONS);
	proto_reply_fini(&out);
	msg_free(&m);
	/* one more, packed by hand: {v, ok, result: {version, api_version,
	 * conditions: [9 x {type: "C", status: true}], node, config}} */
	{
		msgpack_sbuffer sb;
		msgpack_packer pk;
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 3);
		msgpack_pack_str_with_body(&pk, "v", 1);
		msgpack_pack_uint8(&pk, 1);
		msgpack_pack_str_with_body(&pk, "ok", 2);
		msgpack_pack_true(&pk);
		msgpack_pack_str_with_body(&pk, "result", 6);
		msgpack_pack_map(&pk, 5);
		msgpack_pack_str_with_body(&pk, "version", 7);
		msgpack_pack_str_with_body(&pk, "0", 1);
		msgpack_pack_str_with_body(&pk, "api_version", 11);
		msgpack_pack_uint8(&pk, 1);
		msgpack_pack_str_with_body(&pk, "conditions", 10);
		msgpack_pack_array(&pk, PROTO_MAX_CONDITIONS + 1);
		for (int i = 0; i <= PROTO_MAX_CONDITIONS; i++) {
			msgpack_pack_map(&pk, 2);
			msgpack_pack_str_with_body(&pk, "type", 4);
			msgpack_pack_str_with_body(&pk, "C", 1);
			msgpack_pack_str_with_body(&pk, "status", 6);
			msgpack_pack_true(&pk);
		}
		msgpack_pack_str_with_body(&pk, "node", 4);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str_with_body(&pk, "cgroup_layout", 13);
		msgpack_pack_str_with_body(&pk, "v2", 2);
		msgpack_pack_str_with_body(&pk, "config", 6);
		msgpack_pack_array(&pk, 0);
		m = take(&sb);
	}
	ck_assert_int_lt(proto_reply_decode(OP_DAEMON_INFO, m.data, m.len, &out, &e), 0);
	ck_assert_msg(strstr(e.msg, "result.conditions: 9 conditions exceed 8") != NULL, "%s",
	              e.msg);
	ck_assert_ptr_null(out.info);
	msg_free(&m);
	in.info->n_conditions = 2;

	/* an empty condition type, found by the decoder */
	m = RAW("\x83\xa1v\x01\xa2ok\xc3\xa6result\x85\xa7version\xa1"
	        "0\xab"
	        "api_version\x01\xaa"
	        "conditions\x91\x82\xa4type\xa0\xa6status\xc3\xa4node\x81\xad"
	        "cgroup_layout\xa2v2\xa6"
	        "config\x90");
	ck_assert_int_lt(proto_reply_decode(OP_DAEMON_INFO, m.data, m.len, &out, &e), 0);
	ck_assert_msg(strstr(e.msg, "result.conditions[0].type: must not be empty") != NULL, "%s",
	              e.msg);
	ck_assert_ptr_null(out.info);
	msg_free(&m);

	/* the node facts are required */
	m = RAW("\x83\xa1v\x01\xa2ok\xc3\xa6result\x84\xa7version\xa1"
	        "0\xab"
	        "api_version\x01\xaa"
	        "conditions\x90\xa6"
	        "config\x90");
	ck_assert_int_lt(proto_reply_decode(OP_DAEMON_INFO, m.data, m.len, &out, &e), 0);
	ck_assert_msg(strstr(e.msg, "result.node: required field is missing") != NULL, "%s", e.msg);
	msg_free(&m);

	/* the encoder refuses what a decoder could not read */
	in.info->conditions[0].type[0] = '\0';
	enc_fails(K_REPLY, &in, CRADLE_INTERNAL, "condition 0");
	in.info->conditions[0].type[0] = 'R';
	free(in.info->sections[1].name);
	in.info->sections[1].name = unit_strdup("");
	enc_fails(K_REPLY, &in, CRADLE_INTERNAL, "config section 1");
	free(in.info->sections[1].name);
	in.info->sections[1].name = unit_strdup("runtime.runc");
	free(in.info->sections[0].keys.v[0].value);
	in.info->sections[0].keys.v[0].value = unit_strdup("\xff\xfe");
	enc_fails(K_REPLY, &in, CRADLE_INTERNAL, "config [cradled] key 0");
	in.info->node.cgroup_layout[0] = '\0';
	enc_fails(K_REPLY, &in, CRADLE_INTERNAL, "cgroup layout");
	proto_reply_fini(&in);
	ok_reply(&in, OP_DAEMON_INFO, 0);
	enc_fails(K_REPLY, &in, CRADLE_INTERNAL, "without its info");
	proto_reply_fini(&in);
}
END_TEST

START_TEST(test_reply_roundtrip)
{
	struct cradle_err e = { 0 };
	struct proto_reply in, out;
	struct msg m;
	int op;

	for (op = 0; op < OP__COUNT; op++) {
		switch (op) {
		case OP_STATUS:
			ok_reply(&in, op, 1);
			fill_sandbox(&in.sandboxes[0], ID_A, PHASE_RUNNING);
			break;
		case OP_LIST:
			ok_reply(&in, op, 3);
			fill_sandbox(&in.sandboxes[0], ID_A, PHASE_CREATED);
			fill_sandbox(&in.sandboxes[1], ID_B, PHASE_RUNNING);
			fill_sandbox(&in.sandboxes[2], ID_A, PHASE_EXITED);
			break;
		case OP_IMAGE_PULL:
		case OP_IMAGE_STATUS:
		case OP_IMAGE_IMPORT:
			ok_reply(&in, op, 1);
			fill_image(&in.images[0], REF_A);
			break;
		case OP_IMAGE_LIST:
			ok_reply(&in, op, 3);
			fill_image(&in.images[0], REF_A);
			fill_image(&in.images[1], REF_B);
			/* the least an image can be */
			in.images[2].ref = unit_strdup("x");
			break;
		case OP_DAEMON_STATS: /* all zero; tests/unit/core/test_stats.c has more */
			ok_reply(&in, op, 0);
			in.stats = calloc(1, sizeof(*in.stats));
			ck_assert_ptr_nonnull(in.stats);
			break;
		case OP_DAEMON_INFO: /* test_daemon_info looks at every field */
			ok_reply(&in, op, 0);
			in.info = fill_info();
			break;
		default:
			ok_reply(&in, op, 0);
			break;
		}
		if (op == OP_VERSION) {
			snprintf(in.version.version, sizeof(in.version.version), "0.1.0");
			in.version.api_version = PROTO_VERSION;
			in.version.pid = 31337;
		}
		if (op == OP_CREATE || op == OP_START || op == OP_RUN) {
			snprintf(in.id, sizeof(in.id), "%s", ID_A);
			in.pid = op == OP_CREATE ? 0 : 777;
			in.created_at = 1700000000000000001LL;
		}
		assert_reply_roundtrip(&in);
		proto_reply_fini(&in);
	}

	/* empty lists */
	ok_reply(&in, OP_LIST, 0);
	assert_reply_roundtrip(&in);
	ok_reply(&in, OP_IMAGE_LIST, 0);
	assert_reply_roundtrip(&in);

	/* stop/remove: {} or no result at all */
	m = RAW("\x82\xa1v\x01\xa2ok\xc3");
	ck_assert_int_eq(proto_reply_decode(OP_REMOVE, m.data, m.len, &out, &e), 0);
	ck_assert(out.ok);
	msg_free(&m);
}
END_TEST

/* src as an error reply to op (made by proto_reply_encode() when via_reply,
 * else by proto_reply_encode_error()) reads back as ok:false, code, msg. */
static void
assert_error_reads(int op, const struct cradle_err *src, bool via_reply, int code, const char *msg)
{
	struct cradle_err e = { 0 };
	struct proto_reply in, out;
	msgpack_sbuffer sb;
	struct msg m;

	proto_reply_init(&in, op);
	if (src)
		in.err = *src;
	msgpack_sbuffer_init(&sb);
	if (via_reply)
		ck_assert_int_eq(proto_reply_encode(&sb, &in, &e), 0);
	else
		ck_assert_int_eq(proto_reply_encode_error(&sb, src), 0);
	m = take(&sb);
	/* a well-formed error reply decodes fine: the error is in out.err */
	ck_assert_int_eq(proto_reply_decode(op, m.data, m.len, &out, &e), 0);
	ck_assert(!out.ok);
	ck_assert_int_eq(out.err.code, code);
	ck_assert_str_eq(out.err.msg, msg);
	ck_assert_uint_eq(out.n_sandboxes, 0);
	ck_assert_uint_eq(out.n_images, 0);
	proto_reply_fini(&out);
	msg_free(&m);
}

START_TEST(test_error_reply)
{
	struct cradle_err e = { 0 }, src;
	struct proto_reply out;
	char full[CRADLE_ERR_MSG_MAX];
	struct msg m;

	cradle_err_set(&src, CRADLE_NOT_FOUND, "unable to find sandbox with id \"%s\"", ID_A);
	assert_error_reads(OP_STATUS, &src, true, CRADLE_NOT_FOUND, src.msg);

	/* NULL error, empty message, OK code, and bytes that are not UTF-8 */
	assert_error_reads(OP_LIST, NULL, false, CRADLE_INTERNAL, "INTERNAL");
	memset(&src, 0, sizeof(src));
	src.code = CRADLE_UNAVAILABLE;
	assert_error_reads(OP_VERSION, &src, false, CRADLE_UNAVAILABLE, "UNAVAILABLE");
	cradle_err_set(&src, CRADLE_OK, "bad \xff name \xc3");
	assert_error_reads(OP_VERSION, &src, false, CRADLE_INTERNAL, "bad ? name ?");

	/* a message filling the whole buffer (no NUL) is bounded */
	memset(src.msg, 'x', sizeof(src.msg));
	src.code = CRADLE_INVALID_ARGUMENT;
	memset(full, 'x', sizeof(full) - 1);
	full[sizeof(full) - 1] = '\0';
	assert_error_reads(OP_VERSION, &src, false, CRADLE_INVALID_ARGUMENT, full);

	/* an unknown code from a newer daemon is kept */
	m = RAW("\x83\xa1v\x01\xa2ok\xc2\xa5"
	        "error\x82\xa4"
	        "code\x63\xa7message\xa2hi");
	ck_assert_int_eq(proto_reply_decode(OP_VERSION, m.data, m.len, &out, &e), 0);
	ck_assert_int_eq(out.err.code, 99);
	ck_assert_str_eq(out.err.msg, "hi");
	msg_free(&m);
	/* code OK and an empty message from a careless peer: INTERNAL, named */
	m = RAW("\x83\xa1v\x01\xa2ok\xc2\xa5"
	        "error\x82\xa4"
	        "code\x00\xa7message\xa0");
	ck_assert_int_eq(proto_reply_decode(OP_VERSION, m.data, m.len, &out, &e), 0);
	ck_assert(!out.ok);
	ck_assert_int_eq(out.err.code, CRADLE_INTERNAL);
	ck_assert_str_eq(out.err.msg, "INTERNAL");
	msg_free(&m);
}
END_TEST

START_TEST(test_sandbox_record)
{
	static const char *const fields[] = {
		"hostname_path", "hosts_path",    "resolv_conf_path", "shm_path",
		"cgroup_path",   "process_label", "mount_label",      "runtime_type",
	};
	struct cradle_err e = { 0 };
	struct proto_sandbox in, out;
	msgpack_unpacked up;
	msgpack_object *st;
	char want[128];
	struct msg m, m2, m3;
	size_t i;
	int phase;

	for (phase = PHASE_CREATED; phase <= PHASE_EXITED; phase++) {
		fill_sandbox(&in, ID_B, phase);
		m = enc(K_SANDBOX, &in);
		ck_assert_msg(proto_sandbox_decode(m.data, m.len, &out, &e) == 0, "%s", e.msg);
		assert_sandbox_eq(&in, &out);
		ck_assert_int_eq(proto_sandbox_state(&out),
		                 phase == PHASE_RUNNING ? STATE_READY : STATE_NOTREADY);
		/* the derived state is in the record for readers */
		st = find_in(&m, &up, "state");
		ck_assert_ptr_nonnull(st);
		ck_assert_int_eq(st->type, MSGPACK_OBJECT_STR);
		ck_assert(strncmp(st->via.str.ptr, proto_state_name(proto_sandbox_state(&in)),
		                  st->via.str.size) == 0);
		msgpack_unpacked_destroy(&up);
		proto_sandbox_fini(&out);
		proto_sandbox_fini(&in);
		msg_free(&m);
	}

	/* state is ignored on decode, whatever it holds */
	fill_sandbox(&in, ID_A, PHASE_RUNNING);
	m = enc(K_SANDBOX, &in);
	m2 = set_at(&m, "state", o_uint(77));
	ck_assert_int_eq(proto_sandbox_decode(m2.data, m2.len, &out, &e), 0);
	proto_sandbox_fini(&out);
	msg_free(&m2);

	/* records keep configs the current rules would refuse */
	m2 = set_at(&m, "config.metadata.name", o_str("Not_A_Label"));
	ck_assert_int_eq(proto_sandbox_decode(m2.data, m2.len, &out, &e), 0);
	ck_assert_str_eq(out.config.metadata.name, "Not_A_Label");
	proto_sandbox_fini(&out);
	msg_free(&m2);

	/* the sandbox's paths and labels: empty or absent reads as NULL
	 * (records written before they existed), a wrong type names them */
	m2 = set_at(&m, "hostname_path", o_str(""));
	ck_assert_int_eq(proto_sandbox_decode(m2.data, m2.len, &out, &e), 0);
	ck_assert_ptr_null(out.hostname_path);
	ck_assert_str_eq(out.hosts_path, in.hosts_path);
	proto_sandbox_fini(&out);
	msg_free(&m2);
	m2 = raw(m.data, m.len);
	for (i = 0; i < N_OF(fields); i++) {
		snprintf(want, sizeof(want), "%s: expected string, got unsigned integer",
		         fields[i]);
		dec_fails(K_SANDBOX, OP_VERSION, set_at(&m, fields[i], o_uint(1)), want);
		snprintf(want, sizeof(want), "%s: invalid UTF-8", fields[i]);
		dec_fails(K_SANDBOX, OP_VERSION, set_at(&m, fields[i], o_str("/x\xff")), want);
		m3 = drop(&m2, fields[i]);
		msg_free(&m2);
		m2 = m3;
	}
	ck_assert_int_eq(proto_sandbox_decode(m2.data, m2.len, &out, &e), 0);
	ck_assert_ptr_null(out.hostname_path);
	ck_assert_ptr_null(out.hosts_path);
	ck_assert_ptr_null(out.resolv_conf_path);
	ck_assert_ptr_null(out.shm_path);
	ck_assert_ptr_null(out.cgroup_path);
	ck_assert_ptr_null(out.process_label);
	ck_assert_ptr_null(out.mount_label);
	ck_assert_ptr_null(out.runtime_type);
	ck_assert_str_eq(out.netns_path, in.netns_path);
	proto_sandbox_fini(&out);
	msg_free(&m2);

	/* but not broken ones */
	{
		const struct bad_edit cases[] = {
			E_SET("phase", o_str("zombie"), "phase: \"zombie\" is not a sandbox phase"),
			E_SET("pid", o_uint(1ULL << 31), "pid: 2147483648 is out of range"),
			E_SET("pid_start_time", o_int(-1),
			      "pid_start_time: expected unsigned integer, got negative integer"),
			E_SET("id", o_str(ID_A "00"),
			      "id: \"0123456789abcdef0123456789abcdef0123456789abcdef\"... "
			      "is not a valid sandbox id"),
			E_DROP("id", "id: required field is missing"),
			E_DROP("config", "config: required field is missing"),
			E_SET("config.labels.app", o_uint(1),
			      "config.labels.app: expected string, got unsigned integer"),
		};

		EDITS_FAIL(&m, K_SANDBOX, OP_VERSION, cases);
	}
	msg_free(&m);

	/* the encoder refuses what it could not read back; sbuf untouched */
	in.id[10] = 'X';
	enc_fails(K_SANDBOX, &in, CRADLE_INTERNAL, "sandbox id");
	in.id[10] = 'a';
	in.phase = 9;
	enc_fails(K_SANDBOX, &in, CRADLE_INTERNAL, "phase 9");
	proto_sandbox_fini(&in);
}
END_TEST

START_TEST(test_event)
{
	struct cradle_err e = { 0 };
	struct proto_event in, out;
	struct msg m;

	memset(&in, 0, sizeof(in));
	in.seq = 1ULL << 40;
	snprintf(in.type, sizeof(in.type), "sandbox.exit");
	snprintf(in.id, sizeof(in.id), "%s", ID_A);
	in.pid = 99;
	in.exit_status = 143;
	in.exited_at = 1700000000999999999LL;
	m = enc(K_EVENT, &in);
	ck_assert_int_eq(proto_event_decode(m.data, m.len, &out, &e), 0);
	ck_assert_uint_eq(out.seq, in.seq);
	ck_assert_str_eq(out.type, "sandbox.exit");
	ck_assert_str_eq(out.id, in.id);
	ck_assert_int_eq(out.pid, in.pid);
	ck_assert_int_eq(out.exit_status, in.exit_status);
	ck_assert_int_eq(out.exited_at, in.exited_at);
	{
		const struct bad_edit cases[] = {
			E_DROP("seq", "seq: required field is missing"),
			E_SET("type", o_str("sandbox.exit.and.a.very.long.name"),
			      "type: string of 33 bytes exceeds 31"),
			E_SET("id", o_str("nope"), "id: \"nope\" is not a valid sandbox id"),
			E_SET("exit_status", o_str("137"),
			      "exit_status: expected integer, got string"),
		};

		EDITS_FAIL(&m, K_EVENT, OP_VERSION, cases);
	}
	msg_free(&m);

	/* an empty type goes out as the one type there is */
	in.type[0] = '\0';
	m = enc(K_EVENT, &in);
	ck_assert_int_eq(proto_event_decode(m.data, m.len, &out, &e), 0);
	ck_assert_str_eq(out.type, "sandbox.exit");
	msg_free(&m);

	/* a sandbox event without a sandbox id is refused by the encoder: its
	 * subscribers could not decode it */
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	in.id[0] = '\0';
	ck_assert_int_lt(proto_event_encode(&sb, &in, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_INTERNAL);
	ck_assert_str_eq(e.msg, "event sandbox.exit: sandbox id \"\" is not valid");
	ck_assert_uint_eq(sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_large_list_reply)
{
	struct cradle_err e = { 0 };
	struct proto_reply in, out;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct msg m;
	size_t i, n = 2000;

	ok_reply(&in, OP_LIST, n);
	for (i = 0; i < n; i++) {
		snprintf(in.sandboxes[i].id, sizeof(in.sandboxes[i].id), "%064zx", i);
		min_config(&in.sandboxes[i].config);
		in.sandboxes[i].phase = PHASE_RUNNING;
	}
	m = enc(K_REPLY, &in);
	ck_assert_msg(proto_reply_decode(OP_LIST, m.data, m.len, &out, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(out.n_sandboxes, n);
	ck_assert_str_eq(out.sandboxes[n - 1].id, in.sandboxes[n - 1].id);
	proto_reply_fini(&out);
	/* the generic (request) limits refuse it, naming the array */
	ASSERT_INVALID(proto_check_bounds(m.data, m.len, &e), e,
	               "result.sandboxes: array with 2000 entries exceeds 1024");
	/* and the large allowance is for list replies only */
	dec_fails(K_REPLY, OP_STATUS, m, "exceeds 1024");
	proto_reply_fini(&in);

	/* other arrays in a list reply keep the normal limit */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "v", 1);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_str_with_body(&pk, "ok", 2);
	msgpack_pack_true(&pk);
	msgpack_pack_str_with_body(&pk, "result", 6);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "sandboxes", 9);
	msgpack_pack_array(&pk, 0);
	msgpack_pack_str_with_body(&pk, "other", 5);
	msgpack_pack_array(&pk, 2000);
	for (i = 0; i < 2000; i++)
		msgpack_pack_nil(&pk);
	dec_fails(K_REPLY, OP_LIST, take(&sb),
	          "result.other: array with 2000 entries exceeds 1024");
}
END_TEST

/* ------------------------------------------------------------------ */
/* hostile bytes                                                      */

/* Decode buf as every kind of message (replies to every op); none may
 * crash or leak, and every refusal must be INVALID_ARGUMENT. */
static void
decode_all_ways(const void *buf, size_t len)
{
	struct cradle_err e;
	int k, op;

	for (k = 0; k < K__COUNT; k++) {
		for (op = 0; op < (k == K_REPLY ? OP__COUNT : 1); op++) {
			memset(&e, 0, sizeof(e));
			if (decode_as(k, op, buf, len, &e))
				ck_assert_msg(e.code == CRADLE_INVALID_ARGUMENT, "%s", e.msg);
		}
	}
}

START_TEST(test_garbage)
{
	static const unsigned char interesting[] = {
		0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc4, 0xc6, 0xc7,
		0xca, 0xcb, 0xcf, 0xd3, 0xd4, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff,
	};
	unsigned char buf[96];
	unsigned int seed = 12345;
	struct cradle_err e;
	struct msg m;
	size_t i, j, len;

	ASSERT_INVALID(proto_check_bounds("hello", 5, &e), e, "message must be a map");
	decode_all_ways("hello", 5);
	ASSERT_INVALID(proto_check_bounds("\xc1", 1, &e), e, "message must be a map");
	ASSERT_INVALID(proto_check_bounds("\x81\xa1"
	                                  "a\xc1",
	                                  4, &e),
	               e, "a: invalid msgpack byte 0xc1");

	/* random bytes, with a map header in front half of the time: 3,000
	 * messages, 1,000 under the sanitizers (each is decoded every way;
	 * tests/fuzz does this at length) */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	const size_t n_random = 1000;
#else
	const size_t n_random = 3000;
#endif
	for (i = 0; i < n_random; i++) {
		len = 1 + (size_t)rand_r(&seed) % sizeof(buf);
		for (j = 0; j < len; j++)
			buf[j] = (unsigned char)rand_r(&seed);
		if (i & 1)
			buf[0] = 0x80 | (buf[0] & 0x0f);
		decode_all_ways(buf, len);
	}

	/* a valid message with one byte changed, everywhere, to every kind
	 * of header byte */
	m = create_msg();
	for (i = 0; i < m.len; i += 1 + i / 64) {
		for (j = 0; j < sizeof(interesting); j++) {
			unsigned char old = (unsigned char)m.data[i];

			m.data[i] = (char)interesting[j];
			decode_all_ways(m.data, m.len);
			m.data[i] = (char)old;
		}
	}
	msg_free(&m);
}
END_TEST

START_TEST(test_empty)
{
	struct cradle_err e = { 0 };
	struct proto_request req;
	int k;

	ASSERT_INVALID(proto_check_bounds("", 0, &e), e, "empty message");
	ASSERT_INVALID(proto_check_bounds(NULL, 10, &e), e, "empty message");
	for (k = 0; k < K__COUNT; k++) {
		ASSERT_INVALID(decode_as(k, OP_LIST, "", 0, &e), e, "empty message");
		ASSERT_INVALID(decode_as(k, OP_LIST, NULL, 0, &e), e, "empty message");
	}
	/* the empty map is a message, just not a request */
	ck_assert_int_eq(proto_check_bounds("\x80", 1, &e), 0);
	ASSERT_INVALID(proto_request_decode("\x80", 1, &req, &e), e,
	               "v: required field is missing");
	/* err may be NULL */
	ck_assert_int_lt(proto_request_decode("", 0, &req, NULL), 0);
	ck_assert_int_lt(proto_check_bounds("\xc1", 1, NULL), 0);
}
END_TEST

/* Every strict prefix of m, a valid kind k message (a reply to op), is
 * truncated and must fail. */
static void
all_prefixes_fail(struct msg m, enum kind k, int op)
{
	struct cradle_err e;
	size_t n;

	for (n = 0; n < m.len; n++) {
		memset(&e, 0, sizeof(e));
		ck_assert_msg(decode_as(k, op, m.data, n, &e) < 0, "prefix %zu of %zu decoded", n,
		              m.len);
		ck_assert_int_eq(e.code, CRADLE_INVALID_ARGUMENT);
		if (n > 0)
			ck_assert_msg(strstr(e.msg, "truncated") || strstr(e.msg, "remain"),
			              "prefix %zu: %s", n, e.msg);
	}
	msg_free(&m);
}

START_TEST(test_truncated)
{
	struct proto_reply rep;
	struct proto_sandbox sb;
	struct proto_image img;
	struct proto_event ev;

	all_prefixes_fail(create_msg(), K_REQUEST, OP_VERSION);

	ok_reply(&rep, OP_LIST, 2);
	fill_sandbox(&rep.sandboxes[0], ID_A, PHASE_RUNNING);
	fill_sandbox(&rep.sandboxes[1], ID_B, PHASE_EXITED);
	all_prefixes_fail(enc(K_REPLY, &rep), K_REPLY, OP_LIST);
	proto_reply_fini(&rep);

	fill_sandbox(&sb, ID_A, PHASE_CREATED);
	all_prefixes_fail(enc(K_SANDBOX, &sb), K_SANDBOX, OP_VERSION);
	proto_sandbox_fini(&sb);

	fill_image(&img, REF_B);
	all_prefixes_fail(enc(K_IMAGE, &img), K_IMAGE, OP_VERSION);
	proto_image_fini(&img);

	memset(&ev, 0, sizeof(ev));
	ev.seq = 1;
	snprintf(ev.id, sizeof(ev.id), "%s", ID_A);
	all_prefixes_fail(enc(K_EVENT, &ev), K_EVENT, OP_VERSION);
}
END_TEST

START_TEST(test_oversized)
{
	struct cradle_err e = { 0 };
	struct proto_request req;
	char *big, *val;
	struct msg m;
	int i;

	big = calloc(1, PROTO_MAX_MSG + 1);
	ck_assert_ptr_nonnull(big);
	big[0] = (char)0x80;
	ASSERT_INVALID(proto_check_bounds(big, PROTO_MAX_MSG + 1, &e), e,
	               "message of 1048577 bytes exceeds 1048576");
	ASSERT_INVALID(proto_request_decode(big, PROTO_MAX_MSG + 1, &req, &e), e,
	               "exceeds 1048576");
	free(big);

	/* the encoder will not produce a request the daemon must refuse */
	proto_request_init(&req, OP_CREATE);
	min_config(&req.config);
	val = malloc(16001);
	ck_assert_ptr_nonnull(val);
	memset(val, 'v', 16000);
	val[16000] = '\0';
	for (i = 0; i < 70; i++) {
		char k[16];

		snprintf(k, sizeof(k), "k%d", i);
		xkv(&req.config.annotations, k, val);
	}
	free(val);
	enc_fails(K_REQUEST, &req, CRADLE_INVALID_ARGUMENT, "exceeds 1048576");
	proto_request_fini(&req);

	/* a string over PROTO_MAX_STR, with the bytes present */
	proto_request_init(&req, OP_CREATE);
	min_config(&req.config);
	req.config.hostname = calloc(1, PROTO_MAX_STR + 2);
	ck_assert_ptr_nonnull(req.config.hostname);
	memset(req.config.hostname, 'h', PROTO_MAX_STR + 1);
	m = enc(K_REQUEST, &req);
	proto_request_fini(&req);
	req_fails(m, "args.config.hostname: string of 16385 bytes exceeds 16384");
}
END_TEST

static struct msg
nested(int depth, bool arrays)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int i;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (i = 0; i < depth - 1; i++) {
		if (arrays && i > 0) {
			msgpack_pack_array(&pk, 1);
		} else {
			msgpack_pack_map(&pk, 1);
			msgpack_pack_str_with_body(&pk, "a", 1);
		}
	}
	msgpack_pack_map(&pk, 0);
	return take(&sb);
}

START_TEST(test_depth)
{
	struct cradle_err e = { 0 };
	struct msg m;

	ck_assert_int_eq(PROTO_MAX_DEPTH, 12);
	m = nested(12, false);
	ck_assert_msg(proto_check_bounds(m.data, m.len, &e) == 0, "%s", e.msg);
	msg_free(&m);
	m = nested(13, false);
	ASSERT_INVALID(proto_check_bounds(m.data, m.len, &e), e,
	               "a.a.a.a.a.a.a.a.a.a.a.a: nesting deeper than 12");
	req_fails(m, "nesting deeper than 12");
	m = nested(12, true);
	ck_assert_msg(proto_check_bounds(m.data, m.len, &e) == 0, "%s", e.msg);
	msg_free(&m);
	m = nested(13, true);
	ASSERT_INVALID(proto_check_bounds(m.data, m.len, &e), e,
	               "a[0][0][0][0][0][0][0][0][0][0][0]: nesting deeper than 12");
	msg_free(&m);
	m = nested(200, true);
	req_fails(m, "nesting deeper than 12");
}
END_TEST

START_TEST(test_huge_counts)
{
	/* five bytes claiming 2^31 entries: refused before msgpack-c sees them */
	static const struct bad_bytes cases[] = {
		B(0, "\xdf\x80\x00\x00\x00", "map with 2147483648 entries exceeds 1024"),
		B(0, "\xde\xff\xff", "map with 65535 entries exceeds 1024"),
		B(0,
		  "\x81\xa1"
		  "a\xdd\x7f\xff\xff\xff",
		  "a: array with 2147483647 entries exceeds 1024"),
		B(0,
		  "\x81\xa1"
		  "a\xdd\xff\xff\xff\xff",
		  "a: array with 4294967295 entries exceeds 1024"),
		B(0,
		  "\x81\xa1"
		  "a\xdc\x03\xe8",
		  "a: array claims 1000 entries but only 0 bytes remain"),
		B(0,
		  "\x81\xa1"
		  "a\xde\x01\x00\x01\x02",
		  "a: map claims 256 entries but only 2 bytes remain"),
		B(0,
		  "\x81\xa1"
		  "a\xdb\x7f\xff\xff\xff",
		  "a: string of 2147483647 bytes exceeds 16384"),
		B(0,
		  "\x81\xa1"
		  "a\xc6\xff\xff\xff\xff",
		  "a: binary of 4294967295 bytes exceeds 16384"),
		B(0,
		  "\x81\xa1"
		  "a\xda\x00\x10",
		  "message truncated"),
		B(0, "\x81\xdb\x7f\xff\xff\xff", "string of 2147483647 bytes exceeds 16384"),
		B(0,
		  "\x81\xa1"
		  "a\xcf\x00",
		  "message truncated"),
		B(0,
		  "\x81\xa1"
		  "a\xdd\x00",
		  "message truncated"),
	};
	struct cradle_err e = { 0 };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct msg m;
	int i;

	BYTES_FAIL(K_REQUEST, cases);

	/* 1025 entries that are all there */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "args", 4);
	msgpack_pack_array(&pk, 1025);
	for (i = 0; i < 1025; i++)
		msgpack_pack_nil(&pk);
	m = take(&sb);
	ASSERT_INVALID(proto_check_bounds(m.data, m.len, &e), e,
	               "args: array with 1025 entries exceeds 1024");
	msg_free(&m);
}
END_TEST

START_TEST(test_shape)
{
	static const struct bad_bytes cases[] = {
		B(0, "\x91\x01", "message must be a map, got array"),
		B(0,
		  "\xa1"
		  "a",
		  "message must be a map, got string"),
		B(0, "\x01", "message must be a map, got unsigned integer"),
		B(0, "\xc0", "message must be a map, got nil"),
		B(0, "\x81\x01\x01", "map key must be a string, got unsigned integer"),
		B(0,
		  "\x81\xa4"
		  "args\x81\xc0\x01",
		  "args: map key must be a string, got nil"),
		B(0,
		  "\x81\xa4"
		  "args\x81\x80\x01",
		  "args: map key must be a string, got map"),
		B(0,
		  "\x81\xa1"
		  "a\xd4\x01\x00",
		  "a: msgpack ext types are not allowed"),
		B(0,
		  "\x81\xa1"
		  "a\xc7\x01\x05\x00",
		  "a: msgpack ext types are not allowed"),
	};
	struct msg m;

	BYTES_FAIL(K_REQUEST, cases);

	m = create_msg();
	m.data = realloc(m.data, m.len + 3);
	ck_assert_ptr_nonnull(m.data);
	memcpy(m.data + m.len, "\x01\x02\x03", 3);
	m.len += 3;
	req_fails(m, "trailing bytes after the message (3)");
	/* two whole messages back to back are trailing bytes too */
	m = create_msg();
	m.data = realloc(m.data, m.len * 2);
	ck_assert_ptr_nonnull(m.data);
	memcpy(m.data + m.len, m.data, m.len);
	m.len *= 2;
	req_fails(m, "trailing bytes after the message");
}
END_TEST

/* ------------------------------------------------------------------ */
/* envelope                                                           */

START_TEST(test_envelope)
{
	struct proto_request req;
	struct msg m = create_msg();
	const struct bad_edit cases[] = {
		E_SET("v", o_uint(2), "unsupported protocol version 2"),
		E_SET("v", o_uint(0), "unsupported protocol version 0"),
		E_SET("v", o_str("1"), "v: expected unsigned integer, got string"),
		E_DROP("v", "v: required field is missing"),
		E_SET("op", o_str("sandbox.frob"), "op: unknown operation \"sandbox.frob\""),
		E_SET("op", o_str("sandbox.frob\n\x01\xff"),
		      "op: unknown operation \"sandbox.frob\\x0a\\x01\\xff\""),
		E_SET("op", o_uint(1), "op: expected string, got unsigned integer"),
		E_DROP("op", "op: required field is missing"),
		E_SET("args", O_ARRAY, "args: expected map, got array"),
		E_DROP("args", "args.config: required field is missing"),
		E_ADD("", "op", o_str("sandbox.run"), "op: duplicate key"),
	};

	EDITS_FAIL(&m, K_REQUEST, OP_VERSION, cases);

	/* unknown keys are skipped at every level; nil reads as absent */
	{
		struct msg a = add_at(&m, "", "trace_id", o_str("abc"));
		struct msg b = add_at(&a, "args", "future", o_uint(1));
		struct msg c = add_at(&b, "args.config", "port_mappings", O_ARRAY);
		struct msg d = add_at(&c, "args.config.linux.security_context", "apparmor", O_MAP);
		struct msg f = set_at(&d, "args.config.hostname", O_NIL);

		req_ok(f, &req);
		ck_assert_int_eq(req.op, OP_CREATE);
		ck_assert_ptr_null(req.config.hostname);
		ck_assert_str_eq(req.config.metadata.name, "nginx-7d9f");
		proto_request_fini(&req);
		msg_free(&a);
		msg_free(&b);
		msg_free(&c);
		msg_free(&d);
	}
	msg_free(&m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* config fields                                                      */

START_TEST(test_wrong_types)
{
	const struct bad_edit cases[] = {
		E_SET("args.config", o_str("text"), "args.config: expected map, got string"),
		E_SET("args.config.metadata", O_ARRAY,
		      "args.config.metadata: expected map, got array"),
		E_SET("args.config.metadata.name", o_uint(7),
		      "args.config.metadata.name: expected string, got unsigned integer"),
		E_SET("args.config.metadata.name", o_bin("nginx"),
		      "args.config.metadata.name: expected string, got binary"),
		E_SET("args.config.metadata.uid", O_MAP,
		      "args.config.metadata.uid: expected string, got map"),
		E_SET("args.config.metadata.namespace", o_bool(true),
		      "args.config.metadata.namespace: expected string, got boolean"),
		E_SET("args.config.metadata.attempt", o_str("text"),
		      "args.config.metadata.attempt: expected unsigned integer, got string"),
		E_SET("args.config.metadata.attempt", o_int(-7),
		      "args.config.metadata.attempt: expected unsigned integer, got negative integer"),
		E_SET("args.config.metadata.attempt", o_float(1.5),
		      "args.config.metadata.attempt: expected unsigned integer, got float"),
		E_SET("args.config.metadata.attempt", o_uint(1ULL << 32),
		      "args.config.metadata.attempt: 4294967296 is out of range (0..4294967295)"),
		E_SET("args.config.hostname", o_uint(7),
		      "args.config.hostname: expected string, got unsigned integer"),
		E_SET("args.config.log_directory", O_ARRAY,
		      "args.config.log_directory: expected string, got array"),
		E_SET("args.config.dns_config", o_str("text"),
		      "args.config.dns_config: expected map, got string"),
		E_SET("args.config.dns_config.servers", o_str("text"),
		      "args.config.dns_config.servers: expected array, got string"),
		E_SET("args.config.dns_config.searches.1", o_uint(7),
		      "args.config.dns_config.searches[1]: expected string, got unsigned integer"),
		E_SET("args.config.labels", O_ARRAY, "args.config.labels: expected map, got array"),
		E_SET("args.config.labels.app", o_uint(7),
		      "args.config.labels.app: expected string, got unsigned integer"),
		E_SET("args.config.annotations", o_str("text"),
		      "args.config.annotations: expected map, got string"),
		E_SET("args.config.linux", O_ARRAY, "args.config.linux: expected map, got array"),
		E_SET("args.config.linux.cgroup_parent", o_bool(true),
		      "args.config.linux.cgroup_parent: expected string, got boolean"),
		E_SET("args.config.linux.sysctls", o_uint(7),
		      "args.config.linux.sysctls: expected map, got unsigned integer"),
		E_SET("args.config.linux.security_context", o_str("text"),
		      "args.config.linux.security_context: expected map, got string"),
		E_SET("args.config.linux.security_context.namespace_options", o_uint(7),
		      "args.config.linux.security_context.namespace_options: expected map, got unsigned integer"),
		E_SET("args.config.linux.security_context.namespace_options.network", o_float(1.5),
		      "args.config.linux.security_context.namespace_options.network: expected integer or string, got float"),
		E_SET("args.config.linux.security_context.namespace_options.target_id", o_uint(7),
		      "args.config.linux.security_context.namespace_options.target_id: expected string, got unsigned integer"),
		E_SET("args.config.linux.security_context.privileged", o_uint(7),
		      "args.config.linux.security_context.privileged: expected boolean, got unsigned integer"),
		E_SET("args.config.linux.security_context.privileged", o_str("text"),
		      "args.config.linux.security_context.privileged: expected boolean, got string"),
		E_SET("args.runtime_handler", o_uint(7),
		      "args.runtime_handler: expected string, got unsigned integer"),
	};

	create_edits_fail(cases, N_OF(cases));
}
END_TEST

START_TEST(test_missing_required)
{
	struct msg m;
	const struct bad_edit cases[] = {
		E_DROP("args.config", "args.config: required field is missing"),
		E_DROP("args.config.metadata",
		       "args.config.metadata: sandbox config must include metadata"),
		E_SET("args.config.metadata", O_MAP,
		      "args.config.metadata: sandbox config must include metadata"),
		E_DROP("args.config.metadata.name",
		       "args.config.metadata.name: required field is missing"),
		E_SET("args.config.metadata.name", O_NIL,
		      "args.config.metadata.name: required field is missing"),
		E_DROP("args.config.metadata.namespace",
		       "args.config.metadata.namespace: required field is missing"),
		E_DROP("args.config.metadata.uid",
		       "args.config.metadata.uid: required field is missing"),
		E_SET("args.config.metadata.uid", o_str(""),
		      "args.config.metadata.uid: must not be empty"),
	};
	const struct bad_edit id_cases[] = {
		E_DROP("args.id", "args.id: required field is missing"),
		E_DROP("args", "args.id: required field is missing"),
		E_SET("args.id", O_NIL, "args.id: required field is missing"),
	};

	create_edits_fail(cases, N_OF(cases));
	for (int op = OP_START; op < OP_LIST; op++) {
		if (op == OP_RUN)
			continue;
		m = req_msg(op, ID_A, NULL, NULL);
		EDITS_FAIL(&m, K_REQUEST, OP_VERSION, id_cases);
		msg_free(&m);
	}
}
END_TEST

START_TEST(test_utf8_and_nul)
{
	struct proto_request req;
	struct msg m = create_msg();
	const struct bad_edit cases[] = {
		E_SET("args.config.metadata.name",
		      o_str("ab\xff"
		            "cd"),
		      "args.config.metadata.name: invalid UTF-8"),
		E_SET("args.config.metadata.name", o_strn("ab\0cd", 5),
		      "args.config.metadata.name: contains a NUL byte"),
		E_SET("args.config.metadata.uid", o_str("\xc0\xaf"),
		      "args.config.metadata.uid: invalid UTF-8"),
		E_SET("args.config.metadata.uid", o_str("\xed\xa0\x80"),
		      "args.config.metadata.uid: invalid UTF-8"),
		E_SET("args.config.labels.app", o_str("x\xc3"),
		      "args.config.labels.app: invalid UTF-8"),
		E_SET("args.config.labels.app", o_strn("x\0y", 3),
		      "args.config.labels.app: contains a NUL byte"),
		E_RENAME("args.config.labels.app", "\xc3\x28",
		         "args.config.labels: key is not valid UTF-8"),
		E_RENAME("args.config.labels.app", "a\0b",
		         "args.config.labels: key contains a NUL byte"),
		E_RENAME("args.config.labels.app", "",
		         "args.config.labels: keys must not be empty"),
		E_SET("args.config.dns_config.servers.0", o_strn("1.1.1.1\0", 8),
		      "args.config.dns_config.servers[0]: contains a NUL byte"),
		E_SET("args.config.linux.cgroup_parent", o_str("/k\xfe"),
		      "args.config.linux.cgroup_parent: invalid UTF-8"),
		E_SET("args.runtime_handler", o_strn("runc\0", 5),
		      "args.runtime_handler: contains a NUL byte"),
		/* an odd key is quoted, escaped, in the path */
		E_ADD("args.config.labels", "we\"ird\n", o_uint(1),
		      "args.config.labels[\"we\\\"ird\\x0a\"]: expected string"),
		E_SET("args.config.annotations.kubernetes.io/config.seen", o_str("\xff"),
		      "args.config.annotations[\"kubernetes.io/config.seen\"]: invalid UTF-8"),
	};

	EDITS_FAIL(&m, K_REQUEST, OP_VERSION, cases);
	/* multi-byte UTF-8 is fine */
	req_ok(set_at(&m, "args.config.labels.app",
	              o_str("\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80")),
	       &req);
	ck_assert_str_eq(proto_kvs_get(&req.config.labels, "app"),
	                 "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
	proto_request_fini(&req);
	msg_free(&m);
}
END_TEST

START_TEST(test_duplicates)
{
	const struct bad_edit cases[] = {
		E_ADD("args.config.metadata", "name", o_str("other"),
		      "args.config.metadata.name: duplicate key"),
		E_ADD("args.config.labels", "app", o_str("other"),
		      "args.config.labels: duplicate key \"app\""),
		E_ADD("args.config.linux.sysctls", "net.ipv4.ip_local_port_range", o_str("1 2"),
		      "args.config.linux.sysctls: duplicate key \"net.ipv4.ip_local_port_range\""),
		E_ADD("args", "config", O_MAP, "args.config: duplicate key"),
	};

	create_edits_fail(cases, N_OF(cases));
}
END_TEST

START_TEST(test_bad_ids)
{
	static const char *const bad[] = {
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",   /* 63 */
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", /* 65 */
		"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",  /* upper */
		"0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef",  /* g */
		"../../../../etc/passwd",
		"",
	};
	char want[256];
	struct msg m;
	size_t i;
	int op;

	for (op = OP_START; op < OP_LIST; op++) {
		if (op == OP_RUN)
			continue;
		m = req_msg(op, ID_A, NULL, NULL);
		for (i = 0; i < N_OF(bad); i++) {
			snprintf(want, sizeof(want), "args.id: \"%.48s", bad[i]);
			req_fails(set_at(&m, "args.id", o_str(bad[i])), want);
			req_fails(set_at(&m, "args.id", o_str(bad[i])),
			          "is not a valid sandbox id");
		}
		req_fails(set_at(&m, "args.id",
		                 o_strn("0123456789abcdef0123456789abcdef"
		                        "0123456789abcdef0123456789abcd\0f",
		                        64)),
		          "args.id: contains a NUL byte");
		req_fails(set_at(&m, "args.id", o_uint(5)), "args.id: expected string");
		msg_free(&m);
	}
}
END_TEST

START_TEST(test_names)
{
	char name[65], uid[255], host[80], ok_host[80];
	struct proto_request req;
	struct msg m = create_msg();

	memset(name, 'a', 64);
	name[64] = '\0';
	memset(uid, 'u', 254);
	uid[254] = '\0';
	memset(host, 'h', 64);
	strcpy(host + 64, ".example");
	memset(ok_host, 'h', 63);
	strcpy(ok_host + 63, ".example");
	{
		const struct bad_edit cases[] = {
			E_SET("args.config.metadata.name", o_str("Nginx"),
			      "args.config.metadata.name: \"Nginx\" is not a valid DNS-1123 label"),
			E_SET("args.config.metadata.name", o_str("-nginx"),
			      "args.config.metadata.name: \"-nginx\" is not a valid DNS-1123 label"),
			E_SET("args.config.metadata.name", o_str("a_b"),
			      "is not a valid DNS-1123 label"),
			E_SET("args.config.metadata.name", o_str(""),
			      "args.config.metadata.name: \"\" is not a valid DNS-1123 label"),
			E_SET("args.config.metadata.name", o_str(name),
			      "args.config.metadata.name: \"aaaa"),
			E_SET("args.config.metadata.namespace", o_str("kube.system"),
			      "args.config.metadata.namespace: \"kube.system\" is not a valid DNS-1123 label"),
			E_SET("args.config.metadata.uid", o_str("a/b"),
			      "args.config.metadata.uid: must not contain '/'"),
			E_SET("args.config.metadata.uid", o_str(uid),
			      "args.config.metadata.uid: 254 bytes exceeds 253"),
			E_SET("args.config.hostname", o_str("foo..bar"),
			      "args.config.hostname: \"foo..bar\" is not a valid DNS-1123 subdomain"),
			E_SET("args.config.hostname", o_str("Foo"),
			      "args.config.hostname: \"Foo\" is not a valid DNS-1123 subdomain"),
			E_SET("args.config.hostname", o_str(host),
			      "is not a valid DNS-1123 subdomain"),
			E_SET("args.config.log_directory", o_str("var/log"),
			      "args.config.log_directory: must be an absolute path"),
			E_SET("args.config.linux.cgroup_parent", o_str("/kubepods/../../x"),
			      "args.config.linux.cgroup_parent: must not contain \"..\" components"),
			E_RENAME(
				"args.config.linux.sysctls.net.ipv4.ip_local_port_range",
				"../../etc",
				"args.config.linux.sysctls: \"../../etc\" is not a valid sysctl name"),
			E_SET("args.config.dns_config.options.0",
			      o_str("ndots:5\nnameserver 6.6.6.6"),
			      "args.config.dns_config.options[0]: must not contain whitespace"),
			E_SET("args.runtime_handler", o_str("../runc"),
			      "args.runtime_handler: \"../runc\" is not a valid runtime handler name"),
		};

		EDITS_FAIL(&m, K_REQUEST, OP_VERSION, cases);
	}

	/* hostname: 63-char labels are fine, and "" means unset */
	req_ok(set_at(&m, "args.config.hostname", o_str(ok_host)), &req);
	ck_assert_str_eq(req.config.hostname, ok_host);
	proto_request_fini(&req);
	req_ok(set_at(&m, "args.config.hostname", o_str("")), &req);
	ck_assert_ptr_null(req.config.hostname);
	proto_request_fini(&req);
	msg_free(&m);
}
END_TEST

/* Namespace mode f (0 network, 1 pid, 2 ipc) of a decoded request. */
static int
ns_mode(const struct proto_request *req, int f)
{
	return f == 0   ? SECCTX(&req->config).namespace_options.network
	       : f == 1 ? SECCTX(&req->config).namespace_options.pid
	                : SECCTX(&req->config).namespace_options.ipc;
}

START_TEST(test_ns_modes)
{
	static const char *const base = "args.config.linux.security_context.namespace_options.";
	static const char *const fields[] = { "network", "pid", "ipc" };
	static const char *const names[] = { "POD", "CONTAINER", "NODE", "TARGET" };
	struct proto_request req;
	struct msg m = create_msg();
	char path[128], want[256];
	int f, i;

	for (f = 0; f < 3; f++) {
		snprintf(path, sizeof(path), "%s%s", base, fields[f]);
		for (i = 0; i < 4; i++) {
			req_ok(set_at(&m, path, o_uint((uint64_t)i)), &req);
			ck_assert_int_eq(ns_mode(&req, f), i);
			proto_request_fini(&req);
			req_ok(set_at(&m, path, o_str(names[i])), &req);
			ck_assert_int_eq(ns_mode(&req, f), i);
			proto_request_fini(&req);
		}
		snprintf(want, sizeof(want),
		         "%s: 4 is out of range (POD=0, CONTAINER=1, "
		         "NODE=2, TARGET=3)",
		         path);
		req_fails(set_at(&m, path, o_uint(4)), want);
		snprintf(want, sizeof(want), "%s: -1 is out of range", path);
		req_fails(set_at(&m, path, o_int(-1)), want);
		snprintf(want, sizeof(want), "%s: 18446744073709551615 is out of range", path);
		req_fails(set_at(&m, path, o_uint(UINT64_MAX)), want);
		snprintf(want, sizeof(want), "%s: \"node\" is not a namespace mode", path);
		req_fails(set_at(&m, path, o_str("node")), want);
		snprintf(want, sizeof(want), "%s: expected integer or string, got boolean", path);
		req_fails(set_at(&m, path, o_bool(false)), want);
	}
	/* absent means POD */
	snprintf(path, sizeof(path), "%snetwork", base);
	req_ok(drop(&m, path), &req);
	ck_assert_int_eq(ns_mode(&req, 0), NS_POD);
	proto_request_fini(&req);
	msg_free(&m);
}
END_TEST

START_TEST(test_stop_and_list_args)
{
	const struct bad_edit stop_cases[] = {
		E_SET("args.timeout_ms", o_uint(3600001),
		      "args.timeout_ms: 3600001 is out of range (0..3600000)"),
		E_SET("args.timeout_ms", o_int(-1),
		      "args.timeout_ms: -1 is out of range (0..3600000)"),
		E_SET("args.timeout_ms", o_uint(UINT64_MAX),
		      "args.timeout_ms: 18446744073709551615 is out of range"),
		E_SET("args.timeout_ms", o_str("10s"),
		      "args.timeout_ms: expected integer, got string"),
	};
	const struct bad_edit list_cases[] = {
		E_SET("args.state", o_uint(2), "args.state: 2 is out of range"),
		E_SET("args.state", o_int(-1), "args.state: -1 is out of range"),
		E_SET("args.state", o_str("READY"), "args.state: \"READY\" is not a sandbox state"),
		E_SET("args.labels", O_ARRAY, "args.labels: expected map, got array"),
		E_SET("args.labels.app", o_uint(3),
		      "args.labels.app: expected string, got unsigned integer"),
	};
	const struct {
		msgpack_object v;
		int want;
	} states[] = {
		{ o_uint(1), STATE_NOTREADY },
		{ o_str("SANDBOX_NOTREADY"), STATE_NOTREADY },
		{ O_NIL, -1 },
	};
	struct proto_request in, req;
	struct msg m;
	size_t i;

	m = req_msg(OP_STOP, ID_A, NULL, NULL);
	req_ok(set_at(&m, "args.timeout_ms", o_uint(3600000)), &req);
	ck_assert_int_eq(req.timeout_ms, 3600000);
	proto_request_fini(&req);
	EDITS_FAIL(&m, K_REQUEST, OP_VERSION, stop_cases);
	msg_free(&m);

	proto_request_init(&in, OP_LIST);
	in.state_filter = STATE_READY;
	xkv(&in.label_filter, "app", "x");
	m = enc(K_REQUEST, &in);
	proto_request_fini(&in);
	for (i = 0; i < N_OF(states); i++) {
		req_ok(set_at(&m, "args.state", states[i].v), &req);
		ck_assert_int_eq(req.state_filter, states[i].want);
		proto_request_fini(&req);
	}
	EDITS_FAIL(&m, K_REQUEST, OP_VERSION, list_cases);
	msg_free(&m);
}
END_TEST

/* With the string field *s of c set to bad, validating c must fail with
 * needle; *s is then good (NULL: unset). */
static void
validate_str_fails(struct pod_config *c, char **s, const char *bad, const char *needle,
                   const char *good)
{
	struct cradle_err e = { 0 };

	free(*s);
	*s = unit_strdup(bad);
	ASSERT_INVALID(pod_config_validate(c, "config", &e), e, needle);
	free(*s);
	*s = good ? unit_strdup(good) : NULL;
}

/* The same for a number: field f of c set to bad, then to good. */
#define VALIDATE_NUM_FAILS(c, f, bad, good, needle)                                  \
	do {                                                                         \
		struct cradle_err e_ = { 0 };                                        \
		(c)->f = (bad);                                                      \
		ASSERT_INVALID(pod_config_validate((c), "config", &e_), e_, needle); \
		(c)->f = (good);                                                     \
	} while (0)

START_TEST(test_validate_direct)
{
	struct cradle_err e = { 0 };
	struct pod_config c;
	char k[32];
	int i;

	fill_config(&c);
	ck_assert_int_eq(pod_config_validate(&c, "config", &e), 0);
	pod_config_fini(&c);

	pod_config_init(&c);
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.metadata: sandbox config must include metadata");
	ASSERT_INVALID(pod_config_validate(&c, NULL, &e), e,
	               "metadata: sandbox config must include metadata");
	ck_assert_int_lt(pod_config_validate(NULL, "config", &e), 0);
	c.metadata.name = unit_strdup("ok");
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.metadata.uid: required field is missing");
	pod_config_fini(&c);

	min_config(&c);
	ck_assert_int_eq(pod_config_validate(&c, "config", &e), 0);
	validate_str_fails(&c, &c.metadata.name, "caf\xc3", "config.metadata.name: invalid UTF-8",
	                   "p");
	pod_config_fini(&c);

	min_config(&c);
	for (i = 0; i < PROTO_MAX_KV + 1; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		xkv(&c.labels, k, "v");
	}
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.labels: 257 entries exceed the limit of 256");
	proto_kvs_fini(&c.labels);
	xkv(&c.annotations, "a", "\xff");
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.annotations.a: invalid UTF-8");
	proto_kvs_fini(&c.annotations);
	xkv(&c.linux.sysctls, "net..ipv4", "1");
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.sysctls: \"net..ipv4\" is not a valid sysctl name");
	proto_kvs_fini(&c.linux.sysctls);
	xkv(&c.linux.sysctls, "net/ipv4/conf/eth0.100/forwarding", "1");
	ck_assert_int_eq(pod_config_validate(&c, "config", &e), 0);
	proto_kvs_fini(&c.linux.sysctls);
	xstr(&c.dns_config.servers, "1.1.1.1 2.2.2.2");
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.dns_config.servers[0]: must not contain whitespace");
	proto_strs_fini(&c.dns_config.servers);
	VALIDATE_NUM_FAILS(
		&c, linux.security_context.namespace_options.pid, 7, NS_NODE,
		"config.linux.security_context.namespace_options.pid: 7 is out of range");
	validate_str_fails(&c, &c.linux.cgroup_parent, "..",
	                   "config.linux.cgroup_parent: must not contain \"..\" components",
	                   "kubepods-besteffort-pod1.slice");
	c.log_directory = unit_strdup("/var/log/pods/x..y");
	ck_assert_int_eq(pod_config_validate(&c, "config", &e), 0);
	validate_str_fails(&c, &SECCTX(&c).namespace_options.target_id, "a/b",
	                   "config.linux.security_context.namespace_options.target_id", NULL);
	pod_config_fini(&c);

	/* the security context built in memory (the CLI's path) */
	fill_config(&c);
	ck_assert_int_eq(pod_config_validate(&c, "config", &e), 0);
	VALIDATE_NUM_FAILS(&c, linux.security_context.namespace_options.userns_options.mode, 9,
	                   NS_NODE,
	                   "config.linux.security_context.namespace_options.userns_options.mode: "
	                   "9 is out of range (POD=0, CONTAINER=1, NODE=2, TARGET=3)");
	SECCTX(&c).run_as_user = -5;
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.security_context.run_as_user: -5 is out of range "
	               "(0..9223372036854775807)");
	SECCTX(&c).has_run_as_user = false; /* unset: not looked at */
	ck_assert_int_eq(pod_config_validate(&c, "config", &e), 0);
	VALIDATE_NUM_FAILS(&c, linux.security_context.run_as_group, -1, 0,
	                   "config.linux.security_context.run_as_group: -1 is out of range");
	VALIDATE_NUM_FAILS(
		&c, linux.security_context.supplemental_groups.v[1], -2, 2,
		"config.linux.security_context.supplemental_groups[1]: -2 is out of range");
	VALIDATE_NUM_FAILS(&c, linux.security_context.seccomp.profile_type, 3,
	                   SECCOMP_PROFILE_UNCONFINED,
	                   "config.linux.security_context.seccomp.profile_type: 3 is out of range "
	                   "(RuntimeDefault=0, Unconfined=1, Localhost=2)");
	validate_str_fails(
		&c, &SECCTX(&c).selinux_options.user, "user_u\n",
		"config.linux.security_context.selinux_options.user: \"user_u\\x0a\" may "
		"only hold",
		""); /* "" is unset */
	validate_str_fails(&c, &SECCTX(&c).run_as_username, "x\xc3",
	                   "config.linux.security_context.run_as_username: invalid UTF-8", NULL);
	validate_str_fails(&c, &SECCTX(&c).seccomp_profile_path, "\xff",
	                   "config.linux.security_context.seccomp_profile_path: invalid UTF-8",
	                   NULL);
	ck_assert_int_eq(pod_config_validate(&c, "config", &e), 0);
	pod_config_fini(&c);
}
END_TEST

/* linux.security_context beyond namespaces, userns_options, resources */
#define SC "args.config.linux.security_context."
#define US SC "namespace_options.userns_options"

static char long_text[4098];

/* long_text cut to n bytes of 'a' */
static msgpack_object
o_long(size_t n)
{
	memset(long_text, 'a', sizeof(long_text) - 1);
	ck_assert_uint_lt(n, sizeof(long_text));
	return o_strn(long_text, n);
}

START_TEST(test_secctx_fields)
{
	const struct bad_edit cases[] = {
		E_SET(US, o_str("text"), US ": expected map, got string"),
		E_SET(US ".mode", o_float(1.5), US ".mode: expected integer or string, got float"),
		E_SET(US ".mode", o_uint(4),
		      US ".mode: 4 is out of range (POD=0, CONTAINER=1, NODE=2, TARGET=3)"),
		E_SET(US ".mode", o_int(-1), US ".mode: -1 is out of range"),
		E_SET(US ".mode", o_str("text"),
		      US ".mode: \"text\" is not a namespace mode (POD, CONTAINER, NODE, TARGET)"),
		E_SET(US ".uids", O_MAP, US ".uids: expected array, got map"),
		E_SET(US ".uids.0", o_str("text"), US ".uids[0]: expected map, got string"),
		E_SET(US ".uids.0.host_id", o_int(-7),
		      US ".uids[0].host_id: expected unsigned integer, got negative integer"),
		E_SET(US ".uids.0.container_id", o_uint(1ULL << 32),
		      US ".uids[0].container_id: 4294967296 is out of range (0..4294967295)"),
		E_SET(US ".gids", o_str("text"), US ".gids: expected array, got string"),
		E_SET(US ".gids.1.length", o_str("text"),
		      US ".gids[1].length: expected unsigned integer, got string"),
		E_SET(US ".gids.1.host_id", o_float(1.5),
		      US ".gids[1].host_id: expected unsigned integer, got float"),
		E_SET(SC "run_as_user", O_MAP, SC "run_as_user: expected integer, got map"),
		E_SET(SC "run_as_user", o_str("text"),
		      SC "run_as_user: expected integer, got string"),
		E_SET(SC "run_as_user", o_int(-1),
		      SC "run_as_user: -1 is out of range (0..9223372036854775807)"),
		E_SET(SC "run_as_user", o_uint(UINT64_MAX),
		      SC
		      "run_as_user: 18446744073709551615 is out of range (0..9223372036854775807)"),
		E_SET(SC "run_as_group", o_bool(true),
		      SC "run_as_group: expected integer, got boolean"),
		E_SET(SC "run_as_group", o_int(-1),
		      SC "run_as_group: -1 is out of range (0..9223372036854775807)"),
		E_SET(SC "run_as_username", o_uint(7),
		      SC "run_as_username: expected string, got unsigned integer"),
		E_SET(SC "run_as_username", o_str("a:b"),
		      SC "run_as_username: must not contain ':'"),
		E_SET(SC "run_as_username", o_str("a/b"),
		      SC "run_as_username: must not contain '/'"),
		E_SET(SC "run_as_username", o_strn("a\0b", 3),
		      SC "run_as_username: contains a NUL byte"),
		E_SET(SC "run_as_username", o_str("a\xff"), SC "run_as_username: invalid UTF-8"),
		E_SET(SC "run_as_username", o_long(257),
		      SC "run_as_username: 257 bytes exceeds 256"),
		E_SET(SC "supplemental_groups", O_MAP,
		      SC "supplemental_groups: expected array, got map"),
		E_SET(SC "supplemental_groups.1", o_str("text"),
		      SC "supplemental_groups[1]: expected integer, got string"),
		E_SET(SC "supplemental_groups.2", o_int(-1),
		      SC "supplemental_groups[2]: -1 is out of range (0..9223372036854775807)"),
		E_SET(SC "supplemental_groups.0", o_float(1.5),
		      SC "supplemental_groups[0]: expected integer, got float"),
		E_SET(SC "readonly_rootfs", o_uint(7),
		      SC "readonly_rootfs: expected boolean, got unsigned integer"),
		E_SET(SC "selinux_options", O_ARRAY, SC "selinux_options: expected map, got array"),
		E_SET(SC "selinux_options.user", o_uint(7),
		      SC "selinux_options.user: expected string, got unsigned integer"),
		E_SET(SC "selinux_options.role", o_str("a/b"),
		      SC
		      "selinux_options.role: \"a/b\" may only hold letters, digits, '_', '.', ':', ',' and '-'"),
		E_SET(SC "selinux_options.type", o_str("a b"),
		      SC "selinux_options.type: \"a b\" may only hold"),
		E_SET(SC "selinux_options.level", o_long(257),
		      SC "selinux_options.level: 257 bytes exceeds 256"),
		E_SET(SC "selinux_options.level", o_str("a\xff"),
		      SC "selinux_options.level: invalid UTF-8"),
		E_SET(SC "seccomp", o_str("text"), SC "seccomp: expected map, got string"),
		E_SET(SC "seccomp.profile_type", o_float(1.5),
		      SC "seccomp.profile_type: expected integer or string, got float"),
		E_SET(SC "seccomp.profile_type", o_uint(3),
		      SC
		      "seccomp.profile_type: 3 is out of range (RuntimeDefault=0, Unconfined=1, Localhost=2)"),
		E_SET(SC "seccomp.profile_type", o_int(-1),
		      SC "seccomp.profile_type: -1 is out of range (RuntimeDefault=0"),
		E_SET(SC "seccomp.profile_type", o_str("text"),
		      SC
		      "seccomp.profile_type: \"text\" is not a seccomp profile type (RuntimeDefault, Unconfined, Localhost)"),
		E_SET(SC "seccomp.profile_type", o_str("runtimedefault"),
		      SC "seccomp.profile_type: \"runtimedefault\" is not a seccomp profile type"),
		E_SET(SC "seccomp.localhost_ref", o_uint(7),
		      SC "seccomp.localhost_ref: expected string, got unsigned integer"),
		E_SET(SC "seccomp.localhost_ref", o_long(4097),
		      SC "seccomp.localhost_ref: 4097 bytes exceeds 4096"),
		E_SET(SC "seccomp.localhost_ref", o_strn("a\0b", 3),
		      SC "seccomp.localhost_ref: contains a NUL byte"),
		E_SET(SC "seccomp_profile_path", o_bool(true),
		      SC "seccomp_profile_path: expected string, got boolean"),
		E_SET(SC "seccomp_profile_path", o_long(4097),
		      SC "seccomp_profile_path: 4097 bytes exceeds 4096"),
		E_SET("args.config.linux.resources", o_str("text"),
		      "args.config.linux.resources: expected map, got string"),
		E_SET("args.config.linux.resources.cpu_period", o_float(1.5),
		      "args.config.linux.resources.cpu_period: expected integer, got float"),
		E_SET("args.config.linux.resources.cpu_quota", o_str("text"),
		      "args.config.linux.resources.cpu_quota: expected integer, got string"),
		E_SET("args.config.linux.resources.cpu_shares", O_MAP,
		      "args.config.linux.resources.cpu_shares: expected integer, got map"),
		E_SET("args.config.linux.resources.memory_limit_in_bytes", o_uint(UINT64_MAX),
		      "args.config.linux.resources.memory_limit_in_bytes: 18446744073709551615 is out of range"),
		/* duplicate keys inside the new maps */
		E_ADD(SC "seccomp", "profile_type", o_uint(1),
		      SC "seccomp.profile_type: duplicate key"),
		E_ADD(SC, "run_as_user", o_uint(1), SC "run_as_user: duplicate key"),
	};

	create_edits_fail(cases, N_OF(cases));
}
END_TEST

/* Too many entries: built in memory, so the encoder writes them. */
START_TEST(test_secctx_counts)
{
	struct proto_request req, out;
	struct pod_config *c;
	int i;

	/* at the limits: fine */
	proto_request_init(&req, OP_RUN);
	fill_config(&req.config);
	c = &req.config;
	for (i = (int)USERNS(c).uids.n; i < 16; i++)
		add_idmap(&USERNS(c).uids, (uint32_t)i, (uint32_t)i, 1);
	for (i = (int)USERNS(c).gids.n; i < 16; i++)
		add_idmap(&USERNS(c).gids, (uint32_t)i, (uint32_t)i, 1);
	for (i = (int)SECCTX(c).supplemental_groups.n; i < 64; i++)
		add_i64(&SECCTX(c).supplemental_groups, i);
	req_ok(enc(K_REQUEST, &req), &out);
	assert_config_eq(&req.config, &out.config);
	proto_request_fini(&out);

	add_idmap(&USERNS(c).uids, 7, 7, 1);
	req_fails(enc(K_REQUEST, &req), US ".uids: 17 entries exceed the limit of 16");
	USERNS(c).uids.n--;
	add_idmap(&USERNS(c).gids, 7, 7, 1);
	req_fails(enc(K_REQUEST, &req), US ".gids: 17 entries exceed the limit of 16");
	USERNS(c).gids.n--;
	add_i64(&SECCTX(c).supplemental_groups, 7);
	req_fails(enc(K_REQUEST, &req),
	          SC "supplemental_groups: 65 entries exceed the limit of 64");
	SECCTX(c).supplemental_groups.n--;
	req_ok(enc(K_REQUEST, &req), &out);
	proto_request_fini(&out);
	proto_request_fini(&req);
}
END_TEST

START_TEST(test_secctx_values)
{
	static const char *const seccomp_names[] = { "RuntimeDefault", "Unconfined", "Localhost" };
	static const char *const ns_names[] = { "POD", "CONTAINER", "NODE", "TARGET" };
	/* fine at the length limits, and with what the rules allow */
	const struct {
		const char *path;
		msgpack_object v;
	} fine[] = {
		{ SC "selinux_options.type", o_long(256) },
		{ SC "seccomp.localhost_ref", o_long(4096) },
		{ SC "seccomp_profile_path", o_long(4096) },
		{ SC "selinux_options.level", o_str("s0-s0:c0.c1023,c5") },
		{ SC "run_as_username", o_str("caf\xc3\xa9 user") },
	};
	struct proto_request req;
	struct msg m = create_msg(), m2, m3;
	size_t i;

	for (i = 0; i < 4; i++) {
		req_ok(set_at(&m, US ".mode", o_str(ns_names[i])), &req);
		ck_assert_int_eq(USERNS(&req.config).mode, i);
		proto_request_fini(&req);
		req_ok(set_at(&m, US ".mode", o_uint(i)), &req);
		ck_assert_int_eq(USERNS(&req.config).mode, i);
		proto_request_fini(&req);
	}
	for (i = 0; i < 3; i++) {
		req_ok(set_at(&m, SC "seccomp.profile_type", o_str(seccomp_names[i])), &req);
		ck_assert_int_eq(SECCTX(&req.config).seccomp.profile_type, i);
		proto_request_fini(&req);
		req_ok(set_at(&m, SC "seccomp.profile_type", o_uint(i)), &req);
		ck_assert_int_eq(SECCTX(&req.config).seccomp.profile_type, i);
		proto_request_fini(&req);
	}

	/* empty maps are present, with defaults; absent ones are not */
	req_ok(set_at(&m, US, O_MAP), &req);
	ck_assert(USERNS(&req.config).present);
	ck_assert_int_eq(USERNS(&req.config).mode, NS_POD);
	ck_assert_uint_eq(USERNS(&req.config).uids.n, 0);
	ck_assert_ptr_null(USERNS(&req.config).uids.v);
	proto_request_fini(&req);
	req_ok(drop(&m, US), &req);
	ck_assert(!USERNS(&req.config).present);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "seccomp", O_MAP), &req);
	ck_assert(SECCTX(&req.config).seccomp.present);
	ck_assert_int_eq(SECCTX(&req.config).seccomp.profile_type, SECCOMP_PROFILE_RUNTIME_DEFAULT);
	ck_assert_ptr_null(SECCTX(&req.config).seccomp.localhost_ref);
	proto_request_fini(&req);
	req_ok(set_at(&m, "args.config.linux.resources", O_MAP), &req);
	ck_assert(req.config.linux.resources.present);
	ck_assert_int_eq(req.config.linux.resources.cpu_quota, 0);
	proto_request_fini(&req);
	req_ok(drop(&m, "args.config.linux.resources"), &req);
	ck_assert(!req.config.linux.resources.present);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "selinux_options", O_MAP), &req);
	ck_assert_ptr_null(SECCTX(&req.config).selinux_options.user);
	ck_assert_ptr_null(SECCTX(&req.config).selinux_options.level);
	proto_request_fini(&req);

	/* run_as_*: 0 is a value, nil and absent are not */
	req_ok(set_at(&m, SC "run_as_user", o_uint(0)), &req);
	ck_assert(SECCTX(&req.config).has_run_as_user);
	ck_assert_int_eq(SECCTX(&req.config).run_as_user, 0);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "run_as_user", O_NIL), &req);
	ck_assert(!SECCTX(&req.config).has_run_as_user);
	ck_assert(SECCTX(&req.config).has_run_as_group);
	proto_request_fini(&req);
	req_ok(drop(&m, SC "run_as_group"), &req);
	ck_assert(!SECCTX(&req.config).has_run_as_group);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "run_as_user", o_int(INT64_MAX)), &req);
	ck_assert_int_eq(SECCTX(&req.config).run_as_user, INT64_MAX);
	proto_request_fini(&req);

	/* "" is unset for the optional strings */
	req_ok(set_at(&m, SC "run_as_username", o_str("")), &req);
	ck_assert_ptr_null(SECCTX(&req.config).run_as_username);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "seccomp.localhost_ref", o_str("")), &req);
	ck_assert_ptr_null(SECCTX(&req.config).seccomp.localhost_ref);
	proto_request_fini(&req);

	req_ok(set_at(&m, SC "run_as_username", o_long(256)), &req);
	ck_assert_uint_eq(strlen(SECCTX(&req.config).run_as_username), 256);
	proto_request_fini(&req);
	for (i = 0; i < N_OF(fine); i++) {
		req_ok(set_at(&m, fine[i].path, fine[i].v), &req);
		proto_request_fini(&req);
	}

	/* negative resources are values (cpu_quota -1 = no limit) */
	req_ok(set_at(&m, "args.config.linux.resources.cpu_shares", o_int(INT64_MIN)), &req);
	ck_assert_int_eq(req.config.linux.resources.cpu_shares, INT64_MIN);
	proto_request_fini(&req);

	/* unknown keys inside the new maps are skipped */
	m2 = add_at(&m, US, "future", o_uint(1));
	m3 = add_at(&m2, US ".uids.0", "future", o_str("x"));
	msg_free(&m2);
	m2 = add_at(&m3, SC "seccomp", "future", o_bool(true));
	msg_free(&m3);
	m3 = add_at(&m2, "args.config.linux.resources", "hugepage_limits", O_ARRAY);
	msg_free(&m2);
	req_ok(m3, &req);
	ck_assert_uint_eq(USERNS(&req.config).uids.v[0].host_id, 100000);
	proto_request_fini(&req);
	msg_free(&m);
}
END_TEST

/* The deepest field a list reply carries fits PROTO_MAX_DEPTH. */
START_TEST(test_secctx_list_depth)
{
	struct cradle_err e = { 0 };
	struct proto_reply in, out;
	struct msg m;

	ok_reply(&in, OP_LIST, 1);
	fill_sandbox(&in.sandboxes[0], ID_A, PHASE_RUNNING);
	m = enc(K_REPLY, &in);
	ck_assert_msg(proto_check_bounds(m.data, m.len, &e) == 0, "%s", e.msg);
	ck_assert_msg(proto_reply_decode(OP_LIST, m.data, m.len, &out, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(USERNS(&out.sandboxes[0].config).gids.n, 2);
	ck_assert_uint_eq(USERNS(&out.sandboxes[0].config).gids.v[1].host_id, UINT32_MAX);
	ck_assert_uint_eq(USERNS(&out.sandboxes[0].config).gids.v[1].container_id, 65536);
	proto_reply_fini(&out);
	proto_reply_fini(&in);
	msg_free(&m);
}
END_TEST

START_TEST(test_reply_malformed)
{
	static const struct bad_bytes bytes[] = {
		B(OP_STATUS, "\x83\xa1v\x01\xa2ok\xc3\xa6result\x80",
		  "result.sandbox: required field is missing"),
		B(OP_VERSION, "\x83\xa1v\x01\xa2ok\xc3\xa6result\x80",
		  "result.version: required field is missing"),
		B(OP_CREATE, "\x83\xa1v\x01\xa2ok\xc3\xa6result\x80",
		  "result.id: required field is missing"),
		B(OP_VERSION,
		  "\x83\xa1v\x01\xa2ok\xc2\xa5"
		  "error\x81\xa7message\xa1x",
		  "error.code: required field is missing"),
		B(OP_VERSION,
		  "\x83\xa1v\x01\xa2ok\xc2\xa5"
		  "error\x81\xa4"
		  "code\xa1x",
		  "error.code: expected integer, got string"),
		B(OP_VERSION, "\x82\xa1v\x01\xa2ok\xc2", "error: required field is missing"),
	};
	const struct bad_edit cases[] = {
		E_SET("v", o_uint(3), "unsupported protocol version 3"),
		E_DROP("ok", "ok: required field is missing"),
		E_SET("ok", o_uint(1), "ok: expected boolean"),
		E_SET("result", o_str("x"), "result: expected map, got string"),
		E_DROP("result.sandboxes", "result.sandboxes: required field is missing"),
		E_SET("result.sandboxes.1.id", o_str("x"),
		      "result.sandboxes[1].id: \"x\" is not a valid sandbox id"),
		E_SET("result.sandboxes.1.config.metadata.attempt", o_str("x"),
		      "result.sandboxes[1].config.metadata.attempt: expected unsigned integer"),
		E_SET("result.sandboxes.0", o_uint(1),
		      "result.sandboxes[0]: expected map, got unsigned integer"),
	};
	struct cradle_err e = { 0 };
	struct proto_reply in, out;
	msgpack_sbuffer sb;
	struct msg m;

	ok_reply(&in, OP_LIST, 2);
	fill_sandbox(&in.sandboxes[0], ID_A, PHASE_RUNNING);
	fill_sandbox(&in.sandboxes[1], ID_B, PHASE_RUNNING);
	m = enc(K_REPLY, &in);
	proto_reply_fini(&in);
	EDITS_FAIL(&m, K_REPLY, OP_LIST, cases);
	BYTES_FAIL(K_REPLY, bytes);
	dec_fails(K_REPLY, 99, m, "unknown operation 99");

	/* encoder guards */
	ok_reply(&in, OP_STATUS, 0);
	enc_fails(K_REPLY, &in, CRADLE_INTERNAL, "status reply without a sandbox");
	in.op = 42;
	enc_fails(K_REPLY, &in, CRADLE_INTERNAL, "unknown operation 42");
	in.op = OP_VERSION;
	in.ok = false; /* a reply nobody filled in is an error reply */
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_reply_encode(&sb, &in, &e), 0);
	ck_assert_int_eq(proto_reply_decode(OP_VERSION, sb.data, sb.size, &out, &e), 0);
	ck_assert(!out.ok);
	ck_assert_int_eq(out.err.code, CRADLE_INTERNAL);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_request_encode_guards)
{
	struct cradle_err e = { 0 };
	struct proto_request req;
	msgpack_sbuffer sb;

	proto_request_init(&req, OP__COUNT);
	enc_fails(K_REQUEST, &req, CRADLE_INVALID_ARGUMENT, "unknown operation");
	msgpack_sbuffer_init(&sb);
	ck_assert_int_lt(proto_request_encode(NULL, &req, &e), 0);
	ck_assert_int_lt(proto_request_encode(&sb, NULL, NULL), 0);
	ck_assert_int_lt(proto_reply_encode_error(NULL, &e), 0);
	ck_assert_uint_eq(sb.size, 0);
	msgpack_sbuffer_destroy(&sb);

	/* the encoder does not validate: the daemon must see bad input too */
	proto_request_init(&req, OP_CREATE);
	req.config.metadata.name = unit_strdup("Bad_Name");
	req_fails(enc(K_REQUEST, &req), "args.config.metadata.name: \"Bad_Name\"");
	proto_request_fini(&req);
}
END_TEST

/* ------------------------------------------------------------------ */
/* images                                                             */

START_TEST(test_image_requests)
{
	struct proto_request in, out;
	struct msg m;
	char *longref, *longpath;

	/* import without a name; list without args */
	req_ok(req_msg(OP_IMAGE_IMPORT, NULL, NULL, "/tmp/pause"), &out);
	ck_assert_int_eq(out.op, OP_IMAGE_IMPORT);
	ck_assert_str_eq(out.path, "/tmp/pause");
	ck_assert_ptr_null(out.ref);
	proto_request_fini(&out);
	proto_request_init(&in, OP_IMAGE_IMPORT);
	in.path = unit_strdup("/x");
	in.ref = unit_strdup(""); /* "" is no name */
	req_ok(enc(K_REQUEST, &in), &out);
	ck_assert_ptr_null(out.ref);
	proto_request_fini(&out);
	proto_request_fini(&in);
	m = RAW("\x82\xa1v\x01\xa2op\xaaimage.list");
	req_ok(m, &out);
	ck_assert_int_eq(out.op, OP_IMAGE_LIST);
	proto_request_fini(&out);
	ck_assert_str_eq(proto_op_name(OP_IMAGE_PULL), "image.pull");
	ck_assert_str_eq(proto_op_name(OP_IMAGE_LIST), "image.list");
	ck_assert_str_eq(proto_op_name(OP_IMAGE_STATUS), "image.status");
	ck_assert_str_eq(proto_op_name(OP_IMAGE_REMOVE), "image.remove");
	ck_assert_str_eq(proto_op_name(OP_IMAGE_IMPORT), "image.import");
	/* the existing values did not move */
	ck_assert_int_eq(OP_LIST, 7);
	ck_assert_int_eq(OP_IMAGE_PULL, 8);

	/* the longest ref and path pass */
	longref = malloc(PROTO_MAX_REF + 2);
	longpath = malloc(PROTO_MAX_IMPORT_PATH + 2);
	ck_assert_ptr_nonnull(longref);
	ck_assert_ptr_nonnull(longpath);
	memset(longref, 'a', PROTO_MAX_REF);
	longref[PROTO_MAX_REF] = '\0';
	longpath[0] = '/';
	memset(longpath + 1, 'p', PROTO_MAX_IMPORT_PATH - 1);
	longpath[PROTO_MAX_IMPORT_PATH] = '\0';
	req_ok(req_msg(OP_IMAGE_PULL, NULL, longref, NULL), &out);
	ck_assert_uint_eq(strlen(out.ref), PROTO_MAX_REF);
	proto_request_fini(&out);
	req_ok(req_msg(OP_IMAGE_IMPORT, NULL, longref, longpath), &out);
	ck_assert_uint_eq(strlen(out.path), PROTO_MAX_IMPORT_PATH);
	proto_request_fini(&out);
	ck_assert(proto_valid_image_ref(longref));
	/* one byte more does not */
	strcat(longref, "b");
	strcat(longpath, "q");
	ck_assert(!proto_valid_image_ref(longref));
	req_fails(req_msg(OP_IMAGE_STATUS, NULL, longref, NULL), "args.ref: 512 bytes exceeds 511");
	req_fails(req_msg(OP_IMAGE_IMPORT, NULL, longref, "/x"),
	          "args.name: 512 bytes exceeds 511");
	req_fails(req_msg(OP_IMAGE_IMPORT, NULL, NULL, longpath),
	          "args.path: path of 4097 bytes exceeds 4096");
	free(longref);
	free(longpath);
}
END_TEST

START_TEST(test_image_bad_refs_paths)
{
	static const char *const bad[] = {
		"busybox latest", "busybox\tx", "caf\xc3\xa9", "a|b",
		"$(reboot)",      "a\"b",       "../x;y",      "name#1",
	};
	static const char *const good[] = {
		"busybox",
		"busybox:1.36",
		"docker.io/library/busybox:latest",
		"localhost:5000/a/b_c.d-e:v1",
		"busybox@" DIGEST_C,
		"127.0.0.1:5000/x@" DIGEST_A,
	};
	const struct bad_edit ref_cases[] = {
		E_SET("args.ref", o_strn("bu\0sybox", 8), "args.ref: contains a NUL byte"),
		E_SET("args.ref", o_str("bu\xffsy"), "args.ref: invalid UTF-8"),
		E_SET("args.ref", o_uint(1), "args.ref: expected string, got unsigned integer"),
		E_SET("args.ref", O_NIL, "args.ref: required field is missing"),
		E_DROP("args.ref", "args.ref: required field is missing"),
		E_ADD("args", "ref", o_str("x"), "args.ref: duplicate key"),
	};
	const struct bad_edit import_cases[] = {
		E_SET("args.name", o_uint(7), "args.name: expected string"),
		E_SET("args.path", o_str("pause.tar"), "args.path: must be an absolute path"),
		E_SET("args.path", o_str("./pause.tar"), "args.path: must be an absolute path"),
		E_SET("args.path", o_str(""), "args.path: must be an absolute path"),
		E_SET("args.path", o_strn("/srv/x\0.tar", 11), "args.path: contains a NUL byte"),
		E_SET("args.path", o_str("/srv/\xc3"), "args.path: invalid UTF-8"),
		E_SET("args.path", o_bin("/srv/x"), "args.path: expected string, got binary"),
		E_DROP("args.path", "args.path: required field is missing"),
		E_SET("args", O_NIL, "args.path: required field is missing"),
	};
	struct proto_request out;
	struct msg m;
	size_t i;
	int op;

	for (op = OP_IMAGE_PULL; op <= OP_IMAGE_REMOVE; op++) {
		if (op == OP_IMAGE_LIST)
			continue;
		for (i = 0; i < N_OF(good); i++) {
			req_ok(req_msg(op, NULL, good[i], NULL), &out);
			ck_assert_str_eq(out.ref, good[i]);
			proto_request_fini(&out);
			ck_assert(proto_valid_image_ref(good[i]));
		}
		m = req_msg(op, NULL, REF_A, NULL);
		for (i = 0; i < N_OF(bad); i++) {
			ck_assert(!proto_valid_image_ref(bad[i]));
			req_fails(set_at(&m, "args.ref", o_str(bad[i])), "args.ref: \"");
			req_fails(set_at(&m, "args.ref", o_str(bad[i])),
			          "is not a valid image reference");
		}
		req_fails(req_msg(op, NULL, "", NULL), "args.ref: must not be empty");
		EDITS_FAIL(&m, K_REQUEST, OP_VERSION, ref_cases);
		msg_free(&m);
	}
	ck_assert(!proto_valid_image_ref(NULL));
	ck_assert(!proto_valid_image_ref(""));

	/* import: path and name */
	m = req_msg(OP_IMAGE_IMPORT, NULL, "localhost/pause:1", "/srv/pause.tar");
	for (i = 0; i < N_OF(bad); i++) {
		req_fails(set_at(&m, "args.name", o_str(bad[i])), "args.name: \"");
		req_fails(set_at(&m, "args.name", o_str(bad[i])), "is not a valid image reference");
	}
	EDITS_FAIL(&m, K_REQUEST, OP_VERSION, import_cases);
	/* a path with spaces and non-ASCII is fine: it is a file name */
	req_ok(set_at(&m, "args.path", o_str("/srv/my images/caf\xc3\xa9.tar")), &out);
	ck_assert_str_eq(out.path, "/srv/my images/caf\xc3\xa9.tar");
	ck_assert_str_eq(out.ref, "localhost/pause:1");
	proto_request_fini(&out);
	msg_free(&m);
}
END_TEST

START_TEST(test_image_record)
{
	const struct bad_edit cases[] = {
		E_DROP("ref", "ref: required field is missing"),
		E_SET("ref", o_str(""), "ref: must not be empty"),
		E_SET("ref", o_uint(1), "ref: expected string"),
		E_SET("config_digest", o_str(DIGEST_A "0"),
		      "config_digest: string of 72 bytes exceeds 71"),
		E_SET("manifest_digest", o_bool(true),
		      "manifest_digest: expected string, got boolean"),
		E_SET("layers", o_str("x"), "layers: expected array, got string"),
		E_SET("layers.1", o_uint(3), "layers[1]: expected string"),
		E_SET("size", o_int(-1), "size: -1 is out of range"),
		E_SET("size", o_float(1.5), "size: expected integer, got float"),
		E_SET("labels.empty", o_uint(1),
		      "labels.empty: expected string, got unsigned integer"),
		E_SET("pinned", o_uint(1), "pinned: expected boolean"),
		E_SET("in_use", o_str("yes"), "in_use: expected boolean"),
		E_SET("created_at", o_str("now"), "created_at: expected integer"),
		E_ADD("", "size", o_uint(1), "size: duplicate key"),
	};
	struct cradle_err e = { 0 };
	struct proto_image in, out, cp;
	struct msg m, m2;

	fill_image(&in, REF_B);
	m = enc(K_IMAGE, &in);
	ck_assert_msg(proto_image_decode(m.data, m.len, &out, &e) == 0, "%s", e.msg);
	assert_image_eq(&in, &out);
	proto_image_fini(&out);

	ck_assert_int_eq(proto_image_copy(&cp, &in), 0);
	assert_image_eq(&in, &cp);
	ck_assert_ptr_ne(cp.ref, in.ref);
	ck_assert_ptr_ne(cp.layers.v, in.layers.v);
	ck_assert_ptr_ne(cp.labels.v, in.labels.v);
	proto_image_fini(&in);
	ck_assert_str_eq(cp.layers.v[1], DIGEST_A); /* independent */
	proto_image_fini(&cp);
	proto_image_fini(&cp); /* idempotent */
	proto_image_fini(NULL);
	ck_assert_int_eq(proto_image_copy(&cp, NULL), 0);
	ck_assert_ptr_null(cp.ref);

	/* optional fields read as zero; unknown keys are skipped */
	m2 = RAW("\x82\xa3ref\xa1x\xa5zzzzz\x01");
	ck_assert_int_eq(proto_image_decode(m2.data, m2.len, &out, &e), 0);
	ck_assert_str_eq(out.ref, "x");
	ck_assert_str_eq(out.config_digest, "");
	ck_assert_uint_eq(out.layers.n, 0);
	ck_assert(!out.pinned && !out.in_use);
	proto_image_fini(&out);
	msg_free(&m2);

	EDITS_FAIL(&m, K_IMAGE, OP_VERSION, cases);
	msg_free(&m);

	/* the encoder refuses what it could not read back */
	memset(&in, 0, sizeof(in));
	enc_fails(K_IMAGE, &in, CRADLE_INTERNAL, "image without a reference");
	in.ref = unit_strdup("x");
	in.size = -5;
	enc_fails(K_IMAGE, &in, CRADLE_INTERNAL, "negative size");
	proto_image_fini(&in);
}
END_TEST

START_TEST(test_image_replies)
{
	static const struct bad_bytes bytes[] = {
		B(0, "\x83\xa1v\x01\xa2ok\xc3\xa6result\x80",
		  "result.image: required field is missing"),
		B(0, "\x83\xa1v\x01\xa2ok\xc3\xa6result\x81\xa5image\x80",
		  "result.image.ref: required field is missing"),
		B(0, "\x83\xa1v\x01\xa2ok\xc3\xa6result\x81\xa5image\x82\xa3ref\xa1x\xa4size\xa1x",
		  "result.image.size: expected integer, got string"),
	};
	const struct bad_edit cases[] = {
		E_DROP("result.images", "result.images: required field is missing"),
		E_SET("result.images", o_str("x"), "result.images: expected array, got string"),
		E_SET("result.images.1.ref", o_uint(1), "result.images[1].ref: expected string"),
		E_SET("result.images.1.layers.0", o_str("\xff"),
		      "result.images[1].layers[0]: invalid UTF-8"),
		E_SET("result.images.0", o_uint(1),
		      "result.images[0]: expected map, got unsigned integer"),
	};
	struct cradle_err e = { 0 }, src;
	struct proto_reply in, out;
	struct msg m;
	size_t i, n = 3000;
	int op;

	/* a long list, beyond the generic entry limit */
	ok_reply(&in, OP_IMAGE_LIST, n);
	for (i = 0; i < n; i++) {
		char ref[64];

		snprintf(ref, sizeof(ref), "localhost/img%zu:v1", i);
		if (i + 1 == n)
			fill_image(&in.images[i], ref);
		else
			in.images[i].ref = unit_strdup(ref);
	}
	m = enc(K_REPLY, &in);
	ck_assert_msg(proto_reply_decode(OP_IMAGE_LIST, m.data, m.len, &out, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(out.n_images, n);
	assert_image_eq(&in.images[n - 1], &out.images[n - 1]);
	proto_reply_fini(&out);
	ck_assert_uint_eq(out.n_images, 0);
	ck_assert_ptr_null(out.images);
	ASSERT_INVALID(proto_check_bounds(m.data, m.len, &e), e,
	               "result.images: array with 3000 entries exceeds 1024");
	dec_fails(K_REPLY, OP_IMAGE_STATUS, m, "exceeds 1024");
	proto_reply_fini(&in);

	/* remove: {} */
	ok_reply(&in, OP_IMAGE_REMOVE, 0);
	assert_reply_roundtrip(&in);

	/* error replies of image ops */
	cradle_err_set(&src, CRADLE_FAILED_PRECONDITION, "image \"%s\" is in use", REF_A);
	assert_error_reads(OP_IMAGE_REMOVE, &src, true, CRADLE_FAILED_PRECONDITION, src.msg);

	/* malformed */
	ok_reply(&in, OP_IMAGE_LIST, 2);
	fill_image(&in.images[0], REF_A);
	fill_image(&in.images[1], REF_B);
	m = enc(K_REPLY, &in);
	proto_reply_fini(&in);
	EDITS_FAIL(&m, K_REPLY, OP_IMAGE_LIST, cases);
	msg_free(&m);
	for (op = OP_IMAGE_PULL; op <= OP_IMAGE_IMPORT; op++) {
		if (op == OP_IMAGE_LIST || op == OP_IMAGE_REMOVE)
			continue;
		for (i = 0; i < N_OF(bytes); i++)
			dec_fails(K_REPLY, op, raw(bytes[i].bytes, bytes[i].len), bytes[i].needle);
		/* encoder guards */
		ok_reply(&in, op, 0);
		enc_fails(K_REPLY, &in, CRADLE_INTERNAL, "reply without an image");
	}
	ok_reply(&in, OP_IMAGE_LIST, 0);
	in.n_images = 2;
	enc_fails(K_REPLY, &in, CRADLE_INTERNAL, "image list reply without its images");
	in.images = calloc(2, sizeof(*in.images));
	ck_assert_ptr_nonnull(in.images);
	fill_image(&in.images[0], REF_A);
	enc_fails(K_REPLY, &in, CRADLE_INTERNAL, "image without a reference");
	proto_reply_fini(&in);
}
END_TEST

START_TEST(test_image_progress_event)
{
	struct cradle_err e = { 0 };
	struct proto_event in, out;
	msgpack_object_kv *kv;
	msgpack_unpacked up;
	char big[600];
	struct msg m;

	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(&in, 0, sizeof(in));
	in.seq = 77;
	snprintf(in.type, sizeof(in.type), "%s", PROTO_EVENT_IMAGE_PROGRESS);
	snprintf(in.ref, sizeof(in.ref), "%s", REF_A);
	in.done = 12345678;
	in.total = 25000000;
	/* exit fields are not written for progress */
	snprintf(in.id, sizeof(in.id), "%s", ID_A);
	in.pid = 5;
	m = enc(K_EVENT, &in);
	ck_assert_uint_eq(find_in(&m, &up, "")->via.map.size, 5);
	ck_assert_ptr_null(find(&up.data, "id", &kv));
	ck_assert_ptr_nonnull(find(&up.data, "total", &kv));
	msgpack_unpacked_destroy(&up);
	ck_assert_int_eq(proto_event_decode(m.data, m.len, &out, &e), 0);
	ck_assert_uint_eq(out.seq, 77);
	ck_assert_str_eq(out.type, "image.progress");
	ck_assert_str_eq(out.ref, REF_A);
	ck_assert_uint_eq(out.done, in.done);
	ck_assert_int_eq(out.total, in.total);
	ck_assert_str_eq(out.id, "");
	ck_assert_int_eq(out.pid, 0);
	{
		const struct bad_edit cases[] = {
			E_SET("done", o_int(-1),
			      "done: expected unsigned integer, got negative integer"),
			E_SET("ref", o_uint(1), "ref: expected string, got unsigned integer"),
			E_SET("ref", o_str(big), "ref: string of 599 bytes exceeds 511"),
			E_SET("total", o_str("lots"), "total: expected integer, got string"),
		};
		struct msg m2;

		/* total unknown */
		m2 = set_at(&m, "total", o_int(-1));
		ck_assert_int_eq(proto_event_decode(m2.data, m2.len, &out, &e), 0);
		ck_assert_int_eq(out.total, -1);
		msg_free(&m2);
		EDITS_FAIL(&m, K_EVENT, OP_VERSION, cases);
	}
	msg_free(&m);

	/* exit events carry no progress fields, and decode them as zero */
	memset(&in, 0, sizeof(in));
	in.seq = 1;
	snprintf(in.id, sizeof(in.id), "%s", ID_A);
	snprintf(in.ref, sizeof(in.ref), "ignored");
	m = enc(K_EVENT, &in);
	ck_assert_int_eq(proto_event_decode(m.data, m.len, &out, &e), 0);
	ck_assert_str_eq(out.type, "sandbox.exit");
	ck_assert_str_eq(out.ref, "");
	ck_assert_uint_eq(out.done, 0);
	ck_assert_int_eq(out.total, 0);
	msg_free(&m);
}
END_TEST

/* Port mappings (CRI PortMapping) go through requests and records and
 * are validated; pod IPs go through records, only as addresses. */
START_TEST(test_ports_and_pod_ips)
{
	struct cradle_err e = { 0 };
	struct proto_request in, out;
	struct proto_sandbox sin, sout, scopy;
	struct proto_port_mapping pm[2] = {
		{ PROTO_UDP, 53, 5353, NULL },
		{ PROTO_SCTP, 80, 8080, NULL },
	};
	struct msg m;

	proto_request_init(&in, OP_RUN);
	fill_config(&in.config);
	pm[1].host_ip = unit_strdup("fd00::1");
	in.config.port_mappings.v = calloc(2, sizeof(pm[0]));
	ck_assert_ptr_nonnull(in.config.port_mappings.v);
	memcpy(in.config.port_mappings.v, pm, sizeof(pm));
	in.config.port_mappings.n = 2;
	ck_assert_int_eq(pod_config_validate(&in.config, "args.config", &e), 0);
	m = enc(K_REQUEST, &in);
	ck_assert_msg(proto_request_decode(m.data, m.len, &out, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(out.config.port_mappings.n, 2);
	ck_assert_int_eq(out.config.port_mappings.v[0].protocol, PROTO_UDP);
	ck_assert_int_eq(out.config.port_mappings.v[0].container_port, 53);
	ck_assert_int_eq(out.config.port_mappings.v[0].host_port, 5353);
	ck_assert_ptr_null(out.config.port_mappings.v[0].host_ip);
	ck_assert_int_eq(out.config.port_mappings.v[1].protocol, PROTO_SCTP);
	ck_assert_str_eq(out.config.port_mappings.v[1].host_ip, "fd00::1");
	proto_request_fini(&out);
	msg_free(&m);

	/* the rules, naming the mapping */
	in.config.port_mappings.v[0].host_port = 65536;
	ck_assert_int_lt(pod_config_validate(&in.config, "args.config", &e), 0);
	ck_assert_str_eq(e.msg, "args.config.port_mappings[0]: host_port 65536 is not 0..65535");
	in.config.port_mappings.v[0].host_port = 1;
	in.config.port_mappings.v[0].container_port = -1;
	ck_assert_int_lt(pod_config_validate(&in.config, "args.config", &e), 0);
	ck_assert_str_eq(e.msg, "args.config.port_mappings[0]: container_port -1 is not 0..65535");
	in.config.port_mappings.v[0].container_port = 1;
	in.config.port_mappings.v[0].protocol = 3;
	ck_assert_int_lt(pod_config_validate(&in.config, "args.config", &e), 0);
	ck_assert_str_eq(e.msg, "args.config.port_mappings[0]: protocol 3 is not TCP=0, UDP=1 "
	                        "or SCTP=2");
	in.config.port_mappings.v[0].protocol = PROTO_TCP;
	free(in.config.port_mappings.v[1].host_ip);
	in.config.port_mappings.v[1].host_ip = unit_strdup("10.0.0.256");
	ck_assert_int_lt(pod_config_validate(&in.config, "args.config", &e), 0);
	ck_assert_str_eq(e.msg, "args.config.port_mappings[1]: host_ip is not an IPv4 or IPv6 "
	                        "address");
	/* and the decoder refuses a protocol it does not know */
	in.config.port_mappings.v[1].protocol = 9;
	m = enc(K_REQUEST, &in);
	ck_assert_int_lt(proto_request_decode(m.data, m.len, &out, &e), 0);
	ck_assert_msg(strstr(e.msg, "args.config.port_mappings[1].protocol") != NULL, "%s", e.msg);
	msg_free(&m);
	proto_request_fini(&in);

	/* pod IPs in a record, primary first */
	fill_sandbox(&sin, ID_A, PHASE_RUNNING);
	proto_strs_add(&sin.pod_ips, "10.0.0.2");
	proto_strs_add(&sin.pod_ips, "fd00::2");
	m = enc(K_SANDBOX, &sin);
	ck_assert_msg(proto_sandbox_decode(m.data, m.len, &sout, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(sout.pod_ips.n, 2);
	ck_assert_str_eq(sout.pod_ips.v[0], "10.0.0.2");
	ck_assert_str_eq(sout.pod_ips.v[1], "fd00::2");
	ck_assert_int_eq(proto_sandbox_copy(&scopy, &sout), 0);
	ck_assert_uint_eq(scopy.pod_ips.n, 2);
	ck_assert_str_eq(scopy.pod_ips.v[1], "fd00::2");
	proto_sandbox_fini(&scopy);
	proto_sandbox_fini(&sout);
	/* a record whose address is none is refused by its decoder */
	char *at = memmem(m.data, m.len, "10.0.0.2", 8);
	ck_assert_ptr_nonnull(at);
	at[7] = 'x';
	ck_assert_int_lt(proto_sandbox_decode(m.data, m.len, &sout, &e), 0);
	ck_assert_msg(strstr(e.msg, "pod_ips[0]: not an IP address") != NULL, "%s", e.msg);
	msg_free(&m);
	/* and its encoder writes none */
	free(sin.pod_ips.v[1]);
	sin.pod_ips.v[1] = unit_strdup("fd00::zz");
	enc_fails(K_SANDBOX, &sin, CRADLE_INTERNAL, "pod IP 1 is not an address");
	proto_sandbox_fini(&sin);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("proto");

	unit_tcase(s, "core", NULL, NULL, 60,
	           UNIT_TESTS(test_err_code_names, test_err_from_errno, test_err_set_errno_wrap,
	                      test_validators, test_kvs_strs, test_fini_safe, test_copy,
	                      test_request_roundtrip, test_reply_roundtrip, test_error_reply,
	                      test_sandbox_record, test_event, test_large_list_reply, test_garbage,
	                      test_empty, test_truncated, test_oversized, test_depth,
	                      test_huge_counts, test_shape, test_envelope, test_wrong_types,
	                      test_missing_required, test_utf8_and_nul, test_duplicates,
	                      test_bad_ids, test_names, test_ns_modes, test_stop_and_list_args,
	                      test_validate_direct, test_secctx_fields, test_secctx_counts,
	                      test_secctx_values, test_secctx_list_depth, test_reply_malformed,
	                      test_request_encode_guards, test_image_requests,
	                      test_image_bad_refs_paths, test_image_record, test_image_replies,
	                      test_image_progress_event, test_ports_and_pod_ips, test_daemon_info));
	return unit_run(s, "test_proto", 0);
}
