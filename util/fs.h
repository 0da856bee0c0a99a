/* fs.h - the file helpers every layer uses, one of each.
 *
 * Paths are built in buffers of FS_PATH_MAX bytes (the kernel's PATH_MAX)
 * with fs_path, which fails cleanly instead of cutting a path short.
 * Functions that return int give 0 or -errno unless they say otherwise;
 * the caller names the object and the cause in its own error.
 */
#ifndef CRADLE_UTIL_FS_H
#define CRADLE_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "proto/err.h"

#define FS_PATH_MAX 4096

/* snprintf into buf, or INTERNAL "path too long: ..." (returns -1). */
int fs_path(char buf[FS_PATH_MAX], struct cradle_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* mkdir -p: missing parents 0755, the last component mode; an existing
 * directory is fine (its mode is left alone), an existing non-directory
 * is -ENOTDIR. */
int fs_mkdir_p(const char *path, unsigned mode);

/* Remove a tree without following symlinks; ENOENT is success.  The walk
 * never enters anything mounted (another file system, or a mount root of
 * the same one); when it meets one, whatever /proc/self/mountinfo shows at
 * or below path is lazily unmounted and the walk is retried (50 times,
 * 100 ms apart, as containerd's ensureRemoveAll does).  So the mount
 * table is read only when something is still mounted. */
int fs_rmtree(const char *path);

/* Whether path (relative to dirfd; "" names dirfd itself) is the root of
 * a mount: statx's STATX_ATTR_MOUNT_ROOT, which also catches a bind of the
 * same file system, where st_dev does not change.  Symlinks are not
 * followed; an error reads as false. */
bool fs_is_mount_root(int dirfd, const char *path);

/* Unmount path (lazily; EBUSY retried 50 times, 50 ms apart); "not
 * mounted" and ENOENT are success. */
int fs_unmount(const char *path);

/* Write a whole file (O_CREAT|O_TRUNC|O_CLOEXEC|O_NOFOLLOW). */
int fs_write(const char *path, const void *data, size_t len, unsigned mode);
/* The same, whole or not at all: written to path.new and renamed over
 * path, so a process killed mid-write leaves no torn file (not synced). */
int fs_write_replace(const char *path, const void *data, size_t len, unsigned mode);
/* Copy src to dst (created 0644, O_NOFOLLOW). */
int fs_copy(const char *src, const char *dst);

/* The small-file reader.  fs_read fills buf (NUL-terminated, at most
 * len - 1 bytes; the rest of a longer file is not read) from a file of
 * any kind, /proc and cgroup files included, and returns the length or
 * -errno.  fs_read_alloc reads a whole regular file of at most max bytes
 * into a malloc'd, NUL-terminated *out (*len its length, may be NULL):
 * -EFBIG when larger, -EINVAL when not a regular file (FIFOs do not
 * block: they are opened O_NONBLOCK and refused); with FS_NOFOLLOW the
 * last component may not be a symlink (-ELOOP). */
#define FS_NOFOLLOW 1
ssize_t fs_read(const char *path, char *buf, size_t len);
int fs_read_alloc(const char *path, size_t max, int flags, char **out, size_t *len);

/* Undo mountinfo's escapes of space, tab, newline and backslash (\ooo),
 * in place. */
void fs_unescape_mountinfo(char *s);

#endif
