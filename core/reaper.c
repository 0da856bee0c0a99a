/* reaper.c - the thread that waits for every pause task. */
#include "core/reaper.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/lifecycle.h"
#include "core/table.h"
#include "util/log.h"
#include "util/sys.h"

struct reaper {
	struct store *store;
	struct events *events;
	int epfd;
	int stopfd; /* eventfd: wakes the thread to stop */
	pthread_t thread;
	pthread_mutex_t lock;     /* guards watched */
	struct sandbox **watched; /* held references, for reaper_stop */
	size_t n, cap;
	/* cradled is the child subreaper (set before the reaper starts, and
	 * for good): orphans come to it, and are swept */
	bool subreaper;
};

static void
forget(struct reaper *r, struct sandbox *sb)
{
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++) {
		if (r->watched[i] == sb) {
			r->watched[i] = r->watched[--r->n];
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

/* Shell-style status: exit code, or 128 + signal. */
static int32_t
exit_status_of(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return si->si_status;
	return 128 + si->si_status;
}

static void
reap(struct reaper *r, struct sandbox *sb)
{
	siginfo_t si;
	int32_t status = 255;
	int rc;

	pthread_mutex_lock(&sb->lock);
	if (sb->pidfd < 0) {
		pthread_mutex_unlock(&sb->lock);
		return;
	}
	/* what is logged from here (sandbox_exited too) names the sandbox
	 * and its pod, as a request's lines do */
	log_ctx_set(sb->id, sb->rec.config.metadata.namespace, sb->rec.config.metadata.name);
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, sb->pidfd, NULL);
	memset(&si, 0, sizeof(si));
	pid_t pid = sb->rec.pid;
	if ((rc = sys_pidfd_wait(sb->pidfd, &si)) == 0)
		status = exit_status_of(&si);
	else if (rc != -ECHILD)
		log_warn("wait for sandbox %s (pid %d): %s", sb->id, (int)pid, strerror(-rc));
	/* ECHILD: a task adopted after a restart is not our child; the
	 * reference reports 255 when the status cannot be read. */
	sandbox_exited(sb, status, r->store);
	log_info("sandbox task exited: pid %d, exit status %d%s", (int)pid, (int)status,
	         rc == -ECHILD ? " (adopted: not readable)" : "");
	sandbox_unlock(sb, r->events);
	log_ctx_clear();
	forget(r, sb);
	sandbox_rele(sb);
}

/* Stray orphans.  As the child subreaper (an oci handler: server/main.c)
 * cradled also inherits what no one of its own waits for: a daemonizing
 * plugin's or runtime's grandchild.  Every STRAY_SWEEP_MS the reaper asks
 * the kernel for a zombie child (waitid, WNOWAIT: it stays a zombie).
 * One that was the zombie found at the previous sweep too (same pid and
 * start time) and is not named "pause" (a sandbox's task: this thread's
 * pidfds, or a start's not watched yet, reap those) is reaped, and the
 * next zombie is asked for; a new one is remembered for the next sweep.
 * cradled's own waits (util/run.c, the launchers) reap their children as
 * soon as they exit, so only a stray lingers a whole sweep.  The cost is
 * a system call or two per sweep and a /proc read per zombie, never one
 * per live child: a dense node's thousands of pauses are cradled's
 * children too. */
#define STRAY_SWEEP_MS 2000
#define STRAY_MAX 64

struct stray {
	pid_t pid; /* 0: none remembered */
	unsigned long long start;
};

/* pid's start time from /proc/<pid>/stat; false when it cannot be read
 * or is no zombie, or is named "pause". */
static bool
stray_zombie(pid_t pid, unsigned long long *start)
{
	char path[64], buf[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
	if (lp == NULL || rp == NULL || rp[1] != ' ' || rp[2] != 'Z')
		return false;
	if (rp - lp - 1 == 5 && strncmp(lp + 1, "pause", 5) == 0)
		return false;
	/* field 22 (starttime); rp[2] is field 3 */
	char *p = rp + 2;
	for (int field = 3; field < 22 && p != NULL; field++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	if (p == NULL)
		return false;
	*start = strtoull(p, NULL, 10);
	return true;
}

static void
sweep_strays(struct stray *prev)
{
	for (int i = 0; i < STRAY_MAX; i++) {
		struct stray cur = { 0, 0 };
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0 ||
		    !stray_zombie(si.si_pid, &cur.start)) {
			prev->pid = 0;
			return;
		}
		cur.pid = si.si_pid;
		if (prev->pid != cur.pid || prev->start != cur.start) {
			*prev = cur;
			return;
		}
		/* by pidfd: the pid cannot be another process's by now */
		int fd = sys_pidfd_open(cur.pid);
		unsigned long long start;
		bool reaped = false;
		prev->pid = 0;
		if (fd < 0)
			return;
		memset(&si, 0, sizeof(si));
		if (stray_zombie(cur.pid, &start) && start == cur.start &&
		    waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0) {
			log_info("reaped orphan process %d (not a sandbox task; reparented to "
			         "cradled as the child subreaper)",
			         (int)cur.pid);
			reaped = true;
		}
		close(fd);
		if (!reaped)
			return;
	}
}

static void *
reaper_main(void *arg)
{
	struct reaper *r = arg;
	struct epoll_event evs[64];
	struct stray prev = { 0, 0 };

	int64_t next = 0;

	for (;;) {
		int timeout = -1;
		if (r->subreaper) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
			if (now >= next) {
				sweep_strays(&prev);
				next = now + STRAY_SWEEP_MS;
			}
			timeout = (int)(next - now);
		}
		int n = epoll_wait(r->epfd, evs, 64, timeout);
		if (n == 0)
			continue;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("reaper: epoll_wait: %s", strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				return NULL;
			reap(r, evs[i].data.ptr);
		}
	}
}

int
reaper_start(struct store *st, struct events *events, struct reaper **out, struct cradle_err *err)
{
	struct reaper *r = calloc(1, sizeof(*r));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (r == NULL)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "allocate reaper");
	int sub = 0;
	r->store = st;
	r->events = events;
	r->subreaper = prctl(PR_GET_CHILD_SUBREAPER, &sub, 0, 0, 0) == 0 && sub != 0;
	r->stopfd = -1;
	pthread_mutex_init(&r->lock, NULL);
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		cradle_err_errno(err, errno, "reaper: epoll_create1");
		goto fail;
	}
	r->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->stopfd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->stopfd, &ev) != 0) {
		cradle_err_errno(err, errno, "reaper: eventfd");
		goto fail;
	}
	int e = pthread_create(&r->thread, NULL, reaper_main, r);
	if (e != 0) {
		cradle_err_errno(err, e, "start reaper thread");
		goto fail;
	}
	pthread_setname_np(r->thread, "cradle:reaper");
	*out = r;
	return 0;
