/* test_events_since.c - the events.since request and its reply
 * (proto/codec.c), and the sandbox event types.
 *
 * Round trips of the request (seq absent, 0, large) and of the reply (a
 * page of events of every sandbox type and image progress, the bounds,
 * more); what the decoders refuse: a negative or non-integer seq, a reply
 * without its bounds, one with more than PROTO_MAX_EVENTS_PAGE events or
 * with seqs out of order, an event without a valid id; the encoder refuses
 * an oversized page.  A NOT_FOUND error reply reads as the call's error.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "proto/proto.h"
#include "tests/unit/lib/unit.h"

#define ID_FMT "%064x"

static void
pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

/* A request {v:1, op:"events.since", args:{seq: <seq>}}; seq_kind: 0
 * unsigned, 1 negative, 2 string, 3 absent. */
static void
request_with(msgpack_sbuffer *sb, int seq_kind)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	pk_str(&pk, "v");
	msgpack_pack_uint64(&pk, 1);
	pk_str(&pk, "op");
	pk_str(&pk, "events.since");
	pk_str(&pk, "args");
	msgpack_pack_map(&pk, seq_kind == 3 ? 0 : 1);
	if (seq_kind == 3)
		return;
	pk_str(&pk, "seq");
	if (seq_kind == 0)
		msgpack_pack_uint64(&pk, 5);
	else if (seq_kind == 1)
		msgpack_pack_int64(&pk, -5);
	else
		pk_str(&pk, "five");
}

