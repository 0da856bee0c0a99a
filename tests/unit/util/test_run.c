/* test_run.c - running a plugin to its end (util/run.c).
 *
 * Real programs from the base system (cat, grep, sh, yes, sleep): input in,
 * output kept or overrun, stderr's tail, exit status and signal, deadline
 * with its process group killed, a program that cannot be executed, and
 * what the child starts with: descriptors 0-2 only and the kernel's
 * smallest table even when the caller has one open at 3000, no signal
 * blocked or ignored, a process group of its own.  Every test ends with no
 * child and no descriptor left.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/lib/unit.h"
#include "util/run.h"

extern char **environ;

static int fds_before;

static void
setup(void)
{
	fds_before = unit_count_fds();
}

static void
teardown(void)
{
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds_before);
}

/* Run argv[0] with in; 0 or -errno, res filled. */
static int
run(char *const argv[], const char *in, size_t out_max, int timeout_ms, struct run_result *res,
    const char **what)
{
	const struct run_spec spec = {
		.path = argv[0],
		.argv = argv,
		.envp = environ,
		.in = in,
		.in_len = in != NULL ? strlen(in) : 0,
		.out_max = out_max,
		.err_max = 64,
		.timeout_ms = timeout_ms,
	};
	return run_program(&spec, res, what);
}

static void
assert_exited(const struct run_result *res, int status)
{
	ck_assert_int_eq(res->si.si_code, CLD_EXITED);
	ck_assert_int_eq(res->si.si_status, status);
	ck_assert(!res->timed_out);
	ck_assert(!res->out_over);
}

START_TEST(test_input_to_output)
{
	/* more than a pipe holds, both ways, so the loop must interleave */
	size_t n = 1 << 20;
	char *in = malloc(n + 1);
	struct run_result res;
	const char *what;

	ck_assert_ptr_nonnull(in);
	for (size_t i = 0; i < n; i++)
		in[i] = (char)('a' + i % 26);
	in[n] = '\0';
	char *argv[] = { "/bin/cat", NULL };
	ck_assert_int_eq(run(argv, in, n, 10000, &res, &what), 0);
	assert_exited(&res, 0);
	ck_assert_uint_eq(res.out_len, n);
	ck_assert(memcmp(res.out, in, n) == 0);
	ck_assert_int_eq(res.out[n], '\0');
	ck_assert_uint_eq(res.err_len, 0);
	run_result_fini(&res);
	free(in);
}
END_TEST

START_TEST(test_status_and_stderr_tail)
{
	char *argv[] = { "/bin/sh", "-c",
		         "printf out; i=0; while [ $i -lt 20 ]; do printf 'line %02d\\n' $i >&2; "
		         "i=$((i+1)); done; exit 3",
		         NULL };
	struct run_result res;
	const char *what;
	char text[256], status[48];

	ck_assert_int_eq(run(argv, NULL, 100, 10000, &res, &what), 0);
	assert_exited(&res, 3);
	ck_assert_str_eq(res.out, "out");
	/* the last 64 bytes of 160 */
	ck_assert_uint_eq(res.err_len, 64);
	ck_assert_str_eq(res.err + res.err_len - 8, "line 19\n");
	run_tail_text(res.err, res.err_len, text, sizeof(text));
	ck_assert_ptr_null(strchr(text, '\n'));
	ck_assert_ptr_nonnull(strstr(text, "line 19"));
	run_status_text(&res.si, status, sizeof(status));
	ck_assert_str_eq(status, "exited with status 3");
	run_result_fini(&res);

	char *kill_argv[] = { "/bin/sh", "-c", "kill -9 $$", NULL };
	ck_assert_int_eq(run(kill_argv, NULL, 100, 10000, &res, &what), 0);
	ck_assert_int_eq(res.si.si_code, CLD_KILLED);
	run_status_text(&res.si, status, sizeof(status));
	ck_assert_str_eq(status, "killed by signal 9");
	run_result_fini(&res);
}
END_TEST

START_TEST(test_output_overrun_is_killed)
{
	char *argv[] = { "/usr/bin/yes", NULL };
	struct run_result res;
	const char *what;

	ck_assert_int_eq(run(argv, NULL, 4096, 10000, &res, &what), 0);
	ck_assert(res.out_over);
	ck_assert(!res.timed_out);
	ck_assert_int_eq(res.si.si_code, CLD_KILLED);
	ck_assert_uint_le(res.out_len, 4096);
	run_result_fini(&res);
}
END_TEST

/* The deadline kills the program's whole group: a grandchild it left in
 * the background goes too. */
