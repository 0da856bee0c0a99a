/* test_systemd.c - cradled on a node whose cgroups systemd manages: a real
 * systemd (Debian's) booted as PID 1 of a container of its own
 * (it_systemd_boot, tests/integ/libinteg.h), a real cradled in it.
 *
 * The host's PID 1 is not systemd, so this is where the systemd cgroup
 * driver (a transient scope per pause, Delegate=yes, through systemd's
 * D-Bus API) can run: through runc (launcher = oci, systemd_cgroup =
 * true: runc makes the scope), through cradled itself (the native
 * launcher, sandbox/sdscope.h), and the cgroupfs layout beside them.
 * Each test of the "cradled" case boots a container of its own (about
 * 2.7 s with its power-off).  The refusal where systemd does not manage
 * the node: the native launcher's here, the oci one's in test_oci
 * (test_oci_startup_refusals).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

#define RUNC "/usr/sbin/runc"

static struct it_systemd SD;
static struct it_daemon D;

static void
setup(void)
{
	it_systemd_boot(&SD);
}

/* the daemon's check first (its sandboxes are in the container), then
 * the container's */
static void
teardown(void)
{
	it_cleanup(&D);
	it_systemd_halt(&SD);
}

/* a sysctl of the host, as text */
static void
sysctl_text(const char *key, char *buf, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	it_read_text(path, buf, len);
}

/* Host state the units masked in the container would change. */
static const char *const host_sysctls[] = { "kernel/core_uses_pid", "kernel/core_pattern",
	                                    "kernel/pid_max",       "fs/protected_regular",
	                                    "fs/protected_fifos",   "fs/file-max",
	                                    "fs/nr_open",           "net/ipv4/ip_forward" };
#define N_SYSCTLS (sizeof(host_sysctls) / sizeof(host_sysctls[0]))

/* The container boots to "running" on a root it cannot write, with none
 * of the host's /tmp, no writable /proc/sys, the units that touch the
 * host masked, and halts leaving nothing: the host's /tmp, sysctls and
 * cgroups as they were. */
