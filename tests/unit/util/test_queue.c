/* test_queue.c - the bounded lock-free MPMC queue (util/queue.c).
 *
 * Single-threaded semantics (FIFO, full, empty, capacity rounding, laps),
 * then 4 producers x 4 consumers moving 1,000,000 distinct items where each
 * must be seen exactly once, and checks that waiting consumers sleep and
 * wake.  Threads are started inside the tests: Check forks per test.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/queue.h"
#include "tests/unit/lib/unit.h"

/* Items are integers n carried as the pointer value n + 1, so that 0 is
 * never pushed (NULL is refused). */
#define ITEM(n) ((void *)((uintptr_t)(n) + 1))
#define NUM(p) ((size_t)(((uintptr_t)(p)) - 1))

START_TEST(test_capacity_rounding)
{
	static const struct {
		size_t ask, want;
	} cases[] = {
		{ 1, 2 }, { 2, 2 },       { 3, 4 },       { 4, 4 },
		{ 5, 8 }, { 1000, 1024 }, { 1024, 1024 }, { 1025, 2048 },
	};
	struct queue q;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(queue_init(&q, cases[i].ask), 0);
		ck_assert_uint_eq(queue_capacity(&q), cases[i].want);
		queue_fini(&q);
	}
	ck_assert_int_eq(queue_init(&q, 0), -EINVAL);
	/* a failed init leaves a zeroed queue that fini accepts */
	queue_fini(&q);
	ck_assert_int_eq(queue_init(&q, SIZE_MAX), -EINVAL);
	queue_fini(&q);
}
END_TEST

START_TEST(test_fini_zeroed)
{
	struct queue q;

	memset(&q, 0, sizeof(q));
	queue_fini(&q);
	queue_fini(&q);
	ck_assert_uint_eq(queue_capacity(&q), 0);
	ck_assert_int_eq(queue_init(&q, 4), 0);
	queue_fini(&q);
	queue_fini(&q);
}
END_TEST

START_TEST(test_fifo_full_empty)
{
	struct queue q;
	void *p;
	size_t i;

	ck_assert_int_eq(queue_init(&q, 8), 0);
	ck_assert(!queue_pop(&q, &p));
	ck_assert(!queue_push(&q, NULL));
	for (i = 0; i < 8; i++) {
		ck_assert(queue_push(&q, ITEM(i)));
	}
	/* full: refused at once, never blocks */
	ck_assert(!queue_push(&q, ITEM(99)));
	ck_assert(!queue_push(&q, ITEM(99)));
	for (i = 0; i < 8; i++) {
		ck_assert(queue_pop(&q, &p));
		ck_assert_uint_eq(NUM(p), i);
	}
	ck_assert(!queue_pop(&q, &p));
	/* room again after draining */
	ck_assert(queue_push(&q, ITEM(7)));
	ck_assert(queue_pop(&q, &p));
	ck_assert_uint_eq(NUM(p), 7);
	queue_fini(&q);
}
END_TEST

START_TEST(test_laps)
{
	struct queue q;
	size_t next_in = 0, next_out = 0;
	size_t round, k;
	void *p;

	/* Many laps around a small ring with varying fill levels, so every
	 * cell's sequence number wraps many times. */
	ck_assert_int_eq(queue_init(&q, 4), 0);
	for (round = 0; round < 10000; round++) {
		size_t n_in = 1 + round % 4, n_out = 1 + (round * 7) % 4;

		for (k = 0; k < n_in; k++) {
			if (!queue_push(&q, ITEM(next_in))) {
				ck_assert_uint_eq(next_in - next_out, 4);
				break;
			}
			next_in++;
		}
		for (k = 0; k < n_out; k++) {
			if (!queue_pop(&q, &p)) {
				ck_assert_uint_eq(next_in, next_out);
				break;
			}
			ck_assert_uint_eq(NUM(p), next_out);
			next_out++;
		}
	}
	while (queue_pop(&q, &p)) {
		ck_assert_uint_eq(NUM(p), next_out);
		next_out++;
	}
	ck_assert_uint_eq(next_in, next_out);
	ck_assert_uint_gt(next_in, 10000);
	queue_fini(&q);
}
END_TEST

START_TEST(test_pop_wait_single)
{
	struct queue q;
	size_t i;

	/* tokens and items stay paired without any concurrency */
	ck_assert_int_eq(queue_init(&q, 16), 0);
	for (i = 0; i < 16; i++) {
		ck_assert(queue_push(&q, ITEM(i)));
	}
	for (i = 0; i < 16; i++) {
		ck_assert_uint_eq(NUM(queue_pop_wait(&q)), i);
	}
	queue_fini(&q);
}
END_TEST

