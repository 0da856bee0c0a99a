/* run.c - run a program to its end, bounded (see run.h). */
#include "util/run.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/clone.h"
#include "util/sys.h"

#define CHILD_STACK 16384

ssize_t
write_nosigpipe(int fd, const void *buf, size_t len)
{
	sigset_t pipe_set, old, pending;
	ssize_t n;
	int e;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	bool was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	n = write(fd, buf, len);
	e = errno;
	if (n < 0 && e == EPIPE && !was_pending) {
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return n;
}

void
run_status_text(const siginfo_t *si, char *buf, size_t size)
{
	if (si->si_code == CLD_EXITED)
		snprintf(buf, size, "exited with status %d", si->si_status);
	else
		snprintf(buf, size, "killed by signal %d", si->si_status);
}

void
run_tail_text(const char *text, size_t len, char *out, size_t size)
{
	size_t start = 0, j = 0;

	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (len > 200)
		start = len - 200;
	for (size_t i = start; i < len && j + 1 < size; i++) {
		unsigned char ch = (unsigned char)text[i];
		out[j++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : ' ';
	}
	if (size > 0)
		out[j] = '\0';
}

/* --- the child: raw system calls only (it shares our memory) ------------ */

/* The kernel's struct sigaction (rt_sigaction), for SIG_DFL only. */
struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

struct child {
	const struct run_spec *spec;
	int fd[3];           /* its stdin, stdout and stderr: our pipe ends, all > 2 */
	unsigned fd_end;     /* above every one of them */
	volatile int errnum; /* why it did not exec; read once it has gone */
};

NO_SANITIZE static int
child_main(void *arg)
{
	struct child *c = arg;
	struct kernel_sigaction dfl = { 0 };
	uint64_t none = 0;
	int i;

	/* our own table, copied from the slots below fd_end only */
	if (syscall(SYS_close_range, c->fd_end, ~0u, CLOSE_RANGE_UNSHARE) != 0)
		goto fail;
	for (i = 0; i < 3; i++)
		if (syscall(SYS_dup3, c->fd[i], i, 0) < 0)
			goto fail;
	if (syscall(SYS_close_range, 3, ~0u, 0) != 0)
		goto fail;
	/* every signal at its default (the ones glibc keeps refuse: fine),
	 * then none blocked: the parent blocked them all around the clone */
	dfl.handler = SIG_DFL;
	for (i = 1; i < 65; i++)
		if (i != SIGKILL && i != SIGSTOP)
			syscall(SYS_rt_sigaction, i, &dfl, NULL, sizeof(dfl.mask));
	if (syscall(SYS_setpgid, 0, 0) != 0)
		goto fail;
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none)) != 0)
		goto fail;
	syscall(SYS_execve, c->spec->path, c->spec->argv, c->spec->envp);
fail:
	c->errnum = errno;
	return 127;
}

/* --- the parent -------------------------------------------------------- */

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A pipe with both ends above 2 and close-on-exec. */
static int
pipe_above_stdio(int p[2])
{
	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		if (p[i] > 2)
			continue;
		int nfd = fcntl(p[i], F_DUPFD_CLOEXEC, 3);
		int e = errno;
		close(p[i]);
		p[i] = nfd;
		if (nfd < 0) {
			close_fd(&p[1 - i]);
			return -e;
		}
	}
	return 0;
}

struct capture {
	char *buf;
	size_t len, max;
	bool tail; /* keep the last max bytes instead of overrunning */
	bool over;
};

/* Read what fd holds now; 1 at EOF (or an overrun), 0 for more later,
 * -errno. */
static int
drain(int fd, struct capture *c)
{
	char tmp[16384];

	for (;;) {
		ssize_t r = read(fd, tmp, sizeof(tmp));
		if (r == 0)
			return 1;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		size_t k = (size_t)r;
		if (c->len + k > c->max) {
			if (!c->tail) {
				c->over = true;
				return 1;
			}
			if (k >= c->max) {
				memcpy(c->buf, tmp + k - c->max, c->max);
				c->len = c->max;
				continue;
			}
			size_t drop = c->len + k - c->max;
			memmove(c->buf, c->buf + drop, c->len - drop);
			c->len -= drop;
		}
		memcpy(c->buf + c->len, tmp, k);
		c->len += k;
	}
}

/* Clone the child onto fds; its pid and pidfd, or -errno (*what set). */
static pid_t
spawn(const struct run_spec *spec, const int fd[3], int *pidfd, const char **what)
{
	char stack[CHILD_STACK] __attribute__((aligned(16)));
	struct child c = { .spec = spec, .errnum = 0 };
	sigset_t all, old;
	pid_t pid;
	int e;

	c.fd_end = 3;
	for (int i = 0; i < 3; i++) {
		c.fd[i] = fd[i];
		if ((unsigned)fd[i] + 1 > c.fd_end)
			c.fd_end = (unsigned)fd[i] + 1;
	}
	/* No handler of ours may run on the child's stack in our memory. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	/* CLONE_VFORK: we sleep until it has exec'd or gone, so its stack
	 * can be ours and its errnum is written before we read it. */
	pid = clone_on_stack(CLONE_VM | CLONE_VFORK | CLONE_FILES, stack, sizeof(stack), pidfd, -1,
	                     child_main, &c);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		*what = "spawn";
		return -e;
	}
	if (c.errnum != 0) {
		siginfo_t si;
		sys_pidfd_wait(*pidfd, &si);
		close_fd(pidfd);
		*what = "exec";
		return -c.errnum;
	}
	return pid;
}

