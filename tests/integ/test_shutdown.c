/* test_shutdown.c - SIGTERM ends cradled within a bound, whatever it was
 * doing: starts pulling from a registry that never answers are cancelled,
 * starts still queued are answered without being run.
 *
 * The "registry" is a TCP socket of the test's on loopback that accepts
 * connections and never says a word.  Before the fix, each stuck start
 * held its worker for the per-request timeout and its retries (minutes),
 * and the queued ones ran after it.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;

static void
teardown(void)
{
	it_cleanup(&D);
}

enum { WORKERS = 2, STARTS = 5 };

struct starter {
	const char *sock;
	int idx;
	int rc;
	struct cradle_error err;
};

static void *
start_one(void *arg)
{
	struct starter *s = arg;
	struct cradle_conn *c = NULL;
	char name[32], id[CRADLE_SANDBOX_ID_LEN + 1];

	snprintf(name, sizeof(name), "stuck%d", s->idx);
	s->rc = cradle_connect_flags(s->sock, it_ms(120000), CRADLE_CONNECT_SYNC, &c, &s->err);
	if (s->rc < 0)
		return NULL;
	struct cradle_pod *pod = it_pod(name, name);
	s->rc = cradle_sandbox_run(c, pod, NULL, id, NULL, NULL, &s->err);
	cradle_pod_free(pod);
	cradle_close(c);
	return NULL;
}

/* A listening socket on loopback that never answers: *port gets its port. */
static int
silent_registry(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	ck_assert_int_eq(listen(lfd, 64), 0);
	*port = ntohs(sa.sin_port);
	return lfd;
}

static void
start_daemon(int port)
{
	char conf[1024];

	snprintf(conf, sizeof(conf),
	         "[cradled]\nworkers = %d\n"
	         "[sandbox]\nimage = 127.0.0.1:%d/stuck/pause:1\ncgroup_root = " IT_CGROUP_ROOT "\n"
	         "[registry]\ninsecure = 127.0.0.1:%d\ntimeout = 3600\n",
	         WORKERS, port, port);
	it_start_with(&D, NULL, conf);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(test_sigterm_is_bounded_while_pulls_hang)
{
	int held[WORKERS * 8], n_held = 0, port;
	pthread_t th[STARTS];
	struct starter st[STARTS];

	int lfd = silent_registry(&port);
	start_daemon(port);

	for (int i = 0; i < STARTS; i++) {
		st[i] = (struct starter){ .sock = D.sock, .idx = i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, start_one, &st[i]), 0);
	}
	/* every worker is stuck in a pull (the starts share one pull per
	 * image, so at least one connection; wait for it, then a moment for
	 * the other starts to queue or wait behind it) */
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	ck_assert_msg(poll(&pfd, 1, it_ms(10000)) == 1, "no pull reached the registry");
	while (n_held < (int)(sizeof(held) / sizeof(held[0])) && poll(&pfd, 1, it_ms(500)) == 1) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			break;
		held[n_held++] = fd;
	}
	ck_assert_int_ge(n_held, 1);
	ck_assert_msg(it_proc_alive(D.pid), "cradled still serving");

	int64_t t0 = mono_ms();
	int status = it_stop(&D);
	int64_t took = mono_ms() - t0;
	printf("shutdown: %d starts stuck on a silent registry, SIGTERM to exit %lld ms\n", STARTS,
	       (long long)took);
	ck_assert_int_eq(status, 0);
	/* about a second for libcurl to call back, plus the rollbacks */
	ck_assert_msg(took < it_ms(15000), "SIGTERM took %lld ms", (long long)took);

	for (int i = 0; i < STARTS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(st[i].rc < 0, "start %d succeeded", i);
		ck_assert_msg(st[i].err.code == CRADLE_STATUS_UNAVAILABLE, "start %d: %s: %s", i,
		              cradle_status_name(st[i].err.code), st[i].err.message);
		ck_assert_msg(strstr(st[i].err.message, "shutting down") != NULL ||
		                      strstr(st[i].err.message, "cancelled") != NULL,
		              "start %d: %s", i, st[i].err.message);
	}
	for (int i = 0; i < n_held; i++)
		close(held[i]);
	close(lfd);
	/* back up, so the teardown can check that the cancelled starts
	 * left nothing (records, cgroups, dirs) */
	it_restart(&D, NULL);
}
END_TEST

struct starter_id {
	const char *sock;
	const char *id;
	int rc;
	struct cradle_error err;
};

static void *
start_created(void *arg)
{
	struct starter_id *s = arg;
	struct cradle_conn *c = NULL;

	s->rc = cradle_connect_flags(s->sock, it_ms(120000), CRADLE_CONNECT_SYNC, &c, &s->err);
	if (s->rc < 0)
		return NULL;
	s->rc = cradle_sandbox_start(c, s->id, NULL, NULL, &s->err);
	cradle_close(c);
	return NULL;
}

/* A start stuck pulling holds no lock of its sandbox: a stop and a remove
 * of it are answered at once, and the start then fails. */
START_TEST(test_stop_and_remove_do_not_wait_for_a_pull)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err = { 0 };
	struct cradle_sandbox *sb;
	int port;
	pthread_t th;

	int lfd = silent_registry(&port);
	start_daemon(port);
	struct cradle_pod *pod = it_pod("waiting", "waiting");
	ck_assert_msg(cradle_sandbox_create(D.conn, pod, NULL, id, &err) == 0, "%s", err.message);
	cradle_pod_free(pod);

	struct starter_id s = { .sock = D.sock, .id = id };
	ck_assert_int_eq(pthread_create(&th, NULL, start_created, &s), 0);
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	ck_assert_msg(poll(&pfd, 1, it_ms(10000)) == 1, "no pull reached the registry");
	int held = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(held, 0);

	int64_t t0 = mono_ms();
	ck_assert_msg(cradle_sandbox_stop(D.conn, id, it_ms(5000), &err) == 0, "stop: %s",
	              err.message);
	ck_assert_msg(cradle_sandbox_remove(D.conn, id, &err) == 0, "remove: %s", err.message);
	int64_t took = mono_ms() - t0;
	printf("shutdown: stop + remove beside a stuck pull %lld ms\n", (long long)took);
	ck_assert_msg(took < it_ms(5000), "stop + remove waited %lld ms", (long long)took);
	ck_assert_int_lt(cradle_sandbox_status(D.conn, id, &sb, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_NOT_FOUND);

	/* the registry goes away: the pull fails, and so does the start */
	close(held);
	close(lfd);
	pthread_join(th, NULL);
	ck_assert_int_lt(s.rc, 0);
}
END_TEST

static Suite *
shutdown_suite(void)
{
	Suite *s = suite_create("shutdown");
	TCase *tc = tcase_create("sigterm");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_sigterm_is_bounded_while_pulls_hang);
	tcase_add_test(tc, test_stop_and_remove_do_not_wait_for_a_pull);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return it_run_suite(shutdown_suite());
}
