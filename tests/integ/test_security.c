/* test_security.c - the sandbox as the reference builds it, read back from
 * the kernel: capabilities, no_new_privs, seccomp, ids, cgroups,
 * oom_score_adj, /dev/shm, masked paths, sysctls, DNS files, runtime
 * handlers.  Needs root (CI runs as root). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;

/* The reference's 14 default capabilities (REFERENCE §2.1). */
#define CAPS_14 ((1ull << 0) | (1ull << 1) | (1ull << 3) | (1ull << 4) | (1ull << 5) | \
                 (1ull << 6) | (1ull << 7) | (1ull << 8) | (1ull << 10) | (1ull << 13) | \
                 (1ull << 18) | (1ull << 27) | (1ull << 29) | (1ull << 31))

static void
teardown(void)
{
	it_cleanup(&D);
}

static int32_t
run(struct pod_config *cfg, const char *handler, char id[CRADLE_ID_LEN + 1])
{
	struct cradle_err err = { 0 };
	int32_t pid = 0;
	int r = cradle_sandbox_run(D.conn, cfg, handler, id, &pid, NULL, &err);
	ck_assert_msg(r == 0, "run: %s: %s", cradle_code_name(err.code), err.msg);
	return pid;
}

static int
run_fails(struct pod_config *cfg, const char *handler, struct cradle_err *err)
{
	char id[CRADLE_ID_LEN + 1];
	int32_t pid;
	ck_assert_int_lt(cradle_sandbox_run(D.conn, cfg, handler, id, &pid, NULL, err), 0);
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

static void
read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
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
	struct pod_config cfg;
	char id[CRADLE_ID_LEN + 1], path[512], buf[4096];
	struct proto_sandbox s;
	struct cradle_err err;

	it_start(&D, NULL);
	it_pod(&cfg, "secure", "secure");
	int32_t pid = run(&cfg, NULL, id);
	pod_config_fini(&cfg);

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
	read_text(path, buf, sizeof(buf));
	char dpath[64], dbuf[32];
	snprintf(dpath, sizeof(dpath), "/proc/%d/oom_score_adj", D.pid);
	read_text(dpath, dbuf, sizeof(dbuf));
	bool has_sys_resource = (status_hex(D.pid, "CapEff") >> 24) & 1;
	int want = has_sys_resource ? -998 : (atoi(dbuf) > -998 ? atoi(dbuf) : -998);
	ck_assert_int_eq(atoi(buf), want);

	/* cgroup: <cgroup_root>/<id> in the cpu hierarchy, cpu.shares 2 */
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_ptr_nonnull(s.cgroup_path);
	char want_cg[256];
	snprintf(want_cg, sizeof(want_cg), IT_CGROUP_ROOT "/%s", id);
	ck_assert_str_eq(s.cgroup_path, want_cg);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	read_text(path, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, want_cg) != NULL, "pause is not in %s:\n%s", want_cg, buf);
	if (access("/sys/fs/cgroup/cpu/cpu.shares", F_OK) == 0) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/cpu%s/cpu.shares", want_cg);
		read_text(path, buf, sizeof(buf));
		ck_assert_int_eq(atoi(buf), 2);
	} else {
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.weight", want_cg);
		read_text(path, buf, sizeof(buf));
		ck_assert_int_eq(atoi(buf), 1);
	}

	/* /dev/shm: the sandbox's own tmpfs of 64 MiB, the one on the host */
	struct statfs fs;
	struct stat in, host;
	snprintf(path, sizeof(path), "/proc/%d/root/dev/shm", pid);
	ck_assert_int_eq(statfs(path, &fs), 0);
	ck_assert_uint_eq((unsigned long long)fs.f_blocks * (unsigned long long)fs.f_bsize, 64ull << 20);
	ck_assert_int_eq(stat(path, &in), 0);
	ck_assert_ptr_nonnull(s.shm_path);
	ck_assert_int_eq(stat(s.shm_path, &host), 0);
	ck_assert(in.st_dev == host.st_dev);

	/* masked paths read as nothing; the rootfs is read-only */
	/* (kernels differ in which of them exist: check those that do) */
	static const char *files[] = { "kcore", "keys", "timer_list", "latency_stats", "sched_debug" };
	int masked = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char hostp[64];
		snprintf(hostp, sizeof(hostp), "/proc/%s", files[i]);
		if (access(hostp, F_OK) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/root/proc/%s", pid, files[i]);
		ck_assert_msg(stat(path, &in) == 0, "%s: %s", path, strerror(errno));
		ck_assert_msg(S_ISCHR(in.st_mode) && major(in.st_rdev) == 1 && minor(in.st_rdev) == 3,
		              "%s is not masked by /dev/null", path);
		masked++;
	}
	ck_assert_int_gt(masked, 0);
	/* read-only paths: /proc/sys cannot be written */
	snprintf(path, sizeof(path), "/proc/%d/root/proc/sys/kernel/hostname", pid);
	ck_assert_int_lt(open(path, O_WRONLY), 0);
	ck_assert_int_eq(errno, EROFS);
	snprintf(path, sizeof(path), "/proc/%d/root/proc/acpi", pid);
	if (stat(path, &in) == 0) {
		ck_assert_int_eq(statfs(path, &fs), 0);
		ck_assert_uint_eq(fs.f_type, 0x01021994); /* TMPFS_MAGIC */
	}
	snprintf(path, sizeof(path), "/proc/%d/root/etc/probe", pid);
	ck_assert_int_lt(open(path, O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(errno, EROFS);
	proto_sandbox_fini(&s);
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
	struct pod_config cfg;
	char id[CRADLE_ID_LEN + 1];
	struct cradle_err err;

	it_start(&D, NULL);
	it_pod(&cfg, "confined", "confined");
	cfg.linux.security_context.seccomp.present = true;
	cfg.linux.security_context.seccomp.profile_type = SECCOMP_PROFILE_RUNTIME_DEFAULT;
	cfg.linux.security_context.has_run_as_user = true;
	cfg.linux.security_context.run_as_user = 1000;
	cfg.linux.security_context.has_run_as_group = true;
	cfg.linux.security_context.run_as_group = 2000;
	int64_t groups[] = { 3000, 4000 };
	cfg.linux.security_context.supplemental_groups.v = groups;
	cfg.linux.security_context.supplemental_groups.n = 2;
	int32_t pid = run(&cfg, NULL, id);
	cfg.linux.security_context.supplemental_groups.v = NULL;
	cfg.linux.security_context.supplemental_groups.n = 0;
	pod_config_fini(&cfg);

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
	char id2[CRADLE_ID_LEN + 1];
	it_pod(&cfg, "unconfined", "unconfined");
	cfg.linux.security_context.seccomp.present = true;
	cfg.linux.security_context.seccomp.profile_type = SECCOMP_PROFILE_UNCONFINED;
	pid = run(&cfg, NULL, id2);
	pod_config_fini(&cfg);
	ck_assert_int_eq(status_num(pid, "Seccomp"), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id2, &err), 0);
}
END_TEST

