/* test_launch.c - launching a pause task, sandbox files and netns pins
 * (sandbox/launch.c, sandbox/netns.c; sandbox/files.c is test_files.c's).
 *
 * ROOT: these tests create namespaces (clone3 CLONE_NEW*, unshare) and
 * mounts (tmpfs, bind mounts, nsfs pins), so they need root, as CI runs
 * them.  The launch tests run the static pause of $CRADLE_BUILD/rootfs
 * (default "build"; tests/run.sh sets it): `make build/rootfs/pause`.
 *
 * Isolation and clean-up (tests/unit/lib): every test runs in its own
 * process, directory and mount namespace, so whatever it mounts goes away
 * with it, even after a failure; a sandbox that forgot MS_PRIVATE would
 * leak mounts into the test's namespace (where the tests see them) but
 * never into the host.  Check SIGKILLs the test's process group when the
 * test ends, which takes any forked helper or launched sandbox with it,
 * and the runner, a child subreaper, reaps those orphans.  Threads and
 * processes are only created inside tests.
 */
#include <check.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/filter.h>
#include <linux/nsfs.h>
#include <linux/seccomp.h>

#include "proto/proto.h"
#include "sandbox/files.h"
#include "sandbox/launch.h"
#include "sandbox/mntns.h"
#include "sandbox/netns.h"
#include "tests/unit/lib/unit.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* --- /proc helpers -------------------------------------------------------- */

/* Field 22 (starttime) of /proc/PID/stat, parsed here independently:
 * fields 3.. follow the last ')', since comm may hold anything. */
static unsigned long long
stat_starttime(pid_t pid)
{
	char path[64];
	char *buf, *p;
	unsigned long long v = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	buf = unit_slurp_ok(path, NULL);
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	/* 19 fields (3..21) skipped, then field 22 */
	int n = sscanf(p + 1,
	               " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s"
	               " %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
	               &v);
	ck_assert_int_eq(n, 1);
	free(buf);
	return v;
}

/* stat of /proc/WHO/ns/NAME (WHO: "self" or a pid). */
static struct stat
ns_stat(const char *who, const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%s/ns/%s", who, name);
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return st;
}

struct find_arg {
	const char *point;
	struct unit_mount found; /* the last (topmost) match */
	bool ok;
};

static bool
find_cb(const struct unit_mount *m, void *arg)
{
	struct find_arg *a = arg;

	if (strcmp(m->point, a->point) == 0) {
		a->found = *m;
		a->ok = true;
	}
	return false;
}

/* The topmost mount at point in the mountinfo of pid. */
static bool
find_mount(pid_t pid, const char *point, struct unit_mount *out)
{
	char file[64];
	struct find_arg *a = calloc(1, sizeof(*a));
	bool ok;

	ck_assert_ptr_nonnull(a);
	snprintf(file, sizeof(file), "/proc/%d/mountinfo", (int)pid);
	a->point = point;
	unit_mountinfo_walk(file, find_cb, a);
	ok = a->ok;
	if (ok)
		*out = a->found;
	free(a);
	return ok;
}

/* Mounts in this process's namespace. */
/* This namespace's mounts, as "point fstype" keys.  Only new ones count
 * against a launch: a private copy of the host's table still loses mounts
 * when another process on the host removes their mount point. */
struct mount_keys {
	char **k;
	size_t n, cap;
};

static bool
add_key(const struct unit_mount *m, void *arg)
{
	struct mount_keys *mk = arg;
	char *k;

	if (mk->n == mk->cap) {
		mk->cap = mk->cap ? 2 * mk->cap : 64;
		mk->k = realloc(mk->k, mk->cap * sizeof(*mk->k));
		ck_assert_ptr_nonnull(mk->k);
	}
	ck_assert_int_ge(asprintf(&k, "%s %s", m->point, m->fstype), 0);
	mk->k[mk->n++] = k;
	return false;
}

static struct mount_keys
mounts_now(void)
{
	struct mount_keys mk = { 0 };

	unit_mountinfo_walk("/proc/self/mountinfo", add_key, &mk);
	return mk;
}

/* Asserts that no mount is here now that was not in before (freed). */
static void
assert_no_new_mounts(struct mount_keys *before)
{
	struct mount_keys now = mounts_now();

	for (size_t i = 0; i < now.n; i++) {
		size_t j;
		for (j = 0; j < before->n; j++)
			if (before->k[j] != NULL && strcmp(before->k[j], now.k[i]) == 0)
				break;
		ck_assert_msg(j < before->n, "a new mount here: %s", now.k[i]);
		free(before->k[j]);
		before->k[j] = NULL;
		free(now.k[i]);
	}
	for (size_t j = 0; j < before->n; j++)
		free(before->k[j]);
	free(before->k);
	free(now.k);
}

/* "ro" or "rw" is the first per-mount option. */
static bool
opts_has(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; p != NULL; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (strncmp(p, opt, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	}
	return false;
}

/* --- launch helpers ------------------------------------------------------- */

static char *const pause_argv[] = { "/pause", NULL };
static char *const pause_envp[] = { "PATH=/", "CRADLE_UNIT=1", NULL };

/* A launch stack, and a plan that runs /pause from rootfs with pause's
 * arguments and environment. */
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

/* launch_start returns once the child is past exec's point of no return,
 * before the kernel has laid out the new program's arguments: wait until
 * /proc/PID/cmdline shows them (environ is set at the same time). */
static void
wait_args(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	for (int i = 0; i < 400; i++) {
		size_t len;
		char *s = unit_slurp_ok(path, &len);
		free(s);
		if (len > 0)
			return;
		unit_sleep_ms(5);
	}
	ck_abort_msg("%s stayed empty for 2 s", path);
}

/* Wait (WNOHANG) for the task behind pidfd; true when it has exited. */
static bool
try_wait(int pidfd, siginfo_t *si)
{
	memset(si, 0, sizeof(*si));
	if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, si, WEXITED | WNOHANG) != 0) {
		ck_assert_msg(errno == EINTR, "waitid: %s", strerror(errno));
		return false;
	}
	return si->si_pid != 0;
}

/* SIGTERM the task every 50 ms until it exits, for up to 2 s.  pause blocks
 * its signals only once it runs; until then it is the init of its pid
 * namespace with SIG_DFL, and the kernel drops a SIGTERM sent to it. */
static void
term_and_wait(int pidfd, siginfo_t *si)
{
	for (int i = 0; i < 40; i++) {
		if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) != 0)
			ck_assert_msg(errno == ESRCH, "pidfd_send_signal: %s", strerror(errno));
		unit_sleep_ms(50);
		if (try_wait(pidfd, si))
			return;
	}
	ck_abort_msg("the task did not exit on SIGTERM within 2 s");
}

