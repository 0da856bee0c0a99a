/* test_security.c - the sandbox as the reference builds it, read back from
 * the kernel: capabilities, no_new_privs, seccomp, ids, cgroups,
 * oom_score_adj, /dev/shm, masked paths, sysctls, DNS files, runtime
 * handlers.  Needs root (CI runs as root). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

extern char **environ;

static struct it_daemon D;

/* containerd's 14 default capabilities (oci/spec.go defaultUnixCaps). */
#define CAPS_14                                                                                  \
	((1ull << 0) | (1ull << 1) | (1ull << 3) | (1ull << 4) | (1ull << 5) | (1ull << 6) |     \
	 (1ull << 7) | (1ull << 8) | (1ull << 10) | (1ull << 13) | (1ull << 18) | (1ull << 27) | \
	 (1ull << 29) | (1ull << 31))

static void
teardown(void)
{
	it_cleanup(&D);
}

/* Run pod (then freed) and return its pid (asserts success). */
static int32_t
run(struct cradle_pod *pod, const char *handler, char id[CRADLE_SANDBOX_ID_LEN + 1])
{
	struct cradle_error err = { 0 };
	int32_t pid = 0;
	int r = cradle_sandbox_run(D.conn, pod, handler, id, &pid, NULL, &err);
	cradle_pod_free(pod);
	ck_assert_msg(r == 0, "run: %s: %s", cradle_status_name(err.code), err.message);
	return pid;
}

/* Run pod (then freed), which must fail; its error code. */
static int
run_fails(struct cradle_pod *pod, const char *handler, struct cradle_error *err)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid;
	int r = cradle_sandbox_run(D.conn, pod, handler, id, &pid, NULL, err);
	cradle_pod_free(pod);
	ck_assert_int_lt(r, 0);
	return err->code;
}

static bool
status_line(pid_t pid, const char *field, char *out, size_t len)
{
	char path[64], line[512];
	size_t fl = strlen(field);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return false;
	bool ok = false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			char *v = line + fl + 1;
			while (*v == '\t' || *v == ' ')
				v++;
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, len, "%s", v);
			ok = true;
			break;
		}
	fclose(f);
	return ok;
}

static unsigned long long
status_hex(pid_t pid, const char *field)
{
	char v[128];
	ck_assert_msg(status_line(pid, field, v, sizeof(v)), "no %s for %d", field, pid);
	return strtoull(v, NULL, 16);
}

static long
status_num(pid_t pid, const char *field)
{
	char v[128];
	ck_assert_msg(status_line(pid, field, v, sizeof(v)), "no %s for %d", field, pid);
	return strtol(v, NULL, 10);
}

/* Read a file from inside the sandbox's network namespace (net sysctls
 * are per namespace of the reader). */
