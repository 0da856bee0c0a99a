/* test_fs.c - the file helpers of util/fs.c.
 *
 * ROOT: the rmtree tests mount (tmpfs, binds), each in a mount namespace
 * of the test's own (tests/unit/lib), so they need root, as CI runs them.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "tests/unit/lib/unit.h"

/* --- fs_path, fs_mkdir_p, fs_write, fs_copy ------------------------------ */

START_TEST(test_fs_path)
{
	char buf[FS_PATH_MAX], want[FS_PATH_MAX + 64];
	struct cradle_err err = { 0 };

	ck_assert_int_eq(fs_path(buf, &err, "%s/%d", "/a", 42), 0);
	ck_assert_str_eq(buf, "/a/42");
	ck_assert_int_eq(err.code, 0);
	/* FS_PATH_MAX - 1 characters fit, one more does not */
	char *long_path = malloc(FS_PATH_MAX + 1);
	ck_assert_ptr_nonnull(long_path);
	memset(long_path, 'x', FS_PATH_MAX);
	long_path[0] = '/';
	long_path[FS_PATH_MAX - 1] = '\0';
	ck_assert_int_eq(fs_path(buf, &err, "%s", long_path), 0);
	ck_assert_str_eq(buf, long_path);
	long_path[FS_PATH_MAX - 1] = 'y';
	long_path[FS_PATH_MAX] = '\0';
	ck_assert_int_lt(fs_path(buf, &err, "%s", long_path), 0);
	ck_assert_int_eq(err.code, CRADLE_INTERNAL);
	snprintf(want, sizeof(want), "path too long: \"%.64s...\"", long_path);
	ck_assert_str_eq(err.msg, want);
	free(long_path);
}
END_TEST

START_TEST(test_fs_mkdir_p)
{
	char path[PATH_MAX], mid[PATH_MAX], file[PATH_MAX];
	struct stat st;

	umask(0);
	unit_path(path, sizeof(path), "a/b/c/d");
	unit_path(mid, sizeof(mid), "a/b");
	ck_assert_int_eq(fs_mkdir_p(path, 0700), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(mid, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	/* existing: fine, mode untouched */
	ck_assert_int_eq(fs_mkdir_p(path, 0711), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	/* one more level on an existing tree */
	unit_path(path, sizeof(path), "a/b/c/d/e");
	ck_assert_int_eq(fs_mkdir_p(path, 0750), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0750);
	/* a file in the way */
	unit_path(file, sizeof(file), "a/file");
	unit_put_str(file, "x");
	unit_path(path, sizeof(path), "a/file/sub");
	ck_assert_int_eq(fs_mkdir_p(path, 0755), -ENOTDIR);
	unit_path(path, sizeof(path), "a/file/sub/deeper");
	ck_assert_int_eq(fs_mkdir_p(path, 0755), -ENOTDIR);
	/* nothing to make */
	ck_assert_int_eq(fs_mkdir_p("", 0755), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_fs_write)
{
	char path[PATH_MAX], link[PATH_MAX], missing[PATH_MAX];
	struct stat st;
	size_t len;
	char *got;

	umask(0);
	unit_path(path, sizeof(path), "f");
	ck_assert_int_eq(fs_write(path, "hello\nworld\n", 12, 0640), 0);
	unit_assert_file_is(path, "hello\nworld\n");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	/* truncates */
	ck_assert_int_eq(fs_write(path, "x", 1, 0640), 0);
	unit_assert_file_is(path, "x");
	/* empty */
	ck_assert_int_eq(fs_write(path, "", 0, 0640), 0);
	unit_assert_file_is(path, "");
	/* binary, larger than a page */
	size_t big = 300000;
	unsigned char *data = malloc(big);
	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (unsigned char)(i * 31 + (i >> 8));
	ck_assert_int_eq(fs_write(path, data, big, 0600), 0);
	got = unit_slurp_ok(path, &len);
	ck_assert_uint_eq(len, big);
	ck_assert_int_eq(memcmp(got, data, big), 0);
	free(got);
	free(data);
	/* never through a symlink */
	unit_path(link, sizeof(link), "link");
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(fs_write(link, "evil", 4, 0644), -ELOOP);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)big);
	/* no parent */
	unit_path(missing, sizeof(missing), "no/such/file");
	ck_assert_int_eq(fs_write(missing, "x", 1, 0644), -ENOENT);
}
END_TEST

/* Replaced whole: a new inode renamed over the old one, no temp left. */
START_TEST(test_fs_write_replace)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], missing[PATH_MAX];
	struct stat before, after;

	unit_path(path, sizeof(path), "r");
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	ck_assert_int_eq(fs_write_replace(path, "one", 3, 0600), 0);
	unit_assert_file_is(path, "one");
	ck_assert_int_eq(stat(path, &before), 0);
	ck_assert_uint_eq(before.st_mode & 07777, 0600);
	ck_assert_int_eq(fs_write_replace(path, "two!", 4, 0600), 0);
	unit_assert_file_is(path, "two!");
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_uint_ne(after.st_ino, before.st_ino);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	/* no parent: nothing made */
	unit_path(missing, sizeof(missing), "no/such/file");
	ck_assert_int_eq(fs_write_replace(missing, "x", 1, 0600), -ENOENT);
}
END_TEST

