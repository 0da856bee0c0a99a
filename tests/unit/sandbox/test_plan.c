/* test_plan.c - the launch plan (sandbox/plan.c).
 *
 * The plan tests start from the spec the daemon builds for a plain pod
 * (spec_build: POD namespaces, no security context, a pause image with
 * ENTRYPOINT ["/pause"], the runc handler, a node with every optional
 * feature off), turn it into a plan with plan_prepare against the pause
 * rootfs `make build/rootfs/pause` makes (realpath of $CRADLE_BUILD/rootfs,
 * default "build/rootfs"), and assert exact values: the ops the clone3
 * child will run, in order, and every plan field.  Nothing is launched.
 * ROOT: bind mounts are opened as detached trees (open_tree), which needs
 * CAP_SYS_ADMIN.
 *
 * Leaks: run under ASan, LeakSanitizer checks each test's process as it
 * exits (a leak fails that test):
 *   make BUILD=build-asan SAN=address build-asan/tests/unit/sandbox/test_plan \
 *        build-asan/rootfs/pause
 *   CRADLE_BUILD=$PWD/build-asan build-asan/tests/unit/sandbox/test_plan
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sandbox/launch.h"
#include "sandbox/plan.h"
#include "sandbox/selinux.h"
#include "sandbox/spec.h"
#include "tests/unit/lib/unit.h"
#include "tests/unit/sandbox/libspec.h"

#define IMAGE_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The pause image's config as pause/image-config.json has it. */
#define PAUSE_JSON                                                       \
	"{\"architecture\": \"amd64\", \"os\": \"linux\", \"config\": {" \
	"\"Entrypoint\": [\"/pause\"], \"Env\": [\"" IMAGE_PATH "\"], "  \
	"\"WorkingDir\": \"/\", \"Labels\": {\"io.cradle.image\": \"pause\"}}}"

static struct {
	struct pod_config pod;
	struct image_config image;
	struct runtime_config runtime;
	struct node_config node;
	struct spec_input in;
	struct sandbox_spec spec;
	struct launch_prep prep;
	struct launch_plan plan;
	struct cradle_err err;
	char rootfs[PATH_MAX];                          /* realpath of the pause rootfs */
	char dir[PATH_MAX];                             /* this test's own scratch directory */
	char shm[PATH_MAX + 16], resolv[PATH_MAX + 16]; /* bind sources in it */
} F;

#define SC (F.pod.linux.security_context)
#define NSO (F.pod.linux.security_context.namespace_options)

static void
setup(void)
{
	memset(&F, 0, sizeof(F));
	unit_spec_input(&F.pod, &F.image, &F.runtime, &F.node, &F.in);
	/* the pause image's config (pause/image-config.json) */
	ck_assert_int_eq(proto_strs_add(&F.image.env, IMAGE_PATH), 0);
	F.image.working_dir = unit_strdup("/");
	launch_plan_init(&F.plan);
	unit_pause_rootfs(F.rootfs);
	unit_scratch_setup();
	UNIT_FMT(F.dir, "%s", unit_test_dir());
	/* The bind sources must exist: the planner opens them to hand them
	 * to the child as detached trees. */
	UNIT_FMT(F.shm, "%s/shm", F.dir);
	UNIT_FMT(F.resolv, "%s/resolv.conf", F.dir);
	ck_assert_int_eq(mkdir(F.shm, 0700), 0);
	int fd = open(F.resolv, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	F.in.shm_path = F.shm;
	F.in.resolv_conf_path = F.resolv;
}

static void
teardown(void)
{
	plan_release(&F.prep);
	spec_fini(&F.spec);
	unit_spec_input_fini(&F.pod, &F.image, &F.runtime);
	unit_scratch_teardown();
}

static void
build_ok(void)
{
	int rc = spec_build(&F.in, &F.spec, &F.err);

	ck_assert_msg(rc == 0, "spec_build failed: %s", F.err.msg);
}

static void
prepare_ok(void)
{
	int rc = plan_prepare(&F.prep, &F.spec, F.rootfs, &F.plan, &F.err);

	ck_assert_msg(rc == 0, "plan_prepare failed: %s", F.err.msg);
}

/* Expect plan_prepare to fail with exactly this code and message, leaving
 * nothing allocated in prep. */
static void
prepare_fails(int code, const char *msg)
{
	ck_assert_int_lt(plan_prepare(&F.prep, &F.spec, F.rootfs, &F.plan, &F.err), 0);
	ck_assert_str_eq(F.err.msg, msg);
	ck_assert_int_eq(F.err.code, code);
	ck_assert_ptr_null(F.prep.ops);
	ck_assert_uint_eq(F.prep.n_ops, 0);
	ck_assert_ptr_null(F.prep.strings);
	ck_assert_uint_eq(F.prep.n_strings, 0);
	ck_assert_ptr_null(F.prep.argv);
	ck_assert_ptr_null(F.prep.envp);
	ck_assert_ptr_null(F.prep.groups);
}

/* Index of the first op of kind with target at or after from; -1 none. */
static long
find_op(int kind, const char *target, size_t from)
{
	for (size_t i = from; i < F.prep.n_ops; i++)
		if (F.prep.ops[i].kind == kind && F.prep.ops[i].target != NULL &&
		    strcmp(F.prep.ops[i].target, target) == 0)
			return (long)i;
	return -1;
}

static long
must_find(int kind, const char *target)
{
	long i = find_op(kind, target, 0);

	ck_assert_msg(i >= 0, "no op of kind %d with target \"%s\"", kind, target);
	return i;
}

/* The bind onto target: a detached copy of source's mount (the same file)
 * whose flags read back as exactly want (ST_RDONLY, ST_NOSUID, ...). */
static long
must_attach(const char *target, const char *source, unsigned long want)
{
	const unsigned long shown = ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC;
	long i = must_find(LOP_ATTACH, target);
	const struct launch_op *op = &F.prep.ops[i];
	struct stat tree, src;
	struct statvfs vfs;

	ck_assert_str_eq(op->step, "mount-bind");
	ck_assert_int_eq(fstat(op->fd, &tree), 0);
	ck_assert_int_eq(stat(source, &src), 0);
	ck_assert_msg(tree.st_dev == src.st_dev && tree.st_ino == src.st_ino,
	              "%s: the tree is not a copy of \"%s\"", target, source);
	ck_assert_int_eq(fstatvfs(op->fd, &vfs), 0);
	ck_assert_uint_eq(vfs.f_flag & shown, want);
	ck_assert_int_eq(fcntl(op->fd, F_GETFD), FD_CLOEXEC);
	return i;
}

static struct spec_mount *
spec_mount(const char *dst)
{
	for (size_t i = 0; i < F.spec.n_mounts; i++)
		if (strcmp(F.spec.mounts[i].destination, dst) == 0)
			return &F.spec.mounts[i];
	ck_abort_msg("no mount at %s in the spec", dst);
	return NULL;
}

static bool
same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* ======================================================================= */
/* plan_mount_options                                                       */
/* ======================================================================= */

struct opts_result {
	int rc;
	unsigned long flags;
	char *data;
	bool bind, ro;
};

static struct opts_result
options(const char *const *v)
{
	struct proto_strs s = { 0 };
	struct opts_result r;

	for (; *v != NULL; v++)
		ck_assert_int_eq(proto_strs_add(&s, *v), 0);
	/* garbage in, to see every output is written */
	r.flags = ~0ul;
	r.data = (char *)&r;
	r.bind = r.ro = true;
	r.rc = plan_mount_options(&s, &r.flags, &r.data, &r.bind, &r.ro);
	proto_strs_fini(&s);
	return r;
}

START_TEST(test_options_proc)
{
	static const char *const o[] = { "nosuid", "noexec", "nodev", NULL };
	struct opts_result r = options(o);

	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
	ck_assert_ptr_null(r.data);
	ck_assert(!r.bind);
	ck_assert(!r.ro);
}
END_TEST

START_TEST(test_options_dev_data)
{
	static const char *const o[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
	struct opts_result r = options(o);

	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.flags, MS_NOSUID | MS_STRICTATIME);
	ck_assert_pstr_eq(r.data, "mode=755,size=65536k");
	ck_assert(!r.bind);
	ck_assert(!r.ro);
	free(r.data);
}
END_TEST

START_TEST(test_options_devpts_data)
{
	static const char *const o[] = { "nosuid",    "noexec", "newinstance", "ptmxmode=0666",
		                         "mode=0620", "gid=5",  NULL };
	struct opts_result r = options(o);

	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.flags, MS_NOSUID | MS_NOEXEC);
	ck_assert_pstr_eq(r.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	free(r.data);
}
END_TEST

START_TEST(test_options_rbind_ro)
{
	static const char *const o[] = { "rbind", "ro", "nosuid", NULL };
	struct opts_result r = options(o);

	ck_assert_int_eq(r.rc, 0);
	ck_assert(r.bind);
	ck_assert(r.ro);
	ck_assert_uint_eq(r.flags, MS_NOSUID);
	ck_assert_ptr_null(r.data);
}
END_TEST

START_TEST(test_options_bind)
{
	static const char *const o[] = { "bind", NULL };
	struct opts_result r = options(o);

	ck_assert_int_eq(r.rc, 0);
	ck_assert(r.bind);
	ck_assert(!r.ro);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_ptr_null(r.data);
}
END_TEST

START_TEST(test_options_rw_ignored)
{
	static const char *const o1[] = { "rw", NULL };
	static const char *const o2[] = { "rw", "nodev", "size=1m", "rw", NULL };
	struct opts_result r = options(o1);

	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_ptr_null(r.data);
	ck_assert(!r.ro);
	ck_assert(!r.bind);

	r = options(o2);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.flags, MS_NODEV);
	ck_assert_pstr_eq(r.data, "size=1m");
	ck_assert(!r.ro);
	free(r.data);
}
END_TEST

