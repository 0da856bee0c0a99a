/* test_metrics.c - timings everyone can see, against a real cradled: the
 * Prometheus endpoint ([metrics] address on 127.0.0.1 and a free port)
 * fetched over a plain TCP socket, daemon.stats through libcradle,
 * verbose status, and `cradle inspectp -v`.  Needs root.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

#define MAX_BODY (8u << 20)
#define MAX_STEPS 64

static struct it_daemon D;

static void
teardown(void)
{
	it_cleanup(&D);
}

/* A port nobody listens on now (the kernel's pick for port 0). */

static void
start_with_metrics(int port, const char *fail_step)
{
	char conf[128];

	snprintf(conf, sizeof(conf), "[metrics]\naddress = 127.0.0.1:%d\n", port);
	it_start_with(&D, fail_step, conf);
}

struct http {
	int status;
	char content_type[128];
	char *body; /* NUL-terminated, malloc'd */
	size_t len;
};

/* One HTTP/1.1 request on a fresh TCP connection to 127.0.0.1:port; the
 * response read by its Content-Length (or to EOF). */
static void
http(int port, const char *method, const char *path, struct http *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
		                 .sin_port = htons((uint16_t)port),
		                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 20 };
	char req[256], *buf = malloc(MAX_BODY + 1), *hdr_end = NULL;
	size_t got = 0, want = SIZE_MAX;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect :%d: %s", port,
	              strerror(errno));
	int n = snprintf(req, sizeof(req),
	                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
	                 "Content-Length: 0\r\n\r\n",
	                 method, path, port);
	ck_assert_int_eq(write(fd, req, (size_t)n), n);
	while (got < want && got < MAX_BODY) {
		ssize_t k = read(fd, buf + got, MAX_BODY - got);
		ck_assert_msg(k >= 0, "read: %s", strerror(errno));
		if (k == 0)
			break;
		got += (size_t)k;
		buf[got] = '\0';
		if (hdr_end == NULL && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			if (cl != NULL && cl < hdr_end)
				want = (size_t)(hdr_end + 4 - buf) + strtoul(cl + 17, NULL, 10);
		}
	}
	close(fd);
	buf[got] = '\0';
	ck_assert_ptr_nonnull(hdr_end);
	ck_assert_int_eq(sscanf(buf, "HTTP/1.1 %d", &r->status), 1);
	r->content_type[0] = '\0';
	const char *ct = strcasestr(buf, "\r\nContent-Type:");
	if (ct != NULL && ct < hdr_end)
		sscanf(ct + 15, " %127[^\r]", r->content_type);
	r->len = got - (size_t)(hdr_end + 4 - buf);
	r->body = strdup(hdr_end + 4);
	ck_assert_ptr_nonnull(r->body);
	free(buf);
}

