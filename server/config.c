/* config.c - defaults, the INI file, its drop-ins, validation, printing.
 *
 * The file is read by a small parser of this dialect (parse_line), not by
 * inih, which cradle used before: Debian's inih takes lines of at most
 * INI_MAX_LINE (200) bytes, compiled in (its run-time knobs are process
 * globals), splits longer ones silently, and strips a " ;" comment before
 * its caller sees the value, so no quoting rule could be put on top of
 * it.  Lines here have no length limit, and a value may be written in
 * double quotes ("a ;b", "\"x\"", " padded ") so that every value
 * config_fprint prints reads back as the same value.
 *
 * Every key is described once, in the tables below, so that parsing,
 * config_fprint and config_diff cannot drift apart.
 */
#include "server/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/proto.h"
#include "proto/ref.h"
#include "sandbox/files.h"
#include "sandbox/runtime.h"

/* ---- runtimes ---- */

static void
runtimes_clear(struct daemon_config *cfg)
{
	for (size_t i = 0; i < cfg->n_runtimes; i++)
		runtime_config_fini(&cfg->runtimes[i]);
	free(cfg->runtimes);
	cfg->runtimes = NULL;
	cfg->n_runtimes = 0;
}

/* Append a runtime with the defaults of an empty [runtime.NAME] section.
 * Every string is non-NULL ("" = unset) so that users need no NULL checks. */
static struct runtime_config *
runtime_add(struct daemon_config *cfg, const char *name)
{
	struct runtime_config *v = realloc(cfg->runtimes, (cfg->n_runtimes + 1) * sizeof(*v));

	if (v == NULL)
		return NULL;
	cfg->runtimes = v;
	struct runtime_config *rt = &v[cfg->n_runtimes];
	memset(rt, 0, sizeof(*rt));
	rt->name = strdup(name);
	rt->type = strdup(CRADLE_DEFAULT_RUNTIME_TYPE);
	rt->path = strdup("");
	rt->seccomp_default = strdup("");
	rt->launcher = strdup("native");
	rt->root = strdup("");
	if (rt->name == NULL || rt->type == NULL || rt->path == NULL ||
	    rt->seccomp_default == NULL || rt->launcher == NULL || rt->root == NULL) {
		runtime_config_fini(rt);
		return NULL;
	}
	cfg->n_runtimes++;
	return rt;
}

struct runtime_set
config_runtimes(const struct daemon_config *cfg)
{
	return (struct runtime_set){ .v = cfg->runtimes,
		                     .n = cfg->n_runtimes,
		                     .default_name = cfg->default_runtime };
}

static const struct runtime_config *
config_find_runtime(const struct daemon_config *cfg, const char *name)
{
	struct runtime_set rs = config_runtimes(cfg);

	return runtime_find(&rs, name);
}

/* ---- defaults ---- */

void
config_defaults(struct daemon_config *cfg)
{
	char exe[PATH_MAX];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->root, sizeof(cfg->root), "/var/lib/cradle");
	snprintf(cfg->state, sizeof(cfg->state), "/run/cradle");
	/* Workers block in the kernel (mounts, clone, fsync) far more than
	 * they compute, so more threads than cores keeps the cores busy. */
	cfg->workers = ncpu > 0 ? (int)(ncpu * 4) : 8;
	snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
	snprintf(cfg->log_format, sizeof(cfg->log_format), "auto");
	if (cfg->workers > 64)
		cfg->workers = 64;
	cfg->queue_depth = 512;
	cfg->contexts = 1024;
	cfg->shm_size = 64ull << 20;
	/* The built-in image archive `make` builds sits next to the binary;
	 * `make install` puts it in PREFIX/lib/cradle/ and the binary in
	 * PREFIX/sbin/, so an installed cradled finds it relative to itself
	 * (under a DESTDIR too). */
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *dir = dirname(exe);
		snprintf(cfg->image_archive, sizeof(cfg->image_archive), "%s/pause.oci.tar", dir);
		if (access(cfg->image_archive, F_OK) != 0) {
			const char *prefix = dirname(dir);
			snprintf(cfg->image_archive, sizeof(cfg->image_archive),
			         "%s/lib/cradle/pause.oci.tar",
			         strcmp(prefix, "/") == 0 ? "" : prefix);
		}
	}
	snprintf(cfg->image, sizeof(cfg->image), "%s", CRADLE_DEFAULT_IMAGE);
	snprintf(cfg->default_runtime, sizeof(cfg->default_runtime), "%s", CRADLE_DEFAULT_RUNTIME);
	snprintf(cfg->cgroup_root, sizeof(cfg->cgroup_root), "%s", CRADLE_DEFAULT_CGROUP_ROOT);
	snprintf(cfg->host_resolv_conf, sizeof(cfg->host_resolv_conf), "%s",
	         FILES_HOST_RESOLV_CONF);
	/* go-selinux's default: categories c0..c1023 */
	cfg->selinux_category_range = 1024;
	/* one pidfd each, under a hard RLIMIT_NOFILE of 20,000 or more on
	 * most nodes (server/main.c checks it) */
	cfg->max_sandboxes = 10000;
	cfg->events_keep = 65536;
	cfg->store_map_size = 1ull << 30;
	cfg->registry_timeout = 600;
	snprintf(cfg->registry_config_path, sizeof(cfg->registry_config_path),
	         "/etc/cradle/certs.d");
	snprintf(cfg->registry_auth_file, sizeof(cfg->registry_auth_file), "/etc/cradle/auth.json");
	cfg->image_max_layer_bytes = 16ull << 30;
	cfg->image_max_layer_entries = 1000000;
	/* gzip cannot pass about 1032:1; only crafted layers come near it */
	cfg->image_max_expansion = 2000;
	/* containerd's defaults; Debian's plugins are in /usr/lib/cni */
	snprintf(cfg->cni_conf_dir, sizeof(cfg->cni_conf_dir), "/etc/cni/net.d");
	snprintf(cfg->cni_bin_dir, sizeof(cfg->cni_bin_dir), "/opt/cni/bin:/usr/lib/cni");
	cfg->cni_max_conf_num = 1;
	cfg->cni_required = true;
	cfg->cni_timeout = 10;
	/* NRI v1's own paths (containerd/nri DefaultConfPath, DefaultBinaryPath) */
	snprintf(cfg->nri_config_file, sizeof(cfg->nri_config_file), "/etc/nri/conf.json");
	snprintf(cfg->nri_plugin_dir, sizeof(cfg->nri_plugin_dir), "/opt/nri/bin");
	/* Out of memory here leaves no runtime; config_validate retries and
	 * reports it, as this function cannot. */
	(void)runtime_add(cfg, CRADLE_DEFAULT_RUNTIME);
}

