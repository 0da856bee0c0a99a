/* spec.c - the sandbox spec, rule by rule as containerd's sandboxContainerSpec
 * (pkg/cri/sbserver/podsandbox/sandbox_run_linux.go) and buildLabels give it.
 *
 * DESIGN.  spec_build is a pure function: it reads its inputs, allocates
 * the spec and nothing else (no file, mount, process or global state), so
 * every rule is unit-tested in isolation (tests/unit/test_spec.c).  Each
 * section of the spec has one static builder, called in the order the
 * reference applies its options; a builder either fills its part or fails
 * with the reference's text, and on any failure spec_build frees whatever
 * was built so far (spec_fini is safe on a half-built spec) and hands back
 * a zeroed spec.
 *
 * Deliberate differences from the reference, each explained where it lives:
 *   - the pod's supplemental_groups are kept when a user string exists
 *     (build_user);
 *   - sysctls are validated here (the reference leaves it to runc) and
 *     their names normalised (build_sysctls, spec_check_sysctl);
 *   - a cgroup parent with ".." is refused (spec_cgroups_path);
 *   - user ids outside 0..MaxInt32, from any source, are refused
 *     (spec_resolve_user, build_user);
 *   - userns_options are honoured as C17 pkg/cri/server and CM do (C17's
 *     sbserver ignores them) (build_userns);
 *   - a Localhost seccomp profile must be an absolute path (build_seccomp);
 *   - "#" lines in the image's passwd and group files are skipped.
 */
#include "sandbox/spec.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hard-coded in containerd 1.7, not configurable (its config_unix.go
 * DefaultConfig). */
#define SANDBOX_OOM_SCORE_ADJ (-998) /* defaultSandboxOOMAdj */
#define SANDBOX_CPU_SHARES 2
#define DEFAULT_CGROUP_ROOT "/k8s.io" /* default spec: "/<namespace>/<id>" */
#define LABEL_MAX_SIZE 4096           /* containerd labels.Validate: len(k)+len(v) */
#define LOCALHOST_PREFIX "localhost/"

#define SC(pod) ((pod)->linux.security_context)
#define NSO(pod) ((pod)->linux.security_context.namespace_options)

static int
strs_add(struct proto_strs *strs, const char *s, struct cradle_err *err)
{
	return proto_strs_add(strs, s) < 0 ? cradle_err_nomem(err) : 0;
}

static int
kvs_add(struct proto_kvs *kvs, const char *k, const char *v, struct cradle_err *err)
{
	return proto_kvs_add(kvs, k, v) < 0 ? cradle_err_nomem(err) : 0;
}

/* strdup of an optional string: NULL and "" both mean "none". */
static int
dup_nonempty(char **dst, const char *s, struct cradle_err *err)
{
	*dst = NULL;
	if (!s || !*s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : cradle_err_nomem(err);
}

/* Go's strconv.Atoi on s[0..n): optional sign, then decimal digits only.
 * 0 on success, -EINVAL when not a number, -ERANGE when it overflows
 * int64 (Go reports ErrRange; the caller decides what that means). */
static int
go_atoi(const char *s, size_t n, long long *v)
{
	unsigned long long acc = 0, lim;
	bool neg = false;
	size_t i = 0;

	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return -EINVAL;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		/* Go stops at the first overflow, before seeing what follows */
		if (acc > (lim - (unsigned long long)(s[i] - '0')) / 10)
			return -ERANGE;
		acc = acc * 10 + (unsigned long long)(s[i] - '0');
	}
	*v = neg ? (acc == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)acc)
	         : (long long)acc;
	return 0;
}

/* --- process (sandboxContainerSpec, WithUser, WithPodOOMScoreAdj) ------- */

