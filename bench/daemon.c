/* daemon.c - cradle-bench's side of cradled: sets of sandboxes, the
 * status/list probe, the daemon's pid. */
#include "bench/daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "util/sys.h"

#define BENCH_STOP_TIMEOUT_MS 10000

int
bench_pod_json(char *buf, size_t len, const char *prefix, size_t i)
{
	int n = snprintf(
		buf, len,
		"{\"metadata\":{\"name\":\"%s-%zu\",\"namespace\":\"bench\","
		"\"uid\":\"%s-uid-%zu\",\"attempt\":0},"
		"\"hostname\":\"%s-%zu\","
		"\"log_directory\":\"/var/log/pods/bench_%s-%zu_%s-uid-%zu\","
		"\"labels\":{\"app\":\"cradle-bench\","
		"\"io.kubernetes.pod.name\":\"%s-%zu\","
		"\"io.kubernetes.pod.namespace\":\"bench\","
		"\"io.kubernetes.pod.uid\":\"%s-uid-%zu\"},"
		"\"annotations\":{\"kubernetes.io/config.seen\":\"2024-01-01T00:00:00.000000000Z\","
		"\"kubernetes.io/config.source\":\"api\"},"
		"\"linux\":{\"security_context\":{"
		"\"namespace_options\":{\"network\":\"POD\",\"pid\":\"POD\",\"ipc\":\"POD\"},"
		"\"seccomp\":{\"profile_type\":\"RuntimeDefault\"}}}}",
		prefix, i, prefix, i, prefix, i, prefix, i, prefix, i, prefix, i, prefix, i);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

/* ---- sets ---- */

void
cradle_set_init(struct cradle_set *s, struct cradle_conn *conn, const char *prefix, size_t n)
{
	s->conn = conn;
	s->prefix = prefix;
	s->n = n;
	s->ids = xcalloc(n, sizeof(*s->ids));
	s->started = xcalloc(n, sizeof(*s->started));
}

size_t
cradle_set_left(const struct cradle_set *s)
{
	size_t left = 0;

	for (size_t i = 0; i < s->n; i++)
		left += s->started[i];
	return left;
}

void
cradle_set_fini(struct cradle_set *s)
{
	free(s->ids);
	free(s->started);
	s->ids = NULL;
	s->started = NULL;
}

int
op_cradle_start(void *arg, struct worker *w, size_t i, double *ms)
{
	struct cradle_set *s = arg;
	struct cradle_error err = { 0 };
	struct cradle_pod *pod = NULL;
	char json[2048];
	char what[64];
	double t0;
	int rc, len;

	(void)w;
	snprintf(what, sizeof(what), "cradle start (%s)", s->prefix);
	/* the pod is built outside the measured call */
	if ((len = bench_pod_json(json, sizeof(json), s->prefix, i)) < 0) {
		bench_err(what, i, CRADLE_STATUS_INTERNAL, "pod JSON too long");
		return -1;
	}
	rc = cradle_pod_from_json(json, (size_t)len, &pod, &err);
	if (rc == 0) {
		t0 = now_ms();
		rc = cradle_sandbox_run(s->conn, pod, NULL, s->ids[i], NULL, NULL, &err);
		*ms = now_ms() - t0;
	}
	cradle_pod_free(pod);
	if (rc < 0) {
		bench_err(what, i, err.code, err.message);
		return rc;
	}
	s->started[i] = true;
	return 0;
}

int
op_cradle_teardown(void *arg, struct worker *w, size_t i, double *ms)
{
	struct cradle_set *s = arg;
	struct cradle_error err = { 0 };
	char what[64];
	double t0;
	int r, r2;

	(void)w;
	if (!s->started[i])
		return 1;
	t0 = now_ms();
	r = cradle_sandbox_stop(s->conn, s->ids[i], BENCH_STOP_TIMEOUT_MS, &err);
	if (r < 0) {
		snprintf(what, sizeof(what), "cradle stop (%s)", s->prefix);
		bench_err(what, i, err.code, err.message);
	}
	/* Remove even after a failed stop: remove stops what still runs, and
	 * anything left would be in the next run's way. */
	r2 = cradle_sandbox_remove(s->conn, s->ids[i], &err);
	*ms = now_ms() - t0;
	if (r2 < 0) {
		snprintf(what, sizeof(what), "cradle remove (%s)", s->prefix);
		bench_err(what, i, err.code, err.message);
	} else {
		s->started[i] = false;
	}
	return r < 0 ? r : r2;
}

/* ---- the probe ---- */

static void
sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *
probe_main(void *arg)
{
	struct probe *p = arg;
	double last_list = 0;

	pthread_setname_np(pthread_self(), "bench:probe");
	if (p->slice_ns != 0 && sys_sched_set(p->slice_ns, NULL) < 0)
		fprintf(stderr, "cradle-bench: the probe keeps the default time slice: %s\n",
		        strerror(errno));
	while (!atomic_load(&p->stop)) {
		struct cradle_error err = { 0 };
		struct cradle_sandbox *sb = NULL;
		struct cradle_sandbox_list *l = NULL;
		double t0 = now_ms();

		if (last_list == 0 || t0 - last_list >= (double)p->list_ms) {
			last_list = t0;
			p->n_list++;
			if (cradle_sandbox_list(p->conn, -1, NULL, 0, &l, &err) == 0) {
				samples_add(&p->list, now_ms() - t0);
				p->list_len = cradle_sandbox_list_count(l);
				cradle_sandbox_list_free(l);
			} else {
				p->fails++;
				bench_err("list probe", p->list.n, err.code, err.message);
			}
			t0 = now_ms();
		}
		p->n_status++;
		if (cradle_sandbox_status(p->conn, p->status_id, &sb, &err) == 0) {
			samples_add(&p->status, now_ms() - t0);
			cradle_sandbox_free(sb);
		} else {
			p->fails++;
			bench_err("status probe", p->status.n, err.code, err.message);
		}
		sleep_ms(p->status_ms);
	}
	return NULL;
}

int
probe_start(struct probe *p)
{
	atomic_store(&p->stop, false);
	int e = pthread_create(&p->tid, NULL, probe_main, p);
	if (e != 0) {
		bench_err("status probe", 0, CRADLE_STATUS_INTERNAL, strerror(e));
		return -1;
	}
	p->running = true;
	return 0;
}

void
probe_replay(struct probe *p, size_t n_status, size_t n_list)
{
	for (size_t i = 0; i < n_status || i < n_list; i++) {
		struct cradle_sandbox *sb = NULL;
		struct cradle_sandbox_list *l = NULL;
		if (i < n_status && cradle_sandbox_status(p->conn, p->status_id, &sb, NULL) == 0)
			cradle_sandbox_free(sb);
		if (i < n_list && cradle_sandbox_list(p->conn, -1, NULL, 0, &l, NULL) == 0)
			cradle_sandbox_list_free(l);
	}
}

void
probe_stop(struct probe *p)
{
	if (!p->running)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->tid, NULL);
	p->running = false;
}

