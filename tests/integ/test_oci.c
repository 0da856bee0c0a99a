/* test_oci.c - [runtime.NAME] launcher = oci against real runc (Debian's
 * /usr/sbin/runc) and crun: a start writes the bundle, runs `create`,
 * NRI (the created task is runc's init, not pause yet), `start`; the
 * pause is cradled's child (the subreaper) and watched like a native one;
 * stop kills it (exit status 137, read by cradled), remove runs `delete`
 * and leaves nothing.  A runtime's failure is quoted in the start's error
 * (a fake runtime, runc refusing `start`, crun refusing this node's hybrid
 * cgroup layout) and rolls back; so does a start failed at each step
 * after the launch, and a crash right after `create` is undone by the
 * restarted daemon, which also adopts a running oci pause; a crash
 * between the overlay's mount and `create` leaves no mount after the
 * restart.  status and `inspectp -o raw` name the launcher; a daemonizing
 * runtime's orphan is reaped, not left a zombie.  Seccomp: a Localhost
 * profile goes to runc as it is, RuntimeDefault as the built-in profile's
 * JSON.  Start-up refuses what a handler cannot honour.  The conformance
 * tests start one pod config natively and through runc (also under
 * RuntimeDefault) and compare what /proc shows of the two pauses: every
 * difference is a row of docs/DIFFERENCES.md, asserted as exactly that
 * (expect_oci).  Needs root. */
#include <check.h>
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

#define RUNC "/usr/sbin/runc"
#define CRUN "/usr/bin/crun"
/* what crun 1.8.1 says of this node's hybrid layout */
#define CRUN_REFUSAL "cgroups in hybrid mode not supported, drop all controllers from cgroupv2"

static struct it_daemon D;
static char tmp[512]; /* scripts, NRI's conf.json and rec/ */

static void
setup(void)
{
	snprintf(tmp, sizeof(tmp), "%soci-XXXXXX", IT_TMP_PREFIX);
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	it_cleanup(&D);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* cradled with the native default "runc" and an oci handler "oci" running
 * path; extra goes after; failing at fail_step (it_start's; NULL: none). */
static void
start_failing(const char *path, const char *extra, const char *fail_step)
{
	static char text[5 * PATH_MAX];

	snprintf(text, sizeof(text), "[runtime.runc]\n[runtime.oci]\nlauncher = oci\npath = %s\n%s",
	         path, extra != NULL ? extra : "");
	it_start_with(&D, fail_step, text);
}

static void
start_with(const char *path, const char *extra)
{
	start_failing(path, extra, NULL);
}

/* A start of pod name through the oci handler of a cradled running runc
 * (start_failing) that dies (SIGKILL) at crash point: the start fails
 * and the daemon is gone. */
static void
crash_in_start(const char *point, const char *name)
{
	struct cradle_error err;
	struct cradle_conn *cn;
	char id[CRADLE_SANDBOX_ID_LEN + 1], step[64];

	snprintf(step, sizeof(step), "crash:%s", point);
	start_failing(RUNC, NULL, step);
	ck_assert_int_eq(cradle_connect(D.sock, it_ms(1500), &cn, &err), 0);
	struct cradle_pod *pod = it_pod(name, name);
	ck_assert_int_lt(cradle_sandbox_run(cn, pod, "oci", id, NULL, NULL, &err), 0);
	cradle_pod_free(pod);
	cradle_close(cn);
	ck_assert_int_eq(it_stop(&D), 128 + SIGKILL);
}

/* A field of /proc/PID/status, leading blanks and the newline dropped. */
static void
status_of(pid_t pid, const char *field, char *out, size_t len)
{
	char path[64], line[512];
	size_t fl = strlen(field);

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			const char *v = line + fl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t n = strcspn(v, "\n");
			ck_assert_uint_lt(n, len);
			memcpy(out, v, n);
			out[n] = '\0';
			break;
		}
	}
	fclose(f);
}

static void
exe_of(pid_t pid, char *out, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, out, len - 1);
	ck_assert_msg(n > 0, "%s: %s", path, strerror(errno));
	out[n] = '\0';
}

static bool
ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && strcmp(s + a - b, tail) == 0;
}

/* The runtime's state of id exists under cradled's <state>/runtime/oci. */
static bool
runtime_has(const char *id)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/runtime/oci/%s", D.state, id);
	return stat(path, &st) == 0;
}

