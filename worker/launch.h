/* launch.h - start a pause task: clone3 posix_spawn-style into new namespaces.
 *
 * The parent is multithreaded, so the child runs a plan prepared in the
 * parent and makes only raw system calls: no malloc, no locks, no stdio, no
 * glibc wrappers that coordinate threads.  The child shares the parent's
 * memory (CLONE_VM) and the parent thread is suspended until the child execs
 * or exits (CLONE_VFORK), exactly as posix_spawn does; the child runs on a
 * stack of its own (struct launch_stack, one per worker thread).  Because
 * memory is shared and the parent resumes only after exec or exit, the
 * child reports a failure by writing {errno, step name} into the plan: the
 * same contract as a CLOEXEC error pipe whose EOF means "exec succeeded",
 * without the pipe (see docs/ARCHITECTURE.md, "Launch").
 *
 * Child steps, in order (step names as reported):
 *   "sigmask"      restore an empty signal mask
 *   "propagation"  make every mount private (MS_REC|MS_PRIVATE on /)
 *   "bind-rootfs"  bind the image rootfs onto itself, chdir into it
 *   "mount-proc"   proc on proc/ (nosuid,noexec,nodev)
 *   "mount-dev"    tmpfs on dev/ (nosuid,mode=755,size=64k) + null, zero,
 *                  full, random, urandom, tty nodes and fd/std* links
 *   "mount-shm"    tmpfs on dev/shm (nosuid,nodev,noexec,mode=1777,size=shm)
 *   "readonly-rootfs" remount the rootfs bind read-only
 *   "pivot-root"   pivot_root(".", "."), detach the old root, chdir /
 *   "sethostname"  when a new UTS namespace is made and hostname is set
 *   "stdio"        /dev/null on 0, 1, 2; close every other descriptor
 *   "exec"         execve(exec_path, argv, envp)
 */
#ifndef CRADLE_LAUNCH_H
#define CRADLE_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../proto/err.h"

struct launch_stack {
	void *base;       /* mmap'd, with a guard page below */
	size_t size;
};

/* 0 or <0 with err. */
int launch_stack_alloc(struct launch_stack *st, struct cradle_err *err);
void launch_stack_free(struct launch_stack *st);  /* zero-safe */

#define LAUNCH_HOSTNAME_MAX 64

struct launch_plan {
	/* inputs (set by the caller, read by the child) */
	const char *rootfs;            /* absolute path of the image rootfs */
	const char *exec_path;         /* inside the rootfs, e.g. "/pause" */
	char *const *argv;             /* NULL-terminated */
	char *const *envp;             /* NULL-terminated */
	bool new_net, new_pid, new_ipc; /* UTS follows net; mount always new */
	char hostname[LAUNCH_HOSTNAME_MAX + 1]; /* applied when new_net and set */
	uint64_t shm_size;             /* bytes for /dev/shm when new_ipc */
	char shm_opts[64];             /* filled by launch_start */

	/* outputs */
	pid_t pid;
	int pidfd;                     /* CLOEXEC, owned by the caller */
	int child_errno;               /* 0 when exec succeeded */
	const char *child_step;        /* static string, the failing step */
};

void launch_plan_init(struct launch_plan *p);

/* Spawn.  On success plan->pid/pidfd are set and the child has exec'd.  On
 * failure returns <0 with err naming the step ("launch sandbox: mount-proc:
 * Operation not permitted"); a child that failed has been waited for, so
 * nothing is left.  Thread-safe as long as each thread uses its own stack. */
int launch_start(struct launch_plan *p, struct launch_stack *st,
                 struct cradle_err *err);

/* Start time of a pid (field 22 of /proc/PID/stat), 0 when unreadable. */
uint64_t launch_pid_start_time(pid_t pid);

#endif
