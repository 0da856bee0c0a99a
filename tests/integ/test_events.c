/* test_events.c - lossless events: a real cradled, its event log, and
 * libcradle's subscriptions (issue 9, "Lossless exit events").
 *
 * - runp/stopp/rmp and create/start publish sandbox.created, .started,
 *   .exit, .stopped, .removed, in that order, with gap-free seqs; a
 *   second stop publishes nothing;
 * - seqs go on across a restart (SIGTERM) and a crash (SIGKILL), never
 *   reused, and a subscription from seq 1 replays the log in order, also
 *   through `cradle events --since 1`;
 * - pause tasks that exit while the daemon is down are recorded by
 *   recovery, and a subscriber that subscribed before the crash gets
 *   their exits once, in order, with nothing missing around them;
 * - a deliberately slow subscriber sees every one of N exits that happen
 *   at once (N = 400, 200 under the sanitizers, $CRADLE_CHAOS_EXITS under `make chaos`)
 * exactly once, in order, although pub0 drops most of them (a raw nng subscriber beside it shows
 * the drops, and its own subscription stops at a gap while the log is out of reach);
 * - while the daemon cannot answer events.since (its request socket out
 *   of reach), a subscription with a gap waits (-ETIMEDOUT, UNAVAILABLE),
 *   hands out nothing past the gap and reports no loss; then every event
 *   comes, once, in order;
 * - [events] keep = 8: a replay from 1 reports the lost events once
 *   (-ENODATA, NOT_FOUND) and goes on from the oldest kept one;
 * - a member of readonly_group replays the log (`cradle events --since`).
 *
 * Every test removes its sandboxes before it_cleanup.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;

static void
teardown(void)
{
	it_cleanup(&D);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- helpers ------------------------------------------------------------ */

static struct cradle_events *
subscribe(uint64_t since)
{
	struct cradle_events *ev = NULL;
	struct cradle_error err = { 0 };

	ck_assert_msg(cradle_events_subscribe(D.events, D.sock, since, &ev, &err) == 0,
	              "subscribe: %s", err.message);
	return ev;
}

/* A link to the request socket in *path, D.dir/replay.sock: a
 * subscription asks the log through it, and cannot while it is gone. */
static void
link_request_socket(char *path, size_t size)
{
	snprintf(path, size, "%s/replay.sock", D.dir);
	ck_assert_msg(symlink(D.sock, path) == 0, "symlink %s: %s", path, strerror(errno));
}

static struct cradle_events *
subscribe_via(const char *socket_path, uint64_t since)
{
	struct cradle_events *ev = NULL;
	struct cradle_error err = { 0 };

	ck_assert_msg(cradle_events_subscribe(D.events, socket_path, since, &ev, &err) == 0,
	              "subscribe: %s", err.message);
	return ev;
}

/* What cradle_events_next says while the gap after the last event it
 * handed out waits for a log it cannot reach: a timeout (UNAVAILABLE),
 * not a loss. */
static void
expect_stalled(struct cradle_events *ev, const struct cradle_error *err)
{
	char want[64];

	snprintf(want, sizeof(want), "events after %llu could not be replayed yet",
	         (unsigned long long)cradle_events_last_seq(ev));
	ck_assert_int_eq(err->code, CRADLE_STATUS_UNAVAILABLE);
	ck_assert_msg(strstr(err->message, want) != NULL, "%s", err->message);
	ck_assert_msg(strstr(err->message, "replay.sock") != NULL, "%s", err->message);
}

static int32_t
run_pod(struct cradle_conn *c, const char *name, char id[CRADLE_SANDBOX_ID_LEN + 1])
{
	struct cradle_pod *pod = it_pod(name, NULL);
	struct cradle_error err = { 0 };
	int32_t pid = 0;

	int r = cradle_sandbox_run(c, pod, NULL, id, &pid, NULL, &err);
	cradle_pod_free(pod);
	ck_assert_msg(r == 0, "run %s: %s", name, err.message);
	ck_assert_int_gt(pid, 0);
	return pid;
}

/* The next event: of type, for sandbox id (NULL: any), seq *seq + 1 when
 * *seq is not 0; *seq becomes its seq. */