START_TEST(test_kernel_sysctl_and_dns)
{
	struct pod_config cfg;
	char id[CRADLE_ID_LEN + 1], buf[512], path[512];
	struct proto_sandbox s;
	struct cradle_err err;

	it_start(&D, NULL);
	it_pod(&cfg, "tuned", "tuned");
	proto_kvs_add(&cfg.linux.sysctls, "net.ipv4.ip_unprivileged_port_start", "1000");
	cfg.has_dns_config = true;
	proto_strs_add(&cfg.dns_config.servers, "10.96.0.10");
	proto_strs_add(&cfg.dns_config.searches, "default.svc.cluster.local");
	proto_strs_add(&cfg.dns_config.options, "ndots:5");
	int32_t pid = run(&cfg, NULL, id);
	pod_config_fini(&cfg);

	ck_assert(read_in_netns(pid, "/proc/sys/net/ipv4/ip_unprivileged_port_start", buf, sizeof(buf)));
	ck_assert_int_eq(atoi(buf), 1000);
	read_text("/proc/sys/net/ipv4/ip_unprivileged_port_start", buf, sizeof(buf));
	ck_assert_int_ne(atoi(buf), 1000);

	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_ptr_nonnull(s.resolv_conf_path);
	read_text(s.resolv_conf_path, buf, sizeof(buf));
	ck_assert_str_eq(buf, "search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
	/* the pause sees that same file */
	snprintf(path, sizeof(path), "/proc/%d/root/etc/resolv.conf", pid);
	read_text(path, buf, sizeof(buf));
	ck_assert_str_eq(buf, "search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
	proto_sandbox_fini(&s);

	/* present but empty dns_config: an empty file */
	char id2[CRADLE_ID_LEN + 1];
	it_pod(&cfg, "nodns", "nodns");
	cfg.has_dns_config = true;
	run(&cfg, NULL, id2);
	pod_config_fini(&cfg);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id2, &s, &err), 0);
	read_text(s.resolv_conf_path, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	proto_sandbox_fini(&s);

	/* a sysctl that is not namespaced, and a net one with host network */
	it_pod(&cfg, "badsysctl", NULL);
	proto_kvs_add(&cfg.linux.sysctls, "vm.swappiness", "10");
	ck_assert_int_eq(run_fails(&cfg, NULL, &err), CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "vm.swappiness"), "%s", err.msg);
	pod_config_fini(&cfg);
	it_pod(&cfg, "hostnetsysctl", NULL);
	cfg.linux.security_context.namespace_options.network = NS_NODE;
	proto_kvs_add(&cfg.linux.sysctls, "net.ipv4.ip_forward", "1");
	ck_assert_int_eq(run_fails(&cfg, NULL, &err), CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "net.ipv4.ip_forward"), "%s", err.msg);
	pod_config_fini(&cfg);

	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id2, &err), 0);
}
END_TEST

