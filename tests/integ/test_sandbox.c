/* test_sandbox.c - a real cradled in a temp root; what the kernel shows.
 * Needs root (CI runs as root). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;

static void
teardown(void)
{
	it_cleanup(&D);
}

/* Run a pod and return its pid (asserts success). */
static int32_t
run_pod(struct cradle_conn *c, const char *name, const char *hostname, int net_mode,
        char id[CRADLE_SANDBOX_ID_LEN + 1])
{
	struct cradle_pod *pod = it_pod(name, hostname);
	struct cradle_error err = { 0 };
	int32_t pid = 0;

	ck_assert_msg(cradle_pod_set_namespace_mode(pod, CRADLE_NS_NETWORK, net_mode, &err) == 0,
	              "%s", err.message);
	int r = cradle_sandbox_run(c, pod, NULL, id, &pid, NULL, &err);
	cradle_pod_free(pod);
	ck_assert_msg(r == 0, "run %s: %s: %s", name, cradle_status_name(err.code), err.message);
	ck_assert_int_gt(pid, 0);
	return pid;
}

static void
assert_nothing_left(const struct it_daemon *d)
{
	char p[400];

	snprintf(p, sizeof(p), "%s/sandboxes", d->root);
	ck_assert_int_eq(it_count_entries(p), 0);
	snprintf(p, sizeof(p), "%s/sandboxes", d->state);
	ck_assert_int_eq(it_count_entries(p), 0);
	snprintf(p, sizeof(p), "%s/netns", d->state);
	ck_assert_int_eq(it_count_entries(p), 0);
	snprintf(p, sizeof(p), "%s/shm", d->state);
	ck_assert_int_eq(it_count_entries(p), 0);
	/* in the host: cradle's namespace pin and the private directory
	 * holding it while cradled runs, never a sandbox's mount */
	ck_assert_int_eq(it_count_mounts_under(d->dir), d->pid > 0 ? 2 : 0);
	if (d->pid > 0) { /* in cradle's namespace: no sandbox's either */
		snprintf(p, sizeof(p), "%s/sandboxes/", d->state);
		ck_assert_int_eq(it_count_mounts_in(d->pid, p), 0);
		snprintf(p, sizeof(p), "%s/netns", d->state);
		ck_assert_int_eq(it_count_mounts_in(d->pid, p), 0);
		snprintf(p, sizeof(p), "%s/shm", d->state);
		ck_assert_int_eq(it_count_mounts_in(d->pid, p), 0);
	}
	ck_assert_int_eq(it_count_pause_tasks(), 0);
	ck_assert_int_eq(it_count_cgroups(), 0);
	if (d->conn != NULL) {
		struct cradle_sandbox_list *l = NULL;
		struct cradle_error err;
		ck_assert_int_eq(cradle_sandbox_list(d->conn, -1, NULL, 0, &l, &err), 0);
		ck_assert_uint_eq(cradle_sandbox_list_count(l), 0);
		cradle_sandbox_list_free(l);
	}
}

/* The directories holding bind sources (the sandboxes' files, the empty
 * mask) are mounts of their own in cradle's namespace with nothing
 * mounted below them, so cloning a source does not walk the pods' mounts;
 * in the host they are no mounts at all. */
static void
assert_bind_sources_alone(const struct it_daemon *d)
{
	static const char *const dirs[] = { "sandboxes", "empty" };
	char p[400];
	struct it_mount m;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", d->state, dirs[i]);
		ck_assert_int_eq(it_count_mounts_in(d->pid, p), 1);
		ck_assert_msg(it_mount_at(d->pid, p, &m), "%s is no mount of its own", p);
		ck_assert(!it_mount_at(0, p, &m));
	}
}