static bool
read_in_netns(pid_t pid, const char *file, char *buf, size_t len)
{
	int p[2];
	char ns[64];
	snprintf(ns, sizeof(ns), "/proc/%d/ns/net", pid);
	ck_assert_int_eq(pipe(p), 0);
	pid_t c = fork();
	if (c == 0) {
		char b[256];
		int fd = open(ns, O_RDONLY);
		if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
			_exit(1);
		/* a fresh proc view of this netns' sysctls */
		int sfd = open(file, O_RDONLY);
		if (sfd < 0)
			_exit(2);
		ssize_t n = read(sfd, b, sizeof(b));
		if (n < 0 || write(p[1], b, (size_t)n) != n)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	ssize_t n = read(p[0], buf, len - 1);
	close(p[0]);
	int st;
	waitpid(c, &st, 0);
	buf[n > 0 ? n : 0] = '\0';
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

START_TEST(test_kernel_default_sandbox)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], path[512], buf[4096];
	struct cradle_sandbox *s;
	struct cradle_error err;

	it_start(&D, NULL);
	int32_t pid = run(it_pod("secure", "secure"), NULL, id);

	/* capabilities: the 14, as root */
	ck_assert_uint_eq(status_hex(pid, "CapBnd"), CAPS_14);
	ck_assert_uint_eq(status_hex(pid, "CapPrm"), CAPS_14);
	ck_assert_uint_eq(status_hex(pid, "CapEff"), CAPS_14);
	ck_assert_uint_eq(status_hex(pid, "CapInh"), 0);
	ck_assert_uint_eq(status_hex(pid, "CapAmb"), 0);
	ck_assert_int_eq(status_num(pid, "NoNewPrivs"), 1);
	/* no profile asked for: unconfined, as the reference */
	ck_assert_int_eq(status_num(pid, "Seccomp"), 0);

	/* oom_score_adj: -998, or the daemon's own where the kernel refuses
	 * a negative value (no CAP_SYS_RESOURCE) */
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", pid);
	it_read_text(path, buf, sizeof(buf));
	char dpath[64], dbuf[32];
	snprintf(dpath, sizeof(dpath), "/proc/%d/oom_score_adj", D.pid);
	it_read_text(dpath, dbuf, sizeof(dbuf));
	bool has_sys_resource = (status_hex(D.pid, "CapEff") >> 24) & 1;
	int want = has_sys_resource ? -998 : (atoi(dbuf) > -998 ? atoi(dbuf) : -998);
	ck_assert_int_eq(atoi(buf), want);

	/* cgroup: <cgroup_root>/<id> in the cpu hierarchy, cpu.shares 2 */
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_ptr_nonnull(cradle_sandbox_cgroup_path(s));
	char want_cg[256];
	snprintf(want_cg, sizeof(want_cg), IT_CGROUP_ROOT "/%s", id);
	ck_assert_str_eq(cradle_sandbox_cgroup_path(s), want_cg);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	it_read_text(path, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, want_cg) != NULL, "pause is not in %s:\n%s", want_cg, buf);
	if (access("/sys/fs/cgroup/cpu/cpu.shares", F_OK) == 0) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/cpu%s/cpu.shares", want_cg);
		it_read_text(path, buf, sizeof(buf));
		ck_assert_int_eq(atoi(buf), 2);
	} else {
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.weight", want_cg);
		it_read_text(path, buf, sizeof(buf));
		ck_assert_int_eq(atoi(buf), 1);
	}

	/* /dev/shm: the sandbox's own tmpfs of 64 MiB, the one cradle keeps
	 * for the pod's other containers (in its mount namespace) */
	struct statfs fs;
	struct stat in, host;
	snprintf(path, sizeof(path), "/proc/%d/root/dev/shm", pid);
	ck_assert_int_eq(statfs(path, &fs), 0);
	ck_assert_uint_eq((unsigned long long)fs.f_blocks * (unsigned long long)fs.f_bsize,
	                  64ull << 20);
	ck_assert_int_eq(stat(path, &in), 0);
	ck_assert_ptr_nonnull(cradle_sandbox_shm_path(s));
	char kept[600];
	it_daemon_path(&D, cradle_sandbox_shm_path(s), kept, sizeof(kept));
	ck_assert_int_eq(stat(kept, &host), 0);
	ck_assert(in.st_dev == host.st_dev);

	/* masked paths read as nothing; the rootfs is read-only */
	/* (kernels differ in which of them exist: check those that do) */
	static const char *files[] = { "kcore", "keys", "timer_list", "latency_stats",
		                       "sched_debug" };
	int masked = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char hostp[64];
		snprintf(hostp, sizeof(hostp), "/proc/%s", files[i]);
		if (access(hostp, F_OK) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/root/proc/%s", pid, files[i]);
		ck_assert_msg(stat(path, &in) == 0, "%s: %s", path, strerror(errno));
		ck_assert_msg(S_ISCHR(in.st_mode) && major(in.st_rdev) == 1 &&
		                      minor(in.st_rdev) == 3,
		              "%s is not masked by /dev/null", path);
		masked++;
	}
	ck_assert_int_gt(masked, 0);
	/* read-only paths: /proc/sys cannot be written */
	snprintf(path, sizeof(path), "/proc/%d/root/proc/sys/kernel/hostname", pid);
	ck_assert_int_lt(open(path, O_WRONLY), 0);
	ck_assert_int_eq(errno, EROFS);
	/* a masked directory is cradle's one empty directory, read-only
	 * (no tmpfs of its own: a superblock per sandbox costs kernel memory
	 * in every memory cgroup) */
	snprintf(path, sizeof(path), "/proc/%d/root/proc/acpi", pid);
	if (stat(path, &in) == 0) {
		char empty[400];
		snprintf(empty, sizeof(empty), "%s/empty", D.state);
		ck_assert_int_eq(stat(empty, &host), 0);
		ck_assert(in.st_dev == host.st_dev && in.st_ino == host.st_ino);
		ck_assert_int_eq(it_count_entries(path), 0);
		snprintf(path, sizeof(path), "/proc/%d/root/proc/acpi/probe", pid);
		ck_assert_int_lt(open(path, O_WRONLY | O_CREAT, 0600), 0);
		ck_assert_int_eq(errno, EROFS);
	}
	snprintf(path, sizeof(path), "/proc/%d/root/etc/probe", pid);
	ck_assert_int_lt(open(path, O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(errno, EROFS);
	cradle_sandbox_free(s);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	/* nothing of its cgroup remains */
	if (access("/sys/fs/cgroup/cpu/cpu.shares", F_OK) == 0) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/cpu%s", want_cg);
		ck_assert_int_ne(access(path, F_OK), 0);
	}
}
END_TEST

