/* cgroup.c - the pause task's cgroup on v1, v2 and hybrid nodes.
 * See cgroup.h (DESIGN) for what is done where and why.
 *
 * Nothing here keeps mutable global state: struct cgroup_sys is written
 * only by detection, struct cgroup belongs to its caller, and paths are
 * built in stack buffers.
 */
#include "sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/devices.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/sys.h"

/* --- controllers ------------------------------------------------------------ */

/* v1 controllers cradle joins (bit per controller). */
enum {
	M_CPU = 1u << 0,
	M_CPUACCT = 1u << 1,
	M_CPUSET = 1u << 2,
	M_MEMORY = 1u << 3,
	M_PIDS = 1u << 4,
	M_DEVICES = 1u << 5,
	M_FREEZER = 1u << 6,
	M_BLKIO = 1u << 7,
	M_SYSTEMD = 1u << 8,
};

static const struct {
	const char *name;
	unsigned bit;
} managed_ctl[] = {
	{ "cpu", M_CPU },         { "cpuacct", M_CPUACCT }, { "cpuset", M_CPUSET },
	{ "memory", M_MEMORY },   { "pids", M_PIDS },       { "devices", M_DEVICES },
	{ "freezer", M_FREEZER }, { "blkio", M_BLKIO },     { "name=systemd", M_SYSTEMD },
};

/* Every v1 controller the kernel has had; other super options (rw,
 * noprefix, clone_children, xattr, release_agent=...) are not controllers. */
static const char *const v1_controllers[] = {
	"cpuset",     "cpu",      "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls",
	"perf_event", "net_prio", "hugetlb", "pids",  "rdma",   "misc",    "debug",
};

/* Controllers enabled in the ancestors' cgroup.subtree_control on pure v2. */
static const char *const v2_wanted[] = { "cpu", "memory", "pids" };

#define BUSY_TRIES 10    /* rmdir of a busy leaf: tries ... */
#define BUSY_SLEEP_MS 10 /* ... this far apart */
#define MKDIR_TRIES 16   /* a parent removed under us: start over */

struct hier {
	char *mount;
	char *controllers; /* "cpu,cpuacct", "name=systemd" */
	unsigned managed;  /* M_* bits cradle uses here */
	bool real;         /* holds a real (not name=) controller */
	bool noprefix;
	bool root_slash; /* mount root is "/" */
	unsigned dev_major, dev_minor;
};

struct cgroup_sys {
	enum cgroup_layout layout;
	struct hier *v1;
	size_t n_v1;
	char *v2_mount;
	int dev_prog; /* the eBPF device program when devices are on v2, or -1 */
	char describe[1024];
};

/* One hierarchy of one sandbox cgroup. */
struct cg_h {
	char *leaf;  /* absolute directory of the leaf (shared: the parent) */
	char **made; /* directories created, top first */
	size_t n_made;
	bool v2;
	bool shared; /* no leaf of its own: the task joins the parent */
	bool skip;   /* scratch for remove_stacks */
};

struct cgroup {
	char *path; /* hierarchy-relative, "/k8s.io/<id>" */
	struct cg_h *h;
	size_t n_h;
	int v2_dirfd;
	int v2_procs_fd;
	int procs_fds[CGROUP_PROCS_FDS_MAX];
	size_t n_procs;
};

/* --- small helpers ---------------------------------------------------------- */

static int
join_path(char *buf, size_t len, const char *a, const char *b, const char *c)
{
	int n = snprintf(buf, len, "%s%s%s", a, b, c ? c : "");

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

/* Write a control file; 0 or -errno. */
static int
write_ctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	size_t len = strlen(val);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = write(fd, val, len);
	while (n < 0 && errno == EINTR);
	int e = n < 0 ? errno : (size_t)n != len ? EIO : 0;
	if (close(fd) != 0 && e == 0 && errno != EINTR)
		e = errno;
	return -e;
}

/* A control file name on hierarchy h ("cpu.shares" -> "shares" when the
 * hierarchy is mounted noprefix; "cgroup.*" keeps its prefix). */
static const char *
ctl_name(const struct hier *h, const char *name)
{
	const char *dot;

	if (h == NULL || !h->noprefix || strncmp(name, "cgroup.", 7) == 0)
		return name;
	dot = strchr(name, '.');
	return dot ? dot + 1 : name;
}

/* Does the comma- (or space-) separated list hold word? */
static bool
list_has(const char *list, const char *word, char sep)
{
	size_t wl = strlen(word);

	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, sep);
		size_t l = e ? (size_t)(e - p) : strlen(p);
		while (l > 0 && (p[l - 1] == '\n' || p[l - 1] == ' '))
			l--;
		if (l == wl && memcmp(p, word, wl) == 0)
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

static bool
blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\n' && *s != '\t')
			return false;
	return true;
}

/* --- paths ------------------------------------------------------------------ */

