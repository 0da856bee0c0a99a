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
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/proto.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

#define ASSERT_ERR(rc, e, want_code, needle)                                     \
	do {                                                                     \
		ck_assert_msg((rc) < 0, "expected failure, got %d", (int)(rc));  \
		ck_assert_msg((e).code == (want_code), "code %s (%d), want %s; "  \
		              "message: %s", cradle_code_name((e).code),         \
		              (e).code, cradle_code_name(want_code), (e).msg);   \
		ck_assert_msg(strstr((e).msg, (needle)) != NULL,                 \
		              "message \"%s\" lacks \"%s\"", (e).msg, (needle)); \
	} while (0)

/* the anonymous structs of struct pod_config, by a config pointer */
#define USERNS(c) ((c)->linux.security_context.namespace_options.userns_options)
#define USERNS_UIDS(c) (USERNS(c).uids)
#define USERNS_GIDS(c) (USERNS(c).gids)

#define ASSERT_INVALID(rc, e, needle) ASSERT_ERR(rc, e, CRADLE_INVALID_ARGUMENT, needle)

/* ------------------------------------------------------------------ */
/* fixtures                                                           */

static void xkv(struct proto_kvs *kvs, const char *k, const char *v)
{
	ck_assert_int_eq(proto_kvs_add(kvs, k, v), 0);
}

static void xstr(struct proto_strs *l, const char *s)
{
	ck_assert_int_eq(proto_strs_add(l, s), 0);
}

static char *xdup(const char *s)
{
	char *c = strdup(s);

	ck_assert_ptr_nonnull(c);
	return c;
}

static void add_idmap(struct proto_idmaps *l, uint32_t host, uint32_t cont, uint32_t len)
{
	struct proto_idmap *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	ck_assert_ptr_nonnull(v);
	v[l->n].host_id = host;
	v[l->n].container_id = cont;
	v[l->n].length = len;
	l->v = v;
	l->n++;
}

static void add_i64(struct proto_i64s *l, int64_t x)
{
	int64_t *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	ck_assert_ptr_nonnull(v);
	v[l->n++] = x;
	l->v = v;
}

/* The security context fields beyond namespaces, and resources, all set. */
static void fill_secctx(struct pod_config *c)
{
	struct proto_idmaps *uids = &c->linux.security_context.namespace_options.userns_options.uids;
	struct proto_idmaps *gids = &c->linux.security_context.namespace_options.userns_options.gids;

	c->linux.security_context.namespace_options.userns_options.present = true;
	c->linux.security_context.namespace_options.userns_options.mode = NS_POD;
	add_idmap(uids, 100000, 0, 65536);
	add_idmap(gids, 100000, 0, 65536);
	add_idmap(gids, UINT32_MAX, 65536, 1);
	c->linux.security_context.has_run_as_user = true;
	c->linux.security_context.run_as_user = 1000;
	c->linux.security_context.has_run_as_group = true;
	c->linux.security_context.run_as_group = 0;        /* 0 is set, not absent */
	c->linux.security_context.run_as_username = xdup("nginx");
	add_i64(&c->linux.security_context.supplemental_groups, 1);
	add_i64(&c->linux.security_context.supplemental_groups, 65534);
	add_i64(&c->linux.security_context.supplemental_groups, 1LL << 40);
	c->linux.security_context.readonly_rootfs = true;
	c->linux.security_context.selinux_options.user = xdup("system_u");
	c->linux.security_context.selinux_options.role = xdup("system_r");
	c->linux.security_context.selinux_options.type = xdup("container_t");
	c->linux.security_context.selinux_options.level = xdup("s0:c1,c2");
	c->linux.security_context.seccomp.present = true;
	c->linux.security_context.seccomp.profile_type = SECCOMP_PROFILE_LOCALHOST;
	c->linux.security_context.seccomp.localhost_ref = xdup("/var/lib/kubelet/seccomp/audit.json");
	c->linux.security_context.seccomp_profile_path = xdup("localhost/profiles/audit.json");
	c->linux.resources.present = true;
	c->linux.resources.cpu_period = 100000;
	c->linux.resources.cpu_quota = -1;
	c->linux.resources.cpu_shares = 512;
	c->linux.resources.memory_limit_in_bytes = INT64_MAX;
}

/* A config with every field set. */
static void fill_config(struct pod_config *c)
{
	pod_config_init(c);
	c->metadata.name = xdup("nginx-7d9f");
	c->metadata.uid = xdup("0b8a5c2e-1234-4c1b-9a7e-5f6d2c3b4a10");
	c->metadata.namespace = xdup("default");
	c->metadata.attempt = 3;
	c->hostname = xdup("nginx-7d9f.example.com");
	c->log_directory = xdup("/var/log/pods/default_nginx");
	c->has_dns_config = true;
	xstr(&c->dns_config.servers, "10.96.0.10");
	xstr(&c->dns_config.searches, "default.svc.cluster.local");
	xstr(&c->dns_config.searches, "svc.cluster.local");
	xstr(&c->dns_config.options, "ndots:5");
	xkv(&c->labels, "app", "nginx");
	xkv(&c->labels, "app.kubernetes.io/name", "caf\xc3\xa9");
	xkv(&c->labels, "empty", "");
	xkv(&c->annotations, "kubernetes.io/config.seen", "2024-01-01T00:00:00Z");
	c->linux.cgroup_parent = xdup("/kubepods/besteffort/pod0b8a");
	xkv(&c->linux.sysctls, "net.ipv4.ip_local_port_range", "1024 65535");
	c->linux.security_context.namespace_options.network = NS_NODE;
	c->linux.security_context.namespace_options.pid = NS_CONTAINER;
	c->linux.security_context.namespace_options.ipc = NS_POD;
	c->linux.security_context.namespace_options.target_id = xdup("abc");
	c->linux.security_context.privileged = true;
	fill_secctx(c);
}

/* The smallest config the daemon accepts. */
static void min_config(struct pod_config *c)
{
	pod_config_init(c);
	c->metadata.name = xdup("p");
	c->metadata.uid = xdup("u");
	c->metadata.namespace = xdup("ns");
}

static void fill_sandbox(struct proto_sandbox *s, const char *id, int phase)
{
	memset(s, 0, sizeof(*s));
	fill_config(&s->config);
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->runtime_handler = xdup("runc");
	s->phase = phase;
	s->created_at = 1700000000123456789LL;
	s->started_at = 1700000000223456789LL;
	s->pid = 4242;
	s->pid_start_time = 123456789012ULL;
	s->exit_status = 137;
	s->exited_at = -5;      /* any int64 survives */
	s->netns_path = xdup("/run/cradle/netns/" ID_A);
	s->hostname_path = xdup("/run/cradle/sandboxes/" ID_A "/hostname");
	s->hosts_path = xdup("/run/cradle/sandboxes/" ID_A "/hosts");
	s->resolv_conf_path = xdup("/run/cradle/sandboxes/" ID_A "/resolv.conf");
	s->shm_path = xdup("/run/cradle/sandboxes/" ID_A "/shm");
	s->cgroup_path = xdup("/kubepods/besteffort/pod0b8a/" ID_A);
	s->process_label = xdup("system_u:system_r:container_t:s0:c1,c2");
	s->mount_label = xdup("system_u:object_r:container_file_t:s0:c1,c2");
	s->runtime_type = xdup("io.containerd.runc.v2");
}

#define DIGEST_A "sha256:" "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
#define DIGEST_B "sha256:" "350b164e7ae1dcddeffadd65c76226c9b6dc5553f5179153fb0e36b78f2a5e06"
#define DIGEST_C "sha256:" "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define REF_A "registry.k8s.io/pause:3.9"
#define REF_B "docker.io/library/busybox@" DIGEST_C

static void fill_image(struct proto_image *img, const char *ref)
{
	memset(img, 0, sizeof(*img));
	img->ref = xdup(ref);
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

static void assert_str_eq_null(const char *a, const char *b)
{
	if (!a || !b)
		ck_assert_msg(a == b, "\"%s\" != \"%s\"", a ? a : "(null)", b ? b : "(null)");
	else
		ck_assert_str_eq(a, b);
}

static void assert_kvs_eq(const struct proto_kvs *a, const struct proto_kvs *b)
{
	size_t i;

	ck_assert_uint_eq(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		ck_assert_str_eq(a->v[i].key, b->v[i].key);
		ck_assert_str_eq(a->v[i].value, b->v[i].value);
	}
}

static void assert_strs_eq(const struct proto_strs *a, const struct proto_strs *b)
{
	size_t i;

	ck_assert_uint_eq(a->n, b->n);
	for (i = 0; i < a->n; i++)
		ck_assert_str_eq(a->v[i], b->v[i]);
}

static void assert_idmaps_eq(const struct proto_idmaps *a, const struct proto_idmaps *b)
{
	size_t i;

	ck_assert_uint_eq(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		ck_assert_uint_eq(a->v[i].host_id, b->v[i].host_id);
		ck_assert_uint_eq(a->v[i].container_id, b->v[i].container_id);
		ck_assert_uint_eq(a->v[i].length, b->v[i].length);
	}
}

static void assert_secctx_eq(const struct pod_config *a, const struct pod_config *b)
{
	size_t i;

	ck_assert_int_eq(a->linux.security_context.namespace_options.userns_options.present,
	                 b->linux.security_context.namespace_options.userns_options.present);
	ck_assert_int_eq(a->linux.security_context.namespace_options.userns_options.mode,
	                 b->linux.security_context.namespace_options.userns_options.mode);
	assert_idmaps_eq(&a->linux.security_context.namespace_options.userns_options.uids,
	                 &b->linux.security_context.namespace_options.userns_options.uids);
	assert_idmaps_eq(&a->linux.security_context.namespace_options.userns_options.gids,
	                 &b->linux.security_context.namespace_options.userns_options.gids);
	ck_assert_int_eq(a->linux.security_context.has_run_as_user,
	                 b->linux.security_context.has_run_as_user);
	ck_assert_int_eq(a->linux.security_context.run_as_user,
	                 b->linux.security_context.run_as_user);
	ck_assert_int_eq(a->linux.security_context.has_run_as_group,
	                 b->linux.security_context.has_run_as_group);
	ck_assert_int_eq(a->linux.security_context.run_as_group,
	                 b->linux.security_context.run_as_group);
	assert_str_eq_null(a->linux.security_context.run_as_username,
	                   b->linux.security_context.run_as_username);
	ck_assert_uint_eq(a->linux.security_context.supplemental_groups.n,
	                  b->linux.security_context.supplemental_groups.n);
	for (i = 0; i < a->linux.security_context.supplemental_groups.n; i++)
		ck_assert_int_eq(a->linux.security_context.supplemental_groups.v[i],
		                 b->linux.security_context.supplemental_groups.v[i]);
	ck_assert_int_eq(a->linux.security_context.readonly_rootfs,
	                 b->linux.security_context.readonly_rootfs);
	assert_str_eq_null(a->linux.security_context.selinux_options.user,
	                   b->linux.security_context.selinux_options.user);
	assert_str_eq_null(a->linux.security_context.selinux_options.role,
	                   b->linux.security_context.selinux_options.role);
	assert_str_eq_null(a->linux.security_context.selinux_options.type,
	                   b->linux.security_context.selinux_options.type);
	assert_str_eq_null(a->linux.security_context.selinux_options.level,
	                   b->linux.security_context.selinux_options.level);
	ck_assert_int_eq(a->linux.security_context.seccomp.present,
	                 b->linux.security_context.seccomp.present);
	ck_assert_int_eq(a->linux.security_context.seccomp.profile_type,
	                 b->linux.security_context.seccomp.profile_type);
	assert_str_eq_null(a->linux.security_context.seccomp.localhost_ref,
	                   b->linux.security_context.seccomp.localhost_ref);
	assert_str_eq_null(a->linux.security_context.seccomp_profile_path,
	                   b->linux.security_context.seccomp_profile_path);
	ck_assert_int_eq(a->linux.resources.present, b->linux.resources.present);
	ck_assert_int_eq(a->linux.resources.cpu_period, b->linux.resources.cpu_period);
	ck_assert_int_eq(a->linux.resources.cpu_quota, b->linux.resources.cpu_quota);
	ck_assert_int_eq(a->linux.resources.cpu_shares, b->linux.resources.cpu_shares);
	ck_assert_int_eq(a->linux.resources.memory_limit_in_bytes,
	                 b->linux.resources.memory_limit_in_bytes);
}

static void assert_config_eq(const struct pod_config *a, const struct pod_config *b)
{
	assert_str_eq_null(a->metadata.name, b->metadata.name);
	assert_str_eq_null(a->metadata.uid, b->metadata.uid);
	assert_str_eq_null(a->metadata.namespace, b->metadata.namespace);
	ck_assert_uint_eq(a->metadata.attempt, b->metadata.attempt);
	assert_str_eq_null(a->hostname, b->hostname);
	assert_str_eq_null(a->log_directory, b->log_directory);
	ck_assert_int_eq(a->has_dns_config, b->has_dns_config);
	assert_strs_eq(&a->dns_config.servers, &b->dns_config.servers);
	assert_strs_eq(&a->dns_config.searches, &b->dns_config.searches);
	assert_strs_eq(&a->dns_config.options, &b->dns_config.options);
	assert_kvs_eq(&a->labels, &b->labels);
	assert_kvs_eq(&a->annotations, &b->annotations);
	assert_str_eq_null(a->linux.cgroup_parent, b->linux.cgroup_parent);
	assert_kvs_eq(&a->linux.sysctls, &b->linux.sysctls);
	ck_assert_int_eq(a->linux.security_context.namespace_options.network,
	                 b->linux.security_context.namespace_options.network);
	ck_assert_int_eq(a->linux.security_context.namespace_options.pid,
	                 b->linux.security_context.namespace_options.pid);
	ck_assert_int_eq(a->linux.security_context.namespace_options.ipc,
	                 b->linux.security_context.namespace_options.ipc);
	assert_str_eq_null(a->linux.security_context.namespace_options.target_id,
	                   b->linux.security_context.namespace_options.target_id);
	ck_assert_int_eq(a->linux.security_context.privileged,
	                 b->linux.security_context.privileged);
	assert_secctx_eq(a, b);
}

static void assert_image_eq(const struct proto_image *a, const struct proto_image *b)
{
	assert_str_eq_null(a->ref, b->ref);
	ck_assert_str_eq(a->manifest_digest, b->manifest_digest);
	ck_assert_str_eq(a->config_digest, b->config_digest);
	assert_strs_eq(&a->layers, &b->layers);
	ck_assert_int_eq(a->size, b->size);
	assert_kvs_eq(&a->labels, &b->labels);
	ck_assert_int_eq(a->pinned, b->pinned);
	ck_assert_int_eq(a->created_at, b->created_at);
	ck_assert_int_eq(a->in_use, b->in_use);
}

static void assert_sandbox_eq(const struct proto_sandbox *a, const struct proto_sandbox *b)
{
	ck_assert_str_eq(a->id, b->id);
	assert_config_eq(&a->config, &b->config);
	assert_str_eq_null(a->runtime_handler, b->runtime_handler);
	ck_assert_int_eq(a->phase, b->phase);
	ck_assert_int_eq(a->created_at, b->created_at);
	ck_assert_int_eq(a->started_at, b->started_at);
	ck_assert_int_eq(a->pid, b->pid);
	ck_assert_uint_eq(a->pid_start_time, b->pid_start_time);
	ck_assert_int_eq(a->exit_status, b->exit_status);
	ck_assert_int_eq(a->exited_at, b->exited_at);
	assert_str_eq_null(a->netns_path, b->netns_path);
	assert_str_eq_null(a->hostname_path, b->hostname_path);
	assert_str_eq_null(a->hosts_path, b->hosts_path);
	assert_str_eq_null(a->resolv_conf_path, b->resolv_conf_path);
	assert_str_eq_null(a->shm_path, b->shm_path);
	assert_str_eq_null(a->cgroup_path, b->cgroup_path);
	assert_str_eq_null(a->process_label, b->process_label);
	assert_str_eq_null(a->mount_label, b->mount_label);
	assert_str_eq_null(a->runtime_type, b->runtime_type);
}

/* A decoded request that failed must hold nothing. */
static void assert_req_clean(const struct proto_request *r)
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
/* message buffers and tree edits                                     */

struct msg {
	char *data;
	size_t len;
};

static struct msg take(msgpack_sbuffer *sb)
{
	struct msg m = { sb->data, sb->size };

	msgpack_sbuffer_init(sb);
	return m;
}

static void msg_free(struct msg *m)
{
	free(m->data);
	m->data = NULL;
	m->len = 0;
}

static struct msg enc_request(const struct proto_request *req)
{
	struct cradle_err e = { 0 };
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	ck_assert_msg(proto_request_encode(&sb, req, &e) == 0, "%s", e.msg);
	return take(&sb);
}

static struct msg enc_reply(const struct proto_reply *rep)
{
	struct cradle_err e = { 0 };
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	ck_assert_msg(proto_reply_encode(&sb, rep, &e) == 0, "%s", e.msg);
	return take(&sb);
}

static struct msg enc_sandbox(const struct proto_sandbox *s)
{
	struct cradle_err e = { 0 };
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	ck_assert_msg(proto_sandbox_encode(&sb, s, &e) == 0, "%s", e.msg);
	return take(&sb);
}

static struct msg raw(const void *bytes, size_t len)
{
	struct msg m;

	m.data = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(m.data);
	memcpy(m.data, bytes, len);
	m.len = len;
	return m;
}

#define RAW(lit) raw(lit, sizeof(lit) - 1)

/* A valid create request with the full config. */
static struct msg create_msg(void)
{
	struct proto_request req;
	struct msg m;

	proto_request_init(&req, OP_CREATE);
	fill_config(&req.config);
	req.runtime_handler = xdup("runc");
	m = enc_request(&req);
	proto_request_fini(&req);
	return m;
}

static struct msg id_msg(int op, const char *id)
{
	struct proto_request req;
	struct msg m;

	proto_request_init(&req, op);
	snprintf(req.id, sizeof(req.id), "%s", id);
	m = enc_request(&req);
	proto_request_fini(&req);
	return m;
}

enum edit_kind { SET, RENAME, ADD };

static msgpack_object o_str(const char *s)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_STR };

	o.via.str.ptr = s;
	o.via.str.size = (uint32_t)strlen(s);
	return o;
}