START_TEST(test_kernel_seccomp_and_ids)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err;

	it_start(&D, NULL);
	int32_t pid = run(it_pod_json("confined", "confined",
	                              "\"linux\": {\"security_context\": {"
	                              "\"seccomp\": {\"profile_type\": \"RuntimeDefault\"}, "
	                              "\"run_as_user\": {\"value\": 1000}, "
	                              "\"run_as_group\": {\"value\": 2000}, "
	                              "\"supplemental_groups\": [3000, 4000]}}"),
	                  NULL, id);

	ck_assert_int_eq(status_num(pid, "Seccomp"), 2);
	char v[256];
	ck_assert(status_line(pid, "Uid", v, sizeof(v)));
	ck_assert_str_eq(v, "1000\t1000\t1000\t1000");
	ck_assert(status_line(pid, "Gid", v, sizeof(v)));
	ck_assert_str_eq(v, "2000\t2000\t2000\t2000");
	ck_assert(status_line(pid, "Groups", v, sizeof(v)));
	ck_assert_msg(strstr(v, "2000") && strstr(v, "3000") && strstr(v, "4000"), "Groups: %s", v);
	/* a non-root exec keeps no capabilities; the bounding set stays */
	ck_assert_uint_eq(status_hex(pid, "CapEff"), 0);
	ck_assert_uint_eq(status_hex(pid, "CapBnd"), CAPS_14);

	/* Unconfined asked for explicitly */
	char id2[CRADLE_SANDBOX_ID_LEN + 1];
	pid = run(it_pod_json("unconfined", "unconfined",
	                      "\"linux\": {\"security_context\": "
	                      "{\"seccomp\": {\"profile_type\": \"Unconfined\"}}}"),
	          NULL, id2);
	ck_assert_int_eq(status_num(pid, "Seccomp"), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id2, &err), 0);
}
END_TEST