static struct cradle_event
expect(struct cradle_events *ev, const char *type, const char *id, uint64_t *seq)
{
	struct cradle_error err = { 0 };
	struct cradle_event e = { 0 };

	ck_assert_msg(cradle_events_next(ev, it_ms(5000), &e, &err) == 0, "waiting for %s: %s",
	              type, err.message);
	ck_assert_msg(strcmp(e.type, type) == 0, "seq %llu: %s, not %s", (unsigned long long)e.seq,
	              e.type, type);
	if (id != NULL)
		ck_assert_str_eq(e.id, id);
	if (*seq != 0)
		ck_assert_msg(e.seq == *seq + 1, "%s: seq %llu after %llu", type,
		              (unsigned long long)e.seq, (unsigned long long)*seq);
	*seq = e.seq;
	return e;
}

static void
expect_quiet(struct cradle_events *ev, int ms)
{
	struct cradle_error err = { 0 };
	struct cradle_event e = { 0 };

	int rc = cradle_events_next(ev, ms, &e, &err);
	ck_assert_msg(rc == -ETIMEDOUT, "unexpected event %s seq %llu (rc %d: %s)", e.type,
	              (unsigned long long)e.seq, rc, rc ? err.message : "");
}

static void
remove_ok(const char *id)
{
	struct cradle_error err = { 0 };

	ck_assert_msg(cradle_sandbox_remove(D.conn, id, &err) == 0, "remove %s: %s", id,
	              err.message);
}

/* SIGKILL the daemon and wait for it. */
static void
crash_daemon(void)
{
	int st;

	cradle_close(D.conn);
	D.conn = NULL;
	ck_assert_int_eq(kill(D.pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(D.pid, &st, 0), D.pid);
	D.pid = 0;
}

/* The events of one runp, stopp, rmp cycle of a pod (5), from *seq. */
static void
cycle(struct cradle_events *ev, const char *name, uint64_t *seq)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err = { 0 };

	int32_t pid = run_pod(D.conn, name, id);
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, id, it_ms(5000), &err), 0);
	remove_ok(id);
	if (ev == NULL)
		return;
	ck_assert_int_eq(expect(ev, "sandbox.created", id, seq).pid, 0);
	ck_assert_int_eq(expect(ev, "sandbox.started", id, seq).pid, pid);
	expect(ev, "sandbox.exit", id, seq);
	expect(ev, "sandbox.stopped", id, seq);
	expect(ev, "sandbox.removed", id, seq);
}

/* --- lifecycle ------------------------------------------------------------ */

START_TEST(test_lifecycle_events)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], id2[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err = { 0 };
	struct cradle_event e = { 0 };
	uint64_t seq = 0;

	it_start(&D, NULL);
	struct cradle_events *ev = subscribe(0);
	ck_assert_uint_eq(cradle_events_last_seq(ev), 0); /* a new daemon: nothing yet */

	int32_t pid = run_pod(D.conn, "life", id);
	e = expect(ev, "sandbox.created", id, &seq);
	ck_assert_uint_eq(e.seq, 1);
	ck_assert_int_eq(e.kind, CRADLE_EVENT_SANDBOX_CREATED);
	e = expect(ev, "sandbox.started", id, &seq);
	ck_assert_int_eq(e.kind, CRADLE_EVENT_SANDBOX_STARTED);
	ck_assert_int_eq(e.pid, pid);

	/* stop: the exit (the reaper's), then stopped with that exit */
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, id, it_ms(5000), &err), 0);
	e = expect(ev, "sandbox.exit", id, &seq);
	ck_assert_int_eq(e.pid, pid);
	ck_assert_int_eq(e.exit_status, 128 + SIGKILL);
	int64_t exited_at = e.exited_at;
	ck_assert_int_gt(exited_at, 0);
	e = expect(ev, "sandbox.stopped", id, &seq);
	ck_assert_int_eq(e.kind, CRADLE_EVENT_SANDBOX_STOPPED);
	ck_assert_int_eq(e.exit_status, 128 + SIGKILL);
	ck_assert_int_eq(e.exited_at, exited_at);
	/* a second stop has nothing to do and says nothing */
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, id, it_ms(5000), &err), 0);
	expect_quiet(ev, it_quiet_ms(300));
	remove_ok(id);
	e = expect(ev, "sandbox.removed", id, &seq);
	ck_assert_int_eq(e.kind, CRADLE_EVENT_SANDBOX_REMOVED);
	remove_ok(id); /* gone already: nothing */

	/* create, start; remove of a running sandbox stops it first */
	struct cradle_pod *pod = it_pod("life2", NULL);
	ck_assert_int_eq(cradle_sandbox_create(D.conn, pod, NULL, id2, &err), 0);
	cradle_pod_free(pod);
	expect(ev, "sandbox.created", id2, &seq);
	expect_quiet(ev, it_quiet_ms(200));
	ck_assert_int_eq(cradle_sandbox_start(D.conn, id2, &pid, NULL, &err), 0);
	ck_assert_int_eq(expect(ev, "sandbox.started", id2, &seq).pid, pid);
	remove_ok(id2);
	expect(ev, "sandbox.exit", id2, &seq);
	expect(ev, "sandbox.stopped", id2, &seq);
	expect(ev, "sandbox.removed", id2, &seq);
	expect_quiet(ev, it_quiet_ms(200));
	ck_assert_uint_eq(cradle_events_last_seq(ev), seq);

	/* a pause that dies on its own: exit; stop then only releases */
	pid = run_pod(D.conn, "life3", id);
	expect(ev, "sandbox.created", id, &seq);
	expect(ev, "sandbox.started", id, &seq);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	expect(ev, "sandbox.exit", id, &seq);
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, id, it_ms(5000), &err), 0);
	expect(ev, "sandbox.stopped", id, &seq);
	remove_ok(id);
	expect(ev, "sandbox.removed", id, &seq);
	cradle_events_close(ev);
}
END_TEST

