/* test_lifecycle.c - the "sandbox exited" transition and the reaper
 * (core/lifecycle.c, core/reaper.c).
 *
 * sandbox_exited + sandbox_unlock against a real store (LMDB in the
 * test's directory) and a real publisher (nng pub0 on an ipc:// socket in
 * it), read back with a sub0 socket: the record, the woken waiters, exactly
 * one "sandbox.exit" event with its fields and seq, nothing published while
 * the sandbox lock is held, nothing more for a second exit, no record for a
 * removed sandbox, queued events in order (across threads too).  Then the
 * reaper on real processes: a forked child's exit code, 128+signal for a
 * signalled one, 255 for a process that is not our child, a task that is
 * gone before it is watched, and reaper_stop leaving a task alive.
 *
 * ROOT is not needed.  Children are forked before any thread (nng's, the
 * reaper's) is started: a fork of a threaded parent may do nothing but
 * async-signal-safe calls.  They only read a pipe and _exit.
 * Check forks per test; the runner is a child subreaper and reaps the
 * grandchild of the not-our-child test.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>

#include "core/events.h"
#include "core/lifecycle.h"
#include "core/reaper.h"
#include "core/records.h"
#include "core/table.h"
#include "tests/unit/core/libsub.h"
#include "tests/unit/lib/unit.h"
#include "util/store.h"
#include "util/sys.h"

#define QUIET_MS 200 /* how long "no event" waits */

static struct {
	char dir[512];
	char url[600];
	struct store *store;
	struct table *table;
	struct events *events;
	struct reaper *reaper;
	nng_socket sub;
	bool have_sub;
	uint64_t seq; /* the last seq the publisher assigned (probes) */
} F;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* --- fixture ------------------------------------------------------------ */