START_TEST(test_oci_run_stop_remove)
{
	struct cradle_error err;
	struct cradle_sandbox *s;
	char id[CRADLE_SANDBOX_ID_LEN + 1], text[PATH_MAX], ppid[32], want[32];
	int32_t pid;

	start_with(RUNC, NULL);
	struct cradle_pod *pod = it_pod("oci-web", "oci-web");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, "oci", id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert(it_proc_alive(pid));
	exe_of(pid, text, sizeof(text));
	ck_assert_msg(ends_with(text, "/pause"), "%s", text);
	/* the runtime's init, reparented to cradled when `create` exited */
	status_of(pid, "PPid", ppid, sizeof(ppid));
	snprintf(want, sizeof(want), "%d", (int)D.pid);
	ck_assert_str_eq(ppid, want);
	ck_assert(runtime_has(id));
	/* the hostname, in its own UTS namespace; netns pinned */
	ck_assert(it_uts_hostname(pid, text, sizeof(text)));
	ck_assert_str_eq(text, "oci-web");
	ck_assert(!it_same_ns(pid, "net"));
	ck_assert(!it_same_ns(pid, "pid"));
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(cradle_sandbox_pid(s), pid);
	ck_assert_ptr_nonnull(cradle_sandbox_netns_path(s));
	ck_assert_int_eq(access(cradle_sandbox_netns_path(s), F_OK), 0);
	cradle_sandbox_free(s);

	/* stop: the task killed and reaped by cradled (a status it read:
	 * 137, not the 255 of a task it could not wait for) */
	ck_assert_msg(cradle_sandbox_stop(D.conn, id, 0, &err) == 0, "%s", err.message);
	ck_assert(!it_proc_alive(pid));
	ck_assert_int_eq(cradle_sandbox_status(D.conn, id, &s, &err), 0);
	ck_assert_int_eq(cradle_sandbox_exit_status(s), 137);
	cradle_sandbox_free(s);
	ck_assert(runtime_has(id)); /* until remove */
	ck_assert_msg(cradle_sandbox_remove(D.conn, id, &err) == 0, "%s", err.message);
	ck_assert(!runtime_has(id));
}
END_TEST

/* Write an executable script at tmp/name. */
static void
script(const char *name, const char *body, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", tmp, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0755), 0);
}

/* The file's whole text, trailing newline dropped. */
static void
text_of(const char *path, char *buf, size_t len)
{
	it_read_text(path, buf, len);
	size_t l = strlen(buf);
	if (l > 0 && buf[l - 1] == '\n')
		buf[l - 1] = '\0';
}

/* NRI v1 between the runtime's create and its start: the plugin sees the
 * created task (the runtime's init, not pause yet) and the pinned netns;
 * delete at the stop. */
START_TEST(test_oci_nri_between_create_and_start)
{
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1], conf[PATH_MAX], rec[PATH_MAX], plugins[PATH_MAX];
	char text[8192], path[PATH_MAX + 32], cfg[3 * PATH_MAX];
	int32_t pid;

	snprintf(rec, sizeof(rec), "%s/rec", tmp);
	ck_assert_int_eq(mkdir(rec, 0755), 0);
	ck_assert_ptr_nonnull(realpath("tests/data/nri", plugins));
	snprintf(conf, sizeof(conf), "%s/conf.json", tmp);
	FILE *f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
	        "{\"version\": \"0.1\", \"plugins\": [{\"type\": \"record\", \"conf\": "
	        "{\"dir\": \"%s\"}}]}",
	        rec);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(cfg, sizeof(cfg), "[nri]\nconfig_file = %s\nplugin_dir = %s\n", conf, plugins);
	start_with(RUNC, cfg);

	struct cradle_pod *pod = it_pod("oci-nri", "oci-nri");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, "oci", id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert_int_eq(it_count_entries(rec), 4);
	snprintf(path, sizeof(path), "%s/0.json", rec);
	text_of(path, text, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "\"state\":\"create\""));
	char want[128];
	snprintf(want, sizeof(want), "\"pid\":%d,", (int)pid);
	ck_assert_msg(strstr(text, want) != NULL, "%s", text);
	snprintf(want, sizeof(want), "/netns/%s\"", id);
	ck_assert_msg(strstr(text, want) != NULL, "%s", text);
	/* while it ran the task was created, not started: runc's init (a
	 * copy of runc in a memfd, outside the container's root: its exe
	 * reads "/"), alive, waiting on its exec fifo; never pause yet */
	snprintf(path, sizeof(path), "%s/0.exe", rec);
	text_of(path, text, sizeof(text));
	ck_assert_msg(!ends_with(text, "/pause") && strcmp(text, "-") != 0, "exe while NRI ran: %s",
	              text);
	snprintf(path, sizeof(path), "%s/0.state", rec);
	text_of(path, text, sizeof(text));
	ck_assert_msg(strcmp(text, "S") == 0 || strcmp(text, "R") == 0, "state %s", text);
	/* and now it runs pause */
	exe_of(pid, text, sizeof(text));
	ck_assert_msg(ends_with(text, "/pause"), "%s", text);

	ck_assert_int_eq(cradle_sandbox_stop(D.conn, id, 0, &err), 0);
	ck_assert_int_eq(it_count_entries(rec), 8);
	snprintf(path, sizeof(path), "%s/1.json", rec);
	text_of(path, text, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "\"state\":\"delete\""));
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert(!runtime_has(id));
}
END_TEST