START_TEST(test_systemd_boot_halt)
{
	struct it_systemd sd;
	char canary[256], out[4096], before[N_SYSCTLS][256], after[256];

	for (size_t i = 0; i < N_SYSCTLS; i++)
		sysctl_text(host_sysctls[i], before[i], sizeof(before[i]));
	snprintf(canary, sizeof(canary), IT_TMP_PREFIX "canary-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(canary));

	it_systemd_boot(&sd);
	/* systemd manages its cgroups: what cradled checks */
	ck_assert_int_eq(it_systemd_run(&sd, out, sizeof(out), "cat /proc/1/comm"), 0);
	ck_assert_str_eq(out, "systemd\n");
	ck_assert_int_eq(it_systemd_run(&sd, out, sizeof(out), "test -d /run/systemd/system"), 0);
	ck_assert_int_eq(it_systemd_run(&sd, out, sizeof(out), "systemctl is-active dbus.service"),
	                 0);
	ck_assert_int_eq(
		it_systemd_run(&sd, out, sizeof(out), "test -S /run/dbus/system_bus_socket"), 0);
	/* its PID 1 is the host's sd.init */
	ck_assert_int_eq(it_systemd_host_pid(&sd, 1), sd.init);
	ck_assert(!it_same_ns(sd.init, "pid"));
	ck_assert(!it_same_ns(sd.init, "mnt"));
	ck_assert(!it_same_ns(sd.init, "cgroup"));
	/* a tmpfs /tmp of its own, a read-only root, /proc/sys read-only */
	ck_assert_int_ne(it_systemd_run(&sd, out, sizeof(out), "test -e %s", canary), 0);
	ck_assert_int_eq(it_systemd_run(&sd, out, sizeof(out), "touch /tmp/x && rm /tmp/x"), 0);
	ck_assert_int_ne(it_systemd_run(&sd, out, sizeof(out), "touch /etc/cradle-probe"), 0);
	ck_assert_msg(strstr(out, "Read-only file system") != NULL, "%s", out);
	ck_assert_int_ne(it_systemd_run(&sd, out, sizeof(out),
	                                "cat /proc/sys/kernel/pid_max > /proc/sys/kernel/pid_max"),
	                 0);
	ck_assert_msg(strstr(out, "Read-only file system") != NULL, "%s", out);
	/* the units that would touch the host are masked, not merely idle */
	ck_assert_int_eq(it_systemd_run(&sd, out, sizeof(out),
	                                "systemctl show -p LoadState,ActiveState "
	                                "systemd-tmpfiles-setup.service systemd-sysctl.service"),
	                 0);
	ck_assert_msg(strstr(out, "LoadState=masked\nActiveState=inactive\n\n"
	                          "LoadState=masked\nActiveState=inactive") != NULL,
	              "%s", out);
	/* nothing failed on the way up */
	ck_assert_int_eq(it_systemd_run(&sd, out, sizeof(out), "systemctl is-system-running"), 0);
	ck_assert_str_eq(out, "running\n");

	it_systemd_halt(&sd);
	ck_assert_int_eq(sd.pid, 0);
	ck_assert_int_eq(access(canary, F_OK), 0);
	ck_assert_int_eq(access("/tmp", W_OK), 0);
	ck_assert_int_eq(rmdir(canary), 0);
	for (size_t i = 0; i < N_SYSCTLS; i++) {
		sysctl_text(host_sysctls[i], after, sizeof(after));
		ck_assert_msg(strcmp(before[i], after) == 0, "%s: %s before, %s after",
		              host_sysctls[i], before[i], after);
	}
	ck_assert_int_eq(access("/sys/fs/cgroup/pids" IT_SYSTEMD_CGROUP, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* a pod of the container's cradled, its host pid */
static pid_t
run_pod(const char *name, const char *extra, const char *handler, char *id)
{
	struct cradle_error err = { 0 };
	struct cradle_pod *pod = it_pod_json(name, NULL, extra);
	int32_t inner = 0;

	int r = cradle_sandbox_run(D.conn, pod, handler, id, &inner, NULL, &err);
	cradle_pod_free(pod);
	ck_assert_msg(r == 0, "run %s: %s: %s", name, cradle_status_name(err.code), err.message);
	ck_assert_int_gt(inner, 1);
	pid_t host = it_systemd_host_pid(&SD, inner);
	ck_assert_msg(host > 0, "no host pid for the container's %d", (int)inner);
	ck_assert(it_proc_alive(host));
	return host;
}

static void
stop_remove(const char *id)
{
	struct cradle_error err = { 0 };

	ck_assert_msg(cradle_sandbox_stop(D.conn, id, 0, &err) == 0, "stop: %s", err.message);
	ck_assert_msg(cradle_sandbox_remove(D.conn, id, &err) == 0, "remove: %s", err.message);
}

/* The line of /proc/PID/cgroup for hierarchy h ("cpu", "name=systemd"):
 * its path, as the host sees it. */
static void
cgroup_of(pid_t pid, const char *h, char *out, size_t len)
{
	char path[64], buf[4096];
	size_t hl = strlen(h);

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	it_read_text(path, buf, sizeof(buf));
	for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *c = strchr(line, ':');
		if (c != NULL && strncmp(c + 1, h, hl) == 0 && c[1 + hl] == ':') {
			snprintf(out, len, "%s", c + 2 + hl);
			return;
		}
	}
	ck_abort_msg("pid %d is in no %s cgroup", (int)pid, h);
}

/* pid is in the container's cgroup path (as the container sees it) in
 * each of the n hierarchies h; every one that is not is listed. */
static void
assert_in(pid_t pid, const char *const *h, size_t n, const char *path)
{
	char want[800], cg[800], bad[4096] = "";
	size_t len = 0;

	snprintf(want, sizeof(want), "%s%s", IT_SYSTEMD_CGROUP, path);
	for (size_t i = 0; i < n; i++) {
		cgroup_of(pid, h[i], cg, sizeof(cg));
		if (strcmp(cg, want) != 0 && len < sizeof(bad))
			len += (size_t)snprintf(bad + len, sizeof(bad) - len, "\n %s: %s", h[i],
			                        cg);
	}
	ck_assert_msg(len == 0, "pid %d is not in %s in:%s", (int)pid, want, bad);
}

/* cradled in the container, cgroupfs layout (no systemd driver): a pod
 * under a "/kubepods/..." parent starts, its pause (seen from the host)
 * in its cgroup below the container's, and goes without a trace. */
START_TEST(test_systemd_cradled_cgroupfs)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], cg[512], want[512], path[700];

	it_start_in_systemd(&D, &SD, NULL);
	/* cradled is in the container's namespaces, and the container's
	 * root cgroup */
	ck_assert(it_systemd_host_pid(&SD, it_nspid_inner(D.pid)) == D.pid);
	ck_assert(!it_same_ns(D.pid, "pid"));
	cgroup_of(D.pid, "cpu", cg, sizeof(cg));
	ck_assert_str_eq(cg, IT_SYSTEMD_CGROUP);

	pid_t host = run_pod("sd-cgroupfs",
	                     "\"linux\": {\"cgroup_parent\": \"/kubepods/besteffort/pod-sd\"}",
	                     NULL, id);
	/* three pid namespaces: the host's, the container's, the pod's */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)host);
	ck_assert_int_eq(it_sh("grep -Eq '^NSpid:\\s+%d\\s+[0-9]+\\s+1$' %s", (int)host, path), 0);
	/* its leaf in each hierarchy; memory and cpuset alone: the parent
	 * ("Shared hierarchies", sandbox/cgroup.h) */
	static const char *const leaf[] = { "name=systemd", "cpu",     "cpuacct", "pids",
		                            "devices",      "freezer", "blkio",   "" };
	static const char *const shared[] = { "memory", "cpuset" };
	snprintf(want, sizeof(want), "/kubepods/besteffort/pod-sd/%s", id);
	assert_in(host, leaf, sizeof(leaf) / sizeof(leaf[0]), want);
	assert_in(host, shared, 2, "/kubepods/besteffort/pod-sd");
	snprintf(want, sizeof(want), "%s/kubepods/besteffort/pod-sd/%s", IT_SYSTEMD_CGROUP, id);
	/* the harness counts it: a leak of it would fail it_cleanup */
	ck_assert_int_eq(it_count_pause_tasks(), 1);

	stop_remove(id);
	ck_assert(!it_proc_alive(host));
	ck_assert_int_eq(it_count_pause_tasks(), 0);
	snprintf(path, sizeof(path), "/sys/fs/cgroup/cpu%s", want);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

