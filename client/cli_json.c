/* cli_json.c - sandboxes, images and events as JSON, time stamps and sizes
 * as text, for the `cradle` CLI (cli.h).
 *
 * Objects are built with json-c, which keeps keys in insertion order, so
 * the output reads in the order written here.  Allocation failures are
 * collected in a flag rather than checked at every add: the whole object
 * is dropped and NULL returned.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/printbuf.h>

#include "client/cli.h"

#define NS_PER_SEC 1000000000LL

int64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

void cli_time_rfc3339(int64_t ns, bool nano, char buf[CLI_TIME_MAX])
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
		snprintf(buf, CLI_TIME_MAX, "%lld", (long long)ns);
		return;
	}
	if (nano && frac) {
		snprintf(fbuf, sizeof(fbuf), ".%09ld", frac);
		for (i = (int)strlen(fbuf) - 1; i > 0 && fbuf[i] == '0'; i--)
			fbuf[i] = '\0';
	}
	snprintf(buf, CLI_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fbuf);
}

void cli_time_ago(int64_t ns, int64_t now_ns, char *buf, size_t size)
{
	/* Go's HumanDuration works on truncated seconds and minutes but on
	 * rounded hours; copied so the column reads as crictl's does */
	int64_t d = now_ns - ns, seconds, minutes, hours;

	if (d < 0)
		d = 0;
	seconds = d / NS_PER_SEC;
	minutes = seconds / 60;
	hours = (d + 1800 * NS_PER_SEC) / (3600 * NS_PER_SEC);
	if (seconds < 1)
		snprintf(buf, size, "Less than a second ago");
	else if (seconds == 1)
		snprintf(buf, size, "1 second ago");
	else if (seconds < 60)
		snprintf(buf, size, "%lld seconds ago", (long long)seconds);
	else if (minutes == 1)
		snprintf(buf, size, "About a minute ago");
	else if (minutes < 60)
		snprintf(buf, size, "%lld minutes ago", (long long)minutes);
	else if (hours == 1)
		snprintf(buf, size, "About an hour ago");
	else if (hours < 48)
		snprintf(buf, size, "%lld hours ago", (long long)hours);
	else if (hours < 24 * 7 * 2)
		snprintf(buf, size, "%lld days ago", (long long)(hours / 24));
	else if (hours < 24 * 30 * 2)
		snprintf(buf, size, "%lld weeks ago", (long long)(hours / 24 / 7));
	else if (hours < 24 * 365 * 2)
		snprintf(buf, size, "%lld months ago", (long long)(hours / 24 / 30));
	else
		snprintf(buf, size, "%lld years ago",
		         (long long)(d / (3600 * NS_PER_SEC) / 24 / 365));
}

const char *cli_ns_mode_name(int mode, char buf[32])
{
	static const char *const names[] = { "POD", "CONTAINER", "NODE", "TARGET" };

	if (mode >= 0 && mode < (int)(sizeof(names) / sizeof(names[0])))
		return names[mode];
	snprintf(buf, 32, "UNKNOWN(%d)", mode);
	return buf;
}

/* --- building ------------------------------------------------------ */

/* json-c's pretty printer writes an empty container as "{\n    }"; make
 * it "{}" / "[]" as every other JSON tool does. */
static int empty_to_string(json_object *o, struct printbuf *pb, int level, int flags)
{
	(void)level;
	(void)flags;
	return printbuf_memappend(pb, json_object_is_type(o, json_type_array) ? "[]" : "{}", 2);
}

void cli_json_compact_empty(json_object *o)
{
	if ((json_object_is_type(o, json_type_array) && json_object_array_length(o) == 0) ||
	    (json_object_is_type(o, json_type_object) && json_object_object_length(o) == 0))
		json_object_set_serializer(o, empty_to_string, NULL, NULL);
}

/* Add v under key, taking ownership; a NULL v (failed allocation) or a
 * failed add sets *oom. */
static void put(json_object *o, const char *key, json_object *v, bool *oom)
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
static void put_str(json_object *o, const char *key, const char *s, bool *oom)
{
	if (!s) {
		if (json_object_object_add(o, key, NULL) != 0)
			*oom = true;
		return;
	}
	put(o, key, json_object_new_string(s), oom);
}

