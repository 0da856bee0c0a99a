/* unit.c - the unit tests' shared runner and helpers (see unit.h). */
#include "tests/unit/lib/unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
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
unit_mounts_under(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, point[PATH_MAX];
	size_t cap = 0, plen = strlen(path);
	int n = 0;

	ck_assert_msg(f != NULL, "open mountinfo: %s", strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
			continue;
		unescape_octal(point);
		if (strncmp(point, path, plen) == 0 && (point[plen] == '\0' || point[plen] == '/'))
			n++;
	}
	free(line);
	fclose(f);
	return n;
}

int
unit_run(Suite *s, const char *name, unsigned flags)
{
	char tmpl[256], real[PATH_MAX];
	SRunner *sr;
	int failed;

	if ((flags & UNIT_ROOT) && geteuid() != 0)
		fprintf(stderr, "%s: needs root (namespaces, mounts, cgroups)\n", name);
	snprintf(tmpl, sizeof(tmpl), "/tmp/cradle-%s-XXXXXX", name);
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, real) == NULL || strlen(real) >= sizeof(base_dir)) {
		perror("mkdtemp");
		return 1;
	}
	memcpy(base_dir, real, strlen(real) + 1);
	if (flags & UNIT_SUBREAPER)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	/* Orphans of failed tests, killed with their process group, come
	 * back here to be reaped (give them a moment to die). */
	for (int i = 0; (flags & UNIT_SUBREAPER) && i < 20; i++) {
		pid_t r = waitpid(-1, NULL, WNOHANG);
		if (r > 0)
			continue;
		if (r < 0)
			break;
		usleep(10000);
	}
	if (unit_rm_rf(base_dir) != 0)
		fprintf(stderr, "%s: remove %s: %s\n", name, base_dir, strerror(errno));
	return failed == 0 ? 0 : 1;
}
