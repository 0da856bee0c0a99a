/* bundle.c - config.json of an OCI bundle from the sandbox spec (see
 * bundle.h). */
#include "sandbox/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/seccomp.h"
#include "util/fs.h"

static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define N_CAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

const char *
bundle_cap_name(int cap)
{
	return cap >= 0 && cap < N_CAPS ? cap_names[cap] : NULL;
}

/* Building: every add goes through these; the first failure (no memory)
 * sets *oom and the rest are skipped. */
static json_object *
obj(bool *oom)
{
	json_object *o = json_object_new_object();
	*oom = *oom || o == NULL;
	return o;
}

static json_object *
arr(bool *oom)
{
	json_object *a = json_object_new_array();
	*oom = *oom || a == NULL;
	return a;
}

static void
put(json_object *o, const char *key, json_object *v, bool *oom)
{
	if (o == NULL || v == NULL || json_object_object_add(o, key, v) != 0) {
		*oom = true;
		json_object_put(v);
	}
}

static void
push(json_object *a, json_object *v, bool *oom)
{
	if (a == NULL || v == NULL || json_object_array_add(a, v) != 0) {
		*oom = true;
		json_object_put(v);
	}
}

static json_object *
str(const char *s, bool *oom)
{
	json_object *v = json_object_new_string(s != NULL ? s : "");
	*oom = *oom || v == NULL;
	return v;
}

static json_object *
u64(uint64_t x, bool *oom)
{
	json_object *v = json_object_new_uint64(x);
	*oom = *oom || v == NULL;
	return v;
}

static json_object *
i64(int64_t x, bool *oom)
{
	json_object *v = json_object_new_int64(x);
	*oom = *oom || v == NULL;
	return v;
}

static json_object *
strs(const struct proto_strs *l, bool *oom)
{
	json_object *a = arr(oom);
	for (size_t i = 0; a != NULL && i < l->n; i++)
		push(a, str(l->v[i], oom), oom);
	return a;
}

static json_object *
kvs(const struct proto_kvs *l, bool *oom)
{
	json_object *o = obj(oom);
	for (size_t i = 0; o != NULL && i < l->n; i++)
		put(o, l->v[i].key, str(l->v[i].value, oom), oom);
	return o;
}

static json_object *
caps(uint64_t mask, int cap_last, bool *oom)
{
	json_object *a = arr(oom);
	for (int c = 0; a != NULL && c <= cap_last && c < N_CAPS; c++)
		if (mask & (1ull << c))
			push(a, str(cap_names[c], oom), oom);
	return a;
}

static json_object *
process(const struct bundle_input *in, bool *oom)
{
	const struct sandbox_spec *s = in->spec;
	json_object *p = obj(oom), *user = obj(oom), *c = obj(oom);
	int last = in->cap_last > 0 ? in->cap_last : N_CAPS - 1;

	put(p, "terminal", json_object_new_boolean(0), oom);
	put(user, "uid", u64(s->uid, oom), oom);
	put(user, "gid", u64(s->gid, oom), oom);
	if (s->n_additional_gids > 0) {
		json_object *g = arr(oom);
		for (size_t i = 0; g != NULL && i < s->n_additional_gids; i++)
			push(g, u64(s->additional_gids[i], oom), oom);
		put(user, "additionalGids", g, oom);
	}
	put(p, "user", user, oom);
	put(p, "args", strs(&s->args, oom), oom);
	put(p, "env", strs(&s->env, oom), oom);
	put(p, "cwd", str(s->cwd != NULL && s->cwd[0] != '\0' ? s->cwd : "/", oom), oom);
	put(c, "bounding", caps(s->cap_bounding, last, oom), oom);
	put(c, "effective", caps(s->cap_effective, last, oom), oom);
	put(c, "permitted", caps(s->cap_permitted, last, oom), oom);
	put(c, "inheritable", caps(s->cap_inheritable, last, oom), oom);
	put(c, "ambient", caps(s->cap_ambient, last, oom), oom);
	put(p, "capabilities", c, oom);
	put(p, "noNewPrivileges", json_object_new_boolean(s->no_new_privs), oom);
	put(p, "oomScoreAdj", i64(s->oom_score_adj, oom), oom);
	if (in->nofile > 0) {
		json_object *rl = arr(oom), *r = obj(oom);
		put(r, "type", str("RLIMIT_NOFILE", oom), oom);
		put(r, "hard", u64(in->nofile, oom), oom);
		put(r, "soft", u64(in->nofile, oom), oom);
		push(rl, r, oom);
		put(p, "rlimits", rl, oom);
	}
	if (s->selinux_process_label != NULL && s->selinux_process_label[0] != '\0')
		put(p, "selinuxLabel", str(s->selinux_process_label, oom), oom);
	return p;
}

static json_object *
mounts(const struct sandbox_spec *s, bool *oom)
{
	json_object *a = arr(oom);
	for (size_t i = 0; a != NULL && i < s->n_mounts; i++) {
		const struct spec_mount *m = &s->mounts[i];
		json_object *o = obj(oom);
		put(o, "destination", str(m->destination, oom), oom);
		put(o, "type", str(m->type, oom), oom);
		put(o, "source", str(m->source, oom), oom);
		put(o, "options", strs(&m->options, oom), oom);
		push(a, o, oom);
	}
	return a;
}

static void
add_ns(json_object *a, const char *type, const char *path, bool *oom)
{
	json_object *o = obj(oom);
	put(o, "type", str(type, oom), oom);
	if (path != NULL && path[0] != '\0')
		put(o, "path", str(path, oom), oom);
	push(a, o, oom);
}

