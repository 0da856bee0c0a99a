/* test_events.c - the event log (core/events.c) and the u64-keyed store
 * calls under it (util/store.c).
 *
 * A publisher with a log in the test's directory and a durable store
 * beside it, no socket: seqs go on from the log after a reopen; since
 * replays the kept events in order, a page at a time; keep trims (with
 * its slack) and an older since is NOT_FOUND naming the oldest kept
 * one; a lost log, or one of another boot, starts after the durable
 * reservation, never reusing a seq; without a log since is refused.  A
 * loop prints what an event costs (store + encode; no assertion on it).
 *
 * ROOT is not needed.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/events.h"
#include "tests/unit/lib/unit.h"
#include "util/fs.h"
#include "util/store.h"

static struct {
	char dir[600];
	char root[700];
	struct store *durable;
	struct events *events;
} F;

static void
setup(void)
{
	struct cradle_err err = { 0 };

	memset(&F, 0, sizeof(F));
	unit_scratch_setup();
	snprintf(F.dir, sizeof(F.dir), "%s/state", unit_test_dir());
	unit_path(F.root, sizeof(F.root), "root");
	ck_assert_msg(store_open(F.root, &F.durable, &err) == 0, "%s", err.msg);
}

static void
teardown(void)
{
	events_close(F.events);
	store_close(F.durable);
	unit_scratch_teardown();
}

static void
open_log(size_t keep)
{
	struct events_config cfg = { .dir = F.dir, .keep = keep, .durable = F.durable };
	struct cradle_err err = { 0 };

	events_close(F.events);
	F.events = NULL;
	ck_assert_msg(events_open_config(&cfg, &F.events, &err) == 0, "%s", err.msg);
}

/* Event i: an exit of a sandbox whose id encodes i, pid i. */
static uint64_t
publish(unsigned i)
{
	struct proto_event ev;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.type, sizeof(ev.type), "%s", i % 2 ? PROTO_EVENT_EXIT : PROTO_EVENT_STARTED);
	snprintf(ev.id, sizeof(ev.id), "%064x", i);
	ev.pid = (int32_t)i;
	ev.exit_status = i % 2 ? 137 : 0;
	ev.exited_at = i % 2 ? 1000 + i : 0;
	events_publish(F.events, &ev);
	return ev.seq;
}

static void
since_ok(uint64_t from, struct proto_reply *rep)
{
	struct cradle_err err = { 0 };

	proto_reply_init(rep, OP_EVENTS_SINCE);
	ck_assert_msg(events_since(F.events, from, PROTO_MAX_EVENTS_PAGE, rep, &err) == 0,
	              "since %" PRIu64 ": %s", from, err.msg);
}

START_TEST(test_seq_survives_reopen)
{
	struct proto_reply rep;

	open_log(100);
	ck_assert_uint_eq(events_last_seq(F.events), 0);
	for (unsigned i = 1; i <= 10; i++)
		ck_assert_uint_eq(publish(i), i);
	open_log(100);
	ck_assert_uint_eq(events_last_seq(F.events), 10);
	ck_assert_uint_eq(publish(11), 11);

	since_ok(1, &rep);
	ck_assert_uint_eq(rep.n_events, 11);
	ck_assert_uint_eq(rep.oldest_seq, 1);
	ck_assert_uint_eq(rep.last_seq, 11);
	ck_assert(!rep.more);
	for (unsigned i = 0; i < 11; i++) {
		char id[CRADLE_ID_LEN + 1];
		snprintf(id, sizeof(id), "%064x", i + 1);
		ck_assert_uint_eq(rep.events[i].seq, i + 1);
		ck_assert_str_eq(rep.events[i].id, id);
		ck_assert_int_eq(rep.events[i].pid, (int32_t)(i + 1));
		ck_assert_str_eq(rep.events[i].type,
		                 (i + 1) % 2 ? PROTO_EVENT_EXIT : PROTO_EVENT_STARTED);
		ck_assert_int_eq(rep.events[i].exited_at, (i + 1) % 2 ? 1000 + i + 1 : 0);
	}
	proto_reply_fini(&rep);

	/* from the middle; past the end: nothing, and where the log is */
	since_ok(7, &rep);
	ck_assert_uint_eq(rep.n_events, 5);
	ck_assert_uint_eq(rep.events[0].seq, 7);
	proto_reply_fini(&rep);
	since_ok(12, &rep);
	ck_assert_uint_eq(rep.n_events, 0);
	ck_assert_uint_eq(rep.last_seq, 11);
	ck_assert(!rep.more);
	proto_reply_fini(&rep);
	since_ok(UINT64_MAX, &rep);
	ck_assert_uint_eq(rep.n_events, 0);
	ck_assert_uint_eq(rep.last_seq, 11);
	proto_reply_fini(&rep);
}
END_TEST