/* --- 4 x 4, one million items ------------------------------------------ */

#define MP_PRODUCERS 4
#define MP_CONSUMERS 4
#define MP_ITEMS 1000000u
#define MP_PER_PRODUCER (MP_ITEMS / MP_PRODUCERS)
/* one past every real item: tells a consumer to stop */
#define MP_STOP ITEM(MP_ITEMS)

struct mp {
	struct queue q;
	atomic_uchar *seen; /* times item n was popped */
	atomic_size_t popped;
	atomic_int failures; /* order violations seen by consumers */
};

struct mp_arg {
	struct mp *mp;
	size_t index;
};

static void *
mp_producer(void *arg)
{
	struct mp_arg *a = arg;
	size_t first = a->index * MP_PER_PRODUCER;
	size_t i;

	for (i = 0; i < MP_PER_PRODUCER; i++) {
		while (!queue_push(&a->mp->q, ITEM(first + i))) {
			sched_yield();
		}
	}
	return (NULL);
}

static void *
mp_consumer(void *arg)
{
	struct mp_arg *a = arg;
	/* last item seen from each producer: a producer's items are claimed
	 * in increasing positions and a consumer claims increasing positions,
	 * so per consumer they must arrive in the order pushed */
	size_t last[MP_PRODUCERS];
	size_t n, prod, count = 0;
	void *p;

	for (prod = 0; prod < MP_PRODUCERS; prod++) {
		last[prod] = SIZE_MAX;
	}
	for (;;) {
		p = queue_pop_wait(&a->mp->q);
		if (p == MP_STOP) {
			break;
		}
		n = NUM(p);
		if (n >= MP_ITEMS) {
			atomic_fetch_add(&a->mp->failures, 1);
			continue;
		}
		prod = n / MP_PER_PRODUCER;
		if (last[prod] != SIZE_MAX && n <= last[prod]) {
			atomic_fetch_add(&a->mp->failures, 1);
		}
		last[prod] = n;
		atomic_fetch_add_explicit(&a->mp->seen[n], 1, memory_order_relaxed);
		count++;
	}
	atomic_fetch_add(&a->mp->popped, count);
	return (NULL);
}

START_TEST(test_mpmc_million)
{
	pthread_t prod[MP_PRODUCERS], cons[MP_CONSUMERS];
	struct mp_arg pa[MP_PRODUCERS], ca[MP_CONSUMERS];
	struct mp mp;
	size_t i, missing = 0, dup = 0;
	void *p;

	memset(&mp, 0, sizeof(mp));
	ck_assert_int_eq(queue_init(&mp.q, 1024), 0);
	mp.seen = calloc(MP_ITEMS, sizeof(*mp.seen));
	ck_assert_ptr_nonnull(mp.seen);
	atomic_init(&mp.popped, 0);
	atomic_init(&mp.failures, 0);

	for (i = 0; i < MP_CONSUMERS; i++) {
		ca[i] = (struct mp_arg){ &mp, i };
		ck_assert_int_eq(pthread_create(&cons[i], NULL, mp_consumer, &ca[i]), 0);
	}
	for (i = 0; i < MP_PRODUCERS; i++) {
		pa[i] = (struct mp_arg){ &mp, i };
		ck_assert_int_eq(pthread_create(&prod[i], NULL, mp_producer, &pa[i]), 0);
	}
	for (i = 0; i < MP_PRODUCERS; i++) {
		ck_assert_int_eq(pthread_join(prod[i], NULL), 0);
	}
	/* every real item is in; one stop marker per consumer */
	for (i = 0; i < MP_CONSUMERS; i++) {
		while (!queue_push(&mp.q, MP_STOP)) {
			sched_yield();
		}
	}
	for (i = 0; i < MP_CONSUMERS; i++) {
		ck_assert_int_eq(pthread_join(cons[i], NULL), 0);
	}

	for (i = 0; i < MP_ITEMS; i++) {
		unsigned char c = atomic_load(&mp.seen[i]);

		missing += c == 0;
		dup += c > 1;
	}
	ck_assert_uint_eq(missing, 0);
	ck_assert_uint_eq(dup, 0);
	ck_assert_uint_eq(atomic_load(&mp.popped), MP_ITEMS);
	ck_assert_int_eq(atomic_load(&mp.failures), 0);
	ck_assert(!queue_pop(&mp.q, &p));
	free(mp.seen);
	queue_fini(&mp.q);
}
END_TEST