static int
build_args(const struct image_config *ic, struct sandbox_spec *out, struct cradle_err *err)
{
	size_t i;

	/* There is no CRI override of the pause command: the image decides. */
	if (ic->entrypoint.n == 0 && ic->cmd.n == 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid empty entrypoint and cmd in image config");
	for (i = 0; i < ic->entrypoint.n; i++)
		if (strs_add(&out->args, ic->entrypoint.v[i] ? ic->entrypoint.v[i] : "", err) < 0)
			return -1;
	for (i = 0; i < ic->cmd.n; i++)
		if (strs_add(&out->args, ic->cmd.v[i] ? ic->cmd.v[i] : "", err) < 0)
			return -1;
	return 0;
}

/* oci.WithEnv (replaceOrAppendEnvValues) over the default spec's empty
 * env: "K=V" sets K, keeping the slot of K's first appearance, so the last
 * value wins; a bare "K" unsets an earlier K (and is itself dropped).  An
 * unset slot keeps its key, as the reference's cache does, so setting K
 * again puts it back in its first place. */
static int
build_env(const struct image_config *ic, struct sandbox_spec *out, struct cradle_err *err)
{
	struct env_slot {
		const char *key; /* the entry that first named the key */
		size_t klen;
		const char *val; /* "K=V", or NULL once unset */
	} * slot;
	size_t n = 0, i, j;
	int rc = 0;

	if (ic->env.n == 0)
		return 0;
	slot = calloc(ic->env.n, sizeof(*slot));
	if (!slot)
		return cradle_err_nomem(err);
	for (i = 0; i < ic->env.n; i++) {
		const char *e = ic->env.v[i], *eq;
		size_t klen;

		if (!e)
			continue;
		eq = strchr(e, '=');
		klen = eq ? (size_t)(eq - e) : strlen(e);
		for (j = 0; j < n; j++)
			if (slot[j].klen == klen && memcmp(slot[j].key, e, klen) == 0)
				break;
		if (j < n)
			slot[j].val = eq ? e : NULL;
		else if (eq)
			slot[n++] = (struct env_slot){ e, klen, e };
	}
	for (j = 0; j < n && rc == 0; j++)
		if (slot[j].val)
			rc = strs_add(&out->env, slot[j].val, err);
	free(slot);
	return rc;
}

int
spec_user_string(const struct pod_config *pod, char *buf, size_t len, struct cradle_err *err)
{
	char uid[24] = "", gid[24] = "";
	const char *user = uid;
	int n;

	if (!buf || len == 0)
		return cradle_err_set(err, CRADLE_INTERNAL, "user string: no buffer");
	buf[0] = '\0';
	if (SC(pod).has_run_as_user)
		snprintf(uid, sizeof(uid), "%lld", (long long)SC(pod).run_as_user);
	else if (SC(pod).run_as_username && SC(pod).run_as_username[0])
		user = SC(pod).run_as_username;
	if (SC(pod).has_run_as_group)
		snprintf(gid, sizeof(gid), "%lld", (long long)SC(pod).run_as_group);
	/* generateUserString (PS/container_linux.go) */
	if (!user[0]) {
		if (gid[0])
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "user group \"%s\" is specified without user", gid);
		return 0;
	}
	n = gid[0] ? snprintf(buf, len, "%s:%s", user, gid) : snprintf(buf, len, "%s", user);
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "user \"%.64s\" is too long",
		                      user);
	}
	return 0;
}

/* The next line of text at *pos, trimmed of white space (Go's TrimSpace);
 * false at the end. */
static bool
next_line(const char **pos, const char **line, size_t *len)
{
	const char *p = *pos, *e;

	if (!p || !*p)
		return false;
	e = strchr(p, '\n');
	*pos = e ? e + 1 : p + strlen(p);
	if (!e)
		e = p + strlen(p);
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\v' || *p == '\f'))
		p++;
	while (e > p &&
	       (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\v' || e[-1] == '\f'))
		e--;
	*line = p;
	*len = (size_t)(e - p);
	return true;
}

struct field {
	const char *s;
	size_t n;
};

/* Split line at ':' into at most max fields; missing ones are empty. */
static void
split_fields(const char *line, size_t len, struct field *f, size_t max)
{
	size_t i = 0;
	const char *p = line, *end = line + len;

	memset(f, 0, max * sizeof(*f));
	while (i < max) {
		const char *c = memchr(p, ':', (size_t)(end - p));

		f[i].s = p;
		f[i].n = c ? (size_t)(c - p) : (size_t)(end - p);
		i++;
		if (!c)
			break;
		p = c + 1;
	}
}

/* An id field of passwd/group: like moby/sys/user's parseLine, a field
 * that is not a number reads as 0. */
static long long
field_id(const struct field *f)
{
	long long v = 0;

	return go_atoi(f->s ? f->s : "", f->n, &v) == 0 ? v : 0;
}

static bool
field_is(const struct field *f, const char *s, size_t n)
{
	return f->s && f->n == n && memcmp(f->s, s, n) == 0;
}

/* First passwd entry named name[0..nlen) (or, name NULL, with uid uid).
 * Blank lines and "#" lines are skipped (the reference does not skip "#"
 * lines, which only ever parse as bogus uid-0 entries). */
static bool
passwd_find(const char *passwd, const char *name, size_t nlen, long long uid, long long *out_uid,
            long long *out_gid)
{
	const char *pos = passwd, *line;
	size_t len;

	while (next_line(&pos, &line, &len)) {
		struct field f[4]; /* name:password:uid:gid[:gecos:home:shell] */

		if (len == 0 || line[0] == '#')
			continue;
		split_fields(line, len, f, 4);
		if (name ? field_is(&f[0], name, nlen) : field_id(&f[2]) == uid) {
			*out_uid = field_id(&f[2]);
			*out_gid = field_id(&f[3]);
			return true;
		}
	}
	return false;
}

static bool
group_find(const char *group, const char *name, size_t nlen, long long *out_gid)
{
	const char *pos = group, *line;
	size_t len;

	while (next_line(&pos, &line, &len)) {
		struct field f[3]; /* name:password:gid[:members] */

		if (len == 0 || line[0] == '#')
			continue;
		split_fields(line, len, f, 3);
		if (field_is(&f[0], name, nlen)) {
			*out_gid = field_id(&f[2]);
			return true;
		}
	}
	return false;
}

static bool
id_in_range(long long v)
{
	return v >= 0 && v <= INT32_MAX;
}

/* oci.WithUser (oci/spec_opts.go): "uid", "name", "uid:gid", "name:group",
 * "uid:group", "name:gid".  A part that parses as a number is an id
 * (outside 0..MaxInt32 it is refused, as newer containerd does, rather
 * than wrapped through uint32); any other part is a name looked up in the
 * image's files:
 *   uid        the passwd entry with that uid gives the gid; none: gid 0
 *   name       both ids from the passwd entry named so
 *   a:b        a name gives only the uid; the gid is b, looked up in the
 *              group file when it is a name */
int
spec_resolve_user(const char *user, const struct image_config *image, uint32_t *uid, uint32_t *gid,
                  struct cradle_err *err)
{
	const char *passwd = image ? image->etc_passwd : NULL;
	const char *group = image ? image->etc_group : NULL;
	const char *colon, *gname = NULL;
	long long u = 0, g = 0, pu, pg;
	bool uname = false;
	size_t ulen;
	int rc;

	if (!user)
		user = "";
	colon = strchr(user, ':');
	if (colon && strchr(colon + 1, ':'))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "invalid USER value %s", user);
	ulen = colon ? (size_t)(colon - user) : strlen(user);

	rc = go_atoi(user, ulen, &u);
	if (rc == -ERANGE || (rc == 0 && !id_in_range(u)))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid USER value \"%s\": uid out of range", user);
	uname = rc != 0;
	if (colon) {
		rc = go_atoi(colon + 1, strlen(colon + 1), &g);
		if (rc == -ERANGE || (rc == 0 && !id_in_range(g)))
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "invalid USER value \"%s\": gid out of range", user);
		if (rc != 0)
			gname = colon + 1;
	}

	if (uname) {
		if (!passwd || !passwd_find(passwd, user, ulen, 0, &pu, &pg))
			return cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"unable to find user %.*s: no matching entries in passwd "
				"file",
				(int)ulen, user);
		u = pu;
		if (!colon)
			g = pg;
	} else if (!colon) {
		g = passwd && passwd_find(passwd, NULL, 0, u, &pu, &pg) ? pg : 0;
	}
	if (gname) {
		if (!group || !group_find(group, gname, strlen(gname), &pg))
			return cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"unable to find group %s: no matching entries in group file",
				gname);
		g = pg;
	}
	/* the image's own files may hold ids the kernel cannot take either */
	if (!id_in_range(u))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid USER value \"%s\": uid out of range", user);
	if (!id_in_range(g))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid USER value \"%s\": gid out of range", user);
	*uid = (uint32_t)u;
	*gid = (uint32_t)g;
	return 0;
}

