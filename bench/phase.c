/* phase.c - the phase runner, latency statistics and the first error.
 *
 * A phase is n operations from c threads.  Threads are created first and
 * released together through a gate, so thread creation is not part of the
 * wall time; the wall time runs from opening the gate to the last join.
 * Each thread takes indices from one atomic counter, so fast threads take
 * more work and the phase ends when the last operation ends.  Latencies
 * are CLOCK_MONOTONIC around the one call measured (the operation itself
 * says what that is).  Percentiles are nearest-rank over the successful
 * operations.
 */
#include "bench/bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL) {
		fprintf(stderr, "cradle-bench: out of memory\n");
		exit(1);
	}
	return p;
}

/* ---- statistics ---- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
percentile(const double *sorted, size_t n, double pct)
{
	double r = pct / 100.0 * (double)n;
	size_t rank = (size_t)r;

	if (n == 0)
		return 0;
	if ((double)rank < r)
		rank++; /* ceil */
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

void
lat_stats_of(double *v, size_t n, struct lat_stats *out)
{
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_double);
	out->n = n;
	out->p50 = percentile(v, n, 50);
	out->p90 = percentile(v, n, 90);
	out->p99 = percentile(v, n, 99);
	out->max = n ? v[n - 1] : 0;
}

double
median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

bool
samples_add(struct samples *s, double ms)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		double *v = realloc(s->v, cap * sizeof(*v));
		if (v == NULL)
			return false;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ms;
	return true;
}

void
samples_fini(struct samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- the first error ---- */

static struct {
	pthread_mutex_t lock;
	bool set;
	char phase[48];
	size_t index;
	int code;
	char msg[CRADLE_ERROR_MAX];
} first_err = { .lock = PTHREAD_MUTEX_INITIALIZER };

void
bench_err(const char *phase, size_t index, int code, const char *msg)
{
	pthread_mutex_lock(&first_err.lock);
	if (!first_err.set) {
		first_err.set = true;
		snprintf(first_err.phase, sizeof(first_err.phase), "%s", phase);
		first_err.index = index;
		first_err.code = code;
		snprintf(first_err.msg, sizeof(first_err.msg), "%s", msg);
	}
	pthread_mutex_unlock(&first_err.lock);
}

bool
bench_err_report(void)
{
	if (!first_err.set)
		return false;
	fprintf(stderr, "cradle-bench: first error: %s #%zu: %s: %s\n", first_err.phase,
	        first_err.index, cradle_status_name(first_err.code), first_err.msg);
	return true;
}

/* ---- running a phase ---- */

atomic_bool bench_interrupted;

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct phase *ph = w->ph;

	pthread_mutex_lock(&ph->gate_lock);
	while (!ph->gate_open)
		pthread_cond_wait(&ph->gate_cv, &ph->gate_lock);
	pthread_mutex_unlock(&ph->gate_lock);
	if (ph->abort)
		return NULL;

	for (;;) {
		/* relaxed: it only hands out indices; the joins order every
		 * write to lat/done before the main thread reads them */
		size_t i = atomic_fetch_add_explicit(&ph->next, 1, memory_order_relaxed);
		double ms = 0;
		int r;

		if (i >= ph->n || (ph->stoppable && atomic_load(&bench_interrupted)))
			break;
		r = ph->op(ph->arg, w, i, &ms);
		if (r == 0) {
			ph->lat[i] = ms;
			ph->done[i] = true;
		} else if (r < 0) {
			atomic_fetch_add_explicit(&ph->fails, 1, memory_order_relaxed);
		}
	}
	return NULL;
}

int
phase_run(struct phase *ph)
{
	size_t c = ph->c < ph->n ? ph->c : ph->n, created = 0;
	struct worker *ws = xcalloc(c, sizeof(*ws));
	struct cradle_err err = { 0 };
	double t0, *v;

	free(ph->lat);
	free(ph->done);
	ph->lat = xcalloc(ph->n, sizeof(*ph->lat));
	ph->done = xcalloc(ph->n, sizeof(*ph->done));
	atomic_init(&ph->next, 0);
	atomic_init(&ph->fails, 0);
	pthread_mutex_init(&ph->gate_lock, NULL);
	pthread_cond_init(&ph->gate_cv, NULL);
	ph->gate_open = false;
	ph->abort = false;

	for (size_t t = 0; t < c; t++) {
		ws[t].ph = ph;
		if (ph->needs_stack && launch_stack_alloc(&ws[t].st, &err) < 0) {
			bench_err(ph->name, 0, err.code, err.msg);
			ph->abort = true;
			break;
		}
		int e = pthread_create(&ws[t].tid, NULL, worker_main, &ws[t]);
		if (e != 0) {
			cradle_err_errno(&err, e, "create bench thread");
			bench_err(ph->name, 0, err.code, err.msg);
			ph->abort = true;
			break;
		}
		created++;
	}

	pthread_mutex_lock(&ph->gate_lock);
	t0 = now_ms();
	ph->gate_open = true;
	pthread_cond_broadcast(&ph->gate_cv);
	pthread_mutex_unlock(&ph->gate_lock);
	for (size_t t = 0; t < created; t++)
		pthread_join(ws[t].tid, NULL);
	ph->wall_s = (now_ms() - t0) / 1e3;

	for (size_t t = 0; t < c; t++)
		launch_stack_free(&ws[t].st);
	free(ws);
	pthread_cond_destroy(&ph->gate_cv);
	pthread_mutex_destroy(&ph->gate_lock);

	v = xcalloc(ph->n, sizeof(*v));
	ph->n_ok = 0;
	for (size_t i = 0; i < ph->n; i++)
		if (ph->done[i])
			v[ph->n_ok++] = ph->lat[i];
	lat_stats_of(v, ph->n_ok, &ph->st);
	free(v);
	ph->n_fail = atomic_load(&ph->fails);
	return ph->abort || ph->n_fail > 0 ? -1 : 0;
}

double
phase_rate(const struct phase *ph)
{
	return ph->wall_s > 0 ? (double)ph->n_ok / ph->wall_s : 0;
}

void
phase_free(struct phase *ph)
{
	free(ph->lat);
	free(ph->done);
	ph->lat = NULL;
	ph->done = NULL;
}