/* --- idle consumers sleep --------------------------------------------- */

#define IDLE_CONSUMERS 2

struct idle {
	struct queue q;
	atomic_int ready;
	void *got[IDLE_CONSUMERS];
};

struct idle_arg {
	struct idle *idle;
	size_t index;
};

static void *
idle_consumer(void *arg)
{
	struct idle_arg *a = arg;

	atomic_fetch_add(&a->idle->ready, 1);
	a->idle->got[a->index] = queue_pop_wait(&a->idle->q);
	return (NULL);
}

static long long
thread_cpu_ns(pthread_t t)
{
	clockid_t clk;
	struct timespec ts;

	ck_assert_int_eq(pthread_getcpuclockid(t, &clk), 0);
	ck_assert_int_eq(clock_gettime(clk, &ts), 0);
	return ((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

START_TEST(test_idle_consumers_sleep)
{
	pthread_t th[IDLE_CONSUMERS];
	struct idle_arg args[IDLE_CONSUMERS];
	long long before[IDLE_CONSUMERS], used;
	struct idle idle;
	size_t i;
	int seen = 0;

	memset(&idle, 0, sizeof(idle));
	ck_assert_int_eq(queue_init(&idle.q, 8), 0);
	atomic_init(&idle.ready, 0);
	for (i = 0; i < IDLE_CONSUMERS; i++) {
		args[i] = (struct idle_arg){ &idle, i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, idle_consumer, &args[i]), 0);
	}
	while (atomic_load(&idle.ready) < IDLE_CONSUMERS) {
		unit_sleep_ms(1);
	}
	/* let them get into sem_wait, then watch them for 400 ms: a spinning
	 * consumer would burn most of that; a sleeping one burns nothing.
	 * The bound is loose so a loaded machine cannot make it flaky. */
	unit_sleep_ms(50);
	for (i = 0; i < IDLE_CONSUMERS; i++) {
		before[i] = thread_cpu_ns(th[i]);
	}
	unit_sleep_ms(400);
	for (i = 0; i < IDLE_CONSUMERS; i++) {
		used = thread_cpu_ns(th[i]) - before[i];
		ck_assert_msg(used < 100 * 1000000LL,
		              "idle consumer %zu used %lld ns of CPU in 400 ms", i, used);
	}

	/* and they wake when work arrives */
	ck_assert(queue_push(&idle.q, ITEM(10)));
	ck_assert(queue_push(&idle.q, ITEM(11)));
	for (i = 0; i < IDLE_CONSUMERS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert(idle.got[i] == ITEM(10) || idle.got[i] == ITEM(11));
		seen |= 1 << (NUM(idle.got[i]) - 10);
	}
	ck_assert_int_eq(seen, 3);
	queue_fini(&idle.q);
}
END_TEST

START_TEST(test_blocked_consumer_wakes)
{
	struct idle idle;
	struct idle_arg arg;
	struct timespec deadline;
	pthread_t th;

	memset(&idle, 0, sizeof(idle));
	ck_assert_int_eq(queue_init(&idle.q, 2), 0);
	atomic_init(&idle.ready, 0);
	arg = (struct idle_arg){ &idle, 0 };
	ck_assert_int_eq(pthread_create(&th, NULL, idle_consumer, &arg), 0);
	while (atomic_load(&idle.ready) < 1) {
		unit_sleep_ms(1);
	}
	unit_sleep_ms(20);
	ck_assert(queue_push(&idle.q, ITEM(42)));
	ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &deadline), 0);
	deadline.tv_sec += 30;
	ck_assert_int_eq(pthread_timedjoin_np(th, NULL, &deadline), 0);
	ck_assert_ptr_eq(idle.got[0], ITEM(42));
	queue_fini(&idle.q);
}
END_TEST

static Suite *
queue_suite(void)
{
	Suite *s = suite_create("queue");

	unit_tcase(s, "single", NULL, NULL, 0,
	           UNIT_TESTS(test_capacity_rounding, test_fini_zeroed, test_fifo_full_empty,
	                      test_laps, test_pop_wait_single));

	/* generous: TSan slows the million-item run by an order of magnitude */
	unit_tcase(s, "threads", NULL, NULL, 300,
	           UNIT_TESTS(test_mpmc_million, test_idle_consumers_sleep,
	                      test_blocked_consumer_wakes));

	return (s);
}

int
main(void)
{
	return (unit_run(queue_suite(), "test_queue", 0));
}
