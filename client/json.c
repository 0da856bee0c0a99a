/* json.c - sandboxes, images and events as JSON (the *_to_json calls of
 * cradle.h), the one rendering `cradle inspectp`, `pods -o raw`,
 * `inspecti`, `images --json` and `events --json` print, and `cradle
 * info`'s crictl-shaped object (cradle_info_to_json); and the RFC 3339
 * time stamps in it.
 *
 * Objects are built with json-c, which keeps keys in insertion order, so
 * the output reads in the order written here.  Allocation failures are
 * collected in a flag rather than checked at every add: the whole object
 * is dropped and the call fails with RESOURCE_EXHAUSTED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "client/internal.h"
#include "client/podjson.h"

#define NS_PER_SEC 1000000000LL

/* pretty for one field a line, plain for one line; neither escapes '/'
 * (paths and label keys stay readable) */
#define FLAGS_PRETTY \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)
#define FLAGS_PLAIN (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

void
cradle_time_rfc3339(int64_t ns, bool nano, char buf[CRADLE_TIME_MAX])
{
	time_t sec = (time_t)(ns / NS_PER_SEC);
	long frac = (long)(ns % NS_PER_SEC);
	char fbuf[16] = "";
	struct tm tm;
	int i;

	/* floor division, so times before 1970 still print */
	if (frac < 0) {
		frac += NS_PER_SEC;
		sec--;
	}
	if (!gmtime_r(&sec, &tm)) {
		snprintf(buf, CRADLE_TIME_MAX, "%lld", (long long)ns);
		return;
	}
	if (nano && frac) {
		snprintf(fbuf, sizeof(fbuf), ".%09ld", frac);
		for (i = (int)strlen(fbuf) - 1; i > 0 && fbuf[i] == '0'; i--)
			fbuf[i] = '\0';
	}
	snprintf(buf, CRADLE_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fbuf);
}

/* A CRI enum's name, or "UNKNOWN(n)" in buf (32 bytes). */
static const char *
enum_name(const char *name, int v, char buf[32])
{
	if (name)
		return name;
	snprintf(buf, 32, "UNKNOWN(%d)", v);
	return buf;
}

/* --- building ------------------------------------------------------ */

/* json-c's pretty printer writes an empty container as "{\n    }"; make
 * it "{}" / "[]" as every other JSON tool does. */
static int
empty_to_string(json_object *o, struct printbuf *pb, int level, int flags)
{
	(void)level;
	(void)flags;
	return printbuf_memappend(pb, json_object_is_type(o, json_type_array) ? "[]" : "{}", 2);
}

static void
compact_empty(json_object *o)
{
	if ((json_object_is_type(o, json_type_array) && json_object_array_length(o) == 0) ||
	    (json_object_is_type(o, json_type_object) && json_object_object_length(o) == 0))
		json_object_set_serializer(o, empty_to_string, NULL, NULL);
}

/* Add v under key, taking ownership; a NULL v (failed allocation) or a
 * failed add sets *oom. */
static void
put(json_object *o, const char *key, json_object *v, bool *oom)
{
	if (!v) {
		*oom = true;
		return;
	}
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		*oom = true;
	}
}

/* A string, or JSON null for NULL. */
static void
put_str(json_object *o, const char *key, const char *s, bool *oom)
{
	if (!s) {
		if (json_object_object_add(o, key, NULL) != 0)
			*oom = true;
		return;
	}
	put(o, key, json_object_new_string(s), oom);
}

/* A time stamp as its RFC 3339 text (with nanoseconds). */
static void
put_time(json_object *o, const char *key, int64_t ns, bool *oom)
{
	char t[CRADLE_TIME_MAX];

	cradle_time_rfc3339(ns, true, t);
	put_str(o, key, t, oom);
}

/* A new empty object; NULL with *oom set when out of memory. */
static json_object *
new_object(bool *oom)
{
	json_object *o = json_object_new_object();

	if (!o)
		*oom = true;
	return o;
}

/* The array of the n elements elem(arg, i) makes. */
static json_object *
array_of(size_t n, json_object *(*elem)(const void *arg, size_t i, bool *oom), const void *arg,
         bool *oom)
{
	json_object *a = json_object_new_array(), *x;
	size_t i;

	if (!a) {
		*oom = true;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		x = elem(arg, i, oom);
		if (!x || json_object_array_add(a, x) != 0) {
			json_object_put(x);
			*oom = true;
		}
	}
	compact_empty(a);
	return a;
}