static msgpack_object o_strn(const char *s, size_t n)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_STR };

	o.via.str.ptr = s;
	o.via.str.size = (uint32_t)n;
	return o;
}

static msgpack_object o_uint(uint64_t v)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER };

	o.via.u64 = v;
	return o;
}

static msgpack_object o_int(int64_t v)
{
	msgpack_object o;

	if (v >= 0)
		return o_uint((uint64_t)v);
	o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
	o.via.i64 = v;
	return o;
}

static msgpack_object o_type(msgpack_object_type t)
{
	msgpack_object o;

	memset(&o, 0, sizeof(o));
	o.type = t;
	return o;
}

static msgpack_object o_bool(bool b)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_BOOLEAN };

	o.via.boolean = b;
	return o;
}

static msgpack_object o_float(double d)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_FLOAT64 };

	o.via.f64 = d;
	return o;
}

static msgpack_object o_bin(const char *s)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_BIN };

	o.via.bin.ptr = s;
	o.via.bin.size = (uint32_t)strlen(s);
	return o;
}

/* Find the object at a dotted path ("args.config.metadata.name", array
 * elements by number); *kv gets the map entry holding it.  Keys may hold
 * dots themselves ("net.ipv4.ip_forward"): the longest key that matches the
 * rest of the path wins. */
static msgpack_object *find(msgpack_object *root, const char *path, msgpack_object_kv **kv)
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

/* Edit one place in m and return the re-packed message.
 *   SET:    the value at path becomes *v
 *   RENAME: the key of the entry at path becomes key (klen bytes)
 *   ADD:    the map at path gains key: *v (duplicates allowed) */
static struct msg edit(const struct msg *m, enum edit_kind kind, const char *path,
                       const char *key, size_t klen, const msgpack_object *v)
{
	msgpack_object_kv *kv, *grown = NULL;
	msgpack_unpacked up;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_object *o;
	size_t off = 0;
	uint32_t n;

	msgpack_unpacked_init(&up);
	ck_assert_int_eq(msgpack_unpack_next(&up, m->data, m->len, &off),
	                 MSGPACK_UNPACK_SUCCESS);
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

static struct msg set_at(const struct msg *m, const char *path, msgpack_object v)
{
	return edit(m, SET, path, NULL, 0, &v);
}

/* Renaming to an unknown key makes the field read as absent. */
static struct msg drop(const struct msg *m, const char *path)
{
	return edit(m, RENAME, path, "zz-dropped", 10, NULL);
}

static struct msg add_at(const struct msg *m, const char *path, const char *key,
                         msgpack_object v)
{
	return edit(m, ADD, path, key, strlen(key), &v);
}

/* Decode m as a request and expect INVALID_ARGUMENT with needle. */
static void req_fails(struct msg m, const char *needle)
{
	struct cradle_err e = { 0 };
	struct proto_request req;
	int rc;

	rc = proto_request_decode(m.data, m.len, &req, &e);
	if (rc == 0)
		proto_request_fini(&req);
	ASSERT_INVALID(rc, e, needle);
	assert_req_clean(&req);
	proto_request_fini(&req);       /* idempotent on the cleaned struct */
	msg_free(&m);
}

/* Decode m as a request, expect success, hand back the request. */
static void req_ok(struct msg m, struct proto_request *req)
{
	struct cradle_err e = { 0 };
	int rc;

	rc = proto_request_decode(m.data, m.len, req, &e);
	ck_assert_msg(rc == 0, "decode failed: %s", e.msg);
	msg_free(&m);
}

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

	ck_assert_int_eq(cradle_err_set(&e, CRADLE_NOT_FOUND, "sandbox %s", "abc"), -1);
	ck_assert_int_eq(e.code, CRADLE_NOT_FOUND);
	ck_assert_str_eq(e.msg, "sandbox abc");

	ck_assert_int_eq(cradle_err_errno(&e, EACCES,
	                                  "failed to create sandbox root directory \"%s\"",
	                                  "/x"), -EACCES);
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
	char s[300];

	ck_assert(proto_valid_id(ID_A));
	ck_assert(!proto_valid_id(NULL));
	ck_assert(!proto_valid_id(""));
	ck_assert(!proto_valid_id(ID_A "0"));
	snprintf(s, sizeof(s), "%.63s", ID_A);
	ck_assert(!proto_valid_id(s));
	snprintf(s, sizeof(s), "%s", ID_A);
	s[5] = 'A';
	ck_assert(!proto_valid_id(s));
	s[5] = 'g';
	ck_assert(!proto_valid_id(s));

	ck_assert(proto_valid_dns_label("a"));
	ck_assert(proto_valid_dns_label("a-1"));
	ck_assert(proto_valid_dns_label("0"));
	ck_assert(!proto_valid_dns_label(""));
	ck_assert(!proto_valid_dns_label(NULL));
	ck_assert(!proto_valid_dns_label("-a"));
	ck_assert(!proto_valid_dns_label("a-"));
	ck_assert(!proto_valid_dns_label("A"));
	ck_assert(!proto_valid_dns_label("a_b"));
	ck_assert(!proto_valid_dns_label("a.b"));
	memset(s, 'a', 63);
	s[63] = '\0';
	ck_assert(proto_valid_dns_label(s));
	s[63] = 'a';
	s[64] = '\0';
	ck_assert(!proto_valid_dns_label(s));

	ck_assert(proto_valid_dns_subdomain("a"));
	ck_assert(proto_valid_dns_subdomain("a-b.c-d.example"));
	ck_assert(!proto_valid_dns_subdomain(NULL));
	ck_assert(!proto_valid_dns_subdomain(""));
	ck_assert(!proto_valid_dns_subdomain("a..b"));
	ck_assert(!proto_valid_dns_subdomain(".a"));
	ck_assert(!proto_valid_dns_subdomain("a."));
	ck_assert(!proto_valid_dns_subdomain("a.-b"));
	ck_assert(!proto_valid_dns_subdomain("Example.com"));
	memset(s, 'a', 64);
	s[64] = '\0';
	ck_assert(!proto_valid_dns_subdomain(s));      /* one label of 64 */
	/* 4 labels of 63 + 3 dots = 255 > 253 */
	for (int i = 0; i < 255; i++)
		s[i] = (i % 64 == 63) ? '.' : 'a';
	s[255] = '\0';
	ck_assert(!proto_valid_dns_subdomain(s));
	s[253] = '\0';
	s[252] = 'a';
	ck_assert(proto_valid_dns_subdomain(s));

	ck_assert(proto_valid_utf8("", 0));
	ck_assert(proto_valid_utf8(NULL, 0));
	ck_assert(!proto_valid_utf8(NULL, 1));
	ck_assert(proto_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	ck_assert(!proto_valid_utf8("\xff", 1));
	ck_assert(!proto_valid_utf8("\xc3", 1));                 /* truncated */
	ck_assert(!proto_valid_utf8("\xc3\x28", 2));             /* bad continuation */
	ck_assert(!proto_valid_utf8("\xc0\xaf", 2));             /* overlong '/' */
	ck_assert(!proto_valid_utf8("\xe0\x80\xaf", 3));         /* overlong */
	ck_assert(!proto_valid_utf8("\xed\xa0\x80", 3));         /* surrogate */
	ck_assert(!proto_valid_utf8("\xf4\x90\x80\x80", 4));     /* > U+10FFFF */
	ck_assert(!proto_valid_utf8("\xf5\x80\x80\x80", 4));
	ck_assert(!proto_valid_utf8("\x80", 1));

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
	xkv(&kvs, "a", "3");    /* replaces */
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
	ck_assert_ptr_ne(a.config.linux.security_context.namespace_options.userns_options.uids.v,
	                 b.config.linux.security_context.namespace_options.userns_options.uids.v);
	ck_assert_ptr_ne(a.config.linux.security_context.supplemental_groups.v,
	                 b.config.linux.security_context.supplemental_groups.v);
	ck_assert_ptr_ne(a.config.linux.security_context.seccomp.localhost_ref,
	                 b.config.linux.security_context.seccomp.localhost_ref);
	ck_assert_ptr_ne(a.shm_path, b.shm_path);
	proto_sandbox_fini(&a);
	ck_assert_str_eq(b.config.labels.v[0].key, "app");     /* independent */
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
			in.runtime_handler = xdup("kata-qemu");
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
			in.ref = xdup(REF_A);
			break;
		case OP_IMAGE_REMOVE:
			in.ref = xdup(REF_B);
			break;
		case OP_IMAGE_IMPORT:
			in.path = xdup("/var/lib/images/pause.oci.tar");
			in.ref = xdup("localhost/pause:built-in");
			break;
		}
		m = enc_request(&in);
		ck_assert_msg(proto_request_decode(m.data, m.len, &out, &e) == 0,
		              "%s: %s", proto_op_name(op), e.msg);
		ck_assert_int_eq(out.op, op);
		assert_config_eq(&in.config, &out.config);
		assert_str_eq_null(in.runtime_handler, out.runtime_handler);
		ck_assert_str_eq(in.id, out.id);
		ck_assert_int_eq(in.timeout_ms, out.timeout_ms);
		ck_assert_int_eq(in.state_filter, out.state_filter);
		assert_kvs_eq(&in.label_filter, &out.label_filter);
		assert_str_eq_null(in.ref, out.ref);
		assert_str_eq_null(in.path, out.path);
		proto_request_fini(&out);
		proto_request_fini(&in);
		msg_free(&m);
	}

	/* defaults: stop without timeout (<0 means "the daemon's"), list without filters */
	proto_request_init(&in, OP_STOP);
	snprintf(in.id, sizeof(in.id), "%s", ID_A);
	in.timeout_ms = -1;
	req_ok(enc_request(&in), &out);
	ck_assert_int_eq(out.timeout_ms, 10000);
	proto_request_fini(&out);
	in.timeout_ms = 0;
	req_ok(enc_request(&in), &out);
	ck_assert_int_eq(out.timeout_ms, 0);
	proto_request_fini(&out);
	proto_request_fini(&in);

	proto_request_init(&in, OP_LIST);
	req_ok(enc_request(&in), &out);
	ck_assert_int_eq(out.state_filter, -1);
	ck_assert_uint_eq(out.label_filter.n, 0);
	proto_request_fini(&out);
	proto_request_fini(&in);

	/* the minimal config and a nameless handler */
	proto_request_init(&in, OP_RUN);
	min_config(&in.config);
	req_ok(enc_request(&in), &out);
	assert_config_eq(&in.config, &out.config);
	ck_assert_ptr_null(out.runtime_handler);
	ck_assert(!out.config.has_dns_config);
	ck_assert(!out.config.linux.security_context.namespace_options.userns_options.present);
	ck_assert(!out.config.linux.security_context.has_run_as_user);
	ck_assert(!out.config.linux.security_context.has_run_as_group);
	ck_assert(!out.config.linux.security_context.seccomp.present);
	ck_assert_ptr_null(out.config.linux.security_context.selinux_options.level);
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

