/* test_network.c - pods with a CNI network: Debian's real plugins
 * (bridge, host-local, portmap, loopback in /usr/lib/cni) driven by
 * cradled (worker/net.c, sandbox/cni.c).
 *
 * Each test first moves itself into a fresh network namespace (Check
 * forks a process per test; the daemon it starts, and so the plugins,
 * inherit the namespace), so the bridge, its addresses, the iptables
 * rules of portmap and every packet stay in namespaces the test owns and
 * go with it.  The subnet is a test-only private one; host-local keeps
 * its allocations in the test's own directory, one file per address.
 *
 * Needs root (namespaces, mounts, cgroups); CI runs as root.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

#define NET_NAME "cradle-test"
#define SUBNET "10.251.0" /* .0/24 */
#define GATEWAY SUBNET ".1"

static struct it_daemon D;
static char NET[256]; /* conf dir, plugin dir, host-local's data */

static void
teardown(void)
{
	it_cleanup(&D);
	if (NET[0] != '\0') {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", NET);
		ck_assert_int_eq(system(cmd), 0);
		NET[0] = '\0';
	}
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(close(fd), 0);
}

/* The plugins after bridge + host-local (e.g. portmap, loopback). */
#define CHAIN_DEFAULT                                                           \
	"{\"type\": \"portmap\", \"capabilities\": {\"portMappings\": true}}, " \
	"{\"type\": \"loopback\"}"

/* NET/net.d/10-test.conflist: bridge + host-local + chain, written over
 * whatever is there (the same file, edited in place). */
static void
write_conflist(const char *chain)
{
	char path[400], text[4096];

	snprintf(text, sizeof(text),
	         "{\"cniVersion\": \"1.0.0\", \"name\": \"" NET_NAME "\", \"plugins\": ["
	         "{\"type\": \"bridge\", \"bridge\": \"crtest0\", \"isGateway\": true, "
	         "\"ipMasq\": false, \"hairpinMode\": true, "
	         "\"ipam\": {\"type\": \"host-local\", \"dataDir\": \"%s/ipam\", "
	         "\"ranges\": [[{\"subnet\": \"" SUBNET ".0/24\"}]], "
	         "\"routes\": [{\"dst\": \"0.0.0.0/0\"}]}}, %s]}\n",
	         NET, chain);
	snprintf(path, sizeof(path), "%s/net.d/10-test.conflist", NET);
	write_file(path, text, 0644);
}

/* A fresh network namespace with lo up, a conflist of bridge + host-local
 * + chain, and a daemon with [cni] pointing at them. */
static void
net_start(const char *chain, const char *fail_step)
{
	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);

	char path[400], cfg[1024];
	snprintf(NET, sizeof(NET), IT_TMP_PREFIX "net.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(NET));
	snprintf(path, sizeof(path), "%s/net.d", NET);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/bin", NET);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	write_conflist(chain);
	snprintf(cfg, sizeof(cfg),
	         "[cni]\nconf_dir = %s/net.d\nbin_dir = %s/bin:/usr/lib/cni\ntimeout = 20\n", NET,
	         NET);
	it_start_with(&D, fail_step, cfg);
}

/* NET/bin/failer: a plugin whose ADD fails with a CNI error saying msg
 * (its DEL succeeds). */
static void
write_failer(const char *msg)
{
	char path[400], script[512];

	snprintf(path, sizeof(path), "%s/bin/failer", NET);
	snprintf(script, sizeof(script),
	         "#!/bin/sh\n"
	         "cat >/dev/null\n"
	         "if [ \"$CNI_COMMAND\" = ADD ]; then\n"
	         "  echo '{\"cniVersion\": \"1.0.0\", \"code\": 7, \"msg\": \"%s\"}'\n"
	         "  exit 1\n"
	         "fi\n",
	         msg);
	write_file(path, script, 0755);
}

/* Addresses host-local holds now (its files named by address). */
static int
allocations(void)
{
	char dir[400];
	snprintf(dir, sizeof(dir), "%s/ipam/" NET_NAME, NET);
	int n = 0, all = it_count_entries(dir);
	if (all <= 0)
		return 0;
	for (int i = 2; i < 255; i++) {
		char p[450];
		snprintf(p, sizeof(p), "%s/" SUBNET ".%d", dir, i);
		n += access(p, F_OK) == 0;
	}
	return n;
}