START_TEST(test_deadline_kills_the_group)
{
	char *argv[] = { "/bin/sh", "-c", "sleep 100 & echo $!; exec sleep 100", NULL };
	struct run_result res;
	const char *what;
	char path[64], st[64];

	ck_assert_int_eq(run(argv, NULL, 100, 300, &res, &what), 0);
	ck_assert(res.timed_out);
	ck_assert_int_eq(res.si.si_code, CLD_KILLED);
	pid_t bg = (pid_t)atoi(res.out);
	ck_assert_int_gt(bg, 1);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)bg);
	/* killed (reaped by whoever adopted it, or a zombie until then) */
	bool gone = false;
	for (int i = 0; i < 200 && !gone; i++) {
		FILE *f = fopen(path, "r");
		if (f == NULL) {
			gone = true;
			break;
		}
		if (fgets(st, sizeof(st), f) != NULL && strstr(st, ") Z ") != NULL)
			gone = true;
		fclose(f);
		if (!gone)
			unit_sleep_ms(10);
	}
	ck_assert_msg(gone, "the background sleep %d outlived its group's kill", (int)bg);
	run_result_fini(&res);
}
END_TEST

START_TEST(test_cannot_exec)
{
	char *argv[] = { "/nonexistent/plugin", NULL };
	struct run_result res;
	const char *what = NULL;

	ck_assert_int_eq(run(argv, "x", 100, 1000, &res, &what), -ENOENT);
	ck_assert_str_eq(what, "exec");
	run_result_fini(&res);

	char dir[PATH_MAX];
	unit_scratch_setup();
	unit_path(dir, sizeof(dir), "plain");
	unit_put_str(dir, "not a program");
	char *argv2[] = { dir, NULL };
	ck_assert_int_eq(run(argv2, NULL, 100, 1000, &res, &what), -EACCES);
	ck_assert_str_eq(what, "exec");
	run_result_fini(&res);
	unit_scratch_teardown();
}
END_TEST

/* What the program starts with, whatever the caller holds. */
START_TEST(test_child_starts_clean)
{
	struct run_result res;
	const char *what;
	sigset_t set, old;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;

	/* a descriptor at 3000 grows the caller's table to 4096 slots */
	int hi = fcntl(0, F_DUPFD_CLOEXEC, 3000);
	ck_assert_int_ge(hi, 3000);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	sigaction(SIGPIPE, &ign, &old_pipe);

	char *fds[] = { "/bin/ls", "/proc/self/fd", NULL };
	ck_assert_int_eq(run(fds, NULL, 4096, 10000, &res, &what), 0);
	assert_exited(&res, 0);
	/* ls's own directory descriptor is the 3 */
	ck_assert_str_eq(res.out, "0\n1\n2\n3\n");
	run_result_fini(&res);

	char *status[] = { "/bin/grep", "-E", "^(FDSize|SigBlk|SigIgn):", "/proc/self/status",
		           NULL };
	ck_assert_int_eq(run(status, NULL, 4096, 10000, &res, &what), 0);
	assert_exited(&res, 0);
	ck_assert_msg(strstr(res.out, "FDSize:\t64\n") != NULL, "%s", res.out);
	ck_assert_msg(strstr(res.out, "SigBlk:\t0000000000000000\n") != NULL, "%s", res.out);
	ck_assert_msg(strstr(res.out, "SigIgn:\t0000000000000000\n") != NULL, "%s", res.out);
	run_result_fini(&res);

	/* a process group of its own: pid (field 1) == pgrp (field 5) */
	char *pg[] = { "/bin/sh", "-c", "read p c s pp g rest < /proc/self/stat; echo $p $g",
		       NULL };
	ck_assert_int_eq(run(pg, NULL, 4096, 10000, &res, &what), 0);
	assert_exited(&res, 0);
	int p = 0, g = -1;
	ck_assert_int_eq(sscanf(res.out, "%d %d", &p, &g), 2);
	ck_assert_int_eq(p, g);
	run_result_fini(&res);

	sigaction(SIGPIPE, &old_pipe, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(hi);
}
END_TEST

/* A program that never reads its stdin: the write ends, nothing hangs. */
START_TEST(test_input_not_read)
{
	size_t n = 1 << 20;
	char *in = malloc(n + 1);
	char *argv[] = { "/bin/true", NULL };
	struct run_result res;
	const char *what;

	ck_assert_ptr_nonnull(in);
	memset(in, 'x', n);
	in[n] = '\0';
	ck_assert_int_eq(run(argv, in, 100, 10000, &res, &what), 0);
	assert_exited(&res, 0);
	run_result_fini(&res);
	free(in);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("run");

	unit_tcase(s, "run", setup, teardown, 30,
	           UNIT_TESTS(test_input_to_output, test_status_and_stderr_tail,
	                      test_output_overrun_is_killed, test_deadline_kills_the_group,
	                      test_cannot_exec, test_child_starts_clean, test_input_not_read));
	return unit_run(s, "test_run", 0);
}
