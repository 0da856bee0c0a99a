/* unpack.c - unpack one image layer into a snapshot directory (unpack.h).
 *
 * libarchive only reads the stream (gzip, zstd or plain; tar in its ustar,
 * pax and GNU forms); every entry is written here with *at() calls relative
 * to a directory fd inside dest, never with a path from the archive handed
 * to a path-based call:
 *
 *  - Entry paths and hard link targets are normalised lexically ("", "."
 *    components dropped); an absolute path or any ".." component is
 *    refused.
 *  - The parent directory of an entry is opened with openat2(RESOLVE_IN_ROOT
 *    | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS) relative to dest: a
 *    parent path that crosses a symlink (made by this archive or already in
 *    dest) is refused ("goes through a symlink"), and even a symlink could
 *    not lead out of dest.  Missing parents are made (0755, root) one
 *    component at a time with the same resolution.
 *  - The last component is never followed: files are created O_EXCL |
 *    O_NOFOLLOW, owners set with AT_SYMLINK_NOFOLLOW, directories opened
 *    O_NOFOLLOW, and whatever already sits at the path (an earlier entry of
 *    the same path) is removed first unless both are directories.
 *  - Symlink targets are stored as they are.  Absolute targets are fine
 *    (they mean a path inside the container's root); a relative target that
 *    climbs above the layer root from the link's directory is refused.
 *  - Hard link targets are relative to the layer root, must already be in
 *    dest and must not be directories.
 *
 * OCI whiteouts become overlay whiteouts.  A whiteout only hides what is in
 * lower layers (image-spec layer.md), and dest starts empty, so ".wh.NAME"
 * where NAME was already written by this same layer keeps that entry (a
 * directory is made opaque instead, which hides the lower one's content);
 * otherwise NAME becomes a 0/0 character device.  ".wh..wh..opq" sets
 * trusted.overlay.opaque="y" on its directory; other ".wh..wh." names (aufs
 * metadata) are skipped.  trusted.overlay.* xattrs carried by the archive
 * itself are dropped: only whiteouts may speak to overlayfs.
 *
 * Directory times are applied at the end (writing children changes them).
 * stats->bytes counts the file content written (not the compressed size).
 */
#include "image/unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "proto/proto.h"
#include "util/log.h"

#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define OPAQUE_XATTR "trusted.overlay.opaque"

#define NAME_SHOWN_MAX 200 /* bytes of an entry name quoted in errors */

struct dir_time {
	char *path; /* normalised, "" for the root */
	struct timespec ts[2];
};

struct unpacker {
	struct archive *a;
	int rootfd;        /* dest, O_RDONLY|O_DIRECTORY */
	const char *layer; /* name for messages */
	struct cradle_err *err;
	struct unpack_stats *stats;
	char shown[NAME_SHOWN_MAX + 8]; /* current entry, printable */
	char last[NAME_SHOWN_MAX + 8];  /* last complete entry */
	struct dir_time *dirs;
	size_t ndirs, capdirs;
	const struct unpack_limits *lim; /* NULL: none */
	uint64_t compressed;             /* layer file size, 0 when not known */
	uint64_t entries;                /* headers read */
	uint64_t file_bytes;             /* regular files' sizes, summed */
};

/* --- messages ---------------------------------------------------------------- */

/* A copy of s fit for an error message (valid UTF-8, no control bytes,
 * bounded): anything else becomes '?'. */