START_TEST(test_pages)
{
	struct proto_reply rep;
	uint64_t from = 1, got = 0;
	int pages = 0;

	open_log(5000);
	for (unsigned i = 1; i <= 1200; i++)
		publish(i);
	for (;;) {
		since_ok(from, &rep);
		pages++;
		ck_assert_uint_le(rep.n_events, PROTO_MAX_EVENTS_PAGE);
		for (size_t i = 0; i < rep.n_events; i++)
			ck_assert_uint_eq(rep.events[i].seq, from + i);
		got += rep.n_events;
		from += rep.n_events;
		bool more = rep.more;
		ck_assert_int_eq(more, from <= 1200);
		proto_reply_fini(&rep);
		if (!more)
			break;
	}
	ck_assert_uint_eq(got, 1200);
	ck_assert_int_eq(pages, 3);
}
END_TEST

START_TEST(test_trim)
{
	struct cradle_err err = { 0 };
	struct proto_reply rep;
	char want[128];

	/* keep 16: slack 16, so at most 32 are kept, at least 16 */
	open_log(16);
	for (unsigned i = 1; i <= 100; i++)
		publish(i);
	since_ok(0, &rep);
	ck_assert_uint_ge(rep.oldest_seq, 100 - 32 + 1);
	ck_assert_uint_le(rep.oldest_seq, 100 - 16 + 1);
	ck_assert_uint_eq(rep.events[0].seq, rep.oldest_seq);
	ck_assert_uint_eq(rep.n_events, 100 - rep.oldest_seq + 1);
	ck_assert_uint_eq(rep.events[rep.n_events - 1].seq, 100);
	uint64_t oldest = rep.oldest_seq;
	proto_reply_fini(&rep);

	proto_reply_init(&rep, OP_EVENTS_SINCE);
	ck_assert_int_lt(events_since(F.events, 1, PROTO_MAX_EVENTS_PAGE, &rep, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	snprintf(want, sizeof(want), "the oldest kept is %" PRIu64, oldest);
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "no longer kept") != NULL, "%s", err.msg);
	ck_assert_uint_eq(rep.n_events, 0);
	proto_reply_fini(&rep);
	/* the oldest itself is fine */
	since_ok(oldest, &rep);
	ck_assert_uint_eq(rep.events[0].seq, oldest);
	proto_reply_fini(&rep);
	/* a reopen keeps the trimmed log's bounds */
	open_log(16);
	since_ok(0, &rep);
	ck_assert_uint_eq(rep.oldest_seq, oldest);
	ck_assert_uint_eq(rep.last_seq, 100);
	proto_reply_fini(&rep);
}
END_TEST