START_TEST(test_kernel_sysctl_and_dns)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], buf[512], path[512];
	struct cradle_sandbox *s;
	struct cradle_error err;

	it_start(&D, NULL);
	int32_t pid = run(it_pod_json("tuned", "tuned",
	                              "\"linux\": {\"sysctls\": "
	                              "{\"net.ipv4.ip_unprivileged_port_start\": \"1000\"}}, "
	                              "\"dns_config\": {\"servers\": [\"10.96.0.10\"], "
	                              "\"searches\": [\"default.svc.cluster.local\"], "
	                              "\"options\": [\"ndots:5\"]}"),
	                  NULL, id);

	ck_assert(read_in_netns(pid, "/proc/sys/net/ipv4/ip_unprivileged_port_start", buf,
	                        sizeof(buf)));
	ck_assert_int_eq(atoi(buf), 1000);
	it_read_text("/proc/sys/net/ipv4/ip_unprivileged_port_start", buf, sizeof(buf));
	ck_assert_int_ne(atoi(buf), 1000);

	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_ptr_nonnull(cradle_sandbox_resolv_conf_path(s));
	it_read_text(cradle_sandbox_resolv_conf_path(s), buf, sizeof(buf));
	ck_assert_str_eq(
		buf, "search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
	/* the pause sees that same file */
	snprintf(path, sizeof(path), "/proc/%d/root/etc/resolv.conf", pid);
	it_read_text(path, buf, sizeof(buf));
	ck_assert_str_eq(
		buf, "search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
	cradle_sandbox_free(s);

	/* present but empty dns_config: a copy of the host's resolv.conf, as
	 * every containerd version makes it (tests/integ/test_errors_ref.c
	 * has a node without one) */
	char id2[CRADLE_SANDBOX_ID_LEN + 1], host[8192], got[8192];
	run(it_pod_json("nodns", "nodns", "\"dns_config\": {}"), NULL, id2);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id2, &s, &err), 0);
	it_read_text(cradle_sandbox_resolv_conf_path(s), got, sizeof(got));
	it_read_text("/etc/resolv.conf", host, sizeof(host));
	ck_assert_str_eq(got, host);
	cradle_sandbox_free(s);

	/* a sysctl that is not namespaced, and a net one with host network */
	ck_assert_int_eq(
		run_fails(it_pod_json("badsysctl", NULL,
	                              "\"linux\": {\"sysctls\": {\"vm.swappiness\": \"10\"}}"),
	                  NULL, &err),
		CRADLE_STATUS_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.message, "vm.swappiness"), "%s", err.message);
	ck_assert_int_eq(
		run_fails(it_pod_json("hostnetsysctl", NULL,
	                              "\"linux\": {\"sysctls\": {\"net.ipv4.ip_forward\": \"1\"}, "
	                              "\"security_context\": {\"namespace_options\": "
	                              "{\"network\": \"NODE\"}}}"),
	                  NULL, &err),
		CRADLE_STATUS_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.message, "net.ipv4.ip_forward"), "%s", err.message);

	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id2, &err), 0);
}
END_TEST

START_TEST(test_runtime_handlers)
{
	struct cradle_pod *pod;
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1];

	it_start_with(&D, NULL, "[runtime.runc]\n[runtime.untrusted]\n");
	ck_assert_int_eq(run_fails(it_pod("nohandler", NULL), "gvisor", &err),
	                 CRADLE_STATUS_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.message, "no runtime for \"gvisor\" is configured"), "%s",
	              err.message);

	pod = it_pod("untrusted-host", NULL);
	ck_assert_int_eq(cradle_pod_set_annotation(pod, "io.kubernetes.cri.untrusted-workload",
	                                           "true", &err),
	                 0);
	ck_assert_int_eq(
		cradle_pod_set_namespace_mode(pod, CRADLE_NS_NETWORK, CRADLE_NS_MODE_NODE, &err),
		0);
	ck_assert_int_eq(run_fails(pod, NULL, &err), CRADLE_STATUS_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.message, "untrusted workload with host access is not allowed"),
	              "%s", err.message);

	/* untrusted without host access runs on the "untrusted" handler */
	pod = it_pod("untrusted-ok", "untrusted-ok");
	ck_assert_int_eq(cradle_pod_set_annotation(pod, "io.kubernetes.cri.untrusted-workload",
	                                           "true", &err),
	                 0);
	run(pod, NULL, id);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