static int
cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

/* User and groups (containerd's generateUserString and WithUser, and the
 * supplemental groups of sandboxContainerSpec).
 *
 * DELIBERATE DIFFERENCE: in the reference, WithUser runs after the
 * supplemental groups were merged and resets additionalGids to the primary
 * gid alone, so with any user string (the pause image's USER 65535:65535
 * makes that the normal case) the pod's supplemental_groups are silently
 * lost.  kubelet sets them on purpose (fsGroup and supplementalGroups give
 * access to volumes), so cradle keeps them: additional gids are always the
 * sorted, unique union of supplemental_groups and the primary gid, with or
 * without a user string (root's primary gid 0 then). */
static int
build_user(const struct spec_input *in, struct sandbox_spec *out, struct cradle_err *err)
{
	const struct pod_config *pod = in->pod;
	const struct proto_i64s *sup = &SC(pod).supplemental_groups;
	const char *user;
	size_t len = 64, i, n;
	char *buf;
	int rc;

	if (SC(pod).run_as_username)
		len += strlen(SC(pod).run_as_username);
	buf = malloc(len);
	if (!buf)
		return cradle_err_nomem(err);
	rc = spec_user_string(pod, buf, len, err);
	if (rc == 0) {
		/* the security context wins; else the image's USER; else root */
		user = buf[0] ? buf : in->image->user;
		if (user && user[0])
			rc = spec_resolve_user(user, in->image, &out->uid, &out->gid, err);
		else
			out->uid = out->gid = 0;
	}
	free(buf);
	if (rc < 0)
		return rc;

	for (i = 0; i < sup->n; i++)
		if (!id_in_range(sup->v[i]))
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "supplemental group %lld out of range",
			                      (long long)sup->v[i]);
	out->additional_gids = calloc(sup->n + 1, sizeof(gid_t));
	if (!out->additional_gids)
		return cradle_err_nomem(err);
	for (i = 0; i < sup->n; i++)
		out->additional_gids[i] = (gid_t)sup->v[i];
	out->additional_gids[sup->n] = out->gid;
	qsort(out->additional_gids, sup->n + 1, sizeof(gid_t), cmp_gid);
	for (i = 1, n = 1; i < sup->n + 1; i++)
		if (out->additional_gids[i] != out->additional_gids[n - 1])
			out->additional_gids[n++] = out->additional_gids[i];
	out->n_additional_gids = n;
	return 0;
}

uint64_t
spec_default_caps(void)
{
	/* containerd's default set (oci/spec.go defaultUnixCaps) */
	static const int caps[] = {
		CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
		CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
		CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
		CAP_KILL,    CAP_AUDIT_WRITE,
	};
	uint64_t m = 0;
	size_t i;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		m |= 1ULL << caps[i];
	return m;
}

