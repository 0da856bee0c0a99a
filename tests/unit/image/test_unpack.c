/* test_unpack.c - unpacking image layers (image/unpack.c).
 *
 * Needs root: the layers carry owners (chown), device nodes (mknod) and
 * the whiteouts set trusted.* xattrs.  Every layer is built here with
 * libarchive's writer (pax, gzip / none / zstd) or GNU tar, in the
 * test's own scratch directory (tests/unit/lib).
 *
 * Covered: a normal layer gives exactly its tree (modes, owners, absolute
 * symlink kept, hard link, fifo, char device, xattr, set-uid bit, implicit
 * parents, times) compressed with gzip, none and zstd; OCI whiteouts;
 * hostile layers refused naming the entry with nothing written outside
 * dest (canary directory next to dest, /tmp); a truncated layer; later
 * entries replacing earlier ones; a real directory tree tarred by GNU tar
 * (root entry, sparse file) compared file by file; unpack_layer_fd from an
 * offset; error paths.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "image/unpack.h"
#include "proto/proto.h"
#include "tests/unit/lib/unit.h"

/* --- scratch ------------------------------------------------------------------ */

/* In the test's own directory (tests/unit/lib), and nothing else there. */
static struct {
	char tmp[128];
	char dest[192];   /* the snapshot directory */
	char canary[192]; /* next to dest: must stay empty */
	char layer[192];  /* the layer file */
} S;

static char big[96 * 1024]; /* pseudo-random, the same every run */

static void
setup(void)
{
	unsigned x = 12345;

	for (size_t i = 0; i < sizeof(big); i++) {
		x = x * 1103515245u + 12345u;
		big[i] = (char)(x >> 16);
	}
	unit_scratch_setup();
	UNIT_FMT(S.tmp, "%s", unit_test_dir());
	UNIT_FMT(S.dest, "%s/dest", S.tmp);
	UNIT_FMT(S.canary, "%s/canary", S.tmp);
	UNIT_FMT(S.layer, "%s/layer.tar", S.tmp);
	ck_assert_int_eq(mkdir(S.dest, 0755), 0);
	ck_assert_int_eq(mkdir(S.canary, 0755), 0);
}

static char *
path_in(const char *rel)
{
	static char buf[4][512];
	static int i;
	char *p = buf[i++ % 4];

	snprintf(p, 512, "%s/%s", S.dest, rel);
	return p;
}

/* path is a regular file (not a link to one) holding exactly content. */
static void
assert_file(const char *path, const char *content)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
	ck_assert_msg(S_ISREG(st.st_mode), "%s is not a regular file", path);
	unit_assert_file_is(path, content);
}

/* --- building layers ------------------------------------------------------------ */

enum filt { F_NONE, F_GZIP, F_ZSTD };

struct ent {
	const char *path;
	mode_t type; /* AE_IF*; 0 with hardlink set */
	mode_t perm;
	const char *data; /* regular files */
	const char *symlink;
	const char *hardlink;
	int uid, gid;
	unsigned rmaj, rmin;
	const char *xname, *xval;
	long mtime;
	size_t size; /* data size when data is binary (0: strlen) */
};

/* Write ents as a pax tar with filter f; returns 0, or -1 when the filter
 * is missing (zstd). */