START_TEST(test_reply_roundtrip)
{
	struct cradle_err e = { 0 };
	struct proto_reply in, out;
	struct msg m;
	int op;
	size_t i;

	for (op = 0; op < OP__COUNT; op++) {
		proto_reply_init(&in, op);
		in.ok = true;
		switch (op) {
		case OP_VERSION:
			snprintf(in.version.version, sizeof(in.version.version), "0.1.0");
			in.version.api_version = PROTO_VERSION;
			in.version.pid = 31337;
			break;
		case OP_CREATE:
		case OP_START:
		case OP_RUN:
			snprintf(in.id, sizeof(in.id), "%s", ID_A);
			in.pid = op == OP_CREATE ? 0 : 777;
			in.created_at = 1700000000000000001LL;
			break;
		case OP_STATUS:
			in.n_sandboxes = 1;
			in.sandboxes = calloc(1, sizeof(*in.sandboxes));
			ck_assert_ptr_nonnull(in.sandboxes);
			fill_sandbox(&in.sandboxes[0], ID_A, PHASE_RUNNING);
			break;
		case OP_LIST:
			in.n_sandboxes = 3;
			in.sandboxes = calloc(3, sizeof(*in.sandboxes));
			ck_assert_ptr_nonnull(in.sandboxes);
			fill_sandbox(&in.sandboxes[0], ID_A, PHASE_CREATED);
			fill_sandbox(&in.sandboxes[1], ID_B, PHASE_RUNNING);
			fill_sandbox(&in.sandboxes[2], ID_A, PHASE_EXITED);
			break;
		case OP_IMAGE_PULL:
		case OP_IMAGE_STATUS:
		case OP_IMAGE_IMPORT:
			in.n_images = 1;
			in.images = calloc(1, sizeof(*in.images));
			ck_assert_ptr_nonnull(in.images);
			fill_image(&in.images[0], REF_A);
			break;
		case OP_IMAGE_LIST:
			in.n_images = 3;
			in.images = calloc(3, sizeof(*in.images));
			ck_assert_ptr_nonnull(in.images);
			fill_image(&in.images[0], REF_A);
			fill_image(&in.images[1], REF_B);
			/* the least an image can be */
			in.images[2].ref = xdup("x");
			break;
		}
		m = enc_reply(&in);
		ck_assert_msg(proto_reply_decode(op, m.data, m.len, &out, &e) == 0,
		              "%s: %s", proto_op_name(op), e.msg);
		ck_assert(out.ok);
		ck_assert_int_eq(out.op, op);
		ck_assert_str_eq(out.version.version, in.version.version);
		ck_assert_uint_eq(out.version.api_version, in.version.api_version);
		ck_assert_int_eq(out.version.pid, in.version.pid);
		ck_assert_str_eq(out.id, in.id);
		ck_assert_int_eq(out.pid, op == OP_CREATE ? 0 : in.pid);
		ck_assert_int_eq(out.created_at, in.created_at);
		ck_assert_uint_eq(out.n_sandboxes, in.n_sandboxes);
		for (i = 0; i < in.n_sandboxes; i++)
			assert_sandbox_eq(&in.sandboxes[i], &out.sandboxes[i]);
		ck_assert_uint_eq(out.n_images, in.n_images);
		for (i = 0; i < in.n_images; i++)
			assert_image_eq(&in.images[i], &out.images[i]);
		proto_reply_fini(&out);
		proto_reply_fini(&in);
		msg_free(&m);
	}

	/* an empty list */
	proto_reply_init(&in, OP_LIST);
	in.ok = true;
	m = enc_reply(&in);
	ck_assert_int_eq(proto_reply_decode(OP_LIST, m.data, m.len, &out, &e), 0);
	ck_assert_uint_eq(out.n_sandboxes, 0);
	ck_assert_ptr_null(out.sandboxes);
	proto_reply_fini(&out);
	msg_free(&m);

	/* stop/remove: {} or no result at all */
	m = RAW("\x82\xa1v\x01\xa2ok\xc3");
	ck_assert_int_eq(proto_reply_decode(OP_REMOVE, m.data, m.len, &out, &e), 0);
	ck_assert(out.ok);
	msg_free(&m);
}
END_TEST

START_TEST(test_error_reply)
{
	struct cradle_err e = { 0 }, src;
	struct proto_reply in, out;
	msgpack_sbuffer sb;
	struct msg m;

	proto_reply_init(&in, OP_STATUS);
	cradle_err_set(&in.err, CRADLE_NOT_FOUND, "unable to find sandbox with id \"%s\"", ID_A);
	m = enc_reply(&in);
	/* a well-formed error reply decodes fine: the error is in out.err */
	ck_assert_int_eq(proto_reply_decode(OP_STATUS, m.data, m.len, &out, &e), 0);
	ck_assert(!out.ok);
	ck_assert_int_eq(out.err.code, CRADLE_NOT_FOUND);
	ck_assert_str_eq(out.err.msg, in.err.msg);
	ck_assert_uint_eq(out.n_sandboxes, 0);
	proto_reply_fini(&out);
	msg_free(&m);

	/* NULL error, empty message, OK code, and bytes that are not UTF-8 */
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_reply_encode_error(&sb, NULL), 0);
	m = take(&sb);
	ck_assert_int_eq(proto_reply_decode(OP_LIST, m.data, m.len, &out, &e), 0);
	ck_assert(!out.ok);
	ck_assert_int_eq(out.err.code, CRADLE_INTERNAL);
	ck_assert_str_eq(out.err.msg, "INTERNAL");
	msg_free(&m);

	memset(&src, 0, sizeof(src));
	src.code = CRADLE_UNAVAILABLE;
	ck_assert_int_eq(proto_reply_encode_error(&sb, &src), 0);
	m = take(&sb);
	ck_assert_int_eq(proto_reply_decode(OP_VERSION, m.data, m.len, &out, &e), 0);
	ck_assert_int_eq(out.err.code, CRADLE_UNAVAILABLE);
	ck_assert_str_eq(out.err.msg, "UNAVAILABLE");
	msg_free(&m);

	cradle_err_set(&src, CRADLE_OK, "bad \xff name \xc3");
	ck_assert_int_eq(proto_reply_encode_error(&sb, &src), 0);
	m = take(&sb);
	ck_assert_int_eq(proto_reply_decode(OP_VERSION, m.data, m.len, &out, &e), 0);
	ck_assert_int_eq(out.err.code, CRADLE_INTERNAL);
	ck_assert_str_eq(out.err.msg, "bad ? name ?");
	msg_free(&m);

	/* a message filling the whole buffer (no NUL) is bounded */
	memset(src.msg, 'x', sizeof(src.msg));
	src.code = CRADLE_INVALID_ARGUMENT;
	ck_assert_int_eq(proto_reply_encode_error(&sb, &src), 0);
	m = take(&sb);
	ck_assert_int_eq(proto_reply_decode(OP_VERSION, m.data, m.len, &out, &e), 0);
	ck_assert_uint_eq(strlen(out.err.msg), CRADLE_ERR_MSG_MAX - 1);
	msg_free(&m);
	msgpack_sbuffer_destroy(&sb);

	/* an unknown code from a newer daemon is kept */
	m = RAW("\x83\xa1v\x01\xa2ok\xc2\xa5""error\x82\xa4""code\x63\xa7message\xa2hi");
	ck_assert_int_eq(proto_reply_decode(OP_VERSION, m.data, m.len, &out, &e), 0);
	ck_assert_int_eq(out.err.code, 99);
	ck_assert_str_eq(out.err.msg, "hi");
	msg_free(&m);
}
END_TEST