/* The scope unit of a running pause (host pid) as systemd shows it:
 * delegated, in the pod's slice, active, its cgroup want (the scope's
 * path), and the pause its only task, with the pod's CPU shares (a
 * sandbox asks for 2).  props: more "Key=value" lines it must show. */
static void
assert_scope(const char *unit, const char *slice, const char *want, pid_t host,
             const char *const *props)
{
	char out[4096], line[800], path[900];

	ck_assert_int_eq(it_systemd_run(&SD, out, sizeof(out), "systemctl show %s", unit), 0);
	const char *must[] = { "Delegate=yes", "ActiveState=active" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(line, sizeof(line), "\n%s\n", must[i]);
		ck_assert_msg(strstr(out, line) != NULL, "%s: no %s", unit, must[i]);
	}
	for (size_t i = 0; props != NULL && props[i] != NULL; i++) {
		snprintf(line, sizeof(line), "\n%s\n", props[i]);
		ck_assert_msg(strstr(out, line) != NULL, "%s: no %s", unit, props[i]);
	}
	snprintf(line, sizeof(line), "\nSlice=%s\n", slice);
	ck_assert_msg(strstr(out, line) != NULL, "%s: not in %s", unit, slice);
	snprintf(line, sizeof(line), "\nControlGroup=%s\n", want);
	ck_assert_msg(strstr(out, line) != NULL, "%s: not at %s", unit, want);
	/* systemd's view of the pause: its pid in the container */
	ck_assert_int_eq(it_systemd_run(&SD, out, sizeof(out),
	                                "cat /sys/fs/cgroup/systemd%s/cgroup.procs", want),
	                 0);
	ck_assert_int_eq(it_systemd_host_pid(&SD, atoi(out)), host);
	ck_assert_msg(strlen(out) > 0 && strchr(out, '\n') == out + strlen(out) - 1, "%s", out);
	snprintf(path, sizeof(path), "/sys/fs/cgroup/cpu%s%s/cpu.shares", IT_SYSTEMD_CGROUP, want);
	it_read_text(path, out, sizeof(out));
	ck_assert_str_eq(out, "2\n");
}

/* After stop and remove: systemd does not know the unit any more, its
 * cgroup (path: below IT_SYSTEMD_CGROUP) is gone from every hierarchy,
 * and the pod's slice, the kubelet's to remove, is stopped. */
static void
assert_unit_gone(const char *unit, const char *path, const char *slice)
{
	static const char *const mounts[] = {
		"systemd", "cpu",     "cpuacct", "cpuset",  "memory",
		"pids",    "devices", "blkio",   "freezer", "unified"
	};
	char out[4096], dir[900];

	ck_assert_int_eq(
		it_systemd_run(&SD, out, sizeof(out), "systemctl show -p LoadState %s", unit), 0);
	ck_assert_msg(strcmp(out, "LoadState=not-found\n") == 0, "%s", out);
	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s%s%s", mounts[i], IT_SYSTEMD_CGROUP,
		         path);
		ck_assert_msg(access(dir, F_OK) == -1 && errno == ENOENT, "%s is left", dir);
	}
	ck_assert_int_eq(it_systemd_run(&SD, out, sizeof(out), "systemctl stop %s", slice), 0);
}