START_TEST(test_host_ipc_uses_host_shm)
{
	struct cradle_pod *pod;
	char id[CRADLE_SANDBOX_ID_LEN + 1], path[512];
	struct cradle_error err;
	struct stat in, host;
	struct cradle_sandbox *s;

	it_start(&D, NULL);
	pod = it_pod("hostipc", "hostipc");
	ck_assert_int_eq(
		cradle_pod_set_namespace_mode(pod, CRADLE_NS_IPC, CRADLE_NS_MODE_NODE, &err), 0);
	int32_t pid = run(pod, NULL, id);
	ck_assert(it_same_ns(pid, "ipc"));
	snprintf(path, sizeof(path), "/proc/%d/root/dev/shm", pid);
	ck_assert_int_eq(stat(path, &in), 0);
	ck_assert_int_eq(stat("/dev/shm", &host), 0);
	ck_assert(in.st_dev == host.st_dev);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_ptr_null(cradle_sandbox_shm_path(s));
	cradle_sandbox_free(s);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

START_TEST(test_user_namespace)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], path[64], buf[256];
	struct cradle_error err;

	it_start(&D, NULL);
	int32_t pid = run(
		it_pod_json(
			"userns", "userns",
			"\"linux\": {\"security_context\": {\"namespace_options\": "
			"{\"userns_options\": {\"mode\": \"POD\", "
			"\"uids\": [{\"host_id\": 100000, \"container_id\": 0, \"length\": 65536}], "
			"\"gids\": [{\"host_id\": 100000, \"container_id\": 0, \"length\": 65536}]}}}}"),
		NULL, id);

	ck_assert(!it_same_ns(pid, "user"));
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	it_read_text(path, buf, sizeof(buf));
	unsigned a, b, c;
	ck_assert_int_eq(sscanf(buf, "%u %u %u", &a, &b, &c), 3);
	ck_assert(a == 0 && b == 100000 && c == 65536);
	/* root inside is 100000 on the host */
	char v[128];
	ck_assert(status_line(pid, "Uid", v, sizeof(v)));
	ck_assert_str_eq(v, "100000\t100000\t100000\t100000");
	/* and still has the 14 capabilities, in its own namespace */
	ck_assert_uint_eq(status_hex(pid, "CapEff"), CAPS_14);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert(!it_proc_alive(pid));
}
END_TEST

static mode_t
mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

/* As nobody (65534, no capabilities): 0 when access(path, how) works,
 * else the errno. */
static int
nobody_access(const char *path, int how)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0)
			_exit(100);
		_exit(access(path, how) == 0 ? 0 : errno);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) != 100);
	return WEXITSTATUS(st);
}

/* Nobody but root lists the sandboxes, reaches their files or writes
 * into a pod's /dev/shm from the host; a state dir an earlier version
 * made 0755 is closed at start-up. */
START_TEST(test_state_closed_to_others)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], p[600];
	struct cradle_error err;

	it_start(&D, NULL);
	ck_assert_int_eq(it_stop(&D), 0);
	snprintf(p, sizeof(p), "%s/sandboxes", D.state);
	ck_assert_int_eq(chmod(p, 0755), 0);
	it_restart(&D, NULL);
	run(it_pod("closed", "closed"), NULL, id);

	static const char *const dirs[] = { "%s/sandboxes", "%s/netns" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), dirs[i], D.state);
		ck_assert_msg(mode_of(p) == 0700, "%s is %o", p, mode_of(p));
		ck_assert_int_eq(nobody_access(p, R_OK), EACCES);
	}
	snprintf(p, sizeof(p), "%s/sandboxes", D.root);
	ck_assert_int_eq(mode_of(p), 0700);
	snprintf(p, sizeof(p), "%s/sandboxes/%s", D.state, id);
	ck_assert_int_eq(mode_of(p), 0700);
	snprintf(p, sizeof(p), "%s/sandboxes/%s/resolv.conf", D.state, id);
	ck_assert_int_eq(nobody_access(p, R_OK), EACCES);
	/* the pod's shm: in the host only an empty dir closed to others (the
	 * tmpfs is in cradle's namespace), and cradle's root is root's */
	snprintf(p, sizeof(p), "%s/shm/%s", D.state, id);
	ck_assert_int_eq(mode_of(p), 0700);
	ck_assert_int_eq(nobody_access(p, W_OK), EACCES);
	char via[700];
	it_daemon_path(&D, p, via, sizeof(via));
	ck_assert_int_eq(nobody_access(via, W_OK), EACCES);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