static int
build_process(const struct spec_input *in, struct sandbox_spec *out, struct cradle_err *err)
{
	const struct pod_config *pod = in->pod;
	const struct image_config *ic = in->image;

	if (build_args(ic, out, err) < 0 || build_env(ic, out, err) < 0)
		return -1;
	out->cwd = strdup(ic->working_dir && ic->working_dir[0] ? ic->working_dir : "/");
	if (!out->cwd)
		return cradle_err_nomem(err);
	if (build_user(in, out, err) < 0)
		return -1;

	/* default spec; neither changes for privileged pods */
	out->no_new_privs = true;
	out->cap_bounding = out->cap_effective = out->cap_permitted = spec_default_caps();
	out->cap_inheritable = out->cap_ambient = 0;

	/* WithPodOOMScoreAdj: never below what the daemon itself has when
	 * restricted, since lowering it needs CAP_SYS_RESOURCE */
	out->oom_score_adj = SANDBOX_OOM_SCORE_ADJ;
	if (in->node->restrict_oom_score_adj && in->node->daemon_oom_score_adj > out->oom_score_adj)
		out->oom_score_adj = in->node->daemon_oom_score_adj;

	/* a host-network pod keeps the host's UTS namespace (sandboxContainerSpec), so it has
	 * no hostname of its own to set */
	if (NSO(pod).network != NS_NODE && dup_nonempty(&out->hostname, pod->hostname, err) < 0)
		return -1;
	/* the security context's readonly_rootfs is ignored: always read-only */
	out->rootfs_readonly = true;
	return 0;
}

/* --- namespaces (sandboxContainerSpec) ---------------------------------- */

static const char *
ns_mode_name(int mode, char buf[16])
{
	switch (mode) {
	case NS_POD:
		return "POD";
	case NS_CONTAINER:
		return "CONTAINER";
	case NS_NODE:
		return "NODE";
	case NS_TARGET:
		return "TARGET";
	}
	/* Go prints an unknown protobuf enum value as its number */
	snprintf(buf, 16, "%d", mode);
	return buf;
}

/* parseUsernsIDMap: at most one line, and a line needs length >= 1. */
static int
check_idmaps(const char *what, const struct proto_idmaps *m, struct cradle_err *err)
{
	if (m->n > 1)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "user namespace configuration: %s mapping: only one mapping "
		                      "line supported, got %zu mapping lines",
		                      what, m->n);
	if (m->n == 1 && m->v[0].length < 1)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "user namespace configuration: %s mapping: invalid mapping "
		                      "length: %u",
		                      what, m->v[0].length);
	return 0;
}

/* parseUsernsIDs as in C17 pkg/cri/server and CM (C17 sbserver ignores
 * userns_options; cradle follows the later behaviour). */
static int
build_userns(const struct pod_config *pod, struct sandbox_spec *out, struct cradle_err *err)
{
	const struct proto_idmaps *uids = &NSO(pod).userns_options.uids;
	const struct proto_idmaps *gids = &NSO(pod).userns_options.gids;
	int mode = NSO(pod).userns_options.mode;
	char mb[16];

	/* absent: kubelet without user namespace support; no user namespace */
	if (!NSO(pod).userns_options.present)
		return 0;
	if (check_idmaps("UID", uids, err) < 0 || check_idmaps("GID", gids, err) < 0)
		return -1;
	switch (mode) {
	case NS_NODE:
		if (uids->n || gids->n)
			return cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"user namespace configuration: can't use user namespace "
				"mode \"NODE\" with mappings. Got %zu UID mappings and "
				"%zu GID mappings",
				uids->n, gids->n);
		return 0;
	case NS_POD:
		if (!uids->n || !gids->n)
			return cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"user namespace configuration: can't use user namespace "
				"mode \"POD\" without UID and GID mappings");
		out->ns_user = true;
		out->uid_map = (struct spec_idmap){ uids->v[0].container_id, uids->v[0].host_id,
			                            uids->v[0].length };
		out->gid_map = (struct spec_idmap){ gids->v[0].container_id, gids->v[0].host_id,
			                            gids->v[0].length };
		return 0;
	default:
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "user namespace configuration: unsupported user namespace "
		                      "mode: \"%s\"",
		                      ns_mode_name(mode, mb));
	}
}

static int
build_namespaces(const struct spec_input *in, struct sandbox_spec *out, struct cradle_err *err)
{
	const struct pod_config *pod = in->pod;

	/* NODE removes the namespace; POD, CONTAINER and TARGET all mean a
	 * new one for a sandbox (target_id only matters to containers) */
	out->ns_net = NSO(pod).network != NS_NODE;
	out->ns_uts = out->ns_net; /* host network brings the host's hostname */
	out->ns_pid = NSO(pod).pid != NS_NODE;
	out->ns_ipc = NSO(pod).ipc != NS_NODE;
	out->ns_mnt = true;
	if (out->ns_net && dup_nonempty(&out->netns_path, in->netns_path, err) < 0)
		return -1;
	return build_userns(pod, out, err);
}

/* --- filesystem (oci/spec.go populateDefaultUnixSpec, oci/mounts.go) ---- */

struct mount_tmpl {
	const char *dst, *type, *src;
	const char *opts[8];
};

/* containerd's default mounts (oci/mounts.go) minus /run and the default
 * /dev/shm tmpfs, which the sandbox spec removes */
static const struct mount_tmpl default_mounts[] = {
	{ "/proc", "proc", "proc", { "nosuid", "noexec", "nodev" } },
	{ "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" } },
	{ "/dev/pts",
	  "devpts",
	  "devpts",
	  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
	{ "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" } },
	{ "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro" } },
};

/* the two sandbox binds (C17; C16 had only rbind,ro) */
static const char *const bind_opts[] = { "rbind", "ro", "nosuid", "nodev", "noexec", NULL };

