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
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
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

/* Mounts at or below path as the namespace nsfd sees them. */
static int
mounts_in(int nsfd, const char *path)
{
	int back = -1;

	ck_assert_int_eq(mntns_switch(nsfd, &back), 0);
	int n = unit_mounts_under(path);
	ck_assert_int_eq(mntns_switch(back, NULL), 0);
	close(back);
	return n;
}

/* The inode of path as the namespace nsfd sees it. */
static ino_t
ino_in(int nsfd, const char *path)
{
	int back = -1;

	ck_assert_int_eq(mntns_switch(nsfd, &back), 0);
	ino_t ino = ns_ino(path);
	ck_assert_int_eq(mntns_switch(back, NULL), 0);
	close(back);
	return ino;
}

static void
enter_ok(struct mntns *m)
{
	ck_assert_msg(mntns_enter(F.state, m, &F.err) == 0, "mntns_enter: %s", F.err.msg);
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

/* A state directory that is not there is named in the error, and the
 * process is left where it was. */
START_TEST(test_missing_state_dir)
{
	struct mntns m;
	ino_t host = ns_ino("/proc/self/ns/mnt");
	char missing[PATH_MAX + 16];

	snprintf(missing, sizeof(missing), "%s/absent", F.state);
	ck_assert_int_eq(mntns_enter(missing, &m, &F.err), -1);
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
	                      test_missing_state_dir));
	return s;
}

int
main(void)
{
	return unit_run(mntns_suite(), "test_mntns", UNIT_ROOT);
}
