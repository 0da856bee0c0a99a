/* test_cgroup.c - the sandbox cgroup (sandbox/cgroup.c) on v1, v2 and hybrid.
 *
 * ROOT: these tests create real cgroups in every hierarchy of this machine,
 * move processes into them, mount cgroup2 and unshare a mount namespace, so
 * they need root, as CI runs them.
 *
 * What runs where:
 *   - detection: this machine's /proc/self/mountinfo (checked against an
 *     independent reading of /proc/self/mounts), and synthetic mountinfo
 *     files for pure v1, pure v2, hybrid and merged/duplicate mounts;
 *   - creation on this machine's layout (the CI machine is hybrid: v1
 *     controllers under /sys/fs/cgroup/<c>, cgroup2 at
 *     /sys/fs/cgroup/unified), joining with the cgroup.procs descriptors
 *     (fork + write "0") and with clone3(CLONE_INTO_CGROUP);
 *   - the pure v2 code path on the real kernel: cgroup2 mounted again at a
 *     temporary directory inside a private mount namespace (the same, only
 *     cgroup2 hierarchy) and declared the sole cgroup2 by a synthetic
 *     mountinfo;
 *   - controller enabling and cpu.weight on a FAKE v2 hierarchy (plain
 *     directories and files), since this machine's cgroup2 offers none of
 *     cpu, memory, pids (they are bound to v1);
 *   - rollback of a failing create, with a fake v1 hierarchy after a real
 *     one.
 *
 * Clean-up.  Every cgroup a test makes is below "/cradle-test-<pid>" (or
 * the slice "cradle_test_<pid>...") where <pid> is the runner's, in every
 * hierarchy.  Each test runs in its own process and scratch directory
 * (tests/unit/lib); a failed assertion ends the test process without its
 * teardown, and Check SIGKILLs the test's process group, so the runner (a
 * child subreaper) reaps the orphans and then, after the last test, sweeps
 * every hierarchy under /sys/fs/cgroup for those names, killing any task
 * left in them and removing the directories deepest first.  The per-test
 * teardown runs the same sweep.  Mounts are made only inside a test's own
 * mount namespace, and vanish with it.
 */
#include <check.h>
#include <dirent.h>
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
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/sched.h>

#include "sandbox/cgroup.h"
#include "tests/unit/lib/unit.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char tag[64];  /* "cradle-test-<pid>" (the runner's pid) */
static char stag[64]; /* "cradle_test_<pid>" (slice names) */

/* --- helpers independent of the code under test ---------------------------- */

static bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Space- or comma-separated list contains word. */
static bool
has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, " ,\n");
		if (l == wl && strncmp(p, word, wl) == 0)
			return true;
		p += l;
		p += strspn(p, " ,\n");
	}
	return false;
}

static void
cat3(char *buf, size_t len, const char *a, const char *b, const char *c)
{
	int n = snprintf(buf, len, "%s%s%s", a, b, c ? c : "");

	ck_assert(n > 0 && (size_t)n < len);
}

/* --- the sweep --------------------------------------------------------------- */

static bool
tagged(const char *name)
{
	return strncmp(name, tag, strlen(tag)) == 0 || strncmp(name, stag, strlen(stag)) == 0;
}

/* Every tagged cgroup in every hierarchy under /sys/fs/cgroup (and in
 * /sys/fs/cgroup itself, for a pure v2 machine). */