/* --- the log across restarts ------------------------------------------- */

/* --- the CLI's events command ---------------------------------------------- */

/* `cradle events --since SINCE` as a child, in groups with uid and gid
 * nobody when groups is set; its stdout and stderr come out of the
 * returned descriptor.  It dies with the test. */
static pid_t
events_cli(const char *since, const gid_t *groups, size_t ngroups, int *out)
{
	pid_t parent = getpid();
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent ||
		    dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0)
			_exit(100);
		if (groups != NULL &&
		    (setgroups(ngroups, groups) != 0 || setresgid(65534, 65534, 65534) != 0 ||
		     setresuid(65534, 65534, 65534) != 0))
			_exit(100);
		execl(it_bin("cradle"), "cradle", "--socket", D.sock, "events", "--since", since,
		      (char *)NULL);
		_exit(101);
	}
	close(fds[1]);
	*out = fds[0];
	return pid;
}

/* The lines fd gives: each starts with its want[i], and no more come
 * in the quiet time after the last.  Returns with the writer still
 * running. */
static void
expect_cli_lines(int fd, const char *const *want, int n)
{
	char buf[4096];
	size_t len = 0;
	int lines = 0;

	for (int waited = 0;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		/* the lines may take their time; after them, a quiet spell */
		int ms = lines < n ? 50 : it_quiet_ms(500);
		int r = poll(&p, 1, ms);
		ck_assert_int_ge(r, 0);
		if (r == 0) {
			if (lines == n)
				break;
			waited += ms;
			ck_assert_msg(waited < it_ms(5000), "%d of %d lines in 5 s: \"%.*s\"",
			              lines, n, (int)len, buf);
			continue;
		}
		ck_assert_uint_lt(len, sizeof(buf) - 1);
		ssize_t got = read(fd, buf + len, sizeof(buf) - 1 - len);
		ck_assert_msg(got > 0, "events ended after %d of %d lines: \"%.*s\"", lines, n,
		              (int)len, buf);
		len += (size_t)got;
		buf[len] = '\0';
		lines = 0;
		for (const char *l = buf, *nl; (nl = strchr(l, '\n')) != NULL; l = nl + 1) {
			ck_assert_msg(lines < n, "more than %d lines: \"%s\"", n, buf);
			ck_assert_msg(strncmp(l, want[lines], strlen(want[lines])) == 0,
			              "line %d: \"%.*s\", not \"%s...\"", lines, (int)(nl - l), l,
			              want[lines]);
			lines++;
		}
	}
}

/* The events command is still following: SIGTERM ends it, and nothing
 * else had. */
static void
end_cli(pid_t pid, int fd)
{
	int st;

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "events ended by itself: %#x",
	              st);
	close(fd);
}

