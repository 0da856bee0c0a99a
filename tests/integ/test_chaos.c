/* test_chaos.c - cradled under fire: killed during concurrent starts,
 * failures injected at random steps of thousands of starts, hundreds of
 * pause tasks exiting at once, a full request queue.  Each test ends with
 * it_cleanup's "nothing left" check.
 *
 * The short forms run in CI (under a minute on two cores); with
 * CRADLE_CHAOS=1 (`make chaos`) the long forms: 500 starts and 5 kills,
 * 10,000 cycles.  CRADLE_CHAOS_SEED fixes the random choices (printed).
 */
#include "tests/integ/libinteg.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct it_daemon D;
static bool chaos; /* the long forms */
static unsigned seed;

static void
teardown(void)
{
	it_cleanup(&D);
}

/* The CI count, divided by the sanitizers' slowness (it_ms's factor: the
 * plain build runs the full count, a TSan build a tenth) but at least 10;
 * or the long form's under `make chaos`. */
static int
scaled(int ci, int long_form)
{
	if (chaos)
		return long_form;
	int n = ci * 1000 / it_ms(1000);
	return n < 10 ? (ci < 10 ? ci : 10) : n;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The daemon's resident memory, kB: anonymous (heap) and file-backed
 * (LMDB's maps, the binary). */
struct rss {
	long anon, file;
};

static struct rss
rss_kb(pid_t pid)
{
	char path[64], line[256];
	struct rss r = { -1, -1 };

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &r.anon) != 1)
			sscanf(line, "RssFile: %ld kB", &r.file);
	if (f)
		fclose(f);
	return r;
}

/* A connection of the calling thread's own (no nng threads, one socket). */
static struct cradle_conn *
connect_sync(struct cradle_error *err)
{
	struct cradle_conn *c = NULL;

	if (cradle_connect_flags(D.sock, it_ms(30000), CRADLE_CONNECT_SYNC, &c, err) < 0)
		return NULL;
	return c;
}

/* Remove every sandbox the daemon has (remove stops first); how many. */
static int
remove_all(void)
{
	struct cradle_sandbox_list *l = NULL;
	struct cradle_error err = { 0 };

	ck_assert_msg(cradle_sandbox_list(D.conn, -1, NULL, 0, &l, &err) == 0, "list: %s",
	              err.message);
	int n = (int)cradle_sandbox_list_count(l);
	for (int i = 0; i < n; i++) {
		const char *id = cradle_sandbox_id(cradle_sandbox_list_at(l, (size_t)i));
		ck_assert_msg(cradle_sandbox_remove(D.conn, id, &err) == 0, "remove %s: %s", id,
		              err.message);
	}
	cradle_sandbox_list_free(l);
	return n;
}