START_TEST(test_namespaces_hostname_pid1)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], host[256], path[512];
	struct cradle_sandbox *s;
	struct cradle_error err;
	struct stat a, b;

	it_start(&D, NULL);
	int32_t pid = run_pod(D.conn, "ns-pod", "ns-pod-host", CRADLE_NS_MODE_POD, id);
	static const char *nss[] = { "pid", "ipc", "uts", "mnt", "net" };
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(!it_same_ns(pid, nss[i]), "%s namespace is the host's", nss[i]);
	ck_assert(it_uts_hostname(pid, host, sizeof(host)));
	ck_assert_str_eq(host, "ns-pod-host");
	ck_assert_int_eq(it_nspid_inner(pid), 1);
	/* the reference's open-files limit, not the daemon's raised one */
	FILE *lf;
	char lim_line[256];
	bool nofile = false;
	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	ck_assert_ptr_nonnull(lf = fopen(path, "r"));
	while (fgets(lim_line, sizeof(lim_line), lf) != NULL)
		if (strncmp(lim_line, "Max open files", 14) == 0) {
			unsigned long soft, hard;
			ck_assert_int_eq(sscanf(lim_line + 14, "%lu %lu", &soft, &hard), 2);
			ck_assert_uint_eq(soft, 1024);
			ck_assert_uint_eq(hard, 1024);
			nofile = true;
		}
	fclose(lf);
	ck_assert(nofile);
	/* and the daemon's soft limit is its hard one (a pidfd per sandbox) */
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)D.pid);
	ck_assert_ptr_nonnull(lf = fopen(path, "r"));
	nofile = false;
	while (fgets(lim_line, sizeof(lim_line), lf) != NULL)
		if (strncmp(lim_line, "Max open files", 14) == 0) {
			char soft[32], hard[32];
			ck_assert_int_eq(sscanf(lim_line + 14, "%31s %31s", soft, hard), 2);
			ck_assert_str_eq(soft, hard);
			nofile = true;
		}
	fclose(lf);
	ck_assert(nofile);

	/* status reports it READY with the pinned netns of that very task,
	 * pinned in cradle's mount namespace (reached through cradled's root) */
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_READY);
	ck_assert_int_eq(cradle_sandbox_pid(s), pid);
	ck_assert_ptr_nonnull(cradle_sandbox_netns_path(s));
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	char pinned[600];
	it_daemon_path(&D, cradle_sandbox_netns_path(s), pinned, sizeof(pinned));
	ck_assert_int_eq(stat(pinned, &a), 0);
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	/* its /dev/shm, kept for the pod's other containers at <state>/shm/<id>:
	 * a tmpfs in cradle's namespace, the very one the pod sees */
	char want[512];
	struct it_mount m;
	snprintf(want, sizeof(want), "%s/shm/%s", D.state, id);
	ck_assert_str_eq(cradle_sandbox_shm_path(s), want);
	ck_assert_msg(it_mount_at(D.pid, want, &m), "no mount at %s", want);
	ck_assert_str_eq(m.fstype, "tmpfs");
	ck_assert(!it_mount_at(0, want, &m));
	snprintf(path, sizeof(path), "/proc/%d/root/dev/shm", pid);
	ck_assert_int_eq(stat(path, &a), 0);
	ck_assert_int_eq(stat(it_daemon_path(&D, want, pinned, sizeof(pinned)), &b), 0);
	ck_assert(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	assert_bind_sources_alone(&D);
	cradle_sandbox_free(s);

	/* its root is the read-only pause rootfs, and /dev/shm a tmpfs */
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	FILE *f = fopen(path, "re");
	char line[1024];
	bool root_ro = false, shm = false;
	while (f && fgets(line, sizeof(line), f)) {
		char mnt[512], opts[256];
		if (sscanf(line, "%*s %*s %*s %*s %511s %255s", mnt, opts) != 2)
			continue;
		if (strcmp(mnt, "/") == 0)
			root_ro = strncmp(opts, "ro", 2) == 0;
		if (strcmp(mnt, "/dev/shm") == 0)
			shm = strstr(line, " - tmpfs ") != NULL;
	}
	if (f)
		fclose(f);
	ck_assert_msg(root_ro, "rootfs is not read-only");
	ck_assert(shm);

	/* the hostname file */
	snprintf(path, sizeof(path), "%s/sandboxes/%s/hostname", D.state, id);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_str_eq(line, "ns-pod-host\n");

	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert(!it_proc_alive(pid));
	assert_nothing_left(&D);
}
END_TEST

