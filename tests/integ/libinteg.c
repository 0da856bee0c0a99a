/* libinteg.c - integration fixtures. */
#include "tests/integ/libinteg.h"

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
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *
it_bin(const char *name)
{
	static __thread char path[512];
	const char *b = getenv("CRADLE_BUILD");
	snprintf(path, sizeof(path), "%s/%s", b ? b : "build", name);
	return path;
}

static void
spawn_daemon(struct it_daemon *d, const char *fail_step)
{
	char log[400], envbuf[128];
	char bin[512];
	char *argv[] = { NULL, "--root",          d->root, "--state", d->state, "--workers",
		         "8",  "--image-archive", NULL,    NULL,      NULL,     NULL };
	char rootfs[512];
	posix_spawn_file_actions_t fa;
	char **env = environ;
	char *envv[256];

	/* it_bin returns one static buffer: copy each result */
	snprintf(bin, sizeof(bin), "%s", it_bin(fail_step ? "tests/cradled-hooks" : "cradled"));
	argv[0] = bin;
	snprintf(rootfs, sizeof(rootfs), "%s", it_bin("pause.oci.tar"));
	argv[8] = rootfs;
	if (d->config[0] != '\0') {
		argv[9] = "--config";
		argv[10] = d->config;
	}
	snprintf(log, sizeof(log), "%s/cradled.log", d->dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (fail_step != NULL) {
		size_t n = 0;
		for (char **e = environ; *e && n < 250; e++)
			if (strncmp(*e, "CRADLE_FAIL_STEP=", 17) != 0)
				envv[n++] = *e;
		snprintf(envbuf, sizeof(envbuf), "CRADLE_FAIL_STEP=%s", fail_step);
		envv[n++] = envbuf;
		envv[n] = NULL;
		env = envv;
	}
	int r = posix_spawn(&d->pid, bin, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_msg(r == 0, "spawn %s: %s", bin, strerror(r));

	struct cradle_error err = { 0 };
	for (int i = 0; i < 400; i++) {
		int st;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			ck_abort_msg("cradled exited at start-up (status %d), see %s", st, log);
		}
		if (access(d->sock, F_OK) == 0 &&
		    cradle_connect(d->sock, 30000, &d->conn, &err) == 0) {
			struct cradle_version v;
			if (cradle_version(d->conn, &v, &err) == 0)
				return;
			cradle_close(d->conn);
			d->conn = NULL;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	ck_abort_msg("cradled did not answer: %s", err.message);
}

void
it_start(struct it_daemon *d, const char *fail_step)
{
	it_start_with(d, fail_step, NULL);
}

void
it_start_with(struct it_daemon *d, const char *fail_step, const char *config_text)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/cradle-it.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	snprintf(d->root, sizeof(d->root), "%s/root", d->dir);
	snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/cradle.sock", d->state);
	snprintf(d->events, sizeof(d->events), "%s/events.sock", d->state);
	/* Sandboxes of tests live under their own cgroup parent, never a
	 * real kubelet's, and the sweep removes it. */
	snprintf(d->config, sizeof(d->config), "%s/cradled.conf", d->dir);
	FILE *f = fopen(d->config, "w");
	ck_assert_ptr_nonnull(f);
	if (config_text == NULL || strstr(config_text, "cgroup_root") == NULL)
		fputs("[sandbox]\ncgroup_root = " IT_CGROUP_ROOT "\n", f);
	if (config_text != NULL)
		fputs(config_text, f);
	fclose(f);
	spawn_daemon(d, fail_step);
}

void
it_restart(struct it_daemon *d, const char *fail_step)
{
	ck_assert_int_eq(d->pid, 0);
	spawn_daemon(d, fail_step);
}

int
it_stop(struct it_daemon *d)
{
	int st = 0;

	if (d->conn != NULL) {
		cradle_close(d->conn);
		d->conn = NULL;
	}
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR)
		;
	d->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Pids of live sandbox tasks of these tests: every test daemon puts its
 * sandboxes under the cgroup parent IT_CGROUP_ROOT, whatever their image
 * and mount namespace.  Fills up to max pids, returns how many there are. */
static int
pause_tasks(pid_t *pids, int max)
{
	DIR *p = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (p && (de = readdir(p)) != NULL) {
		char path[64], buf[4096];
		pid_t pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		if (strstr(buf, ":" IT_CGROUP_ROOT "/") == NULL || !it_proc_alive(pid))
			continue;
		if (n < max)
			pids[n] = pid;
		n++;
	}
	if (p)
		closedir(p);
	return n;
}

static void
kill_leftovers(void)
{
	pid_t pids[4096];
	int n = pause_tasks(pids, 4096);

	for (int i = 0; i < n && i < 4096; i++)
		kill(pids[i], SIGKILL);
}

int
it_count_pause_tasks(void)
{
	return pause_tasks(NULL, 0);
}

static void
rm_rf(const char *path)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup: %s failed\n", cmd);
}

/* A sanitizer report in the daemon must fail the test that caused it,
 * not vanish with the temp dir. */
static void
assert_clean_log(const struct it_daemon *d)
{
	static const char *bad[] = { "WARNING: ThreadSanitizer", "ERROR: AddressSanitizer",
		                     "ERROR: LeakSanitizer", "runtime error:" };
	char path[400], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cradled.log", d->dir);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (strstr(line, bad[i]) != NULL) {
				char cmd[600];
				fclose(f);
				snprintf(cmd, sizeof(cmd), "cat '%s' >&2", path);
				if (system(cmd) != 0)
					fprintf(stderr, "cannot show %s\n", path);
				ck_abort_msg("cradled reported: %s", line);
			}
		}
	}
	fclose(f);
}

