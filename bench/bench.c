/* bench.c - cradle-bench: sandbox start latency through cradled, against the
 * kernel floor of the same launch done in-process.
 *
 * DESIGN
 * Two measurements in one run, so they see the same machine state:
 *
 *   cradle  N cradle_sandbox_run calls from C threads sharing one
 *           cradle_conn (libcradle opens a request context per call), then
 *           stop+remove of every started sandbox, concurrently as well.
 *   floor   N launch_start calls (sandbox/launch.c, the daemon's own
 *           launcher: same namespaces, mounts, pivot_root, exec of /pause)
 *           from C threads with no daemon, then SIGKILL through the pidfd
 *           and waitid(P_PIDFD).  What remains of cradle's latency above
 *           this is protocol, queueing, files, netns pinning and the store.
 *
 * Each phase hands out indices from one atomic counter, so fast threads take
 * more work and the phase ends when the last operation ends.  Threads are
 * created first and released together through a gate, so thread creation is
 * not part of the wall time; the wall time runs from opening the gate to the
 * last join.  Latencies are CLOCK_MONOTONIC around the one call measured.
 * Percentiles are nearest-rank over the successful operations.
 *
 * The program reports figures only.  It exits 1 when any operation failed
 * (printing the first error of the run) and 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/cradle.h"
#include "sandbox/launch.h"
#include "util/sys.h"

#define BENCH_DEFAULT_N 200
#define BENCH_DEFAULT_C 8
#define BENCH_MAX_N 1000000
#define BENCH_MAX_C 1024
#define BENCH_STOP_TIMEOUT_MS 10000
#define BENCH_SHM_SIZE (64ull << 20)

struct opts {
	const char *socket; /* NULL: libcradle's default / $CRADLE_SOCKET */
	size_t n;
	size_t c;
	const char *rootfs; /* NULL: <dir of the binary>/rootfs */
	bool cradle;
	bool floor;
	bool json;
};

/* The first failure of the whole run, for the final message. */
struct first_err {
	pthread_mutex_t lock;
	bool set;
	char phase[32];
	size_t index;
	int code; /* enum cradle_status */
	char msg[CRADLE_ERROR_MAX];
};

struct bench {
	struct opts o;
	char rootfs[PATH_MAX];
	struct cradle_conn *conn;
	char (*ids)[CRADLE_SANDBOX_ID_LEN + 1]; /* cradle sandbox ids by index */
	bool *started;                          /* cradle start succeeded, by index */
	int *pidfds;                            /* floor children by index, -1 if none */
	struct first_err ferr;
};

struct phase;
struct worker;

/* Perform operation i.  Returns 0 with *ms set, 1 when there is nothing to
 * do for i (teardown of a start that failed), <0 on failure (the error has
 * been recorded). */
typedef int (*phase_op)(struct phase *ph, struct worker *w, size_t i, double *ms);

struct phase {
	const char *name;
	struct bench *b;
	phase_op op;
	bool needs_stack; /* launch_start needs a stack per thread */

	/* written by the workers, read by main after the joins */
	double *lat; /* ms by index, valid where done[i] */
	bool *done;
	atomic_size_t next; /* relaxed: only hands out indices; the joins
	                     * order every write to lat/done before main
	                     * reads them */
	atomic_size_t n_fail;

	/* the gate: workers wait here until main opens it */
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cv;
	bool gate_open;
	bool abort; /* thread creation failed: do nothing */

	/* results */
	size_t n_ok;
	double wall_s;
	double p50, p90, p99, max;
};

struct worker {
	pthread_t tid;
	struct phase *ph;
	struct launch_stack st;
};

