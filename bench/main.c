/* main.c - cradle-bench: sandbox start latency and throughput through
 * cradled, against the same sandboxes made in-process with no daemon (the
 * floor), with N sandboxes alive, and what each live sandbox costs.
 *
 * DESIGN
 * One run, so every figure sees the same machine state:
 *
 *   probe   one sandbox ("probe-0") the status probe asks about.
 *   live    --live N: N sandboxes started through cradled from --live-c
 *           threads (several requests in flight), kept alive while
 *           everything below is measured, removed at the end, also in
 *           parallel.  Across their start: the daemon's VmRSS and RssAnon,
 *           the kernel's SUnreclaim and /proc/slabinfo, each per live
 *           sandbox, and the daemon's CPU per start.
 *   rounds  --rounds R times, for each -c C, the cradle phases and the
 *           floor's, taking turns to go first, each once the kernel has
 *           settled (SUnreclaim still: its deferred namespace teardown of
 *           the previous phase done):
 *             cradle  n cradle_sandbox_run calls from C threads sharing one
 *                     connection (libcradle opens a request context per
 *                     call); beside them the probe thread does
 *                     sandbox.status round trips (10 ms apart) and a
 *                     sandbox.list every second, as a kubelet's PLEG
 *                     relists, on a connection of its own.  The daemon's
 *                     utime+stime over the phase, less what the probe's
 *                     round trips cost it (replayed alone right after),
 *                     per start; the daemon's own step timings
 *                     (cradle_daemon_stats) over the phase.  Then stop +
 *                     remove of each.
 *             floor   n sandboxes of the same pod made by the sandbox
 *                     layer's own calls in this process (floor.h), from C
 *                     threads; then their teardown.
 *           Each round's cradle/floor ratios (p50 and starts/s) compare
 *           phases that ran back to back; the ratios reported are the
 *           medians over the rounds, as are the rates.  Percentiles are
 *           nearest-rank over every successful operation of all rounds.
 *
 * The daemon's pid (for its CPU and memory) is that of the process holding
 * the listening socket at the ipc:// path, found as `ss -xlp` finds it
 * (/proc/net/unix, then /proc/PID/fd): the kernel's word, in this
 * process's pid namespace, for whoever serves the requests, without
 * connecting to it.  (SO_PEERCRED would need a connection, and one closed
 * before nng's handshake stops cradled's listener for good with nng
 * 1.5.2.)  --daemon-pid overrides it; when no listener is visible (a
 * socket that is not ipc://, another network namespace) the pid the
 * daemon reports in sandbox.version is used, right only in its own pid
 * namespace.
 *
 * Helpers for scripts (bench/run.sh measures runc with them):
 *   cradle-bench slab-snapshot FILE        wait for SUnreclaim to settle,
 *                                          write it and /proc/slabinfo
 *   cradle-bench slab-diff A B N [--json]  growth from A to B per sandbox
 *
 * The program reports figures only.  It exits 1 when any operation failed
 * (printing the first error of the run), 2 on a usage error, 130 when
 * interrupted (after removing what it started).
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/daemon.h"
#include "bench/floor.h"
#include "client/cradle.h"
#include "client/podjson.h"

#define BENCH_DEFAULT_N 200
/* The probe thread's time slice (struct probe): cradled's front end's (server/main.c) */
#define BENCH_PROBE_SLICE_NS 100000u
#define BENCH_DEFAULT_C 8
#define BENCH_MAX_N 1000000
#define BENCH_MAX_C 1024
#define BENCH_MAX_CS 8
#define BENCH_MAX_ROUNDS 100
#define BENCH_SHM_SIZE (64ull << 20) /* cradled's default shm_size */
#define BENCH_SETTLE_MS 15000

struct opts {
	const char *socket; /* NULL: libcradle's default / $CRADLE_SOCKET */
	size_t n;
	size_t cs[BENCH_MAX_CS];
	size_t n_cs;
	size_t live, live_c;
	unsigned rounds;
	bool cradle, floor, probe, json;
	bool probe_nng;   /* the probe's connection through nng's threads */
	bool probe_plain; /* the probe thread keeps the default time slice */
	long probe_ms, list_ms;
	pid_t daemon_pid;
	const char *image_archive; /* NULL: pause.oci.tar beside this binary */
	const char *floor_root, *floor_state, *floor_cgroup;
	const char *cdf;      /* prefix of the CDF data files */
	const char *json_out; /* also write the JSON object here */
};

/* One -c value's results over the rounds. */
struct cres {
	size_t c;
	/* pooled latencies of every round */
	struct samples c_start, c_down, f_start, f_down;
	struct samples fstep[FLOOR_STEPS];
	struct lat_stats s_c_start, s_c_down, s_f_start, s_f_down, s_status, s_list;
	struct lat_stats s_fstep[FLOOR_STEPS];
	size_t c_fail, c_down_fail, f_fail, f_down_fail;
	/* per round */
	size_t rounds;
	double *c_rate, *c_down_rate, *f_rate, *f_down_rate, *p50_ratio, *rate_ratio;
	double *cpu_ms;       /* daemon CPU per start, the probe's share taken out */
	double *cpu_raw_ms;   /* ... with it */
	double *probe_cpu_ms; /* the probe's replayed round trips, in all */
	double *c_p50, *f_p50;
	/* medians over the rounds */
	double m_c_rate, m_c_down_rate, m_f_rate, m_f_down_rate, m_p50_ratio, m_rate_ratio,
		m_cpu_ms, m_cpu_raw_ms;
	struct probe probe;   /* its samples pooled over the rounds */
	struct dstats dsteps; /* the daemon's own timings of these starts */
};

/* The live phase's figures. */
struct live {
	struct phase start, down;
	long rss0, rss1, anon0, anon1; /* daemon, kB */
	double cpu_ms_per_start;
	struct slab_growth slab;
	bool slab_ok;
};

struct floor_set {
	struct floor *f;
	const char *prefix;
	size_t n;
	struct floor_sb *sbs;
	double (*steps)[FLOOR_STEPS];
};

struct bench {
	struct opts o;
	char archive[PATH_MAX];
	struct floor *floor;
	struct cradle_conn *conn, *probe_conn;
	const char *sock;
	struct cradle_version ver;
	pid_t dpid;
	const char *dpid_source;
	struct cradle_set probe_set, live_set;
	struct live live;
	struct cres *res;
	bool failed;
};

/* ---- floor operations ---- */