START_TEST(test_sandbox_record)
{
	struct cradle_err e = { 0 };
	struct proto_sandbox in, out;
	msgpack_unpacked up;
	msgpack_object_kv *kv;
	msgpack_object *st;
	msgpack_sbuffer sb;
	struct msg m, m2;
	size_t off = 0;
	int phase;

	for (phase = PHASE_CREATED; phase <= PHASE_EXITED; phase++) {
		fill_sandbox(&in, ID_B, phase);
		m = enc_sandbox(&in);
		ck_assert_msg(proto_sandbox_decode(m.data, m.len, &out, &e) == 0, "%s", e.msg);
		assert_sandbox_eq(&in, &out);
		ck_assert_int_eq(proto_sandbox_state(&out),
		                 phase == PHASE_RUNNING ? STATE_READY : STATE_NOTREADY);
		/* the derived state is in the record for readers */
		msgpack_unpacked_init(&up);
		off = 0;
		ck_assert_int_eq(msgpack_unpack_next(&up, m.data, m.len, &off),
		                 MSGPACK_UNPACK_SUCCESS);
		st = find(&up.data, "state", &kv);
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
	m = enc_sandbox(&in);
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
	{
		static const char *const fields[] = {
			"hostname_path", "hosts_path", "resolv_conf_path", "shm_path",
			"cgroup_path", "process_label", "mount_label", "runtime_type",
		};
		char want[128];
		struct msg m3;
		size_t i;

		m2 = raw(m.data, m.len);
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			snprintf(want, sizeof(want), "%s: expected string, got unsigned integer",
			         fields[i]);
			m3 = set_at(&m, fields[i], o_uint(1));
			ASSERT_INVALID(proto_sandbox_decode(m3.data, m3.len, &out, &e), e, want);
			ck_assert_ptr_null(out.netns_path);
			msg_free(&m3);
			snprintf(want, sizeof(want), "%s: invalid UTF-8", fields[i]);
			m3 = set_at(&m, fields[i], o_str("/x\xff"));
			ASSERT_INVALID(proto_sandbox_decode(m3.data, m3.len, &out, &e), e, want);
			msg_free(&m3);
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
	}

	/* but not broken ones */
	m2 = set_at(&m, "phase", o_str("zombie"));
	ck_assert_int_lt(proto_sandbox_decode(m2.data, m2.len, &out, &e), 0);
	ASSERT_INVALID(-1, e, "phase: \"zombie\" is not a sandbox phase");
	ck_assert_ptr_null(out.config.metadata.name);
	ck_assert_ptr_null(out.runtime_handler);
	msg_free(&m2);
	m2 = set_at(&m, "pid", o_uint(1ULL << 31));
	ASSERT_INVALID(proto_sandbox_decode(m2.data, m2.len, &out, &e), e,
	               "pid: 2147483648 is out of range");
	msg_free(&m2);
	m2 = set_at(&m, "pid_start_time", o_int(-1));
	ASSERT_INVALID(proto_sandbox_decode(m2.data, m2.len, &out, &e), e,
	               "pid_start_time: expected unsigned integer, got negative integer");
	msg_free(&m2);
	m2 = set_at(&m, "id", o_str(ID_A "00"));
	ASSERT_INVALID(proto_sandbox_decode(m2.data, m2.len, &out, &e), e,
	               "id: \"0123456789abcdef0123456789abcdef0123456789abcdef\"... "
	               "is not a valid sandbox id");
	msg_free(&m2);
	m2 = drop(&m, "id");
	ASSERT_INVALID(proto_sandbox_decode(m2.data, m2.len, &out, &e), e,
	               "id: required field is missing");
	msg_free(&m2);
	m2 = drop(&m, "config");
	ASSERT_INVALID(proto_sandbox_decode(m2.data, m2.len, &out, &e), e,
	               "config: required field is missing");
	msg_free(&m2);
	m2 = set_at(&m, "config.labels.app", o_uint(1));
	ASSERT_INVALID(proto_sandbox_decode(m2.data, m2.len, &out, &e), e,
	               "config.labels.app: expected string, got unsigned integer");
	msg_free(&m2);
	msg_free(&m);

	/* the encoder refuses what it could not read back; sbuf untouched */
	msgpack_sbuffer_init(&sb);
	in.id[10] = 'X';
	ASSERT_ERR(proto_sandbox_encode(&sb, &in, &e), e, CRADLE_INTERNAL, "sandbox id");
	ck_assert_uint_eq(sb.size, 0);
	in.id[10] = 'a';
	in.phase = 9;
	ASSERT_ERR(proto_sandbox_encode(&sb, &in, &e), e, CRADLE_INTERNAL, "phase 9");
	ck_assert_uint_eq(sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
	proto_sandbox_fini(&in);
}
END_TEST

START_TEST(test_event)
{
	struct cradle_err e = { 0 };
	struct proto_event in, out;
	msgpack_sbuffer sb;
	struct msg m, m2;

	memset(&in, 0, sizeof(in));
	in.seq = 1ULL << 40;
	snprintf(in.type, sizeof(in.type), "sandbox.exit");
	snprintf(in.id, sizeof(in.id), "%s", ID_A);
	in.pid = 99;
	in.exit_status = 143;
	in.exited_at = 1700000000999999999LL;
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_event_encode(&sb, &in, &e), 0);
	m = take(&sb);
	ck_assert_int_eq(proto_event_decode(m.data, m.len, &out, &e), 0);
	ck_assert_uint_eq(out.seq, in.seq);
	ck_assert_str_eq(out.type, "sandbox.exit");
	ck_assert_str_eq(out.id, in.id);
	ck_assert_int_eq(out.pid, in.pid);
	ck_assert_int_eq(out.exit_status, in.exit_status);
	ck_assert_int_eq(out.exited_at, in.exited_at);

	m2 = drop(&m, "seq");
	ASSERT_INVALID(proto_event_decode(m2.data, m2.len, &out, &e), e,
	               "seq: required field is missing");
	msg_free(&m2);
	m2 = set_at(&m, "type", o_str("sandbox.exit.and.a.very.long.name"));
	ASSERT_INVALID(proto_event_decode(m2.data, m2.len, &out, &e), e,
	               "type: string of 33 bytes exceeds 31");
	msg_free(&m2);
	m2 = set_at(&m, "id", o_str("nope"));
	ASSERT_INVALID(proto_event_decode(m2.data, m2.len, &out, &e), e,
	               "id: \"nope\" is not a valid sandbox id");
	msg_free(&m2);
	m2 = set_at(&m, "exit_status", o_str("137"));
	ASSERT_INVALID(proto_event_decode(m2.data, m2.len, &out, &e), e,
	               "exit_status: expected integer, got string");
	msg_free(&m2);
	msg_free(&m);

	/* an empty type goes out as the one type there is */
	in.type[0] = '\0';
	ck_assert_int_eq(proto_event_encode(&sb, &in, &e), 0);
	m = take(&sb);
	ck_assert_int_eq(proto_event_decode(m.data, m.len, &out, &e), 0);
	ck_assert_str_eq(out.type, "sandbox.exit");
	msg_free(&m);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_large_list_reply)
{
	struct cradle_err e = { 0 };
	struct proto_reply in, out;
	struct msg m;
	size_t i, n = 2000;

	proto_reply_init(&in, OP_LIST);
	in.ok = true;
	in.n_sandboxes = n;
	in.sandboxes = calloc(n, sizeof(*in.sandboxes));
	ck_assert_ptr_nonnull(in.sandboxes);
	for (i = 0; i < n; i++) {
		snprintf(in.sandboxes[i].id, sizeof(in.sandboxes[i].id), "%064zx", i);
		min_config(&in.sandboxes[i].config);
		in.sandboxes[i].phase = PHASE_RUNNING;
	}
	m = enc_reply(&in);
	ck_assert_msg(proto_reply_decode(OP_LIST, m.data, m.len, &out, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(out.n_sandboxes, n);
	ck_assert_str_eq(out.sandboxes[n - 1].id, in.sandboxes[n - 1].id);
	proto_reply_fini(&out);
	/* the generic (request) limits refuse it, naming the array */
	ASSERT_INVALID(proto_check_bounds(m.data, m.len, &e), e,
	               "result.sandboxes: array with 2000 entries exceeds 1024");
	/* and the large allowance is for list replies only */
	ASSERT_INVALID(proto_reply_decode(OP_STATUS, m.data, m.len, &out, &e), e,
	               "exceeds 1024");
	msg_free(&m);
	proto_reply_fini(&in);

	/* other arrays in a list reply keep the normal limit */
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
		msgpack_pack_map(&pk, 2);
		msgpack_pack_str_with_body(&pk, "sandboxes", 9);
		msgpack_pack_array(&pk, 0);
		msgpack_pack_str_with_body(&pk, "other", 5);
		msgpack_pack_array(&pk, 2000);
		for (i = 0; i < 2000; i++)
			msgpack_pack_nil(&pk);
		m = take(&sb);
		ASSERT_INVALID(proto_reply_decode(OP_LIST, m.data, m.len, &out, &e), e,
		               "result.other: array with 2000 entries exceeds 1024");
		msg_free(&m);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* hostile bytes                                                      */

/* Decode buf as every kind of message; none may crash or leak, and every
 * refusal must be INVALID_ARGUMENT. */
static void decode_all_ways(const void *buf, size_t len)
{
	struct cradle_err e;
	struct proto_request req;
	struct proto_reply rep;
	struct proto_sandbox sb;
	struct proto_event ev;
	int op, rc;

	memset(&e, 0, sizeof(e));
	rc = proto_request_decode(buf, len, &req, &e);
	if (rc)
		ck_assert_msg(e.code == CRADLE_INVALID_ARGUMENT, "%s", e.msg);
	proto_request_fini(&req);
	for (op = 0; op < OP__COUNT; op++) {
		rc = proto_reply_decode(op, buf, len, &rep, &e);
		if (rc)
			ck_assert_msg(e.code == CRADLE_INVALID_ARGUMENT, "%s", e.msg);
		proto_reply_fini(&rep);
	}
	rc = proto_sandbox_decode(buf, len, &sb, &e);
	if (rc)
		ck_assert_msg(e.code == CRADLE_INVALID_ARGUMENT, "%s", e.msg);
	proto_sandbox_fini(&sb);
	rc = proto_event_decode(buf, len, &ev, &e);
	if (rc)
		ck_assert_msg(e.code == CRADLE_INVALID_ARGUMENT, "%s", e.msg);
}

START_TEST(test_garbage)
{
	static const unsigned char interesting[] = {
		0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc4,
		0xc6, 0xc7, 0xca, 0xcb, 0xcf, 0xd3, 0xd4, 0xd9, 0xdb, 0xdc, 0xdd, 0xde,
		0xdf, 0xe0, 0xff,
	};
	unsigned char buf[96];
	unsigned int seed = 12345;
	struct cradle_err e;
	struct msg m;
	size_t i, j, len;

	ASSERT_INVALID(proto_check_bounds("hello", 5, &e), e, "message must be a map");
	decode_all_ways("hello", 5);
	ASSERT_INVALID(proto_check_bounds("\xc1", 1, &e), e, "message must be a map");
	ASSERT_INVALID(proto_check_bounds("\x81\xa1" "a\xc1", 4, &e), e,
	               "a: invalid msgpack byte 0xc1");

	/* random bytes, with a map header in front half of the time */
	for (i = 0; i < 3000; i++) {
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
	struct proto_reply rep;
	struct proto_sandbox sb;
	struct proto_event ev;

	ASSERT_INVALID(proto_check_bounds("", 0, &e), e, "empty message");
	ASSERT_INVALID(proto_check_bounds(NULL, 10, &e), e, "empty message");
	ASSERT_INVALID(proto_request_decode("", 0, &req, &e), e, "empty message");
	assert_req_clean(&req);
	ASSERT_INVALID(proto_reply_decode(OP_LIST, NULL, 0, &rep, &e), e, "empty message");
	ASSERT_INVALID(proto_sandbox_decode("", 0, &sb, &e), e, "empty message");
	ASSERT_INVALID(proto_event_decode("", 0, &ev, &e), e, "empty message");
	/* the empty map is a message, just not a request */
	ck_assert_int_eq(proto_check_bounds("\x80", 1, &e), 0);
	ASSERT_INVALID(proto_request_decode("\x80", 1, &req, &e), e,
	               "v: required field is missing");
	/* err may be NULL */
	ck_assert_int_lt(proto_request_decode("", 0, &req, NULL), 0);
	ck_assert_int_lt(proto_check_bounds("\xc1", 1, NULL), 0);
}
END_TEST

/* Every strict prefix of a valid message is truncated and must fail. */
static void all_prefixes_fail(const struct msg *m, int kind)
{
	struct cradle_err e;
	struct proto_request req;
	struct proto_reply rep;
	struct proto_sandbox sb;
	struct proto_event ev;
	size_t n;
	int rc;

	for (n = 0; n < m->len; n++) {
		memset(&e, 0, sizeof(e));
		switch (kind) {
		case 0:
			rc = proto_request_decode(m->data, n, &req, &e);
			ck_assert_msg(rc < 0, "prefix %zu of %zu decoded", n, m->len);
			assert_req_clean(&req);
			break;
		case 1:
			rc = proto_reply_decode(OP_LIST, m->data, n, &rep, &e);
			ck_assert_msg(rc < 0, "prefix %zu of %zu decoded", n, m->len);
			ck_assert_ptr_null(rep.sandboxes);
			break;
		case 2:
			rc = proto_sandbox_decode(m->data, n, &sb, &e);
			ck_assert_msg(rc < 0, "prefix %zu of %zu decoded", n, m->len);
			ck_assert_ptr_null(sb.config.metadata.name);
			break;
		default:
			rc = proto_event_decode(m->data, n, &ev, &e);
			ck_assert_msg(rc < 0, "prefix %zu of %zu decoded", n, m->len);
			break;
		}
		ck_assert_int_eq(e.code, CRADLE_INVALID_ARGUMENT);
		if (n > 0)
			ck_assert_msg(strstr(e.msg, "truncated") || strstr(e.msg, "remain"),
			              "prefix %zu: %s", n, e.msg);
	}
}

START_TEST(test_truncated)
{
	struct proto_reply rep;
	struct proto_sandbox sb;
	struct proto_event ev;
	msgpack_sbuffer sbuf;
	struct cradle_err e;
	struct msg m;

	m = create_msg();
	all_prefixes_fail(&m, 0);
	msg_free(&m);

	proto_reply_init(&rep, OP_LIST);
	rep.ok = true;
	rep.n_sandboxes = 2;
	rep.sandboxes = calloc(2, sizeof(*rep.sandboxes));
	ck_assert_ptr_nonnull(rep.sandboxes);
	fill_sandbox(&rep.sandboxes[0], ID_A, PHASE_RUNNING);
	fill_sandbox(&rep.sandboxes[1], ID_B, PHASE_EXITED);
	m = enc_reply(&rep);
	all_prefixes_fail(&m, 1);
	msg_free(&m);
	proto_reply_fini(&rep);

	fill_sandbox(&sb, ID_A, PHASE_CREATED);
	m = enc_sandbox(&sb);
	all_prefixes_fail(&m, 2);
	msg_free(&m);
	proto_sandbox_fini(&sb);

	memset(&ev, 0, sizeof(ev));
	ev.seq = 1;
	snprintf(ev.id, sizeof(ev.id), "%s", ID_A);
	msgpack_sbuffer_init(&sbuf);
	ck_assert_int_eq(proto_event_encode(&sbuf, &ev, &e), 0);
	m = take(&sbuf);
	all_prefixes_fail(&m, 3);
	msg_free(&m);
}
END_TEST

START_TEST(test_oversized)
{
	struct cradle_err e = { 0 };
	struct proto_request req;
	msgpack_sbuffer sb;
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
	msgpack_sbuffer_init(&sb);
	msgpack_sbuffer_write(&sb, "xy", 2);
	ASSERT_INVALID(proto_request_encode(&sb, &req, &e), e, "exceeds 1048576");
	ck_assert_uint_eq(sb.size, 2);
	msgpack_sbuffer_destroy(&sb);
	proto_request_fini(&req);

	/* a string over PROTO_MAX_STR, with the bytes present */
	proto_request_init(&req, OP_CREATE);
	min_config(&req.config);
	req.config.hostname = calloc(1, PROTO_MAX_STR + 2);
	ck_assert_ptr_nonnull(req.config.hostname);
	memset(req.config.hostname, 'h', PROTO_MAX_STR + 1);
	m = enc_request(&req);
	proto_request_fini(&req);
	req_fails(m, "args.config.hostname: string of 16385 bytes exceeds 16384");
}
END_TEST

static struct msg nested(int depth, bool arrays)
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
	struct cradle_err e = { 0 };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct msg m;
	int i;

	/* five bytes claiming 2^31 entries: refused before msgpack-c sees them */
	req_fails(RAW("\xdf\x80\x00\x00\x00"), "map with 2147483648 entries exceeds 1024");
	req_fails(RAW("\xde\xff\xff"), "map with 65535 entries exceeds 1024");
	req_fails(RAW("\x81\xa1" "a\xdd\x7f\xff\xff\xff"),
	          "a: array with 2147483647 entries exceeds 1024");
	req_fails(RAW("\x81\xa1" "a\xdd\xff\xff\xff\xff"),
	          "a: array with 4294967295 entries exceeds 1024");
	req_fails(RAW("\x81\xa1" "a\xdc\x03\xe8"), "a: array claims 1000 entries but only 0 bytes remain");
	req_fails(RAW("\x81\xa1" "a\xde\x01\x00\x01\x02"),
	          "a: map claims 256 entries but only 2 bytes remain");
	req_fails(RAW("\x81\xa1" "a\xdb\x7f\xff\xff\xff"),
	          "a: string of 2147483647 bytes exceeds 16384");
	req_fails(RAW("\x81\xa1" "a\xc6\xff\xff\xff\xff"),
	          "a: binary of 4294967295 bytes exceeds 16384");
	req_fails(RAW("\x81\xa1" "a\xda\x00\x10"), "message truncated");
	req_fails(RAW("\x81\xdb\x7f\xff\xff\xff"), "string of 2147483647 bytes exceeds 16384");
	req_fails(RAW("\x81\xa1" "a\xcf\x00"), "message truncated");
	req_fails(RAW("\x81\xa1" "a\xdd\x00"), "message truncated");

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
	struct msg m;

	req_fails(RAW("\x91\x01"), "message must be a map, got array");
	req_fails(RAW("\xa1" "a"), "message must be a map, got string");
	req_fails(RAW("\x01"), "message must be a map, got unsigned integer");
	req_fails(RAW("\xc0"), "message must be a map, got nil");
	req_fails(RAW("\x81\x01\x01"), "map key must be a string, got unsigned integer");
	req_fails(RAW("\x81\xa4" "args\x81\xc0\x01"), "args: map key must be a string, got nil");
	req_fails(RAW("\x81\xa4" "args\x81\x80\x01"), "args: map key must be a string, got map");
	req_fails(RAW("\x81\xa1" "a\xd4\x01\x00"), "a: msgpack ext types are not allowed");
	req_fails(RAW("\x81\xa1" "a\xc7\x01\x05\x00"), "a: msgpack ext types are not allowed");

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

	req_fails(set_at(&m, "v", o_uint(2)), "unsupported protocol version 2");
	req_fails(set_at(&m, "v", o_uint(0)), "unsupported protocol version 0");
	req_fails(set_at(&m, "v", o_str("1")), "v: expected unsigned integer, got string");
	req_fails(drop(&m, "v"), "v: required field is missing");
	req_fails(set_at(&m, "op", o_str("sandbox.frob")),
	          "op: unknown operation \"sandbox.frob\"");
	req_fails(set_at(&m, "op", o_str("sandbox.frob\n\x01\xff")),
	          "op: unknown operation \"sandbox.frob\\x0a\\x01\\xff\"");
	req_fails(set_at(&m, "op", o_uint(1)), "op: expected string, got unsigned integer");
	req_fails(drop(&m, "op"), "op: required field is missing");
	req_fails(set_at(&m, "args", o_type(MSGPACK_OBJECT_ARRAY)),
	          "args: expected map, got array");
	req_fails(drop(&m, "args"), "args.config: required field is missing");
	req_fails(add_at(&m, "", "op", o_str("sandbox.run")), "op: duplicate key");

	/* unknown keys are skipped at every level; nil reads as absent */
	{
		struct msg a = add_at(&m, "", "trace_id", o_str("abc"));
		struct msg b = add_at(&a, "args", "future", o_uint(1));
		struct msg c = add_at(&b, "args.config", "port_mappings",
		                      o_type(MSGPACK_OBJECT_ARRAY));
		struct msg d = add_at(&c, "args.config.linux.security_context", "apparmor",
		                      o_type(MSGPACK_OBJECT_MAP));
		struct msg f = set_at(&d, "args.config.hostname", o_type(MSGPACK_OBJECT_NIL));

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
	static const struct {
		const char *path;
		int kind;       /* what to put there */
		const char *needle;
	} cases[] = {
		{ "args.config", 's', "args.config: expected map, got string" },
		{ "args.config.metadata", 'a', "args.config.metadata: expected map, got array" },
		{ "args.config.metadata.name", 'u', "args.config.metadata.name: expected string, got unsigned integer" },
		{ "args.config.metadata.name", 'b', "args.config.metadata.name: expected string, got binary" },
		{ "args.config.metadata.uid", 'm', "args.config.metadata.uid: expected string, got map" },
		{ "args.config.metadata.namespace", 't', "args.config.metadata.namespace: expected string, got boolean" },
		{ "args.config.metadata.attempt", 's', "args.config.metadata.attempt: expected unsigned integer, got string" },
		{ "args.config.metadata.attempt", 'n', "args.config.metadata.attempt: expected unsigned integer, got negative integer" },
		{ "args.config.metadata.attempt", 'f', "args.config.metadata.attempt: expected unsigned integer, got float" },
		{ "args.config.metadata.attempt", 'H', "args.config.metadata.attempt: 4294967296 is out of range (0..4294967295)" },
		{ "args.config.hostname", 'u', "args.config.hostname: expected string, got unsigned integer" },
		{ "args.config.log_directory", 'a', "args.config.log_directory: expected string, got array" },
		{ "args.config.dns_config", 's', "args.config.dns_config: expected map, got string" },
		{ "args.config.dns_config.servers", 's', "args.config.dns_config.servers: expected array, got string" },
		{ "args.config.dns_config.searches.1", 'u', "args.config.dns_config.searches[1]: expected string, got unsigned integer" },
		{ "args.config.labels", 'a', "args.config.labels: expected map, got array" },
		{ "args.config.labels.app", 'u', "args.config.labels.app: expected string, got unsigned integer" },
		{ "args.config.annotations", 's', "args.config.annotations: expected map, got string" },
		{ "args.config.linux", 'a', "args.config.linux: expected map, got array" },
		{ "args.config.linux.cgroup_parent", 't', "args.config.linux.cgroup_parent: expected string, got boolean" },
		{ "args.config.linux.sysctls", 'u', "args.config.linux.sysctls: expected map, got unsigned integer" },
		{ "args.config.linux.security_context", 's', "args.config.linux.security_context: expected map, got string" },
		{ "args.config.linux.security_context.namespace_options", 'u', "args.config.linux.security_context.namespace_options: expected map, got unsigned integer" },
		{ "args.config.linux.security_context.namespace_options.network", 'f', "args.config.linux.security_context.namespace_options.network: expected integer or string, got float" },
		{ "args.config.linux.security_context.namespace_options.target_id", 'u', "args.config.linux.security_context.namespace_options.target_id: expected string, got unsigned integer" },
		{ "args.config.linux.security_context.privileged", 'u', "args.config.linux.security_context.privileged: expected boolean, got unsigned integer" },
		{ "args.config.linux.security_context.privileged", 's', "args.config.linux.security_context.privileged: expected boolean, got string" },
		{ "args.runtime_handler", 'u', "args.runtime_handler: expected string, got unsigned integer" },
	};
	struct msg m = create_msg();
	msgpack_object v;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		switch (cases[i].kind) {
		case 's': v = o_str("text"); break;
		case 'u': v = o_uint(7); break;
		case 'n': v = o_int(-7); break;
		case 'H': v = o_uint(1ULL << 32); break;
		case 'f': v = o_float(1.5); break;
		case 't': v = o_bool(true); break;
		case 'b': v = o_bin("nginx"); break;
		case 'a': v = o_type(MSGPACK_OBJECT_ARRAY); break;
		default:  v = o_type(MSGPACK_OBJECT_MAP); break;
		}
		req_fails(set_at(&m, cases[i].path, v), cases[i].needle);
	}
	msg_free(&m);
}
END_TEST

START_TEST(test_missing_required)
{
	struct msg m = create_msg(), m2;

	req_fails(drop(&m, "args.config"), "args.config: required field is missing");
	req_fails(drop(&m, "args.config.metadata"),
	          "args.config.metadata: sandbox config must include metadata");
	req_fails(set_at(&m, "args.config.metadata", o_type(MSGPACK_OBJECT_MAP)),
	          "args.config.metadata: sandbox config must include metadata");
	req_fails(drop(&m, "args.config.metadata.name"),
	          "args.config.metadata.name: required field is missing");
	req_fails(set_at(&m, "args.config.metadata.name", o_type(MSGPACK_OBJECT_NIL)),
	          "args.config.metadata.name: required field is missing");
	req_fails(drop(&m, "args.config.metadata.namespace"),
	          "args.config.metadata.namespace: required field is missing");
	req_fails(drop(&m, "args.config.metadata.uid"),
	          "args.config.metadata.uid: required field is missing");
	req_fails(set_at(&m, "args.config.metadata.uid", o_str("")),
	          "args.config.metadata.uid: must not be empty");
	msg_free(&m);

	for (int op = OP_START; op < OP_LIST; op++) {
		if (op == OP_RUN)
			continue;
		m = id_msg(op, ID_A);
		req_fails(drop(&m, "args.id"), "args.id: required field is missing");
		req_fails(drop(&m, "args"), "args.id: required field is missing");
		m2 = set_at(&m, "args.id", o_type(MSGPACK_OBJECT_NIL));
		req_fails(m2, "args.id: required field is missing");
		msg_free(&m);
	}
}
END_TEST

START_TEST(test_utf8_and_nul)
{
	struct proto_request req;
	struct msg m = create_msg(), m2;

	req_fails(set_at(&m, "args.config.metadata.name", o_str("ab\xff" "cd")),
	          "args.config.metadata.name: invalid UTF-8");
	req_fails(set_at(&m, "args.config.metadata.name", o_strn("ab\0cd", 5)),
	          "args.config.metadata.name: contains a NUL byte");
	req_fails(set_at(&m, "args.config.metadata.uid", o_str("\xc0\xaf")),
	          "args.config.metadata.uid: invalid UTF-8");
	req_fails(set_at(&m, "args.config.metadata.uid", o_str("\xed\xa0\x80")),
	          "args.config.metadata.uid: invalid UTF-8");
	req_fails(set_at(&m, "args.config.labels.app", o_str("x\xc3")),
	          "args.config.labels.app: invalid UTF-8");
	req_fails(set_at(&m, "args.config.labels.app", o_strn("x\0y", 3)),
	          "args.config.labels.app: contains a NUL byte");
	req_fails(edit(&m, RENAME, "args.config.labels.app", "\xc3\x28", 2, NULL),
	          "args.config.labels: key is not valid UTF-8");
	req_fails(edit(&m, RENAME, "args.config.labels.app", "a\0b", 3, NULL),
	          "args.config.labels: key contains a NUL byte");
	req_fails(edit(&m, RENAME, "args.config.labels.app", "", 0, NULL),
	          "args.config.labels: keys must not be empty");
	req_fails(set_at(&m, "args.config.dns_config.servers.0", o_strn("1.1.1.1\0", 8)),
	          "args.config.dns_config.servers[0]: contains a NUL byte");
	req_fails(set_at(&m, "args.config.linux.cgroup_parent", o_str("/k\xfe")),
	          "args.config.linux.cgroup_parent: invalid UTF-8");
	req_fails(set_at(&m, "args.runtime_handler", o_strn("runc\0", 5)),
	          "args.runtime_handler: contains a NUL byte");
	/* an odd key is quoted, escaped, in the path */
	m2 = add_at(&m, "args.config.labels", "we\"ird\n", o_uint(1));
	req_fails(m2, "args.config.labels[\"we\\\"ird\\x0a\"]: expected string");
	/* multi-byte UTF-8 is fine */
	req_fails(set_at(&m, "args.config.annotations.kubernetes.io/config.seen", o_str("\xff")),
	          "args.config.annotations[\"kubernetes.io/config.seen\"]: invalid UTF-8");
	m2 = set_at(&m, "args.config.labels.app", o_str("\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"));
	req_ok(m2, &req);
	ck_assert_str_eq(proto_kvs_get(&req.config.labels, "app"),
	                 "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
	proto_request_fini(&req);
	msg_free(&m);
}
END_TEST

START_TEST(test_duplicates)
{
	struct msg m = create_msg();

	req_fails(add_at(&m, "args.config.metadata", "name", o_str("other")),
	          "args.config.metadata.name: duplicate key");
	req_fails(add_at(&m, "args.config.labels", "app", o_str("other")),
	          "args.config.labels: duplicate key \"app\"");
	req_fails(add_at(&m, "args.config.linux.sysctls", "net.ipv4.ip_local_port_range",
	                 o_str("1 2")),
	          "args.config.linux.sysctls: duplicate key \"net.ipv4.ip_local_port_range\"");
	req_fails(add_at(&m, "args", "config", o_type(MSGPACK_OBJECT_MAP)),
	          "args.config: duplicate key");
	msg_free(&m);
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
		m = id_msg(op, ID_A);
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(want, sizeof(want), "args.id: \"%.48s", bad[i]);
			req_fails(set_at(&m, "args.id", o_str(bad[i])), want);
			req_fails(set_at(&m, "args.id", o_str(bad[i])), "is not a valid sandbox id");
		}
		req_fails(set_at(&m, "args.id", o_strn("0123456789abcdef0123456789abcdef"
		                                      "0123456789abcdef0123456789abcd\0f", 64)),
		          "args.id: contains a NUL byte");
		req_fails(set_at(&m, "args.id", o_uint(5)), "args.id: expected string");
		msg_free(&m);
	}
}
END_TEST

START_TEST(test_names)
{
	char s[300];
	struct proto_request req;
	struct msg m = create_msg();

	req_fails(set_at(&m, "args.config.metadata.name", o_str("Nginx")),
	          "args.config.metadata.name: \"Nginx\" is not a valid DNS-1123 label");
	req_fails(set_at(&m, "args.config.metadata.name", o_str("-nginx")),
	          "args.config.metadata.name: \"-nginx\" is not a valid DNS-1123 label");
	req_fails(set_at(&m, "args.config.metadata.name", o_str("a_b")),
	          "is not a valid DNS-1123 label");
	req_fails(set_at(&m, "args.config.metadata.name", o_str("")),
	          "args.config.metadata.name: \"\" is not a valid DNS-1123 label");
	memset(s, 'a', 64);
	s[64] = '\0';
	req_fails(set_at(&m, "args.config.metadata.name", o_str(s)),
	          "args.config.metadata.name: \"aaaa");
	req_fails(set_at(&m, "args.config.metadata.namespace", o_str("kube.system")),
	          "args.config.metadata.namespace: \"kube.system\" is not a valid DNS-1123 label");
	req_fails(set_at(&m, "args.config.metadata.uid", o_str("a/b")),
	          "args.config.metadata.uid: must not contain '/'");
	memset(s, 'u', 254);
	s[254] = '\0';
	req_fails(set_at(&m, "args.config.metadata.uid", o_str(s)),
	          "args.config.metadata.uid: 254 bytes exceeds 253");
	req_fails(set_at(&m, "args.config.hostname", o_str("foo..bar")),
	          "args.config.hostname: \"foo..bar\" is not a valid DNS-1123 subdomain");
	req_fails(set_at(&m, "args.config.hostname", o_str("Foo")),
	          "args.config.hostname: \"Foo\" is not a valid DNS-1123 subdomain");
	memset(s, 'h', 64);
	strcpy(s + 64, ".example");
	req_fails(set_at(&m, "args.config.hostname", o_str(s)),
	          "is not a valid DNS-1123 subdomain");
	req_fails(set_at(&m, "args.config.log_directory", o_str("var/log")),
	          "args.config.log_directory: must be an absolute path");
	req_fails(set_at(&m, "args.config.linux.cgroup_parent", o_str("/kubepods/../../x")),
	          "args.config.linux.cgroup_parent: must not contain \"..\" components");
	req_fails(edit(&m, RENAME, "args.config.linux.sysctls.net.ipv4.ip_local_port_range",
	               "../../etc", 9, NULL),
	          "args.config.linux.sysctls: \"../../etc\" is not a valid sysctl name");
	req_fails(set_at(&m, "args.config.dns_config.options.0", o_str("ndots:5\nnameserver 6.6.6.6")),
	          "args.config.dns_config.options[0]: must not contain whitespace");
	req_fails(set_at(&m, "args.runtime_handler", o_str("../runc")),
	          "args.runtime_handler: \"../runc\" is not a valid runtime handler name");

	/* hostname: 63-char labels are fine, and "" means unset */
	memset(s, 'h', 63);
	strcpy(s + 63, ".example");
	req_ok(set_at(&m, "args.config.hostname", o_str(s)), &req);
	ck_assert_str_eq(req.config.hostname, s);
	proto_request_fini(&req);
	req_ok(set_at(&m, "args.config.hostname", o_str("")), &req);
	ck_assert_ptr_null(req.config.hostname);
	proto_request_fini(&req);
	msg_free(&m);
}
END_TEST

START_TEST(test_ns_modes)
{
	static const char *const base = "args.config.linux.security_context.namespace_options.";
	static const char *const fields[] = { "network", "pid", "ipc" };
	static const char *const names[] = { "POD", "CONTAINER", "NODE", "TARGET" };
	struct proto_request req;
	struct msg m = create_msg();
	char path[128], want[256];
	int f, i, *got;

	for (f = 0; f < 3; f++) {
		snprintf(path, sizeof(path), "%s%s", base, fields[f]);
		for (i = 0; i < 4; i++) {
			req_ok(set_at(&m, path, o_uint((uint64_t)i)), &req);
			got = f == 0 ? &req.config.linux.security_context.namespace_options.network :
			      f == 1 ? &req.config.linux.security_context.namespace_options.pid :
			               &req.config.linux.security_context.namespace_options.ipc;
			ck_assert_int_eq(*got, i);
			proto_request_fini(&req);
			req_ok(set_at(&m, path, o_str(names[i])), &req);
			got = f == 0 ? &req.config.linux.security_context.namespace_options.network :
			      f == 1 ? &req.config.linux.security_context.namespace_options.pid :
			               &req.config.linux.security_context.namespace_options.ipc;
			ck_assert_int_eq(*got, i);
			proto_request_fini(&req);
		}
		snprintf(want, sizeof(want), "%s: 4 is out of range (POD=0, CONTAINER=1, "
		         "NODE=2, TARGET=3)", path);
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
	ck_assert_int_eq(req.config.linux.security_context.namespace_options.network, NS_POD);
	proto_request_fini(&req);
	msg_free(&m);
}
END_TEST

START_TEST(test_stop_and_list_args)
{
	struct proto_request req;
	struct msg m;

	m = id_msg(OP_STOP, ID_A);
	req_ok(set_at(&m, "args.timeout_ms", o_uint(3600000)), &req);
	ck_assert_int_eq(req.timeout_ms, 3600000);
	proto_request_fini(&req);
	req_fails(set_at(&m, "args.timeout_ms", o_uint(3600001)),
	          "args.timeout_ms: 3600001 is out of range (0..3600000)");
	req_fails(set_at(&m, "args.timeout_ms", o_int(-1)),
	          "args.timeout_ms: -1 is out of range (0..3600000)");
	req_fails(set_at(&m, "args.timeout_ms", o_uint(UINT64_MAX)),
	          "args.timeout_ms: 18446744073709551615 is out of range");
	req_fails(set_at(&m, "args.timeout_ms", o_str("10s")),
	          "args.timeout_ms: expected integer, got string");
	msg_free(&m);

	{
		struct proto_request in;

		proto_request_init(&in, OP_LIST);
		in.state_filter = STATE_READY;
		xkv(&in.label_filter, "app", "x");
		m = enc_request(&in);
		proto_request_fini(&in);
	}
	req_ok(set_at(&m, "args.state", o_uint(1)), &req);
	ck_assert_int_eq(req.state_filter, STATE_NOTREADY);
	proto_request_fini(&req);
	req_ok(set_at(&m, "args.state", o_str("SANDBOX_NOTREADY")), &req);
	ck_assert_int_eq(req.state_filter, STATE_NOTREADY);
	proto_request_fini(&req);
	req_ok(set_at(&m, "args.state", o_type(MSGPACK_OBJECT_NIL)), &req);
	ck_assert_int_eq(req.state_filter, -1);
	proto_request_fini(&req);
	req_fails(set_at(&m, "args.state", o_uint(2)), "args.state: 2 is out of range");
	req_fails(set_at(&m, "args.state", o_int(-1)), "args.state: -1 is out of range");
	req_fails(set_at(&m, "args.state", o_str("READY")),
	          "args.state: \"READY\" is not a sandbox state");
	req_fails(set_at(&m, "args.labels", o_type(MSGPACK_OBJECT_ARRAY)),
	          "args.labels: expected map, got array");
	req_fails(set_at(&m, "args.labels.app", o_uint(3)),
	          "args.labels.app: expected string, got unsigned integer");
	msg_free(&m);
}
END_TEST

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
	c.metadata.name = xdup("ok");
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.metadata.uid: required field is missing");
	pod_config_fini(&c);

	min_config(&c);
	ck_assert_int_eq(pod_config_validate(&c, "config", &e), 0);
	free(c.metadata.name);
	c.metadata.name = xdup("caf\xc3");
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.metadata.name: invalid UTF-8");
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
	c.linux.security_context.namespace_options.pid = 7;
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.security_context.namespace_options.pid: 7 is out of range");
	c.linux.security_context.namespace_options.pid = NS_NODE;
	c.linux.cgroup_parent = xdup("..");
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.cgroup_parent: must not contain \"..\" components");
	free(c.linux.cgroup_parent);
	c.linux.cgroup_parent = xdup("kubepods-besteffort-pod1.slice");
	c.log_directory = xdup("/var/log/pods/x..y");
	ck_assert_int_eq(pod_config_validate(&c, "config", &e), 0);
	c.linux.security_context.namespace_options.target_id = xdup("a/b");
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.security_context.namespace_options.target_id");
	pod_config_fini(&c);

	/* the security context built in memory (the CLI's path) */
	fill_config(&c);
	ck_assert_int_eq(pod_config_validate(&c, "config", &e), 0);
	USERNS(&c).mode = 9;
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.security_context.namespace_options.userns_options.mode: "
	               "9 is out of range (POD=0, CONTAINER=1, NODE=2, TARGET=3)");
	USERNS(&c).mode = NS_NODE;
	c.linux.security_context.run_as_user = -5;
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.security_context.run_as_user: -5 is out of range "
	               "(0..9223372036854775807)");
	c.linux.security_context.has_run_as_user = false;       /* unset: not looked at */
	ck_assert_int_eq(pod_config_validate(&c, "config", &e), 0);
	c.linux.security_context.run_as_group = -1;
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.security_context.run_as_group: -1 is out of range");
	c.linux.security_context.run_as_group = 0;
	c.linux.security_context.supplemental_groups.v[1] = -2;
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.security_context.supplemental_groups[1]: -2 is out of range");
	c.linux.security_context.supplemental_groups.v[1] = 2;
	c.linux.security_context.seccomp.profile_type = 3;
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.security_context.seccomp.profile_type: 3 is out of range "
	               "(RuntimeDefault=0, Unconfined=1, Localhost=2)");
	c.linux.security_context.seccomp.profile_type = SECCOMP_PROFILE_UNCONFINED;
	free(c.linux.security_context.selinux_options.user);
	c.linux.security_context.selinux_options.user = xdup("user_u\n");
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.security_context.selinux_options.user: \"user_u\\x0a\" may "
	               "only hold");
	free(c.linux.security_context.selinux_options.user);
	c.linux.security_context.selinux_options.user = xdup("");     /* "" is unset */
	free(c.linux.security_context.run_as_username);
	c.linux.security_context.run_as_username = xdup("x\xc3");
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.security_context.run_as_username: invalid UTF-8");
	free(c.linux.security_context.run_as_username);
	c.linux.security_context.run_as_username = NULL;
	free(c.linux.security_context.seccomp_profile_path);
	c.linux.security_context.seccomp_profile_path = xdup("\xff");
	ASSERT_INVALID(pod_config_validate(&c, "config", &e), e,
	               "config.linux.security_context.seccomp_profile_path: invalid UTF-8");
	free(c.linux.security_context.seccomp_profile_path);
	c.linux.security_context.seccomp_profile_path = NULL;
	ck_assert_int_eq(pod_config_validate(&c, "config", &e), 0);
	pod_config_fini(&c);
}
END_TEST