static json_object *
str_elem(const void *arg, size_t i, bool *oom)
{
	const struct proto_strs *l = arg;

	(void)oom;
	return json_object_new_string(l->v[i] ? l->v[i] : "");
}

static json_object *
i64_elem(const void *arg, size_t i, bool *oom)
{
	const struct proto_i64s *l = arg;

	(void)oom;
	return json_object_new_int64(l->v[i]);
}

static json_object *
idmap_elem(const void *arg, size_t i, bool *oom)
{
	const struct proto_idmaps *l = arg;
	json_object *m = json_object_new_object();

	if (m) {
		put(m, "host_id", json_object_new_int64(l->v[i].host_id), oom);
		put(m, "container_id", json_object_new_int64(l->v[i].container_id), oom);
		put(m, "length", json_object_new_int64(l->v[i].length), oom);
	}
	return m;
}

/* the additional pod IPs as crictl shows them: {"ip": "..."} */
static json_object *
ip_elem(const void *arg, size_t i, bool *oom)
{
	const struct proto_strs *l = arg;
	json_object *m = json_object_new_object();

	if (m)
		put(m, "ip", json_object_new_string(l->v[i + 1]), oom);
	return m;
}

static json_object *
port_elem(const void *arg, size_t i, bool *oom)
{
	const struct proto_port_mappings *l = arg;
	const char *proto = proto_protocol_name(l->v[i].protocol);
	json_object *m = json_object_new_object();

	if (m) {
		put(m, "protocol", json_object_new_string(proto ? proto : "?"), oom);
		put(m, "container_port", json_object_new_int(l->v[i].container_port), oom);
		put(m, "host_port", json_object_new_int(l->v[i].host_port), oom);
		put(m, "host_ip", json_object_new_string(l->v[i].host_ip ? l->v[i].host_ip : ""),
		    oom);
	}
	return m;
}

static json_object *
kvs_json(const struct proto_kvs *kvs, bool *oom)
{
	json_object *o = new_object(oom);
	size_t i;

	if (!o)
		return NULL;
	for (i = 0; i < kvs->n; i++)
		put_str(o, kvs->v[i].key ? kvs->v[i].key : "", kvs->v[i].value, oom);
	compact_empty(o);
	return o;
}

/* The security context fields beyond namespaces, into the "linux" object;
 * only those that are set. */
static void
put_security_context(json_object *lnx, const struct pod_config *c, bool *oom)
{
	const char *se[4] = {
		c->linux.security_context.selinux_options.user,
		c->linux.security_context.selinux_options.role,
		c->linux.security_context.selinux_options.type,
		c->linux.security_context.selinux_options.level,
	};
	static const char *const se_keys[4] = { "user", "role", "type", "level" };
	json_object *o;
	char mb[32];
	size_t i;

	if (c->linux.security_context.has_run_as_user)
		put(lnx, "run_as_user",
		    json_object_new_int64(c->linux.security_context.run_as_user), oom);
	if (c->linux.security_context.has_run_as_group)
		put(lnx, "run_as_group",
		    json_object_new_int64(c->linux.security_context.run_as_group), oom);
	if (c->linux.security_context.run_as_username &&
	    c->linux.security_context.run_as_username[0])
		put_str(lnx, "run_as_username", c->linux.security_context.run_as_username, oom);
	if (c->linux.security_context.supplemental_groups.n)
		put(lnx, "supplemental_groups",
		    array_of(c->linux.security_context.supplemental_groups.n, i64_elem,
		             &c->linux.security_context.supplemental_groups, oom),
		    oom);
	if (c->linux.security_context.readonly_rootfs)
		put(lnx, "readonly_rootfs", json_object_new_boolean(true), oom);
	for (i = 0; i < 4 && !(se[i] && se[i][0]); i++)
		;
	if (i < 4) {
		o = json_object_new_object();
		for (i = 0; o && i < 4; i++) {
			if (se[i] && se[i][0])
				put_str(o, se_keys[i], se[i], oom);
		}
		put(lnx, "selinux_options", o, oom);
	}
	if (c->linux.security_context.seccomp.present ||
	    c->linux.security_context.seccomp.profile_type ||
	    c->linux.security_context.seccomp.localhost_ref) {
		o = json_object_new_object();
		if (o) {
			put_str(o, "profile_type",
			        enum_name(podjson_seccomp_type_name(
						  c->linux.security_context.seccomp.profile_type),
			                  c->linux.security_context.seccomp.profile_type, mb),
			        oom);
			if (c->linux.security_context.seccomp.localhost_ref &&
			    c->linux.security_context.seccomp.localhost_ref[0])
				put_str(o, "localhost_ref",
				        c->linux.security_context.seccomp.localhost_ref, oom);
		}
		put(lnx, "seccomp", o, oom);
	}
	if (c->linux.security_context.seccomp_profile_path &&
	    c->linux.security_context.seccomp_profile_path[0])
		put_str(lnx, "seccomp_profile_path", c->linux.security_context.seccomp_profile_path,
		        oom);
	if (c->linux.resources.present) {
		o = json_object_new_object();
		if (o) {
			put(o, "cpu_period", json_object_new_int64(c->linux.resources.cpu_period),
			    oom);
			put(o, "cpu_quota", json_object_new_int64(c->linux.resources.cpu_quota),
			    oom);
			put(o, "cpu_shares", json_object_new_int64(c->linux.resources.cpu_shares),
			    oom);
			put(o, "memory_limit_in_bytes",
			    json_object_new_int64(c->linux.resources.memory_limit_in_bytes), oom);
		}
		put(lnx, "resources", o, oom);
	}
}