START_TEST(test_host_network)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_sandbox *s;
	struct cradle_error err;

	it_start(&D, NULL);
	int32_t pid = run_pod(D.conn, "hostnet", NULL, CRADLE_NS_MODE_NODE, id);
	ck_assert(it_same_ns(pid, "net"));
	ck_assert(it_same_ns(pid, "uts")); /* UTS follows the network */
	ck_assert(!it_same_ns(pid, "pid"));
	ck_assert(!it_same_ns(pid, "mnt"));
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_ptr_null(cradle_sandbox_netns_path(s));
	cradle_sandbox_free(s);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	assert_nothing_left(&D);
}
END_TEST

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(test_exit_event_and_notready)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_events *ev;
	struct cradle_event e;
	struct cradle_sandbox *s;
	struct cradle_error err;

	it_start(&D, NULL);
	ck_assert_msg(cradle_events_open(D.events, &ev, &err) == 0, "%s", err.message);
	/* pub/sub connects asynchronously: give the subscription a moment */
	it_sleep_ms(it_ms(200));
	int32_t pid = run_pod(D.conn, "victim", "victim", CRADLE_NS_MODE_POD, id);
	/* the run's own events come first (issue 9): created, started */
	ck_assert_int_eq(cradle_events_next(ev, it_ms(1000), &e, &err), 0);
	ck_assert_str_eq(e.type, "sandbox.created");
	uint64_t seq0 = e.seq;
	ck_assert_int_eq(cradle_events_next(ev, it_ms(1000), &e, &err), 0);
	ck_assert_str_eq(e.type, "sandbox.started");
	int64_t t0 = mono_ms();
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_msg(cradle_events_next(ev, it_ms(1000), &e, &err) == 0, "no event: %s",
	              err.message);
	ck_assert_int_lt(mono_ms() - t0, it_ms(1000));
	ck_assert_str_eq(e.type, "sandbox.exit");
	ck_assert_int_eq(e.kind, CRADLE_EVENT_SANDBOX_EXIT);
	ck_assert_str_eq(e.id, id);
	ck_assert_int_eq(e.pid, pid);
	ck_assert_int_eq(e.exit_status, 128 + SIGKILL);
	ck_assert_uint_eq(e.seq, seq0 + 2);
	ck_assert_int_gt(e.exited_at, 0);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_NOTREADY);
	ck_assert_int_eq(cradle_sandbox_exit_status(s), 137);
	cradle_sandbox_free(s);

	/* a second exit gets the next sequence number: no gaps */
	char id2[CRADLE_SANDBOX_ID_LEN + 1];
	pid = run_pod(D.conn, "victim2", "victim2", CRADLE_NS_MODE_POD, id2);
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, id2, -1, &err), 0);
	/* created, started, then the exit */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(cradle_events_next(ev, it_ms(1000), &e, &err), 0);
	ck_assert_str_eq(e.type, "sandbox.exit");
	ck_assert_uint_eq(e.seq, seq0 + 5);
	ck_assert_str_eq(e.id, id2);
	cradle_events_close(ev);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id2, &err), 0);
	assert_nothing_left(&D);
}
END_TEST

/* 300 pods from 12 client threads; 100 in the slow sanitizer builds,
 * still twelve times the 8 workers the tests give the pool */
#define N_PODS 300
#define N_THREADS 12

static int
n_pods(void)
{
	return it_ms(1) > 1 ? 100 : N_PODS;
}

struct many {
	char id[N_PODS][CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid[N_PODS];
	char err[N_PODS][CRADLE_ERROR_MAX];
	int next;
	pthread_mutex_t lock;
	int phase; /* 0 run, 1 stop+remove */
	int n;     /* n_pods() */
};

static void *
many_worker(void *arg)
{
	struct many *m = arg;
	for (;;) {
		pthread_mutex_lock(&m->lock);
		int i = m->next++;
		pthread_mutex_unlock(&m->lock);
		if (i >= m->n)
			return NULL;
		struct cradle_error err = { 0 };
		if (m->phase == 0) {
			char name[32];
			snprintf(name, sizeof(name), "many-%d", i);
			struct cradle_pod *pod = it_pod(name, name);
			if (cradle_sandbox_run(D.conn, pod, NULL, m->id[i], &m->pid[i], NULL,
			                       &err) < 0)
				snprintf(m->err[i], sizeof(m->err[i]), "%s", err.message);
			cradle_pod_free(pod);
		} else {
			if (cradle_sandbox_stop(D.conn, m->id[i], -1, &err) < 0 ||
			    cradle_sandbox_remove(D.conn, m->id[i], &err) < 0)
				snprintf(m->err[i], sizeof(m->err[i]), "%s", err.message);
		}
	}
}

static void
run_phase(struct many *m, int phase)
{
	pthread_t t[N_THREADS];
	m->next = 0;
	m->phase = phase;
	for (int i = 0; i < N_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, many_worker, m), 0);
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < m->n; i++)
		ck_assert_msg(m->err[i][0] == '\0', "pod %d phase %d: %s", i, phase, m->err[i]);
}

static int
cmp_pid(const void *a, const void *b)
{
	return *(const int32_t *)a - *(const int32_t *)b;
}

START_TEST(test_300_concurrent_runs)
{
	struct many *m = calloc(1, sizeof(*m));
	struct cradle_error err;
	struct cradle_sandbox_list *l;

	pthread_mutex_init(&m->lock, NULL);
	m->n = n_pods();
	it_start(&D, NULL);
	run_phase(m, 0);
	int32_t pids[N_PODS];
	memcpy(pids, m->pid, sizeof(pids));
	qsort(pids, (size_t)m->n, sizeof(pids[0]), cmp_pid);
	for (int i = 0; i < m->n; i++) {
		ck_assert_int_gt(pids[i], 0);
		if (i > 0)
			ck_assert_msg(pids[i] != pids[i - 1], "pid %d given twice", pids[i]);
		ck_assert(it_proc_alive(m->pid[i]));
	}
	ck_assert_int_eq(it_count_pause_tasks(), m->n);
	ck_assert_int_eq(cradle_sandbox_list(D.conn, CRADLE_STATE_READY, NULL, 0, &l, &err), 0);
	ck_assert_uint_eq(cradle_sandbox_list_count(l), (size_t)m->n);
	cradle_sandbox_list_free(l);

	run_phase(m, 1);
	for (int i = 0; i < m->n; i++)
		ck_assert(!it_proc_alive(m->pid[i]));
	assert_nothing_left(&D);
	/* and the store agrees after a restart */
	ck_assert_int_eq(it_stop(&D), 0);
	it_restart(&D, NULL);
	assert_nothing_left(&D);
	free(m);
}
END_TEST