static const char *const masked_paths[] = {
	"/proc/acpi",          "/proc/asound",
	"/proc/kcore",         "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list",
	"/proc/timer_stats",   "/proc/sched_debug",
	"/sys/firmware",       "/sys/devices/virtual/powercap",
	"/proc/scsi",          NULL,
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static int
add_mount(struct sandbox_spec *out, const char *dst, const char *type, const char *src,
          const char *const *opts, size_t nopts, bool rw, struct cradle_err *err)
{
	struct spec_mount *v, *m;
	size_t i;

	v = realloc(out->mounts, (out->n_mounts + 1) * sizeof(*v));
	if (!v)
		return cradle_err_nomem(err);
	out->mounts = v;
	/* counted before it is filled so spec_fini frees a partial entry */
	m = &v[out->n_mounts++];
	memset(m, 0, sizeof(*m));
	m->destination = strdup(dst);
	m->type = strdup(type);
	m->source = strdup(src);
	if (!m->destination || !m->type || !m->source)
		return cradle_err_nomem(err);
	for (i = 0; i < nopts && opts[i]; i++) {
		/* oci.WithWriteableSysfs turns "ro" into "rw" in place */
		const char *o = rw && strcmp(opts[i], "ro") == 0 ? "rw" : opts[i];

		if (strs_add(&m->options, o, err) < 0)
			return -1;
	}
	return 0;
}

static int
add_paths(struct proto_strs *strs, const char *const *paths, struct cradle_err *err)
{
	for (; *paths; paths++)
		if (strs_add(strs, *paths, err) < 0)
			return -1;
	return 0;
}

static int
build_filesystem(const struct spec_input *in, struct sandbox_spec *out, struct cradle_err *err)
{
	const struct pod_config *pod = in->pod;
	const char *shm;
	size_t i;

	for (i = 0; i < sizeof(default_mounts) / sizeof(default_mounts[0]); i++) {
		const struct mount_tmpl *t = &default_mounts[i];
		/* /sys is read-write for privileged pods: C17 keeps it "ro", CM
		 * (WithWriteableSysfs, as CRI-O and Docker do) makes it "rw";
		 * cradle follows CM, since a privileged pod is trusted with the
		 * host anyway and tools in it expect a writable sysfs */
		bool rw = SC(pod).privileged && strcmp(t->type, "sysfs") == 0;

		if (add_mount(out, t->dst, t->type, t->src, t->opts,
		              sizeof(t->opts) / sizeof(t->opts[0]), rw, err) < 0)
			return -1;
	}
	/* host IPC shares the host's /dev/shm; otherwise the sandbox's own
	 * tmpfs (setupSandboxFiles) */
	shm = NSO(pod).ipc == NS_NODE ? "/dev/shm" : in->shm_path;
	if (!shm || !shm[0])
		return cradle_err_set(err, CRADLE_INTERNAL, "build sandbox spec: no shm path");
	if (!in->resolv_conf_path || !in->resolv_conf_path[0])
		return cradle_err_set(err, CRADLE_INTERNAL,
		                      "build sandbox spec: no resolv.conf path");
	if (add_mount(out, "/dev/shm", "bind", shm, bind_opts, SIZE_MAX, false, err) < 0 ||
	    add_mount(out, "/etc/resolv.conf", "bind", in->resolv_conf_path, bind_opts, SIZE_MAX,
	              false, err) < 0)
		return -1;

	/* populateDefaultUnixSpec's lists, unchanged for privileged pods */
	if (add_paths(&out->masked_paths, masked_paths, err) < 0 ||
	    add_paths(&out->readonly_paths, readonly_paths, err) < 0)
		return -1;
	out->devices_deny_all = true;
	return 0;
}

/* --- sysctls (sandboxContainerSpec) ------------------------------------- */

/* kubelet's sysctl.NormalizeName: a name whose first separator is '/'
 * ("net/ipv4/conf/eno2.100/rp_filter") has '.' and '/' swapped, so dots
 * separate and a '/' stands for a dot inside a component
 * ("net.ipv4.conf.eno2/100.rp_filter").  The launcher maps the name back
 * to /proc/sys/<name with '.' and '/' swapped>.  Returns malloc'd. */
static char *
sysctl_normalize(const char *key)
{
	size_t first = strcspn(key, "./");
	char *n = strdup(key), *p;

	if (!n || key[first] != '/')
		return n;
	for (p = n; *p; p++) {
		if (*p == '.')
			*p = '/';
		else if (*p == '/')
			*p = '.';
	}
	return n;
}

/* The launcher turns the name into a path under /proc/sys, so a name must
 * not be able to leave it: every component is non-empty and not made of
 * '/' only (those would become "." or ".."), and no white space or control
 * characters. */
static bool
sysctl_name_ok(const char *n)
{
	const char *p = n;

	for (;;) {
		size_t len = strcspn(p, ".");
		size_t i;
		bool only_slash = true;

		if (len == 0)
			return false;
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)p[i];

			if (c <= ' ' || c == 0x7f)
				return false;
			if (c != '/')
				only_slash = false;
		}
		if (only_slash)
			return false;
		if (p[len] == '\0')
			return true;
		p += len + 1;
	}
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* DIFFERENCE: the reference copies sysctls unchecked and lets runc refuse
 * them at create time; cradle applies them itself, so it checks them with
 * kubelet's namespaced list (pkg/kubelet/sysctl/namespace.go): IPC ones
 * (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*) and net.*.  The UTS
 * ones (kernel.hostname, kernel.domainname) are refused: the hostname has
 * its own field. */
