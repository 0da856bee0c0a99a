/* run.h - run a program to its end, with bounded input, output and time.
 *
 * For the programs the daemon runs on a sandbox's start and stop path
 * (CNI and NRI plugins): the program reads a buffer on its stdin, its
 * stdout is kept up to a limit (more is an overrun: it is killed), the
 * last bytes of its stderr are kept for a message, and it runs in a
 * process group of its own with every signal at its default and none
 * blocked; at its deadline or an overrun the group is killed.  It is
 * always waited for: no zombie, no pipe left.
 *
 * The child is cloned with CLONE_VM|CLONE_VFORK|CLONE_FILES and, as its
 * first call, copies only the descriptor slots below its pipes
 * (close_range(CLOSE_RANGE_UNSHARE)).  posix_spawn(3) copies the caller's
 * whole table and closes it again at exec: with a pidfd per live pod
 * kept open (parked high, core/reaper) that is a cost per plugin that
 * grows with the number of pods on the node; this one does not.
 */
#ifndef CRADLE_UTIL_RUN_H
#define CRADLE_UTIL_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct run_spec {
	const char *path;  /* executed as is (no PATH search) */
	char *const *argv; /* NULL-terminated */
	char *const *envp; /* NULL-terminated */
	const char *in;    /* written to its stdin, which is then closed */
	size_t in_len;
	size_t out_max; /* stdout kept; more is an overrun */
	size_t err_max; /* stderr: its last err_max bytes are kept */
	int timeout_ms; /* from the spawn to its exit */
};

struct run_result {
	char *out; /* stdout, NUL-terminated (out_len bytes before it); owned */
	size_t out_len;
	char *err; /* stderr's tail, NUL-terminated; owned */
	size_t err_len;
	bool timed_out; /* killed at the deadline */
	bool out_over;  /* killed for writing more than out_max */
	siginfo_t si;   /* how it ended: CLD_EXITED and si_status, or a signal */
};

/* 0 when the program ran and was waited for, however it ended (res says
 * how).  -errno when it could not be run or waited for; *what then names
 * the step: "pipes", "exec" (the program's own execve failed: ENOENT,
 * EACCES, ENOEXEC, ...), "spawn", "poll" or "wait".  res is filled either
 * way; run_result_fini frees it. */
int run_program(const struct run_spec *spec, struct run_result *res, const char **what);
void run_result_fini(struct run_result *res);

/* "exited with status N" or "killed by signal N". */
void run_status_text(const siginfo_t *si, char *buf, size_t size);
/* The last 200 bytes of text for a message: one line, printable, trailing
 * white space dropped. */
void run_tail_text(const char *text, size_t len, char *out, size_t size);

/* write(2) that turns a reader gone into EPIPE without SIGPIPE reaching
 * the process: the signal is blocked in this thread for the call and a
 * SIGPIPE it raised is taken back. */
ssize_t write_nosigpipe(int fd, const void *buf, size_t len);

#endif