START_TEST(test_lifecycle_rules)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], id2[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_pod *pod;
	struct cradle_error err;
	struct cradle_sandbox *s;
	struct cradle_sandbox_list *l;
	int32_t pid;
	static const char unknown[] =
		"0000000000000000000000000000000000000000000000000000000000000000";

	it_start(&D, NULL);
	/* unknown ids: stop and remove succeed, status is NOT_FOUND */
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, unknown, -1, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, unknown, &err), 0);
	ck_assert_int_lt(cradle_sandbox_status(D.conn, unknown, &s, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);
	ck_assert_int_lt(cradle_sandbox_start(D.conn, unknown, &pid, NULL, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);

	/* create then start; same metadata again is ALREADY_EXISTS */
	pod = it_pod("life", "life");
	ck_assert_int_eq(cradle_pod_set_label(pod, "app", "web", &err), 0);
	ck_assert_int_eq(cradle_sandbox_create(D.conn, pod, NULL, id, &err), 0);
	ck_assert_int_lt(cradle_sandbox_create(D.conn, pod, NULL, id2, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_ALREADY_EXISTS);
	ck_assert_msg(strstr(err.message, "is reserved for") && strstr(err.message, id), "%s",
	              err.message);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(cradle_sandbox_phase(s), CRADLE_PHASE_CREATED);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_NOTREADY);
	ck_assert_str_eq(cradle_sandbox_label(s, "app"), "web");
	cradle_sandbox_free(s);
	ck_assert_int_eq(cradle_sandbox_start(D.conn, id, &pid, NULL, &err), 0);
	ck_assert(it_proc_alive(pid));
	ck_assert_int_lt(cradle_sandbox_start(D.conn, id, &pid, NULL, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_FAILED_PRECONDITION);
	/* another attempt of the same pod is a different name */
	ck_assert_int_eq(cradle_pod_set_attempt(pod, 1, &err), 0);
	ck_assert_int_eq(cradle_sandbox_create(D.conn, pod, NULL, id2, &err), 0);
	cradle_pod_free(pod);

	/* list filters: by state and by label */
	ck_assert_int_eq(cradle_sandbox_list(D.conn, CRADLE_STATE_READY, NULL, 0, &l, &err), 0);
	ck_assert_uint_eq(cradle_sandbox_list_count(l), 1);
	ck_assert_str_eq(cradle_sandbox_id(cradle_sandbox_list_at(l, 0)), id);
	cradle_sandbox_list_free(l);
	struct cradle_label want = { "app", "web" };
	ck_assert_int_eq(cradle_sandbox_list(D.conn, -1, &want, 1, &l, &err), 0);
	ck_assert_uint_eq(cradle_sandbox_list_count(l), 2);
	cradle_sandbox_list_free(l);
	want.value = "db";
	ck_assert_int_eq(cradle_sandbox_list(D.conn, -1, &want, 1, &l, &err), 0);
	ck_assert_uint_eq(cradle_sandbox_list_count(l), 0);
	cradle_sandbox_list_free(l);

	/* stop twice is fine; a stopped sandbox is not restarted */
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, id, 5000, &err), 0);
	ck_assert(!it_proc_alive(pid));
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, id, 5000, &err), 0);
	ck_assert_int_lt(cradle_sandbox_start(D.conn, id, &pid, NULL, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_FAILED_PRECONDITION);
	/* remove of a running sandbox stops it first */
	ck_assert_int_eq(cradle_sandbox_start(D.conn, id2, &pid, NULL, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id2, &err), 0);
	ck_assert(!it_proc_alive(pid));
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	assert_nothing_left(&D);
}
END_TEST