START_TEST(test_options_atime_sync_flags)
{
	static const char *const o1[] = { "relatime", "sync", NULL };
	static const char *const o2[] = { "noatime", NULL };
	struct opts_result r = options(o1);

	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.flags, MS_RELATIME | MS_SYNCHRONOUS);
	ck_assert_ptr_null(r.data);
	r = options(o2);
	ck_assert_uint_eq(r.flags, MS_NOATIME);
	ck_assert_ptr_null(r.data);
}
END_TEST

START_TEST(test_options_empty)
{
	static const char *const o[] = { NULL };
	struct opts_result r = options(o);

	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_ptr_null(r.data);
	ck_assert(!r.bind);
	ck_assert(!r.ro);
}
END_TEST

/* ======================================================================= */
/* plan_prepare: the default sandbox                                        */
/* ======================================================================= */

struct want_op {
	int kind;
	const char *step, *source, *target, *fstype, *data;
	unsigned long flags;
	unsigned mode;
	unsigned long long dev;
	const char *value;
	bool optional;
};

#define NOSUID_NOEXEC_NODEV (MS_NOSUID | MS_NOEXEC | MS_NODEV)
/* An allowed node: an empty file on the nodev /dev, the host's node bound
 * onto it (no character device is made in the sandbox). */
/* clang-format off */
#define NODE(n) { LOP_MKNOD, "mount-dev", NULL, "dev/" n, NULL, NULL, 0, S_IFREG | 0666, 0, NULL, false }, \
	{ LOP_MOUNT, "mount-dev", "/dev/" n, "dev/" n, NULL, NULL, MS_BIND, 0, 0, NULL, false }
#define LINK(l, to) { LOP_SYMLINK, "mount-dev", to, l, NULL, NULL, 0, 0, 0, NULL, false }
#define MASK(t) { LOP_MASK, "masked-paths", NULL, t, NULL, NULL, 0, 0, 0, NULL, true }
#define RO(t) { LOP_READONLY, "readonly-paths", NULL, t, NULL, NULL, NOSUID_NOEXEC_NODEV, 0, 0, NULL, true }
/* clang-format on */

/* The whole plan of the default sandbox, in order. */
static const struct want_op default_ops[] = {
	{ LOP_MOUNT, "mount-proc", "proc", "proc", "proc", NULL, NOSUID_NOEXEC_NODEV, 0, 0, NULL,
	  false },
	/* nodev, unlike the spec's /dev (containerd's): only the binds open */
	{ LOP_MOUNT, "mount-dev", "tmpfs", "dev", "tmpfs", "mode=755,size=65536k",
	  MS_NOSUID | MS_STRICTATIME | MS_NODEV, 0, 0, NULL, false },
	NODE("null"),
	NODE("zero"),
	NODE("full"),
	NODE("random"),
	NODE("urandom"),
	NODE("tty"),
	LINK("dev/fd", "/proc/self/fd"),
	LINK("dev/stdin", "/proc/self/fd/0"),
	LINK("dev/stdout", "/proc/self/fd/1"),
	LINK("dev/stderr", "/proc/self/fd/2"),
	LINK("dev/ptmx", "pts/ptmx"),
	{ LOP_MKDIR, "mount-dev", NULL, "dev/pts", NULL, NULL, 0, 0755, 0, NULL, false },
	{ LOP_MOUNT, "mount-devpts", "devpts", "dev/pts", "devpts",
	  "newinstance,ptmxmode=0666,mode=0620,gid=5", MS_NOSUID | MS_NOEXEC, 0, 0, NULL, false },
	{ LOP_MKDIR, "mount-dev", NULL, "dev/mqueue", NULL, NULL, 0, 0755, 0, NULL, false },
	{ LOP_MOUNT, "mount-mqueue", "mqueue", "dev/mqueue", "mqueue", NULL, NOSUID_NOEXEC_NODEV, 0,
	  0, NULL, false },
	{ LOP_MOUNT, "mount-sys", "sysfs", "sys", "sysfs", NULL, NOSUID_NOEXEC_NODEV | MS_RDONLY, 0,
	  0, NULL, false },
	{ LOP_MKDIR, "mount-dev", NULL, "dev/shm", NULL, NULL, 0, 0755, 0, NULL, false },
	/* binds: detached trees with their flags set (must_attach) */
	{ LOP_ATTACH, "mount-bind", NULL, "dev/shm", NULL, NULL, 0, 0, 0, NULL, false },
	{ LOP_ATTACH, "mount-bind", NULL, "etc/resolv.conf", NULL, NULL, 0, 0, 0, NULL, false },
	{ LOP_WRITE, "oom-score-adj", NULL, "proc/self/oom_score_adj", NULL, NULL, 0, 0, 0, "-998",
	  false },
	MASK("proc/acpi"),
	MASK("proc/asound"),
	MASK("proc/kcore"),
	MASK("proc/keys"),
	MASK("proc/latency_stats"),
	MASK("proc/timer_list"),
	MASK("proc/timer_stats"),
	MASK("proc/sched_debug"),
	MASK("sys/firmware"),
	MASK("sys/devices/virtual/powercap"),
	MASK("proc/scsi"),
	RO("proc/bus"),
	RO("proc/fs"),
	RO("proc/irq"),
	RO("proc/sys"),
	RO("proc/sysrq-trigger"),
};