static void
setup(void)
{
	struct cradle_err err = { 0 };
	char root[600];

	memset(&F, 0, sizeof(F));
	unit_scratch_setup();
	snprintf(F.dir, sizeof(F.dir), "%s", unit_test_dir());
	unit_path(root, sizeof(root), "root");
	ck_assert_msg(store_open(root, &F.store, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(table_init(&F.table), 0);
	snprintf(F.url, sizeof(F.url), "ipc://%s/events.sock", F.dir);
}

static bool
sub_recv(int timeout_ms, struct proto_event *ev)
{
	return unit_sub_recv(F.sub, timeout_ms, ev);
}

/* Threads start here, inside the test: the publisher, a subscriber that
 * is known to be attached (pub0 drops what it sends before the pipe is
 * up, so probes are published until one arrives, then the rest drained),
 * and the reaper when asked. */
static void
up(bool reaper)
{
	struct cradle_err err = { 0 };

	ck_assert_msg(events_open(F.url, &F.events, &err) == 0, "%s", err.msg);
	F.seq = unit_sub_attach(&F.sub, F.url, F.events);
	F.have_sub = true;
	if (reaper)
		ck_assert_msg(reaper_start(F.store, F.events, &F.reaper, &err) == 0, "%s", err.msg);
}

static void
teardown(void)
{
	reaper_stop(F.reaper);
	if (F.have_sub)
		nng_close(F.sub);
	events_close(F.events);
	ck_assert_uint_eq(table_count(F.table), 0);
	table_fini(F.table);
	store_close(F.store);
	unit_scratch_teardown();
}

/* --- sandboxes ---------------------------------------------------------- */

/* Sandbox n in the table, phase RUNNING with pid, its record stored as a
 * start stores it.  Returns the caller's reference. */
static struct sandbox *
new_running(unsigned n, pid_t pid)
{
	struct cradle_err err = { 0 };
	struct proto_sandbox rec;
	struct sandbox *sb;
	char buf[64];

	memset(&rec, 0, sizeof(rec));
	pod_config_init(&rec.config);
	snprintf(rec.id, sizeof(rec.id), "%064x", n);
	snprintf(buf, sizeof(buf), "pod-%u", n);
	rec.config.metadata.name = unit_strdup(buf);
	rec.config.metadata.namespace = unit_strdup("default");
	snprintf(buf, sizeof(buf), "uid-%u", n);
	rec.config.metadata.uid = unit_strdup(buf);
	rec.runtime_handler = unit_strdup("runc");
	rec.phase = PHASE_RUNNING;
	rec.created_at = now_ns() - 2000;
	rec.started_at = now_ns() - 1000;
	rec.pid = pid;
	rec.pid_start_time = 424242;
	rec.netns_path = unit_strdup("/run/cradle/netns/x");
	sb = sandbox_new(&rec);
	ck_assert_ptr_nonnull(sb);
	sb->name = sandbox_make_name(&sb->rec.config);
	ck_assert_ptr_nonnull(sb->name);
	ck_assert_msg(table_add(F.table, sb, &err) == 0, "%s", err.msg);
	ck_assert_msg(records_put(F.store, &sb->rec, &err) == 0, "%s", err.msg);
	return sb;
}

static void
forget(struct sandbox *sb)
{
	struct cradle_err err = { 0 };

	ck_assert_int_eq(records_del(F.store, sb->id, &err), 0);
	table_del(F.table, sb);
	sandbox_rele(sb);
}

static void
get_rec(const char *id, struct proto_sandbox *out)
{
	struct cradle_err err = { 0 };

	ck_assert_msg(records_get(F.store, id, out, &err) == 0, "%s: %s", id, err.msg);
}

/* Wait (5 s at most) until sb is no longer RUNNING. */
static void
wait_exited(struct sandbox *sb)
{
	struct timespec dl;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &dl); /* sb->cond runs on it */
	dl.tv_sec += 5;
	pthread_mutex_lock(&sb->lock);
	while (sb->rec.phase == PHASE_RUNNING && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&sb->cond, &sb->lock, &dl);
	int phase = sb->rec.phase;
	pthread_mutex_unlock(&sb->lock);
	ck_assert_msg(phase == PHASE_EXITED, "sandbox still in phase %d", phase);
}

/* The one exit event of sb, then silence. */
static void
expect_exit_event(const struct sandbox *sb, pid_t pid, int32_t status, int64_t exited_at)
{
	struct proto_event ev;

	ck_assert_msg(sub_recv(5000, &ev), "no event");
	ck_assert_str_eq(ev.type, PROTO_EVENT_EXIT);
	ck_assert_str_eq(ev.id, sb->id);
	ck_assert_int_eq(ev.pid, pid);
	ck_assert_int_eq(ev.exit_status, status);
	ck_assert_int_eq(ev.exited_at, exited_at);
	ck_assert_uint_eq(ev.seq, F.seq + 1); /* no gap after the probes */
	F.seq = ev.seq;
	ck_assert_msg(!sub_recv(QUIET_MS, &ev), "a second event: %s seq %llu", ev.type,
	              (unsigned long long)ev.seq);
}

/* --- the transition ----------------------------------------------------- */

struct waiter {
	struct sandbox *sb;
	bool waiting;
	atomic_int saw; /* the phase it woke up to, -1 until then */
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->sb->lock);
	w->waiting = true;
	while (w->sb->rec.phase == PHASE_RUNNING)
		pthread_cond_wait(&w->sb->cond, &w->sb->lock);
	atomic_store(&w->saw, w->sb->rec.phase);
	pthread_mutex_unlock(&w->sb->lock);
	return NULL;
}