START_TEST(test_seq_survives_restart)
{
	uint64_t seq = 0;

	it_start(&D, NULL);
	struct cradle_events *ev = subscribe(0);
	cycle(ev, "before", &seq);
	ck_assert_uint_eq(seq, 5);
	cradle_events_close(ev);

	/* a clean restart goes on from the log */
	ck_assert_int_eq(it_stop(&D), 0);
	it_restart(&D, NULL);
	ev = subscribe(0);
	ck_assert_uint_eq(cradle_events_last_seq(ev), 5);
	cycle(ev, "after", &seq);
	ck_assert_uint_eq(seq, 10);
	cradle_events_close(ev);

	/* so does a crash: no seq is handed out twice */
	crash_daemon();
	it_restart(&D, NULL);
	ev = subscribe(0);
	ck_assert_uint_eq(cradle_events_last_seq(ev), 10);
	cycle(ev, "crashed", &seq);
	ck_assert_uint_eq(seq, 15);
	cradle_events_close(ev);

	/* the whole log, in order, from 1 */
	ev = subscribe(1);
	uint64_t s = 0;
	static const char *const kinds[] = { "sandbox.created", "sandbox.started", "sandbox.exit",
		                             "sandbox.stopped", "sandbox.removed" };
	for (int i = 0; i < 15; i++) {
		struct cradle_event e = expect(ev, kinds[i % 5], NULL, &s);
		ck_assert_uint_eq(e.seq, (uint64_t)i + 1);
	}
	expect_quiet(ev, it_quiet_ms(300));
	cradle_events_close(ev);
	/* from the middle */
	ev = subscribe(12);
	s = 0;
	ck_assert_uint_eq(expect(ev, "sandbox.started", NULL, &s).seq, 12);
	expect(ev, "sandbox.exit", NULL, &s);
	cradle_events_close(ev);

	/* the CLI: replayed, then following live until it is ended */
	static const char *const tail[] = { "14 sandbox.stopped ", "15 sandbox.removed " };
	int fd;
	pid_t pid = events_cli("14", NULL, 0, &fd);
	expect_cli_lines(fd, tail, 2);
	end_cli(pid, fd);
	char cmd[1200], line[512];
	FILE *p;
	snprintf(cmd, sizeof(cmd), "%s --socket %s events --since 0 2>&1", it_bin("cradle"),
	         D.sock);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	ck_assert_msg(strstr(line, "--since") != NULL, "%s", line);
	ck_assert_int_ne(pclose(p), 0);
}
END_TEST

/* Pauses that exit while the daemon is down: recovery records them, and
 * a subscriber that was there before gets them once, in order. */
START_TEST(test_exits_while_down)
{
	enum { N = 4 };
	char ids[N][CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pids[N];
	uint64_t seq = 0;

	it_start(&D, NULL);
	struct cradle_events *ev = subscribe(0);
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "down%d", i);
		pids[i] = run_pod(D.conn, name, ids[i]);
		expect(ev, "sandbox.created", ids[i], &seq);
		expect(ev, "sandbox.started", ids[i], &seq);
	}
	crash_daemon();
	/* two of them die meanwhile */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(kill(pids[i], SIGKILL), 0);
		for (int j = 0; j < it_ms(2000) / 10 && it_proc_alive(pids[i]); j++)
			it_sleep_ms(10);
		ck_assert(!it_proc_alive(pids[i]));
	}
	it_restart(&D, NULL);

	/* the subscription redials by itself and catches up from the log */
	bool seen[N] = { false };
	for (int i = 0; i < 2; i++) {
		struct cradle_event e = expect(ev, "sandbox.exit", NULL, &seq);
		int k = strcmp(e.id, ids[0]) == 0 ? 0 : strcmp(e.id, ids[1]) == 0 ? 1 : -1;
		ck_assert_msg(k >= 0, "exit of %s", e.id);
		ck_assert_msg(!seen[k], "exit of %s twice", e.id);
		seen[k] = true;
	}
	expect_quiet(ev, it_quiet_ms(500));
	/* and goes on live, without a gap */
	struct cradle_error err = { 0 };
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, ids[2], it_ms(5000), &err), 0);
	expect(ev, "sandbox.exit", ids[2], &seq);
	expect(ev, "sandbox.stopped", ids[2], &seq);
	for (int i = 0; i < N; i++)
		remove_ok(ids[i]);
	/* 0, 1: stopped (released), removed; 2: removed; 3: exit, stopped, removed */
	int removed = 0;
	while (removed < N) {
		struct cradle_event e = { 0 };
		ck_assert_msg(cradle_events_next(ev, it_ms(5000), &e, &err) == 0, "%s",
		              err.message);
		ck_assert_uint_eq(e.seq, seq + 1);
		seq = e.seq;
		removed += strcmp(e.type, "sandbox.removed") == 0;
	}
	expect_quiet(ev, it_quiet_ms(300));
	cradle_events_close(ev);
}
END_TEST