static void
printable(char *out, size_t outsz, const char *s)
{
	size_t n = strlen(s), i, o = 0, limit = outsz - 4; /* room for "..." */
	bool ok = proto_valid_utf8(s, n);

	for (i = 0; i < n && o < limit; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[o++] = (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && !ok)) ? '?' : (char)ch;
	}
	if (i < n) {
		/* cut before a sequence rather than inside it */
		while (ok && o > 0 && ((unsigned char)s[i] & 0xc0) == 0x80) {
			o--;
			i--;
		}
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Prefix the error just set with the layer and the entry being written:
 * "layer "L": entry "E": <msg>".  Returns rc. */
static int
entry_err(struct unpacker *u, int rc)
{
	cradle_err_wrap(u->err, "layer \"%s\": entry \"%s\"", u->layer, u->shown);
	return rc;
}

/* How an entry's failure is reported: with a code, or with
 * ": strerror(errnum)" and the code from errnum. */
#define fail(u, code, ...) entry_err(u, cradle_err_set((u)->err, code, __VA_ARGS__))
#define fail_errno(u, errnum, ...) entry_err(u, cradle_err_errno((u)->err, errnum, __VA_ARGS__))

/* --- paths ----------------------------------------------------------------- */

enum { NORM_OK = 0, NORM_ABSOLUTE = -1, NORM_DOTDOT = -2, NORM_NOMEM = -3 };

/* "./a//b/./c/" -> "a/b/c"; "" for the root itself.  *out is malloc'd. */
static int
norm_path(const char *in, char **out)
{
	size_t n = strlen(in), o = 0;
	const char *p = in;
	char *buf;

	*out = NULL;
	if (in[0] == '/')
		return NORM_ABSOLUTE;
	buf = malloc(n + 1);
	if (!buf)
		return NORM_NOMEM;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			free(buf);
			return NORM_DOTDOT;
		}
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (o > 0)
				buf[o++] = '/';
			memcpy(buf + o, p, len);
			o += len;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	buf[o] = '\0';
	*out = buf;
	return NORM_OK;
}

/* Split a normalised non-empty path in place: *parent ("" at the top) and
 * *base.  path must stay alive. */
static void
split_path(char *path, const char **parent, const char **base)
{
	char *slash = strrchr(path, '/');

	if (!slash) {
		*parent = "";
		*base = path;
	} else {
		*slash = '\0';
		*parent = path;
		*base = slash + 1;
	}
}

/* Does a relative symlink target, read from the directory holding the link
 * (depth components below the layer root), climb above the root? */
static bool
link_escapes(const char *target, size_t depth)
{
	const char *p = target;

	if (target[0] == '/')
		return false; /* interpreted inside the container's root */
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (depth == 0)
				return true;
			depth--;
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			depth++;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	return false;
}

static size_t
path_depth(const char *norm)
{
	size_t d = 0;

	if (!*norm)
		return 0;
	for (d = 1; *norm; norm++)
		if (*norm == '/')
			d++;
	return d;
}

static int
openat2_dir(int at, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)(flags | O_DIRECTORY | O_CLOEXEC);
	how.resolve = resolve | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
	return (int)syscall(SYS_openat2, at, path, &how, sizeof(how));
}

/* Open directory rel ("" = dest) below dest as an O_PATH fd; with create,
 * make missing components.  Errors are filled in (what names the role of
 * the directory in the message). */
static int
open_dir(struct unpacker *u, const char *rel, bool create, const char *what, int *out)
{
	char *copy, *comp, *save = NULL;
	int cur, fd, e;

	*out = -1;
	fd = openat2_dir(u->rootfd, *rel ? rel : ".", O_PATH, RESOLVE_IN_ROOT);
	if (fd >= 0) {
		*out = fd;
		return 0;
	}
	e = errno;
	if (e != ENOENT || !create)
		goto fail;

	/* make the missing parents, one component at a time */
	copy = strdup(rel);
	if (!copy)
		return cradle_err_nomem(u->err);
	cur = u->rootfd;
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		fd = openat2_dir(cur, comp, O_PATH, RESOLVE_BENEATH);
		if (fd < 0 && errno == ENOENT) {
			if (mkdirat(cur, comp, 0755) != 0 && errno != EEXIST) {
				e = errno;
				if (cur != u->rootfd)
					close(cur);
				free(copy);
				return fail_errno(u, e, "failed to create directory \"%s\"", comp);
			}
			fd = openat2_dir(cur, comp, O_PATH, RESOLVE_BENEATH);
		}
		e = errno;
		if (cur != u->rootfd)
			close(cur);
		if (fd < 0) {
			free(copy);
			goto fail;
		}
		cur = fd;
	}
	free(copy);
	*out = cur;
	return 0;