void
config_fini(struct daemon_config *cfg)
{
	runtimes_clear(cfg);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- the key tables ---- */

enum key_type {
	K_PATH,     /* absolute path */
	K_OPT_PATH, /* "" or an absolute path */
	K_INT,      /* decimal int in [min, max] */
	K_SIZE,     /* bytes, optional k/m/g suffix, not 0 */
	K_BOOL,     /* true/false, yes/no, 1/0 */
	K_NAME,     /* a runtime handler name */
	K_REF,      /* a non-empty word without blanks (runtime type, log level) */
	K_IMAGE,    /* an image reference (proto/ref.h) */
	K_OPT_REF,  /* "" or such a word (a comma-separated host list) */
	K_CGROUP,   /* absolute cgroup path without empty, "." or ".." components */
	K_GLOBS,    /* comma-separated Go path.Match patterns -> struct proto_strs */
	K_SECCOMP,  /* "", runtime/default, unconfined, localhost/<absolute path> */
	K_ADDRESS,  /* "" or HOST:PORT of a TCP listener */
	K_PATHS,    /* ':'-separated absolute paths, at least one */
};

struct key_def {
	const char *name;
	enum key_type type;
	size_t off; /* in struct daemon_config, or struct runtime_config for [runtime.NAME] */
	size_t len; /* bytes of a char array; 0 for a malloc'd char * */
	long min, max;
};

#define FIELD_LEN(type, field) sizeof(((struct type *)0)->field)
/* The key tables read best one key a line, aligned by hand. */
/* clang-format off */
#define C_ARR(k, t, field) \
	{ k, t, offsetof(struct daemon_config, field), FIELD_LEN(daemon_config, field), 0, 0 }
#define C_VAL(k, t, field) { k, t, offsetof(struct daemon_config, field), 0, 0, 0 }
#define C_INT(k, field, lo, hi) { k, K_INT, offsetof(struct daemon_config, field), 0, lo, hi }
#define R_VAL(k, t, field) { k, t, offsetof(struct runtime_config, field), 0, 0, 0 }

static const struct key_def cradled_keys[] = {
	C_ARR("root", K_PATH, root),
	C_ARR("state", K_PATH, state),
	C_INT("workers", workers, 1, 1024),
	C_INT("queue_depth", queue_depth, 1, 1 << 20),
	C_INT("contexts", contexts, 1, 65536),
	/* checked against the node's groups at start-up (server/main.c) */
	C_ARR("group", K_OPT_REF, group),
	C_ARR("readonly_group", K_OPT_REF, readonly_group),
	C_INT("max_sandboxes", max_sandboxes, 1, 1 << 20),
	/* checked by config_validate (config_log_level, config_log_format) */
	C_ARR("log_level", K_REF, log_level),
	C_ARR("log_format", K_REF, log_format),
	{ NULL, 0, 0, 0, 0, 0 },
};

static const struct key_def sandbox_keys[] = {
	C_ARR("image_archive", K_PATH, image_archive),
	C_ARR("image", K_IMAGE, image),
	C_VAL("shm_size", K_SIZE, shm_size),
	C_ARR("default_runtime", K_NAME, default_runtime),
	C_VAL("restrict_oom_score_adj", K_BOOL, restrict_oom_score_adj),
	C_VAL("enable_unprivileged_ports", K_BOOL, enable_unprivileged_ports),
	C_VAL("enable_unprivileged_icmp", K_BOOL, enable_unprivileged_icmp),
	C_ARR("cgroup_root", K_CGROUP, cgroup_root),
	C_ARR("host_resolv_conf", K_PATH, host_resolv_conf),
	{ NULL, 0, 0, 0, 0, 0 },
};

static const struct key_def selinux_keys[] = {
	C_VAL("enable", K_BOOL, selinux_enable),
	/* Two categories at least: a level is a pair of distinct ones.  At
	 * most c0..c1023, what the policies and go-selinux use. */
	C_INT("category_range", selinux_category_range, 2, 1024),
	C_ARR("contexts", K_OPT_PATH, selinux_contexts),
	{ NULL, 0, 0, 0, 0, 0 },
};

/* Registries cradle pulls from: plain HTTP only for the listed hosts. */
static const struct key_def registry_keys[] = {
	C_ARR("insecure", K_OPT_REF, registry_insecure),
	C_ARR("ca_file", K_OPT_PATH, registry_ca_file),
	C_INT("timeout", registry_timeout, 1, 86400),
	C_ARR("config_path", K_OPT_PATH, registry_config_path),
	C_ARR("auth_file", K_OPT_PATH, registry_auth_file),
	{ NULL, 0, 0, 0, 0, 0 },
};

/* What one image layer may unpack to (imports and pulls alike). */
static const struct key_def images_keys[] = {
	C_VAL("max_layer_bytes", K_SIZE, image_max_layer_bytes),
	C_INT("max_layer_entries", image_max_layer_entries, 1, 1 << 30),
	C_INT("max_expansion", image_max_expansion, 1, 1 << 20),
	{ NULL, 0, 0, 0, 0, 0 },
};

/* The event store (core/events.c): how many events events.since replays. */
static const struct key_def events_keys[] = {
	C_INT("keep", events_keep, 1, 1 << 24),
	{ NULL, 0, 0, 0, 0, 0 },
};

/* The LMDB store under <root>. */
static const struct key_def store_keys[] = {
	C_VAL("map_size", K_SIZE, store_map_size),
	{ NULL, 0, 0, 0, 0, 0 },
};

/* The Prometheus endpoint (server/metrics.c): off unless an address is set. */
static const struct key_def metrics_keys[] = {
	C_ARR("address", K_ADDRESS, metrics_address),
	{ NULL, 0, 0, 0, 0, 0 },
};

/* The pods' network (worker/net.h, sandbox/cni.h), as containerd's
 * [plugins."io.containerd.grpc.v1.cri".cni]. */
static const struct key_def cni_keys[] = {
	C_ARR("conf_dir", K_PATH, cni_conf_dir),
	C_ARR("bin_dir", K_PATHS, cni_bin_dir),
	C_INT("max_conf_num", cni_max_conf_num, 1, 1024),
	C_VAL("required", K_BOOL, cni_required),
	C_INT("timeout", cni_timeout, 1, 600),
	{ NULL, 0, 0, 0, 0, 0 },
};

/* NRI v1 plugins at a sandbox's create and delete (sandbox/nri.h): its
 * own config file (absent: NRI off) and plugin directory. */
static const struct key_def nri_keys[] = {
	C_ARR("config_file", K_PATH, nri_config_file),
	C_ARR("plugin_dir", K_PATH, nri_plugin_dir),
	{ NULL, 0, 0, 0, 0, 0 },
};

static const struct key_def runtime_keys[] = {
	R_VAL("type", K_REF, type),
	R_VAL("path", K_OPT_PATH, path),
	R_VAL("pod_annotations", K_GLOBS, pod_annotations),
	R_VAL("vm", K_BOOL, vm),
	R_VAL("seccomp_default", K_SECCOMP, seccomp_default),
	/* checked by runtime_check (sandbox/runtime.c) */
	R_VAL("launcher", K_REF, launcher),
	R_VAL("root", K_OPT_PATH, root),
	R_VAL("no_pivot_root", K_BOOL, no_pivot_root),
	R_VAL("systemd_cgroup", K_BOOL, systemd_cgroup),
	{ NULL, 0, 0, 0, 0, 0 },
};
/* clang-format on */

enum section {
	SEC_NONE,
	SEC_CRADLED,
	SEC_SANDBOX,
	SEC_SELINUX,
	SEC_REGISTRY,
	SEC_METRICS,
	SEC_IMAGES,
	SEC_EVENTS,
	SEC_STORE,
	SEC_CNI,
	SEC_NRI,
	SEC_RUNTIME,
};
/* the sections named once, in the order config_fprint writes them */
#define SEC_LAST_FIXED SEC_NRI

/* clang-format off */
static const struct {
	const char *name;
	const struct key_def *keys;
} sections[] = {
	[SEC_CRADLED] = { "cradled", cradled_keys },
	[SEC_SANDBOX] = { "sandbox", sandbox_keys },
	[SEC_SELINUX] = { "selinux", selinux_keys },
	[SEC_REGISTRY] = { "registry", registry_keys },
	[SEC_METRICS] = { "metrics", metrics_keys },
	[SEC_IMAGES] = { "images", images_keys },
	[SEC_EVENTS] = { "events", events_keys },
	[SEC_STORE] = { "store", store_keys },
	[SEC_CNI] = { "cni", cni_keys },
	[SEC_NRI] = { "nri", nri_keys },
	[SEC_RUNTIME] = { "runtime.", runtime_keys },
};
/* clang-format on */

/* ---- value parsers ---- */

struct parse_ctx {
	struct daemon_config *cfg;
	FILE *f;
	const char *path; /* the file being read: the main one or a drop-in */
	char *buf;        /* getline's */
	size_t cap;
	char *val; /* the value of the current line, unquoted */
	size_t val_cap;
	int lineno; /* of the line being read */
	enum section sect;
	char sect_name[300]; /* "runtime." and a name of up to 253 bytes */
	size_t rt;           /* SEC_RUNTIME: index in cfg->runtimes */
	/* per file: a section may appear once in each */
	unsigned sects_seen; /* bit per enum section */
	size_t *rts_seen;    /* indexes in cfg->runtimes of its [runtime.*] */
	size_t n_rts_seen;
	unsigned keys_seen; /* bit per key of the current section */
	/* across the files */
	bool file_runtimes;           /* a [runtime.*] section was read */
	char runtimes_file[PATH_MAX]; /* the first file with one */
	char dr_file[PATH_MAX];       /* the file that set default_runtime last */
	int err_line;                 /* first error: line (0: none), message, code */
	int err_code;
	char msg[CRADLE_ERR_MSG_MAX];
};

/* Record the first error only: later ones may be its consequences. */
__attribute__((format(printf, 3, 4))) static int
fail(struct parse_ctx *p, int code, const char *fmt, ...)
{
	va_list ap;

	if (p->err_line != 0)
		return 0;
	p->err_line = p->lineno > 0 ? p->lineno : 1;
	p->err_code = code;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	return 0;
}

static bool
parse_int(const char *v, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x < min || x > max)
		return false;
	*out = x;
	return true;
}