/* A daemon that cannot answer events.since (here: its request socket is
 * out of the subscription's reach) keeps the gap open: the subscription
 * times out, hands out nothing past the gap, not even live events that
 * came after it, and reports no loss; once the log can be asked, every
 * event comes, in order.  The exit recovery published reaches the
 * subscriber only from the log. */
START_TEST(test_replay_waits_for_the_daemon)
{
	char ids[2][CRADLE_SANDBOX_ID_LEN + 1], link[400];
	struct cradle_error err = { 0 };
	struct cradle_event e = { 0 };
	int32_t pids[2];
	uint64_t seq = 0;

	it_start(&D, NULL);
	link_request_socket(link, sizeof(link));
	struct cradle_events *ev = subscribe_via(link, 0);
	for (int i = 0; i < 2; i++) {
		char name[32];
		snprintf(name, sizeof(name), "wait%d", i);
		pids[i] = run_pod(D.conn, name, ids[i]);
		expect(ev, "sandbox.created", ids[i], &seq);
		expect(ev, "sandbox.started", ids[i], &seq);
	}
	ck_assert_uint_eq(seq, 4);
	ck_assert_int_eq(unlink(link), 0);

	/* a crash; the first pause dies meanwhile: recovery publishes its
	 * exit (5) before anyone can be connected */
	crash_daemon();
	ck_assert_int_eq(kill(pids[0], SIGKILL), 0);
	for (int j = 0; j < it_ms(2000) / 10 && it_proc_alive(pids[0]); j++)
		it_sleep_ms(10);
	ck_assert(!it_proc_alive(pids[0]));
	it_restart(&D, NULL);

	/* the subscription redials, cannot fetch 5: it waits, again and again */
	int rc = cradle_events_next(ev, it_quiet_ms(3000), &e, &err);
	ck_assert_msg(rc == -ETIMEDOUT, "rc %d, seq %llu: %s", rc, (unsigned long long)e.seq,
	              err.message);
	expect_stalled(ev, &err);
	ck_assert_uint_eq(cradle_events_last_seq(ev), 4);
	/* live events after the gap (6, 7) do not jump it */
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, ids[1], it_ms(5000), &err), 0);
	it_sleep_ms(it_ms(200));
	for (int i = 0; i < 2; i++) {
		rc = cradle_events_next(ev, it_quiet_ms(300), &e, &err);
		ck_assert_msg(rc == -ETIMEDOUT, "rc %d, seq %llu: %s", rc,
		              (unsigned long long)e.seq, err.message);
		expect_stalled(ev, &err);
		ck_assert_uint_eq(cradle_events_last_seq(ev), 4);
	}
	rc = cradle_events_next(ev, 0, &e, &err); /* no time at all */
	ck_assert_int_eq(rc, -ETIMEDOUT);
	expect_stalled(ev, &err);
	ck_assert_uint_eq(cradle_events_last_seq(ev), 4);

	/* the log can be asked again: 5 from it, then 6, 7 once each */
	link_request_socket(link, sizeof(link));
	ck_assert_int_eq(expect(ev, "sandbox.exit", ids[0], &seq).pid, pids[0]);
	ck_assert_int_eq(expect(ev, "sandbox.exit", ids[1], &seq).pid, pids[1]);
	expect(ev, "sandbox.stopped", ids[1], &seq);
	ck_assert_uint_eq(seq, 7);
	expect_quiet(ev, it_quiet_ms(300));
	for (int i = 0; i < 2; i++) {
		remove_ok(ids[i]);
		if (i == 0)
			expect(ev, "sandbox.stopped", ids[0], &seq);
		expect(ev, "sandbox.removed", ids[i], &seq);
	}
	expect_quiet(ev, it_quiet_ms(300));
	cradle_events_close(ev);
	ck_assert_int_eq(unlink(link), 0);
}
END_TEST

/* --- a slow subscriber and a flood of exits ------------------------------ */

#define STARTERS 8