START_TEST(test_lost_log_never_reuses)
{
	struct cradle_err err = { 0 };
	struct proto_reply rep;
	char env[800];

	open_log(100);
	for (unsigned i = 1; i <= 5; i++)
		publish(i);
	events_close(F.events);
	F.events = NULL;
	snprintf(env, sizeof(env), "%s/events.mdb", F.dir);
	ck_assert_int_eq(unit_rm_rf(env), 0);

	open_log(100);
	uint64_t seq = publish(6);
	ck_assert_uint_gt(seq, 5);
	ck_assert_uint_ge(seq, (uint64_t)1 << 32);
	/* what was lost is said so */
	proto_reply_init(&rep, OP_EVENTS_SINCE);
	ck_assert_int_lt(events_since(F.events, 6, PROTO_MAX_EVENTS_PAGE, &rep, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	proto_reply_fini(&rep);
	since_ok(0, &rep);
	ck_assert_uint_eq(rep.n_events, 1);
	ck_assert_uint_eq(rep.events[0].seq, seq);
	proto_reply_fini(&rep);
}
END_TEST

START_TEST(test_other_boot_discarded)
{
	char file[800];

	open_log(100);
	for (unsigned i = 1; i <= 3; i++)
		publish(i);
	events_close(F.events);
	F.events = NULL;
	snprintf(file, sizeof(file), "%s/events.mdb/boot_id", F.dir);
	ck_assert(unit_exists(file));
	unit_put_str(file, "00000000-0000-0000-0000-000000000000\n");
	open_log(100);
	ck_assert_uint_ge(events_last_seq(F.events), (uint64_t)1 << 32);
	/* the same boot keeps it */
	uint64_t seq = publish(4);
	open_log(100);
	ck_assert_uint_eq(events_last_seq(F.events), seq);
}
END_TEST

START_TEST(test_no_log)
{
	struct cradle_err err = { 0 };
	struct proto_reply rep;
	struct events_config cfg = { 0 };

	ck_assert_int_eq(events_open_config(&cfg, &F.events, &err), 0);
	ck_assert_uint_eq(publish(1), 1);
	proto_reply_init(&rep, OP_EVENTS_SINCE);
	ck_assert_int_lt(events_since(F.events, 1, 10, &rep, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
	proto_reply_fini(&rep);
}
END_TEST

START_TEST(test_u64_store)
{
	struct cradle_err err = { 0 };
	struct store *st;
	struct store_opts o = { .name = "u64.mdb", .nosync = true, .map_size = 8 << 20 };
	uint64_t first, last;

	ck_assert_msg(store_open_opts(F.dir, &o, &st, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(store_bounds_u64(st, "t", &first, &last, &err), -ENOENT);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	/* numeric order, not the order of writing: 256 > 255 bytewise too */
	static const uint64_t keys[] = { 256, 1, 255, UINT64_MAX, 1ULL << 40 };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_int_eq(store_put_u64(st, "t", keys[i], "x", 1, &err), 0);
	ck_assert_int_eq(store_bounds_u64(st, "t", &first, &last, &err), 0);
	ck_assert_uint_eq(first, 1);
	ck_assert_uint_eq(last, UINT64_MAX);
	ck_assert_int_eq(store_del_below_u64(st, "t", 256, &err), 2);
	ck_assert_int_eq(store_bounds_u64(st, "t", &first, &last, &err), 0);
	ck_assert_uint_eq(first, 256);
	ck_assert_int_eq(store_del_below_u64(st, "t", 256, &err), 0);
	store_close(st);
}
END_TEST

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What an event costs the publisher: encode + an unsynced LMDB commit
 * (+ a trim now and then).  A figure, not a bound. */
START_TEST(test_cost_per_event)
{
	struct proto_reply rep;
	const unsigned n = 20000;

	open_log(4096);
	int64_t t0 = mono_ns();
	for (unsigned i = 1; i <= n; i++)
		publish(i);
	int64_t dt = mono_ns() - t0;
	fprintf(stderr, "event log: %u events in %.1f ms, %.2f us per event (keep 4096)\n", n,
	        (double)dt / 1e6, (double)dt / n / 1e3);
	since_ok(0, &rep);
	ck_assert_uint_eq(rep.last_seq, n);
	proto_reply_fini(&rep);

	/* for scale: the same write as a synced commit (cradle.mdb's) */
	struct cradle_err err = { 0 };
	const unsigned m = 200;
	t0 = mono_ns();
	for (unsigned i = 1; i <= m; i++)
		ck_assert_int_eq(store_put_u64(F.durable, "scale", i, "0123456789abcdef", 16, &err),
		                 0);
	dt = mono_ns() - t0;
	fprintf(stderr, "synced commit: %.2f us per write (%u writes), for comparison\n",
	        (double)dt / m / 1e3, m);
}
END_TEST

static Suite *
events_suite(void)
{
	Suite *s = suite_create("events");

	unit_tcase(s, "log", setup, teardown, 60,
	           UNIT_TESTS(test_seq_survives_reopen, test_pages, test_trim,
	                      test_lost_log_never_reuses, test_other_boot_discarded, test_no_log,
	                      test_u64_store, test_cost_per_event));
	return s;
}

int
main(void)
{
	return unit_run(events_suite(), "test_events", 0);
}