/* Nothing of any sandbox is left (it_cleanup checks it all again). */
static void
assert_none_left(void)
{
	char path[400];

	for (int i = 0; i < it_ms(3000) / 20 && it_count_pause_tasks() > 0; i++)
		it_sleep_ms(20);
	ck_assert_int_eq(it_count_pause_tasks(), 0);
	if (it_count_cgroups() != 0 &&
	    system("find /sys/fs/cgroup -path '*" IT_CGROUP_ROOT "/*' -type d >&2") < 0)
		perror("find");
	ck_assert_int_eq(it_count_cgroups(), 0);
	snprintf(path, sizeof(path), "%s/sandboxes", D.state);
	ck_assert_int_eq(it_count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/netns", D.state);
	ck_assert_int_eq(it_count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/shm", D.state);
	ck_assert_int_eq(it_count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/sandboxes", D.root);
	ck_assert_int_eq(it_count_entries(path), 0);
}

/* --- concurrent starts, from client threads that retry --------------- */

#define MAX_PODS 1024
#define N_CLIENTS 4

static struct {
	atomic_int next;    /* the next pod to start */
	int total;          /* pods to start */
	atomic_int acked;   /* acknowledged starts */
	atomic_int retries; /* calls that failed and were made again */
	atomic_int by_code[CRADLE_STATUS_INTERNAL + 1];
	char id[MAX_PODS][CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid[MAX_PODS];
	pthread_mutex_t mu; /* guards last_err */
	char last_err[CRADLE_ERROR_MAX];
	const char *prefix;
} S;

static void
starts_init(int total, const char *prefix)
{
	memset(&S, 0, sizeof(S));
	pthread_mutex_init(&S.mu, NULL);
	ck_assert_int_le(total, MAX_PODS);
	S.total = total;
	S.prefix = prefix;
}

/* Start pods until S.total are acknowledged; a failed call is made again
 * (a new pod name: the failed one may have been created before the daemon
 * died), on a new connection, up to a bound. */
static void *
starter(void *arg)
{
	struct cradle_conn *c = NULL;
	struct cradle_error err = { 0 };
	(void)arg;

	for (int i; (i = atomic_fetch_add(&S.next, 1)) < S.total;) {
		for (int r = 0; r < 3000; r++) {
			char name[64], uid[80], id[CRADLE_SANDBOX_ID_LEN + 1];
			struct cradle_pod *pod = NULL;
			int32_t pid = 0;
			int64_t at = 0;

			if (c == NULL && (c = connect_sync(&err)) == NULL) {
				it_sleep_ms(10);
				continue;
			}
			snprintf(name, sizeof(name), "%s-%d-%d", S.prefix, i, r);
			snprintf(uid, sizeof(uid), "uid-%s", name);
			if (cradle_pod_new(name, "default", uid, &pod, &err) < 0)
				break;
			int rc = cradle_sandbox_run(c, pod, NULL, id, &pid, &at, &err);
			cradle_pod_free(pod);
			if (rc == 0) {
				int k = atomic_fetch_add(&S.acked, 1);
				memcpy(S.id[k], id, sizeof(id));
				S.pid[k] = pid;
				break;
			}
			atomic_fetch_add(&S.retries, 1);
			if (err.code >= 0 && err.code <= CRADLE_STATUS_INTERNAL)
				atomic_fetch_add(&S.by_code[err.code], 1);
			pthread_mutex_lock(&S.mu);
			snprintf(S.last_err, sizeof(S.last_err), "%s", err.message);
			pthread_mutex_unlock(&S.mu);
			cradle_close(c);
			c = NULL;
			it_sleep_ms(5);
		}
	}
	if (c != NULL)
		cradle_close(c);
	return NULL;
}

static void
kill_and_restart(void)
{
	int st;

	ck_assert_int_eq(kill(D.pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(D.pid, &st, 0), D.pid);
	D.pid = 0;
	cradle_close(D.conn);
	D.conn = NULL;
	it_restart(&D, NULL);
}

/* Is pid the pause task of a record in l? */
static bool
known_task(const struct cradle_sandbox_list *l, pid_t pid)
{
	for (size_t i = 0; i < cradle_sandbox_list_count(l); i++)
		if (cradle_sandbox_pid(cradle_sandbox_list_at(l, i)) == pid)
			return true;
	return false;
}

static const struct cradle_sandbox *
find_record(const struct cradle_sandbox_list *l, const char *id)
{
	for (size_t i = 0; i < cradle_sandbox_list_count(l); i++)
		if (strcmp(cradle_sandbox_id(cradle_sandbox_list_at(l, i)), id) == 0)
			return cradle_sandbox_list_at(l, i);
	return NULL;
}

/* N concurrent starts while cradled is killed (SIGKILL) K times at random
 * moments and restarted: every acknowledged sandbox comes back READY with
 * its pause alive, no task is left that no record knows, and removing
 * them all leaves nothing. */
START_TEST(test_kills_during_concurrent_starts)
{
	int total = scaled(100, 500), kills = scaled(2, 5);
	pthread_t t[N_CLIENTS];
	struct cradle_sandbox_list *l = NULL;
	struct cradle_error err = { 0 };
	unsigned r = seed;

	it_start(&D, NULL);
	starts_init(total, "k");
	for (int i = 0; i < N_CLIENTS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, starter, NULL), 0);
	for (int k = 0; k < kills; k++) {
		/* spread over the run, each a little after its mark */
		int mark = total * (k + 1) / (kills + 1);
		while (atomic_load(&S.acked) < mark && atomic_load(&S.next) < total)
			it_sleep_ms(1);
		it_sleep_ms((int)(rand_r(&r) % 40));
		kill_and_restart();
	}
	for (int i = 0; i < N_CLIENTS; i++)
		pthread_join(t[i], NULL);
	printf("chaos: %d starts acknowledged, %d kills, %d calls retried (UNAVAILABLE %d, "
	       "INTERNAL %d, other %d); last error: %s\n",
	       S.acked, kills, S.retries, S.by_code[CRADLE_STATUS_UNAVAILABLE],
	       S.by_code[CRADLE_STATUS_INTERNAL],
	       S.retries - S.by_code[CRADLE_STATUS_UNAVAILABLE] - S.by_code[CRADLE_STATUS_INTERNAL],
	       S.last_err);
	ck_assert_int_eq(S.acked, total);

	ck_assert_msg(cradle_sandbox_list(D.conn, -1, NULL, 0, &l, &err) == 0, "list: %s",
	              err.message);
	for (int i = 0; i < S.acked; i++) {
		const struct cradle_sandbox *s = find_record(l, S.id[i]);
		ck_assert_msg(s != NULL, "acknowledged sandbox %s has no record", S.id[i]);
		ck_assert_msg(cradle_sandbox_state(s) == CRADLE_STATE_READY,
		              "acknowledged sandbox %s is not READY", S.id[i]);
		ck_assert_int_eq(cradle_sandbox_pid(s), S.pid[i]);
		ck_assert_msg(it_proc_alive(S.pid[i]), "the pause %d of %s is gone", S.pid[i],
		              S.id[i]);
	}
	static pid_t tasks[4096];
	int n = it_pause_tasks(tasks, 4096), orphans = 0;
	for (int i = 0; i < n && i < 4096; i++) {
		if (!known_task(l, tasks[i])) {
			fprintf(stderr, "orphan pause task %d\n", (int)tasks[i]);
			orphans++;
		}
	}
	printf("chaos: %zu records (%d acknowledged), %d pause tasks, %d orphans\n",
	       cradle_sandbox_list_count(l), S.acked, n, orphans);
	cradle_sandbox_list_free(l);
	ck_assert_int_eq(orphans, 0);

	ck_assert_int_ge(remove_all(), total);
	assert_none_left();
}
END_TEST

/* Start/stop/remove cycles, 10 % of the starts failing at a random step
 * (cradled-hooks, CRADLE_FAIL_STEP=random:10): every failure rolls back,
 * nothing leaks, the daemon's fds do not grow (its RSS is printed). */
START_TEST(test_cycles_with_random_failures)
{
	int cycles = scaled(300, 10000), ok = 0, failed = 0;
	struct cradle_error err = { 0 };
	char s[32];

	snprintf(s, sizeof(s), "%u", seed);
	ck_assert_int_eq(setenv("CRADLE_FAIL_SEED", s, 1), 0);
	it_start(&D, "random:10");
	int fds0 = it_daemon_fds(D.pid);
	struct rss rss0 = rss_kb(D.pid);
	for (int i = 0; i < cycles; i++) {
		char name[64], id[CRADLE_SANDBOX_ID_LEN + 1];
		int32_t pid;
		int64_t at;

		snprintf(name, sizeof(name), "cycle-%d", i);
		struct cradle_pod *pod = it_pod(name, NULL);
		int rc = cradle_sandbox_run(D.conn, pod, NULL, id, &pid, &at, &err);
		cradle_pod_free(pod);
		if (rc < 0) {
			ck_assert_msg(strstr(err.message, "injected failure") != NULL,
			              "cycle %d: %s", i, err.message);
			ck_assert_int_eq(err.code, CRADLE_STATUS_INTERNAL);
			failed++;
			/* a failed run leaves no record */
			struct cradle_sandbox_list *l = NULL;
			ck_assert_int_eq(cradle_sandbox_list(D.conn, -1, NULL, 0, &l, &err), 0);
			ck_assert_msg(cradle_sandbox_list_count(l) == 0, "cycle %d: %zu records", i,
			              cradle_sandbox_list_count(l));
			cradle_sandbox_list_free(l);
			ck_assert_int_eq(it_count_cgroups(), 0);
			continue;
		}
		ok++;
		ck_assert_msg(cradle_sandbox_stop(D.conn, id, it_ms(5000), &err) == 0,
		              "stop %s: %s", id, err.message);
		ck_assert_msg(cradle_sandbox_remove(D.conn, id, &err) == 0, "remove %s: %s", id,
		              err.message);
		if (i % 100 == 99)
			assert_none_left();
	}
	assert_none_left();
	int fds1 = it_daemon_fds(D.pid);
	for (int i = 0; i < it_ms(2000) / 20 && fds1 > fds0; i++) {
		it_sleep_ms(20);
		fds1 = it_daemon_fds(D.pid);
	}
	struct rss rss1 = rss_kb(D.pid);
	printf("chaos: %d cycles, %d started, %d failed by injection (seed %u); daemon fds %d -> "
	       "%d, RSS anon %ld -> %ld kB (%+ld), file %ld -> %ld kB (%+ld)\n",
	       cycles, ok, failed, seed, fds0, fds1, rss0.anon, rss1.anon, rss1.anon - rss0.anon,
	       rss0.file, rss1.file, rss1.file - rss0.file);
	ck_assert_int_gt(failed, 0);
	ck_assert_int_gt(ok, 0);
	ck_assert_int_le(fds1, fds0);
	unsetenv("CRADLE_FAIL_SEED");
}
END_TEST

/* Hundreds of pause tasks exit at the same moment: every sandbox becomes
 * NOTREADY with its exit status, and the daemon answers meanwhile. */
START_TEST(test_mass_exit)
{
	int total = scaled(300, 500);
	pthread_t t[N_CLIENTS];
	struct cradle_error err = { 0 };
	char path[300];

	it_start(&D, NULL);
	starts_init(total, "m");
	for (int i = 0; i < N_CLIENTS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, starter, NULL), 0);
	for (int i = 0; i < N_CLIENTS; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(S.acked, total);
	ck_assert_int_eq(S.retries, 0);
	ck_assert_int_eq(it_count_pause_tasks(), total);

	/* all at once: cgroup.kill of the parent on the unified hierarchy
	 * (v2 or hybrid), else SIGKILL to each pid in a row */
	snprintf(path, sizeof(path), "/sys/fs/cgroup/unified%s/cgroup.kill", IT_CGROUP_ROOT);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cgroup.kill", IT_CGROUP_ROOT);
		fd = open(path, O_WRONLY | O_CLOEXEC);
	}
	int64_t t0 = mono_ms();
	if (fd < 0 || write(fd, "1", 1) != 1) {
		for (int i = 0; i < total; i++)
			kill(S.pid[i], SIGKILL);
	}
	if (fd >= 0)
		close(fd);

	int notready = 0, calls = 0;
	for (int i = 0; i < it_ms(30000) / 10 && notready < total; i++) {
		struct cradle_version v;
		struct cradle_sandbox_list *l = NULL;
		/* the daemon answers while its reaper works */
		ck_assert_msg(cradle_version(D.conn, &v, &err) == 0, "version: %s", err.message);
		ck_assert_msg(
			cradle_sandbox_list(D.conn, CRADLE_STATE_NOTREADY, NULL, 0, &l, &err) == 0,
			"list: %s", err.message);
		notready = (int)cradle_sandbox_list_count(l);
		cradle_sandbox_list_free(l);
		calls += 2;
		if (notready < total)
			it_sleep_ms(10);
	}
	printf("chaos: %d pause tasks killed at once (%s), all NOTREADY after %lld ms, %d calls "
	       "answered meanwhile\n",
	       total, fd >= 0 ? "cgroup.kill" : "kill(2) each", (long long)(mono_ms() - t0), calls);
	ck_assert_int_eq(notready, total);
	for (int i = 0; i < total; i++) {
		struct cradle_sandbox *s = NULL;
		ck_assert_int_eq(cradle_sandbox_status(D.conn, S.id[i], &s, &err), 0);
		ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_NOTREADY);
		ck_assert_int_eq(cradle_sandbox_exit_status(s), 128 + SIGKILL);
		cradle_sandbox_free(s);
	}
	ck_assert_int_eq(remove_all(), total);
	assert_none_left();
}
END_TEST

/* --- failures inside steps, and in stop and remove ---------------------- */

/* A start failing inside a step (worker/start.c inside_points) takes the
 * step's own error path with what the step made so far: the start fails
 * with the point named, and nothing is left, not even an fd. */
START_TEST(test_failure_inside_steps)
{
	static const char *points[] = { "volatile-root-dir:made", "cgroup:intent",
		                        "launch:prepared" };

	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		struct cradle_error err = { 0 };
		char id[CRADLE_SANDBOX_ID_LEN + 1], want[128];
		struct cradle_pod *pod = it_pod("inside", "inside");
		int32_t pid = 0;
		int64_t at;

		it_start(&D, points[i]);
		ck_assert_int_lt(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, &at, &err), 0);
		cradle_pod_free(pod);
		snprintf(want, sizeof(want), "injected failure inside step %s", points[i]);
		ck_assert_msg(strstr(err.message, want) != NULL, "%s: %s", points[i], err.message);
		ck_assert_msg(strstr(err.message, "failed to start sandbox") != NULL, "%s: %s",
		              points[i], err.message);
		ck_assert_int_eq(err.code, CRADLE_STATUS_INTERNAL);
		assert_none_left();
		it_cleanup(&D); /* the records, fds and the rest, per point */
	}
}
END_TEST

