/* test_log_context.c - log lines an operator looks for, with the
 * sandbox and pod they are about (text format: " sandbox=<id>",
 * " pod=<namespace>/<name>"):
 * - a request the front end refuses because the queue is full (warn) or
 *   the daemon is shutting down (info) is logged with its operation, its
 *   pod or sandbox, and the error;
 * - the reaper's line for a pause that exited, and recovery's for one that
 *   exited while cradled was down, name the sandbox and its pod.
 * Needs root (starts cradled and sandboxes).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;
static char NET[256]; /* the slow CNI plugin's dir, "" when none */

static void
rm_net(void)
{
	char cmd[400];

	if (NET[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", NET);
	ck_assert_int_eq(system(cmd), 0);
	NET[0] = '\0';
}

static void
teardown(void)
{
	it_cleanup(&D);
	rm_net();
}

/* One line of the daemon's log holds a, b and c (c may be NULL). */
static bool
log_line_has(const char *a, const char *b, const char *c)
{
	char path[400], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cradled.log", D.dir);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, a) && strstr(line, b) && (c == NULL || strstr(line, c));
	if (f)
		fclose(f);
	return found;
}

/* The daemon's log on stderr, for a failure's message. */
static bool
dump_log(void)
{
	char path[400], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cradled.log", D.dir);
	f = fopen(path, "re");
	fprintf(stderr, "--- %s:\n", path);
	while (f && fgets(line, sizeof(line), f))
		fputs(line, stderr);
	if (f)
		fclose(f);
	return false;
}

static bool
wait_log_line(const char *a, const char *b, const char *c)
{
	for (int i = 0; i < it_ms(10000) / 20; i++) {
		if (log_line_has(a, b, c))
			return true;
		it_sleep_ms(20);
	}
	return false;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "we");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* A sandbox.run of pod <name> on its own connection, in a thread. */
struct runner {
	char name[32];
	pthread_t th;
	int rc;
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	atomic_bool done; /* set last: rc, err and id are read after it */
};

static void *
run_one(void *arg)
{
	struct runner *r = arg;
	struct cradle_conn *c = NULL;
	struct cradle_pod *pod = NULL;

	r->rc = cradle_connect_flags(D.sock, it_ms(120000), CRADLE_CONNECT_SYNC, &c, &r->err);
	if (r->rc == 0)
		r->rc = cradle_pod_new(r->name, "default", r->name, &pod, &r->err);
	if (r->rc == 0)
		r->rc = cradle_sandbox_run(c, pod, NULL, r->id, NULL, NULL, &r->err);
	cradle_pod_free(pod);
	cradle_close(c);
	atomic_store(&r->done, true);
	return NULL;
}

static void
start_runner(struct runner *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	ck_assert_int_eq(pthread_create(&r->th, NULL, run_one, r), 0);
}

static void *
stop_daemon(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)it_stop(&D);
}

/* One worker, a queue of one, and a CNI plugin whose ADD waits while
 * NET/hold exists: the first start holds the worker, the second waits in
 * the queue, the third is refused; then SIGTERM, and while the first start
 * still holds the worker a status is refused as the daemon shuts down. */
START_TEST(test_refusals_are_logged)
{
	char path[400], conf[1024], script[1024];
	struct runner r[5];

	snprintf(NET, sizeof(NET), IT_TMP_PREFIX "slow.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(NET));
	snprintf(path, sizeof(path), "%s/net.d", NET);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/bin", NET);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/net.d/10-slow.conflist", NET);
	write_file(path,
	           "{\"cniVersion\": \"1.0.0\", \"name\": \"slownet\", "
	           "\"plugins\": [{\"type\": \"slow\"}]}\n",
	           0644);
	snprintf(path, sizeof(path), "%s/bin/slow", NET);
	snprintf(
		script, sizeof(script),
		"#!/bin/sh\n"
		"cat >/dev/null\n"
		"if [ \"$CNI_COMMAND\" = ADD ]; then\n"
		"  : > %s/added\n"
		"  while [ -e %s/hold ]; do sleep 0.05; done\n"
		"  echo '{\"cniVersion\": \"1.0.0\", \"code\": 11, \"msg\": \"cradle-test slow\"}'\n"
		"  exit 1\n"
		"fi\n",
		NET, NET);
	write_file(path, script, 0755);
	snprintf(path, sizeof(path), "%s/hold", NET);
	write_file(path, "", 0644);
	snprintf(conf, sizeof(conf),
	         "[sandbox]\ncgroup_root = " IT_CGROUP_ROOT "\n"
	         "[cradled]\nworkers = 1\nqueue_depth = 1\n"
	         "[cni]\nconf_dir = %s/net.d\nbin_dir = %s/bin\ntimeout = 120\n",
	         NET, NET);
	it_start_with(&D, NULL, conf);

	/* the first start holds the worker in its ADD */
	start_runner(&r[0], "held");
	snprintf(path, sizeof(path), "%s/added", NET);
	for (int i = 0; i < it_ms(20000) / 20 && access(path, F_OK) != 0; i++)
		it_sleep_ms(20);
	ck_assert_msg(access(path, F_OK) == 0, "the first start's ADD did not begin");
	/* the next fill the queue (of 2: its capacity is a power of two),
	 * the one after is refused at once */
	for (int j = 1; j < 5; j++) {
		char name[16];
		snprintf(name, sizeof(name), "later-%d", j);
		start_runner(&r[j], name);
		it_sleep_ms(it_ms(200));
	}
	int refused = -1;
	for (int i = 0; i < it_ms(5000) / 20 && refused < 0; i++) {
		for (int j = 1; j < 5; j++)
			if (atomic_load(&r[j].done) && r[j].rc < 0 &&
			    r[j].err.code == CRADLE_STATUS_RESOURCE_EXHAUSTED)
				refused = j;
		it_sleep_ms(20);
	}
	ck_assert_msg(refused > 0 || dump_log(), "no start was refused with a full queue");
	char pod[64];
	snprintf(pod, sizeof(pod), " pod=default/%s", r[refused].name);
	ck_assert_msg(wait_log_line(" warn: sandbox.run refused: RESOURCE_EXHAUSTED: request queue "
	                            "is full",
	                            pod, NULL),
	              "no warning names the refused start of %s", r[refused].name);

	/* SIGTERM: the front end answers UNAVAILABLE until the held start
	 * ends, and logs what it refuses */
	pthread_t stopper;
	ck_assert_int_eq(pthread_create(&stopper, NULL, stop_daemon, NULL), 0);
	const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	bool seen = false;
	for (int i = 0; i < it_ms(10000) / 20 && !seen; i++) {
		struct cradle_conn *c = NULL;
		struct cradle_sandbox *s = NULL;
		struct cradle_error err = { 0 };

		if (cradle_connect_flags(D.sock, it_ms(5000), CRADLE_CONNECT_SYNC, &c, &err) == 0) {
			if (cradle_sandbox_status(c, id, &s, &err) < 0 &&
			    err.code == CRADLE_STATUS_UNAVAILABLE)
				seen = strstr(err.message, "shutting down") != NULL;
			cradle_sandbox_free(s);
			cradle_close(c);
		}
		if (!seen)
			it_sleep_ms(20);
	}
	/* let the held start go (it fails) whatever was seen */
	snprintf(path, sizeof(path), "%s/hold", NET);
	ck_assert_int_eq(unlink(path), 0);
	void *status;
	ck_assert_int_eq(pthread_join(stopper, &status), 0);
	for (int j = 0; j < 5; j++)
		ck_assert_int_eq(pthread_join(r[j].th, NULL), 0);
	ck_assert_int_eq((int)(intptr_t)status, 0);
	ck_assert_msg(seen, "no request was refused as cradled shut down");
	char sandbox[80];
	snprintf(sandbox, sizeof(sandbox), " sandbox=%s", id);
	ck_assert_msg(log_line_has(" info: sandbox.status refused: UNAVAILABLE: cradled is "
	                           "shutting down",
	                           sandbox, NULL),
	              "no line names the status refused while shutting down");
	for (int j = 0; j < 5; j++)
		ck_assert_msg(r[j].rc < 0, "start %s succeeded", r[j].name);
	/* back up, so the teardown can check that nothing is left */
	it_restart(&D, NULL);
}
END_TEST

START_TEST(test_reaper_and_recovery_name_the_sandbox)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], id2[CRADLE_SANDBOX_ID_LEN + 1], want[128];
	struct cradle_sandbox *s;
	struct cradle_error err;
	struct cradle_pod *pod;
	int32_t pid;

	it_start(&D, NULL);
	/* the reaper: a pause killed under the running daemon */
	pod = it_pod("ctx-reaped", NULL);
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, NULL, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	pid = cradle_sandbox_pid(s);
	cradle_sandbox_free(s);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	snprintf(want, sizeof(want), " sandbox=%s", id);
	ck_assert_msg(
		wait_log_line("info: sandbox task exited: pid", want, " pod=default/ctx-reaped"),
		"the reaper's line does not name sandbox %s and its pod", id);
	snprintf(want, sizeof(want), "exited: pid %d, exit status 137", (int)pid);
	ck_assert(log_line_has(want, " pod=default/ctx-reaped", NULL));

	/* recovery: a pause that died while the daemon was down */
	pod = it_pod("ctx-recovered", NULL);
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id2, NULL, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id2, &s, &err), 0);
	pid = cradle_sandbox_pid(s);
	cradle_sandbox_free(s);
	ck_assert_int_eq(it_stop(&D), 0);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	/* gone for good, not a zombie someone has yet to reap (recovery
	 * would adopt that and the reaper report its exit) */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	for (int i = 0; i < it_ms(5000) / 10 && access(proc, F_OK) == 0; i++) {
		waitpid(pid, NULL, WNOHANG); /* in case it is ours */
		it_sleep_ms(10);
	}
	ck_assert_msg(access(proc, F_OK) != 0, "pause %d killed but not reaped", (int)pid);
	it_restart(&D, NULL);
	snprintf(want, sizeof(want), " sandbox=%s", id2);
	ck_assert_msg(
		log_line_has("exited while cradled was down", want, " pod=default/ctx-recovered") ||
			dump_log(),
		"recovery's line does not name sandbox %s and its pod", id2);

	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id2, &err), 0);
}
END_TEST

static Suite *
log_context_suite(void)
{
	Suite *s = suite_create("log_context");
	TCase *tc = tcase_create("log_context");

	tcase_set_timeout(tc, it_secs(120));
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_refusals_are_logged);
	tcase_add_test(tc, test_reaper_and_recovery_name_the_sandbox);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_log_context: needs root (starts cradled); CI runs as root\n");
		return 1;
	}
	return it_run_suite(log_context_suite());
}