/* What a client with uid 65534 and these groups gets: connects through
 * the synchronous path (no nng thread in a forked child), asks version,
 * then create (+ remove).  Exit status: bit 0 version refused, bit 1
 * create refused, 100+ setup failed. */
static int
as_client(const char *sock, const gid_t *groups, int n)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct cradle_conn *c = NULL;
		struct cradle_error err = { 0 };
		struct cradle_version v;
		char id[CRADLE_SANDBOX_ID_LEN + 1];
		int out = 0;

		if (setgroups((size_t)n, groups) != 0 || setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0)
			_exit(100);
		if (cradle_connect_flags(sock, it_ms(5000), CRADLE_CONNECT_SYNC, &c, &err) < 0)
			_exit(101);
		if (cradle_version(c, &v, &err) < 0)
			out |= err.code == CRADLE_STATUS_PERMISSION_DENIED ? 1 : 102;
		struct cradle_pod *pod = it_pod("by-peer", NULL);
		if (cradle_sandbox_create(c, pod, NULL, id, &err) < 0)
			out |= err.code == CRADLE_STATUS_PERMISSION_DENIED ? 2 : 103;
		else if (cradle_sandbox_remove(c, id, &err) < 0)
			out = 104;
		cradle_pod_free(pod);
		cradle_close(c);
		_exit(out);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_lt(WEXITSTATUS(st), 100);
	return WEXITSTATUS(st);
}

/* The sockets are 0660 root:[cradled] group; each peer's credentials are
 * checked per request: the group may do anything, readonly_group only
 * read, anyone else (should the socket be opened up) nothing. */
START_TEST(test_socket_access_by_peer)
{
	char p[600];
	struct stat st;

	it_start_with(&D, NULL, "[cradled]\ngroup = 4242\nreadonly_group = 4343\n");
	static const char *const socks[] = { "cradle.sock", "events.sock" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", D.state, socks[i]);
		ck_assert_int_eq(stat(p, &st), 0);
		ck_assert_msg((st.st_mode & 0777) == 0660, "%s is %o", p, st.st_mode & 0777);
		ck_assert_int_eq(st.st_uid, 0);
		ck_assert_int_eq(st.st_gid, 4242);
	}
	/* the test's temp dir is 0700 (mkdtemp); <state> itself is 0711 */
	ck_assert_int_eq(chmod(D.dir, 0711), 0);
	gid_t full[] = { 4242 }, ro[] = { 4242, 4343 };
	ck_assert_int_eq(as_client(D.sock, full, 1), 0);
	ck_assert_int_eq(as_client(D.sock, ro, 2), 2);
	ck_assert_int_eq(chmod(D.sock, 0666), 0);
	ck_assert_int_eq(as_client(D.sock, NULL, 0), 1 | 2);
}
END_TEST

START_TEST(test_privileged)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], path[512];
	struct cradle_error err;

	it_start(&D, NULL);
	int32_t pid = run(it_pod_json("priv", "priv",
	                              "\"linux\": {\"security_context\": {\"privileged\": true, "
	                              "\"seccomp\": {\"profile_type\": \"RuntimeDefault\"}}}"),
	                  NULL, id);
	/* privileged: never a seccomp profile, the same 14 capabilities,
	 * /sys writable (as containerd main does) */
	ck_assert_int_eq(status_num(pid, "Seccomp"), 0);
	ck_assert_uint_eq(status_hex(pid, "CapEff"), CAPS_14);
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	FILE *f = fopen(path, "re");
	char line[1024];
	bool sys_rw = false;
	while (f && fgets(line, sizeof(line), f)) {
		char mnt[256], opts[256];
		if (sscanf(line, "%*s %*s %*s %*s %255s %255s", mnt, opts) == 2 &&
		    strcmp(mnt, "/sys") == 0)
			sys_rw = strncmp(opts, "rw", 2) == 0;
	}
	if (f)
		fclose(f);
	ck_assert(sys_rw);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