START_TEST(test_fs_copy)
{
	char src[PATH_MAX], dst[PATH_MAX], link[PATH_MAX], missing[PATH_MAX];
	struct stat st;
	size_t len;
	char *got;

	umask(022);
	unit_path(src, sizeof(src), "src");
	unit_path(dst, sizeof(dst), "dst");
	/* several times the copy buffer, not a multiple of it */
	size_t big = 16384 * 5 + 123;
	unsigned char *data = malloc(big);
	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (unsigned char)(i ^ (i >> 7));
	unit_put_file(src, data, big, 0600);
	ck_assert_int_eq(fs_copy(src, dst), 0);
	got = unit_slurp_ok(dst, &len);
	ck_assert_uint_eq(len, big);
	ck_assert_int_eq(memcmp(got, data, big), 0);
	free(got);
	ck_assert_int_eq(stat(dst, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	/* a shorter source truncates the old copy */
	unit_put_str(src, "short\n");
	ck_assert_int_eq(fs_copy(src, dst), 0);
	unit_assert_file_is(dst, "short\n");
	/* empty source */
	unit_put_str(src, "");
	ck_assert_int_eq(fs_copy(src, dst), 0);
	unit_assert_file_is(dst, "");
	/* the source may be a symlink (/etc/resolv.conf often is) */
	unit_put_str(src, "through a link\n");
	unit_path(link, sizeof(link), "src-link");
	ck_assert_int_eq(symlink(src, link), 0);
	ck_assert_int_eq(fs_copy(link, dst), 0);
	unit_assert_file_is(dst, "through a link\n");
	/* the destination may not */
	ck_assert_int_eq(fs_copy(dst, link), -ELOOP);
	unit_assert_file_is(src, "through a link\n");
	/* a missing source creates nothing */
	unit_path(missing, sizeof(missing), "missing");
	unit_path(dst, sizeof(dst), "dst2");
	ck_assert_int_eq(fs_copy(missing, dst), -ENOENT);
	ck_assert(!unit_exists(dst));
	free(data);
}
END_TEST

/* --- fs_rmtree ------------------------------------------------------------ */

START_TEST(test_fs_rmtree)
{
	char tree[PATH_MAX], p[PATH_MAX + 64], outside[PATH_MAX], outdir[PATH_MAX];

	unit_path(tree, sizeof(tree), "tree");
	unit_path(outside, sizeof(outside), "outside-file");
	unit_path(outdir, sizeof(outdir), "outside-dir");
	unit_put_str(outside, "keep me\n");
	ck_assert_int_eq(mkdir(outdir, 0755), 0);
	snprintf(p, sizeof(p), "%s/inner", outdir);
	unit_put_str(p, "keep me too\n");

	snprintf(p, sizeof(p), "%s/a/b/c", tree);
	ck_assert_int_eq(fs_mkdir_p(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/a/b/c/file", tree);
	unit_put_str(p, "1");
	snprintf(p, sizeof(p), "%s/a/file", tree);
	unit_put_str(p, "2");
	snprintf(p, sizeof(p), "%s/empty", tree);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	/* a read-only directory with a file in it */
	snprintf(p, sizeof(p), "%s/ro", tree);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/ro/file", tree);
	unit_put_str(p, "3");
	snprintf(p, sizeof(p), "%s/ro", tree);
	ck_assert_int_eq(chmod(p, 0555), 0);
	/* symlinks out of the tree, to a file and to a directory */
	snprintf(p, sizeof(p), "%s/link-out", tree);
	ck_assert_int_eq(symlink(outside, p), 0);
	snprintf(p, sizeof(p), "%s/a/b/dirlink-out", tree);
	ck_assert_int_eq(symlink(outdir, p), 0);
	snprintf(p, sizeof(p), "%s/a/dangling", tree);
	ck_assert_int_eq(symlink("/no/such/target", p), 0);
	/* a fifo */
	snprintf(p, sizeof(p), "%s/a/fifo", tree);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	/* a tmpfs with files, and another tmpfs on top of a directory in it */
	snprintf(p, sizeof(p), "%s/mnt", tree);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(mount("tmpfs", p, "tmpfs", 0, "size=1m"), 0);
	snprintf(p, sizeof(p), "%s/mnt/in-tmpfs", tree);
	unit_put_str(p, "4");
	snprintf(p, sizeof(p), "%s/mnt/sub", tree);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(mount("tmpfs", p, "tmpfs", 0, "size=1m"), 0);
	snprintf(p, sizeof(p), "%s/mnt/sub/deep", tree);
	unit_put_str(p, "5");
	ck_assert_int_eq(unit_mounts_under(tree), 2);

	ck_assert_int_eq(fs_rmtree(tree), 0);
	ck_assert(!unit_exists(tree));
	ck_assert_int_eq(unit_mounts_under(tree), 0);
	unit_assert_file_is(outside, "keep me\n");
	snprintf(p, sizeof(p), "%s/inner", outdir);
	unit_assert_file_is(p, "keep me too\n");

	/* gone already */
	ck_assert_int_eq(fs_rmtree(tree), 0);
	ck_assert_int_eq(fs_rmtree("/no/such/dir/at/all"), 0);
}
END_TEST

START_TEST(test_fs_rmtree_mount_at_root)
{
	char tree[PATH_MAX], p[PATH_MAX + 64];

	/* the path itself is a mount point (a bind of a directory outside) */
	unit_path(tree, sizeof(tree), "mounted");
	ck_assert_int_eq(mkdir(tree, 0755), 0);
	ck_assert_int_eq(mount("tmpfs", tree, "tmpfs", 0, "size=1m"), 0);
	snprintf(p, sizeof(p), "%s/x/y", tree);
	ck_assert_int_eq(fs_mkdir_p(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/x/y/z", tree);
	unit_put_str(p, "z");
	ck_assert_int_eq(unit_mounts_under(tree), 1);
	ck_assert_int_eq(fs_rmtree(tree), 0);
	ck_assert(!unit_exists(tree));
	ck_assert_int_eq(unit_mounts_under(tree), 0);
}
END_TEST

START_TEST(test_fs_rmtree_not_a_dir)
{
	char file[PATH_MAX], link[PATH_MAX], dir[PATH_MAX], p[PATH_MAX + 64];

	/* a plain file */
	unit_path(file, sizeof(file), "file");
	unit_put_str(file, "x");
	ck_assert_int_eq(fs_rmtree(file), 0);
	ck_assert(!unit_exists(file));
	/* a symlink to a directory: the link goes, the directory stays */
	unit_path(dir, sizeof(dir), "dir");
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(p, sizeof(p), "%s/keep", dir);
	unit_put_str(p, "k");
	unit_path(link, sizeof(link), "link");
	ck_assert_int_eq(symlink(dir, link), 0);
	ck_assert_int_eq(fs_rmtree(link), 0);
	ck_assert(!unit_exists(link));
	unit_assert_file_is(p, "k");
}
END_TEST

/* --- fs_read, fs_read_alloc ---------------------------------------------- */

START_TEST(test_fs_read)
{
	char path[PATH_MAX], buf[8];

	unit_path(path, sizeof(path), "f");
	unit_put_str(path, "0123456789");
	/* a short buffer gets the start of the file, NUL-terminated */
	ck_assert_int_eq(fs_read(path, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "0123456");
	/* /proc files have no size: read to EOF all the same */
	char self[64];
	ck_assert_int_gt(fs_read("/proc/self/oom_score_adj", self, sizeof(self)), 0);
	unit_path(path, sizeof(path), "absent");
	ck_assert_int_eq(fs_read(path, buf, sizeof(buf)), -ENOENT);
}
END_TEST

START_TEST(test_fs_read_alloc)
{
	char path[PATH_MAX], link[PATH_MAX], dir[PATH_MAX], fifo[PATH_MAX];
	char *out = NULL;
	size_t len = 0;

	unit_path(path, sizeof(path), "f");
	unit_put_str(path, "hello\n");
	ck_assert_int_eq(fs_read_alloc(path, 6, 0, &out, &len), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq(out, "hello\n");
	free(out);
	/* one byte over the limit */
	ck_assert_int_eq(fs_read_alloc(path, 5, 0, &out, &len), -EFBIG);
	ck_assert_ptr_null(out);
	/* an empty file is an empty string */
	unit_path(path, sizeof(path), "empty");
	unit_put_str(path, "");
	ck_assert_int_eq(fs_read_alloc(path, 5, 0, &out, NULL), 0);
	ck_assert_str_eq(out, "");
	free(out);
	/* symlinks are followed unless FS_NOFOLLOW */
	unit_path(link, sizeof(link), "link");
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(fs_read_alloc(link, 5, 0, &out, NULL), 0);
	free(out);
	ck_assert_int_eq(fs_read_alloc(link, 5, FS_NOFOLLOW, &out, NULL), -ELOOP);
	ck_assert_ptr_null(out);
	/* not a regular file: a directory, a FIFO (which must not block) */
	unit_path(dir, sizeof(dir), "d");
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_eq(fs_read_alloc(dir, 5, 0, &out, NULL), -EINVAL);
	unit_path(fifo, sizeof(fifo), "fifo");
	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	ck_assert_int_eq(fs_read_alloc(fifo, 5, 0, &out, NULL), -EINVAL);
	ck_assert_ptr_null(out);
	unit_path(path, sizeof(path), "absent");
	ck_assert_int_eq(fs_read_alloc(path, 5, 0, &out, NULL), -ENOENT);
}
END_TEST

/* A file larger than the buffer fstat suggested still reads whole: the
 * reader grows its buffer until EOF. */
START_TEST(test_fs_read_alloc_large)
{
	char path[PATH_MAX];
	size_t n = 200000, len = 0;
	char *data = malloc(n), *out = NULL;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	unit_path(path, sizeof(path), "big");
	unit_put_file(path, data, n, 0644);
	ck_assert_int_eq(fs_read_alloc(path, n, 0, &out, &len), 0);
	ck_assert_uint_eq(len, n);
	ck_assert(memcmp(out, data, n) == 0);
	free(out);
	ck_assert_int_eq(fs_read_alloc(path, n - 1, 0, &out, &len), -EFBIG);
	free(data);
}
END_TEST

static Suite *
fs_suite(void)
{
	Suite *s = suite_create("fs");
	TCase *tc = tcase_create("fs");

	tcase_add_checked_fixture(tc, unit_scratch_setup_ns, unit_scratch_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fs_path);
	tcase_add_test(tc, test_fs_mkdir_p);
	tcase_add_test(tc, test_fs_write);
	tcase_add_test(tc, test_fs_write_replace);
	tcase_add_test(tc, test_fs_copy);
	tcase_add_test(tc, test_fs_rmtree);
	tcase_add_test(tc, test_fs_rmtree_mount_at_root);
	tcase_add_test(tc, test_fs_rmtree_not_a_dir);
	tcase_add_test(tc, test_fs_read);
	tcase_add_test(tc, test_fs_read_alloc);
	tcase_add_test(tc, test_fs_read_alloc_large);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(fs_suite(), "test_fs", UNIT_ROOT);
}
