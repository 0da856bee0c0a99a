/* reaper.c - the thread that waits for every pause task. */
#include "core/reaper.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
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
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, sb->pidfd, NULL);
	memset(&si, 0, sizeof(si));
	if ((rc = sys_pidfd_wait(sb->pidfd, &si)) == 0)
		status = exit_status_of(&si);
	else if (rc != -ECHILD)
		log_warn("wait for sandbox %s (pid %d): %s", sb->id, (int)sb->rec.pid,
		         strerror(-rc));
	/* ECHILD: a task adopted after a restart is not our child; the
	 * reference reports 255 when the status cannot be read. */
	sandbox_exited(sb, status, r->store);
	sandbox_unlock(sb, r->events);
	forget(r, sb);
	sandbox_rele(sb);
}

static void *
reaper_main(void *arg)
{
	struct reaper *r = arg;
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(r->epfd, evs, 64, -1);
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
	r->store = st;
	r->events = events;
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