static json_object *
idmap(const struct spec_idmap *m, bool *oom)
{
	json_object *a = arr(oom), *o = obj(oom);
	put(o, "containerID", u64(m->container_id, oom), oom);
	put(o, "hostID", u64(m->host_id, oom), oom);
	put(o, "size", u64(m->length, oom), oom);
	push(a, o, oom);
	return a;
}

static json_object *
linux_obj(const struct bundle_input *in, json_object *seccomp, bool *oom)
{
	const struct sandbox_spec *s = in->spec;
	json_object *l = obj(oom), *ns = arr(oom), *res = obj(oom);

	if (s->ns_pid)
		add_ns(ns, "pid", NULL, oom);
	if (s->ns_ipc)
		add_ns(ns, "ipc", NULL, oom);
	if (s->ns_uts)
		add_ns(ns, "uts", NULL, oom);
	add_ns(ns, "mount", NULL, oom);
	if (s->ns_net)
		add_ns(ns, "network", s->netns_path, oom);
	if (s->ns_user)
		add_ns(ns, "user", NULL, oom);
	put(l, "namespaces", ns, oom);
	if (s->ns_user) {
		put(l, "uidMappings", idmap(&s->uid_map, oom), oom);
		put(l, "gidMappings", idmap(&s->gid_map, oom), oom);
	}
	if (s->cgroups_path != NULL)
		put(l, "cgroupsPath", str(s->cgroups_path, oom), oom);
	if (s->devices_deny_all) {
		json_object *d = arr(oom), *deny = obj(oom);
		put(deny, "allow", json_object_new_boolean(0), oom);
		put(deny, "access", str("rwm", oom), oom);
		push(d, deny, oom);
		put(res, "devices", d, oom);
	}
	if (s->cpu_shares > 0) {
		json_object *cpu = obj(oom);
		put(cpu, "shares", u64(s->cpu_shares, oom), oom);
		put(res, "cpu", cpu, oom);
	}
	put(l, "resources", res, oom);
	if (s->sysctls.n > 0)
		put(l, "sysctl", kvs(&s->sysctls, oom), oom);
	put(l, "maskedPaths", strs(&s->masked_paths, oom), oom);
	put(l, "readonlyPaths", strs(&s->readonly_paths, oom), oom);
	if (s->selinux_mount_label != NULL && s->selinux_mount_label[0] != '\0')
		put(l, "mountLabel", str(s->selinux_mount_label, oom), oom);
	if (in->propagation != NULL)
		put(l, "rootfsPropagation", str(in->propagation, oom), oom);
	if (seccomp != NULL)
		put(l, "seccomp", seccomp, oom);
	return l;
}

char *
bundle_config_json(const struct bundle_input *in, struct cradle_err *err)
{
	const struct sandbox_spec *s = in->spec;
	json_object *seccomp = NULL;
	bool oom = false;

	if (in->seccomp == NULL && s->seccomp == SECCOMP_RUNTIME_DEFAULT) {
		/* cradle's built-in profile, from the same tables as its BPF */
		if ((seccomp = seccomp_runtime_default_oci(err)) == NULL)
			return NULL;
	} else if (in->seccomp != NULL) {
		enum json_tokener_error je;
		seccomp = json_tokener_parse_verbose(in->seccomp, &je);
		if (seccomp == NULL || !json_object_is_type(seccomp, json_type_object)) {
			json_object_put(seccomp);
			cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			               "seccomp profile \"%s\": not a JSON object (%s)",
			               s->seccomp_profile ? s->seccomp_profile : "",
			               json_tokener_error_desc(je));
			return NULL;
		}
	}
	json_object *doc = obj(&oom), *root = obj(&oom);
	put(doc, "ociVersion", str("1.0.2", &oom), &oom);
	put(doc, "process", process(in, &oom), &oom);
	put(root, "path", str(in->rootfs, &oom), &oom);
	put(root, "readonly", json_object_new_boolean(s->rootfs_readonly), &oom);
	put(doc, "root", root, &oom);
	if (s->ns_uts && s->hostname != NULL)
		put(doc, "hostname", str(s->hostname, &oom), &oom);
	put(doc, "mounts", mounts(s, &oom), &oom);
	put(doc, "annotations", kvs(&s->annotations, &oom), &oom);
	put(doc, "linux", linux_obj(in, seccomp, &oom), &oom);
	char *out = NULL;
	if (!oom) {
		const char *t = json_object_to_json_string_ext(
			doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		out = t != NULL ? strdup(t) : NULL;
	}
	json_object_put(doc);
	if (out == NULL)
		cradle_err_nomem(err);
	return out;
}

int
bundle_write(const char *dir, const struct bundle_input *in, struct cradle_err *err)
{
	char path[FS_PATH_MAX], tmp[FS_PATH_MAX];
	char *doc;
	int fd, e = 0;

	if (fs_path(path, err, "%s/" BUNDLE_CONFIG, dir) < 0 ||
	    fs_path(tmp, err, "%s/." BUNDLE_CONFIG ".tmp", dir) < 0)
		return -1;
	if ((doc = bundle_config_json(in, err)) == NULL)
		return -1;
	size_t len = strlen(doc), off = 0;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		e = errno;
		free(doc);
		return cradle_err_errno(err, e, "write \"%s\"", path);
	}
	while (off < len) {
		ssize_t w = write(fd, doc + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			break;
		}
		off += (size_t)w;
	}
	free(doc);
	if (close(fd) != 0 && e == 0)
		e = errno;
	if (e == 0 && rename(tmp, path) != 0)
		e = errno;
	if (e != 0) {
		unlink(tmp);
		return cradle_err_errno(err, e, "write \"%s\"", path);
	}
	return 0;
}