/* The systemd cgroup driver through runc (launcher = oci, systemd_cgroup
 * = true): the pause in a transient scope systemd knows, delegated, in
 * the pod's slice, in that scope's cgroup in every hierarchy runc joins;
 * after stop and remove the unit and its cgroup are gone. */
START_TEST(test_systemd_runc_scope)
{
	static const char conf[] = "[runtime.runc]\n"
				   "[runtime.runc-sd]\nlauncher = oci\npath = " RUNC "\n"
				   "systemd_cgroup = true\n";
	/* runc's systemd driver: the scope's cgroup in these (devices: the
	 * slice's, runc 1.1 on v1) */
	static const char *const hier[] = { "name=systemd", "cpu", "cpuacct", "memory", "pids" };
	char id[CRADLE_SANDBOX_ID_LEN + 1], out[4096], want[700], unit[128];

	it_start_in_systemd(&D, &SD, conf);
	pid_t host = run_pod("sd-runc",
	                     "\"linux\": {\"cgroup_parent\": \"kubepods-besteffort-podsd.slice\"}",
	                     "runc-sd", id);
	snprintf(unit, sizeof(unit), "cri-containerd-%s.scope", id);
	snprintf(want, sizeof(want),
	         "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podsd.slice/%s",
	         unit);
	assert_scope(unit, "kubepods-besteffort-podsd.slice", want, host, NULL);
	assert_in(host, hier, sizeof(hier) / sizeof(hier[0]), want);
	ck_assert_int_eq(it_count_pause_tasks(), 1);

	stop_remove(id);
	ck_assert(!it_proc_alive(host));
	ck_assert_int_eq(it_systemd_run(&SD, out, sizeof(out),
	                                "systemctl list-units --all --no-legend "
	                                "'cri-containerd-*'"),
	                 0);
	ck_assert_msg(out[0] == '\0', "%s", out);
	assert_unit_gone(unit, want, "kubepods-besteffort-podsd.slice");
}
END_TEST

/* The systemd cgroup driver of the native launcher (sandbox/sdscope.h):
 * cradled asks systemd for the scope itself (StartTransientUnit,
 * Delegate=yes, the pause's pid); cpuset and freezer, which systemd does
 * not handle on v1, are joined at the same path the cgroupfs way.  After
 * stop and remove nothing of it is left, in systemd or in any
 * hierarchy. */
START_TEST(test_systemd_native_scope)
{
	static const char conf[] = "[runtime.runc]\n[runtime.sd]\nsystemd_cgroup = true\n";
	/* "": the cgroup2 hierarchy (hybrid: membership) */
	/* the scope's cgroup in every hierarchy, but cpuset (v1: the pause
	 * joins the slice there, "Shared hierarchies" in sandbox/cgroup.h) */
	static const char *const hier[] = { "name=systemd", "cpu",   "cpuacct", "memory", "pids",
		                            "devices",      "blkio", "freezer", "" };
	static const char *const shared[] = { "cpuset" };
	char id[CRADLE_SANDBOX_ID_LEN + 1], out[4096], want[700], unit[128], path[900];

	it_start_in_systemd(&D, &SD, conf);
	pid_t host = run_pod("sd-native",
	                     "\"linux\": {\"cgroup_parent\": \"kubepods-besteffort-podsd.slice\"}",
	                     "sd", id);
	snprintf(unit, sizeof(unit), "cri-containerd-%s.scope", id);
	snprintf(want, sizeof(want),
	         "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podsd.slice/%s",
	         unit);
	assert_scope(unit, "kubepods-besteffort-podsd.slice", want, host,
	             (const char *const[]){ "DevicePolicy=strict", NULL });
	assert_in(host, hier, sizeof(hier) / sizeof(hier[0]), want);
	assert_in(host, shared, 1,
	          "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podsd.slice");
	/* devices: not all */
	snprintf(path, sizeof(path), "/sys/fs/cgroup/devices%s%s/devices.list", IT_SYSTEMD_CGROUP,
	         want);
	it_read_text(path, out, sizeof(out));
	ck_assert_msg(strstr(out, "a *:* rwm") == NULL, "%s", out);
	ck_assert_msg(strstr(out, "c 1:3 rwm") != NULL, "%s", out); /* /dev/null */
	ck_assert_int_eq(it_count_pause_tasks(), 1);

	stop_remove(id);
	ck_assert(!it_proc_alive(host));
	assert_unit_gone(unit, want, "kubepods-besteffort-podsd.slice");
}
END_TEST