static bool
allocated(const char *ip)
{
	char p[450];
	snprintf(p, sizeof(p), "%s/ipam/" NET_NAME "/%s", NET, ip);
	return access(p, F_OK) == 0;
}

/* Host ends of pod veths in our (the daemon's) namespace. */
static int
veths(void)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int n = 0;

	ck_assert_ptr_nonnull(ifs);
	for (i = ifs; i->if_index != 0; i++)
		n += strncmp(i->if_name, "veth", 4) == 0;
	if_freenameindex(ifs);
	return n;
}

static void
run_pod(const char *name, const char *extra, char id[CRADLE_SANDBOX_ID_LEN + 1], int32_t *pid,
        char ip[64])
{
	struct cradle_error err = { 0 };
	struct cradle_pod *pod = it_pod_json(name, name, extra);
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, pid, NULL, &err) == 0, "run %s: %s",
	              name, err.message);
	cradle_pod_free(pod);
	struct cradle_sandbox *s = NULL;
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	snprintf(ip, 64, "%s", cradle_sandbox_ip(s));
	ck_assert_uint_eq(cradle_sandbox_ip_count(s), 1);
	ck_assert_str_eq(cradle_sandbox_ip_at(s, 0), ip);
	cradle_sandbox_free(s);
	ck_assert_msg(strncmp(ip, SUBNET ".", strlen(SUBNET ".")) == 0, "pod %s has IP \"%s\"",
	              name, ip);
}

/* A child in pid's network namespace listening on port: reports
 * readiness on a pipe, accepts one connection, writes "ok", exits. */
static pid_t
listen_in(pid_t pid, int port)
{
	int ready[2];
	ck_assert_int_eq(pipe(ready), 0);
	pid_t c = fork();
	ck_assert_int_ge(c, 0);
	if (c == 0) {
		char ns[64];
		snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)pid);
		int fd = open(ns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
			_exit(2);
		int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 4) != 0)
			_exit(3);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		alarm(30);
		int x = accept(s, NULL, NULL);
		if (x < 0 || write(x, "ok", 2) != 2)
			_exit(5);
		close(x);
		_exit(0);
	}
	close(ready[1]);
	char b;
	ck_assert_int_eq(read(ready[0], &b, 1), 1);
	close(ready[0]);
	return c;
}

/* Connect to ip:port (from pid's network namespace, 0: ours) and read
 * "ok"; in a child, so that ours is left alone.  True when it worked. */
static bool
reach(pid_t pid, const char *ip, int port)
{
	pid_t c = fork();
	ck_assert_int_ge(c, 0);
	if (c == 0) {
		if (pid > 0) {
			char ns[64];
			snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)pid);
			int fd = open(ns, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
				_exit(2);
		}
		alarm(20);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
		char buf[3] = "";
		if (inet_pton(AF_INET, ip, &a.sin_addr) != 1 ||
		    connect(s, (struct sockaddr *)&a, sizeof(a)) != 0 || read(s, buf, 2) != 2 ||
		    strcmp(buf, "ok") != 0)
			_exit(1);
		_exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(c, &st, 0), c);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void
wait_child(pid_t c)
{
	int st;
	ck_assert_int_eq(waitpid(c, &st, 0), c);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "listener exited %d", st);
}

/* Two pods on the bridge: distinct addresses, each held by host-local,
 * one reaches the other; stop releases the address and the veth. */