static char *const pause_argv[] = { "/pause", NULL };
static char *const pause_envp[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Keep the first error (code and message) of the run: libcradle's
 * struct cradle_error or the launcher's struct cradle_err. */
static void
record_err(struct bench *b, const char *phase, size_t i, int code, const char *msg)
{
	pthread_mutex_lock(&b->ferr.lock);
	if (!b->ferr.set) {
		b->ferr.set = true;
		snprintf(b->ferr.phase, sizeof(b->ferr.phase), "%s", phase);
		b->ferr.index = i;
		b->ferr.code = code;
		snprintf(b->ferr.msg, sizeof(b->ferr.msg), "%s", msg);
	}
	pthread_mutex_unlock(&b->ferr.lock);
}

/* ---- cradle operations ---- */

static int
op_cradle_start(struct phase *ph, struct worker *w, size_t i, double *ms)
{
	struct bench *b = ph->b;
	struct cradle_error err = { 0 };
	struct cradle_pod *pod = NULL;
	char name[32], uid[48];
	double t0;
	int rc;

	(void)w;
	/* the pod is built outside the measured call */
	snprintf(name, sizeof(name), "bench-%zu", i);
	snprintf(uid, sizeof(uid), "bench-uid-%zu", i);
	rc = cradle_pod_new(name, "bench", uid, &pod, &err);
	if (rc == 0)
		rc = cradle_pod_set_hostname(pod, name, &err);
	if (rc == 0) {
		t0 = now_ms();
		rc = cradle_sandbox_run(b->conn, pod, NULL, b->ids[i], NULL, NULL, &err);
		*ms = now_ms() - t0;
	}
	cradle_pod_free(pod);
	if (rc < 0) {
		record_err(b, ph->name, i, err.code, err.message);
		return rc;
	}
	b->started[i] = true;
	return 0;
}

static int
op_cradle_teardown(struct phase *ph, struct worker *w, size_t i, double *ms)
{
	struct bench *b = ph->b;
	struct cradle_error err = { 0 };
	double t0;
	int r, r2;

	(void)w;
	if (!b->started[i])
		return 1;
	t0 = now_ms();
	r = cradle_sandbox_stop(b->conn, b->ids[i], BENCH_STOP_TIMEOUT_MS, &err);
	if (r < 0)
		record_err(b, "cradle stop", i, err.code, err.message);
	/* Remove even after a failed stop: remove stops what still runs, and
	 * anything left would be in the next run's way. */
	r2 = cradle_sandbox_remove(b->conn, b->ids[i], &err);
	*ms = now_ms() - t0;
	if (r2 < 0)
		record_err(b, "cradle remove", i, err.code, err.message);
	else
		b->started[i] = false;
	return r < 0 ? r : r2;
}

/* ---- kernel floor operations ---- */

static int
op_floor_start(struct phase *ph, struct worker *w, size_t i, double *ms)
{
	struct bench *b = ph->b;
	struct cradle_err err = { 0 };
	struct launch_plan plan;
	double t0;
	int r;

	launch_plan_init(&plan);
	plan.rootfs = b->rootfs;
	plan.exec_path = "/pause";
	plan.argv = pause_argv;
	plan.envp = pause_envp;
	plan.new_net = plan.new_pid = plan.new_ipc = true;
	snprintf(plan.hostname, sizeof(plan.hostname), "bench-%zu", i);
	plan.shm_size = BENCH_SHM_SIZE;

	t0 = now_ms();
	r = launch_start(&plan, &w->st, &err);
	*ms = now_ms() - t0;
	if (r < 0) {
		record_err(b, ph->name, i, err.code, err.msg);
		return r;
	}
	b->pidfds[i] = plan.pidfd;
	return 0;
}

static int
op_floor_teardown(struct phase *ph, struct worker *w, size_t i, double *ms)
{
	struct bench *b = ph->b;
	struct cradle_err err = { 0 };
	siginfo_t si;
	double t0;
	int fd = b->pidfds[i];
	int r = 0;

	(void)w;
	if (fd < 0)
		return 1;
	t0 = now_ms();
	if (sys_pidfd_send_signal(fd, SIGKILL) != 0)
		r = cradle_err_errno(&err, errno, "pidfd_send_signal SIGKILL");
	/* Wait even when the kill failed: the child may have died on its own,
	 * and it is ours to reap either way. */
	int rw = sys_pidfd_wait(fd, &si);
	if (rw < 0 && r == 0)
		r = cradle_err_errno(&err, -rw, "waitid P_PIDFD");
	*ms = now_ms() - t0;
	close(fd);
	b->pidfds[i] = -1;
	if (r < 0)
		record_err(b, ph->name, i, err.code, err.msg);
	return r;
}

/* ---- running a phase ---- */

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct phase *ph = w->ph;
	size_t n = ph->b->o.n;

	pthread_mutex_lock(&ph->gate_lock);
	while (!ph->gate_open)
		pthread_cond_wait(&ph->gate_cv, &ph->gate_lock);
	pthread_mutex_unlock(&ph->gate_lock);
	if (ph->abort)
		return NULL;

	for (;;) {
		size_t i = atomic_fetch_add_explicit(&ph->next, 1, memory_order_relaxed);
		double ms = 0;
		int r;

		if (i >= n)
			break;
		r = ph->op(ph, w, i, &ms);
		if (r == 0) {
			ph->lat[i] = ms;
			ph->done[i] = true;
		} else if (r < 0) {
			atomic_fetch_add_explicit(&ph->n_fail, 1, memory_order_relaxed);
		}
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least pct % of the values at or
 * below it, i.e. sorted[ceil(pct/100 * n) - 1]. */
static double
percentile(const double *sorted, size_t n, unsigned pct)
{
	size_t rank = (pct * n + 99) / 100;

	if (n == 0)
		return 0;
	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

static void
phase_stats(struct phase *ph)
{
	size_t n = ph->b->o.n, k = 0;
	double *v = malloc((n ? n : 1) * sizeof(*v));

	if (v == NULL) {
		fprintf(stderr, "cradle-bench: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		if (ph->done[i])
			v[k++] = ph->lat[i];
	qsort(v, k, sizeof(*v), cmp_double);
	ph->n_ok = k;
	ph->p50 = percentile(v, k, 50);
	ph->p90 = percentile(v, k, 90);
	ph->p99 = percentile(v, k, 99);
	ph->max = k ? v[k - 1] : 0;
	free(v);
}

static int
phase_run(struct phase *ph)
{
	struct bench *b = ph->b;
	size_t n = b->o.n, c = b->o.c, created = 0;
	struct worker *ws = calloc(c, sizeof(*ws));
	struct cradle_err err = { 0 };
	int rc = 0;
	double t0;

	ph->lat = calloc(n, sizeof(*ph->lat));
	ph->done = calloc(n, sizeof(*ph->done));
	if (ws == NULL || ph->lat == NULL || ph->done == NULL) {
		fprintf(stderr, "cradle-bench: out of memory\n");
		exit(1);
	}
	atomic_init(&ph->next, 0);
	atomic_init(&ph->n_fail, 0);
	pthread_mutex_init(&ph->gate_lock, NULL);
	pthread_cond_init(&ph->gate_cv, NULL);
	ph->gate_open = false;
	ph->abort = false;

	for (size_t t = 0; t < c; t++) {
		ws[t].ph = ph;
		if (ph->needs_stack && launch_stack_alloc(&ws[t].st, &err) < 0) {
			record_err(b, ph->name, 0, err.code, err.msg);
			ph->abort = true;
			break;
		}
		int e = pthread_create(&ws[t].tid, NULL, worker_main, &ws[t]);
		if (e != 0) {
			cradle_err_errno(&err, e, "create bench thread");
			record_err(b, ph->name, 0, err.code, err.msg);
			ph->abort = true;
			break;
		}
		created++;
	}

	pthread_mutex_lock(&ph->gate_lock);
	t0 = now_ms();
	ph->gate_open = true;
	pthread_cond_broadcast(&ph->gate_cv);
	pthread_mutex_unlock(&ph->gate_lock);
	for (size_t t = 0; t < created; t++)
		pthread_join(ws[t].tid, NULL);
	ph->wall_s = (now_ms() - t0) / 1e3;

	for (size_t t = 0; t < c; t++)
		launch_stack_free(&ws[t].st);
	free(ws);
	pthread_cond_destroy(&ph->gate_cv);
	pthread_mutex_destroy(&ph->gate_lock);

	phase_stats(ph);
	if (ph->abort || atomic_load(&ph->n_fail) > 0)
		rc = -1;
	return rc;
}

static void
phase_free(struct phase *ph)
{
	free(ph->lat);
	free(ph->done);
	ph->lat = NULL;
	ph->done = NULL;
}

static double
phase_rate(const struct phase *ph)
{
	return ph->wall_s > 0 ? (double)ph->n_ok / ph->wall_s : 0;
}

/* ---- the daemon's memory ---- */

/* VmRSS of pid in kB, -1 when unreadable (another pid namespace, gone). */
static long
proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* ---- output ---- */

static void
print_row(const struct phase *ph, bool ran)
{
	if (!ran) {
		printf("%-22s %s\n", ph->name, "skipped");
		return;
	}
	printf("%-22s %6zu %5zu %9.3f %9.3f %9.3f %9.3f %9.3f %9.1f\n", ph->name, ph->n_ok,
	       atomic_load(&ph->n_fail), ph->p50, ph->p90, ph->p99, ph->max, ph->wall_s,
	       phase_rate(ph));
}

static double
ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void
print_json_phase(const char *key, const struct phase *ph, bool ran, bool comma)
{
	if (!ran) {
		printf("\"%s\":null%s", key, comma ? "," : "");
		return;
	}
	printf("\"%s\":{\"ok\":%zu,\"failed\":%zu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
	       "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"wall_s\":%.4f,\"per_s\":%.1f}%s",
	       key, ph->n_ok, atomic_load(&ph->n_fail), ph->p50, ph->p90, ph->p99, ph->max,
	       ph->wall_s, phase_rate(ph), comma ? "," : "");
}

/* ---- setup ---- */

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: cradle-bench [--socket PATH] [-n N] [-c C] [--rootfs DIR]\n"
	        "                    [--floor-only|--no-floor] [--json]\n"
	        "  --socket PATH  cradled request socket (default $CRADLE_SOCKET or " CRADLE_DEFAULT_SOCKET
	        ")\n"
	        "  -n N           sandboxes to start (default %d)\n"
	        "  -c C           concurrent client threads (default %d)\n"
	        "  --rootfs DIR   pause rootfs for the floor (default: rootfs beside this binary)\n"
	        "  --floor-only   only the kernel floor (no daemon needed)\n"
	        "  --no-floor     only the daemon (no root needed)\n"
	        "  --json         one JSON object instead of the table\n"
	        "The floor part needs root: it creates namespaces, mounts and pivots.\n",
	        BENCH_DEFAULT_N, BENCH_DEFAULT_C);
}

static bool
parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi)
		return false;
	*out = (size_t)v;
	return true;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "floor-only", no_argument, NULL, 'F' },
		{ "no-floor", no_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool floor_only = false, no_floor = false;
	int ch;

	memset(o, 0, sizeof(*o));
	o->n = BENCH_DEFAULT_N;
	o->c = BENCH_DEFAULT_C;
	while ((ch = getopt_long(argc, argv, "n:c:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->socket = optarg;
			break;
		case 'r':
			o->rootfs = optarg;
			break;
		case 'F':
			floor_only = true;
			break;
		case 'N':
			no_floor = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'n':
			if (!parse_size(optarg, 1, BENCH_MAX_N, &o->n)) {
				fprintf(stderr, "cradle-bench: -n: \"%s\" is not 1..%d\n", optarg,
				        BENCH_MAX_N);
				return -1;
			}
			break;
		case 'c':
			if (!parse_size(optarg, 1, BENCH_MAX_C, &o->c)) {
				fprintf(stderr, "cradle-bench: -c: \"%s\" is not 1..%d\n", optarg,
				        BENCH_MAX_C);
				return -1;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cradle-bench: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	if (floor_only && no_floor) {
		fprintf(stderr, "cradle-bench: --floor-only and --no-floor exclude each other\n");
		return -1;
	}
	o->cradle = !floor_only;
	o->floor = !no_floor;
	/* More threads than operations would only idle. */
	if (o->c > o->n)
		o->c = o->n;
	return 0;
}

/* launch_start wants an absolute rootfs; the default follows the binary,
 * where `make` puts build/rootfs beside build/cradle-bench. */
static int
resolve_rootfs(struct bench *b, const char *argv0)
{
	char exe[PATH_MAX], want[PATH_MAX + 16], pause_path[PATH_MAX + 16];

	if (b->o.rootfs != NULL) {
		snprintf(want, sizeof(want), "%s", b->o.rootfs);
	} else {
		ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (len > 0)
			exe[len] = '\0';
		else
			snprintf(exe, sizeof(exe), "%s", argv0);
		snprintf(want, sizeof(want), "%s/rootfs", dirname(exe));
	}
	if (realpath(want, b->rootfs) == NULL) {
		fprintf(stderr, "cradle-bench: rootfs \"%s\": %s%s\n", want, strerror(errno),
		        b->o.rootfs ? "" : " (run make, or pass --rootfs)");
		return -1;
	}
	snprintf(pause_path, sizeof(pause_path), "%s/pause", b->rootfs);
	if (access(pause_path, X_OK) != 0) {
		fprintf(stderr, "cradle-bench: \"%s\": %s\n", pause_path, strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct phase c_start = { .name = "cradle start", .op = op_cradle_start };
	struct phase c_down = { .name = "cradle stop+remove", .op = op_cradle_teardown };
	struct phase f_start = { .name = "floor start", .op = op_floor_start, .needs_stack = true };
	struct phase f_down = { .name = "floor kill+wait", .op = op_floor_teardown };
	struct cradle_version ver = { 0 };
	struct cradle_error err = { 0 };
	const char *sock = NULL;
	long rss_before = -1, rss_peak = -1, rss_after = -1;
	bool failed = false;
	sigset_t pipe_set;

	memset(&b, 0, sizeof(b));
	pthread_mutex_init(&b.ferr.lock, NULL);
	if (parse_opts(argc, argv, &b.o) < 0)
		return 2;
	c_start.b = c_down.b = f_start.b = f_down.b = &b;

	/* Blocked, not ignored: an ignored SIGPIPE would survive into the
	 * pause children's exec, while launch's child clears the mask. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);

	if (b.o.floor) {
		if (geteuid() != 0) {
			if (!b.o.cradle) {
				fprintf(stderr,
				        "cradle-bench: the kernel floor needs root (namespaces, "
				        "mounts, pivot_root); run as root\n");
				return 1;
			}
			fprintf(stderr,
			        "cradle-bench: not root: skipping the kernel floor (it "
			        "creates namespaces, mounts and pivots; run as root, or pass "
			        "--no-floor to silence this)\n");
			b.o.floor = false;
		} else if (resolve_rootfs(&b, argv[0]) < 0) {
			return 1;
		}
	}

	b.ids = calloc(b.o.n, sizeof(*b.ids));
	b.started = calloc(b.o.n, sizeof(*b.started));
	b.pidfds = malloc(b.o.n * sizeof(*b.pidfds));
	if (b.ids == NULL || b.started == NULL || b.pidfds == NULL) {
		fprintf(stderr, "cradle-bench: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < b.o.n; i++)
		b.pidfds[i] = -1;

	if (b.o.cradle) {
		sock = cradle_socket_path(b.o.socket);
		if (cradle_connect(sock, 0, &b.conn, &err) < 0 ||
		    cradle_version(b.conn, &ver, &err) < 0) {
			fprintf(stderr, "cradle-bench: %s: %s\n", sock, err.message);
			if (b.conn != NULL)
				cradle_close(b.conn);
			return 1;
		}
		rss_before = proc_rss_kb((pid_t)ver.pid);
		if (phase_run(&c_start) < 0)
			failed = true;
		/* With every sandbox alive: what the daemon holds per sandbox. */
		rss_peak = proc_rss_kb((pid_t)ver.pid);
		if (phase_run(&c_down) < 0)
			failed = true;
		rss_after = proc_rss_kb((pid_t)ver.pid);
		cradle_close(b.conn);
		b.conn = NULL;
	}

	/* Without the client's threads around, so the floor is the floor. */
	if (b.o.floor) {
		if (phase_run(&f_start) < 0)
			failed = true;
		if (phase_run(&f_down) < 0)
			failed = true;
	}

	bool both = b.o.cradle && b.o.floor;
	double p50_ratio = both ? ratio(c_start.p50, f_start.p50) : 0;
	double rate_ratio = both ? ratio(phase_rate(&c_start), phase_rate(&f_start)) : 0;

	if (b.o.json) {
		printf("{\"n\":%zu,\"c\":%zu,", b.o.n, b.o.c);
		if (b.o.cradle)
			printf("\"socket\":\"%s\",\"daemon_pid\":%d,\"daemon_version\":\"%s\","
			       "\"daemon_rss_kb\":{\"before\":%ld,\"loaded\":%ld,\"after\":%ld},",
			       sock, (int)ver.pid, ver.version, rss_before, rss_peak, rss_after);
		if (b.o.floor)
			printf("\"rootfs\":\"%s\",", b.rootfs);
		print_json_phase("cradle_start", &c_start, b.o.cradle, true);
		print_json_phase("cradle_teardown", &c_down, b.o.cradle, true);
		print_json_phase("floor_start", &f_start, b.o.floor, true);
		print_json_phase("floor_teardown", &f_down, b.o.floor, true);
		if (both)
			printf("\"ratio\":{\"p50\":%.3f,\"starts_per_s\":%.3f},", p50_ratio,
			       rate_ratio);
		printf("\"failed\":%s}\n", failed ? "true" : "false");
	} else {
		printf("cradle-bench: n=%zu c=%zu\n", b.o.n, b.o.c);
		if (b.o.cradle)
			printf("  daemon  %s, pid %d, version %s (api %u)\n", sock, (int)ver.pid,
			       ver.version, ver.api_version);
		if (b.o.floor)
			printf("  floor   rootfs %s, launch_start in-process, no daemon\n",
			       b.rootfs);
		printf("\n%-22s %6s %5s %9s %9s %9s %9s %9s %9s\n", "phase", "ok", "fail", "p50 ms",
		       "p90 ms", "p99 ms", "max ms", "wall s", "ops/s");
		print_row(&c_start, b.o.cradle);
		print_row(&c_down, b.o.cradle);
		print_row(&f_start, b.o.floor);
		print_row(&f_down, b.o.floor);
		if (b.o.cradle) {
			printf("\ndaemon VmRSS: before %ld kB, with %zu sandboxes %ld kB, after %ld kB",
			       rss_before, c_start.n_ok, rss_peak, rss_after);
			printf("%s\n",
			       rss_before < 0 ? " (unreadable: another pid namespace?)" : "");
		}
		if (both) {
			printf("\ncradle/floor: p50 %.2fx, starts/s %.2fx\n", p50_ratio,
			       rate_ratio);
			/* One fixed line for scripts (bench/run.sh takes medians of it). */
			printf("RESULT cradle_p50_ms=%.3f floor_p50_ms=%.3f p50_ratio=%.3f "
			       "cradle_starts_s=%.1f floor_starts_s=%.1f rate_ratio=%.3f\n",
			       c_start.p50, f_start.p50, p50_ratio, phase_rate(&c_start),
			       phase_rate(&f_start), rate_ratio);
		} else if (b.o.cradle) {
			printf("RESULT cradle_p50_ms=%.3f cradle_starts_s=%.1f\n", c_start.p50,
			       phase_rate(&c_start));
		} else {
			printf("RESULT floor_p50_ms=%.3f floor_starts_s=%.1f\n", f_start.p50,
			       phase_rate(&f_start));
		}
	}
	fflush(stdout);

	if (b.ferr.set)
		fprintf(stderr, "cradle-bench: first error: %s #%zu: %s: %s\n", b.ferr.phase,
		        b.ferr.index, cradle_status_name(b.ferr.code), b.ferr.msg);
	if (b.o.cradle) {
		size_t left = 0;
		for (size_t i = 0; i < b.o.n; i++)
			left += b.started[i];
		if (left > 0)
			fprintf(stderr,
			        "cradle-bench: %zu sandboxes could not be removed "
			        "(names bench-<i>, namespace bench)\n",
			        left);
	}

	phase_free(&c_start);
	phase_free(&c_down);
	phase_free(&f_start);
	phase_free(&f_down);
	free(b.ids);
	free(b.started);
	free(b.pidfds);
	pthread_mutex_destroy(&b.ferr.lock);
	return failed ? 1 : 0;
}