/* "64m", "65536k", "67108864" */
static bool
parse_size(const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)v[0]))
		return false;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno != 0 || end == v)
		return false;
	unsigned shift = 0;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	default:
		break;
	}
	if (*end != '\0' || x > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)x << shift;
	return true;
}

static bool
parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "1" };
	static const char *const no[] = { "false", "no", "0" };

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool
is_word(const char *v)
{
	if (v[0] == '\0')
		return false;
	for (; *v != '\0'; v++)
		if (isspace((unsigned char)*v) || iscntrl((unsigned char)*v))
			return false;
	return true;
}

/* "/a/b": absolute, no empty (so no trailing '/'), "." or ".." component.
 * The cgroups path is "<root>/<id>", and a ".." could leave the tree the
 * daemon is meant to manage. */
static bool
cgroup_path_ok(const char *v)
{
	if (v[0] != '/' || !is_word(v))
		return false;
	for (const char *c = v; *c == '/';) {
		const char *e = strchrnul(c + 1, '/');
		size_t n = (size_t)(e - c - 1);
		if (n == 0 || (n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
			return false;
		c = e;
	}
	return true;
}

/* One character (or range end) of a class in a Go path.Match pattern. */
static bool
glob_class_char(const char **pp)
{
	const char *p = *pp;

	if (*p == '\0' || *p == '-' || *p == ']')
		return false;
	if (*p == '\\' && *++p == '\0')
		return false;
	*pp = p + 1;
	return true;
}

/* Go's path.Match syntax.  A pattern Go calls malformed (ErrBadPattern)
 * never matches in the reference, and fnmatch would read it differently,
 * so such a pattern is refused at start-up rather than silently dead. */
static bool
glob_ok(const char *p)
{
	while (*p != '\0') {
		if (*p == '\\') {
			if (p[1] == '\0')
				return false;
			p += 2;
		} else if (*p == '[') {
			int n = 0;
			if (*++p == '^')
				p++;
			for (;;) {
				if (*p == ']' && n > 0) {
					p++;
					break;
				}
				if (!glob_class_char(&p))
					return false;
				if (*p == '-') {
					p++;
					if (!glob_class_char(&p))
						return false;
				}
				n++;
			}
		} else {
			p++;
		}
	}
	return true;
}

/* "a, b*,,c" -> {"a", "b*", "c"}: blanks around items and empty items are
 * dropped, so a trailing comma or a line-up with spaces is harmless. */
static int
parse_globs(struct parse_ctx *p, const char *key, const char *v, struct proto_strs *out)
{
	struct proto_strs list = { 0 };
	char *copy = strdup(v);

	if (copy == NULL)
		return fail(p, CRADLE_RESOURCE_EXHAUSTED, "%s: out of memory", key);
	for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*tok == '\0')
			continue;
		if (!glob_ok(tok)) {
			fail(p, CRADLE_INVALID_ARGUMENT, "%s: \"%s\" is not a valid glob pattern",
			     key, tok);
			goto err;
		}
		if (proto_strs_add(&list, tok) < 0) {
			fail(p, CRADLE_RESOURCE_EXHAUSTED, "%s: out of memory", key);
			goto err;
		}
	}
	free(copy);
	proto_strs_fini(out);
	*out = list;
	return 1;
err:
	free(copy);
	proto_strs_fini(&list);
	return 0;
}

