/* fuzz_podjson.c - the CLI's pod config reader (podjson_parse): crictl's
 * JSON PodSandboxConfig, a file the user hands over.
 *
 * Whatever the bytes: a refusal keeps the error contract; a config
 * accepted passes pod_config_validate, and the sandbox.run request made
 * of it is accepted by the daemon's decoder (podjson promises the daemon's
 * rules apply before anything is sent), which gives the same config back
 * (the request encodes to the same bytes).
 */
#include <msgpack.h>

#include "client/podjson.h"
#include "proto/proto.h"
#include "tests/fuzz/fuzz.h"

static void
check_config(struct pod_config *cfg)
{
	struct proto_request req, back;
	struct cradle_err e = { 0 };
	msgpack_sbuffer a, b;
	int rc;

	rc = pod_config_validate(cfg, "config", &e);
	FUZZ_CHECK(rc == 0, "accepted config fails validation: %s", e.msg);

	proto_request_init(&req, OP_RUN);
	req.config = *cfg; /* borrowed: not finalised here */
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	rc = proto_request_encode(&a, &req, &e);
	FUZZ_CHECK(rc == 0, "accepted config does not encode: %s", e.msg);
	rc = proto_request_decode(a.data, a.size, &back, &e);
	FUZZ_CHECK(rc == 0, "the daemon refuses a config the CLI accepted: %s", e.msg);
	rc = proto_request_encode(&b, &back, &e);
	FUZZ_CHECK(rc == 0, "decoded request does not encode: %s", e.msg);
	FUZZ_CHECK(a.size == b.size && memcmp(a.data, b.data, a.size) == 0,
	           "the config changed on its way through the wire (%zu, %zu bytes)", a.size,
	           b.size);
	proto_request_fini(&back);
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pod_config cfg;
	struct cradle_err e = { 0 };

	if (podjson_parse((const char *)data, size, &cfg, &e) < 0) {
		fuzz_check_err(&e, "pod config refused");
		return 0;
	}
	check_config(&cfg);
	pod_config_fini(&cfg);
	return 0;
}