static void
kill_and_wait(int pidfd, siginfo_t *si)
{
	ck_assert_int_eq(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0), 0);
	memset(si, 0, sizeof(*si));
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, si, WEXITED) != 0)
		ck_assert_int_eq(errno, EINTR);
}

/* The host name seen in the UTS namespace of pid (a forked helper joins it). */
static void
uts_hostname(pid_t pid, char *out, size_t len)
{
	char path[64];
	int fds[2];
	pid_t c;
	int st;

	snprintf(path, sizeof(path), "/proc/%d/ns/uts", (int)pid);
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	c = fork();
	ck_assert_int_ge(c, 0);
	if (c == 0) {
		struct utsname u;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWUTS) != 0 || uname(&u) != 0)
			_exit(1);
		ssize_t n = write(fds[1], u.nodename, strlen(u.nodename));
		_exit(n < 0 ? 1 : 0);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], out, len - 1);
	close(fds[0]);
	ck_assert_int_eq(waitpid(c, &st, 0), c);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
}

/* path holds exactly len bytes, those of want (NULs included). */
static void
assert_bytes(const char *path, const char *want, size_t len)
{
	size_t got;
	char *s = unit_slurp_ok(path, &got);

	ck_assert_uint_eq(got, len);
	ck_assert_int_eq(memcmp(s, want, len), 0);
	free(s);
}

/* /proc/PID/fd holds exactly 0, 1 and 2, each on /dev/null. */
static void
assert_stdio_only(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	unsigned seen = 0;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char link[512], target[256];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		int fd = atoi(de->d_name);
		ck_assert_msg(fd >= 0 && fd <= 2, "fd %s is open in the sandbox", de->d_name);
		seen |= 1u << fd;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		ck_assert_int_gt(len, 0);
		target[len] = '\0';
		ck_assert_str_eq(target, "/dev/null");
	}
	closedir(d);
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(seen, 7);
}

/* --- launch_pid_start_time ------------------------------------------------ */

START_TEST(test_start_time_self)
{
	uint64_t t = launch_pid_start_time(getpid());

	ck_assert_uint_gt(t, 0);
	ck_assert_uint_eq(t, stat_starttime(getpid()));
}
END_TEST

/* A child parked on a pipe once prep(arg) has succeeded in it. */
struct parked {
	pid_t pid;
	int go; /* close to let it exit 0 */
};