void
it_cleanup(struct it_daemon *d)
{
	if (d->dir[0] == '\0')
		return;
	int st = it_stop(d);
	assert_clean_log(d);
	ck_assert_msg(st == 0 || st == -1, "cradled exited with status %d", st);
	kill_leftovers();
	/* unmount anything left below the dir, deepest first */
	for (int pass = 0; pass < 4 && it_count_mounts_under(d->dir) > 0; pass++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		char line[4096], mnt[4096];
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
			    strncmp(mnt, d->dir, strlen(d->dir)) == 0)
				umount2(mnt, MNT_DETACH);
		if (f)
			fclose(f);
	}
	rm_rf(d->dir);
	d->dir[0] = '\0';
}

/* Check does not run a checked teardown after a failed assertion in fork
 * mode, and a daemon outlives the test process that spawned it: so the
 * runner sweeps before and after the suite.  Everything named
 * /tmp/cradle-it.* is ours. */
void
it_sweep_all(void)
{
	DIR *p = opendir("/proc");
	struct dirent *de;

	while (p && (de = readdir(p)) != NULL) {
		char path[64], cmd[4096];
		pid_t pid = atoi(de->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0)
			continue;
		for (ssize_t i = 0; i < n; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		cmd[n] = '\0';
		if (strstr(cmd, "cradled") && strstr(cmd, "/tmp/cradle-it."))
			kill(pid, SIGKILL);
	}
	if (p)
		closedir(p);
	kill_leftovers();
	for (int pass = 0; pass < 4 && it_count_mounts_under("/tmp/cradle-it.") > 0; pass++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		char line[4096], mnt[4096];
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
			    strncmp(mnt, "/tmp/cradle-it.", 15) == 0)
				umount2(mnt, MNT_DETACH);
		if (f)
			fclose(f);
	}
	if (system("rm -rf --one-file-system /tmp/cradle-it.*") != 0)
		fprintf(stderr, "sweep: could not remove /tmp/cradle-it.*\n");
	/* cgroup directories go with rmdir, deepest first */
	if (system("find /sys/fs/cgroup -depth -type d -path '*" IT_CGROUP_ROOT "*' "
	           "-exec rmdir {} + 2>/dev/null") < 0)
		fprintf(stderr, "sweep: could not remove cgroups\n");
}

int
it_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);

	it_sweep_all();
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	it_sweep_all();
	return failed != 0;
}

struct cradle_pod *
it_pod(const char *name, const char *hostname)
{
	struct cradle_error err = { 0 };
	struct cradle_pod *pod = NULL;
	char uid[128];

	snprintf(uid, sizeof(uid), "uid-%s", name);
	ck_assert_msg(cradle_pod_new(name, "default", uid, &pod, &err) == 0, "pod %s: %s", name,
	              err.message);
	if (hostname != NULL)
		ck_assert_msg(cradle_pod_set_hostname(pod, hostname, &err) == 0, "pod %s: %s", name,
		              err.message);
	return pod;
}

struct cradle_pod *
it_pod_json(const char *name, const char *hostname, const char *extra)
{
	struct cradle_error err = { 0 };
	struct cradle_pod *pod = NULL;
	char json[4096], host[300] = "";

	if (hostname != NULL)
		snprintf(host, sizeof(host), ", \"hostname\": \"%s\"", hostname);
	ck_assert_int_lt(snprintf(json, sizeof(json),
	                          "{\"metadata\": {\"name\": \"%s\", \"namespace\": \"default\", "
	                          "\"uid\": \"uid-%s\"}%s%s%s}",
	                          name, name, host, extra ? ", " : "", extra ? extra : ""),
	                 (int)sizeof(json));
	ck_assert_msg(cradle_pod_from_json(json, strlen(json), &pod, &err) == 0, "pod %s: %s\n%s",
	              name, err.message, json);
	return pod;
}

