/* pause.c - PID 1 of a cradle sandbox: hold the pod's namespaces, reap
 * orphans, exit 0 on SIGINT/SIGTERM.
 *
 * DESIGN
 * The kubernetes pause (build/pause/linux/pause.c) does the same work from asynchronous
 * handlers that call psignal() and exit(), neither async-signal-safe.  Here
 * every signal is blocked first and taken synchronously with sigwaitinfo(),
 * as catatonit and tini do, so no code ever runs in signal context and
 * errno needs no saving.
 *
 * Blocking is also what makes the signals arrive at all: the kernel drops a
 * signal sent to a pid namespace's init when its disposition is SIG_DFL,
 * but a blocked signal is never considered ignored (kernel/signal.c
 * sig_ignored), so it is queued and sigwaitinfo() returns it.  SIGCHLD
 * stays SIG_DFL, never SIG_IGN: with SIG_IGN the kernel would reap on its
 * own and no SIGCHLD would be queued (harmless here, but it would also make
 * the reaping untestable).
 *
 * Memory: no stdio (its buffers are allocated on first use), no malloc;
 * messages go out with one write(2) each.  Built static and stripped.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PAUSE_VERSION
#define PAUSE_VERSION "0.1.0"
#endif

/* Best effort: stderr is /dev/null inside a sandbox and there is nobody to
 * tell if even this fails. */
static void
say(const char *msg)
{
	size_t len = strlen(msg);

	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, msg, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		msg += n;
		len -= (size_t)n;
	}
}

/* SIGCHLDs coalesce: one may stand for many exits, so drain until nothing
 * is left.  0 means live children remain, ECHILD means none. */
static void
reap_zombies(void)
{
	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0)
			continue;
		if (pid < 0 && errno == EINTR)
			continue;
		return;
	}
}

int
main(int argc, char **argv)
{
	sigset_t all;
	siginfo_t si;

	/* Before anything else, so no signal can find us unprepared. */
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, NULL) != 0) {
		say("pause: cannot block signals\n");
		return 1;
	}

	if (argc > 1) {
		if (argc == 2 && strcmp(argv[1], "-v") == 0) {
			if (write(STDOUT_FILENO, "pause " PAUSE_VERSION " (cradle)\n",
			          sizeof("pause " PAUSE_VERSION " (cradle)\n") - 1) < 0)
				return 1;
			return 0;
		}
		say("usage: pause [-v]\n");
		return 2;
	}

	/* Not fatal: a pause sharing a pid namespace still holds the other
	 * namespaces; it just cannot adopt orphans. */
	if (getpid() != 1)
		say("pause: warning: not running as PID 1, orphans will not be reaped here\n");

	/* Pin no mount of whoever started us. */
	if (chdir("/") != 0)
		say("pause: warning: chdir /\n");

	for (;;) {
		int sig = sigwaitinfo(&all, &si);

		if (sig < 0)
			continue; /* EINTR (e.g. after SIGSTOP/SIGCONT); nothing else can fail */
		switch (sig) {
		case SIGCHLD:
			reap_zombies();
			break;
		case SIGINT:
		case SIGTERM:
			/* Orphans left now die with the namespace: the kernel
			 * SIGKILLs them when PID 1 exits. */
			reap_zombies();
			_exit(0);
		default:
			/* SIGHUP, SIGUSR1, SIGPIPE...: taken off the queue and
			 * dropped, as a pause must outlive them. */
			break;
		}
	}
}