START_TEST(test_plan_default_ops_exact)
{
	size_t n = sizeof(default_ops) / sizeof(default_ops[0]);

	build_ok();
	prepare_ok();
	ck_assert_uint_eq(F.prep.n_ops, n);
	ck_assert_ptr_eq(F.plan.ops, F.prep.ops);
	ck_assert_uint_eq(F.plan.n_ops, n);
	for (size_t i = 0; i < n; i++) {
		const struct want_op *w = &default_ops[i];
		const struct launch_op *o = &F.prep.ops[i];
		unsigned long long dev = 0; /* no op makes a device node */

		ck_assert_msg(o->kind == w->kind, "op %zu (%s): kind %d, want %d", i, w->target,
		              o->kind, w->kind);
		ck_assert_msg(same(o->step, w->step), "op %zu (%s): step %s, want %s", i, w->target,
		              o->step, w->step);
		ck_assert_msg(same(o->source, w->source), "op %zu (%s): source %s, want %s", i,
		              w->target, o->source, w->source);
		ck_assert_msg(same(o->target, w->target), "op %zu: target %s, want %s", i,
		              o->target, w->target);
		ck_assert_msg(same(o->fstype, w->fstype), "op %zu (%s): fstype %s, want %s", i,
		              w->target, o->fstype, w->fstype);
		ck_assert_msg(same(o->data, w->data), "op %zu (%s): data %s, want %s", i, w->target,
		              o->data, w->data);
		ck_assert_msg(o->flags == w->flags, "op %zu (%s): flags %#lx, want %#lx", i,
		              w->target, o->flags, w->flags);
		ck_assert_msg(o->mode == w->mode, "op %zu (%s): mode %#o, want %#o", i, w->target,
		              o->mode, w->mode);
		ck_assert_msg(o->dev == dev, "op %zu (%s): dev %#llx, want %#llx", i, w->target,
		              o->dev, dev);
		ck_assert_msg(same(o->value, w->value), "op %zu (%s): value %s, want %s", i,
		              w->target, o->value, w->value);
		ck_assert_msg(o->len == (w->value ? strlen(w->value) : 0), "op %zu (%s): len %zu",
		              i, w->target, o->len);
		ck_assert_msg(o->optional == w->optional, "op %zu (%s): optional %d", i, w->target,
		              o->optional);
	}
}
END_TEST

START_TEST(test_plan_default_proc_first)
{
	build_ok();
	prepare_ok();
	ck_assert_uint_gt(F.prep.n_ops, 0);
	ck_assert_int_eq(F.prep.ops[0].kind, LOP_MOUNT);
	ck_assert_str_eq(F.prep.ops[0].source, "proc");
	ck_assert_str_eq(F.prep.ops[0].target, "proc");
	ck_assert_str_eq(F.prep.ops[0].fstype, "proc");
	ck_assert_uint_eq(F.prep.ops[0].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
	ck_assert_ptr_null(F.prep.ops[0].data);
	ck_assert_str_eq(F.prep.ops[0].step, "mount-proc");
}
END_TEST

/* /dev is a nodev tmpfs first, then its nodes (the host's, bound onto empty
 * files) and links, then the mount points below it are made before their
 * mounts. */
START_TEST(test_plan_default_dev_order)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	long dev, pts_dir, pts, ptmx, shm_dir, shm;
	char target[32], source[32];

	build_ok();
	prepare_ok();
	dev = must_find(LOP_MOUNT, "dev");
	ck_assert_str_eq(F.prep.ops[dev].fstype, "tmpfs");
	ck_assert_str_eq(F.prep.ops[dev].data, "mode=755,size=65536k");
	ck_assert_uint_eq(F.prep.ops[dev].flags & MS_NODEV, MS_NODEV);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		/* the nodes follow the tmpfs directly, in this order */
		const struct launch_op *mk = &F.prep.ops[dev + 1 + 2 * (long)i];
		const struct launch_op *bind = &F.prep.ops[dev + 2 + 2 * (long)i];

		UNIT_FMT(target, "dev/%s", nodes[i]);
		UNIT_FMT(source, "/dev/%s", nodes[i]);
		ck_assert_int_eq(mk->kind, LOP_MKNOD);
		ck_assert_str_eq(mk->target, target);
		ck_assert_uint_eq(mk->mode, S_IFREG | 0666);
		ck_assert_int_eq(bind->kind, LOP_MOUNT);
		ck_assert_str_eq(bind->source, source);
		ck_assert_str_eq(bind->target, target);
		ck_assert_uint_eq(bind->flags, MS_BIND);
	}
	/* no device node is made anywhere */
	for (size_t i = 0; i < F.prep.n_ops; i++)
		if (F.prep.ops[i].kind == LOP_MKNOD)
			ck_assert_uint_eq(F.prep.ops[i].mode & S_IFMT, S_IFREG);
	ptmx = must_find(LOP_SYMLINK, "dev/ptmx");
	ck_assert_str_eq(F.prep.ops[ptmx].source, "pts/ptmx");
	ck_assert_int_gt(ptmx, dev);
	ck_assert_str_eq(F.prep.ops[must_find(LOP_SYMLINK, "dev/fd")].source, "/proc/self/fd");

	pts_dir = must_find(LOP_MKDIR, "dev/pts");
	pts = must_find(LOP_MOUNT, "dev/pts");
	ck_assert_int_gt(pts_dir, dev);
	ck_assert_int_eq(pts, pts_dir + 1);
	ck_assert_str_eq(F.prep.ops[pts].fstype, "devpts");

	shm_dir = must_find(LOP_MKDIR, "dev/shm");
	shm = must_attach("dev/shm", F.shm, ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC);
	ck_assert_int_eq(shm, shm_dir + 1);
	ck_assert_int_gt(shm_dir, dev);
}
END_TEST