fail:
	if (e == ELOOP || e == EXDEV)
		return fail(u, CRADLE_INVALID_ARGUMENT, "%s goes through a symlink", what);
	if (e == ENOTDIR)
		return fail(u, CRADLE_INVALID_ARGUMENT,
		            "%s has a component that is not a directory", what);
	if (e == ENOSYS)
		return fail(u, CRADLE_FAILED_PRECONDITION,
		            "the kernel has no openat2 (Linux 5.6 or later is needed)");
	return fail_errno(u, e, "failed to open %s", what);
}

/* Remove name below pfd, a directory with everything in it.  -errno. */
static int
rm_tree_at(int pfd, const char *name)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = 0;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(pfd, name, 0) == 0 ? 0 : -errno;
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while (rc == 0) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = -errno;
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rc = rm_tree_at(dirfd(d), de->d_name);
	}
	closedir(d);
	if (rc == 0 && unlinkat(pfd, name, AT_REMOVEDIR) != 0)
		rc = -errno;
	return rc;
}

/* Make room for a new entry at base: remove what is there, except a
 * directory when keep_dir.  1 = a directory was kept, 0 = free, <0 error. */
static int
clear_path(struct unpacker *u, int pfd, const char *base, bool keep_dir)
{
	struct stat st;
	int rc;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 0;
		return fail_errno(u, errno, "failed to inspect the existing path");
	}
	if (S_ISDIR(st.st_mode) && keep_dir)
		return 1;
	rc = S_ISDIR(st.st_mode) ? rm_tree_at(pfd, base)
	                         : (unlinkat(pfd, base, 0) == 0 ? 0 : -errno);
	if (rc < 0)
		return fail_errno(u, -rc, "failed to remove the existing path");
	return 0;
}

/* --- metadata ---------------------------------------------------------------- */

static int
entry_owner(struct unpacker *u, struct archive_entry *e, uid_t *uid, gid_t *gid)
{
	la_int64_t ou = archive_entry_uid(e), og = archive_entry_gid(e);

	if (ou < 0 || ou >= (la_int64_t)UINT32_MAX || og < 0 || og >= (la_int64_t)UINT32_MAX)
		return fail(u, CRADLE_INVALID_ARGUMENT, "invalid owner %lld:%lld", (long long)ou,
		            (long long)og);
	*uid = (uid_t)ou;
	*gid = (gid_t)og;
	return 0;
}

static void
entry_times(struct archive_entry *e, struct timespec ts[2])
{
	if (archive_entry_mtime_is_set(e)) {
		ts[1].tv_sec = (time_t)archive_entry_mtime(e);
		ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	} else {
		ts[1].tv_sec = 0;
		ts[1].tv_nsec = UTIME_OMIT;
	}
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = (time_t)archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
	if (ts[0].tv_nsec < 0 || ts[0].tv_nsec > 999999999)
		ts[0].tv_nsec = 0;
	if (ts[1].tv_nsec != UTIME_OMIT && (ts[1].tv_nsec < 0 || ts[1].tv_nsec > 999999999))
		ts[1].tv_nsec = 0;
}

/* Set the entry's xattrs on fd, or (fd < 0) on base below pfd without
 * following it. */
static int
set_xattrs(struct unpacker *u, struct archive_entry *e, int fd, int pfd, const char *base,
           bool is_link)
{
	const char *name;
	const void *value;
	size_t size;
	char path[PATH_MAX];

	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	if (fd < 0) {
		int n = snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", pfd, base);

		if (n < 0 || (size_t)n >= sizeof(path))
			return fail_errno(u, ENAMETOOLONG, "failed to set xattrs");
	}
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		int rc, ev;

		if (!name || !*name)
			continue;
		/* only whiteouts speak to overlayfs */
		if (!strncmp(name, "trusted.overlay.", 16))
			continue;
		rc = fd >= 0 ? fsetxattr(fd, name, value, size, 0)
		             : lsetxattr(path, name, value, size, 0);
		if (rc == 0)
			continue;
		ev = errno;
		if ((ev == ENOTSUP || ev == EOPNOTSUPP) && !strncmp(name, "security.", 9) &&
		    strcmp(name, "security.capability") != 0)
			continue;
		if (fd < 0 && ev == EPERM && !strncmp(name, "user.", 5)) {
			/* the kernel allows user.* on regular files and
			 * directories only: not on symlinks, device nodes,
			 * fifos (xattr(7)) */
			if (!is_link) {
				char shown[128];
				printable(shown, sizeof(shown), name);
				log_debug("layer \"%s\": entry \"%s\": xattr \"%s\" skipped: "
				          "no user.* xattrs on this type of file",
				          u->layer, u->shown, shown);
			}
			continue;
		}
		printable(path, 128, name);
		return fail_errno(u, ev, "failed to set xattr \"%s\"", path);
	}
	return 0;
}