/* A host name as RFC 1123 has it: dot-separated labels of 1..63 letters,
 * digits and '-', not starting or ending with '-', 253 bytes at most. */
static bool
host_name_ok(const char *h, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)c) || (c == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && h[n - 1] != '-';
}

/* HOST:PORT of a TCP listener: an IPv4 address, a bracketed IPv6 address
 * or a host name, then a port 1..65535.  Fails (naming the part that is
 * wrong) through fail(). */
static int
check_address(struct parse_ctx *p, const char *key, const char *v)
{
	const char *host = v, *colon, *port;
	size_t hlen;
	char buf[256];
	unsigned char addr[16];
	long x;

	if (strstr(v, "://") != NULL)
		return fail(p, CRADLE_INVALID_ARGUMENT,
		            "%s: \"%s\" is a URL; give HOST:PORT (e.g. 127.0.0.1:9464)", key, v);
	if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (close == NULL || close[1] != ':')
			return fail(
				p, CRADLE_INVALID_ARGUMENT,
				"%s: \"%s\" is not HOST:PORT (e.g. 127.0.0.1:9464 or [::1]:9464)",
				key, v);
		host = v + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(v, ':');
		if (colon == NULL)
			return fail(
				p, CRADLE_INVALID_ARGUMENT,
				"%s: \"%s\" is not HOST:PORT (e.g. 127.0.0.1:9464 or [::1]:9464)",
				key, v);
		hlen = (size_t)(colon - v);
		if (memchr(v, ':', hlen) != NULL)
			return fail(p, CRADLE_INVALID_ARGUMENT,
			            "%s: \"%s\": an IPv6 address goes in brackets, as in "
			            "[::1]:9464",
			            key, v);
	}
	port = colon + 1;
	if (strspn(port, "0123456789") != strlen(port) || !parse_int(port, 1, 65535, &x))
		return fail(p, CRADLE_INVALID_ARGUMENT, "%s: \"%s\": port \"%s\" is not 1..65535",
		            key, v, port);
	if (hlen == 0)
		return fail(p, CRADLE_INVALID_ARGUMENT,
		            "%s: \"%s\": the host is missing (0.0.0.0 means every IPv4 address)",
		            key, v);
	if (hlen >= sizeof(buf))
		return fail(p, CRADLE_INVALID_ARGUMENT, "%s: \"%.64s...\": the host is too long",
		            key, v);
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	bool ok;
	if (host != v) /* in brackets */
		ok = inet_pton(AF_INET6, buf, addr) == 1;
	else if (strspn(buf, "0123456789.") == hlen) /* looks like IPv4: must be one */
		ok = inet_pton(AF_INET, buf, addr) == 1;
	else
		ok = host_name_ok(buf, hlen);
	if (!ok)
		return fail(
			p, CRADLE_INVALID_ARGUMENT, "%s: \"%s\": \"%s\" is not an %s", key, v, buf,
			host != v ? "IPv6 address" : "IPv4 address, [IPv6 address] or host name");
	return 1;
}

/* Store a checked string in a char array or a malloc'd char *. */
static int
store_str(struct parse_ctx *p, void *base, const struct key_def *kd, const char *v)
{
	char *field = (char *)base + kd->off;

	if (kd->len != 0) {
		if (strlen(v) >= kd->len)
			return fail(p, CRADLE_INVALID_ARGUMENT,
			            "%s: \"%.64s...\" is longer than %zu bytes", kd->name, v,
			            kd->len - 1);
		memcpy(field, v, strlen(v) + 1);
		return 1;
	}
	char *dup = strdup(v);
	if (dup == NULL)
		return fail(p, CRADLE_RESOURCE_EXHAUSTED, "%s: out of memory", kd->name);
	free(*(char **)field);
	*(char **)field = dup;
	return 1;
}