static int
sweep(void)
{
	DIR *top = opendir("/sys/fs/cgroup");
	struct dirent *e;
	char dir[PATH_MAX], path[PATH_MAX];
	int left = 0;

	if (top == NULL)
		return 0;
	while ((e = readdir(top)) != NULL) {
		if (strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s", e->d_name);
		DIR *h = opendir(dir);
		struct dirent *c;
		if (h == NULL)
			continue;
		while ((c = readdir(h)) != NULL)
			if (tagged(c->d_name) && snprintf(path, sizeof(path), "%s/%s", dir,
			                                  c->d_name) < (int)sizeof(path)) {
				unit_cgroup_kill_rmtree(path);
				left += unit_exists(path);
			}
		closedir(h);
	}
	closedir(top);
	return left;
}

static void
teardown(void)
{
	ck_assert_int_eq(sweep(), 0);
	unit_scratch_teardown();
}

/* --- processes --------------------------------------------------------------- */

/* fork a child that writes "0" into each fd (joining those cgroups) and
 * then waits to be killed; returns once it has joined. */
static pid_t
spawn_joiner(const int *fds, size_t n)
{
	int p[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (size_t i = 0; i < n; i++)
			if (write(fds[i], "0", 1) != 1)
				_exit(10 + (int)i);
		if (write(p[1], "j", 1) != 1)
			_exit(9);
		for (;;)
			pause();
	}
	close(p[1]);
	ssize_t got = read(p[0], &c, 1);
	close(p[0]);
	if (got != 1) {
		int st = 0;
		waitpid(pid, &st, 0);
		ck_abort_msg("joiner failed: exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	return pid;
}

static void
kill_wait(pid_t pid)
{
	int st;

	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}

/* The path of pid in the /proc/PID/cgroup line for controller ("" = v2),
 * read independently of cgroup_of_pid. */
static void
proc_cgroup(pid_t pid, const char *controller, char *out, size_t len)
{
	char path[64];
	char *all, *save = NULL;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	all = unit_slurp(path, NULL);
	ck_assert_ptr_nonnull(all);
	out[0] = '\0';
	for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		if (b == NULL)
			continue;
		*b = '\0';
		bool match = controller[0] ? has_word(a + 1, controller)
		                           : (a[1] == '\0' && strncmp(line, "0:", 2) == 0);
		if (match) {
			ck_assert(strlen(b + 1) < len);
			strcpy(out, b + 1);
			break;
		}
	}
	free(all);
	ck_assert_msg(out[0] != '\0', "no %s line in %s", controller[0] ? controller : "v2", path);
}

/* clone3 with fork semantics into cg's v2 leaf; the child pauses, and
 * /proc/PID/cgroup shows it in want. */
static pid_t
spawn_into(const struct cgroup *cg, const char *want)
{
	struct clone_args ca;
	char got[PATH_MAX];

	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_INTO_CGROUP;
	ca.exit_signal = SIGCHLD;
	ca.cgroup = (uint64_t)cgroup_v2_dirfd(cg);
	long rc = syscall(SYS_clone3, &ca, sizeof(ca));
	if (rc == 0) {
		for (;;)
			syscall(SYS_pause);
	}
	ck_assert_msg(rc > 0, "clone3(CLONE_INTO_CGROUP): %s", strerror(errno));
	proc_cgroup((pid_t)rc, "", got, sizeof(got));
	ck_assert_str_eq(got, want);
	return (pid_t)rc;
}

/* --- detection ---------------------------------------------------------------- */

static const char *const joined[] = {
	"cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer", "blkio", "name=systemd",
};
#define N_JOINED (sizeof(joined) / sizeof(joined[0]))

/* From /proc/self/mounts, not mountinfo: the mount point of the first cgroup
 * v1 mount with controller, or of cgroup2 (controller NULL). */
static bool
mounts_has(const char *controller, char *mnt, size_t len)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char src[256], dir[512], type[64], opts[1024];
	bool found = false;

	ck_assert_ptr_nonnull(f);
	while (!found && fscanf(f, "%255s %511s %63s %1023s %*d %*d", src, dir, type, opts) == 4) {
		if (controller == NULL
		            ? strcmp(type, "cgroup2") == 0
		            : strcmp(type, "cgroup") == 0 && has_word(opts, controller)) {
			ck_assert(strlen(dir) < len);
			strcpy(mnt, dir);
			found = true;
		}
	}
	fclose(f);
	return found;
}

START_TEST(test_detect_host)
{
	struct cgroup_sys *s = NULL;
	struct cradle_err err = { 0 };
	char mnt[512];
	bool v1 = false;

	ck_assert_msg(cgroup_detect(&s, &err) == 0, "%s", err.msg);
	for (size_t i = 0; i < N_JOINED; i++) {
		const char *got = cgroup_v1_mount(s, joined[i]);
		if (mounts_has(joined[i], mnt, sizeof(mnt))) {
			ck_assert_ptr_nonnull(got);
			ck_assert_str_eq(got, mnt);
			v1 = v1 || strcmp(joined[i], "name=systemd") != 0;
		} else {
			ck_assert_ptr_null(got);
		}
	}
	bool v2 = mounts_has(NULL, mnt, sizeof(mnt));
	if (v2)
		ck_assert_str_eq(cgroup_v2_mount(s), mnt);
	else
		ck_assert_ptr_null(cgroup_v2_mount(s));
	enum cgroup_layout want = v1 && v2 ? CGROUP_HYBRID : v1 ? CGROUP_V1 : CGROUP_V2;
	ck_assert_int_eq(cgroup_layout_of(s), want);

	/* This machine (and CI): hybrid, v2 at /sys/fs/cgroup/unified. */
	if (want == CGROUP_HYBRID && strcmp(mnt, "/sys/fs/cgroup/unified") == 0) {
		ck_assert_ptr_nonnull(cgroup_v1_mount(s, "cpu"));
		ck_assert_ptr_nonnull(cgroup_v1_mount(s, "memory"));
		ck_assert_ptr_nonnull(cgroup_v1_mount(s, "pids"));
		const char *d = cgroup_describe(s);
		ck_assert_msg(strncmp(d, "hybrid: v1 ", 11) == 0, "%s", d);
		ck_assert_msg(strstr(d, " + v2 at /sys/fs/cgroup/unified") != NULL, "%s", d);
		ck_assert_msg(has_word(d + 11, "memory") && has_word(d + 11, "pids"), "%s", d);
	}
	fprintf(stderr, "test_cgroup: this machine: %s\n", cgroup_describe(s));
	cgroup_sys_free(s);
}
END_TEST

/* detect_at on a synthetic mountinfo; returns the struct (layout checked). */
static struct cgroup_sys *
detect_text(const char *text, enum cgroup_layout want)
{
	char path[PATH_MAX];
	struct cgroup_sys *s = NULL;
	struct cradle_err err = { 0 };

	unit_path(path, sizeof(path), "mountinfo");
	unit_put_str(path, text);
	ck_assert_msg(cgroup_detect_at(path, &s, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(cgroup_layout_of(s), want);
	unlink(path);
	return s;
}

#define ROOTFS                                                                          \
	"22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"                     \
	"24 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n" \
	"25 24 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755\n"

START_TEST(test_detect_pure_v1)
{
	/* CentOS 7 style, merged cpu,cpuacct and net_cls,net_prio */
	struct cgroup_sys *s = detect_text(
		ROOTFS
		"26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n"
		"28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct\n"
		"29 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory\n"
		"30 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,net_cls,net_prio\n"
		"31 25 0:28 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpuset\n"
		"32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,pids\n"
		"33 25 0:30 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,devices\n"
		"34 25 0:31 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,hugetlb\n",
		CGROUP_V1);

	ck_assert_str_eq(cgroup_v1_mount(s, "cpu"), "/sys/fs/cgroup/cpu,cpuacct");
	ck_assert_str_eq(cgroup_v1_mount(s, "cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
	ck_assert_str_eq(cgroup_v1_mount(s, "memory"), "/sys/fs/cgroup/memory");
	ck_assert_str_eq(cgroup_v1_mount(s, "name=systemd"), "/sys/fs/cgroup/systemd");
	ck_assert_str_eq(cgroup_v1_mount(s, "net_prio"), "/sys/fs/cgroup/net_cls,net_prio");
	ck_assert_ptr_null(cgroup_v1_mount(s, "blkio"));
	ck_assert_ptr_null(cgroup_v1_mount(s, "xattr")); /* an option */
	ck_assert_ptr_null(cgroup_v2_mount(s));
	ck_assert_str_eq(
		cgroup_describe(s),
		"v1: name=systemd,cpu,cpuacct,memory,net_cls,net_prio,cpuset,pids,devices,hugetlb");
	cgroup_sys_free(s);
}
END_TEST

START_TEST(test_detect_pure_v2)
{
	struct cgroup_sys *s = detect_text(
		ROOTFS
		"26 25 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
		CGROUP_V2);

	ck_assert_str_eq(cgroup_v2_mount(s), "/sys/fs/cgroup");
	ck_assert_ptr_null(cgroup_v1_mount(s, "cpu"));
	ck_assert_str_eq(cgroup_describe(s), "v2 at /sys/fs/cgroup");
	cgroup_sys_free(s);

	/* Stray v1 mounts (a name=systemd for old containers, net_cls for a
	 * CNI) leave the node pure v2, and an empty source field is fine. */
	s = detect_text("26 25 0:23 / /sys/fs/cgroup rw - cgroup2  rw\n"
	                "27 26 0:40 / /run/systemd-v1 rw - cgroup cgroup rw,none,name=systemd\n"
	                "28 26 0:41 / /run/net_cls rw - cgroup cgroup rw,net_cls\n",
	                CGROUP_V2);
	ck_assert_str_eq(cgroup_v2_mount(s), "/sys/fs/cgroup");
	ck_assert_str_eq(cgroup_describe(s), "v2 at /sys/fs/cgroup");
	cgroup_sys_free(s);
}
END_TEST

START_TEST(test_detect_hybrid)
{
	/* Ubuntu 20.04 / Debian 10 style */
	struct cgroup_sys *s = detect_text(
		ROOTFS
		"26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
		"27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,name=systemd\n"
		"28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct\n"
		"29 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory\n"
		"30 25 0:27 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids\n"
		"31 25 0:28 / /sys/fs/cgroup/rdma rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,rdma\n",
		CGROUP_HYBRID);

	ck_assert_str_eq(cgroup_v2_mount(s), "/sys/fs/cgroup/unified");
	ck_assert_str_eq(cgroup_v1_mount(s, "pids"), "/sys/fs/cgroup/pids");
	ck_assert_str_eq(
		cgroup_describe(s),
		"hybrid: v1 name=systemd,cpu,cpuacct,memory,pids,rdma + v2 at /sys/fs/cgroup/unified");
	cgroup_sys_free(s);
}
END_TEST

START_TEST(test_detect_merged_and_duplicates)
{
	/* "cpu,cpuacct" merged and mounted twice (a bind with another root
	 * first, the real one second: the "/" root wins), a mount point with
	 * an escaped space, cpuset noprefix, two cgroup2 mounts (the "/" root
	 * one wins). */
	struct cgroup_sys *s = detect_text(
		ROOTFS
		"40 25 0:30 /kubepods /var/lib/x/cgroup/cpu rw - cgroup cgroup rw,cpuacct,cpu\n"
		"41 25 0:30 / /sys/fs/cgroup/cpu\\040acct rw,relatime shared:20 - cgroup cgroup rw,cpuacct,cpu\n"
		"42 25 0:31 / /dev/cpuset rw,relatime - cgroup none rw,cpuset,noprefix,release_agent=/sbin/x\n"
		"43 25 0:32 /sub /mnt/v2-sub rw - cgroup2 cgroup2 rw\n"
		"44 25 0:32 / /mnt/v2 rw - cgroup2 cgroup2 rw\n"
		"45 25 0:32 / /mnt/v2-again rw - cgroup2 cgroup2 rw\n",
		CGROUP_HYBRID);

	ck_assert_str_eq(cgroup_v1_mount(s, "cpu"), "/sys/fs/cgroup/cpu acct");
	ck_assert_str_eq(cgroup_v1_mount(s, "cpuacct"), "/sys/fs/cgroup/cpu acct");
	ck_assert_str_eq(cgroup_v1_mount(s, "cpuset"), "/dev/cpuset");
	ck_assert_ptr_null(cgroup_v1_mount(s, "noprefix"));
	ck_assert_ptr_null(cgroup_v1_mount(s, "release_agent=/sbin/x"));
	ck_assert_str_eq(cgroup_v2_mount(s), "/mnt/v2");
	ck_assert_str_eq(cgroup_describe(s), "hybrid: v1 cpuacct,cpu,cpuset + v2 at /mnt/v2");
	cgroup_sys_free(s);
}
END_TEST

START_TEST(test_detect_none)
{
	char path[PATH_MAX];
	struct cgroup_sys *s = (struct cgroup_sys *)&s;
	struct cradle_err err = { 0 };

	unit_path(path, sizeof(path), "mountinfo-none");
	unit_put_str(path, ROOTFS "50 25 0:40 / /x rw - cgroup cgroup rw,name=foo\n");
	ck_assert_int_lt(cgroup_detect_at(path, &s, &err), 0);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
	ck_assert_msg(strstr(err.msg, "no cgroup v1 controller and no cgroup2") != NULL, "%s",
	              err.msg);
	unlink(path);

	s = (struct cgroup_sys *)&s;
	ck_assert_int_lt(cgroup_detect_at("/nonexistent/mountinfo", &s, &err), 0);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, "/nonexistent/mountinfo") != NULL, "%s", err.msg);
	cgroup_sys_free(NULL);
}
END_TEST

/* --- paths ---------------------------------------------------------------------- */

static void
resolves(const char *in, const char *want)
{
	char buf[PATH_MAX];
	struct cradle_err err = { 0 };

	ck_assert_msg(cgroup_resolve_path(in, buf, sizeof(buf), &err) == 0, "%s: %s", in, err.msg);
	ck_assert_msg(strcmp(buf, want) == 0, "%s: got %s, want %s", in, buf, want);
}

static void
refused(const char *in, const char *why)
{
	char buf[PATH_MAX], quoted[PATH_MAX + 2];
	struct cradle_err err = { 0 };

	ck_assert_msg(cgroup_resolve_path(in, buf, sizeof(buf), &err) < 0, "%s accepted",
	              in ? in : "NULL");
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	snprintf(quoted, sizeof(quoted), "\"%s\"", in ? in : "");
	ck_assert_msg(strstr(err.msg, quoted) != NULL, "message does not name %s: %s", quoted,
	              err.msg);
	ck_assert_msg(strstr(err.msg, why) != NULL, "%s: %s", in ? in : "NULL", err.msg);
}

START_TEST(test_paths)
{
	resolves("kubepods-burstable.slice:cri-containerd:" ID,
	         "/kubepods.slice/kubepods-burstable.slice/cri-containerd-" ID ".scope");
	resolves("kubepods-besteffort-pod0b8a.slice:cri-containerd:abc",
	         "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0b8a.slice/"
	         "cri-containerd-abc.scope");
	resolves("kubepods.slice:cri-containerd:abc", "/kubepods.slice/cri-containerd-abc.scope");
	resolves("-.slice:cri-containerd:abc", "/cri-containerd-abc.scope");
	resolves(":cri-containerd:abc", "/system.slice/cri-containerd-abc.scope");
	resolves("a-b.slice:x:a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice");
	resolves("/k8s.io/" ID, "/k8s.io/" ID);
	resolves("/kubepods/burstable/pod-web/" ID, "/kubepods/burstable/pod-web/" ID);
	resolves("/a", "/a");
	resolves("/a...b/.x", "/a...b/.x");

	refused(NULL, "empty");
	refused("", "empty");
	refused("/", "root");
	refused("k8s.io/abc", "must be absolute");
	refused("/a//b", "empty component");
	refused("/a/", "empty component");
	refused("/a/../b", "\"..\" components are not allowed");
	refused("/..", "\"..\" components are not allowed");
	refused("/a/./b", "\".\" components are not allowed");
	refused("kubepods.slice:cri-containerd", "expected \"slice:prefix:name\"");
	refused("a.slice:b:c:d", "expected \"slice:prefix:name\"");
	refused("kubepods:cri-containerd:abc", "bad slice name \"kubepods\"");
	refused("a--b.slice:p:n", "bad slice name");
	refused("-a.slice:p:n", "bad slice name");
	refused("a-.slice:p:n", "bad slice name");
	refused(".slice:p:n", "bad slice name");
	refused("a/b.slice:p:n", "bad slice name");
	refused("a.slice::n", "bad scope prefix");
	refused("a.slice:p/q:n", "bad scope prefix");
	refused("a.slice:p:", "bad unit name");
	refused("a.slice:p:..", "bad unit name");
	refused("a.slice:p:x/y", "bad unit name");

	char small[8];
	struct cradle_err err = { 0 };
	ck_assert_int_lt(cgroup_resolve_path("/k8s.io/abc", small, sizeof(small), &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INTERNAL);
}
END_TEST

START_TEST(test_weight)
{
	ck_assert_uint_eq(cgroup_shares_to_weight(0), 0);
	ck_assert_uint_eq(cgroup_shares_to_weight(1), 1);
	ck_assert_uint_eq(cgroup_shares_to_weight(2), 1);
	ck_assert_uint_eq(cgroup_shares_to_weight(1024), 39);
	ck_assert_uint_eq(cgroup_shares_to_weight(262144), 10000);
	ck_assert_uint_eq(cgroup_shares_to_weight(1000000), 10000);
}
END_TEST

/* --- creation on this machine ----------------------------------------------- */

static struct cgroup_sys *
host(void)
{
	struct cgroup_sys *s = NULL;
	struct cradle_err err = { 0 };

	ck_assert_msg(cgroup_detect(&s, &err) == 0, "%s", err.msg);
	return s;
}

/* "/cradle-test-<pid>/<what>/ID" */
static void
test_path(char *buf, size_t len, const char *what)
{
	int n = snprintf(buf, len, "/%s/%s/" ID, tag, what);

	ck_assert(n > 0 && (size_t)n < len);
}

/* How many distinct v1 hierarchies hold the joined controllers. */
static size_t
joined_hierarchies(const struct cgroup_sys *s, const char **mnts)
{
	size_t n = 0;

	if (cgroup_layout_of(s) == CGROUP_V2)
		return 0;
	for (size_t i = 0; i < N_JOINED; i++) {
		const char *m = cgroup_v1_mount(s, joined[i]);
		bool seen = false;
		for (size_t j = 0; m && j < n; j++)
			seen = seen || strcmp(mnts[j], m) == 0;
		if (m && !seen)
			mnts[n++] = m;
	}
	return n;
}

/* Whether the hierarchy at mnt is one where the task joins the leaf's
 * parent and no leaf is made. */
static bool
shared(const struct cgroup_sys *s, const char *mnt)
{
	const char *m;

	for (int i = 0; cgroup_layout_of(s) != CGROUP_V2 && (m = unit_shared_hierarchy(i)); i++)
		if (strcmp(m, mnt) == 0)
			return true;
	return false;
}

/* rel without its last component ("" for a top-level one). */
static void
parent_of(const char *rel, char *buf, size_t len)
{
	const char *slash = strrchr(rel, '/');

	ck_assert(slash != NULL && (size_t)(slash - rel) < len);
	memcpy(buf, rel, (size_t)(slash - rel));
	buf[slash - rel] = '\0';
}

/* The directory rel exists (or not) in every hierarchy cradle uses; a
 * leaf never in a shared one. */
static void
assert_dirs(const struct cgroup_sys *s, const char *rel, bool want, bool leaf)
{
	const char *mnts[N_JOINED];
	size_t n = joined_hierarchies(s, mnts);
	char dir[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		bool here = want && !(leaf && shared(s, mnts[i]));
		cat3(dir, sizeof(dir), mnts[i], rel, NULL);
		ck_assert_msg(is_dir(dir) == here, "%s %s", dir, here ? "missing" : "left behind");
	}
	if (cgroup_v2_mount(s)) {
		cat3(dir, sizeof(dir), cgroup_v2_mount(s), rel, NULL);
		ck_assert_msg(is_dir(dir) == want, "%s %s", dir, want ? "missing" : "left behind");
	}
}

static void
assert_leaf(const struct cgroup_sys *s, const char *rel, bool want)
{
	assert_dirs(s, rel, want, true);
}

/* The host tests' cgroup_sys, detected by their fixture. */
static struct cgroup_sys *hs;

static void
host_setup(void)
{
	unit_scratch_setup();
	hs = host();
}

static void
host_teardown(void)
{
	cgroup_sys_free(hs);
	hs = NULL;
	teardown();
}

/* cgroup_create must succeed; the cgroup. */
static struct cgroup *
create_ok(const struct cgroup_sys *s, const char *path, uint64_t shares)
{
	struct cradle_err err = { 0 };
	struct cgroup *cg = NULL;

	ck_assert_msg(cgroup_create(s, path, shares, &cg, &err) == 0, "create %s: %s", path,
	              err.msg);
	ck_assert_ptr_nonnull(cg);
	return cg;
}

static void
destroy_ok(struct cgroup *cg)
{
	struct cradle_err err = { 0 };

	ck_assert_msg(cgroup_destroy(cg, &err) == 0, "destroy: %s", err.msg);
}

/* A child that joined cg in every hierarchy, v2 included, by writing "0"
 * into its cgroup.procs descriptors. */
static pid_t
join_all(struct cgroup *cg)
{
	int fds[CGROUP_PROCS_FDS_MAX + 1];
	int n = cgroup_procs_fds(cg, fds, CGROUP_PROCS_FDS_MAX);

	if (cgroup_v2_procs_fd(cg) >= 0)
		fds[n++] = cgroup_v2_procs_fd(cg);
	return spawn_joiner(fds, (size_t)n);
}

START_TEST(test_create_host)
{
	struct cgroup *cg = NULL;
	struct cradle_err err = { 0 };
	char rel[PATH_MAX], dir[PATH_MAX], top[PATH_MAX], got[PATH_MAX];
	const char *mnts[N_JOINED];
	int fds[CGROUP_PROCS_FDS_MAX];
	const char *m;

	test_path(rel, sizeof(rel), "create");
	cg = create_ok(hs, rel, 2);
	ck_assert_str_eq(cgroup_path(cg), rel);
	assert_leaf(hs, rel, true);

	if ((m = cgroup_v1_mount(hs, "cpu")) != NULL) {
		cat3(dir, sizeof(dir), m, rel, "/cpu.shares");
		unit_assert_file_is(dir, "2\n");
	}
	if ((m = cgroup_v1_mount(hs, "devices")) != NULL) {
		cat3(dir, sizeof(dir), m, rel, "/devices.list");
		/* deny "a", then only the devices every /dev holds (runc's
		 * AllowedDevices): no blanket rule survives */
		char *list = unit_slurp(dir, NULL);
		ck_assert_ptr_nonnull(list);
		ck_assert_msg(strstr(list, "a *:* rwm") == NULL, "devices.list: %s", list);
		ck_assert_msg(strstr(list, "c 1:3 rwm") != NULL, "no /dev/null: %s", list);
		ck_assert_msg(strstr(list, "c 136:* rwm") != NULL, "no ptys: %s", list);
		ck_assert_msg(strstr(list, "b 8:0") == NULL, "a disk is allowed: %s", list);
		free(list);
	}
	if ((m = cgroup_v1_mount(hs, "cpuset")) != NULL) {
		/* each level made gets the root's cpus and mems, or no task
		 * could join it: the leaf, or in a shared cpuset hierarchy the
		 * parent the task joins */
		char *want, at[PATH_MAX];
		if (shared(hs, m))
			parent_of(rel, at, sizeof(at));
		else
			snprintf(at, sizeof(at), "%s", rel);
		cat3(dir, sizeof(dir), m, "/cpuset.cpus", NULL);
		want = unit_slurp(dir, NULL);
		ck_assert_ptr_nonnull(want);
		cat3(dir, sizeof(dir), m, at, "/cpuset.cpus");
		unit_assert_file_is(dir, want);
		free(want);
		cat3(dir, sizeof(dir), m, "/cpuset.mems", NULL);
		want = unit_slurp(dir, NULL);
		ck_assert_ptr_nonnull(want);
		cat3(dir, sizeof(dir), m, at, "/cpuset.mems");
		unit_assert_file_is(dir, want);
		free(want);
	}

	/* descriptors: one cgroup.procs per v1 hierarchy, the v2 leaf O_PATH */
	size_t nh = joined_hierarchies(hs, mnts);
	int n = cgroup_procs_fds(cg, fds, CGROUP_PROCS_FDS_MAX);
	ck_assert_int_eq(n, (int)nh);
	ck_assert_int_le(n, CGROUP_PROCS_FDS_MAX);
	ck_assert_int_eq(cgroup_procs_fds(cg, fds, 1), n); /* count, whatever max */
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(fcntl(fds[i], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		ck_assert_int_eq(fcntl(fds[i], F_GETFL) & O_ACCMODE, O_WRONLY);
	}
	int v2 = cgroup_v2_dirfd(cg);
	if (cgroup_v2_mount(hs) != NULL) {
		struct stat st;
		ck_assert_int_ge(v2, 0);
		ck_assert_int_eq(fstat(v2, &st), 0);
		ck_assert(S_ISDIR(st.st_mode));
		ck_assert_int_eq(fcntl(v2, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		ck_assert_int_eq(fcntl(v2, F_GETFL) & O_PATH, O_PATH);
		ck_assert_int_ge(cgroup_v2_procs_fd(cg), 0);
	} else {
		ck_assert_int_eq(v2, -1);
	}

	/* a child writing "0" into each cgroup.procs joins every v1 hierarchy:
	 * the leaf, or its parent in a shared hierarchy */
	char before[PATH_MAX], up[PATH_MAX];
	parent_of(rel, up, sizeof(up));
	proc_cgroup(getpid(), "", before, sizeof(before));
	pid_t child = spawn_joiner(fds, (size_t)n);
	for (size_t i = 0; i < N_JOINED; i++) {
		if (cgroup_layout_of(hs) == CGROUP_V2 || cgroup_v1_mount(hs, joined[i]) == NULL)
			continue;
		const char *want = shared(hs, cgroup_v1_mount(hs, joined[i])) ? up : rel;
		proc_cgroup(child, joined[i], got, sizeof(got));
		ck_assert_msg(strcmp(got, want) == 0, "%s: %s", joined[i], got);
		ck_assert_int_eq(cgroup_of_pid(child, joined[i], dir, sizeof(dir)), 0);
		ck_assert_str_eq(dir, want);
	}
	if (cgroup_v2_mount(hs) != NULL) { /* v2 untouched by the v1 fds */
		proc_cgroup(child, "", got, sizeof(got));
		ck_assert_str_eq(got, before);
	}
	kill_wait(child);

	/* destroy removes every directory it made, the test's top one too */
	destroy_ok(cg);
	assert_leaf(hs, rel, false);
	snprintf(top, sizeof(top), "/%s", tag);
	assert_leaf(hs, top, false);
	ck_assert_int_eq(cgroup_destroy(NULL, &err), 0);
}
END_TEST

START_TEST(test_clone_into_cgroup)
{
	struct cgroup *cg = NULL;
	char rel[PATH_MAX], got[PATH_MAX], mine[PATH_MAX];

	if (cgroup_v2_mount(hs) == NULL) {
		fprintf(stderr, "test_cgroup: no cgroup2 here, CLONE_INTO_CGROUP not tested\n");
		return;
	}
	test_path(rel, sizeof(rel), "clone3");
	cg = create_ok(hs, rel, 2);

	pid_t child = spawn_into(cg, rel);
	ck_assert_int_eq(cgroup_of_pid(child, "", mine, sizeof(mine)), 0);
	ck_assert_str_eq(mine, rel);
	if (cgroup_layout_of(hs) == CGROUP_HYBRID) { /* v1: still the parent's */
		proc_cgroup(getpid(), "memory", mine, sizeof(mine));
		proc_cgroup(child, "memory", got, sizeof(got));
		ck_assert_str_eq(got, mine);
	}
	kill_wait(child);

	/* the fallback: write "0" into the v2 cgroup.procs */
	int fd = cgroup_v2_procs_fd(cg);
	child = spawn_joiner(&fd, 1);
	proc_cgroup(child, "", got, sizeof(got));
	ck_assert_str_eq(got, rel);
	kill_wait(child);

	cgroup_close_fds(cg);
	ck_assert_int_eq(cgroup_v2_dirfd(cg), -1);
	ck_assert_int_eq(cgroup_v2_procs_fd(cg), -1);
	ck_assert_int_eq(cgroup_procs_fds(cg, NULL, 0), 0);
	destroy_ok(cg);
	assert_leaf(hs, rel, false);
}
END_TEST

START_TEST(test_destroy_busy)
{
	struct cgroup *cg;
	struct cradle_err err = { 0 };
	char rel[PATH_MAX];
	pid_t child;

	test_path(rel, sizeof(rel), "busy");
	cg = create_ok(hs, rel, 2);
	child = join_all(cg);

	/* busy: an error naming the cgroup, cg kept, nothing removed */
	ck_assert_int_eq(cgroup_destroy(cg, &err), -EBUSY);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
	ck_assert_msg(strstr(err.msg, rel) != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "Device or resource busy") != NULL, "%s", err.msg);
	ck_assert_str_eq(cgroup_path(cg), rel);
	assert_leaf(hs, rel, true);

	/* gone: the same cg destroys (ASan would see a use after free) */
	kill_wait(child);
	destroy_ok(cg);
	assert_leaf(hs, rel, false);
}
END_TEST

START_TEST(test_shared_parent)
{
	/* two sandboxes under one parent the first one made: destroying the
	 * first leaves the parent (busy with the second), which stays after
	 * the second too (not the second's to remove). */
	struct cgroup *a = NULL, *b = NULL;
	char ra[PATH_MAX], rb[PATH_MAX], parent[PATH_MAX];

	snprintf(parent, sizeof(parent), "/%s/pod", tag);
	cat3(ra, sizeof(ra), parent, "/a", NULL);
	cat3(rb, sizeof(rb), parent, "/b", NULL);
	a = create_ok(hs, ra, 2);
	b = create_ok(hs, rb, 2);
	destroy_ok(a);
	assert_leaf(hs, ra, false);
	assert_leaf(hs, parent, true);
	assert_leaf(hs, rb, true);
	destroy_ok(b);
	assert_leaf(hs, rb, false);
	assert_leaf(hs, parent, true); /* the sweep removes it */
}
END_TEST

/* Worker threads creating and destroying sandboxes under one parent that
 * keeps appearing and disappearing: every create and destroy succeeds. */
#define N_RACERS 8
#define N_ROUNDS 25

struct racer {
	pthread_t thread;
	int idx;
	const struct cgroup_sys *s;
	struct cradle_err err;
	int rc;
};

static void *
racer_main(void *arg)
{
	struct racer *r = arg;
	char rel[256];

	for (int i = 0; i < N_ROUNDS && r->rc == 0; i++) {
		struct cgroup *cg = NULL;
		snprintf(rel, sizeof(rel), "/%s/race/pod/%d-%d", tag, r->idx, i);
		if ((r->rc = cgroup_create(r->s, rel, 2, &cg, &r->err)) == 0)
			r->rc = cgroup_destroy(cg, &r->err);
	}
	return NULL;
}

START_TEST(test_threads_share_parents)
{
	struct racer r[N_RACERS];

	memset(r, 0, sizeof(r));
	for (int i = 0; i < N_RACERS; i++) {
		r[i].idx = i;
		r[i].s = hs;
		ck_assert_int_eq(pthread_create(&r[i].thread, NULL, racer_main, &r[i]), 0);
	}
	for (int i = 0; i < N_RACERS; i++)
		ck_assert_int_eq(pthread_join(r[i].thread, NULL), 0);
	for (int i = 0; i < N_RACERS; i++)
		ck_assert_msg(r[i].rc == 0, "racer %d: %s", i, r[i].err.msg);
	for (int i = 0; i < N_RACERS; i++)
		for (int j = 0; j < N_ROUNDS; j++) {
			char rel[256];
			snprintf(rel, sizeof(rel), "/%s/race/pod/%d-%d", tag, i, j);
			assert_leaf(hs, rel, false);
		}
}
END_TEST

START_TEST(test_remove_path)
{
	struct cgroup *cg = NULL;
	struct cradle_err err = { 0 };
	char rel[PATH_MAX], parent[PATH_MAX];

	test_path(rel, sizeof(rel), "restart");
	snprintf(parent, sizeof(parent), "/%s/restart", tag);
	cg = create_ok(hs, rel, 2);
	cgroup_release(cg); /* the daemon restarted */
	cgroup_release(NULL);
	assert_leaf(hs, rel, true);
	ck_assert_msg(cgroup_remove_path(hs, rel, &err) == 0, "%s", err.msg);
	assert_leaf(hs, rel, false);
	assert_dirs(hs, parent, true, false);                                 /* only the leaf */
	ck_assert_msg(cgroup_remove_path(hs, rel, &err) == 0, "%s", err.msg); /* gone: fine */

	ck_assert_int_lt(cgroup_remove_path(hs, "/a/../b", &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "\"/a/../b\"") != NULL, "%s", err.msg);

	/* busy: retried, then an error */
	cg = create_ok(hs, rel, 2);
	pid_t child = join_all(cg);
	cgroup_release(cg);
	ck_assert_int_eq(cgroup_remove_path(hs, rel, &err), -EBUSY);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
	ck_assert_msg(strstr(err.msg, rel) != NULL, "%s", err.msg);
	kill_wait(child);
	ck_assert_msg(cgroup_remove_path(hs, rel, &err) == 0, "%s", err.msg);
	assert_leaf(hs, rel, false);
}
END_TEST

START_TEST(test_create_slice_form)
{
	struct cgroup *cg = NULL;
	char spec[PATH_MAX], want[PATH_MAX];

	/* "<tag>-burstable.slice:cri-containerd:ID" */
	snprintf(spec, sizeof(spec), "%s-burstable.slice:cri-containerd:" ID, stag);
	snprintf(want, sizeof(want), "/%s.slice/%s-burstable.slice/cri-containerd-" ID ".scope",
	         stag, stag);
	cg = create_ok(hs, spec, 2);
	ck_assert_str_eq(cgroup_path(cg), want);
	assert_leaf(hs, want, true);
	if (cgroup_v2_dirfd(cg) >= 0)
		kill_wait(spawn_into(cg, want));
	destroy_ok(cg);
	assert_leaf(hs, want, false);
	snprintf(want, sizeof(want), "/%s.slice", stag);
	assert_leaf(hs, want, false);
}
END_TEST

START_TEST(test_create_bad_paths)
{
	static const char *const bad[] = {
		"", "relative/x", "/", "/x//y", "/x/../../etc", "/x/.", "nope:cri-containerd:x",
	};
	char top[PATH_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cgroup *cg = (struct cgroup *)&cg;
		struct cradle_err err = { 0 };
		char quoted[PATH_MAX];
		ck_assert_int_lt(cgroup_create(hs, bad[i], 2, &cg, &err), 0);
		ck_assert_ptr_null(cg);
		ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
		snprintf(quoted, sizeof(quoted), "\"%s\"", bad[i]);
		ck_assert_msg(strstr(err.msg, quoted) != NULL, "%s", err.msg);
	}
	snprintf(top, sizeof(top), "/%s", tag);
	assert_leaf(hs, top, false);
}
END_TEST

START_TEST(test_create_rollback)
{
	/* a real cpu hierarchy, then a fake "memory" one (a plain directory:
	 * its leaf has no cgroup.procs): create fails in the second and
	 * removes what it made in the first, but not what existed before. */
	struct cgroup_sys *s;
	struct cgroup *cg = (struct cgroup *)&cg;
	struct cradle_err err = { 0 };
	char fake[PATH_MAX], text[4 * PATH_MAX], rel[PATH_MAX], dir[PATH_MAX], pre[PATH_MAX];
	const char *cpu = cgroup_v1_mount(hs, "cpu");

	if (cpu == NULL) {
		fprintf(stderr, "test_cgroup: no v1 cpu hierarchy here, rollback not tested\n");
		return;
	}
	unit_path(fake, sizeof(fake), "fake-memory");
	ck_assert_int_eq(mkdir(fake, 0755), 0);
	snprintf(pre, sizeof(pre), "/%s", tag);
	cat3(dir, sizeof(dir), fake, pre, NULL);
	ck_assert_int_eq(mkdir(dir, 0755), 0); /* existed before: stays */
	snprintf(text, sizeof(text),
	         "1 0 0:90 / %s rw - cgroup cgroup rw,cpu\n"
	         "2 0 0:91 / %s rw - cgroup cgroup rw,memory\n",
	         cpu, fake);
	s = detect_text(text, CGROUP_V1);

	test_path(rel, sizeof(rel), "rollback");
	ck_assert_int_lt(cgroup_create(s, rel, 2, &cg, &err), 0);
	ck_assert_ptr_null(cg);
	ck_assert_msg(strstr(err.msg, rel) != NULL && strstr(err.msg, "cgroup.procs") != NULL, "%s",
	              err.msg);
	cat3(dir, sizeof(dir), cpu, pre, NULL);
	ck_assert_msg(!unit_exists(dir), "%s left behind", dir);
	cat3(dir, sizeof(dir), fake, rel, NULL);
	ck_assert_msg(!unit_exists(dir), "%s left behind", dir);
	cat3(dir, sizeof(dir), fake, pre, NULL);
	ck_assert_msg(is_dir(dir), "%s removed", dir);
	ck_assert_int_eq(unit_rm_rf(fake), 0);
	cgroup_sys_free(s);
}
END_TEST

/* --- pure v2 ------------------------------------------------------------------ */

static char v2_mnt[PATH_MAX];

static void
v2_teardown(void)
{
	if (v2_mnt[0]) {
		umount2(v2_mnt, MNT_DETACH);
		rmdir(v2_mnt);
		v2_mnt[0] = '\0';
	}
	teardown();
}

/* cgroup2 mounted again at a scratch directory, in the test's own mount
 * namespace, and a mountinfo naming it the only cgroup2. */
static struct cgroup_sys *
pure_v2(void)
{
	char text[2 * PATH_MAX];

	unit_path(v2_mnt, sizeof(v2_mnt), "cgroup2");
	ck_assert_int_eq(mkdir(v2_mnt, 0755), 0);
	ck_assert_msg(mount("cgroup2", v2_mnt, "cgroup2", 0, NULL) == 0, "mount cgroup2: %s",
	              strerror(errno));
	snprintf(text, sizeof(text), ROOTFS "90 25 0:95 / %s rw,relatime - cgroup2 cgroup2 rw\n",
	         v2_mnt);
	return detect_text(text, CGROUP_V2);
}

START_TEST(test_pure_v2_real)
{
	struct cgroup_sys *s = pure_v2();
	struct cgroup *cg = NULL;
	char rel[PATH_MAX], dir[PATH_MAX], want[PATH_MAX + 16];
	char *avail, *before, *after;

	snprintf(want, sizeof(want), "v2 at %s", v2_mnt);
	ck_assert_str_eq(cgroup_describe(s), want);
	cat3(dir, sizeof(dir), v2_mnt, "/cgroup.controllers", NULL);
	avail = unit_slurp(dir, NULL);
	ck_assert_ptr_nonnull(avail);
	cat3(dir, sizeof(dir), v2_mnt, "/cgroup.subtree_control", NULL);
	before = unit_slurp(dir, NULL);
	ck_assert_ptr_nonnull(before);
	fprintf(stderr, "test_cgroup: cgroup2 offers \"%.*s\" here\n", (int)strcspn(avail, "\n"),
	        avail);

	test_path(rel, sizeof(rel), "v2");
	cg = create_ok(s, rel, 2);
	cat3(dir, sizeof(dir), v2_mnt, rel, NULL);
	ck_assert(is_dir(dir));
	ck_assert_int_eq(cgroup_procs_fds(cg, NULL, 0), 0);
	ck_assert_int_ge(cgroup_v2_dirfd(cg), 0);

	/* the root enabled only what it offers of cpu, memory, pids */
	cat3(dir, sizeof(dir), v2_mnt, "/cgroup.subtree_control", NULL);
	after = unit_slurp(dir, NULL);
	ck_assert_ptr_nonnull(after);
	static const char *const wanted[] = { "cpu", "memory", "pids" };
	for (size_t i = 0; i < 3; i++)
		ck_assert_msg(has_word(after, wanted[i]) ==
		                      (has_word(before, wanted[i]) || has_word(avail, wanted[i])),
		              "%s: subtree_control \"%s\"", wanted[i], after);
	for (char *p = after; *p;) { /* nothing else added */
		size_t l = strcspn(p, " \n");
		char w[64];
		snprintf(w, sizeof(w), "%.*s", (int)l, p);
		ck_assert_msg(has_word(before, w) || !strcmp(w, "cpu") || !strcmp(w, "memory") ||
		                      !strcmp(w, "pids"),
		              "%s enabled", w);
		p += l;
		p += strspn(p, " \n");
	}
	/* cpu.weight where the leaf has the cpu controller */
	cat3(dir, sizeof(dir), v2_mnt, rel, "/cpu.weight");
	if (has_word(avail, "cpu"))
		unit_assert_file_is(dir, "1\n");
	else
		ck_assert_msg(!unit_exists(dir), "%s without a cpu controller", dir);

	kill_wait(spawn_into(cg, rel));

	destroy_ok(cg);
	cat3(dir, sizeof(dir), v2_mnt, "/", tag);
	ck_assert_msg(!unit_exists(dir), "%s left behind", dir);
	free(avail);
	free(before);
	free(after);
	cgroup_sys_free(s);
}
END_TEST

/* root/rel holds exactly want. */
static void
assert_in(const char *root, const char *rel, const char *want)
{
	char p[PATH_MAX];

	cat3(p, sizeof(p), root, "/", rel);
	unit_assert_file_is(p, want);
}

/* cgroup_create on the fake v2 hierarchy: everything up to attaching the
 * device program, which a plain directory cannot take. */
static void
fake_create(const struct cgroup_sys *s, const char *path, uint64_t shares)
{
	struct cradle_err err = { 0 };
	struct cgroup *cg = NULL;

	ck_assert_int_lt(cgroup_create(s, path, shares, &cg, &err), 0);
	ck_assert_ptr_null(cg);
	ck_assert_msg(strstr(err.msg, "attach the eBPF device program") != NULL &&
	                      strstr(err.msg, path) != NULL,
	              "create %s: %s", path, err.msg);
}

START_TEST(test_fake_v2_controllers)
{
	/* A fake cgroup2 (plain directories and files) to see what is written:
	 *   /                 offers everything, enables nothing
	 *   /a                offers cpu pids, has cpu enabled already
	 *   /a/b              refuses every write (subtree_control is a dir)
	 *   /a/b/leaf         the sandbox: cgroup.procs, cpu.weight */
	static const struct {
		const char *rel, *text; /* text NULL: a directory */
	} tree[] = {
		{ "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n" },
		{ "cgroup.subtree_control", "" },
		{ "a", NULL },
		{ "a/cgroup.controllers", "cpu pids\n" },
		{ "a/cgroup.subtree_control", "cpu\n" },
		{ "a/b", NULL },
		{ "a/b/cgroup.controllers", "cpu memory pids\n" },
		{ "a/b/cgroup.subtree_control", NULL },
		{ "a/b/leaf", NULL },
		{ "a/b/leaf/cgroup.procs", "" },
		{ "a/b/leaf/cpu.weight", "100\n" },
	};
	char fake[PATH_MAX], text[2 * PATH_MAX], p[PATH_MAX];
	struct cgroup_sys *s;
	struct cgroup *cg = NULL;
	struct cradle_err err = { 0 };

	unit_path(fake, sizeof(fake), "fake-v2");
	ck_assert_int_eq(mkdir(fake, 0755), 0);
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++) {
		if (tree[i].text == NULL)
			unit_mkdir_in(fake, tree[i].rel);
		else
			unit_put_in(fake, tree[i].rel, tree[i].text, 0644);
	}
	snprintf(text, sizeof(text), "90 25 0:95 / %s rw - cgroup2 cgroup2 rw\n", fake);
	s = detect_text(text, CGROUP_V2);
	/* Devices are on v2 here, so every leaf gets the eBPF device program,
	 * which the kernel attaches to real cgroups only: each create below
	 * writes what it writes, then fails there (the program itself is
	 * tested on a real cgroup2 by test_devices). */
	ck_assert_int_ge(cgroup_devices_prog(s), 0);

	fake_create(s, "/a/b/leaf", 2);
	assert_in(fake, "cgroup.subtree_control", "+cpu +memory +pids");
	assert_in(fake, "a/cgroup.subtree_control", "+pids");
	assert_in(fake, "a/b/leaf/cpu.weight", "1");
	cat3(p, sizeof(p), fake, "/a/b/leaf", NULL);
	ck_assert_msg(is_dir(p), "a leaf it did not make was removed");

	fake_create(s, "/a/b/leaf", 1024);
	assert_in(fake, "a/b/leaf/cpu.weight", "39");

	unit_put_in(fake, "a/b/leaf/cpu.weight", "100\n", 0644);
	fake_create(s, "/a/b/leaf", 0);
	assert_in(fake, "a/b/leaf/cpu.weight", "100\n"); /* 0: not set */

	/* no cpu.weight (no cpu controller in the leaf): nothing to set, and
	 * the failure is the device program's, not cpu.weight's */
	cat3(p, sizeof(p), fake, "/a/b/leaf/cpu.weight", NULL);
	ck_assert_int_eq(unlink(p), 0);
	fake_create(s, "/a/b/leaf", 2);

	/* a leaf it makes: refused as well,
	 * and the directories it made are gone again */
	ck_assert_int_lt(cgroup_create(s, "/a/new/leaf", 2, &cg, &err), 0);
	ck_assert_msg(strstr(err.msg, "\"/a/new/leaf\"") != NULL, "%s", err.msg);
	cat3(p, sizeof(p), fake, "/a/new", NULL);
	ck_assert_msg(!unit_exists(p), "%s left behind", p);

	ck_assert_int_eq(unit_rm_rf(fake), 0);
	cgroup_sys_free(s);
}
END_TEST

START_TEST(test_cgroup_of_pid)
{
	char want[PATH_MAX], got[PATH_MAX], tiny[2];

	if (cgroup_v2_mount(hs) != NULL) {
		proc_cgroup(getpid(), "", want, sizeof(want));
		ck_assert_int_eq(cgroup_of_pid(getpid(), "", got, sizeof(got)), 0);
		ck_assert_str_eq(got, want);
		ck_assert_int_eq(cgroup_of_pid(getpid(), NULL, got, sizeof(got)), 0);
		ck_assert_str_eq(got, want);
	}
	for (size_t i = 0; i < N_JOINED; i++) {
		if (cgroup_layout_of(hs) == CGROUP_V2 || cgroup_v1_mount(hs, joined[i]) == NULL)
			continue;
		proc_cgroup(getpid(), joined[i], want, sizeof(want));
		ck_assert_int_eq(cgroup_of_pid(getpid(), joined[i], got, sizeof(got)), 0);
		ck_assert_str_eq(got, want);
	}
	ck_assert_int_eq(cgroup_of_pid(getpid(), "nosuch", got, sizeof(got)), -ENOENT);
	ck_assert_int_eq(cgroup_of_pid(getpid(), "cpu,", got, sizeof(got)), -ENOENT);
	ck_assert_int_eq(cgroup_of_pid(getpid(), cgroup_v2_mount(hs) ? "" : "cpu", tiny, 1),
	                 -ERANGE);
	ck_assert_int_lt(cgroup_of_pid(-5, "", got, sizeof(got)), 0);
}
END_TEST

static Suite *
cgroup_suite(void)
{
	Suite *s = suite_create("cgroup");

	unit_tcase(s, "detect", unit_scratch_setup, teardown, 0,
	           UNIT_TESTS(test_detect_host, test_detect_pure_v1, test_detect_pure_v2,
	                      test_detect_hybrid, test_detect_merged_and_duplicates,
	                      test_detect_none));

	unit_tcase(s, "paths", NULL, NULL, 0, UNIT_TESTS(test_paths, test_weight));

	unit_tcase(s, "host", host_setup, host_teardown, 30,
	           UNIT_TESTS(test_create_host, test_clone_into_cgroup, test_destroy_busy,
	                      test_shared_parent, test_threads_share_parents, test_remove_path,
	                      test_create_slice_form, test_create_bad_paths, test_create_rollback,
	                      test_cgroup_of_pid));

	unit_tcase(s, "v2", unit_scratch_setup_ns, v2_teardown, 30,
	           UNIT_TESTS(test_pure_v2_real, test_fake_v2_controllers));

	return s;
}

/* The run's own steps: its tags, and the sweep after the last test. */
static int
tag_run(void)
{
	snprintf(tag, sizeof(tag), "cradle-test-%d", (int)getpid());
	snprintf(stag, sizeof(stag), "cradle_test_%d", (int)getpid());
	return 0;
}

static int
sweep_run(void)
{
	int left = sweep();

	if (left != 0)
		fprintf(stderr, "test_cgroup: %d test cgroups could not be removed\n", left);
	return left;
}

int
main(void)
{
	return unit_run_with(cgroup_suite(), "test_cgroup", UNIT_ROOT | UNIT_SUBREAPER, tag_run,
	                     sweep_run);
}
