/* test_stats.c - step timings and counters (core/stats.c) and the wire
 * they travel on (proto/stats.c, daemon.stats and verbose status in
 * proto/codec.c).
 *
 * Bucket bounds at and around every edge, quantiles worked out by hand,
 * what stats_read makes of recordings (steps, totals, errors by code,
 * names and gaps in names), exact sums after threads record at once while
 * a reader reads, the gauges from a real queue and table, what recording
 * costs, and daemon.stats replies and verbose status through the codec:
 * round trips, and refusals that name the field.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/stats.h"
#include "core/table.h"
#include "util/queue.h"
#include "tests/unit/lib/unit.h"

#define US 1000ull /* ns */

static const char *const names[] = { "alpha", "beta", "gamma" };

/* --- buckets and quantiles ------------------------------------------------ */

START_TEST(test_bucket_bounds)
{
	ck_assert_uint_eq(proto_bucket_le_ns(0), 1 * US);
	ck_assert_uint_eq(proto_bucket_le_ns(1), 2 * US);
	ck_assert_uint_eq(proto_bucket_le_ns(10), 1024 * US);
	ck_assert_uint_eq(proto_bucket_le_ns(30), (1ull << 30) * US);
	ck_assert_uint_eq(proto_bucket_le_ns(31), UINT64_MAX);
	ck_assert_uint_eq(proto_bucket_le_ns(1000), UINT64_MAX);

	ck_assert_uint_eq(proto_bucket_of(0), 0);
	ck_assert_uint_eq(proto_bucket_of(1), 0);
	ck_assert_uint_eq(proto_bucket_of(999), 0);
	ck_assert_uint_eq(proto_bucket_of(1000), 0);
	ck_assert_uint_eq(proto_bucket_of(1001), 1);
	ck_assert_uint_eq(proto_bucket_of(2000), 1);
	ck_assert_uint_eq(proto_bucket_of(2001), 2);
	ck_assert_uint_eq(proto_bucket_of(3000), 2);
	ck_assert_uint_eq(proto_bucket_of(4000), 2);
	ck_assert_uint_eq(proto_bucket_of(4001), 3);
	ck_assert_uint_eq(proto_bucket_of(UINT64_MAX), 31);
	/* every bound is in its own bucket, a ns more is in the next */
	for (size_t i = 0; i + 1 < PROTO_STATS_BUCKETS; i++) {
		ck_assert_uint_eq(proto_bucket_of(proto_bucket_le_ns(i)), i);
		ck_assert_uint_eq(proto_bucket_of(proto_bucket_le_ns(i) + 1), i + 1);
	}
}
END_TEST

START_TEST(test_quantiles)
{
	uint64_t b[PROTO_STATS_BUCKETS] = { 0 };

	ck_assert_uint_eq(proto_hist_quantile(b, PROTO_STATS_BUCKETS, 0.5), 0);
	ck_assert_uint_eq(proto_hist_quantile(NULL, PROTO_STATS_BUCKETS, 0.5), 0);

	/* ten durations in (4, 8] us: linear inside the bucket */
	b[3] = 10;
	ck_assert_uint_eq(proto_hist_quantile(b, PROTO_STATS_BUCKETS, 0.5), 6000);
	ck_assert_uint_eq(proto_hist_quantile(b, PROTO_STATS_BUCKETS, 1.0), 8000);
	/* the rank is at least 1 */
	ck_assert_uint_eq(proto_hist_quantile(b, PROTO_STATS_BUCKETS, 0.0), 4400);
	/* out of range reads as the nearest end, NaN as 0 */
	ck_assert_uint_eq(proto_hist_quantile(b, PROTO_STATS_BUCKETS, -1.0), 4400);
	ck_assert_uint_eq(proto_hist_quantile(b, PROTO_STATS_BUCKETS, 7.0), 8000);
	ck_assert_uint_eq(proto_hist_quantile(b, PROTO_STATS_BUCKETS, 0.0 / 0.0), 4400);

	/* 90 fast ones (<= 1 us), 10 in (512, 1024] us */
	memset(b, 0, sizeof(b));
	b[0] = 90;
	b[10] = 10;
	ck_assert_uint_eq(proto_hist_quantile(b, PROTO_STATS_BUCKETS, 0.5), 555);
	ck_assert_uint_eq(proto_hist_quantile(b, PROTO_STATS_BUCKETS, 0.9), 1000);
	ck_assert_uint_eq(proto_hist_quantile(b, PROTO_STATS_BUCKETS, 0.99), 972800);

	/* the open bucket has no upper bound: its lower one stands */
	memset(b, 0, sizeof(b));
	b[31] = 3;
	ck_assert_uint_eq(proto_hist_quantile(b, PROTO_STATS_BUCKETS, 0.99),
	                  proto_bucket_le_ns(30));
	/* fewer buckets given: only those count */
	b[2] = 1;
	ck_assert_uint_eq(proto_hist_quantile(b, 3, 0.99), 4000);
}
END_TEST

