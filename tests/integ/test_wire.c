/* test_wire.c - hostile bytes on the request socket get errors, and the
 * daemon keeps serving.  Needs root (it starts a real cradled).  The one
 * integration test that uses proto/ itself: libcradle sends only what it
 * has checked, so the bad messages are made here by hand. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "proto/proto.h"
#include "tests/integ/libinteg.h"

static struct it_daemon D;

static void
teardown(void)
{
	it_cleanup(&D);
}

/* Send raw bytes, decode the reply as an error; returns its code. */
static int
raw_call(const void *buf, size_t len, char *msg, size_t mlen)
{
	nng_socket s;
	char url[400];
	void *rbuf = NULL;
	size_t rlen = 0;
	struct proto_reply rep;
	struct cradle_err err;

	snprintf(url, sizeof(url), "ipc://%s", D.sock);
	ck_assert_int_eq(nng_req0_open(&s), 0);
	ck_assert_int_eq(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, it_ms(10000)), 0);
	ck_assert_int_eq(nng_dial(s, url, NULL, 0), 0);
	ck_assert_int_eq(nng_send(s, (void *)buf, len, 0), 0);
	int r = nng_recv(s, &rbuf, &rlen, NNG_FLAG_ALLOC);
	ck_assert_msg(r == 0, "no reply: %s", nng_strerror(r));
	proto_reply_init(&rep, OP_VERSION);
	ck_assert_msg(proto_reply_decode(OP_VERSION, rbuf, rlen, &rep, &err) == 0, "%s", err.msg);
	int code = rep.ok ? CRADLE_OK : rep.err.code;
	snprintf(msg, mlen, "%s", rep.err.msg);
	proto_reply_fini(&rep);
	nng_free(rbuf, rlen);
	nng_close(s);
	return code;
}

static void
assert_still_serving(void)
{
	struct cradle_version v;
	struct cradle_error err;
	ck_assert_msg(cradle_version(D.conn, &v, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(v.api_version, PROTO_VERSION);
}

START_TEST(test_garbage_truncated_oversized)
{
	char msg[CRADLE_ERR_MSG_MAX];
	static const unsigned char garbage[] = { 0xc1, 0xff, 0x00, 0x13, 0x37, 0xde, 0xad };
	/* {"v":1,"op":"sandbox.status","args":{"id":"ab... cut short */
	msgpack_sbuffer sb;
	struct proto_request req;
	struct cradle_err err;

	it_start(&D, NULL);
	ck_assert_int_eq(raw_call(garbage, sizeof(garbage), msg, sizeof(msg)),
	                 CRADLE_INVALID_ARGUMENT);
	assert_still_serving();
	ck_assert_int_eq(raw_call("", 0, msg, sizeof(msg)), CRADLE_INVALID_ARGUMENT);

	msgpack_sbuffer_init(&sb);
	proto_request_init(&req, OP_STATUS);
	memset(req.id, 'a', CRADLE_ID_LEN);
	req.id[CRADLE_ID_LEN] = '\0';
	ck_assert_int_eq(proto_request_encode(&sb, &req, &err), 0);
	for (size_t cut = 1; cut < sb.size; cut += 7)
		ck_assert_int_eq(raw_call(sb.data, cut, msg, sizeof(msg)), CRADLE_INVALID_ARGUMENT);
	/* the whole message is fine: that id is unknown */
	ck_assert_int_eq(raw_call(sb.data, sb.size, msg, sizeof(msg)), CRADLE_NOT_FOUND);
	msgpack_sbuffer_destroy(&sb);
	assert_still_serving();

	/* a 5-byte array header claiming 2^32-1 entries */
	static const unsigned char huge[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
	ck_assert_int_eq(raw_call(huge, sizeof(huge), msg, sizeof(msg)), CRADLE_INVALID_ARGUMENT);

	/* over the protocol's size limit */
	size_t big = PROTO_MAX_MSG + 4096;
	unsigned char *b = calloc(1, big);
	b[0] = 0x81; /* a map with one entry... then a huge string */
	ck_assert_int_eq(raw_call(b, big, msg, sizeof(msg)), CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(msg, "exceeds") || strstr(msg, "too large") || strstr(msg, "limit"),
	              "%s", msg);
	free(b);
	assert_still_serving();

	/* wrong protocol version and unknown op are named */
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "v", 1);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_str_with_body(&pk, "op", 2);
	msgpack_pack_str_with_body(&pk, "sandbox.explode", 15);
	ck_assert_int_eq(raw_call(sb.data, sb.size, msg, sizeof(msg)), CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(msg, "sandbox.explode"), "%s", msg);
	msgpack_sbuffer_destroy(&sb);
	assert_still_serving();
}
END_TEST

START_TEST(test_invalid_config_names_field)
{
	struct cradle_err err;

	it_start(&D, NULL);
	/* the client validates too; send the raw encoding to reach the daemon */
	msgpack_sbuffer sb;
	struct proto_request req;
	char msg[CRADLE_ERR_MSG_MAX];
	proto_request_init(&req, OP_RUN);
	req.config.metadata.name = strdup("Not_A_DNS_Label");
	req.config.metadata.namespace = strdup("default");
	req.config.metadata.uid = strdup("uid-ok-name");
	ck_assert(req.config.metadata.name && req.config.metadata.namespace &&
	          req.config.metadata.uid);
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_request_encode(&sb, &req, &err), 0);
	ck_assert_int_eq(raw_call(sb.data, sb.size, msg, sizeof(msg)), CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(msg, "metadata.name"), "%s", msg);
	msgpack_sbuffer_destroy(&sb);
	proto_request_fini(&req);
	assert_still_serving();
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_garbage_truncated_oversized);
	tcase_add_test(tc, test_invalid_config_names_field);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_wire: needs root (starts cradled); CI runs as root\n");
		return 1;
	}
	return it_run_suite(wire_suite());
}