/* A namespace mode under key, by its CRI name. */
static void
put_mode(json_object *o, const char *key, int mode, bool *oom)
{
	char mb[32];

	put_str(o, key, enum_name(podjson_ns_mode_name(mode), mode, mb), oom);
}

static json_object *
userns_json(const struct pod_config *c, bool *oom)
{
	const struct proto_idmaps *uids, *gids;
	json_object *o = new_object(oom);

	if (!o)
		return NULL;
	uids = &c->linux.security_context.namespace_options.userns_options.uids;
	gids = &c->linux.security_context.namespace_options.userns_options.gids;
	put_mode(o, "mode", c->linux.security_context.namespace_options.userns_options.mode, oom);
	put(o, "uids", array_of(uids->n, idmap_elem, uids, oom), oom);
	put(o, "gids", array_of(gids->n, idmap_elem, gids, oom), oom);
	return o;
}

static json_object *
linux_json(const struct pod_config *c, bool *oom)
{
	json_object *lnx = new_object(oom), *nso;

	if (!lnx)
		return NULL;
	nso = json_object_new_object();
	if (nso) {
		put_mode(nso, "network", c->linux.security_context.namespace_options.network, oom);
		put_mode(nso, "pid", c->linux.security_context.namespace_options.pid, oom);
		put_mode(nso, "ipc", c->linux.security_context.namespace_options.ipc, oom);
		put_str(nso, "target_id",
		        c->linux.security_context.namespace_options.target_id
		                ? c->linux.security_context.namespace_options.target_id
		                : "",
		        oom);
		if (c->linux.security_context.namespace_options.userns_options.present)
			put(nso, "userns_options", userns_json(c, oom), oom);
	}
	put(lnx, "namespace_options", nso, oom);
	put(lnx, "privileged", json_object_new_boolean(c->linux.security_context.privileged), oom);
	put_str(lnx, "cgroup_parent", c->linux.cgroup_parent ? c->linux.cgroup_parent : "", oom);
	put(lnx, "sysctls", kvs_json(&c->linux.sysctls, oom), oom);
	put_security_context(lnx, c, oom);
	return lnx;
}

