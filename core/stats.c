/* stats.c - per-step histograms of starts and stops, sharded by thread.
 *
 * DESIGN
 *
 * Each histogram is PROTO_STATS_BUCKETS counters and a sum of ns.  The
 * counters live in STATS_SHARDS shards, each aligned to a cache line; a
 * thread picks its shard once (round robin over the threads that record)
 * and only ever adds to it, with relaxed fetch-adds: the adds need
 * atomicity, not ordering, since nothing is published through them.  With
 * as many shards as workers, no two workers write the same line, so
 * recording costs a few uncontended atomic adds per step.  A reader adds
 * the shards up with relaxed loads: a snapshot taken while workers record
 * may count an operation's step and not yet its total, which is fine for
 * counters that only grow.  A histogram's count is taken as the sum of its
 * buckets as read, so count and buckets never disagree.
 *
 * Step names: a process-wide table of pointers to the pipelines' own
 * static strings, stored with release and loaded with acquire (the
 * strings are constants, so the order matters only for form's sake).
 * Setting a name that is already set is one relaxed load.
 */
#include "core/stats.h"

#include <limits.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/table.h"
#include "util/queue.h"

#define NS_PER_US 1000

struct hist {
	atomic_uint_least64_t b[PROTO_STATS_BUCKETS];
	atomic_uint_least64_t sum_ns;
};

struct shard {
	alignas(64) struct hist total[STATS_N_OPS];
	struct hist steps[STATS_N_OPS][STATS_MAX_STEPS];
	atomic_uint_least64_t errors[STATS_N_OPS][CRADLE_CODE_MAX + 1];
};

struct stats {
	struct shard shards[STATS_SHARDS];
	const struct queue *q;
	struct table *t;
};

static _Atomic(const char *) step_names[STATS_N_OPS][STATS_MAX_STEPS];

/* Threads take shards in turn, once each. */
static atomic_uint next_shard;
static _Thread_local unsigned my_shard = UINT_MAX;

int
stats_new(const struct queue *q, struct table *t, struct stats **out, struct cradle_err *err)
{
	/* aligned_alloc wants a multiple of the alignment; the shards
	 * make the struct one already, the rounding keeps it so */
	size_t size = (sizeof(struct stats) + 63) / 64 * 64;
	struct stats *st = aligned_alloc(64, size);

	*out = NULL;
	if (st == NULL)
		return cradle_err_nomem(err);
	memset(st, 0, size);
	st->q = q;
	st->t = t;
	*out = st;
	return 0;
}

void
stats_free(struct stats *st)
{
	free(st);
}

static struct shard *
shard_of(struct stats *st)
{
	if (my_shard == UINT_MAX)
		my_shard = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) %
		           STATS_SHARDS;
	return &st->shards[my_shard];
}