static bool
bad_name(const char *s, size_t l)
{
	return l == 0 || (l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.') ||
	       memchr(s, '/', l) != NULL;
}

/* systemd's slice expansion: "a-b.slice" -> "/a.slice/a-b.slice". */
static int
expand_slice(const char *slice, size_t sl, char *buf, size_t len)
{
	static const char suffix[] = ".slice";
	const size_t sfx = sizeof(suffix) - 1;
	size_t used = 0, name_len;

	if (sl <= sfx || memcmp(slice + sl - sfx, suffix, sfx) != 0 ||
	    memchr(slice, '/', sl) != NULL)
		return -EINVAL;
	name_len = sl - sfx;
	if (name_len == 1 && slice[0] == '-') { /* "-.slice": the root */
		buf[0] = '\0';
		return 0;
	}
	for (size_t start = 0; start <= name_len;) {
		const char *dash = memchr(slice + start, '-', name_len - start);
		size_t end = dash ? (size_t)(dash - slice) : name_len;
		if (end == start) /* "-a", "a--b", "a-" */
			return -EINVAL;
		/* "/" + slice[0..end) + ".slice" */
		int n = snprintf(buf + used, len - used, "/%.*s%s", (int)end, slice, suffix);
		if (n < 0 || (size_t)n >= len - used)
			return -ENAMETOOLONG;
		used += (size_t)n;
		start = end + 1;
	}
	return 0;
}

int
cgroup_resolve_path(const char *p, char *buf, size_t len, struct cradle_err *err)
{
	if (p == NULL || p[0] == '\0')
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid cgroups path \"\": empty");
	if (strlen(p) >= PATH_MAX)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid cgroups path \"%.64s...\": too long", p);
	if (p[0] == '/') {
		if (p[1] == '\0')
			return cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"invalid cgroups path \"%s\": the root is not a sandbox cgroup", p);
		for (const char *c = p + 1;;) {
			const char *e = strchr(c, '/');
			size_t l = e ? (size_t)(e - c) : strlen(c);
			if (l == 0)
				return cradle_err_set(
					err, CRADLE_INVALID_ARGUMENT,
					"invalid cgroups path \"%s\": empty component", p);
			if ((l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
				return cradle_err_set(
					err, CRADLE_INVALID_ARGUMENT,
					"invalid cgroups path \"%s\": \"%.*s\" components are not allowed",
					p, (int)l, c);
			if (e == NULL)
				break;
			c = e + 1;
		}
		if (strlen(p) >= len)
			return cradle_err_set(err, CRADLE_INTERNAL, "cgroups path \"%s\": too long",
			                      p);
		memcpy(buf, p, strlen(p) + 1);
		return 0;
	}

	const char *c1 = strchr(p, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (c1 == NULL)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid cgroups path \"%s\": must be absolute (\"/...\") or "
		                      "\"slice:prefix:name\"",
		                      p);
	if (c2 == NULL || strchr(c2 + 1, ':') != NULL)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid cgroups path \"%s\": expected \"slice:prefix:name\"",
		                      p);

	const char *slice = p, *prefix = c1 + 1, *name = c2 + 1;
	size_t sl = (size_t)(c1 - p), pl = (size_t)(c2 - prefix), nl = strlen(name);
	if (sl == 0) { /* runc: the default slice */
		slice = "system.slice";
		sl = strlen(slice);
	}
	int rc = expand_slice(slice, sl, buf, len);
	if (rc == -ENAMETOOLONG)
		return cradle_err_set(err, CRADLE_INTERNAL, "cgroups path \"%s\": too long", p);
	if (rc < 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid cgroups path \"%s\": bad slice name \"%.*s\"", p,
		                      (int)sl, slice);
	if (bad_name(name, nl))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid cgroups path \"%s\": bad unit name \"%s\"", p, name);

	size_t used = strlen(buf);
	int n;
	if (nl > 6 && strcmp(name + nl - 6, ".slice") == 0) {
		n = snprintf(buf + used, len - used, "/%s", name);
	} else {
		if (bad_name(prefix, pl))
			return cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"invalid cgroups path \"%s\": bad scope prefix \"%.*s\"", p,
				(int)pl, prefix);
		n = snprintf(buf + used, len - used, "/%.*s-%s.scope", (int)pl, prefix, name);
	}
	if (n < 0 || (size_t)n >= len - used)
		return cradle_err_set(err, CRADLE_INTERNAL, "cgroups path \"%s\": too long", p);
	return 0;
}

uint64_t
cgroup_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