/* The per-mount options (field 6) of mount point mnt in /proc/PID/mountinfo
 * (the last such mount: the one on top); false when there is none. */
static bool
mount_opts(pid_t pid, const char *mnt, char *opts, size_t len)
{
	char path[64], line[1024], point[512], o[256];
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	FILE *f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %511s %255s", point, o) == 2 &&
		    strcmp(point, mnt) == 0) {
			snprintf(opts, len, "%s", o);
			found = true;
		}
	fclose(f);
	return found;
}

static bool
has_opt(const char *opts, const char *opt)
{
	size_t l = strlen(opt);
	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, opt, l) == 0 && (p[l] == ',' || p[l] == '\0'))
			return true;
	return false;
}

/* A block device root may open on this machine (some refuse their mounted
 * disk even to root): the first of /sys/dev/block whose node, made in
 * dir, opens. */
static dev_t
openable_block_device(const char *dir)
{
	char node[600];
	unsigned maj, min;
	struct dirent *e;
	DIR *d = opendir("/sys/dev/block");

	ck_assert_ptr_nonnull(d);
	snprintf(node, sizeof(node), "%s/blk-probe", dir);
	while ((e = readdir(d)) != NULL) {
		if (sscanf(e->d_name, "%u:%u", &maj, &min) != 2)
			continue;
		unlink(node);
		if (mknod(node, S_IFBLK | 0600, makedev(maj, min)) != 0)
			continue;
		int fd = open(node, O_RDONLY | O_CLOEXEC);
		unlink(node);
		if (fd >= 0) {
			close(fd);
			closedir(d);
			return makedev(maj, min);
		}
	}
	closedir(d);
	ck_abort_msg("no block device root may open here");
	return 0;
}

/* /dev inside is nodev but for the allowed nodes: a block device node made
 * there (as a pause keeping CAP_MKNOD could) opens nothing, even for the
 * host's root, whom no device cgroup restricts; /dev/null still works. */