static void
hist_add(struct hist *h, int64_t ns)
{
	uint64_t v = ns > 0 ? (uint64_t)ns : 0;

	atomic_fetch_add_explicit(&h->b[proto_bucket_of(v)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, v, memory_order_relaxed);
}

static bool
op_ok(int op)
{
	return op >= 0 && op < STATS_N_OPS;
}

void
stats_name_step(int op, unsigned i, const char *name)
{
	if (!op_ok(op) || i >= STATS_MAX_STEPS || name == NULL)
		return;
	if (atomic_load_explicit(&step_names[op][i], memory_order_relaxed) != name)
		atomic_store_explicit(&step_names[op][i], name, memory_order_release);
}

void
stats_step(struct stats *st, int op, unsigned i, const char *name, int64_t ns)
{
	if (!op_ok(op) || i >= STATS_MAX_STEPS)
		return;
	stats_name_step(op, i, name);
	if (st != NULL)
		hist_add(&shard_of(st)->steps[op][i], ns);
}

void
stats_done(struct stats *st, int op, int64_t ns, int code)
{
	struct shard *sh;

	if (st == NULL || !op_ok(op))
		return;
	sh = shard_of(st);
	hist_add(&sh->total[op], ns);
	if (code != CRADLE_OK) {
		if (code < 0 || code > CRADLE_CODE_MAX)
			code = CRADLE_INTERNAL;
		atomic_fetch_add_explicit(&sh->errors[op][code], 1, memory_order_relaxed);
	}
}

const char *
stats_step_name(int op, unsigned i)
{
	if (!op_ok(op) || i >= STATS_MAX_STEPS)
		return NULL;
	return atomic_load_explicit(&step_names[op][i], memory_order_acquire);
}

uint32_t
stats_us(int64_t ns)
{
	uint64_t us;

	if (ns <= 0)
		return 0;
	us = (uint64_t)ns / NS_PER_US + ((uint64_t)ns % NS_PER_US != 0);
	return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* --- reading ------------------------------------------------------------ */

/* The histogram of op's step (or, for step < 0, of the whole op), summed
 * over the shards, with its count and quantiles. */
static void
hist_read(const struct stats *st, int op, int step, struct proto_histogram *h)
{
	memset(h->buckets, 0, sizeof(h->buckets));
	h->count = h->sum_ns = 0;
	for (size_t s = 0; st != NULL && s < STATS_SHARDS; s++) {
		const struct hist *x =
			step < 0 ? &st->shards[s].total[op] : &st->shards[s].steps[op][step];
		for (size_t b = 0; b < PROTO_STATS_BUCKETS; b++)
			h->buckets[b] += atomic_load_explicit(&x->b[b], memory_order_relaxed);
		h->sum_ns += atomic_load_explicit(&x->sum_ns, memory_order_relaxed);
	}
	for (size_t b = 0; b < PROTO_STATS_BUCKETS; b++)
		h->count += h->buckets[b];
	h->p50_ns = proto_hist_quantile(h->buckets, PROTO_STATS_BUCKETS, 0.50);
	h->p99_ns = proto_hist_quantile(h->buckets, PROTO_STATS_BUCKETS, 0.99);
}

void
stats_read(struct stats *st, struct proto_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (int op = 0; op < STATS_N_OPS; op++) {
		struct proto_op_stats *o = &out->op[op];
		unsigned n = 0;

		for (unsigned i = 0; i < STATS_MAX_STEPS; i++)
			if (stats_step_name(op, i) != NULL)
				n = i + 1;
		o->n_steps = n;
		for (unsigned i = 0; i < n; i++) {
			const char *name = stats_step_name(op, i);
			/* a gap no pipeline named: still a valid step name */
			if (name == NULL || !proto_valid_step_name(name))
				snprintf(o->steps[i].step, sizeof(o->steps[i].step), "step-%u", i);
			else
				snprintf(o->steps[i].step, sizeof(o->steps[i].step), "%s", name);
			hist_read(st, op, (int)i, &o->steps[i]);
		}
		hist_read(st, op, -1, &o->total);
		for (size_t s = 0; st != NULL && s < STATS_SHARDS; s++)
			for (int c = 1; c <= CRADLE_CODE_MAX; c++)
				o->errors[c] += atomic_load_explicit(&st->shards[s].errors[op][c],
				                                     memory_order_relaxed);
	}
	if (st != NULL) {
		out->queue_depth = stats_queue_depth(st->q);
		stats_count_sandboxes(st->t, out->sandboxes);
	}
}

void
stats_count_sandboxes(struct table *t, uint64_t *counts)
{
	struct sandbox **all = NULL;
	long n = t != NULL ? table_snapshot(t, &all) : 0;

	memset(counts, 0, PROTO_N_PHASES * sizeof(*counts));
	for (long i = 0; i < n; i++) {
		struct sandbox *sb = all[i];
		pthread_mutex_lock(&sb->view_lock);
		if (!sb->view_removed && sb->view_phase >= 0 && sb->view_phase < PROTO_N_PHASES)
			counts[sb->view_phase]++;
		pthread_mutex_unlock(&sb->view_lock);
		sandbox_rele(sb);
	}
	free(all);
}

uint64_t
stats_queue_depth(const struct queue *q)
{
	size_t head, tail;

	if (q == NULL || q->cells == NULL)
		return 0;
	/* positions claimed by producers and by consumers: the difference is
	 * what waits, give or take a push or pop in flight */
	tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	head = atomic_load_explicit(&q->head, memory_order_relaxed);
	if (head <= tail)
		return 0;
	return head - tail > queue_capacity(q) ? queue_capacity(q) : head - tail;
}