int
spec_check_sysctl(const char *key, bool host_net, bool host_ipc, struct cradle_err *err)
{
	char *n;
	int rc = 0;

	if (!key || !key[0])
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "sysctl \"\" is not a valid name");
	n = sysctl_normalize(key);
	if (!n)
		return cradle_err_nomem(err);
	if (!sysctl_name_ok(n))
		rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                    "sysctl \"%s\" is not a valid name", key);
	else if (strcmp(n, "kernel.sem") == 0 || has_prefix(n, "kernel.shm") ||
	         has_prefix(n, "kernel.msg") || has_prefix(n, "fs.mqueue.")) {
		if (host_ipc)
			rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                    "sysctl \"%s\" not allowed with host IPC", key);
	} else if (has_prefix(n, "net.")) {
		if (host_net)
			rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                    "sysctl \"%s\" not allowed with host network", key);
	} else {
		rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "sysctl \"%s\" is not namespaced",
		                    key);
	}
	free(n);
	return rc;
}

static int
build_sysctls(const struct spec_input *in, struct sandbox_spec *out, struct cradle_err *err)
{
	const struct pod_config *pod = in->pod;
	const struct proto_kvs *sc = &pod->linux.sysctls;
	bool host_net = NSO(pod).network == NS_NODE, host_ipc = NSO(pod).ipc == NS_NODE;
	size_t i;

	for (i = 0; i < sc->n; i++) {
		char *n;
		int rc;

		if (spec_check_sysctl(sc->v[i].key, host_net, host_ipc, err) < 0)
			return -1;
		n = sysctl_normalize(sc->v[i].key);
		if (!n)
			return cradle_err_nomem(err);
		/* "a.b" and "a/b" name one sysctl: the later entry wins */
		rc = kvs_add(&out->sysctls, n, sc->v[i].value ? sc->v[i].value : "", err);
		free(n);
		if (rc < 0)
			return -1;
	}
	/* the two defaults, never over a value the pod gave, and only in a
	 * network namespace of the pod's own */
	if (host_net)
		return 0;
	if (in->node->enable_unprivileged_ports &&
	    !proto_kvs_get(&out->sysctls, "net.ipv4.ip_unprivileged_port_start") &&
	    kvs_add(&out->sysctls, "net.ipv4.ip_unprivileged_port_start", "0", err) < 0)
		return -1;
	/* in a user namespace the range may name gids that are not mapped,
	 * and the kernel refuses the write */
	if (in->node->enable_unprivileged_icmp && !in->node->daemon_in_userns && !out->ns_user &&
	    !proto_kvs_get(&out->sysctls, "net.ipv4.ping_group_range") &&
	    kvs_add(&out->sysctls, "net.ipv4.ping_group_range", "0 2147483647", err) < 0)
		return -1;
	return 0;
}

/* --- cgroups (getCgroupsPath, podsandbox/helpers_linux.go) -------------- */

/* Go's path.Clean of p, except that a ".." component fails with EINVAL:
 * a parent must not climb out of the hierarchy it names (DIFFERENCE: the
 * reference would let Clean fold it away).  malloc'd, NULL with errno. */
static char *
clean_path(const char *p)
{
	size_t len = strlen(p);
	char *out = malloc(len + 2), *w = out;
	bool rooted = p[0] == '/';

	if (!out) {
		errno = ENOMEM;
		return NULL;
	}
	if (rooted)
		*w++ = '/';
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			free(out);
			errno = EINVAL;
			return NULL;
		}
		if (!(n == 1 && p[0] == '.')) {
			if (w > out && w[-1] != '/')
				*w++ = '/';
			memcpy(w, p, n);
			w += n;
		}
		p += n;
	}
	if (w == out)
		*w++ = '.';
	*w = '\0';
	return out;
}

/* getCgroupsPath (PS/helpers_linux.go): a parent whose last element is a
 * systemd slice gives runc's "slice:prefix:name" form; else the parent
 * joined with the id (filepath.Join cleans it). */
char *
spec_cgroups_path(const char *parent, const char *default_parent, const char *id)
{
	const char *base;
	char *clean, *res;
	int n;

	if (!id || !id[0] || strchr(id, '/')) {
		errno = EINVAL;
		return NULL;
	}
	if (!parent || !parent[0])
		parent = default_parent && default_parent[0] ? default_parent : DEFAULT_CGROUP_ROOT;
	clean = clean_path(parent);
	if (!clean)
		return NULL;
	base = strrchr(clean, '/');
	base = base ? base + 1 : clean;
	if (strlen(base) > strlen(".slice") &&
	    strcmp(base + strlen(base) - strlen(".slice"), ".slice") == 0)
		n = asprintf(&res, "%s:cri-containerd:%s", base, id);
	else if (strcmp(clean, "/") == 0)
		n = asprintf(&res, "/%s", id);
	else if (strcmp(clean, ".") == 0)
		n = asprintf(&res, "%s", id);
	else
		n = asprintf(&res, "%s/%s", clean, id);
	free(clean);
	if (n < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return res;
}

static int
build_cgroups(const struct spec_input *in, struct sandbox_spec *out, struct cradle_err *err)
{
	const char *parent = in->pod->linux.cgroup_parent;

	out->cgroups_path = spec_cgroups_path(parent, in->node->cgroup_root, in->id);
	if (!out->cgroups_path) {
		if (errno == ENOMEM)
			return cradle_err_nomem(err);
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid cgroup parent \"%s\": \"..\" is not allowed",
		                      parent && parent[0]     ? parent
		                      : in->node->cgroup_root ? in->node->cgroup_root
		                                              : "");
	}
	/* fixed, whatever linux.resources says (those only feed annotations) */
	out->cpu_shares = SANDBOX_CPU_SHARES;
	return 0;
}