START_TEST(test_restart_adopts_running_tasks)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], id2[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_sandbox *s;
	struct cradle_error err;
	struct cradle_events *ev;
	struct cradle_event e;

	it_start(&D, NULL);
	int32_t pid = run_pod(D.conn, "survivor", "survivor", CRADLE_NS_MODE_POD, id);
	int32_t pid2 = run_pod(D.conn, "casualty", "casualty", CRADLE_NS_MODE_POD, id2);
	ck_assert_int_eq(it_stop(&D), 0);
	/* SIGTERM leaves the pause tasks running */
	ck_assert(it_proc_alive(pid));
	ck_assert(it_proc_alive(pid2));
	kill(pid2, SIGKILL);
	for (int i = 0; i < it_ms(1000) / 10 && it_proc_alive(pid2); i++)
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);

	it_restart(&D, NULL);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_READY);
	ck_assert_int_eq(cradle_sandbox_pid(s), pid);
	cradle_sandbox_free(s);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id2, &s, &err), 0);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_NOTREADY);
	ck_assert_int_eq(cradle_sandbox_exit_status(s), 255);
	cradle_sandbox_free(s);

	/* the adopted task is watched: its exit is seen and announced */
	ck_assert_int_eq(cradle_events_open(D.events, &ev, &err), 0);
	it_sleep_ms(it_ms(200));
	kill(pid, SIGKILL);
	ck_assert_msg(cradle_events_next(ev, it_ms(2000), &e, &err) == 0, "%s", err.message);
	ck_assert_str_eq(e.id, id);
	cradle_events_close(ev);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_NOTREADY);
	cradle_sandbox_free(s);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id2, &err), 0);
	assert_nothing_left(&D);
}
END_TEST

/* Pods add nothing to the host's mount table: their shm tmpfs and netns
 * pins live in cradle's own mount namespace, pinned in the host by one
 * mount (plus the private directory holding it) however many pods run.
 * The namespace, and the pods' mounts in it, outlive a daemon restart;
 * once the last pod is gone and cradled stops, the host is as before. */
START_TEST(test_host_mount_table_does_not_grow)
{
	enum { N = 12 };
	char id[N][CRADLE_SANDBOX_ID_LEN + 1], name[32], p[400], ns[2][64];
	struct cradle_error err;
	int32_t pid[N];

	it_start(&D, NULL);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "dense-%d", i);
		pid[i] = run_pod(D.conn, name, name, CRADLE_NS_MODE_POD, id[i]);
		ck_assert_int_eq(it_count_mounts_under(D.dir), 2);
	}
	/* each pod's mount namespace holds the same mounts, the first's and
	 * the last's: none of the pods before it */
	int first = it_count_mounts_in(pid[0], "/");
	ck_assert_int_gt(first, 5);
	ck_assert_int_eq(it_count_mounts_in(pid[N - 1], "/"), first);
	/* the pins and the shm tmpfs, in cradle's namespace only: no line of
	 * the host's table names a pod */
	snprintf(p, sizeof(p), "%s/netns", D.state);
	ck_assert_int_eq(it_count_mounts_in(D.pid, p), N);
	snprintf(p, sizeof(p), "%s/shm/", D.state);
	ck_assert_int_eq(it_count_mounts_in(D.pid, p), N);
	for (int i = 0; i < N; i++) {
		struct it_mount m;
		snprintf(p, sizeof(p), "%.299s/shm/%.64s", D.state, id[i]);
		ck_assert_msg(it_mount_at(D.pid, p, &m), "no mount at %s", p);
		ck_assert_str_eq(m.fstype, "tmpfs");
		ck_assert(!it_mount_at(0, p, &m));
		ck_assert_int_eq(it_count_mountinfo_lines(0, id[i]), 0);
	}
	assert_bind_sources_alone(&D);

	/* a restart enters the same namespace and finds every pin */
	memset(ns, 0, sizeof(ns));
	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)D.pid);
	ck_assert_int_gt(readlink(p, ns[0], sizeof(ns[0]) - 1), 0);
	ck_assert_int_eq(it_stop(&D), 0);
	ck_assert_int_eq(it_count_mounts_under(D.dir), 2);
	it_restart(&D, NULL);
	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)D.pid);
	ck_assert_int_gt(readlink(p, ns[1], sizeof(ns[1]) - 1), 0);
	ck_assert_str_eq(ns[0], ns[1]);
	snprintf(p, sizeof(p), "%s/netns", D.state);
	ck_assert_int_eq(it_count_mounts_in(D.pid, p), N);
	snprintf(p, sizeof(p), "%s/shm/", D.state);
	ck_assert_int_eq(it_count_mounts_in(D.pid, p), N);
	assert_bind_sources_alone(&D); /* not bound a second time */
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(cradle_sandbox_remove(D.conn, id[i], &err), 0);
	assert_nothing_left(&D);
	ck_assert_int_eq(it_stop(&D), 0);
	ck_assert_int_eq(it_count_mounts_under(D.dir), 0);
}
END_TEST

/* What a crashed start leaves in <state>/shm: a shm mount point no record
 * names, mounted or not.  Made in cradle's namespace while the daemon is
 * down (the pod kept alive holds the namespace). */
struct leftover {
	const char *state;
	const char *id;
	bool mount;
};

static int
make_leftover(void *arg)
{
	const struct leftover *l = arg;
	char p[512];

	snprintf(p, sizeof(p), "%s/shm/%s", l->state, l->id);
	if (mkdir(p, 0700) != 0)
		return 1;
	if (l->mount && mount("shm", p, "tmpfs", 0, "size=1m") != 0)
		return 2;
	return 0;
}

