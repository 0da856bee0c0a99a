/* test_limits.c - the start-up check that the open-files limit holds one
 * pidfd per sandbox (server/limits.c), with the defaults on this kind of
 * node (hard limit 20,000) and the numbers and ways out its error names.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "server/config.h"
#include "server/daemon.h"
#include "server/limits.h"
#include "tests/unit/lib/unit.h"

START_TEST(test_margin)
{
	ck_assert_uint_eq(limits_nofile_margin(0, 0), 256);
	ck_assert_uint_eq(limits_nofile_margin(8, 1024), 256 + 1024 + 8 * 32);
	/* nonsense counts add nothing */
	ck_assert_uint_eq(limits_nofile_margin(-1, -5), 256);
}
END_TEST

/* The defaults start under a hard limit of 20,000 (this VM's, which
 * cannot be raised), whatever the number of CPUs gives as workers. */
START_TEST(test_defaults_fit_20000)
{
	struct daemon_config cfg;
	struct cradle_err err = { 0 };

	config_defaults(&cfg);
	ck_assert_int_eq(cfg.max_sandboxes, 10000);
	/* the most workers the defaults give (64) */
	uint64_t margin = limits_nofile_margin(64, cfg.contexts);
	ck_assert_msg(limits_check_nofile((uint64_t)cfg.max_sandboxes, margin, 20000, &err) == 0,
	              "%s", err.msg);
	config_fini(&cfg);
}
END_TEST

START_TEST(test_exact_fit_and_one_short)
{
	struct cradle_err err = { 0 };

	ck_assert_int_eq(limits_check_nofile(100, 50, 150, &err), 0);
	ck_assert_int_eq(err.code, 0);
	ck_assert_int_eq(limits_check_nofile(100, 50, RLIM_INFINITY, &err), 0);

	ck_assert_int_lt(limits_check_nofile(100, 50, 149, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
	/* both numbers, and both ways out with their numbers */
	ck_assert_msg(strstr(err.msg, "max_sandboxes = 100") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "is 149") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "lower max_sandboxes to 99 or less") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "raise the hard limit") != NULL &&
	                      strstr(err.msg, "to 150 or more") != NULL,
	              "%s", err.msg);
}
END_TEST

/* A limit that does not even hold the margin: only raising it helps. */
START_TEST(test_below_margin)
{
	struct cradle_err err = { 0 };

	ck_assert_int_lt(limits_check_nofile(10, 1000, 1000, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
	ck_assert_msg(strstr(err.msg, "lower max_sandboxes") == NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "is 1000") != NULL && strstr(err.msg, "to 1010 or more"),
	              "%s", err.msg);
}
END_TEST

static Suite *
limits_suite(void)
{
	Suite *s = suite_create("limits");

	unit_tcase(s, "nofile", NULL, NULL, 30,
	           UNIT_TESTS(test_margin, test_defaults_fit_20000, test_exact_fit_and_one_short,
	                      test_below_margin));
	return (s);
}

int
main(void)
{
	return (unit_run(limits_suite(), "test_limits", 0));
}