/* A pod of the native driver outlives its daemon: cradled killed
 * (SIGKILL) and started again adopts it, its scope still active, and its
 * removal then stops the unit (named in the sandbox's intent file) and
 * leaves no cgroup in any hierarchy. */
START_TEST(test_systemd_native_restart)
{
	static const char conf[] = "[runtime.runc]\n[runtime.sd]\nsystemd_cgroup = true\n";
	struct cradle_error err = { 0 };
	struct cradle_sandbox *sb = NULL;
	char id[CRADLE_SANDBOX_ID_LEN + 1], out[4096], unit[128], path[900];

	it_start_in_systemd(&D, &SD, conf);
	pid_t host = run_pod("sd-restart",
	                     "\"linux\": {\"cgroup_parent\": \"kubepods-burstable-podsd.slice\"}",
	                     "sd", id);
	snprintf(unit, sizeof(unit), "cri-containerd-%s.scope", id);
	ck_assert_int_eq(kill(D.pid, SIGKILL), 0);
	ck_assert_int_eq(it_stop(&D), 128 + SIGKILL);
	ck_assert(it_proc_alive(host));
	it_restart(&D, NULL);

	ck_assert_msg(cradle_sandbox_status(D.conn, id, &sb, &err) == 0, "status: %s", err.message);
	ck_assert_int_eq(cradle_sandbox_state(sb), CRADLE_STATE_READY);
	ck_assert_int_eq(it_systemd_host_pid(&SD, cradle_sandbox_pid(sb)), host);
	cradle_sandbox_free(sb);
	ck_assert_int_eq(it_systemd_run(&SD, out, sizeof(out), "systemctl is-active %s", unit), 0);

	stop_remove(id);
	ck_assert(!it_proc_alive(host));
	snprintf(path, sizeof(path),
	         "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podsd.slice/%s",
	         unit);
	assert_unit_gone(unit, path, "kubepods-burstable-podsd.slice");
}
END_TEST

/* The driver needs a slice for a parent: a cgroupfs path is refused
 * (FAILED_PRECONDITION, the handler and the parent named) and the failed
 * start leaves nothing, in systemd neither. */
START_TEST(test_systemd_native_parent_not_slice)
{
	static const char conf[] = "[runtime.runc]\n[runtime.sd]\nsystemd_cgroup = true\n";
	struct cradle_error err = { 0 };
	char id[CRADLE_SANDBOX_ID_LEN + 1], out[4096];
	struct cradle_pod *pod = it_pod_json(
		"sd-noslice", NULL, "\"linux\": {\"cgroup_parent\": \"/kubepods/besteffort\"}");

	it_start_in_systemd(&D, &SD, conf);
	int r = cradle_sandbox_run(D.conn, pod, "sd", id, NULL, NULL, &err);
	cradle_pod_free(pod);
	ck_assert_int_lt(r, 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_FAILED_PRECONDITION);
	ck_assert_msg(strstr(err.message,
	                     "[runtime.sd] systemd_cgroup: cgroup parent "
	                     "\"/kubepods/besteffort\" is not a systemd slice") != NULL,
	              "%s", err.message);
	ck_assert_int_eq(
		it_systemd_run(&SD, out, sizeof(out),
	                       "systemctl list-units --all --no-legend 'cri-containerd-*'"),
		0);
	ck_assert_msg(out[0] == '\0', "%s", out);
}
END_TEST

/* On the host (PID 1 is no systemd) the native launcher's driver is
 * refused at start-up, as the oci one is (test_oci_startup_refusals). */
START_TEST(test_systemd_native_refused_on_host)
{
	static const char *const wants[] = {
		"[runtime.sd] systemd_cgroup: systemd does not manage this node's cgroups",
		"/run/systemd/system missing", NULL
	};

	it_expect_refused("[runtime.runc]\n[runtime.sd]\nsystemd_cgroup = true\n", wants);
}
END_TEST

static Suite *
systemd_suite(void)
{
	Suite *s = suite_create("systemd");
	TCase *tc = tcase_create("container");

	tcase_set_timeout(tc, it_secs(60));
	tcase_add_test(tc, test_systemd_boot_halt);
	tcase_add_test(tc, test_systemd_native_refused_on_host);
	suite_add_tcase(s, tc);

	tc = tcase_create("cradled");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, it_secs(60));
	tcase_add_test(tc, test_systemd_cradled_cgroupfs);
	tcase_add_test(tc, test_systemd_runc_scope);
	tcase_add_test(tc, test_systemd_native_scope);
	tcase_add_test(tc, test_systemd_native_parent_not_slice);
	tcase_add_test(tc, test_systemd_native_restart);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return it_run_suite(systemd_suite());
}