static struct parked
parked_start(int (*prep)(const void *), const void *arg)
{
	int ready[2], go[2];
	struct parked c;
	char b;

	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	c.pid = fork();
	ck_assert_int_ge(c.pid, 0);
	if (c.pid == 0) {
		close(ready[0]);
		close(go[1]);
		if (prep(arg) != 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		while (read(go[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	ck_assert_int_eq(read(ready[0], &b, 1), 1);
	close(ready[0]);
	c.go = go[1];
	return c;
}

static void
parked_stop(struct parked *c)
{
	int st;

	close(c->go);
	ck_assert_int_eq(waitpid(c->pid, &st, 0), c->pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* prep: comm becomes name */
static int
rename_self(const void *name)
{
	return prctl(PR_SET_NAME, name, 0, 0, 0);
}

START_TEST(test_start_time_odd_comm)
{
	static const char *const names[] = { "a) b c", "x) 1 2 3 4 5 6", ") )" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct parked c = parked_start(rename_self, names[i]);
		char path[64], want[32];
		char *stat;
		int st;

		/* the rename took: the stat line really holds the odd comm */
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)c.pid);
		stat = unit_slurp_ok(path, NULL);
		snprintf(want, sizeof(want), "(%s)", names[i]);
		ck_assert_msg(strstr(stat, want) != NULL, "comm not set: %s", stat);
		free(stat);

		uint64_t t = launch_pid_start_time(c.pid);
		ck_assert_uint_gt(t, 0);
		ck_assert_uint_eq(t, stat_starttime(c.pid));
		ck_assert_uint_ge(t, stat_starttime(getpid()));

		/* a zombie keeps its start time (the reaper relies on it) */
		close(c.go);
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		ck_assert_int_eq(waitid(P_PID, (id_t)c.pid, &si, WEXITED | WNOWAIT), 0);
		ck_assert_uint_eq(launch_pid_start_time(c.pid), t);
		ck_assert_int_eq(waitpid(c.pid, &st, 0), c.pid);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}
END_TEST

START_TEST(test_start_time_no_such_pid)
{
	char *s = unit_slurp_ok("/proc/sys/kernel/pid_max", NULL);
	long max = atol(s);

	free(s);
	ck_assert_int_gt(max, 0);
	/* pids are always below pid_max */
	ck_assert_uint_eq(launch_pid_start_time((pid_t)max), 0);
	ck_assert_uint_eq(launch_pid_start_time(INT_MAX), 0);
	ck_assert_uint_eq(launch_pid_start_time(-1), 0);
}
END_TEST

/* --- launch stacks and plans ---------------------------------------------- */

struct maps_arg {
	uintptr_t addr;
	char perms[8];
	bool found;
};

/* The permissions of the mapping holding addr ("rw-p"), from /proc/self/maps. */
static bool
mapping_perms(uintptr_t addr, char perms[8])
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	bool found = false;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		char p[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, p) != 3)
			continue;
		if (addr >= lo && addr < hi) {
			snprintf(perms, 8, "%s", p);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

START_TEST(test_stack_alloc_free)
{
	struct launch_stack st = { 0 };
	struct cradle_err err = { 0 };
	long page = sysconf(_SC_PAGESIZE);
	char perms[8];

	ck_assert_int_eq(launch_stack_alloc(&st, &err), 0);
	ck_assert_ptr_nonnull(st.base);
	ck_assert_uint_ge(st.size, 16 * 1024);
	ck_assert_uint_eq((uintptr_t)st.base % (uintptr_t)page, 0);
	/* usable from one end to the other */
	memset(st.base, 0xa5, st.size);
	ck_assert(mapping_perms((uintptr_t)st.base, perms));
	ck_assert_str_eq(perms, "rw-p");
	ck_assert(mapping_perms((uintptr_t)st.base + st.size - 1, perms));
	ck_assert_str_eq(perms, "rw-p");
	/* the guard page right below it */
	ck_assert(mapping_perms((uintptr_t)st.base - 1, perms));
	ck_assert_str_eq(perms, "---p");

	uintptr_t base = (uintptr_t)st.base;
	launch_stack_free(&st);
	ck_assert_ptr_null(st.base);
	ck_assert_uint_eq(st.size, 0);
	ck_assert(!mapping_perms(base, perms) || strcmp(perms, "rw-p") != 0);
	launch_stack_free(&st); /* zero-safe, twice */

	struct launch_stack zero = { 0 };
	launch_stack_free(&zero);
	ck_assert_ptr_null(zero.base);
}
END_TEST

START_TEST(test_plan_init)
{
	struct launch_plan p;

	memset(&p, 0x5a, sizeof(p));
	launch_plan_init(&p);
	ck_assert_ptr_null(p.rootfs);
	ck_assert_str_eq(p.exec_path, "/pause");
	ck_assert_ptr_null(p.argv);
	ck_assert_ptr_null(p.envp);
	ck_assert(p.new_net && p.new_pid && p.new_ipc);
	ck_assert_str_eq(p.hostname, "");
	ck_assert_uint_eq(p.shm_size, 64ull << 20);
	ck_assert_int_eq(p.pid, 0);
	ck_assert_int_eq(p.pidfd, -1);
	ck_assert_int_eq(p.child_errno, 0);
	ck_assert_ptr_null(p.child_step);
}
END_TEST

/* --- launch_start: success ------------------------------------------------ */

START_TEST(test_launch_pause)
{
	char rootfs[PATH_MAX], path[PATH_MAX + 64], val[256];
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };
	struct unit_mount m;
	struct stat sb;
	struct statfs sf;
	siginfo_t si;
	sigset_t all, old;

	unit_pause_rootfs(rootfs);
	struct mount_keys mounts_before = mounts_now();
	int fds_before = unit_count_fds();
	pause_plan(&p, &st, rootfs);
	p.new_net = p.new_pid = p.new_ipc = true;
	p.shm_size = 8ull << 20;
	snprintf(p.hostname, sizeof(p.hostname), "unit-host");

	/* the daemon's threads block every signal; the child must not inherit it */
	sigfillset(&all);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &all, &old), 0);
	int rc = launch_start(&p, &st, &err);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	ck_assert_msg(rc == 0, "launch_start: %s", err.msg);
	ck_assert_int_gt(p.pid, 0);
	ck_assert_int_ge(p.pidfd, 0);
	ck_assert_int_eq(p.child_errno, 0);
	ck_assert_ptr_null(p.child_step);
	ck_assert_int_ne(fcntl(p.pidfd, F_GETFD) & FD_CLOEXEC, 0);
	wait_args(p.pid);

	/* the process is our child, running /pause */
	ck_assert(unit_status_field(p.pid, "PPid", val, sizeof(val)));
	ck_assert_int_eq(atoi(val), getpid());
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)p.pid);
	ssize_t n = readlink(path, val, sizeof(val) - 1);
	ck_assert_int_gt(n, 0);
	val[n] = '\0';
	ck_assert_str_eq(val, "/pause");
	ck_assert_uint_eq(launch_pid_start_time(p.pid), stat_starttime(p.pid));
	ck_assert_uint_eq(p.start_time, stat_starttime(p.pid));

	/* every namespace new */
	static const char *const nss[] = { "net", "pid", "ipc", "uts", "mnt" };
	for (size_t i = 0; i < sizeof(nss) / sizeof(nss[0]); i++)
		ck_assert_msg(unit_ns_same(p.pid, nss[i]) == 0, "%s namespace shared", nss[i]);

	/* pid 1 of its namespace: NSpid ends in 1, one level deeper than us */
	char mine[256];
	ck_assert(unit_status_field(getpid(), "NSpid", mine, sizeof(mine)));
	ck_assert(unit_status_field(p.pid, "NSpid", val, sizeof(val)));
	char *last = strrchr(val, '\t');
	ck_assert_ptr_nonnull(last);
	ck_assert_str_eq(last + 1, "1");
	ck_assert_int_eq(atoi(val), p.pid);
	size_t tabs_mine = 0, tabs_child = 0;
	for (const char *c = mine; *c; c++)
		tabs_mine += *c == '\t';
	for (const char *c = val; *c; c++)
		tabs_child += *c == '\t';
	ck_assert_uint_eq(tabs_child, tabs_mine + 1);

	/* stdio on /dev/null, nothing else open (our descriptors, the pidfd
	 * included, did not cross) */
	assert_stdio_only(p.pid);

	/* argv and envp as given */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)p.pid);
	assert_bytes(path, "/pause", sizeof("/pause"));
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)p.pid);
	assert_bytes(path, "PATH=/\0CRADLE_UNIT=1", sizeof("PATH=/\0CRADLE_UNIT=1"));

	/* mounts, as the sandbox sees them: "/" the read-only rootfs */
	ck_assert(find_mount(p.pid, "/", &m));
	ck_assert_msg(opts_has(m.opts, "ro"), "/ is mounted %s", m.opts);
	ck_assert(opts_has(m.opts, "nosuid") && opts_has(m.opts, "nodev"));
	ck_assert(find_mount(p.pid, "/proc", &m));
	ck_assert_str_eq(m.fstype, "proc");
	ck_assert(opts_has(m.opts, "nosuid") && opts_has(m.opts, "noexec") &&
	          opts_has(m.opts, "nodev"));
	ck_assert(find_mount(p.pid, "/dev", &m));
	ck_assert_str_eq(m.fstype, "tmpfs");
	ck_assert(opts_has(m.opts, "nosuid"));
	ck_assert(find_mount(p.pid, "/dev/shm", &m));
	ck_assert_str_eq(m.fstype, "tmpfs");
	ck_assert(opts_has(m.opts, "nosuid") && opts_has(m.opts, "noexec") &&
	          opts_has(m.opts, "nodev"));
	/* no trace of the host's mounts (the old root is detached) */
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)p.pid);
	ck_assert_int_eq(unit_mountinfo_walk(path, NULL, NULL), 4);

	/* the sandbox's files, through its root */
	snprintf(path, sizeof(path), "/proc/%d/root/pause", (int)p.pid);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	snprintf(path, sizeof(path), "/proc/%d/root/dev/null", (int)p.pid);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert(S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(1, 3));
	ck_assert_uint_eq(sb.st_mode & 07777, 0666);
	snprintf(path, sizeof(path), "/proc/%d/root/dev/urandom", (int)p.pid);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert(S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(1, 9));
	snprintf(path, sizeof(path), "/proc/%d/root/dev/stdout", (int)p.pid);
	n = readlink(path, val, sizeof(val) - 1);
	ck_assert_int_gt(n, 0);
	val[n] = '\0';
	ck_assert_str_eq(val, "/proc/self/fd/1");
	snprintf(path, sizeof(path), "/proc/%d/root/dev/shm", (int)p.pid);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 01777);
	ck_assert_int_eq(statfs(path, &sf), 0);
	ck_assert_int_eq(sf.f_type, TMPFS_MAGIC);
	ck_assert_uint_eq((uint64_t)sf.f_blocks * (uint64_t)sf.f_bsize, 8ull << 20);
	/* its proc shows its own pid namespace: pid 1 is pause */
	snprintf(path, sizeof(path), "/proc/%d/root/proc/1/cmdline", (int)p.pid);
	assert_bytes(path, "/pause", sizeof("/pause"));
	/* the rootfs really is read-only in there */
	snprintf(path, sizeof(path), "/proc/%d/root/new-file", (int)p.pid);
	errno = 0;
	ck_assert_int_lt(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), 0);
	ck_assert_int_eq(errno, EROFS);

	/* the host name, in its own UTS namespace */
	uts_hostname(p.pid, val, sizeof(val));
	ck_assert_str_eq(val, "unit-host");

	/* nothing the child mounted reached this namespace */
	assert_no_new_mounts(&mounts_before);
	ck_assert_int_eq(unit_mounts_under(rootfs), 0);

	/* pause exits 0 on SIGTERM */
	term_and_wait(p.pidfd, &si);
	ck_assert_int_eq(si.si_pid, p.pid);
	ck_assert_int_eq(si.si_code, CLD_EXITED);
	ck_assert_int_eq(si.si_status, 0);
	close(p.pidfd);
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds_before);
	launch_stack_free(&st);
}
END_TEST

