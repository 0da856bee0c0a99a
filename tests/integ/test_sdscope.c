/* test_sdscope.c - the systemd cgroup driver's undo paths against a real
 * systemd (it_systemd_boot, tests/integ/libinteg.h; the scope itself, its
 * properties and the refusals are test_systemd.c's): a start failed at
 * every step after the scope exists leaves no unit, a start a crash cut
 * short leaves a unit that the restarted daemon stops, for both launchers,
 * and a systemd that re-executed itself (its connections closed) serves
 * the next start.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/integ/libinteg.h"

#define RUNC "/usr/sbin/runc"
#define SLICE "kubepods-besteffort-podsd.slice"
#define PARENT "\"linux\": {\"cgroup_parent\": \"" SLICE "\"}"

static const char conf[] = "[runtime.runc]\n"
			   "[runtime.sd]\nsystemd_cgroup = true\n"
			   "[runtime.rsd]\nlauncher = oci\npath = " RUNC "\n"
			   "systemd_cgroup = true\n";

static struct it_systemd SD;
static struct it_daemon D;

static void
setup(void)
{
	it_systemd_boot(&SD);
}

static void
teardown(void)
{
	it_cleanup(&D);
	it_systemd_halt(&SD);
}

/* The scope units systemd knows, loaded in any state: "" when none. */
static void
units(char *out, size_t len)
{
	ck_assert_int_eq(
		it_systemd_run(&SD, out, len,
	                       "systemctl list-units --all --no-legend 'cri-containerd-*'"),
		0);
}

static void
assert_no_unit(const char *after)
{
	char out[4096];

	units(out, sizeof(out));
	ck_assert_msg(out[0] == '\0', "after %s: %s", after, out);
	ck_assert_int_eq(it_count_pause_tasks(), 0);
}

/* A start of handler through a fresh daemon (the hooks build failing at
 * fail_step): it fails; the error text into msg. */
static void
start_fails(const char *handler, const char *fail_step, char *msg, size_t len)
{
	struct cradle_error err = { 0 };
	struct cradle_conn *cn;
	char id[CRADLE_SANDBOX_ID_LEN + 1];

	it_stop(&D);
	it_restart(&D, fail_step);
	ck_assert_int_eq(cradle_connect(D.sock, it_ms(1500), &cn, &err), 0);
	struct cradle_pod *pod = it_pod_json("sd-undo", NULL, PARENT);
	ck_assert_int_lt(cradle_sandbox_run(cn, pod, handler, id, NULL, NULL, &err), 0);
	cradle_pod_free(pod);
	cradle_close(cn);
	snprintf(msg, len, "%s", err.message);
}

/* The pod's slice is the kubelet's to remove. */
static void
stop_slice(void)
{
	char out[1024];

	ck_assert_int_eq(it_systemd_run(&SD, out, sizeof(out), "systemctl stop " SLICE), 0);
}

/* The native launcher: the scope is made in the launch step, with the
 * pause waiting before its exec; every failure from there on stops it. */
START_TEST(test_sdscope_native_rollback)
{
	static const char *const steps[] = { "cgroup:intent", "launch:prepared", "launch", "netns",
		                             "record" };
	char msg[1024], want[128];

	it_start_in_systemd(&D, &SD, conf);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		start_fails("sd", steps[i], msg, sizeof(msg));
		snprintf(want, sizeof(want), "injected failure %s %s",
		         strchr(steps[i], ':') != NULL ? "inside step" : "at step", steps[i]);
		ck_assert_msg(strstr(msg, want) != NULL, "%s: %s", steps[i], msg);
		assert_no_unit(steps[i]);
	}
}
END_TEST

/* The oci launcher: runc makes the scope at create; a failure after it
 * deletes the container and stops the unit. */
START_TEST(test_sdscope_oci_rollback)
{
	static const char *const steps[] = { "netns", "record" };
	char msg[1024];

	it_start_in_systemd(&D, &SD, conf);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		start_fails("rsd", steps[i], msg, sizeof(msg));
		ck_assert_msg(strstr(msg, "injected failure at step") != NULL, "%s", msg);
		assert_no_unit(steps[i]);
	}
}
END_TEST

/* A crash right after the launch: the unit runs, no record knows it; the
 * restarted daemon undoes the start, stopping the unit (never removing
 * systemd's cgroups by hand). */
static void
crash_then_recover(const char *handler)
{
	char msg[1024], out[4096];

	it_start_in_systemd(&D, &SD, conf);
	start_fails(handler, "crash:launch", msg, sizeof(msg));
	ck_assert_int_eq(it_stop(&D), 128 + SIGKILL);
	units(out, sizeof(out));
	ck_assert_msg(strstr(out, "active running") != NULL, "%s", out);
	it_restart(&D, NULL);
	ck_assert(it_log_contains(&D, "undid the start of"));
	assert_no_unit("recovery");
	stop_slice();
}

START_TEST(test_sdscope_native_crash)
{
	crash_then_recover("sd");
}
END_TEST

START_TEST(test_sdscope_oci_crash)
{
	crash_then_recover("rsd");
}
END_TEST

/* systemd re-executes itself (a package upgrade) and closes every
 * connection: the next start reconnects and succeeds, and both pods go. */
START_TEST(test_sdscope_reexec)
{
	struct cradle_error err = { 0 };
	char ids[2][CRADLE_SANDBOX_ID_LEN + 1], out[1024];

	it_start_in_systemd(&D, &SD, conf);
	for (int i = 0; i < 2; i++) {
		struct cradle_pod *pod = it_pod_json(i == 0 ? "sd-re0" : "sd-re1", NULL, PARENT);
		int r = cradle_sandbox_run(D.conn, pod, "sd", ids[i], NULL, NULL, &err);
		cradle_pod_free(pod);
		ck_assert_msg(r == 0, "run %d: %s", i, err.message);
		if (i == 0)
			ck_assert_int_eq(
				it_systemd_run(&SD, out, sizeof(out), "systemctl daemon-reexec"),
				0);
	}
	ck_assert_int_eq(it_count_pause_tasks(), 2);
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(cradle_sandbox_stop(D.conn, ids[i], 0, &err) == 0, "%s", err.message);
		ck_assert_msg(cradle_sandbox_remove(D.conn, ids[i], &err) == 0, "%s", err.message);
	}
	assert_no_unit("remove");
	stop_slice();
}
END_TEST

static Suite *
sdscope_suite(void)
{
	Suite *s = suite_create("sdscope");
	TCase *tc = tcase_create("undo");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_sdscope_native_rollback);
	tcase_add_test(tc, test_sdscope_oci_rollback);
	tcase_add_test(tc, test_sdscope_native_crash);
	tcase_add_test(tc, test_sdscope_oci_crash);
	tcase_add_test(tc, test_sdscope_reexec);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return it_run_suite(sdscope_suite());
}
