/* fuzz_index.c - the image index / manifest list reader
 * (oci_pick_platform), which picks this node's manifest out of what a
 * registry or an image archive lists.
 *
 * Whatever the bytes: a refusal keeps the error contract; a manifest
 * picked has a valid digest, a non-negative size and a media type that
 * fits its buffer.
 */
#include "image/content.h"
#include "image/oci.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_descriptor d;
	struct cradle_err e = { 0 };
	int idx;

	idx = oci_is_index(NULL, (const char *)data, size);
	FUZZ_CHECK(idx == 0 || idx == 1, "oci_is_index returned %d", idx);
	if (oci_pick_platform((const char *)data, size, &d, &e) < 0) {
		fuzz_check_err(&e, "index refused");
		return 0;
	}
	FUZZ_CHECK(digest_valid(d.digest), "picked digest \"%s\"", d.digest);
	FUZZ_CHECK(d.size >= 0, "picked size %lld", (long long)d.size);
	FUZZ_CHECK(memchr(d.media_type, '\0', sizeof(d.media_type)) != NULL,
	           "media type not terminated");
	return 0;
}
