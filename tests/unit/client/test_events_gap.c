/* test_events_gap.c - how a libcradle subscription fills a gap in the
 * seqs (client/libcradle.c, "events"), against a fake cradled in the test
 * process: an nng pub0 socket for the events and a rep0 socket answering
 * events.since from a log the test writes (proto's codec both ways).
 *
 * - a gap while the daemon cannot answer (no request socket) stays open:
 *   -ETIMEDOUT (UNAVAILABLE) saying so, nothing handed out past it, not
 *   even the live event that showed it, and no loss reported; once the
 *   daemon answers, the missing events come first, then that one;
 * - within one call the replay is asked again until timeout_ms runs out;
 * - another failure (PERMISSION_DENIED) is returned with the gap kept,
 *   and the log is not asked again at once on the next call;
 * - a range the log trimmed (NOT_FOUND) is reported once (-ENODATA), and
 *   the subscription goes on from the oldest kept event, also when the
 *   daemon was away between the two.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "client/cradle.h"
#include "proto/proto.h"
#include "tests/unit/lib/unit.h"

#define LOG_MAX 64

/* the fake daemon of a test */
static struct {
	char req_path[PATH_MAX], req_url[PATH_MAX + 8];
	char events_url[PATH_MAX + 8];
	nng_socket pub, rep;
	bool rep_up;
	pthread_t thr;
	pthread_mutex_t mu;
	struct proto_event log[LOG_MAX + 1]; /* by seq */
	uint64_t oldest, last;               /* kept: oldest..last */
	int answered;
	bool deny; /* answer PERMISSION_DENIED */
	int pipes; /* subscribers the pub socket saw come */
	pthread_cond_t cond;
} F;

static void
pub_pipe(nng_pipe p, nng_pipe_ev what, void *arg)
{
	(void)p;
	(void)what;
	(void)arg;
	pthread_mutex_lock(&F.mu);
	F.pipes++;
	pthread_cond_broadcast(&F.cond);
	pthread_mutex_unlock(&F.mu);
}

static void
setup(void)
{
	char path[PATH_MAX];

	unit_scratch_setup();
	memset(&F, 0, sizeof(F));
	pthread_mutex_init(&F.mu, NULL);
	pthread_cond_init(&F.cond, NULL);
	F.oldest = 1;
	unit_path(F.req_path, sizeof(F.req_path), "cradle.sock");
	snprintf(F.req_url, sizeof(F.req_url), "ipc://%s", F.req_path);
	unit_path(path, sizeof(path), "events.sock");
	snprintf(F.events_url, sizeof(F.events_url), "ipc://%s", path);
	ck_assert_int_eq(nng_pub0_open(&F.pub), 0);
	ck_assert_int_eq(nng_pipe_notify(F.pub, NNG_PIPE_EV_ADD_POST, pub_pipe, NULL), 0);
	ck_assert_int_eq(nng_listen(F.pub, F.events_url, NULL, 0), 0);
}

/* The reply to an events.since from since, as the daemon gives it
 * (core/events.c), at most 4 a page so that paging is seen too. */
static void
answer(uint64_t since, msgpack_sbuffer *sb)
{
	struct proto_reply rep;
	struct cradle_err err = { 0 };

	pthread_mutex_lock(&F.mu);
	if (F.deny) {
		cradle_err_set(&err, CRADLE_PERMISSION_DENIED, "events.since: not for you");
		ck_assert_int_eq(proto_reply_encode_error(sb, &err), 0);
		F.answered++;
		pthread_mutex_unlock(&F.mu);
		return;
	}
	if (since != 0 && since < F.oldest) {
		cradle_err_set(&err, CRADLE_NOT_FOUND,
		               "events.since %llu: events %llu to %llu are no longer kept; the "
		               "oldest kept is %llu",
		               (unsigned long long)since, (unsigned long long)since,
		               (unsigned long long)F.oldest - 1, (unsigned long long)F.oldest);
		ck_assert_int_eq(proto_reply_encode_error(sb, &err), 0);
		F.answered++;
		pthread_mutex_unlock(&F.mu);
		return;
	}
	proto_reply_init(&rep, OP_EVENTS_SINCE);
	rep.ok = true;
	rep.oldest_seq = F.oldest;
	rep.last_seq = F.last;
	uint64_t from = since == 0 ? F.oldest : since;
	if (from <= F.last) {
		size_t n = F.last - from + 1 > 4 ? 4 : (size_t)(F.last - from + 1);
		rep.events = calloc(n, sizeof(*rep.events));
		ck_assert_ptr_nonnull(rep.events);
		for (size_t i = 0; i < n; i++)
			rep.events[i] = F.log[from + i];
		rep.n_events = n;
		rep.more = from + n - 1 < F.last;
	}
	ck_assert_int_eq(proto_reply_encode(sb, &rep, &err), 0);
	F.answered++;
	pthread_mutex_unlock(&F.mu);
	proto_reply_fini(&rep);
}

