/* test_devices.c - device control (sandbox/devices.c): the rule list as v1
 * text, the eBPF device program, and that program on a real cgroup v2.
 *
 * ROOT: the tests load BPF programs, mount cgroup2, make cgroups and block
 * device nodes, so they need root, as CI runs them.
 *
 * The kernel tests mount cgroup2 again at a scratch directory inside the
 * test's own mount namespace (it is the machine's one cgroup2 hierarchy,
 * /sys/fs/cgroup/unified on the hybrid CI machine, where devices are a v1
 * controller: a BPF device program on a v2 cgroup is asked all the same),
 * make cgroups below it, and move forked probes into them.  A probe opens
 * /dev/null and a block device node the test made with mknod (the root
 * file system's device, or the first of /sys/dev/block that root may
 * open here), and mknods one itself.  Without the program it opens the block device; with it,
 * EPERM.
 *
 * Clean-up.  Every cgroup a test makes is "cradle-devtest-<pid>-*" (<pid>
 * the runner's) in the cgroup2 root; the teardown and the run's last step
 * kill what is in them and remove them.  Mounts vanish with the test's
 * mount namespace.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "sandbox/cgroup.h"
#include "sandbox/devices.h"
#include "tests/unit/lib/unit.h"

static char tag[64]; /* "cradle-devtest-<pid>" (the runner's pid) */

/* --- clean-up ---------------------------------------------------------------- */

/* The machine's cgroup2 mount point, from /proc/self/mounts. */
static bool
v2_root(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char src[256], dir[512], type[64];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fscanf(f, "%255s %511s %63s %*s %*d %*d", src, dir, type) == 3)
		if (strcmp(type, "cgroup2") == 0 && (size_t)snprintf(out, len, "%s", dir) < len)
			found = true;
	fclose(f);
	return found;
}

/* Every tagged cgroup of the cgroup2 root; the number left. */
static int
sweep(void)
{
	char root[PATH_MAX], dir[PATH_MAX];
	struct dirent *e;
	int left = 0;
	DIR *d;

	if (!v2_root(root, sizeof(root)) || (d = opendir(root)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, tag, strlen(tag)) != 0 ||
		    snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name) >= (int)sizeof(dir))
			continue;
		unit_cgroup_kill_rmtree(dir);
		left += unit_exists(dir);
	}
	closedir(d);
	return left;
}

static void
teardown(void)
{
	ck_assert_int_eq(sweep(), 0);
	unit_scratch_teardown();
}

/* --- the rule list ------------------------------------------------------------ */

START_TEST(test_rule_text)
{
	/* exactly what cgroup.c wrote to devices.allow before the list moved
	 * here (runc's AllowedDevices) */
	static const char *const want[] = {
		"c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm",
		"c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
	};
	char buf[64];

	ck_assert_uint_eq(devices_default_n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < devices_default_n; i++) {
		devices_rule_text(&devices_default_rules[i], buf, sizeof(buf));
		ck_assert_str_eq(buf, want[i]);
	}
	struct dev_rule r = { 'b', 8, DEV_ANY, DEV_ACC_READ | DEV_ACC_WRITE };
	devices_rule_text(&r, buf, sizeof(buf));
	ck_assert_str_eq(buf, "b 8:* rw");
}
END_TEST