/* ---- the daemon's step timings ---- */

int
dstats_snapshot(struct cradle_conn *conn, struct dstats *out, struct cradle_error *err)
{
	struct cradle_stats *st = NULL;

	memset(out, 0, sizeof(*out));
	if (cradle_daemon_stats(conn, &st, err) < 0)
		return -1;
	cradle_stats_total(st, CRADLE_TIMED_START, &out->total);
	size_t n = cradle_stats_step_count(st, CRADLE_TIMED_START);
	for (size_t i = 0; i < n && out->n_steps < DSTATS_MAX_STEPS; i++)
		if (cradle_stats_step(st, CRADLE_TIMED_START, i, &out->steps[out->n_steps]))
			out->n_steps++;
	cradle_stats_free(st);
	out->ok = true;
	return 0;
}

static void
hist_add_delta(struct cradle_histogram *acc, const struct cradle_histogram *before,
               const struct cradle_histogram *after)
{
	for (size_t b = 0; b < CRADLE_STATS_BUCKETS; b++) {
		uint64_t d = after->buckets[b] - (before ? before->buckets[b] : 0);
		acc->buckets[b] += d;
		acc->count += d;
	}
	acc->sum_ns += after->sum_ns - (before ? before->sum_ns : 0);
}

void
dstats_add_delta(struct dstats *acc, const struct dstats *before, const struct dstats *after)
{
	if (!before->ok || !after->ok)
		return;
	acc->ok = true;
	hist_add_delta(&acc->total, &before->total, &after->total);
	for (size_t i = 0; i < after->n_steps; i++) {
		const struct cradle_histogram *a = &after->steps[i], *b = NULL;
		struct cradle_histogram *to = NULL;
		for (size_t j = 0; j < before->n_steps && b == NULL; j++)
			if (strcmp(before->steps[j].step, a->step) == 0)
				b = &before->steps[j];
		for (size_t j = 0; j < acc->n_steps && to == NULL; j++)
			if (strcmp(acc->steps[j].step, a->step) == 0)
				to = &acc->steps[j];
		if (to == NULL) {
			if (acc->n_steps == DSTATS_MAX_STEPS)
				continue;
			to = &acc->steps[acc->n_steps++];
			memset(to, 0, sizeof(*to));
			memcpy(to->step, a->step, sizeof(to->step));
		}
		hist_add_delta(to, b, a);
	}
}

/* ---- the daemon's pid ---- */

/* The inode of the listening Unix socket bound at path, from this network
 * namespace's /proc/net/unix; 0 when there is none. */
static unsigned long
listener_inode(const char *path)
{
	char line[4096 + 128];
	unsigned long inode = 0;
	FILE *f = fopen("/proc/net/unix", "re");

	if (f == NULL)
		return 0;
	while (inode == 0 && fgets(line, sizeof(line), f) != NULL) {
		unsigned long flags, ino;
		unsigned st;
		int off = 0;
		/* Num: RefCount Protocol Flags Type St Inode Path */
		if (sscanf(line, "%*s %*x %*x %lx %*x %x %lu %n", &flags, &st, &ino, &off) != 3 ||
		    off == 0)
			continue;
		char *p = line + off;
		p[strcspn(p, "\n")] = '\0';
		/* __SO_ACCEPTCON: listening */
		if ((flags & 0x10000) != 0 && strcmp(p, path) == 0)
			inode = ino;
	}
	fclose(f);
	return inode;
}

pid_t
daemon_listener_pid(const char *socket_url)
{
	char want[64], link[64], path[300];
	unsigned long inode;
	struct dirent *de;
	pid_t found = -1;
	DIR *proc;

	if (strncmp(socket_url, "ipc://", 6) != 0 || (inode = listener_inode(socket_url + 6)) == 0)
		return -1;
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if ((proc = opendir("/proc")) == NULL)
		return -1;
	while (found < 0 && (de = readdir(proc)) != NULL) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		DIR *fds = opendir(path);
		if (fds == NULL)
			continue;
		struct dirent *fe;
		while ((fe = readdir(fds)) != NULL) {
			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, fe->d_name);
			ssize_t n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want) == 0) {
				found = pid;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}