START_TEST(test_recovery_removes_leftover_shm)
{
	static const char *const ghosts[] = {
		"0000000000000000000000000000000000000000000000000000000000000001",
		"0000000000000000000000000000000000000000000000000000000000000002",
	};
	char id[CRADLE_SANDBOX_ID_LEN + 1], p[512], pin[400];
	struct cradle_error err;
	struct it_mount m;

	it_start(&D, NULL);
	run_pod(D.conn, "keeper", "keeper", CRADLE_NS_MODE_POD, id);
	ck_assert_int_eq(it_stop(&D), 0);
	snprintf(pin, sizeof(pin), "%s/ns/mnt", D.state);
	for (size_t i = 0; i < 2; i++) {
		struct leftover l = { .state = D.state, .id = ghosts[i], .mount = i == 0 };
		ck_assert_int_eq(it_in_mntns(pin, make_leftover, &l), 0);
	}
	snprintf(p, sizeof(p), "%s/shm", D.state);
	ck_assert_int_eq(it_count_entries(p), 3);

	it_restart(&D, NULL);
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/shm/%s", D.state, ghosts[i]);
		ck_assert(!it_mount_at(D.pid, p, &m));
		ck_assert_int_eq(access(p, F_OK), -1);
	}
	/* the living pod's is kept */
	snprintf(p, sizeof(p), "%s/shm/%s", D.state, id);
	ck_assert(it_mount_at(D.pid, p, &m));
	ck_assert(it_log_contains(&D, ghosts[0]));
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	assert_nothing_left(&D);
}
END_TEST

/* An earlier version mounted each pod's shm in the pod's volatile
 * directory, <state>/sandboxes/<id>/shm, in a namespace where
 * <state>/sandboxes was no mount of its own.  The daemon that enters such
 * a namespace makes the mount and moves those shm mounts onto it: their
 * paths (in the old records) still lead to them, and stop and remove
 * still unmount them.  Simulated: the mount undone while the daemon is
 * down, and a tmpfs with a file in it mounted at the old place. */
static int
make_old_layout(void *arg)
{
	const struct leftover *l = arg;
	char p[512];

	snprintf(p, sizeof(p), "%s/sandboxes", l->state);
	if (umount2(p, MNT_DETACH) != 0)
		return 1;
	snprintf(p, sizeof(p), "%s/sandboxes/%s/oldshm", l->state, l->id);
	if (mkdir(p, 0700) != 0 || mount("shm", p, "tmpfs", 0, "size=1m") != 0)
		return 2;
	snprintf(p, sizeof(p), "%s/sandboxes/%s/oldshm/mark", l->state, l->id);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return 3;
	close(fd);
	return 0;
}

START_TEST(test_reenter_carries_old_layout_mounts)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], p[512], pin[400], in[700];
	struct cradle_error err;
	struct it_mount m, top;

	it_start(&D, NULL);
	run_pod(D.conn, "old", "old", CRADLE_NS_MODE_POD, id);
	ck_assert_int_eq(it_stop(&D), 0);
	snprintf(pin, sizeof(pin), "%s/ns/mnt", D.state);
	struct leftover l = { .state = D.state, .id = id };
	ck_assert_int_eq(it_in_mntns(pin, make_old_layout, &l), 0);

	it_restart(&D, NULL);
	snprintf(p, sizeof(p), "%s/sandboxes", D.state);
	ck_assert(it_mount_at(D.pid, p, &top));
	snprintf(p, sizeof(p), "%s/sandboxes/%s/oldshm", D.state, id);
	ck_assert_msg(it_mount_at(D.pid, p, &m), "%s is gone", p);
	ck_assert_str_eq(m.fstype, "tmpfs");
	ck_assert_int_eq(m.parent, top.id); /* on the new mount, not under it */
	ck_assert_int_eq(it_count_mounts_in(D.pid, p), 1);
	snprintf(p, sizeof(p), "%s/sandboxes/%s/oldshm/mark", D.state, id);
	ck_assert_int_eq(access(it_daemon_path(&D, p, in, sizeof(in)), F_OK), 0);
	ck_assert(!it_log_contains(&D, "stays on the state mount"));

	/* remove finds it there and takes it down with the directory */
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	assert_nothing_left(&D);
	assert_bind_sources_alone(&D);
}
END_TEST