static struct {
	int n;
	atomic_int next;
	char (*ids)[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t *pids;
	atomic_int failed;
	char err[512];
} S;

static void *
starter(void *arg)
{
	struct cradle_conn *c = NULL;
	struct cradle_error err = { 0 };
	(void)arg;

	if (cradle_connect_flags(D.sock, it_ms(60000), CRADLE_CONNECT_SYNC, &c, &err) < 0) {
		atomic_fetch_add(&S.failed, 1);
		snprintf(S.err, sizeof(S.err), "%s", err.message);
		return NULL;
	}
	for (int i; (i = atomic_fetch_add(&S.next, 1)) < S.n;) {
		char name[32];
		snprintf(name, sizeof(name), "flood%d", i);
		struct cradle_pod *pod = it_pod(name, NULL);
		if (cradle_sandbox_run(c, pod, NULL, S.ids[i], &S.pids[i], NULL, &err) < 0) {
			atomic_fetch_add(&S.failed, 1);
			snprintf(S.err, sizeof(S.err), "%s", err.message);
		}
		cradle_pod_free(pod);
	}
	cradle_close(c);
	return NULL;
}

static void *
remover(void *arg)
{
	struct cradle_conn *c = NULL;
	struct cradle_error err = { 0 };
	(void)arg;

	if (cradle_connect_flags(D.sock, it_ms(60000), CRADLE_CONNECT_SYNC, &c, &err) < 0) {
		atomic_fetch_add(&S.failed, 1);
		return NULL;
	}
	for (int i; (i = atomic_fetch_add(&S.next, 1)) < S.n;)
		if (cradle_sandbox_remove(c, S.ids[i], &err) < 0) {
			atomic_fetch_add(&S.failed, 1);
			snprintf(S.err, sizeof(S.err), "%s", err.message);
		}
	cradle_close(c);
	return NULL;
}

static void
in_parallel(void *(*fn)(void *))
{
	pthread_t t[STARTERS];

	atomic_store(&S.next, 0);
	for (int i = 0; i < STARTERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, fn, NULL), 0);
	for (int i = 0; i < STARTERS; i++)
		pthread_join(t[i], NULL);
	ck_assert_msg(atomic_load(&S.failed) == 0, "%d failed: %s", atomic_load(&S.failed), S.err);
}

static int
by_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

