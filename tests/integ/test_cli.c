/* test_cli.c - the cradle CLI against a real cradled: crictl's words,
 * crictl's JSON, errors that name the field.  Needs root. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;

static void
teardown(void)
{
	it_cleanup(&D);
}

START_TEST(test_runp_pods_inspectp_stopp_rmp)
{
	char out[16384], id[CRADLE_SANDBOX_ID_LEN + 1], host[256];

	it_start(&D, NULL);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "runp %s", it_src("examples/pod.json")), 0);
	ck_assert_int_eq(sscanf(out, "%64s", id), 1);
	ck_assert_msg(it_valid_id(id), "runp printed %s", out);

	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods"), 0);
	ck_assert_msg(strstr(out, "nginx-sandbox") && strstr(out, "Ready"), "%s", out);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods -q --state ready --label app=nginx"),
	                 0);
	ck_assert_msg(strncmp(out, id, CRADLE_SANDBOX_ID_LEN) == 0, "%s", out);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods -q --label app=other"), 0);
	ck_assert_str_eq(out, "");

	/* inspectp by prefix: its pid is a live task with that hostname */
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "inspectp %.13s", id), 0);
	ck_assert_msg(strstr(out, "\"SANDBOX_READY\""), "%s", out);
	char *p = strstr(out, "\"pid\": ");
	ck_assert_ptr_nonnull(p);
	int pid = atoi(p + 7);
	ck_assert(it_proc_alive(pid));
	ck_assert(it_uts_hostname(pid, host, sizeof(host)));
	ck_assert_str_eq(host, "nginx-sandbox");
	ck_assert_msg(strstr(out, "\"netns\": \"") != NULL, "%s", out);

	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "stopp %s", id), 0);
	ck_assert(!it_proc_alive(pid));
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "inspectp %s", id), 0);
	ck_assert_msg(strstr(out, "\"SANDBOX_NOTREADY\""), "%s", out);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmp %s", id), 0);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods -q"), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_hostnet_example_and_rmp_all)
{
	char out[16384], id[CRADLE_SANDBOX_ID_LEN + 1];

	it_start(&D, NULL);
	ck_assert_int_eq(
		it_cli(&D, out, sizeof(out), "runp %s", it_src("examples/pod-hostnet.json")), 0);
	ck_assert_int_eq(sscanf(out, "%64s", id), 1);
	ck_assert_int_eq(
		it_cli(&D, out, sizeof(out), "createp %s", it_src("examples/pod-labels.json")), 0);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods"), 0);
	ck_assert_msg(strstr(out, "NotReady"), "created pod not listed: %s", out);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmp --all"), 0);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods -q"), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(it_count_pause_tasks(), 0);
}
END_TEST

/* rmp --all keeps several removes in flight: every sandbox goes, each id
 * printed once, nothing left behind. */
START_TEST(test_rmp_all_many)
{
	enum { N = 24 };
	char out[16384], ids[N][CRADLE_SANDBOX_ID_LEN + 1], name[32], dir[400];
	struct cradle_error err;
	struct cradle_pod *pod;
	int i, mounts;

	it_start(&D, NULL);
	mounts = it_count_mounts_under(D.state); /* the daemon's own */
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "many-%d", i);
		pod = it_pod(name, name);
		ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, ids[i], NULL, NULL, &err) == 0,
		              "%s", err.message);
		cradle_pod_free(pod);
	}
	ck_assert_int_eq(it_count_pause_tasks(), N);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmp -a"), 0);
	for (i = 0; i < N; i++) {
		char *hit = strstr(out, ids[i]);

		ck_assert_msg(hit && !strstr(hit + 1, ids[i]), "%s not printed once: %s", ids[i],
		              out);
	}
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "pods -q"), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(it_count_pause_tasks(), 0);
	snprintf(dir, sizeof(dir), "%s/sandboxes", D.state);
	ck_assert_int_eq(it_count_entries(dir), 0);
	snprintf(dir, sizeof(dir), "%s/netns", D.state);
	ck_assert_int_eq(it_count_entries(dir), 0);
	ck_assert_int_eq(it_count_mounts_under(D.state), mounts);
	/* and with nothing to remove */
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmp -a"), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_errors_name_the_problem)
{
	char out[16384], path[400];

	it_start(&D, NULL);
	snprintf(path, sizeof(path), "%s/bad.json", D.dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"metadata\": {\"name\": \"x\", \"namespace\": \"default\", \"uid\": \"u\", "
	      "\"attempt\": \"one\"}}",
	      f);
	fclose(f);
	ck_assert_int_ne(it_cli(&D, out, sizeof(out), "runp %s", path), 0);
	ck_assert_msg(strstr(out, "metadata.attempt"), "%s", out);

	ck_assert_int_ne(
		it_cli(&D, out, sizeof(out),
	               "inspectp 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
		0);
	ck_assert_msg(strstr(out, "NOT_FOUND"), "%s", out);
	ck_assert_int_ne(it_cli(&D, out, sizeof(out), "startp nosuchprefix"), 0);
	ck_assert_msg(strstr(out, "nosuchprefix"), "%s", out);
	/* CRI: stop and remove of an unknown id succeed */
	ck_assert_int_eq(
		it_cli(&D, out, sizeof(out),
	               "stopp 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
		0);
	/* no daemon at that socket */
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "%s --socket %s/nothing.sock version >/dev/null 2>&1",
	         it_bin("cradle"), D.dir);
	ck_assert_int_ne(system(cmd), 0);
}
END_TEST

static Suite *
cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("crictl");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_runp_pods_inspectp_stopp_rmp);
	tcase_add_test(tc, test_hostnet_example_and_rmp_all);
	tcase_add_test(tc, test_rmp_all_many);
	tcase_add_test(tc, test_errors_name_the_problem);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_cli: needs root (starts cradled); CI runs as root\n");
		return 1;
	}
	return it_run_suite(cli_suite());
}