/* A stop or a remove failing half-way (worker/ops.c fail_at) reports it;
 * the sandbox stays known, and a later remove (by a daemon without the
 * hook, after a restart) finishes the job with nothing left. */
START_TEST(test_failure_in_stop_and_remove)
{
	static const char *points[] = { "stop:killed", "stop:shm", "remove:root-dir" };

	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		struct cradle_error err = { 0 };
		struct cradle_sandbox *s = NULL;
		char id[CRADLE_SANDBOX_ID_LEN + 1], want[128];
		struct cradle_pod *pod = it_pod("halfway", "halfway");
		int32_t pid = 0;
		int64_t at;
		int rc;

		it_start(&D, points[i]);
		ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, &at, &err) == 0,
		              "%s: %s", points[i], err.message);
		cradle_pod_free(pod);
		if (strncmp(points[i], "stop:", 5) == 0)
			rc = cradle_sandbox_stop(D.conn, id, it_ms(5000), &err);
		else
			rc = cradle_sandbox_remove(D.conn, id, &err);
		ck_assert_int_lt(rc, 0);
		snprintf(want, sizeof(want), "injected failure at %s", points[i]);
		ck_assert_msg(strstr(err.message, want) != NULL, "%s: %s", points[i], err.message);
		ck_assert_msg(strstr(err.message, id) != NULL, "%s: %s", points[i], err.message);
		ck_assert_int_eq(err.code, CRADLE_STATUS_INTERNAL);

		ck_assert_int_eq(it_stop(&D), 0);
		it_restart(&D, NULL);
		ck_assert_msg(cradle_sandbox_status(D.conn, id, &s, &err) == 0, "%s: %s", points[i],
		              err.message);
		cradle_sandbox_free(s);
		ck_assert_msg(cradle_sandbox_remove(D.conn, id, &err) == 0, "%s: remove: %s",
		              points[i], err.message);
		assert_none_left();
		it_cleanup(&D);
	}
}
END_TEST