static int
op_floor_start(void *arg, struct worker *w, size_t i, double *ms)
{
	struct floor_set *s = arg;
	struct cradle_err err = { 0 };
	struct pod_config pod;
	char json[2048];
	double t0;
	int len, rc;

	/* the same pod config the daemon decodes, outside the measured call */
	if ((len = bench_pod_json(json, sizeof(json), s->prefix, i)) < 0) {
		bench_err("floor start", i, CRADLE_STATUS_INTERNAL, "pod JSON too long");
		return -1;
	}
	if (podjson_parse(json, (size_t)len, &pod, &err) < 0) {
		bench_err("floor start", i, err.code, err.msg);
		return -1;
	}
	t0 = now_ms();
	rc = floor_start(s->f, &w->st, &pod, &s->sbs[i], s->steps[i], &err);
	*ms = now_ms() - t0;
	pod_config_fini(&pod);
	if (rc < 0) {
		bench_err("floor start", i, err.code, err.msg);
		return -1;
	}
	return 0;
}

static int
op_floor_teardown(void *arg, struct worker *w, size_t i, double *ms)
{
	struct floor_set *s = arg;
	struct cradle_err err = { 0 };
	double t0;
	int rc;

	(void)w;
	if (!s->sbs[i].live)
		return 1;
	t0 = now_ms();
	rc = floor_stop(s->f, &s->sbs[i], &err);
	*ms = now_ms() - t0;
	if (rc < 0) {
		bench_err("floor stop+remove", i, err.code, err.msg);
		return -1;
	}
	return 0;
}

/* ---- signals ---- */

static sigset_t stop_signals;

static void *
signal_main(void *arg)
{
	int sig;

	(void)arg;
	for (;;) {
		if (sigwait(&stop_signals, &sig) != 0)
			continue;
		if (!atomic_exchange(&bench_interrupted, true))
			fprintf(stderr,
			        "cradle-bench: signal %d: no more starts; removing what was "
			        "started\n",
			        sig);
	}
	return NULL;
}

/* ---- the phases ---- */

static void
append_phase(struct samples *to, const struct phase *ph)
{
	for (size_t i = 0; i < ph->n; i++)
		if (ph->done[i])
			samples_add(to, ph->lat[i]);
}

static double
ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static double
daemon_cpu(const struct bench *b)
{
	return b->dpid > 0 ? proc_cpu_s(b->dpid) : -1;
}

/* Between phases: the kernel tears network namespaces down in a work
 * queue after their last task is gone, so the previous phase's teardown
 * may still be running; SUnreclaim stops falling when it is done. */
#define BENCH_PHASE_SETTLE_MS 5000

/* The cradle phases of round k of one -c value. */
static void
run_cradle(struct bench *b, struct cres *r, size_t k)
{
	struct phase cs = { .name = "cradle start", .op = op_cradle_start, .stoppable = true };
	struct phase cd = { .name = "cradle stop+remove", .op = op_cradle_teardown };

	struct cradle_set set;
	cradle_set_init(&set, b->conn, "bench", b->o.n);
	cs.arg = cd.arg = &set;
	cs.n = cd.n = b->o.n;
	cs.c = cd.c = r->c;
	size_t ns0 = r->probe.n_status, nl0 = r->probe.n_list;
	struct dstats d0, d1;
	struct cradle_error derr = { 0 };
	/* not fatal: a daemon without daemon.stats still has figures */
	dstats_snapshot(b->conn, &d0, &derr);
	double cpu0 = daemon_cpu(b);
	if (b->o.probe && probe_start(&r->probe) < 0)
		b->failed = true;
	if (phase_run(&cs) < 0)
		b->failed = true;
	probe_stop(&r->probe);
	double cpu1 = daemon_cpu(b);
	if (d0.ok && dstats_snapshot(b->conn, &d1, &derr) == 0)
		dstats_add_delta(&r->dsteps, &d0, &d1);
	/* the probe's share of that CPU time: its round trips again,
	 * alone, with the phase's sandboxes still there */
	double cpu2 = daemon_cpu(b);
	if (b->o.probe)
		probe_replay(&r->probe, r->probe.n_status - ns0, r->probe.n_list - nl0);
	double cpu3 = daemon_cpu(b);
	if (phase_run(&cd) < 0)
		b->failed = true;
	append_phase(&r->c_start, &cs);
	append_phase(&r->c_down, &cd);
	r->c_fail += cs.n_fail;
	r->c_down_fail += cd.n_fail;
	r->c_rate[k] = phase_rate(&cs);
	r->c_down_rate[k] = phase_rate(&cd);
	r->c_p50[k] = cs.st.p50;
	if (cpu0 >= 0 && cpu1 >= 0 && cpu2 >= 0 && cpu3 >= 0 && cs.n_ok > 0) {
		r->cpu_raw_ms[k] = (cpu1 - cpu0) * 1e3 / (double)cs.n_ok;
		r->probe_cpu_ms[k] = (cpu3 - cpu2) * 1e3;
		r->cpu_ms[k] = (cpu1 - cpu0 - (cpu3 - cpu2)) * 1e3 / (double)cs.n_ok;
	} else {
		r->cpu_raw_ms[k] = r->probe_cpu_ms[k] = r->cpu_ms[k] = -1;
	}
	size_t left = cradle_set_left(&set);
	if (left > 0) {
		fprintf(stderr,
		        "cradle-bench: %zu sandboxes could not be removed (names "
		        "bench-<i>, namespace bench)\n",
		        left);
		b->failed = true;
	}
	cradle_set_fini(&set);
	phase_free(&cs);
	phase_free(&cd);
}

/* The floor phases of round k of one -c value. */
static void
run_floor(struct bench *b, struct cres *r, size_t k)
{
	struct phase fs = {
		.name = "floor start", .op = op_floor_start, .needs_stack = true, .stoppable = true
	};
	struct phase fd = { .name = "floor stop+remove", .op = op_floor_teardown };

	struct floor_set set = { .f = b->floor, .prefix = "bench", .n = b->o.n };
	set.sbs = xcalloc(b->o.n, sizeof(*set.sbs));
	set.steps = xcalloc(b->o.n, sizeof(*set.steps));
	fs.arg = fd.arg = &set;
	fs.n = fd.n = b->o.n;
	fs.c = fd.c = r->c;
	if (phase_run(&fs) < 0)
		b->failed = true;
	if (phase_run(&fd) < 0)
		b->failed = true;
	append_phase(&r->f_start, &fs);
	append_phase(&r->f_down, &fd);
	for (size_t i = 0; i < b->o.n; i++)
		if (fs.done[i])
			for (int s = 0; s < FLOOR_STEPS; s++)
				samples_add(&r->fstep[s], set.steps[i][s]);
	r->f_fail += fs.n_fail;
	r->f_down_fail += fd.n_fail;
	r->f_rate[k] = phase_rate(&fs);
	r->f_down_rate[k] = phase_rate(&fd);
	r->f_p50[k] = fs.st.p50;
	for (size_t i = 0; i < b->o.n; i++)
		if (set.sbs[i].live) {
			fprintf(stderr, "cradle-bench: floor sandbox %zu left behind\n", i);
			b->failed = true;
		}
	free(set.sbs);
	free(set.steps);
	phase_free(&fs);
	phase_free(&fd);
}

