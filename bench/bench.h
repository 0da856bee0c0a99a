/* bench.h - what the files of cradle-bench share: the clock, latency
 * statistics, the first error of a run, the threaded phase runner, and the
 * readers of /proc the memory and CPU figures come from.
 *
 *   main.c    options, the order of the phases, the table, JSON and RESULT
 *   phase.c   the phase runner: N operations from C threads released together
 *   daemon.c  operations through cradled (libcradle), the status/list probe,
 *             finding the daemon's pid
 *   floor.c   the same-plan floor: a sandbox made by the sandbox layer's own
 *             calls in this process, no daemon in between (floor.h)
 *   procfs.c  /proc/PID/stat and status, /proc/meminfo, /proc/slabinfo
 */
#ifndef CRADLE_BENCH_H
#define CRADLE_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "client/cradle.h"
#include "sandbox/launch.h"

/* ---- time and statistics ---- */

/* CLOCK_MONOTONIC in milliseconds. */
double now_ms(void);

struct lat_stats {
	size_t n;
	double p50, p90, p99, max;
};

/* Sorts v[0..n) in place and fills out (nearest rank; zeros when n == 0). */
void lat_stats_of(double *v, size_t n, struct lat_stats *out);
/* Nearest rank over sorted values: sorted[ceil(pct/100 * n) - 1]. */
double percentile(const double *sorted, size_t n, double pct);
/* The median of v[0..n) (sorts v); 0 when n == 0. */
double median(double *v, size_t n);

/* A growable array of latencies (ms), appended to by one thread. */
struct samples {
	double *v;
	size_t n, cap;
};
/* false when out of memory (the sample is dropped). */
bool samples_add(struct samples *s, double ms);
void samples_fini(struct samples *s);

/* ---- the first error of the run ---- */

/* Kept for the final message: the phase, the operation's index, the code
 * (enum cradle_status) and the message. */
void bench_err(const char *phase, size_t index, int code, const char *msg);
/* Prints it to stderr when there is one; returns whether there was. */
bool bench_err_report(void);

/* Out of memory in the bench itself: there is nothing sensible to do. */
void *xcalloc(size_t n, size_t size);

/* ---- phases ---- */

struct phase;

/* One bench thread.  st is its launch stack (only when the phase asks). */
struct worker {
	pthread_t tid;
	struct phase *ph;
	struct launch_stack st;
};

/* Perform operation i.  Returns 0 with *ms set, 1 when there is nothing to
 * do for i (teardown of a start that failed), <0 on failure (recorded with
 * bench_err). */
typedef int (*phase_op)(void *arg, struct worker *w, size_t i, double *ms);

struct phase {
	/* set by the caller */
	const char *name;
	phase_op op;
	void *arg;
	size_t n, c;
	bool needs_stack; /* launch_start needs a stack per thread */
	bool stoppable;   /* starts: take no new index once bench_interrupted */

	/* results, valid after phase_run */
	double *lat; /* ms by index, valid where done[i] */
	bool *done;
	size_t n_ok, n_fail;
	double wall_s;
	struct lat_stats st;

	/* private to phase.c */
	atomic_size_t next, fails;
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cv;
	bool gate_open, abort;
};

/* Set (from the signal thread) on SIGINT, SIGTERM or SIGHUP: starts end
 * early, teardowns still run to the end. */
extern atomic_bool bench_interrupted;

/* Run ph: c threads are created, released together, and take indices from
 * one counter until n are done; the wall time runs from the release to the
 * last join.  0, or -1 when an operation (or thread creation) failed. */
int phase_run(struct phase *ph);
/* ops per second of wall time */
double phase_rate(const struct phase *ph);
void phase_free(struct phase *ph);

/* ---- /proc ---- */

/* utime + stime of pid in seconds, -1 when unreadable. */
double proc_cpu_s(pid_t pid);
/* A "Key:   N kB" field of /proc/PID/status (VmRSS, RssAnon), -1 if none. */
long proc_status_kb(pid_t pid, const char *key);
/* A "Key:   N kB" field of /proc/meminfo (SUnreclaim, Slab), -1 if none. */
long meminfo_kb(const char *key);

/* One cache of /proc/slabinfo: objects and bytes held (num_objs * objsize). */
struct slab_cache {
	char name[64];
	long objs;
	long long bytes;
};

struct slab_snap {
	long sunreclaim_kb; /* /proc/meminfo SUnreclaim */
	struct slab_cache *v;
	size_t n;
	bool have_caches; /* /proc/slabinfo was readable (root) */
};

/* Wait (at most max_ms) until SUnreclaim stops moving: objects freed after an
 * RCU grace period or by the kernel's deferred network-namespace cleanup
 * would otherwise land in whichever snapshot comes next. */
void slab_settle(long max_ms);
/* 0, or -1 when /proc/meminfo is unreadable. */
int slab_snapshot(struct slab_snap *s);
void slab_snap_fini(struct slab_snap *s);
/* The same as text ("SUnreclaim N" then "cache objs bytes" lines), so a
 * script can take one around something else (bench/run.sh: runc). */
int slab_snapshot_write(const char *path);
int slab_snapshot_read(const char *path, struct slab_snap *s);

/* What grew between two snapshots, per sandbox. */
#define SLAB_TOP 8
struct slab_growth {
	size_t n_sandboxes;
	double sunreclaim_kb; /* per sandbox */
	size_t n_top;
	struct {
		char name[64];
		double objs;  /* per sandbox */
		double bytes; /* per sandbox */
	} top[SLAB_TOP];
};
void slab_growth_of(const struct slab_snap *before, const struct slab_snap *after, size_t n,
                    struct slab_growth *out);
void slab_growth_print(FILE *f, const char *who, const struct slab_growth *g);
/* {"sandboxes":N,"sunreclaim_kb_per_sandbox":X,"top":[...]} */
void slab_growth_json(FILE *f, const struct slab_growth *g);

#endif