/* --- detection -------------------------------------------------------------- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

static bool
is_v1_controller(const char *tok, size_t l)
{
	if (l > 5 && memcmp(tok, "name=", 5) == 0)
		return true;
	for (size_t i = 0; i < sizeof(v1_controllers) / sizeof(v1_controllers[0]); i++)
		if (strlen(v1_controllers[i]) == l && memcmp(v1_controllers[i], tok, l) == 0)
			return true;
	return false;
}

/* Fill h's controllers from the super options of a v1 mount. */
static int
parse_v1_opts(const char *opts, struct hier *h)
{
	size_t cap = strlen(opts) + 1, used = 0;

	h->controllers = malloc(cap);
	if (h->controllers == NULL)
		return -ENOMEM;
	h->controllers[0] = '\0';
	for (const char *p = opts; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 8 && memcmp(p, "noprefix", 8) == 0)
			h->noprefix = true;
		if (is_v1_controller(p, l)) {
			if (used)
				h->controllers[used++] = ',';
			memcpy(h->controllers + used, p, l);
			used += l;
			h->controllers[used] = '\0';
			if (memcmp(p, "name=", 5) != 0)
				h->real = true;
			for (size_t i = 0; i < sizeof(managed_ctl) / sizeof(managed_ctl[0]); i++)
				if (strlen(managed_ctl[i].name) == l &&
				    memcmp(managed_ctl[i].name, p, l) == 0)
					h->managed |= managed_ctl[i].bit;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

static void
hier_fini(struct hier *h)
{
	free(h->mount);
	free(h->controllers);
}

void
cgroup_sys_free(struct cgroup_sys *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_v1; i++)
		hier_fini(&s->v1[i]);
	free(s->v1);
	free(s->v2_mount);
	if (s->dev_prog >= 0)
		close(s->dev_prog);
	free(s);
}

/* One mountinfo line (modified in place). */
static int
take_line(struct cgroup_sys *s, char *line, bool *v2_root_slash)
{
	char *f[64];
	size_t n = 0, sep = 0, l = strlen(line);

	while (l > 0 && line[l - 1] == '\n')
		line[--l] = '\0';
	/* single spaces separate fields; an empty source stays a field */
	for (char *p = line; n < 64;) {
		char *sp = strchr(p, ' ');
		f[n++] = p;
		if (sp == NULL)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	for (size_t i = 6; i < n; i++)
		if (strcmp(f[i], "-") == 0) {
			sep = i;
			break;
		}
	if (sep == 0 || sep + 3 >= n)
		return 0; /* not a mount line we know */
	const char *fstype = f[sep + 1];
	const char *superopts = f[sep + 3];
	bool v1 = strcmp(fstype, "cgroup") == 0, v2 = strcmp(fstype, "cgroup2") == 0;
	if (!v1 && !v2)
		return 0;
	unescape(f[3]);
	unescape(f[4]);
	bool root_slash = strcmp(f[3], "/") == 0;

	if (v2) {
		if (s->v2_mount != NULL && (*v2_root_slash || !root_slash))
			return 0;
		free(s->v2_mount);
		if ((s->v2_mount = strdup(f[4])) == NULL)
			return -ENOMEM;
		*v2_root_slash = root_slash;
		return 0;
	}

	struct hier h = { .root_slash = root_slash };
	if (sscanf(f[2], "%u:%u", &h.dev_major, &h.dev_minor) != 2)
		return 0;
	if (parse_v1_opts(superopts, &h) != 0)
		return -ENOMEM;
	if (h.controllers[0] == '\0') { /* "none" without a name */
		hier_fini(&h);
		return 0;
	}
	for (size_t i = 0; i < s->n_v1; i++) {
		struct hier *o = &s->v1[i];
		if (o->dev_major == h.dev_major && o->dev_minor == h.dev_minor) {
			/* the same hierarchy again: keep a root-"/" mount */
			if (!o->root_slash && root_slash) {
				char *m = strdup(f[4]);
				if (m == NULL) {
					hier_fini(&h);
					return -ENOMEM;
				}
				free(o->mount);
				o->mount = m;
				o->root_slash = true;
			}
			hier_fini(&h);
			return 0;
		}
		/* a controller lives in one hierarchy: the first mount wins */
		h.managed &= ~o->managed;
	}
	if ((h.mount = strdup(f[4])) == NULL) {
		hier_fini(&h);
		return -ENOMEM;
	}
	struct hier *nv = realloc(s->v1, (s->n_v1 + 1) * sizeof(*nv));
	if (nv == NULL) {
		hier_fini(&h);
		return -ENOMEM;
	}
	s->v1 = nv;
	s->v1[s->n_v1++] = h;
	return 0;
}

static void
describe(struct cgroup_sys *s)
{
	size_t len = sizeof(s->describe), used = 0;
	char *d = s->describe;
	int n;

#define PUT(...)                                                                     \
	do {                                                                         \
		n = snprintf(d + used, len - used, __VA_ARGS__);                     \
		if (n > 0)                                                           \
			used = (size_t)n >= len - used ? len - 1 : used + (size_t)n; \
	} while (0)

	d[0] = '\0';
	PUT("%s", s->layout == CGROUP_HYBRID ? "hybrid: v1 "
	          : s->layout == CGROUP_V1   ? "v1: "
	                                     : "v2");
	if (s->layout != CGROUP_V2)
		for (size_t i = 0, k = 0; i < s->n_v1; i++)
			if (s->v1[i].real || s->v1[i].managed)
				PUT("%s%s", k++ ? "," : "", s->v1[i].controllers);
	if (s->layout == CGROUP_HYBRID)
		PUT(" + v2 at %s", s->v2_mount);
	else if (s->layout == CGROUP_V2)
		PUT(" at %s", s->v2_mount);
#undef PUT
}

int
cgroup_detect_at(const char *mountinfo_path, struct cgroup_sys **out, struct cradle_err *err)
{
	struct cgroup_sys *s;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	bool v2_root_slash = false, real = false, managed_real = false;
	int rc = 0;

	*out = NULL;
	if ((f = fopen(mountinfo_path, "re")) == NULL)
		return cradle_err_errno(err, errno, "detect cgroups: open %s", mountinfo_path);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		fclose(f);
		return cradle_err_nomem(err);
	}
	s->dev_prog = -1;
	while (rc == 0 && getline(&line, &cap, f) >= 0)
		rc = take_line(s, line, &v2_root_slash);
	if (rc == 0 && ferror(f))
		rc = -EIO;
	free(line);
	fclose(f);
	if (rc != 0) {
		cgroup_sys_free(s);
		return cradle_err_errno(err, -rc, "detect cgroups: %s", mountinfo_path);
	}
	for (size_t i = 0; i < s->n_v1; i++) {
		real = real || s->v1[i].real;
		managed_real = managed_real || (s->v1[i].managed & ~(unsigned)M_SYSTEMD);
	}
	/* Hybrid only when cradle's controllers are on v1: a pure v2 node with
	 * a stray v1 net_cls or name=systemd mount stays v2. */
	if (managed_real && s->v2_mount != NULL)
		s->layout = CGROUP_HYBRID;
	else if (s->v2_mount != NULL)
		s->layout = CGROUP_V2;
	else if (real)
		s->layout = CGROUP_V1;
	else {
		cgroup_sys_free(s);
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		                      "detect cgroups: no cgroup v1 controller and no cgroup2 "
		                      "mounted (%s)",
		                      mountinfo_path);
	}
	if (s->layout == CGROUP_V2)
		for (size_t i = 0; i < s->n_v1; i++)
			s->v1[i].managed = 0; /* stray v1 mounts: not joined */
	/* No v1 devices controller: device control is the eBPF program on
	 * each v2 leaf (devices.h), loaded once here.  A node that refuses it
	 * would run sandboxes with every host device open to them: no. */
	bool v1_devices = false;
	for (size_t i = 0; i < s->n_v1; i++)
		v1_devices = v1_devices || (s->v1[i].managed & M_DEVICES);
	if (!v1_devices && s->v2_mount != NULL &&
	    (s->dev_prog = devices_prog_load(devices_default_rules, devices_default_n, err)) < 0) {
		cradle_err_wrap(err, "detect cgroups: device control on cgroup v2 (%s)",
		                s->v2_mount);
		cgroup_sys_free(s);
		return -1;
	}
	describe(s);
	*out = s;
	return 0;
}