/* Owner, mode, xattrs of an open regular file or directory (in that order:
 * chown clears set-id bits and security.capability). */
static int
set_meta_fd(struct unpacker *u, struct archive_entry *e, int fd)
{
	uid_t uid;
	gid_t gid;

	if (entry_owner(u, e, &uid, &gid) < 0)
		return -1;
	if (fchown(fd, uid, gid) != 0)
		return fail_errno(u, errno, "failed to set owner %u:%u", (unsigned)uid,
		                  (unsigned)gid);
	if (fchmod(fd, archive_entry_perm(e) & 07777) != 0)
		return fail_errno(u, errno, "failed to set mode");
	return set_xattrs(u, e, fd, -1, NULL, false);
}

/* The same, plus times, for an entry that cannot be opened (symlink,
 * device, fifo, whiteout). */
static int
set_meta_at(struct unpacker *u, struct archive_entry *e, int pfd, const char *base, bool is_link)
{
	struct timespec ts[2];
	uid_t uid;
	gid_t gid;

	if (entry_owner(u, e, &uid, &gid) < 0)
		return -1;
	if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
		return fail_errno(u, errno, "failed to set owner %u:%u", (unsigned)uid,
		                  (unsigned)gid);
	if (!is_link) {
		mode_t mode = archive_entry_perm(e) & 07777;

		if (fchmodat(pfd, base, mode, AT_SYMLINK_NOFOLLOW) != 0) {
			/* without fchmodat2 or /proc: the node was just made by us
			 * and is no symlink */
			if ((errno != ENOTSUP && errno != EOPNOTSUPP && errno != ENOSYS) ||
			    fchmodat(pfd, base, mode, 0) != 0)
				return fail_errno(u, errno, "failed to set mode");
		}
	}
	if (set_xattrs(u, e, -1, pfd, base, is_link) < 0)
		return -1;
	entry_times(e, ts);
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) != 0)
		return fail_errno(u, errno, "failed to set times");
	return 0;
}

static int
defer_dir_time(struct unpacker *u, struct archive_entry *e, const char *norm)
{
	struct dir_time *d;

	if (!archive_entry_mtime_is_set(e))
		return 0;
	if (u->ndirs == u->capdirs) {
		size_t cap = u->capdirs ? u->capdirs * 2 : 64;

		d = realloc(u->dirs, cap * sizeof(*d));
		if (!d)
			return cradle_err_nomem(u->err);
		u->dirs = d;
		u->capdirs = cap;
	}
	d = &u->dirs[u->ndirs];
	d->path = strdup(norm);
	if (!d->path)
		return cradle_err_nomem(u->err);
	entry_times(e, d->ts);
	u->ndirs++;
	return 0;
}

static int
apply_dir_times(struct unpacker *u)
{
	size_t i;

	for (i = 0; i < u->ndirs; i++) {
		struct dir_time *d = &u->dirs[i];
		int fd =
			openat2_dir(u->rootfd, *d->path ? d->path : ".", O_RDONLY, RESOLVE_IN_ROOT);

		if (fd < 0) {
			/* replaced or removed by a later entry */
			if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
				continue;
			printable(u->shown, sizeof(u->shown), d->path);
			return fail_errno(u, errno,
			                  "failed to open the directory to set its times");
		}
		if (futimens(fd, d->ts) != 0) {
			int e = errno;

			close(fd);
			printable(u->shown, sizeof(u->shown), d->path);
			return fail_errno(u, e, "failed to set times");
		}
		close(fd);
	}
	return 0;
}