/* From a staged template (sandbox/mntns.h) the rootfs is moved over the
 * template's root instead of pivot_root: the pause sees the same mounts,
 * and nothing of the staging tree below its root (its mountinfo lists
 * the mounts below the task's root only; its root holds no state dir). */
START_TEST(test_launch_staged_root_move)
{
	char rootfs[PATH_MAX], state[PATH_MAX], path[PATH_MAX + 64], shown[PATH_MAX];
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };
	struct unit_mount m;
	struct mntns ns;
	struct stat sb;
	siginfo_t si;

	unit_pause_rootfs(rootfs);
	unit_path(state, sizeof(state), "state");
	ck_assert_int_eq(mkdir(state, 0711), 0);
	/* the directory holding the rootfs is what the template must show */
	snprintf(shown, sizeof(shown), "%s", rootfs);
	*strrchr(shown, '/') = '\0';
	ck_assert_msg(mntns_enter(state, (const char *const[]){ shown, NULL }, &ns, &err) == 0,
	              "mntns_enter: %s", err.msg);
	ck_assert(ns.staged);
	pause_plan(&p, &st, rootfs);
	p.mntns_fd = ns.template_fd;
	p.root_move = true;
	ck_assert_msg(launch_start(&p, &st, &err) == 0, "launch_start: %s", err.msg);
	wait_args(p.pid);

	/* "/" the read-only rootfs, and the same four mounts as ever */
	ck_assert(find_mount(p.pid, "/", &m));
	ck_assert_msg(opts_has(m.opts, "ro"), "/ is mounted %s", m.opts);
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)p.pid);
	ck_assert_int_eq(unit_mountinfo_walk(path, NULL, NULL), 4);
	snprintf(path, sizeof(path), "/proc/%d/root/pause", (int)p.pid);
	ck_assert_int_eq(stat(path, &sb), 0);
	snprintf(path, sizeof(path), "/proc/%d/root/dev/null", (int)p.pid);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert(S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(1, 3));
	/* the staging tree is out of reach: not the state dir, not "..") */
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)p.pid, state);
	ck_assert_int_ne(stat(path, &sb), 0);
	snprintf(path, sizeof(path), "/proc/%d/root/../../pause", (int)p.pid);
	ck_assert_int_eq(stat(path, &sb), 0);

	term_and_wait(p.pidfd, &si);
	ck_assert_int_eq(si.si_code, CLD_EXITED);
	close(p.pidfd);
	unit_assert_no_children();
	launch_stack_free(&st);
	ck_assert_int_eq(mntns_leave(&ns, true, &err), 0);
}
END_TEST

START_TEST(test_launch_share_net_ipc)
{
	char rootfs[PATH_MAX], path[PATH_MAX + 64], host_before[256], host_after[256];
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };
	struct stat a, b;
	siginfo_t si;

	unit_pause_rootfs(rootfs);
	ck_assert_int_eq(gethostname(host_before, sizeof(host_before)), 0);
	pause_plan(&p, &st, rootfs);
	p.new_net = false;
	p.new_ipc = false;
	/* UTS follows net: with the host's network the name is not applied */
	snprintf(p.hostname, sizeof(p.hostname), "must-not-apply");
	ck_assert_msg(launch_start(&p, &st, &err) == 0, "launch_start: %s", err.msg);
	ck_assert_int_gt(p.pid, 0);

	ck_assert(unit_ns_same(p.pid, "net") == 1);
	ck_assert(unit_ns_same(p.pid, "uts") == 1);
	ck_assert(unit_ns_same(p.pid, "ipc") == 1);
	ck_assert(unit_ns_same(p.pid, "pid") == 0);
	ck_assert(unit_ns_same(p.pid, "mnt") == 0);
	ck_assert_int_eq(gethostname(host_after, sizeof(host_after)), 0);
	ck_assert_str_eq(host_after, host_before);

	/* the host's /dev/shm is bound into the sandbox */
	if (stat("/dev/shm", &a) == 0) {
		snprintf(path, sizeof(path), "/proc/%d/root/dev/shm", (int)p.pid);
		ck_assert_int_eq(stat(path, &b), 0);
		ck_assert(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	}
	assert_stdio_only(p.pid);

	term_and_wait(p.pidfd, &si);
	ck_assert_int_eq(si.si_code, CLD_EXITED);
	ck_assert_int_eq(si.si_status, 0);
	close(p.pidfd);
	unit_assert_no_children();
	launch_stack_free(&st);
}
END_TEST

#if defined(__x86_64__)
/* A static x86-64 program of 129 bytes, for (;;) pause();  Unlike pause it
 * leaves its signal mask as exec handed it over, so the mask the launcher
 * set can be read from /proc/PID/status. */
static void
write_spin(const char *path)
{
	static const unsigned char code[] = {
		0xb8, 0x22, 0x00, 0x00, 0x00, /* mov $34 (SYS_pause), %eax */
		0x0f, 0x05,                   /* syscall */
		0xeb, 0xf7,                   /* jmp back to the mov */
	};
	const Elf64_Addr base = 0x400000;
	unsigned char img[sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + sizeof(code)];
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_ident[EI_OSABI] = ELFOSABI_SYSV;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = base + sizeof(eh) + sizeof(ph);
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_LOAD;
	ph.p_flags = PF_R | PF_X;
	ph.p_vaddr = ph.p_paddr = base;
	ph.p_filesz = ph.p_memsz = sizeof(img);
	ph.p_align = 0x1000;
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), &ph, sizeof(ph));
	memcpy(img + sizeof(eh) + sizeof(ph), code, sizeof(code));
	unit_put_file(path, img, sizeof(img), 0755);
}
#endif