/* GET /metrics, which must succeed; the body, malloc'd. */
static char *
scrape(int port)
{
	struct http r;

	http(port, "GET", "/metrics", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_uint_eq(strlen(r.body), r.len);
	return r.body;
}

/* The value of a series (name with its labels, exactly as printed), or
 * -1 when the body has no such line. */
static double
value(const char *body, const char *fmt, ...)
{
	char series[512], *end;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(series, sizeof(series), fmt, ap);
	va_end(ap);
	n = strlen(series);
	for (const char *l = body; l != NULL && *l != '\0';
	     l = strchr(l, '\n'), l = l ? l + 1 : l) {
		if (strncmp(l, series, n) == 0 && l[n] == ' ') {
			double v = strtod(l + n + 1, &end);
			ck_assert_msg(end != l + n + 1 && (*end == '\n' || *end == '\0'),
			              "%s: not a number", series);
			return v;
		}
	}
	return -1;
}

typedef char step_name[CRADLE_STEP_NAME_MAX + 1];

/* Copy the names of the steps of s's last start (op) or stop, in order. */
static size_t
step_names(const struct cradle_sandbox *s, int op, step_name names[MAX_STEPS])
{
	size_t n = cradle_sandbox_step_count(s, op);
	const char *name;
	uint32_t us;

	ck_assert_uint_le(n, MAX_STEPS);
	for (size_t i = 0; i < n; i++) {
		ck_assert(cradle_sandbox_step_at(s, op, i, &name, &us));
		ck_assert_ptr_nonnull(name);
		ck_assert_uint_gt(strlen(name), 0);
		ck_assert_uint_le(strlen(name), CRADLE_STEP_NAME_MAX);
		snprintf(names[i], sizeof(names[i]), "%s", name);
	}
	ck_assert(!cradle_sandbox_step_at(s, op, n, &name, &us));
	return n;
}

static struct cradle_sandbox *
verbose(const char *id)
{
	struct cradle_sandbox *s = NULL;
	struct cradle_error err = { 0 };

	ck_assert_msg(cradle_sandbox_status_verbose(D.conn, id, &s, &err) == 0, "%s", err.message);
	return s;
}

static void
run_pod(const char *name, char id[CRADLE_SANDBOX_ID_LEN + 1])
{
	struct cradle_error err = { 0 };
	struct cradle_pod *pod = it_pod(name, name);

	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, NULL, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
}

#define START_STEP "cradle_sandbox_start_step_duration_seconds"
#define STOP_STEP "cradle_sandbox_stop_step_duration_seconds"

START_TEST(test_endpoint_counts_starts_and_stops)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	step_name start[MAX_STEPS], stop[MAX_STEPS];
	struct cradle_error err = { 0 };
	struct cradle_stats *st = NULL;
	struct cradle_histogram h;
	int port = it_free_port();

	start_with_metrics(port, NULL);

	/* before anything ran: the counters are there, at 0 */
	char *m = scrape(port);
	ck_assert_msg(value(m, "cradle_sandbox_starts_total") == 0, "starts_total");
	ck_assert(value(m, "cradle_sandbox_stops_total") == 0);
	ck_assert(value(m, "cradle_sandbox_errors_total{op=\"start\",code=\"INTERNAL\"}") == 0);
	ck_assert(value(m, "cradle_sandbox_start_duration_seconds_count") == 0);
	ck_assert(value(m, "cradle_queue_depth") == 0);
	ck_assert(value(m, "cradle_sandboxes{phase=\"running\"}") == 0);
	ck_assert_ptr_nonnull(
		strstr(m, "# TYPE cradle_sandbox_start_duration_seconds histogram\n"));
	free(m);

	run_pod("metrics-a", id);
	struct cradle_sandbox *s = verbose(id);
	size_t n = step_names(s, CRADLE_TIMED_START, start);
	ck_assert_uint_ge(n, 10);
	ck_assert_uint_eq(cradle_sandbox_step_count(s, CRADLE_TIMED_STOP), 0);
	ck_assert_str_eq(start[0], "runtime");

	/* the start moved the counter and every step's histogram */
	m = scrape(port);
	ck_assert(value(m, "cradle_sandbox_starts_total") == 1);
	ck_assert(value(m, "cradle_sandbox_start_duration_seconds_count") == 1);
	ck_assert(value(m, "cradle_sandbox_start_duration_seconds_bucket{le=\"+Inf\"}") == 1);
	ck_assert(value(m, "cradle_sandbox_start_duration_seconds_bucket{le=\"0.000001\"}") == 0);
	double total = value(m, "cradle_sandbox_start_duration_seconds_sum"), steps = 0;
	ck_assert(total > 0);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(value(m, START_STEP "_count{step=\"%s\"}", start[i]) == 1, "step %s",
		              start[i]);
		ck_assert(value(m, START_STEP "_bucket{step=\"%s\",le=\"+Inf\"}", start[i]) == 1);
		steps += value(m, START_STEP "_sum{step=\"%s\"}", start[i]);
	}
	/* the launch took time; the steps fit in the whole */
	ck_assert(value(m, START_STEP "_sum{step=\"launch\"}") > 0);
	ck_assert_msg(steps <= total + 1e-9, "steps %f > total %f", steps, total);
	ck_assert(value(m, "cradle_sandboxes{phase=\"running\"}") == 1);
	ck_assert(value(m, "cradle_sandbox_errors_total{op=\"start\",code=\"INTERNAL\"}") == 0);
	free(m);

	/* daemon.stats says the same */
	ck_assert_msg(cradle_daemon_stats(D.conn, &st, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(cradle_stats_count(st, CRADLE_TIMED_START), 1);
	ck_assert_uint_eq(cradle_stats_count(st, CRADLE_TIMED_STOP), 0);
	ck_assert_uint_eq(cradle_stats_errors(st, CRADLE_TIMED_START, CRADLE_STATUS_INTERNAL), 0);
	ck_assert_uint_eq(cradle_stats_sandboxes(st, CRADLE_PHASE_RUNNING), 1);
	ck_assert_uint_eq(cradle_stats_queue_depth(st), 0);
	ck_assert_uint_eq(cradle_stats_step_count(st, CRADLE_TIMED_START), n);
	for (size_t i = 0; i < n; i++) {
		ck_assert(cradle_stats_step(st, CRADLE_TIMED_START, i, &h));
		ck_assert_str_eq(h.step, start[i]);
		ck_assert_uint_eq(h.count, 1);
		ck_assert_uint_le(h.p50_ns, h.p99_ns);
		ck_assert_uint_eq(h.p99_ns, cradle_histogram_quantile(&h, 0.99));
	}
	ck_assert(!cradle_stats_step(st, CRADLE_TIMED_START, n, &h));
	ck_assert(cradle_stats_total(st, CRADLE_TIMED_START, &h));
	ck_assert_str_eq(h.step, "");
	ck_assert_uint_eq(h.count, 1);
	ck_assert_uint_gt(h.p50_ns, 0);
	ck_assert_uint_gt(h.sum_ns, 0);
	cradle_stats_free(st);
	cradle_sandbox_free(s);

	/* a stop: its own counter and steps */
	ck_assert_msg(cradle_sandbox_stop(D.conn, id, 10000, &err) == 0, "%s", err.message);
	s = verbose(id);
	size_t k = step_names(s, CRADLE_TIMED_STOP, stop);
	ck_assert_uint_eq(k, 5);
	ck_assert_str_eq(stop[0], "kill");
	ck_assert_str_eq(stop[1], "wait");
	ck_assert_uint_eq(cradle_sandbox_step_count(s, CRADLE_TIMED_START), n);
	cradle_sandbox_free(s);
	m = scrape(port);
	ck_assert(value(m, "cradle_sandbox_stops_total") == 1);
	for (size_t i = 0; i < k; i++)
		ck_assert_msg(value(m, STOP_STEP "_count{step=\"%s\"}", stop[i]) == 1, "step %s",
		              stop[i]);
	ck_assert(value(m, "cradle_sandboxes{phase=\"running\"}") == 0);
	ck_assert(value(m, "cradle_sandboxes{phase=\"exited\"}") == 1);
	free(m);

	/* stopping a stopped sandbox, removing it: no stop left to count */
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, id, 10000, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	m = scrape(port);
	ck_assert(value(m, "cradle_sandbox_stops_total") == 1);
	ck_assert(value(m, "cradle_sandboxes{phase=\"exited\"}") == 0);
	free(m);

	/* only GET /metrics is served */
	struct http r;
	http(port, "GET", "/", &r);
	ck_assert_int_eq(r.status, 404);
	free(r.body);
	http(port, "POST", "/metrics", &r);
	ck_assert_int_eq(r.status, 405);
	free(r.body);
}
END_TEST

START_TEST(test_failed_start_counts_its_code)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err = { 0 };
	struct cradle_stats *st = NULL;
	struct cradle_histogram h;
	int port = it_free_port();

	/* the hooks build fails "launch" after it ran */
	start_with_metrics(port, "launch");
	struct cradle_pod *pod = it_pod("metrics-fail", NULL);
	ck_assert_int_lt(cradle_sandbox_run(D.conn, pod, NULL, id, NULL, NULL, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_INTERNAL);
	cradle_pod_free(pod);

	char *m = scrape(port);
	ck_assert(value(m, "cradle_sandbox_starts_total") == 1);
	ck_assert(value(m, "cradle_sandbox_errors_total{op=\"start\",code=\"INTERNAL\"}") == 1);
	ck_assert(value(m, "cradle_sandbox_errors_total{op=\"start\",code=\"NOT_FOUND\"}") == 0);
	ck_assert(value(m, START_STEP "_count{step=\"launch\"}") == 1);
	/* the steps after it never ran: not named, not shown */
	ck_assert(value(m, START_STEP "_count{step=\"reaper\"}") == -1);
	ck_assert(value(m, "cradle_sandboxes{phase=\"created\"}") == 0);
	free(m);

	ck_assert_int_eq(cradle_daemon_stats(D.conn, &st, &err), 0);
	ck_assert_uint_eq(cradle_stats_errors(st, CRADLE_TIMED_START, CRADLE_STATUS_INTERNAL), 1);
	size_t n = cradle_stats_step_count(st, CRADLE_TIMED_START);
	ck_assert(cradle_stats_step(st, CRADLE_TIMED_START, n - 1, &h));
	ck_assert_str_eq(h.step, "launch");
	cradle_stats_free(st);
}
END_TEST

/* out has the line "<op>  <name> ... ms" */
static bool
has_step_line(const char *out, const char *op, const char *name)
{
	char want[128];

	snprintf(want, sizeof(want), "\n%-5s  %-20s ", op, name);
	const char *l = strstr(out, want);
	return l != NULL && strstr(l + 1, " ms") != NULL &&
	       strchr(l + 1, '\n') > strstr(l + 1, " ms");
}

START_TEST(test_inspectp_verbose_shows_every_step)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], out[65536];
	step_name start[MAX_STEPS], stop[MAX_STEPS];

	it_start(&D, NULL);
	run_pod("metrics-cli", id);
	struct cradle_sandbox *s = verbose(id);
	size_t n = step_names(s, CRADLE_TIMED_START, start);

	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "inspectp -v %.13s", id), 0);
	ck_assert_msg(strstr(out, "\"SANDBOX_READY\""), "%s", out);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(has_step_line(out, "start", start[i]), "no line for %s:\n%s",
		              start[i], out);
	ck_assert_msg(has_step_line(out, "start", "(sum of steps)"), "%s", out);
	ck_assert_msg(strstr(out, "\nstop   (not timed since cradled started)"), "%s", out);
	/* without -v: the JSON alone */
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "inspectp %s", id), 0);
	ck_assert_ptr_null(strstr(out, "\nstart  "));
	/* -v is inspectp's */
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "inspecti -v cradle.local/pause:built-in"),
	                 2);
	ck_assert_msg(strstr(out, "-v is an option of inspectp only"), "%s", out);

	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "stopp %s", id), 0);
	cradle_sandbox_free(s);
	s = verbose(id);
	size_t k = step_names(s, CRADLE_TIMED_STOP, stop);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "inspectp --verbose %s", id), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert(has_step_line(out, "start", start[i]));
	for (size_t i = 0; i < k; i++)
		ck_assert_msg(has_step_line(out, "stop", stop[i]), "no line for %s:\n%s", stop[i],
		              out);
	cradle_sandbox_free(s);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmp %s", id), 0);
}
END_TEST

