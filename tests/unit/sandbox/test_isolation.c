/* test_isolation.c - what a launch must not do to the launching process
 * and to the launches beside it (sandbox/launch.c).
 *
 * ROOT: the tests launch pause tasks in new namespaces (user namespaces
 * included) from the static pause of $CRADLE_BUILD/rootfs, so they need
 * root, as CI runs them.
 *
 *   - The child shares the launcher's mm until it execs (CLONE_VM), and the
 *     dumpable flag is per mm: a launch with runAsUser != 0 (the kernel sets
 *     the flag to fs.suid_dumpable on the id change) or in a user namespace
 *     (the child sets it to 1) must leave the launcher's flag, credentials
 *     and /proc/self owner as they were.
 *   - User namespace launches (no CLONE_VFORK, sync over pipes): a parent
 *     step that fails is reported by name, and two launches in flight at
 *     once do not hold each other: the second one's child is cloned while
 *     the first one's sync pipe is open, so (before the fix) it held a copy
 *     of that pipe's write end and the first failing launch waited for the
 *     second to finish.  The parent's steps are held at will by giving it a
 *     full pipe as a "cgroup.procs" descriptor: it blocks writing the pid
 *     there until the test closes the pipe's read end (EPIPE: the step
 *     "join cgroup" fails).
 *
 * Every test runs in its own process and mount namespace (tests/unit/lib);
 * a launched task is killed and waited for by the test, and Check's
 * SIGKILL of the process group takes any left after a failure.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/launch.h"
#include "tests/unit/lib/unit.h"

static char *const pause_argv[] = { "/pause", NULL };
static char *const pause_envp[] = { "PATH=/", NULL };

static void
pause_plan(struct launch_plan *p, struct launch_stack *st, const char *rootfs)
{
	struct cradle_err err = { 0 };

	ck_assert_msg(launch_stack_alloc(st, &err) == 0, "%s", err.msg);
	launch_plan_init(p);
	p->rootfs = rootfs;
	p->argv = pause_argv;
	p->envp = pause_envp;
}

static void
kill_wait(int pidfd)
{
	siginfo_t si;

	ck_assert_int_eq(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0), 0);
	memset(&si, 0, sizeof(si));
	ck_assert_int_eq(waitid((idtype_t)3 /* P_PIDFD */, (id_t)pidfd, &si, WEXITED), 0);
	close(pidfd);
}

/* What others see of this process. */
struct seen {
	int dumpable;
	char uid[128], gid[128], groups[256], cap_eff[64], cap_prm[64];
	uid_t owner;
	gid_t group;
};

static struct seen
look(void)
{
	struct seen s;
	struct stat st;

	memset(&s, 0, sizeof(s));
	s.dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	ck_assert(unit_status_field(getpid(), "Uid", s.uid, sizeof(s.uid)));
	ck_assert(unit_status_field(getpid(), "Gid", s.gid, sizeof(s.gid)));
	ck_assert(unit_status_field(getpid(), "Groups", s.groups, sizeof(s.groups)));
	ck_assert(unit_status_field(getpid(), "CapEff", s.cap_eff, sizeof(s.cap_eff)));
	ck_assert(unit_status_field(getpid(), "CapPrm", s.cap_prm, sizeof(s.cap_prm)));
	ck_assert_int_eq(stat("/proc/self", &st), 0);
	s.owner = st.st_uid;
	s.group = st.st_gid;
	return s;
}

static void
assert_unchanged(const struct seen *before, const char *after_what)
{
	struct seen now = look();

	ck_assert_msg(now.dumpable == before->dumpable, "dumpable %d after %s, was %d",
	              now.dumpable, after_what, before->dumpable);
	ck_assert_str_eq(now.uid, before->uid);
	ck_assert_str_eq(now.gid, before->gid);
	ck_assert_str_eq(now.groups, before->groups);
	ck_assert_str_eq(now.cap_eff, before->cap_eff);
	ck_assert_str_eq(now.cap_prm, before->cap_prm);
	ck_assert_int_eq(now.owner, before->owner);
	ck_assert_int_eq(now.group, before->group);
}

/* A pause running as uid 1000, gid 2000, groups 3000 (runAsUser etc.). */
static void
plan_as_user(struct launch_plan *p)
{
	static const uint32_t groups[] = { 3000 };

	p->set_ids = true;
	p->uid = 1000;
	p->gid = 2000;
	p->groups = groups;
	p->n_groups = 1;
}

/* fs.suid_dumpable 0 (Debian's default, and CI's) or 2 makes the id change
 * in the child clear the shared mm's flag; 1 would keep it, which the
 * child now overrides with 0 (until exec). */