/* One round of one -c value: the cradle phases and the floor's, in turns
 * first (so neither always runs in the other's wake), each after the
 * kernel has settled. */
static void
run_round(struct bench *b, struct cres *r)
{
	size_t k = r->rounds;

	for (int half = 0; half < 2; half++) {
		bool cradle_now = (half == 0) == (k % 2 == 0);
		if (atomic_load(&bench_interrupted))
			break;
		if (cradle_now && b->o.cradle) {
			slab_settle(BENCH_PHASE_SETTLE_MS);
			run_cradle(b, r, k);
		} else if (!cradle_now && b->o.floor) {
			slab_settle(BENCH_PHASE_SETTLE_MS);
			run_floor(b, r, k);
		}
	}
	r->p50_ratio[k] = ratio(r->c_p50[k], r->f_p50[k]);
	r->rate_ratio[k] = ratio(r->c_rate[k], r->f_rate[k]);
	r->rounds++;
}

static double
median_of(const double *v, size_t n)
{
	double *copy = xcalloc(n, sizeof(*copy));
	double m;

	memcpy(copy, v, n * sizeof(*v));
	m = median(copy, n);
	free(copy);
	return m;
}

static void
summarize(struct cres *r)
{
	lat_stats_of(r->c_start.v, r->c_start.n, &r->s_c_start);
	lat_stats_of(r->c_down.v, r->c_down.n, &r->s_c_down);
	lat_stats_of(r->f_start.v, r->f_start.n, &r->s_f_start);
	lat_stats_of(r->f_down.v, r->f_down.n, &r->s_f_down);
	lat_stats_of(r->probe.status.v, r->probe.status.n, &r->s_status);
	lat_stats_of(r->probe.list.v, r->probe.list.n, &r->s_list);
	for (int s = 0; s < FLOOR_STEPS; s++)
		lat_stats_of(r->fstep[s].v, r->fstep[s].n, &r->s_fstep[s]);
	r->m_c_rate = median_of(r->c_rate, r->rounds);
	r->m_c_down_rate = median_of(r->c_down_rate, r->rounds);
	r->m_f_rate = median_of(r->f_rate, r->rounds);
	r->m_f_down_rate = median_of(r->f_down_rate, r->rounds);
	r->m_p50_ratio = median_of(r->p50_ratio, r->rounds);
	r->m_rate_ratio = median_of(r->rate_ratio, r->rounds);
	r->m_cpu_ms = median_of(r->cpu_ms, r->rounds);
	r->m_cpu_raw_ms = median_of(r->cpu_raw_ms, r->rounds);
}

/* N sandboxes through the daemon, kept alive; what they cost. */
static void
run_live_start(struct bench *b)
{
	struct live *L = &b->live;
	struct slab_snap s0 = { 0 }, s1 = { 0 };

	cradle_set_init(&b->live_set, b->conn, "live", b->o.live);
	L->start = (struct phase){ .name = "live start",
		                   .op = op_cradle_start,
		                   .arg = &b->live_set,
		                   .n = b->o.live,
		                   .c = b->o.live_c,
		                   .stoppable = true };
	slab_settle(BENCH_SETTLE_MS);
	bool slab0 = slab_snapshot(&s0) == 0;
	L->rss0 = proc_status_kb(b->dpid, "VmRSS");
	L->anon0 = proc_status_kb(b->dpid, "RssAnon");
	double cpu0 = daemon_cpu(b);
	if (phase_run(&L->start) < 0)
		b->failed = true;
	double cpu1 = daemon_cpu(b);
	slab_settle(BENCH_SETTLE_MS);
	bool slab1 = slab_snapshot(&s1) == 0;
	L->rss1 = proc_status_kb(b->dpid, "VmRSS");
	L->anon1 = proc_status_kb(b->dpid, "RssAnon");
	L->cpu_ms_per_start = cpu0 >= 0 && cpu1 >= 0 && L->start.n_ok > 0
	                              ? (cpu1 - cpu0) * 1e3 / (double)L->start.n_ok
	                              : -1;
	if (slab0 && slab1) {
		slab_growth_of(&s0, &s1, L->start.n_ok, &L->slab);
		L->slab_ok = true;
	}
	slab_snap_fini(&s0);
	slab_snap_fini(&s1);
}

static void
run_live_teardown(struct bench *b)
{
	struct live *L = &b->live;

	L->down = (struct phase){ .name = "live stop+remove",
		                  .op = op_cradle_teardown,
		                  .arg = &b->live_set,
		                  .n = b->o.live,
		                  .c = b->o.live_c };
	if (phase_run(&L->down) < 0)
		b->failed = true;
}

/* ---- output ---- */

static double
per_sandbox(long before, long after, size_t n)
{
	return before >= 0 && after >= 0 && n > 0 ? (double)(after - before) / (double)n : 0;
}

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s != NULL && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* A quantile of the daemon's histogram in ms. */
static double
hist_ms(const struct cradle_histogram *h, double q)
{
	return h->count > 0 ? (double)cradle_histogram_quantile(h, q) / 1e6 : 0;
}

static void
print_row(const char *name, const struct lat_stats *s, size_t fails, double rate)
{
	printf("  %-20s %6zu %5zu %9.3f %9.3f %9.3f %9.3f %9.1f\n", name, s->n, fails, s->p50,
	       s->p90, s->p99, s->max, rate);
}

static void
print_header(void)
{
	printf("  %-20s %6s %5s %9s %9s %9s %9s %9s\n", "phase", "ok", "fail", "p50 ms", "p90 ms",
	       "p99 ms", "max ms", "ops/s");
}

static void
print_phase_row(const struct phase *ph)
{
	print_row(ph->name, &ph->st, ph->n_fail, phase_rate(ph));
}