static json_object *kvs_json(const struct proto_kvs *kvs, bool *oom)
{
	json_object *o = json_object_new_object();
	size_t i;

	if (!o) {
		*oom = true;
		return NULL;
	}
	for (i = 0; i < kvs->n; i++)
		put_str(o, kvs->v[i].key ? kvs->v[i].key : "", kvs->v[i].value, oom);
	cli_json_compact_empty(o);
	return o;
}

static json_object *strs_json(const struct proto_strs *l, bool *oom)
{
	json_object *a = json_object_new_array(), *s;
	size_t i;

	if (!a) {
		*oom = true;
		return NULL;
	}
	for (i = 0; i < l->n; i++) {
		s = json_object_new_string(l->v[i] ? l->v[i] : "");
		if (!s || json_object_array_add(a, s) != 0) {
			json_object_put(s);
			*oom = true;
		}
	}
	cli_json_compact_empty(a);
	return a;
}

static json_object *idmaps_json(const struct proto_idmaps *l, bool *oom)
{
	json_object *a = json_object_new_array(), *m;
	size_t i;

	if (!a) {
		*oom = true;
		return NULL;
	}
	for (i = 0; i < l->n; i++) {
		m = json_object_new_object();
		if (m) {
			put(m, "host_id", json_object_new_int64(l->v[i].host_id), oom);
			put(m, "container_id", json_object_new_int64(l->v[i].container_id), oom);
			put(m, "length", json_object_new_int64(l->v[i].length), oom);
		}
		if (!m || json_object_array_add(a, m) != 0) {
			json_object_put(m);
			*oom = true;
		}
	}
	cli_json_compact_empty(a);
	return a;
}

static json_object *i64s_json(const struct proto_i64s *l, bool *oom)
{
	json_object *a = json_object_new_array(), *n;
	size_t i;

	if (!a) {
		*oom = true;
		return NULL;
	}
	for (i = 0; i < l->n; i++) {
		n = json_object_new_int64(l->v[i]);
		if (!n || json_object_array_add(a, n) != 0) {
			json_object_put(n);
			*oom = true;
		}
	}
	cli_json_compact_empty(a);
	return a;
}

static const char *seccomp_type_name(int t, char buf[32])
{
	static const char *const names[] = { "RuntimeDefault", "Unconfined", "Localhost" };

	if (t >= 0 && t < (int)(sizeof(names) / sizeof(names[0])))
		return names[t];
	snprintf(buf, 32, "UNKNOWN(%d)", t);
	return buf;
}

/* The security context fields beyond namespaces, into the "linux" object;
 * only those that are set. */
static void put_security_context(json_object *lnx, const struct pod_config *c, bool *oom)
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
		put(lnx, "run_as_user", json_object_new_int64(c->linux.security_context.run_as_user),
		    oom);
	if (c->linux.security_context.has_run_as_group)
		put(lnx, "run_as_group",
		    json_object_new_int64(c->linux.security_context.run_as_group), oom);
	if (c->linux.security_context.run_as_username &&
	    c->linux.security_context.run_as_username[0])
		put_str(lnx, "run_as_username", c->linux.security_context.run_as_username, oom);
	if (c->linux.security_context.supplemental_groups.n)
		put(lnx, "supplemental_groups",
		    i64s_json(&c->linux.security_context.supplemental_groups, oom), oom);
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
			put_str(o, "profile_type", seccomp_type_name(
			        c->linux.security_context.seccomp.profile_type, mb), oom);
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
			put(o, "cpu_quota", json_object_new_int64(c->linux.resources.cpu_quota), oom);
			put(o, "cpu_shares", json_object_new_int64(c->linux.resources.cpu_shares),
			    oom);
			put(o, "memory_limit_in_bytes",
			    json_object_new_int64(c->linux.resources.memory_limit_in_bytes), oom);
		}
		put(lnx, "resources", o, oom);
	}
}