int
run_program(const struct run_spec *spec, struct run_result *res, const char **what)
{
	int p_in[2] = { -1, -1 }, p_out[2] = { -1, -1 }, p_err[2] = { -1, -1 }, pidfd = -1;
	struct capture out = { .max = spec->out_max },
		       errc = { .max = spec->err_max, .tail = true };
	bool exited = false, out_eof = false, err_eof = false;
	size_t in_off = 0;
	pid_t pid;
	int ret = 0, r;

	memset(res, 0, sizeof(*res));
	*what = "pipes";
	out.buf = malloc(spec->out_max + 1);
	errc.buf = malloc(spec->err_max + 1);
	if (out.buf == NULL || errc.buf == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	if ((r = pipe_above_stdio(p_in)) < 0 || (r = pipe_above_stdio(p_out)) < 0 ||
	    (r = pipe_above_stdio(p_err)) < 0) {
		ret = r;
		goto out;
	}
	pid = spawn(spec, (const int[3]){ p_in[0], p_out[1], p_err[1] }, &pidfd, what);
	if (pid < 0) {
		ret = pid;
		goto out;
	}
	close_fd(&p_in[0]);
	close_fd(&p_out[1]);
	close_fd(&p_err[1]);
	fcntl(p_in[1], F_SETFL, O_NONBLOCK);
	fcntl(p_out[0], F_SETFL, O_NONBLOCK);
	fcntl(p_err[0], F_SETFL, O_NONBLOCK);
	if (spec->in_len == 0)
		close_fd(&p_in[1]);

	int64_t deadline = clock_mono_ns() / 1000000 + spec->timeout_ms;
	while (!exited && !out.over) {
		struct pollfd pf[4];
		int np = 0, i_pid, i_out = -1, i_err = -1, i_in = -1;
		int64_t left = deadline - clock_mono_ns() / 1000000;

		if (left <= 0) {
			res->timed_out = true;
			break;
		}
		pf[i_pid = np++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		if (!out_eof)
			pf[i_out = np++] = (struct pollfd){ .fd = p_out[0], .events = POLLIN };
		if (!err_eof)
			pf[i_err = np++] = (struct pollfd){ .fd = p_err[0], .events = POLLIN };
		if (p_in[1] >= 0)
			pf[i_in = np++] = (struct pollfd){ .fd = p_in[1], .events = POLLOUT };
		r = poll(pf, (nfds_t)np, left > 60000 ? 60000 : (int)left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*what = "poll";
			ret = -errno;
			break;
		}
		if (i_in >= 0 && pf[i_in].revents != 0) {
			ssize_t w =
				write_nosigpipe(p_in[1], spec->in + in_off, spec->in_len - in_off);
			if (w > 0)
				in_off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == spec->in_len)
				close_fd(&p_in[1]); /* done, or it does not read */
		}
		if (i_out >= 0 && pf[i_out].revents != 0)
			out_eof = drain(p_out[0], &out) != 0;
		if (i_err >= 0 && pf[i_err].revents != 0)
			err_eof = drain(p_err[0], &errc) != 0;
		if (pf[i_pid].revents != 0)
			exited = true;
	}
	if (exited && !out.over) {
		/* what it wrote before it exited is in the pipes */
		if (!out_eof)
			drain(p_out[0], &out);
		if (!err_eof)
			drain(p_err[0], &errc);
	}
	res->out_over = out.over;
	if (!exited || out.over) {
		/* its group too: what it started would outlive it */
		kill(-pid, SIGKILL);
		sys_pidfd_send_signal(pidfd, SIGKILL);
	}
	r = sys_pidfd_wait(pidfd, &res->si);
	if (ret == 0 && r < 0) {
		*what = "wait";
		ret = r;
	}
out:
	close_fd(&pidfd);
	close_fd(&p_in[0]);
	close_fd(&p_in[1]);
	close_fd(&p_out[0]);
	close_fd(&p_out[1]);
	close_fd(&p_err[0]);
	close_fd(&p_err[1]);
	if (out.buf != NULL)
		out.buf[out.len] = '\0';
	if (errc.buf != NULL)
		errc.buf[errc.len] = '\0';
	res->out = out.buf;
	res->out_len = out.len;
	res->err = errc.buf;
	res->err_len = errc.len;
	return ret;
}

void
run_result_fini(struct run_result *res)
{
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof(*res));
}