static void
print_table(const struct bench *b)
{
	const struct opts *o = &b->o;
	const struct live *L = &b->live;

	printf("cradle-bench: n=%zu c=", o->n);
	for (size_t j = 0; j < o->n_cs; j++)
		printf("%s%zu", j ? "," : "", o->cs[j]);
	printf(" rounds=%u live=%zu\n", o->rounds, o->live);
	if (o->cradle)
		printf("  daemon  %s, pid %d (%s), version %s (api %u)\n", b->sock, (int)b->dpid,
		       b->dpid_source, b->ver.version, b->ver.api_version);
	if (o->floor)
		printf("  floor   %s\n", floor_describe(b->floor));
	printf("  pod     every namespace POD, seccomp RuntimeDefault, kubelet's labels\n");

	if (o->cradle && o->live > 0) {
		printf("\nlive: %zu sandboxes through cradled, c=%zu\n", o->live, o->live_c);
		print_header();
		print_phase_row(&L->start);
		if (L->down.lat != NULL)
			print_phase_row(&L->down);
		size_t n = L->start.n_ok;
		printf("  daemon VmRSS %ld -> %ld kB (%+.2f kB/sandbox), RssAnon %ld -> %ld kB "
		       "(%+.2f kB/sandbox)\n",
		       L->rss0, L->rss1, per_sandbox(L->rss0, L->rss1, n), L->anon0, L->anon1,
		       per_sandbox(L->anon0, L->anon1, n));
		printf("  daemon CPU %.3f ms/start over the live starts\n", L->cpu_ms_per_start);
		if (L->slab_ok) {
			printf("  ");
			slab_growth_print(stdout, "kernel", &L->slab);
		}
	}

	for (size_t j = 0; j < o->n_cs; j++) {
		const struct cres *r = &b->res[j];
		printf("\nc=%zu, %zu round(s) of n=%zu with %zu live: percentiles over all rounds, "
		       "ops/s median of rounds\n",
		       r->c, r->rounds, o->n, o->live);
		print_header();
		if (o->cradle) {
			print_row("cradle start", &r->s_c_start, r->c_fail, r->m_c_rate);
			print_row("cradle stop+remove", &r->s_c_down, r->c_down_fail,
			          r->m_c_down_rate);
		}
		if (o->floor) {
			print_row("floor start", &r->s_f_start, r->f_fail, r->m_f_rate);
			print_row("floor stop+remove", &r->s_f_down, r->f_down_fail,
			          r->m_f_down_rate);
		}
		if (o->cradle && o->probe) {
			print_row("probe status", &r->s_status, 0, 0);
			print_row("probe list", &r->s_list, 0, 0);
			printf("  (probe: %zu failed; the last list held %zu sandboxes)\n",
			       r->probe.fails, r->probe.list_len);
		}
		if (o->floor) {
			printf("  floor steps p50/p99 ms:");
			for (int s = 0; s < FLOOR_STEPS; s++)
				printf(" %s %.3f/%.3f", floor_step_names[s], r->s_fstep[s].p50,
				       r->s_fstep[s].p99);
			printf("\n");
		}
		if (o->cradle && r->dsteps.ok) {
			printf("  cradled's own timings p50/p99 ms: start %.3f/%.3f;",
			       hist_ms(&r->dsteps.total, 0.5), hist_ms(&r->dsteps.total, 0.99));
			for (size_t s = 0; s < r->dsteps.n_steps; s++)
				printf(" %s %.3f/%.3f", r->dsteps.steps[s].step,
				       hist_ms(&r->dsteps.steps[s], 0.5),
				       hist_ms(&r->dsteps.steps[s], 0.99));
			printf("\n");
		}
		if (o->cradle)
			printf("  daemon CPU %.3f ms/start (%.3f with the probe's round trips)\n",
			       r->m_cpu_ms, r->m_cpu_raw_ms);
		if (o->cradle && o->floor)
			printf("  cradle/floor: p50 %.2fx, starts/s %.2fx (medians of the rounds' "
			       "ratios)\n",
			       r->m_p50_ratio, r->m_rate_ratio);
	}
}

/* One line per -c for scripts (bench/run.sh reads them). */
static void
print_results(const struct bench *b)
{
	const struct opts *o = &b->o;
	const struct live *L = &b->live;

	for (size_t j = 0; j < o->n_cs; j++) {
		const struct cres *r = &b->res[j];
		printf("RESULT live=%zu c=%zu", o->live, r->c);
		if (o->cradle)
			printf(" cradle_p50_ms=%.3f cradle_p99_ms=%.3f cradle_starts_s=%.1f",
			       r->s_c_start.p50, r->s_c_start.p99, r->m_c_rate);
		if (o->floor)
			printf(" floor_p50_ms=%.3f floor_p99_ms=%.3f floor_starts_s=%.1f",
			       r->s_f_start.p50, r->s_f_start.p99, r->m_f_rate);
		if (o->cradle && o->floor)
			printf(" p50_ratio=%.3f rate_ratio=%.3f", r->m_p50_ratio, r->m_rate_ratio);
		if (o->cradle) {
			printf(" daemon_cpu_ms_per_start=%.3f", r->m_cpu_ms);
			if (o->probe)
				printf(" status_p50_ms=%.3f status_p99_ms=%.3f list_p50_ms=%.3f "
				       "list_p99_ms=%.3f",
				       r->s_status.p50, r->s_status.p99, r->s_list.p50,
				       r->s_list.p99);
		}
		if (o->cradle && r->dsteps.ok)
			printf(" daemon_start_p50_ms=%.3f daemon_start_p99_ms=%.3f",
			       hist_ms(&r->dsteps.total, 0.5), hist_ms(&r->dsteps.total, 0.99));
		if (o->cradle && o->live > 0) {
			size_t n = L->start.n_ok;
			printf(" live_starts_s=%.1f rss_kb_per_sandbox=%.2f "
			       "rss_anon_kb_per_sandbox=%.2f",
			       phase_rate(&L->start), per_sandbox(L->rss0, L->rss1, n),
			       per_sandbox(L->anon0, L->anon1, n));
			if (L->slab_ok)
				printf(" slab_kb_per_sandbox=%.2f", L->slab.sunreclaim_kb);
		}
		printf("\n");
	}
}

static void
json_lat(FILE *f, const char *key, const struct lat_stats *s, size_t fails, double rate)
{
	fprintf(f,
	        "\"%s\":{\"ok\":%zu,\"failed\":%zu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
	        "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"per_s\":%.1f}",
	        key, s->n, fails, s->p50, s->p90, s->p99, s->max, rate);
}