static json_object *
sandbox_json(const struct proto_sandbox *s, bool *oom)
{
	const struct pod_config *c = &s->config;
	json_object *o, *md, *dns;

	o = new_object(oom);
	if (!o)
		return NULL;
	put_str(o, "id", s->id, oom);

	md = json_object_new_object();
	if (md) {
		put_str(md, "name", c->metadata.name, oom);
		put_str(md, "uid", c->metadata.uid, oom);
		put_str(md, "namespace", c->metadata.namespace, oom);
		put(md, "attempt", json_object_new_int64(c->metadata.attempt), oom);
	}
	put(o, "metadata", md, oom);

	put_str(o, "state", proto_state_name(proto_sandbox_state(s)), oom);
	put_str(o, "phase", proto_phase_name(s->phase), oom);
	put(o, "created_at", json_object_new_int64(s->created_at), oom);
	put_time(o, "created", s->created_at, oom);
	put(o, "started_at", json_object_new_int64(s->started_at), oom);
	if (s->started_at)
		put_time(o, "started", s->started_at, oom);
	put(o, "pid", json_object_new_int(s->pid), oom);
	put_str(o, "netns", s->netns_path, oom);
	/* CRI PodSandboxNetworkStatus, as crictl inspectp shows it */
	json_object *net = json_object_new_object();
	if (net) {
		put(net, "additionalIps",
		    array_of(s->pod_ips.n > 1 ? s->pod_ips.n - 1 : 0, ip_elem, &s->pod_ips, oom),
		    oom);
		put(net, "ip", json_object_new_string(s->pod_ips.n > 0 ? s->pod_ips.v[0] : ""),
		    oom);
	}
	put(o, "network", net, oom);
	put_str(o, "hostname", c->hostname ? c->hostname : "", oom);
	put_str(o, "log_directory", c->log_directory ? c->log_directory : "", oom);
	if (c->has_dns_config) {
		dns = json_object_new_object();
		if (dns) {
			put(dns, "servers",
			    array_of(c->dns_config.servers.n, str_elem, &c->dns_config.servers,
			             oom),
			    oom);
			put(dns, "searches",
			    array_of(c->dns_config.searches.n, str_elem, &c->dns_config.searches,
			             oom),
			    oom);
			put(dns, "options",
			    array_of(c->dns_config.options.n, str_elem, &c->dns_config.options,
			             oom),
			    oom);
		}
		put(o, "dns_config", dns, oom);
	}
	put(o, "labels", kvs_json(&c->labels, oom), oom);
	put(o, "annotations", kvs_json(&c->annotations, oom), oom);
	/* what the spec of its last start had: the spec's annotations and the
	 * sandbox's labels (buildLabels) */
	json_object *spec = json_object_new_object();
	if (spec) {
		put(spec, "annotations", kvs_json(&s->spec_annotations, oom), oom);
		put(spec, "labels", kvs_json(&s->spec_labels, oom), oom);
	}
	put(o, "spec", spec, oom);
	if (c->port_mappings.n > 0)
		put(o, "port_mappings",
		    array_of(c->port_mappings.n, port_elem, &c->port_mappings, oom), oom);
	put(o, "exit_status", json_object_new_int(s->exit_status), oom);
	put(o, "exited_at", json_object_new_int64(s->exited_at), oom);
	if (s->exited_at)
		put_time(o, "exited", s->exited_at, oom);
	put_str(o, "runtime_handler", s->runtime_handler ? s->runtime_handler : "", oom);
	/* what ran the pause; records older than the field: native */
	put_str(o, "launcher", s->launcher && s->launcher[0] ? s->launcher : "native", oom);
	/* the sandbox's files and what it runs under; null until made */
	put_str(o, "runtime_type", s->runtime_type, oom);
	put_str(o, "image", s->image_ref, oom);
	put_str(o, "hostname_path", s->hostname_path, oom);
	put_str(o, "hosts_path", s->hosts_path, oom);
	put_str(o, "resolv_conf_path", s->resolv_conf_path, oom);
	put_str(o, "shm_path", s->shm_path, oom);
	put_str(o, "cgroup_path", s->cgroup_path, oom);
	put_str(o, "process_label", s->process_label, oom);
	put_str(o, "mount_label", s->mount_label, oom);
	put(o, "linux", linux_json(c, oom), oom);
	return o;
}

static json_object *
image_json(const struct proto_image *img, bool *oom)
{
	json_object *o = new_object(oom);

	if (!o)
		return NULL;
	put_str(o, "ref", img->ref ? img->ref : "", oom);
	put_str(o, "manifest_digest", img->manifest_digest, oom);
	put_str(o, "id", img->config_digest, oom);
	put(o, "layers", array_of(img->layers.n, str_elem, &img->layers, oom), oom);
	put(o, "size", json_object_new_int64(img->size), oom);
	put(o, "labels", kvs_json(&img->labels, oom), oom);
	put(o, "pinned", json_object_new_boolean(img->pinned), oom);
	if (img->created_at)
		put_time(o, "created", img->created_at, oom);
	else
		put_str(o, "created", NULL, oom);
	put(o, "in_use", json_object_new_boolean(img->in_use), oom);
	return o;
}

