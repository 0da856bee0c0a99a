/* config.c - struct pod_config and struct proto_sandbox in memory: life
 * cycle, deep copies, key/value lists, and the semantic checks of
 * pod_config_validate().
 *
 * The decoder (codec.c) checks types; everything about what a value means
 * is checked here, so the CLI's JSON path and the wire path refuse the same
 * configs with the same messages.
 */
#include "proto/proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "proto/internal.h"

/* Paths on the node come from the peer: bound them like the kernel does. */
#define PROTO_MAX_PATH 4095

/* Security context bounds (PROTOCOL.md). */
#define PROTO_MAX_IDMAPS 16      /* lines in userns uids, gids */
#define PROTO_MAX_GROUPS 64      /* supplemental_groups */
#define PROTO_MAX_LABEL_PART 256 /* run_as_username, each selinux option */
#define PROTO_MAX_PROFILE 4096   /* seccomp localhost_ref, seccomp_profile_path */

/* --- lists --- */

const char *
proto_kvs_get(const struct proto_kvs *kvs, const char *key)
{
	size_t i;

	if (!kvs || !key)
		return NULL;
	for (i = 0; i < kvs->n; i++) {
		if (kvs->v[i].key && strcmp(kvs->v[i].key, key) == 0)
			return kvs->v[i].value;
	}
	return NULL;
}

/* A key that is already there gets the new value: a map has one value per
 * key, and the wire format refuses duplicates. */