/* linux.security_context beyond namespaces, userns_options, resources */
#define SC "args.config.linux.security_context."
#define US SC "namespace_options.userns_options"

static char long_text[4098];

/* long_text cut to n bytes of 'a' */
static msgpack_object o_long(size_t n)
{
	memset(long_text, 'a', sizeof(long_text) - 1);
	ck_assert_uint_lt(n, sizeof(long_text));
	return o_strn(long_text, n);
}

START_TEST(test_secctx_fields)
{
	static const struct {
		const char *path;
		int kind;       /* what to put there */
		const char *needle;
	} cases[] = {
		{ US, 's', US ": expected map, got string" },
		{ US ".mode", 'f', US ".mode: expected integer or string, got float" },
		{ US ".mode", '4', US ".mode: 4 is out of range (POD=0, CONTAINER=1, NODE=2, TARGET=3)" },
		{ US ".mode", 'N', US ".mode: -1 is out of range" },
		{ US ".mode", 'x', US ".mode: \"text\" is not a namespace mode (POD, CONTAINER, NODE, TARGET)" },
		{ US ".uids", 'm', US ".uids: expected array, got map" },
		{ US ".uids.0", 's', US ".uids[0]: expected map, got string" },
		{ US ".uids.0.host_id", 'n', US ".uids[0].host_id: expected unsigned integer, got negative integer" },
		{ US ".uids.0.container_id", 'H', US ".uids[0].container_id: 4294967296 is out of range (0..4294967295)" },
		{ US ".gids", 's', US ".gids: expected array, got string" },
		{ US ".gids.1.length", 's', US ".gids[1].length: expected unsigned integer, got string" },
		{ US ".gids.1.host_id", 'f', US ".gids[1].host_id: expected unsigned integer, got float" },
		{ SC "run_as_user", 'm', SC "run_as_user: expected integer, got map" },
		{ SC "run_as_user", 's', SC "run_as_user: expected integer, got string" },
		{ SC "run_as_user", 'N', SC "run_as_user: -1 is out of range (0..9223372036854775807)" },
		{ SC "run_as_user", 'U', SC "run_as_user: 18446744073709551615 is out of range (0..9223372036854775807)" },
		{ SC "run_as_group", 't', SC "run_as_group: expected integer, got boolean" },
		{ SC "run_as_group", 'N', SC "run_as_group: -1 is out of range (0..9223372036854775807)" },
		{ SC "run_as_username", 'u', SC "run_as_username: expected string, got unsigned integer" },
		{ SC "run_as_username", ':', SC "run_as_username: must not contain ':'" },
		{ SC "run_as_username", '/', SC "run_as_username: must not contain '/'" },
		{ SC "run_as_username", '0', SC "run_as_username: contains a NUL byte" },
		{ SC "run_as_username", '8', SC "run_as_username: invalid UTF-8" },
		{ SC "run_as_username", 'L', SC "run_as_username: 257 bytes exceeds 256" },
		{ SC "supplemental_groups", 'm', SC "supplemental_groups: expected array, got map" },
		{ SC "supplemental_groups.1", 's', SC "supplemental_groups[1]: expected integer, got string" },
		{ SC "supplemental_groups.2", 'N', SC "supplemental_groups[2]: -1 is out of range (0..9223372036854775807)" },
		{ SC "supplemental_groups.0", 'f', SC "supplemental_groups[0]: expected integer, got float" },
		{ SC "readonly_rootfs", 'u', SC "readonly_rootfs: expected boolean, got unsigned integer" },
		{ SC "selinux_options", 'a', SC "selinux_options: expected map, got array" },
		{ SC "selinux_options.user", 'u', SC "selinux_options.user: expected string, got unsigned integer" },
		{ SC "selinux_options.role", '/', SC "selinux_options.role: \"a/b\" may only hold letters, digits, '_', '.', ':', ',' and '-'" },
		{ SC "selinux_options.type", ' ', SC "selinux_options.type: \"a b\" may only hold" },
		{ SC "selinux_options.level", 'L', SC "selinux_options.level: 257 bytes exceeds 256" },
		{ SC "selinux_options.level", '8', SC "selinux_options.level: invalid UTF-8" },
		{ SC "seccomp", 's', SC "seccomp: expected map, got string" },
		{ SC "seccomp.profile_type", 'f', SC "seccomp.profile_type: expected integer or string, got float" },
		{ SC "seccomp.profile_type", '3', SC "seccomp.profile_type: 3 is out of range (RuntimeDefault=0, Unconfined=1, Localhost=2)" },
		{ SC "seccomp.profile_type", 'N', SC "seccomp.profile_type: -1 is out of range (RuntimeDefault=0" },
		{ SC "seccomp.profile_type", 'x', SC "seccomp.profile_type: \"text\" is not a seccomp profile type (RuntimeDefault, Unconfined, Localhost)" },
		{ SC "seccomp.localhost_ref", 'u', SC "seccomp.localhost_ref: expected string, got unsigned integer" },
		{ SC "seccomp.localhost_ref", 'P', SC "seccomp.localhost_ref: 4097 bytes exceeds 4096" },
		{ SC "seccomp.localhost_ref", '0', SC "seccomp.localhost_ref: contains a NUL byte" },
		{ SC "seccomp_profile_path", 't', SC "seccomp_profile_path: expected string, got boolean" },
		{ SC "seccomp_profile_path", 'P', SC "seccomp_profile_path: 4097 bytes exceeds 4096" },
		{ "args.config.linux.resources", 's', "args.config.linux.resources: expected map, got string" },
		{ "args.config.linux.resources.cpu_period", 'f', "args.config.linux.resources.cpu_period: expected integer, got float" },
		{ "args.config.linux.resources.cpu_quota", 's', "args.config.linux.resources.cpu_quota: expected integer, got string" },
		{ "args.config.linux.resources.cpu_shares", 'm', "args.config.linux.resources.cpu_shares: expected integer, got map" },
		{ "args.config.linux.resources.memory_limit_in_bytes", 'U', "args.config.linux.resources.memory_limit_in_bytes: 18446744073709551615 is out of range" },
	};
	struct msg m = create_msg();
	msgpack_object v;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		switch (cases[i].kind) {
		case 's': v = o_str("text"); break;
		case 'x': v = o_str("text"); break;
		case 'u': v = o_uint(7); break;
		case 'n': v = o_int(-7); break;
		case 'N': v = o_int(-1); break;
		case 'U': v = o_uint(UINT64_MAX); break;
		case 'H': v = o_uint(1ULL << 32); break;
		case '3': v = o_uint(3); break;
		case '4': v = o_uint(4); break;
		case 'f': v = o_float(1.5); break;
		case 't': v = o_bool(true); break;
		case ':': v = o_str("a:b"); break;
		case '/': v = o_str("a/b"); break;
		case ' ': v = o_str("a b"); break;
		case '0': v = o_strn("a\0b", 3); break;
		case '8': v = o_str("a\xff"); break;
		case 'L': v = o_long(257); break;
		case 'P': v = o_long(4097); break;
		case 'a': v = o_type(MSGPACK_OBJECT_ARRAY); break;
		default:  v = o_type(MSGPACK_OBJECT_MAP); break;
		}
		req_fails(set_at(&m, cases[i].path, v), cases[i].needle);
	}
	msg_free(&m);
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
	for (i = (int)USERNS_UIDS(c).n; i < 16; i++)
		add_idmap(&USERNS_UIDS(c), (uint32_t)i, (uint32_t)i, 1);
	for (i = (int)USERNS_GIDS(c).n; i < 16; i++)
		add_idmap(&USERNS_GIDS(c), (uint32_t)i, (uint32_t)i, 1);
	for (i = (int)c->linux.security_context.supplemental_groups.n; i < 64; i++)
		add_i64(&c->linux.security_context.supplemental_groups, i);
	req_ok(enc_request(&req), &out);
	assert_config_eq(&req.config, &out.config);
	proto_request_fini(&out);

	add_idmap(&USERNS_UIDS(c), 7, 7, 1);
	req_fails(enc_request(&req), US ".uids: 17 entries exceed the limit of 16");
	USERNS_UIDS(c).n--;
	add_idmap(&USERNS_GIDS(c), 7, 7, 1);
	req_fails(enc_request(&req), US ".gids: 17 entries exceed the limit of 16");
	USERNS_GIDS(c).n--;
	add_i64(&c->linux.security_context.supplemental_groups, 7);
	req_fails(enc_request(&req), SC "supplemental_groups: 65 entries exceed the limit of 64");
	c->linux.security_context.supplemental_groups.n--;
	req_ok(enc_request(&req), &out);
	proto_request_fini(&out);
	proto_request_fini(&req);
}
END_TEST