int
cgroup_detect(struct cgroup_sys **out, struct cradle_err *err)
{
	return cgroup_detect_at("/proc/self/mountinfo", out, err);
}

enum cgroup_layout
cgroup_layout_of(const struct cgroup_sys *s)
{
	return s->layout;
}

const char *
cgroup_describe(const struct cgroup_sys *s)
{
	return s->describe;
}

const char *
cgroup_v1_mount(const struct cgroup_sys *s, const char *controller)
{
	for (size_t i = 0; i < s->n_v1; i++)
		if (list_has(s->v1[i].controllers, controller, ','))
			return s->v1[i].mount;
	return NULL;
}

const char *
cgroup_v2_mount(const struct cgroup_sys *s)
{
	return s->v2_mount;
}

int
cgroup_devices_prog(const struct cgroup_sys *s)
{
	return s->dev_prog;
}

/* --- the hierarchies a sandbox cgroup lives in ------------------------------ */

struct target {
	const char *mount;
	const struct hier *h; /* NULL: the v2 hierarchy */
};

static size_t
targets(const struct cgroup_sys *s, struct target *t, size_t max)
{
	size_t n = 0;

	if (s->layout != CGROUP_V2)
		for (size_t i = 0; i < s->n_v1 && n < max; i++)
			if (s->v1[i].managed)
				t[n++] = (struct target){ s->v1[i].mount, &s->v1[i] };
	if (s->v2_mount != NULL && n < max)
		t[n++] = (struct target){ s->v2_mount, NULL };
	return n;
}

#define MAX_TARGETS (CGROUP_PROCS_FDS_MAX + 1)

/* --- removal ---------------------------------------------------------------- */

/* rmdir each stack's directories, deepest first.  A busy leaf is retried
 * (all stacks together); a busy ancestor is another sandbox's parent and is
 * forgotten.  Removed directories leave their stacks.  0, or the first
 * error with err (FAILED_PRECONDITION for a leaf still busy). */
static int
remove_stacks(struct cg_h *hs, size_t n, const char *what, struct cradle_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		hs[i].skip = false;
	for (int round = 0;; round++) {
		const char *busy = NULL;
		for (size_t i = 0; i < n; i++) {
			struct cg_h *h = &hs[i];
			while (!h->skip && h->n_made > 0) {
				char *d = h->made[h->n_made - 1];
				if (rmdir(d) == 0 || errno == ENOENT) {
					free(d);
					h->n_made--;
					continue;
				}
				int e = errno;
				if (e == EINTR)
					continue;
				if ((e == EBUSY || e == ENOTEMPTY) && !h->shared &&
				    strcmp(d, h->leaf) == 0) {
					busy = d;
					break;
				}
				if (e == EBUSY || e == ENOTEMPTY) {
					while (h->n_made > 0)
						free(h->made[--h->n_made]);
					break;
				}
				if (rc == 0)
					rc = cradle_err_errno(
						err, e, "remove cgroup \"%s\": rmdir %s", what, d);
				h->skip = true;
			}
		}
		if (busy == NULL)
			break;
		if (round + 1 >= BUSY_TRIES) {
			if (rc == 0) {
				rc = cradle_err_errno(
					err, EBUSY,
					"remove cgroup \"%s\": rmdir %s (a task is still in it)",
					what, busy);
				if (err != NULL)
					err->code = CRADLE_FAILED_PRECONDITION;
			}
			break;
		}
		clock_sleep_ms(BUSY_SLEEP_MS);
	}
	return rc;
}

static void
free_h(struct cg_h *h)
{
	while (h->n_made > 0)
		free(h->made[--h->n_made]);
	free(h->made);
	free(h->leaf);
	h->made = NULL;
	h->leaf = NULL;
}

void
cgroup_close_fds(struct cgroup *cg)
{
	if (cg == NULL)
		return;
	for (size_t i = 0; i < cg->n_procs; i++)
		close(cg->procs_fds[i]);
	cg->n_procs = 0;
	if (cg->v2_dirfd >= 0)
		close(cg->v2_dirfd);
	if (cg->v2_procs_fd >= 0)
		close(cg->v2_procs_fd);
	cg->v2_dirfd = cg->v2_procs_fd = -1;
}

void
cgroup_release(struct cgroup *cg)
{
	if (cg == NULL)
		return;
	cgroup_close_fds(cg);
	for (size_t i = 0; i < cg->n_h; i++)
		free_h(&cg->h[i]);
	free(cg->h);
	free(cg->path);
	free(cg);
}

int
cgroup_destroy(struct cgroup *cg, struct cradle_err *err)
{
	int rc;

	if (cg == NULL)
		return 0;
	cgroup_close_fds(cg);
	rc = remove_stacks(cg->h, cg->n_h, cg->path, err);
	if (rc != 0)
		return rc;
	cgroup_release(cg);
	return 0;
}

