/* test_image_gc.c - what a running sandbox uses of its image is never
 * collected: not when its ref is imported again with another image and
 * then any image is removed, not after a daemon restart; and once the
 * sandbox is gone, everything goes with the last rmi.  Also the layer
 * limits of [images] on a real import.  Needs root. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

#define BUILTIN "cradle.local/pause:built-in"

static struct it_daemon D;

static void
teardown(void)
{
	it_cleanup(&D);
}

/* An OCI archive of another pause image (its binary with bytes appended:
 * another layer digest) at <D.dir>/<name>, annotated as ref. */
static void
make_other_image(const char *name, const char *ref, char *out, size_t len)
{
	char bin[600];
	ck_assert_msg(access("pause/mkimage.sh", X_OK) == 0 &&
	                      access("pause/image-config.json", R_OK) == 0,
	              "run from the source tree (pause/mkimage.sh)");
	snprintf(bin, sizeof(bin), "%s/pause-%s", D.dir, name);
	snprintf(out, len, "%s/%s", D.dir, name);
	ck_assert_int_eq(it_sh("cp '%s' '%s' && printf 'other %s' >> '%s' && "
	                       "pause/mkimage.sh '%s' pause/image-config.json '%s' '%s' >/dev/null",
	                       it_bin("pause"), bin, name, bin, bin, out, ref),
	                 0);
}

static void
layer_of(const char *ref, char *digest, size_t len)
{
	struct cradle_image *img;
	struct cradle_error err;
	ck_assert_msg(cradle_image_status(D.conn, ref, &img, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(cradle_image_layer_count(img), 1);
	snprintf(digest, len, "%s", cradle_image_layer(img, 0));
	cradle_image_free(img);
}

static bool
snapshot_there(const char *digest)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/snapshots/sha256/%s/pause", D.root, digest + 7);
	return access(path, F_OK) == 0;
}

static bool
blob_there(const char *digest)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/content/blobs/sha256/%s", D.root, digest + 7);
	return access(path, F_OK) == 0;
}

static void
import(const char *path, const char *ref)
{
	struct cradle_image *img;
	struct cradle_error err;
	ck_assert_msg(cradle_image_import(D.conn, path, ref, &img, &err) == 0, "import %s: %s", ref,
	              err.message);
	cradle_image_free(img);
}

static void
rmi(const char *ref)
{
	struct cradle_error err;
	ck_assert_msg(cradle_image_remove(D.conn, ref, &err) == 0, "rmi %s: %s", ref, err.message);
}

