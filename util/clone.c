/* clone.c - clone3 on a stack of the caller's (see clone.h). */
#include "util/clone.h"

#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>

#include "util/sys.h"

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
	__asm__ volatile("mov %rdx, %r8\n\t"
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

pid_t
clone_on_stack(uint64_t flags, void *stack, size_t size, int *pidfd, int cgroup_fd,
               int (*fn)(void *), void *arg)
{
#if defined(__x86_64__)
	struct clone_args ca;

	memset(&ca, 0, sizeof(ca));
	ca.flags = flags | CLONE_PIDFD;
	ca.pidfd = (uint64_t)(uintptr_t)pidfd;
	ca.exit_signal = SIGCHLD;
	ca.stack = (uint64_t)(uintptr_t)stack;
	ca.stack_size = size;
	if (cgroup_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)cgroup_fd;
	}
	long rc = raw_clone3(&ca, sizeof(ca), fn, arg);
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return (pid_t)rc;
#else
	if (cgroup_fd >= 0) {
		errno = ENOTSUP;
		return -1;
	}
	return clone(fn, (char *)stack + size, (int)(flags | CLONE_PIDFD) | SIGCHLD, arg, pidfd);
#endif
}