/* A runtime that fails: its words in the start's error, nothing left (the
 * start rolled back: no record, no task, no cgroup, no mount, no dir). */
START_TEST(test_oci_runtime_error_quoted)
{
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1], path[PATH_MAX];
	int32_t pid;

	script("badrt",
	       "echo 'time=\"x\" level=error msg=\"badrt: no container for you\"' >&2\n"
	       "exit 1\n",
	       path, sizeof(path));
	start_with(path, NULL);
	struct cradle_pod *pod = it_pod("oci-bad", "oci-bad");
	ck_assert_int_ne(cradle_sandbox_run(D.conn, pod, "oci", id, &pid, NULL, &err), 0);
	cradle_pod_free(pod);
	ck_assert_msg(strstr(err.message, "failed to create sandbox task: badrt create: exited "
	                                  "with status 1: time=\"x\" level=error msg=\"badrt: "
	                                  "no container for you\"") != NULL,
	              "%s", err.message);
	ck_assert_int_eq(it_count_pause_tasks(), 0);
}
END_TEST

/* Zombies named comm whose parent is ppid. */
static int
zombies_of(pid_t ppid, const char *comm)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char path[300], buf[512];
		int parent = 0;
		char state = 0;
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		FILE *f = fopen(path, "re");
		if (f == NULL)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
		if (lp == NULL || rp == NULL || sscanf(rp + 1, " %c %d", &state, &parent) != 2)
			continue;
		if (state == 'Z' && parent == ppid && (size_t)(rp - lp - 1) == strlen(comm) &&
		    strncmp(lp + 1, comm, strlen(comm)) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* A runtime (or plugin) that daemonizes leaves a grandchild that is no
 * pause: orphaned, it is reparented to cradled, the child subreaper; when
 * it exits, cradled reaps it (core/reaper.c, a sweep every 2 s of zombies
 * seen twice) instead of keeping a zombie for good. */
START_TEST(test_oci_orphan_reaped)
{
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1], path[PATH_MAX];
	int32_t pid;

	script("daemonizing",
	       "case \"$*\" in *create*) (sleep 0.3 </dev/null >/dev/null 2>&1 &) ;; esac\n"
	       "echo 'daemonizing: no' >&2\nexit 1\n",
	       path, sizeof(path));
	start_with(path, NULL);
	struct cradle_pod *pod = it_pod("oci-orphan", "oci-orphan");
	ck_assert_int_ne(cradle_sandbox_run(D.conn, pod, "oci", id, &pid, NULL, &err), 0);
	cradle_pod_free(pod);
	ck_assert_msg(strstr(err.message, "daemonizing: no") != NULL, "%s", err.message);
	/* the grandchild, cradled's now, exits after 0.3 s: a zombie of
	 * cradled's for a while (a sweep reaps only what it saw before) */
	int i, seen = 0;
	for (i = 0; i < 200 && seen == 0; i++) {
		seen = zombies_of(D.pid, "sleep");
		if (seen == 0)
			usleep(5000);
	}
	ck_assert_msg(seen == 1, "no zombie sleep of cradled's appeared");
	/* and then no more */
	for (i = 0; i < 300 && zombies_of(D.pid, "sleep") > 0; i++)
		usleep(20000);
	ck_assert_int_eq(zombies_of(D.pid, "sleep"), 0);
	ck_assert(it_log_contains(&D, "reaped orphan process"));
}
END_TEST

/* runc's own refusal (a bundle it rejects: here a seccomp profile cradle
 * compiles but runc cannot load, an unknown action for it) is quoted too;
 * and start failing after create (start refuses) deletes the container. */
START_TEST(test_oci_start_error_rolls_back)
{
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1], path[PATH_MAX], body[1024];
	int32_t pid;

	/* runc for everything but start */
	snprintf(body, sizeof(body),
	         "for a; do [ \"$a\" = start ] && { echo 'wrapped: start refused' >&2; exit 7; "
	         "}; done\nexec %s \"$@\"\n",
	         RUNC);
	script("runc-nostart", body, path, sizeof(path));
	start_with(path, NULL);
	struct cradle_pod *pod = it_pod("oci-nostart", "oci-nostart");
	ck_assert_int_ne(cradle_sandbox_run(D.conn, pod, "oci", id, &pid, NULL, &err), 0);
	cradle_pod_free(pod);
	ck_assert_msg(strstr(err.message, "runc-nostart start: exited with status 7: wrapped: "
	                                  "start refused") != NULL,
	              "%s", err.message);
	ck_assert_int_eq(it_count_pause_tasks(), 0);
	char rt[PATH_MAX];
	snprintf(rt, sizeof(rt), "%s/runtime/oci", D.state);
	ck_assert_int_eq(it_count_entries(rt), 0);
}
END_TEST

/* crun 1.8 refuses this node's hybrid cgroup layout (its v1 hierarchies
 * with a cgroup2 mount beside them): the start fails with crun's own
 * words, and leaves nothing. */
