/* sys.h - system calls glibc 2.36 does not wrap (or headers may lack),
 * in one place: the numbers and flags, and small inline wrappers.
 *
 * The wrappers are plain syscall(2) calls: safe in the clone3 child (no
 * allocation, no locks), and they return what the kernel returns (-1 with
 * errno set), except sys_pidfd_wait which returns 0 or -errno.
 */
#ifndef CRADLE_UTIL_SYS_H
#define CRADLE_UTIL_SYS_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE 2
#endif

/* A pidfd (O_CLOEXEC, as every pidfd is) for pid, or -1 with errno. */
static inline int
sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Signal the task behind pidfd; -1 with errno (ESRCH: already gone). */
static inline int
sys_pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* fd moved to the lowest free number at or above floor (CLOEXEC), the old
 * number closed; fd itself when it is there already or cannot move (the
 * open-files limit is lower than floor, or the table is full). */
static inline int
sys_fd_raise(int fd, int floor)
{
	int high;

	if (fd < 0 || floor <= 0 || fd >= floor)
		return fd;
	if ((high = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, floor)) < 0)
		return fd;
	close(fd);
	return high;
}

/* Reap the child behind pidfd (blocking), EINTR retried.  0 with *si
 * filled, or -errno (ECHILD: not our child, or reaped already). */
static inline int
sys_pidfd_wait(int pidfd, siginfo_t *si)
{
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, si, WEXITED) != 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* struct sched_attr as of Linux 3.14 (SCHED_ATTR_SIZE_VER0); glibc 2.36
 * has neither the type nor the calls, and <linux/sched/types.h> clashes
 * with <sched.h> there. */
struct sched_attr0 {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};
#define SCHED_FLAG_RESET_ON_FORK_ 0x01

/* The calling thread's slice (EEVDF's request size: 0 is the kernel's
 * default) and, when nice is not NULL, its nice, in one call; its policy
 * stays.  Only the fair policies have either.  0, or -1 when the call
 * failed or the policy has no slice.  Kernels before 6.12 ignore the
 * slice. */
static inline int
sys_sched_set(uint64_t slice_ns, const int *nice)
{
	struct sched_attr0 a;

	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0) != 0 ||
	    (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH))
		return -1;
	a.size = sizeof(a);
	a.sched_flags &= SCHED_FLAG_RESET_ON_FORK_;
	a.sched_runtime = slice_ns;
	if (nice != NULL)
		a.sched_nice = *nice;
	return syscall(SYS_sched_setattr, 0, &a, 0) == 0 ? 0 : -1;
}

#endif