/* --- limits ------------------------------------------------------------------ */

/* Refuse the layer when it went past a limit: called at every header and
 * after every data block. */
static int
check_limits(struct unpacker *u)
{
	const struct unpack_limits *l = u->lim;

	if (l == NULL)
		return 0;
	if (l->max_entries && u->entries > l->max_entries)
		return cradle_err_set(u->err, CRADLE_RESOURCE_EXHAUSTED,
		                      "layer \"%s\": more than %llu entries (limit [images] "
		                      "max_layer_entries)",
		                      u->layer, (unsigned long long)l->max_entries);
	if (l->max_bytes && u->file_bytes > l->max_bytes)
		return cradle_err_set(u->err, CRADLE_RESOURCE_EXHAUSTED,
		                      "layer \"%s\": unpacks to more than %llu bytes (limit "
		                      "[images] max_layer_bytes)",
		                      u->layer, (unsigned long long)l->max_bytes);
	if (l->max_expansion) {
		uint64_t out = (uint64_t)archive_filter_bytes(u->a, 0);
		uint64_t in =
			u->compressed ? u->compressed : (uint64_t)archive_filter_bytes(u->a, -1);

		if (u->file_bytes > out)
			out = u->file_bytes;
		/* below 1 MiB nothing is refused: a small layer's ratio says
		 * nothing, and the compressed count of a stream lags */
		if (out > (1u << 20) && (in == 0 || out / l->max_expansion > in))
			return cradle_err_set(
				u->err, CRADLE_RESOURCE_EXHAUSTED,
				"layer \"%s\": expands more than %llu times (%llu bytes unpacked "
				"from %llu; limit [images] max_expansion)",
				u->layer, (unsigned long long)l->max_expansion,
				(unsigned long long)out, (unsigned long long)in);
	}
	return 0;
}

/* --- entry kinds -------------------------------------------------------------- */

static int
write_all_at(int fd, const char *buf, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int
do_file(struct unpacker *u, struct archive_entry *e, int pfd, const char *base)
{
	struct timespec ts[2];
	off_t end = 0;
	int fd, rc;

	if (clear_path(u, pfd, base, false) < 0)
		return -1;
	fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail_errno(u, errno, "failed to create file");
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int ar = archive_read_data_block(u->a, &buf, &len, &off);

		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			fail(u, CRADLE_INVALID_ARGUMENT,
			     "truncated or corrupt data after %lld bytes: %s", (long long)end,
			     archive_error_string(u->a) ? archive_error_string(u->a)
			                                : "read error");
			goto bad;
		}
		if (len == 0)
			continue;
		if (off < 0) {
			fail(u, CRADLE_INVALID_ARGUMENT, "data block at a negative offset");
			goto bad;
		}
		rc = write_all_at(fd, buf, len, (off_t)off);
		if (rc < 0) {
			fail_errno(u, -rc, "failed to write file data");
			goto bad;
		}
		if ((off_t)off + (off_t)len > end)
			end = (off_t)off + (off_t)len;
		if (u->stats)
			u->stats->bytes += len;
		if (check_limits(u) < 0)
			goto bad;
	}
	/* a sparse file may end in a hole */
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > (la_int64_t)end &&
	    ftruncate(fd, (off_t)archive_entry_size(e)) != 0) {
		fail_errno(u, errno, "failed to set the file size");
		goto bad;
	}
	if (set_meta_fd(u, e, fd) < 0)
		goto bad;
	entry_times(e, ts);
	if (futimens(fd, ts) != 0) {
		fail_errno(u, errno, "failed to set times");
		goto bad;
	}
	if (close(fd) != 0)
		return fail_errno(u, errno, "failed to write file");
	return 0;
bad:
	close(fd);
	return -1;
}

static int
do_dir(struct unpacker *u, struct archive_entry *e, int pfd, const char *base, const char *norm)
{
	int fd, rc;

	rc = clear_path(u, pfd, base, true);
	if (rc < 0)
		return -1;
	if (rc == 0 && mkdirat(pfd, base, 0700) != 0)
		return fail_errno(u, errno, "failed to create directory");
	fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(u, errno, "failed to open directory");
	rc = set_meta_fd(u, e, fd);
	close(fd);
	if (rc < 0)
		return -1;
	return defer_dir_time(u, e, norm);
}