START_TEST(test_oci_crun_refused_quoted)
{
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid;

	start_with(CRUN, NULL);
	struct cradle_pod *pod = it_pod("oci-crun", "oci-crun");
	int rc = cradle_sandbox_run(D.conn, pod, "oci", id, &pid, NULL, &err);
	cradle_pod_free(pod);
	ck_assert_msg(rc != 0, "crun started a pod on this node: the layout test is stale");
	ck_assert_msg(strstr(err.message, "failed to create sandbox task: crun create: exited "
	                                  "with status 1: ") != NULL,
	              "%s", err.message);
	ck_assert_msg(strstr(err.message, CRUN_REFUSAL) != NULL, "%s", err.message);
	ck_assert_int_eq(it_count_pause_tasks(), 0);
}
END_TEST

/* A restarted cradled adopts an oci pause (its record: pid, start time,
 * launcher) like a native one: status READY with the same pid, and its
 * stop and remove still end it through the runtime, nothing left. */
START_TEST(test_oci_recovery_adopts)
{
	struct cradle_error err;
	struct cradle_sandbox *s;
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	int32_t pid;

	start_with(RUNC, NULL);
	struct cradle_pod *pod = it_pod("oci-rec", "oci-rec");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, "oci", id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert_int_eq(it_stop(&D), 0);
	ck_assert(it_proc_alive(pid)); /* a daemon's exit ends no pod */
	it_restart(&D, NULL);
	ck_assert_msg(cradle_sandbox_status(D.conn, id, &s, &err) == 0, "%s", err.message);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_READY);
	ck_assert_int_eq(cradle_sandbox_pid(s), pid);
	cradle_sandbox_free(s);
	ck_assert(runtime_has(id));
	ck_assert_msg(cradle_sandbox_remove(D.conn, id, &err) == 0, "%s", err.message);
	ck_assert(!it_proc_alive(pid));
	ck_assert(!runtime_has(id));
}
END_TEST

/* A start failed at each step from the launch on rolls the oci container
 * back: no task, no runtime state, no cgroup, mount, dir or record (the
 * teardown's checks), the runtime's root empty. */
START_TEST(test_oci_failed_steps_roll_back)
{
	static const char *const steps[] = { "launch:prepared", "launch", "netns", "cni",
		                             "start",           "record" };
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1], rt[PATH_MAX];
	int32_t pid;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		start_failing(RUNC, NULL, steps[i]);
		struct cradle_pod *pod = it_pod("oci-fail", "oci-fail");
		ck_assert_int_ne(cradle_sandbox_run(D.conn, pod, "oci", id, &pid, NULL, &err), 0);
		cradle_pod_free(pod);
		ck_assert_msg(strstr(err.message, "injected failure") != NULL, "%s: %s", steps[i],
		              err.message);
		ck_assert_int_eq(it_count_pause_tasks(), 0);
		snprintf(rt, sizeof(rt), "%s/runtime/oci", D.state);
		ck_assert_msg(it_count_entries(rt) <= 0, "%s: runtime state left", steps[i]);
		if (i + 1 < sizeof(steps) / sizeof(steps[0]))
			it_cleanup(&D);
	}
}
END_TEST

/* A crash right after `create`: the restarted cradled deletes the
 * container no record owns (its task killed, its state gone) and undoes
 * the rest of the start; nothing left. */
START_TEST(test_oci_crash_after_create)
{
	char rt[PATH_MAX];

	crash_in_start("launch", "oci-crash");
	snprintf(rt, sizeof(rt), "%s/runtime/oci", D.state);
	ck_assert_int_eq(it_count_entries(rt), 1); /* the crash left it */
	it_restart(&D, NULL);
	ck_assert_int_eq(it_count_entries(rt), 0);
	ck_assert(it_log_contains(&D, "deleted leftover container"));
	ck_assert_int_eq(it_count_pause_tasks(), 0);
}
END_TEST

/* Mounts below <state>/sandboxes/ in the namespace the calling child
 * entered (it_in_mntns): the exit status. */
static int
count_sandbox_mounts(void *arg)
{
	return it_count_mountinfo_lines(0, (const char *)arg);
}

/* A crash between the overlay's mount (in cradle's namespace) and
 * `create`: the overlay stays mounted on the sandbox's rootfs in cradle's
 * namespace, no container exists; the restarted daemon undoes the start
 * and the overlay goes with the volatile directory. */
START_TEST(test_oci_crash_before_create)
{
	char rt[PATH_MAX], pin[PATH_MAX], below[PATH_MAX];

	crash_in_start("launch:prepared", "oci-crash-mnt");
	snprintf(pin, sizeof(pin), "%s/ns/mnt", D.state);
	snprintf(below, sizeof(below), "%s/sandboxes/", D.state);
	/* the crash left the overlay mounted, and made no container */
	ck_assert_int_eq(it_in_mntns(pin, count_sandbox_mounts, below), 1);
	snprintf(rt, sizeof(rt), "%s/runtime/oci", D.state);
	ck_assert_int_le(it_count_entries(rt), 0);
	it_restart(&D, NULL);
	ck_assert(it_log_contains(&D, "undid the start of"));
	ck_assert_int_eq(it_in_mntns(pin, count_sandbox_mounts, below), 0);
	ck_assert_int_eq(it_count_pause_tasks(), 0);
}
END_TEST