int
cgroup_remove_path(const struct cgroup_sys *s, const char *cgroups_path, struct cradle_err *err)
{
	char rel[PATH_MAX], dir[PATH_MAX];
	struct target t[MAX_TARGETS];
	struct cg_h hs[MAX_TARGETS];
	char *one[MAX_TARGETS];
	size_t n;
	int rc;

	if ((rc = cgroup_resolve_path(cgroups_path, rel, sizeof(rel), err)) != 0)
		return rc;
	n = targets(s, t, MAX_TARGETS);
	memset(hs, 0, sizeof(hs));
	for (size_t i = 0; i < n; i++) {
		if (join_path(dir, sizeof(dir), t[i].mount, rel, NULL) != 0) {
			rc = cradle_err_set(err, CRADLE_INTERNAL,
			                    "remove cgroup \"%s\": path too long", cgroups_path);
			break;
		}
		if ((one[i] = strdup(dir)) == NULL) {
			rc = cradle_err_nomem(err);
			break;
		}
		hs[i].leaf = one[i];
		hs[i].made = &one[i];
		hs[i].n_made = 1;
	}
	if (rc == 0)
		rc = remove_stacks(hs, n, cgroups_path, err);
	for (size_t i = 0; i < n; i++)
		if (hs[i].n_made > 0)
			free(hs[i].leaf);
	return rc;
}

/* The pids in dir/cgroup.procs, appended to v (up to max); the new count. */
static size_t
read_procs(const char *dir, pid_t *v, size_t n, size_t max)
{
	char path[PATH_MAX];
	FILE *f;
	long pid;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path) ||
	    (f = fopen(path, "re")) == NULL)
		return n;
	while (n < max && fscanf(f, "%ld", &pid) == 1)
		if (pid > 0)
			v[n++] = (pid_t)pid;
	fclose(f);
	return n;
}

static bool
has_pid(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

#define KILL_MAX 256

int
cgroup_kill_path(const struct cgroup_sys *s, const char *cgroups_path, int timeout_ms,
                 struct cradle_err *err)
{
	char rel[PATH_MAX], dirs[MAX_TARGETS][PATH_MAX];
	struct target t[MAX_TARGETS];
	pid_t before[KILL_MAX], after[KILL_MAX];
	int pidfds[KILL_MAX];
	size_t n, nb = 0, na = 0, nk = 0;
	int rc, killed = 0;

	if ((rc = cgroup_resolve_path(cgroups_path, rel, sizeof(rel), err)) != 0)
		return rc;
	n = targets(s, t, MAX_TARGETS);
	for (size_t i = 0; i < n; i++)
		if (join_path(dirs[i], sizeof(dirs[i]), t[i].mount, rel, NULL) != 0)
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "kill cgroup \"%s\": path too long", cgroups_path);
	/* Every hierarchy: a task is born in the v2 cgroup (CLONE_INTO_CGROUP)
	 * and joins the v1 ones itself a moment later. */
	for (size_t i = 0; i < n; i++)
		nb = read_procs(dirs[i], before, nb, KILL_MAX);
	for (size_t i = 0; i < nb; i++) {
		if (has_pid(before, i, before[i]))
			continue;
		int fd = sys_pidfd_open(before[i]);
		if (fd >= 0)
			pidfds[nk] = fd, after[nk++] = before[i];
	}
	/* A pid read before its pidfd was opened may have been reused by then;
	 * one still listed after the open is the task in this cgroup. */
	pid_t listed[KILL_MAX];
	for (size_t i = 0; i < n; i++)
		na = read_procs(dirs[i], listed, na, KILL_MAX);
	for (size_t i = 0; i < nk; i++) {
		if (!has_pid(listed, na, after[i]) ||
		    sys_pidfd_send_signal(pidfds[i], SIGKILL) != 0) {
			close(pidfds[i]);
			pidfds[i] = -1;
			continue;
		}
		killed++;
	}
	/* Gone, not only signalled: the cgroup is removed next. */
	int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * 1000000;
	for (size_t i = 0; i < nk; i++) {
		if (pidfds[i] < 0)
			continue;
		struct pollfd pfd = { .fd = pidfds[i], .events = POLLIN };
		int64_t left = (deadline - clock_mono_ns()) / 1000000;
		if (left < 0 || poll(&pfd, 1, (int)left) <= 0) {
			if (rc == 0)
				rc = cradle_err_set(
					err, CRADLE_UNAVAILABLE,
					"kill cgroup \"%s\": task %d did not exit in %d ms",
					cgroups_path, (int)after[i], timeout_ms);
		}
		close(pidfds[i]);
	}
	return rc < 0 ? rc : killed;
}

/* --- creation --------------------------------------------------------------- */

static int
remember(struct cg_h *h, const char *dir)
{
	char *d = strdup(dir);
	char **nm;

	if (d == NULL)
		return -ENOMEM;
	if ((nm = realloc(h->made, (h->n_made + 1) * sizeof(*nm))) == NULL) {
		free(d);
		return -ENOMEM;
	}
	h->made = nm;
	h->made[h->n_made++] = d;
	return 0;
}

/* cpuset.cpus / cpuset.mems of dir: copy the parent's when empty. */
static int
cpuset_fill(const struct hier *hr, const char *dir, const char *parent, const char **failed)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char path[PATH_MAX], val[4096];

	for (size_t i = 0; i < 2; i++) {
		const char *name = ctl_name(hr, files[i]);
		ssize_t rc;
		if (join_path(path, sizeof(path), dir, "/", name) != 0)
			return -ENAMETOOLONG;
		*failed = files[i];
		if ((rc = fs_read(path, val, sizeof(val))) < 0)
			return (int)rc;
		if (!blank(val))
			continue;
		if (join_path(path, sizeof(path), parent, "/", name) != 0)
			return -ENAMETOOLONG;
		if ((rc = fs_read(path, val, sizeof(val))) < 0)
			return (int)rc;
		if (blank(val)) /* nothing to inherit: the kernel will say */
			continue;
		if (join_path(path, sizeof(path), dir, "/", name) != 0)
			return -ENAMETOOLONG;
		if ((rc = write_ctl(path, val)) < 0)
			return (int)rc;
	}
	return 0;
}

/* mkdir -p mount+rel, recording what was made in h; fixes cpuset levels. */
static int
make_chain(const struct target *t, const char *rel, const char *what, struct cg_h *h,
           struct cradle_err *err)
{
	char dir[PATH_MAX], parent[PATH_MAX];
	bool cpuset = t->h && (t->h->managed & M_CPUSET);