START_TEST(test_build)
{
	struct bpf_insn v[DEVICES_INSNS_MAX(16)];
	int n = devices_prog_build(devices_default_rules, devices_default_n, v,
	                           DEVICES_INSNS_MAX(16));

	ck_assert_int_gt(n, 0);
	ck_assert_int_le(n, (int)DEVICES_INSNS_MAX(devices_default_n));
	/* ends in "r0 = 0; exit": what no rule allows is denied */
	ck_assert_int_eq(v[n - 2].code, BPF_ALU64 | BPF_MOV | BPF_K);
	ck_assert_int_eq(v[n - 2].dst_reg, 0);
	ck_assert_int_eq(v[n - 2].imm, 0);
	ck_assert_int_eq(v[n - 1].code, BPF_JMP | BPF_EXIT);
	/* every jump lands inside the program, forward */
	for (int i = 0; i < n; i++)
		if (v[i].code == (BPF_JMP | BPF_JNE | BPF_K)) {
			ck_assert_int_ge(v[i].off, 0);
			ck_assert_int_lt(i + 1 + v[i].off, n);
		}
	/* no rule: deny everything, two instructions after the loads */
	ck_assert_int_eq(devices_prog_build(NULL, 0, v, 16), 8);
	/* refused */
	ck_assert_int_eq(devices_prog_build(devices_default_rules, devices_default_n, v, 10),
	                 -ENOSPC);
	struct dev_rule bad[] = {
		{ 'x', 1, 3, DEV_ACC_ALL },
		{ 'c', 1, 3, 8 },
		{ 'c', -7, 3, DEV_ACC_ALL },
		{ 'c', 1, 3, 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(devices_prog_build(&bad[i], 1, v, 64), -EINVAL);
}
END_TEST

START_TEST(test_load)
{
	struct cradle_err err = { 0 };
	int fd = devices_prog_load(devices_default_rules, devices_default_n, &err);

	ck_assert_msg(fd >= 0, "%s", err.msg);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_uint_gt(devices_prog_id(fd), 0);
	close(fd);

	/* a refused load says which program and why */
	struct dev_rule bad = { 'q', 1, 3, DEV_ACC_ALL };
	ck_assert_int_lt(devices_prog_load(&bad, 1, &err), 0);
	ck_assert_msg(strstr(err.msg, "eBPF device program") != NULL, "%s", err.msg);
}
END_TEST

/* --- probes --------------------------------------------------------------------- */

/* Does a node of dev at path open (made and removed here)? */
static bool
opens_as(const char *path, dev_t dev)
{
	int fd;

	unlink(path);
	if (mknod(path, S_IFBLK | 0600, dev) != 0)
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* A block device of this machine that the test itself may open (some
 * hosts refuse their mounted disk to everyone): the root file system's,
 * or else the first of /sys/dev/block that opens (loop0 on CI). */
static dev_t
some_block_device(void)
{
	char path[PATH_MAX];
	struct stat st;
	unsigned maj, min;
	struct dirent *e;
	DIR *d;

	unit_path(path, sizeof(path), "probe-node");
	ck_assert_int_eq(stat("/", &st), 0);
	if (major(st.st_dev) != 0 && opens_as(path, st.st_dev))
		return st.st_dev;
	d = opendir("/sys/dev/block");
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (sscanf(e->d_name, "%u:%u", &maj, &min) == 2 &&
		    opens_as(path, makedev(maj, min))) {
			closedir(d);
			return makedev(maj, min);
		}
	closedir(d);
	ck_abort_msg("no block device on this machine that root may open");
	return 0;
}

/* What a probe saw: 0 or the errno of each step. */
struct seen {
	int join, devnull, blk, mknod_blk, own_blk, mknod_null, own_null;
};

static int
err_of(long rc)
{
	return rc < 0 ? errno : 0;
}

static int
open_close(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* Fork a probe into the cgroup whose cgroup.procs is procs: it opens
 * /dev/null and blk, mknods a block and a char node named <name>-* in the
 * test's directory, opens them, and reports. */
static struct seen
probe(const char *procs, const char *blk, dev_t dev, const char *name)
{
	char own_blk[PATH_MAX], own_null[PATH_MAX], tmp[PATH_MAX];
	struct seen s;
	int p[2], st;
	pid_t pid;

	snprintf(tmp, sizeof(tmp), "%s-blk", name);
	unit_path(own_blk, sizeof(own_blk), tmp);
	snprintf(tmp, sizeof(tmp), "%s-null", name);
	unit_path(own_null, sizeof(own_null), tmp);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(procs, O_WRONLY | O_CLOEXEC);
		memset(&s, 0, sizeof(s));
		s.join = fd < 0 ? errno : err_of(write(fd, "0", 1));
		if (fd >= 0)
			close(fd);
		s.devnull = open_close("/dev/null", O_RDWR);
		s.blk = open_close(blk, O_RDONLY);
		s.mknod_blk = err_of(mknod(own_blk, S_IFBLK | 0600, dev));
		s.own_blk = s.mknod_blk ? -1 : open_close(own_blk, O_RDONLY);
		s.mknod_null = err_of(mknod(own_null, S_IFCHR | 0666, makedev(1, 3)));
		s.own_null = s.mknod_null ? -1 : open_close(own_null, O_RDWR);
		_exit(write(p[1], &s, sizeof(s)) == sizeof(s) ? 0 : 1);
	}
	close(p[1]);
	ssize_t got = read(p[0], &s, sizeof(s));
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(got == sizeof(s) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "probe failed");
	unlink(own_blk);
	unlink(own_null);
	ck_assert_msg(s.join == 0, "join %s: %s", procs, strerror(s.join));
	return s;
}

/* A cgroup "<tag>-<what>" in the cgroup2 mounted at mnt. */
static void
make_cgroup(const char *mnt, const char *what, char *dir, size_t len)
{
	ck_assert((size_t)snprintf(dir, len, "%s/%s-%s", mnt, tag, what) < len);
	ck_assert_msg(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
}

static char v2_mnt[PATH_MAX];

static void
v2_setup(void)
{
	unit_scratch_setup_ns();
	unit_path(v2_mnt, sizeof(v2_mnt), "cgroup2");
	ck_assert_int_eq(mkdir(v2_mnt, 0755), 0);
	ck_assert_msg(mount("cgroup2", v2_mnt, "cgroup2", 0, NULL) == 0, "mount cgroup2: %s",
	              strerror(errno));
}

static void
v2_teardown(void)
{
	umount2(v2_mnt, MNT_DETACH);
	rmdir(v2_mnt);
	teardown();
}

/* Wait until the program with id is gone from the kernel (cgroup removal
 * releases its attachments asynchronously); whether it went. */
static bool
prog_gone(uint32_t id)
{
	for (int i = 0; i < 300; i++) {
		union bpf_attr a;
		memset(&a, 0, sizeof(a));
		a.prog_id = id;
		int fd = (int)syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &a, sizeof(a));
		if (fd < 0 && errno == ENOENT)
			return true;
		if (fd >= 0)
			close(fd);
		unit_sleep_ms(10);
	}
	return false;
}

START_TEST(test_v2_program)
{
	char blk[PATH_MAX], with[PATH_MAX], without[PATH_MAX], procs[PATH_MAX + 16];
	struct cradle_err err = { 0 };
	dev_t dev = some_block_device();
	uint32_t ids[4];
	struct seen s;

	unit_path(blk, sizeof(blk), "disk");
	ck_assert_int_eq(mknod(blk, S_IFBLK | 0600, dev), 0);
	make_cgroup(v2_mnt, "without", without, sizeof(without));
	make_cgroup(v2_mnt, "with", with, sizeof(with));

	/* without the program, a root task with CAP_MKNOD has the disk */
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", without);
	s = probe(procs, blk, dev, "without");
	ck_assert_int_eq(s.devnull, 0);
	ck_assert_msg(s.blk == 0, "open %s (%u:%u) without the program: %s", blk, major(dev),
	              minor(dev), strerror(s.blk));
	ck_assert_int_eq(s.mknod_blk, 0);
	ck_assert_int_eq(s.own_blk, 0);

	/* with the default sandbox rules attached */
	int prog = devices_prog_load(devices_default_rules, devices_default_n, &err);
	ck_assert_msg(prog >= 0, "%s", err.msg);
	uint32_t id = devices_prog_id(prog);
	int cfd = open(with, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(cfd, 0);
	ck_assert_msg(devices_prog_attach(prog, cfd, with, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(devices_prog_query(cfd, ids, 4), 1);
	ck_assert_uint_eq(ids[0], id);

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", with);
	s = probe(procs, blk, dev, "with");
	ck_assert_msg(s.devnull == 0, "open /dev/null: %s", strerror(s.devnull));
	ck_assert_msg(s.blk == EPERM, "open %s: %s, want EPERM", blk, strerror(s.blk));
	/* mknod stays allowed ("b *:* m"), the node it made is no use */
	ck_assert_msg(s.mknod_blk == 0, "mknod: %s", strerror(s.mknod_blk));
	ck_assert_msg(s.own_blk == EPERM, "open own node: %s", strerror(s.own_blk));
	ck_assert_int_eq(s.mknod_null, 0);
	ck_assert_int_eq(s.own_null, 0);

	/* an O_PATH descriptor of the cgroup is refused by the kernel, and
	 * the message names the cgroup */
	int pathfd = open(with, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(pathfd, 0);
	ck_assert_int_lt(devices_prog_attach(prog, pathfd, "/some/cgroup", &err), 0);
	ck_assert_msg(strstr(err.msg, "\"/some/cgroup\"") != NULL, "%s", err.msg);
	close(pathfd);

	/* the program goes with the cgroup: nothing holds it once the
	 * cgroup is removed and the loader's descriptor is closed */
	close(cfd);
	close(prog);
	ck_assert_int_eq(rmdir(with), 0);
	ck_assert_int_eq(rmdir(without), 0);
	ck_assert_msg(prog_gone(id), "program %u still loaded after its cgroup went", id);
}
END_TEST

/* --- through cgroup_create ------------------------------------------------------ */

/* cgroup_detect_at on a mountinfo naming cgroup2 at mnt the only hierarchy. */
static struct cgroup_sys *
detect_pure_v2(const char *mnt)
{
	char path[PATH_MAX], text[2 * PATH_MAX];
	struct cgroup_sys *s = NULL;
	struct cradle_err err = { 0 };

	snprintf(text, sizeof(text),
	         "22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
	         "90 25 0:95 / %s rw,relatime - cgroup2 cgroup2 rw\n",
	         mnt);
	unit_path(path, sizeof(path), "mountinfo");
	unit_put_str(path, text);
	ck_assert_msg(cgroup_detect_at(path, &s, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(cgroup_layout_of(s), CGROUP_V2);
	unlink(path);
	return s;
}

START_TEST(test_v2_sandbox_cgroup)
{
	struct cgroup_sys *s = detect_pure_v2(v2_mnt);
	struct cradle_err err = { 0 };
	struct cgroup *cg = NULL;
	char rel[PATH_MAX], leaf[PATH_MAX], procs[PATH_MAX + 16], blk[PATH_MAX];
	dev_t dev = some_block_device();
	uint32_t ids[4];

	ck_assert_int_ge(cgroup_devices_prog(s), 0);
	unit_path(blk, sizeof(blk), "disk");
	ck_assert_int_eq(mknod(blk, S_IFBLK | 0600, dev), 0);

	UNIT_FMT(rel, "/%s-pod/sandbox", tag);
	ck_assert_msg(cgroup_create(s, rel, 2, &cg, &err) == 0, "%s", err.msg);
	UNIT_FMT(leaf, "%s%s", v2_mnt, rel);
	int fd = open(leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(devices_prog_query(fd, ids, 4), 1);
	ck_assert_uint_eq(ids[0], devices_prog_id(cgroup_devices_prog(s)));
	close(fd);
	/* only the leaf: the pod's parent is not the sandbox's to restrict */
	UNIT_FMT(leaf, "%s/%s-pod", v2_mnt, tag);
	fd = open(leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(devices_prog_query(fd, ids, 4), 0);
	close(fd);

	UNIT_FMT(procs, "%s%s/cgroup.procs", v2_mnt, rel);
	struct seen seen = probe(procs, blk, dev, "sandbox");
	ck_assert_int_eq(seen.devnull, 0);
	ck_assert_msg(seen.blk == EPERM, "open %s in the sandbox cgroup: %s", blk,
	              strerror(seen.blk));
	ck_assert_int_eq(seen.own_blk, EPERM);

	ck_assert_msg(cgroup_destroy(cg, &err) == 0, "%s", err.msg);
	ck_assert_msg(!unit_exists(leaf), "%s left behind", leaf);
	cgroup_sys_free(s);
}
END_TEST

START_TEST(test_hybrid_v1_devices)
{
	/* This machine: devices is a v1 controller, so no program is loaded
	 * and the v2 leaf stays without one (the v1 rules apply). */
	struct cgroup_sys *s = NULL;
	struct cradle_err err = { 0 };
	char root[PATH_MAX];

	ck_assert_msg(cgroup_detect(&s, &err) == 0, "%s", err.msg);
	if (cgroup_v1_mount(s, "devices") != NULL)
		ck_assert_int_eq(cgroup_devices_prog(s), -1);
	else if (v2_root(root, sizeof(root)))
		ck_assert_int_ge(cgroup_devices_prog(s), 0);
	cgroup_sys_free(s);
}
END_TEST

static Suite *
devices_suite(void)
{
	Suite *s = suite_create("devices");

	unit_tcase(s, "rules", unit_scratch_setup, teardown, 0,
	           UNIT_TESTS(test_rule_text, test_build, test_load, test_hybrid_v1_devices));
	unit_tcase(s, "v2", v2_setup, v2_teardown, 30,
	           UNIT_TESTS(test_v2_program, test_v2_sandbox_cgroup));
	return s;
}

static int
tag_run(void)
{
	snprintf(tag, sizeof(tag), "cradle-devtest-%d", (int)getpid());
	return 0;
}

static int
sweep_run(void)
{
	int left = sweep();

	if (left != 0)
		fprintf(stderr, "test_devices: %d test cgroups could not be removed\n", left);
	return left;
}

int
main(void)
{
	return unit_run_with(devices_suite(), "test_devices", UNIT_ROOT | UNIT_SUBREAPER, tag_run,
	                     sweep_run);
}