START_TEST(test_dumpable_run_as_user)
{
	char rootfs[PATH_MAX], status[128];
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };

	unit_pause_rootfs(rootfs);
	ck_assert_int_eq(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
	struct seen before = look();
	pause_plan(&p, &st, rootfs);
	plan_as_user(&p);
	ck_assert_msg(launch_start(&p, &st, &err) == 0, "%s", err.msg);
	/* the pause really runs as the pod's user */
	ck_assert(unit_status_field(p.pid, "Uid", status, sizeof(status)));
	ck_assert_str_eq(status, "1000\t1000\t1000\t1000");
	assert_unchanged(&before, "a launch as uid 1000");
	kill_wait(p.pidfd);

	/* and a failing one (the child dies after its ids changed) */
	pause_plan(&p, &st, rootfs);
	plan_as_user(&p);
	p.exec_path = "/nonexistent";
	ck_assert_int_lt(launch_start(&p, &st, &err), 0);
	ck_assert_str_eq(p.child_step, "exec");
	assert_unchanged(&before, "a failed launch as uid 1000");
	launch_stack_free(&st);
	unit_assert_no_children();
}
END_TEST

/* The user namespace child sets the flag to 1 itself (to write its
 * oom_score_adj): a launcher that is not dumpable stays so. */
START_TEST(test_dumpable_userns)
{
	char rootfs[PATH_MAX];
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };

	unit_pause_rootfs(rootfs);
	for (int want = 0; want <= 1; want++) {
		ck_assert_int_eq(prctl(PR_SET_DUMPABLE, want, 0, 0, 0), 0);
		struct seen before = look();
		pause_plan(&p, &st, rootfs);
		p.new_user = true;
		p.uid_map = "0 100000 65536\n";
		p.gid_map = "0 100000 65536\n";
		/* the built-in sequence makes device nodes, which a user
		 * namespace refuses: past the ids, then failed */
		ck_assert_int_lt(launch_start(&p, &st, &err), 0);
		ck_assert_msg(strcmp(p.child_step, "mount-dev") == 0, "%s", err.msg);
		assert_unchanged(&before, "a user namespace launch");
		launch_stack_free(&st);
	}
	unit_assert_no_children();
}
END_TEST

/* Several launches as uid 1000 at once: the flag is the launcher's after
 * all of them, whatever order they change and restore it in. */
struct par {
	const char *rootfs;
	int rc;
	int pidfd;
	struct cradle_err err;
};

static void *
launch_as_user(void *arg)
{
	struct par *a = arg;
	struct launch_stack st = { 0 };
	struct launch_plan p;

	a->rc = launch_stack_alloc(&st, &a->err);
	for (int i = 0; a->rc == 0 && i < 10; i++) {
		launch_plan_init(&p);
		p.rootfs = a->rootfs;
		p.argv = pause_argv;
		p.envp = pause_envp;
		plan_as_user(&p);
		if ((a->rc = launch_start(&p, &st, &a->err)) == 0) {
			syscall(SYS_pidfd_send_signal, p.pidfd, SIGKILL, NULL, 0);
			siginfo_t si;
			waitid((idtype_t)3, (id_t)p.pidfd, &si, WEXITED);
			close(p.pidfd);
		}
	}
	launch_stack_free(&st);
	return NULL;
}

START_TEST(test_dumpable_concurrent)
{
	char rootfs[PATH_MAX];
	pthread_t t[4];
	struct par a[4];

	unit_pause_rootfs(rootfs);
	ck_assert_int_eq(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
	struct seen before = look();
	for (int i = 0; i < 4; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].rootfs = rootfs;
		ck_assert_int_eq(pthread_create(&t[i], NULL, launch_as_user, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_msg(a[i].rc == 0, "launch %d: %s", i, a[i].err.msg);
	}
	assert_unchanged(&before, "40 concurrent launches as uid 1000");
	unit_assert_no_children();
}
END_TEST

/* --- user namespace launches that fail --------------------------------- */

START_TEST(test_userns_bad_map_named)
{
	char rootfs[PATH_MAX];
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };
	int fds = unit_count_fds();

	unit_pause_rootfs(rootfs);
	pause_plan(&p, &st, rootfs);
	p.new_user = true;
	p.uid_map = "0 100000 4294967295\n"; /* wraps: the kernel refuses it */
	p.gid_map = "0 100000 65536\n";
	ck_assert_int_lt(launch_start(&p, &st, &err), 0);
	ck_assert_str_eq(err.msg, "launch sandbox: set up user namespace: write uid_map: "
	                          "Invalid argument");
	ck_assert_str_eq(p.child_step, "set up user namespace");
	ck_assert_int_eq(p.pidfd, -1);

	pause_plan(&p, &st, rootfs);
	p.new_user = true;
	p.uid_map = "0 100000 65536\n";
	p.gid_map = "not a map\n";
	ck_assert_int_lt(launch_start(&p, &st, &err), 0);
	ck_assert_str_eq(err.msg, "launch sandbox: set up user namespace: write gid_map: "
	                          "Invalid argument");
	launch_stack_free(&st);
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds);
}
END_TEST

/* A pipe whose buffer is full: a blocking write to w waits until r is read
 * or closed. */