START_TEST(test_two_pods_reach_each_other)
{
	char a[CRADLE_SANDBOX_ID_LEN + 1], b[CRADLE_SANDBOX_ID_LEN + 1], ipa[64], ipb[64];
	int32_t pa, pb;
	struct cradle_error err = { 0 };

	net_start(CHAIN_DEFAULT, NULL);
	run_pod("net-a", NULL, a, &pa, ipa);
	run_pod("net-b", NULL, b, &pb, ipb);
	ck_assert_str_ne(ipa, ipb);
	ck_assert(allocated(ipa) && allocated(ipb));
	ck_assert_int_eq(veths(), 2);

	pid_t l = listen_in(pb, 7777);
	ck_assert_msg(reach(pa, ipb, 7777), "pod a cannot reach %s:7777 in pod b", ipb);
	wait_child(l);

	/* stop: DEL, the address free, the veth gone, no IP shown */
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, a, 0, &err), 0);
	ck_assert(!allocated(ipa));
	ck_assert(allocated(ipb));
	ck_assert_int_eq(veths(), 1);
	struct cradle_sandbox *s = NULL;
	ck_assert_int_eq(cradle_sandbox_status(D.conn, a, &s, &err), 0);
	ck_assert_str_eq(cradle_sandbox_ip(s), "");
	cradle_sandbox_free(s);
	/* a second stop has nothing to do */
	ck_assert_int_eq(cradle_sandbox_stop(D.conn, a, 0, &err), 0);
	/* remove of a running one stops it: DEL there */
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, b, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, a, &err), 0);
	ck_assert_int_eq(allocations(), 0);
	ck_assert_int_eq(veths(), 0);
}
END_TEST

/* A hostPort mapping (portmap) reaches the pod from the daemon's
 * namespace, through the bridge's address. */
START_TEST(test_host_port_reaches_the_pod)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], ip[64];
	int32_t pid;
	struct cradle_error err = { 0 };

	net_start(CHAIN_DEFAULT, NULL);
	run_pod("net-port",
	        "\"port_mappings\": [{\"protocol\": 0, \"container_port\": 8080, "
	        "\"host_port\": 18080, \"host_ip\": \"\"}]",
	        id, &pid, ip);
	pid_t l = listen_in(pid, 8080);
	ck_assert_msg(reach(0, GATEWAY, 18080), "%s:18080 does not reach the pod's 8080", GATEWAY);
	wait_child(l);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(allocations(), 0);
	ck_assert_int_eq(veths(), 0);
}
END_TEST

/* A plugin that fails its ADD: the start fails with its message, and
 * the rollback (the chain's DEL, then every other undo) leaves nothing:
 * no address, no veth, no sandbox. */
START_TEST(test_failing_plugin_rolls_back)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err = { 0 };
	int32_t pid;

	net_start("{\"type\": \"failer\"}", NULL);
	write_failer("cradle-test failer refuses");
	struct cradle_pod *pod = it_pod("net-fail", "net-fail");
	ck_assert_int_ne(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err), 0);
	cradle_pod_free(pod);
	ck_assert_msg(strstr(err.message, "cradle-test failer refuses") != NULL &&
	                      strstr(err.message, "failed to setup network") != NULL,
	              "%s", err.message);
	ck_assert_int_eq(allocations(), 0);
	ck_assert_int_eq(veths(), 0);
	struct cradle_sandbox_list *l = NULL;
	ck_assert_int_eq(cradle_sandbox_list(D.conn, -1, NULL, 0, &l, &err), 0);
	ck_assert_uint_eq(cradle_sandbox_list_count(l), 0);
	cradle_sandbox_list_free(l);
}
END_TEST

/* The conflist edited in place (its directory unchanged): the next start
 * uses the new chain. */
START_TEST(test_config_edited_in_place)
{
	char a[CRADLE_SANDBOX_ID_LEN + 1], b[CRADLE_SANDBOX_ID_LEN + 1], ip[64];
	struct cradle_error err = { 0 };
	int32_t pid;

	net_start(CHAIN_DEFAULT, NULL);
	write_failer("cradle-test edited chain");
	run_pod("net-before", NULL, a, &pid, ip);
	write_conflist("{\"type\": \"failer\"}");
	struct cradle_pod *pod = it_pod("net-after", "net-after");
	ck_assert_int_ne(cradle_sandbox_run(D.conn, pod, NULL, b, &pid, NULL, &err), 0);
	cradle_pod_free(pod);
	ck_assert_msg(strstr(err.message, "cradle-test edited chain") != NULL, "%s", err.message);
	ck_assert_int_eq(allocations(), 1);
	/* the first pod's DEL runs from its own cache: the chain it was
	 * ADDed with, not the edited one */
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, a, &err), 0);
	ck_assert_int_eq(allocations(), 0);
	ck_assert_int_eq(veths(), 0);
}
END_TEST