static void
json_rounds(FILE *f, const char *key, const double *v, size_t n)
{
	fprintf(f, "\"%s\":[", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%.3f", i ? "," : "", v[i]);
	fprintf(f, "]");
}

static void
print_json(FILE *f, const struct bench *b)
{
	const struct opts *o = &b->o;
	const struct live *L = &b->live;

	fprintf(f, "{\"n\":%zu,\"c\":[", o->n);
	for (size_t j = 0; j < o->n_cs; j++)
		fprintf(f, "%s%zu", j ? "," : "", o->cs[j]);
	fprintf(f, "],\"rounds\":%u,\"live\":%zu,\"live_c\":%zu,", o->rounds, o->live, o->live_c);
	if (o->cradle) {
		fprintf(f, "\"daemon\":{\"socket\":");
		json_str(f, b->sock);
		fprintf(f, ",\"pid\":%d,\"pid_source\":", (int)b->dpid);
		json_str(f, b->dpid_source);
		fprintf(f, ",\"version\":");
		json_str(f, b->ver.version);
		fprintf(f, "},");
	}
	if (o->floor) {
		fprintf(f, "\"floor\":");
		json_str(f, floor_describe(b->floor));
		fprintf(f, ",");
	}
	if (o->cradle && o->live > 0) {
		size_t n = L->start.n_ok;
		fprintf(f, "\"live_phase\":{");
		json_lat(f, "start", &L->start.st, L->start.n_fail, phase_rate(&L->start));
		fprintf(f, ",");
		json_lat(f, "teardown", &L->down.st, L->down.n_fail, phase_rate(&L->down));
		fprintf(f,
		        ",\"daemon_rss_kb\":{\"before\":%ld,\"after\":%ld,\"per_sandbox\":%.3f},"
		        "\"daemon_rss_anon_kb\":{\"before\":%ld,\"after\":%ld,\"per_sandbox\":%.3f},"
		        "\"daemon_cpu_ms_per_start\":%.3f,\"slab\":",
		        L->rss0, L->rss1, per_sandbox(L->rss0, L->rss1, n), L->anon0, L->anon1,
		        per_sandbox(L->anon0, L->anon1, n), L->cpu_ms_per_start);
		if (L->slab_ok)
			slab_growth_json(f, &L->slab);
		else
			fprintf(f, "null");
		fprintf(f, "},");
	}
	fprintf(f, "\"results\":[");
	for (size_t j = 0; j < o->n_cs; j++) {
		const struct cres *r = &b->res[j];
		fprintf(f, "%s{\"c\":%zu,\"rounds_done\":%zu", j ? "," : "", r->c, r->rounds);
		if (o->cradle) {
			fprintf(f, ",");
			json_lat(f, "cradle_start", &r->s_c_start, r->c_fail, r->m_c_rate);
			fprintf(f, ",");
			json_lat(f, "cradle_teardown", &r->s_c_down, r->c_down_fail,
			         r->m_c_down_rate);
			fprintf(f, ",\"daemon_cpu_ms_per_start\":%.3f", r->m_cpu_ms);
			if (o->probe) {
				fprintf(f, ",");
				json_lat(f, "status", &r->s_status, 0, 0);
				fprintf(f, ",");
				json_lat(f, "list", &r->s_list, 0, 0);
				fprintf(f, ",\"probe_failed\":%zu,\"list_len\":%zu", r->probe.fails,
				        r->probe.list_len);
			}
			if (r->dsteps.ok) {
				const struct cradle_histogram *t = &r->dsteps.total;
				fprintf(f,
				        ",\"daemon_timings\":{\"starts\":%llu,\"p50_ms\":%.3f,"
				        "\"p99_ms\":%.3f,\"steps\":{",
				        (unsigned long long)t->count, hist_ms(t, 0.5),
				        hist_ms(t, 0.99));
				for (size_t s = 0; s < r->dsteps.n_steps; s++) {
					const struct cradle_histogram *h = &r->dsteps.steps[s];
					fprintf(f, "%s", s ? "," : "");
					json_str(f, h->step);
					fprintf(f, ":{\"p50_ms\":%.3f,\"p99_ms\":%.3f}",
					        hist_ms(h, 0.5), hist_ms(h, 0.99));
				}
				fprintf(f, "}}");
			}
		}
		if (o->floor) {
			fprintf(f, ",");
			json_lat(f, "floor_start", &r->s_f_start, r->f_fail, r->m_f_rate);
			fprintf(f, ",");
			json_lat(f, "floor_teardown", &r->s_f_down, r->f_down_fail,
			         r->m_f_down_rate);
			fprintf(f, ",\"floor_steps\":{");
			for (int s = 0; s < FLOOR_STEPS; s++)
				fprintf(f, "%s\"%s\":{\"p50_ms\":%.3f,\"p99_ms\":%.3f}",
				        s ? "," : "", floor_step_names[s], r->s_fstep[s].p50,
				        r->s_fstep[s].p99);
			fprintf(f, "}");
		}
		if (o->cradle && o->floor)
			fprintf(f, ",\"ratio\":{\"p50\":%.3f,\"starts_per_s\":%.3f}",
			        r->m_p50_ratio, r->m_rate_ratio);
		fprintf(f, ",\"per_round\":{");
		json_rounds(f, "cradle_p50_ms", r->c_p50, r->rounds);
		fprintf(f, ",");
		json_rounds(f, "cradle_starts_s", r->c_rate, r->rounds);
		fprintf(f, ",");
		json_rounds(f, "floor_p50_ms", r->f_p50, r->rounds);
		fprintf(f, ",");
		json_rounds(f, "floor_starts_s", r->f_rate, r->rounds);
		fprintf(f, ",");
		json_rounds(f, "p50_ratio", r->p50_ratio, r->rounds);
		fprintf(f, ",");
		json_rounds(f, "rate_ratio", r->rate_ratio, r->rounds);
		fprintf(f, ",");
		json_rounds(f, "daemon_cpu_ms_per_start", r->cpu_ms, r->rounds);
		fprintf(f, ",");
		json_rounds(f, "daemon_cpu_ms_per_start_with_probe", r->cpu_raw_ms, r->rounds);
		fprintf(f, ",");
		json_rounds(f, "probe_replay_cpu_ms", r->probe_cpu_ms, r->rounds);
		fprintf(f, "}}");
	}
	fprintf(f, "],\"interrupted\":%s,\"failed\":%s}\n",
	        atomic_load(&bench_interrupted) ? "true" : "false", b->failed ? "true" : "false");
}

/* "<prefix>-cradle-c<C>.dat" and "-floor-": "ms fraction" lines of the
 * sorted latencies (gnuplot draws them as steps). */
static int
write_cdf_file(const char *prefix, const char *who, size_t c, const struct samples *s)
{
	char path[PATH_MAX];
	FILE *f;

	if (s->n == 0)
		return 0;
	snprintf(path, sizeof(path), "%s-%s-c%zu.dat", prefix, who, c);
	if ((f = fopen(path, "we")) == NULL) {
		fprintf(stderr, "cradle-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "# %s start latency, c=%zu, %zu samples: ms cumulative-fraction\n", who, c,
	        s->n);
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, "%.4f %.6f\n", s->v[i], (double)(i + 1) / (double)s->n);
	if (fclose(f) != 0) {
		fprintf(stderr, "cradle-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
write_cdf(const struct bench *b)
{
	int rc = 0;

	for (size_t j = 0; j < b->o.n_cs; j++) {
		const struct cres *r = &b->res[j];
		/* sorted in place by summarize() */
		rc |= write_cdf_file(b->o.cdf, "cradle", r->c, &r->c_start);
		rc |= write_cdf_file(b->o.cdf, "floor", r->c, &r->f_start);
	}
	return rc;
}

/* ---- options ---- */

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: cradle-bench [--socket PATH] [-n N] [-c C[,C...]] [--rounds R]\n"
	        "                    [--live N] [--live-c C] [--no-probe] [--probe-ms MS]\n"
	        "                    [--probe-nng] [--probe-plain] [--list-ms MS]\n"
	        "                    [--floor-only|--no-floor] [--image-archive FILE]\n"
	        "                    [--floor-root DIR] [--floor-state DIR] [--floor-cgroup PATH]\n"
	        "                    [--daemon-pid PID] [--cdf PREFIX] [--json] [--json-out FILE]\n"
	        "       cradle-bench slab-snapshot FILE\n"
	        "       cradle-bench slab-diff BEFORE AFTER N [--json]\n"
	        "  --socket PATH      cradled request socket (default $CRADLE_SOCKET or " CRADLE_DEFAULT_SOCKET
	        ")\n"
	        "  -n N               sandboxes started per measured phase (default %d)\n"
	        "  -c C[,C...]        concurrent client threads, one set of phases each (default %d)\n"
	        "  --rounds R         repeat the measured phases R times (default 1)\n"
	        "  --live N           start N sandboxes first and keep them alive while measuring\n"
	        "  --live-c C         threads starting and removing them (default 8)\n"
	        "  --no-probe         no sandbox.status/sandbox.list probe beside the starts\n"
	        "  --probe-ms MS      the probe's pause after each status round trip (default 10)\n"
	        "  --probe-nng        the probe's connection through nng's threads (req0), as the\n"
	        "                     starts' is; default: libcradle's CRADLE_CONNECT_SYNC socket\n"
	        "  --probe-plain      the probe thread keeps the kernel's default time slice;\n"
	        "                     default: a short one (0.1 ms), as cradled's front end's\n"
	        "  --list-ms MS       the probe's sandbox.list period (default 1000, as PLEG)\n"
	        "  --floor-only       only the floor (no daemon needed)\n"
	        "  --no-floor         only the daemon\n"
	        "  --image-archive F  the pause image for the floor (default: pause.oci.tar beside\n"
	        "                     this binary, the one cradled imports)\n"
	        "  --floor-root DIR   where the floor's persistent dirs and image store go (/tmp)\n"
	        "  --floor-state DIR  where its volatile dirs go (default /tmp; a tmpfs as /run)\n"
	        "  --floor-cgroup P   the floor's cgroup parent (default /cradle-bench-floor)\n"
	        "  --daemon-pid PID   the daemon's pid (default: the owner of the listening socket)\n"
	        "  --cdf PREFIX       write PREFIX-{cradle,floor}-c<C>.dat latency CDFs\n"
	        "  --json             one JSON object instead of the table\n"
	        "  --json-out FILE    also write that object to FILE\n"
	        "The floor needs root: it creates namespaces, mounts, cgroups and pivots.\n",
	        BENCH_DEFAULT_N, BENCH_DEFAULT_C);
}

static bool
parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi)
		return false;
	*out = (size_t)v;
	return true;
}

