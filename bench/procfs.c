/* procfs.c - the figures the bench reads from /proc: a process's CPU time
 * and memory, the kernel's unreclaimable slab, and its slab caches.
 *
 * Slab caches: /proc/slabinfo (root only) lists each cache's active objects
 * and object size; "bytes" here is active_objs * objsize, the memory the
 * objects themselves take (the slab pages around them, partial slabs
 * included, are what SUnreclaim counts).  SLUB merges caches of similar
 * size and flags, so a name may stand for several kinds of object (a
 * kernel booted with slub_nomerge shows them apart).  Reclaimable caches
 * (dentry, inodes) are listed too: the top list is "what grew", while
 * SUnreclaim is "what cannot be given back".
 */
#include "bench/bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double
proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* comm may hold spaces and ')': the fields follow the last ") " */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* after ") ": state(3) ppid pgrp session tty_nr tpgid flags minflt
	 * cminflt majflt cmajflt utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long
kb_field(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long kb = -1;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			kb = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

long
proc_status_kb(pid_t pid, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return kb_field(path, key);
}

long
meminfo_kb(const char *key)
{
	return kb_field("/proc/meminfo", key);
}

void
slab_settle(long max_ms)
{
	const long step_ms = 200, quiet_kb = 64;
	long last = meminfo_kb("SUnreclaim");
	int quiet = 0;

	for (long waited = 0; waited < max_ms && quiet < 3; waited += step_ms) {
		nanosleep(&(struct timespec){ .tv_nsec = step_ms * 1000000L }, NULL);
		long now = meminfo_kb("SUnreclaim");
		quiet = labs(now - last) <= quiet_kb ? quiet + 1 : 0;
		last = now;
	}
}

static bool
slab_add(struct slab_snap *s, size_t *cap, const char *name, long objs, long long bytes)
{
	if (s->n == *cap) {
		size_t nc = *cap ? 2 * *cap : 256;
		struct slab_cache *v = realloc(s->v, nc * sizeof(*v));
		if (v == NULL)
			return false;
		s->v = v;
		*cap = nc;
	}
	snprintf(s->v[s->n].name, sizeof(s->v[s->n].name), "%s", name);
	s->v[s->n].objs = objs;
	s->v[s->n].bytes = bytes;
	s->n++;
	return true;
}

int
slab_snapshot(struct slab_snap *s)
{
	char line[512], name[64];
	long active, total, size;
	size_t cap = 0;
	FILE *f;

	memset(s, 0, sizeof(*s));
	if ((s->sunreclaim_kb = meminfo_kb("SUnreclaim")) < 0)
		return -1;
	if ((f = fopen("/proc/slabinfo", "re")) == NULL)
		return 0; /* not root: SUnreclaim only */
	s->have_caches = true;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || strncmp(line, "slabinfo", 8) == 0)
			continue;
		if (sscanf(line, "%63s %ld %ld %ld", name, &active, &total, &size) != 4)
			continue;
		if (!slab_add(s, &cap, name, active, (long long)active * size))
			break;
	}
	fclose(f);
	return 0;
}

void
slab_snap_fini(struct slab_snap *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int
slab_snapshot_write(const char *path)
{
	struct slab_snap s;
	FILE *f;

	if (slab_snapshot(&s) < 0) {
		fprintf(stderr, "cradle-bench: /proc/meminfo: %s\n", strerror(errno));
		return -1;
	}
	if ((f = fopen(path, "we")) == NULL) {
		fprintf(stderr, "cradle-bench: %s: %s\n", path, strerror(errno));
		slab_snap_fini(&s);
		return -1;
	}
	fprintf(f, "SUnreclaim %ld\n", s.sunreclaim_kb);
	for (size_t i = 0; i < s.n; i++)
		fprintf(f, "%s %ld %lld\n", s.v[i].name, s.v[i].objs, s.v[i].bytes);
	slab_snap_fini(&s);
	if (fclose(f) != 0) {
		fprintf(stderr, "cradle-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
slab_snapshot_read(const char *path, struct slab_snap *s)
{
	char line[256], name[64];
	long objs;
	long long bytes;
	size_t cap = 0;
	FILE *f;

	memset(s, 0, sizeof(*s));
	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "cradle-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL ||
	    sscanf(line, "SUnreclaim %ld", &s->sunreclaim_kb) != 1) {
		fprintf(stderr, "cradle-bench: %s: not a slab snapshot\n", path);
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%63s %ld %lld", name, &objs, &bytes) == 3) {
			s->have_caches = true;
			if (!slab_add(s, &cap, name, objs, bytes))
				break;
		}
	fclose(f);
	return 0;
}

void
slab_growth_of(const struct slab_snap *before, const struct slab_snap *after, size_t n,
               struct slab_growth *out)
{
	double per = n > 0 ? 1.0 / (double)n : 0;

	memset(out, 0, sizeof(*out));
	out->n_sandboxes = n;
	out->sunreclaim_kb = (double)(after->sunreclaim_kb - before->sunreclaim_kb) * per;
	if (!before->have_caches || !after->have_caches)
		return;
	/* keep the SLAB_TOP largest growths in bytes, largest first */
	for (size_t i = 0; i < after->n; i++) {
		const struct slab_cache *a = &after->v[i];
		long long b0 = 0;
		long o0 = 0;
		for (size_t j = 0; j < before->n; j++)
			if (strcmp(before->v[j].name, a->name) == 0) {
				b0 = before->v[j].bytes;
				o0 = before->v[j].objs;
				break;
			}
		double db = (double)(a->bytes - b0);
		if (db <= 0)
			continue;
		size_t k = out->n_top;
		if (k == SLAB_TOP && db * per <= out->top[SLAB_TOP - 1].bytes)
			continue;
		if (k == SLAB_TOP)
			k--;
		else
			out->n_top++;
		while (k > 0 && out->top[k - 1].bytes < db * per) {
			out->top[k] = out->top[k - 1];
			k--;
		}
		snprintf(out->top[k].name, sizeof(out->top[k].name), "%s", a->name);
		out->top[k].bytes = db * per;
		out->top[k].objs = (double)(a->objs - o0) * per;
	}
}

void
slab_growth_print(FILE *f, const char *who, const struct slab_growth *g)
{
	fprintf(f, "%s: SUnreclaim %+.1f kB per sandbox (%zu sandboxes)\n", who, g->sunreclaim_kb,
	        g->n_sandboxes);
	if (g->n_top == 0)
		return;
	fprintf(f, "  slab caches by growth     objs/sb   bytes/sb\n");
	for (size_t i = 0; i < g->n_top; i++)
		fprintf(f, "  %-24s %8.2f %10.0f\n", g->top[i].name, g->top[i].objs,
		        g->top[i].bytes);
}

void
slab_growth_json(FILE *f, const struct slab_growth *g)
{
	fprintf(f, "{\"sandboxes\":%zu,\"sunreclaim_kb_per_sandbox\":%.2f,\"top\":[",
	        g->n_sandboxes, g->sunreclaim_kb);
	for (size_t i = 0; i < g->n_top; i++)
		fprintf(f,
		        "%s{\"cache\":\"%s\",\"objs_per_sandbox\":%.2f,\"bytes_per_sandbox\":%.0f}",
		        i ? "," : "", g->top[i].name, g->top[i].objs, g->top[i].bytes);
	fprintf(f, "]}");
}