/* --- imports cut short ------------------------------------------------------ */

/* The files of the image store below root (not the LMDB files), one path
 * per line, sorted: what a failed import must leave as it found. */
static char *
store_listing(void)
{
	char cmd[800];
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && find . -path ./cradle.mdb -prune -o -print | LC_ALL=C sort", D.root);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	ck_assert_ptr_nonnull(out);
	for (size_t n; (n = fread(out + len, 1, cap - len - 1, p)) > 0;) {
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			out = realloc(out, cap);
			ck_assert_ptr_nonnull(out);
		}
	}
	out[len] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	return out;
}

/* Only zero bytes from offset at to the end of the file at path. */
static bool
zeros_from(const char *path, off_t at)
{
	FILE *f = fopen(path, "re");
	int c = EOF;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseeko(f, at, SEEK_SET), 0);
	while ((c = fgetc(f)) == 0)
		;
	fclose(f);
	return c == EOF;
}

/* Imports of the pause archive cut at random points fail inside the
 * import (in the index, a manifest, a layer, wherever the cut falls): each
 * with an error naming the archive, none recorded, and the image store's
 * files exactly as before (no blob, snapshot or temp file left). */
START_TEST(test_import_cut_short)
{
	int cuts = scaled(8, 100);
	char path[512], cut[600];
	struct cradle_image *img = NULL;
	struct cradle_error err = { 0 };
	struct stat st;
	unsigned r = seed;

	it_start(&D, NULL);
	ck_assert(realpath(it_bin("pause.oci.tar"), path) != NULL);
	ck_assert_int_eq(stat(path, &st), 0);
	char *before = store_listing();
	snprintf(cut, sizeof(cut), "%s/cut.tar", D.dir);
	for (int i = 0; i < cuts; i++) {
		/* short of the two zero blocks that end a tar */
		off_t at = 512 + (off_t)(rand_r(&r) % (unsigned)(st.st_size - 2048 - 512));
		char cmd[1400];
		snprintf(cmd, sizeof(cmd), "head -c %lld '%s' > '%s'", (long long)at, path, cut);
		ck_assert_int_eq(system(cmd), 0);
		if (cradle_image_import(D.conn, cut, "example.com/cut:1", &img, &err) == 0) {
			/* fine only if the cut took nothing but the zeros that pad
			 * a tar to its record size */
			cradle_image_free(img);
			ck_assert_msg(zeros_from(path, at),
			              "an archive cut at %lld of %lld was imported", (long long)at,
			              (long long)st.st_size);
			ck_assert_int_eq(cradle_image_remove(D.conn, "example.com/cut:1", &err), 0);
			continue;
		}
		ck_assert_msg(strstr(err.message, cut) != NULL, "cut at %lld: %s", (long long)at,
		              err.message);
		if (i == 0)
			printf("chaos: import cut at %lld: %s\n", (long long)at, err.message);
		ck_assert_int_lt(cradle_image_status(D.conn, "example.com/cut:1", &img, &err), 0);
		ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);
		char *after = store_listing();
		ck_assert_msg(strcmp(before, after) == 0,
		              "cut at %lld: the image store changed:\nbefore:\n%s\nafter:\n%s",
		              (long long)at, before, after);
		free(after);
	}
	free(before);
	unlink(cut);
}
END_TEST