START_TEST(test_reimported_ref_keeps_running_sandbox_layers)
{
	char other[600], first[128], second[128], id[CRADLE_SANDBOX_ID_LEN + 1], path[600];
	struct cradle_error err;
	int32_t pid = 0;

	it_start(&D, NULL);
	layer_of(BUILTIN, first, sizeof(first));
	struct cradle_pod *pod = it_pod("pinned", NULL);
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert(snapshot_there(first));

	/* the sandbox's ref now names another image; an rmi of anything
	 * collects what no record references: not what the sandbox uses */
	make_other_image("other.oci.tar", BUILTIN, other, sizeof(other));
	import(other, BUILTIN);
	layer_of(BUILTIN, second, sizeof(second));
	ck_assert_str_ne(first, second);
	import(other, "example.com/other:1");
	rmi("example.com/other:1");
	ck_assert_msg(snapshot_there(first), "snapshot %s of a running sandbox collected", first);
	ck_assert(blob_there(first));
	ck_assert(snapshot_there(second));
	snprintf(path, sizeof(path), "/proc/%d/root/pause", pid);
	ck_assert_int_eq(access(path, X_OK), 0);

	/* after a restart recovery holds what the sandbox got, not what the
	 * ref names now */
	ck_assert_int_eq(it_stop(&D), 0);
	it_restart(&D, NULL);
	import(other, "example.com/other:2");
	rmi("example.com/other:2");
	ck_assert_msg(snapshot_there(first), "snapshot %s collected after a restart", first);
	ck_assert(blob_there(first));
	ck_assert(it_proc_alive(pid));

	/* gone with the sandbox: the last rmi leaves nothing */
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	rmi(BUILTIN);
	ck_assert(!snapshot_there(first) && !snapshot_there(second));
	snprintf(path, sizeof(path), "%s/content/blobs/sha256", D.root);
	ck_assert_int_eq(it_count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/snapshots/sha256", D.root);
	ck_assert_int_eq(it_count_entries(path), 0);
}
END_TEST

/* Two sandboxes of two images under one ref: removing the one of the old
 * image frees its layer at the next rmi, while the other's stays. */
START_TEST(test_release_frees_only_the_sandbox_image)
{
	char other[600], first[128], second[128];
	char id1[CRADLE_SANDBOX_ID_LEN + 1], id2[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err;
	int32_t pid = 0;

	it_start(&D, NULL);
	layer_of(BUILTIN, first, sizeof(first));
	struct cradle_pod *pod = it_pod("old", NULL);
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id1, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	make_other_image("other.oci.tar", BUILTIN, other, sizeof(other));
	import(other, BUILTIN);
	layer_of(BUILTIN, second, sizeof(second));
	pod = it_pod("new", NULL);
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id2, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	/* the new sandbox runs the new image's layer */
	char path[600];
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	ck_assert_int_eq(it_sh("grep -q '%s' '%s'", second + 7, path), 0);

	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id1, &err), 0);
	import(other, "example.com/other:1");
	rmi("example.com/other:1");
	ck_assert_msg(snapshot_there(second), "the running sandbox's layer was collected");
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id2, &err), 0);
	rmi(BUILTIN);
	snprintf(path, sizeof(path), "%s/snapshots/sha256", D.root);
	ck_assert_int_eq(it_count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/content/blobs/sha256", D.root);
	ck_assert_int_eq(it_count_entries(path), 0);
}
END_TEST

/* A layer past [images] max_layer_bytes: the import fails naming the
 * layer and the limit, and leaves no record, blob or snapshot. */
START_TEST(test_import_over_layer_limit_leaves_nothing)
{
	char other[600], path[600];
	struct cradle_image *img;
	struct cradle_error err;

	/* the pause layer is a few hundred KiB: 64 KiB refuses it (and
	 * the built-in image, which is therefore not the sandbox image) */
	it_start_with(&D, NULL,
	              "[sandbox]\nimage = example.com/absent:1\ncgroup_root = " IT_CGROUP_ROOT
	              "\n[images]\nmax_layer_bytes = 65536\n");
	make_other_image("big.oci.tar", "example.com/big:1", other, sizeof(other));
	snprintf(path, sizeof(path), "%s/content/blobs/sha256", D.root);
	int blobs = it_count_entries(path);
	ck_assert_int_eq(blobs, 0);
	ck_assert_int_lt(cradle_image_import(D.conn, other, NULL, &img, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(err.message, "max_layer_bytes") && strstr(err.message, "sha256:"),
	              "%s", err.message);
	ck_assert_int_lt(cradle_image_status(D.conn, "example.com/big:1", &img, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);
	ck_assert_int_eq(it_count_entries(path), blobs);
	snprintf(path, sizeof(path), "%s/snapshots/sha256", D.root);
	ck_assert_int_eq(it_sh("ls -A '%s' | grep -q tmp", path), 1);
}
END_TEST

static Suite *
image_gc_suite(void)
{
	Suite *s = suite_create("image-gc");
	TCase *tc = tcase_create("gc");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_reimported_ref_keeps_running_sandbox_layers);
	tcase_add_test(tc, test_release_frees_only_the_sandbox_image);
	tcase_add_test(tc, test_import_over_layer_limit_leaves_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return it_run_suite(image_gc_suite());
}