/* Seccomp through the runtime: a Localhost profile is passed as it is
 * (the pause in filter mode, 2, as a native one with the same profile);
 * cradle's RuntimeDefault is written into the bundle as OCI JSON from the
 * built-in tables (seccomp_runtime_default_oci), and runc loads it: one
 * filter, mode 2. */
START_TEST(test_oci_seccomp)
{
	static char text[5 * PATH_MAX];
	struct cradle_error err;
	char id[CRADLE_SANDBOX_ID_LEN + 1], idn[CRADLE_SANDBOX_ID_LEN + 1], prof[PATH_MAX];
	char mode[32];
	int32_t pid, pidn;

	/* deny-uname.json without its "flags", which runc 1.1 refuses
	 * ("seccomp flags are not yet supported by runc") */
	snprintf(prof, sizeof(prof), "%s/deny-uname.json", tmp);
	FILE *f = fopen(prof, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
	      "[\"uname\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}]}",
	      f);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(text, sizeof(text),
	         "[runtime.runc]\nseccomp_default = localhost/%s\n[runtime.oci]\nlauncher = "
	         "oci\npath = " RUNC "\nseccomp_default = localhost/%s\n[runtime.ocidef]\n"
	         "launcher = oci\npath = " RUNC "\nseccomp_default = runtime/default\n",
	         prof, prof);
	it_start_with(&D, NULL, text);
	struct cradle_pod *pod = it_pod("oci-sc", "oci-sc");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, "oci", id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	pod = it_pod("native-sc", "native-sc");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, idn, &pidn, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	status_of(pid, "Seccomp", mode, sizeof(mode));
	ck_assert_str_eq(mode, "2");
	status_of(pidn, "Seccomp", mode, sizeof(mode));
	ck_assert_str_eq(mode, "2");
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, idn, &err), 0);

	pod = it_pod("oci-def", "oci-def");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, "ocidef", id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	status_of(pid, "Seccomp", mode, sizeof(mode));
	ck_assert_str_eq(mode, "2");
	status_of(pid, "Seccomp_filters", mode, sizeof(mode));
	ck_assert_str_eq(mode, "1");
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(it_count_pause_tasks(), 0);
}
END_TEST

/* ---- conformance: what /proc shows of a native and an oci pause ---- */

/* Append a line to the snapshot. */
static void add(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
add(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	ck_assert_int_lt(vsnprintf(buf + n, len - n, fmt, ap), (int)(len - n));
	va_end(ap);
}

/* s with every occurrence of id replaced by "<id>", in place. */
static void
drop_id(char *s, const char *id)
{
	char *p;
	while ((p = strstr(s, id)) != NULL) {
		memcpy(p, "<id>", 4);
		memmove(p + 4, p + strlen(id), strlen(p + strlen(id)) + 1);
	}
}

/* The output of a shell command, trailing newline dropped. */
static void sh_out(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void
sh_out(char *out, size_t len, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
}

/* Everything compared, one "what: value" line each, ids dropped. */
static void
snapshot(pid_t pid, const char *id, char *buf, size_t len)
{
	static const char *const nss[] = { "net", "pid", "ipc", "uts", "mnt", "cgroup", "user" };
	static const char *const fields[] = { "Uid",        "Gid",     "Groups",         "CapInh",
		                              "CapPrm",     "CapEff",  "CapBnd",         "CapAmb",
		                              "NoNewPrivs", "Seccomp", "Seccomp_filters" };
	char v[16384];

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(nss) / sizeof(nss[0]); i++)
		add(buf, len, "ns %s: %s\n", nss[i], it_same_ns(pid, nss[i]) ? "host" : "own");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		status_of(pid, fields[i], v, sizeof(v));
		add(buf, len, "status %s: %s\n", fields[i], v);
	}
	sh_out(v, sizeof(v), "cat /proc/%d/oom_score_adj", (int)pid);
	add(buf, len, "oom_score_adj: %s\n", v);
	sh_out(v, sizeof(v), "awk '{print $19}' /proc/%d/stat", (int)pid);
	add(buf, len, "nice: %s\n", v);
	ck_assert(it_uts_hostname(pid, v, sizeof(v)));
	add(buf, len, "hostname: %s\n", v);
	sh_out(v, sizeof(v), "nsenter -t %d -i cat /proc/sys/kernel/shm_rmid_forced", (int)pid);
	add(buf, len, "sysctl kernel.shm_rmid_forced: %s\n", v);
	sh_out(v, sizeof(v), "nsenter -t %d -n cat /proc/sys/net/ipv4/ip_unprivileged_port_start",
	       (int)pid);
	add(buf, len, "sysctl net.ipv4.ip_unprivileged_port_start: %s\n", v);
	sh_out(v, sizeof(v), "sort /proc/%d/cgroup | sed 's/^[0-9]*:/cgroup /'", (int)pid);
	drop_id(v, id);
	add(buf, len, "%s\n", v);
	sh_out(v, sizeof(v),
	       "cat /sys/fs/cgroup/cpu$(sed -n 's/^[0-9]*:cpu://p' /proc/%d/cgroup)/cpu.shares",
	       (int)pid);
	add(buf, len, "cpu.shares: %s\n", v);
	/* mountinfo: mount point, fs type, per-mount and super options;
	 * ids, devices and sources (host paths) dropped */
	sh_out(v, sizeof(v),
	       "awk '{for(i=7;$i!=\"-\";i++);print \"mount \" $5, $(i+1), $6, $(i+3)}' "
	       "/proc/%d/mountinfo | sed -e 's/lowerdir=[^,]*/lowerdir=L/' -e "
	       "'s/size=[0-9]*k/size=Nk/' -e 's/nr_inodes=[0-9]*/nr_inodes=N/' | sort",
	       (int)pid);
	drop_id(v, id);
	add(buf, len, "%s\n", v);
}