/* --- the check itself ----------------------------------------------------- */

/* The "nothing left" check of every test sees what a test leaves: a
 * sandbox left running (its record, pause task, dirs, cgroups, the
 * daemon's pidfd and mounts for it) and a zombie child. */
START_TEST(test_leak_check_sees_leftovers)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], text[6144], want[600];
	struct cradle_error err = { 0 };
	struct cradle_pod *pod = it_pod("left", "left");
	int32_t pid = 0;
	int64_t at;
	int st;

	it_start(&D, NULL);
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, &at, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	pid_t zombie = fork();
	ck_assert_int_ge(zombie, 0);
	if (zombie == 0)
		_exit(0);
	it_sleep_ms(50);

	int n = it_leftovers(&D, &st, text, sizeof(text));
	ck_assert_int_eq(st, 0);
	const char *wants[] = { "record %s",
		                "task %d (pause)",
		                "child %d (",
		                "entry %s/sandboxes/%s",
		                "entry %s/netns/%s",
		                "entry %s/shm/%s",
		                "entry %s/sandboxes/%s",
		                "the daemon has",
		                "in the daemon's mount namespace" };
	for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		if (i == 0)
			snprintf(want, sizeof(want), wants[i], id);
		else if (i == 1)
			snprintf(want, sizeof(want), wants[i], (int)pid);
		else if (i == 2)
			snprintf(want, sizeof(want), wants[i], (int)zombie);
		else if (i < 6)
			snprintf(want, sizeof(want), wants[i], D.state, id);
		else if (i == 6)
			snprintf(want, sizeof(want), wants[i], D.root, id);
		else
			snprintf(want, sizeof(want), "%s", wants[i]);
		ck_assert_msg(strstr(text, want) != NULL, "no \"%s\" in:%s", want, text);
	}
	snprintf(want, sizeof(want), "%s/%s", IT_CGROUP_ROOT, id);
	ck_assert_msg(strstr(text, want) != NULL, "no cgroup %s in:%s", want, text);
	printf("chaos: the leak check listed %d things for one sandbox and a zombie left\n", n);

	/* now remove them: the teardown finds nothing */
	ck_assert_int_eq(waitpid(zombie, NULL, 0), zombie);
	it_restart(&D, NULL);
	ck_assert_msg(cradle_sandbox_remove(D.conn, id, &err) == 0, "%s", err.message);
	assert_none_left();
}
END_TEST

