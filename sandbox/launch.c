/* launch.c - spawn a pause task with clone3, posix_spawn-style.
 *
 * DESIGN
 * The daemon is multithreaded, so everything the child needs is computed
 * in the parent and placed in the launch plan; the child (child_main) only
 * issues raw system calls through syscall(2), which neither allocates nor
 * locks nor is intercepted by the sanitizers.  CLONE_VM|CLONE_VFORK makes
 * the spawn as cheap as posix_spawn (no page-table copy, no copy-on-write
 * faults, cost independent of the daemon's size); the calling thread sleeps
 * until the child execs or exits, so the child may use the plan in place and
 * report a failure by writing into it.
 *
 * The child shares the daemon's descriptor table at first (CLONE_FILES)
 * and its first step takes a private copy of the low slots it uses only
 * (close_range with CLOSE_RANGE_UNSHARE).  A plain clone would copy the
 * whole table, a pidfd per live sandbox among it, and the exec would close
 * each copy again: with thousands of pods alive that was most of the
 * launch.  The daemon keeps those pidfds above the descriptors of its work
 * in flight (launch_plan.pidfd_floor), so the copy stays small.
 *
 * The child starts on the worker's launch stack through clone_on_stack
 * (util/clone.h), which util/run.c's plugin runner uses too.
 */
#include "sandbox/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/sched.h>

#include "sandbox/mntns.h"
#include "util/clone.h"
#include "util/fs.h"
#include "util/run.h"
#include "util/sys.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define STACK_SIZE (64 * 1024)

int
launch_stack_alloc(struct launch_stack *st, struct cradle_err *err)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = STACK_SIZE + (size_t)page;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
	               -1, 0);

	if (p == MAP_FAILED)
		return cradle_err_errno(err, errno, "allocate launch stack");
	/* A guard page below the stack turns an overflow into a fault, not
	 * silent corruption of whatever the mapping happens to sit on. */
	if (mprotect(p, (size_t)page, PROT_NONE) != 0) {
		int e = errno;
		munmap(p, len);
		return cradle_err_errno(err, e, "protect launch stack guard");
	}
	st->base = (char *)p + page;
	st->size = STACK_SIZE;
	st->set_exec_nice = false;
	st->exec_nice = 0;
	st->waiting = false;
	return 0;
}

void
launch_stack_free(struct launch_stack *st)
{
	if (st->base == NULL)
		return;
	long page = sysconf(_SC_PAGESIZE);
	munmap((char *)st->base - page, st->size + (size_t)page);
	st->base = NULL;
	st->size = 0;
}

void
launch_plan_init(struct launch_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->exec_path = "/pause";
	p->new_net = p->new_pid = p->new_ipc = true;
	p->shm_size = 64ull << 20;
	p->pidfd = -1;
	p->cgroup_fd = -1;
	p->mntns_fd = -1;
	p->mask_fd = -1;
	p->sync_r = p->sync_w = p->exec_w = -1;
	p->go_r = p->go_w = p->exec_r = -1;
}

/* ---- the child: raw system calls only ---- */

NO_SANITIZE __attribute__((noreturn)) static void
child_fail(struct launch_plan *p, const char *step, int e)
{
	p->child_errno = e ? e : EIO;
	p->child_step = step;
	for (;;)
		syscall(SYS_exit, 127);
}

NO_SANITIZE static int
child_mknod(const char *path, unsigned maj, unsigned min)
{
	return (int)syscall(SYS_mknodat, AT_FDCWD, path, S_IFCHR | 0666, makedev(maj, min));
}

#define CHECK(step, call)                           \
	do {                                        \
		if ((long)(call) < 0)               \
			child_fail(p, step, errno); \
	} while (0)

NO_SANITIZE static size_t
child_strlen(const char *s)
{
	size_t n = 0;
	while (s[n] != '\0')
		n++;
	return n;
}