static json_object *
event_json(const struct cradle_event *ev, bool *oom)
{
	json_object *o = new_object(oom);

	if (!o)
		return NULL;
	put(o, "seq", json_object_new_uint64(ev->seq), oom);
	put_str(o, "type", ev->type, oom);
	if (ev->kind == CRADLE_EVENT_IMAGE_PROGRESS) {
		put_str(o, "ref", ev->ref, oom);
		put(o, "done", json_object_new_uint64(ev->done), oom);
		put(o, "total", json_object_new_int64(ev->total), oom);
		return o;
	}
	put_str(o, "id", ev->id, oom);
	put(o, "pid", json_object_new_int(ev->pid), oom);
	put(o, "exit_status", json_object_new_int(ev->exit_status), oom);
	put(o, "exited_at", json_object_new_int64(ev->exited_at), oom);
	put_time(o, "exited", ev->exited_at, oom);
	return o;
}

/* --- the public calls ---------------------------------------------- */

static json_object *
sandbox_one(const void *arg, bool *oom)
{
	const struct cradle_sandbox *s = arg;

	return sandbox_json(&s->p, oom);
}

static json_object *
image_one(const void *arg, bool *oom)
{
	const struct cradle_image *img = arg;

	return image_json(&img->p, oom);
}

static json_object *
event_one(const void *arg, bool *oom)
{
	return event_json(arg, oom);
}

/* The i-th item of a caller's array of handles. */
static const void *
sandbox_item(const void *v, size_t i)
{
	return ((const struct cradle_sandbox *const *)v)[i];
}

static const void *
image_item(const void *v, size_t i)
{
	return ((const struct cradle_image *const *)v)[i];
}

/* A caller's array to render: n items of v, each item(v, i), made by one. */
struct items {
	const void *v;
	size_t n;
	const void *(*item)(const void *v, size_t i);
	json_object *(*one)(const void *arg, bool *oom);
};

static json_object *
items_elem(const void *arg, size_t i, bool *oom)
{
	const struct items *it = arg;

	return it->one(it->item(it->v, i), oom);
}

static json_object *
items_json(const void *arg, bool *oom)
{
	const struct items *it = arg;

	return array_of(it->n, items_elem, it, oom);
}

/* --- daemon info (`cradle info`) ---------------------------------- */

static json_object *
condition_elem(const void *arg, size_t i, bool *oom)
{
	const char *type = "", *reason = "", *message = "";
	json_object *o = new_object(oom);
	bool status = false;

	if (!o)
		return NULL;
	cradle_info_condition_at(arg, i, &type, &status, &reason, &message);
	put_str(o, "type", type, oom);
	put(o, "status", json_object_new_boolean(status), oom);
	put_str(o, "reason", reason, oom);
	put_str(o, "message", message, oom);
	return o;
}

static json_object *
node_json(const struct cradle_info *info, bool *oom)
{
	json_object *o = new_object(oom);

	if (!o)
		return NULL;
	put_str(o, "cgroupLayout", cradle_info_cgroup_layout(info), oom);
	put_str(o, "cgroups", cradle_info_cgroups(info), oom);
	put_str(o, "deviceControl", cradle_info_device_control(info), oom);
	put(o, "selinuxEnabled", json_object_new_boolean(cradle_info_selinux_enabled(info)), oom);
	put(o, "selinuxApplied", json_object_new_boolean(cradle_info_selinux_applied(info)), oom);
	put(o, "seccompAvailable", json_object_new_boolean(cradle_info_seccomp_available(info)),
	    oom);
	put(o, "restrictOOMScoreAdj",
	    json_object_new_boolean(cradle_info_restrict_oom_score_adj(info)), oom);
	put(o, "oomScoreAdj", json_object_new_int(cradle_info_oom_score_adj(info)), oom);
	put(o, "inUserNamespace", json_object_new_boolean(cradle_info_in_user_namespace(info)),
	    oom);
	put_str(o, "kernel", cradle_info_kernel(info), oom);
	return o;
}

