/* fs.c - file helpers (see fs.h). */
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

int
fs_path(char buf[FS_PATH_MAX], struct cradle_err *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, FS_PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= FS_PATH_MAX)
		return cradle_err_set(err, CRADLE_INTERNAL, "path too long: \"%.64s...\"", buf);
	return 0;
}

int
fs_mkdir_p(const char *path, unsigned mode)
{
	char tmp[FS_PATH_MAX];
	size_t len = strlen(path);
	struct stat st;

	/* Trailing slashes would make the last mkdir below a no-op and lose
	 * mode (a root of "/var/lib/cradle/" must still end up 0700). */
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len);
	tmp[len] = '\0';
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(tmp, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

void
fs_unescape_mountinfo(char *s)
{
	char *w = s;
	for (char *r = s; *r != '\0'; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Unmount whatever /proc/self/mountinfo shows at or below path, deepest
 * first (later lines are mounted on top of earlier ones). */
static void
unmount_below(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	size_t plen = strlen(path);
	char **found = NULL;
	size_t n = 0;
	char *line = NULL;
	size_t cap = 0;

	if (f == NULL)
		return;
	while (getline(&line, &cap, f) > 0) {
		char mnt[FS_PATH_MAX];
		/* fields: id parent major:minor root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		fs_unescape_mountinfo(mnt);
		if (strncmp(mnt, path, plen) != 0 || (mnt[plen] != '\0' && mnt[plen] != '/'))
			continue;
		char **nf = realloc(found, (n + 1) * sizeof(*found));
		if (nf == NULL)
			break;
		found = nf;
		found[n] = strdup(mnt);
		if (found[n] != NULL)
			n++;
	}
	free(line);
	fclose(f);
	while (n > 0) {
		n--;
		umount2(found[n], MNT_DETACH);
		free(found[n]);
	}
	free(found);
}

bool
fs_is_mount_root(int dirfd, const char *path)
{
	struct statx stx;
	int flags = AT_SYMLINK_NOFOLLOW | (path[0] == '\0' ? AT_EMPTY_PATH : 0);

	return statx(dirfd, path, flags, 0, &stx) == 0 &&
	       (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* dev: the file system the tree lives on.  A directory on another one is
 * something still mounted (or a mount point the unmount missed): never
 * walk into it, or its source's files would go too. */
static int
rmtree_at(int dirfd, const char *name, dev_t dev)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOTDIR || errno == ELOOP)
			return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
		return errno == ENOENT ? 0 : -errno;
	}
	if (fstat(fd, &st) != 0 || st.st_dev != dev || fs_is_mount_root(fd, "")) {
		close(fd);
		return -EBUSY;
	}
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int e = errno;
		close(fd);
		return -e;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int one;
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
			one = rmtree_at(fd, de->d_name, dev);
		else
			one = unlinkat(fd, de->d_name, 0) == 0 || errno == ENOENT ? 0 : -errno;
		if (one < 0 && rc == 0)
			rc = one;
	}
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && rc == 0)
		rc = -errno;
	return rc;
}

static int
canonical_parent(const char *path, char *out, size_t len)
{
	char parent[FS_PATH_MAX], real[FS_PATH_MAX], copy[FS_PATH_MAX];
	size_t n0 = strlen(path);

	while (n0 > 1 && path[n0 - 1] == '/')
		n0--;
	if (n0 >= sizeof(copy))
		return -1;
	memcpy(copy, path, n0);
	copy[n0] = '\0';
	path = copy;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t plen = slash ? (size_t)(slash - path) : 1;

	if (slash == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (plen == 0)
		snprintf(parent, sizeof(parent), "/");
	else if (plen < sizeof(parent))
		snprintf(parent, sizeof(parent), "%.*s", (int)plen, path);
	else
		return -1;
	if (realpath(parent, real) == NULL)
		return -1;
	int n = snprintf(out, len, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
fs_rmtree(const char *path)
{
	struct stat st;
	int rc = 0;

	char canon[FS_PATH_MAX];
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	/* Mount points are listed by canonical path: compare against that.
	 * Only the parent is resolved: a symlink named by path is removed
	 * itself, never what it points to. */
	if (canonical_parent(path, canon, sizeof(canon)) < 0)
		return -ENAMETOOLONG;
	/* The walk stops at anything mounted (-EBUSY), so the mount table,
	 * which grows with every pod, is read only when something is. */
	for (int i = 0; i < 50; i++) {
		struct stat top;
		if (lstat(canon, &top) != 0)
			return errno == ENOENT ? 0 : -errno;
		rc = S_ISDIR(top.st_mode) ? rmtree_at(AT_FDCWD, canon, top.st_dev)
		                          : (unlink(canon) == 0 || errno == ENOENT ? 0 : -errno);
		if (rc != -EBUSY)
			break;
		if (i > 0)
			nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
		unmount_below(canon);
	}
	return rc;
}

int
fs_write(const char *path, const void *data, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	const char *p = data;

	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return -e;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) != 0)
		return -errno;
	return 0;
}

int
fs_write_replace(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[FS_PATH_MAX];
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if ((rc = fs_write(tmp, data, len, mode)) < 0)
		return rc;
	if (rename(tmp, path) != 0) {
		rc = -errno;
		unlink(tmp);
		return rc;
	}
	return 0;
}

int
fs_copy(const char *src, const char *dst)
{
	char buf[16384];
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (out < 0) {
		int e = errno;
		close(in);
		return -e;
	}
	int rc = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				rc = -errno;
			break;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = -errno;
				goto done;
			}
			off += w;
		}
	}
done:
	close(in);
	if (close(out) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

int
fs_unmount(const char *path)
{
	/* Lazy, and retried on EBUSY as the reference does (50 x 50 ms). */
	for (int i = 0; i < 50; i++) {
		if (umount2(path, MNT_DETACH) == 0 || errno == EINVAL || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
	}
	return -EBUSY;
}

/* Read until EOF or until len bytes are in; the length or -errno. */
static ssize_t
read_fd(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

ssize_t
fs_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = len > 0 ? read_fd(fd, buf, len - 1) : -EINVAL;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

int
fs_read_alloc(const char *path, size_t max, int flags, char **out, size_t *len)
{
	int oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct stat st;
	char *buf = NULL;
	size_t cap, got = 0;
	ssize_t n;
	int rc, fd;

	*out = NULL;
	if (flags & FS_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	if ((fd = open(path, oflags)) < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	/* Size the buffer from fstat, but read to EOF: the file may have
	 * grown since, and must still fit max. */
	cap = (size_t)st.st_size + 1;
	for (;;) {
		char *nb = realloc(buf, cap + 1);
		if (nb == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		buf = nb;
		if ((n = read_fd(fd, buf + got, cap - got)) < 0) {
			rc = (int)n;
			goto out;
		}
		got += (size_t)n;
		if (got > max) {
			rc = -EFBIG;
			goto out;
		}
		if (got < cap)
			break;
		cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
	}
	n = (ssize_t)got;
	buf[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}
