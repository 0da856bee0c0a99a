/* test_limits.c - [cradled] max_sandboxes, the open-files check at
 * start-up, and a full store ([store] map_size): each refusal is
 * RESOURCE_EXHAUSTED (or a clear start-up error), leaves nothing behind,
 * and room made by a removal is usable again.
 *
 * Needs root (namespaces, mounts, cgroups); CI runs as root.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

extern char **environ;

static struct it_daemon D;

static void
teardown(void)
{
	it_cleanup(&D);
}

/* Run pod name; 0, or the call's result with err filled. */
static int
try_run(const char *name, size_t big, char id[CRADLE_SANDBOX_ID_LEN + 1], int32_t *pid,
        struct cradle_error *err)
{
	struct cradle_pod *pod = it_pod(name, NULL);

	/* big: bytes of annotations, to fill a small store quickly */
	for (size_t i = 0; big > 0; i++) {
		char key[32], *v;
		size_t n = big > 15000 ? 15000 : big;
		snprintf(key, sizeof(key), "filler-%zu", i);
		ck_assert_ptr_nonnull(v = malloc(n + 1));
		memset(v, 'x', n);
		v[n] = '\0';
		ck_assert_msg(cradle_pod_set_annotation(pod, key, v, err) == 0, "%s", err->message);
		free(v);
		big -= n;
	}
	int r = cradle_sandbox_run(D.conn, pod, NULL, id, pid, NULL, err);
	cradle_pod_free(pod);
	return r;
}

static int
count_in(const char *base, const char *sub)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/%s", base, sub);
	return it_count_entries(p);
}