static bool
parse_list(const char *s, size_t *v, size_t max, size_t *n)
{
	char buf[128], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", s);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (*n == max || !parse_size(tok, 1, BENCH_MAX_C, &v[*n]))
			return false;
		(*n)++;
	}
	return *n > 0;
}

static int
bad_value(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "cradle-bench: %s: \"%s\" is not %s\n", opt, val, want);
	return -1;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	enum {
		O_SOCKET = 256,
		O_ROUNDS,
		O_LIVE,
		O_LIVE_C,
		O_NO_PROBE,
		O_PROBE_MS,
		O_PROBE_NNG,
		O_PROBE_PLAIN,
		O_LIST_MS,
		O_FLOOR_ONLY,
		O_NO_FLOOR,
		O_ARCHIVE,
		O_FLOOR_ROOT,
		O_FLOOR_STATE,
		O_FLOOR_CGROUP,
		O_DAEMON_PID,
		O_CDF,
		O_JSON,
		O_JSON_OUT,
	};
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "rounds", required_argument, NULL, O_ROUNDS },
		{ "live", required_argument, NULL, O_LIVE },
		{ "live-c", required_argument, NULL, O_LIVE_C },
		{ "no-probe", no_argument, NULL, O_NO_PROBE },
		{ "probe-ms", required_argument, NULL, O_PROBE_MS },
		{ "probe-nng", no_argument, NULL, O_PROBE_NNG },
		{ "probe-plain", no_argument, NULL, O_PROBE_PLAIN },
		{ "list-ms", required_argument, NULL, O_LIST_MS },
		{ "floor-only", no_argument, NULL, O_FLOOR_ONLY },
		{ "no-floor", no_argument, NULL, O_NO_FLOOR },
		{ "image-archive", required_argument, NULL, O_ARCHIVE },
		{ "floor-root", required_argument, NULL, O_FLOOR_ROOT },
		{ "floor-state", required_argument, NULL, O_FLOOR_STATE },
		{ "floor-cgroup", required_argument, NULL, O_FLOOR_CGROUP },
		{ "daemon-pid", required_argument, NULL, O_DAEMON_PID },
		{ "cdf", required_argument, NULL, O_CDF },
		{ "json", no_argument, NULL, O_JSON },
		{ "json-out", required_argument, NULL, O_JSON_OUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool floor_only = false, no_floor = false;
	size_t v;
	int ch;

	memset(o, 0, sizeof(*o));
	o->n = BENCH_DEFAULT_N;
	o->cs[0] = BENCH_DEFAULT_C;
	o->n_cs = 1;
	o->live_c = 8;
	o->rounds = 1;
	o->probe = true;
	o->probe_ms = 10;
	o->list_ms = 1000;
	o->floor_root = "/tmp";
	o->floor_state = "/tmp";
	o->floor_cgroup = "/cradle-bench-floor";
	while ((ch = getopt_long(argc, argv, "n:c:h", lopts, NULL)) != -1) {
		switch (ch) {
		case O_SOCKET:
			o->socket = optarg;
			break;
		case 'n':
			if (!parse_size(optarg, 1, BENCH_MAX_N, &o->n))
				return bad_value("-n", optarg, "1..1000000");
			break;
		case 'c':
			if (!parse_list(optarg, o->cs, BENCH_MAX_CS, &o->n_cs))
				return bad_value("-c", optarg, "a list of up to 8 values 1..1024");
			break;
		case O_ROUNDS:
			if (!parse_size(optarg, 1, BENCH_MAX_ROUNDS, &v))
				return bad_value("--rounds", optarg, "1..100");
			o->rounds = (unsigned)v;
			break;
		case O_LIVE:
			if (!parse_size(optarg, 0, BENCH_MAX_N, &o->live))
				return bad_value("--live", optarg, "0..1000000");
			break;
		case O_LIVE_C:
			if (!parse_size(optarg, 1, BENCH_MAX_C, &o->live_c))
				return bad_value("--live-c", optarg, "1..1024");
			break;
		case O_NO_PROBE:
			o->probe = false;
			break;
		case O_PROBE_MS:
			if (!parse_size(optarg, 0, 60000, &v))
				return bad_value("--probe-ms", optarg, "0..60000");
			o->probe_ms = (long)v;
			break;
		case O_PROBE_NNG:
			o->probe_nng = true;
			break;
		case O_PROBE_PLAIN:
			o->probe_plain = true;
			break;
		case O_LIST_MS:
			if (!parse_size(optarg, 1, 600000, &v))
				return bad_value("--list-ms", optarg, "1..600000");
			o->list_ms = (long)v;
			break;
		case O_FLOOR_ONLY:
			floor_only = true;
			break;
		case O_NO_FLOOR:
			no_floor = true;
			break;
		case O_ARCHIVE:
			o->image_archive = optarg;
			break;
		case O_FLOOR_ROOT:
			o->floor_root = optarg;
			break;
		case O_FLOOR_STATE:
			o->floor_state = optarg;
			break;
		case O_FLOOR_CGROUP:
			o->floor_cgroup = optarg;
			break;
		case O_DAEMON_PID:
			if (!parse_size(optarg, 1, INT_MAX, &v))
				return bad_value("--daemon-pid", optarg, "a pid");
			o->daemon_pid = (pid_t)v;
			break;
		case O_CDF:
			o->cdf = optarg;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_JSON_OUT:
			o->json_out = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cradle-bench: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	if (floor_only && no_floor) {
		fprintf(stderr, "cradle-bench: --floor-only and --no-floor exclude each other\n");
		return -1;
	}
	o->cradle = !floor_only;
	o->floor = !no_floor;
	if (!o->cradle && o->live > 0) {
		fprintf(stderr, "cradle-bench: --live needs the daemon (not --floor-only)\n");
		return -1;
	}
	if (o->floor_cgroup[0] != '/' || strcmp(o->floor_cgroup, "/") == 0) {
		fprintf(stderr,
		        "cradle-bench: --floor-cgroup: \"%s\" is not an absolute path "
		        "below the root\n",
		        o->floor_cgroup);
		return -1;
	}
	return 0;
}

/* The archive cradled imports: pause.oci.tar beside this binary, where
 * `make` puts it. */
static int
resolve_archive(struct bench *b)
{
	char exe[PATH_MAX], want[PATH_MAX + 32];

	if (b->o.image_archive != NULL) {
		snprintf(want, sizeof(want), "%s", b->o.image_archive);
	} else {
		ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (len <= 0) {
			fprintf(stderr, "cradle-bench: /proc/self/exe: %s\n", strerror(errno));
			return -1;
		}
		exe[len] = '\0';
		snprintf(want, sizeof(want), "%s/pause.oci.tar", dirname(exe));
	}
	if (realpath(want, b->archive) == NULL) {
		fprintf(stderr, "cradle-bench: image archive \"%s\": %s%s\n", want, strerror(errno),
		        b->o.image_archive ? "" : " (run make, or pass --image-archive)");
		return -1;
	}
	return 0;
}

/* ---- the slab helpers ---- */

static int
cmd_slab_snapshot(int argc, char **argv)
{
	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	slab_settle(BENCH_SETTLE_MS);
	return slab_snapshot_write(argv[1]) < 0 ? 1 : 0;
}

static int
cmd_slab_diff(int argc, char **argv)
{
	struct slab_snap a, b;
	struct slab_growth g;
	size_t n;
	bool json = argc == 5 && strcmp(argv[4], "--json") == 0;

	if ((argc != 4 && !json) || !parse_size(argv[3], 1, BENCH_MAX_N, &n)) {
		usage(stderr);
		return 2;
	}
	if (slab_snapshot_read(argv[1], &a) < 0)
		return 1;
	if (slab_snapshot_read(argv[2], &b) < 0) {
		slab_snap_fini(&a);
		return 1;
	}
	slab_growth_of(&a, &b, n, &g);
	if (json) {
		slab_growth_json(stdout, &g);
		printf("\n");
	} else {
		slab_growth_print(stdout, "kernel", &g);
	}
	slab_snap_fini(&a);
	slab_snap_fini(&b);
	return 0;
}

/* ---- main ---- */

static int
connect_daemon(struct bench *b)
{
	struct cradle_error err = { 0 };

	b->sock = cradle_socket_path(b->o.socket);
	/* the returned buffer is this thread's until its next call: keep a copy */
	b->sock = strdup(b->sock);
	if (b->sock == NULL) {
		fprintf(stderr, "cradle-bench: out of memory\n");
		return -1;
	}
	if (cradle_connect(b->sock, 0, &b->conn, &err) < 0 ||
	    cradle_version(b->conn, &b->ver, &err) < 0 ||
	    (b->o.probe &&
	     cradle_connect_flags(b->sock, 0, b->o.probe_nng ? 0 : CRADLE_CONNECT_SYNC,
	                          &b->probe_conn, &err) < 0)) {
		fprintf(stderr, "cradle-bench: %s: %s\n", b->sock, err.message);
		return -1;
	}
	if (b->o.daemon_pid > 0) {
		b->dpid = b->o.daemon_pid;
		b->dpid_source = "--daemon-pid";
	} else if ((b->dpid = daemon_listener_pid(b->sock)) > 0) {
		b->dpid_source = "socket owner";
	} else {
		b->dpid = (pid_t)b->ver.pid;
		b->dpid_source = "sandbox.version";
	}
	if (proc_cpu_s(b->dpid) < 0)
		fprintf(stderr,
		        "cradle-bench: cannot read /proc/%d/stat: no daemon CPU or memory "
		        "figures (another pid namespace? pass --daemon-pid)\n",
		        (int)b->dpid);
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct cradle_err cerr = { 0 };
	pthread_t sig_tid;

	if (argc >= 2 && strcmp(argv[1], "slab-snapshot") == 0)
		return cmd_slab_snapshot(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "slab-diff") == 0)
		return cmd_slab_diff(argc - 1, argv + 1);

	memset(&b, 0, sizeof(b));
	if (parse_opts(argc, argv, &b.o) < 0)
		return 2;

	/* Blocked in every thread, never ignored: the launch child empties
	 * its mask, so the pause gets default dispositions.  SIGPIPE stays
	 * blocked; the others go to the signal thread. */
	sigset_t all;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	all = stop_signals;
	sigaddset(&all, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &all, NULL);

	if (b.o.floor) {
		if (geteuid() != 0) {
			if (!b.o.cradle) {
				fprintf(stderr, "cradle-bench: the floor needs root (namespaces, "
				                "mounts, cgroups, pivot_root); run as root\n");
				return 1;
			}
			fprintf(stderr, "cradle-bench: not root: skipping the floor (run as root, "
			                "or pass --no-floor to silence this)\n");
			b.o.floor = false;
		} else {
			/* before any thread exists (nng starts its own at connect) */
			struct floor_cfg fc = {
				.root_parent = b.o.floor_root,
				.state_parent = b.o.floor_state,
				.cgroup_root = b.o.floor_cgroup,
				.shm_size = BENCH_SHM_SIZE,
			};
			if (resolve_archive(&b) < 0)
				return 1;
			fc.image_archive = b.archive;
			if (floor_open(&fc, &b.floor, &cerr) < 0) {
				fprintf(stderr, "cradle-bench: floor: %s\n", cerr.msg);
				return 1;
			}
		}
	}
	if (pthread_create(&sig_tid, NULL, signal_main, NULL) == 0)
		pthread_detach(sig_tid);

	b.res = xcalloc(b.o.n_cs, sizeof(*b.res));
	for (size_t j = 0; j < b.o.n_cs; j++) {
		struct cres *r = &b.res[j];
		r->c = b.o.cs[j];
		r->c_rate = xcalloc(b.o.rounds, sizeof(double));
		r->c_down_rate = xcalloc(b.o.rounds, sizeof(double));
		r->f_rate = xcalloc(b.o.rounds, sizeof(double));
		r->f_down_rate = xcalloc(b.o.rounds, sizeof(double));
		r->p50_ratio = xcalloc(b.o.rounds, sizeof(double));
		r->rate_ratio = xcalloc(b.o.rounds, sizeof(double));
		r->cpu_ms = xcalloc(b.o.rounds, sizeof(double));
		r->cpu_raw_ms = xcalloc(b.o.rounds, sizeof(double));
		r->probe_cpu_ms = xcalloc(b.o.rounds, sizeof(double));
		r->c_p50 = xcalloc(b.o.rounds, sizeof(double));
		r->f_p50 = xcalloc(b.o.rounds, sizeof(double));
		r->probe.status_ms = b.o.probe_ms;
		r->probe.list_ms = b.o.list_ms;
	}

	if (b.o.cradle && connect_daemon(&b) < 0) {
		b.failed = true;
		goto out;
	}
	if (b.o.cradle && b.o.probe) {
		/* the sandbox the status probe asks about */
		struct phase ph = {
			.name = "probe sandbox", .op = op_cradle_start, .n = 1, .c = 1
		};
		cradle_set_init(&b.probe_set, b.conn, "probe", 1);
		ph.arg = &b.probe_set;
		if (phase_run(&ph) < 0) {
			phase_free(&ph);
			b.failed = true;
			goto teardown;
		}
		phase_free(&ph);
		for (size_t j = 0; j < b.o.n_cs; j++) {
			b.res[j].probe.conn = b.probe_conn;
			b.res[j].probe.status_id = b.probe_set.ids[0];
			b.res[j].probe.slice_ns = b.o.probe_plain ? 0 : BENCH_PROBE_SLICE_NS;
		}
	}
	if (b.o.cradle && b.o.live > 0)
		run_live_start(&b);
	for (unsigned k = 0; k < b.o.rounds && !atomic_load(&bench_interrupted); k++)
		for (size_t j = 0; j < b.o.n_cs && !atomic_load(&bench_interrupted); j++)
			run_round(&b, &b.res[j]);

teardown:
	if (b.o.cradle && b.o.live > 0) {
		run_live_teardown(&b);
		size_t left = cradle_set_left(&b.live_set);
		if (left > 0) {
			fprintf(stderr,
			        "cradle-bench: %zu live sandboxes could not be removed (names "
			        "live-<i>, namespace bench)\n",
			        left);
			b.failed = true;
		}
	}
	if (b.probe_set.ids != NULL) {
		struct phase ph = { .name = "probe sandbox removal",
			            .op = op_cradle_teardown,
			            .arg = &b.probe_set,
			            .n = 1,
			            .c = 1 };
		if (phase_run(&ph) < 0)
			b.failed = true;
		phase_free(&ph);
	}

	for (size_t j = 0; j < b.o.n_cs; j++)
		summarize(&b.res[j]);
	if (b.o.json) {
		print_json(stdout, &b);
	} else {
		print_table(&b);
		printf("\n");
		print_results(&b);
	}
	fflush(stdout);
	if (b.o.json_out != NULL) {
		FILE *f = fopen(b.o.json_out, "we");
		if (f == NULL) {
			fprintf(stderr, "cradle-bench: %s: %s\n", b.o.json_out, strerror(errno));
			b.failed = true;
		} else {
			print_json(f, &b);
			if (fclose(f) != 0)
				b.failed = true;
		}
	}
	if (b.o.cdf != NULL && write_cdf(&b) < 0)
		b.failed = true;

out:
	bench_err_report();
	if (b.conn != NULL)
		cradle_close(b.conn);
	if (b.probe_conn != NULL)
		cradle_close(b.probe_conn);
	floor_close(b.floor);
	cradle_set_fini(&b.probe_set);
	cradle_set_fini(&b.live_set);
	phase_free(&b.live.start);
	phase_free(&b.live.down);
	for (size_t j = 0; j < b.o.n_cs; j++) {
		struct cres *r = &b.res[j];
		samples_fini(&r->c_start);
		samples_fini(&r->c_down);
		samples_fini(&r->f_start);
		samples_fini(&r->f_down);
		for (int s = 0; s < FLOOR_STEPS; s++)
			samples_fini(&r->fstep[s]);
		samples_fini(&r->probe.status);
		samples_fini(&r->probe.list);
		free(r->c_rate);
		free(r->c_down_rate);
		free(r->f_rate);
		free(r->f_down_rate);
		free(r->p50_ratio);
		free(r->rate_ratio);
		free(r->cpu_ms);
		free(r->cpu_raw_ms);
		free(r->probe_cpu_ms);
		free(r->c_p50);
		free(r->f_p50);
	}
	free(b.res);
	free((char *)b.sock);
	if (atomic_load(&bench_interrupted))
		return 130;
	return b.failed ? 1 : 0;
}