/* --- a full queue -------------------------------------------------------- */

#define N_FLOOD 24

static struct {
	pthread_barrier_t go;
	int code[N_FLOOD];
	int64_t at[N_FLOOD];
	char id[N_FLOOD][CRADLE_SANDBOX_ID_LEN + 1];
	char msg[N_FLOOD][CRADLE_ERROR_MAX];
} F;

static void *
flooder(void *arg)
{
	int k = (int)(intptr_t)arg;
	struct cradle_error err = { 0 };
	struct cradle_conn *c = connect_sync(&err);
	struct cradle_pod *pod = NULL;
	char name[32], uid[48];
	int32_t pid;
	int64_t at;

	snprintf(name, sizeof(name), "flood-%d", k);
	snprintf(uid, sizeof(uid), "uid-%s", name);
	F.code[k] = -1;
	if (c == NULL || cradle_pod_new(name, "default", uid, &pod, &err) < 0) {
		snprintf(F.msg[k], sizeof(F.msg[k]), "%s", err.message);
		pthread_barrier_wait(&F.go);
		if (c != NULL)
			cradle_close(c);
		return NULL;
	}
	pthread_barrier_wait(&F.go);
	int rc = cradle_sandbox_run(c, pod, NULL, F.id[k], &pid, &at, &err);
	F.at[k] = mono_ms();
	F.code[k] = rc == 0 ? CRADLE_STATUS_OK : err.code;
	snprintf(F.msg[k], sizeof(F.msg[k]), "%s", err.message);
	cradle_pod_free(pod);
	cradle_close(c);
	return NULL;
}

