/* libinteg.c - integration fixtures. */
#include "tests/integ/libinteg.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static bool status_field(pid_t pid, const char *field, char *out, size_t len);
static int sd_spawn(struct it_daemon *d, const char *bin, char **argv, char **env, const char *log);
static void sd_bind(const struct it_systemd *sd, const char *dir, bool bind);
static bool sd_task(const char *cgroups);
static void sd_sweep(void);
static pid_t sd_live; /* the unshare of the container this test booted */
static void sd_cgroups(void (*fn)(const char *path, void *arg), void *arg);
static FILE *open_mountinfo(pid_t pid);

int
it_ms(int ms)
{
	static int factor;

	if (factor == 0) {
		const char *e = getenv("CRADLE_IT_SLOW");
		int f = e != NULL ? atoi(e) : 0;
#if defined(__SANITIZE_THREAD__)
		int def = 10;
#elif defined(__SANITIZE_ADDRESS__)
		int def = 4;
#else
		int def = 1;
#endif
		factor = f > 0 && f <= 1000 ? f : def;
	}
	return ms * factor;
}

int
it_quiet_ms(int ms)
{
	int f = it_ms(1);

	return ms * (f < 2 ? f : 2);
}

double
it_secs(double secs)
{
	return secs * it_ms(1000) / 1000.0;
}

const char *
it_bin(const char *name)
{
	static __thread char path[512];
	const char *b = getenv("CRADLE_BUILD");
	snprintf(path, sizeof(path), "%s/%s", b ? b : "build", name);
	return path;
}

/* The last IT_LOG_TAIL lines of <dir>/cradled.log on stderr (which
 * tests/run.sh keeps with the suite's output), after a line saying why:
 * when a daemon died or stopped answering, the CI log shows what it said
 * last, not only a temp dir the sweep removes. */