/* A port taken: start-up fails and says which address and why. */
START_TEST(test_port_in_use_refused)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	char cmd[4096], log[400], conf[400], line[512], bin[512], archive[512];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);

	memset(&D, 0, sizeof(D));
	snprintf(D.dir, sizeof(D.dir), IT_TMP_PREFIX "XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(D.dir));
	snprintf(conf, sizeof(conf), "%s/cradled.conf", D.dir);
	snprintf(log, sizeof(log), "%s/cradled.log", D.dir);
	FILE *f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
	        "[sandbox]\ncgroup_root = " IT_CGROUP_ROOT "\n[metrics]\naddress = 127.0.0.1:%d\n",
	        ntohs(a.sin_port));
	fclose(f);
	/* it_bin returns one static buffer: copy each result */
	snprintf(bin, sizeof(bin), "%s", it_bin("cradled"));
	snprintf(archive, sizeof(archive), "%s", it_bin("pause.oci.tar"));
	snprintf(cmd, sizeof(cmd),
	         "%s --config %s --root %s/root --state %s/state --image-archive %s 2>%s", bin,
	         conf, D.dir, D.dir, archive, log);
	int st = system(cmd);
	close(fd);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "cradled exited %d", st);
	snprintf(line, sizeof(line),
	         "metrics endpoint: listen on \"http://127.0.0.1:%d\": ", ntohs(a.sin_port));
	ck_assert_msg(it_log_contains(&D, line), "no \"%s\" in %s", line, log);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_endpoint_counts_starts_and_stops);
	tcase_add_test(tc, test_failed_start_counts_its_code);
	tcase_add_test(tc, test_inspectp_verbose_shows_every_step);
	tcase_add_test(tc, test_port_in_use_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_metrics: needs root (starts cradled); CI runs as root\n");
		return 1;
	}
	return it_run_suite(metrics_suite());
}