/* One pod (it_pod_json's name, hostname and extra), started natively
 * and through the "oci" handler, one after the other: what each pause
 * shows (snapshot) in a and b.  Both are removed again. */
static void
snapshot_both(const char *name, const char *hostname, const char *extra, char *a, char *b,
              size_t len)
{
	char id[CRADLE_SANDBOX_ID_LEN + 1], pod_name[64];
	struct cradle_error err;
	int32_t pid;

	for (int i = 0; i < 2; i++) {
		snprintf(pod_name, sizeof(pod_name), "%s-%s", name, i ? "oci" : "native");
		struct cradle_pod *pod = it_pod_json(pod_name, hostname, extra);
		ck_assert_msg(cradle_sandbox_run(D.conn, pod, i ? "oci" : NULL, id, &pid, NULL,
		                                 &err) == 0,
		              "%s: %s", pod_name, err.message);
		cradle_pod_free(pod);
		snapshot(pid, id, i ? b : a, len);
		ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	}
}

/* The native snapshot as the oci pause must show it: each rewrite is one
 * line of docs/DIFFERENCES.md, nothing else may differ. */
static void
expect_oci(const char *native, char *out, size_t len)
{
	static const char *const dev_nodes[] = {
		"full", "null", "random", "tty", "urandom", "zero"
	};
	char line[1024], mp[512], fs[64];
	const char *p = native;

	out[0] = '\0';
	while (*p != '\0') {
		size_t n = strcspn(p, "\n");
		ck_assert_uint_lt(n, sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (p[n] == '\n');
		mp[0] = fs[0] = '\0';
		if (strncmp(line, "mount ", 6) == 0)
			ck_assert_int_eq(sscanf(line, "mount %511s %63s", mp, fs), 2);
		bool drop = false;
		/* DIFFERENCES 11b: memory and cpuset v1 join the pod's cgroup,
		 * runc puts the pause in its leaf there too */
		if (strncmp(line, "cgroup cpuset:", 14) == 0 ||
		    strncmp(line, "cgroup memory:", 14) == 0) {
			add(out, len, "%s/<id>\n", line);
			continue;
		}
		/* DIFFERENCES 23: the rootfs: cradle's overlay (nosuid, nodev);
		 * runc binds it and remounts it read-only, with neither */
		if (strcmp(mp, "/") == 0) {
			const char *rest = strstr(line, "ro,nosuid,nodev,relatime ");
			ck_assert_ptr_nonnull(rest);
			add(out, len, "mount / overlay ro,relatime %s\n", rest + 25);
			continue;
		}
		/* DIFFERENCES 11a: /dev nodev, the host's nodes bound onto it;
		 * runc's /dev holds nodes it made */
		if (strcmp(mp, "/dev") == 0) {
			ck_assert_ptr_nonnull(strstr(line, "tmpfs rw,nosuid,nodev "));
			add(out, len, "mount /dev tmpfs rw,nosuid %s\n",
			    strstr(line, "rw,nosuid,nodev ") + 16);
			continue;
		}
		for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
			char d[32];
			snprintf(d, sizeof(d), "/dev/%s", dev_nodes[i]);
			drop = drop || strcmp(mp, d) == 0;
		}
		if (drop)
			continue;
		/* DIFFERENCES 23: a masked file: the host's /dev/null bound (a
		 * devtmpfs node) or the container's (a node on its /dev) */
		if (strcmp(fs, "devtmpfs") == 0) {
			add(out, len, "mount %s tmpfs rw,nosuid rw,size=Nk,mode=755\n", mp);
			continue;
		}
		/* DIFFERENCES 12a: a masked directory: cradle's empty directory
		 * bound read-only, runc's read-only tmpfs */
		if (fs[0] != '\0' && strncmp(mp, "/etc/", 5) != 0 && strcmp(fs, "overlay") != 0 &&
		    strcmp(fs, "tmpfs") != 0 && strcmp(fs, "proc") != 0 &&
		    strcmp(fs, "sysfs") != 0 && strcmp(fs, "mqueue") != 0 &&
		    strcmp(fs, "devpts") != 0) {
			add(out, len, "mount %s tmpfs ro,relatime ro\n", mp);
			continue;
		}
		add(out, len, "%s\n", line);
	}
}