START_TEST(test_plan_default_sys_resolv_oom)
{
	long sys, oom;

	build_ok();
	prepare_ok();
	sys = must_find(LOP_MOUNT, "sys");
	ck_assert_str_eq(F.prep.ops[sys].fstype, "sysfs");
	ck_assert_uint_eq(F.prep.ops[sys].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
	ck_assert_str_eq(F.prep.ops[sys].step, "mount-sys");

	must_attach("etc/resolv.conf", F.resolv, ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC);
	/* no mkdir for a mount point outside /dev: the image has it */
	ck_assert_int_eq(find_op(LOP_MKDIR, "etc/resolv.conf", 0), -1);

	oom = must_find(LOP_WRITE, "proc/self/oom_score_adj");
	ck_assert_int_eq(F.spec.oom_score_adj, -998);
	ck_assert_str_eq(F.prep.ops[oom].value, "-998");
	ck_assert_uint_eq(F.prep.ops[oom].len, 4);
	ck_assert_str_eq(F.prep.ops[oom].step, "oom-score-adj");
}
END_TEST

/* Every masked and read-only path of the spec, optional, after every
 * mount and write, masks before read-only paths. */
START_TEST(test_plan_default_masks_readonly_last)
{
	size_t first_mask, i;
	long last_other = -1;

	build_ok();
	prepare_ok();
	first_mask = F.prep.n_ops;
	ck_assert_uint_eq(F.spec.masked_paths.n, 11);
	ck_assert_uint_eq(F.spec.readonly_paths.n, 5);
	for (i = 0; i < F.prep.n_ops; i++) {
		int k = F.prep.ops[i].kind;

		if (k == LOP_MASK || k == LOP_READONLY) {
			if (first_mask > i)
				first_mask = i;
			ck_assert(F.prep.ops[i].optional);
		} else {
			last_other = (long)i;
			ck_assert(!F.prep.ops[i].optional);
		}
	}
	ck_assert_int_ge(last_other, 0);
	ck_assert_uint_eq(first_mask, (size_t)last_other + 1);
	ck_assert_uint_eq(F.prep.n_ops - first_mask,
	                  F.spec.masked_paths.n + F.spec.readonly_paths.n);
	for (i = 0; i < F.spec.masked_paths.n; i++) {
		const struct launch_op *o = &F.prep.ops[first_mask + i];

		ck_assert_int_eq(o->kind, LOP_MASK);
		ck_assert_str_eq(o->target, F.spec.masked_paths.v[i] + 1);
		ck_assert_str_eq(o->step, "masked-paths");
	}
	for (i = 0; i < F.spec.readonly_paths.n; i++) {
		const struct launch_op *o = &F.prep.ops[first_mask + F.spec.masked_paths.n + i];

		ck_assert_int_eq(o->kind, LOP_READONLY);
		ck_assert_str_eq(o->target, F.spec.readonly_paths.v[i] + 1);
		ck_assert_uint_eq(o->flags, MS_NOSUID | MS_NODEV | MS_NOEXEC);
		ck_assert_str_eq(o->step, "readonly-paths");
	}
	ck_assert_str_eq(F.prep.ops[must_find(LOP_MASK, "proc/kcore")].step, "masked-paths");
	ck_assert_str_eq(F.prep.ops[must_find(LOP_READONLY, "proc/sys")].step, "readonly-paths");
}
END_TEST

START_TEST(test_plan_default_fields)
{
	build_ok();
	prepare_ok();
	ck_assert_ptr_eq(F.plan.rootfs, F.rootfs);
	ck_assert_str_eq(F.plan.exec_path, "/pause");
	ck_assert_ptr_eq(F.plan.exec_path, F.prep.exec_path);
	ck_assert_ptr_eq(F.plan.argv, F.prep.argv);
	ck_assert_str_eq(F.plan.argv[0], "/pause");
	ck_assert_ptr_null(F.plan.argv[1]);
	ck_assert_ptr_eq(F.plan.envp, F.prep.envp);
	ck_assert_str_eq(F.plan.envp[0], IMAGE_PATH);
	ck_assert_ptr_null(F.plan.envp[1]);
	ck_assert_str_eq(F.plan.cwd, "/");

	ck_assert(F.plan.new_net);
	ck_assert(F.plan.new_pid);
	ck_assert(F.plan.new_ipc);
	ck_assert_str_eq(F.plan.hostname, "web-0");
	ck_assert(!F.plan.new_user);
	ck_assert_ptr_null(F.plan.uid_map);
	ck_assert_ptr_null(F.plan.gid_map);

	ck_assert(F.plan.set_ids);
	ck_assert_uint_eq(F.plan.uid, 0);
	ck_assert_uint_eq(F.plan.gid, 0);
	ck_assert_uint_eq(F.plan.n_groups, 1);
	ck_assert_ptr_eq(F.plan.groups, F.prep.groups);
	ck_assert_uint_eq(F.plan.groups[0], 0);

	ck_assert(F.plan.set_caps);
	ck_assert_int_eq(F.plan.cap_last, (int)cap_max_bits() - 1);
	ck_assert_uint_eq(F.plan.cap_bounding, F.spec.cap_bounding);
	ck_assert_uint_eq(F.plan.cap_effective, F.spec.cap_effective);
	ck_assert_uint_eq(F.plan.cap_permitted, F.spec.cap_permitted);
	ck_assert_uint_eq(F.plan.cap_inheritable, F.spec.cap_inheritable);
	ck_assert_uint_eq(F.plan.cap_ambient, F.spec.cap_ambient);
	ck_assert_uint_eq(F.plan.cap_bounding, spec_default_caps());
	ck_assert_uint_eq(F.plan.cap_inheritable, 0);
	ck_assert_uint_eq(F.plan.cap_ambient, 0);
	ck_assert(F.plan.no_new_privs);

	/* what the caller adds is left as launch_plan_init made it */
	ck_assert_int_eq(F.plan.cgroup_fd, -1);
	ck_assert_ptr_null(F.plan.cgroup_procs_fds);
	ck_assert_ptr_null(F.plan.seccomp);
	ck_assert_ptr_null(F.plan.exec_label);
	ck_assert_int_eq(F.plan.pidfd, -1);
}
END_TEST

START_TEST(test_plan_ids_groups_cwd_args)
{
	static const int64_t sup[] = { 2000, 1, 2000 };

	SC.has_run_as_user = true;
	SC.run_as_user = 1000;
	SC.has_run_as_group = true;
	SC.run_as_group = 3000;
	SC.supplemental_groups.v = calloc(3, sizeof(int64_t));
	ck_assert_ptr_nonnull(SC.supplemental_groups.v);
	memcpy(SC.supplemental_groups.v, sup, sizeof(sup));
	SC.supplemental_groups.n = 3;
	free(F.image.working_dir);
	F.image.working_dir = unit_strdup("/tmp");
	ck_assert_int_eq(proto_strs_add(&F.image.cmd, "-v"), 0);
	ck_assert_int_eq(proto_strs_add(&F.image.env, "A=1"), 0);
	build_ok();
	prepare_ok();
	ck_assert_uint_eq(F.plan.uid, 1000);
	ck_assert_uint_eq(F.plan.gid, 3000);
	ck_assert_uint_eq(F.plan.n_groups, 3);
	ck_assert_uint_eq(F.plan.groups[0], 1);
	ck_assert_uint_eq(F.plan.groups[1], 2000);
	ck_assert_uint_eq(F.plan.groups[2], 3000);
	ck_assert_str_eq(F.plan.cwd, "/tmp");
	ck_assert_str_eq(F.plan.argv[0], "/pause");
	ck_assert_str_eq(F.plan.argv[1], "-v");
	ck_assert_ptr_null(F.plan.argv[2]);
	ck_assert_str_eq(F.plan.envp[0], IMAGE_PATH);
	ck_assert_str_eq(F.plan.envp[1], "A=1");
	ck_assert_ptr_null(F.plan.envp[2]);
	ck_assert_str_eq(F.plan.exec_path, "/pause");
}
END_TEST

START_TEST(test_plan_host_namespaces)
{
	NSO.network = NS_NODE;
	NSO.pid = NS_NODE;
	NSO.ipc = NS_NODE;
	build_ok();
	prepare_ok();
	ck_assert(!F.plan.new_net);
	ck_assert(!F.plan.new_pid);
	ck_assert(!F.plan.new_ipc);
	/* the host's UTS namespace: no hostname to set */
	ck_assert_str_eq(F.plan.hostname, "");
	must_attach("dev/shm", "/dev/shm", ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC);
}
END_TEST

START_TEST(test_plan_new_net_without_hostname)
{
	free(F.pod.hostname);
	F.pod.hostname = NULL;
	build_ok();
	prepare_ok();
	ck_assert(F.plan.new_net);
	ck_assert_str_eq(F.plan.hostname, "");
}
END_TEST

START_TEST(test_plan_oom_restricted)
{
	F.node.restrict_oom_score_adj = true;
	F.node.daemon_oom_score_adj = 500;
	build_ok();
	prepare_ok();
	long oom = must_find(LOP_WRITE, "proc/self/oom_score_adj");
	ck_assert_str_eq(F.prep.ops[oom].value, "500");
	ck_assert_uint_eq(F.prep.ops[oom].len, 3);
}
END_TEST

/* ======================================================================= */
/* sysctls                                                                  */
/* ======================================================================= */

START_TEST(test_plan_sysctl_paths)
{
	long eno2, fwd, shm, port, oom, resolv, ro_sys;

	ck_assert_int_eq(
		proto_kvs_add(&F.pod.linux.sysctls, "net.ipv4.conf.eno2/100.rp_filter", "1"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "net/ipv4/ip_forward", "0"), 0);
	ck_assert_int_eq(proto_kvs_add(&F.pod.linux.sysctls, "kernel.shm_rmid_forced", "1"), 0);
	F.node.enable_unprivileged_ports = true;
	build_ok();
	prepare_ok();
	eno2 = must_find(LOP_WRITE, "proc/sys/net/ipv4/conf/eno2.100/rp_filter");
	ck_assert_str_eq(F.prep.ops[eno2].value, "1");
	ck_assert_uint_eq(F.prep.ops[eno2].len, 1);
	ck_assert_str_eq(F.prep.ops[eno2].step, "sysctl");
	ck_assert(!F.prep.ops[eno2].optional);
	/* kubelet's slash form reaches the same kind of path */
	fwd = must_find(LOP_WRITE, "proc/sys/net/ipv4/ip_forward");
	ck_assert_str_eq(F.prep.ops[fwd].value, "0");
	shm = must_find(LOP_WRITE, "proc/sys/kernel/shm_rmid_forced");
	port = must_find(LOP_WRITE, "proc/sys/net/ipv4/ip_unprivileged_port_start");
	ck_assert_str_eq(F.prep.ops[port].value, "0");
	/* in the spec's order, after every mount, before oom_score_adj and
	 * before /proc/sys turns read-only */
	resolv = must_find(LOP_ATTACH, "etc/resolv.conf");
	oom = must_find(LOP_WRITE, "proc/self/oom_score_adj");
	ro_sys = must_find(LOP_READONLY, "proc/sys");
	ck_assert_int_eq(eno2, resolv + 1);
	ck_assert_int_eq(fwd, eno2 + 1);
	ck_assert_int_eq(shm, fwd + 1);
	ck_assert_int_eq(port, shm + 1);
	ck_assert_int_eq(oom, port + 1);
	ck_assert_int_gt(ro_sys, oom);
	ck_assert_uint_eq(F.prep.n_ops, sizeof(default_ops) / sizeof(default_ops[0]) + 4);
}
END_TEST

/* ======================================================================= */
/* user namespace                                                           */
/* ======================================================================= */

static void
set_userns(void)
{
	NSO.userns_options.present = true;
	NSO.userns_options.mode = NS_POD;
	NSO.userns_options.uids.v = calloc(1, sizeof(struct proto_idmap));
	NSO.userns_options.gids.v = calloc(1, sizeof(struct proto_idmap));
	ck_assert_ptr_nonnull(NSO.userns_options.uids.v);
	ck_assert_ptr_nonnull(NSO.userns_options.gids.v);
	NSO.userns_options.uids.n = NSO.userns_options.gids.n = 1;
	NSO.userns_options.uids.v[0] =
		(struct proto_idmap){ .container_id = 0, .host_id = 100000, .length = 65536 };
	NSO.userns_options.gids.v[0] =
		(struct proto_idmap){ .container_id = 0, .host_id = 200000, .length = 65536 };
}

START_TEST(test_plan_userns_maps)
{
	set_userns();
	build_ok();
	prepare_ok();
	ck_assert(F.plan.new_user);
	ck_assert_str_eq(F.plan.uid_map, "0 100000 65536\n");
	ck_assert_str_eq(F.plan.gid_map, "0 200000 65536\n");
	ck_assert_ptr_eq(F.plan.uid_map, F.prep.uid_map);
	ck_assert_ptr_eq(F.plan.gid_map, F.prep.gid_map);
	/* the shm and resolv.conf binds are detached trees opened here, with
	 * the daemon's credentials: the child attaches them */
	ck_assert_uint_eq(F.prep.n_fds, 2);
	const char *want[] = { "dev/shm", "etc/resolv.conf" };
	for (size_t k = 0; k < 2; k++) {
		bool found = false;
		for (size_t i = 0; i < F.prep.n_ops; i++)
			if (F.prep.ops[i].kind == LOP_ATTACH &&
			    strcmp(F.prep.ops[i].target, want[k]) == 0)
				found = F.prep.ops[i].fd == F.prep.fds[k];
		ck_assert_msg(found, "no %s attached from descriptor %d", want[k], F.prep.fds[k]);
		ck_assert_int_eq(fcntl(F.prep.fds[k], F_GETFD), FD_CLOEXEC);
	}
}
END_TEST

/* In a user namespace (where mknod is refused anyway) the nodes are the
 * same binds of the host's nodes. */
START_TEST(test_plan_userns_dev_binds)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	long dev;
	char target[32], source[32];

	set_userns();
	build_ok();
	prepare_ok();
	dev = must_find(LOP_MOUNT, "dev");
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		const struct launch_op *mk, *bind;

		UNIT_FMT(target, "dev/%s", nodes[i]);
		UNIT_FMT(source, "/dev/%s", nodes[i]);
		mk = &F.prep.ops[dev + 1 + 2 * (long)i];
		bind = &F.prep.ops[dev + 2 + 2 * (long)i];
		ck_assert_int_eq(mk->kind, LOP_MKNOD);
		ck_assert_str_eq(mk->target, target);
		ck_assert_uint_eq(mk->mode, S_IFREG | 0666);
		ck_assert_uint_eq(mk->dev, 0);
		ck_assert_int_eq(bind->kind, LOP_MOUNT);
		ck_assert_str_eq(bind->source, source);
		ck_assert_str_eq(bind->target, target);
		ck_assert_ptr_null(bind->fstype);
		ck_assert_ptr_null(bind->data);
		ck_assert_uint_eq(bind->flags, MS_BIND);
		ck_assert_str_eq(bind->step, "mount-dev");
	}
	/* no character device is made anywhere */
	for (size_t i = 0; i < F.prep.n_ops; i++)
		if (F.prep.ops[i].kind == LOP_MKNOD)
			ck_assert_uint_eq(F.prep.ops[i].mode & S_IFMT, S_IFREG);
	ck_assert_int_eq(F.prep.ops[dev + 13].kind, LOP_SYMLINK);
	ck_assert_str_eq(F.prep.ops[dev + 13].target, "dev/fd");
	ck_assert_uint_eq(F.prep.n_ops, sizeof(default_ops) / sizeof(default_ops[0]));
}
END_TEST