START_TEST(test_slow_subscriber_sees_every_exit)
{
	const char *env = getenv("CRADLE_CHAOS_EXITS");
	/* 400 (200 in the slow sanitizer builds): too many for the
	 * subscription's own buffer (nng's 128) to hold them all; `make
	 * chaos` floods 5,000 */
	int n = env != NULL && atoi(env) > 0 ? atoi(env) : it_ms(1000) > 1000 ? 200 : 400;
	struct cradle_error err = { 0 };
	char path[400];

	memset(&S, 0, sizeof(S));
	S.n = n;
	S.ids = calloc((size_t)n, sizeof(*S.ids));
	S.pids = calloc((size_t)n, sizeof(*S.pids));
	ck_assert(S.ids != NULL && S.pids != NULL);
	it_start(&D, NULL);
	int64_t t0 = mono_ms();
	in_parallel(starter);
	printf("events: %d sandboxes started in %lld ms\n", n, (long long)(mono_ms() - t0));
	ck_assert_int_eq(it_count_pause_tasks(), n);

	/* the subscription asks the log through a link to the request
	 * socket, removed before the flood: when it meets a gap it cannot
	 * fill it, and says so (below) */
	char link[400];
	link_request_socket(link, sizeof(link));
	struct cradle_events *ev = subscribe_via(link, 0);
	/* beside it, a raw subscriber with a small buffer that reads nothing
	 * until the flood is over: what pub0 drops */
	nng_socket raw;
	ck_assert_int_eq(nng_sub0_open(&raw), 0);
	ck_assert_int_eq(nng_socket_set(raw, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
	ck_assert_int_eq(nng_socket_set_int(raw, NNG_OPT_RECVBUF, 16), 0);
	snprintf(path, sizeof(path), "ipc://%s", D.events);
	ck_assert_int_eq(nng_dial(raw, path, NULL, 0), 0);
	it_sleep_ms(it_ms(300)); /* both pipes up */
	/* the subscription's new pipe makes it ask the log once (nothing
	 * there yet): done here, while it can, so that whatever it has to
	 * fetch after the flood is for a gap in what it received live */
	struct cradle_event e0;
	ck_assert_int_eq(cradle_events_next(ev, it_quiet_ms(300), &e0, &err), -ETIMEDOUT);
	ck_assert_msg(strstr(err.message, "replayed") == NULL, "%s", err.message);
	ck_assert_uint_eq(cradle_events_last_seq(ev), 2 * (uint64_t)n);
	ck_assert_int_eq(unlink(link), 0);

	/* all at once: cgroup.kill of the parent where there is one */
	snprintf(path, sizeof(path), "/sys/fs/cgroup/unified%s/cgroup.kill", IT_CGROUP_ROOT);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cgroup.kill", IT_CGROUP_ROOT);
		fd = open(path, O_WRONLY | O_CLOEXEC);
	}
	t0 = mono_ms();
	if (fd < 0 || write(fd, "1", 1) != 1)
		for (int i = 0; i < n; i++)
			kill(S.pids[i], SIGKILL);
	if (fd >= 0)
		close(fd);
	/* the slowest reader there is while the flood lasts: none.  Every
	 * exit is published before the first is read, so more than the
	 * subscription's buffer (nng's 128) arrive at once, whatever the
	 * speed of this build: a gap is certain, not a matter of timing */
	for (int i = 0;; i++) {
		struct cradle_sandbox_list *l = NULL;
		ck_assert_int_eq(cradle_sandbox_list(D.conn, CRADLE_STATE_READY, NULL, 0, &l, &err),
		                 0);
		size_t ready = cradle_sandbox_list_count(l);
		cradle_sandbox_list_free(l);
		if (ready == 0)
			break;
		ck_assert_msg(i < it_ms(30000) / 20, "%zu sandboxes still READY", ready);
		it_sleep_ms(20);
	}

	/* then a slow reader: 2 ms between events.  Its own subscription drops
	 * too: it stops at the first gap, as the log cannot be asked, handing
	 * out nothing past it (and nothing is lost: -ENODATA would be); once
	 * the request socket is back, the rest comes, in order */
	char(*got)[CRADLE_SANDBOX_ID_LEN + 1] = calloc((size_t)n, sizeof(*got));
	ck_assert_ptr_nonnull(got);
	uint64_t seq = cradle_events_last_seq(ev);
	int stalled = -1;
	for (int i = 0; i < n; i++) {
		if (stalled < 0) {
			struct cradle_event e = { 0 };
			/* every exit is in the subscription's buffer or
			 * dropped already, so only a stall waits: the
			 * timeout is what the stall costs */
			int rc = cradle_events_next(ev, it_ms(1000), &e, &err);
			if (rc == -ETIMEDOUT) {
				expect_stalled(ev, &err);
				stalled = i--;
				link_request_socket(link, sizeof(link));
				continue;
			}
			ck_assert_msg(rc == 0, "event %d: %s", i, err.message);
			ck_assert_str_eq(e.type, "sandbox.exit");
			ck_assert_int_eq(e.exit_status, 128 + SIGKILL);
			ck_assert_msg(e.seq == seq + 1, "seq %llu after %llu",
			              (unsigned long long)e.seq, (unsigned long long)seq);
			seq = e.seq;
			memcpy(got[i], e.id, sizeof(got[i]));
		} else {
			struct cradle_event e = expect(ev, "sandbox.exit", NULL, &seq);
			ck_assert_int_eq(e.exit_status, 128 + SIGKILL);
			memcpy(got[i], e.id, sizeof(got[i]));
		}
		it_sleep_ms(2);
	}
	int64_t dt = mono_ms() - t0;
	ck_assert_msg(stalled >= 0, "the subscription saw no gap in %d exits", n);
	printf("events: the subscription stopped at a gap after %d of %d exits\n", stalled, n);
	expect_quiet(ev, it_quiet_ms(300));
	/* every sandbox once */
	qsort(got, (size_t)n, sizeof(*got), by_id);
	char(*want)[CRADLE_SANDBOX_ID_LEN + 1] = calloc((size_t)n, sizeof(*want));
	ck_assert_ptr_nonnull(want);
	memcpy(want, S.ids, (size_t)n * sizeof(*want));
	qsort(want, (size_t)n, sizeof(*want), by_id);
	for (int i = 0; i < n; i++)
		ck_assert_str_eq(got[i], want[i]);

	int raw_got = 0;
	nng_msg *m;
	while (nng_recvmsg(raw, &m, NNG_FLAG_NONBLOCK) == 0) {
		raw_got++;
		nng_msg_free(m);
	}
	nng_close(raw);
	printf("events: %d exits at once, a slow subscriber (2 ms per event) got all %d in "
	       "order in %lld ms; a raw subscriber (buffer 16) got %d of them live\n",
	       n, n, (long long)dt, raw_got);
	ck_assert_int_lt(raw_got, n); /* the flood did drop events */

	/* removes: their events are read at full speed, in order */
	in_parallel(remover);
	for (int i = 0; i < 2 * n; i++) {
		struct cradle_event e = { 0 };
		ck_assert_msg(cradle_events_next(ev, it_ms(10000), &e, &err) == 0, "%d: %s", i,
		              err.message);
		ck_assert_uint_eq(e.seq, seq + 1);
		seq = e.seq;
	}
	cradle_events_close(ev);
	ck_assert_int_eq(unlink(link), 0);
	free(got);
	free(want);
	free(S.ids);
	free(S.pids);
}
END_TEST

/* --- a small log --------------------------------------------------------- */

START_TEST(test_trimmed_log)
{
	struct cradle_error err = { 0 };
	struct cradle_event e = { 0 };
	uint64_t seq = 0;

	it_start_with(&D, NULL, "[events]\nkeep = 8\n");
	for (int i = 0; i < 6; i++) {
		char name[32];
		snprintf(name, sizeof(name), "small%d", i);
		cycle(NULL, name, &seq);
	}
	/* 30 events; at least the last 8 are kept, at most 8 + 16 */
	struct cradle_events *ev = subscribe(1);
	int rc = cradle_events_next(ev, it_ms(5000), &e, &err);
	ck_assert_int_eq(rc, -ENODATA);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);
	ck_assert_msg(strstr(err.message, "no longer kept") != NULL, "%s", err.message);
	ck_assert_msg(strstr(err.message, "the oldest kept is") != NULL, "%s", err.message);
	/* then on from the oldest kept one, once, to the end */
	ck_assert_int_eq(cradle_events_next(ev, it_ms(5000), &e, &err), 0);
	ck_assert_uint_ge(e.seq, 30 - 24 + 1);
	ck_assert_uint_le(e.seq, 30 - 8 + 1);
	seq = e.seq;
	while (seq < 30) {
		ck_assert_int_eq(cradle_events_next(ev, it_ms(5000), &e, &err), 0);
		ck_assert_uint_eq(e.seq, seq + 1);
		seq = e.seq;
	}
	ck_assert_str_eq(e.type, "sandbox.removed");
	expect_quiet(ev, it_quiet_ms(300));
	/* live after it */
	cycle(ev, "small-live", &seq);
	cradle_events_close(ev);
	ck_assert(it_log_contains(&D, "keeping 8"));
}
END_TEST