static void *
serve(void *arg)
{
	nng_msg *m;

	(void)arg;
	while (nng_recvmsg(F.rep, &m, 0) == 0) {
		struct proto_request req;
		struct cradle_err err = { 0 };
		msgpack_sbuffer sb;

		msgpack_sbuffer_init(&sb);
		if (proto_request_decode(nng_msg_body(m), nng_msg_len(m), &req, &err) < 0) {
			ck_assert_int_eq(proto_reply_encode_error(&sb, &err), 0);
		} else {
			ck_assert_int_eq(req.op, OP_EVENTS_SINCE);
			answer(req.since, &sb);
			proto_request_fini(&req);
		}
		nng_msg_clear(m);
		ck_assert_int_eq(nng_msg_append(m, sb.data, sb.size), 0);
		msgpack_sbuffer_destroy(&sb);
		if (nng_sendmsg(F.rep, m, 0) != 0)
			nng_msg_free(m);
	}
	return NULL;
}

/* The request socket comes (back) up, or goes away. */
static void
requests_up(void)
{
	ck_assert(!F.rep_up);
	ck_assert_int_eq(nng_rep0_open(&F.rep), 0);
	ck_assert_int_eq(nng_listen(F.rep, F.req_url, NULL, 0), 0);
	ck_assert_int_eq(pthread_create(&F.thr, NULL, serve, NULL), 0);
	F.rep_up = true;
}

static void
requests_down(void)
{
	ck_assert(F.rep_up);
	nng_close(F.rep);
	pthread_join(F.thr, NULL);
	F.rep_up = false;
}

/* seq into the log; published too when live (else "dropped") */
static void
publish(uint64_t seq, bool live)
{
	struct proto_event ev = { .seq = seq };
	struct cradle_err err = { 0 };
	msgpack_sbuffer sb;

	ck_assert_uint_le(seq, LOG_MAX);
	snprintf(ev.type, sizeof(ev.type), "%s", PROTO_EVENT_EXIT);
	snprintf(ev.id, sizeof(ev.id), "%064llx", (unsigned long long)seq);
	ev.pid = (int32_t)(1000 + seq);
	pthread_mutex_lock(&F.mu);
	F.log[seq] = ev;
	F.last = seq;
	pthread_mutex_unlock(&F.mu);
	if (!live)
		return;
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_event_encode(&sb, &ev, &err), 0);
	ck_assert_int_eq(nng_send(F.pub, sb.data, sb.size, 0), 0);
	msgpack_sbuffer_destroy(&sb);
}

static struct cradle_events *
subscribe(uint64_t since)
{
	struct cradle_events *ev = NULL;
	struct cradle_error err = { 0 };
	struct timespec until;
	int rc = 0;

	ck_assert_msg(cradle_events_subscribe(F.events_url, F.req_path, since, &ev, &err) == 0,
	              "%s", err.message);
	/* what is published from now on reaches it */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&F.mu);
	while (F.pipes == 0 && rc == 0)
		rc = pthread_cond_timedwait(&F.cond, &F.mu, &until);
	pthread_mutex_unlock(&F.mu);
	ck_assert_int_eq(rc, 0);
	return ev;
}