static int
set_value(struct parse_ctx *p, void *base, const struct key_def *kd, const char *v)
{
	void *field = (char *)base + kd->off;
	long x;

	switch (kd->type) {
	case K_PATH:
	case K_OPT_PATH:
		if (v[0] == '\0' && kd->type == K_OPT_PATH)
			break;
		if (v[0] != '/')
			return fail(p, CRADLE_INVALID_ARGUMENT,
			            "%s: \"%s\" is not an absolute path", kd->name, v);
		break;
	case K_INT:
		if (!parse_int(v, kd->min, kd->max, &x))
			return fail(p, CRADLE_INVALID_ARGUMENT,
			            "%s: \"%s\" is not an integer in %ld..%ld", kd->name, v,
			            kd->min, kd->max);
		*(int *)field = (int)x;
		return 1;
	case K_SIZE:
		if (!parse_size(v, field) || *(uint64_t *)field == 0)
			return fail(p, CRADLE_INVALID_ARGUMENT,
			            "%s: \"%s\" is not a size (bytes, or a number with k, m or g)",
			            kd->name, v);
		return 1;
	case K_BOOL:
		if (!parse_bool(v, field))
			return fail(p, CRADLE_INVALID_ARGUMENT,
			            "%s: \"%s\" is not a boolean (true/false, yes/no, 1/0)",
			            kd->name, v);
		return 1;
	case K_NAME:
		if (!runtime_name_ok(v))
			return fail(
				p, CRADLE_INVALID_ARGUMENT,
				"%s: \"%s\" is not a valid runtime name (up to %d letters, digits, "
				"'.', '_' or '-')",
				kd->name, v, RUNTIME_NAME_MAX);
		break;
	case K_REF:
	case K_OPT_REF:
		if (v[0] == '\0' && kd->type == K_OPT_REF)
			break;
		if (!is_word(v))
			return fail(p, CRADLE_INVALID_ARGUMENT,
			            "%s: \"%s\" is empty or contains blanks", kd->name, v);
		break;
	case K_IMAGE: {
		struct proto_ref ref;
		struct cradle_err e;
		if (proto_ref_parse(v, &ref, &e) < 0)
			return fail(p, CRADLE_INVALID_ARGUMENT, "%s: %s", kd->name, e.msg);
		break;
	}
	case K_CGROUP:
		if (!cgroup_path_ok(v))
			return fail(
				p, CRADLE_INVALID_ARGUMENT,
				"%s: \"%s\" is not an absolute cgroup path without empty, \".\" or "
				"\"..\" components",
				kd->name, v);
		break;
	case K_GLOBS:
		return parse_globs(p, kd->name, v, field);
	case K_ADDRESS:
		if (v[0] != '\0' && !check_address(p, kd->name, v))
			return 0;
		break;
	case K_PATHS:
		for (const char *d = v;; d++) {
			if (*d != '/')
				return fail(p, CRADLE_INVALID_ARGUMENT,
				            "%s: \"%s\" is not a ':'-separated list of absolute "
				            "paths",
				            kd->name, v);
			if ((d = strchr(d, ':')) == NULL)
				break;
		}
		break;
	case K_SECCOMP:
		if (v[0] != '\0' && strcmp(v, "runtime/default") != 0 &&
		    strcmp(v, "unconfined") != 0 &&
		    !(strncmp(v, "localhost/", 10) == 0 && v[10] == '/'))
			return fail(
				p, CRADLE_INVALID_ARGUMENT,
				"%s: \"%s\" is not \"\", \"runtime/default\", \"unconfined\" or "
				"\"localhost/<absolute path>\"",
				kd->name, v);
		break;
	}
	return store_str(p, base, kd, v);
}

/* ---- the file ---- */

/* The first of chars, or an inline ";" comment (one after a blank), or
 * the end: inih's rule, which files written for it rely on. */
static const char *
find_chars_or_comment(const char *s, const char *chars)
{
	bool blank = false;

	for (; *s != '\0' && strchr(chars, *s) == NULL && !(blank && *s == ';'); s++)
		blank = isspace((unsigned char)*s);
	return s;
}

static int
on_section(struct parse_ctx *p, const char *name)
{
	struct daemon_config *c = p->cfg;
	enum section s = SEC_NONE;

	snprintf(p->sect_name, sizeof(p->sect_name), "%s", name);
	p->keys_seen = 0;
	p->sect = SEC_NONE;
	for (enum section i = SEC_CRADLED; i <= SEC_LAST_FIXED; i++)
		if (strcmp(name, sections[i].name) == 0)
			s = i;
	if (s != SEC_NONE) {
		if (p->sects_seen & (1u << s))
			return fail(p, CRADLE_INVALID_ARGUMENT, "section [%s] appears twice", name);
		p->sects_seen |= 1u << s;
		p->sect = s;
		return 1;
	}
	if (strncmp(name, "runtime.", 8) != 0)
		return fail(p, CRADLE_INVALID_ARGUMENT, "unknown section [%s]", name);
	const char *rname = name + 8;
	if (!runtime_name_ok(rname))
		return fail(
			p, CRADLE_INVALID_ARGUMENT,
			"[%s]: \"%s\" is not a valid runtime name (up to %d letters, digits, '.', "
			"'_' or '-')",
			name, rname, RUNTIME_NAME_MAX);
	/* Runtimes in the files replace the default set instead of adding to
	 * it, so a node can do without runc. */
	if (!p->file_runtimes) {
		runtimes_clear(c);
		p->file_runtimes = true;
		snprintf(p->runtimes_file, sizeof(p->runtimes_file), "%s", p->path);
	}
	/* once per file; a later file's section sets keys of the same runtime */
	const struct runtime_config *rt = config_find_runtime(c, rname);
	size_t i;
	if (rt != NULL) {
		i = (size_t)(rt - c->runtimes);
		for (size_t j = 0; j < p->n_rts_seen; j++)
			if (p->rts_seen[j] == i)
				return fail(p, CRADLE_INVALID_ARGUMENT,
				            "section [%s] appears twice", name);
	} else {
		if (runtime_add(c, rname) == NULL)
			return fail(p, CRADLE_RESOURCE_EXHAUSTED, "[%s]: out of memory", name);
		i = c->n_runtimes - 1;
	}
	size_t *seen = realloc(p->rts_seen, (p->n_rts_seen + 1) * sizeof(*seen));
	if (seen == NULL)
		return fail(p, CRADLE_RESOURCE_EXHAUSTED, "[%s]: out of memory", name);
	p->rts_seen = seen;
	seen[p->n_rts_seen++] = i;
	p->rt = i;
	p->sect = SEC_RUNTIME;
	return 1;
}

/* The value after "key =" (s: just past the '=' or ':') into p->val.
 * Bare: up to an inline comment (a ';' after a blank), blanks around it
 * trimmed, so "key =;x" is ";x" and "key = ;x" is empty, as with inih.
 * Quoted (the first character that is not a blank is '"'): up to the
 * closing '"', with the escapes \" \\ \n \r \t; after it, only blanks or
 * a comment. */
static int
parse_value(struct parse_ctx *p, const char *s)
{
	const char *v = s;
	size_t n = 0, need = strlen(s) + 1;

	if (need > p->val_cap) {
		char *buf = realloc(p->val, need);
		if (buf == NULL)
			return fail(p, CRADLE_RESOURCE_EXHAUSTED, "out of memory");
		p->val = buf;
		p->val_cap = need;
	}
	while (isspace((unsigned char)*v))
		v++;
	if (*v != '"') {
		const char *e = find_chars_or_comment(s, "");
		if (v > e)
			v = e;
		while (e > v && isspace((unsigned char)e[-1]))
			e--;
		n = (size_t)(e - v);
		memcpy(p->val, v, n);
		p->val[n] = '\0';
		return 1;
	}
	for (v++; *v != '"'; v++) {
		char ch = *v;
		if (ch == '\\') {
			switch (*++v) {
			case '"':
			case '\\':
				ch = *v;
				break;
			case 'n':
				ch = '\n';
				break;
			case 'r':
				ch = '\r';
				break;
			case 't':
				ch = '\t';
				break;
			case '\0':
				ch = '\0';
				break;
			default:
				return fail(
					p, CRADLE_INVALID_ARGUMENT,
					"\"\\%c\" in a quoted value: the escapes are \\\" \\\\ \\n "
					"\\r \\t",
					*v);
			}
		}
		if (ch == '\0')
			return fail(p, CRADLE_INVALID_ARGUMENT,
			            "the quoted value has no closing '\"'");
		p->val[n++] = ch;
	}
	p->val[n] = '\0';
	for (v++; isspace((unsigned char)*v); v++)
		;
	if (*v != '\0' && *v != ';' && *v != '#')
		return fail(p, CRADLE_INVALID_ARGUMENT, "text after the quoted value");
	return 1;
}