/* The sandbox starts with an empty signal mask although the launching
 * thread blocks everything.  pause blocks all signals itself as soon as it
 * runs, so this uses a tiny program that does not (x86-64 only). */
START_TEST(test_launch_sigmask)
{
#if defined(__x86_64__)
	char root[PATH_MAX], path[PATH_MAX + 64], val[64];
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };
	static char *const argv[] = { "/spin", NULL };
	static char *const envp[] = { NULL };
	sigset_t all, old;
	siginfo_t si;

	unit_path(root, sizeof(root), "spinroot");
	ck_assert_int_eq(mkdir(root, 0755), 0);
	static const char *const dirs[] = { "proc", "dev" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		ck_assert_int_eq(mkdir(path, 0755), 0);
	}
	snprintf(path, sizeof(path), "%s/spin", root);
	write_spin(path);

	ck_assert_int_eq(launch_stack_alloc(&st, &err), 0);
	launch_plan_init(&p);
	p.rootfs = root;
	p.exec_path = "/spin";
	p.argv = argv;
	p.envp = envp;
	sigfillset(&all);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &all, &old), 0);
	int rc = launch_start(&p, &st, &err);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	ck_assert_msg(rc == 0, "launch_start: %s", err.msg);

	/* exec keeps the mask; spin never changes it */
	ck_assert(unit_status_field(p.pid, "SigBlk", val, sizeof(val)));
	ck_assert_str_eq(val, "0000000000000000");
	ck_assert(unit_status_field(p.pid, "State", val, sizeof(val)));
	ck_assert_msg(val[0] == 'S' || val[0] == 'R', "state %s", val);

	kill_and_wait(p.pidfd, &si);
	ck_assert_int_eq(si.si_code, CLD_KILLED);
	ck_assert_int_eq(si.si_status, SIGKILL);
	close(p.pidfd);
	unit_assert_no_children();
	launch_stack_free(&st);
#endif
}
END_TEST

/* Several worker threads launching at once, each on its own stack. */
#define N_LAUNCHERS 4

struct launcher {
	pthread_t thread;
	int idx;
	const char *rootfs;
	struct launch_stack st;
	struct launch_plan plan;
	struct cradle_err err;
	int rc;
};

static void *
launcher_main(void *arg)
{
	struct launcher *l = arg;

	l->rc = launch_stack_alloc(&l->st, &l->err);
	if (l->rc < 0)
		return NULL;
	launch_plan_init(&l->plan);
	l->plan.rootfs = l->rootfs;
	l->plan.argv = pause_argv;
	l->plan.envp = pause_envp;
	snprintf(l->plan.hostname, sizeof(l->plan.hostname), "host-%d", l->idx);
	for (int i = 0; i < 5 && l->rc == 0; i++) {
		siginfo_t si;
		/* start and stop a few, keep the last one running */
		l->rc = launch_start(&l->plan, &l->st, &l->err);
		if (l->rc < 0 || i == 4)
			break;
		syscall(SYS_pidfd_send_signal, l->plan.pidfd, SIGKILL, NULL, 0);
		while (waitid((idtype_t)P_PIDFD, (id_t)l->plan.pidfd, &si, WEXITED) != 0 &&
		       errno == EINTR)
			;
		close(l->plan.pidfd);
		l->plan.pidfd = -1;
	}
	return NULL;
}

START_TEST(test_launch_threads)
{
	char rootfs[PATH_MAX];
	struct launcher *l = calloc(N_LAUNCHERS, sizeof(*l));

	ck_assert_ptr_nonnull(l);
	unit_pause_rootfs(rootfs);
	for (int i = 0; i < N_LAUNCHERS; i++) {
		l[i].idx = i;
		l[i].rootfs = rootfs;
		ck_assert_int_eq(pthread_create(&l[i].thread, NULL, launcher_main, &l[i]), 0);
	}
	for (int i = 0; i < N_LAUNCHERS; i++)
		ck_assert_int_eq(pthread_join(l[i].thread, NULL), 0);
	for (int i = 0; i < N_LAUNCHERS; i++) {
		ck_assert_msg(l[i].rc == 0, "launcher %d: %s", i, l[i].err.msg);
		ck_assert_int_gt(l[i].plan.pid, 0);
		for (int j = 0; j < i; j++) {
			char a[32], b[32];
			ck_assert_int_ne(l[i].plan.pid, l[j].plan.pid);
			snprintf(a, sizeof(a), "%d", (int)l[i].plan.pid);
			snprintf(b, sizeof(b), "%d", (int)l[j].plan.pid);
			struct stat na = ns_stat(a, "net"), nb = ns_stat(b, "net");
			ck_assert(na.st_ino != nb.st_ino);
		}
		assert_stdio_only(l[i].plan.pid);
		char name[64], want[32];
		uts_hostname(l[i].plan.pid, name, sizeof(name));
		snprintf(want, sizeof(want), "host-%d", i);
		ck_assert_str_eq(name, want);
	}
	for (int i = 0; i < N_LAUNCHERS; i++) {
		siginfo_t si;
		term_and_wait(l[i].plan.pidfd, &si);
		ck_assert_int_eq(si.si_code, CLD_EXITED);
		ck_assert_int_eq(si.si_status, 0);
		close(l[i].plan.pidfd);
		launch_stack_free(&l[i].st);
	}
	unit_assert_no_children();
	free(l);
}
END_TEST

/* The child shares the launcher's descriptor table until it has a copy of
 * the low slots it uses (CLONE_FILES, then close_range's UNSHARE): the
 * launcher's descriptors come through untouched, high ones are neither
 * copied (the pause's table stays at the kernel's smallest size) nor held
 * open by the pause, and the pidfd lands at or above pidfd_floor.  For a
 * vfork child that execs, and for a user namespace child (which runs
 * beside its parent) failing after its copy. */