static int
do_symlink(struct unpacker *u, struct archive_entry *e, int pfd, const char *base, const char *norm)
{
	const char *target = archive_entry_symlink(e);
	char shown[NAME_SHOWN_MAX + 8];

	if (!target)
		target = archive_entry_symlink_utf8(e);
	if (!target || !*target)
		return fail(u, CRADLE_INVALID_ARGUMENT, "symlink without a target");
	if (link_escapes(target, path_depth(norm) - 1)) {
		printable(shown, sizeof(shown), target);
		return fail(u, CRADLE_INVALID_ARGUMENT, "symlink target \"%s\" escapes the layer",
		            shown);
	}
	if (clear_path(u, pfd, base, false) < 0)
		return -1;
	if (symlinkat(target, pfd, base) != 0)
		return fail_errno(u, errno, "failed to create symlink");
	return set_meta_at(u, e, pfd, base, true);
}

static int
do_hardlink(struct unpacker *u, const char *target, int pfd, const char *base)
{
	char shown[NAME_SHOWN_MAX + 8];
	const char *tparent, *tbase;
	struct stat tst, st;
	char *tnorm;
	int tpfd, rc;

	printable(shown, sizeof(shown), target);
	rc = norm_path(target, &tnorm);
	if (rc == NORM_ABSOLUTE)
		return fail(u, CRADLE_INVALID_ARGUMENT, "hard link target \"%s\" is absolute",
		            shown);
	if (rc == NORM_DOTDOT)
		return fail(u, CRADLE_INVALID_ARGUMENT,
		            "hard link target \"%s\" has a \"..\" component", shown);
	if (rc != NORM_OK)
		return cradle_err_nomem(u->err);
	if (!*tnorm) {
		free(tnorm);
		return fail(u, CRADLE_INVALID_ARGUMENT, "hard link to the layer root");
	}
	split_path(tnorm, &tparent, &tbase);
	if (open_dir(u, tparent, false, "the hard link target's directory", &tpfd) < 0) {
		free(tnorm);
		return -1;
	}
	if (fstatat(tpfd, tbase, &tst, AT_SYMLINK_NOFOLLOW) != 0) {
		rc = errno == ENOENT
		             ? fail(u, CRADLE_INVALID_ARGUMENT,
		                    "hard link target \"%s\" is not in the layer", shown)
		             : fail_errno(u, errno, "failed to inspect hard link target \"%s\"",
		                          shown);
		goto out;
	}
	if (S_ISDIR(tst.st_mode)) {
		rc = fail(u, CRADLE_INVALID_ARGUMENT, "hard link to directory \"%s\"", shown);
		goto out;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == tst.st_dev &&
	    st.st_ino == tst.st_ino) {
		rc = 0; /* already that file */
		goto out;
	}
	rc = clear_path(u, pfd, base, false);
	if (rc < 0)
		goto out;
	if (linkat(tpfd, tbase, pfd, base, 0) != 0)
		rc = fail_errno(u, errno, "failed to link to \"%s\"", shown);
out:
	close(tpfd);
	free(tnorm);
	return rc < 0 ? -1 : 0;
}

static int
do_node(struct unpacker *u, struct archive_entry *e, int pfd, const char *base, mode_t type)
{
	dev_t dev = 0;

	if (type == S_IFCHR || type == S_IFBLK)
		dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
	if (clear_path(u, pfd, base, false) < 0)
		return -1;
	if (mknodat(pfd, base, type | 0600, dev) != 0)
		return fail_errno(u, errno, "failed to create %s",
		                  type == S_IFIFO ? "fifo" : "device node");
	return set_meta_at(u, e, pfd, base, false);
}

static int
set_opaque(struct unpacker *u, int pfd, const char *base)
{
	int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return fail_errno(u, errno, "failed to open directory to make it opaque");
	if (fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) != 0) {
		int e = errno;

		close(fd);
		return fail_errno(u, e, "failed to set " OPAQUE_XATTR);
	}
	close(fd);
	return 0;
}