START_TEST(test_runtime_handlers)
{
	struct pod_config cfg;
	struct cradle_err err;
	char id[CRADLE_ID_LEN + 1];

	it_start_with(&D, NULL, "[runtime.runc]\n[runtime.untrusted]\nvm = true\n");
	it_pod(&cfg, "nohandler", NULL);
	ck_assert_int_eq(run_fails(&cfg, "gvisor", &err), CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "no runtime for \"gvisor\" is configured"), "%s", err.msg);
	pod_config_fini(&cfg);

	it_pod(&cfg, "untrusted-host", NULL);
	proto_kvs_add(&cfg.annotations, "io.kubernetes.cri.untrusted-workload", "true");
	cfg.linux.security_context.namespace_options.network = NS_NODE;
	ck_assert_int_eq(run_fails(&cfg, NULL, &err), CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "untrusted workload with host access is not allowed"), "%s", err.msg);
	pod_config_fini(&cfg);

	/* untrusted without host access runs on the "untrusted" handler */
	it_pod(&cfg, "untrusted-ok", "untrusted-ok");
	proto_kvs_add(&cfg.annotations, "io.kubernetes.cri.untrusted-workload", "true");
	run(&cfg, NULL, id);
	pod_config_fini(&cfg);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

START_TEST(test_host_ipc_uses_host_shm)
{
	struct pod_config cfg;
	char id[CRADLE_ID_LEN + 1], path[512];
	struct cradle_err err;
	struct stat in, host;
	struct proto_sandbox s;

	it_start(&D, NULL);
	it_pod(&cfg, "hostipc", "hostipc");
	cfg.linux.security_context.namespace_options.ipc = NS_NODE;
	int32_t pid = run(&cfg, NULL, id);
	pod_config_fini(&cfg);
	ck_assert(it_same_ns(pid, "ipc"));
	snprintf(path, sizeof(path), "/proc/%d/root/dev/shm", pid);
	ck_assert_int_eq(stat(path, &in), 0);
	ck_assert_int_eq(stat("/dev/shm", &host), 0);
	ck_assert(in.st_dev == host.st_dev);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_ptr_null(s.shm_path);
	proto_sandbox_fini(&s);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

START_TEST(test_user_namespace)
{
	struct pod_config cfg;
	char id[CRADLE_ID_LEN + 1], path[64], buf[256];
	struct cradle_err err;
	struct proto_idmap map = { .host_id = 100000, .container_id = 0, .length = 65536 };

	it_start(&D, NULL);
	it_pod(&cfg, "userns", "userns");
	cfg.linux.security_context.namespace_options.userns_options.present = true;
	cfg.linux.security_context.namespace_options.userns_options.mode = NS_POD;
	struct proto_idmaps *maps[] = { &cfg.linux.security_context.namespace_options.userns_options.uids,
	                                &cfg.linux.security_context.namespace_options.userns_options.gids };
	for (int i = 0; i < 2; i++) {
		maps[i]->v = malloc(sizeof(map));   /* freed by pod_config_fini */
		ck_assert_ptr_nonnull(maps[i]->v);
		maps[i]->v[0] = map;
		maps[i]->n = 1;
	}
	int32_t pid = run(&cfg, NULL, id);
	pod_config_fini(&cfg);

	ck_assert(!it_same_ns(pid, "user"));
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	read_text(path, buf, sizeof(buf));
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

START_TEST(test_privileged)
{
	struct pod_config cfg;
	char id[CRADLE_ID_LEN + 1], path[512];
	struct cradle_err err;

	it_start(&D, NULL);
	it_pod(&cfg, "priv", "priv");
	cfg.linux.security_context.privileged = true;
	cfg.linux.security_context.seccomp.present = true;
	cfg.linux.security_context.seccomp.profile_type = SECCOMP_PROFILE_RUNTIME_DEFAULT;
	int32_t pid = run(&cfg, NULL, id);
	pod_config_fini(&cfg);
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
		if (sscanf(line, "%*s %*s %*s %*s %255s %255s", mnt, opts) == 2 && strcmp(mnt, "/sys") == 0)
			sys_rw = strncmp(opts, "rw", 2) == 0;
	}
	if (f)
		fclose(f);
	ck_assert(sys_rw);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
}
END_TEST

static Suite *
security_suite(void)
{
	Suite *s = suite_create("security");
	TCase *tc = tcase_create("kernel");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_kernel_default_sandbox);
	tcase_add_test(tc, test_kernel_seccomp_and_ids);
	tcase_add_test(tc, test_kernel_sysctl_and_dns);
	tcase_add_test(tc, test_runtime_handlers);
	tcase_add_test(tc, test_host_ipc_uses_host_shm);
	tcase_add_test(tc, test_user_namespace);
	tcase_add_test(tc, test_privileged);
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