START_TEST(test_launch_fd_table)
{
	char rootfs[PATH_MAX], val[64];
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };
	struct stat before[2], after;
	int pipefd[2], high[2], low;
	siginfo_t si;
	char b;

	unit_pause_rootfs(rootfs);
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	high[0] = fcntl(pipefd[0], F_DUPFD_CLOEXEC, 3000);
	high[1] = fcntl(pipefd[1], F_DUPFD_CLOEXEC, 3000);
	ck_assert_int_ge(high[0], 3000);
	ck_assert_int_ge(high[1], 3000);
	close(pipefd[0]);
	close(pipefd[1]);
	low = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(low, 3);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(fstat(high[i], &before[i]), 0);

	for (int user = 0; user <= 1; user++) {
		int fds_before = unit_count_fds();
		pause_plan(&p, &st, rootfs);
		p.pidfd_floor = 2000;
		if (user) {
			p.new_user = true;
			p.uid_map = "0 100000 65536\n";
			p.gid_map = "0 100000 65536\n";
		}
		int rc = launch_start(&p, &st, &err);
		if (user) {
			/* the built-in sequence makes device nodes, which a user
			 * namespace refuses: well past the copy */
			ck_assert_int_lt(rc, 0);
			ck_assert_msg(strcmp(p.child_step, "mount-dev") == 0, "%s", err.msg);
			ck_assert_int_eq(unit_count_fds(), fds_before);
		} else {
			ck_assert_msg(rc == 0, "launch_start: %s", err.msg);
			ck_assert_int_ge(p.pidfd, 2000);
			ck_assert_int_ne(fcntl(p.pidfd, F_GETFD) & FD_CLOEXEC, 0);
			ck_assert_int_eq(unit_count_fds(), fds_before + 1);
			wait_args(p.pid);
			assert_stdio_only(p.pid);
			ck_assert(unit_status_field(p.pid, "FDSize", val, sizeof(val)));
			ck_assert_msg(atoi(val) <= 64, "the pause's table has %s slots", val);
			term_and_wait(p.pidfd, &si);
			close(p.pidfd);
		}
		launch_stack_free(&st);
		/* the launcher's descriptors are where they were */
		for (int i = 0; i < 2; i++) {
			ck_assert_int_eq(fstat(high[i], &after), 0);
			ck_assert(after.st_ino == before[i].st_ino);
		}
		ck_assert_int_ge(fcntl(low, F_GETFD), 0);
	}
	unit_assert_no_children();
	/* nobody else holds the write end: its close is the reader's EOF */
	close(high[1]);
	ck_assert_int_eq(read(high[0], &b, 1), 0);
	close(high[0]);
	close(low);
}
END_TEST

/* --- launch_start: failures ----------------------------------------------- */

/* Launch with rootfs/exec_path and expect failure at step (errno e). */
static void
expect_launch_failure(const char *rootfs, const char *exec_path, const char *step, int e)
{
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };
	char want[128];

	struct mount_keys mounts_before = mounts_now();
	int fds_before = unit_count_fds();
	pause_plan(&p, &st, rootfs);
	p.exec_path = exec_path;
	snprintf(p.hostname, sizeof(p.hostname), "unit-host");
	int rc = launch_start(&p, &st, &err);
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(rc, -e);
	snprintf(want, sizeof(want), "launch sandbox: %s: %s", step, strerror(e));
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(err.code, cradle_code_from_errno(e));
	ck_assert_str_eq(p.child_step, step);
	ck_assert_int_eq(p.child_errno, e);
	ck_assert_int_eq(p.pid, 0);
	ck_assert_int_eq(p.pidfd, -1);
	/* the failed child was waited for: no process, no zombie, no pidfd */
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds_before);
	/* and it mounted nothing here */
	assert_no_new_mounts(&mounts_before);
	launch_stack_free(&st);
}

START_TEST(test_launch_no_rootfs)
{
	char rootfs[PATH_MAX];

	unit_path(rootfs, sizeof(rootfs), "no-such-rootfs");
	expect_launch_failure(rootfs, "/pause", "bind-rootfs", ENOENT);
}
END_TEST

START_TEST(test_launch_no_exec)
{
	char rootfs[PATH_MAX];

	unit_pause_rootfs(rootfs);
	expect_launch_failure(rootfs, "/nonexistent", "exec", ENOENT);
}
END_TEST

/* A rootfs without proc/: the failure comes after the rootfs bind. */
START_TEST(test_launch_no_proc_dir)
{
	char rootfs[PATH_MAX];

	unit_path(rootfs, sizeof(rootfs), "empty-rootfs");
	ck_assert_int_eq(mkdir(rootfs, 0755), 0);
	expect_launch_failure(rootfs, "/pause", "mount-proc", ENOENT);
}
END_TEST

/* A child killed by a signal before it runs pause writes no error of its
 * own: here a filter that kills at execve (SIGSYS).  That is a failed
 * launch, not a pause task. */
START_TEST(test_launch_killed_before_exec)
{
	char rootfs[PATH_MAX];
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };
	struct sock_filter kill_exec[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = kill_exec };

	unit_pause_rootfs(rootfs);
	int fds_before = unit_count_fds();
	pause_plan(&p, &st, rootfs);
	p.no_new_privs = true;
	p.seccomp = &prog;
	ck_assert_int_lt(launch_start(&p, &st, &err), 0);
	ck_assert_msg(strstr(err.msg, "killed by signal 31") != NULL, "%s", err.msg);
	ck_assert_int_eq(p.pid, 0);
	ck_assert_int_eq(p.pidfd, -1);
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds_before);
	launch_stack_free(&st);
}
END_TEST

/* --- two steps: created, then started (wait_go) --------------------------- */

/* The target of /proc/PID/exe ("" when unreadable). */
static void
proc_exe(pid_t pid, char *out, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
}

/* Field 3 (state) of /proc/PID/stat. */
static char
proc_state(pid_t pid)
{
	char path[64];
	char *buf, *p, c;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	buf = unit_slurp_ok(path, NULL);
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	c = p[2];
	free(buf);
	return c;
}

/* Created: the child is set up and waits, in our mm (its exe is still
 * ours), on the stack, which refuses another launch; go: it runs pause
 * with nothing but 0-2 open. */
