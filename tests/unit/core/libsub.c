/* libsub.c - a subscriber that is known to be attached (see libsub.h). */
#include "tests/unit/core/libsub.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include <nng/protocol/pubsub0/sub.h>

bool
unit_sub_recv(nng_socket sub, int timeout_ms, struct proto_event *out)
{
	struct cradle_err err = { 0 };
	void *buf;
	size_t len;
	int rc;

	ck_assert_int_eq(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, timeout_ms), 0);
	rc = nng_recv(sub, &buf, &len, NNG_FLAG_ALLOC);
	if (rc == NNG_ETIMEDOUT)
		return false;
	ck_assert_msg(rc == 0, "recv: %s", nng_strerror(rc));
	rc = proto_event_decode(buf, len, out, &err);
	nng_free(buf, len);
	ck_assert_msg(rc == 0, "decode event: %s", err.msg);
	return true;
}

uint64_t
unit_sub_attach(nng_socket *sub, const char *url, struct events *ev)
{
	struct proto_event probe;
	uint64_t seq = 0;
	bool got = false;

	ck_assert_int_eq(nng_sub0_open(sub), 0);
	ck_assert_int_eq(nng_socket_set(*sub, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
	/* room for the bursts some tests publish before they read */
	ck_assert_int_eq(nng_socket_set_int(*sub, NNG_OPT_RECVBUF, 1024), 0);
	ck_assert_int_eq(nng_dial(*sub, url, NULL, 0), 0);
	for (int i = 0; i < 500 && !got; i++) {
		memset(&probe, 0, sizeof(probe));
		snprintf(probe.type, sizeof(probe.type), "%s", PROTO_EVENT_IMAGE_PROGRESS);
		snprintf(probe.ref, sizeof(probe.ref), "%s", UNIT_SUB_PROBE);
		events_publish(ev, &probe);
		seq = probe.seq;
		got = unit_sub_recv(*sub, 10, &probe);
	}
	ck_assert_msg(got, "the subscriber never saw a probe");
	while (unit_sub_recv(*sub, 50, &probe))
		ck_assert_str_eq(probe.ref, UNIT_SUB_PROBE);
	return seq;
}