START_TEST(test_us)
{
	ck_assert_uint_eq(stats_us(-5), 0);
	ck_assert_uint_eq(stats_us(0), 0);
	ck_assert_uint_eq(stats_us(1), 1);
	ck_assert_uint_eq(stats_us(1000), 1);
	ck_assert_uint_eq(stats_us(1001), 2);
	ck_assert_uint_eq(stats_us(5 * 1000 * 1000), 5000);
	ck_assert_uint_eq(stats_us(INT64_MAX), UINT32_MAX);
	ck_assert_uint_eq(stats_us((int64_t)UINT32_MAX * 1000), UINT32_MAX);
	ck_assert_uint_eq(stats_us((int64_t)UINT32_MAX * 1000 + 1000), UINT32_MAX);
}
END_TEST

/* --- recording and reading ----------------------------------------------- */

static struct stats *
new_stats(const struct queue *q, struct table *t)
{
	struct stats *st = NULL;
	struct cradle_err err = { 0 };

	ck_assert_msg(stats_new(q, t, &st, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(st);
	return st;
}

static uint64_t
bucket_sum(const struct proto_histogram *h)
{
	uint64_t n = 0;

	for (size_t i = 0; i < PROTO_STATS_BUCKETS; i++)
		n += h->buckets[i];
	return n;
}

START_TEST(test_record_and_read)
{
	struct stats *st = new_stats(NULL, NULL);
	struct proto_stats *out = malloc(sizeof(*out));

	ck_assert_ptr_nonnull(out);
	/* nothing recorded: no steps known, every count 0 */
	stats_read(st, out);
	ck_assert_uint_eq(out->op[STATS_START].n_steps, 0);
	ck_assert_uint_eq(out->op[STATS_START].total.count, 0);
	ck_assert_uint_eq(out->op[STATS_START].total.p99_ns, 0);

	/* two starts: steps of 0.5, 3 and 900 us, then 1.5, 3, 1000 us */
	stats_step(st, STATS_START, 0, names[0], 500);
	stats_step(st, STATS_START, 1, names[1], 3 * US);
	stats_step(st, STATS_START, 2, names[2], 900 * US);
	stats_done(st, STATS_START, 904 * US, CRADLE_OK);
	stats_step(st, STATS_START, 0, names[0], 1500);
	stats_step(st, STATS_START, 1, names[1], 3 * US);
	stats_step(st, STATS_START, 2, names[2], 1000 * US);
	stats_done(st, STATS_START, 1005 * US, CRADLE_INTERNAL);
	/* a failed one that got no further than the first step */
	stats_step(st, STATS_START, 0, names[0], -7); /* a clock step back: 0 */
	stats_done(st, STATS_START, 2 * US, CRADLE_PERMISSION_DENIED);
	/* refused: a bad op, a step past the end, a code out of range */
	stats_step(st, 7, 0, "x", 1);
	stats_step(st, STATS_START, STATS_MAX_STEPS, "x", 1);
	stats_done(st, -1, 1, CRADLE_OK);
	stats_done(st, STATS_STOP, 10 * US, 99);

	stats_read(st, out);
	const struct proto_op_stats *o = &out->op[STATS_START];
	ck_assert_uint_eq(o->n_steps, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(o->steps[i].step, names[i]);
		ck_assert_str_eq(stats_step_name(STATS_START, (unsigned)i), names[i]);
		ck_assert_uint_eq(o->steps[i].count, bucket_sum(&o->steps[i]));
	}
	ck_assert_ptr_null(stats_step_name(STATS_START, 3));
	ck_assert_ptr_null(stats_step_name(STATS_START, STATS_MAX_STEPS));
	ck_assert_ptr_null(stats_step_name(5, 0));
	/* step 0: 0.5 us and 0 in bucket 0, 1.5 us in bucket 1 */
	ck_assert_uint_eq(o->steps[0].count, 3);
	ck_assert_uint_eq(o->steps[0].buckets[0], 2);
	ck_assert_uint_eq(o->steps[0].buckets[1], 1);
	ck_assert_uint_eq(o->steps[0].sum_ns, 2000);
	/* step 1: both in (2, 4] us */
	ck_assert_uint_eq(o->steps[1].count, 2);
	ck_assert_uint_eq(o->steps[1].buckets[2], 2);
	ck_assert_uint_eq(o->steps[1].p50_ns, 3000);
	/* step 2: both in (512, 1024] us */
	ck_assert_uint_eq(o->steps[2].buckets[10], 2);
	ck_assert_uint_eq(o->steps[2].sum_ns, 1900 * US);
	ck_assert_uint_eq(o->steps[2].p50_ns, 768 * US);
	ck_assert_uint_eq(o->steps[2].p99_ns,
	                  proto_hist_quantile(o->steps[2].buckets, PROTO_STATS_BUCKETS, 0.99));
	/* whole starts, failures by code */
	ck_assert_uint_eq(o->total.count, 3);
	ck_assert_uint_eq(o->total.sum_ns, (904 + 1005 + 2) * US);
	ck_assert_uint_eq(o->errors[CRADLE_INTERNAL], 1);
	ck_assert_uint_eq(o->errors[CRADLE_PERMISSION_DENIED], 1);
	ck_assert_uint_eq(o->errors[CRADLE_OK], 0);
	/* the stop with a code out of range counts as INTERNAL; no step of a
	 * stop was named, so it shows none */
	ck_assert_uint_eq(out->op[STATS_STOP].total.count, 1);
	ck_assert_uint_eq(out->op[STATS_STOP].errors[CRADLE_INTERNAL], 1);
	ck_assert_uint_eq(out->op[STATS_STOP].n_steps, 0);
	/* no queue, no table: gauges are 0 */
	ck_assert_uint_eq(out->queue_depth, 0);
	ck_assert_uint_eq(out->sandboxes[PHASE_RUNNING], 0);
	free(out);
	stats_free(st);
	stats_free(NULL);
}
END_TEST

START_TEST(test_names)
{
	struct stats *st = new_stats(NULL, NULL);
	struct proto_stats *out = malloc(sizeof(*out));

	ck_assert_ptr_nonnull(out);
	/* named without stats, and without timing: steps 0 and 2 */
	stats_step(NULL, STATS_STOP, 0, "kill", 5 * US);
	stats_name_step(STATS_STOP, 2, "shm");
	stats_name_step(STATS_STOP, STATS_MAX_STEPS, "ignored");
	stats_name_step(STATS_STOP, 3, NULL);
	stats_read(st, out);
	const struct proto_op_stats *o = &out->op[STATS_STOP];
	ck_assert_uint_eq(o->n_steps, 3);
	ck_assert_str_eq(o->steps[0].step, "kill");
	/* a gap still gets a name the wire accepts */
	ck_assert_str_eq(o->steps[1].step, "step-1");
	ck_assert_str_eq(o->steps[2].step, "shm");
	/* NULL stats kept no count */
	ck_assert_uint_eq(o->steps[0].count, 0);
	/* a name set again is kept; another replaces it */
	stats_name_step(STATS_STOP, 0, "kill");
	ck_assert_str_eq(stats_step_name(STATS_STOP, 0), "kill");
	stats_name_step(STATS_STOP, 0, "signal");
	ck_assert_str_eq(stats_step_name(STATS_STOP, 0), "signal");
	/* stats_read of NULL: names, no counts */
	stats_read(NULL, out);
	ck_assert_uint_eq(out->op[STATS_STOP].n_steps, 3);
	ck_assert_uint_eq(out->op[STATS_STOP].total.count, 0);
	free(out);
	stats_free(st);
}
END_TEST

/* --- threads ---------------------------------------------------------------- */

#define N_THREADS 8
#define PER_THREAD 100000

struct rec_arg {
	struct stats *st;
	pthread_barrier_t *go;
	unsigned id;
};

static void *
recorder(void *p)
{
	struct rec_arg *a = p;

	pthread_barrier_wait(a->go);
	for (unsigned k = 0; k < PER_THREAD; k++) {
		/* thread id picks the step and, in us, the duration */
		stats_step(a->st, STATS_START, a->id % 3, names[a->id % 3],
		           (int64_t)(a->id + 1) * (int64_t)US);
		stats_done(a->st, STATS_START, (int64_t)(a->id + 1) * 10 * (int64_t)US,
		           k % 10 == 0 ? CRADLE_UNAVAILABLE : CRADLE_OK);
	}
	return NULL;
}

struct read_arg {
	struct stats *st;
	atomic_bool stop;
	unsigned reads;
};

/* Reads while the recorders record: counts only grow, and a count is
 * always the sum of its buckets. */
static void *
reader(void *p)
{
	struct read_arg *a = p;
	struct proto_stats *out = malloc(sizeof(*out));
	uint64_t last = 0;

	ck_assert_ptr_nonnull(out);
	while (!atomic_load(&a->stop)) {
		stats_read(a->st, out);
		ck_assert_uint_eq(out->op[STATS_START].total.count,
		                  bucket_sum(&out->op[STATS_START].total));
		ck_assert_uint_ge(out->op[STATS_START].total.count, last);
		ck_assert_uint_le(out->op[STATS_START].total.count,
		                  (uint64_t)N_THREADS * PER_THREAD);
		last = out->op[STATS_START].total.count;
		a->reads++;
	}
	free(out);
	return NULL;
}

START_TEST(test_threads)
{
	struct stats *st = new_stats(NULL, NULL);
	struct proto_stats *out = malloc(sizeof(*out));
	pthread_t th[N_THREADS], rd;
	struct rec_arg args[N_THREADS];
	struct read_arg ra = { .st = st };
	pthread_barrier_t go;

	ck_assert_ptr_nonnull(out);
	pthread_barrier_init(&go, NULL, N_THREADS);
	ck_assert_int_eq(pthread_create(&rd, NULL, reader, &ra), 0);
	for (unsigned i = 0; i < N_THREADS; i++) {
		args[i] = (struct rec_arg){ st, &go, i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, recorder, &args[i]), 0);
	}
	for (unsigned i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	atomic_store(&ra.stop, true);
	pthread_join(rd, NULL);
	pthread_barrier_destroy(&go);

	/* every add landed: exact counts, sums and buckets */
	stats_read(st, out);
	const struct proto_op_stats *o = &out->op[STATS_START];
	uint64_t want_steps[3] = { 0 }, want_sum[3] = { 0 }, total_sum = 0;
	for (unsigned i = 0; i < N_THREADS; i++) {
		want_steps[i % 3] += PER_THREAD;
		want_sum[i % 3] += (uint64_t)PER_THREAD * (i + 1) * US;
		total_sum += (uint64_t)PER_THREAD * (i + 1) * 10 * US;
	}
	ck_assert_uint_eq(o->n_steps, 3);
	for (unsigned s = 0; s < 3; s++) {
		ck_assert_uint_eq(o->steps[s].count, want_steps[s]);
		ck_assert_uint_eq(o->steps[s].sum_ns, want_sum[s]);
	}
	/* thread i recorded (i+1) us: bucket of (i+1) us */
	uint64_t b[PROTO_STATS_BUCKETS] = { 0 };
	for (unsigned i = 0; i < N_THREADS; i += 3)
		b[proto_bucket_of((i + 1) * US)] += PER_THREAD;
	for (size_t k = 0; k < PROTO_STATS_BUCKETS; k++)
		ck_assert_uint_eq(o->steps[0].buckets[k], b[k]);
	ck_assert_uint_eq(o->total.count, (uint64_t)N_THREADS * PER_THREAD);
	ck_assert_uint_eq(o->total.sum_ns, total_sum);
	ck_assert_uint_eq(o->errors[CRADLE_UNAVAILABLE], (uint64_t)N_THREADS * PER_THREAD / 10);
	ck_assert_uint_gt(ra.reads, 0);
	free(out);
	stats_free(st);
}
END_TEST

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What a start pays per step: a name check and two relaxed adds.  The
 * bound is loose on purpose (sanitizer builds run this too); it catches a
 * lock, a system call or an allocation on the path, not nanoseconds. */
START_TEST(test_cost)
{
	struct stats *st = new_stats(NULL, NULL);
	const int n = 1000000;
	int64_t t0 = mono_ns();

	for (int i = 0; i < n; i++)
		stats_step(st, STATS_START, (unsigned)(i & 15), "step", i);
	int64_t per = (mono_ns() - t0) / n;
	fprintf(stderr, "test_cost: stats_step takes %lld ns\n", (long long)per);
	ck_assert_int_lt(per, 1000);
	stats_free(st);
}
END_TEST

/* --- gauges ------------------------------------------------------------------ */

static struct sandbox *
add_sb(struct table *t, unsigned long n, int phase)
{
	struct proto_sandbox rec;
	struct cradle_err err = { 0 };
	char name[32];

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.id, sizeof(rec.id), "%064lx", n);
	snprintf(name, sizeof(name), "pod-%lu", n);
	rec.config.metadata.name = unit_strdup(name);
	rec.config.metadata.namespace = unit_strdup("default");
	rec.config.metadata.uid = unit_strdup("uid");
	rec.phase = phase;
	struct sandbox *sb = sandbox_new(&rec);
	ck_assert_ptr_nonnull(sb);
	ck_assert_msg(table_add(t, sb, &err) == 0, "%s", err.msg);
	return sb; /* the caller's reference */
}

START_TEST(test_gauges)
{
	struct queue q;
	struct table *t = NULL;
	int items[3];
	void *item;

	ck_assert_int_eq(queue_init(&q, 8), 0);
	ck_assert_int_eq(table_init(&t), 0);
	struct stats *st = new_stats(&q, t);
	struct proto_stats *out = malloc(sizeof(*out));
	ck_assert_ptr_nonnull(out);

	ck_assert_uint_eq(stats_queue_depth(&q), 0);
	ck_assert_uint_eq(stats_queue_depth(NULL), 0);
	for (int i = 0; i < 3; i++)
		ck_assert(queue_push(&q, &items[i]));
	ck_assert_uint_eq(stats_queue_depth(&q), 3);
	ck_assert(queue_pop(&q, &item));
	ck_assert_uint_eq(stats_queue_depth(&q), 2);

	struct sandbox *sbs[6];
	const int phases[6] = { PHASE_CREATED, PHASE_RUNNING, PHASE_RUNNING,
		                PHASE_RUNNING, PHASE_EXITED,  PHASE_EXITED };
	for (int i = 0; i < 6; i++)
		sbs[i] = add_sb(t, (unsigned long)i + 1, phases[i]);
	/* one being removed: its published view says so */
	pthread_mutex_lock(&sbs[5]->lock);
	sbs[5]->removed = true;
	ck_assert_int_eq(sandbox_publish(sbs[5]), 0);
	pthread_mutex_unlock(&sbs[5]->lock);
	/* a start in progress holds the sandbox's lock: counting does not
	 * wait for it, and sees the view (still created) */
	pthread_mutex_lock(&sbs[0]->lock);
	sbs[0]->rec.phase = PHASE_RUNNING; /* not published yet */

	uint64_t counts[PROTO_N_PHASES];
	stats_count_sandboxes(t, counts);
	ck_assert_uint_eq(counts[PHASE_CREATED], 1);
	ck_assert_uint_eq(counts[PHASE_RUNNING], 3);
	ck_assert_uint_eq(counts[PHASE_EXITED], 1);
	stats_read(st, out);
	ck_assert_uint_eq(out->queue_depth, 2);
	ck_assert_uint_eq(out->sandboxes[PHASE_CREATED], 1);
	ck_assert_uint_eq(out->sandboxes[PHASE_RUNNING], 3);
	ck_assert_uint_eq(out->sandboxes[PHASE_EXITED], 1);

	ck_assert_int_eq(sandbox_publish(sbs[0]), 0);
	pthread_mutex_unlock(&sbs[0]->lock);
	stats_count_sandboxes(t, counts);
	ck_assert_uint_eq(counts[PHASE_CREATED], 0);
	ck_assert_uint_eq(counts[PHASE_RUNNING], 4);
	stats_count_sandboxes(NULL, counts);
	ck_assert_uint_eq(counts[PHASE_RUNNING], 0);

	for (int i = 0; i < 6; i++)
		sandbox_rele(sbs[i]);
	free(out);
	stats_free(st);
	table_fini(t);
	queue_fini(&q);
}
END_TEST

/* --- the wire: daemon.stats and verbose status ---------------------------- */

static void
encode_reply(msgpack_sbuffer *sb, const struct proto_reply *rep)
{
	struct cradle_err err = { 0 };

	msgpack_sbuffer_init(sb);
	ck_assert_msg(proto_reply_encode(sb, rep, &err) == 0, "%s", err.msg);
}

START_TEST(test_stats_reply_round_trip)
{
	struct stats *st = new_stats(NULL, NULL);
	struct proto_reply rep, back;
	struct cradle_err err = { 0 };
	msgpack_sbuffer sb;

	for (unsigned i = 0; i < 3; i++)
		for (unsigned k = 0; k <= i; k++)
			stats_step(st, STATS_START, i, names[i], (int64_t)(k + 1) * 333 * US);
	stats_done(st, STATS_START, 5 * US, CRADLE_NOT_FOUND);
	stats_step(st, STATS_STOP, 0, "kill", 40 * US);
	stats_done(st, STATS_STOP, 50 * US, CRADLE_OK);

	proto_reply_init(&rep, OP_DAEMON_STATS);
	rep.ok = true;
	rep.stats = malloc(sizeof(*rep.stats));
	ck_assert_ptr_nonnull(rep.stats);
	stats_read(st, rep.stats);
	rep.stats->queue_depth = 7;
	rep.stats->sandboxes[PHASE_RUNNING] = 3;
	encode_reply(&sb, &rep);
	ck_assert_int_eq(proto_reply_decode(OP_DAEMON_STATS, sb.data, sb.size, &back, &err), 0);
	ck_assert(back.ok);
	ck_assert_ptr_nonnull(back.stats);
	ck_assert_mem_eq(back.stats, rep.stats, sizeof(*rep.stats));
	ck_assert_str_eq(proto_op_name(OP_DAEMON_STATS), "daemon.stats");
	proto_reply_fini(&back);
	ck_assert_ptr_null(back.stats);
	msgpack_sbuffer_destroy(&sb);

	/* the encoder refuses what the decoder would: a count that is not
	 * its buckets' sum, a bad step name, no stats at all */
	rep.stats->op[STATS_START].steps[1].count++;
	msgpack_sbuffer_init(&sb);
	ck_assert_int_lt(proto_reply_encode(&sb, &rep, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INTERNAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "beta"));
	rep.stats->op[STATS_START].steps[1].count--;
	snprintf(rep.stats->op[STATS_STOP].steps[0].step, PROTO_STEP_NAME_MAX + 1, "a b");
	ck_assert_int_lt(proto_reply_encode(&sb, &rep, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "no valid name"));
	free(rep.stats);
	rep.stats = NULL;
	ck_assert_int_lt(proto_reply_encode(&sb, &rep, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "without stats"));
	msgpack_sbuffer_destroy(&sb);
	stats_free(st);
}
END_TEST

/* Pack {v:1, ok:true, result:{start: START, stop: {total:{count:0}}}}
 * where START is {total: {count: 1, buckets: [1]}, steps: [step]} and
 * step is what fill packs (a map it opens itself). */
static void
pack_stats_reply(msgpack_sbuffer *sb, void (*fill)(msgpack_packer *pk))
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "v", 1);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_str_with_body(&pk, "ok", 2);
	msgpack_pack_true(&pk);
	msgpack_pack_str_with_body(&pk, "result", 6);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "start", 5);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "total", 5);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "count", 5);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_str_with_body(&pk, "buckets", 7);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_str_with_body(&pk, "steps", 5);
	fill(&pk);
	msgpack_pack_str_with_body(&pk, "stop", 4);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "total", 5);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "count", 5);
	msgpack_pack_uint8(&pk, 0);
}