static int
do_whiteout(struct unpacker *u, struct archive_entry *e, int pfd, const char *base)
{
	const char *name = base + strlen(WH_PREFIX);
	struct stat st;

	if (!strcmp(base, WH_OPAQUE))
		return set_opaque(u, pfd, ".");
	if (!strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)))
		return 0; /* aufs metadata (.wh..wh.plnk, ...) */
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return fail(u, CRADLE_INVALID_ARGUMENT, "whiteout without a name");
	/* a whiteout hides lower layers only, never this layer's own entry */
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return S_ISDIR(st.st_mode) ? set_opaque(u, pfd, name) : 0;
	if (errno != ENOENT)
		return fail_errno(u, errno, "failed to inspect the whited-out path");
	if (mknodat(pfd, name, S_IFCHR, makedev(0, 0)) != 0)
		return fail_errno(u, errno, "failed to create whiteout");
	return set_meta_at(u, e, pfd, name, false);
}

/* The root entry ("./"): only a directory, whose attributes go on dest. */
static int
do_root(struct unpacker *u, struct archive_entry *e, const char *hardlink)
{
	if (hardlink || archive_entry_filetype(e) != AE_IFDIR)
		return fail(u, CRADLE_INVALID_ARGUMENT,
		            "only a directory may stand for the layer root");
	if (set_meta_fd(u, e, u->rootfd) < 0)
		return -1;
	return defer_dir_time(u, e, "");
}

static int
do_entry(struct unpacker *u, struct archive_entry *e)
{
	const char *path = archive_entry_pathname(e);
	const char *hardlink, *parent, *base;
	char *norm = NULL, *split;
	int pfd = -1, rc;

	if (!path)
		path = archive_entry_pathname_utf8(e);
	if (!path) {
		snprintf(u->shown, sizeof(u->shown), "(unnamed)");
		return fail(u, CRADLE_INVALID_ARGUMENT, "entry without a usable name");
	}
	printable(u->shown, sizeof(u->shown), path);
	hardlink = archive_entry_hardlink(e);
	if (!hardlink)
		hardlink = archive_entry_hardlink_utf8(e);

	rc = norm_path(path, &norm);
	if (rc == NORM_ABSOLUTE)
		return fail(u, CRADLE_INVALID_ARGUMENT, "absolute path refused");
	if (rc == NORM_DOTDOT)
		return fail(u, CRADLE_INVALID_ARGUMENT, "\"..\" in the path refused");
	if (rc != NORM_OK)
		return cradle_err_nomem(u->err);
	if (!*norm) {
		rc = do_root(u, e, hardlink);
		free(norm);
		return rc;
	}

	/* norm stays whole for do_dir/do_symlink; split a copy */
	split = strdup(norm);
	if (!split) {
		free(norm);
		return cradle_err_nomem(u->err);
	}
	split_path(split, &parent, &base);

	if (open_dir(u, parent, true, "its parent directory", &pfd) < 0) {
		free(split);
		free(norm);
		return -1;
	}

	if (!strncmp(base, WH_PREFIX, strlen(WH_PREFIX))) {
		rc = do_whiteout(u, e, pfd, base);
	} else if (hardlink) {
		rc = do_hardlink(u, hardlink, pfd, base);
	} else {
		switch (archive_entry_filetype(e)) {
		case AE_IFREG:
			rc = do_file(u, e, pfd, base);
			break;
		case AE_IFDIR:
			rc = do_dir(u, e, pfd, base, norm);
			break;
		case AE_IFLNK:
			rc = do_symlink(u, e, pfd, base, norm);
			break;
		case AE_IFCHR:
			rc = do_node(u, e, pfd, base, S_IFCHR);
			break;
		case AE_IFBLK:
			rc = do_node(u, e, pfd, base, S_IFBLK);
			break;
		case AE_IFIFO:
			rc = do_node(u, e, pfd, base, S_IFIFO);
			break;
		default:
			rc = fail(u, CRADLE_INVALID_ARGUMENT, "unsupported entry type 0%o",
			          (unsigned)archive_entry_filetype(e));
			break;
		}
	}
	close(pfd);
	free(split);
	free(norm);
	return rc < 0 ? -1 : 0;
}