START_TEST(test_launch_wait_go)
{
	char rootfs[PATH_MAX], self[PATH_MAX], exe[PATH_MAX];
	struct launch_stack st = { 0 };
	struct launch_plan p, q;
	struct cradle_err err = { 0 };
	siginfo_t si;

	unit_pause_rootfs(rootfs);
	proc_exe(getpid(), self, sizeof(self));
	int fds_before = unit_count_fds();
	pause_plan(&p, &st, rootfs);
	p.wait_go = true;
	snprintf(p.hostname, sizeof(p.hostname), "unit-wait");
	ck_assert_msg(launch_start(&p, &st, &err) == 0, "%s", err.msg);
	ck_assert(launch_waiting(&p));
	ck_assert(st.waiting);
	ck_assert_int_gt(p.pid, 0);
	ck_assert_int_ge(p.pidfd, 0);
	/* the two pipe ends launch_go needs, nothing else */
	ck_assert_int_eq(unit_count_fds(), fds_before + 3);
	proc_exe(p.pid, exe, sizeof(exe));
	ck_assert_str_eq(exe, self);
	/* it says it is ready just before it blocks on the go pipe */
	for (int i = 0; i < 400 && proc_state(p.pid) != 'S'; i++)
		unit_sleep_ms(5);
	ck_assert_int_eq(proc_state(p.pid), 'S');
	/* still there a while later: it waits, it does not exec */
	unit_sleep_ms(100);
	ck_assert(!try_wait(p.pidfd, &si));
	proc_exe(p.pid, exe, sizeof(exe));
	ck_assert_str_eq(exe, self);
	/* its namespaces are made already: the UTS one holds the name */
	char host[128];
	uts_hostname(p.pid, host, sizeof(host));
	ck_assert_str_eq(host, "unit-wait");

	/* the stack is the waiting child's */
	launch_plan_init(&q);
	q.rootfs = rootfs;
	q.argv = pause_argv;
	q.envp = pause_envp;
	ck_assert_int_lt(launch_start(&q, &st, &err), 0);
	ck_assert_str_eq(err.msg, "launch sandbox: the stack's earlier task still waits to start");
	ck_assert_int_eq(q.pidfd, -1);

	pid_t pid = p.pid;
	ck_assert_msg(launch_go(&p, &st, &err) == 0, "%s", err.msg);
	ck_assert(!launch_waiting(&p));
	ck_assert(!st.waiting);
	ck_assert_int_eq(p.pid, pid);
	ck_assert_int_ge(p.pidfd, 0);
	ck_assert_uint_eq(p.start_time, stat_starttime(pid));
	wait_args(pid);
	proc_exe(pid, exe, sizeof(exe));
	ck_assert_msg(strcmp(exe + strlen(exe) - 6, "/pause") == 0, "%s", exe);
	assert_stdio_only(pid);
	ck_assert_int_eq(unit_count_fds(), fds_before + 1); /* the pidfd */
	/* a second go has nothing to start */
	ck_assert_int_lt(launch_go(&p, &st, &err), 0);
	ck_assert_str_eq(err.msg, "launch sandbox: no created task waits to start");
	term_and_wait(p.pidfd, &si);
	close(p.pidfd);
	unit_assert_no_children();
	launch_stack_free(&st);
}
END_TEST

/* Abort: the waiting child is killed and reaped, the stack free again. */
START_TEST(test_launch_wait_abort)
{
	char rootfs[PATH_MAX];
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };
	siginfo_t si;

	unit_pause_rootfs(rootfs);
	int fds_before = unit_count_fds();
	pause_plan(&p, &st, rootfs);
	p.wait_go = true;
	ck_assert_msg(launch_start(&p, &st, &err) == 0, "%s", err.msg);
	pid_t pid = p.pid;
	launch_abort(&p, &st);
	ck_assert(!launch_waiting(&p));
	ck_assert(!st.waiting);
	ck_assert_int_eq(p.pidfd, -1);
	ck_assert_int_eq(p.pid, 0);
	ck_assert_int_eq(kill(pid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds_before);
	launch_abort(&p, &st); /* nothing waits: nothing done */

	/* the stack serves the next launch, in one step */
	p.wait_go = false;
	ck_assert_msg(launch_start(&p, &st, &err) == 0, "%s", err.msg);
	ck_assert(!launch_waiting(&p));
	wait_args(p.pid);
	kill_and_wait(p.pidfd, &si);
	close(p.pidfd);
	unit_assert_no_children();
	launch_stack_free(&st);
}
END_TEST

/* Failures on either side of the wait: one of the set-up steps fails the
 * create (launch_start), the exec fails the start (launch_go); each
 * leaves no process, zombie or descriptor. */