static int
on_key(struct parse_ctx *p, const char *key, const char *value)
{
	struct daemon_config *c = p->cfg;

	if (p->sect == SEC_NONE)
		return fail(p, CRADLE_INVALID_ARGUMENT, "key \"%s\" is outside any section", key);
	const struct key_def *keys = sections[p->sect].keys;
	size_t i;
	for (i = 0; keys[i].name != NULL && strcmp(keys[i].name, key) != 0; i++)
		;
	if (keys[i].name == NULL)
		return fail(p, CRADLE_INVALID_ARGUMENT, "unknown key \"%s\" in [%s]", key,
		            p->sect_name);
	if (p->keys_seen & (1u << i))
		return fail(p, CRADLE_INVALID_ARGUMENT, "key \"%s\" is set twice in [%s]", key,
		            p->sect_name);
	p->keys_seen |= 1u << i;
	void *base = p->sect == SEC_RUNTIME ? (void *)&c->runtimes[p->rt] : (void *)c;
	if (!set_value(p, base, &keys[i], value))
		return 0;
	if (p->sect == SEC_SANDBOX && strcmp(key, "default_runtime") == 0) {
		c->default_runtime_line = p->lineno;
		snprintf(p->dr_file, sizeof(p->dr_file), "%s", p->path);
	}
	/* checked where they are set, so that the error names the line */
	if (p->sect == SEC_CRADLED) {
		enum log_level l;
		enum config_log_fmt f;
		if (strcmp(key, "log_level") == 0 && config_log_level(value, &l) < 0)
			return fail(p, CRADLE_INVALID_ARGUMENT,
			            "[cradled] log_level: \"%s\" is not one of " CONFIG_LOG_LEVELS,
			            value);
		if (strcmp(key, "log_format") == 0 && config_log_format(value, &f) < 0)
			return fail(
				p, CRADLE_INVALID_ARGUMENT,
				"[cradled] log_format: \"%s\" is not one of " CONFIG_LOG_FORMATS,
				value);
	}
	/* a key's own value here (its line named); what the keys mean
	 * together (a launcher's keys) in config_validate */
	if (p->sect == SEC_RUNTIME) {
		struct cradle_err e = { 0 };
		if (runtime_check_key(&c->runtimes[p->rt], key, &e) < 0)
			return fail(p, e.code, "%s", e.msg);
	}
	return 1;
}

/* One line, its end cut off. */
static int
parse_line(struct parse_ctx *p, char *s)
{
	if (p->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == ';' || *s == '#')
		return 1;
	if (*s == '[') {
		char *e = (char *)find_chars_or_comment(s + 1, "]");
		if (*e != ']')
			return fail(p, CRADLE_INVALID_ARGUMENT, "section header without \"]\"");
		const char *rest = e + 1;
		while (isspace((unsigned char)*rest))
			rest++;
		if (*rest != '\0' && *rest != ';' && *rest != '#')
			return fail(p, CRADLE_INVALID_ARGUMENT, "text after the section header");
		*e = '\0';
		return on_section(p, s + 1);
	}
	char *e = (char *)find_chars_or_comment(s, "=:");
	if (*e != '=' && *e != ':')
		return fail(p, CRADLE_INVALID_ARGUMENT, "expected \"key = value\"");
	const char *value = e + 1;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return parse_value(p, value) && on_key(p, s, p->val);
}

/* One file, the main one or a drop-in, into p->cfg: each file on its own
 * starts outside any section, and may name a section once. */
static int
parse_file(struct parse_ctx *p, const char *path, FILE *f, struct cradle_err *err)
{
	ssize_t n;
	int read_errno = 0;

	p->path = path;
	p->lineno = 0;
	p->sect = SEC_NONE;
	p->sect_name[0] = '\0';
	p->sects_seen = 0;
	p->n_rts_seen = 0;
	p->keys_seen = 0;
	while (p->err_line == 0) {
		errno = 0;
		if ((n = getline(&p->buf, &p->cap, f)) < 0) {
			read_errno = ferror(f) ? (errno ? errno : EIO) : 0;
			break;
		}
		p->lineno++;
		char *s = p->buf;
		if ((size_t)n != strlen(s)) {
			fail(p, CRADLE_INVALID_ARGUMENT, "line contains a NUL byte");
			break;
		}
		while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
			s[--n] = '\0';
		parse_line(p, s);
	}
	if (p->err_line != 0)
		return cradle_err_set(err, p->err_code, "%s:%d: %s", path, p->err_line, p->msg);
	if (read_errno != 0)
		return cradle_err_errno(err, read_errno, "%s:%d", path, p->lineno + 1);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The drop-ins of path: <path>.d/NAME.conf, NAME not starting with '.',
 * regular files (symbolic links followed: one to /dev/null masks a
 * name), sorted by name in byte order.  No directory: none. */
static int
list_dropins(const char *path, char ***out, size_t *n_out, struct cradle_err *err)
{
	char dir[PATH_MAX];
	char **v = NULL;
	size_t n = 0;
	int rc = 0;
	struct dirent *de;

	*out = NULL;
	*n_out = 0;
	if ((size_t)snprintf(dir, sizeof(dir), "%s.d", path) >= sizeof(dir))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "%s.d: the drop-in directory's path is too long", path);
	DIR *d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		return cradle_err_errno(err, errno, "open the drop-in directory \"%s\"", dir);
	}
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		size_t len = strlen(de->d_name);
		struct stat st;
		char *full;
		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (asprintf(&full, "%s/%s", dir, de->d_name) < 0) {
			rc = cradle_err_nomem(err);
			break;
		}
		if (stat(full, &st) != 0) {
			rc = cradle_err_errno(err, errno, "%s", full);
			free(full);
			break;
		}
		if (!S_ISREG(st.st_mode)) {
			free(full);
			continue;
		}
		char **nv = realloc(v, (n + 1) * sizeof(*nv));
		if (nv == NULL) {
			free(full);
			rc = cradle_err_nomem(err);
			break;
		}
		v = nv;
		v[n++] = full;
	}
	if (rc == 0 && errno != 0)
		rc = cradle_err_errno(err, errno, "read the drop-in directory \"%s\"", dir);
	closedir(d);
	if (rc < 0) {
		free_list(v, n);
		return rc;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), by_name);
	*out = v;
	*n_out = n;
	return 0;
}