/* --- the layer ----------------------------------------------------------------- */

static int
unpack_fd(int fd, const char *name, const char *dest, const struct unpack_limits *lim,
          struct unpack_stats *stats, struct cradle_err *err)
{
	struct unpacker u;
	struct archive_entry *e;
	struct stat st;
	int rc = -1, ar;
	size_t i;

	memset(&u, 0, sizeof(u));
	u.layer = name ? name : "(layer)";
	u.err = err;
	u.stats = stats;
	u.rootfd = -1;
	u.lim = lim;
	if (lim != NULL && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t at = lseek(fd, 0, SEEK_CUR);
		u.compressed = at >= 0 && at < st.st_size ? (uint64_t)(st.st_size - at) : 0;
	}
	if (stats)
		memset(stats, 0, sizeof(*stats));

	u.rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u.rootfd < 0)
		return cradle_err_errno(err, errno,
		                        "layer \"%s\": failed to open destination \"%s\"", u.layer,
		                        dest);

	u.a = archive_read_new();
	if (!u.a) {
		rc = cradle_err_nomem(err);
		goto out;
	}
	/* gzip and plain always; zstd when libarchive has it (a missing one is
	 * not an error: such layers then fail as unrecognised) */
	archive_read_support_filter_none(u.a);
	archive_read_support_filter_gzip(u.a);
	archive_read_support_filter_zstd(u.a);
	/* ustar, pax and GNU tar, nothing else */
	archive_read_support_format_tar(u.a);
	if (archive_read_open_fd(u.a, fd, 64 * 1024) != ARCHIVE_OK) {
		rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                    "layer \"%s\": unreadable archive (not a tar, truncated or "
		                    "corrupt): %s",
		                    u.layer,
		                    archive_error_string(u.a) ? archive_error_string(u.a) : "?");
		goto out;
	}

	for (;;) {
		ar = archive_read_next_header(u.a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			const char *why = archive_error_string(u.a);

			if (u.last[0])
				rc = cradle_err_set(
					err, CRADLE_INVALID_ARGUMENT,
					"layer \"%s\": truncated or corrupt archive after "
					"entry \"%s\": %s",
					u.layer, u.last, why ? why : "read error");
			else
				rc = cradle_err_set(
					err, CRADLE_INVALID_ARGUMENT,
					"layer \"%s\": truncated or corrupt archive at its "
					"first entry: %s",
					u.layer, why ? why : "read error");
			goto out;
		}
		if (stats)
			stats->entries++;
		u.entries++;
		if (archive_entry_filetype(e) == AE_IFREG && archive_entry_hardlink(e) == NULL &&
		    archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
			u.file_bytes += (uint64_t)archive_entry_size(e);
		if (check_limits(&u) < 0) {
			rc = -1;
			goto out;
		}
		if (do_entry(&u, e) < 0)
			goto out;
		memcpy(u.last, u.shown, sizeof(u.last));
	}
	rc = apply_dir_times(&u) < 0 ? -1 : 0;
out:
	if (u.a)
		archive_read_free(u.a);
	for (i = 0; i < u.ndirs; i++)
		free(u.dirs[i].path);
	free(u.dirs);
	close(u.rootfd);
	return rc;
}

int
unpack_layer_fd(int fd, const char *name, const char *dest, struct unpack_stats *stats,
                struct cradle_err *err)
{
	return unpack_fd(fd, name, dest, NULL, stats, err);
}

int
unpack_layer_limited(const char *blob_path, const char *name, const char *dest,
                     const struct unpack_limits *limits, struct unpack_stats *stats,
                     struct cradle_err *err)
{
	int fd = open(blob_path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return cradle_err_errno(err, errno, "failed to open layer \"%s\"", blob_path);
	rc = unpack_fd(fd, name ? name : blob_path, dest, limits, stats, err);
	close(fd);
	return rc;
}

int
unpack_layer(const char *blob_path, const char *dest, struct unpack_stats *stats,
             struct cradle_err *err)
{
	return unpack_layer_limited(blob_path, NULL, dest, NULL, stats, err);
}