static json_object *userns_json(const struct pod_config *c, bool *oom)
{
	json_object *o = json_object_new_object();
	char mb[32];

	if (!o) {
		*oom = true;
		return NULL;
	}
	put_str(o, "mode", cli_ns_mode_name(
	        c->linux.security_context.namespace_options.userns_options.mode, mb), oom);
	put(o, "uids", idmaps_json(&c->linux.security_context.namespace_options.userns_options.uids,
	                           oom), oom);
	put(o, "gids", idmaps_json(&c->linux.security_context.namespace_options.userns_options.gids,
	                           oom), oom);
	return o;
}

json_object *cli_sandbox_json(const struct proto_sandbox *s)
{
	const struct pod_config *c = &s->config;
	json_object *o, *md, *lnx, *nso, *dns;
	char t[CLI_TIME_MAX], mb[32];
	bool oom = false;

	o = json_object_new_object();
	if (!o)
		return NULL;
	put_str(o, "id", s->id, &oom);

	md = json_object_new_object();
	if (md) {
		put_str(md, "name", c->metadata.name, &oom);
		put_str(md, "uid", c->metadata.uid, &oom);
		put_str(md, "namespace", c->metadata.namespace, &oom);
		put(md, "attempt", json_object_new_int64(c->metadata.attempt), &oom);
	}
	put(o, "metadata", md, &oom);

	put_str(o, "state", proto_state_name(proto_sandbox_state(s)), &oom);
	put_str(o, "phase", proto_phase_name(s->phase), &oom);
	put(o, "created_at", json_object_new_int64(s->created_at), &oom);
	cli_time_rfc3339(s->created_at, true, t);
	put_str(o, "created", t, &oom);
	put(o, "started_at", json_object_new_int64(s->started_at), &oom);
	if (s->started_at) {
		cli_time_rfc3339(s->started_at, true, t);
		put_str(o, "started", t, &oom);
	}
	put(o, "pid", json_object_new_int(s->pid), &oom);
	put_str(o, "netns", s->netns_path, &oom);
	put_str(o, "hostname", c->hostname ? c->hostname : "", &oom);
	put_str(o, "log_directory", c->log_directory ? c->log_directory : "", &oom);
	if (c->has_dns_config) {
		dns = json_object_new_object();
		if (dns) {
			put(dns, "servers", strs_json(&c->dns_config.servers, &oom), &oom);
			put(dns, "searches", strs_json(&c->dns_config.searches, &oom), &oom);
			put(dns, "options", strs_json(&c->dns_config.options, &oom), &oom);
		}
		put(o, "dns_config", dns, &oom);
	}
	put(o, "labels", kvs_json(&c->labels, &oom), &oom);
	put(o, "annotations", kvs_json(&c->annotations, &oom), &oom);
	put(o, "exit_status", json_object_new_int(s->exit_status), &oom);
	put(o, "exited_at", json_object_new_int64(s->exited_at), &oom);
	if (s->exited_at) {
		cli_time_rfc3339(s->exited_at, true, t);
		put_str(o, "exited", t, &oom);
	}
	put_str(o, "runtime_handler", s->runtime_handler ? s->runtime_handler : "", &oom);
	/* the sandbox's files and what it runs under; null until made */
	put_str(o, "runtime_type", s->runtime_type, &oom);
	put_str(o, "image", s->image_ref, &oom);
	put_str(o, "hostname_path", s->hostname_path, &oom);
	put_str(o, "hosts_path", s->hosts_path, &oom);
	put_str(o, "resolv_conf_path", s->resolv_conf_path, &oom);
	put_str(o, "shm_path", s->shm_path, &oom);
	put_str(o, "cgroup_path", s->cgroup_path, &oom);
	put_str(o, "process_label", s->process_label, &oom);
	put_str(o, "mount_label", s->mount_label, &oom);

	lnx = json_object_new_object();
	if (lnx) {
		nso = json_object_new_object();
		if (nso) {
			put_str(nso, "network", cli_ns_mode_name(
			        c->linux.security_context.namespace_options.network, mb), &oom);
			put_str(nso, "pid", cli_ns_mode_name(
			        c->linux.security_context.namespace_options.pid, mb), &oom);
			put_str(nso, "ipc", cli_ns_mode_name(
			        c->linux.security_context.namespace_options.ipc, mb), &oom);
			put_str(nso, "target_id",
			        c->linux.security_context.namespace_options.target_id ?
			        c->linux.security_context.namespace_options.target_id : "", &oom);
			if (c->linux.security_context.namespace_options.userns_options.present)
				put(nso, "userns_options", userns_json(c, &oom), &oom);
		}
		put(lnx, "namespace_options", nso, &oom);
		put(lnx, "privileged",
		    json_object_new_boolean(c->linux.security_context.privileged), &oom);
		put_str(lnx, "cgroup_parent", c->linux.cgroup_parent ? c->linux.cgroup_parent : "",
		        &oom);
		put(lnx, "sysctls", kvs_json(&c->linux.sysctls, &oom), &oom);
		put_security_context(lnx, c, &oom);
	}
	put(o, "linux", lnx, &oom);

	if (oom) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* docker/go-units: divide by 1000 while >= 1000, then print with the
 * unit: "%.3g" as HumanSizeWithPrecision(v, 3) (Go's %g and C's agree
 * below 1000), or with one decimal (whole bytes) for progress lines. */
static void size_with_unit(double v, bool one_decimal, char *buf, size_t size)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB",
	                                      "YB" };
	size_t u = 0;

	while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000.0;
		u++;
	}
	if (!one_decimal)
		snprintf(buf, size, "%.3g%s", v, units[u]);
	else
		snprintf(buf, size, "%.*f%s", u == 0 ? 0 : 1, v, units[u]);
}