/* One worker, a queue of one: a flood of starts is answered
 * RESOURCE_EXHAUSTED at once for what does not fit, not after a wait. */
START_TEST(test_queue_full_refused_at_once)
{
	pthread_t t[N_FLOOD];
	int ok = 0, full = 0;
	int64_t first_full = INT64_MAX, last_ok = 0;

	it_start_with(&D, NULL, "[cradled]\nworkers = 1\nqueue_depth = 1\n");
	memset(&F, 0, sizeof(F));
	ck_assert_int_eq(pthread_barrier_init(&F.go, NULL, N_FLOOD), 0);
	for (int i = 0; i < N_FLOOD; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, flooder, (void *)(intptr_t)i), 0);
	for (int i = 0; i < N_FLOOD; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&F.go);
	for (int i = 0; i < N_FLOOD; i++) {
		if (F.code[i] == CRADLE_STATUS_OK) {
			ok++;
			last_ok = F.at[i] > last_ok ? F.at[i] : last_ok;
			continue;
		}
		ck_assert_msg(F.code[i] == CRADLE_STATUS_RESOURCE_EXHAUSTED, "flood %d: %d %s", i,
		              F.code[i], F.msg[i]);
		ck_assert_msg(strstr(F.msg[i], "queue is full") != NULL, "flood %d: %s", i,
		              F.msg[i]);
		full++;
		first_full = F.at[i] < first_full ? F.at[i] : first_full;
	}
	printf("chaos: %d starts at once on 1 worker, queue 1: %d done, %d refused\n", N_FLOOD, ok,
	       full);
	ck_assert_int_ge(ok, 1);
	ck_assert_int_ge(full, 1);
	/* refused while the admitted ones were still being served */
	ck_assert_int_lt(first_full, last_ok);
	ck_assert_int_eq(remove_all(), ok);
	assert_none_left();
}
END_TEST

static Suite *
chaos_suite(void)
{
	Suite *s = suite_create("chaos");
	TCase *tc = tcase_create("chaos");

	/* a failed test skips its teardown: leave nothing to the next one */
	tcase_add_checked_fixture(tc, it_sweep_all, teardown);
	tcase_set_timeout(tc, it_secs(chaos ? 7200 : 120));
	tcase_add_test(tc, test_leak_check_sees_leftovers);
	tcase_add_test(tc, test_kills_during_concurrent_starts);
	tcase_add_test(tc, test_cycles_with_random_failures);
	tcase_add_test(tc, test_mass_exit);
	tcase_add_test(tc, test_queue_full_refused_at_once);
	tcase_add_test(tc, test_failure_inside_steps);
	tcase_add_test(tc, test_failure_in_stop_and_remove);
	tcase_add_test(tc, test_import_cut_short);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char *e = getenv("CRADLE_CHAOS"), *s = getenv("CRADLE_CHAOS_SEED");

	if (geteuid() != 0) {
		fprintf(stderr, "test_chaos: needs root (starts cradled); CI runs as root\n");
		return 1;
	}
	chaos = e != NULL && strcmp(e, "1") == 0;
	seed = s != NULL ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
	printf("chaos: %s form, seed %u (CRADLE_CHAOS_SEED)\n", chaos ? "long" : "short", seed);
	fflush(stdout);
	return it_run_suite(chaos_suite());
}