START_TEST(test_exited)
{
	struct waiter w = { .saw = -1 };
	struct proto_sandbox rec;
	struct proto_event ev;
	pthread_t th;
	int p[2];
	char c;

	up(false);
	struct sandbox *sb = new_running(1, 4242);
	/* a stand-in pidfd: the exit must close it (EOF on the other end) */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	sb->pidfd = p[1];
	w.sb = sb;
	ck_assert_int_eq(pthread_create(&th, NULL, waiter_main, &w), 0);
	for (bool waiting = false; !waiting; usleep(1000)) {
		pthread_mutex_lock(&sb->lock);
		waiting = w.waiting; /* set under the lock it waits on */
		pthread_mutex_unlock(&sb->lock);
	}

	int64_t t0 = now_ns();
	pthread_mutex_lock(&sb->lock);
	sandbox_exited(sb, 3, F.store);
	ck_assert_int_eq(sb->rec.phase, PHASE_EXITED);
	ck_assert_int_eq(sb->rec.exit_status, 3);
	ck_assert_int_eq(sb->rec.pid, 0);
	ck_assert_uint_eq(sb->rec.pid_start_time, 0);
	ck_assert_int_eq(sb->pidfd, -1);
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	/* the record is down before the lock is dropped... */
	get_rec(sb->id, &rec);
	ck_assert_int_eq(rec.phase, PHASE_EXITED);
	proto_sandbox_fini(&rec);
	/* ...the event only after */
	ck_assert_msg(!sub_recv(QUIET_MS, &ev), "published under the sandbox lock");
	sandbox_unlock(sb, F.events);
	int64_t t1 = now_ns();

	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	ck_assert_msg(pthread_timedjoin_np(th, NULL, &dl) == 0, "the waiter was not woken");
	int saw = atomic_load(&w.saw);
	ck_assert_int_eq(saw, PHASE_EXITED);
	get_rec(sb->id, &rec);
	ck_assert_int_eq(rec.phase, PHASE_EXITED);
	ck_assert_int_eq(rec.exit_status, 3);
	ck_assert_int_eq(rec.pid, 0);
	ck_assert_uint_eq(rec.pid_start_time, 0);
	ck_assert_int_ge(rec.exited_at, t0);
	ck_assert_int_le(rec.exited_at, t1);
	ck_assert_int_eq(rec.exited_at, sb->rec.exited_at);
	ck_assert_int_eq(rec.started_at, sb->rec.started_at); /* the rest is kept */
	ck_assert_str_eq(rec.netns_path, "/run/cradle/netns/x");
	expect_exit_event(sb, 4242, 3, rec.exited_at);

	/* an exit is recorded once: a second one changes and publishes nothing */
	pthread_mutex_lock(&sb->lock);
	sandbox_exited(sb, 9, F.store);
	ck_assert_ptr_null(sb->pending);
	sandbox_unlock(sb, F.events);
	ck_assert_msg(!sub_recv(QUIET_MS, &ev), "second exit published %s", ev.type);
	struct proto_sandbox again;
	get_rec(sb->id, &again);
	ck_assert_int_eq(again.exit_status, 3);
	ck_assert_int_eq(again.exited_at, rec.exited_at);
	proto_sandbox_fini(&again);
	proto_sandbox_fini(&rec);
	close(p[0]);
	forget(sb);
}
END_TEST

/* Only RUNNING sandboxes exit: a CREATED one is left alone. */
START_TEST(test_exited_not_running)
{
	struct proto_sandbox rec;
	struct proto_event ev;

	up(false);
	struct sandbox *sb = new_running(2, 0);
	pthread_mutex_lock(&sb->lock);
	sb->rec.phase = PHASE_CREATED;
	sandbox_exited(sb, 1, F.store);
	ck_assert_int_eq(sb->rec.phase, PHASE_CREATED);
	ck_assert_int_eq(sb->rec.exit_status, 0);
	ck_assert_ptr_null(sb->pending);
	sandbox_unlock(sb, F.events);
	ck_assert(!sub_recv(QUIET_MS, &ev));
	get_rec(sb->id, &rec); /* as stored before: RUNNING, untouched */
	ck_assert_int_eq(rec.phase, PHASE_RUNNING);
	ck_assert_int_eq(rec.exited_at, 0);
	proto_sandbox_fini(&rec);
	forget(sb);
}
END_TEST

/* Remove deletes the record, then marks the sandbox: an exit after that
 * must not bring the record back.  The event is still published. */