	for (int attempt = 0;; attempt++) {
		const char *c = rel;
		int e = 0;
		if (join_path(dir, sizeof(dir), t->mount, "", NULL) != 0)
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "create cgroup \"%s\": path too long", what);
		while (*c == '/') {
			const char *next = strchr(c + 1, '/');
			size_t l = next ? (size_t)(next - c) : strlen(c);
			size_t used = strlen(dir);
			memcpy(parent, dir, used + 1);
			if (used + l >= sizeof(dir))
				return cradle_err_set(err, CRADLE_INTERNAL,
				                      "create cgroup \"%s\": path too long", what);
			memcpy(dir + used, c, l);
			dir[used + l] = '\0';
			if (mkdir(dir, 0755) == 0) {
				if (remember(h, dir) != 0) {
					rmdir(dir);
					return cradle_err_nomem(err);
				}
			} else if (errno != EEXIST) {
				e = errno;
				break;
			}
			if (cpuset) {
				const char *file = "";
				int rc = cpuset_fill(t->h, dir, parent, &file);
				/* ENODEV: the parent is a cgroup being removed
				 * (its files answer so until it is gone) */
				if ((rc == -ENOENT || rc == -ENODEV) && attempt + 1 < MKDIR_TRIES) {
					e = ENOENT;
					break;
				}
				if (rc != 0)
					return cradle_err_errno(err, -rc,
					                        "create cgroup \"%s\": %s/%s", what,
					                        dir, ctl_name(t->h, file));
			}
			c += l;
		}
		if (e == 0)
			return 0;
		/* ENOENT: a parent vanished (another sandbox of the pod removed
		 * it as we went): start over from the top. */
		if (e != ENOENT || attempt + 1 >= MKDIR_TRIES)
			return cradle_err_errno(err, e, "create cgroup \"%s\": mkdir %s", what,
			                        dir);
	}
}

/* Pure v2: enable the wanted controllers in mount+rel's ancestors. */
static void
enable_controllers(const char *mount, const char *rel)
{
	char dir[PATH_MAX], path[PATH_MAX], avail[1024], on[1024], req[64];
	size_t rl = strlen(rel);

	/* ancestors: the mount root, then each prefix of rel but rel itself */
	for (size_t cut = 0; cut < rl; cut++) {
		if (cut != 0 && rel[cut] != '/')
			continue;
		if (snprintf(dir, sizeof(dir), "%s%.*s", mount, (int)cut, rel) >= (int)sizeof(dir))
			return;
		if (join_path(path, sizeof(path), dir, "/cgroup.controllers", NULL) != 0 ||
		    fs_read(path, avail, sizeof(avail)) < 0)
			continue;
		if (join_path(path, sizeof(path), dir, "/cgroup.subtree_control", NULL) != 0 ||
		    fs_read(path, on, sizeof(on)) < 0)
			continue;
		size_t used = 0;
		req[0] = '\0';
		for (size_t i = 0; i < sizeof(v2_wanted) / sizeof(v2_wanted[0]); i++)
			if (list_has(avail, v2_wanted[i], ' ') && !list_has(on, v2_wanted[i], ' '))
				used += (size_t)snprintf(req + used, sizeof(req) - used, "%s+%s",
				                         used ? " " : "", v2_wanted[i]);
		if (used == 0)
			continue;
		if (write_ctl(path, req) == 0)
			continue;
		/* one refused (EBUSY, EINVAL...): the others may still go */
		for (size_t i = 0; i < sizeof(v2_wanted) / sizeof(v2_wanted[0]); i++) {
			char one[32];
			if (!list_has(avail, v2_wanted[i], ' ') || list_has(on, v2_wanted[i], ' '))
				continue;
			snprintf(one, sizeof(one), "+%s", v2_wanted[i]);
			(void)write_ctl(path, one);
		}
	}
}

static int
open_at_leaf(const char *leaf, const char *file, int flags)
{
	char path[PATH_MAX];

	if (file == NULL)
		return open(leaf, flags);
	if (join_path(path, sizeof(path), leaf, "/", file) != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, flags);
}