/* The first line where a and b differ, or NULL. */
static void
assert_same_lines(const char *want, const char *got)
{
	size_t i = 0;
	while (want[i] != '\0' && want[i] == got[i])
		i++;
	if (want[i] == '\0' && got[i] == '\0')
		return;
	while (i > 0 && want[i - 1] != '\n')
		i--;
	char a[256], b[256];
	snprintf(a, sizeof(a), "%.*s", (int)strcspn(want + i, "\n"), want + i);
	snprintf(b, sizeof(b), "%.*s", (int)strcspn(got + i, "\n"), got + i);
	ck_abort_msg("oci pause differs from the native one:\n  expected: %s\n  oci:      %s", a,
	             b);
}

/* One pod config, started natively and through runc: the two pauses look
 * the same in /proc -- namespaces shared with the host or not, ids,
 * capabilities, no_new_privs, seccomp mode, oom_score_adj, hostname,
 * sysctls (an IPC one the pod sets, a net one cradle sets), cgroup
 * membership and cpu.shares, the mount table -- but for the differences
 * docs/DIFFERENCES.md lists, asserted here as exactly those. */
START_TEST(test_oci_conformance)
{
	static char a[65536], b[65536], want[65536];

	start_with(RUNC, NULL);
	const char *extra = "\"linux\": {\"sysctls\": {\"kernel.shm_rmid_forced\": \"1\"}}";
	snapshot_both("conf", "conf", extra, a, b, sizeof(a));
	/* what the snapshot holds: the values the pod asked for */
	ck_assert_ptr_nonnull(strstr(a, "hostname: conf\n"));
	ck_assert_ptr_nonnull(strstr(a, "sysctl kernel.shm_rmid_forced: 1\n"));
	ck_assert_ptr_nonnull(strstr(a, "ns net: own\n"));
	ck_assert_ptr_nonnull(strstr(a, "cpu.shares: 2\n"));
	ck_assert_ptr_nonnull(strstr(a, "status NoNewPrivs: 1\n"));
	expect_oci(a, want, sizeof(want));
	assert_same_lines(want, b);
}
END_TEST

/* The same with the host's network, pid and ipc namespaces. */
START_TEST(test_oci_conformance_host_namespaces)
{
	static char a[65536], b[65536], want[65536];

	start_with(RUNC, NULL);
	const char *extra = "\"linux\": {\"security_context\": {\"namespace_options\": "
			    "{\"network\": \"NODE\", \"pid\": \"NODE\", \"ipc\": \"NODE\"}}}";
	snapshot_both("host", NULL, extra, a, b, sizeof(a));
	ck_assert_ptr_nonnull(strstr(a, "ns net: host\n"));
	ck_assert_ptr_nonnull(strstr(a, "ns pid: host\n"));
	ck_assert_ptr_nonnull(strstr(a, "ns ipc: host\n"));
	expect_oci(a, want, sizeof(want));
	assert_same_lines(want, b);
}
END_TEST

/* The same under RuntimeDefault (seccomp_default = runtime/default for
 * both handlers): the native pause loads cradle's BPF, runc the same
 * profile as OCI JSON; both show one filter in mode 2. */
START_TEST(test_oci_conformance_runtime_default)
{
	static char a[65536], b[65536], want[65536];

	it_start_with(&D, NULL,
	              "[runtime.runc]\nseccomp_default = runtime/default\n[runtime.oci]\n"
	              "launcher = oci\npath = " RUNC "\nseccomp_default = runtime/default\n");
	snapshot_both("def", "def", NULL, a, b, sizeof(a));
	ck_assert_ptr_nonnull(strstr(a, "status Seccomp: 2\n"));
	ck_assert_ptr_nonnull(strstr(a, "status Seccomp_filters: 1\n"));
	expect_oci(a, want, sizeof(want));
	assert_same_lines(want, b);
}
END_TEST

/* The value of "key" in the CLI's JSON text (the first occurrence),
 * quotes dropped, into out. */
static void
json_value_of(const char *text, const char *key, char *out, size_t len)
{
	char k[64];

	snprintf(k, sizeof(k), "\"%s\"", key);
	const char *p = strstr(text, k);
	ck_assert_msg(p != NULL, "no %s in:\n%s", k, text);
	p += strlen(k);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p == '"')
		p++;
	snprintf(out, len, "%.*s", (int)strcspn(p, "\",\n}"), p);
}