/* default_runtime must name a runtime the files configure: the error
 * names the key's file and line, or the first file whose runtimes
 * replaced the default runc. */
static int
check_default_runtime(const struct parse_ctx *p, struct cradle_err *err)
{
	const struct daemon_config *c = p->cfg;

	if (config_find_runtime(c, c->default_runtime) != NULL ||
	    (p->dr_file[0] == '\0' && !p->file_runtimes))
		return 0;
	if (p->dr_file[0] != '\0')
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "%s:%d: default runtime \"%s\" is not configured", p->dr_file,
		                      c->default_runtime_line, c->default_runtime);
	return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
	                      "%s: default runtime \"%s\" is not configured", p->runtimes_file,
	                      c->default_runtime);
}

int
config_load(struct daemon_config *cfg, const char *path, bool explicit, struct cradle_err *err)
{
	struct parse_ctx *p = calloc(1, sizeof(*p));
	char **dropins = NULL;
	size_t n_dropins = 0;
	int rc = 0;

	if (p == NULL)
		return cradle_err_nomem(err);
	p->cfg = cfg;
	FILE *f = fopen(path, "re");
	if (f == NULL && (errno != ENOENT || explicit)) {
		rc = cradle_err_errno(err, errno, "%s", path);
	} else if (f != NULL) {
		snprintf(cfg->config_file, sizeof(cfg->config_file), "%s", path);
		rc = parse_file(p, path, f, err);
		fclose(f);
	}
	/* then the drop-ins, the default file's even when it is absent */
	if (rc == 0)
		rc = list_dropins(path, &dropins, &n_dropins, err);
	for (size_t i = 0; rc == 0 && i < n_dropins; i++) {
		if ((f = fopen(dropins[i], "re")) == NULL) {
			rc = cradle_err_errno(err, errno, "%s", dropins[i]);
			break;
		}
		rc = parse_file(p, dropins[i], f, err);
		fclose(f);
	}
	if (rc == 0)
		rc = check_default_runtime(p, err);
	free_list(dropins, n_dropins);
	free(p->buf);
	free(p->val);
	free(p->rts_seen);
	free(p);
	return rc < 0 ? -1 : 0;
}

int
config_log_level(const char *v, enum log_level *out)
{
	return log_level_parse(v, out) ? 0 : -1;
}

int
config_log_format(const char *v, enum config_log_fmt *out)
{
	static const char *const names[] = { [CONFIG_LOG_TEXT] = "text",
		                             [CONFIG_LOG_JSON] = "json",
		                             [CONFIG_LOG_JOURNAL] = "journal",
		                             [CONFIG_LOG_AUTO] = "auto" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i]) == 0) {
			*out = (enum config_log_fmt)i;
			return 0;
		}
	return -1;
}

/* [cradled] log_level and log_format; file names where they came from
 * ("" when no file was read: the defaults, which are good). */
static int
config_check_log(const char *level, const char *format, const char *file, struct cradle_err *err)
{
	enum log_level l;
	enum config_log_fmt f;
	const char *sep = file[0] != '\0' ? ": " : "";

	if (config_log_level(level, &l) < 0)
		return cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT,
			"%s%s[cradled] log_level: \"%s\" is not one of " CONFIG_LOG_LEVELS, file,
			sep, level);
	if (config_log_format(format, &f) < 0)
		return cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT,
			"%s%s[cradled] log_format: \"%s\" is not one of " CONFIG_LOG_FORMATS, file,
			sep, format);
	return 0;
}

int
config_validate(struct daemon_config *cfg, struct cradle_err *err)
{
	if (cfg->image_archive[0] == '\0')
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "sandbox image_archive is not set");
	if (cfg->workers < 1 || cfg->queue_depth < 1 || cfg->contexts < 1)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "workers, queue_depth and contexts must be at least 1");
	if (config_check_log(cfg->log_level, cfg->log_format, cfg->config_file, err) < 0)
		return -1;
	if (cfg->n_runtimes == 0 && runtime_add(cfg, CRADLE_DEFAULT_RUNTIME) == NULL)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
		                      "default runtime: out of memory");
	if (config_find_runtime(cfg, cfg->default_runtime) == NULL) {
		/* Name where the name came from: the key's line, or the file
		 * whose runtimes replaced the default "runc". */
		char where[4200] = "";
		if (cfg->config_file[0] != '\0' && cfg->default_runtime_line > 0)
			snprintf(where, sizeof(where), "%s:%d: ", cfg->config_file,
			         cfg->default_runtime_line);
		else if (cfg->config_file[0] != '\0')
			snprintf(where, sizeof(where), "%s: ", cfg->config_file);
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "%sdefault runtime \"%s\" is not configured", where,
		                      cfg->default_runtime);
	}
	/* keys a handler's launcher cannot honour are refused, not ignored */
	for (size_t i = 0; i < cfg->n_runtimes; i++) {
		if (runtime_check(&cfg->runtimes[i], err) < 0 ||
		    runtime_check_host(&cfg->runtimes[i], err) < 0) {
			if (cfg->config_file[0] != '\0')
				cradle_err_wrap(err, "%s", cfg->config_file);
			return -1;
		}
	}
	return 0;
}

/* ---- printing ---- */

static void
print_size(FILE *f, uint64_t v)
{
	static const char suffix[] = "gmk";

	for (int i = 0; i < 3; i++) {
		unsigned shift = 30 - 10 * (unsigned)i;
		if (v % (1ull << shift) == 0) {
			fprintf(f, "%llu%c", (unsigned long long)(v >> shift), suffix[i]);
			return;
		}
	}
	fprintf(f, "%llu", (unsigned long long)v);
}

/* A value must be quoted to read back as itself: it begins with '"' (the
 * quote would be taken for one), with ';' (a comment after "key = "), or
 * with or ending in a blank (trimmed); it holds a ';' after a blank (a
 * comment) or a line break. */
