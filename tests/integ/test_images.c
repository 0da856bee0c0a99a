/* test_images.c - images through a real cradled: the built-in image, pulls
 * from Debian's docker-registry on 127.0.0.1 (started and stopped here),
 * imports (the built-in one by a child process, whose failure stops
 * start-up), one pull for concurrent starts, rmi of an image in use.
 * Needs root, docker-registry and skopeo (make deps installs them). */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;
static struct it_registry R = { .pid = -1 };
static int port; /* R.port */

static void
teardown(void)
{
	/* the registry first: it_cleanup fails on a child left running */
	it_registry_stop(&R);
	it_cleanup(&D);
}

START_TEST(test_builtin_image_pinned_and_in_use)
{
	struct cradle_image_list *l = NULL;
	struct cradle_image *img;
	const struct cradle_image *first;
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_pod *pod;
	int32_t pid;

	it_start(&D, NULL);
	ck_assert_msg(cradle_image_list(D.conn, &l, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(cradle_image_list_count(l), 1);
	first = cradle_image_list_at(l, 0);
	ck_assert_str_eq(cradle_image_ref(first), "cradle.local/pause:built-in");
	ck_assert(cradle_image_pinned(first));
	ck_assert_uint_eq(cradle_image_layer_count(first), 1);
	cradle_image_list_free(l);

	pod = it_pod("onimage", "onimage");
	ck_assert_int_eq(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err), 0);
	cradle_pod_free(pod);
	/* its rootfs is the image's: /pause is there, read-only */
	char path[512], cmd[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	FILE *f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(cmd, sizeof(cmd), f));
	fclose(f);
	ck_assert_str_eq(cmd, "/pause");
	snprintf(path, sizeof(path), "/proc/%d/root/etc/passwd", pid);
	ck_assert_int_eq(access(path, R_OK), 0);
	/* in use: rmi refused */
	ck_assert_int_lt(cradle_image_remove(D.conn, "cradle.local/pause:built-in", &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_FAILED_PRECONDITION);
	ck_assert_int_eq(cradle_image_status(D.conn, "cradle.local/pause:built-in", &img, &err), 0);
	ck_assert(cradle_image_in_use(img));
	cradle_image_free(img);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	/* no sandbox uses it any more, but it is pinned: it stays, blobs and
	 * snapshots too (an unpinned one goes: test_pulled_sandbox_image_pinned) */
	ck_assert_int_lt(cradle_image_remove(D.conn, "cradle.local/pause:built-in", &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_FAILED_PRECONDITION);
	ck_assert_str_eq(err.message, "image \"cradle.local/pause:built-in\" is pinned as the "
	                              "sandbox image: it cannot be removed");
	ck_assert_int_eq(cradle_image_status(D.conn, "cradle.local/pause:built-in", &img, &err), 0);
	ck_assert(cradle_image_pinned(img));
	cradle_image_free(img);
	snprintf(path, sizeof(path), "%s/content/blobs/sha256", D.root);
	ck_assert_int_gt(it_count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/snapshots/sha256", D.root);
	ck_assert_int_gt(it_count_entries(path), 0);
}
END_TEST

/* A sandbox image pulled for a start is pinned, as the reference pins it
 * (io.cri-containerd.pinned=pinned), and so is a pull that names it; rmi
 * refuses it, used or not; any other pull is not pinned and goes. */
START_TEST(test_pulled_sandbox_image_pinned)
{
	struct cradle_image *img;
	struct cradle_error err;
	char conf[512], ref[128], other[128], want[256], out[4096];
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid;

	it_registry_start(&R);
	port = R.port;
	it_registry_push_pause(&R, "pin");
	it_registry_push_pause(&R, "other");
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:pin", port);
	snprintf(other, sizeof(other), "127.0.0.1:%d/pause:other", port);
	snprintf(conf, sizeof(conf),
	         "[sandbox]\nimage = %s\ncgroup_root = " IT_CGROUP_ROOT
	         "\n[registry]\ninsecure = 127.0.0.1:%d\n",
	         ref, port);
	it_start_with(&D, NULL, conf);
	struct cradle_pod *pod = it_pod("pinpull", NULL);
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert_msg(cradle_image_status(D.conn, ref, &img, &err) == 0, "%s", err.message);
	ck_assert(cradle_image_pinned(img));
	cradle_image_free(img);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	/* unused now, still refused, by name and cause */
	ck_assert_int_lt(cradle_image_remove(D.conn, ref, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_FAILED_PRECONDITION);
	snprintf(want, sizeof(want), "image \"%s\" is pinned as the sandbox image", ref);
	ck_assert_msg(strstr(err.message, want) != NULL, "%s", err.message);
	/* a pull of it again keeps it pinned; another image's is not */
	ck_assert_msg(cradle_image_pull(D.conn, ref, &img, &err) == 0, "%s", err.message);
	ck_assert(cradle_image_pinned(img));
	cradle_image_free(img);
	ck_assert_msg(cradle_image_pull(D.conn, other, &img, &err) == 0, "%s", err.message);
	ck_assert(!cradle_image_pinned(img));
	cradle_image_free(img);
	/* `cradle images --pinned` says which: PINNED true for it, false for
	 * the other (without --pinned, no such column, as crictl) */
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "images"), 0);
	ck_assert_msg(strstr(out, "PINNED") == NULL, "%s", out);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "images --pinned"), 0);
	ck_assert_msg(strstr(out, "PINNED") != NULL, "%s", out);
	char *line;
	bool saw_pin = false, saw_other = false;
	for (line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (strstr(line, " pin ") != NULL)
			saw_pin = strstr(line, "true") != NULL;
		if (strstr(line, " other ") != NULL)
			saw_other = strstr(line, "false") != NULL;
	}
	ck_assert_msg(saw_pin && saw_other, "images output does not show the pins");
	ck_assert_msg(cradle_image_remove(D.conn, other, &err) == 0, "%s", err.message);
	ck_assert_int_lt(cradle_image_status(D.conn, other, &img, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);
}
END_TEST

START_TEST(test_pull_by_tag_and_digest_and_errors)
{
	struct cradle_image *img, *img2;
	struct cradle_error err;
	char ref[128], byd[256];

	it_registry_start(&R);
	port = R.port;
	it_registry_push_pause(&R, "t1");
	char conf[256];
	snprintf(conf, sizeof(conf), "[registry]\ninsecure = 127.0.0.1:%d\n", port);
	it_start_with(&D, NULL, conf);
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:t1", port);
	ck_assert_msg(cradle_image_pull(D.conn, ref, &img, &err) == 0, "%s", err.message);
	ck_assert_str_eq(cradle_image_ref(img), ref);
	ck_assert_uint_eq(cradle_image_layer_count(img), 1);
	ck_assert(!cradle_image_pinned(img));
	char blob[512];
	snprintf(blob, sizeof(blob), "%s/content/blobs/sha256/%s", D.root,
	         cradle_image_layer(img, 0) + 7);
	ck_assert_int_eq(access(blob, R_OK), 0);
	/* by digest */
	snprintf(byd, sizeof(byd), "127.0.0.1:%d/pause@%s", port,
	         cradle_image_manifest_digest(img));
	ck_assert_msg(cradle_image_pull(D.conn, byd, &img2, &err) == 0, "%s", err.message);
	ck_assert_str_eq(cradle_image_manifest_digest(img2), cradle_image_manifest_digest(img));
	cradle_image_free(img2);
	cradle_image_free(img);
	/* unknown tag */
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:nope", port);
	ck_assert_int_lt(cradle_image_pull(D.conn, ref, &img, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);
	ck_assert_msg(strstr(err.message, "manifest unknown"), "%s", err.message);
}
END_TEST

START_TEST(test_corrupted_blob_refused)
{
	struct cradle_image *img;
	struct cradle_error err;
	char ref[128];

	it_registry_start(&R);
	port = R.port;
	it_registry_push_pause(&R, "bad");
	/* damage every layer-sized blob in the registry's storage */
	ck_assert_int_eq(
		it_sh("for f in $(find %s/data -path '*/blobs/sha256/*/data' -size +10k); do "
	              "printf 'XXXXXXXX' | dd of=$f bs=1 seek=100 conv=notrunc 2>/dev/null; done",
	              R.dir),
		0);
	/* not the built-in image: its layer would already be in the store */
	char conf[512];
	snprintf(conf, sizeof(conf),
	         "[sandbox]\nimage = 127.0.0.1:%d/pause:bad\ncgroup_root = " IT_CGROUP_ROOT
	         "\n[registry]\ninsecure = 127.0.0.1:%d\n",
	         port, port);
	it_start_with(&D, NULL, conf);
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:bad", port);
	ck_assert_int_lt(cradle_image_pull(D.conn, ref, &img, &err), 0);
	ck_assert_msg(strstr(err.message, "mismatch"), "%s", err.message);
	/* not recorded */
	ck_assert_int_lt(cradle_image_status(D.conn, ref, &img, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);
}
END_TEST

#define N_CONCURRENT 20

struct conc {
	char id[N_CONCURRENT][CRADLE_SANDBOX_ID_LEN + 1];
	char err[N_CONCURRENT][CRADLE_ERROR_MAX];
	int next;
	pthread_mutex_t lock;
};

static void *
conc_run(void *arg)
{
	struct conc *c = arg;
	pthread_mutex_lock(&c->lock);
	int i = c->next++;
	pthread_mutex_unlock(&c->lock);
	struct cradle_error err = { 0 };
	char name[32];
	int32_t pid;
	snprintf(name, sizeof(name), "conc-%d", i);
	struct cradle_pod *pod = it_pod(name, name);
	if (cradle_sandbox_run(D.conn, pod, NULL, c->id[i], &pid, NULL, &err) < 0)
		snprintf(c->err[i], sizeof(c->err[i]), "%s", err.message);
	cradle_pod_free(pod);
	return NULL;
}

START_TEST(test_missing_image_pulled_once_for_20_starts)
{
	struct conc *c = calloc(1, sizeof(*c));
	pthread_t t[N_CONCURRENT];
	struct cradle_error err;
	char conf[512];

	pthread_mutex_init(&c->lock, NULL);
	it_registry_start(&R);
	port = R.port;
	it_registry_push_pause(&R, "once");
	snprintf(conf, sizeof(conf),
	         "[sandbox]\nimage = 127.0.0.1:%d/pause:once\ncgroup_root = " IT_CGROUP_ROOT
	         "\n[registry]\ninsecure = 127.0.0.1:%d\n",
	         port, port);
	it_start_with(&D, NULL, conf);
	/* the access log has one line per request */
	int before = it_registry_log_count(&R, "\"GET /v2/pause/manifests/once");
	for (int i = 0; i < N_CONCURRENT; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, conc_run, c), 0);
	for (int i = 0; i < N_CONCURRENT; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N_CONCURRENT; i++)
		ck_assert_msg(c->err[i][0] == '\0', "start %d: %s", i, c->err[i]);
	/* one manifest fetch for all twenty (the registry logs every request) */
	ck_assert_int_eq(it_registry_log_count(&R, "\"GET /v2/pause/manifests/once") - before, 1);
	/* they run the pulled image's entrypoint on its rootfs */
	struct cradle_sandbox *sb;
	ck_assert_int_eq(cradle_sandbox_status(D.conn, c->id[0], &sb, &err), 0);
	char path[512], cmd[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/cmdline", cradle_sandbox_pid(sb));
	FILE *f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(cmd, sizeof(cmd), f));
	fclose(f);
	ck_assert_str_eq(cmd, "/pause");
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", cradle_sandbox_pid(sb));
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	char line[2048], mnt[1024];
	bool root = false; /* the line of "/" */
	while (!root && fgets(line, sizeof(line), f))
		root = sscanf(line, "%*s %*s %*s %*s %1023s", mnt) == 1 && strcmp(mnt, "/") == 0;
	fclose(f);
	ck_assert_msg(root, "no root mount in %s", path);
	ck_assert_msg(strstr(line, "overlay") && strstr(line, "/snapshots/sha256/"),
	              "rootfs is not the image's layers: %s", line);
	cradle_sandbox_free(sb);
	for (int i = 0; i < N_CONCURRENT; i++)
		ck_assert_int_eq(cradle_sandbox_remove(D.conn, c->id[i], &err), 0);
	free(c);
}
END_TEST

START_TEST(test_import_archive)
{
	struct cradle_image *img;
	struct cradle_error err;
	char path[512];

	it_start(&D, NULL);
	ck_assert(realpath(it_bin("pause.oci.tar"), path) != NULL);
	ck_assert_msg(cradle_image_import(D.conn, path, "example.com/imported:1", &img, &err) == 0,
	              "%s", err.message);
	ck_assert_str_eq(cradle_image_ref(img), "example.com/imported:1");
	cradle_image_free(img);
	ck_assert_int_eq(cradle_image_status(D.conn, "example.com/imported:1", &img, &err), 0);
	cradle_image_free(img);
	/* a truncated archive is refused and not recorded */
	char cut[512];
	snprintf(cut, sizeof(cut), "%s/cut.tar", D.dir);
	ck_assert_int_eq(it_sh("head -c 100000 %s > %s", path, cut), 0);
	ck_assert_int_lt(cradle_image_import(D.conn, cut, "example.com/cut:1", &img, &err), 0);
	ck_assert_int_lt(cradle_image_status(D.conn, "example.com/cut:1", &img, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);
}
END_TEST

/* An unpack a crash cut short leaves "<hex>.tmp-XXXXXX" beside the
 * snapshots; the next start-up removes it, and keeps the real ones. */
/* The built-in image is imported by a child process of cradled's (so
 * that the digest code stays out of the daemon): its failure still stops
 * start-up with the error that names the archive, and leaves nothing
 * mounted. */
START_TEST(test_builtin_import_failure)
{
	static const char *const args[] = { "--image-archive", "/nonexistent/pause.oci.tar", NULL };
	static const char *const wants[] = { "import the built-in sandbox image",
		                             "/nonexistent/pause.oci.tar", NULL };

	it_expect_start_fails("", args, wants);
}
END_TEST

START_TEST(test_stale_unpack_swept)
{
	char snaps[512], stale[600];
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid = 0;

	it_start(&D, NULL);
	/* a start unpacks the pause image's layers */
	struct cradle_pod *pod = it_pod("unpacked", NULL);
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	snprintf(snaps, sizeof(snaps), "%s/snapshots/sha256", D.root);
	int layers = it_count_entries(snaps);
	ck_assert_int_gt(layers, 0);
	ck_assert_int_eq(it_stop(&D), 0);
	snprintf(stale, sizeof(stale), "%s/%064d.tmp-AbC123", snaps, 0);
	ck_assert_int_eq(it_sh("mkdir -p %s/etc && echo half > %s/etc/passwd", stale, stale), 0);
	it_restart(&D, NULL);
	ck_assert_int_eq(access(stale, F_OK), -1);
	ck_assert_int_eq(it_count_entries(snaps), layers);
	ck_assert(it_log_contains(&D, "removed stale snapshot"));
}
END_TEST

static Suite *
images_suite(void)
{
	Suite *s = suite_create("images");
	TCase *tc = tcase_create("registry");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_builtin_image_pinned_and_in_use);
	tcase_add_test(tc, test_pulled_sandbox_image_pinned);
	tcase_add_test(tc, test_pull_by_tag_and_digest_and_errors);
	tcase_add_test(tc, test_corrupted_blob_refused);
	tcase_add_test(tc, test_missing_image_pulled_once_for_20_starts);
	tcase_add_test(tc, test_import_archive);
	tcase_add_test(tc, test_stale_unpack_swept);
	tcase_add_test(tc, test_builtin_import_failure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_images: needs root (starts cradled); CI runs as root\n");
		return 1;
	}
	return it_run_suite(images_suite());
}