/* Write all of buf to path (relative to cwd or absolute). */
NO_SANITIZE static long
child_write_file(const char *path, const char *buf, size_t len)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len > 0) {
		long w = syscall(SYS_write, fd, buf, len);
		if (w < 0) {
			int e = errno;
			syscall(SYS_close, fd);
			errno = e;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	syscall(SYS_close, fd);
	return 0;
}

/* Bind source (recursively) onto target, then make that mount read-only,
 * keeping flags: a bind mount takes MS_RDONLY only on a remount. */
NO_SANITIZE static long
child_bind_ro(const char *source, const char *target, unsigned long flags)
{
	if (syscall(SYS_mount, source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	return syscall(SYS_mount, NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | flags,
	               NULL);
}

NO_SANITIZE static long
child_op(struct launch_plan *p, const struct launch_op *op)
{
	struct stat st;

	switch (op->kind) {
	case LOP_MOUNT:
		return syscall(SYS_mount, op->source, op->target, op->fstype, op->flags, op->data);
	case LOP_BIND_RO:
		return child_bind_ro(op->source, op->target, op->flags);
	case LOP_MKDIR:
		if (syscall(SYS_mkdirat, AT_FDCWD, op->target, op->mode) < 0 && errno != EEXIST)
			return -1;
		return 0;
	case LOP_MKNOD:
		return syscall(SYS_mknodat, AT_FDCWD, op->target, op->mode, op->dev);
	case LOP_SYMLINK:
		return syscall(SYS_symlinkat, op->source, AT_FDCWD, op->target);
	case LOP_MASK:
		if (syscall(SYS_newfstatat, AT_FDCWD, op->target, &st, 0) < 0)
			return -1;
		if (S_ISDIR(st.st_mode) && p->mask_fd >= 0) {
			/* the first takes the tree, the others bind it */
			if (p->mask_first == NULL) {
				p->mask_first = op->target;
				return syscall(SYS_move_mount, p->mask_fd, "", AT_FDCWD, op->target,
				               MOVE_MOUNT_F_EMPTY_PATH);
			}
			return child_bind_ro(p->mask_first, op->target,
			                     MS_NOSUID | MS_NODEV | MS_NOEXEC);
		}
		if (S_ISDIR(st.st_mode))
			return syscall(SYS_mount, "tmpfs", op->target, "tmpfs", MS_RDONLY,
			               op->data); /* the mount label, if any */
		return syscall(SYS_mount, "/dev/null", op->target, NULL, MS_BIND, NULL);
	case LOP_READONLY:
		return child_bind_ro(op->target, op->target, op->flags);
	case LOP_WRITE:
		return child_write_file(op->target, op->value, op->len);
	case LOP_ATTACH:
		return syscall(SYS_move_mount, op->fd, "", AT_FDCWD, op->target,
		               MOVE_MOUNT_F_EMPTY_PATH);
	default:
		errno = EINVAL;
		return -1;
	}
}

/* The sequence used when the plan brings no ops: what the bench's floor and
 * the first cradle did. */
NO_SANITIZE static void
child_minimal_mounts(struct launch_plan *p)
{
	CHECK("mount-proc",
	      syscall(SYS_mount, "proc", "proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL));
	CHECK("mount-dev", syscall(SYS_mount, "tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME,
	                           "mode=755,size=65536k"));
	CHECK("mount-dev", child_mknod("dev/null", 1, 3));
	CHECK("mount-dev", child_mknod("dev/zero", 1, 5));
	CHECK("mount-dev", child_mknod("dev/full", 1, 7));
	CHECK("mount-dev", child_mknod("dev/random", 1, 8));
	CHECK("mount-dev", child_mknod("dev/urandom", 1, 9));
	CHECK("mount-dev", child_mknod("dev/tty", 5, 0));
	CHECK("mount-dev", syscall(SYS_symlinkat, "/proc/self/fd", AT_FDCWD, "dev/fd"));
	CHECK("mount-dev", syscall(SYS_symlinkat, "/proc/self/fd/0", AT_FDCWD, "dev/stdin"));
	CHECK("mount-dev", syscall(SYS_symlinkat, "/proc/self/fd/1", AT_FDCWD, "dev/stdout"));
	CHECK("mount-dev", syscall(SYS_symlinkat, "/proc/self/fd/2", AT_FDCWD, "dev/stderr"));
	CHECK("mount-dev", syscall(SYS_mkdirat, AT_FDCWD, "dev/shm", 01777));
	if (p->new_ipc)
		CHECK("mount-shm", syscall(SYS_mount, "shm", "dev/shm", "tmpfs",
		                           MS_NOSUID | MS_NODEV | MS_NOEXEC, p->shm_opts));
	else
		CHECK("mount-shm",
		      syscall(SYS_mount, "/dev/shm", "dev/shm", NULL, MS_BIND | MS_REC, NULL));
}

struct cap_header {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};

/* crun's order: bounding set, ids with KEEPCAPS, capset, ambient. */
NO_SANITIZE static void
child_credentials(struct launch_plan *p)
{
	if (p->set_caps)
		for (int c = 0; c <= p->cap_last && c < 64; c++)
			if (!(p->cap_bounding & (1ull << c)))
				CHECK("capabilities",
				      syscall(SYS_prctl, PR_CAPBSET_DROP, c, 0, 0, 0));
	if (p->set_ids) {
		CHECK("capabilities", syscall(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0));
		CHECK("capabilities", syscall(SYS_setgroups, p->n_groups, p->groups));
		CHECK("capabilities", syscall(SYS_setresgid, p->gid, p->gid, p->gid));
		CHECK("capabilities", syscall(SYS_setresuid, p->uid, p->uid, p->uid));
		CHECK("capabilities", syscall(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0));
		/* Until exec this task runs in the daemon's mm, now under the
		 * pod's ids: with fs.suid_dumpable = 1 the kernel has just made
		 * that mm dumpable, and a host process of the same uid and gid
		 * could trace us (and read the daemon's memory).  Not dumpable,
		 * then; exec gives pause a flag of its own, and launch_start
		 * restores the daemon's. */
		if (!p->new_user)
			CHECK("capabilities", syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0));
	}
	if (p->set_caps) {
		struct cap_header h = { .version = 0x20080522,
			                .pid = 0 }; /* _LINUX_CAPABILITY_VERSION_3 */
		struct cap_data d[2] = {
			{ (uint32_t)p->cap_effective, (uint32_t)p->cap_permitted,
			  (uint32_t)p->cap_inheritable },
			{ (uint32_t)(p->cap_effective >> 32), (uint32_t)(p->cap_permitted >> 32),
			  (uint32_t)(p->cap_inheritable >> 32) },
		};
		CHECK("capabilities", syscall(SYS_capset, &h, d));
		CHECK("capabilities",
		      syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
		for (int c = 0; c <= p->cap_last && c < 64; c++)
			if (p->cap_ambient & (1ull << c))
				CHECK("capabilities", syscall(SYS_prctl, PR_CAP_AMBIENT,
				                              PR_CAP_AMBIENT_RAISE, c, 0, 0));
	}
}

/* Close every descriptor above 2 but the plan's own (p->keep, ascending):
 * the fd table is a copy of the daemon's low slots, which hold the pipes of
 * other launches in flight.  A copy of another launch's sync or exec pipe that
 * lived on here until this child execs (or, failing, exits) would hold
 * back that launch's EOF, and two failing user namespace launches would
 * wait for each other for good. */
NO_SANITIZE static void
child_close_others(const struct launch_plan *p)
{
	unsigned lo = 3;

	if (p->n_keep > LAUNCH_KEEP_MAX)
		return; /* too many to keep: the "stdio" step closes the rest */
	for (size_t i = 0; i < p->n_keep; i++) {
		unsigned k = (unsigned)p->keep[i];
		if (k > lo)
			syscall(SYS_close_range, lo, k - 1, 0);
		if (k + 1 > lo)
			lo = k + 1;
	}
	syscall(SYS_close_range, lo, ~0u, 0);
}

/* Close every descriptor from 3 up but a and b (-1: none). */
NO_SANITIZE static void
child_close_except(struct launch_plan *p, int a, int b)
{
	unsigned lo = 3;
	int keep[2] = { a < b ? a : b, a < b ? b : a };

	for (int i = 0; i < 2; i++) {
		if (keep[i] < 3 || (unsigned)keep[i] < lo)
			continue;
		if ((unsigned)keep[i] > lo)
			CHECK("stdio", syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0));
		lo = (unsigned)keep[i] + 1;
	}
	CHECK("stdio", syscall(SYS_close_range, lo, ~0u, 0));
}

NO_SANITIZE static int
child_main(void *arg)
{
	struct launch_plan *p = arg;
	uint64_t empty = 0;

	/* Until this call the descriptor table is the daemon's own: nothing
	 * may be opened, closed or moved before it. */
	if (syscall(SYS_close_range, p->fd_end, ~0u, CLOSE_RANGE_UNSHARE) != 0)
		child_fail(p, "fds", errno);
	/* A user namespace or wait_go child runs beside its parent (no
	 * CLONE_VFORK), which may close its ends of the pipes only once we
	 * have our copy. */
	if ((p->new_user || p->wait_go) && syscall(SYS_write, p->exec_w, "u", 1) != 1)
		child_fail(p, "fds", errno);
	child_close_others(p); /* the sync pipe's write end goes too */
	if (p->new_user) {
		char b;
		/* The parent writes our id maps, then one byte; on a failure
		 * of its own it kills us instead. */
		if (syscall(SYS_read, p->sync_r, &b, 1) != 1)
			child_fail(p, "sync", errno ? errno : EPIPE);
	}
	/* In a user namespace the child is no longer global root and v1
	 * refuses its write: the parent moved it while it waited on sync. */
	for (size_t i = 0; !p->new_user && i < p->n_cgroup_procs_fds; i++)
		CHECK("cgroup", syscall(SYS_write, p->cgroup_procs_fds[i], "0", 1));

	/* Every daemon thread blocks signals (they are read from a signalfd);
	 * pause must get SIGTERM, so start with an empty mask.  Signal
	 * dispositions need no reset: the daemon installs no handlers and
	 * ignores nothing, and exec resets handlers anyway. */
	CHECK("sigmask", syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof(empty)));
	/* Mode bits below are exact; umask is per-process here (no CLONE_FS). */
	syscall(SYS_umask, 0);

	/* Nothing done in this mount namespace may propagate to the host. */
	CHECK("propagation", syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	if (p->rootfs_overlay != NULL)
		/* lower layers only: read-only by construction, and in this
		 * mount namespace alone, so the host's table never sees it */
		CHECK("mount-rootfs", syscall(SYS_mount, "overlay", p->rootfs, "overlay", MS_RDONLY,
		                              p->rootfs_overlay));
	else
		CHECK("bind-rootfs",
		      syscall(SYS_mount, p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL));
	/* After the bind, walking the path again lands in the new mount, so
	 * all further mounts use paths relative to it: no string building. */
	CHECK("bind-rootfs", syscall(SYS_chdir, p->rootfs));

	if (p->new_user) {
		/* Up to here our ids were still the parent's (global root),
		 * which may search the host directories above the rootfs and
		 * its layers.  Now become the namespace's root, or every file
		 * made below would fail with EOVERFLOW (global root is not
		 * mapped in it). */
		CHECK("userns-ids", syscall(SYS_setresgid, 0, 0, 0));
		CHECK("userns-ids", syscall(SYS_setresuid, 0, 0, 0));
		/* changing ids cleared "dumpable", which hands /proc/self to
		 * global root and keeps us from writing oom_score_adj.  The
		 * flag is the daemon's too (one mm until exec): launch_start
		 * puts the daemon's back once we are gone from it. */
		CHECK("userns-ids", syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0));
	}

	if (p->ops == NULL) {
		child_minimal_mounts(p);
	} else {
		for (size_t i = 0; i < p->n_ops; i++) {
			const struct launch_op *op = &p->ops[i];
			if (child_op(p, op) < 0 && !(op->optional && errno == ENOENT))
				child_fail(p, op->step, errno);
		}
	}

	CHECK("readonly-rootfs",
	      syscall(SYS_mount, NULL, ".", NULL,
	              MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL));

	const char *root_step = p->root_move ? "move-root" : "pivot-root";
	if (p->root_move) {
		/* The rootfs (".") over the staged template's root, then the
		 * root there: pivot_root would visit every task on the node */
		CHECK(root_step, syscall(SYS_mount, ".", "/", NULL, MS_MOVE, NULL));
		CHECK(root_step, syscall(SYS_chroot, "."));
	} else {
		CHECK(root_step, syscall(SYS_pivot_root, ".", "."));
		CHECK(root_step, syscall(SYS_umount2, ".", MNT_DETACH));
	}
	CHECK(root_step, syscall(SYS_chdir, p->cwd != NULL ? p->cwd : "/"));

	if (p->new_net && p->hostname[0] != '\0')
		CHECK("sethostname",
		      syscall(SYS_sethostname, p->hostname, child_strlen(p->hostname)));
	if (p->exec_label != NULL)
		CHECK("selinux-label",
		      child_write_file("/proc/thread-self/attr/exec", p->exec_label,
		                       child_strlen(p->exec_label)));

	long fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR);
	CHECK("stdio", fd);
	for (int i = 0; i < 3; i++)
		if (fd != i)
			CHECK("stdio", syscall(SYS_dup3, fd, i, 0));
	/* Only 0-2 cross exec, whatever the daemon has open; the exec pipe's
	 * write end (user namespace and wait_go spawns) must stay open until
	 * execve closes it, or the parent would take the stack back too
	 * early, and so must the go pipe's read end until the "wait" step.
	 * Without them: close_range(3, ~0), as ever. */
	child_close_except(p, p->exec_w, p->go_r);

	/* Until here the child ran at the launching thread's nice (a worker's,
	 * below the front end); pause runs at the daemon's own.  Raising the
	 * priority takes CAP_SYS_NICE of the host's user namespace, so it comes
	 * before the capabilities go; in a new user namespace the child has
	 * none of the host's and the parent does it after the exec. */
	if (p->set_exec_nice && !p->new_user &&
	    syscall(SYS_setpriority, PRIO_PROCESS, 0, p->exec_nice) == 0)
		p->exec_nice_done = true;

	if (p->nofile > 0) {
		struct rlimit64_raw {
			uint64_t cur, max;
		} lim = { p->nofile, p->nofile };
		CHECK("rlimits", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &lim, NULL));
	}
	child_credentials(p);
	if (p->no_new_privs)
		CHECK("no-new-privs", syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	syscall(SYS_umask, 022);
	if (p->wait_go) {
		/* Created: the parent runs NRI now, while we wait before the
		 * filter (which might refuse a read) and the exec.  EOF on go:
		 * launch_abort, or the daemon is gone; exit either way. */
		char b;
		CHECK("wait", syscall(SYS_write, p->exec_w, "r", 1));
		if (syscall(SYS_read, p->go_r, &b, 1) != 1)
			child_fail(p, "wait", EPIPE);
		syscall(SYS_close, p->go_r);
	}
	/* Last: from here on the filter judges every call, execve included. */
	if (p->seccomp != NULL)
		CHECK("seccomp",
		      syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, p->seccomp));
	syscall(SYS_execve, p->exec_path, p->argv, p->envp);
	child_fail(p, "exec", errno);
}

static pid_t
spawn(struct launch_plan *p, struct launch_stack *st, unsigned long flags, int *pidfd)
{
	return clone_on_stack(flags, st->base, st->size, pidfd, p->cgroup_fd, child_main, p);
}

/* Write a whole id map to /proc/PID/{uid,gid}_map. */
static int
write_map(pid_t pid, const char *which, const char *map)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, which);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, map, strlen(map));
	int e = errno;
	close(fd);
	return n == (ssize_t)strlen(map) ? 0 : -(n < 0 ? e : EIO);
}