/* ======================================================================= */
/* the executable                                                           */
/* ======================================================================= */

static void
set_args(const char *arg0)
{
	proto_strs_fini(&F.image.entrypoint);
	ck_assert_int_eq(proto_strs_add(&F.image.entrypoint, arg0), 0);
}

static void
set_path(const char *path_env)
{
	proto_strs_fini(&F.image.env);
	if (path_env != NULL)
		ck_assert_int_eq(proto_strs_add(&F.image.env, path_env), 0);
}

/* "pause" is looked up in the image's PATH inside the rootfs: /bin has
 * none in the pause rootfs, "/" has it. */
START_TEST(test_exec_search_root_dir)
{
	set_args("pause");
	set_path("PATH=/bin:/");
	build_ok();
	prepare_ok();
	ck_assert_str_eq(F.plan.exec_path, "/pause");
	/* argv[0] is the name as given */
	ck_assert_str_eq(F.plan.argv[0], "pause");
}
END_TEST

/* The image's rootfs from now on: F.dir/rootfs holding these, in order
 * (text NULL: a directory). */
struct ent {
	const char *path, *text;
	mode_t mode;
};

static void
scratch_rootfs(const struct ent *e, size_t n)
{
	char root[PATH_MAX];

	UNIT_FMT(root, "%s/rootfs", F.dir);
	ck_assert_int_eq(mkdir(root, 0755), 0);
	for (size_t i = 0; i < n; i++) {
		if (e[i].text == NULL)
			unit_mkdir_in(root, e[i].path);
		else
			unit_put_in(root, e[i].path, e[i].text, e[i].mode);
	}
	UNIT_FMT(F.rootfs, "%s", root);
}