static json_object *
config_json(const struct cradle_info *info, bool *oom)
{
	json_object *o = new_object(oom);

	if (!o)
		return NULL;
	for (size_t i = 0; i < cradle_info_config_section_count(info); i++) {
		json_object *sec = new_object(oom);
		const char *k, *v;
		if (!sec)
			break;
		for (size_t j = 0; cradle_info_config_key_at(info, i, j, &k, &v); j++)
			put_str(sec, k, v, oom);
		compact_empty(sec);
		put(o, cradle_info_config_section(info, i), sec, oom);
	}
	compact_empty(o);
	return o;
}

static json_object *
info_one(const void *arg, bool *oom)
{
	const struct cradle_info *info = arg;
	json_object *o = new_object(oom), *st;

	if (!o)
		return NULL;
	if ((st = new_object(oom)) != NULL) {
		put(st, "conditions",
		    array_of(cradle_info_condition_count(info), condition_elem, info, oom), oom);
		put(st, "node", node_json(info, oom), oom);
		put_str(st, "version", cradle_info_version(info), oom);
		put(st, "apiVersion", json_object_new_int64(cradle_info_api_version(info)), oom);
		put(st, "pid", json_object_new_int(cradle_info_pid(info)), oom);
	}
	put(o, "status", st, oom);
	put(o, "config", config_json(info, oom), oom);
	return o;
}

/* Render what build(arg) makes into a new string in *out.  missing names
 * the input that is NULL ("the sandbox"), or is NULL when all is there;
 * what names the call in errors. */
static int
to_json(json_object *(*build)(const void *arg, bool *oom), const void *arg, const char *missing,
        const char *what, unsigned flags, char **out, struct cradle_error *err)
{
	const char *s = NULL;
	struct cradle_err e;
	json_object *o;
	bool oom = false;
	int rc = 0;

	if (!out)
		return cradle_error_export(
			err, &e,
			cradle_err_set(&e, CRADLE_INVALID_ARGUMENT, "%s: out is NULL", what));
	*out = NULL;
	if (missing)
		return cradle_error_export(err, &e,
		                           cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
		                                          "%s: %s is NULL", what, missing));
	o = build(arg, &oom);
	if (o && !oom)
		s = json_object_to_json_string_ext(o, flags & CRADLE_JSON_PRETTY ? FLAGS_PRETTY
		                                                                 : FLAGS_PLAIN);
	if (!s || !(*out = strdup(s)))
		rc = cradle_err_nomem(&e);
	json_object_put(o);
	return cradle_error_export(err, &e, rc);
}

int
cradle_sandbox_to_json(const struct cradle_sandbox *s, unsigned flags, char **out,
                       struct cradle_error *err)
{
	return to_json(sandbox_one, s, s ? NULL : "the sandbox", "sandbox to JSON", flags, out,
	               err);
}

int
cradle_image_to_json(const struct cradle_image *img, unsigned flags, char **out,
                     struct cradle_error *err)
{
	return to_json(image_one, img, img ? NULL : "the image", "image to JSON", flags, out, err);
}

int
cradle_event_to_json(const struct cradle_event *ev, unsigned flags, char **out,
                     struct cradle_error *err)
{
	return to_json(event_one, ev, ev ? NULL : "the event", "event to JSON", flags, out, err);
}

int
cradle_info_to_json(const struct cradle_info *info, unsigned flags, char **out,
                    struct cradle_error *err)
{
	return to_json(info_one, info, info ? NULL : "the info", "info to JSON", flags, out, err);
}

/* An array: the items must all be there. */
static int
list_to_json(const struct items *it, const char *what, unsigned flags, char **out,
             struct cradle_error *err)
{
	const char *missing = it->n && !it->v ? "the array" : NULL;
	size_t i;

	for (i = 0; !missing && i < it->n; i++) {
		if (!it->item(it->v, i))
			missing = "an item of the array";
	}
	return to_json(items_json, it, missing, what, flags, out, err);
}

int
cradle_sandboxes_to_json(const struct cradle_sandbox *const *v, size_t n, unsigned flags,
                         char **out, struct cradle_error *err)
{
	struct items it = { .v = v, .n = n, .item = sandbox_item, .one = sandbox_one };

	return list_to_json(&it, "sandboxes to JSON", flags, out, err);
}

int
cradle_images_to_json(const struct cradle_image *const *v, size_t n, unsigned flags, char **out,
                      struct cradle_error *err)
{
	struct items it = { .v = v, .n = n, .item = image_item, .one = image_one };

	return list_to_json(&it, "images to JSON", flags, out, err);
}
