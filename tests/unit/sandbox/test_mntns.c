/* test_mntns.c - cradle's mount namespace and the sandbox template
 * (sandbox/mntns.c).
 *
 * ROOT: every test makes mount namespaces and mounts.  Each runs in a
 * forked Check child that first gets a private mount namespace of its own
 * (unit_scratch_setup_ns): that is "the host" here, so nothing reaches the
 * real one.  What is asserted is what the kernel shows: which namespace
 * the process is in, the mounts each namespace holds, and that a
 * namespace survives through its pin.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sandbox/mntns.h"
#include "tests/unit/lib/unit.h"

static struct {
	char state[PATH_MAX];
	char ns_dir[PATH_MAX + 8];
	struct cradle_err err;
} F;

static void
setup(void)
{
	memset(&F, 0, sizeof(F));
	unit_scratch_setup_ns();
	unit_path(F.state, sizeof(F.state), "state");
	ck_assert_int_eq(mkdir(F.state, 0711), 0);
	snprintf(F.ns_dir, sizeof(F.ns_dir), "%s/ns", F.state);
}

static void
teardown(void)
{
	unit_scratch_teardown();
}

static ino_t
ns_ino(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return st.st_ino;
}

/* A child parked in the namespace nsfd (the staged template has no /proc
 * of its own to read from inside); reap it with unpark(). */