START_TEST(test_dev_nodev)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], opts[256], mnt[64];
	struct cradle_error err;

	it_start(&D, NULL);
	dev_t blk = openable_block_device(D.dir);
	int32_t pid = run(it_pod("nodev", "nodev"), NULL, id);

	ck_assert_msg(mount_opts(pid, "/dev", opts, sizeof(opts)), "no /dev mount");
	ck_assert_msg(has_opt(opts, "nodev"), "/dev is mounted %s", opts);
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(mnt, sizeof(mnt), "/dev/%s", nodes[i]);
		ck_assert_msg(mount_opts(pid, mnt, opts, sizeof(opts)), "%s is no mount", mnt);
		ck_assert_msg(!has_opt(opts, "nodev"), "%s is mounted %s", mnt, opts);
	}

	/* in the pod's mount namespace (its root is the pod's) */
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t c = fork();
	ck_assert_int_ge(c, 0);
	if (c == 0) {
		char ns[64];
		int r[3] = { -1, -1, -1 };
		snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)pid);
		int fd = open(ns, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && setns(fd, CLONE_NEWNS) == 0) {
			int n = open("/dev/null", O_RDWR | O_CLOEXEC);
			r[0] = n >= 0 ? 0 : errno;
			r[1] = mknod("/dev/probe-disk", S_IFBLK | 0600, blk) == 0 ? 0 : errno;
			n = open("/dev/probe-disk", O_RDONLY | O_CLOEXEC);
			r[2] = n >= 0 ? 0 : errno;
			unlink("/dev/probe-disk");
		}
		_exit(write(p[1], r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	int r[3] = { -1, -1, -1 }, st;
	ck_assert_int_eq(read(p[0], r, sizeof(r)), (ssize_t)sizeof(r));
	close(p[0]);
	ck_assert_int_eq(waitpid(c, &st, 0), c);
	ck_assert_msg(r[0] == 0, "open /dev/null in the pod: %s", strerror(r[0]));
	ck_assert_msg(r[1] == 0, "mknod in the pod's /dev: %s", strerror(r[1]));
	ck_assert_msg(r[2] == EACCES, "open of a block node in the pod's /dev: %s, want EACCES",
	              r[2] ? strerror(r[2]) : "opened");
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

/* fds 0-2: a daemon started without them opens each on /dev/null before
 * anything else, so no socket or file of its own takes those numbers
 * (where a stray write to stdout or stderr would land). */
static void
assert_stdio_null(pid_t pid)
{
	for (int fd = 0; fd < 3; fd++) {
		char path[64], to[256];
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		ssize_t n = readlink(path, to, sizeof(to) - 1);
		ck_assert_msg(n > 0, "%s: %s", path, strerror(errno));
		to[n] = '\0';
		ck_assert_msg(strcmp(to, "/dev/null") == 0, "cradled's fd %d is %s", fd, to);
	}
}

START_TEST(test_daemon_without_stdio)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], bin[512], archive[512];
	struct cradle_error err = { 0 };
	posix_spawn_file_actions_t fa;

	/* the test's dirs and config, then cradled again on them, with no
	 * descriptor at all */
	it_start(&D, NULL);
	ck_assert_int_eq(it_stop(&D), 0);
	snprintf(bin, sizeof(bin), "%s", it_bin("cradled"));
	snprintf(archive, sizeof(archive), "%s", it_bin("pause.oci.tar"));
	char *argv[] = { bin, "--root",          D.root,  "--state",  D.state,  "--workers",
		         "8", "--image-archive", archive, "--config", D.config, NULL };
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addclosefrom_np(&fa, 0);
	int r = posix_spawn(&D.pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_msg(r == 0, "spawn %s: %s", bin, strerror(r));
	for (int i = 0; i < it_ms(30000) / 10 && D.conn == NULL; i++) {
		int st;
		ck_assert_msg(waitpid(D.pid, &st, WNOHANG) == 0, "cradled exited (status %d)", st);
		struct cradle_version v;
		if (access(D.sock, F_OK) == 0 &&
		    cradle_connect(D.sock, it_ms(30000), &D.conn, &err) == 0 &&
		    cradle_version(D.conn, &v, &err) != 0) {
			cradle_close(D.conn);
			D.conn = NULL;
		}
		if (D.conn == NULL)
			it_sleep_ms(10);
	}
	ck_assert_msg(D.conn != NULL, "cradled did not answer: %s", err.message);
	D.fds_at_start = it_daemon_fds(D.pid);
	D.mounts_at_start = it_count_mounts_in(D.pid, D.dir);
	assert_stdio_null(D.pid);

	/* it works, and its sockets, store and pidfds are elsewhere */
	run(it_pod("nostdio", "nostdio"), NULL, id);
	assert_stdio_null(D.pid);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

static Suite *
security_suite(void)
{
	Suite *s = suite_create("security");
	TCase *tc = tcase_create("kernel");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_kernel_default_sandbox);
	tcase_add_test(tc, test_kernel_seccomp_and_ids);
	tcase_add_test(tc, test_kernel_sysctl_and_dns);
	tcase_add_test(tc, test_runtime_handlers);
	tcase_add_test(tc, test_host_ipc_uses_host_shm);
	tcase_add_test(tc, test_user_namespace);
	tcase_add_test(tc, test_privileged);
	tcase_add_test(tc, test_state_closed_to_others);
	tcase_add_test(tc, test_socket_access_by_peer);
	tcase_add_test(tc, test_dev_nodev);
	tcase_add_test(tc, test_daemon_without_stdio);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_security: needs root (starts cradled); CI runs as root\n");
		return 1;
	}
	return it_run_suite(security_suite());
}