/* Host-network pods skip CNI. */
START_TEST(test_host_network_skips_cni)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err = { 0 };
	int32_t pid;

	net_start(CHAIN_DEFAULT, NULL);
	struct cradle_pod *pod = it_pod("net-host", NULL);
	ck_assert_int_eq(
		cradle_pod_set_namespace_mode(pod, CRADLE_NS_NETWORK, CRADLE_NS_MODE_NODE, &err),
		0);
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	struct cradle_sandbox *s = NULL;
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_str_eq(cradle_sandbox_ip(s), "");
	cradle_sandbox_free(s);
	ck_assert_int_eq(allocations(), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

/* [cni] required (the default): no config fails the start the way
 * containerd says it; required = false starts with loopback only. */
START_TEST(test_no_config)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], cfg[600];
	struct cradle_error err = { 0 };
	int32_t pid;

	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	snprintf(NET, sizeof(NET), IT_TMP_PREFIX "net.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(NET));
	snprintf(cfg, sizeof(cfg), "[cni]\nconf_dir = %s/none\n", NET);
	it_start_with(&D, NULL, cfg);
	struct cradle_pod *pod = it_pod("net-none", "net-none");
	ck_assert_int_ne(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_FAILED_PRECONDITION);
	ck_assert_msg(strstr(err.message, "not initialized") != NULL, "%s", err.message);
	ck_assert_int_eq(it_stop(&D), 0);
	it_cleanup(&D);

	snprintf(cfg, sizeof(cfg), "[cni]\nconf_dir = %s/none\nrequired = false\n", NET);
	it_start_with(&D, NULL, cfg);
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	struct cradle_sandbox *s = NULL;
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_str_eq(cradle_sandbox_ip(s), "");
	cradle_sandbox_free(s);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert(it_log_contains(&D, "pods start with loopback only"));
}
END_TEST

/* 40 starts from 10 clients keep every worker busy with an ADD at once
 * (the pool is smaller); more only makes the test longer (cradle-bench
 * starts thousands) */
#define N_CONCURRENT 40
#define N_THREADS 10

struct starter {
	int first;
	bool removing; /* removes its pods instead of starting them */
	char ids[N_CONCURRENT / N_THREADS][CRADLE_SANDBOX_ID_LEN + 1];
	char ips[N_CONCURRENT / N_THREADS][64];
	char err[1024];
};

/* One client's pods, started (with their IPs noted) or removed, one
 * after another. */
static void *
client(void *arg)
{
	struct starter *st = arg;
	struct cradle_conn *c = NULL;
	struct cradle_error err = { 0 };

	if (cradle_connect(D.sock, it_ms(30000), &c, &err) != 0) {
		snprintf(st->err, sizeof(st->err), "connect: %s", err.message);
		return NULL;
	}
	for (int i = 0; i < N_CONCURRENT / N_THREADS; i++) {
		char name[32];
		struct cradle_sandbox *s = NULL;
		struct cradle_pod *pod = NULL;
		int32_t pid;
		if (st->removing) {
			if (cradle_sandbox_remove(c, st->ids[i], &err) == 0)
				continue;
			snprintf(st->err, sizeof(st->err), "remove %s: %s", st->ids[i],
			         err.message);
			break;
		}
		snprintf(name, sizeof(name), "many-%d", st->first + i);
		if (cradle_pod_new(name, "default", name, &pod, &err) != 0 ||
		    cradle_sandbox_run(c, pod, NULL, st->ids[i], &pid, NULL, &err) != 0 ||
		    cradle_sandbox_status(c, st->ids[i], &s, &err) != 0) {
			snprintf(st->err, sizeof(st->err), "%s: %s", name, err.message);
			cradle_pod_free(pod);
			break;
		}
		snprintf(st->ips[i], sizeof(st->ips[i]), "%s", cradle_sandbox_ip(s));
		cradle_sandbox_free(s);
		cradle_pod_free(pod);
	}
	cradle_close(c);
	return NULL;
}

/* Each client's thread, all at once; fails on the first error one met. */
static void
all_clients(struct starter *st, bool removing)
{
	pthread_t t[N_THREADS];

	for (int i = 0; i < N_THREADS; i++) {
		st[i].removing = removing;
		ck_assert_int_eq(pthread_create(&t[i], NULL, client, &st[i]), 0);
	}
	for (int i = 0; i < N_THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < N_THREADS; i++)
		ck_assert_msg(st[i].err[0] == '\0', "%s", st[i].err);
}