int
proto_kvs_add(struct proto_kvs *kvs, const char *key, const char *value)
{
	struct proto_kv *v;
	char *k, *val;
	size_t i;

	if (!kvs || !key || !value)
		return -EINVAL;
	val = strdup(value);
	if (!val)
		return -ENOMEM;
	for (i = 0; i < kvs->n; i++) {
		if (kvs->v[i].key && strcmp(kvs->v[i].key, key) == 0) {
			free(kvs->v[i].value);
			kvs->v[i].value = val;
			return 0;
		}
	}
	k = strdup(key);
	v = k ? realloc(kvs->v, (kvs->n + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(k);
		free(val);
		return -ENOMEM;
	}
	v[kvs->n].key = k;
	v[kvs->n].value = val;
	kvs->v = v;
	kvs->n++;
	return 0;
}

void
proto_kvs_fini(struct proto_kvs *kvs)
{
	size_t i;

	if (!kvs)
		return;
	for (i = 0; i < kvs->n; i++) {
		free(kvs->v[i].key);
		free(kvs->v[i].value);
	}
	free(kvs->v);
	kvs->v = NULL;
	kvs->n = 0;
}

int
proto_strs_add(struct proto_strs *strs, const char *s)
{
	char **v, *c;

	if (!strs || !s)
		return -EINVAL;
	c = strdup(s);
	v = c ? realloc(strs->v, (strs->n + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(c);
		return -ENOMEM;
	}
	v[strs->n++] = c;
	strs->v = v;
	return 0;
}

void
proto_strs_fini(struct proto_strs *strs)
{
	size_t i;

	if (!strs)
		return;
	for (i = 0; i < strs->n; i++)
		free(strs->v[i]);
	free(strs->v);
	strs->v = NULL;
	strs->n = 0;
}

/* strdup that keeps NULL as NULL; sets *fail on allocation failure. */
static char *
dup_opt(const char *s, bool *fail)
{
	char *c;

	if (!s)
		return NULL;
	c = strdup(s);
	if (!c)
		*fail = true;
	return c;
}

/* Element copiers for vec_copy(): a string of a list (NULL becomes ""), a
 * key/value pair. */
static void
copy_str(void *dst, const void *src, bool *fail)
{
	const char *s = *(const char *const *)src;

	*(char **)dst = dup_opt(s ? s : "", fail);
}

static void
copy_kv(void *dst, const void *src, bool *fail)
{
	struct proto_kv *d = dst;
	const struct proto_kv *s = src;

	copy_str(&d->key, &s->key, fail);
	copy_str(&d->value, &s->value, fail);
}

/* A new vector at *dst_v (a T **, set with memcpy so any T) with the n
 * elements of size bytes at src, each copied with copy (the bytes as they
 * are when NULL).  Every element is tried and counted in *dst_n, so the
 * owner's fini releases a copy that ran out of memory (then *fail is set)
 * half-way. */
static void
vec_copy(void *dst_v, size_t *dst_n, const void *src, size_t n, size_t size,
         void (*copy)(void *dst, const void *src, bool *fail), bool *fail)
{
	char *v = n ? calloc(n, size) : NULL;
	size_t i;

	memcpy(dst_v, &v, sizeof(v));
	*dst_n = v ? n : 0;
	if (n && !v)
		*fail = true;
	else if (!copy && n)
		memcpy(v, src, n * size);
	for (i = 0; copy && i < *dst_n; i++)
		copy(v + i * size, (const char *)src + i * size, fail);
}

static void
copy_port_mapping(void *dst, const void *src, bool *fail)
{
	struct proto_port_mapping *d = dst;
	const struct proto_port_mapping *s = src;

	*d = *s;
	d->host_ip = dup_opt(s->host_ip, fail);
}

static void
port_mappings_fini(struct proto_port_mappings *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].host_ip);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const char *
proto_protocol_name(int protocol)
{
	static const char *const names[] = { "TCP", "UDP", "SCTP" };

	return protocol >= 0 && protocol < 3 ? names[protocol] : NULL;
}

bool
proto_valid_ip(const char *s)
{
	unsigned char addr[16];

	return s != NULL && strlen(s) <= PROTO_IP_MAX &&
	       (inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1);
}

/* Copy the list src (a struct with v and n) into dst. */
#define VEC_COPY(dst, src, copy, fail) \
	vec_copy(&(dst)->v, &(dst)->n, (src)->v, (src)->n, sizeof(*(src)->v), copy, fail)

/* --- pod_config --- */

void
pod_config_init(struct pod_config *c)
{
	memset(c, 0, sizeof(*c));
	/* NS_POD is 0 today; say it anyway so a renumbering cannot bite */
	c->linux.security_context.namespace_options.network = NS_POD;
	c->linux.security_context.namespace_options.pid = NS_POD;
	c->linux.security_context.namespace_options.ipc = NS_POD;
}

void
pod_config_fini(struct pod_config *c)
{
	if (!c)
		return;
	free(c->metadata.name);
	free(c->metadata.uid);
	free(c->metadata.namespace);
	free(c->hostname);
	free(c->log_directory);
	proto_strs_fini(&c->dns_config.servers);
	proto_strs_fini(&c->dns_config.searches);
	proto_strs_fini(&c->dns_config.options);
	proto_kvs_fini(&c->labels);
	proto_kvs_fini(&c->annotations);
	port_mappings_fini(&c->port_mappings);
	free(c->linux.cgroup_parent);
	proto_kvs_fini(&c->linux.sysctls);
	free(NSO(c).target_id);
	free(USERNS(c).uids.v);
	free(USERNS(c).gids.v);
	free(SECCTX(c).run_as_username);
	free(SECCTX(c).supplemental_groups.v);
	free(SECCTX(c).selinux_options.user);
	free(SECCTX(c).selinux_options.role);
	free(SECCTX(c).selinux_options.type);
	free(SECCTX(c).selinux_options.level);
	free(SECCTX(c).seccomp.localhost_ref);
	free(SECCTX(c).seccomp_profile_path);
	pod_config_init(c);
}

/* The values first, then a copy of each part src owns in place of its
 * pointer; every part is copied even after a failure, so that dst never
 * shares anything with src. */
int
pod_config_copy(struct pod_config *dst, const struct pod_config *src)
{
	bool fail = false;

	pod_config_init(dst);
	if (!src)
		return 0;
	*dst = *src;
	dst->metadata.name = dup_opt(src->metadata.name, &fail);
	dst->metadata.uid = dup_opt(src->metadata.uid, &fail);
	dst->metadata.namespace = dup_opt(src->metadata.namespace, &fail);
	dst->hostname = dup_opt(src->hostname, &fail);
	dst->log_directory = dup_opt(src->log_directory, &fail);
	VEC_COPY(&dst->dns_config.servers, &src->dns_config.servers, copy_str, &fail);
	VEC_COPY(&dst->dns_config.searches, &src->dns_config.searches, copy_str, &fail);
	VEC_COPY(&dst->dns_config.options, &src->dns_config.options, copy_str, &fail);
	VEC_COPY(&dst->labels, &src->labels, copy_kv, &fail);
	VEC_COPY(&dst->annotations, &src->annotations, copy_kv, &fail);
	VEC_COPY(&dst->port_mappings, &src->port_mappings, copy_port_mapping, &fail);
	dst->linux.cgroup_parent = dup_opt(src->linux.cgroup_parent, &fail);
	VEC_COPY(&dst->linux.sysctls, &src->linux.sysctls, copy_kv, &fail);
	NSO(dst).target_id = dup_opt(NSO(src).target_id, &fail);
	VEC_COPY(&USERNS(dst).uids, &USERNS(src).uids, NULL, &fail);
	VEC_COPY(&USERNS(dst).gids, &USERNS(src).gids, NULL, &fail);
	SECCTX(dst).run_as_username = dup_opt(SECCTX(src).run_as_username, &fail);
	VEC_COPY(&SECCTX(dst).supplemental_groups, &SECCTX(src).supplemental_groups, NULL, &fail);
	SECCTX(dst).selinux_options.user = dup_opt(SECCTX(src).selinux_options.user, &fail);
	SECCTX(dst).selinux_options.role = dup_opt(SECCTX(src).selinux_options.role, &fail);
	SECCTX(dst).selinux_options.type = dup_opt(SECCTX(src).selinux_options.type, &fail);
	SECCTX(dst).selinux_options.level = dup_opt(SECCTX(src).selinux_options.level, &fail);
	SECCTX(dst).seccomp.localhost_ref = dup_opt(SECCTX(src).seccomp.localhost_ref, &fail);
	SECCTX(dst).seccomp_profile_path = dup_opt(SECCTX(src).seccomp_profile_path, &fail);
	if (fail) {
		pod_config_fini(dst);
		return -ENOMEM;
	}
	return 0;
}

/* --- validation --- */

static int
check_cstr(const char *s, const struct ppath *p, struct cradle_err *err)
{
	return proto_check_text(s, strlen(s), p, err);
}

static int
check_name(const char *s, struct ppath *p, const char *field, struct cradle_err *err)
{
	size_t old = ppath_push(p, field);
	char q[QUOTE_MAX];
	int rc = 0;

	if (!s) {
		rc = proto_fail(err, p, "required field is missing");
	} else if ((rc = check_cstr(s, p, err)) == 0 && !proto_valid_dns_label(s)) {
		proto_quote(q, s, strlen(s));
		rc = proto_fail(err, p,
		                "%s is not a valid DNS-1123 label (1-63 "
		                "lower-case letters, digits or '-', starting and ending "
		                "with a letter or digit)",
		                q);
	}
	ppath_pop(p, old);
	return rc;
}

static int
check_uid(const char *s, struct ppath *p, struct cradle_err *err)
{
	size_t old = ppath_push(p, "uid"), len;
	int rc = 0;

	if (!s) {
		rc = proto_fail(err, p, "required field is missing");
		goto out;
	}
	len = strlen(s);
	if (len == 0)
		rc = proto_fail(err, p, "must not be empty");
	else if (len > PROTO_MAX_NAME)
		rc = proto_fail(err, p, "%zu bytes exceeds %d", len, PROTO_MAX_NAME);
	else if ((rc = check_cstr(s, p, err)) == 0 && strchr(s, '/'))
		rc = proto_fail(err, p, "must not contain '/'");
out:
	ppath_pop(p, old);
	return rc;
}

static int
check_path_field(const char *s, struct ppath *p, const char *field, bool absolute,
                 struct cradle_err *err)
{
	size_t old = ppath_push(p, field), len;
	const char *c;
	int rc;

	len = strlen(s);
	rc = check_cstr(s, p, err);
	if (rc)
		goto out;
	if (len > PROTO_MAX_PATH) {
		rc = proto_fail(err, p, "path of %zu bytes exceeds %d", len, PROTO_MAX_PATH);
		goto out;
	}
	if (absolute && s[0] != '/') {
		rc = proto_fail(err, p, "must be an absolute path");
		goto out;
	}
	/* a ".." component would climb out of wherever the daemon puts it */
	for (c = s; *c; c++) {
		if ((c == s || c[-1] == '/') && c[0] == '.' && c[1] == '.' &&
		    (c[2] == '/' || c[2] == '\0')) {
			rc = proto_fail(err, p, "must not contain \"..\" components");
			goto out;
		}
	}
out:
	ppath_pop(p, old);
	return rc;
}

/* resolv.conf is line- and word-oriented: an entry with a newline or a
 * space would smuggle extra lines or words into it. */
static int
check_dns_list(const struct proto_strs *l, struct ppath *p, const char *field,
               struct cradle_err *err)
{
	size_t old = ppath_push(p, field), i, o2;
	const unsigned char *c;
	int rc = 0;

	rc = proto_check_count(l->n, PROTO_MAX_KV, p, err);
	for (i = 0; i < l->n && !rc; i++) {
		o2 = ppath_push_index(p, i);
		if (!l->v[i] || !l->v[i][0]) {
			rc = proto_fail(err, p, "must not be empty");
		} else if ((rc = check_cstr(l->v[i], p, err)) == 0) {
			for (c = (const unsigned char *)l->v[i]; *c; c++) {
				if (*c <= 0x20 || *c == 0x7f) {
					rc = proto_fail(err, p,
					                "must not contain whitespace "
					                "or control characters");
					break;
				}
			}
		}
		ppath_pop(p, o2);
	}
	ppath_pop(p, old);
	return rc;
}

/* Sysctl names become paths under /proc/sys ('.' or '/' separated), so
 * allow only plain components: no empty ones, hence no "..", no '/' lead. */
static bool
valid_sysctl_name(const char *s)
{
	size_t len = strnlen(s, PROTO_MAX_NAME + 1), i = 0, comp;

	if (len > PROTO_MAX_NAME)
		return false;
	for (;;) {
		comp = proto_word_span(s + i, len - i, "_-");
		i += comp;
		if (comp == 0 || (i < len && s[i] != '.' && s[i] != '/'))
			return false;
		if (i == len)
			return true;
		i++;
	}
}

static int
check_kvs(const struct proto_kvs *kvs, struct ppath *p, const char *field, bool sysctls,
          struct cradle_err *err)
{
	size_t old = ppath_push(p, field), i, o2;
	const char *key;
	char q[QUOTE_MAX];
	int rc = 0;

	rc = proto_check_count(kvs->n, PROTO_MAX_KV, p, err);
	for (i = 0; i < kvs->n && !rc; i++) {
		key = kvs->v[i].key ? kvs->v[i].key : "";
		rc = proto_check_key(key, strlen(key), p, err);
		if (rc)
			break;
		if (sysctls && !valid_sysctl_name(key)) {
			proto_quote(q, key, strlen(key));
			rc = proto_fail(err, p, "%s is not a valid sysctl name", q);
			break;
		}
		o2 = ppath_push_key(p, key, strlen(key));
		if (!kvs->v[i].value) {
			rc = proto_fail(err, p, "value is missing");
		} else {
			rc = check_cstr(kvs->v[i].value, p, err);
		}
		ppath_pop(p, o2);
	}
	ppath_pop(p, old);
	return rc;
}

static int
check_mode(int mode, struct ppath *p, const char *field, struct cradle_err *err)
{
	size_t old = ppath_push(p, field);
	int rc;

	rc = proto_check_ns_mode(mode, p, err);
	ppath_pop(p, old);
	return rc;
}

static int
check_idmaps(const struct proto_idmaps *l, struct ppath *p, const char *field,
             struct cradle_err *err)
{
	size_t old = ppath_push(p, field);
	int rc;

	rc = proto_check_count(l->n, PROTO_MAX_IDMAPS, p, err);
	ppath_pop(p, old);
	return rc;
}

/* p names security_context. */
static int
check_nsopts(const struct pod_config *c, struct ppath *p, struct cradle_err *err)
{
	size_t old = ppath_push(p, "namespace_options"), o2;
	int rc;

	if ((rc = check_mode(NSO(c).network, p, "network", err)) ||
	    (rc = check_mode(NSO(c).pid, p, "pid", err)) ||
	    (rc = check_mode(NSO(c).ipc, p, "ipc", err)))
		return rc;
	if (NSO(c).target_id && NSO(c).target_id[0]) {
		o2 = ppath_push(p, "target_id");
		if ((rc = check_cstr(NSO(c).target_id, p, err)))
			return rc;
		if (strlen(NSO(c).target_id) > PROTO_MAX_NAME || strchr(NSO(c).target_id, '/'))
			return proto_fail(err, p, "must be at most %d bytes without '/'",
			                  PROTO_MAX_NAME);
		ppath_pop(p, o2);
	}
	o2 = ppath_push(p, "userns_options");
	if ((rc = check_mode(USERNS(c).mode, p, "mode", err)) ||
	    (rc = check_idmaps(&USERNS(c).uids, p, "uids", err)) ||
	    (rc = check_idmaps(&USERNS(c).gids, p, "gids", err)))
		return rc;
	ppath_pop(p, o2);
	ppath_pop(p, old);
	return 0;
}

/* CRI port mappings: ports 0..65535, a protocol CNI knows, a host_ip
 * that is an address. */
static int
check_port_mappings(const struct proto_port_mappings *l, struct ppath *p, struct cradle_err *err)
{
	size_t old = ppath_push(p, "port_mappings"), o2;
	int rc;

	if ((rc = proto_check_count(l->n, PROTO_MAX_PORT_MAPPINGS, p, err)))
		return rc;
	for (size_t i = 0; i < l->n; i++) {
		const struct proto_port_mapping *pm = &l->v[i];
		o2 = ppath_push_index(p, i);
		if (proto_protocol_name(pm->protocol) == NULL)
			return proto_fail(err, p, "protocol %d is not TCP=0, UDP=1 or SCTP=2",
			                  pm->protocol);
		if (pm->container_port < 0 || pm->container_port > 65535)
			return proto_fail(err, p, "container_port %d is not 0..65535",
			                  (int)pm->container_port);
		if (pm->host_port < 0 || pm->host_port > 65535)
			return proto_fail(err, p, "host_port %d is not 0..65535",
			                  (int)pm->host_port);
		if (pm->host_ip != NULL && pm->host_ip[0] != '\0' && !proto_valid_ip(pm->host_ip))
			return proto_fail(err, p, "host_ip is not an IPv4 or IPv6 address");
		ppath_pop(p, o2);
	}
	ppath_pop(p, old);
	return 0;
}

/* A uid or gid: CRI's int64, but never negative. */
static int
check_id_value(bool has, int64_t v, struct ppath *p, const char *field, struct cradle_err *err)
{
	size_t old;
	int rc = 0;

	if (!has || v >= 0)
		return 0;
	old = ppath_push(p, field);
	rc = proto_fail(err, p, "%" PRId64 " is out of range (0..%" PRId64 ")", v, INT64_MAX);
	ppath_pop(p, old);
	return rc;
}

static int
check_groups(const struct proto_i64s *l, struct ppath *p, struct cradle_err *err)
{
	size_t old = ppath_push(p, "supplemental_groups"), o2, i;
	int rc;

	rc = proto_check_count(l->n, PROTO_MAX_GROUPS, p, err);
	for (i = 0; i < l->n && !rc; i++) {
		if (l->v[i] >= 0)
			continue;
		o2 = ppath_push_index(p, i);
		rc = proto_fail(err, p, "%" PRId64 " is out of range (0..%" PRId64 ")", l->v[i],
		                INT64_MAX);
		ppath_pop(p, o2);
	}
	ppath_pop(p, old);
	return rc;
}

/* A SELinux option (selinux = true) or run_as_username: both end up in
 * a label or a passwd lookup, so keep them short and plain. */
static int
check_plain_part(const char *s, struct ppath *p, const char *field, bool selinux,
                 struct cradle_err *err)
{
	size_t old, len;
	char q[QUOTE_MAX];
	int rc;

	if (!s || !s[0])
		return 0;
	old = ppath_push(p, field);
	len = strlen(s);
	if ((rc = check_cstr(s, p, err)))
		goto out;
	if (len > PROTO_MAX_LABEL_PART) {
		rc = proto_fail(err, p, "%zu bytes exceeds %d", len, PROTO_MAX_LABEL_PART);
	} else if (!selinux) {
		if (strchr(s, ':'))
			rc = proto_fail(err, p, "must not contain ':'");
		else if (strchr(s, '/'))
			rc = proto_fail(err, p, "must not contain '/'");
	} else if (proto_word_span(s, len, "_.:,-") < len) {
		proto_quote(q, s, len);
		rc = proto_fail(err, p,
		                "%s may only hold letters, digits, '_', '.', "
		                "':', ',' and '-'",
		                q);
	}
out:
	ppath_pop(p, old);
	return rc;
}

static int
check_profile(const char *s, struct ppath *p, const char *field, struct cradle_err *err)
{
	size_t old, len;
	int rc;

	if (!s || !s[0])
		return 0;
	old = ppath_push(p, field);
	len = strlen(s);
	rc = check_cstr(s, p, err);
	if (!rc && len > PROTO_MAX_PROFILE)
		rc = proto_fail(err, p, "%zu bytes exceeds %d", len, PROTO_MAX_PROFILE);
	ppath_pop(p, old);
	return rc;
}

/* p names security_context; namespace_options is done. */
static int
check_secctx(const struct pod_config *c, struct ppath *p, struct cradle_err *err)
{
	size_t old, o2;
	int rc;

	if ((rc = check_id_value(SECCTX(c).has_run_as_user, SECCTX(c).run_as_user, p, "run_as_user",
	                         err)) ||
	    (rc = check_id_value(SECCTX(c).has_run_as_group, SECCTX(c).run_as_group, p,
	                         "run_as_group", err)) ||
	    (rc = check_plain_part(SECCTX(c).run_as_username, p, "run_as_username", false, err)) ||
	    (rc = check_groups(&SECCTX(c).supplemental_groups, p, err)))
		return rc;
	old = ppath_push(p, "selinux_options");
	if ((rc = check_plain_part(SECCTX(c).selinux_options.user, p, "user", true, err)) ||
	    (rc = check_plain_part(SECCTX(c).selinux_options.role, p, "role", true, err)) ||
	    (rc = check_plain_part(SECCTX(c).selinux_options.type, p, "type", true, err)) ||
	    (rc = check_plain_part(SECCTX(c).selinux_options.level, p, "level", true, err)))
		return rc;
	ppath_pop(p, old);
	old = ppath_push(p, "seccomp");
	if (SECCTX(c).seccomp.profile_type < SECCOMP_PROFILE_RUNTIME_DEFAULT ||
	    SECCTX(c).seccomp.profile_type > SECCOMP_PROFILE_LOCALHOST) {
		o2 = ppath_push(p, "profile_type");
		rc = proto_fail(err, p,
		                "%d is out of range (RuntimeDefault=0, Unconfined=1, "
		                "Localhost=2)",
		                SECCTX(c).seccomp.profile_type);
		ppath_pop(p, o2);
		return rc;
	}
	if ((rc = check_profile(SECCTX(c).seccomp.localhost_ref, p, "localhost_ref", err)))
		return rc;
	ppath_pop(p, old);
	return check_profile(SECCTX(c).seccomp_profile_path, p, "seccomp_profile_path", err);
}

int
pod_config_validate(const struct pod_config *c, const char *prefix, struct cradle_err *err)
{
	struct ppath p;
	size_t o1, o2;
	char q[QUOTE_MAX];
	int rc;

	ppath_init(&p, prefix);
	if (!c)
		return proto_fail(err, &p, "sandbox config is missing");

	o1 = ppath_push(&p, "metadata");
	if (!c->metadata.name && !c->metadata.uid && !c->metadata.namespace)
		return proto_fail(err, &p, "sandbox config must include metadata");
	if ((rc = check_name(c->metadata.name, &p, "name", err)) ||
	    (rc = check_uid(c->metadata.uid, &p, err)) ||
	    (rc = check_name(c->metadata.namespace, &p, "namespace", err)))
		return rc;
	ppath_pop(&p, o1);

	if (c->hostname && c->hostname[0]) {
		o1 = ppath_push(&p, "hostname");
		if ((rc = check_cstr(c->hostname, &p, err)))
			return rc;
		if (!proto_valid_dns_subdomain(c->hostname)) {
			proto_quote(q, c->hostname, strlen(c->hostname));
			return proto_fail(err, &p,
			                  "%s is not a valid DNS-1123 subdomain "
			                  "(dot-separated labels of 1-63 lower-case letters, "
			                  "digits or '-', at most 253 characters)",
			                  q);
		}
		ppath_pop(&p, o1);
	}
	if (c->log_directory && c->log_directory[0] &&
	    (rc = check_path_field(c->log_directory, &p, "log_directory", true, err)))
		return rc;

	o1 = ppath_push(&p, "dns_config");
	if ((rc = check_dns_list(&c->dns_config.servers, &p, "servers", err)) ||
	    (rc = check_dns_list(&c->dns_config.searches, &p, "searches", err)) ||
	    (rc = check_dns_list(&c->dns_config.options, &p, "options", err)))
		return rc;
	ppath_pop(&p, o1);

	if ((rc = check_kvs(&c->labels, &p, "labels", false, err)) ||
	    (rc = check_kvs(&c->annotations, &p, "annotations", false, err)) ||
	    (rc = check_port_mappings(&c->port_mappings, &p, err)))
		return rc;

	o1 = ppath_push(&p, "linux");
	if (c->linux.cgroup_parent && c->linux.cgroup_parent[0] &&
	    (rc = check_path_field(c->linux.cgroup_parent, &p, "cgroup_parent", false, err)))
		return rc;
	if ((rc = check_kvs(&c->linux.sysctls, &p, "sysctls", true, err)))
		return rc;
	o2 = ppath_push(&p, "security_context");
	if ((rc = check_nsopts(c, &p, err)) || (rc = check_secctx(c, &p, err)))
		return rc;
	ppath_pop(&p, o2);
	ppath_pop(&p, o1);
	return 0;
}

/* --- sandbox --- */

const struct proto_field proto_sandbox_strs[PROTO_SANDBOX_STRS] = {
	{ "netns_path", offsetof(struct proto_sandbox, netns_path) },
	{ "hostname_path", offsetof(struct proto_sandbox, hostname_path) },
	{ "hosts_path", offsetof(struct proto_sandbox, hosts_path) },
	{ "resolv_conf_path", offsetof(struct proto_sandbox, resolv_conf_path) },
	{ "shm_path", offsetof(struct proto_sandbox, shm_path) },
	{ "cgroup_path", offsetof(struct proto_sandbox, cgroup_path) },
	{ "process_label", offsetof(struct proto_sandbox, process_label) },
	{ "mount_label", offsetof(struct proto_sandbox, mount_label) },
	{ "runtime_type", offsetof(struct proto_sandbox, runtime_type) },
	{ "image_ref", offsetof(struct proto_sandbox, image_ref) },
	{ "image_digest", offsetof(struct proto_sandbox, image_digest) },
	{ "launcher", offsetof(struct proto_sandbox, launcher) },
};

void
proto_sandbox_fini(struct proto_sandbox *s)
{
	size_t i;

	if (!s)
		return;
	pod_config_fini(&s->config);
	free(s->runtime_handler);
	for (i = 0; i < PROTO_SANDBOX_STRS; i++)
		free(PROTO_STR_AT(s, proto_sandbox_strs[i].off));
	free(s->timings);
	proto_strs_fini(&s->pod_ips);
	proto_kvs_fini(&s->spec_annotations);
	proto_kvs_fini(&s->spec_labels);
	memset(s, 0, sizeof(*s));
	pod_config_init(&s->config);
}

/* As pod_config_copy(): the values, then a copy of each owned part. */
int
proto_sandbox_copy(struct proto_sandbox *dst, const struct proto_sandbox *src)
{
	bool fail = false;
	size_t i, off;

	memset(dst, 0, sizeof(*dst));
	pod_config_init(&dst->config);
	if (!src)
		return 0;
	*dst = *src;
	dst->id[CRADLE_ID_LEN] = '\0';
	dst->runtime_handler = dup_opt(src->runtime_handler, &fail);
	for (i = 0; i < PROTO_SANDBOX_STRS; i++) {
		off = proto_sandbox_strs[i].off;
		PROTO_STR_AT(dst, off) = dup_opt(PROTO_CSTR_AT(src, off), &fail);
	}
	VEC_COPY(&dst->pod_ips, &src->pod_ips, copy_str, &fail);
	VEC_COPY(&dst->spec_annotations, &src->spec_annotations, copy_kv, &fail);
	VEC_COPY(&dst->spec_labels, &src->spec_labels, copy_kv, &fail);
	if (src->timings && (dst->timings = malloc(sizeof(*dst->timings))) != NULL)
		memcpy(dst->timings, src->timings, sizeof(*dst->timings));
	else if (src->timings)
		fail = true;
	if (pod_config_copy(&dst->config, &src->config) || fail) {
		proto_sandbox_fini(dst);
		return -ENOMEM;
	}
	return 0;
}

/* --- image --- */

void
proto_image_fini(struct proto_image *img)
{
	if (!img)
		return;
	free(img->ref);
	proto_strs_fini(&img->layers);
	proto_kvs_fini(&img->labels);
	memset(img, 0, sizeof(*img));
}

/* As pod_config_copy(): the values, then a copy of each owned part. */
int
proto_image_copy(struct proto_image *dst, const struct proto_image *src)
{
	bool fail = false;

	memset(dst, 0, sizeof(*dst));
	if (!src)
		return 0;
	*dst = *src;
	dst->manifest_digest[PROTO_DIGEST_MAX] = '\0';
	dst->config_digest[PROTO_DIGEST_MAX] = '\0';
	dst->ref = dup_opt(src->ref, &fail);
	VEC_COPY(&dst->layers, &src->layers, copy_str, &fail);
	VEC_COPY(&dst->labels, &src->labels, copy_kv, &fail);
	if (fail) {
		proto_image_fini(dst);
		return -ENOMEM;
	}
	return 0;
}