START_TEST(test_secctx_values)
{
	static const char *const seccomp_names[] = { "RuntimeDefault", "Unconfined", "Localhost" };
	static const char *const ns_names[] = { "POD", "CONTAINER", "NODE", "TARGET" };
	struct proto_request req;
	struct msg m = create_msg(), m2, m3;
	int i;

	for (i = 0; i < 4; i++) {
		req_ok(set_at(&m, US ".mode", o_str(ns_names[i])), &req);
		ck_assert_int_eq(USERNS(&req.config).mode, i);
		proto_request_fini(&req);
		req_ok(set_at(&m, US ".mode", o_uint((uint64_t)i)), &req);
		ck_assert_int_eq(USERNS(&req.config).mode, i);
		proto_request_fini(&req);
	}
	for (i = 0; i < 3; i++) {
		req_ok(set_at(&m, SC "seccomp.profile_type", o_str(seccomp_names[i])), &req);
		ck_assert_int_eq(req.config.linux.security_context.seccomp.profile_type, i);
		proto_request_fini(&req);
		req_ok(set_at(&m, SC "seccomp.profile_type", o_uint((uint64_t)i)), &req);
		ck_assert_int_eq(req.config.linux.security_context.seccomp.profile_type, i);
		proto_request_fini(&req);
	}
	/* names are exact on the wire */
	req_fails(set_at(&m, SC "seccomp.profile_type", o_str("runtimedefault")),
	          SC "seccomp.profile_type: \"runtimedefault\" is not a seccomp profile type");

	/* empty maps are present, with defaults; absent ones are not */
	req_ok(set_at(&m, US, o_type(MSGPACK_OBJECT_MAP)), &req);
	ck_assert(USERNS(&req.config).present);
	ck_assert_int_eq(USERNS(&req.config).mode, NS_POD);
	ck_assert_uint_eq(USERNS(&req.config).uids.n, 0);
	ck_assert_ptr_null(USERNS(&req.config).uids.v);
	proto_request_fini(&req);
	req_ok(drop(&m, US), &req);
	ck_assert(!USERNS(&req.config).present);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "seccomp", o_type(MSGPACK_OBJECT_MAP)), &req);
	ck_assert(req.config.linux.security_context.seccomp.present);
	ck_assert_int_eq(req.config.linux.security_context.seccomp.profile_type,
	                 SECCOMP_PROFILE_RUNTIME_DEFAULT);
	ck_assert_ptr_null(req.config.linux.security_context.seccomp.localhost_ref);
	proto_request_fini(&req);
	req_ok(set_at(&m, "args.config.linux.resources", o_type(MSGPACK_OBJECT_MAP)), &req);
	ck_assert(req.config.linux.resources.present);
	ck_assert_int_eq(req.config.linux.resources.cpu_quota, 0);
	proto_request_fini(&req);
	req_ok(drop(&m, "args.config.linux.resources"), &req);
	ck_assert(!req.config.linux.resources.present);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "selinux_options", o_type(MSGPACK_OBJECT_MAP)), &req);
	ck_assert_ptr_null(req.config.linux.security_context.selinux_options.user);
	ck_assert_ptr_null(req.config.linux.security_context.selinux_options.level);
	proto_request_fini(&req);

	/* run_as_*: 0 is a value, nil and absent are not */
	req_ok(set_at(&m, SC "run_as_user", o_uint(0)), &req);
	ck_assert(req.config.linux.security_context.has_run_as_user);
	ck_assert_int_eq(req.config.linux.security_context.run_as_user, 0);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "run_as_user", o_type(MSGPACK_OBJECT_NIL)), &req);
	ck_assert(!req.config.linux.security_context.has_run_as_user);
	ck_assert(req.config.linux.security_context.has_run_as_group);
	proto_request_fini(&req);
	req_ok(drop(&m, SC "run_as_group"), &req);
	ck_assert(!req.config.linux.security_context.has_run_as_group);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "run_as_user", o_int(INT64_MAX)), &req);
	ck_assert_int_eq(req.config.linux.security_context.run_as_user, INT64_MAX);
	proto_request_fini(&req);

	/* "" is unset for the optional strings */
	req_ok(set_at(&m, SC "run_as_username", o_str("")), &req);
	ck_assert_ptr_null(req.config.linux.security_context.run_as_username);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "seccomp.localhost_ref", o_str("")), &req);
	ck_assert_ptr_null(req.config.linux.security_context.seccomp.localhost_ref);
	proto_request_fini(&req);

	/* at the length limits */
	req_ok(set_at(&m, SC "run_as_username", o_long(256)), &req);
	ck_assert_uint_eq(strlen(req.config.linux.security_context.run_as_username), 256);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "selinux_options.type", o_long(256)), &req);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "seccomp.localhost_ref", o_long(4096)), &req);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "seccomp_profile_path", o_long(4096)), &req);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "selinux_options.level", o_str("s0-s0:c0.c1023,c5")), &req);
	proto_request_fini(&req);
	req_ok(set_at(&m, SC "run_as_username", o_str("caf\xc3\xa9 user")), &req);
	proto_request_fini(&req);

	/* negative resources are values (cpu_quota -1 = no limit) */
	req_ok(set_at(&m, "args.config.linux.resources.cpu_shares", o_int(INT64_MIN)), &req);
	ck_assert_int_eq(req.config.linux.resources.cpu_shares, INT64_MIN);
	proto_request_fini(&req);

	/* unknown keys inside the new maps are skipped, duplicates are not */
	m2 = add_at(&m, US, "future", o_uint(1));
	m3 = add_at(&m2, US ".uids.0", "future", o_str("x"));
	msg_free(&m2);
	m2 = add_at(&m3, SC "seccomp", "future", o_bool(true));
	msg_free(&m3);
	m3 = add_at(&m2, "args.config.linux.resources", "hugepage_limits",
	            o_type(MSGPACK_OBJECT_ARRAY));
	msg_free(&m2);
	req_ok(m3, &req);
	ck_assert_uint_eq(USERNS(&req.config).uids.v[0].host_id, 100000);
	proto_request_fini(&req);
	req_fails(add_at(&m, SC "seccomp", "profile_type", o_uint(1)),
	          SC "seccomp.profile_type: duplicate key");
	req_fails(add_at(&m, SC, "run_as_user", o_uint(1)), SC "run_as_user: duplicate key");
	msg_free(&m);
}
END_TEST