static void
expect_seq(struct cradle_events *ev, uint64_t seq)
{
	struct cradle_error err = { 0 };
	struct cradle_event e = { 0 };

	int rc = cradle_events_next(ev, 5000, &e, &err);
	ck_assert_msg(rc == 0, "waiting for %llu: %d %s", (unsigned long long)seq, rc, err.message);
	ck_assert_uint_eq(e.seq, seq);
	ck_assert_int_eq(e.kind, CRADLE_EVENT_SANDBOX_EXIT);
	ck_assert_int_eq(e.pid, (int32_t)(1000 + seq));
}

/* A timeout while the gap after last waits for the daemon. */
static void
expect_waiting(struct cradle_events *ev, int timeout_ms, uint64_t last)
{
	struct cradle_error err = { 0 };
	struct cradle_event e = { 0 };
	char want[80];

	int rc = cradle_events_next(ev, timeout_ms, &e, &err);
	ck_assert_msg(rc == -ETIMEDOUT, "rc %d, seq %llu: %s", rc, (unsigned long long)e.seq,
	              err.message);
	ck_assert_int_eq(err.code, CRADLE_STATUS_UNAVAILABLE);
	snprintf(want, sizeof(want), "events after %llu could not be replayed yet",
	         (unsigned long long)last);
	ck_assert_msg(strstr(err.message, want) != NULL, "%s", err.message);
	ck_assert_msg(strstr(err.message, F.req_path) != NULL, "%s", err.message);
	ck_assert_uint_eq(cradle_events_last_seq(ev), last);
}

static void
expect_quiet(struct cradle_events *ev)
{
	struct cradle_error err = { 0 };
	struct cradle_event e = { 0 };

	int rc = cradle_events_next(ev, 200, &e, &err);
	ck_assert_msg(rc == -ETIMEDOUT, "rc %d, seq %llu: %s", rc, (unsigned long long)e.seq,
	              err.message);
	ck_assert_msg(strstr(err.message, "replayed") == NULL, "%s", err.message);
}

static void
teardown(void)
{
	if (F.rep_up)
		requests_down();
	nng_close(F.pub);
	unit_scratch_teardown();
}

START_TEST(test_gap_waits_for_the_daemon)
{
	requests_up();
	publish(1, true);
	struct cradle_events *ev = subscribe(0); /* from after 1 */
	ck_assert_uint_eq(cradle_events_last_seq(ev), 1);
	publish(2, true);
	expect_seq(ev, 2);
	expect_quiet(ev);

	/* the daemon goes away; 3, 4 are dropped, 5 is received */
	requests_down();
	publish(3, false);
	publish(4, false);
	publish(5, true);
	expect_waiting(ev, 300, 2);
	expect_waiting(ev, 0, 2); /* no time at all */
	expect_waiting(ev, 50, 2);

	/* back: 3, 4 from the log, then 5, once */
	requests_up();
	expect_seq(ev, 3);
	expect_seq(ev, 4);
	expect_seq(ev, 5);
	expect_quiet(ev);
	publish(6, true);
	expect_seq(ev, 6);
	cradle_events_close(ev);
}
END_TEST

static void *
up_later(void *arg)
{
	(void)arg;
	unit_sleep_ms(300);
	requests_up();
	return NULL;
}