static void
full_pipe(int *r, int *w)
{
	int p[2];
	char buf[4096];

	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	while (write(p[1], buf, sizeof(buf)) > 0)
		;
	ck_assert_int_eq(errno, EAGAIN);
	while (write(p[1], buf, 1) > 0) /* to the last byte */
		;
	int fl = fcntl(p[1], F_GETFL);
	ck_assert_int_eq(fcntl(p[1], F_SETFL, fl & ~O_NONBLOCK), 0);
	*r = p[0];
	*w = p[1];
}

struct held {
	const char *rootfs;
	int procs_fd; /* the full pipe, as the child's "cgroup.procs" */
	int rc;
	char msg[512];
	const char *step;
	bool done;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *
launch_held(void *arg)
{
	struct held *h = arg;
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };
	int rc = launch_stack_alloc(&st, &err);

	if (rc == 0) {
		launch_plan_init(&p);
		p.rootfs = h->rootfs;
		p.argv = pause_argv;
		p.envp = pause_envp;
		p.new_user = true;
		p.uid_map = "0 100000 65536\n";
		p.gid_map = "0 100000 65536\n";
		p.cgroup_procs_fds = &h->procs_fd;
		p.n_cgroup_procs_fds = 1;
		rc = launch_start(&p, &st, &err);
		if (rc == 0) { /* not expected: leave nothing running */
			syscall(SYS_pidfd_send_signal, p.pidfd, SIGKILL, NULL, 0);
			siginfo_t si;
			waitid((idtype_t)3, (id_t)p.pidfd, &si, WEXITED);
			close(p.pidfd);
		}
		launch_stack_free(&st);
	}
	pthread_mutex_lock(&h->mu);
	h->rc = rc;
	snprintf(h->msg, sizeof(h->msg), "%s", err.msg);
	h->step = rc < 0 ? p.child_step : NULL;
	h->done = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Whether h finished within secs. */
static bool
wait_done(struct held *h, int secs)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += secs;
	pthread_mutex_lock(&h->mu);
	while (!h->done && pthread_cond_timedwait(&h->cv, &h->mu, &dl) == 0)
		;
	bool done = h->done;
	pthread_mutex_unlock(&h->mu);
	return done;
}

/* Until this process has n children (the launches' children, waiting on
 * their sync pipes while their parents block on the full pipes). */
static void
wait_children(int n)
{
	for (int i = 0; i < 1000 && unit_count_children() < n; i++)
		unit_sleep_ms(5);
	ck_assert_int_eq(unit_count_children(), n);
}

START_TEST(test_userns_failures_independent)
{
	char rootfs[PATH_MAX];
	struct held a, b;
	pthread_t ta, tb;
	int ra, rb;
	int fds = unit_count_fds();

	unit_pause_rootfs(rootfs);
	signal(SIGPIPE, SIG_IGN); /* the failing write must fail, not kill */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	pthread_mutex_init(&a.mu, NULL);
	pthread_cond_init(&a.cv, NULL);
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv, NULL);
	a.rootfs = b.rootfs = rootfs;
	full_pipe(&ra, &a.procs_fd);
	full_pipe(&rb, &b.procs_fd);

	/* a first: its child waits, its sync pipe open while b is cloned */
	ck_assert_int_eq(pthread_create(&ta, NULL, launch_held, &a), 0);
	wait_children(1);
	ck_assert_int_eq(pthread_create(&tb, NULL, launch_held, &b), 0);
	wait_children(2);
	unit_sleep_ms(100); /* b's parent at its "join cgroup" write too */

	/* a fails while b is still in flight: a is reported on its own */
	close(ra);
	bool a_prompt = wait_done(&a, 20);
	close(rb); /* b fails too (and, before the fix, lets a go) */
	bool b_prompt = wait_done(&b, 20);
	ck_assert_int_eq(pthread_join(ta, NULL), 0);
	ck_assert_int_eq(pthread_join(tb, NULL), 0);
	ck_assert_msg(a_prompt, "the first failing launch waited for the second one: %s", a.msg);
	ck_assert_msg(b_prompt, "the second failing launch was not reported: %s", b.msg);
	struct held *both[] = { &a, &b };
	for (int i = 0; i < 2; i++) {
		ck_assert_int_lt(both[i]->rc, 0);
		ck_assert_str_eq(both[i]->msg,
		                 "launch sandbox: set up user namespace: join cgroup: Broken pipe");
		ck_assert_str_eq(both[i]->step, "set up user namespace");
	}
	close(a.procs_fd);
	close(b.procs_fd);
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds);
}
END_TEST

static Suite *
isolation_suite(void)
{
	Suite *s = suite_create("isolation");

	unit_tcase(s, "dumpable", unit_scratch_setup_ns, unit_scratch_teardown, 60,
	           UNIT_TESTS(test_dumpable_run_as_user, test_dumpable_userns,
	                      test_dumpable_concurrent));
	unit_tcase(s, "userns", unit_scratch_setup_ns, unit_scratch_teardown, 90,
	           UNIT_TESTS(test_userns_bad_map_named, test_userns_failures_independent));
	return s;
}

int
main(void)
{
	return unit_run(isolation_suite(), "test_isolation", UNIT_ROOT | UNIT_SUBREAPER);
}