/* The deepest field a list reply carries fits PROTO_MAX_DEPTH. */
START_TEST(test_secctx_list_depth)
{
	struct cradle_err e = { 0 };
	struct proto_reply in, out;
	struct msg m;

	proto_reply_init(&in, OP_LIST);
	in.ok = true;
	in.n_sandboxes = 1;
	in.sandboxes = calloc(1, sizeof(*in.sandboxes));
	ck_assert_ptr_nonnull(in.sandboxes);
	fill_sandbox(&in.sandboxes[0], ID_A, PHASE_RUNNING);
	m = enc_reply(&in);
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
	struct cradle_err e = { 0 };
	struct proto_reply in, out;
	struct msg m;

	proto_reply_init(&in, OP_LIST);
	in.ok = true;
	in.n_sandboxes = 2;
	in.sandboxes = calloc(2, sizeof(*in.sandboxes));
	ck_assert_ptr_nonnull(in.sandboxes);
	fill_sandbox(&in.sandboxes[0], ID_A, PHASE_RUNNING);
	fill_sandbox(&in.sandboxes[1], ID_B, PHASE_RUNNING);
	m = enc_reply(&in);
	proto_reply_fini(&in);

#define REPLY_FAILS(op, mm, needle)                                                  \
	do {                                                                         \
		struct msg t_ = (mm);                                                \
		ASSERT_INVALID(proto_reply_decode(op, t_.data, t_.len, &out, &e), e, \
		               needle);                                              \
		ck_assert_ptr_null(out.sandboxes);                                   \
		ck_assert_uint_eq(out.n_sandboxes, 0);                               \
		msg_free(&t_);                                                       \
	} while (0)

	REPLY_FAILS(OP_LIST, set_at(&m, "v", o_uint(3)), "unsupported protocol version 3");
	REPLY_FAILS(OP_LIST, drop(&m, "ok"), "ok: required field is missing");
	REPLY_FAILS(OP_LIST, set_at(&m, "ok", o_uint(1)), "ok: expected boolean");
	REPLY_FAILS(OP_LIST, set_at(&m, "result", o_str("x")), "result: expected map, got string");
	REPLY_FAILS(OP_LIST, drop(&m, "result.sandboxes"),
	            "result.sandboxes: required field is missing");
	REPLY_FAILS(OP_LIST, set_at(&m, "result.sandboxes.1.id", o_str("x")),
	            "result.sandboxes[1].id: \"x\" is not a valid sandbox id");
	REPLY_FAILS(OP_LIST, set_at(&m, "result.sandboxes.1.config.metadata.attempt", o_str("x")),
	            "result.sandboxes[1].config.metadata.attempt: expected unsigned integer");
	REPLY_FAILS(OP_LIST, set_at(&m, "result.sandboxes.0", o_uint(1)),
	            "result.sandboxes[0]: expected map, got unsigned integer");
	REPLY_FAILS(OP_STATUS, RAW("\x83\xa1v\x01\xa2ok\xc3\xa6result\x80"),
	            "result.sandbox: required field is missing");
	REPLY_FAILS(OP_VERSION, RAW("\x83\xa1v\x01\xa2ok\xc3\xa6result\x80"),
	            "result.version: required field is missing");
	REPLY_FAILS(OP_CREATE, RAW("\x83\xa1v\x01\xa2ok\xc3\xa6result\x80"),
	            "result.id: required field is missing");
	REPLY_FAILS(OP_VERSION, RAW("\x83\xa1v\x01\xa2ok\xc2\xa5""error\x81\xa7message\xa1x"),
	            "error.code: required field is missing");
	REPLY_FAILS(OP_VERSION, RAW("\x83\xa1v\x01\xa2ok\xc2\xa5""error\x81\xa4""code\xa1x"),
	            "error.code: expected integer, got string");
	REPLY_FAILS(OP_VERSION, RAW("\x82\xa1v\x01\xa2ok\xc2"),
	            "error: required field is missing");
	ASSERT_INVALID(proto_reply_decode(99, m.data, m.len, &out, &e), e,
	               "unknown operation 99");
	msg_free(&m);
#undef REPLY_FAILS

	/* encoder guards */
	{
		msgpack_sbuffer sb;

		msgpack_sbuffer_init(&sb);
		proto_reply_init(&in, OP_STATUS);
		in.ok = true;
		ASSERT_ERR(proto_reply_encode(&sb, &in, &e), e, CRADLE_INTERNAL,
		           "status reply without a sandbox");
		ck_assert_uint_eq(sb.size, 0);
		in.op = 42;
		ASSERT_ERR(proto_reply_encode(&sb, &in, &e), e, CRADLE_INTERNAL,
		           "unknown operation 42");
		in.op = OP_VERSION;
		in.ok = false;  /* a reply nobody filled in is an error reply */
		ck_assert_int_eq(proto_reply_encode(&sb, &in, &e), 0);
		ck_assert_int_eq(proto_reply_decode(OP_VERSION, sb.data, sb.size, &out, &e), 0);
		ck_assert(!out.ok);
		ck_assert_int_eq(out.err.code, CRADLE_INTERNAL);
		msgpack_sbuffer_destroy(&sb);
	}
}
END_TEST

START_TEST(test_request_encode_guards)
{
	struct cradle_err e = { 0 };
	struct proto_request req;
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	proto_request_init(&req, OP__COUNT);
	ASSERT_INVALID(proto_request_encode(&sb, &req, &e), e, "unknown operation");
	ck_assert_uint_eq(sb.size, 0);
	ck_assert_int_lt(proto_request_encode(NULL, &req, &e), 0);
	ck_assert_int_lt(proto_request_encode(&sb, NULL, NULL), 0);
	msgpack_sbuffer_destroy(&sb);

	/* the encoder does not validate: the daemon must see bad input too */
	proto_request_init(&req, OP_CREATE);
	req.config.metadata.name = xdup("Bad_Name");
	req_fails(enc_request(&req), "args.config.metadata.name: \"Bad_Name\"");
	proto_request_fini(&req);
}
END_TEST

/* ------------------------------------------------------------------ */
/* images                                                             */

static struct msg ref_msg(int op, const char *ref)
{
	struct proto_request req;
	struct msg m;

	proto_request_init(&req, op);
	req.ref = xdup(ref);
	m = enc_request(&req);
	proto_request_fini(&req);
	return m;
}

static struct msg import_msg(const char *path, const char *name)
{
	struct proto_request req;
	struct msg m;

	proto_request_init(&req, OP_IMAGE_IMPORT);
	req.path = xdup(path);
	if (name)
		req.ref = xdup(name);
	m = enc_request(&req);
	proto_request_fini(&req);
	return m;
}

START_TEST(test_image_requests)
{
	struct proto_request in, out;
	struct msg m;
	char *longref, *longpath;

	/* import without a name; list without args */
	req_ok(import_msg("/tmp/pause", NULL), &out);
	ck_assert_int_eq(out.op, OP_IMAGE_IMPORT);
	ck_assert_str_eq(out.path, "/tmp/pause");
	ck_assert_ptr_null(out.ref);
	proto_request_fini(&out);
	proto_request_init(&in, OP_IMAGE_IMPORT);
	in.path = xdup("/x");
	in.ref = xdup("");              /* "" is no name */
	req_ok(enc_request(&in), &out);
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
	req_ok(ref_msg(OP_IMAGE_PULL, longref), &out);
	ck_assert_uint_eq(strlen(out.ref), PROTO_MAX_REF);
	proto_request_fini(&out);
	req_ok(import_msg(longpath, longref), &out);
	ck_assert_uint_eq(strlen(out.path), PROTO_MAX_IMPORT_PATH);
	proto_request_fini(&out);
	/* one byte more does not */
	strcat(longref, "b");
	strcat(longpath, "q");
	req_fails(ref_msg(OP_IMAGE_STATUS, longref), "args.ref: 512 bytes exceeds 511");
	req_fails(import_msg("/x", longref), "args.name: 512 bytes exceeds 511");
	req_fails(import_msg(longpath, NULL), "args.path: path of 4097 bytes exceeds 4096");
	free(longref);
	free(longpath);
}
END_TEST

START_TEST(test_image_bad_refs_paths)
{
	static const char *const bad[] = {
		"busybox latest", "busybox\tx", "caf\xc3\xa9", "a|b", "$(reboot)", "a\"b",
		"../x;y", "name#1",
	};
	static const char *const good[] = {
		"busybox", "busybox:1.36", "docker.io/library/busybox:latest",
		"localhost:5000/a/b_c.d-e:v1", "busybox@" DIGEST_C, "127.0.0.1:5000/x@" DIGEST_A,
	};
	struct proto_request out;
	char want[256];
	struct msg m;
	size_t i;
	int op;

	for (op = OP_IMAGE_PULL; op <= OP_IMAGE_REMOVE; op++) {
		if (op == OP_IMAGE_LIST)
			continue;
		for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			req_ok(ref_msg(op, good[i]), &out);
			ck_assert_str_eq(out.ref, good[i]);
			proto_request_fini(&out);
			ck_assert(proto_valid_image_ref(good[i]));
		}
		m = ref_msg(op, REF_A);
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			ck_assert(!proto_valid_image_ref(bad[i]));
			req_fails(set_at(&m, "args.ref", o_str(bad[i])), "args.ref: \"");
			req_fails(set_at(&m, "args.ref", o_str(bad[i])),
			          "is not a valid image reference");
		}
		req_fails(ref_msg(op, ""), "args.ref: must not be empty");
		req_fails(set_at(&m, "args.ref", o_strn("bu\0sybox", 8)),
		          "args.ref: contains a NUL byte");
		req_fails(set_at(&m, "args.ref", o_str("bu\xffsy")), "args.ref: invalid UTF-8");
		req_fails(set_at(&m, "args.ref", o_uint(1)),
		          "args.ref: expected string, got unsigned integer");
		req_fails(set_at(&m, "args.ref", o_type(MSGPACK_OBJECT_NIL)),
		          "args.ref: required field is missing");
		req_fails(drop(&m, "args.ref"), "args.ref: required field is missing");
		req_fails(add_at(&m, "args", "ref", o_str("x")), "args.ref: duplicate key");
		msg_free(&m);
	}
	ck_assert(!proto_valid_image_ref(NULL));
	ck_assert(!proto_valid_image_ref(""));

	/* import: path and name */
	m = import_msg("/srv/pause.tar", "localhost/pause:1");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "args.name: \"");
		req_fails(set_at(&m, "args.name", o_str(bad[i])), want);
		req_fails(set_at(&m, "args.name", o_str(bad[i])), "is not a valid image reference");
	}
	req_fails(set_at(&m, "args.name", o_uint(7)), "args.name: expected string");
	req_fails(set_at(&m, "args.path", o_str("pause.tar")), "args.path: must be an absolute path");
	req_fails(set_at(&m, "args.path", o_str("./pause.tar")),
	          "args.path: must be an absolute path");
	req_fails(set_at(&m, "args.path", o_str("")), "args.path: must be an absolute path");
	req_fails(set_at(&m, "args.path", o_strn("/srv/x\0.tar", 11)),
	          "args.path: contains a NUL byte");
	req_fails(set_at(&m, "args.path", o_str("/srv/\xc3")), "args.path: invalid UTF-8");
	req_fails(set_at(&m, "args.path", o_bin("/srv/x")), "args.path: expected string, got binary");
	req_fails(drop(&m, "args.path"), "args.path: required field is missing");
	req_fails(set_at(&m, "args", o_type(MSGPACK_OBJECT_NIL)),
	          "args.path: required field is missing");
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
	struct cradle_err e = { 0 };
	struct proto_image in, out, cp;
	msgpack_sbuffer sb;
	struct msg m, m2;

	fill_image(&in, REF_B);
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_image_encode(&sb, &in, &e), 0);
	m = take(&sb);
	ck_assert_msg(proto_image_decode(m.data, m.len, &out, &e) == 0, "%s", e.msg);
	assert_image_eq(&in, &out);
	proto_image_fini(&out);

	ck_assert_int_eq(proto_image_copy(&cp, &in), 0);
	assert_image_eq(&in, &cp);
	ck_assert_ptr_ne(cp.ref, in.ref);
	ck_assert_ptr_ne(cp.layers.v, in.layers.v);
	ck_assert_ptr_ne(cp.labels.v, in.labels.v);
	proto_image_fini(&in);
	ck_assert_str_eq(cp.layers.v[1], DIGEST_A);     /* independent */
	proto_image_fini(&cp);
	proto_image_fini(&cp);                          /* idempotent */
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