/* --- annotations (DefaultCRIAnnotations) and labels (buildLabels) ------- */

static int
build_annotations(const struct spec_input *in, struct sandbox_spec *out, struct cradle_err *err)
{
	const struct pod_config *pod = in->pod;
	const struct proto_kvs *pa = &pod->annotations;
	size_t i, j;

	/* 1. pass-through: Go's path.Match, where '*' and '?' never match a
	 * '/', which is fnmatch with FNM_PATHNAME */
	if (in->runtime) {
		const struct proto_strs *pat = &in->runtime->pod_annotations;

		for (i = 0; i < pa->n; i++) {
			for (j = 0; j < pat->n; j++) {
				if (pat->v[j] &&
				    fnmatch(pat->v[j], pa->v[i].key, FNM_PATHNAME) == 0) {
					if (kvs_add(&out->annotations, pa->v[i].key,
					            pa->v[i].value ? pa->v[i].value : "", err) < 0)
						return -1;
					break;
				}
			}
		}
	}
	/* 2. resources only ever reach the spec as these four */
	if (pod->linux.resources.present) {
		const struct {
			const char *key;
			int64_t v;
		} res[] = {
			{ "io.kubernetes.cri.sandbox-cpu-period", pod->linux.resources.cpu_period },
			{ "io.kubernetes.cri.sandbox-cpu-quota", pod->linux.resources.cpu_quota },
			{ "io.kubernetes.cri.sandbox-cpu-shares", pod->linux.resources.cpu_shares },
			{ "io.kubernetes.cri.sandbox-memory",
			  pod->linux.resources.memory_limit_in_bytes },
		};
		char buf[24];

		for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
			snprintf(buf, sizeof(buf), "%lld", (long long)res[i].v);
			if (kvs_add(&out->annotations, res[i].key, buf, err) < 0)
				return -1;
		}
	}
	/* 3. DefaultCRIAnnotations, last so they win over a pass-through
	 * annotation of the same key */
	{
		const struct {
			const char *key, *value;
		} def[] = {
			{ "io.kubernetes.cri.sandbox-id", in->id },
			{ "io.kubernetes.cri.sandbox-namespace", pod->metadata.namespace },
			{ "io.kubernetes.cri.sandbox-uid", pod->metadata.uid },
			{ "io.kubernetes.cri.sandbox-name", pod->metadata.name },
			{ "io.kubernetes.cri.sandbox-log-directory", pod->log_directory },
			{ "io.kubernetes.cri.container-type", "sandbox" },
		};

		for (i = 0; i < sizeof(def) / sizeof(def[0]); i++)
			if (kvs_add(&out->annotations, def[i].key, def[i].value ? def[i].value : "",
			            err) < 0)
				return -1;
	}
	return 0;
}

/* buildLabels (PS/helpers.go). */
static int
build_labels(const struct spec_input *in, struct sandbox_spec *out, struct cradle_err *err)
{
	const struct proto_kvs *il = &in->image->labels, *pl = &in->pod->labels;
	size_t i;

	for (i = 0; i < il->n; i++) {
		const char *k = il->v[i].key, *v = il->v[i].value ? il->v[i].value : "";

		if (!k)
			continue;
		/* an image must not forge containerd's or cradle's own labels
		 * (recovery finds sandboxes by io.cri-containerd.kind) */
		if (has_prefix(k, "containerd.io/") || has_prefix(k, "io.cri-containerd"))
			continue;
		/* labels.Validate: refused by containerd's metadata store */
		if (strlen(k) + strlen(v) > LABEL_MAX_SIZE)
			continue;
		if (kvs_add(&out->labels, k, v, err) < 0)
			return -1;
	}
	for (i = 0; i < pl->n; i++)
		if (pl->v[i].key && kvs_add(&out->labels, pl->v[i].key,
		                            pl->v[i].value ? pl->v[i].value : "", err) < 0)
			return -1;
	return kvs_add(&out->labels, "io.cri-containerd.kind", "sandbox", err);
}

/* --- seccomp (generateSeccompSpecOpts) and SELinux (label.InitLabels) --- */

struct profile {
	bool set;
	int type;        /* enum proto_seccomp_type */
	const char *ref; /* LocalhostRef; borrowed */
};

/* generateSecurityProfile: the string forms. */
static int
profile_from_string(const char *s, struct profile *p, struct cradle_err *err)
{
	p->set = true;
	p->ref = NULL;
	if (!s[0] || strcmp(s, "runtime/default") == 0 || strcmp(s, "docker/default") == 0) {
		p->type = SECCOMP_PROFILE_RUNTIME_DEFAULT;
	} else if (strcmp(s, "unconfined") == 0) {
		p->type = SECCOMP_PROFILE_UNCONFINED;
	} else if (has_prefix(s, LOCALHOST_PREFIX)) {
		p->type = SECCOMP_PROFILE_LOCALHOST;
		p->ref = s + strlen(LOCALHOST_PREFIX);
	} else {
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "invalid profile \"%s\"", s);
	}
	return 0;
}

