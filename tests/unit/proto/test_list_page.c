/* test_list_page.c - sandbox.list pages on the wire (proto/codec.c):
 * "after" in the request and "more" in the reply, both written only when
 * set, both read back; a malformed "after" is refused by name.
 */
#include <check.h>
#include <string.h>

#include "proto/proto.h"
#include "tests/unit/lib/unit.h"

static const char id_a[] = "00000000000000000000000000000000000000000000000000000000000000aa";

START_TEST(test_request_after)
{
	struct proto_request req, got;
	struct cradle_err err = { 0 };
	msgpack_sbuffer sb;

	/* without: no key */
	proto_request_init(&req, OP_LIST);
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_request_encode(&sb, &req, &err), 0);
	ck_assert_ptr_null(memmem(sb.data, sb.size, "after", 5));
	ck_assert_int_eq(proto_request_decode(sb.data, sb.size, &got, &err), 0);
	ck_assert_str_eq(got.after, "");
	proto_request_fini(&got);
	msgpack_sbuffer_destroy(&sb);

	/* with: read back */
	memcpy(req.after, id_a, sizeof(req.after));
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_request_encode(&sb, &req, &err), 0);
	ck_assert_int_eq(proto_request_decode(sb.data, sb.size, &got, &err), 0);
	ck_assert_str_eq(got.after, id_a);
	proto_request_fini(&got);
	msgpack_sbuffer_destroy(&sb);

	/* not an id: refused, naming the field */
	snprintf(req.after, sizeof(req.after), "../etc");
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_request_encode(&sb, &req, &err), 0);
	ck_assert_int_lt(proto_request_decode(sb.data, sb.size, &got, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "after") != NULL, "%s", err.msg);
	msgpack_sbuffer_destroy(&sb);
	proto_request_fini(&req);
}
END_TEST

START_TEST(test_reply_more)
{
	struct proto_reply rep, got;
	struct cradle_err err = { 0 };
	msgpack_sbuffer sb;

	proto_reply_init(&rep, OP_LIST);
	rep.ok = true;
	rep.sandboxes = calloc(2, sizeof(*rep.sandboxes));
	ck_assert_ptr_nonnull(rep.sandboxes);
	memcpy(rep.sandboxes[0].id, id_a, sizeof(rep.sandboxes[0].id));
	pod_config_init(&rep.sandboxes[0].config);
	rep.sandboxes[0].config.metadata.name = strdup("a");
	rep.sandboxes[0].config.metadata.namespace = strdup("default");
	rep.sandboxes[0].config.metadata.uid = strdup("u");
	rep.n_sandboxes = 1;
	for (int more = 0; more < 2; more++) {
		rep.more = more;
		msgpack_sbuffer_init(&sb);
		ck_assert_msg(proto_reply_encode(&sb, &rep, &err) == 0, "%s", err.msg);
		ck_assert_int_eq(memmem(sb.data, sb.size, "more", 4) != NULL, more);
		ck_assert_msg(proto_reply_decode(OP_LIST, sb.data, sb.size, &got, &err) == 0, "%s",
		              err.msg);
		ck_assert_int_eq(got.more, more);
		ck_assert_uint_eq(got.n_sandboxes, 1);
		ck_assert_str_eq(got.sandboxes[0].id, id_a);
		proto_reply_fini(&got);
		msgpack_sbuffer_destroy(&sb);
	}
	proto_reply_fini(&rep);
}
END_TEST

static Suite *
list_page_suite(void)
{
	Suite *s = suite_create("list_page");

	unit_tcase(s, "list_page", NULL, NULL, 30, UNIT_TESTS(test_request_after, test_reply_more));
	return (s);
}

int
main(void)
{
	return (unit_run(list_page_suite(), "test_list_page", 0));
}