/* Configure one hierarchy's leaf and open its descriptors. */
static int
setup_leaf(const struct cgroup_sys *s, const struct target *t, struct cgroup *cg, const char *leaf,
           uint64_t cpu_shares, const char *what, struct cradle_err *err)
{
	char path[PATH_MAX], val[32];
	const struct hier *hr = t->h;
	int rc, fd;

	if (hr != NULL && (hr->managed & M_CPU) && cpu_shares != 0) {
		snprintf(val, sizeof(val), "%llu", (unsigned long long)cpu_shares);
		if (join_path(path, sizeof(path), leaf, "/", ctl_name(hr, "cpu.shares")) != 0)
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "create cgroup \"%s\": path too long", what);
		if ((rc = write_ctl(path, val)) < 0)
			return cradle_err_errno(err, -rc, "create cgroup \"%s\": write %s to %s",
			                        what, val, path);
	}
	if (hr != NULL && (hr->managed & M_DEVICES)) {
		if (join_path(path, sizeof(path), leaf, "/", ctl_name(hr, "devices.deny")) != 0)
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "create cgroup \"%s\": path too long", what);
		if ((rc = write_ctl(path, "a")) < 0)
			return cradle_err_errno(err, -rc, "create cgroup \"%s\": write a to %s",
			                        what, path);
		/* The spec's one rule denies all; an OCI runtime then allows the
		 * devices every container's /dev holds (runc's AllowedDevices),
		 * or the sandbox could not even open /dev/null. */
		if (join_path(path, sizeof(path), leaf, "/", ctl_name(hr, "devices.allow")) != 0)
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "create cgroup \"%s\": path too long", what);
		for (size_t i = 0; i < devices_default_n; i++) {
			char rule[64];
			devices_rule_text(&devices_default_rules[i], rule, sizeof(rule));
			if ((rc = write_ctl(path, rule)) < 0)
				return cradle_err_errno(err, -rc,
				                        "create cgroup \"%s\": write %s to %s",
				                        what, rule, path);
		}
	}
	if (hr == NULL && s->layout == CGROUP_V2 && cpu_shares != 0) {
		snprintf(val, sizeof(val), "%llu",
		         (unsigned long long)cgroup_shares_to_weight(cpu_shares));
		if (join_path(path, sizeof(path), leaf, "/cpu.weight", NULL) != 0)
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "create cgroup \"%s\": path too long", what);
		/* ENOENT: no cpu controller here (not delegated): nothing to set */
		if ((rc = write_ctl(path, val)) < 0 && rc != -ENOENT)
			return cradle_err_errno(err, -rc, "create cgroup \"%s\": write %s to %s",
			                        what, val, path);
	}

	if (hr == NULL && s->dev_prog >= 0) {
		/* The same rules on v2, before any task can be in the leaf; the
		 * attachment keeps the program, and goes with the leaf. */
		if ((fd = open_at_leaf(leaf, NULL, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return cradle_err_errno(err, errno, "create cgroup \"%s\": open %s", what,
			                        leaf);
		rc = devices_prog_attach(s->dev_prog, fd, what, err);
		close(fd);
		if (rc < 0)
			return -1;
	}
	if (hr == NULL) {
		if ((fd = open_at_leaf(leaf, NULL, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return cradle_err_errno(err, errno, "create cgroup \"%s\": open %s", what,
			                        leaf);
		cg->v2_dirfd = fd;
		if ((fd = open_at_leaf(leaf, "cgroup.procs", O_WRONLY | O_CLOEXEC)) < 0)
			return cradle_err_errno(err, errno,
			                        "create cgroup \"%s\": open %s/cgroup.procs", what,
			                        leaf);
		cg->v2_procs_fd = fd;
		return 0;
	}
	if (cg->n_procs >= CGROUP_PROCS_FDS_MAX)
		return cradle_err_set(err, CRADLE_INTERNAL,
		                      "create cgroup \"%s\": too many hierarchies", what);
	if ((fd = open_at_leaf(leaf, "cgroup.procs", O_WRONLY | O_CLOEXEC)) < 0)
		return cradle_err_errno(err, errno, "create cgroup \"%s\": open %s/cgroup.procs",
		                        what, leaf);
	cg->procs_fds[cg->n_procs++] = fd;
	return 0;
}

/* A v1 hierarchy of the memory or the cpuset controller alone: the task
 * joins the leaf's parent there (see "Shared hierarchies" in cgroup.h). */
static bool
shared_hier(const struct target *t)
{
	return t->h != NULL &&
	       ((t->h->managed == M_MEMORY && !strcmp(t->h->controllers, "memory")) ||
	        (t->h->managed == M_CPUSET && !strcmp(t->h->controllers, "cpuset")));
}

/* The systemd driver's join keeps the cpuset alone shared (systemd never
 * makes it on v1) but not the memory controller: its place is the scope's,
 * where systemd puts the task wherever it manages memory. */
static bool
shared_in(const struct target *t, bool join)
{
	return shared_hier(t) && !(join && (t->h->managed & M_MEMORY));
}

static int cgroup_line(char *line, const char *controller, char *buf, size_t len);

/* Whether the task whose /proc/PID/cgroup is text (read once by the
 * caller) is at dir in t's hierarchy. */
static bool
pid_at(const char *text, const struct target *t, const char *dir)
{
	char have[PATH_MAX], first[64], line[PATH_MAX + 128];
	size_t n = strcspn(t->h->controllers, ",");

	if (n >= sizeof(first))
		return false;
	memcpy(first, t->h->controllers, n);
	first[n] = '\0';
	for (const char *l = text; *l != '\0';) {
		size_t ll = strcspn(l, "\n");
		if (ll < sizeof(line)) {
			memcpy(line, l, ll);
			line[ll] = '\0';
			if (cgroup_line(line, first, have, sizeof(have)) == 0)
				return strcmp(have, dir) == 0;
		}
		l += ll + (l[ll] == '\n');
	}
	return false;
}

/* join_pid > 0: only the v1 hierarchies (not name=systemd alone) where
 * join_pid is not at its place yet, and join_pid is moved there
 * (cgroup_join_rest). */
static int
create_in(const struct cgroup_sys *s, const char *cgroups_path, uint64_t cpu_shares, pid_t join_pid,
          struct cgroup **out, struct cradle_err *err)
{
	char rel[PATH_MAX], up[PATH_MAX], leaf[PATH_MAX];
	struct target t[MAX_TARGETS];
	struct cgroup *cg;
	size_t n;
	int rc;

	*out = NULL;
	if ((rc = cgroup_resolve_path(cgroups_path, rel, sizeof(rel), err)) != 0)
		return rc;
	n = targets(s, t, MAX_TARGETS);
	if (join_pid > 0) {
		char up1[PATH_MAX], path[64], text[16384];
		size_t k = 0;
		memcpy(up1, rel, strlen(rel) + 1);
		*strrchr(up1, '/') = '\0';
		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)join_pid);
		ssize_t got = fs_read(path, text, sizeof(text));
		if (got < 0)
			return cradle_err_errno(err, (int)-got, "create cgroup \"%s\": read %s",
			                        cgroups_path, path);
		for (size_t i = 0; i < n; i++)
			if (t[i].h != NULL && t[i].h->managed != M_SYSTEMD &&
			    !pid_at(text, &t[i],
			            shared_in(&t[i], true) ? (up1[0] != '\0' ? up1 : "/") : rel))
				t[k++] = t[i];
		n = k;
	}
	if ((cg = calloc(1, sizeof(*cg))) == NULL ||
	    (cg->h = calloc(n ? n : 1, sizeof(*cg->h))) == NULL ||
	    (cg->path = strdup(rel)) == NULL) {
		if (cg)
			free(cg->h);
		free(cg);
		return cradle_err_nomem(err);
	}
	cg->v2_dirfd = cg->v2_procs_fd = -1;
	/* the parent's path: "/a/b/<id>" -> "/a/b", "/<id>" -> "" (the root) */
	memcpy(up, rel, strlen(rel) + 1);
	*strrchr(up, '/') = '\0';

	for (size_t i = 0; i < n && rc == 0; i++) {
		struct cg_h *h = &cg->h[cg->n_h++];
		h->v2 = t[i].h == NULL;
		h->shared = shared_in(&t[i], join_pid > 0);
		const char *here = h->shared ? up : rel;
		if (join_path(leaf, sizeof(leaf), t[i].mount, here, NULL) != 0) {
			rc = cradle_err_set(err, CRADLE_INTERNAL,
			                    "create cgroup \"%s\": path too long", cgroups_path);
			break;
		}
		if ((h->leaf = strdup(leaf)) == NULL) {
			rc = cradle_err_nomem(err);
			break;
		}
		/* a shared parent has no leaf of ours to keep it: another
		 * sandbox that made it may remove it between our mkdir and
		 * our open (ENOENT), as a parent may vanish in make_chain */
		for (int attempt = 1;; attempt++) {
			if ((rc = make_chain(&t[i], here, cgroups_path, h, err)) != 0)
				break;
			if (h->v2 && s->layout == CGROUP_V2)
				enable_controllers(t[i].mount, rel);
			rc = setup_leaf(s, &t[i], cg, leaf, cpu_shares, cgroups_path, err);
			if (rc != -ENOENT || !h->shared || attempt >= MKDIR_TRIES)
				break;
		}
	}
	/* the task waits (not exec'd): the parent moves it; once it may be
	 * in one, the directories are the caller's to remove after the task
	 * is gone (*out, even on failure) */
	for (size_t i = 0; rc == 0 && join_pid > 0 && i < cg->n_procs; i++) {
		char pid_text[16];
		int l = snprintf(pid_text, sizeof(pid_text), "%d", (int)join_pid);
		if (write(cg->procs_fds[i], pid_text, (size_t)l) != l) {
			rc = cradle_err_errno(err, errno, "create cgroup \"%s\": move task %d",
			                      cgroups_path, (int)join_pid);
			cgroup_close_fds(cg);
			*out = cg;
			return rc;
		}
	}
	if (rc != 0) {
		/* undo: nothing ever ran in these directories (join_pid: the
		 * caller kills the task before its cgroups go) */
		cgroup_close_fds(cg);
		(void)remove_stacks(cg->h, cg->n_h, cgroups_path, NULL);
		cgroup_release(cg);
		return rc;
	}
	*out = cg;
	return 0;
}

int
cgroup_create(const struct cgroup_sys *s, const char *cgroups_path, uint64_t cpu_shares,
              struct cgroup **out, struct cradle_err *err)
{
	return create_in(s, cgroups_path, cpu_shares, 0, out, err);
}

int
cgroup_join_rest(const struct cgroup_sys *s, const char *cgroups_path, uint64_t cpu_shares,
                 pid_t pid, struct cgroup **out, struct cradle_err *err)
{
	if (pid <= 0)
		return cradle_err_set(err, CRADLE_INTERNAL, "create cgroup \"%s\": no task",
		                      cgroups_path);
	return create_in(s, cgroups_path, cpu_shares, pid, out, err);
}

const char *
cgroup_path(const struct cgroup *cg)
{
	return cg->path;
}

int
cgroup_v2_dirfd(const struct cgroup *cg)
{
	return cg ? cg->v2_dirfd : -1;
}

int
cgroup_v2_procs_fd(const struct cgroup *cg)
{
	return cg ? cg->v2_procs_fd : -1;
}

int
cgroup_procs_fds(const struct cgroup *cg, int *fds, size_t max)
{
	if (cg == NULL)
		return 0;
	for (size_t i = 0; i < cg->n_procs && i < max; i++)
		fds[i] = cg->procs_fds[i];
	return (int)cg->n_procs;
}

/* --- /proc/PID/cgroup ------------------------------------------------------- */

/* One line of /proc/PID/cgroup ("4:cpu,cpuacct:/x", no newline; cut
 * here): its path into buf when it is controller's (NULL or "": the v2
 * line "0::/x"), 0; -ENOENT when it is another's; -ERANGE. */
static int
cgroup_line(char *line, const char *controller, char *buf, size_t len)
{
	char *c1 = strchr(line, ':');
	char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (c2 == NULL)
		return -ENOENT;
	*c2 = '\0';
	bool match = (controller == NULL || controller[0] == '\0')
	                     ? (c1[1] == '\0' && c1 - line == 1 && line[0] == '0')
	                     : list_has(c1 + 1, controller, ',');
	if (!match)
		return -ENOENT;
	size_t l = strlen(c2 + 1);
	if (l >= len)
		return -ERANGE;
	memcpy(buf, c2 + 1, l + 1);
	return 0;
}

int
cgroup_of_pid(pid_t pid, const char *controller, char *buf, size_t len)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	ssize_t got;
	int rc = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -errno;
	while ((got = getline(&line, &cap, f)) >= 0) {
		if (got > 0 && line[got - 1] == '\n')
			line[--got] = '\0';
		if ((rc = cgroup_line(line, controller, buf, len)) != -ENOENT)
			break;
	}
	if (rc == -ENOENT && ferror(f))
		rc = -EIO;
	free(line);
	fclose(f);
	return rc;
}