void cli_human_size(int64_t bytes, char *buf, size_t size)
{
	size_with_unit(bytes < 0 ? 0.0 : (double)bytes, false, buf, size);
}

void cli_progress_size(uint64_t bytes, char *buf, size_t size)
{
	size_with_unit((double)bytes, true, buf, size);
}

json_object *cli_image_json(const struct proto_image *img)
{
	char t[CLI_TIME_MAX];
	bool oom = false;
	json_object *o;

	o = json_object_new_object();
	if (!o)
		return NULL;
	put_str(o, "ref", img->ref ? img->ref : "", &oom);
	put_str(o, "manifest_digest", img->manifest_digest, &oom);
	put_str(o, "id", img->config_digest, &oom);
	put(o, "layers", strs_json(&img->layers, &oom), &oom);
	put(o, "size", json_object_new_int64(img->size), &oom);
	put(o, "labels", kvs_json(&img->labels, &oom), &oom);
	put(o, "pinned", json_object_new_boolean(img->pinned), &oom);
	if (img->created_at) {
		cli_time_rfc3339(img->created_at, true, t);
		put_str(o, "created", t, &oom);
	} else {
		put_str(o, "created", NULL, &oom);
	}
	put(o, "in_use", json_object_new_boolean(img->in_use), &oom);
	if (oom) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *cli_event_json(const struct proto_event *ev)
{
	char t[CLI_TIME_MAX];
	bool oom = false;
	json_object *o;

	o = json_object_new_object();
	if (!o)
		return NULL;
	put(o, "seq", json_object_new_uint64(ev->seq), &oom);
	put_str(o, "type", ev->type, &oom);
	if (strcmp(ev->type, PROTO_EVENT_IMAGE_PROGRESS) == 0) {
		put_str(o, "ref", ev->ref, &oom);
		put(o, "done", json_object_new_uint64(ev->done), &oom);
		put(o, "total", json_object_new_int64(ev->total), &oom);
		if (oom) {
			json_object_put(o);
			return NULL;
		}
		return o;
	}
	put_str(o, "id", ev->id, &oom);
	put(o, "pid", json_object_new_int(ev->pid), &oom);
	put(o, "exit_status", json_object_new_int(ev->exit_status), &oom);
	put(o, "exited_at", json_object_new_int64(ev->exited_at), &oom);
	cli_time_rfc3339(ev->exited_at, true, t);
	put_str(o, "exited", t, &oom);
	if (oom) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