static pid_t
park_in(int nsfd)
{
	int p[2];
	char c;

	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (setns(nsfd, CLONE_NEWNS) != 0 || write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void
unpark(pid_t pid)
{
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}

/* Mounts at or below path as the namespace nsfd sees them. */
static int
mounts_in(int nsfd, const char *path)
{
	char mi[64];
	pid_t pid = park_in(nsfd);

	snprintf(mi, sizeof(mi), "/proc/%d/mountinfo", (int)pid);
	int n = unit_mounts_under_in(mi, path);
	unpark(pid);
	return n;
}

/* The inode of path as the namespace nsfd sees it. */
static ino_t
ino_in(int nsfd, const char *path)
{
	char at[PATH_MAX + 32];
	pid_t pid = park_in(nsfd);

	snprintf(at, sizeof(at), "/proc/%d/root%s", (int)pid, path);
	ino_t ino = ns_ino(at);
	unpark(pid);
	return ino;
}

static void
enter_ok(struct mntns *m)
{
	ck_assert_msg(mntns_enter(F.state, NULL, m, &F.err) == 0, "mntns_enter: %s", F.err.msg);
}

/* The process moves into a new namespace, pinned in the host by one
 * mount below a private one; mounts made now stay out of the host and out
 * of the template. */
START_TEST(test_enter_pins_and_isolates)
{
	struct mntns m;
	ino_t host = ns_ino("/proc/self/ns/mnt");
	char shm[PATH_MAX + 16];

	enter_ok(&m);
	ck_assert(!m.entered);
	ck_assert_uint_ne(ns_ino("/proc/self/ns/mnt"), host);
	/* the pin, in the host, is this namespace */
	ck_assert_uint_eq(ino_in(m.host_fd, m.pin), ns_ino("/proc/self/ns/mnt"));
	ck_assert_int_eq(mounts_in(m.host_fd, F.state), 2); /* ns/ and ns/mnt */

	/* a pod's mount: in cradle's namespace only */
	snprintf(shm, sizeof(shm), "%s/shm", F.state);
	ck_assert_int_eq(mkdir(shm, 0700), 0);
	ck_assert_int_eq(mount("shm", shm, "tmpfs", 0, "size=1m"), 0);
	ck_assert_int_eq(unit_mounts_under(shm), 1);
	ck_assert_int_eq(mounts_in(m.host_fd, shm), 0);
	ck_assert_int_eq(mounts_in(m.template_fd, shm), 0);
	ck_assert_int_eq(mounts_in(m.host_fd, F.state), 2);
	/* the template is neither: sandboxes are cloned from it */
	ck_assert_uint_ne(m.template_fd, m.daemon_fd);
	ck_assert_int_eq(umount2(shm, 0), 0);

	/* a clean exit with no sandboxes leaves the host as it was */
	ck_assert_msg(mntns_leave(&m, true, &F.err) == 0, "%s", F.err.msg);
	ck_assert_uint_eq(ns_ino("/proc/self/ns/mnt"), host);
	ck_assert_int_eq(unit_mounts_under(F.state), 0);
	ck_assert(!unit_exists(F.ns_dir));
	ck_assert_int_eq(m.host_fd, -1);
}
END_TEST

/* A second run enters the pinned namespace again, with what the first
 * left mounted in it. */
START_TEST(test_reenter_keeps_mounts)
{
	struct mntns m, m2;
	char shm[PATH_MAX + 16];
	int back = -1;

	enter_ok(&m);
	ino_t cradle = ns_ino("/proc/self/ns/mnt");
	snprintf(shm, sizeof(shm), "%s/shm", F.state);
	ck_assert_int_eq(mkdir(shm, 0700), 0);
	ck_assert_int_eq(mount("shm", shm, "tmpfs", 0, "size=1m"), 0);
	/* the first run ends with a pod left: back to the host, pin kept */
	ck_assert_int_eq(mntns_switch(m.host_fd, &back), 0);
	close(back);
	ck_assert_int_eq(mntns_leave(&m, false, &F.err), 0);
	ck_assert_int_eq(unit_mounts_under(F.state), 2);

	enter_ok(&m2);
	ck_assert(m2.entered);
	ck_assert_uint_eq(ns_ino("/proc/self/ns/mnt"), cradle);
	ck_assert_int_eq(unit_mounts_under(shm), 1);
	ck_assert_int_eq(mounts_in(m2.template_fd, shm), 0);
	ck_assert_int_eq(umount2(shm, 0), 0);
	ck_assert_int_eq(mntns_leave(&m2, true, &F.err), 0);
	ck_assert_int_eq(unit_mounts_under(F.state), 0);
}
END_TEST

/* The template is staged: its root is a small tmpfs that shows the state
 * dir, the directories given, and the host's device nodes a launch binds,
 * each at its own path, a proc and a sysfs (for user namespaces), and
 * nothing else of the host. */
START_TEST(test_template_staged)
{
	struct mntns m;
	char root[PATH_MAX], other[PATH_MAX], at[PATH_MAX + 64], mi[64];
	struct stat st;

	unit_path(root, sizeof(root), "root");
	unit_path(other, sizeof(other), "other");
	ck_assert_int_eq(mkdir(root, 0700), 0);
	ck_assert_int_eq(mkdir(other, 0700), 0);
	ck_assert_msg(mntns_enter(F.state, (const char *const[]){ root, NULL }, &m, &F.err) == 0,
	              "mntns_enter: %s", F.err.msg);
	ck_assert(m.staged);
	/* the same directories, seen from inside */
	ck_assert_uint_eq(ino_in(m.template_fd, F.state), ns_ino(F.state));
	ck_assert_uint_eq(ino_in(m.template_fd, root), ns_ino(root));

	pid_t pid = park_in(m.template_fd);
	snprintf(mi, sizeof(mi), "/proc/%d/mountinfo", (int)pid);
	/* its root, the two directories, six device nodes, a proc and a
	 * sysfs: nothing more */
	ck_assert_int_eq(unit_mounts_under_in(mi, ""), 1 + 2 + 6 + 2); /* "": every line */
	ck_assert_int_eq(unit_mounts_under_in(mi, "/proc"), 1);
	ck_assert_int_eq(unit_mounts_under_in(mi, "/sysfs"), 1);
	ck_assert_int_eq(unit_mounts_under_in(mi, "/dev"), 6);
	snprintf(at, sizeof(at), "/proc/%d/root/dev/null", (int)pid);
	ck_assert_int_eq(stat(at, &st), 0);
	ck_assert(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
	/* the host's tree is gone: neither a sibling nor /etc */
	snprintf(at, sizeof(at), "/proc/%d/root%s", (int)pid, other);
	ck_assert_int_eq(stat(at, &st), -1);
	snprintf(at, sizeof(at), "/proc/%d/root/etc", (int)pid);
	ck_assert_int_eq(stat(at, &st), -1);
	unpark(pid);
	ck_assert_int_eq(mntns_leave(&m, true, &F.err), 0);
	ck_assert_int_eq(unit_mounts_under(F.state), 0);
}
END_TEST

/* A template that cannot be staged (a directory to show that is not an
 * absolute path) stays a plain copy of the host's: start-up goes on and
 * launches pivot_root from it (mntns.staged false). */
START_TEST(test_template_unstaged)
{
	struct mntns m;
	struct stat st;

	ck_assert_msg(mntns_enter(F.state, (const char *const[]){ "relative/dir", NULL }, &m,
	                          &F.err) == 0,
	              "mntns_enter: %s", F.err.msg);
	ck_assert(!m.staged);
	ck_assert_int_ge(m.template_fd, 0);
	ck_assert_int_eq(stat("/etc", &st), 0);
	ck_assert_uint_eq(ino_in(m.template_fd, "/etc"), st.st_ino);
	ck_assert_int_eq(mntns_leave(&m, true, &F.err), 0);
	ck_assert_int_eq(unit_mounts_under(F.state), 0);
}
END_TEST

/* More than MNTNS_SHOW_MAX directories to show are refused. */
START_TEST(test_too_many_shown)
{
	struct mntns m;
	const char *const many[] = { "/a", "/b", "/c", "/d", "/e", NULL };

	ck_assert_int_eq(mntns_enter(F.state, many, &m, &F.err), -1);
	ck_assert_msg(strstr(F.err.msg, "more than 4") != NULL, "%s", F.err.msg);
	ck_assert_int_eq(mntns_leave(&m, true, &F.err), 0);
}
END_TEST

/* A state directory that is not there is named in the error, and the
 * process is left where it was. */
START_TEST(test_missing_state_dir)
{
	struct mntns m;
	ino_t host = ns_ino("/proc/self/ns/mnt");
	char missing[PATH_MAX + 16];

	snprintf(missing, sizeof(missing), "%s/absent", F.state);
	ck_assert_int_eq(mntns_enter(missing, NULL, &m, &F.err), -1);
	ck_assert_msg(strstr(F.err.msg, missing) != NULL, "%s", F.err.msg);
	ck_assert_uint_eq(ns_ino("/proc/self/ns/mnt"), host);
	ck_assert_int_eq(m.host_fd, -1);
	ck_assert_int_eq(mntns_leave(&m, true, &F.err), 0); /* nothing to undo */
}
END_TEST

static Suite *
mntns_suite(void)
{
	Suite *s = suite_create("mntns");

	unit_tcase(s, "mntns", setup, teardown, 30,
	           UNIT_TESTS(test_enter_pins_and_isolates, test_reenter_keeps_mounts,
	                      test_template_staged, test_template_unstaged, test_too_many_shown,
	                      test_missing_state_dir));
	return s;
}

int
main(void)
{
	return unit_run(mntns_suite(), "test_mntns", UNIT_ROOT);
}