/* Everything n sandboxes own, and nothing more. */
static void
assert_sandboxes(int n, int cgroups_each)
{
	struct cradle_sandbox_list *l;
	struct cradle_error err;

	ck_assert_msg(cradle_sandbox_list(D.conn, -1, NULL, 0, &l, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(cradle_sandbox_list_count(l), (size_t)n);
	cradle_sandbox_list_free(l);
	ck_assert_int_eq(it_count_pause_tasks(), n);
	ck_assert_int_eq(it_count_cgroups(), n * cgroups_each);
	ck_assert_int_eq(count_in(D.root, "sandboxes"), n);
	ck_assert_int_eq(count_in(D.state, "sandboxes"), n);
	ck_assert_int_eq(count_in(D.state, "netns"), n);
}

START_TEST(test_max_sandboxes)
{
	char ids[4][CRADLE_SANDBOX_ID_LEN + 1], id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err;
	int32_t pid;
	char name[32];

	it_start_with(&D, NULL, "[cradled]\nmax_sandboxes = 3\n");
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "pod-%d", i);
		ck_assert_msg(try_run(name, 0, ids[i], &pid, &err) == 0, "%s", err.message);
	}
	int cgroups_each = it_count_cgroups() / 3;
	ck_assert_int_gt(cgroups_each, 0);
	/* the fourth is refused, by run and by create, naming the limit */
	ck_assert_int_ne(try_run("pod-3", 0, id, &pid, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(err.message, "max_sandboxes") != NULL &&
	                      strstr(err.message, "is 3") != NULL,
	              "%s", err.message);
	struct cradle_pod *pod = it_pod("pod-3", NULL);
	ck_assert_int_ne(cradle_sandbox_create(D.conn, pod, NULL, id, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_RESOURCE_EXHAUSTED);
	cradle_pod_free(pod);
	/* and left nothing */
	assert_sandboxes(3, cgroups_each);

	/* a removal makes room */
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, ids[0], &err), 0);
	ck_assert_msg(try_run("pod-3", 0, ids[0], &pid, &err) == 0, "%s", err.message);
	assert_sandboxes(3, cgroups_each);

	/* a restart with a lower limit keeps all three, refuses more */
	ck_assert_int_eq(it_stop(&D), 0);
	FILE *f = fopen(D.config, "w");
	ck_assert_ptr_nonnull(f);
	fputs("[sandbox]\ncgroup_root = " IT_CGROUP_ROOT "\n[cradled]\nmax_sandboxes = 1\n", f);
	fclose(f);
	it_restart(&D, NULL);
	assert_sandboxes(3, cgroups_each);
	ck_assert_int_ne(try_run("pod-4", 0, id, &pid, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_RESOURCE_EXHAUSTED);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(cradle_sandbox_remove(D.conn, ids[i], &err), 0);
	assert_sandboxes(0, cgroups_each);
}
END_TEST

/* max_sandboxes beyond what the open-files limit holds: cradled refuses
 * to start, naming both numbers and both ways out, and makes nothing. */
START_TEST(test_nofile_refusal)
{
	static const char *const wants[] = { "max_sandboxes = 1000000", "RLIMIT_NOFILE",
		                             "lower max_sandboxes", "raise the hard limit", NULL };

	it_expect_refused("[cradled]\nmax_sandboxes = 1000000\n", wants);
}
END_TEST

/* A store too small for another record: the start that cannot store it
 * is RESOURCE_EXHAUSTED ("store full ... map_size") and rolled back
 * completely; removing a sandbox frees room, and starts work again. */
#define BIG (45 * 1000)

START_TEST(test_store_full)
{
	char ids[64][CRADLE_SANDBOX_ID_LEN + 1], id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err;
	int32_t pid;
	char name[32];
	int n = 0;

	it_start_with(&D, NULL, "[store]\nmap_size = 512k\n");
	for (;;) {
		ck_assert_int_lt(n, 64);
		snprintf(name, sizeof(name), "big-%d", n);
		if (try_run(name, BIG, ids[n], &pid, &err) != 0)
			break;
		n++;
	}
	ck_assert_msg(n >= 1, "no start fit at all: %s", err.message);
	ck_assert_msg(err.code == CRADLE_STATUS_RESOURCE_EXHAUSTED, "%s: %s",
	              cradle_status_name(err.code), err.message);
	ck_assert_msg(strstr(err.message, "store full") != NULL &&
	                      strstr(err.message, "[store] map_size") != NULL,
	              "%s", err.message);
	int cgroups_each = it_count_cgroups() / n;
	ck_assert_int_gt(cgroups_each, 0);
	/* the failed start left nothing: n of everything */
	assert_sandboxes(n, cgroups_each);
	/* a create that cannot be stored is refused the same way */
	struct cradle_pod *pod = it_pod("big-create", NULL);
	char *v = malloc(15001);
	ck_assert_ptr_nonnull(v);
	memset(v, 'y', 15000);
	v[15000] = '\0';
	for (int i = 0; i < 3; i++) {
		char key[16];
		snprintf(key, sizeof(key), "f%d", i);
		ck_assert_int_eq(cradle_pod_set_annotation(pod, key, v, &err), 0);
	}
	free(v);
	ck_assert_int_ne(cradle_sandbox_create(D.conn, pod, NULL, id, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_RESOURCE_EXHAUSTED);
	cradle_pod_free(pod);
	assert_sandboxes(n, cgroups_each);

	/* removing one (its stop's record may not fit either) frees room */
	ck_assert_msg(cradle_sandbox_remove(D.conn, ids[n - 1], &err) == 0, "%s", err.message);
	assert_sandboxes(n - 1, cgroups_each);
	ck_assert_msg(try_run("big-again", BIG, ids[n - 1], &pid, &err) == 0, "%s", err.message);
	assert_sandboxes(n, cgroups_each);

	/* and what the store holds is what the daemon showed: after a
	 * restart the same n come back */
	ck_assert_int_eq(it_stop(&D), 0);
	it_restart(&D, NULL);
	assert_sandboxes(n, cgroups_each);
	for (int i = 0; i < n; i++)
		ck_assert_msg(cradle_sandbox_remove(D.conn, ids[i], &err) == 0, "%s", err.message);
	assert_sandboxes(0, cgroups_each);
}
END_TEST

/* A few sandboxes with the largest configs a request can carry (about
 * 1 MiB each) must not break the list for everyone: 70 of them are more
 * than one list reply may hold (PROTO_MAX_LIST_MSG, 64 MiB), and the
 * list still returns every one, whole. */
#define HUGE_N 70
#define HUGE_ANN 60
#define HUGE_VLEN 16000

START_TEST(test_list_of_huge_configs)
{
	static char ids[HUGE_N][CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_sandbox_list *l;
	struct cradle_error err;
	char name[32], *v = malloc(HUGE_VLEN + 1);

	/* 70 (67 MB: one reply could not hold them; it failed so before
	 * the list was paged); 36 (33 MB, the fewest that still make two
	 * pages of 32 MiB) under ASan; 8 (one page) under TSan, which looks
	 * for races: the list's locking is the same for one page or two,
	 * and copying 38 MB twice under TSan took 90 s */
#if defined(__SANITIZE_THREAD__)
	const int n = 8;
#else
	const int n = it_ms(1000) > 1000 ? 36 : HUGE_N;
#endif

	ck_assert_ptr_nonnull(v);
	memset(v, 'z', HUGE_VLEN);
	v[HUGE_VLEN] = '\0';
	it_start(&D, NULL);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "huge-%d", i);
		struct cradle_pod *pod = it_pod(name, NULL);
		for (int a = 0; a < HUGE_ANN; a++) {
			char key[16];
			snprintf(key, sizeof(key), "a%d", a);
			ck_assert_int_eq(cradle_pod_set_annotation(pod, key, v, &err), 0);
		}
		ck_assert_msg(cradle_sandbox_create(D.conn, pod, NULL, ids[i], &err) == 0, "%d: %s",
		              i, err.message);
		cradle_pod_free(pod);
	}
	free(v);
	ck_assert_msg(cradle_sandbox_list(D.conn, -1, NULL, 0, &l, &err) == 0, "list: %s: %s",
	              cradle_status_name(err.code), err.message);
	ck_assert_uint_eq(cradle_sandbox_list_count(l), (size_t)n);
	/* every one once, in id order, whole */
	for (size_t i = 0; i < (size_t)n; i++) {
		const struct cradle_sandbox *s = cradle_sandbox_list_at(l, i);
		if (i > 0)
			ck_assert_int_lt(strcmp(cradle_sandbox_id(cradle_sandbox_list_at(l, i - 1)),
			                        cradle_sandbox_id(s)),
			                 0);
		ck_assert_uint_eq(cradle_sandbox_annotation_count(s), HUGE_ANN);
		ck_assert_uint_eq(strlen(cradle_sandbox_annotation(s, "a7")), HUGE_VLEN);
	}
	cradle_sandbox_list_free(l);
	/* a filter pages the same way */
	ck_assert_msg(cradle_sandbox_list(D.conn, CRADLE_STATE_NOTREADY, NULL, 0, &l, &err) == 0,
	              "%s", err.message);
	ck_assert_uint_eq(cradle_sandbox_list_count(l), (size_t)n);
	cradle_sandbox_list_free(l);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(cradle_sandbox_remove(D.conn, ids[i], &err), 0);
}
END_TEST

static Suite *
limits_suite(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_create("limits");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(180));
	tcase_add_test(tc, test_max_sandboxes);
	tcase_add_test(tc, test_nofile_refusal);
	tcase_add_test(tc, test_store_full);
	tcase_add_test(tc, test_list_of_huge_configs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_limits: needs root (namespaces, mounts); CI runs as root\n");
		return 1;
	}
	return it_run_suite(limits_suite());
}
