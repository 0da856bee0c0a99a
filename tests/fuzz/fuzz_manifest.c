/* fuzz_manifest.c - the image manifest parser (oci_parse_manifest), which
 * reads what a registry or an image archive says an image is made of.
 *
 * Whatever the bytes: a refusal keeps the error contract; a manifest
 * accepted names valid digests and non-negative sizes that add up, and is
 * never taken for an index (oci_is_index on the same document).
 */
#include "image/content.h"
#include "image/oci.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_image img;
	struct cradle_err e = { 0 };
	int64_t sum;
	int idx;

	idx = oci_is_index(NULL, (const char *)data, size);
	FUZZ_CHECK(idx == 0 || idx == 1, "oci_is_index returned %d", idx);
	if (oci_parse_manifest((const char *)data, size, &img, &e) < 0) {
		fuzz_check_err(&e, "manifest refused");
		FUZZ_CHECK(img.layers == NULL && img.n_layers == 0,
		           "refused manifest holds layers");
		return 0;
	}
	FUZZ_CHECK(idx == 0, "a manifest accepted is also taken for an index");
	FUZZ_CHECK(digest_valid(img.config_digest), "config digest \"%s\"", img.config_digest);
	FUZZ_CHECK(img.n_layers == 0 || img.layers != NULL, "%zu layers, no array", img.n_layers);
	sum = (int64_t)size;
	for (size_t i = 0; i < img.n_layers; i++) {
		FUZZ_CHECK(digest_valid(img.layers[i].digest), "layer %zu digest \"%s\"", i,
		           img.layers[i].digest);
		FUZZ_CHECK(img.layers[i].size >= 0, "layer %zu size %lld", i,
		           (long long)img.layers[i].size);
		FUZZ_CHECK(memchr(img.layers[i].media_type, '\0', sizeof(img.layers[i].media_type)),
		           "layer %zu media type not terminated", i);
		sum += img.layers[i].size;
	}
	FUZZ_CHECK(img.size >= sum, "size %lld < document + layers %lld", (long long)img.size,
	           (long long)sum);
	oci_image_fini(&img);
	return 0;
}
