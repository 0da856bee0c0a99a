/* fuzz_request.c - the daemon's request decoder (proto_request_decode),
 * the first code that reads a client's bytes (server/frontend.c).
 *
 * Whatever the bytes:
 *  - a refusal keeps the error contract, and its error reply encodes and
 *    decodes back to the same code, as the front end sends it;
 *  - a request accepted has a config pod_config_validate accepts, encodes,
 *    decodes again, and encodes to the same bytes (the decoder keeps
 *    nothing the encoder would write differently).
 */
#include <msgpack.h>

#include "proto/proto.h"
#include "tests/fuzz/fuzz.h"

static void
check_refusal(const struct cradle_err *e)
{
	struct proto_reply rep;
	struct cradle_err e2 = { 0 };
	msgpack_sbuffer sb;
	int rc;

	fuzz_check_err(e, "request refused");
	msgpack_sbuffer_init(&sb);
	rc = proto_reply_encode_error(&sb, e);
	FUZZ_CHECK(rc == 0, "error reply does not encode: %s", e->msg);
	rc = proto_reply_decode(OP_VERSION, sb.data, sb.size, &rep, &e2);
	FUZZ_CHECK(rc == 0, "error reply does not decode: %s", e2.msg);
	FUZZ_CHECK(!rep.ok && rep.err.code == e->code, "error reply: ok %d code %d, want %d",
	           (int)rep.ok, rep.err.code, e->code);
	proto_reply_fini(&rep);
	msgpack_sbuffer_destroy(&sb);
}

static void
check_round_trip(const struct proto_request *req)
{
	struct proto_request again;
	struct cradle_err e = { 0 };
	msgpack_sbuffer a, b;
	int rc;

	if (req->op == OP_CREATE || req->op == OP_RUN) {
		rc = pod_config_validate(&req->config, "config", &e);
		FUZZ_CHECK(rc == 0, "accepted config fails validation: %s", e.msg);
	}
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	rc = proto_request_encode(&a, req, &e);
	FUZZ_CHECK(rc == 0, "accepted request does not encode: %s", e.msg);
	rc = proto_request_decode(a.data, a.size, &again, &e);
	FUZZ_CHECK(rc == 0, "re-encoded request refused: %s", e.msg);
	FUZZ_CHECK(again.op == req->op, "op %d became %d", req->op, again.op);
	rc = proto_request_encode(&b, &again, &e);
	FUZZ_CHECK(rc == 0, "decoded request does not encode: %s", e.msg);
	FUZZ_CHECK(a.size == b.size && memcmp(a.data, b.data, a.size) == 0,
	           "encode(decode(encode(req))) differs from encode(req) (%zu, %zu bytes)", a.size,
	           b.size);
	proto_request_fini(&again);
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_request req;
	struct cradle_err e = { 0 };

	if (proto_request_decode(data, size, &req, &e) < 0) {
		check_refusal(&e);
		/* on failure req holds nothing to free; fini must still be safe */
		proto_request_fini(&req);
		return 0;
	}
	check_round_trip(&req);
	proto_request_fini(&req);
	return 0;
}