fail:
	if (r->stopfd >= 0)
		close(r->stopfd);
	if (r->epfd >= 0)
		close(r->epfd);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return -1;
}

int
reaper_watch(struct reaper *r, struct sandbox *sb, struct cradle_err *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = sb };

	pthread_mutex_lock(&r->lock);
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64;
		struct sandbox **nw = realloc(r->watched, ncap * sizeof(*nw));
		if (nw == NULL) {
			pthread_mutex_unlock(&r->lock);
			return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
			                      "reaper: out of memory");
		}
		r->watched = nw;
		r->cap = ncap;
	}
	sandbox_hold(sb);
	r->watched[r->n++] = sb;
	pthread_mutex_unlock(&r->lock);
	/* epoll_ctl is safe against a concurrent epoll_wait; the event can
	 * fire at once, and reap() then waits for sb->lock, which our caller
	 * holds until the start is complete. */
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, sb->pidfd, &ev) != 0) {
		int e = errno;
		forget(r, sb);
		sandbox_rele(sb);
		return cradle_err_errno(err, e, "reaper: watch pidfd of sandbox \"%s\"", sb->id);
	}
	return 0;
}

void
reaper_stop(struct reaper *r)
{
	uint64_t one = 1;

	if (r == NULL)
		return;
	if (write(r->stopfd, &one, sizeof(one)) != sizeof(one))
		log_error("reaper: cannot signal stop: %s", strerror(errno));
	pthread_join(r->thread, NULL);
	/* Tasks stay alive; their sandboxes are adopted again at the next
	 * start-up.  Drop the references the watch held. */
	for (size_t i = 0; i < r->n; i++)
		sandbox_rele(r->watched[i]);
	free(r->watched);
	close(r->stopfd);
	close(r->epfd);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