static void
step_ok(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 3);
	msgpack_pack_str_with_body(pk, "step", 4);
	msgpack_pack_str_with_body(pk, "launch", 6);
	msgpack_pack_str_with_body(pk, "count", 5);
	msgpack_pack_uint8(pk, 2);
	msgpack_pack_str_with_body(pk, "buckets", 7);
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint8(pk, 0);
	msgpack_pack_uint8(pk, 1);
	msgpack_pack_uint8(pk, 1);
}

static void
step_bad_count(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 3);
	msgpack_pack_str_with_body(pk, "step", 4);
	msgpack_pack_str_with_body(pk, "launch", 6);
	msgpack_pack_str_with_body(pk, "count", 5);
	msgpack_pack_uint8(pk, 3);
	msgpack_pack_str_with_body(pk, "buckets", 7);
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint8(pk, 2);
}

static void
step_bad_name(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2);
	msgpack_pack_str_with_body(pk, "step", 4);
	msgpack_pack_str_with_body(pk, "la unch", 7);
	msgpack_pack_str_with_body(pk, "count", 5);
	msgpack_pack_uint8(pk, 0);
}

static void
step_no_name(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	msgpack_pack_str_with_body(pk, "count", 5);
	msgpack_pack_uint8(pk, 0);
}

static void
steps_too_many(msgpack_packer *pk)
{
	msgpack_pack_array(pk, PROTO_MAX_STEPS + 1);
	for (int i = 0; i <= PROTO_MAX_STEPS; i++) {
		msgpack_pack_map(pk, 2);
		msgpack_pack_str_with_body(pk, "step", 4);
		msgpack_pack_str_with_body(pk, "s", 1);
		msgpack_pack_str_with_body(pk, "count", 5);
		msgpack_pack_uint8(pk, 0);
	}
}

