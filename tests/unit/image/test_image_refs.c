/* test_image_refs.c - the image service and canonical references
 * (image/images.c): records an earlier version kept under a name as it
 * was given are moved to the canonical name when the service opens (the
 * canonical record wins when both exist; a name that no longer parses is
 * kept); lookups by any spelling, by id and by id prefix.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "image/images.h"
#include "image/record.h"
#include "tests/unit/lib/unit.h"
#include "util/store.h"

#define HEX_A "aaaa000000000000000000000000000000000000000000000000000000000001"
#define HEX_B "aaaa000000000000000000000000000000000000000000000000000000000002"
#define HEX_C "cccc000000000000000000000000000000000000000000000000000000000003"

static void
put(struct store *st, const char *ref, const char *config_hex)
{
	struct image_record r;
	struct cradle_err err = { 0 };

	memset(&r, 0, sizeof(r));
	snprintf(r.ref, sizeof(r.ref), "%s", ref);
	snprintf(r.manifest_digest, sizeof(r.manifest_digest), "sha256:%s", config_hex);
	snprintf(r.config_digest, sizeof(r.config_digest), "sha256:%s", config_hex);
	ck_assert_msg(image_record_put(st, &r, &err) == 0, "%s", err.msg);
}

static bool
has(struct store *st, const char *ref, const char *config_hex)
{
	struct image_record r;
	struct cradle_err err = { 0 };
	char want[80];

	if (image_record_get(st, ref, &r, &err) < 0)
		return false;
	snprintf(want, sizeof(want), "sha256:%s", config_hex);
	bool same = strcmp(r.config_digest, want) == 0;
	image_record_fini(&r);
	return same;
}

START_TEST(test_old_records_made_canonical)
{
	struct cradle_err err = { 0 };
	struct store *st = NULL;
	struct images *im = NULL;
	struct image_record rec;
	char root[PATH_MAX];

	unit_path(root, sizeof(root), "canon");
	ck_assert_msg(store_open(root, &st, &err) == 0, "%s", err.msg);
	put(st, "busybox", HEX_A);                 /* moves */
	put(st, "dup:1", HEX_B);                   /* the canonical one exists: goes */
	put(st, "docker.io/library/dup:1", HEX_C); /* stays */
	put(st, "Upper/Case", HEX_C);              /* does not parse: stays */
	put(st, "example.com/ok:1", HEX_B);        /* canonical already */
	struct images_cfg cfg = { .root = root, .store = st };
	ck_assert_msg(images_open(&cfg, &im, &err) == 0, "%s", err.msg);

	ck_assert(!has(st, "busybox", HEX_A));
	ck_assert(has(st, "docker.io/library/busybox:latest", HEX_A));
	ck_assert(!has(st, "dup:1", HEX_B));
	ck_assert(has(st, "docker.io/library/dup:1", HEX_C));
	ck_assert(has(st, "Upper/Case", HEX_C));
	ck_assert(has(st, "example.com/ok:1", HEX_B));

	/* any spelling */
	ck_assert_int_eq(images_get(im, "busybox", &rec, &err), 0);
	ck_assert_str_eq(rec.ref, "docker.io/library/busybox:latest");
	image_record_fini(&rec);
	ck_assert_int_eq(images_get(im, "index.docker.io/library/busybox:latest", &rec, &err), 0);
	image_record_fini(&rec);
	/* ids and prefixes: HEX_A and HEX_B share "aaaa" */
	ck_assert_int_eq(images_get(im, "sha256:" HEX_A, &rec, &err), 0);
	ck_assert_str_eq(rec.ref, "docker.io/library/busybox:latest");
	image_record_fini(&rec);
	ck_assert_int_lt(images_get(im, "aaaa", &rec, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_str_eq(err.msg, "image id prefix \"aaaa\" is ambiguous: 2 images match");
	ck_assert_int_eq(
		images_get(im, "aaaa0000000000000000000000000000000000000000000000000000000000002",
	                   &rec, &err),
		-1); /* 65 digits: a name (none has it), never an id */
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_int_eq(
		images_get(
			im,
			"sha256:aaaa000000000000000000000000000000000000000000000000000000000002",
			&rec, &err),
		0);
	ck_assert_str_eq(rec.ref, "example.com/ok:1");
	image_record_fini(&rec);
	/* the id two refs share: the first in ref order */
	ck_assert_int_eq(images_get(im, "cccc", &rec, &err), 0);
	ck_assert_str_eq(rec.ref, "Upper/Case");
	image_record_fini(&rec);
	/* a name that does not parse: refused by name, but its id removes it
	 * (with the other ref of that id) */
	ck_assert_int_lt(images_get(im, "Upper/Case", &rec, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "must be lowercase") != NULL, "%s", err.msg);
	ck_assert_msg(images_remove(im, "sha256:cccc", &err) == 0, "%s", err.msg);
	ck_assert(!has(st, "Upper/Case", HEX_C));
	ck_assert(!has(st, "docker.io/library/dup:1", HEX_C));
	/* unknown: NOT_FOUND for status, success for remove (as CRI) */
	ck_assert_int_lt(images_get(im, "sha256:dddd", &rec, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_int_eq(images_remove(im, "sha256:dddd", &err), 0);
	ck_assert_int_eq(images_remove(im, "nothing-here", &err), 0);
	/* ambiguous: refused, nothing removed */
	ck_assert_int_lt(images_remove(im, "aaaa", &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert(has(st, "example.com/ok:1", HEX_B));
	ck_assert_msg(images_remove(im, "busybox", &err) == 0, "%s", err.msg);
	ck_assert(!has(st, "docker.io/library/busybox:latest", HEX_A));

	images_close(im);
	store_close(st);
}
END_TEST

static Suite *
image_refs_suite(void)
{
	Suite *s = suite_create("image_refs");

	unit_tcase(s, "canon", unit_scratch_setup, NULL, 30,
	           UNIT_TESTS(test_old_records_made_canonical));
	return (s);
}

int
main(void)
{
	return (unit_run(image_refs_suite(), "test_image_refs", 0));
}