/* Back to the mount namespace home (mntns_switch's *back) after a spawn
 * from the template.  A worker left in the template would make the next
 * sandbox's pins there, where nobody looks for them, and grow it: there is
 * no way on from that, so a failure (impossible with the descriptor held
 * and CAP_SYS_ADMIN) ends the process. */
static void
go_home(int home)
{
	if (home < 0)
		return;
	if (setns(home, CLONE_NEWNS) != 0) {
		fprintf(stderr, "cradle: launch: return to the mount namespace: %s\n",
		        strerror(errno));
		abort();
	}
	close(home);
}

int
launch_open_tree(const char *source, unsigned long flags, bool recursive, struct cradle_err *err)
{
	static const struct {
		unsigned long ms;
		uint64_t attr;
	} attrs[] = {
		{ MS_RDONLY, MOUNT_ATTR_RDONLY },     { MS_NOSUID, MOUNT_ATTR_NOSUID },
		{ MS_NODEV, MOUNT_ATTR_NODEV },       { MS_NOEXEC, MOUNT_ATTR_NOEXEC },
		{ MS_NOATIME, MOUNT_ATTR_NOATIME },   { MS_STRICTATIME, MOUNT_ATTR_STRICTATIME },
		{ MS_RELATIME, MOUNT_ATTR_RELATIME },
	};
	struct mount_attr attr = { 0 };
	unsigned rec = recursive ? AT_RECURSIVE : 0;
	int fd = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);

	if (fd < 0)
		return cradle_err_errno(err, errno, "open bind mount source \"%s\"", source);
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (flags & attrs[i].ms)
			attr.attr_set |= attrs[i].attr;
	if (flags & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME))
		attr.attr_clr = MOUNT_ATTR__ATIME; /* one of the three replaces the rest */
	if ((attr.attr_set != 0 || attr.attr_clr != 0) &&
	    mount_setattr(fd, "", AT_EMPTY_PATH | rec, &attr, sizeof(attr)) != 0) {
		int e = errno;
		close(fd);
		return cradle_err_errno(err, e, "set the flags of bind mount \"%s\"", source);
	}
	return fd;
}