static void
buckets_too_many(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 3);
	msgpack_pack_str_with_body(pk, "step", 4);
	msgpack_pack_str_with_body(pk, "s", 1);
	msgpack_pack_str_with_body(pk, "count", 5);
	msgpack_pack_uint8(pk, 0);
	msgpack_pack_str_with_body(pk, "buckets", 7);
	msgpack_pack_array(pk, PROTO_STATS_BUCKETS + 1);
	for (int i = 0; i <= PROTO_STATS_BUCKETS; i++)
		msgpack_pack_uint8(pk, 0);
}

static void
steps_not_array(msgpack_packer *pk)
{
	msgpack_pack_uint8(pk, 1);
}

START_TEST(test_stats_reply_refused)
{
	static const struct {
		void (*fill)(msgpack_packer *pk);
		const char *msg;
	} cases[] = {
		{ step_bad_count,
		  "result.start.steps[0].count: 3 differs from the sum of the buckets (2)" },
		{ step_bad_name, "result.start.steps[0].step: \"la unch\" is not a step name" },
		{ step_no_name, "result.start.steps[0].step: required field is missing" },
		{ steps_too_many, "result.start.steps: 33 steps exceed 32" },
		{ buckets_too_many, "result.start.steps[0].buckets: 33 buckets exceed 32" },
		{ steps_not_array, "result.start.steps: expected array, got unsigned integer" },
	};
	struct proto_reply rep;
	struct cradle_err err = { 0 };
	msgpack_sbuffer sb;

	/* the frame itself decodes: trailing empty buckets may be left out */
	pack_stats_reply(&sb, step_ok);
	ck_assert_msg(proto_reply_decode(OP_DAEMON_STATS, sb.data, sb.size, &rep, &err) == 0, "%s",
	              err.msg);
	ck_assert_uint_eq(rep.stats->op[STATS_START].n_steps, 1);
	ck_assert_str_eq(rep.stats->op[STATS_START].steps[0].step, "launch");
	ck_assert_uint_eq(rep.stats->op[STATS_START].steps[0].buckets[2], 1);
	ck_assert_uint_eq(rep.stats->op[STATS_START].steps[0].buckets[31], 0);
	proto_reply_fini(&rep);
	msgpack_sbuffer_destroy(&sb);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pack_stats_reply(&sb, cases[i].fill);
		ck_assert_int_lt(proto_reply_decode(OP_DAEMON_STATS, sb.data, sb.size, &rep, &err),
		                 0);
		ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
		ck_assert_msg(strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) == 0,
		              "case %zu: \"%s\", want \"%s\"", i, err.msg, cases[i].msg);
		ck_assert_ptr_null(rep.stats);
		msgpack_sbuffer_destroy(&sb);
	}
}
END_TEST