START_TEST(test_failure_at_each_step_leaves_nothing)
{
	static const char *steps[] = { "runtime",
		                       "image",
		                       "sandbox-root-dir",
		                       "volatile-root-dir",
		                       "rootfs",
		                       "sandbox-files",
		                       "shm",
		                       "selinux",
		                       "spec",
		                       "seccomp",
		                       "cgroup",
		                       "launch",
		                       "netns",
		                       "record",
		                       "reaper" };
	const char *step = steps[_i];
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_pod *pod;
	struct cradle_error err = { 0 };
	int32_t pid = 0;

	/* SELinux labels are allocated (not applied: the node has SELinux
	 * off), so a leaked reservation would show in the exit log. */
	char conf[1024], srcdir[512];
	const char *src = getenv("CRADLE_SRC");
	ck_assert_ptr_nonnull(realpath(src ? src : ".", srcdir));
	snprintf(conf, sizeof(conf),
	         "[selinux]\nenable = true\ncontexts = %s/tests/data/selinux/lxc_contexts\n",
	         srcdir);
	it_start_with(&D, step, conf);
	pod = it_pod("doomed", "doomed");
	ck_assert_int_lt(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err), 0);
	ck_assert_msg(strstr(err.message, "injected failure at step") && strstr(err.message, step),
	              "step %s: %s", step, err.message);
	assert_nothing_left(&D);
	/* create + start: the failed start leaves the created record alone */
	ck_assert_int_eq(cradle_sandbox_create(D.conn, pod, NULL, id, &err), 0);
	ck_assert_int_lt(cradle_sandbox_start(D.conn, id, &pid, NULL, &err), 0);
	struct cradle_sandbox *s;
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(cradle_sandbox_phase(s), CRADLE_PHASE_CREATED);
	cradle_sandbox_free(s);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	cradle_pod_free(pod);
	assert_nothing_left(&D);
	/* no SELinux reservation is left */
	ck_assert_int_eq(it_stop(&D), 0);
	ck_assert(it_log_contains(&D, "exit: 0 SELinux levels reserved"));
	/* a daemon that is not told to fail starts the same pod */
	it_restart(&D, NULL);
	pid = run_pod(D.conn, "doomed", "doomed", CRADLE_NS_MODE_POD, id);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	assert_nothing_left(&D);
}
END_TEST

/* The daemon dies (SIGKILL) right after a step of a sandbox.run; a
 * short timeout, as the call is never answered. */
static void
run_into_crash(struct it_daemon *d, const char *name)
{
	struct cradle_conn *c = NULL;
	struct cradle_error err = { 0 };
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid = 0;

	ck_assert_int_eq(cradle_connect(d->sock, it_ms(1500), &c, &err), 0);
	struct cradle_pod *pod = it_pod(name, name);
	ck_assert_int_lt(cradle_sandbox_run(c, pod, NULL, id, &pid, NULL, &err), 0);
	cradle_pod_free(pod);
	cradle_close(c);
	ck_assert_int_eq(it_stop(d), 128 + SIGKILL);
}

/* A crash between the first side effect of a start and its record leaves
 * directories, a shm mount, a pause task and a cgroup that no record
 * names; recovery kills and removes them before serving (what the cgroup
 * step's intent file names, and what the sweeps find by id).  After the
 * record the start is complete and the sandbox is adopted. */
static const char *const crash_steps[] = {
	"sandbox-root-dir", "volatile-root-dir", "shm", "cgroup", "launch", "netns", "record"
};
#define N_CRASH_STEPS (int)(sizeof(crash_steps) / sizeof(crash_steps[0]))

START_TEST(test_crash_during_start_leaves_nothing)
{
	const char *step = crash_steps[_i];
	bool before_cgroup = _i < 3;
	bool launched = _i > 3;
	bool complete = strcmp(step, "record") == 0;
	char hook[64];
	struct cradle_error err = { 0 };

	snprintf(hook, sizeof(hook), "crash:%s", step);
	it_start(&D, hook);
	run_into_crash(&D, "cut-short");
	/* the window is real: the task outlived the daemon, in its cgroup */
	ck_assert_int_eq(it_count_pause_tasks(), launched ? 1 : 0);
	if (before_cgroup)
		ck_assert_int_eq(it_count_cgroups(), 0);
	else
		ck_assert_int_gt(it_count_cgroups(), 0);

	it_restart(&D, NULL);
	struct cradle_sandbox_list *l = NULL;
	ck_assert_int_eq(cradle_sandbox_list(D.conn, -1, NULL, 0, &l, &err), 0);
	ck_assert_uint_eq(cradle_sandbox_list_count(l), complete ? 1 : 0);
	if (complete) {
		const struct cradle_sandbox *s = cradle_sandbox_list_at(l, 0);
		ck_assert_int_eq(cradle_sandbox_phase(s), CRADLE_PHASE_RUNNING);
		ck_assert_int_eq(it_count_pause_tasks(), 1);
		ck_assert_int_eq(cradle_sandbox_remove(D.conn, cradle_sandbox_id(s), &err), 0);
	} else if (before_cgroup) {
		ck_assert_msg(it_log_contains(&D, "removed leftover"),
		              "no leftover removal logged");
	} else {
		ck_assert_msg(it_log_contains(&D, "undid the start of"), "no undo logged");
	}
	cradle_sandbox_list_free(l);
	assert_nothing_left(&D);
}
END_TEST