static int
build_seccomp(const struct spec_input *in, struct sandbox_spec *out, struct cradle_err *err)
{
	const struct pod_config *pod = in->pod;
	struct profile p = { 0 };
	const char *path;

	out->seccomp = SECCOMP_UNCONFINED;
	/* 1. the source; a bad string fails even for a privileged pod, as
	 * the reference parses it before looking at privileged */
	if (SC(pod).seccomp.present) {
		p.set = true;
		p.type = SC(pod).seccomp.profile_type;
		p.ref = SC(pod).seccomp.localhost_ref;
	} else if (SC(pod).seccomp_profile_path && SC(pod).seccomp_profile_path[0]) {
		if (profile_from_string(SC(pod).seccomp_profile_path, &p, err) < 0)
			return -1;
	} else if (in->runtime && in->runtime->seccomp_default && in->runtime->seccomp_default[0]) {
		if (profile_from_string(in->runtime->seccomp_default, &p, err) < 0)
			return -1;
	}
	/* 2. privileged: never a profile */
	if (SC(pod).privileged)
		return 0;
	/* 3. a kernel without seccomp can only run unconfined */
	if (!in->node->seccomp_available) {
		if (p.set && p.type != SECCOMP_PROFILE_UNCONFINED)
			return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
			                      "seccomp is not supported");
		return 0;
	}
	/* 4. no profile: the pause container runs unconfined */
	if (!p.set)
		return 0;
	/* 5. the profile types */
	if (p.type != SECCOMP_PROFILE_LOCALHOST && p.ref && p.ref[0])
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "seccomp config invalid LocalhostRef must only be set if "
		                      "ProfileType is Localhost");
	switch (p.type) {
	case SECCOMP_PROFILE_UNCONFINED:
		return 0;
	case SECCOMP_PROFILE_RUNTIME_DEFAULT:
		out->seccomp = SECCOMP_RUNTIME_DEFAULT;
		return 0;
	case SECCOMP_PROFILE_LOCALHOST:
		path = p.ref ? p.ref : "";
		if (has_prefix(path, LOCALHOST_PREFIX))
			path += strlen(LOCALHOST_PREFIX);
		/* sandbox/seccomp.c opens it from the daemon's own cwd otherwise */
		if (path[0] != '/')
			return cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"seccomp localhost profile \"%s\" is not an absolute path", path);
		out->seccomp_profile = strdup(path);
		if (!out->seccomp_profile)
			return cradle_err_nomem(err);
		out->seccomp = SECCOMP_LOCALHOST;
		return 0;
	default:
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "seccomp unknown ProfileType");
	}
}

static int
build_selinux(const struct spec_input *in, struct sandbox_spec *out, struct cradle_err *err)
{
	/* privileged: no process label in the spec, but the mount label stays
	 * (and sandbox/selinux.c still holds the allocated level) */
	if (!SC(in->pod).privileged &&
	    dup_nonempty(&out->selinux_process_label, in->process_label, err) < 0)
		return -1;
	return dup_nonempty(&out->selinux_mount_label, in->mount_label, err);
}

/* --- the spec ----------------------------------------------------------- */

int
spec_build(const struct spec_input *in, struct sandbox_spec *out, struct cradle_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!in || !in->id || !in->pod || !in->image || !in->node)
		return cradle_err_set(err, CRADLE_INTERNAL, "build sandbox spec: missing input");
	/* the order in which the reference applies its options; userns comes
	 * before sysctls, whose ICMP default depends on it */
	if (build_process(in, out, err) < 0 || build_namespaces(in, out, err) < 0 ||
	    build_filesystem(in, out, err) < 0 || build_sysctls(in, out, err) < 0 ||
	    build_cgroups(in, out, err) < 0 || build_annotations(in, out, err) < 0 ||
	    build_labels(in, out, err) < 0) {
		spec_fini(out);
		return -1;
	}
	if (build_seccomp(in, out, err) < 0) {
		cradle_err_wrap(err, "failed to generate seccomp spec opts");
		spec_fini(out);
		return SPEC_ERR_OPTS;
	}
	if (build_selinux(in, out, err) < 0) {
		spec_fini(out);
		return -1;
	}
	return 0;
}

void
spec_fini(struct sandbox_spec *s)
{
	size_t i;

	if (!s)
		return;
	proto_strs_fini(&s->args);
	proto_strs_fini(&s->env);
	free(s->cwd);
	free(s->additional_gids);
	free(s->selinux_process_label);
	free(s->selinux_mount_label);
	free(s->hostname);
	free(s->netns_path);
	for (i = 0; i < s->n_mounts && s->mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		proto_strs_fini(&s->mounts[i].options);
	}
	free(s->mounts);
	proto_strs_fini(&s->masked_paths);
	proto_strs_fini(&s->readonly_paths);
	proto_kvs_fini(&s->sysctls);
	free(s->cgroups_path);
	proto_kvs_fini(&s->annotations);
	proto_kvs_fini(&s->labels);
	free(s->seccomp_profile);
	memset(s, 0, sizeof(*s));
}