START_TEST(test_verbose_status_round_trip)
{
	struct proto_request req, rq;
	struct proto_reply rep, back;
	struct proto_sandbox copy;
	struct cradle_err err = { 0 };
	msgpack_sbuffer sb;

	/* the request: verbose written only when set */
	proto_request_init(&req, OP_STATUS);
	memset(req.id, 'a', CRADLE_ID_LEN);
	req.verbose = true;
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_request_encode(&sb, &req, &err), 0);
	ck_assert_int_eq(proto_request_decode(sb.data, sb.size, &rq, &err), 0);
	ck_assert(rq.verbose);
	proto_request_fini(&rq);
	msgpack_sbuffer_destroy(&sb);
	req.verbose = false;
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_request_encode(&sb, &req, &err), 0);
	ck_assert_ptr_null(memmem(sb.data, sb.size, "verbose", 7));
	ck_assert_int_eq(proto_request_decode(sb.data, sb.size, &rq, &err), 0);
	ck_assert(!rq.verbose);
	msgpack_sbuffer_destroy(&sb);

	/* the reply: a sandbox with the step times of a start and a stop */
	proto_reply_init(&rep, OP_STATUS);
	rep.ok = true;
	rep.n_sandboxes = 1;
	rep.sandboxes = calloc(1, sizeof(*rep.sandboxes));
	ck_assert_ptr_nonnull(rep.sandboxes);
	pod_config_init(&rep.sandboxes->config);
	memset(rep.sandboxes->id, 'b', CRADLE_ID_LEN);
	rep.sandboxes->phase = PHASE_EXITED;
	struct proto_timings *t = calloc(1, sizeof(*t));
	ck_assert_ptr_nonnull(t);
	for (unsigned i = 0; i < 3; i++) {
		snprintf(t->v[PROTO_TIMED_START][i].name, PROTO_STEP_NAME_MAX + 1, "%s", names[i]);
		t->v[PROTO_TIMED_START][i].us = i * 1000 + 1;
	}
	t->n[PROTO_TIMED_START] = 3;
	snprintf(t->v[PROTO_TIMED_STOP][0].name, PROTO_STEP_NAME_MAX + 1, "kill");
	t->v[PROTO_TIMED_STOP][0].us = UINT32_MAX;
	t->n[PROTO_TIMED_STOP] = 1;
	rep.sandboxes->timings = t;
	encode_reply(&sb, &rep);
	ck_assert_int_eq(proto_reply_decode(OP_STATUS, sb.data, sb.size, &back, &err), 0);
	ck_assert_ptr_nonnull(back.sandboxes[0].timings);
	ck_assert_mem_eq(back.sandboxes[0].timings, t, sizeof(*t));
	/* copies carry them, fini frees them (ASan watches) */
	ck_assert_int_eq(proto_sandbox_copy(&copy, &back.sandboxes[0]), 0);
	ck_assert_ptr_nonnull(copy.timings);
	ck_assert_ptr_ne(copy.timings, back.sandboxes[0].timings);
	ck_assert_uint_eq(copy.timings->v[PROTO_TIMED_STOP][0].us, UINT32_MAX);
	proto_sandbox_fini(&copy);
	ck_assert_ptr_null(copy.timings);
	proto_reply_fini(&back);
	msgpack_sbuffer_destroy(&sb);

	/* a plain record has no timings key at all */
	rep.sandboxes->timings = NULL;
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_sandbox_encode(&sb, rep.sandboxes, &err), 0);
	ck_assert_ptr_null(memmem(sb.data, sb.size, "timings", 7));
	msgpack_sbuffer_destroy(&sb);

	/* a bad name is refused by the encoder */
	snprintf(t->v[PROTO_TIMED_START][1].name, PROTO_STEP_NAME_MAX + 1, "x/y");
	rep.sandboxes->timings = t;
	msgpack_sbuffer_init(&sb);
	ck_assert_int_lt(proto_reply_encode(&sb, &rep, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INTERNAL);
	msgpack_sbuffer_destroy(&sb);
	proto_reply_fini(&rep);
}
END_TEST

static Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");

	unit_tcase(s, "buckets", NULL, NULL, 0,
	           UNIT_TESTS(test_bucket_bounds, test_quantiles, test_us));
	unit_tcase(
		s, "record", NULL, NULL, 60,
		UNIT_TESTS(test_record_and_read, test_names, test_threads, test_cost, test_gauges));
	unit_tcase(s, "wire", NULL, NULL, 0,
	           UNIT_TESTS(test_stats_reply_round_trip, test_stats_reply_refused,
	                      test_verbose_status_round_trip));
	return s;
}

int
main(void)
{
	return unit_run(stats_suite(), "test_stats", 0);
}