/* The daemon dies in the middle of a stop or a remove (after the kill,
 * after the shm went, after the root dir went): the record is deleted
 * last, so after the restart the sandbox is still there, and the next
 * remove finishes the job with nothing left. */
static const char *const crash_points[] = { "stop:killed", "stop:shm", "remove:root-dir" };

START_TEST(test_crash_during_stop_and_remove)
{
	const char *point = crash_points[_i];
	bool in_remove = strncmp(point, "remove:", 7) == 0;
	struct cradle_conn *c = NULL;
	struct cradle_error err = { 0 };
	struct cradle_sandbox *s;
	char hook[64], id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid = 0;

	snprintf(hook, sizeof(hook), "crash:%s", point);
	it_start(&D, hook);
	struct cradle_pod *pod = it_pod("cut-stop", "cut-stop");
	ck_assert_int_eq(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err), 0);
	cradle_pod_free(pod);
	ck_assert_int_eq(cradle_connect(D.sock, it_ms(1500), &c, &err), 0);
	if (in_remove)
		ck_assert_int_lt(cradle_sandbox_remove(c, id, &err), 0);
	else
		ck_assert_int_lt(cradle_sandbox_stop(c, id, 0, &err), 0);
	cradle_close(c);
	ck_assert_int_eq(it_stop(&D), 128 + SIGKILL);
	for (int i = 0; i < it_ms(2000) / 10 && it_proc_alive(pid); i++)
		it_sleep_ms(10);
	ck_assert(!it_proc_alive(pid)); /* killed before the crash */

	it_restart(&D, NULL);
	ck_assert_msg(cradle_sandbox_status(D.conn, id, &s, &err) == 0, "%s: %s", point,
	              err.message);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_NOTREADY);
	cradle_sandbox_free(s);
	ck_assert_msg(cradle_sandbox_remove(D.conn, id, &err) == 0, "%s", err.message);
	ck_assert_int_lt(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);
	assert_nothing_left(&D);
}
END_TEST

/* sandbox.create answered, then the daemon dies inside sandbox.start:
 * after the restart the sandbox is CREATED again, with nothing of the cut
 * start left, and starts and goes like any other. */
START_TEST(test_crash_between_create_and_start)
{
	struct cradle_conn *c = NULL;
	struct cradle_error err = { 0 };
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid = 0;

	it_start(&D, "crash:launch");
	struct cradle_pod *pod = it_pod("created", "created");
	ck_assert_int_eq(cradle_sandbox_create(D.conn, pod, NULL, id, &err), 0);
	cradle_pod_free(pod);
	ck_assert_int_eq(cradle_connect(D.sock, it_ms(1500), &c, &err), 0);
	ck_assert_int_lt(cradle_sandbox_start(c, id, &pid, NULL, &err), 0);
	cradle_close(c);
	ck_assert_int_eq(it_stop(&D), 128 + SIGKILL);
	ck_assert_int_eq(it_count_pause_tasks(), 1);

	it_restart(&D, NULL);
	ck_assert_int_eq(it_count_pause_tasks(), 0);
	ck_assert_int_eq(it_count_cgroups(), 0);
	struct cradle_sandbox *s;
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(cradle_sandbox_phase(s), CRADLE_PHASE_CREATED);
	cradle_sandbox_free(s);
	ck_assert_msg(cradle_sandbox_start(D.conn, id, &pid, NULL, &err) == 0, "%s", err.message);
	ck_assert(it_proc_alive(pid));
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	assert_nothing_left(&D);
}
END_TEST

static Suite *
sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("kernel");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(240));
	tcase_add_test(tc, test_namespaces_hostname_pid1);
	tcase_add_test(tc, test_host_network);
	tcase_add_test(tc, test_exit_event_and_notready);
	tcase_add_test(tc, test_lifecycle_rules);
	tcase_add_test(tc, test_restart_adopts_running_tasks);
	tcase_add_test(tc, test_host_mount_table_does_not_grow);
	tcase_add_test(tc, test_recovery_removes_leftover_shm);
	tcase_add_test(tc, test_reenter_carries_old_layout_mounts);
	tcase_add_loop_test(tc, test_failure_at_each_step_leaves_nothing, 0, 15);
	tcase_add_loop_test(tc, test_crash_during_start_leaves_nothing, 0, N_CRASH_STEPS);
	tcase_add_loop_test(tc, test_crash_during_stop_and_remove, 0, 3);
	tcase_add_test(tc, test_crash_between_create_and_start);
	tcase_add_test(tc, test_300_concurrent_runs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_sandbox: needs root (namespaces, mounts); CI runs as root\n");
		return 1;
	}
	return it_run_suite(sandbox_suite());
}