#define IMAGE_FAILS(mm, needle)                                                         \
	do {                                                                            \
		struct msg t_ = (mm);                                                   \
		ASSERT_INVALID(proto_image_decode(t_.data, t_.len, &out, &e), e, needle); \
		ck_assert_ptr_null(out.ref);                                            \
		ck_assert_ptr_null(out.layers.v);                                       \
		msg_free(&t_);                                                          \
	} while (0)

	IMAGE_FAILS(drop(&m, "ref"), "ref: required field is missing");
	IMAGE_FAILS(set_at(&m, "ref", o_str("")), "ref: must not be empty");
	IMAGE_FAILS(set_at(&m, "ref", o_uint(1)), "ref: expected string");
	IMAGE_FAILS(set_at(&m, "config_digest", o_str(DIGEST_A "0")),
	            "config_digest: string of 72 bytes exceeds 71");
	IMAGE_FAILS(set_at(&m, "manifest_digest", o_bool(true)),
	            "manifest_digest: expected string, got boolean");
	IMAGE_FAILS(set_at(&m, "layers", o_str("x")), "layers: expected array, got string");
	IMAGE_FAILS(set_at(&m, "layers.1", o_uint(3)), "layers[1]: expected string");
	IMAGE_FAILS(set_at(&m, "size", o_int(-1)), "size: -1 is out of range");
	IMAGE_FAILS(set_at(&m, "size", o_float(1.5)), "size: expected integer, got float");
	IMAGE_FAILS(set_at(&m, "labels.empty", o_uint(1)),
	            "labels.empty: expected string, got unsigned integer");
	IMAGE_FAILS(set_at(&m, "pinned", o_uint(1)), "pinned: expected boolean");
	IMAGE_FAILS(set_at(&m, "in_use", o_str("yes")), "in_use: expected boolean");
	IMAGE_FAILS(set_at(&m, "created_at", o_str("now")), "created_at: expected integer");
	IMAGE_FAILS(add_at(&m, "", "size", o_uint(1)), "size: duplicate key");
#undef IMAGE_FAILS
	msg_free(&m);

	/* the encoder refuses what it could not read back */
	memset(&in, 0, sizeof(in));
	ASSERT_ERR(proto_image_encode(&sb, &in, &e), e, CRADLE_INTERNAL,
	           "image without a reference");
	in.ref = xdup("x");
	in.size = -5;
	ASSERT_ERR(proto_image_encode(&sb, &in, &e), e, CRADLE_INTERNAL, "negative size");
	ck_assert_uint_eq(sb.size, 0);
	proto_image_fini(&in);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_image_replies)
{
	struct cradle_err e = { 0 };
	struct proto_reply in, out;
	struct msg m;
	size_t i, n = 3000;
	int op;

	/* a long list, beyond the generic entry limit */
	proto_reply_init(&in, OP_IMAGE_LIST);
	in.ok = true;
	in.n_images = n;
	in.images = calloc(n, sizeof(*in.images));
	ck_assert_ptr_nonnull(in.images);
	for (i = 0; i < n; i++) {
		char ref[64];

		snprintf(ref, sizeof(ref), "localhost/img%zu:v1", i);
		if (i + 1 == n)
			fill_image(&in.images[i], ref);
		else
			in.images[i].ref = xdup(ref);
	}
	m = enc_reply(&in);
	ck_assert_msg(proto_reply_decode(OP_IMAGE_LIST, m.data, m.len, &out, &e) == 0, "%s",
	              e.msg);
	ck_assert_uint_eq(out.n_images, n);
	assert_image_eq(&in.images[n - 1], &out.images[n - 1]);
	proto_reply_fini(&out);
	ck_assert_uint_eq(out.n_images, 0);
	ck_assert_ptr_null(out.images);
	ASSERT_INVALID(proto_check_bounds(m.data, m.len, &e), e,
	               "result.images: array with 3000 entries exceeds 1024");
	ASSERT_INVALID(proto_reply_decode(OP_IMAGE_STATUS, m.data, m.len, &out, &e), e,
	               "exceeds 1024");
	msg_free(&m);
	proto_reply_fini(&in);

	/* an empty list */
	proto_reply_init(&in, OP_IMAGE_LIST);
	in.ok = true;
	m = enc_reply(&in);
	ck_assert_int_eq(proto_reply_decode(OP_IMAGE_LIST, m.data, m.len, &out, &e), 0);
	ck_assert_uint_eq(out.n_images, 0);
	ck_assert_ptr_null(out.images);
	msg_free(&m);

	/* remove: {} */
	proto_reply_init(&in, OP_IMAGE_REMOVE);
	in.ok = true;
	m = enc_reply(&in);
	ck_assert_int_eq(proto_reply_decode(OP_IMAGE_REMOVE, m.data, m.len, &out, &e), 0);
	ck_assert(out.ok);
	ck_assert_uint_eq(out.n_images, 0);
	msg_free(&m);

	/* error replies of image ops */
	proto_reply_init(&in, OP_IMAGE_REMOVE);
	cradle_err_set(&in.err, CRADLE_FAILED_PRECONDITION, "image \"%s\" is in use", REF_A);
	m = enc_reply(&in);
	ck_assert_int_eq(proto_reply_decode(OP_IMAGE_REMOVE, m.data, m.len, &out, &e), 0);
	ck_assert(!out.ok);
	ck_assert_int_eq(out.err.code, CRADLE_FAILED_PRECONDITION);
	ck_assert_str_eq(out.err.msg, in.err.msg);
	msg_free(&m);

	/* malformed */
	proto_reply_init(&in, OP_IMAGE_LIST);
	in.ok = true;
	in.n_images = 2;
	in.images = calloc(2, sizeof(*in.images));
	ck_assert_ptr_nonnull(in.images);
	fill_image(&in.images[0], REF_A);
	fill_image(&in.images[1], REF_B);
	m = enc_reply(&in);
	proto_reply_fini(&in);

#define REPLY_FAILS(op, mm, needle)                                                  \
	do {                                                                         \
		struct msg t_ = (mm);                                                \
		ASSERT_INVALID(proto_reply_decode(op, t_.data, t_.len, &out, &e), e, \
		               needle);                                              \
		ck_assert_ptr_null(out.images);                                      \
		ck_assert_uint_eq(out.n_images, 0);                                  \
		msg_free(&t_);                                                       \
	} while (0)

	REPLY_FAILS(OP_IMAGE_LIST, drop(&m, "result.images"),
	            "result.images: required field is missing");
	REPLY_FAILS(OP_IMAGE_LIST, set_at(&m, "result.images", o_str("x")),
	            "result.images: expected array, got string");
	REPLY_FAILS(OP_IMAGE_LIST, set_at(&m, "result.images.1.ref", o_uint(1)),
	            "result.images[1].ref: expected string");
	REPLY_FAILS(OP_IMAGE_LIST, set_at(&m, "result.images.1.layers.0", o_str("\xff")),
	            "result.images[1].layers[0]: invalid UTF-8");
	REPLY_FAILS(OP_IMAGE_LIST, set_at(&m, "result.images.0", o_uint(1)),
	            "result.images[0]: expected map, got unsigned integer");
	for (op = OP_IMAGE_PULL; op <= OP_IMAGE_IMPORT; op++) {
		if (op == OP_IMAGE_LIST || op == OP_IMAGE_REMOVE)
			continue;
		REPLY_FAILS(op, RAW("\x83\xa1v\x01\xa2ok\xc3\xa6result\x80"),
		            "result.image: required field is missing");
		REPLY_FAILS(op, RAW("\x83\xa1v\x01\xa2ok\xc3\xa6result\x81\xa5image\x80"),
		            "result.image.ref: required field is missing");
		REPLY_FAILS(op, RAW("\x83\xa1v\x01\xa2ok\xc3\xa6result\x81\xa5image\x82"
		                    "\xa3ref\xa1x\xa4size\xa1x"),
		            "result.image.size: expected integer, got string");
	}
#undef REPLY_FAILS
	msg_free(&m);

	/* encoder guards */
	{
		msgpack_sbuffer sb;

		msgpack_sbuffer_init(&sb);
		for (op = OP_IMAGE_PULL; op <= OP_IMAGE_IMPORT; op++) {
			if (op == OP_IMAGE_LIST || op == OP_IMAGE_REMOVE)
				continue;
			proto_reply_init(&in, op);
			in.ok = true;
			ASSERT_ERR(proto_reply_encode(&sb, &in, &e), e, CRADLE_INTERNAL,
			           "reply without an image");
			ck_assert_uint_eq(sb.size, 0);
		}
		proto_reply_init(&in, OP_IMAGE_LIST);
		in.ok = true;
		in.n_images = 2;
		ASSERT_ERR(proto_reply_encode(&sb, &in, &e), e, CRADLE_INTERNAL,
		           "image list reply without its images");
		in.images = calloc(2, sizeof(*in.images));
		ck_assert_ptr_nonnull(in.images);
		fill_image(&in.images[0], REF_A);
		ASSERT_ERR(proto_reply_encode(&sb, &in, &e), e, CRADLE_INTERNAL,
		           "image without a reference");
		ck_assert_uint_eq(sb.size, 0);
		proto_reply_fini(&in);
		msgpack_sbuffer_destroy(&sb);
	}
}
END_TEST

START_TEST(test_image_progress_event)
{
	struct cradle_err e = { 0 };
	struct proto_event in, out;
	msgpack_sbuffer sb;
	msgpack_unpacked up;
	msgpack_object_kv *kv;
	struct msg m, m2;
	size_t off = 0;

	memset(&in, 0, sizeof(in));
	in.seq = 77;
	snprintf(in.type, sizeof(in.type), "%s", PROTO_EVENT_IMAGE_PROGRESS);
	snprintf(in.ref, sizeof(in.ref), "%s", REF_A);
	in.done = 12345678;
	in.total = 25000000;
	/* exit fields are not written for progress */
	snprintf(in.id, sizeof(in.id), "%s", ID_A);
	in.pid = 5;
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_event_encode(&sb, &in, &e), 0);
	m = take(&sb);
	msgpack_unpacked_init(&up);
	ck_assert_int_eq(msgpack_unpack_next(&up, m.data, m.len, &off), MSGPACK_UNPACK_SUCCESS);
	ck_assert_uint_eq(up.data.via.map.size, 5);
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

	/* total unknown */
	m2 = set_at(&m, "total", o_int(-1));
	ck_assert_int_eq(proto_event_decode(m2.data, m2.len, &out, &e), 0);
	ck_assert_int_eq(out.total, -1);
	msg_free(&m2);
	m2 = set_at(&m, "done", o_int(-1));
	ASSERT_INVALID(proto_event_decode(m2.data, m2.len, &out, &e), e,
	               "done: expected unsigned integer, got negative integer");
	ck_assert_str_eq(out.ref, "");
	msg_free(&m2);
	m2 = set_at(&m, "ref", o_uint(1));
	ASSERT_INVALID(proto_event_decode(m2.data, m2.len, &out, &e), e,
	               "ref: expected string, got unsigned integer");
	msg_free(&m2);
	{
		char big[600];

		memset(big, 'r', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		m2 = set_at(&m, "ref", o_str(big));
		ASSERT_INVALID(proto_event_decode(m2.data, m2.len, &out, &e), e,
		               "ref: string of 599 bytes exceeds 511");
		msg_free(&m2);
	}
	m2 = set_at(&m, "total", o_str("lots"));
	ASSERT_INVALID(proto_event_decode(m2.data, m2.len, &out, &e), e,
	               "total: expected integer, got string");
	msg_free(&m2);
	msg_free(&m);

	/* exit events carry no progress fields, and decode them as zero */
	memset(&in, 0, sizeof(in));
	in.seq = 1;
	snprintf(in.id, sizeof(in.id), "%s", ID_A);
	snprintf(in.ref, sizeof(in.ref), "ignored");
	ck_assert_int_eq(proto_event_encode(&sb, &in, &e), 0);
	m = take(&sb);
	ck_assert_int_eq(proto_event_decode(m.data, m.len, &out, &e), 0);
	ck_assert_str_eq(out.type, "sandbox.exit");
	ck_assert_str_eq(out.ref, "");
	ck_assert_uint_eq(out.done, 0);
	ck_assert_int_eq(out.total, 0);
	msg_free(&m);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_err_code_names);
	tcase_add_test(tc, test_err_from_errno);
	tcase_add_test(tc, test_err_set_errno_wrap);
	tcase_add_test(tc, test_validators);
	tcase_add_test(tc, test_kvs_strs);
	tcase_add_test(tc, test_fini_safe);
	tcase_add_test(tc, test_copy);
	tcase_add_test(tc, test_request_roundtrip);
	tcase_add_test(tc, test_reply_roundtrip);
	tcase_add_test(tc, test_error_reply);
	tcase_add_test(tc, test_sandbox_record);
	tcase_add_test(tc, test_event);
	tcase_add_test(tc, test_large_list_reply);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_huge_counts);
	tcase_add_test(tc, test_shape);
	tcase_add_test(tc, test_envelope);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_missing_required);
	tcase_add_test(tc, test_utf8_and_nul);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_bad_ids);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_ns_modes);
	tcase_add_test(tc, test_stop_and_list_args);
	tcase_add_test(tc, test_validate_direct);
	tcase_add_test(tc, test_secctx_fields);
	tcase_add_test(tc, test_secctx_counts);
	tcase_add_test(tc, test_secctx_values);
	tcase_add_test(tc, test_secctx_list_depth);
	tcase_add_test(tc, test_reply_malformed);
	tcase_add_test(tc, test_request_encode_guards);
	tcase_add_test(tc, test_image_requests);
	tcase_add_test(tc, test_image_bad_refs_paths);
	tcase_add_test(tc, test_image_record);
	tcase_add_test(tc, test_image_replies);
	tcase_add_test(tc, test_image_progress_event);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