START_TEST(test_exited_removed)
{
	struct cradle_err err = { 0 };
	struct proto_sandbox rec;

	up(false);
	struct sandbox *sb = new_running(3, 777);
	pthread_mutex_lock(&sb->lock);
	ck_assert_int_eq(records_del(F.store, sb->id, &err), 0);
	sb->removed = true;
	sandbox_exited(sb, 137, F.store);
	ck_assert_int_eq(sb->rec.phase, PHASE_EXITED);
	sandbox_unlock(sb, F.events);
	ck_assert_int_eq(records_get(F.store, sb->id, &rec, &err), -ENOENT);
	proto_sandbox_fini(&rec);
	expect_exit_event(sb, 777, 137, sb->rec.exited_at);
	table_del(F.table, sb);
	sandbox_rele(sb);
}
END_TEST

static void
queue_test_event(struct sandbox *sb, const char *type, int32_t pid)
{
	struct proto_event ev;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.type, sizeof(ev.type), "%s", type);
	memcpy(ev.id, sb->id, sizeof(ev.id));
	ev.pid = pid;
	sandbox_queue_event(sb, &ev);
}

/* Events queued under one lock go out in the order they were queued, with
 * consecutive seqs, once the lock is dropped. */
START_TEST(test_events_in_order)
{
	static const char *const want[] = { "test.first", PROTO_EVENT_EXIT, "test.last" };
	struct proto_event ev;

	up(false);
	struct sandbox *sb = new_running(4, 99);
	pthread_mutex_lock(&sb->lock);
	queue_test_event(sb, want[0], 1);
	sandbox_exited(sb, 0, F.store);
	queue_test_event(sb, want[2], 3);
	ck_assert(!sub_recv(QUIET_MS, &ev));
	sandbox_unlock(sb, F.events);
	ck_assert_ptr_null(sb->pending);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_msg(sub_recv(5000, &ev), "event %zu missing", i);
		ck_assert_str_eq(ev.type, want[i]);
		ck_assert_str_eq(ev.id, sb->id);
		ck_assert_uint_eq(ev.seq, F.seq + 1 + i);
	}
	ck_assert_int_eq(ev.pid, 3);
	ck_assert(!sub_recv(QUIET_MS, &ev));
	forget(sb);
}
END_TEST

/* No publisher: what was queued is dropped (and freed: ASan). */
START_TEST(test_unlock_without_publisher)
{
	struct proto_event ev;

	up(false);
	struct sandbox *sb = new_running(5, 55);
	pthread_mutex_lock(&sb->lock);
	queue_test_event(sb, "test.dropped", 1);
	sandbox_exited(sb, 2, F.store);
	sandbox_unlock(sb, NULL);
	ck_assert_ptr_null(sb->pending);
	ck_assert(!sub_recv(QUIET_MS, &ev));
	/* the lock was dropped */
	ck_assert_int_eq(pthread_mutex_trylock(&sb->lock), 0);
	pthread_mutex_unlock(&sb->lock);
	forget(sb);
}
END_TEST

#define ORDER_THREADS 4
#define ORDER_EACH 50

struct orderer {
	struct sandbox *sb;
	int *counter;
};

/* Each round: lock, take the next number, queue it, unlock. */
static void *
orderer_main(void *arg)
{
	struct orderer *o = arg;

	for (int i = 0; i < ORDER_EACH; i++) {
		pthread_mutex_lock(&o->sb->lock);
		queue_test_event(o->sb, "test.order", ++*o->counter);
		sandbox_unlock(o->sb, F.events);
	}
	return NULL;
}

/* Events of one sandbox keep the order of its lock across threads: the
 * publisher's lock is taken before the sandbox lock is dropped.  (pub0 may
 * drop some for a slow subscriber; what arrives must be in order.) */
