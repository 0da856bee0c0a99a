/* clone.h - start a child on a stack of the caller's, for the two places
 * that spawn from a multithreaded daemon without copying its descriptor
 * table: the pause launcher (sandbox/launch.c) and the plugin runner
 * (util/run.c).
 *
 * glibc has no public clone3 wrapper and syscall(SYS_clone3) cannot be
 * used with a new stack (the child would return into the parent's
 * frames), so on x86-64 a few lines of assembly start the child on its
 * stack and call fn there; other architectures use glibc's clone(), which
 * supports CLONE_PIDFD as well (but not CLONE_INTO_CGROUP).
 *
 * fn runs in a child that may share the caller's memory (CLONE_VM): it
 * must make raw system calls only, and be marked NO_SANITIZE so that no
 * sanitizer runtime runs on its stack.
 */
#ifndef CRADLE_UTIL_CLONE_H
#define CRADLE_UTIL_CLONE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#if defined(__has_attribute)
#if __has_attribute(no_sanitize)
#define NO_SANITIZE __attribute__((no_sanitize("address", "thread", "undefined")))
#endif
#endif
#ifndef NO_SANITIZE
#define NO_SANITIZE
#endif

/* clone3(flags | CLONE_PIDFD, exit signal SIGCHLD) with the child on
 * [stack, stack + size), *pidfd set; cgroup_fd >= 0 adds
 * CLONE_INTO_CGROUP.  The child calls fn(arg) and exits with its return
 * value.  The child's pid, or -1 with errno. */
pid_t clone_on_stack(uint64_t flags, void *stack, size_t size, int *pidfd, int cgroup_fd,
                     int (*fn)(void *), void *arg);

#endif
