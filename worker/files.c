/* files.c - sandbox directories and files on the host. */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
files_path(char *buf, size_t len, struct cradle_err *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return cradle_err_set(err, CRADLE_INTERNAL, "path too long: \"%.64s...\"", buf);
	return 0;
}

int
files_mkdir_p(const char *path, unsigned mode)
{
	char tmp[4096];
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

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape_mountinfo(char *s)
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
		char mnt[4096];
		/* fields: id parent major:minor root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		unescape_mountinfo(mnt);
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
	if (fstat(fd, &st) != 0 || st.st_dev != dev) {
		close(fd);
		return -EBUSY;
	}
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int e = errno;
		close(fd);
		return -e;
	}
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r;
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
			r = rmtree_at(fd, de->d_name, dev);
		else
			r = unlinkat(fd, de->d_name, 0) == 0 || errno == ENOENT ? 0 : -errno;
		if (r < 0 && ret == 0)
			ret = r;
	}
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && ret == 0)
		ret = -errno;
	return ret;
}

static int
canonical_parent(const char *path, char *out, size_t len)
{
	char parent[4096], real[4096], copy[4096];
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
files_rmtree(const char *path)
{
	struct stat st;
	int r = 0;

	char canon[4096];
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	/* Mount points are listed by canonical path: compare against that.
	 * Only the parent is resolved: a symlink named by path is removed
	 * itself, never what it points to. */
	if (canonical_parent(path, canon, sizeof(canon)) < 0)
		return -ENAMETOOLONG;
	unmount_below(canon);
	for (int i = 0; i < 50; i++) {
		struct stat top;
		if (lstat(canon, &top) != 0)
			return errno == ENOENT ? 0 : -errno;
		r = S_ISDIR(top.st_mode) ? rmtree_at(AT_FDCWD, canon, top.st_dev)
		                         : (unlink(canon) == 0 || errno == ENOENT ? 0 : -errno);
		if (r != -EBUSY)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
		unmount_below(canon);
	}
	return r;
}

int
files_write(const char *path, const void *data, size_t len, unsigned mode)
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
files_copy(const char *src, const char *dst)
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
	int ret = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				ret = -errno;
			break;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				ret = -errno;
				goto done;
			}
			off += w;
		}
	}
done:
	close(in);
	if (close(out) != 0 && ret == 0)
		ret = -errno;
	return ret;
}

/* Append s to a growing buffer; false on OOM. */
static bool
buf_add(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > *cap) {
		size_t ncap = (*cap + n + 1) * 2;
		char *nb = realloc(*buf, ncap);
		if (nb == NULL)
			return false;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return true;
}

static bool
buf_line(char **buf, size_t *len, size_t *cap, const char *head, const struct proto_strs *v)
{
	if (!buf_add(buf, len, cap, head))
		return false;
	for (size_t i = 0; i < v->n; i++)
		if (!buf_add(buf, len, cap, " ") || !buf_add(buf, len, cap, v->v[i]))
			return false;
	return buf_add(buf, len, cap, "\n");
}

char *
files_resolv_conf(const struct pod_config *cfg)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	const struct proto_strs *srv = &cfg->dns_config.servers;

	if (!buf_add(&buf, &len, &cap, ""))
		return NULL;
	if (cfg->dns_config.searches.n > 0 &&
	    !buf_line(&buf, &len, &cap, "search", &cfg->dns_config.searches))
		goto oom;
	for (size_t i = 0; i < srv->n; i++)
		if (!buf_add(&buf, &len, &cap, "nameserver ") ||
		    !buf_add(&buf, &len, &cap, srv->v[i]) || !buf_add(&buf, &len, &cap, "\n"))
			goto oom;
	if (cfg->dns_config.options.n > 0 &&
	    !buf_line(&buf, &len, &cap, "options", &cfg->dns_config.options))
		goto oom;
	return buf;
oom:
	free(buf);
	return NULL;
}

int
files_setup_sandbox(const char *dir, const struct pod_config *cfg, struct cradle_err *err)
{
	char path[4200];
	char host[256 + 2];
	int r;

	if (files_path(path, sizeof(path), err, "%s/hostname", dir) < 0)
		return -1;
	if (cfg->hostname != NULL && cfg->hostname[0] != '\0') {
		snprintf(host, sizeof(host), "%s\n", cfg->hostname);
	} else {
		if (gethostname(host, sizeof(host) - 2) != 0)
			return cradle_err_errno(err, errno, "failed to get hostname");
		host[sizeof(host) - 2] = '\0';
		strcat(host, "\n");
	}
	if ((r = files_write(path, host, strlen(host), 0644)) < 0)
		return cradle_err_errno(err, -r, "failed to write hostname to \"%s\"", path);

	if (files_path(path, sizeof(path), err, "%s/hosts", dir) < 0)
		return -1;
	if ((r = files_copy("/etc/hosts", path)) < 0)
		return cradle_err_errno(err, -r, "failed to generate sandbox hosts file \"%s\"", path);

	if (files_path(path, sizeof(path), err, "%s/resolv.conf", dir) < 0)
		return -1;
	if (cfg->has_dns_config) {
		char *text = files_resolv_conf(cfg);
		if (text == NULL)
			return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "failed to parse sandbox DNSConfig: out of memory");
		r = files_write(path, text, strlen(text), 0644);
		free(text);
		if (r < 0)
			return cradle_err_errno(err, -r, "failed to write resolv content to \"%s\"", path);
	} else if ((r = files_copy("/etc/resolv.conf", path)) < 0) {
		/* A node without /etc/resolv.conf gets an empty file, not a failed pod. */
		if (r != -ENOENT || (r = files_write(path, "", 0, 0644)) < 0)
			return cradle_err_errno(err, -r, "failed to copy host's resolv.conf to \"%s\"", path);
	}
	return 0;
}

int
files_unmount(const char *path)
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
