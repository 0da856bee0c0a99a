/* unit.c - the unit tests' shared runner and helpers (see unit.h). */
#include "tests/unit/lib/unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char base_dir[256]; /* unit_run: one per run, canonical */
static char test_dir[512]; /* fixture: one per test, inside base_dir */

const char *
unit_base_dir(void)
{
	return base_dir;
}

const char *
unit_test_dir(void)
{
	return test_dir;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
unit_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void
unit_scratch_setup(void)
{
	umask(022);
	snprintf(test_dir, sizeof(test_dir), "%s/t-XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(test_dir));
}

void
unit_scratch_setup_ns(void)
{
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	/* Private first: nothing below reaches the host... */
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	/* ...then shared within this namespace, so mount namespaces cloned
	 * from it (the sandboxes) would propagate into it unless they opt out. */
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL), 0);
	unit_scratch_setup();
}

void
unit_scratch_teardown(void)
{
	ck_assert_int_eq(unit_rm_rf(test_dir), 0);
}

void
unit_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", test_dir, name);

	ck_assert(n > 0 && (size_t)n < len);
}

void
unit_put_file(const char *path, const void *data, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

void
unit_put_str(const char *path, const char *s)
{
	unit_put_file(path, s, strlen(s), 0644);
}

char *
unit_slurp(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 4096;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	for (;;) {
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) { /* e.g. ESRCH: a /proc/PID file of a process gone */
			int e = errno;
			close(fd);
			free(buf);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

char *
unit_slurp_ok(const char *path, size_t *lenp)
{
	char *s = unit_slurp(path, lenp);

	ck_assert_msg(s != NULL, "read %s: %s", path, strerror(errno));
	return s;
}

void
unit_assert_file_is(const char *path, const char *want)
{
	size_t len;
	char *got = unit_slurp_ok(path, &len);

	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq(got, want);
	free(got);
}

bool
unit_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

bool
unit_status_field(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64];
	char *buf, *line, *save = NULL;
	size_t klen = strlen(key);
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((buf = unit_slurp(path, NULL)) == NULL)
		return false;
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			const char *v = line + klen + 1;
			while (*v == '\t' || *v == ' ')
				v++;
			snprintf(out, len, "%s", v);
			found = true;
			break;
		}
	}
	free(buf);
	return found;
}

int
unit_count_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;
	pid_t self = getpid();

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char val[64];
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end != '\0' || pid <= 0)
			continue;
		if (unit_status_field((pid_t)pid, "PPid", val, sizeof(val)) && atoi(val) == self)
			n++;
	}
	closedir(d);
	return n;
}

int
unit_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