/* In a scratch rootfs: a directory and a file that is not executable are
 * passed over; empty PATH entries are skipped. */
START_TEST(test_exec_search_skips)
{
	static const struct ent ents[] = {
		{ "sbin", NULL, 0 },
		{ "sbin/tool", NULL, 0 },
		{ "usr", NULL, 0 },
		{ "usr/bin", NULL, 0 },
		{ "usr/bin/tool", "#!/bin/sh\n", 0644 },
		{ "bin", NULL, 0 },
		{ "bin/tool", "#!/bin/sh\n", 0755 },
	};

	scratch_rootfs(ents, sizeof(ents) / sizeof(ents[0]));
	set_args("tool");
	set_path("PATH=::/nope:/sbin:/usr/bin:/bin:/usr/local/bin");
	build_ok();
	prepare_ok();
	ck_assert_str_eq(F.plan.exec_path, "/bin/tool");
	ck_assert_str_eq(F.plan.argv[0], "tool");
	ck_assert_ptr_eq(F.plan.rootfs, F.rootfs);
}
END_TEST

/* No PATH in the image: the default one. */
START_TEST(test_exec_search_default_path)
{
	static const struct ent ents[] = {
		{ "usr", NULL, 0 }, { "usr/sbin", NULL, 0 },  { "usr/sbin/tool", "", 0700 },
		{ "bin", NULL, 0 }, { "bin/tool", "", 0755 },
	};

	scratch_rootfs(ents, sizeof(ents) / sizeof(ents[0]));
	set_args("tool");
	set_path(NULL);
	build_ok();
	ck_assert_uint_eq(F.spec.env.n, 0);
	prepare_ok();
	ck_assert_str_eq(F.plan.exec_path, "/usr/sbin/tool");
	ck_assert_ptr_null(F.plan.envp[0]);
}
END_TEST

START_TEST(test_exec_absolute_kept)
{
	set_args("/no/such/thing");
	build_ok();
	prepare_ok();
	/* not looked up: the kernel reports a missing absolute path at exec */
	ck_assert_str_eq(F.plan.exec_path, "/no/such/thing");
}
END_TEST

START_TEST(test_exec_not_found)
{
	set_args("nosuch");
	set_path("PATH=/bin:/");
	build_ok();
	prepare_fails(CRADLE_FAILED_PRECONDITION,
	              "executable \"nosuch\" not found in the image's PATH");
}
END_TEST

START_TEST(test_exec_empty_args)
{
	build_ok();
	proto_strs_fini(&F.spec.args);
	ck_assert_uint_eq(F.spec.args.n, 0);
	prepare_fails(CRADLE_INVALID_ARGUMENT, "invalid empty entrypoint and cmd in image config");
}
END_TEST

/* ======================================================================= */
/* mounts the plan refuses or translates                                    */
/* ======================================================================= */

static void
set_destination(struct spec_mount *m, const char *dst)
{
	free(m->destination);
	m->destination = unit_strdup(dst);
}

START_TEST(test_mount_destination_dotdot)
{
	build_ok();
	set_destination(spec_mount("/etc/resolv.conf"), "/etc/../../host/etc/shadow");
	prepare_fails(
		CRADLE_INVALID_ARGUMENT,
		"mount destination \"/etc/../../host/etc/shadow\" is not a clean absolute path");
}
END_TEST

START_TEST(test_mount_destination_dotdot_end)
{
	build_ok();
	set_destination(spec_mount("/dev/mqueue"), "/dev/..");
	prepare_fails(CRADLE_INVALID_ARGUMENT,
	              "mount destination \"/dev/..\" is not a clean absolute path");
}
END_TEST

START_TEST(test_mount_destination_relative)
{
	build_ok();
	set_destination(spec_mount("/sys"), "sys");
	prepare_fails(CRADLE_INVALID_ARGUMENT,
	              "mount destination \"sys\" is not a clean absolute path");
}
END_TEST

/* A read-write bind: only the flags asked for, no read-only. */
START_TEST(test_mount_bind_rw)
{
	struct spec_mount *m;

	build_ok();
	m = spec_mount("/etc/resolv.conf");
	proto_strs_fini(&m->options);
	ck_assert_int_eq(proto_strs_add(&m->options, "rbind"), 0);
	ck_assert_int_eq(proto_strs_add(&m->options, "nosuid"), 0);
	prepare_ok();
	must_attach("etc/resolv.conf", F.resolv, ST_NOSUID);
	ck_assert_int_eq(find_op(LOP_MOUNT, "etc/resolv.conf", 0), -1);
}
END_TEST