/* readonly_group may replay: `cradle events --since 1` as uid 65534 in
 * group and readonly_group prints the log (the CLI is exec'd in a forked
 * child: no nng thread of ours is copied). */
START_TEST(test_readonly_replays)
{
	uint64_t seq = 0;

	it_start_with(&D, NULL, "[cradled]\ngroup = 4242\nreadonly_group = 4343\n");
	ck_assert_int_eq(chmod(D.dir, 0711), 0);
	cycle(NULL, "ro", &seq);
	static const gid_t groups[] = { 4242, 4343 };
	static const char *const want[] = { "1 sandbox.created ", "2 sandbox.started ",
		                            "3 sandbox.exit ", "4 sandbox.stopped ",
		                            "5 sandbox.removed " };
	int fd;
	pid_t pid = events_cli("1", groups, 2, &fd);
	expect_cli_lines(fd, want, 5);
	end_cli(pid, fd);
}
END_TEST

static Suite *
events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("events");

	tcase_add_checked_fixture(tc, it_sweep_all, teardown);
	tcase_set_timeout(tc, it_secs(getenv("CRADLE_CHAOS_EXITS") ? 3600 : 300));
	tcase_add_test(tc, test_lifecycle_events);
	tcase_add_test(tc, test_seq_survives_restart);
	tcase_add_test(tc, test_exits_while_down);
	tcase_add_test(tc, test_replay_waits_for_the_daemon);
	tcase_add_test(tc, test_slow_subscriber_sees_every_exit);
	tcase_add_test(tc, test_trimmed_log);
	tcase_add_test(tc, test_readonly_replays);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return it_run_suite(events_suite());
}