START_TEST(test_events_order_across_threads)
{
	struct orderer o[ORDER_THREADS];
	pthread_t th[ORDER_THREADS];
	struct proto_event ev;
	int counter = 0, last = 0, got = 0;
	uint64_t last_seq = 0;

	up(false);
	struct sandbox *sb = new_running(6, 66);
	for (int i = 0; i < ORDER_THREADS; i++) {
		o[i] = (struct orderer){ .sb = sb, .counter = &counter };
		ck_assert_int_eq(pthread_create(&th[i], NULL, orderer_main, &o[i]), 0);
	}
	for (int i = 0; i < ORDER_THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	ck_assert_int_eq(counter, ORDER_THREADS * ORDER_EACH);
	while (sub_recv(QUIET_MS, &ev)) {
		ck_assert_str_eq(ev.type, "test.order");
		ck_assert_msg(ev.pid > last, "event %d after %d", ev.pid, last);
		ck_assert_uint_gt(ev.seq, last_seq);
		/* seq is assigned in publishing order: it follows the lock order */
		ck_assert_uint_eq(ev.seq - F.seq, (uint64_t)ev.pid);
		last = ev.pid;
		last_seq = ev.seq;
		got++;
	}
	ck_assert_int_gt(got, 0);
	forget(sb);
}
END_TEST

/* --- the reaper --------------------------------------------------------- */

/* A child that blocks reading fd and exits with the byte it reads (0 on
 * EOF); *wfd is the pipe's other end.  Forked before any thread. */
static pid_t
spawn_child(int *wfd)
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		sigset_t none;
		unsigned char b = 0;

		close(p[1]);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		while (read(p[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(b);
	}
	close(p[0]);
	*wfd = p[1];
	return pid;
}

static void
release_child(int wfd, unsigned char code)
{
	ck_assert_int_eq(write(wfd, &code, 1), 1);
	close(wfd);
}

/* Hand pidfd to the reaper for a RUNNING sandbox, as start does. */
static struct sandbox *
watch(unsigned n, pid_t pid, int pidfd)
{
	struct cradle_err err = { 0 };
	struct sandbox *sb = new_running(n, pid);

	pthread_mutex_lock(&sb->lock);
	sb->pidfd = pidfd;
	ck_assert_msg(reaper_watch(F.reaper, sb, &err) == 0, "%s", err.msg);
	int refs = atomic_load(&sb->refs);
	ck_assert_int_eq(refs, 3); /* ours, the table's, the reaper's */
	pthread_mutex_unlock(&sb->lock);
	return sb;
}

/* Record and event of a reaped sandbox; the reaper dropped its reference. */
static void
expect_reaped(struct sandbox *sb, pid_t pid, int32_t status)
{
	struct proto_sandbox rec;

	wait_exited(sb);
	get_rec(sb->id, &rec);
	ck_assert_int_eq(rec.phase, PHASE_EXITED);
	ck_assert_int_eq(rec.exit_status, status);
	ck_assert_int_eq(rec.pid, 0);
	ck_assert_int_gt(rec.exited_at, 0);
	expect_exit_event(sb, pid, status, rec.exited_at);
	proto_sandbox_fini(&rec);
	pthread_mutex_lock(&sb->lock);
	ck_assert_int_eq(sb->pidfd, -1);
	pthread_mutex_unlock(&sb->lock);
	int refs = atomic_load(&sb->refs);
	for (int i = 0; i < 500 && refs != 2; i++) {
		usleep(10000);
		refs = atomic_load(&sb->refs);
	}
	ck_assert_int_eq(refs, 2); /* ours and the table's: the reaper's is gone */
}

START_TEST(test_reaper_exit_code)
{
	int wfd;
	pid_t pid = spawn_child(&wfd);
	int pidfd = sys_pidfd_open(pid);

	ck_assert_int_ge(pidfd, 0);
	up(true);
	struct sandbox *sb = watch(10, pid, pidfd);
	release_child(wfd, 7);
	expect_reaped(sb, pid, 7);
	unit_assert_no_children(); /* reaped by the reaper, not left a zombie */
	forget(sb);
}
END_TEST

START_TEST(test_reaper_signal)
{
	int wfd;
	pid_t pid = spawn_child(&wfd);
	int pidfd = sys_pidfd_open(pid);

	ck_assert_int_ge(pidfd, 0);
	up(true);
	struct sandbox *sb = watch(11, pid, pidfd);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	expect_reaped(sb, pid, 128 + SIGTERM);
	unit_assert_no_children();
	close(wfd);
	forget(sb);
}
END_TEST

/* The task is gone before the watch: the pidfd is readable at once. */
START_TEST(test_reaper_exited_before_watch)
{
	struct pollfd pfd;
	int wfd;
	pid_t pid = spawn_child(&wfd);
	int pidfd = sys_pidfd_open(pid);

	ck_assert_int_ge(pidfd, 0);
	release_child(wfd, 4);
	pfd = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	up(true);
	struct sandbox *sb = watch(12, pid, pidfd);
	expect_reaped(sb, pid, 4);
	unit_assert_no_children();
	forget(sb);
}
END_TEST

/* A task adopted after a restart is not our child: its status cannot be
 * read, and is reported as 255. */
START_TEST(test_reaper_not_our_child)
{
	int wfd, up_pipe[2], go_pipe[2], st;
	pid_t gpid = 0;
	char go = 'g';

	ck_assert_int_eq(pipe2(up_pipe, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(go_pipe, O_CLOEXEC), 0);
	pid_t mid = fork();
	ck_assert_int_ge(mid, 0);
	if (mid == 0) {
		/* the grandchild's pipe stays here: it sees EOF (exits 0)
		 * when this process exits */
		pid_t g = spawn_child(&wfd);
		if (write(up_pipe[1], &g, sizeof(g)) != (ssize_t)sizeof(g) ||
		    read(go_pipe[0], &go, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(read(up_pipe[0], &gpid, sizeof(gpid)), (ssize_t)sizeof(gpid));
	int pidfd = sys_pidfd_open(gpid);
	ck_assert_int_ge(pidfd, 0);
	/* the middle exits: the grandchild is orphaned (the runner, a
	 * subreaper, adopts it) and exits */
	ck_assert_int_eq(write(go_pipe[1], &go, 1), 1);
	ck_assert_int_eq(waitpid(mid, &st, 0), mid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(up_pipe[0]);
	close(up_pipe[1]);
	close(go_pipe[0]);
	close(go_pipe[1]);
	up(true);
	struct sandbox *sb = watch(13, gpid, pidfd);
	expect_reaped(sb, gpid, 255);
	unit_assert_no_children();
	forget(sb);
}
END_TEST

/* reaper_stop leaves tasks alive and drops its references. */
START_TEST(test_reaper_stop_leaves_task)
{
	struct proto_sandbox rec;
	struct proto_event ev;
	int wfd, st;
	pid_t pid = spawn_child(&wfd);
	int pidfd = sys_pidfd_open(pid);

	ck_assert_int_ge(pidfd, 0);
	up(true);
	struct sandbox *sb = watch(14, pid, pidfd);
	reaper_stop(F.reaper);
	F.reaper = NULL;
	int refs = atomic_load(&sb->refs);
	ck_assert_int_eq(refs, 2);
	ck_assert_int_eq(kill(pid, 0), 0);
	release_child(wfd, 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	ck_assert(!sub_recv(QUIET_MS, &ev));
	pthread_mutex_lock(&sb->lock);
	ck_assert_int_eq(sb->rec.phase, PHASE_RUNNING);
	ck_assert_int_eq(sb->pidfd, pidfd); /* still the sandbox's to close */
	pthread_mutex_unlock(&sb->lock);
	get_rec(sb->id, &rec);
	ck_assert_int_eq(rec.phase, PHASE_RUNNING);
	proto_sandbox_fini(&rec);
	forget(sb);
}
END_TEST

static Suite *
lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");

	unit_tcase(s, "exited", setup, teardown, 30,
	           UNIT_TESTS(test_exited, test_exited_not_running, test_exited_removed,
	                      test_events_in_order, test_unlock_without_publisher,
	                      test_events_order_across_threads));
	unit_tcase(s, "reaper", setup, teardown, 30,
	           UNIT_TESTS(test_reaper_exit_code, test_reaper_signal,
	                      test_reaper_exited_before_watch, test_reaper_not_our_child,
	                      test_reaper_stop_leaves_task));
	return s;
}

int
main(void)
{
	return unit_run(lifecycle_suite(), "test_lifecycle", UNIT_SUBREAPER);
}