START_TEST(test_request)
{
	static const uint64_t seqs[] = { 0, 1, 42, UINT64_MAX };
	struct cradle_err e = { 0 };
	struct proto_request in, out;
	msgpack_sbuffer sb;

	ck_assert_str_eq(proto_op_name(OP_EVENTS_SINCE), "events.since");
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		proto_request_init(&in, OP_EVENTS_SINCE);
		in.since = seqs[i];
		msgpack_sbuffer_init(&sb);
		ck_assert_int_eq(proto_request_encode(&sb, &in, &e), 0);
		ck_assert_msg(proto_request_decode(sb.data, sb.size, &out, &e) == 0, "%s", e.msg);
		ck_assert_int_eq(out.op, OP_EVENTS_SINCE);
		ck_assert_uint_eq(out.since, seqs[i]);
		proto_request_fini(&out);
		msgpack_sbuffer_destroy(&sb);
	}

	request_with(&sb, 3); /* no seq: from the oldest */
	ck_assert_int_eq(proto_request_decode(sb.data, sb.size, &out, &e), 0);
	ck_assert_uint_eq(out.since, 0);
	proto_request_fini(&out);
	msgpack_sbuffer_destroy(&sb);
	request_with(&sb, 0);
	ck_assert_int_eq(proto_request_decode(sb.data, sb.size, &out, &e), 0);
	ck_assert_uint_eq(out.since, 5);
	proto_request_fini(&out);
	msgpack_sbuffer_destroy(&sb);

	request_with(&sb, 1);
	ck_assert_int_lt(proto_request_decode(sb.data, sb.size, &out, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(e.msg, "args.seq") != NULL, "%s", e.msg);
	msgpack_sbuffer_destroy(&sb);
	request_with(&sb, 2);
	ck_assert_int_lt(proto_request_decode(sb.data, sb.size, &out, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(e.msg, "args.seq: expected unsigned integer, got string") != NULL,
	              "%s", e.msg);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

static const char *const types[] = {
	PROTO_EVENT_CREATED, PROTO_EVENT_STARTED,        PROTO_EVENT_EXIT,
	PROTO_EVENT_STOPPED, PROTO_EVENT_IMAGE_PROGRESS, PROTO_EVENT_REMOVED,
};
#define N_TYPES (sizeof(types) / sizeof(types[0]))

static void
fill(struct proto_event *ev, size_t i)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = 100 + i;
	snprintf(ev->type, sizeof(ev->type), "%s", types[i % N_TYPES]);
	if (strcmp(ev->type, PROTO_EVENT_IMAGE_PROGRESS) == 0) {
		snprintf(ev->ref, sizeof(ev->ref), "docker.io/library/pause:%zu", i);
		ev->done = i;
		ev->total = 1000;
		return;
	}
	snprintf(ev->id, sizeof(ev->id), ID_FMT, (unsigned)i + 1);
	ev->pid = (int32_t)i + 10;
	ev->exit_status = (int32_t)i;
	ev->exited_at = 1000000000LL * (int64_t)i;
}

START_TEST(test_reply)
{
	struct cradle_err e = { 0 };
	struct proto_reply in, out;
	msgpack_sbuffer sb;
	size_t n = 2 * N_TYPES;

	proto_reply_init(&in, OP_EVENTS_SINCE);
	in.ok = true;
	in.events = calloc(n, sizeof(*in.events));
	ck_assert_ptr_nonnull(in.events);
	in.n_events = n;
	for (size_t i = 0; i < n; i++)
		fill(&in.events[i], i);
	in.oldest_seq = 90;
	in.last_seq = 500;
	in.more = true;
	msgpack_sbuffer_init(&sb);
	ck_assert_msg(proto_reply_encode(&sb, &in, &e) == 0, "%s", e.msg);
	ck_assert_msg(proto_reply_decode(OP_EVENTS_SINCE, sb.data, sb.size, &out, &e) == 0, "%s",
	              e.msg);
	ck_assert(out.ok);
	ck_assert_uint_eq(out.n_events, n);
	ck_assert_uint_eq(out.oldest_seq, 90);
	ck_assert_uint_eq(out.last_seq, 500);
	ck_assert(out.more);
	for (size_t i = 0; i < n; i++) {
		struct proto_event want;
		fill(&want, i);
		ck_assert_uint_eq(out.events[i].seq, want.seq);
		ck_assert_str_eq(out.events[i].type, want.type);
		ck_assert_str_eq(out.events[i].id, want.id);
		ck_assert_str_eq(out.events[i].ref, want.ref);
		if (want.ref[0] == '\0') {
			ck_assert_int_eq(out.events[i].pid, want.pid);
			ck_assert_int_eq(out.events[i].exit_status, want.exit_status);
			ck_assert_int_eq(out.events[i].exited_at, want.exited_at);
		} else {
			ck_assert_uint_eq(out.events[i].done, want.done);
		}
	}
	proto_reply_fini(&out);
	msgpack_sbuffer_destroy(&sb);

	/* an empty page (caught up) */
	proto_reply_fini(&in);
	proto_reply_init(&in, OP_EVENTS_SINCE);
	in.ok = true;
	in.oldest_seq = 1;
	in.last_seq = 7;
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_reply_encode(&sb, &in, &e), 0);
	ck_assert_int_eq(proto_reply_decode(OP_EVENTS_SINCE, sb.data, sb.size, &out, &e), 0);
	ck_assert_uint_eq(out.n_events, 0);
	ck_assert_ptr_null(out.events);
	ck_assert_uint_eq(out.last_seq, 7);
	ck_assert(!out.more);
	proto_reply_fini(&out);
	msgpack_sbuffer_destroy(&sb);

	/* more than a page is refused by the encoder */
	in.n_events = PROTO_MAX_EVENTS_PAGE + 1;
	in.events = calloc(in.n_events, sizeof(*in.events));
	ck_assert_ptr_nonnull(in.events);
	for (size_t i = 0; i < in.n_events; i++)
		fill(&in.events[i], i);
	msgpack_sbuffer_init(&sb);
	ck_assert_int_lt(proto_reply_encode(&sb, &in, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_uint_eq(sb.size, 0);
	/* a sandbox event without a valid id too */
	in.n_events = 1;
	in.events[0].id[0] = '\0';
	snprintf(in.events[0].type, sizeof(in.events[0].type), "%s", PROTO_EVENT_STOPPED);
	ck_assert_int_lt(proto_reply_encode(&sb, &in, &e), 0);
	ck_assert_msg(strstr(e.msg, "sandbox.stopped: sandbox id") != NULL, "%s", e.msg);
	msgpack_sbuffer_destroy(&sb);
	proto_reply_fini(&in);
}
END_TEST

/* A reply {v, ok:true, result:{events:[n exits, seqs from seq0 by step],
 * oldest?, last}}. */
static void
reply_with(msgpack_sbuffer *sb, size_t n, uint64_t seq0, int step, bool oldest)
{
	msgpack_packer pk;
	char id[CRADLE_ID_LEN + 1];

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	pk_str(&pk, "v");
	msgpack_pack_uint64(&pk, 1);
	pk_str(&pk, "ok");
	msgpack_pack_true(&pk);
	pk_str(&pk, "result");
	msgpack_pack_map(&pk, oldest ? 3 : 2);
	pk_str(&pk, "events");
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < n; i++) {
		msgpack_pack_map(&pk, 3);
		pk_str(&pk, "seq");
		msgpack_pack_uint64(&pk, seq0 + (uint64_t)((int64_t)i * step));
		pk_str(&pk, "type");
		pk_str(&pk, PROTO_EVENT_EXIT);
		pk_str(&pk, "id");
		snprintf(id, sizeof(id), ID_FMT, (unsigned)i);
		pk_str(&pk, id);
	}
	if (oldest) {
		pk_str(&pk, "oldest");
		msgpack_pack_uint64(&pk, 1);
	}
	pk_str(&pk, "last");
	msgpack_pack_uint64(&pk, seq0 + n);
}

START_TEST(test_reply_refused)
{
	struct cradle_err e = { 0 };
	struct proto_reply out;
	msgpack_sbuffer sb;

	reply_with(&sb, 3, 10, 1, true);
	ck_assert_msg(proto_reply_decode(OP_EVENTS_SINCE, sb.data, sb.size, &out, &e) == 0, "%s",
	              e.msg);
	ck_assert_uint_eq(out.n_events, 3);
	ck_assert_uint_eq(out.events[2].seq, 12);
	proto_reply_fini(&out);
	msgpack_sbuffer_destroy(&sb);

	reply_with(&sb, 3, 10, 1, false);
	ck_assert_int_lt(proto_reply_decode(OP_EVENTS_SINCE, sb.data, sb.size, &out, &e), 0);
	ck_assert_msg(strstr(e.msg, "result.oldest: required field is missing") != NULL, "%s",
	              e.msg);
	ck_assert_uint_eq(out.n_events, 0);
	msgpack_sbuffer_destroy(&sb);

	reply_with(&sb, 3, 10, 0, true); /* a seq twice */
	ck_assert_int_lt(proto_reply_decode(OP_EVENTS_SINCE, sb.data, sb.size, &out, &e), 0);
	ck_assert_msg(strstr(e.msg, "seq 10 does not follow 10") != NULL, "%s", e.msg);
	msgpack_sbuffer_destroy(&sb);
	reply_with(&sb, 3, 10, -1, true); /* backwards */
	ck_assert_int_lt(proto_reply_decode(OP_EVENTS_SINCE, sb.data, sb.size, &out, &e), 0);
	ck_assert_msg(strstr(e.msg, "does not follow") != NULL, "%s", e.msg);
	msgpack_sbuffer_destroy(&sb);

	reply_with(&sb, PROTO_MAX_EVENTS_PAGE + 1, 1, 1, true);
	ck_assert_int_lt(proto_reply_decode(OP_EVENTS_SINCE, sb.data, sb.size, &out, &e), 0);
	ck_assert_msg(strstr(e.msg, "513 events exceed 512") != NULL, "%s", e.msg);
	msgpack_sbuffer_destroy(&sb);

	/* the daemon's "no longer kept" */
	struct cradle_err nf = { .code = CRADLE_NOT_FOUND };
	snprintf(nf.msg, sizeof(nf.msg), "events.since 1: events 1 to 9 are no longer kept");
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_reply_encode_error(&sb, &nf), 0);
	ck_assert_int_eq(proto_reply_decode(OP_EVENTS_SINCE, sb.data, sb.size, &out, &e), 0);
	ck_assert(!out.ok);
	ck_assert_int_eq(out.err.code, CRADLE_NOT_FOUND);
	ck_assert_str_eq(out.err.msg, nf.msg);
	proto_reply_fini(&out);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* The new sandbox events keep the exit event's shape. */
START_TEST(test_sandbox_event_types)
{
	struct cradle_err e = { 0 };
	struct proto_event in, out;
	msgpack_sbuffer sb;

	for (size_t i = 0; i < N_TYPES; i++) {
		fill(&in, i);
		msgpack_sbuffer_init(&sb);
		ck_assert_int_eq(proto_event_encode(&sb, &in, &e), 0);
		ck_assert_int_eq(proto_event_decode(sb.data, sb.size, &out, &e), 0);
		ck_assert_str_eq(out.type, types[i]);
		ck_assert_uint_eq(out.seq, in.seq);
		ck_assert_str_eq(out.id, in.id);
		msgpack_sbuffer_destroy(&sb);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("events_since");

	unit_tcase(
		s, "codec", NULL, NULL, 30,
		UNIT_TESTS(test_request, test_reply, test_reply_refused, test_sandbox_event_types));
	return unit_run(s, "test_events_since", 0);
}
