/* config.c - defaults, the INI file and validation. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	if (cfg->workers > 64)
		cfg->workers = 64;
	cfg->queue_depth = 512;
	cfg->contexts = 1024;
	cfg->shm_size = 64ull << 20;
	/* The pause rootfs `make` builds sits next to the binary. */
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(cfg->rootfs, sizeof(cfg->rootfs), "%s/rootfs", dirname(exe));
	}
}

struct parse_ctx {
	struct daemon_config *cfg;
	char msg[256];
};

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
	unsigned long long x = strtoull(v, &end, 10);
	if (errno != 0 || end == v || v[0] == '-')
		return false;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || x > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)x << shift;
	return true;
}

static bool
set_path(char *dst, size_t len, const char *v, char *msg, size_t mlen, const char *key)
{
	if (v[0] != '/' || strlen(v) >= len) {
		snprintf(msg, mlen, "%s: \"%s\" is not an absolute path shorter than %zu", key, v, len);
		return false;
	}
	snprintf(dst, len, "%s", v);
	return true;
}

static int
on_key(void *arg, const char *section, const char *key, const char *value)
{
	struct parse_ctx *p = arg;
	struct daemon_config *c = p->cfg;
	long x;

	if (key == NULL) /* a section header alone */
		return strcmp(section, "cradled") == 0 || strcmp(section, "sandbox") == 0 ||
		       (snprintf(p->msg, sizeof(p->msg), "unknown section [%s]", section), 0);
	if (strcmp(section, "cradled") == 0) {
		if (strcmp(key, "root") == 0)
			return set_path(c->root, sizeof(c->root), value, p->msg, sizeof(p->msg), key);
		if (strcmp(key, "state") == 0)
			return set_path(c->state, sizeof(c->state), value, p->msg, sizeof(p->msg), key);
		if (strcmp(key, "workers") == 0) {
			if (!parse_int(value, 1, 1024, &x))
				goto bad;
			c->workers = (int)x;
			return 1;
		}
		if (strcmp(key, "queue_depth") == 0) {
			if (!parse_int(value, 1, 1 << 20, &x))
				goto bad;
			c->queue_depth = (int)x;
			return 1;
		}
		if (strcmp(key, "contexts") == 0) {
			if (!parse_int(value, 1, 65536, &x))
				goto bad;
			c->contexts = (int)x;
			return 1;
		}
	} else if (strcmp(section, "sandbox") == 0) {
		if (strcmp(key, "rootfs") == 0)
			return set_path(c->rootfs, sizeof(c->rootfs), value, p->msg, sizeof(p->msg), key);
		if (strcmp(key, "shm_size") == 0) {
			if (!parse_size(value, &c->shm_size) || c->shm_size == 0)
				goto bad;
			return 1;
		}
	} else {
		snprintf(p->msg, sizeof(p->msg), "unknown section [%s]", section);
		return 0;
	}
	snprintf(p->msg, sizeof(p->msg), "unknown key \"%s\" in [%s]", key, section);
	return 0;
bad:
	snprintf(p->msg, sizeof(p->msg), "%s: bad value \"%s\"", key, value);
	return 0;
}

int
config_load(struct daemon_config *cfg, const char *path, bool explicit, struct cradle_err *err)
{
	struct parse_ctx p = { .cfg = cfg };
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		if (errno == ENOENT && !explicit)
			return 0;
		return cradle_err_errno(err, errno, "%s", path);
	}
	int line = ini_parse_file(f, on_key, &p);
	fclose(f);
	if (line != 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s:%d: %s", path, line,
		                      p.msg[0] ? p.msg : "syntax error");
	return 0;
}

int
config_validate(struct daemon_config *cfg, struct cradle_err *err)
{
	if (cfg->rootfs[0] == '\0')
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "sandbox rootfs is not set");
	if (cfg->workers < 1 || cfg->queue_depth < 1 || cfg->contexts < 1)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "workers, queue_depth and contexts must be at least 1");
	return 0;
}

void
config_print(const struct daemon_config *c)
{
	printf("[cradled]\nroot = %s\nstate = %s\nworkers = %d\nqueue_depth = %d\ncontexts = %d\n\n"
	       "[sandbox]\nrootfs = %s\nshm_size = %llu\n",
	       c->root, c->state, c->workers, c->queue_depth, c->contexts, c->rootfs,
	       (unsigned long long)c->shm_size);
}