/* Which launcher ran a sandbox: the record's field through status
 * (cradle_sandbox_launcher) and the CLI's `inspectp` (-o raw, json). */
START_TEST(test_oci_inspect_launcher)
{
	static char out[65536];
	struct cradle_error err;
	struct cradle_sandbox *s;
	char ido[CRADLE_SANDBOX_ID_LEN + 1], idn[CRADLE_SANDBOX_ID_LEN + 1], v[32];
	int32_t po, pn;

	start_with(RUNC, NULL);
	struct cradle_pod *pod = it_pod("insp-oci", "insp-oci");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, "oci", ido, &po, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	pod = it_pod("insp-native", "insp-native");
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, idn, &pn, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, ido, &s, &err), 0);
	ck_assert_str_eq(cradle_sandbox_launcher(s), "oci");
	cradle_sandbox_free(s);
	ck_assert_int_eq(cradle_sandbox_status(D.conn, idn, &s, &err), 0);
	ck_assert_str_eq(cradle_sandbox_launcher(s), "native");
	cradle_sandbox_free(s);
	ck_assert_ptr_null(cradle_sandbox_launcher(NULL));

	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "inspectp -o raw %s", ido), 0);
	json_value_of(out, "launcher", v, sizeof(v));
	ck_assert_str_eq(v, "oci");
	json_value_of(out, "runtime_handler", v, sizeof(v));
	ck_assert_str_eq(v, "oci");
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "inspectp -o raw %s", idn), 0);
	json_value_of(out, "launcher", v, sizeof(v));
	ck_assert_str_eq(v, "native");
	/* crictl's shape: in status.info */
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "inspectp %s", ido), 0);
	json_value_of(out, "launcher", v, sizeof(v));
	ck_assert_str_eq(v, "oci");
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, ido, &err), 0);
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, idn, &err), 0);
}
END_TEST

/* What start-up refuses, naming the section and the key. */
START_TEST(test_oci_startup_refusals)
{
	static const char *const bad_path[] = {
		"[runtime.oci] path: \"/nonexistent/runc\": No such file or directory", NULL
	};
	static const char *const no_path[] = {
		"[runtime.oci] path: launcher = oci needs the OCI runtime binary", NULL
	};
	static const char *const vm_native[] = {
		"[runtime.kata] vm: a VM-isolated runtime needs launcher = oci", NULL
	};
	static const char *const bad_launcher[] = {
		"[runtime.oci] launcher: \"shim\" is not native or oci", NULL
	};
	static const char *const root_native[] = { "[runtime.runc] root: only for launcher = oci",
		                                   NULL };
	static const char *const systemd[] = {
		"[runtime.oci] systemd_cgroup: systemd does not manage this node's cgroups", NULL
	};

	it_expect_refused("[runtime.runc]\n[runtime.oci]\nlauncher = oci\npath = "
	                  "/nonexistent/runc\n",
	                  bad_path);
	it_expect_refused("[runtime.runc]\n[runtime.oci]\nlauncher = oci\n", no_path);
	it_expect_refused("[runtime.runc]\n[runtime.kata]\nvm = true\n", vm_native);
	it_expect_refused("[runtime.runc]\n[runtime.oci]\nlauncher = shim\n", bad_launcher);
	it_expect_refused("[runtime.runc]\nroot = /run/x\n", root_native);
	/* this node's PID 1 is no systemd */
	it_expect_refused("[runtime.runc]\n[runtime.oci]\nlauncher = oci\npath = " RUNC
	                  "\nsystemd_cgroup = true\n",
	                  systemd);
}
END_TEST

static Suite *
oci_suite(void)
{
	Suite *s = suite_create("oci");
	TCase *tc = tcase_create("oci");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_oci_run_stop_remove);
	tcase_add_test(tc, test_oci_nri_between_create_and_start);
	tcase_add_test(tc, test_oci_runtime_error_quoted);
	tcase_add_test(tc, test_oci_start_error_rolls_back);
	tcase_add_test(tc, test_oci_crun_refused_quoted);
	tcase_add_test(tc, test_oci_recovery_adopts);
	tcase_add_test(tc, test_oci_failed_steps_roll_back);
	tcase_add_test(tc, test_oci_crash_after_create);
	tcase_add_test(tc, test_oci_crash_before_create);
	tcase_add_test(tc, test_oci_seccomp);
	tcase_add_test(tc, test_oci_conformance);
	tcase_add_test(tc, test_oci_conformance_host_namespaces);
	tcase_add_test(tc, test_oci_conformance_runtime_default);
	tcase_add_test(tc, test_oci_inspect_launcher);
	tcase_add_test(tc, test_oci_orphan_reaped);
	suite_add_tcase(s, tc);

	/* no daemon of D's: the refusals start and reap their own */
	tc = tcase_create("startup");
	tcase_set_timeout(tc, it_secs(60));
	tcase_add_test(tc, test_oci_startup_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return it_run_suite(oci_suite());
}