void
unit_assert_no_children(void)
{
	ck_assert_int_eq(unit_count_children(), 0);
	errno = 0;
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape_octal(char *s)
{
	char *d = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

int
unit_mountinfo_walk(const char *file, bool (*fn)(const struct unit_mount *, void *), void *arg)
{
	FILE *f = fopen(file, "re");
	struct unit_mount *m = malloc(sizeof(*m));
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	ck_assert_msg(f != NULL, "open %s: %s", file, strerror(errno));
	ck_assert_ptr_nonnull(m);
	while (getline(&line, &cap, f) > 0) {
		const char *sep = strstr(line, " - ");

		n++;
		if (sscanf(line, "%*s %*s %*s %*s %4095s %255s", m->point, m->opts) != 2 ||
		    sep == NULL || sscanf(sep + 3, "%63s", m->fstype) != 1)
			continue;
		unescape_octal(m->point);
		if (fn != NULL && fn(m, arg))
			break;
	}
	free(line);
	free(m);
	fclose(f);
	return n;
}

struct under_arg {
	const char *path;
	size_t len;
	int n;
};

static bool
under_one(const struct unit_mount *m, void *arg)
{
	struct under_arg *a = arg;

	if (strncmp(m->point, a->path, a->len) == 0 &&
	    (m->point[a->len] == '\0' || m->point[a->len] == '/'))
		a->n++;
	return false;
}

int
unit_mounts_under_in(const char *mountinfo, const char *path)
{
	struct under_arg a = { .path = path, .len = strlen(path) };

	unit_mountinfo_walk(mountinfo, under_one, &a);
	return a.n;
}

int
unit_mounts_under(const char *path)
{
	return unit_mounts_under_in("/proc/self/mountinfo", path);
}

int
unit_ns_same(pid_t pid, const char *ns)
{
	char path[128];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	if (stat(path, &a) != 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	if (stat(path, &b) != 0)
		return -1;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The mount points of every cgroup and cgroup2 file system; *n of them,
 * malloc'd (free with cgroup_mounts_free).  No Check call here or below:
 * main() cleans up with these after the tests.  NULL with errno set on
 * failure. */
static char **
cgroup_mounts(size_t *n)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, **v = NULL;
	size_t cap = 0;
	bool ok = f != NULL;

	*n = 0;
	while (ok && getline(&line, &cap, f) > 0) {
		char point[PATH_MAX], fstype[64];
		const char *sep = strstr(line, " - ");
		char **nv;

		if (sep == NULL || sscanf(sep + 3, "%63s", fstype) != 1 ||
		    (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0) ||
		    sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
			continue;
		unescape_octal(point);
		if ((nv = realloc(v, (*n + 1) * sizeof(*v))) == NULL) {
			ok = false;
			break;
		}
		v = nv;
		if ((v[*n] = strdup(point)) == NULL)
			ok = false;
		else
			(*n)++;
	}
	free(line);
	if (f != NULL)
		fclose(f);
	if (!ok) {
		int e = errno;
		for (size_t i = 0; i < *n; i++)
			free(v[i]);
		free(v);
		*n = 0;
		errno = e;
		return NULL;
	}
	return v != NULL ? v : calloc(1, sizeof(*v));
}

static void
cgroup_mounts_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int dirs_below; /* cgroup walks: nftw has no argument */

static int
count_dir(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)path;
	(void)sb;
	if (flag == FTW_D && ftw->level > 0)
		dirs_below++;
	return 0;
}

static int
rmdir_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	/* cgroup control files go with their directory */
	return flag == FTW_DP && rmdir(path) != 0 ? -1 : 0;
}

/* what: 0 at, 1 below, 2 rmtree.  -1 with errno on failure. */
static int
cgroup_walk(const char *rel, int what)
{
	size_t n;
	char **mnts = cgroup_mounts(&n);
	int count = 0, rc = 0, e = 0;

	if (mnts == NULL)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char path[PATH_MAX];
		struct stat st;

		if ((size_t)snprintf(path, sizeof(path), "%s%s", mnts[i], rel) >= sizeof(path)) {
			e = ENAMETOOLONG;
			rc = -1;
		} else if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
			continue;
		} else if (what == 0) {
			count++;
		} else if (what == 1) {
			dirs_below = 0;
			if (nftw(path, count_dir, 16, FTW_PHYS) != 0) {
				e = errno;
				rc = -1;
			}
			count += dirs_below;
		} else if (nftw(path, rmdir_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
			e = errno;
			rc = -1;
		}
	}
	cgroup_mounts_free(mnts, n);
	errno = e;
	return rc < 0 ? -1 : what == 2 ? 0 : count;
}

int
unit_cgroups_at(const char *rel)
{
	return cgroup_walk(rel, 0);
}

int
unit_cgroups_below(const char *rel)
{
	return cgroup_walk(rel, 1);
}

int
unit_cgroup_rmtree(const char *rel)
{
	return cgroup_walk(rel, 2);
}

const char *
unit_shared_hierarchy(int i)
{
	static const char *const all[] = { "cpu",        "cpuacct", "cpuset", "memory",  "pids",
		                           "devices",    "freezer", "blkio",  "net_cls", "net_prio",
		                           "perf_event", "hugetlb", "rdma",   "misc" };
	static char found[2][PATH_MAX];
	char src[256], dir[PATH_MAX], type[64], opts[1024];
	int n = 0;
	FILE *f = fopen("/proc/self/mounts", "re");

	while (f != NULL && n < 2 &&
	       fscanf(f, "%255s %4095s %63s %1023s %*d %*d", src, dir, type, opts) == 4) {
		char *save = NULL, *w;
		const char *only = NULL;
		int controllers = 0;
		if (strcmp(type, "cgroup") != 0)
			continue;
		for (w = strtok_r(opts, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save))
			for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
				if (strcmp(w, all[k]) == 0) {
					controllers++;
					only = all[k];
				}
		if (controllers == 1 && (!strcmp(only, "memory") || !strcmp(only, "cpuset")))
			snprintf(found[n++], sizeof(found[0]), "%s", dir);
	}
	if (f != NULL)
		fclose(f);
	return i >= 0 && i < n ? found[i] : NULL;
}

void
unit_cgroup_kill_rmtree(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_type == DT_DIR && strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0 &&
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
			unit_cgroup_kill_rmtree(path);
	closedir(d);
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "re");
	long pid;
	while (f != NULL && fscanf(f, "%ld", &pid) == 1)
		if (pid > 0)
			kill((pid_t)pid, SIGKILL);
	if (f != NULL)
		fclose(f);
	for (int i = 0; i < 200 && rmdir(dir) != 0 && errno == EBUSY; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		unit_sleep_ms(10);
	}
}