static bool
needs_quotes(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return false;
	if (s[0] == '"' || s[0] == ';' || isspace((unsigned char)s[0]) ||
	    isspace((unsigned char)s[n - 1]))
		return true;
	for (; *s != '\0'; s++)
		if (*s == '\n' || *s == '\r' || (isspace((unsigned char)*s) && s[1] == ';'))
			return true;
	return false;
}

static void
print_escaped(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* A string value as parse_value reads it back. */
static void
print_str(FILE *f, const char *s)
{
	if (!needs_quotes(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	print_escaped(f, s);
	fputc('"', f);
}

/* Patterns joined by ", ", quoted when the joined line would need it. */
static void
print_globs(FILE *f, const struct proto_strs *l)
{
	bool quote = false;

	for (size_t i = 0; i < l->n; i++)
		quote = quote || needs_quotes(l->v[i]) || (i > 0 && l->v[i][0] == ';');
	if (quote)
		fputc('"', f);
	for (size_t i = 0; i < l->n; i++) {
		fputs(i ? ", " : "", f);
		if (quote)
			print_escaped(f, l->v[i]);
		else
			fputs(l->v[i], f);
	}
	if (quote)
		fputc('"', f);
}

static bool
is_empty(const struct key_def *kd, const char *field)
{
	switch (kd->type) {
	case K_INT:
	case K_SIZE:
	case K_BOOL:
		return false;
	case K_GLOBS:
		return ((const struct proto_strs *)(const void *)field)->n == 0;
	default: {
		const char *s = kd->len != 0 ? field : *(char *const *)field;
		return s == NULL || s[0] == '\0';
	}
	}
}

/* One key's value as config_fprint writes it after "key = ". */
static void
print_value(FILE *f, const struct key_def *kd, const char *field)
{
	switch (kd->type) {
	case K_INT:
		fprintf(f, "%d", *(const int *)field);
		break;
	case K_SIZE:
		print_size(f, *(const uint64_t *)field);
		break;
	case K_BOOL:
		fputs(*(const bool *)field ? "true" : "false", f);
		break;
	case K_GLOBS:
		print_globs(f, (const void *)field);
		break;
	default: {
		const char *s = kd->len != 0 ? field : *(char *const *)field;
		print_str(f, s != NULL ? s : "");
		break;
	}
	}
}

static void
print_keys(FILE *f, const struct key_def *keys, const void *base)
{
	for (const struct key_def *kd = keys; kd->name != NULL; kd++) {
		const char *field = (const char *)base + kd->off;
		/* "key =" for an empty value: no trailing blank */
		fprintf(f, "%s =%s", kd->name, is_empty(kd, field) ? "" : " ");
		print_value(f, kd, field);
		fputc('\n', f);
	}
}

void
config_fprint(FILE *f, const struct daemon_config *c)
{
	for (enum section s = SEC_CRADLED; s <= SEC_LAST_FIXED; s++) {
		fprintf(f, "%s[%s]\n", s == SEC_CRADLED ? "" : "\n", sections[s].name);
		print_keys(f, sections[s].keys, c);
	}
	for (size_t i = 0; i < c->n_runtimes; i++) {
		fprintf(f, "\n[runtime.%s]\n", c->runtimes[i].name);
		print_keys(f, runtime_keys, &c->runtimes[i]);
	}
}

void
config_print(const struct daemon_config *c)
{
	config_fprint(stdout, c);
}

/* ---- reloading ---- */

/* What a running cradled applies on SIGHUP (server/main.c). */
static const struct {
	const char *section, *key;
} reloadable[] = {
	{ "cradled", "log_level" },
	{ "registry", "insecure" },
	{ "registry", "ca_file" },
	{ "registry", "timeout" },
	/* the files below these two are read again by every pull anyway */
	{ "registry", "config_path" },
	{ "registry", "auth_file" },
};

bool
config_key_reloadable(const char *section, const char *key)
{
	for (size_t i = 0; i < sizeof(reloadable) / sizeof(reloadable[0]); i++)
		if (strcmp(reloadable[i].section, section) == 0 &&
		    strcmp(reloadable[i].key, key) == 0)
			return true;
	return false;
}

/* A key's value as config_fprint prints it, malloc'd; NULL: no memory. */
static char *
value_string(const struct key_def *kd, const void *base)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	print_value(f, kd, (const char *)base + kd->off);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int
diff_keys(const char *section, const struct key_def *keys, const void *a, const void *b,
          config_change_fn fn, void *arg)
{
	int n = 0;

	for (const struct key_def *kd = keys; kd->name != NULL; kd++) {
		char *va = value_string(kd, a), *vb = value_string(kd, b);
		if (va == NULL || vb == NULL) {
			free(va);
			free(vb);
			return -1;
		}
		if (strcmp(va, vb) != 0) {
			struct config_change ch = {
				.section = section,
				.key = kd->name,
				.old_value = va,
				.new_value = vb,
				.reloadable = config_key_reloadable(section, kd->name),
			};
			fn(arg, &ch);
			n++;
		}
		free(va);
		free(vb);
	}
	return n;
}

int
config_diff(const struct daemon_config *a, const struct daemon_config *b, config_change_fn fn,
            void *arg)
{
	char sect[300];
	int n = 0, k;

	for (enum section s = SEC_CRADLED; s <= SEC_LAST_FIXED; s++) {
		if ((k = diff_keys(sections[s].name, sections[s].keys, a, b, fn, arg)) < 0)
			return -1;
		n += k;
	}
	for (size_t i = 0; i < a->n_runtimes; i++) {
		const struct runtime_config *rb = config_find_runtime(b, a->runtimes[i].name);
		snprintf(sect, sizeof(sect), "runtime.%s", a->runtimes[i].name);
		if (rb == NULL) {
			struct config_change ch = { .section = sect,
				                    .old_value = "defined",
				                    .new_value = "removed" };
			fn(arg, &ch);
			n++;
			continue;
		}
		if ((k = diff_keys(sect, runtime_keys, &a->runtimes[i], rb, fn, arg)) < 0)
			return -1;
		n += k;
	}
	for (size_t i = 0; i < b->n_runtimes; i++) {
		if (config_find_runtime(a, b->runtimes[i].name) != NULL)
			continue;
		snprintf(sect, sizeof(sect), "runtime.%s", b->runtimes[i].name);
		struct config_change ch = { .section = sect,
			                    .old_value = "absent",
			                    .new_value = "added" };
		fn(arg, &ch);
		n++;
	}
	return n;
}