/* 40 pods started at once (their ADDs in parallel): every one gets an
 * address of its own; removing them at once (their DELs in parallel)
 * frees every one. */
START_TEST(test_concurrent_starts_get_distinct_ips)
{
	static struct starter st[N_THREADS];

	net_start(CHAIN_DEFAULT, NULL);
	for (int i = 0; i < N_THREADS; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		st[i].first = i * (N_CONCURRENT / N_THREADS);
	}
	all_clients(st, false);
	static char seen[256];
	memset(seen, 0, sizeof(seen));
	int n = 0;
	for (int i = 0; i < N_THREADS; i++) {
		for (int k = 0; k < N_CONCURRENT / N_THREADS; k++) {
			int last = 0;
			ck_assert_msg(sscanf(st[i].ips[k], SUBNET ".%d", &last) == 1 && last > 1 &&
			                      last < 255,
			              "IP \"%s\"", st[i].ips[k]);
			ck_assert_msg(!seen[last], "%s given twice", st[i].ips[k]);
			seen[last] = 1;
			n++;
		}
	}
	ck_assert_int_eq(n, N_CONCURRENT);
	ck_assert_int_eq(allocations(), N_CONCURRENT);
	ck_assert_int_eq(veths(), N_CONCURRENT);
	all_clients(st, true);
	ck_assert_int_eq(allocations(), 0);
	ck_assert_int_eq(veths(), 0);
}
END_TEST

/* The daemon is killed, and the pod's task dies while it is down: the
 * restarted daemon DELs its network (from the cache the ADD left) before
 * serving. */
START_TEST(test_del_after_crash_on_restart)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], ip[64];
	int32_t pid;
	struct cradle_error err = { 0 };

	net_start(CHAIN_DEFAULT, NULL);
	run_pod("net-crash", NULL, id, &pid, ip);
	ck_assert(allocated(ip));
	ck_assert_int_eq(kill(D.pid, SIGKILL), 0);
	ck_assert_int_eq(it_stop(&D), 128 + SIGKILL);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	/* gone, reaped by init: a zombie would still read as its task */
	for (int i = 0; i < it_ms(10000) / 10 && kill(pid, 0) == 0; i++)
		it_sleep_ms(10);
	ck_assert_int_ne(kill(pid, 0), 0);
	ck_assert(allocated(ip));
	it_restart(&D, NULL);
	ck_assert(!allocated(ip));
	ck_assert_int_eq(veths(), 0);
	ck_assert(it_log_contains(&D, "released the network of"));
	struct cradle_sandbox *s = NULL;
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_str_eq(cradle_sandbox_ip(s), "");
	ck_assert_int_eq(cradle_sandbox_phase(s), CRADLE_PHASE_EXITED);
	cradle_sandbox_free(s);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

/* The daemon dies right after a start's ADD, before its record: the
 * restarted daemon DELs from the cache and undoes the rest. */
START_TEST(test_crash_after_add_is_undone)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err = { 0 };
	struct cradle_conn *c = NULL;
	int32_t pid;

	net_start(CHAIN_DEFAULT, "crash:cni");
	ck_assert_int_eq(cradle_connect(D.sock, it_ms(1500), &c, &err), 0);
	struct cradle_pod *pod = it_pod("net-cut", "net-cut");
	ck_assert_int_lt(cradle_sandbox_run(c, pod, NULL, id, &pid, NULL, &err), 0);
	cradle_pod_free(pod);
	cradle_close(c);
	ck_assert_int_eq(it_stop(&D), 128 + SIGKILL);
	ck_assert_int_eq(allocations(), 1);
	it_restart(&D, NULL);
	ck_assert_int_eq(allocations(), 0);
	ck_assert_int_eq(veths(), 0);
	ck_assert(it_log_contains(&D, "a start a crash cut short"));
	struct cradle_sandbox_list *l = NULL;
	ck_assert_int_eq(cradle_sandbox_list(D.conn, -1, NULL, 0, &l, &err), 0);
	ck_assert_uint_eq(cradle_sandbox_list_count(l), 0);
	cradle_sandbox_list_free(l);
}
END_TEST