char *
unit_strdup(const char *s)
{
	char *d = strdup(s);

	ck_assert_ptr_nonnull(d);
	return d;
}

void
unit_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
unit_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n, st;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

void
unit_mkdir_in(const char *root, const char *rel)
{
	char p[PATH_MAX];

	UNIT_FMT(p, "%s/%s", root, rel);
	ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
}

void
unit_put_in(const char *root, const char *rel, const char *text, unsigned mode)
{
	char p[PATH_MAX];

	UNIT_FMT(p, "%s/%s", root, rel);
	unit_put_file(p, text, strlen(text), mode);
}

int
unit_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_msg(d != NULL, "opendir %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* out = realpath of "<$env or dflt>/<rel>"; hint says how to get it. */
static int
tree_path(char out[PATH_MAX], const char *env, const char *dflt, const char *rel, const char *hint)
{
	const char *top = getenv(env);
	char path[PATH_MAX];
	int n, e;

	n = snprintf(path, sizeof(path), "%s/%s", top != NULL && top[0] != '\0' ? top : dflt, rel);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "%s/%s: path too long\n", dflt, rel);
		errno = ENAMETOOLONG;
		return -1;
	}
	if (realpath(path, out) == NULL) {
		e = errno;
		fprintf(stderr, "%s: %s (%s, or set %s)\n", path, strerror(e), hint, env);
		errno = e;
		return -1;
	}
	return 0;
}

int
unit_build_path(char out[PATH_MAX], const char *rel)
{
	char hint[PATH_MAX + 16];

	snprintf(hint, sizeof(hint), "make build/%s", rel);
	return tree_path(out, "CRADLE_BUILD", "build", rel, hint);
}

int
unit_data_path(char out[PATH_MAX], const char *rel)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "tests/data/%s", rel) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return tree_path(out, "CRADLE_SRC", ".", path, "run from the source tree");
}

void
unit_pause_rootfs(char out[PATH_MAX])
{
	char path[PATH_MAX + 8];

	ck_assert_msg(unit_build_path(out, "rootfs") == 0, "no pause rootfs (see above)");
	UNIT_FMT(path, "%s/pause", out);
	ck_assert_msg(access(path, X_OK) == 0, "%s: %s (make build/rootfs/pause)", path,
	              strerror(errno));
}

TCase *
unit_tcase(Suite *s, const char *name, void (*setup)(void), void (*teardown)(void), double timeout,
           const TTest *const *tests)
{
	TCase *tc = tcase_create(name);

	if (setup != NULL || teardown != NULL)
		tcase_add_checked_fixture(tc, setup, teardown);
	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	for (; *tests != NULL; tests++)
		tcase_add_test(tc, *tests);
	suite_add_tcase(s, tc);
	return tc;
}

int
unit_run_with(Suite *s, const char *name, unsigned flags, int (*before)(void), int (*after)(void))
{
	char tmpl[256], real[PATH_MAX];
	SRunner *sr;
	int failed = 0;

	if ((flags & UNIT_ROOT) && geteuid() != 0)
		fprintf(stderr, "%s: needs root (namespaces, mounts, cgroups)\n", name);
	snprintf(tmpl, sizeof(tmpl), "/tmp/cradle-%s-XXXXXX", name);
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, real) == NULL ||
	    strlen(real) >= sizeof(base_dir)) {
		perror("mkdtemp");
		return 1;
	}
	memcpy(base_dir, real, strlen(real) + 1);
	if (flags & UNIT_SUBREAPER)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	sr = srunner_create(s);
	if (before != NULL && before() != 0) {
		fprintf(stderr, "%s: setting up the run failed; no test ran\n", name);
		failed = 1;
	} else {
		srunner_set_fork_status(sr, CK_FORK);
		srunner_run_all(sr, CK_ENV);
		failed = srunner_ntests_failed(sr);
	}
	srunner_free(sr);
	/* Orphans of failed tests, killed with their process group, come
	 * back here to be reaped (give them a moment to die). */
	for (int i = 0; (flags & UNIT_SUBREAPER) && i < 20; i++) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0)
			continue;
		if (pid < 0)
			break;
		usleep(10000);
	}
	if (after != NULL && after() != 0) {
		fprintf(stderr, "%s: cleaning up after the run failed\n", name);
		failed++;
	}
	while ((flags & UNIT_SUBREAPER) && waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (unit_rm_rf(base_dir) != 0)
		fprintf(stderr, "%s: remove %s: %s\n", name, base_dir, strerror(errno));
	return failed == 0 ? 0 : 1;
}

int
unit_run(Suite *s, const char *name, unsigned flags)
{
	return unit_run_with(s, name, flags, NULL, NULL);
}
