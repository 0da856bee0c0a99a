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
 * glibc has no public clone3 wrapper and syscall(SYS_clone3) cannot be used
 * with a new stack (the child would return into the parent's frames), so a
 * few lines of assembly start the child on its own stack and call
 * child_main there.  Architectures without that trampoline use glibc's
 * clone(), which supports CLONE_PIDFD as well.
 */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/sched.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE 2
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define STACK_SIZE (64 * 1024)

#if defined(__has_attribute)
#if __has_attribute(no_sanitize)
#define NO_SANITIZE __attribute__((no_sanitize("address", "thread", "undefined")))
#endif
#endif
#ifndef NO_SANITIZE
#define NO_SANITIZE
#endif

int
launch_stack_alloc(struct launch_stack *st, struct cradle_err *err)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = STACK_SIZE + (size_t)page;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

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
	return (int)syscall(SYS_mknodat, AT_FDCWD, path, S_IFCHR | 0666,
	                    makedev(maj, min));
}

#define CHECK(step, call)                                  \
	do {                                               \
		if ((long)(call) < 0)                      \
			child_fail(p, step, errno);        \
	} while (0)

NO_SANITIZE static int
child_main(void *arg)
{
	struct launch_plan *p = arg;
	uint64_t empty = 0;

	/* Every daemon thread blocks signals (they are read from a signalfd);
	 * pause must get SIGTERM, so start with an empty mask.  Signal
	 * dispositions need no reset: the daemon installs no handlers and
	 * ignores nothing, and exec resets handlers anyway. */
	CHECK("sigmask", syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof(empty)));
	/* Mode bits below are exact; umask is per-process here (no CLONE_FS). */
	syscall(SYS_umask, 0);

	/* Nothing done in this mount namespace may propagate to the host. */
	CHECK("propagation", syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	CHECK("bind-rootfs", syscall(SYS_mount, p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL));
	/* After the bind, walking the path again lands in the new mount, so
	 * all further mounts use paths relative to it: no string building. */
	CHECK("bind-rootfs", syscall(SYS_chdir, p->rootfs));

	CHECK("mount-proc", syscall(SYS_mount, "proc", "proc", "proc",
	                            MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL));

	CHECK("mount-dev", syscall(SYS_mount, "tmpfs", "dev", "tmpfs",
	                           MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"));
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
		CHECK("mount-shm", syscall(SYS_mount, "/dev/shm", "dev/shm", NULL,
		                           MS_BIND | MS_REC, NULL));

	CHECK("readonly-rootfs", syscall(SYS_mount, NULL, ".", NULL,
	                                 MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
	                                 NULL));

	CHECK("pivot-root", syscall(SYS_pivot_root, ".", "."));
	CHECK("pivot-root", syscall(SYS_umount2, ".", MNT_DETACH));
	CHECK("pivot-root", syscall(SYS_chdir, "/"));

	if (p->new_net && p->hostname[0] != '\0') {
		size_t n = 0;
		while (p->hostname[n] != '\0')
			n++;
		CHECK("sethostname", syscall(SYS_sethostname, p->hostname, n));
	}

	long fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR);
	CHECK("stdio", fd);
	for (int i = 0; i < 3; i++)
		if (fd != i)
			CHECK("stdio", syscall(SYS_dup3, fd, i, 0));
	/* Only 0-2 cross exec, whatever the daemon has open. */
	CHECK("stdio", syscall(SYS_close_range, 3, ~0u, 0));

	syscall(SYS_umask, 022);
	syscall(SYS_execve, p->exec_path, p->argv, p->envp);
	child_fail(p, "exec", errno);
}

#if defined(__x86_64__)
/* long raw_clone3(struct clone_args *args, size_t size,
 *                 int (*fn)(void *), void *arg)
 * Parent: returns the child's pid or -errno.  Child: runs on the stack in
 * args, calls fn(arg) and exits with its return value.  fn and arg travel in
 * r8/r9, which the kernel preserves across syscall and copies to the child. */
__attribute__((naked, noinline)) static long
raw_clone3(__attribute__((unused)) struct clone_args *args, __attribute__((unused)) size_t size,
           __attribute__((unused)) int (*fn)(void *), __attribute__((unused)) void *arg)
{
	__asm__ volatile(
		"mov %rdx, %r8\n\t"
		"mov %rcx, %r9\n\t"
		"mov $435, %eax\n\t"
		"syscall\n\t"
		"test %rax, %rax\n\t"
		"jnz 1f\n\t"
		"xor %ebp, %ebp\n\t"
		"mov %r9, %rdi\n\t"
		"call *%r8\n\t"
		"mov %eax, %edi\n\t"
		"mov $60, %eax\n\t"
		"syscall\n\t"
		"hlt\n"
		"1:\n\t"
		"ret\n\t");
}
#endif

static pid_t
spawn(struct launch_plan *p, struct launch_stack *st, unsigned long flags, int *pidfd)
{
#if defined(__x86_64__)
	struct clone_args ca;

	memset(&ca, 0, sizeof(ca));
	ca.flags = flags;
	ca.pidfd = (uint64_t)(uintptr_t)pidfd;
	ca.exit_signal = SIGCHLD;
	ca.stack = (uint64_t)(uintptr_t)st->base;
	ca.stack_size = st->size;
	long r = raw_clone3(&ca, sizeof(ca), child_main, p);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return (pid_t)r;
#else
	return clone(child_main, (char *)st->base + st->size, (int)flags | SIGCHLD, p, pidfd);
#endif
}

int
launch_start(struct launch_plan *p, struct launch_stack *st, struct cradle_err *err)
{
	unsigned long flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_NEWNS;
	int pidfd = -1;

	if (p->rootfs == NULL || p->rootfs[0] != '/')
		return cradle_err_set(err, CRADLE_INTERNAL, "launch sandbox: rootfs must be an absolute path");
	if (st == NULL || st->base == NULL)
		return cradle_err_set(err, CRADLE_INTERNAL, "launch sandbox: no launch stack");
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

	pid_t pid = spawn(p, st, flags, &pidfd);
	if (pid < 0)
		return cradle_err_errno(err, errno, "launch sandbox: clone3");
	if (p->child_errno != 0) {
		siginfo_t si;
		int e = p->child_errno;
		/* Our own child that nobody else knows of: wait for it here, so a
		 * failed launch leaves no zombie behind. */
		while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
			;
		close(pidfd);
		return cradle_err_errno(err, e, "launch sandbox: %s", p->child_step);
	}
	p->pid = pid;
	p->pidfd = pidfd;
	return 0;
}

uint64_t
launch_pid_start_time(pid_t pid)
{
	char path[64], buf[1024];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields count from the last ')'. */
	char *s = strrchr(buf, ')');
	if (s == NULL)
		return 0;
	/* s is at the space before field 3; step to the one before field 22 */
	s++;
	for (int field = 3; field < 22 && s != NULL; field++)
		s = strchr(s + 1, ' ');
	if (s == NULL)
		return 0;
	return strtoull(s + 1, NULL, 10);
}
