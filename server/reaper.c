/* reaper.c - the thread that waits for every pause task. */
#include "reaper.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "events.h"
#include "log.h"
#include "store.h"
#include "table.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct reaper {
	struct daemon *d;
	int epfd;
	int stopfd;          /* eventfd: wakes the thread to stop */
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
	struct proto_event ev;
	struct cradle_err err;
	siginfo_t si;
	int32_t status = 255;

	pthread_mutex_lock(&sb->lock);
	int fd = sb->pidfd;
	if (fd < 0) {
		pthread_mutex_unlock(&sb->lock);
		return;
	}
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&si, 0, sizeof(si));
	int w;
	while ((w = waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED)) != 0 && errno == EINTR)
		;
	if (w == 0)
		status = exit_status_of(&si);
	else if (errno != ECHILD)
		log_warn("wait for sandbox %s (pid %d): %s", sb->id, (int)sb->rec.pid, strerror(errno));
	/* ECHILD: a task adopted after a restart is not our child; the
	 * reference reports 255 when the status cannot be read. */

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.type, sizeof(ev.type), "sandbox.exit");
	memcpy(ev.id, sb->id, sizeof(ev.id));
	ev.pid = sb->rec.pid;
	ev.exit_status = status;
	ev.exited_at = now_ns();

	sb->rec.phase = PHASE_EXITED;
	sb->rec.exit_status = status;
	sb->rec.exited_at = ev.exited_at;
	sb->rec.pid = 0;
	sb->rec.pid_start_time = 0;
	close(fd);
	sb->pidfd = -1;
	if (!sb->removed && store_put_sandbox(r->d->store, &sb->rec, &err) < 0)
		log_error("record exit of sandbox %s: %s", sb->id, err.msg);
	pthread_cond_broadcast(&sb->cond);
	pthread_mutex_unlock(&sb->lock);

	events_publish(r->d->events, &ev);
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
reaper_start(struct daemon *d, struct reaper **out, struct cradle_err *err)
{
	struct reaper *r = calloc(1, sizeof(*r));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (r == NULL)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "allocate reaper");
	r->d = d;
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
			return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "reaper: out of memory");
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
