/* daemon.h - what cradle-bench does through cradled: starts and teardowns
 * of sets of sandboxes, the status/list probe, the daemon's pid. */
#ifndef CRADLE_BENCH_DAEMON_H
#define CRADLE_BENCH_DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "bench/bench.h"
#include "client/cradle.h"

/* The pod every bench sandbox is, daemon's and floor's alike: crictl's
 * JSON as a kubelet would send it (metadata, hostname, log directory, the
 * kubelet's labels and annotations), every namespace POD and the
 * RuntimeDefault seccomp profile.  prefix names the set ("bench", "live",
 * "probe"); i makes the name, uid and hostname unique.  Returns the length,
 * or -1 when buf is too small. */
int bench_pod_json(char *buf, size_t len, const char *prefix, size_t i);

/* A set of sandboxes started through the daemon. */
struct cradle_set {
	struct cradle_conn *conn;
	const char *prefix;
	size_t n;
	char (*ids)[CRADLE_SANDBOX_ID_LEN + 1];
	bool *started;
};

void cradle_set_init(struct cradle_set *s, struct cradle_conn *conn, const char *prefix, size_t n);
size_t cradle_set_left(const struct cradle_set *s); /* started and not removed */
void cradle_set_fini(struct cradle_set *s);

/* phase_op's over a struct cradle_set: cradle_sandbox_run of pod i (the
 * pod is built outside the measured call), and stop + remove. */
int op_cradle_start(void *arg, struct worker *w, size_t i, double *ms);
int op_cradle_teardown(void *arg, struct worker *w, size_t i, double *ms);

/* The probe: one thread with a connection of its own doing, while it
 * runs, sandbox.status round trips (of status_id) with a pause of
 * status_ms after each, and a sandbox.list (every sandbox) every list_ms,
 * the first one at once: a kubelet asks for one pod's status as its
 * workers need it and relists every second (PLEG). */
struct probe {
	struct cradle_conn *conn;
	const char *status_id;
	long status_ms, list_ms;
	/* The probe thread's time slice (0: the kernel's default).  A short
	 * one, as cradled's front end asks for, lets the woken probe preempt
	 * a busy CPU at once: without it a round trip mostly measures how
	 * long the probe waits for a CPU after the reply has arrived. */
	uint64_t slice_ns;
	pthread_t tid;
	atomic_bool stop;
	bool running;
	struct samples status, list; /* ms */
	size_t fails;
	size_t n_status, n_list; /* round trips tried */
	size_t list_len;         /* sandboxes in the last list reply */
};

/* Start the thread (samples are appended to what p already holds). */
int probe_start(struct probe *p);
void probe_stop(struct probe *p);
/* The same round trips again, n_status and n_list of them, back to back
 * and unrecorded: what the daemon's CPU time over them is, the probe's
 * share of a phase is (main.c subtracts it). */
void probe_replay(struct probe *p, size_t n_status, size_t n_list);

/* The daemon's own timings of its starts (cradle_daemon_stats): whole
 * operations and each pipeline step, as histograms counted since it
 * started.  A phase's share is the difference of two snapshots; the
 * rounds' shares are summed, and quantiles are read from the sum
 * (cradle_histogram_quantile: log2 buckets, linear within one, so a
 * quantile is good to the width of its bucket). */
#define DSTATS_MAX_STEPS 32
struct dstats {
	bool ok;
	struct cradle_histogram total;
	struct cradle_histogram steps[DSTATS_MAX_STEPS];
	size_t n_steps;
};
/* 0, or -1 when the daemon did not answer (err filled). */
int dstats_snapshot(struct cradle_conn *conn, struct dstats *out, struct cradle_error *err);
/* acc += after - before, step by step (by name); acc starts zeroed. */
void dstats_add_delta(struct dstats *acc, const struct dstats *before, const struct dstats *after);

/* The pid of the process holding the listening socket bound at
 * socket_url ("ipc://PATH"), found as `ss -xlp` finds it: the socket's
 * inode in /proc/net/unix, then the process with a descriptor of that
 * inode under /proc/PID/fd.  Nothing connects to the daemon (a connection
 * closed before nng's handshake would upset its listener).  -1 when it is
 * not an ipc:// URL or nothing (visible) listens there. */
pid_t daemon_listener_pid(const char *socket_url);

#endif