/* A DEL that keeps failing does not keep a pod forever: remove goes on and
 * keeps the CNI cache under <root>/cni-orphans, and the next start-up
 * DELs from it (here the plugin's DEL works again by then) and drops it. */
START_TEST(test_remove_keeps_a_failing_del)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], ip[64], path[400], orphan[600], deny[400];
	struct cradle_error err = { 0 };
	int32_t pid;

	net_start("{\"type\": \"flaky\"}", NULL);
	snprintf(path, sizeof(path), "%s/bin/flaky", NET);
	snprintf(deny, sizeof(deny), "%s/deny-del", NET);
	char script[1400];
	snprintf(script, sizeof(script),
	         "#!/bin/sh\n"
	         "in=$(cat)\n"
	         "if [ \"$CNI_COMMAND\" = ADD ]; then\n"
	         "  printf '%%s' \"$in\" | python3 -c 'import json,sys; "
	         "print(json.dumps(json.load(sys.stdin)[\"prevResult\"]))'\n"
	         "  exit 0\n"
	         "fi\n"
	         "echo \"$CNI_COMMAND $CNI_CONTAINERID\" >> %s/flaky.log\n"
	         "if [ \"$CNI_COMMAND\" = DEL ] && [ -e %s ]; then\n"
	         "  echo '{\"cniVersion\": \"1.0.0\", \"code\": 11, "
	         "\"msg\": \"cradle-test flaky DEL\"}'\n"
	         "  exit 1\n"
	         "fi\n",
	         NET, deny);
	write_file(path, script, 0755);
	run_pod("net-flaky", NULL, id, &pid, ip);
	write_file(deny, "", 0644);
	ck_assert_msg(cradle_sandbox_remove(D.conn, id, &err) == 0, "%s", err.message);
	snprintf(orphan, sizeof(orphan), "%s/cni-orphans/%s.json", D.root, id);
	ck_assert_msg(access(orphan, F_OK) == 0, "no %s", orphan);
	ck_assert(it_log_contains(&D, "cradle-test flaky DEL"));
	ck_assert_int_eq(unlink(deny), 0);
	snprintf(path, sizeof(path), "%s/flaky.log", NET);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(it_stop(&D), 0);
	it_restart(&D, NULL);
	ck_assert_msg(access(orphan, F_OK) != 0, "%s left", orphan);
	snprintf(orphan, sizeof(orphan), "%s/cni-orphans", D.root);
	ck_assert_msg(access(orphan, F_OK) != 0, "%s left", orphan);
	ck_assert(it_log_contains(&D, "released the network of removed sandbox"));
	/* the DEL of the restart was the plugin's one call since */
	char want[128], *log = NULL;
	size_t len = 0;
	snprintf(want, sizeof(want), "DEL %s\n", id);
	FILE *f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_gt(getdelim(&log, &len, '\0', f), 0);
	fclose(f);
	ck_assert_str_eq(log, want);
	free(log);
	ck_assert_int_eq(allocations(), 0);
	ck_assert_int_eq(veths(), 0);
}
END_TEST

static Suite *
network_suite(void)
{
	Suite *s = suite_create("network");
	TCase *tc = tcase_create("cni");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(300));
	tcase_add_test(tc, test_two_pods_reach_each_other);
	tcase_add_test(tc, test_host_port_reaches_the_pod);
	tcase_add_test(tc, test_failing_plugin_rolls_back);
	tcase_add_test(tc, test_remove_keeps_a_failing_del);
	tcase_add_test(tc, test_config_edited_in_place);
	tcase_add_test(tc, test_host_network_skips_cni);
	tcase_add_test(tc, test_no_config);
	tcase_add_test(tc, test_concurrent_starts_get_distinct_ips);
	tcase_add_test(tc, test_del_after_crash_on_restart);
	tcase_add_test(tc, test_crash_after_add_is_undone);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_network: needs root (namespaces, mounts, CNI plugins); CI "
		                "runs as root\n");
		return 1;
	}
	if (access("/usr/lib/cni/bridge", X_OK) != 0) {
		fprintf(stderr, "test_network: needs Debian's containernetworking-plugins "
		                "(/usr/lib/cni/bridge)\n");
		return 1;
	}
	return it_run_suite(network_suite());
}