START_TEST(test_launch_wait_failures)
{
	char rootfs[PATH_MAX], empty[PATH_MAX];
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };

	unit_pause_rootfs(rootfs);
	unit_path(empty, sizeof(empty), "empty-rootfs");
	ck_assert_int_eq(mkdir(empty, 0755), 0);
	int fds_before = unit_count_fds();
	pause_plan(&p, &st, empty);
	p.wait_go = true;
	ck_assert_int_lt(launch_start(&p, &st, &err), 0);
	ck_assert_msg(strcmp(err.msg, "launch sandbox: mount-proc: No such file or directory") == 0,
	              "%s", err.msg);
	ck_assert(!launch_waiting(&p));
	ck_assert(!st.waiting);
	ck_assert_int_eq(p.pidfd, -1);
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds_before);

	p.rootfs = rootfs;
	p.exec_path = "/nonexistent";
	ck_assert_msg(launch_start(&p, &st, &err) == 0, "%s", err.msg);
	ck_assert(launch_waiting(&p));
	ck_assert_int_lt(launch_go(&p, &st, &err), 0);
	ck_assert_str_eq(err.msg, "launch sandbox: exec: No such file or directory");
	ck_assert_str_eq(p.child_step, "exec");
	ck_assert(!st.waiting);
	ck_assert_int_eq(p.pidfd, -1);
	ck_assert_int_eq(p.pid, 0);
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds_before);

	/* with a user namespace too (the built-in mounts make device nodes,
	 * which it refuses: a failure after the maps, before the wait) */
	p.new_user = true;
	p.uid_map = "0 100000 65536\n";
	p.gid_map = "0 100000 65536\n";
	p.exec_path = "/pause";
	ck_assert_int_lt(launch_start(&p, &st, &err), 0);
	ck_assert_msg(strcmp(p.child_step, "mount-dev") == 0, "%s", err.msg);
	ck_assert(!launch_waiting(&p));
	ck_assert(!st.waiting);
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds_before);
	p.new_user = false;

	/* killed while it waits (not by us): go reports it, reaped */
	p.exec_path = "/pause";
	ck_assert_msg(launch_start(&p, &st, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(kill(p.pid, SIGKILL), 0);
	ck_assert_int_lt(launch_go(&p, &st, &err), 0);
	ck_assert_msg(strstr(err.msg, "killed by signal 9") != NULL, "%s", err.msg);
	ck_assert_int_eq(p.pidfd, -1);
	unit_assert_no_children();
	ck_assert_int_eq(unit_count_fds(), fds_before);
	launch_stack_free(&st);
}
END_TEST

START_TEST(test_launch_bad_args)
{
	struct launch_stack st = { 0 };
	struct launch_plan p;
	struct cradle_err err = { 0 };
	char rootfs[PATH_MAX];

	unit_pause_rootfs(rootfs);
	launch_plan_init(&p);
	p.argv = pause_argv;
	p.envp = pause_envp;
	/* no stack */
	p.rootfs = rootfs;
	ck_assert_int_lt(launch_start(&p, &st, &err), 0);
	ck_assert_str_eq(err.msg, "launch sandbox: no launch stack");
	ck_assert_int_lt(launch_start(&p, NULL, &err), 0);
	/* relative and missing rootfs */
	ck_assert_int_eq(launch_stack_alloc(&st, &err), 0);
	p.rootfs = "build/rootfs";
	ck_assert_int_lt(launch_start(&p, &st, &err), 0);
	ck_assert_str_eq(err.msg, "launch sandbox: rootfs must be an absolute path");
	ck_assert_int_eq(err.code, CRADLE_INTERNAL);
	p.rootfs = NULL;
	ck_assert_int_lt(launch_start(&p, &st, &err), 0);
	/* root_move from the caller's own namespace: its whole tree would
	 * stay below the pod's root */
	p.rootfs = rootfs;
	p.root_move = true;
	ck_assert_int_lt(launch_start(&p, &st, &err), 0);
	ck_assert_str_eq(err.msg, "launch sandbox: root_move without a staged template");
	ck_assert_int_eq(p.pidfd, -1);
	unit_assert_no_children();
	launch_stack_free(&st);
}
END_TEST

/* (files_resolv_conf, files_setup_sandbox: tests/unit/sandbox/test_files.c) */

/* --- netns_pin, netns_unpin ----------------------------------------------- */

/* prep: a network namespace of its own */
static int
unshare_net(const void *unused)
{
	(void)unused;
	return unshare(CLONE_NEWNET);
}

START_TEST(test_netns_pin)
{
	char pin[PATH_MAX], who[32];
	struct cradle_err err = { 0 };
	struct parked c = parked_start(unshare_net, NULL);
	struct stat st, nsst;
	struct statfs sf;

	snprintf(who, sizeof(who), "%d", (int)c.pid);
	nsst = ns_stat(who, "net");
	ck_assert(unit_ns_same(c.pid, "net") == 0);
	unit_path(pin, sizeof(pin), "netns-pin");
	ck_assert_msg(netns_pin(c.pid, pin, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(stat(pin, &st), 0);
	ck_assert(st.st_ino == nsst.st_ino && st.st_dev == nsst.st_dev);
	ck_assert_int_eq(unit_mounts_under(pin), 1);

	/* the namespace outlives its last process */
	parked_stop(&c);
	ck_assert_int_eq(stat(pin, &st), 0);
	ck_assert_uint_eq(st.st_ino, nsst.st_ino);
	ck_assert_int_eq(statfs(pin, &sf), 0);
	ck_assert_int_eq(sf.f_type, NSFS_MAGIC);
	int fd = open(pin, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ioctl(fd, NS_GET_NSTYPE), CLONE_NEWNET);
	close(fd);

	/* unpin: no mount, no file; twice is fine */
	ck_assert_int_eq(netns_unpin(pin), 0);
	ck_assert(!unit_exists(pin));
	ck_assert_int_eq(unit_mounts_under(pin), 0);
	ck_assert_int_eq(netns_unpin(pin), 0);
	unit_assert_no_children();
}
END_TEST

START_TEST(test_netns_unpin_plain)
{
	char path[PATH_MAX], missing[PATH_MAX];

	/* a file that was never mounted on (a pin interrupted half-way) */
	unit_path(path, sizeof(path), "plain");
	unit_put_str(path, "");
	ck_assert_int_eq(netns_unpin(path), 0);
	ck_assert(!unit_exists(path));
	unit_path(missing, sizeof(missing), "no/such/pin");
	ck_assert_int_eq(netns_unpin(missing), 0);
}
END_TEST

START_TEST(test_netns_pin_errors)
{
	char pin[PATH_MAX], want[PATH_MAX + 128];
	struct cradle_err err = { 0 };
	struct parked c = parked_start(unshare_net, NULL);

	/* onto an existing path: refused, the file left alone */
	unit_path(pin, sizeof(pin), "taken");
	unit_put_str(pin, "mine\n");
	ck_assert_int_lt(netns_pin(c.pid, pin, &err), 0);
	snprintf(want, sizeof(want), "failed to create network namespace file \"%s\": %s", pin,
	         strerror(EEXIST));
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(err.code, CRADLE_ALREADY_EXISTS);
	unit_assert_file_is(pin, "mine\n");
	ck_assert_int_eq(unit_mounts_under(pin), 0);

	/* parent directory missing */
	unit_path(pin, sizeof(pin), "no/such/dir/pin");
	ck_assert_int_lt(netns_pin(c.pid, pin, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, pin));
	parked_stop(&c);

	/* a pid with no namespace to pin: the file is removed again */
	char *s = unit_slurp_ok("/proc/sys/kernel/pid_max", NULL);
	pid_t nopid = (pid_t)atol(s);
	free(s);
	unit_path(pin, sizeof(pin), "nopid");
	ck_assert_int_lt(netns_pin(nopid, pin, &err), 0);
	snprintf(want, sizeof(want), "failed to pin network namespace at \"%s\": %s", pin,
	         strerror(ENOENT));
	ck_assert_str_eq(err.msg, want);
	ck_assert(!unit_exists(pin));
	ck_assert_int_eq(unit_mounts_under(pin), 0);
}
END_TEST

/* --- suite ---------------------------------------------------------------- */

static Suite *
launch_suite(void)
{
	Suite *s = suite_create("launch");

	unit_tcase(s, "launch", unit_scratch_setup_ns, unit_scratch_teardown, 60,
	           UNIT_TESTS(test_start_time_self, test_start_time_odd_comm,
	                      test_start_time_no_such_pid, test_stack_alloc_free, test_plan_init,
	                      test_launch_pause, test_launch_staged_root_move,
	                      test_launch_share_net_ipc, test_launch_sigmask, test_launch_threads,
	                      test_launch_fd_table, test_launch_no_rootfs, test_launch_no_exec,
	                      test_launch_no_proc_dir, test_launch_killed_before_exec,
	                      test_launch_bad_args, test_launch_wait_go, test_launch_wait_abort,
	                      test_launch_wait_failures));

	unit_tcase(s, "netns", unit_scratch_setup_ns, unit_scratch_teardown, 30,
	           UNIT_TESTS(test_netns_pin, test_netns_unpin_plain, test_netns_pin_errors));

	return s;
}

int
main(void)
{
	return unit_run(launch_suite(), "test_launch", UNIT_ROOT | UNIT_SUBREAPER);
}