static int
build_layer(const char *out, enum filt f, const struct ent *ents, size_t n)
{
	struct archive *a = archive_write_new();
	size_t i;
	int rc = ARCHIVE_OK;

	ck_assert_ptr_nonnull(a);
	if (f == F_GZIP)
		rc = archive_write_add_filter_gzip(a);
	else if (f == F_ZSTD)
		rc = archive_write_add_filter_zstd(a);
	else
		rc = archive_write_add_filter_none(a);
	if (rc != ARCHIVE_OK) {
		archive_write_free(a);
		return -1;
	}
	ck_assert_int_eq(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_filename(a, out), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		const struct ent *x = &ents[i];
		struct archive_entry *e = archive_entry_new();
		size_t len = x->data ? (x->size ? x->size : strlen(x->data)) : 0;

		archive_entry_set_pathname(e, x->path);
		archive_entry_set_uid(e, x->uid);
		archive_entry_set_gid(e, x->gid);
		archive_entry_set_mtime(e, x->mtime ? x->mtime : 1600000000, 0);
		if (x->hardlink) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_hardlink(e, x->hardlink);
			archive_entry_set_size(e, 0);
		} else {
			archive_entry_set_filetype(e, x->type);
			archive_entry_set_perm(e, x->perm);
			if (x->type == AE_IFREG)
				archive_entry_set_size(e, (la_int64_t)len);
			if (x->symlink)
				archive_entry_set_symlink(e, x->symlink);
			if (x->type == AE_IFCHR || x->type == AE_IFBLK) {
				archive_entry_set_rdevmajor(e, x->rmaj);
				archive_entry_set_rdevminor(e, x->rmin);
			}
		}
		if (x->xname)
			archive_entry_xattr_add_entry(e, x->xname, x->xval, strlen(x->xval));
		/* WARN: a name that is not UTF-8 goes out as binary */
		ck_assert_int_ge(archive_write_header(a, e), ARCHIVE_WARN);
		if (len && !x->hardlink)
			ck_assert_int_eq(archive_write_data(a, x->data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return 0;
}

/* clang-format off */
#define REG(p, m, d) { .path = (p), .type = AE_IFREG, .perm = (m), .data = (d) }
#define DIRE(p, m) { .path = (p), .type = AE_IFDIR, .perm = (m) }
#define SYM(p, t) { .path = (p), .type = AE_IFLNK, .perm = 0777, .symlink = (t) }
#define HARD(p, t) { .path = (p), .hardlink = (t) }
/* clang-format on */

/* --- a normal layer ------------------------------------------------------------- */

static const struct ent normal_layer[] = {
	{ .path = "bin", .type = AE_IFDIR, .perm = 0755, .mtime = 1000000 },
	{ .path = "bin/tool",
	  .type = AE_IFREG,
	  .perm = 0755,
	  .data = "#!/bin/sh\necho hi\n",
	  .uid = 1000,
	  .gid = 1000,
	  .mtime = 1234567 },
	{ .path = "bin/su",
	  .type = AE_IFREG,
	  .perm = 04755,
	  .data = "su",
	  .uid = 1000,
	  .gid = 1000 },
	{ .path = "./etc/", .type = AE_IFDIR, .perm = 0750, .uid = 1000, .gid = 1000 },
	{ .path = "etc/secret",
	  .type = AE_IFREG,
	  .perm = 0640,
	  .data = "s3cret",
	  .uid = 1000,
	  .gid = 1000,
	  .xname = "user.x",
	  .xval = "y" },
	{ .path = "etc/sh", .type = AE_IFLNK, .perm = 0777, .symlink = "/bin/sh" },
	{ .path = "etc/rel", .type = AE_IFLNK, .perm = 0777, .symlink = "../bin/tool" },
	HARD("etc/hard", "etc/secret"),
	DIRE("dev", 0755),
	{ .path = "dev/fifo", .type = AE_IFIFO, .perm = 0620, .uid = 5, .gid = 6 },
	{ .path = "dev/null", .type = AE_IFCHR, .perm = 0666, .rmaj = 1, .rmin = 3 },
	REG("deep/a/b/c.txt", 0600, "implicit parents"),
	REG("empty", 0644, NULL),
};
#define NORMAL_BYTES (strlen("#!/bin/sh\necho hi\n") + 2 + 6 + 16)

static void
check_normal(enum filt f)
{
	struct cradle_err err = { 0 };
	struct unpack_stats st;
	struct stat a, b;
	char buf[64];
	ssize_t n;

	if (build_layer(S.layer, f, normal_layer, sizeof(normal_layer) / sizeof(normal_layer[0])) <
	    0) {
		fprintf(stderr, "test_unpack: no zstd writer in libarchive, zstd check skipped\n");
		return;
	}
	ck_assert_msg(unpack_layer(S.layer, S.dest, &st, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(st.entries, sizeof(normal_layer) / sizeof(normal_layer[0]));
	ck_assert_uint_eq(st.bytes, NORMAL_BYTES);

	ck_assert_int_eq(lstat(path_in("bin"), &a), 0);
	ck_assert(S_ISDIR(a.st_mode));
	ck_assert_int_eq(a.st_mode & 07777, 0755);
	ck_assert_int_eq(a.st_mtime, 1000000); /* set after its children */

	ck_assert_int_eq(lstat(path_in("bin/tool"), &a), 0);
	ck_assert(S_ISREG(a.st_mode));
	ck_assert_int_eq(a.st_mode & 07777, 0755);
	ck_assert_int_eq(a.st_uid, 1000);
	ck_assert_int_eq(a.st_gid, 1000);
	ck_assert_int_eq(a.st_mtime, 1234567);
	assert_file(path_in("bin/tool"), "#!/bin/sh\necho hi\n");

	ck_assert_int_eq(lstat(path_in("bin/su"), &a), 0);
	ck_assert_int_eq(a.st_mode & 07777, 04755); /* chown did not eat it */

	ck_assert_int_eq(lstat(path_in("etc"), &a), 0);
	ck_assert(S_ISDIR(a.st_mode));
	ck_assert_int_eq(a.st_mode & 07777, 0750);
	ck_assert_int_eq(a.st_uid, 1000);

	ck_assert_int_eq(lstat(path_in("etc/secret"), &a), 0);
	ck_assert_int_eq(a.st_mode & 07777, 0640);
	ck_assert_int_eq(a.st_uid, 1000);
	ck_assert_int_eq(a.st_gid, 1000);
	ck_assert_int_eq(a.st_nlink, 2);
	assert_file(path_in("etc/secret"), "s3cret");
	n = getxattr(path_in("etc/secret"), "user.x", buf, sizeof(buf));
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(buf[0], 'y');

	ck_assert_int_eq(lstat(path_in("etc/hard"), &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);

	ck_assert_int_eq(lstat(path_in("etc/sh"), &a), 0);
	ck_assert(S_ISLNK(a.st_mode));
	n = readlink(path_in("etc/sh"), buf, sizeof(buf));
	ck_assert_int_eq(n, 7);
	ck_assert(memcmp(buf, "/bin/sh", 7) == 0);
	n = readlink(path_in("etc/rel"), buf, sizeof(buf));
	ck_assert_int_eq(n, 11);
	ck_assert(memcmp(buf, "../bin/tool", 11) == 0);

	ck_assert_int_eq(lstat(path_in("dev/fifo"), &a), 0);
	ck_assert(S_ISFIFO(a.st_mode));
	ck_assert_int_eq(a.st_mode & 07777, 0620);
	ck_assert_int_eq(a.st_uid, 5);
	ck_assert_int_eq(a.st_gid, 6);

	ck_assert_int_eq(lstat(path_in("dev/null"), &a), 0);
	ck_assert(S_ISCHR(a.st_mode));
	ck_assert_int_eq(a.st_mode & 07777, 0666);
	ck_assert_int_eq(major(a.st_rdev), 1);
	ck_assert_int_eq(minor(a.st_rdev), 3);

	ck_assert_int_eq(lstat(path_in("deep/a/b"), &a), 0);
	ck_assert(S_ISDIR(a.st_mode));
	ck_assert_int_eq(a.st_mode & 07777, 0755);
	assert_file(path_in("deep/a/b/c.txt"), "implicit parents");
	ck_assert_int_eq(lstat(path_in("empty"), &a), 0);
	ck_assert_int_eq(a.st_size, 0);

	/* nothing else: bin etc dev deep empty */
	ck_assert_int_eq(unit_count_entries(S.dest), 5);
	ck_assert_int_eq(unit_count_entries(path_in("etc")), 4);
	ck_assert_int_eq(unit_count_entries(S.canary), 0);
}

START_TEST(test_normal_gzip)
{
	check_normal(F_GZIP);
}
END_TEST

START_TEST(test_normal_plain)
{
	check_normal(F_NONE);
}
END_TEST

START_TEST(test_normal_zstd)
{
	check_normal(F_ZSTD);
}
END_TEST

/* --- whiteouts ------------------------------------------------------------------- */

START_TEST(test_whiteouts)
{
	static const struct ent layer[] = {
		REG(".wh.gone", 0644, NULL),
		DIRE("dir", 0755),
		REG("dir/keep", 0644, "kept"),
		REG("dir/.wh..wh..opq", 0644, NULL),
		REG("sub/.wh.deleted", 0644, NULL), /* parent made implicitly */
		REG("same", 0644, "same layer"),
		REG(".wh.same", 0644, NULL),     /* hides lower layers only */
		REG(".wh..wh.plnk", 0644, NULL), /* aufs metadata: skipped */
	};
	struct cradle_err err = { 0 };
	struct unpack_stats st;
	struct stat a;
	char buf[8];

	build_layer(S.layer, F_GZIP, layer, sizeof(layer) / sizeof(layer[0]));
	ck_assert_msg(unpack_layer(S.layer, S.dest, &st, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(st.entries, 8);

	ck_assert_int_eq(lstat(path_in("gone"), &a), 0);
	ck_assert(S_ISCHR(a.st_mode));
	ck_assert_int_eq(a.st_rdev, makedev(0, 0));
	ck_assert_int_eq(lstat(path_in("sub/deleted"), &a), 0);
	ck_assert(S_ISCHR(a.st_mode));
	ck_assert_int_eq(a.st_rdev, makedev(0, 0));

	ck_assert_int_eq(getxattr(path_in("dir"), "trusted.overlay.opaque", buf, sizeof(buf)), 1);
	ck_assert_int_eq(buf[0], 'y');
	assert_file(path_in("dir/keep"), "kept");
	ck_assert_int_eq(getxattr(path_in("sub"), "trusted.overlay.opaque", buf, sizeof(buf)), -1);
	assert_file(path_in("same"), "same layer");

	/* no .wh. file is left anywhere: gone dir same sub */
	ck_assert_int_eq(unit_count_entries(S.dest), 4);
	ck_assert_int_eq(unit_count_entries(path_in("dir")), 1);
	ck_assert_int_eq(unit_count_entries(path_in("sub")), 1);
}
END_TEST

/* --- hostile layers --------------------------------------------------------------- */

struct hostile {
	const char *what;
	struct ent ents[3];
	size_t n;
	const char *entry; /* quoted in the message */
	const char *why;   /* part of the message */
};

static const struct hostile hostile_layers[] = {
	{ "absolute path", { REG("/etc/evil", 0644, "x") }, 1, "\"/etc/evil\"", "absolute" },
	{ "dot-dot", { REG("../evil", 0644, "x") }, 1, "\"../evil\"", ".." },
	{ "dot-dot inside",
	  { DIRE("a", 0755), REG("a/../../evil", 0644, "x") },
	  2,
	  "\"a/../../evil\"",
	  ".." },
	{ "hard link up",
	  { REG("x", 0644, "x"), HARD("h", "../../etc/passwd") },
	  2,
	  "\"h\"",
	  "\"..\"" },
	{ "hard link absolute", { HARD("h", "/etc/passwd") }, 1, "\"h\"", "absolute" },
	{ "hard link to a directory",
	  { DIRE("d", 0755), HARD("h", "d") },
	  2,
	  "\"h\"",
	  "directory" },
	{ "escaping symlink",
	  { SYM("up", "../../../../tmp"), REG("up/evil", 0644, "x") },
	  2,
	  "\"up\"",
	  "escapes" },
	{ "escaping symlink deeper",
	  { SYM("a/b/up", "../x/../../../canary"), REG("a/b/up/evil", 0644, "x") },
	  2,
	  "\"a/b/up\"",
	  "escapes" },
	{ "through a symlink to the root",
	  { SYM("ln", "/"), REG("ln/tmp/evil2", 0644, "x") },
	  2,
	  "\"ln/tmp/evil2\"",
	  "symlink" },
	{ "through an inside symlink",
	  { DIRE("sub", 0755), SYM("in", "sub"), REG("in/evil", 0644, "x") },
	  3,
	  "\"in/evil\"",
	  "goes through a symlink" },
	{ "whiteout through a symlink",
	  { SYM("ln", "/tmp"), REG("ln/.wh.evil", 0644, NULL) },
	  2,
	  "\"ln/.wh.evil\"",
	  "symlink" },
	{ "missing parents behind a dangling symlink",
	  { SYM("ln", "nowhere"), REG("ln/x/evil", 0644, "x") },
	  2,
	  "\"ln/x/evil\"",
	  "symlink" },
	{ "hard link through a symlink",
	  { SYM("ln", "/etc"), HARD("h", "ln/passwd") },
	  2,
	  "\"h\"",
	  "symlink" },
};

static void
assert_nothing_outside(void)
{
	ck_assert_int_eq(unit_count_entries(S.canary), 0);
	ck_assert_int_eq(access("/tmp/evil", F_OK), -1);
	ck_assert_int_eq(access("/tmp/evil2", F_OK), -1);
	ck_assert_int_eq(access("/etc/evil", F_OK), -1);
	ck_assert_int_eq(access("/evil", F_OK), -1);
	ck_assert_int_eq(access("/tmp/evil", F_OK), -1);
	ck_assert_int_eq(access(S.tmp, F_OK), 0);
	/* only dest, canary and the layer next to each other */
	ck_assert_int_eq(unit_count_entries(S.tmp), 3);
}

START_TEST(test_hostile)
{
	const struct hostile *h = &hostile_layers[_i];
	struct cradle_err err = { 0 };
	struct unpack_stats st;
	struct stat pw, pw2;

	ck_assert_int_eq(lstat("/etc/passwd", &pw), 0);
	/* the canary sits right beside dest and is named by one of the links */
	build_layer(S.layer, F_GZIP, h->ents, h->n);
	ck_assert_msg(unpack_layer(S.layer, S.dest, &st, &err) < 0, "%s: unpacked", h->what);
	ck_assert_msg(err.code == CRADLE_INVALID_ARGUMENT, "%s: %s: %s", h->what,
	              cradle_code_name(err.code), err.msg);
	ck_assert_msg(strstr(err.msg, h->entry) != NULL, "%s: %s", h->what, err.msg);
	ck_assert_msg(strstr(err.msg, h->why) != NULL, "%s: %s", h->what, err.msg);
	ck_assert_msg(strstr(err.msg, S.layer) != NULL, "%s: %s", h->what, err.msg);
	assert_nothing_outside();
	ck_assert_int_eq(lstat("/etc/passwd", &pw2), 0);
	ck_assert_uint_eq(pw.st_nlink, pw2.st_nlink);
}
END_TEST

/* A symlink already in dest (not from this layer) is not followed either. */
START_TEST(test_existing_symlink_in_dest)
{
	static const struct ent layer[] = { REG("up/evil", 0644, "x") };
	struct cradle_err err = { 0 };

	ck_assert_int_eq(symlink(S.canary, path_in("up")), 0);
	build_layer(S.layer, F_NONE, layer, 1);
	ck_assert(unpack_layer(S.layer, S.dest, NULL, &err) < 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "\"up/evil\"") && strstr(err.msg, "symlink"), "%s", err.msg);
	assert_nothing_outside();
}
END_TEST

/* Entries at a symlink's path replace the link, never write through it. */
START_TEST(test_symlink_replaced_not_followed)
{
	char target[256], outside[256];
	struct ent layer[] = {
		SYM("p", target),  REG("p", 0644, "replaced"),
		SYM("q", outside), DIRE("q", 0700),
		SYM("r", "/"),     HARD("h", "r"), /* links the symlink itself */
	};
	struct cradle_err err = { 0 };
	struct stat a;

	snprintf(target, sizeof(target), "%s/evil", S.canary);
	snprintf(outside, sizeof(outside), "%s", S.canary);
	build_layer(S.layer, F_GZIP, layer, sizeof(layer) / sizeof(layer[0]));
	ck_assert_msg(unpack_layer(S.layer, S.dest, NULL, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(lstat(path_in("p"), &a), 0);
	ck_assert(S_ISREG(a.st_mode));
	assert_file(path_in("p"), "replaced");
	ck_assert_int_eq(lstat(path_in("q"), &a), 0);
	ck_assert(S_ISDIR(a.st_mode));
	ck_assert_int_eq(a.st_mode & 07777, 0700);
	ck_assert_int_eq(lstat(path_in("h"), &a), 0);
	ck_assert(S_ISLNK(a.st_mode));
	ck_assert_int_eq(unit_count_entries(S.canary), 0);
	ck_assert_int_eq(lstat(S.canary, &a), 0);
	ck_assert_int_eq(a.st_mode & 07777, 0755); /* chmod did not follow q */
}
END_TEST

/* --- truncated, replaced, real tree ----------------------------------------------------- */

static void
check_truncated(enum filt f)
{
	struct ent layer[] = {
		{ .path = "pad", .type = AE_IFREG, .perm = 0644, .data = big, .size = sizeof(big) },
		{ .path = "big", .type = AE_IFREG, .perm = 0644, .data = big, .size = sizeof(big) },
		{ .path = "tail",
		  .type = AE_IFREG,
		  .perm = 0644,
		  .data = big,
		  .size = sizeof(big) },
	};
	struct cradle_err err = { 0 };
	struct stat a;

	build_layer(S.layer, f, layer, 3);
	ck_assert_int_eq(stat(S.layer, &a), 0);
	ck_assert_int_gt(a.st_size, 3 * (off_t)sizeof(big));
	ck_assert_int_eq(truncate(S.layer, a.st_size / 2), 0);
	ck_assert(unpack_layer(S.layer, S.dest, NULL, &err) < 0);
	ck_assert_msg(err.code == CRADLE_INVALID_ARGUMENT, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "\"big\"") != NULL, "%s", err.msg); /* where it stopped */
	ck_assert_msg(strstr(err.msg, S.layer) != NULL, "%s", err.msg);
	fprintf(stderr, "truncated %s: %s\n", f == F_GZIP ? "gzip" : "plain", err.msg);

	/* cut right after the first header: nothing is unpacked */
	build_layer(S.layer, f, layer, 3);
	ck_assert_int_eq(truncate(S.layer, f == F_GZIP ? 100 : 700), 0);
	memset(&err, 0, sizeof(err));
	ck_assert(unpack_layer(S.layer, S.dest, NULL, &err) < 0);
	ck_assert_msg(err.code == CRADLE_INVALID_ARGUMENT, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
	fprintf(stderr, "truncated early %s: %s\n", f == F_GZIP ? "gzip" : "plain", err.msg);
}

START_TEST(test_truncated_gzip)
{
	check_truncated(F_GZIP);
}
END_TEST

START_TEST(test_truncated_plain)
{
	check_truncated(F_NONE);
}
END_TEST

START_TEST(test_not_a_tar)
{
	struct cradle_err err = { 0 };
	FILE *f;

	f = fopen(S.layer, "w");
	ck_assert_ptr_nonnull(f);
	fputs("this is not a tar archive, not even close\n", f);
	fclose(f);
	ck_assert(unpack_layer(S.layer, S.dest, NULL, &err) < 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, S.layer) != NULL, "%s", err.msg);
}
END_TEST

START_TEST(test_replace)
{
	static const struct ent layer[] = {
		REG("f", 0644, "one"),
		{ .path = "f", .type = AE_IFREG, .perm = 0600, .data = "two", .uid = 7, .gid = 8 },
		REG("d", 0644, "a file first"),
		DIRE("d", 0711),
		DIRE("e", 0755),
		REG("e/x", 0644, "x"),
		REG("e", 0644, "a file now"),
		DIRE("k", 0755),
		REG("k/child", 0644, "child"),
		DIRE("k", 0700), /* kept, mode updated */
		SYM("s", "somewhere"),
		REG("s", 0644, "not a link"),
		REG("n", 0644, "n"),
		{ .path = "n", .type = AE_IFIFO, .perm = 0644 },
		REG("t", 0644, "t"),
		HARD("t2", "t"),
		HARD("t2", "t"), /* the same link again */
	};
	struct cradle_err err = { 0 };
	struct stat a, b;

	build_layer(S.layer, F_GZIP, layer, sizeof(layer) / sizeof(layer[0]));
	ck_assert_msg(unpack_layer(S.layer, S.dest, NULL, &err) == 0, "%s", err.msg);
	assert_file(path_in("f"), "two");
	ck_assert_int_eq(lstat(path_in("f"), &a), 0);
	ck_assert_int_eq(a.st_mode & 07777, 0600);
	ck_assert_int_eq(a.st_uid, 7);
	ck_assert_int_eq(a.st_gid, 8);
	ck_assert_int_eq(a.st_nlink, 1);
	ck_assert_int_eq(lstat(path_in("d"), &a), 0);
	ck_assert(S_ISDIR(a.st_mode));
	ck_assert_int_eq(a.st_mode & 07777, 0711);
	assert_file(path_in("e"), "a file now");
	ck_assert_int_eq(lstat(path_in("k"), &a), 0);
	ck_assert_int_eq(a.st_mode & 07777, 0700);
	assert_file(path_in("k/child"), "child");
	assert_file(path_in("s"), "not a link");
	ck_assert_int_eq(lstat(path_in("n"), &a), 0);
	ck_assert(S_ISFIFO(a.st_mode));
	ck_assert_int_eq(lstat(path_in("t"), &a), 0);
	ck_assert_int_eq(lstat(path_in("t2"), &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_int_eq(a.st_nlink, 2);
}
END_TEST

/* Compare a source tree with the unpacked one, entry by entry. */
static const char *cmp_src, *cmp_dst;
static int cmp_count;

static int
cmp_one(const char *path, const struct stat *sa, int flag, struct FTW *ftw)
{
	char other[1024], la[256], lb[256];
	const char *rel = path + strlen(cmp_src);
	struct stat sb;

	(void)flag;
	(void)ftw;
	snprintf(other, sizeof(other), "%s%s", cmp_dst, rel);
	ck_assert_msg(lstat(other, &sb) == 0, "%s missing", other);
	ck_assert_msg((sa->st_mode & S_IFMT) == (sb.st_mode & S_IFMT), "%s type", rel);
	ck_assert_msg((sa->st_mode & 07777) == (sb.st_mode & 07777), "%s mode %o != %o", rel,
	              sa->st_mode & 07777, sb.st_mode & 07777);
	ck_assert_msg(sa->st_uid == sb.st_uid && sa->st_gid == sb.st_gid, "%s owner", rel);
	if (!S_ISLNK(sa->st_mode))
		ck_assert_msg(sa->st_mtime == sb.st_mtime, "%s mtime %ld != %ld", rel,
		              (long)sa->st_mtime, (long)sb.st_mtime);
	if (S_ISREG(sa->st_mode)) {
		/* whole files, one assertion: each ck_assert is a message to
		 * Check's parent, and a byte-by-byte loop cost seconds */
		size_t na, nb;
		char *ca = unit_slurp_ok(path, &na), *cb = unit_slurp_ok(other, &nb);

		ck_assert_msg(sa->st_size == sb.st_size, "%s size", rel);
		ck_assert_msg(na == nb && memcmp(ca, cb, na) == 0, "%s content", rel);
		free(ca);
		free(cb);
	} else if (S_ISLNK(sa->st_mode)) {
		ssize_t na = readlink(path, la, sizeof(la)), nb = readlink(other, lb, sizeof(lb));

		ck_assert(na > 0 && na == nb && memcmp(la, lb, (size_t)na) == 0);
	}
	cmp_count++;
	return 0;
}

START_TEST(test_real_tree)
{
	struct cradle_err err = { 0 };
	struct unpack_stats st;
	char src[160], cmd[2048], p[512];
	struct stat a, b;
	FILE *f;
	int fd;

	snprintf(src, sizeof(src), "%s/src", S.tmp);
	ck_assert_int_eq(mkdir(src, 0755), 0);
	snprintf(p, sizeof(p), "%s/usr/bin", src);
	ck_assert_int_eq(unit_sh("mkdir -p %s %s/etc/ssl %s/var/empty", p, src, src), 0);
	snprintf(p, sizeof(p), "%s/usr/bin/prog", src);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(p, 0755), 0);
	ck_assert_int_eq(chown(p, 1000, 1000), 0);
	snprintf(cmd, sizeof(cmd), "%s/usr/bin/prog-link", src);
	ck_assert_int_eq(link(p, cmd), 0);
	snprintf(p, sizeof(p), "%s/bin", src);
	ck_assert_int_eq(symlink("usr/bin", p), 0);
	snprintf(p, sizeof(p), "%s/etc/ssl/cert.pem", src);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(big, 1, sizeof(big), f);
	fclose(f);
	ck_assert_int_eq(chmod(p, 0444), 0);
	snprintf(p, sizeof(p), "%s/var/empty", src);
	ck_assert_int_eq(chmod(p, 01777), 0);
	/* a sparse file: 1 MiB hole, data, hole at the end */
	snprintf(p, sizeof(p), "%s/var/sparse", src);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "data", 4, 1 << 20), 4);
	ck_assert_int_eq(ftruncate(fd, 3 << 20), 0);
	close(fd);

	ck_assert_int_eq(unit_sh("tar -C %s --sparse --numeric-owner -czf %s .", src, S.layer), 0);
	ck_assert_msg(unpack_layer(S.layer, S.dest, &st, &err) == 0, "%s", err.msg);
	ck_assert_uint_ge(st.entries, 10);

	cmp_src = src;
	cmp_dst = S.dest;
	cmp_count = 0;
	ck_assert_int_eq(nftw(src, cmp_one, 16, FTW_PHYS), 0);
	ck_assert_int_eq(cmp_count,
	                 12); /* . usr usr/bin prog link bin etc ssl pem var empty sparse */
	snprintf(p, sizeof(p), "%s/var/sparse", S.dest);
	ck_assert_int_eq(stat(p, &a), 0);
	ck_assert_int_eq(a.st_size, 3 << 20);
	ck_assert_int_lt(a.st_blocks * 512, 1 << 20); /* holes stayed holes */
	snprintf(p, sizeof(p), "%s/usr/bin/prog", S.dest);
	snprintf(cmd, sizeof(cmd), "%s/usr/bin/prog-link", S.dest);
	ck_assert_int_eq(stat(p, &a), 0);
	ck_assert_int_eq(stat(cmd, &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
}
END_TEST

START_TEST(test_fd_at_offset)
{
	static const struct ent layer[] = { REG("hello", 0644, "world") };
	struct cradle_err err = { 0 };
	char junk[1000], p[256];
	struct unpack_stats st;
	int fd, in;
	ssize_t n;
	char buf[4096];

	build_layer(S.layer, F_GZIP, layer, 1);
	snprintf(p, sizeof(p), "%s/with-prefix", S.tmp);
	fd = open(p, O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	memset(junk, 'J', sizeof(junk));
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	in = open(S.layer, O_RDONLY);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(fd, buf, (size_t)n), n);
	close(in);
	ck_assert_int_eq(lseek(fd, (off_t)sizeof(junk), SEEK_SET), (off_t)sizeof(junk));
	ck_assert_msg(unpack_layer_fd(fd, "sha256:abc", S.dest, &st, &err) == 0, "%s", err.msg);
	close(fd);
	ck_assert_uint_eq(st.entries, 1);
	ck_assert_uint_eq(st.bytes, 5);
	assert_file(path_in("hello"), "world");
}
END_TEST

/* Names are bytes: UTF-8 and not; messages stay valid UTF-8. */
START_TEST(test_odd_names)
{
	static const struct ent ok[] = {
		REG("caf\xc3\xa9", 0644, "utf-8"),
		REG("raw\xff\xfe", 0644, "bytes"),
	};
	static const struct ent bad[] = { REG("/x\xff\x01y", 0644, "x") };
	struct cradle_err err = { 0 };

	build_layer(S.layer, F_GZIP, ok, 2);
	ck_assert_msg(unpack_layer(S.layer, S.dest, NULL, &err) == 0, "%s", err.msg);
	assert_file(path_in("caf\xc3\xa9"), "utf-8");
	assert_file(path_in("raw\xff\xfe"), "bytes");
	build_layer(S.layer, F_GZIP, bad, 1);
	ck_assert(unpack_layer(S.layer, S.dest, NULL, &err) < 0);
	ck_assert_msg(strstr(err.msg, "entry \"/x??y\": absolute") != NULL, "%s", err.msg);
	ck_assert(proto_valid_utf8(err.msg, strlen(err.msg)));
}
END_TEST

START_TEST(test_errors)
{
	struct cradle_err err = { 0 };
	char p[256];
	static const struct ent layer[] = { REG("f", 0644, "f"), REG("f/g", 0644, "g") };

	snprintf(p, sizeof(p), "%s/absent.tar", S.tmp);
	ck_assert(unpack_layer(p, S.dest, NULL, &err) < 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, p) != NULL, "%s", err.msg);

	build_layer(S.layer, F_NONE, layer, 2);
	snprintf(p, sizeof(p), "%s/no-dest", S.tmp);
	memset(&err, 0, sizeof(err));
	ck_assert(unpack_layer(S.layer, p, NULL, &err) < 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, p) != NULL, "%s", err.msg);

	/* a file where a parent directory should be */
	memset(&err, 0, sizeof(err));
	ck_assert(unpack_layer(S.layer, S.dest, NULL, &err) < 0);
	ck_assert_msg(strstr(err.msg, "\"f/g\"") != NULL, "%s", err.msg);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
}
END_TEST

/* --- limits (struct unpack_limits) ----------------------------------------------- */

/* A gzip layer of one file of mib MiB of zeros: a "gzip bomb" (about
 * 1000:1). */
static void
build_zeros(const char *out, size_t mib)
{
	static char zeros[1 << 20];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	ck_assert_int_eq(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_filename(a, out), ARCHIVE_OK);
	archive_entry_set_pathname(e, "zeros");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)(mib << 20));
	ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
	for (size_t i = 0; i < mib; i++)
		ck_assert_int_eq(archive_write_data(a, zeros, sizeof(zeros)),
		                 (la_ssize_t)sizeof(zeros));
	archive_entry_free(e);
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* Bytes in the files below dest. */
static long long dest_bytes;
static int
add_bytes(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)p;
	(void)ftw;
	if (flag == FTW_F)
		dest_bytes += (long long)st->st_blocks * 512;
	return 0;
}

static long long
bytes_in_dest(void)
{
	dest_bytes = 0;
	ck_assert_int_eq(nftw(S.dest, add_bytes, 16, FTW_PHYS), 0);
	return dest_bytes;
}

START_TEST(test_limit_expansion_gzip_bomb)
{
	struct unpack_limits lim = { .max_expansion = 100 };
	struct cradle_err err;
	struct stat st;

	build_zeros(S.layer, 8);
	ck_assert_int_eq(stat(S.layer, &st), 0);
	ck_assert_int_lt(st.st_size, 1 << 20); /* it is a bomb */
	ck_assert(unpack_layer_limited(S.layer, "sha256:bomb", S.dest, &lim, NULL, &err) < 0);
	ck_assert_int_eq(err.code, CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(err.msg, "layer \"sha256:bomb\"") &&
	                      strstr(err.msg, "expands more than 100 times") &&
	                      strstr(err.msg, "max_expansion"),
	              "%s", err.msg);
	/* refused at the header: nothing of it written */
	ck_assert_int_eq(bytes_in_dest(), 0);
}
END_TEST

START_TEST(test_limit_bytes)
{
	struct unpack_limits lim = { .max_bytes = 2 << 20 };
	struct cradle_err err;

	build_zeros(S.layer, 4);
	ck_assert(unpack_layer_limited(S.layer, "sha256:big", S.dest, &lim, NULL, &err) < 0);
	ck_assert_int_eq(err.code, CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(err.msg, "layer \"sha256:big\"") &&
	                      strstr(err.msg, "more than 2097152 bytes") &&
	                      strstr(err.msg, "max_layer_bytes"),
	              "%s", err.msg);
	ck_assert_int_eq(bytes_in_dest(), 0);
}
END_TEST

/* Within the limits (the defaults of [images]), and without any, the
 * same layer unpacks. */
START_TEST(test_limit_within)
{
	struct unpack_limits lim = { .max_bytes = 16ull << 30,
		                     .max_entries = 1000000,
		                     .max_expansion = 2000 };
	struct unpack_stats stats;
	struct cradle_err err;
	struct stat st;

	build_zeros(S.layer, 4);
	ck_assert_msg(unpack_layer_limited(S.layer, NULL, S.dest, &lim, &stats, &err) == 0, "%s",
	              err.msg);
	ck_assert_int_eq(stat(path_in("zeros"), &st), 0);
	ck_assert_int_eq(st.st_size, 4 << 20);
	ck_assert_uint_eq(stats.entries, 1);
	ck_assert_int_eq(unit_rm_rf(S.dest), 0);
	ck_assert_int_eq(mkdir(S.dest, 0755), 0);
	ck_assert_msg(unpack_layer_limited(S.layer, NULL, S.dest, NULL, NULL, &err) == 0, "%s",
	              err.msg);
}
END_TEST

START_TEST(test_limit_entries)
{
	enum { N = 300 };
	static struct ent ents[N];
	static char names[N][16];
	struct unpack_limits lim = { .max_entries = 100 };
	struct cradle_err err;

	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "f%05d", i);
		ents[i] = (struct ent){
			.path = names[i], .type = AE_IFREG, .perm = 0644, .data = ""
		};
	}
	build_layer(S.layer, F_GZIP, ents, N);
	ck_assert(unpack_layer_limited(S.layer, "sha256:many", S.dest, &lim, NULL, &err) < 0);
	ck_assert_int_eq(err.code, CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(err.msg, "layer \"sha256:many\"") &&
	                      strstr(err.msg, "more than 100 entries") &&
	                      strstr(err.msg, "max_layer_entries"),
	              "%s", err.msg);
	/* stopped at the limit, not at the end */
	ck_assert_int_le(unit_count_entries(S.dest), 100);
	lim.max_entries = N;
	ck_assert_int_eq(unit_rm_rf(S.dest), 0);
	ck_assert_int_eq(mkdir(S.dest, 0755), 0);
	ck_assert_msg(unpack_layer_limited(S.layer, NULL, S.dest, &lim, NULL, &err) == 0, "%s",
	              err.msg);
	ck_assert_int_eq(unit_count_entries(S.dest), N);
}
END_TEST

/* user.* xattrs are not allowed on device nodes and fifos (nor symlinks):
 * skipped, not a failed unpack. */
START_TEST(test_user_xattr_on_special_files)
{
	const struct ent ents[] = {
		{ .path = "fifo", .type = AE_IFIFO, .perm = 0644, .xname = "user.k", .xval = "v" },
		{ .path = "null",
		  .type = AE_IFCHR,
		  .perm = 0666,
		  .rmaj = 1,
		  .rmin = 3,
		  .xname = "user.k",
		  .xval = "v" },
		{ .path = "file",
		  .type = AE_IFREG,
		  .perm = 0644,
		  .data = "x",
		  .xname = "user.k",
		  .xval = "v" },
	};
	struct cradle_err err;
	struct stat st;
	char v[8] = "";

	build_layer(S.layer, F_GZIP, ents, sizeof(ents) / sizeof(ents[0]));
	ck_assert_msg(unpack_layer(S.layer, S.dest, NULL, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(lstat(path_in("fifo"), &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_int_eq(lstat(path_in("null"), &st), 0);
	ck_assert(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
	/* kept where the kernel allows it */
	ck_assert_int_eq(getxattr(path_in("file"), "user.k", v, sizeof(v) - 1), 1);
	ck_assert_str_eq(v, "v");
}
END_TEST

/* --- runner --------------------------------------------------------------------- */

static Suite *
unpack_suite(void)
{
	Suite *s = suite_create("unpack");
	TCase *tc;

	tc = unit_tcase(
		s, "unpack", setup, unit_scratch_teardown, 60,
		UNIT_TESTS(test_normal_gzip, test_normal_plain, test_normal_zstd, test_whiteouts,
	                   test_existing_symlink_in_dest, test_symlink_replaced_not_followed,
	                   test_truncated_gzip, test_truncated_plain, test_not_a_tar, test_replace,
	                   test_real_tree, test_fd_at_offset, test_odd_names, test_errors,
	                   test_limit_expansion_gzip_bomb, test_limit_bytes, test_limit_within,
	                   test_limit_entries, test_user_xattr_on_special_files));
	tcase_add_loop_test(tc, test_hostile, 0,
	                    (int)(sizeof(hostile_layers) / sizeof(hostile_layers[0])));

	return s;
}

int
main(void)
{
	return unit_run(unpack_suite(), "test_unpack", UNIT_ROOT | UNIT_SUBREAPER);
}