static void
close_mask(struct launch_plan *p)
{
	if (p->mask_fd >= 0)
		close(p->mask_fd);
	p->mask_fd = -1;
}

static void
reap_failed(int pidfd)
{
	siginfo_t si;
	/* Our own child that nobody else knows of: wait for it here, so a
	 * failed launch leaves no zombie behind. */
	sys_pidfd_wait(pidfd, &si);
	close(pidfd);
}

/* Fields 9 (flags) and 22 (start time) of /proc/PID/stat; false when
 * it cannot be read. */
static bool
read_stat(pid_t pid, unsigned long *flags, uint64_t *start_time)
{
	char path[64], buf[1024];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((n = fs_read(path, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields count from the last
	 * ')', which is followed by the space before field 3 */
	char *s = strrchr(buf, ')');
	for (int field = 2; s != NULL && field < 9; field++)
		s = strchr(s + 1, ' ');
	if (s == NULL)
		return false;
	*flags = strtoul(s + 1, NULL, 10);
	for (int field = 9; s != NULL && field < 22; field++)
		s = strchr(s + 1, ' ');
	if (s == NULL)
		return false;
	*start_time = strtoull(s + 1, NULL, 10);
	return true;
}

#define TASK_PF_EXITING 0x4u /* PF_EXITING, include/linux/sched.h */

/* Whether the child, back from its spawn (exec'd, or gone), died instead
 * of exec'ing; *si then holds how.  The spawn returns once the child let go
 * of our memory, which a dying child does on its way out, before it is a
 * zombie: so a child not yet waitable but already exiting counts too, and
 * is waited for (not reaped).  Exiting is flagged before the memory goes. */
static bool
child_died(struct launch_plan *p, pid_t pid, int pidfd, siginfo_t *si)
{
	unsigned long flags = 0;

	memset(si, 0, sizeof(*si));
	if (waitid(P_PIDFD, (id_t)pidfd, si, WEXITED | WNOHANG | WNOWAIT) == 0 && si->si_pid != 0)
		return true;
	/* read once: the flags now, the start time for the caller's record */
	if (!read_stat(pid, &flags, &p->start_time) || !(flags & TASK_PF_EXITING))
		return false;
	while (waitid(P_PIDFD, (id_t)pidfd, si, WEXITED | WNOWAIT) != 0)
		if (errno != EINTR)
			return false;
	return true;
}

/* The dumpable flag is per mm, and the child runs in the daemon's until it
 * execs: a change of ids or a drop of capabilities there (commit_creds
 * sets the flag to fs.suid_dumpable) or its PR_SET_DUMPABLE is the
 * daemon's change too.  The flag the process has when no launch is in
 * flight is the one to keep: the first launch to start reads it, and the
 * last one to leave puts it back.  Credentials are per task and never
 * were the daemon's to lose.  A flag of 2 (suid_dumpable's "root") cannot
 * be set back by prctl and is left as the children leave it.
 *
 * A child taking a non-root pod's ids ("exposed") clears the flag until it
 * execs: while it runs in the daemon's mm as that uid, a dumpable mm would
 * let a host process of the same uid trace it and so read the daemon's
 * memory.  So nothing that raises the flag may overlap it: a user
 * namespace child sets it to 1, and with fs.suid_dumpable = 1 any child
 * that drops capabilities makes it 1.  Such launches ("raising") wait for
 * exposed ones and the other way round; user namespace pods are rare,
 * and suid_dumpable = 1 is not a default. */
static pthread_mutex_t dumpable_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dumpable_cv = PTHREAD_COND_INITIALIZER;
static int dumpable_inflight, dumpable_want, dumpable_exposed, dumpable_raising;
static int suid_dumpable = -1; /* fs.suid_dumpable, read once */

static bool
launch_exposed(const struct launch_plan *p)
{
	return !p->new_user && p->set_ids && p->uid != 0;
}

static bool
launch_raising(const struct launch_plan *p)
{
	return p->new_user || (suid_dumpable == 1 && !launch_exposed(p));
}

static void
dumpable_hold(const struct launch_plan *p)
{
	pthread_mutex_lock(&dumpable_mu);
	if (suid_dumpable < 0) {
		FILE *f = fopen("/proc/sys/fs/suid_dumpable", "re");
		if (f == NULL || fscanf(f, "%d", &suid_dumpable) != 1)
			suid_dumpable = 1; /* unknown: assume the unsafe value */
		if (f != NULL)
			fclose(f);
	}
	bool exposed = launch_exposed(p), raising = launch_raising(p);
	while ((exposed && dumpable_raising > 0) || (raising && dumpable_exposed > 0))
		pthread_cond_wait(&dumpable_cv, &dumpable_mu);
	if (dumpable_inflight++ == 0)
		dumpable_want = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	dumpable_exposed += exposed;
	dumpable_raising += raising;
	pthread_mutex_unlock(&dumpable_mu);
}

static void
dumpable_release(const struct launch_plan *p)
{
	pthread_mutex_lock(&dumpable_mu);
	dumpable_exposed -= launch_exposed(p);
	dumpable_raising -= launch_raising(p);
	if (--dumpable_inflight == 0 && (dumpable_want == 0 || dumpable_want == 1) &&
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != dumpable_want)
		(void)prctl(PR_SET_DUMPABLE, dumpable_want, 0, 0, 0);
	pthread_cond_broadcast(&dumpable_cv);
	pthread_mutex_unlock(&dumpable_mu);
}

static int launch_finish(struct launch_plan *p, pid_t pid, int pidfd, struct cradle_err *err);

/* p->keep: the descriptors the child uses, ascending and unique. */
static void
keep_fds(struct launch_plan *p)
{
	size_t n = 0;
	bool over = false;

	p->fd_end = 3;
#define KEEP(fd)                                                \
	do {                                                    \
		if ((fd) > 2) {                                 \
			if (n < LAUNCH_KEEP_MAX)                \
				p->keep[n++] = (fd);            \
			else                                    \
				over = true;                    \
			if ((unsigned)(fd) >= p->fd_end)        \
				p->fd_end = (unsigned)(fd) + 1; \
		}                                               \
	} while (0)
	KEEP(p->sync_r);
	KEEP(p->exec_w);
	KEEP(p->go_r);
	KEEP(p->mask_fd);
	for (size_t i = 0; i < p->n_cgroup_procs_fds; i++)
		KEEP(p->cgroup_procs_fds[i]);
	for (size_t i = 0; p->ops != NULL && i < p->n_ops; i++)
		if (p->ops[i].kind == LOP_ATTACH)
			KEEP(p->ops[i].fd);
#undef KEEP
	for (size_t i = 1; i < n; i++) /* insertion sort: a few dozen at most */
		for (size_t j = i; j > 0 && p->keep[j - 1] > p->keep[j]; j--) {
			int t = p->keep[j];
			p->keep[j] = p->keep[j - 1];
			p->keep[j - 1] = t;
		}
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || p->keep[u - 1] != p->keep[i])
			p->keep[u++] = p->keep[i];
	p->n_keep = over ? LAUNCH_KEEP_MAX + 1 : u;
}

/* Wait on a user namespace child's exec pipe and its pidfd.  The child
 * writes one byte once it has its own copy of the descriptors, and the
 * pipe ends when it execs or exits (its write end is CLOEXEC).  With
 * first_byte, true at that byte; otherwise the bytes are read past until
 * the end, so that the caller knows the child is done with our memory.
 * The child's exit, seen on its pidfd, also ends the wait (false), so no
 * other process's copy of the pipe can hold us. */
static bool
wait_child(int rfd, int pidfd, bool first_byte)
{
	struct pollfd pf[2] = { { .fd = rfd, .events = POLLIN },
		                { .fd = pidfd, .events = POLLIN } };
	bool can_poll = true;
	char b;

	for (;;) {
		if (can_poll) {
			int n = poll(pf, 2, -1);
			if (n < 0 && errno == EINTR)
				continue;
			can_poll = n >= 0; /* cannot poll: the pipe alone */
			if (can_poll && pf[0].revents == 0) {
				if (pf[1].revents != 0)
					return false;
				continue;
			}
		}
		ssize_t r = read(rfd, &b, 1);
		if (r == 1 && first_byte)
			return true;
		if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
			return false;
	}
}

int
launch_start(struct launch_plan *p, struct launch_stack *st, struct cradle_err *err)
{
	unsigned long flags = CLONE_VM | CLONE_FILES | CLONE_PIDFD | CLONE_NEWNS;
	int pidfd = -1, exec_pipe[2] = { -1, -1 }, sync[2] = { -1, -1 }, go[2] = { -1, -1 },
	    home = -1;
	/* the child runs beside this thread: no CLONE_VFORK */
	bool beside = p->new_user || p->wait_go;

	if (p->rootfs == NULL || p->rootfs[0] != '/')
		return cradle_err_set(err, CRADLE_INTERNAL,
		                      "launch sandbox: rootfs must be an absolute path");
	if (p->root_move && p->mntns_fd < 0)
		/* the caller's namespace would stay below the rootfs, whole */
		return cradle_err_set(err, CRADLE_INTERNAL,
		                      "launch sandbox: root_move without a staged template");
	if (st == NULL || st->base == NULL)
		return cradle_err_set(err, CRADLE_INTERNAL, "launch sandbox: no launch stack");
	/* A created child still waits on this stack: launching another on it
	 * would overwrite the frames it sleeps in.  Never done (one worker
	 * runs a whole start); refused, not risked. */
	if (st->waiting)
		return cradle_err_set(
			err, CRADLE_INTERNAL,
			"launch sandbox: the stack's earlier task still waits to start");
	p->waiting = false;
	p->go_r = p->go_w = p->exec_r = -1;
	if (p->new_net)
		flags |= CLONE_NEWNET | CLONE_NEWUTS;
	if (p->new_pid)
		flags |= CLONE_NEWPID;
	if (p->new_ipc)
		flags |= CLONE_NEWIPC;
	snprintf(p->shm_opts, sizeof(p->shm_opts), "mode=1777,size=%llu",
	         (unsigned long long)p->shm_size);
	p->child_errno = 0;
	p->child_step = NULL;
	p->pid = 0;
	p->pidfd = -1;
	p->start_time = 0;
	p->exec_w = -1;
	p->set_exec_nice = st->set_exec_nice;
	p->exec_nice = st->exec_nice;
	p->exec_nice_done = false;

	/* The masks' empty directory travels as a detached read-only tree, as
	 * bind sources do (plan.c): the child's namespace may not show it,
	 * and a user namespace's root may not search its way to it. */
	p->mask_fd = -1;
	p->mask_first = NULL;
	if (p->mask_dir != NULL &&
	    (p->mask_fd = launch_open_tree(
		     p->mask_dir, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, false, err)) < 0) {
		cradle_err_wrap(err, "launch sandbox: mask directory");
		return -1;
	}
	/* The child's mount namespace is a copy of this thread's: make that
	 * the template for the length of the clone. */
	if (p->mntns_fd >= 0) {
		int rc = mntns_switch(p->mntns_fd, &home);
		if (rc < 0)
			return cradle_err_errno(
				err, -rc, "launch sandbox: enter the template mount namespace");
	}
	if (!beside) {
		/* posix_spawn-style: this thread sleeps until exec or exit. */
		flags |= CLONE_VFORK;
	} else {
		/* The parent must write the id maps while the child waits, or
		 * (wait_go) return while it waits, so no CLONE_VFORK: the child
		 * blocks on sync (go), and the exec pipe's EOF (its write end
		 * is CLOEXEC in the child) says it is done with the shared
		 * stack and the plan. */
		if (p->new_user)
			flags |= CLONE_NEWUSER;
		if (pipe2(exec_pipe, O_CLOEXEC) != 0 ||
		    (p->new_user && pipe2(sync, O_CLOEXEC) != 0) ||
		    (p->wait_go && pipe2(go, O_CLOEXEC) != 0)) {
			int e = errno;
			for (int i = 0; i < 2; i++) {
				if (exec_pipe[i] >= 0)
					close(exec_pipe[i]);
				if (sync[i] >= 0)
					close(sync[i]);
				if (go[i] >= 0)
					close(go[i]);
			}
			go_home(home);
			close_mask(p);
			return cradle_err_errno(err, e, "launch sandbox: pipe");
		}
		p->sync_r = sync[0];
		p->sync_w = sync[1];
		p->exec_w = exec_pipe[1];
		p->go_r = go[0];
	}
	keep_fds(p);

	dumpable_hold(p);
	pid_t pid = spawn(p, st, flags, &pidfd);
	int spawn_errno = errno;
	bool alive = true;
	go_home(home);
	/* The child shares our descriptors until it has its copy: a user
	 * namespace or wait_go child says when (a vfork child has it by now). */
	if (beside && pid > 0)
		alive = wait_child(exec_pipe[0], pidfd, true);
	close_mask(p); /* the child's copy is attached, or gone with it */
	if (beside) {
		close(exec_pipe[1]);
		if (sync[0] >= 0)
			close(sync[0]);
		if (go[0] >= 0)
			close(go[0]); /* p->go_r keeps its number: the child reads it */
	}
	if (pid < 0) {
		dumpable_release(p);
		if (beside) {
			close(exec_pipe[0]);
			if (sync[1] >= 0)
				close(sync[1]);
			if (go[1] >= 0)
				close(go[1]);
		}
		return cradle_err_errno(err, spawn_errno, "launch sandbox: clone3");
	}
	if (beside && !alive) {
		/* gone before it had its copy: the checks below say how */
		if (sync[1] >= 0)
			close(sync[1]);
		if (go[1] >= 0)
			close(go[1]);
		close(exec_pipe[0]);
	} else if (p->new_user) {
		/* The child waits on sync: these steps are ours, named as such. */
		const char *failed = "write uid_map";
		int rc = write_map(pid, "uid_map", p->uid_map ? p->uid_map : "");
		if (rc == 0) {
			failed = "write gid_map";
			rc = write_map(pid, "gid_map", p->gid_map ? p->gid_map : "");
		}
		char pidstr[16];
		int plen = snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
		for (size_t i = 0; rc == 0 && i < p->n_cgroup_procs_fds; i++) {
			ssize_t w = write(p->cgroup_procs_fds[i], pidstr, (size_t)plen);
			if (w != plen) {
				failed = "join cgroup";
				rc = w < 0 ? -errno : -EIO;
			}
		}
		if (rc == 0 && write(sync[1], "x", 1) != 1) {
			failed = "release the child";
			rc = -errno;
		}
		if (rc < 0) {
			/* Killed, not left to read EOF on sync: the child's exit
			 * is what we wait for, whoever else holds the pipe. */
			sys_pidfd_send_signal(pidfd, SIGKILL);
			close(sync[1]);
			if (go[1] >= 0)
				close(go[1]);
			close(exec_pipe[0]);
			reap_failed(pidfd);
			dumpable_release(p);
			p->child_errno = -rc;
			p->child_step = "set up user namespace";
			return cradle_err_errno(
				err, -rc, "launch sandbox: set up user namespace: %s", failed);
		}
		close(sync[1]);
		if (!p->wait_go) {
			(void)wait_child(exec_pipe[0], pidfd, false);
			close(exec_pipe[0]);
		}
	}
	if (p->wait_go && alive) {
		/* Its "r" once it is set up and waits on go; EOF or its exit
		 * when it failed first. */
		if (wait_child(exec_pipe[0], pidfd, true)) {
			p->pid = pid;
			p->pidfd = sys_fd_raise(pidfd, p->pidfd_floor);
			p->go_w = go[1];
			p->exec_r = exec_pipe[0];
			p->waiting = true;
			st->waiting = true;
			/* the dumpable hold is kept: the child is in our mm */
			return 0;
		}
		close(go[1]);
		close(exec_pipe[0]);
	}
	return launch_finish(p, pid, pidfd, err);
}

/* The child has exec'd or exited: the one-step launch's end, and
 * launch_go's. */
static int
launch_finish(struct launch_plan *p, pid_t pid, int pidfd, struct cradle_err *err)
{
	/* The child has exec'd or exited: out of our mm. */
	dumpable_release(p);
	if (p->child_errno != 0) {
		int e = p->child_errno;
		reap_failed(pidfd);
		return cradle_err_errno(err, e, "launch sandbox: %s", p->child_step);
	}
	/* The child is back (exec'd, or exited): a child killed by a signal
	 * before exec (or at it: a seccomp filter refusing execve, the OOM
	 * killer) wrote no error, and is no pause either. */
	siginfo_t si = { 0 };
	if (child_died(p, pid, pidfd, &si)) {
		reap_failed(pidfd);
		p->child_step = "exec";
		if (si.si_code == CLD_EXITED)
			return cradle_err_set(
				err, CRADLE_INTERNAL,
				"launch sandbox: the task exited with status %d at once",
				si.si_status);
		return cradle_err_set(
			err, CRADLE_INTERNAL,
			"launch sandbox: the task was killed by signal %d (%s) before "
			"it ran",
			si.si_status, strsignal(si.si_status));
	}
	/* The child could not set its nice itself (a user namespace, or
	 * refused): pause has just exec'd, set it now.  A refusal here too
	 * leaves pause at the worker's nice, which costs it priority only. */
	if (p->set_exec_nice && !p->exec_nice_done)
		(void)setpriority(PRIO_PROCESS, (id_t)pid, p->exec_nice);
	p->pid = pid;
	p->pidfd = sys_fd_raise(pidfd, p->pidfd_floor);
	return 0;
}

int
launch_go(struct launch_plan *p, struct launch_stack *st, struct cradle_err *err)
{
	if (!p->waiting)
		return cradle_err_set(err, CRADLE_INTERNAL,
		                      "launch sandbox: no created task waits to start");
	pid_t pid = p->pid;
	int pidfd = p->pidfd;
	/* A child gone meanwhile (killed) makes the write fail: what it
	 * left says how, below. */
	(void)write_nosigpipe(p->go_w, "g", 1);
	close(p->go_w);
	(void)wait_child(p->exec_r, pidfd, false);
	close(p->exec_r);
	p->go_w = p->exec_r = -1;
	p->waiting = false;
	st->waiting = false;
	p->pid = 0;
	p->pidfd = -1;
	return launch_finish(p, pid, pidfd, err);
}

void
launch_abort(struct launch_plan *p, struct launch_stack *st)
{
	if (!p->waiting)
		return;
	/* EOF on go ends it even if the kill were refused */
	close(p->go_w);
	if (sys_pidfd_send_signal(p->pidfd, SIGKILL) != 0 && errno != ESRCH)
		kill(p->pid, SIGKILL);
	close(p->exec_r);
	reap_failed(p->pidfd); /* gone from our mm and off the stack */
	p->go_w = p->exec_r = -1;
	p->waiting = false;
	st->waiting = false;
	p->pid = 0;
	p->pidfd = -1;
	dumpable_release(p);
}

uint64_t
launch_pid_start_time(pid_t pid)
{
	unsigned long flags;
	uint64_t start;

	return read_stat(pid, &flags, &start) ? start : 0;
}