#define IT_LOG_TAIL 40
static void
log_tail(const char *dir, const char *why)
{
	char path[400], buf[16384];
	const char *start = buf;
	struct stat st;
	ssize_t n = 0;
	int fd, lines = 0;

	snprintf(path, sizeof(path), "%s/cradled.log", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "libinteg: %s\nlibinteg: no log to show: %s: %s\n", why, path,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	off_t off = st.st_size > (off_t)sizeof(buf) - 1 ? st.st_size - (off_t)sizeof(buf) + 1 : 0;
	n = pread(fd, buf, sizeof(buf) - 1, off);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (ssize_t i = n - 2; i >= 0; i--)
		if (buf[i] == '\n' && ++lines == IT_LOG_TAIL) {
			start = buf + i + 1;
			break;
		}
	if (start == buf && off > 0 && strchr(buf, '\n') != NULL)
		start = strchr(buf, '\n') + 1; /* not half a line */
	fprintf(stderr, "libinteg: %s\nlibinteg: the end of %s:\n%s%s", why, path, start,
	        n > 0 && buf[n - 1] != '\n' ? "\n" : "");
	fprintf(stderr, "libinteg: (end of %s)\n", path);
}

static void
spawn_daemon(struct it_daemon *d, const char *fail_step, const char *extra_arg)
{
	char log[400], envbuf[128];
	char bin[512];
	char *argv[] = { NULL, "--root",          d->root, "--state", d->state, "--workers",
		         "8",  "--image-archive", NULL,    NULL,      NULL,     NULL,
		         NULL };
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
	if (d->own_workers) {
		/* drop "--workers 8" */
		memmove(&argv[5], &argv[7], 6 * sizeof(argv[0]));
	}
	if (extra_arg != NULL) {
		size_t i = 1;
		while (argv[i] != NULL)
			i++;
		argv[i] = (char *)extra_arg;
	}
	snprintf(log, sizeof(log), "%s/cradled.log", d->dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	/* not the test's fds (Check's files, a flock held by the runner) */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
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
	int r = d->sd != NULL ? sd_spawn(d, bin, argv, env, log)
	                      : posix_spawn(&d->pid, bin, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_msg(r == 0, "spawn %s: %s", bin, strerror(r));

	struct cradle_error err = { 0 };
	for (int i = 0; i < it_ms(30000) / 10; i++) {
		int st;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			log_tail(d->dir, "cradled exited at start-up");
			ck_abort_msg("cradled exited at start-up (status %d), see %s", st, log);
		}
		if (access(d->sock, F_OK) == 0 &&
		    cradle_connect(d->sock, it_ms(30000), &d->conn, &err) == 0) {
			struct cradle_version v;
			if (cradle_version(d->conn, &v, &err) == 0) {
				d->fds_at_start = it_daemon_fds(d->pid);
				d->mounts_at_start = it_count_mounts_in(d->pid, d->dir);
				return;
			}
			cradle_close(d->conn);
			d->conn = NULL;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	log_tail(d->dir, "cradled did not answer");
	ck_abort_msg("cradled did not answer: %s", err.message);
}

void
it_start(struct it_daemon *d, const char *fail_step)
{
	it_start_with(d, fail_step, NULL);
}

static int kill_daemons(void);
static void kill_leftovers(void);
static void remove_cgroups(void);

/* Check skips the teardown of a failed test (fork mode), and the daemon
 * and sandboxes of that test outlive it: the first daemon a test starts
 * clears them first (daemons of this suite, tasks and cgroups under
 * IT_CGROUP_ROOT), so one failure does not fail every test after it. */
static void
clear_earlier_failures(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	int daemons = kill_daemons(), tasks = it_count_pause_tasks();
	if (daemons == 0 && tasks == 0 && it_count_cgroups() == 0)
		return;
	fprintf(stderr,
	        "libinteg: removing what an earlier (failed) test left: %d daemons, %d tasks\n",
	        daemons, tasks);
	kill_leftovers();
	for (int i = 0; i < it_ms(3000) / 20 && it_count_pause_tasks() > 0; i++)
		it_sleep_ms(20);
	remove_cgroups();
}

static void
start_daemon(struct it_daemon *d, const char *fail_step, const char *config_text,
             const struct it_systemd *sd)
{
	clear_earlier_failures();
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), IT_TMP_PREFIX "XXXXXX");
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
	/* No CNI network unless the test configures one: pods get loopback
	 * only (a conf_dir that does not exist, and not required) */
	if (config_text == NULL || strstr(config_text, "[cni]") == NULL)
		fprintf(f, "[cni]\nconf_dir = %s/no-cni\nrequired = false\n", d->dir);
	/* nor NRI: a node's /etc/nri/conf.json must not run in a test */
	if (config_text == NULL || strstr(config_text, "[nri]") == NULL)
		fprintf(f, "[nri]\nconfig_file = %s/no-nri.json\n", d->dir);
	if (config_text != NULL)
		fputs(config_text, f);
	d->own_workers = config_text != NULL && strstr(config_text, "workers") != NULL;
	fclose(f);
	d->sd = sd;
	if (sd != NULL)
		sd_bind(sd, d->dir, true);
	spawn_daemon(d, fail_step, NULL);
}

void
it_start_with(struct it_daemon *d, const char *fail_step, const char *config_text)
{
	start_daemon(d, fail_step, config_text, NULL);
}

void
it_start_in_systemd(struct it_daemon *d, const struct it_systemd *sd, const char *config_text)
{
	ck_assert_msg(sd->init > 0, "it_start_in_systemd: the container is not running");
	start_daemon(d, NULL, config_text, sd);
}

void
it_restart(struct it_daemon *d, const char *fail_step)
{
	it_restart_with_arg(d, fail_step, NULL);
}

void
it_restart_with_arg(struct it_daemon *d, const char *fail_step, const char *arg)
{
	ck_assert_int_eq(d->pid, 0);
	spawn_daemon(d, fail_step, arg);
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

ssize_t
it_proc_read(pid_t pid, const char *file, char *buf, size_t size)
{
	char path[64];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	len = read(fd, buf, size - 1);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
	return len;
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
		char buf[4096];
		pid_t pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		ssize_t len = it_proc_read(pid, "cgroup", buf, sizeof(buf));
		if (len <= 0)
			continue;
		if ((strstr(buf, ":" IT_CGROUP_ROOT "/") == NULL && !sd_task(buf)) ||
		    !it_proc_alive(pid))
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

int
it_pause_tasks(pid_t *pids, int max)
{
	return pause_tasks(pids, max);
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

/* What it_cleanup found left, for the failure message. */
struct leftovers {
	char text[6144];
	size_t len;
	int n;
};

__attribute__((format(printf, 2, 3))) static void
left(struct leftovers *l, const char *fmt, ...)
{
	va_list ap;

	l->n++;
	if (l->len + 2 >= sizeof(l->text))
		return;
	l->text[l->len++] = '\n';
	l->text[l->len++] = ' ';
	va_start(ap, fmt);
	int n = vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len = l->len + (size_t)n < sizeof(l->text) ? l->len + (size_t)n
		                                              : sizeof(l->text) - 1;
}

void
it_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
it_daemon_fds(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	return it_count_entries(path);
}

static void
comm_of(pid_t pid, char *out, size_t len)
{
	if (!status_field(pid, "Name", out, len))
		snprintf(out, len, "?");
	out[strcspn(out, "\n")] = '\0';
	/* status fields start with a tab */
	if (out[0] == '\t')
		memmove(out, out + 1, strlen(out));
}

static int
daemon_fds(const struct it_daemon *d)
{
	return it_daemon_fds(d->pid);
}

static int
daemon_mounts(const struct it_daemon *d)
{
	return it_count_mounts_in(d->pid, d->dir);
}

/* How many of something the daemon holds once it has settled: no more
 * than right after its start, or the same count for 300 ms (scaled),
 * 3 s (scaled) at the most.  A close or unmount in flight is over by
 * then; what is left is kept (a leak, or a sandbox left running). */
static int
settled(int (*count)(const struct it_daemon *), const struct it_daemon *d, int at_start)
{
	int n = count(d);

	for (int i = 0, still = 0; i < it_ms(3000) / 20 && n > at_start && still < it_ms(300) / 20;
	     i++) {
		it_sleep_ms(20);
		int now = count(d);
		still = now == n ? still + 1 : 0;
		n = now;
	}
	return n;
}

/* Records the daemon still holds, its fds and mounts beyond its start. */
static void
check_daemon(struct it_daemon *d, struct leftovers *l)
{
	struct cradle_error err = { 0 };
	struct cradle_conn *c = d->conn;
	struct cradle_sandbox_list *list = NULL;

	if (c == NULL && cradle_connect(d->sock, it_ms(10000), &c, &err) < 0) {
		left(l, "cannot connect to list the records: %s", err.message);
		c = NULL;
	}
	if (c != NULL && cradle_sandbox_list(c, -1, NULL, 0, &list, &err) < 0)
		left(l, "cannot list the records: %s", err.message);
	for (size_t i = 0; list != NULL && i < cradle_sandbox_list_count(list); i++) {
		const struct cradle_sandbox *sb = cradle_sandbox_list_at(list, i);
		left(l, "record %s (pod %s, state %d, phase %d, pid %d)", cradle_sandbox_id(sb),
		     cradle_sandbox_name(sb), cradle_sandbox_state(sb), cradle_sandbox_phase(sb),
		     (int)cradle_sandbox_pid(sb));
	}
	cradle_sandbox_list_free(list);
	if (c != NULL && c != d->conn)
		cradle_close(c);

	/* a closed connection or subscription leaves the daemon a moment
	 * later than the client's close returns */
	int fds = settled(daemon_fds, d, d->fds_at_start);
	if (fds > d->fds_at_start) {
		char dir[64], out[4096] = "";
		size_t n = 0;
		snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)d->pid);
		DIR *dd = opendir(dir);
		struct dirent *de;
		while (dd && (de = readdir(dd)) != NULL && n < sizeof(out) - 300) {
			char p[400], t[200] = "";
			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			ssize_t k = readlink(p, t, sizeof(t) - 1);
			t[k > 0 ? k : 0] = '\0';
			n += (size_t)snprintf(out + n, sizeof(out) - n, " %.20s->%s", de->d_name,
			                      t);
		}
		if (dd)
			closedir(dd);
		left(l, "the daemon has %d open fds, %d right after its start:%s", fds,
		     d->fds_at_start, out);
	}

	int mounts = settled(daemon_mounts, d, d->mounts_at_start);
	if (mounts > d->mounts_at_start)
		left(l,
		     "%d mounts below %s in the daemon's mount namespace, %d right after its start",
		     mounts, d->dir, d->mounts_at_start);
}

static void
check_entries(const char *dir, struct leftovers *l)
{
	DIR *dd = opendir(dir);
	struct dirent *de;

	while (dd && (de = readdir(dd)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			left(l, "entry %s/%s", dir, de->d_name);
	if (dd)
		closedir(dd);
}

/* Calls fn(path, arg) for each cgroup directory right below this suite's
 * cgroup parent, in every hierarchy. */
static void
each_cgroup(void (*fn)(const char *path, void *arg), void *arg)
{
	DIR *top = opendir("/sys/fs/cgroup");
	struct dirent *h;
	bool v2_done = false;

	while (top != NULL) {
		char dir[512];
		h = readdir(top);
		if (h == NULL && v2_done)
			break;
		if (h == NULL) {
			/* a pure v2 node: the parent is right below the root */
			snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", IT_CGROUP_ROOT);
			v2_done = true;
		} else if (h->d_name[0] == '.' || h->d_type != DT_DIR) {
			continue;
		} else {
			snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s%s", h->d_name,
			         IT_CGROUP_ROOT);
		}
		DIR *dd = opendir(dir);
		struct dirent *de;
		while (dd && (de = readdir(dd)) != NULL) {
			char path[800];
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			fn(path, arg);
		}
		if (dd)
			closedir(dd);
	}
	if (top)
		closedir(top);
}

static void
note_cgroup(const char *path, void *arg)
{
	left(arg, "cgroup %s", path);
}

static void
remove_cgroup(const char *path, void *arg)
{
	char cmd[1000];
	(void)arg;
	snprintf(cmd, sizeof(cmd), "find '%s' -depth -type d -exec rmdir {} + 2>/dev/null", path);
	if (system(cmd) < 0)
		fprintf(stderr, "cleanup: cannot remove %s\n", path);
}

/* After the daemon stopped: tasks, children, mounts, dirs, cgroups. */
static void
check_after(const struct it_daemon *d, struct leftovers *l)
{
	pid_t pids[64];
	int n = pause_tasks(pids, 64);

	for (int i = 0; i < n && i < 64; i++) {
		char comm[64];
		comm_of(pids[i], comm, sizeof(comm));
		left(l, "task %d (%s) in %s", (int)pids[i], comm, IT_CGROUP_ROOT);
	}
	if (n > 64)
		left(l, "... %d tasks in all", n);

	DIR *p = opendir("/proc");
	struct dirent *de;
	while (p && (de = readdir(p)) != NULL) {
		pid_t pid = atoi(de->d_name);
		char v[64], st[64], comm[64];
		if (pid > 0 && pid != sd_live && status_field(pid, "PPid", v, sizeof(v)) &&
		    atoi(v) == getpid() && status_field(pid, "State", st, sizeof(st))) {
			comm_of(pid, comm, sizeof(comm));
			st[strcspn(st, "\n")] = '\0';
			left(l, "child %d (%s) of the test, state%s", (int)pid, comm, st);
		}
	}
	if (p)
		closedir(p);

	char ns[400], pin[420];
	snprintf(ns, sizeof(ns), "%s/ns", d->state);
	snprintf(pin, sizeof(pin), "%s/ns/mnt", d->state);
	/* in the container: its mount namespace, where the dir is bound */
	FILE *f = open_mountinfo(d->sd != NULL ? d->sd->init : 0);
	char line[4096], mnt[4096];
	size_t dl = strlen(d->dir);
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
		    strncmp(mnt, d->dir, dl) == 0 && (mnt[dl] == '/' || mnt[dl] == '\0') &&
		    strcmp(mnt, ns) != 0 && strcmp(mnt, pin) != 0 &&
		    (d->sd == NULL || mnt[dl] != '\0'))
			left(l, "mount %s", mnt);
	if (f)
		fclose(f);

	static const char *dirs[] = { "state/sandboxes", "state/netns", "state/shm",
		                      "root/sandboxes" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char path[400];
		snprintf(path, sizeof(path), "%s/%s", d->dir, dirs[i]);
		check_entries(path, l);
	}
	each_cgroup(note_cgroup, l);
	if (d->sd != NULL)
		sd_cgroups(note_cgroup, l);
}

int
it_leftovers(struct it_daemon *d, int *status, char *out, size_t len)
{
	struct leftovers l = { .len = 0 };

	if (d->pid > 0)
		check_daemon(d, &l);
	*status = it_stop(d);
	check_after(d, &l);
	snprintf(out, len, "%s", l.text);
	d->n_left = l.n;
	return l.n;
}

void
it_cleanup(struct it_daemon *d)
{
	struct leftovers l = { .len = 0 };
	int st;

	if (d->dir[0] == '\0')
		return;
	it_leftovers(d, &st, l.text, sizeof(l.text));
	l.n = d->n_left;

	/* remove it all the same, then fail */
	kill_leftovers();
	for (int i = 0; i < it_ms(3000) / 20 && it_count_pause_tasks() > 0; i++)
		it_sleep_ms(20);
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
	each_cgroup(remove_cgroup, NULL);
	if (d->sd != NULL)
		sd_cgroups(remove_cgroup, NULL);
	if (d->sd != NULL && d->sd->init > 0)
		sd_bind(d->sd, d->dir, false);
	char dir[sizeof(d->dir)];
	snprintf(dir, sizeof(dir), "%s", d->dir);
	assert_clean_log(d);
	/* died, or found dead or deaf when asked for its records */
	if ((st != 0 && st != -1) || strstr(l.text, "cannot connect") != NULL ||
	    strstr(l.text, "cannot list") != NULL) {
		char why[300];
		snprintf(why, sizeof(why), "it_cleanup: cradled %s (exit status %d)",
		         st != 0 && st != -1 ? "died or failed" : "did not answer", st);
		log_tail(dir, why);
	}
	rm_rf(dir);
	d->dir[0] = '\0';
	ck_assert_msg(st == 0 || st == -1, "cradled exited with status %d", st);
	ck_assert_msg(l.n == 0, "%d thing(s) left after the test:%s", l.n, l.text);
}

/* SIGKILL every cradled of this suite's tests (its command line names a
 * dir under IT_TMP_PREFIX); how many. */
static int
kill_daemons(void)
{
	DIR *p = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (p && (de = readdir(p)) != NULL) {
		char cmd[4096];
		pid_t pid = atoi(de->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		ssize_t len = it_proc_read(pid, "cmdline", cmd, sizeof(cmd));
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		cmd[len] = '\0';
		if (strstr(cmd, "cradled") && strstr(cmd, IT_TMP_PREFIX) && kill(pid, SIGKILL) == 0)
			n++;
	}
	if (p)
		closedir(p);
	return n;
}

/* Every cgroup below IT_CGROUP_ROOT, and the parent itself, deepest first
 * (rmdir: a cgroup with tasks stays). */
static void
remove_cgroups(void)
{
	if (system("find /sys/fs/cgroup -depth -type d \\( -path '*" IT_CGROUP_ROOT "' -o "
	           "-path '*" IT_CGROUP_ROOT "/*' \\) "
	           "-exec rmdir {} + 2>/dev/null") < 0)
		fprintf(stderr, "sweep: could not remove cgroups\n");
}

/* Check does not run a checked teardown after a failed assertion in fork
 * mode, and a daemon outlives the test process that spawned it: so the
 * runner sweeps before and after the suite.  Everything named
 * IT_TMP_PREFIX* and every cgroup under IT_CGROUP_ROOT is this suite's:
 * other suites, of this build dir or another, are left alone. */
void
it_sweep_all(void)
{
	kill_daemons();
	kill_leftovers();
	for (int pass = 0; pass < 4 && it_count_mounts_under(IT_TMP_PREFIX) > 0; pass++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		char line[4096], mnt[4096];
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
			    strncmp(mnt, IT_TMP_PREFIX, strlen(IT_TMP_PREFIX)) == 0)
				umount2(mnt, MNT_DETACH);
		if (f)
			fclose(f);
	}
	sd_sweep();
	if (system("rm -rf --one-file-system " IT_TMP_PREFIX "*") != 0)
		fprintf(stderr, "sweep: could not remove " IT_TMP_PREFIX "*\n");
	for (int i = 0; i < it_ms(3000) / 20 && it_count_pause_tasks() > 0; i++)
		it_sleep_ms(20);
	remove_cgroups();
}

/* In the runner, after the tests: a test that failed because its daemon
 * died or stopped answering mid-test names the daemon's socket in its
 * message (libcradle's errors do), so the dir, still there until the
 * sweep, and the end of that daemon's log are printed with the test's
 * place.  (A failed test ends at once: no teardown of its own can.) */
static void
tail_lost_daemons(SRunner *sr)
{
	static const char *const lost[] = { "lost before the reply", "cannot reach cradled",
		                            "no reply from cradled" };
	int n = srunner_ntests_failed(sr);
	TestResult **trs = n > 0 ? srunner_failures(sr) : NULL;
	const size_t pl = strlen(IT_TMP_PREFIX);

	for (int i = 0; trs != NULL && i < n; i++) {
		const char *msg = tr_msg(trs[i]), *p;
		char dir[256], why[600];
		bool hit = false;

		for (size_t k = 0; msg != NULL && k < sizeof(lost) / sizeof(lost[0]); k++)
			hit = hit || strstr(msg, lost[k]) != NULL;
		if (!hit || (p = strstr(msg, IT_TMP_PREFIX)) == NULL)
			continue;
		size_t len = pl + strcspn(p + pl, "/\"' ");
		if (len >= sizeof(dir))
			continue;
		memcpy(dir, p, len);
		dir[len] = '\0';
		snprintf(why, sizeof(why), "%s:%d (%s) failed, its daemon gone or deaf: %.300s",
		         tr_lfile(trs[i]), tr_lno(trs[i]), tr_tcname(trs[i]), msg);
		log_tail(dir, why);
	}
	free(trs);
}

int
it_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);

	it_sweep_all();
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	tail_lost_daemons(sr);
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

static bool
line_has_all(const char *line, const char *const *wants)
{
	for (size_t i = 0; wants[i] != NULL; i++)
		if (strstr(line, wants[i]) == NULL)
			return false;
	return true;
}

void
it_expect_refused(const char *config_text, const char *const *wants)
{
	it_expect_refused_args(config_text, NULL, wants);
}

/* it_expect_refused_args and it_expect_start_fails: with nothing_made,
 * also no root and no state directory. */
static void
expect_exit_1(const char *config_text, const char *const *args, const char *const *wants,
              bool nothing_made)
{
	char dir[] = IT_TMP_PREFIX "XXXXXX";
	char conf[300], root[300], state[300], log[300], line[2048], bin[512], cmd[400];
	bool found = false;
	struct stat sb;
	pid_t pid;
	int st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/cradled.conf", dir);
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(log, sizeof(log), "%s/cradled.log", dir);
	FILE *f = fopen(conf, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[sandbox]\ncgroup_root = %s\n%s", IT_CGROUP_ROOT, config_text);
	fclose(f);
	snprintf(bin, sizeof(bin), "%s", it_bin("cradled"));
	char *argv[16] = { bin, "--root", root, "--state", state, "--config", conf };
	for (size_t i = 0, n = 7; args != NULL && args[i] != NULL; i++, n++) {
		ck_assert_uint_lt(n, sizeof(argv) / sizeof(argv[0]) - 1);
		argv[n] = (char *)args[i];
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	ck_assert_int_eq(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
	f = fopen(log, "re");
	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f))
		found = line_has_all(line, wants);
	fclose(f);
	ck_assert_msg(found, "no line of %s holds all of \"%s\"...", log, wants[0]);
	/* nothing made, or at least nothing left mounted */
	if (nothing_made) {
		ck_assert_int_ne(stat(root, &sb), 0);
		ck_assert_int_ne(stat(state, &sb), 0);
	}
	ck_assert_int_eq(it_count_mounts_under(dir), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

void
it_expect_refused_args(const char *config_text, const char *const *args, const char *const *wants)
{
	expect_exit_1(config_text, args, wants, true);
}

void
it_expect_start_fails(const char *config_text, const char *const *args, const char *const *wants)
{
	expect_exit_1(config_text, args, wants, false);
}

int
it_cli(const struct it_daemon *d, char *out, size_t len, const char *fmt, ...)
{
	char args[2048], cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s --socket %s %s 2>&1", it_bin("cradle"), d->sock, args);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

void
it_read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
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
		/* unshare: TSan starts a thread in a forked child, sharing its
		 * fs_struct, and setns(CLONE_NEWNS) refuses a shared one */
		if (fd < 0 || unshare(CLONE_FS) != 0 || setns(fd, CLONE_NEWNS) != 0)
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
	/* every hierarchy a sandbox may have a leaf in (memory and cpuset
	 * have none on v1: the pause joins the parent there) */
	static const char *roots[] = { "/sys/fs/cgroup/cpu",     "/sys/fs/cgroup/memory",
		                       "/sys/fs/cgroup/cpuset",  "/sys/fs/cgroup/pids",
		                       "/sys/fs/cgroup/devices", "/sys/fs/cgroup/freezer",
		                       "/sys/fs/cgroup/blkio",   "/sys/fs/cgroup/systemd",
		                       "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };
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

int
it_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int
it_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	return ntohs(a.sin_port);
}

void
it_registry_start(struct it_registry *r)
{
	it_registry_start_opts(r, NULL);
}

void
it_registry_start_opts(struct it_registry *r, const struct it_registry_opts *o)
{
	static const struct it_registry_opts none;
	char path[300];

	if (o == NULL)
		o = &none;

	snprintf(r->dir, sizeof(r->dir), IT_TMP_PREFIX "registry-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->dir));
	r->port = it_free_port();
	snprintf(path, sizeof(path), "%s/config.yml", r->dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
	        "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n"
	        "    rootdirectory: %s/data\nhttp:\n  addr: 127.0.0.1:%d\n",
	        r->dir, r->port);
	if (o->tls_cert)
		fprintf(f, "  tls:\n    certificate: %s\n    key: %s\n", o->tls_cert, o->tls_key);
	if (o->tls_cert && o->client_ca)
		fprintf(f, "    clientcas:\n      - %s\n", o->client_ca);
	if (o->htpasswd)
		fprintf(f, "auth:\n  htpasswd:\n    realm: cradle-test\n    path: %s\n",
		        o->htpasswd);
	fclose(f);
	pid_t parent = getpid();
	r->pid = fork();
	ck_assert_int_ge(r->pid, 0);
	if (r->pid == 0) {
		char log[300];
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		snprintf(log, sizeof(log), "%s/registry.log", r->dir);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("docker-registry", "docker-registry", "serve", path, (char *)NULL);
		_exit(127);
	}
	/* -f for a plain one; any HTTP answer (401 too) says it is up */
	const char *flags = o->tls_cert ? "k" : "f";
	if (o->htpasswd && !o->tls_cert)
		flags = "";
	for (int i = 0; i < it_ms(5000) / 25; i++) {
		if (it_sh("curl -s%s -o /dev/null %s%s%s%s http%s://127.0.0.1:%d/v2/ 2>/dev/null",
		          flags, o->client_cert ? "--cert " : "",
		          o->client_cert ? o->client_cert : "", o->client_key ? " --key " : "",
		          o->client_key ? o->client_key : "", o->tls_cert ? "s" : "", r->port) == 0)
			return;
		it_sleep_ms(25);
	}
	it_sh("tail -n 5 '%s/registry.log' >&2", r->dir);
	ck_abort_msg("docker-registry did not come up on port %d", r->port);
}

void
it_registry_push_pause(const struct it_registry *r, const char *tag)
{
	ck_assert_int_eq(it_sh("skopeo copy -q --dest-tls-verify=false oci-archive:%s "
	                       "docker://127.0.0.1:%d/pause:%s >/dev/null 2>&1",
	                       it_bin("pause.oci.tar"), r->port, tag),
	                 0);
}

void
it_registry_stop(struct it_registry *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	r->pid = -1;
	if (r->dir[0] != '\0')
		it_sh("rm -rf '%s'", r->dir);
	r->dir[0] = '\0';
}

int
it_registry_log_count(const struct it_registry *r, const char *needle)
{
	char path[300], line[4096];
	int n = 0;
	snprintf(path, sizeof(path), "%s/registry.log", r->dir);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, needle) != NULL)
			n++;
	if (f)
		fclose(f);
	return n;
}

const char *
it_src(const char *rel)
{
	static char path[512];
	const char *s = getenv("CRADLE_SRC");
	snprintf(path, sizeof(path), "%s/%s", s ? s : ".", rel);
	return path;
}

/* ---- a real systemd in a container (libinteg.h) ---- */

/* What boots it: run by unshare(1) as PID 1 of the new namespaces, $1 the
 * container's dir, $2 the build dir, $3 the runner's cwd (absolute).  Nothing of the host is
 * writable from the container but the cgroups of its own namespace and the dirs the tests bind in.
 */
static const char sd_boot_sh[] =
	"set -eu\n"
	"D=$1\n"
	"R=$D/root\n"
	"mount --make-rprivate /\n"
	"mkdir -p \"$R\"\n"
	"# the host's root file system alone (no submount), read-only\n"
	"mount --bind / \"$R\"\n"
	"mount -o remount,bind,ro,nosuid,nodev \"$R\"\n"
	"mount -t proc -o nosuid,nodev,noexec proc \"$R/proc\"\n"
	"for p in sys sysrq-trigger irq bus fs; do\n"
	"	[ -e \"$R/proc/$p\" ] || continue\n"
	"	mount --bind \"$R/proc/$p\" \"$R/proc/$p\"\n"
	"	mount -o remount,bind,ro \"$R/proc/$p\"\n"
	"done\n"
	"mount -t sysfs -o ro,nosuid,nodev,noexec sysfs \"$R/sys\"\n"
	"if [ \"$(stat -fc %T /sys/fs/cgroup)\" = cgroup2fs ]; then\n"
	"	mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 \"$R/sys/fs/cgroup\"\n"
	"else\n"
	"	mount -t tmpfs -o nosuid,nodev,noexec,mode=755 cgroup \"$R/sys/fs/cgroup\"\n"
	"	for c in cpu cpuacct cpuset memory devices freezer blkio pids; do\n"
	"		[ -d /sys/fs/cgroup/$c ] || continue\n"
	"		mkdir \"$R/sys/fs/cgroup/$c\"\n"
	"		mount -t cgroup -o nosuid,nodev,noexec,$c cgroup \"$R/sys/fs/cgroup/$c\"\n"
	"	done\n"
	"	mkdir \"$R/sys/fs/cgroup/systemd\" \"$R/sys/fs/cgroup/unified\"\n"
	"	mount -t cgroup -o nosuid,nodev,noexec,none,name=systemd cgroup "
	"\"$R/sys/fs/cgroup/systemd\"\n"
	"	mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 \"$R/sys/fs/cgroup/unified\"\n"
	"	mount -o remount,bind,ro \"$R/sys/fs/cgroup\"\n"
	"fi\n"
	"mount -t tmpfs -o nosuid,mode=755 dev \"$R/dev\"\n"
	"for n in null zero full random urandom tty; do\n"
	"	touch \"$R/dev/$n\"\n"
	"	mount --bind \"/dev/$n\" \"$R/dev/$n\"\n"
	"done\n"
	"touch \"$R/dev/console\"\n"
	"mount --bind \"$D/console.log\" \"$R/dev/console\"\n"
	"mkdir \"$R/dev/pts\" \"$R/dev/shm\"\n"
	"mount -t devpts -o newinstance,ptmxmode=0666,mode=620,nosuid,noexec devpts "
	"\"$R/dev/pts\"\n"
	"ln -s pts/ptmx \"$R/dev/ptmx\"\n"
	"mount -t tmpfs -o nosuid,nodev,mode=1777 shm \"$R/dev/shm\"\n"
	"ln -s /proc/self/fd \"$R/dev/fd\"\n"
	"mount -t tmpfs -o nosuid,nodev,mode=755 run \"$R/run\"\n"
	"mount -t tmpfs -o nosuid,nodev,mode=1777 tmp \"$R/tmp\"\n"
	"mount -t tmpfs -o nosuid,nodev,mode=755 var \"$R/var\"\n"
	"mkdir -p \"$R/var/tmp\" \"$R/var/log\" \"$R/var/lib/systemd\" \"$R/var/lib/dbus\" "
	"\"$R/var/cache\"\n"
	"chmod 1777 \"$R/var/tmp\"\n"
	"ln -s /run \"$R/var/run\"\n"
	"ln -s /run/lock \"$R/var/lock\"\n"
	"mount -t tmpfs -o nosuid,nodev,mode=700 root \"$R/root\"\n"
	"# the build dir ($2: cradled and its files) and the source tree ($3, the\n"
	"# runner's cwd: the sanitizers' option files), read-only at their own\n"
	"# paths: under /tmp (a fresh clone's) the tmpfs above hides them\n"
	"for d in \"$3\" \"$2\"; do\n"
	"	[ \"$d\" != / ] || continue\n"
	"	mkdir -p \"$R$d\"\n"
	"	mount --bind \"$d\" \"$R$d\"\n"
	"	mount -o remount,bind,ro,nosuid,nodev \"$R$d\"\n"
	"done\n"
	"# no generator; every unit that could touch the host masked\n"
	"S=$R/run/systemd/system\n"
	"mkdir -p \"$S\" \"$R/run/systemd/system-generators\"\n"
	"for g in /lib/systemd/system-generators/* /usr/lib/systemd/system-generators/*; do\n"
	"	[ -e \"$g\" ] && ln -sf /dev/null \"$R/run/systemd/system-generators/${g##*/}\"\n"
	"done\n"
	"for u in $(cat \"$D/masked\"); do\n"
	"	ln -sf /dev/null \"$S/$u\"\n"
	"done\n"
	"printf '[Unit]\\nDescription=cradle integration tests\\nDefaultDependencies=no\\n"
	"Wants=dbus.socket dbus.service\\nAfter=dbus.socket dbus.service\\n' "
	"> \"$S/cradle-test.target\"\n"
	"for u in dbus.socket dbus.service; do\n"
	"	mkdir -p \"$S/$u.d\"\n"
	"	printf '[Unit]\\nDefaultDependencies=no\\n' > \"$S/$u.d/cradle-test.conf\"\n"
	"done\n"
	"cd \"$R\"\n"
	"pivot_root . .\n"
	"umount -l .\n"
	"cd /\n"
	"exec /lib/systemd/systemd --system --unit=cradle-test.target --log-target=console\n";

/* Units that would write outside the container's tmpfs (or start what
 * the tests do not need): masked, on top of DefaultDependencies=no for
 * dbus, so sysinit.target is not even pulled in. */
static const char sd_masked[] =
	"systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service "
	"systemd-tmpfiles-setup-dev-early.service systemd-tmpfiles-clean.service "
	"systemd-tmpfiles-clean.timer systemd-sysctl.service systemd-sysusers.service "
	"systemd-remount-fs.service systemd-modules-load.service "
	"systemd-journal-flush.service systemd-update-utmp.service "
	"systemd-update-utmp-runlevel.service systemd-udevd.service "
	"systemd-udevd-control.socket systemd-udevd-kernel.socket "
	"systemd-udev-trigger.service systemd-udev-settle.service "
	"systemd-random-seed.service systemd-machine-id-commit.service "
	"systemd-timesyncd.service systemd-pstore.service systemd-binfmt.service "
	"systemd-firstboot.service systemd-hwdb-update.service "
	"systemd-journal-catalog-update.service systemd-update-done.service "
	"systemd-repart.service systemd-pcrphase.service "
	"systemd-pcrphase-sysinit.service systemd-boot-update.service "
	"systemd-fsck-root.service systemd-quotacheck.service systemd-logind.service "
	"ldconfig.service kmod-static-nodes.service proc-sys-fs-binfmt_misc.automount "
	"proc-sys-fs-binfmt_misc.mount sys-fs-fuse-connections.mount "
	"sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount "
	"dev-hugepages.mount dev-mqueue.mount tmp.mount swap.target cryptsetup.target "
	"veritysetup.target integritysetup.target e2scrub_reap.service "
	"e2scrub_all.timer apt-daily.timer apt-daily-upgrade.timer "
	"dpkg-db-backup.timer fstrim.timer man-db.timer postgresql.service "
	"docker-registry.service getty.target console-getty.service ";

/* The container's cgroup in each hierarchy of the host: /sys/fs/cgroup/<h>
 * + IT_SYSTEMD_CGROUP (hybrid, v1) or /sys/fs/cgroup + it (v2). */
static int
sd_cgroup_dirs(char dirs[][128], int max)
{
	static const char *const hier[] = { "cpu",     "cpuacct", "cpuset", "memory",  "devices",
		                            "freezer", "blkio",   "pids",   "systemd", "unified" };
	int n = 0;

	for (size_t i = 0; i < sizeof(hier) / sizeof(hier[0]) && n < max; i++) {
		char h[64];
		struct stat sb;
		snprintf(h, sizeof(h), "/sys/fs/cgroup/%s", hier[i]);
		if (lstat(h, &sb) == 0 && S_ISDIR(sb.st_mode))
			snprintf(dirs[n++], 128, "%s%s", h, IT_SYSTEMD_CGROUP);
	}
	if (n == 0 && max > 0)
		snprintf(dirs[n++], 128, "/sys/fs/cgroup%s", IT_SYSTEMD_CGROUP);
	return n;
}

/* A /proc/PID/cgroup text places the task in the container's cgroups. */
static bool
sd_member(const char *cgroups)
{
	for (const char *p = cgroups; (p = strstr(p, ":" IT_SYSTEMD_CGROUP)) != NULL; p++) {
		char c = p[strlen(":" IT_SYSTEMD_CGROUP)];
		if (c == '/' || c == '\n' || c == '\0')
			return true;
	}
	return false;
}

/* ... in a cgroup of the container that is not systemd's own (its
 * init.scope, system.slice) nor its root (a daemon the tests started):
 * a sandbox's, in either layout. */
static bool
sd_task(const char *cgroups)
{
	static const char pre[] = ":" IT_SYSTEMD_CGROUP "/";

	for (const char *p = cgroups; (p = strstr(p, pre)) != NULL; p++) {
		const char *rest = p + strlen(pre);
		if (strncmp(rest, "init.scope", 10) != 0 && strncmp(rest, "system.slice", 12) != 0)
			return true;
	}
	return false;
}

/* Every sandbox cgroup in the container: a dir named after a sandbox id
 * (cgroupfs layout) or "<prefix>-<id>.scope" (the systemd driver's). */
static void
sd_cgroups(void (*fn)(const char *path, void *arg), void *arg)
{
	FILE *p = popen("find /sys/fs/cgroup -mindepth 2 -type d -path '*" IT_SYSTEMD_CGROUP
	                "/*' 2>/dev/null",
	                "r");
	char line[1024];

	while (p != NULL && fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		const char *base = strrchr(line, '/');
		base = base ? base + 1 : line;
		size_t bl = strlen(base);
		char id[65] = "";
		if (bl > 6 + 64 && strcmp(base + bl - 6, ".scope") == 0)
			snprintf(id, sizeof(id), "%.64s", base + bl - 6 - 64);
		if (it_valid_id(base) || it_valid_id(id))
			fn(line, arg);
	}
	if (p != NULL)
		pclose(p);
}

/* Processes in the container's cgroups (zombies not counted). */
static int
sd_count_members(bool kill_them)
{
	DIR *p = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (p && (de = readdir(p)) != NULL) {
		char buf[4096];
		pid_t pid = atoi(de->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		ssize_t len = it_proc_read(pid, "cgroup", buf, sizeof(buf));
		if (len <= 0)
			continue;
		if (!sd_member(buf) || !it_proc_alive(pid))
			continue;
		n++;
		if (kill_them)
			kill(pid, SIGKILL);
	}
	if (p)
		closedir(p);
	return n;
}

/* Cgroup dirs of the container left in the host's hierarchies. */
static int
sd_count_cgroup_dirs(void)
{
	char dirs[16][128];
	int n = sd_cgroup_dirs(dirs, 16), left_n = 0;

	for (int i = 0; i < n; i++)
		if (access(dirs[i], F_OK) == 0)
			left_n++;
	return left_n;
}

static void
sd_remove_cgroups(void)
{
	char dirs[16][128];
	int n = sd_cgroup_dirs(dirs, 16);

	for (int i = 0; i < n; i++)
		if (access(dirs[i], F_OK) == 0)
			it_sh("find '%s' -depth -type d -exec rmdir {} + 2>/dev/null", dirs[i]);
}

/* What a failed test left of its container: processes killed (the
 * unshare and its init first: the pid namespace goes with it), cgroups
 * removed. */
static void
sd_sweep(void)
{
	if (sd_count_members(true) > 0)
		for (int i = 0; i < it_ms(5000) / 20 && sd_count_members(false) > 0; i++)
			it_sleep_ms(20);
	sd_remove_cgroups();
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static pid_t
child_of(pid_t ppid)
{
	DIR *p = opendir("/proc");
	struct dirent *de;
	pid_t found = -1;

	while (p && found < 0 && (de = readdir(p)) != NULL) {
		pid_t pid = atoi(de->d_name);
		char v[64];
		if (pid > 0 && status_field(pid, "PPid", v, sizeof(v)) && atoi(v) == ppid)
			found = pid;
	}
	if (p)
		closedir(p);
	return found;
}

void
it_systemd_boot(struct it_systemd *sd)
{
	char path[400], dirs[16][128], out[512] = "";
	int procs[16], n, con, null;

	ck_assert_msg(sd_live == 0, "one container at a time");
	memset(sd, 0, sizeof(*sd));
	sd_sweep();
	snprintf(sd->dir, sizeof(sd->dir), IT_TMP_PREFIX "sd-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sd->dir));
	snprintf(path, sizeof(path), "%s/boot.sh", sd->dir);
	write_file(path, sd_boot_sh);
	snprintf(path, sizeof(path), "%s/masked", sd->dir);
	FILE *f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs(sd_masked, f);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(path, sizeof(path), "%s/console.log", sd->dir);
	con = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	ck_assert_int_ge(con, 0);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(null, 0);

	/* its cgroup in every hierarchy: the root of its cgroup namespace */
	n = sd_cgroup_dirs(dirs, 16);
	for (int i = 0; i < n; i++) {
		ck_assert_msg(mkdir(dirs[i], 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dirs[i],
		              strerror(errno));
		if (strstr(dirs[i], "/cpuset/") != NULL) {
			char v[256];
			it_read_text("/sys/fs/cgroup/cpuset/cpuset.cpus", v, sizeof(v));
			snprintf(path, sizeof(path), "%s/cpuset.cpus", dirs[i]);
			write_file(path, v);
			it_read_text("/sys/fs/cgroup/cpuset/cpuset.mems", v, sizeof(v));
			snprintf(path, sizeof(path), "%s/cpuset.mems", dirs[i]);
			write_file(path, v);
		}
		snprintf(path, sizeof(path), "%s/cgroup.procs", dirs[i]);
		procs[i] = open(path, O_WRONLY | O_CLOEXEC);
		ck_assert_msg(procs[i] >= 0, "%s: %s", path, strerror(errno));
	}

	char sh[300], build[PATH_MAX];
	snprintf(sh, sizeof(sh), "%s/boot.sh", sd->dir);
	ck_assert_msg(realpath(it_bin("."), build) != NULL, "build dir %s: %s", it_bin("."),
	              strerror(errno));
	char cwd[PATH_MAX];
	ck_assert_msg(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd: %s", strerror(errno));
	char *argv[] = { "unshare", "--pid", "--fork", "--kill-child", "--mount", "--cgroup",
		         "--uts",   "--net", "--ipc",  "/bin/sh",      sh,        sd->dir,
		         build,     cwd,     NULL };
	char *envp[] = { "container=cradle-test", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	pid_t parent = getpid();
	sd->pid = fork();
	ck_assert_int_ge(sd->pid, 0);
	if (sd->pid == 0) {
		/* the container dies with the test (unshare --kill-child) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		for (int i = 0; i < n; i++)
			if (write(procs[i], "0", 1) != 1)
				_exit(2);
		if (dup2(null, 0) < 0 || dup2(con, 1) < 0 || dup2(con, 2) < 0 || setsid() < 0)
			_exit(3);
		syscall(SYS_close_range, 3, ~0U, 0);
		execve("/usr/bin/unshare", argv, envp);
		_exit(127);
	}
	sd_live = sd->pid;
	for (int i = 0; i < n; i++)
		close(procs[i]);
	close(con);
	close(null);

	int st;
	for (int i = 0; i < it_ms(30000) / 50; i++) {
		if (waitpid(sd->pid, &st, WNOHANG) == sd->pid) {
			sd->pid = 0;
			sd_live = 0;
			it_sh("tail -n 30 '%s/console.log' >&2", sd->dir);
			ck_abort_msg("the container exited at boot (status %d), see %s/console.log",
			             st, sd->dir);
		}
		if (sd->init <= 0)
			sd->init = child_of(sd->pid);
		if (sd->init > 0 &&
		    it_systemd_run(sd, out, sizeof(out), "systemctl is-system-running 2>&1") >= 0 &&
		    (strncmp(out, "running", 7) == 0 || strncmp(out, "degraded", 8) == 0))
			return;
		it_sleep_ms(50);
	}
	it_sh("tail -n 30 '%s/console.log' >&2", sd->dir);
	ck_abort_msg("systemd in the container did not come up: \"%s\"", out);
}

void
it_systemd_halt(struct it_systemd *sd)
{
	struct leftovers l = { .len = 0 };
	int st;
	bool off = false;

	if (sd->pid > 0) {
		if (sd->init > 0)
			kill(sd->init, SIGRTMIN + 4);
		for (int i = 0; i < it_ms(20000) / 20 && !off; i++) {
			off = waitpid(sd->pid, &st, WNOHANG) == sd->pid;
			if (!off)
				it_sleep_ms(20);
		}
		if (!off) {
			left(&l, "the container did not power off in %d ms", it_ms(20000));
			kill(sd->pid, SIGKILL);
			waitpid(sd->pid, &st, 0);
		}
	}
	sd->pid = 0;
	sd->init = 0;
	sd_live = 0;
	/* its pid namespace is gone with its init: no process may be left in
	 * its cgroups (a zombie of ours: a daemon not stopped) */
	int procs = sd_count_members(false);
	for (int i = 0; i < it_ms(3000) / 20 && procs > 0; i++) {
		it_sleep_ms(20);
		procs = sd_count_members(false);
	}
	if (procs > 0) {
		left(&l, "%d processes in the container's cgroups", procs);
		sd_count_members(true);
	}
	sd_remove_cgroups();
	if (sd_count_cgroup_dirs() > 0)
		left(&l, "its cgroups (%s) cannot be removed", IT_SYSTEMD_CGROUP);
	if (sd->dir[0] != '\0') {
		if (it_count_mounts_under(sd->dir) > 0)
			left(&l, "mounts below %s in the host's namespace", sd->dir);
		rm_rf(sd->dir);
		if (access(sd->dir, F_OK) == 0)
			left(&l, "%s cannot be removed", sd->dir);
		sd->dir[0] = '\0';
	}
	ck_assert_msg(l.n == 0, "halting the container:%s", l.text);
}

int
it_systemd_run(const struct it_systemd *sd, char *out, size_t len, const char *fmt, ...)
{
	char cmd[2048], quoted[4096], line[4200];
	size_t q = 0;
	va_list ap;

	ck_assert_int_gt(sd->init, 0);
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	/* in single quotes: ' as '\'' */
	for (const char *c = cmd; *c != '\0' && q + 5 < sizeof(quoted); c++) {
		if (*c == '\'') {
			memcpy(quoted + q, "'\\''", 4);
			q += 4;
		} else {
			quoted[q++] = *c;
		}
	}
	quoted[q] = '\0';
	snprintf(line, sizeof(line), "nsenter -t %d -a /bin/sh -c '%s' 2>&1", (int)sd->init,
	         quoted);
	FILE *p = popen(line, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	/* the rest, if any, read and dropped */
	char sink[512];
	while (fread(sink, 1, sizeof(sink), p) > 0)
		;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The fields of pid's NSpid (outermost first), up to max; how many. */
static int
nspids(pid_t pid, long *out, int max)
{
	char v[256], *p = v, *end;
	int n = 0;

	if (!status_field(pid, "NSpid", v, sizeof(v)))
		return 0;
	for (long x; n < max && (x = strtol(p, &end, 10), end != p); p = end)
		out[n++] = x;
	return n;
}

pid_t
it_systemd_host_pid(const struct it_systemd *sd, pid_t inner)
{
	long f[8];
	/* the container's level: where its init is 1 */
	int level = nspids(sd->init, f, 8) - 1;
	DIR *p;
	struct dirent *de;
	pid_t found = -1;

	ck_assert_int_ge(level, 1);
	p = opendir("/proc");
	while (p && found < 0 && (de = readdir(p)) != NULL) {
		char buf[4096];
		pid_t pid = atoi(de->d_name);
		if (pid <= 0 || nspids(pid, f, 8) <= level || f[level] != inner)
			continue;
		/* at that level in some namespace: the container's if the task
		 * is in its cgroups */
		ssize_t len = it_proc_read(pid, "cgroup", buf, sizeof(buf));
		if (len <= 0)
			continue;
		if (sd_member(buf))
			found = pid;
	}
	if (p)
		closedir(p);
	return found;
}

/* Bind dir (a dir of the host's) into the container at the same path, or
 * detach it there again and remove its mount point. */
static void
sd_bind(const struct it_systemd *sd, const char *dir, bool bind)
{
	char path[64];
	int tree = -1, mnt, st;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)sd->init);
	mnt = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(mnt >= 0, "%s: %s", path, strerror(errno));
	if (bind) {
		tree = (int)syscall(SYS_open_tree, AT_FDCWD, dir,
		                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		ck_assert_msg(tree >= 0, "open_tree %s: %s", dir, strerror(errno));
	}
	pid_t c = fork();
	ck_assert_int_ge(c, 0);
	if (c == 0) {
		/* unshare: TSan starts a thread in a forked child, sharing its
		 * fs_struct, and setns(CLONE_NEWNS) refuses a shared one */
		if (unshare(CLONE_FS) != 0 || setns(mnt, CLONE_NEWNS) != 0)
			_exit(10);
		if (!bind) {
			umount2(dir, MNT_DETACH);
			_exit(rmdir(dir) == 0 || errno == ENOENT ? 0 : 11);
		}
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			_exit(12);
		if (syscall(SYS_move_mount, tree, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) != 0)
			_exit(13);
		_exit(0);
	}
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	close(mnt);
	if (tree >= 0)
		close(tree);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s %s in the container: step %d",
	              bind ? "bind" : "unbind", dir, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* cradled in the container: a child of the test (so it_stop waits for
 * it), forked into the container's pid namespace, then into its root
 * cgroup and its other namespaces before exec. */
static int
sd_spawn(struct it_daemon *d, const char *bin, char **argv, char **env, const char *log)
{
	static const struct {
		const char *name;
		int type;
	} nss[] = { { "cgroup", CLONE_NEWCGROUP },
		    { "ipc", CLONE_NEWIPC },
		    { "uts", CLONE_NEWUTS },
		    { "net", CLONE_NEWNET },
		    { "mnt", CLONE_NEWNS } };
	const struct it_systemd *sd = d->sd;
	char path[300], dirs[16][128];
	int fds[5], procs[16], n = sd_cgroup_dirs(dirs, 16), self, pidns, err = 0;
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	ck_assert_int_ge(logfd, 0);
	ck_assert_int_ge(null, 0);
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)sd->init, nss[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		ck_assert_msg(fds[i] >= 0, "%s: %s", path, strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", dirs[i]);
		procs[i] = open(path, O_WRONLY | O_CLOEXEC);
		ck_assert_msg(procs[i] >= 0, "%s: %s", path, strerror(errno));
	}
	self = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)sd->init);
	pidns = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(self, 0);
	ck_assert_int_ge(pidns, 0);
	/* this thread's next child is in the container's pid namespace */
	ck_assert_int_eq(setns(pidns, CLONE_NEWPID), 0);
	d->pid = fork();
	if (d->pid < 0)
		err = errno;
	if (d->pid == 0) {
		for (int i = 0; i < n; i++)
			if (write(procs[i], "0", 1) != 1)
				_exit(120);
		if (unshare(CLONE_FS) != 0) /* as in sd_bind */
			_exit(121);
		for (int i = 0; i < 5; i++)
			if (setns(fds[i], nss[i].type) != 0)
				_exit(121);
		if (chdir("/") != 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(logfd, 2) < 0)
			_exit(122);
		syscall(SYS_close_range, 3, ~0U, 0);
		execve(bin, argv, env);
		_exit(127);
	}
	ck_assert_int_eq(setns(self, CLONE_NEWPID), 0);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	for (int i = 0; i < n; i++)
		close(procs[i]);
	close(self);
	close(pidns);
	close(logfd);
	close(null);
	return err;
}