START_TEST(test_one_call_asks_again)
{
	struct cradle_error err = { 0 };
	struct cradle_event e = { 0 };
	pthread_t t;

	requests_up();
	struct cradle_events *ev = subscribe(0);
	publish(1, true);
	expect_seq(ev, 1);
	requests_down();
	publish(2, false);
	publish(3, false);
	publish(4, true);
	ck_assert_int_eq(pthread_create(&t, NULL, up_later, NULL), 0);
	/* the daemon comes back while this one call waits */
	ck_assert_msg(cradle_events_next(ev, 10000, &e, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(e.seq, 2);
	pthread_join(t, NULL);
	expect_seq(ev, 3);
	expect_seq(ev, 4);
	expect_quiet(ev);
	cradle_events_close(ev);
}
END_TEST

static int
answered(void)
{
	pthread_mutex_lock(&F.mu);
	int n = F.answered;
	pthread_mutex_unlock(&F.mu);
	return n;
}

/* A failure that is not the daemon being away is the caller's to see,
 * with the gap kept, and not asked again at once. */
START_TEST(test_other_failure_keeps_gap)
{
	struct cradle_error err = { 0 };
	struct cradle_event e = { 0 };

	requests_up();
	struct cradle_events *ev = subscribe(0);
	publish(1, true);
	expect_seq(ev, 1);
	pthread_mutex_lock(&F.mu);
	F.deny = true;
	pthread_mutex_unlock(&F.mu);
	publish(2, false);
	publish(3, true);
	int n = answered();
	int rc = cradle_events_next(ev, 5000, &e, &err);
	ck_assert_msg(rc == -EPERM, "rc %d: %s", rc, err.message);
	ck_assert_int_eq(err.code, CRADLE_STATUS_PERMISSION_DENIED);
	ck_assert_msg(strstr(err.message, "events after 1 could not be replayed: events.since: "
	                                  "not for you") != NULL,
	              "%s", err.message);
	ck_assert_int_eq(answered(), n + 1);
	ck_assert_uint_eq(cradle_events_last_seq(ev), 1);
	/* at once again: not asked, the same cause */
	ck_assert_int_eq(cradle_events_next(ev, 0, &e, &err), -ETIMEDOUT);
	ck_assert_int_eq(err.code, CRADLE_STATUS_UNAVAILABLE);
	ck_assert_msg(strstr(err.message, "not for you") != NULL, "%s", err.message);
	ck_assert_int_eq(answered(), n + 1);
	/* allowed again: 2 from the log, then 3 */
	pthread_mutex_lock(&F.mu);
	F.deny = false;
	pthread_mutex_unlock(&F.mu);
	expect_seq(ev, 2);
	expect_seq(ev, 3);
	expect_quiet(ev);
	cradle_events_close(ev);
}
END_TEST

/* a log of 5..12: 1..4 trimmed */
static void
trimmed_log(void)
{
	for (uint64_t s = 1; s <= 12; s++)
		publish(s, false);
	pthread_mutex_lock(&F.mu);
	F.oldest = 5;
	pthread_mutex_unlock(&F.mu);
}

static void
expect_lost(struct cradle_events *ev)
{
	struct cradle_error err = { 0 };
	struct cradle_event e = { 0 };

	ck_assert_int_eq(cradle_events_next(ev, 5000, &e, &err), -ENODATA);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);
	ck_assert_msg(strstr(err.message, "events after 1 were lost") != NULL, "%s", err.message);
	ck_assert_msg(strstr(err.message, "the oldest kept is 5") != NULL, "%s", err.message);
}

START_TEST(test_trimmed_reported_once)
{
	trimmed_log();
	requests_up();
	struct cradle_events *ev = subscribe(2);
	expect_lost(ev);
	for (uint64_t s = 5; s <= 12; s++) /* three pages */
		expect_seq(ev, s);
	expect_quiet(ev);
	cradle_events_close(ev);
}
END_TEST

START_TEST(test_trimmed_then_away)
{
	trimmed_log();
	/* away first: a wait, not a loss */
	struct cradle_events *ev = subscribe(2);
	expect_waiting(ev, 100, 1);
	requests_up();
	expect_lost(ev);
	/* away between the loss and the oldest kept: still said once */
	requests_down();
	expect_waiting(ev, 100, 1);
	requests_up();
	for (uint64_t s = 5; s <= 12; s++)
		expect_seq(ev, s);
	expect_quiet(ev);
	cradle_events_close(ev);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("events_gap");

	unit_tcase(s, "gap", setup, teardown, 30,
	           UNIT_TESTS(test_gap_waits_for_the_daemon, test_one_call_asks_again,
	                      test_other_failure_keeps_gap, test_trimmed_reported_once,
	                      test_trimmed_then_away));
	return unit_run(s, "test_events_gap", 0);
}