bool
it_valid_id(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

bool
it_same_ns(pid_t pid, const char *ns)
{
	char a[64], b[64], ta[128] = "", tb[128] = "";
	snprintf(a, sizeof(a), "/proc/self/ns/%s", ns);
	snprintf(b, sizeof(b), "/proc/%d/ns/%s", pid, ns);
	ck_assert_int_gt(readlink(a, ta, sizeof(ta) - 1), 0);
	ck_assert_msg(readlink(b, tb, sizeof(tb) - 1) > 0, "readlink %s: %s", b, strerror(errno));
	return strcmp(ta, tb) == 0;
}

static bool
status_field(pid_t pid, const char *field, char *out, size_t len)
{
	char path[64], line[512];
	size_t fl = strlen(field);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return false;
	bool found = false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			snprintf(out, len, "%s", line + fl + 1);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

bool
it_proc_alive(pid_t pid)
{
	char st[64];
	if (!status_field(pid, "State", st, sizeof(st)))
		return false;
	return strchr(st, 'Z') == NULL && strchr(st, 'X') == NULL;
}

int
it_nspid_inner(pid_t pid)
{
	char v[256];
	if (!status_field(pid, "NSpid", v, sizeof(v)))
		return -1;
	char *last = strrchr(v, '\t');
	return last ? atoi(last + 1) : -1;
}

bool
it_uts_hostname(pid_t pid, char *buf, size_t len)
{
	int p[2];
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/uts", pid);
	if (pipe(p) != 0)
		return false;
	pid_t c = fork();
	if (c == 0) {
		char h[256] = "";
		int fd = open(path, O_RDONLY);
		if (fd < 0 || setns(fd, CLONE_NEWUTS) != 0 || gethostname(h, sizeof(h)) != 0)
			_exit(1);
		if (write(p[1], h, strlen(h)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	ssize_t n = read(p[0], buf, len - 1);
	close(p[0]);
	int st;
	waitpid(c, &st, 0);
	if (n < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return false;
	buf[n] = '\0';
	return true;
}

int
it_count_mounts_under(const char *prefix)
{
	return it_count_mounts_in(0, prefix);
}

int
it_count_mounts_in(pid_t pid, const char *prefix)
{
	char path[64];
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/mountinfo");
	FILE *f = fopen(path, "re");
	char line[4096], mnt[4096];
	int n = 0;
	size_t pl = strlen(prefix);

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
		    strncmp(mnt, prefix, pl) == 0)
			n++;
	fclose(f);
	return n;
}

static FILE *
open_mountinfo(pid_t pid)
{
	char path[64];

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/mountinfo");
	return fopen(path, "re");
}

bool
it_mount_at(pid_t pid, const char *path, struct it_mount *m)
{
	FILE *f = open_mountinfo(pid);
	char line[4096], mnt[4096], type[64];
	bool found = false;
	int id, parent;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");
		if (sscanf(line, "%d %d %*s %*s %4095s", &id, &parent, mnt) != 3 || dash == NULL ||
		    strcmp(mnt, path) != 0 || sscanf(dash + 3, "%63s", type) != 1)
			continue;
		/* later lines are mounted on top of earlier ones */
		m->id = id;
		m->parent = parent;
		snprintf(m->fstype, sizeof(m->fstype), "%s", type);
		found = true;
	}
	fclose(f);
	return found;
}

int
it_count_mountinfo_lines(pid_t pid, const char *text)
{
	FILE *f = open_mountinfo(pid);
	char line[4096];
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, text) != NULL)
			n++;
	fclose(f);
	return n;
}

int
it_in_mntns(const char *pin, int (*fn)(void *), void *arg)
{
	int st;
	pid_t c = fork();

	if (c < 0)
		return -1;
	if (c == 0) {
		int fd = open(pin, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNS) != 0)
			_exit(125);
		_exit(fn(arg));
	}
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool
it_log_contains(const struct it_daemon *d, const char *text)
{
	char path[400], line[2048];
	bool found = false;
	snprintf(path, sizeof(path), "%s/cradled.log", d->dir);
	FILE *f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	if (f)
		fclose(f);
	return found;
}

int
it_count_cgroups(void)
{
	static const char *roots[] = { "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/memory",
		                       "/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified",
		                       "/sys/fs/cgroup" };
	int n = 0;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		char dir[256];
		snprintf(dir, sizeof(dir), "%s%s", roots[i], IT_CGROUP_ROOT);
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d)) != NULL)
			if (de->d_type == DT_DIR && it_valid_id(de->d_name))
				n++;
		if (d)
			closedir(d);
	}
	return n;
}

int
it_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

int
it_count_children_of(pid_t ppid)
{
	DIR *p = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (p && (de = readdir(p)) != NULL) {
		pid_t pid = atoi(de->d_name);
		char v[64];
		if (pid > 0 && status_field(pid, "PPid", v, sizeof(v)) && atoi(v) == ppid &&
		    it_proc_alive(pid))
			n++;
	}
	if (p)
		closedir(p);
	return n;
}

const char *
it_daemon_path(const struct it_daemon *d, const char *path, char *out, size_t len)
{
	int n = snprintf(out, len, "/proc/%d/root%s", (int)d->pid, path);
	ck_assert(n > 0 && (size_t)n < len);
	return out;
}