/* A privileged pod's sysfs is read-write ("ro" became "rw"). */
START_TEST(test_mount_sys_rw_privileged)
{
	long i;

	SC.privileged = true;
	build_ok();
	prepare_ok();
	i = must_find(LOP_MOUNT, "sys");
	ck_assert_uint_eq(F.prep.ops[i].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
}
END_TEST

/* ======================================================================= */
/* the SELinux mount label (plan_prepare_in)                               */
/* ======================================================================= */

/* A label as sandbox/selinux.c allocates it: the category set has a
 * comma, which the quotes keep inside the option. */
#define MLABEL "system_u:object_r:container_file_t:s0:c4,c120"
#define CTX "context=\"" MLABEL "\""

static int
prepare_labelled(const char *label)
{
	const char *dirs[] = { F.rootfs };

	return plan_prepare_in(&F.prep, &F.spec, dirs, 1, F.rootfs, label, &F.plan, &F.err);
}

/* The default plan's data for op i with the label applied as runc applies
 * it: the mounted file systems but proc and sysfs, and the masked
 * directories' tmpfs; no bind (the device nodes, /dev/shm, resolv.conf). */
static const char *
labelled_data(size_t i)
{
	const struct want_op *w = &default_ops[i];

	if (w->kind == LOP_MASK)
		return CTX;
	if (w->kind != LOP_MOUNT || w->flags & MS_BIND)
		return w->data;
	if (strcmp(w->target, "dev") == 0)
		return "mode=755,size=65536k," CTX;
	if (strcmp(w->target, "dev/pts") == 0)
		return "newinstance,ptmxmode=0666,mode=0620,gid=5," CTX;
	if (strcmp(w->target, "dev/mqueue") == 0)
		return CTX;
	return w->data; /* proc, sysfs */
}

/* Every op as in the default plan but the data, which has context= on
 * exactly the mounts runc labels. */
START_TEST(test_label_ops_exact)
{
	size_t n = sizeof(default_ops) / sizeof(default_ops[0]), labelled = 0;

	build_ok();
	ck_assert_int_eq(prepare_labelled(MLABEL), 0);
	ck_assert_uint_eq(F.prep.n_ops, n);
	ck_assert_uint_eq(F.plan.n_ops, n);
	for (size_t i = 0; i < n; i++) {
		const struct want_op *w = &default_ops[i];
		const struct launch_op *o = &F.prep.ops[i];
		const char *want = labelled_data(i);

		ck_assert_msg(o->kind == w->kind && same(o->target, w->target) &&
		                      same(o->source, w->source) && same(o->fstype, w->fstype) &&
		                      o->flags == w->flags,
		              "op %zu (%s) differs from the unlabelled plan's", i, w->target);
		ck_assert_msg(same(o->data, want), "op %zu (%s): data %s, want %s", i, w->target,
		              o->data, want);
		if (o->data != NULL && strstr(o->data, "context=") != NULL)
			labelled++;
	}
	/* /dev, /dev/pts, /dev/mqueue and the 11 masked paths */
	ck_assert_uint_eq(labelled, 3 + 11);
	/* the binds: detached trees, no data anywhere */
	must_attach("dev/shm", F.shm, ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC);
	must_attach("etc/resolv.conf", F.resolv, ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC);
	ck_assert_ptr_null(F.prep.ops[must_find(LOP_ATTACH, "dev/shm")].data);
	ck_assert_ptr_null(F.prep.ops[must_find(LOP_ATTACH, "etc/resolv.conf")].data);
	ck_assert_ptr_null(F.prep.ops[must_find(LOP_MOUNT, "proc")].data);
	ck_assert_ptr_null(F.prep.ops[must_find(LOP_MOUNT, "sys")].data);
}
END_TEST

/* "" and NULL: no label, the plan plan_prepare makes, data for data. */
START_TEST(test_label_empty_adds_nothing)
{
	const char *labels[] = { "", NULL };
	size_t n = sizeof(default_ops) / sizeof(default_ops[0]);

	build_ok();
	for (size_t l = 0; l < 2; l++) {
		launch_plan_init(&F.plan);
		ck_assert_int_eq(prepare_labelled(labels[l]), 0);
		ck_assert_uint_eq(F.prep.n_ops, n);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(same(F.prep.ops[i].data, default_ops[i].data),
			              "label %zu, op %zu (%s): data %s, want %s", l, i,
			              default_ops[i].target, F.prep.ops[i].data,
			              default_ops[i].data);
		plan_release(&F.prep);
	}
}
END_TEST

/* Any other file system the spec mounts is labelled too (runc's tmpfs
 * case): a tmpfs /dev/shm instead of the sandbox's bind. */
START_TEST(test_label_other_tmpfs)
{
	struct spec_mount *m;
	long i;

	build_ok();
	m = spec_mount("/dev/shm");
	free(m->type);
	free(m->source);
	m->type = unit_strdup("tmpfs");
	m->source = unit_strdup("shm");
	proto_strs_fini(&m->options);
	ck_assert_int_eq(proto_strs_add(&m->options, "nosuid"), 0);
	ck_assert_int_eq(proto_strs_add(&m->options, "mode=1777"), 0);
	ck_assert_int_eq(proto_strs_add(&m->options, "size=65536k"), 0);
	ck_assert_int_eq(prepare_labelled(MLABEL), 0);
	ck_assert_int_eq(find_op(LOP_ATTACH, "dev/shm", 0), -1);
	i = must_find(LOP_MOUNT, "dev/shm");
	ck_assert_str_eq(F.prep.ops[i].fstype, "tmpfs");
	ck_assert_str_eq(F.prep.ops[i].data, "mode=1777,size=65536k," CTX);
	ck_assert_uint_eq(F.prep.ops[i].flags, MS_NOSUID);
}
END_TEST

/* A bind named by its options only (type "none") stays unlabelled. */
START_TEST(test_label_bind_by_option)
{
	struct spec_mount *m;

	build_ok();
	m = spec_mount("/etc/resolv.conf");
	free(m->type);
	m->type = unit_strdup("none");
	ck_assert_int_eq(prepare_labelled(MLABEL), 0);
	must_attach("etc/resolv.conf", F.resolv, ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC);
	ck_assert_ptr_null(F.prep.ops[must_find(LOP_ATTACH, "etc/resolv.conf")].data);
	ck_assert_int_eq(find_op(LOP_MOUNT, "etc/resolv.conf", 0), -1);
}
END_TEST

/* A label that could close the quotes and add options, or is not a
 * context at all, is refused before anything is opened. */
static void
label_refused(const char *label, const char *msg)
{
	ck_assert_int_lt(prepare_labelled(label), 0);
	ck_assert_str_eq(F.err.msg, msg);
	ck_assert_int_eq(F.err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_ptr_null(F.prep.ops);
	ck_assert_uint_eq(F.prep.n_ops, 0);
	ck_assert_ptr_null(F.prep.strings);
	ck_assert_uint_eq(F.prep.n_fds, 0);
	ck_assert_ptr_null(F.prep.argv);
}

START_TEST(test_label_hostile_refused)
{
	build_ok();
	label_refused("system_u:object_r:container_file_t:s0\",rw",
	              "SELinux mount label \"system_u:object_r:container_file_t:s0\",rw\": "
	              "character 0x22 at 37 is not allowed in a mount's context= option");
	label_refused("u:r:t:s0\nx",
	              "SELinux mount label \"u:r:t:s0?x\": character 0x0a at 8 is not allowed "
	              "in a mount's context= option");
	label_refused("u:r:t:s0\\\"",
	              "SELinux mount label \"u:r:t:s0\\\"\": character 0x5c at 8 is not allowed "
	              "in a mount's context= option");
	label_refused("u:r:t:s0 ro",
	              "SELinux mount label \"u:r:t:s0 ro\": character 0x20 at 8 is not allowed "
	              "in a mount's context= option");
	label_refused("u:r:t:s0\xc3\xa9",
	              "SELinux mount label \"u:r:t:s0??\": character 0xc3 at 8 is not allowed "
	              "in a mount's context= option");
	label_refused("container_file_t",
	              "SELinux mount label \"container_file_t\" is not user:role:type[:level]");
}
END_TEST

/* Bounded: PLAN_MOUNT_LABEL_MAX characters are taken, one more is not. */
START_TEST(test_label_length_bounded)
{
	char label[PLAN_MOUNT_LABEL_MAX + 2];
	char msg[256];

	build_ok();
	memset(label, 'c', sizeof(label) - 1);
	memcpy(label, "u:r:t:s0:", 9);
	label[PLAN_MOUNT_LABEL_MAX] = '\0';
	ck_assert_int_eq(prepare_labelled(label), 0);
	ck_assert_str_eq(F.prep.ops[must_find(LOP_MOUNT, "dev/mqueue")].data + 9 +
	                         PLAN_MOUNT_LABEL_MAX,
	                 "\"");
	plan_release(&F.prep);
	label[PLAN_MOUNT_LABEL_MAX] = 'c';
	label[PLAN_MOUNT_LABEL_MAX + 1] = '\0';
	UNIT_FMT(msg, "SELinux mount label \"%.64s...\": %d characters, at most %d", label,
	         PLAN_MOUNT_LABEL_MAX + 1, PLAN_MOUNT_LABEL_MAX);
	label_refused(label, msg);
}
END_TEST

/* ======================================================================= */
/* plan_mount_label_data: label.FormatMountLabel                            */
/* ======================================================================= */

static void
format_is(const char *data, const char *label, const char *want)
{
	struct cradle_err err = { 0 };
	char *out = (char *)&err;

	ck_assert_int_eq(plan_mount_label_data(data, label, &out, &err), 0);
	ck_assert_msg(same(out, want), "data %s label %s: %s, want %s", data, label, out, want);
	free(out);
}

START_TEST(test_format_mount_label)
{
	format_is(NULL, MLABEL, CTX);
	format_is("", MLABEL, CTX);
	format_is("mode=755", MLABEL, "mode=755," CTX);
	format_is("mode=755,size=1k", "u:r:t", "mode=755,size=1k,context=\"u:r:t\"");
	format_is("mode=755", "", "mode=755");
	format_is("mode=755", NULL, "mode=755");
	format_is(NULL, NULL, NULL);
}
END_TEST

/* The kernel reads one page of mount data: longer is refused. */
START_TEST(test_format_mount_label_page)
{
	struct cradle_err err = { 0 };
	char data[PLAN_MOUNT_DATA_MAX];
	char *out = NULL;
	const size_t fixed = strlen(",context=\"u:r:t\"");

	memset(data, 'x', sizeof(data));
	data[PLAN_MOUNT_DATA_MAX - 1 - fixed] = '\0'; /* 4095 bytes in all: fits */
	ck_assert_int_eq(plan_mount_label_data(data, "u:r:t", &out, &err), 0);
	ck_assert_uint_eq(strlen(out), PLAN_MOUNT_DATA_MAX - 1);
	free(out);
	data[PLAN_MOUNT_DATA_MAX - 1 - fixed] = 'x';
	data[PLAN_MOUNT_DATA_MAX - fixed] = '\0';
	out = (char *)&err;
	ck_assert_int_lt(plan_mount_label_data(data, "u:r:t", &out, &err), 0);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_str_eq(err.msg, "SELinux mount label \"u:r:t\": the mount data would be 4096 "
	                          "bytes, at most 4095");
}
END_TEST

/* Why the daemon passes the label only where SELinux is enabled: the
 * kernel takes context= then, and refuses the mount without it (tmpfs
 * reads "context" as an unknown option). */
START_TEST(test_label_kernel)
{
	char dir[PATH_MAX];
	struct cradle_err err = { 0 };
	char *data = NULL;

	unit_scratch_setup_ns(); /* a mount left behind goes with the namespace */
	UNIT_FMT(dir, "%s/mnt", unit_test_dir());
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(plan_mount_label_data("mode=700", MLABEL, &data, &err), 0);
	int rc = mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data);
	int e = errno;
	free(data);
	if (selinux_apply_enabled()) {
		ck_assert_msg(rc == 0, "labelled tmpfs: %s", strerror(e));
		ck_assert_int_eq(umount2(dir, MNT_DETACH), 0);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_int_eq(e, EINVAL);
	}
	unit_scratch_teardown();
}
END_TEST

/* ======================================================================= */
/* plan_release                                                             */
/* ======================================================================= */

START_TEST(test_release_zeroes)
{
	static const struct launch_prep zero;

	/* a zeroed prep, as plan_prepare's first step leaves it */
	plan_release(&F.prep);
	ck_assert(memcmp(&F.prep, &zero, sizeof(zero)) == 0);
	build_ok();
	prepare_ok();
	ck_assert_ptr_nonnull(F.prep.ops);
	ck_assert_ptr_nonnull(F.prep.strings);
	ck_assert_uint_gt(F.prep.n_strings, 0);
	plan_release(&F.prep);
	ck_assert(memcmp(&F.prep, &zero, sizeof(zero)) == 0);
	plan_release(&F.prep); /* twice is fine */
	ck_assert(memcmp(&F.prep, &zero, sizeof(zero)) == 0);
}
END_TEST

/* Prepared again and again, with every kind of owned string (user
 * namespace binds, sysctl paths, mount data): LeakSanitizer sees any
 * that plan_release misses. */
START_TEST(test_release_repeated)
{
	set_userns();
	ck_assert_int_eq(
		proto_kvs_add(&F.pod.linux.sysctls, "net.ipv4.conf.eno2/100.rp_filter", "1"), 0);
	build_ok();
	for (int i = 0; i < 50; i++) {
		launch_plan_init(&F.plan);
		prepare_ok();
		ck_assert(F.plan.new_user);
		plan_release(&F.prep);
	}
}
END_TEST

/* The daemon's path for a named user: the image's user databases (read
 * here from the pause rootfs, as image/ would), spec_build, plan_prepare. */
START_TEST(test_image_spec_plan)
{
	char path[PATH_MAX];

	UNIT_FMT(path, "%s/etc/passwd", F.rootfs);
	F.image.etc_passwd = unit_slurp_ok(path, NULL);
	UNIT_FMT(path, "%s/etc/group", F.rootfs);
	F.image.etc_group = unit_slurp_ok(path, NULL);
	free(SC.run_as_username);
	SC.run_as_username = unit_strdup("nobody");
	build_ok();
	ck_assert_uint_eq(F.spec.uid, 65534);
	ck_assert_uint_eq(F.spec.gid, 65534);
	prepare_ok();
	ck_assert_str_eq(F.plan.exec_path, "/pause");
	ck_assert_str_eq(F.plan.argv[0], "/pause");
	ck_assert_str_eq(F.plan.envp[0], IMAGE_PATH);
	ck_assert_str_eq(F.plan.cwd, "/");
	ck_assert_uint_eq(F.plan.uid, 65534);
	ck_assert_uint_eq(F.plan.gid, 65534);
	ck_assert_uint_eq(F.plan.n_groups, 1);
	ck_assert_uint_eq(F.plan.groups[0], 65534);
	ck_assert_uint_eq(F.plan.n_ops, sizeof(default_ops) / sizeof(default_ops[0]));
}
END_TEST

static Suite *
plan_suite(void)
{
	Suite *s = suite_create("plan");

	unit_tcase(s, "options", NULL, NULL, 0,
	           UNIT_TESTS(test_options_proc, test_options_dev_data, test_options_devpts_data,
	                      test_options_rbind_ro, test_options_bind, test_options_rw_ignored,
	                      test_options_atime_sync_flags, test_options_empty));

	unit_tcase(s, "plan", setup, teardown, 0,
	           UNIT_TESTS(test_plan_default_ops_exact, test_plan_default_proc_first,
	                      test_plan_default_dev_order, test_plan_default_sys_resolv_oom,
	                      test_plan_default_masks_readonly_last, test_plan_default_fields,
	                      test_plan_ids_groups_cwd_args, test_plan_host_namespaces,
	                      test_plan_new_net_without_hostname, test_plan_oom_restricted,
	                      test_plan_sysctl_paths, test_plan_userns_maps,
	                      test_plan_userns_dev_binds, test_exec_search_root_dir,
	                      test_exec_search_skips, test_exec_search_default_path,
	                      test_exec_absolute_kept, test_exec_not_found, test_exec_empty_args,
	                      test_mount_destination_dotdot, test_mount_destination_dotdot_end,
	                      test_mount_destination_relative, test_mount_bind_rw,
	                      test_mount_sys_rw_privileged, test_release_zeroes,
	                      test_release_repeated));

	unit_tcase(s, "mount-label", setup, teardown, 0,
	           UNIT_TESTS(test_label_ops_exact, test_label_empty_adds_nothing,
	                      test_label_other_tmpfs, test_label_bind_by_option,
	                      test_label_hostile_refused, test_label_length_bounded));
	unit_tcase(s, "format-mount-label", NULL, NULL, 0,
	           UNIT_TESTS(test_format_mount_label, test_format_mount_label_page,
	                      test_label_kernel));

	unit_tcase(s, "image", setup, teardown, 0, UNIT_TESTS(test_image_spec_plan));

	return s;
}

int
main(void)
{
	return unit_run(plan_suite(), "test_plan", 0);
}
