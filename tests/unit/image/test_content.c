/* test_content.c - the content store (image/content.c) and image records
 * (image/record.c) on the store (util/store.c, tested in
 * tests/unit/util/test_store.c).
 *
 * Known sha256 digests, mismatches of digest and size leaving nothing in
 * blobs/ or ingest/, abort, concurrent writers of one blob, re-verification
 * on read of a blob corrupted on disk, put/delete/walk, digest syntax, and
 * image records encoded, stored and refused when garbled.  Every test
 * works in its own scratch directory (tests/unit/lib).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/content.h"
#include "image/record.h"
#include "util/store.h"
#include "tests/unit/lib/unit.h"

#define HELLO "hello\n"
#define HELLO_HEX "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define HELLO_DIGEST "sha256:" HELLO_HEX
/* sha256 of "" and of "world\n" */
#define EMPTY_DIGEST "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define WORLD_DIGEST "sha256:e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317"
#define OTHER_DIGEST "sha256:0000000000000000000000000000000000000000000000000000000000000000"

/* The content store's root in the test's own directory (tests/unit/lib):
 * levels that do not exist yet, content_open makes them. */
static struct {
	char root[PATH_MAX];
	char blobs[PATH_MAX + 32];
	char ingest[PATH_MAX + 32];
	struct content *c; /* open there for the content tests */
} S;

static void
setup(void)
{
	unit_scratch_setup();
	unit_path(S.root, sizeof(S.root), "state/root");
	UNIT_FMT(S.blobs, "%s/content/blobs/sha256", S.root);
	UNIT_FMT(S.ingest, "%s/content/ingest", S.root);
}

static struct content *
open_content(void)
{
	struct cradle_err err = { 0 };
	struct content *c = NULL;

	ck_assert_msg(content_open(S.root, &c, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(c);
	return (c);
}

static void
content_setup(void)
{
	setup();
	S.c = open_content();
}

static void
content_teardown(void)
{
	content_close(S.c);
	S.c = NULL;
	unit_scratch_teardown();
}

/* Nothing in blobs/, nothing left in ingest/. */
static void
assert_empty(void)
{
	ck_assert_int_eq(unit_count_entries(S.blobs), 0);
	ck_assert_int_eq(unit_count_entries(S.ingest), 0);
}

static void
assert_mode(const char *path, mode_t want)
{
	struct stat sb;

	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, want);
}

/* --- digests -------------------------------------------------------------- */

START_TEST(test_digest_valid)
{
	char buf[128];

	ck_assert(digest_valid(HELLO_DIGEST));
	ck_assert(digest_valid(EMPTY_DIGEST));
	ck_assert(!digest_valid(NULL));
	ck_assert(!digest_valid(""));
	ck_assert(!digest_valid("sha256:"));
	ck_assert(!digest_valid(HELLO_HEX));
	/* upper case hex, other algorithms, wrong lengths, trailing bytes */
	ck_assert(!digest_valid("sha256:5891B5B522D5DF086D0FF0B110FBD9D21BB4FC"
	                        "7163AF34D08286A2E846F6BE03"));
	ck_assert(!digest_valid("sha512:" HELLO_HEX));
	ck_assert(!digest_valid("SHA256:" HELLO_HEX));
	snprintf(buf, sizeof(buf), "%.70s", HELLO_DIGEST);
	ck_assert(!digest_valid(buf));
	snprintf(buf, sizeof(buf), "%s0", HELLO_DIGEST);
	ck_assert(!digest_valid(buf));
	snprintf(buf, sizeof(buf), "%s\n", HELLO_DIGEST);
	ck_assert(!digest_valid(buf));
	snprintf(buf, sizeof(buf), "sha256:%.63sg", HELLO_HEX);
	ck_assert(!digest_valid(buf));
	snprintf(buf, sizeof(buf), " %s", HELLO_DIGEST);
	ck_assert(!digest_valid(buf));
	ck_assert(!digest_valid("sha256:../../../../etc/passwd"));
}
END_TEST

/* --- writers ------------------------------------------------------------ */

START_TEST(test_write_commit)
{
	struct cradle_err err = { 0 };
	struct content_writer *w;
	char digest[DIGEST_LEN + 1], path[512], buf[80];
	int fd;
	ssize_t n;

	assert_mode(S.blobs, 0700);
	assert_mode(S.ingest, 0700);

	ck_assert_int_eq(content_writer_open(S.c, NULL, -1, &w, &err), 0);
	ck_assert_int_eq(unit_count_entries(S.ingest), 1);
	/* in two pieces: the hash runs over the stream */
	ck_assert_int_eq(content_writer_write(w, "hel", 3, &err), 0);
	ck_assert_int_eq(content_writer_write(w, "lo\n", 3, &err), 0);
	ck_assert_int_eq(content_writer_write(w, "", 0, &err), 0);
	ck_assert_uint_eq(content_writer_size(w), 6);
	ck_assert_msg(content_writer_commit(w, digest, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(digest, HELLO_DIGEST);

	ck_assert_int_eq(content_path(S.c, digest, path, sizeof(path)), 0);
	snprintf(buf, sizeof(buf), "/%s", HELLO_HEX);
	ck_assert_ptr_nonnull(strstr(path, S.blobs));
	ck_assert_str_eq(path + strlen(S.blobs), buf);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_int_eq(n, 6);
	ck_assert_int_eq(memcmp(buf, HELLO, 6), 0);
	ck_assert(content_has(S.c, HELLO_DIGEST));
	ck_assert(!content_has(S.c, WORLD_DIGEST));
	ck_assert(!content_has(S.c, "nonsense"));
	ck_assert_int_eq(unit_count_entries(S.ingest), 0);
	ck_assert_int_eq(unit_count_entries(S.blobs), 1);

	/* the same with the digest and size announced */
	ck_assert_int_eq(content_writer_open(S.c, HELLO_DIGEST, 6, &w, &err), 0);
	ck_assert_int_eq(content_writer_write(w, HELLO, 6, &err), 0);
	ck_assert_int_eq(content_writer_commit(w, NULL, &err), 0);
	ck_assert_int_eq(unit_count_entries(S.blobs), 1);

	/* the empty blob */
	ck_assert_int_eq(content_writer_open(S.c, EMPTY_DIGEST, 0, &w, &err), 0);
	ck_assert_int_eq(content_writer_commit(w, digest, &err), 0);
	ck_assert_str_eq(digest, EMPTY_DIGEST);
	ck_assert_int_eq(unit_count_entries(S.blobs), 2);

	/* path buffer too small, bad digest */
	ck_assert_int_eq(content_path(S.c, HELLO_DIGEST, path, 10), -ENAMETOOLONG);
	ck_assert_int_eq(content_path(S.c, "sha256:zz", path, sizeof(path)), -EINVAL);

	content_close(NULL);
}
END_TEST

START_TEST(test_digest_mismatch)
{
	struct cradle_err err = { 0 };
	struct content_writer *w;
	char digest[DIGEST_LEN + 1] = "x";

	ck_assert_int_eq(content_writer_open(S.c, WORLD_DIGEST, -1, &w, &err), 0);
	ck_assert_int_eq(content_writer_write(w, HELLO, 6, &err), 0);
	ck_assert_int_eq(content_writer_commit(w, digest, &err), -EINVAL);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "digest mismatch") != NULL &&
	                      strstr(err.msg, WORLD_DIGEST) != NULL &&
	                      strstr(err.msg, HELLO_DIGEST) != NULL,
	              "%s", err.msg);
	ck_assert_str_eq(digest, "");
	assert_empty();
	ck_assert(!content_has(S.c, WORLD_DIGEST));
	ck_assert(!content_has(S.c, HELLO_DIGEST));

	/* a malformed expected digest is refused up front */
	memset(&err, 0, sizeof(err));
	w = (struct content_writer *)&err;
	ck_assert_int_eq(content_writer_open(S.c, "sha256:abc", -1, &w, &err), -EINVAL);
	ck_assert_ptr_null(w);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "sha256:abc") != NULL, "%s", err.msg);
	ck_assert_int_eq(unit_count_entries(S.ingest), 0);
}
END_TEST

START_TEST(test_size_mismatch)
{
	struct cradle_err err = { 0 };
	struct content_writer *w;

	/* short */
	ck_assert_int_eq(content_writer_open(S.c, HELLO_DIGEST, 7, &w, &err), 0);
	ck_assert_int_eq(content_writer_write(w, HELLO, 6, &err), 0);
	ck_assert_int_eq(content_writer_commit(w, NULL, &err), -EINVAL);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(
		strstr(err.msg, "size mismatch") != NULL && strstr(err.msg, "expected 7") != NULL &&
			strstr(err.msg, "got 6") != NULL && strstr(err.msg, HELLO_DIGEST) != NULL,
		"%s", err.msg);
	assert_empty();

	/* long, without a digest: refused at the write that overflows, and
	 * the commit refuses too */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(content_writer_open(S.c, NULL, 5, &w, &err), 0);
	ck_assert_int_eq(content_writer_write(w, "hell", 4, &err), 0);
	ck_assert_int_eq(content_writer_write(w, "o\n", 2, &err), -EINVAL);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "size mismatch") != NULL &&
	                      strstr(err.msg, "expected 5") != NULL,
	              "%s", err.msg);
	ck_assert_int_lt(content_writer_commit(w, NULL, &err), 0);
	assert_empty();
}
END_TEST

START_TEST(test_abort)
{
	struct cradle_err err = { 0 };
	struct content_writer *w;

	ck_assert_int_eq(content_writer_open(S.c, HELLO_DIGEST, 6, &w, &err), 0);
	ck_assert_int_eq(content_writer_write(w, HELLO, 6, &err), 0);
	ck_assert_int_eq(unit_count_entries(S.ingest), 1);
	content_writer_abort(w);
	content_writer_abort(NULL);
	ck_assert_int_eq(unit_count_entries(S.ingest), 0);
	ck_assert_int_eq(unit_count_entries(S.blobs), 0);
	ck_assert(!content_has(S.c, HELLO_DIGEST));
}
END_TEST

/* Temp files a crashed writer left behind are removed at open when old;
 * a fresh one (a live writer in another instance) is kept. */
START_TEST(test_stale_ingest)
{
	struct timespec ts[2];
	char old[PATH_MAX + 64], fresh[PATH_MAX + 64];
	int fd;

	content_close(S.c);
	UNIT_FMT(old, "%s/ingest-aaaaaa", S.ingest);
	UNIT_FMT(fresh, "%s/ingest-bbbbbb", S.ingest);
	fd = open(old, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = open(fresh, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 7200;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	ck_assert_int_eq(utimensat(AT_FDCWD, old, ts, 0), 0);
	S.c = open_content();
	ck_assert_int_ne(access(old, F_OK), 0);
	ck_assert_int_eq(access(fresh, F_OK), 0);
}
END_TEST

/* --- concurrency ---------------------------------------------------------- */

#define N_WRITERS 4
#define BIG_LEN (1 << 20)

struct writer_arg {
	struct content *c;
	const unsigned char *data;
	int rc;
	char digest[DIGEST_LEN + 1];
	char msg[CRADLE_ERR_MSG_MAX];
};

static void *
writer_thread(void *p)
{
	struct writer_arg *a = p;
	struct cradle_err err = { 0 };
	struct content_writer *w;
	size_t off;

	a->rc = content_writer_open(a->c, NULL, BIG_LEN, &w, &err);
	if (a->rc < 0) {
		snprintf(a->msg, sizeof(a->msg), "%s", err.msg);
		return (NULL);
	}
	/* small pieces, so the writers interleave */
	for (off = 0; off < BIG_LEN; off += 4096) {
		a->rc = content_writer_write(w, a->data + off, 4096, &err);
		if (a->rc < 0) {
			content_writer_abort(w);
			snprintf(a->msg, sizeof(a->msg), "%s", err.msg);
			return (NULL);
		}
	}
	a->rc = content_writer_commit(w, a->digest, &err);
	if (a->rc < 0) {
		snprintf(a->msg, sizeof(a->msg), "%s", err.msg);
	}
	return (NULL);
}

START_TEST(test_concurrent_writers)
{
	struct cradle_err err = { 0 };
	struct writer_arg args[N_WRITERS];
	pthread_t th[N_WRITERS];
	unsigned char *data;
	char *back = NULL;
	size_t len, i;

	data = malloc(BIG_LEN);
	ck_assert_ptr_nonnull(data);
	for (i = 0; i < BIG_LEN; i++) {
		data[i] = (unsigned char)(i * 131 + (i >> 9));
	}
	for (i = 0; i < N_WRITERS; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].c = S.c;
		args[i].data = data;
		ck_assert_int_eq(pthread_create(&th[i], NULL, writer_thread, &args[i]), 0);
	}
	for (i = 0; i < N_WRITERS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	}
	for (i = 0; i < N_WRITERS; i++) {
		ck_assert_msg(args[i].rc == 0, "writer %zu: %s", i, args[i].msg);
		ck_assert(digest_valid(args[i].digest));
		ck_assert_str_eq(args[i].digest, args[0].digest);
	}
	ck_assert_int_eq(unit_count_entries(S.blobs), 1);
	ck_assert_int_eq(unit_count_entries(S.ingest), 0);
	ck_assert_msg(content_read(S.c, args[0].digest, BIG_LEN, &back, &len, &err) == 0, "%s",
	              err.msg);
	ck_assert_uint_eq(len, BIG_LEN);
	ck_assert_int_eq(memcmp(back, data, BIG_LEN), 0);
	free(back);
	free(data);
}
END_TEST

/* --- reading, put, delete, walk -------------------------------------------- */

START_TEST(test_read_verifies)
{
	struct cradle_err err = { 0 };
	char path[512], *data = NULL;
	size_t len = 99;
	int fd;

	ck_assert_int_eq(content_put(S.c, HELLO, 6, NULL, NULL, &err), 0);

	ck_assert_int_eq(content_read(S.c, HELLO_DIGEST, 6, &data, &len, &err), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq(data, HELLO); /* NUL-terminated */
	free(data);

	/* bigger than max */
	ck_assert_int_eq(content_read(S.c, HELLO_DIGEST, 5, &data, &len, &err), -EFBIG);
	ck_assert_ptr_null(data);
	ck_assert_msg(strstr(err.msg, HELLO_DIGEST) != NULL, "%s", err.msg);

	/* absent */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(content_read(S.c, WORLD_DIGEST, 100, &data, &len, &err), -ENOENT);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, WORLD_DIGEST) != NULL, "%s", err.msg);

	/* invalid */
	ck_assert_int_eq(content_read(S.c, "sha256:1", 100, &data, &len, &err), -EINVAL);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);

	/* corrupted on disk: same size, one byte changed */
	ck_assert_int_eq(content_path(S.c, HELLO_DIGEST, path, sizeof(path)), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "j", 1, 0), 1);
	close(fd);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(content_read(S.c, HELLO_DIGEST, 100, &data, &len, &err), -EIO);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(err.code, CRADLE_INTERNAL);
	ck_assert_msg(strstr(err.msg, "corrupt") != NULL && strstr(err.msg, HELLO_DIGEST) != NULL &&
	                      strstr(err.msg, path) != NULL,
	              "%s", err.msg);

	/* truncated on disk */
	ck_assert_int_eq(truncate(path, 2), 0);
	ck_assert_int_eq(content_read(S.c, HELLO_DIGEST, 100, &data, &len, &err), -EIO);
	ck_assert_int_eq(err.code, CRADLE_INTERNAL);
}
END_TEST

START_TEST(test_put)
{
	struct cradle_err err = { 0 };
	char digest[DIGEST_LEN + 1];

	ck_assert_int_eq(content_put(S.c, HELLO, 6, HELLO_DIGEST, digest, &err), 0);
	ck_assert_str_eq(digest, HELLO_DIGEST);
	ck_assert_int_eq(content_put(S.c, "world\n", 6, NULL, digest, &err), 0);
	ck_assert_str_eq(digest, WORLD_DIGEST);
	ck_assert_int_eq(content_put(S.c, "", 0, NULL, digest, &err), 0);
	ck_assert_str_eq(digest, EMPTY_DIGEST);
	ck_assert_int_eq(unit_count_entries(S.blobs), 3);

	ck_assert_int_eq(content_put(S.c, "other", 5, OTHER_DIGEST, digest, &err), -EINVAL);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, OTHER_DIGEST) != NULL, "%s", err.msg);
	ck_assert_str_eq(digest, "");
	ck_assert_int_eq(unit_count_entries(S.blobs), 3);
	ck_assert_int_eq(unit_count_entries(S.ingest), 0);
}
END_TEST

START_TEST(test_delete)
{
	struct cradle_err err = { 0 };

	ck_assert_int_eq(content_put(S.c, HELLO, 6, NULL, NULL, &err), 0);
	ck_assert(content_has(S.c, HELLO_DIGEST));
	ck_assert_int_eq(content_delete(S.c, HELLO_DIGEST), 0);
	ck_assert(!content_has(S.c, HELLO_DIGEST));
	ck_assert_int_eq(content_delete(S.c, HELLO_DIGEST), 0); /* absent */
	ck_assert_int_eq(content_delete(S.c, "sha256:../x"), -EINVAL);
	ck_assert_int_eq(unit_count_entries(S.blobs), 0);
}
END_TEST

struct walk_acc {
	int n;
	char seen[8][DIGEST_LEN + 1];
	int stop_at;
	struct content *c;
};

static int
walk_fn(const char *digest, void *arg)
{
	struct walk_acc *a = arg;

	if (a->n < 8) {
		snprintf(a->seen[a->n], sizeof(a->seen[0]), "%s", digest);
	}
	a->n++;
	if (a->c != NULL) {
		/* garbage collection: deleting during the walk is fine */
		ck_assert_int_eq(content_delete(a->c, digest), 0);
	}
	return (a->n == a->stop_at ? 42 : 0);
}

START_TEST(test_walk)
{
	struct cradle_err err = { 0 };
	struct walk_acc acc;
	char stray[PATH_MAX + 64];
	int fd;

	memset(&acc, 0, sizeof(acc));
	ck_assert_int_eq(content_walk(S.c, walk_fn, &acc), 0);
	ck_assert_int_eq(acc.n, 0);

	ck_assert_int_eq(content_put(S.c, HELLO, 6, NULL, NULL, &err), 0);
	ck_assert_int_eq(content_put(S.c, "world\n", 6, NULL, NULL, &err), 0);
	ck_assert_int_eq(content_put(S.c, "", 0, NULL, NULL, &err), 0);
	/* a stray file that is no digest is not reported */
	UNIT_FMT(stray, "%s/notadigest", S.blobs);
	fd = open(stray, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);

	memset(&acc, 0, sizeof(acc));
	ck_assert_int_eq(content_walk(S.c, walk_fn, &acc), 0);
	ck_assert_int_eq(acc.n, 3);
	/* in digest order */
	ck_assert_str_eq(acc.seen[0], HELLO_DIGEST);
	ck_assert_str_eq(acc.seen[1], WORLD_DIGEST);
	ck_assert_str_eq(acc.seen[2], EMPTY_DIGEST);

	/* a non-zero return stops the walk and is returned */
	memset(&acc, 0, sizeof(acc));
	acc.stop_at = 2;
	ck_assert_int_eq(content_walk(S.c, walk_fn, &acc), 42);
	ck_assert_int_eq(acc.n, 2);

	/* deleting from the callback */
	memset(&acc, 0, sizeof(acc));
	acc.c = S.c;
	ck_assert_int_eq(content_walk(S.c, walk_fn, &acc), 0);
	ck_assert_int_eq(acc.n, 3);
	ck_assert_int_eq(unit_count_entries(S.blobs), 1); /* the stray */
}
END_TEST

/* --- image records --------------------------------------------------------- */

static char *layers3[] = { HELLO_DIGEST, WORLD_DIGEST, EMPTY_DIGEST };

static void
sample_record(struct image_record *r, const char *ref)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->ref, sizeof(r->ref), "%s", ref);
	snprintf(r->manifest_digest, sizeof(r->manifest_digest), "%s", HELLO_DIGEST);
	snprintf(r->config_digest, sizeof(r->config_digest), "%s", WORLD_DIGEST);
	r->layers = layers3;
	r->n_layers = 3;
	r->size = 123456789012LL;
	r->pinned = true;
	r->created_at = 1700000000123456789LL;
}

static void
assert_record_eq(const struct image_record *a, const struct image_record *b)
{
	size_t i;

	ck_assert_str_eq(a->ref, b->ref);
	ck_assert_str_eq(a->manifest_digest, b->manifest_digest);
	ck_assert_str_eq(a->config_digest, b->config_digest);
	ck_assert_uint_eq(a->n_layers, b->n_layers);
	for (i = 0; i < a->n_layers; i++) {
		ck_assert_str_eq(a->layers[i], b->layers[i]);
	}
	ck_assert_int_eq(a->size, b->size);
	ck_assert_int_eq(a->pinned, b->pinned);
	ck_assert_int_eq(a->created_at, b->created_at);
	ck_assert_uint_eq(a->labels.n, b->labels.n);
	for (i = 0; i < a->labels.n; i++) {
		ck_assert_str_eq(proto_kvs_get(&b->labels, a->labels.v[i].key),
		                 a->labels.v[i].value);
	}
}

START_TEST(test_record_roundtrip)
{
	struct cradle_err err = { 0 };
	struct image_record r, back;
	msgpack_sbuffer sb;

	sample_record(&r, "registry.k8s.io/pause:3.9");
	ck_assert_int_eq(proto_kvs_add(&r.labels, "io.cradle.a", "1"), 0);
	ck_assert_int_eq(proto_kvs_add(&r.labels, "\xc3\xa9t\xc3\xa9", ""), 0);
	msgpack_sbuffer_init(&sb);
	ck_assert_msg(image_record_encode(&r, &sb, &err) == 0, "%s", err.msg);
	ck_assert_msg(image_record_decode(sb.data, sb.size, &back, &err) == 0, "%s", err.msg);
	assert_record_eq(&r, &back);
	image_record_fini(&back);
	image_record_fini(&back); /* idempotent */
	msgpack_sbuffer_destroy(&sb);

	/* no layers, no labels, unpinned, negative created_at */
	proto_kvs_fini(&r.labels);
	r.layers = NULL;
	r.n_layers = 0;
	r.pinned = false;
	r.size = 0;
	r.created_at = -5;
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(image_record_encode(&r, &sb, &err), 0);
	ck_assert_int_eq(image_record_decode(sb.data, sb.size, &back, &err), 0);
	assert_record_eq(&r, &back);
	ck_assert_ptr_null(back.layers);
	image_record_fini(&back);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_record_encode_refuses)
{
	struct cradle_err err = { 0 };
	struct image_record r;
	msgpack_sbuffer sb;
	char *bad_layers[] = { HELLO_DIGEST, "sha256:nope" };
	char *big;

	msgpack_sbuffer_init(&sb);
	sample_record(&r, "");
	ck_assert_int_eq(image_record_encode(&r, &sb, &err), -EINVAL);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	sample_record(&r, "x");
	r.config_digest[3] = 'X';
	ck_assert_int_eq(image_record_encode(&r, &sb, &err), -EINVAL);
	sample_record(&r, "x");
	r.layers = bad_layers;
	r.n_layers = 2;
	ck_assert_int_eq(image_record_encode(&r, &sb, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "layers[1]") != NULL, "%s", err.msg);
	sample_record(&r, "x");
	r.size = -1;
	ck_assert_int_eq(image_record_encode(&r, &sb, &err), -EINVAL);
	sample_record(&r, "x");
	memset(r.ref, 'r', sizeof(r.ref)); /* not terminated */
	ck_assert_int_eq(image_record_encode(&r, &sb, &err), -EINVAL);
	/* a label value longer than the decoder takes */
	sample_record(&r, "x");
	big = malloc(PROTO_MAX_STR + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, 'v', PROTO_MAX_STR + 1);
	big[PROTO_MAX_STR + 1] = '\0';
	ck_assert_int_eq(proto_kvs_add(&r.labels, "k", big), 0);
	free(big);
	ck_assert_int_lt(image_record_encode(&r, &sb, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	proto_kvs_fini(&r.labels);
	ck_assert_uint_eq(sb.size, 0); /* nothing appended */
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Pack a record map by hand, with one field replaced or removed. */
enum garble {
	G_NONE,
	G_NO_REF,
	G_REF_INT,
	G_BAD_DIGEST,
	G_LAYER_INT,
	G_NEG_SIZE,
	G_LABEL_INT,
	G_DUP_KEY,
	G_NUL_REF,
	G_BAD_UTF8,
	G_PINNED_STR,
	G_EXTRA_KEY,
	G_DUP_LABEL
};

static void
pk_s(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

#define PKS(pk, s) pk_s((pk), (s), strlen(s))

static void
pack_garbled(msgpack_sbuffer *sb, enum garble g)
{
	msgpack_packer pk;
	int n = 8 + (g == G_DUP_KEY || g == G_EXTRA_KEY) - (g == G_NO_REF);

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, (size_t)n);
	if (g != G_NO_REF) {
		PKS(&pk, "ref");
		if (g == G_REF_INT) {
			msgpack_pack_int(&pk, 5);
		} else if (g == G_NUL_REF) {
			pk_s(&pk, "a\0b", 3);
		} else if (g == G_BAD_UTF8) {
			PKS(&pk, "a\xff");
		} else {
			PKS(&pk, "ref");
		}
	}
	PKS(&pk, "manifest_digest");
	PKS(&pk, g == G_BAD_DIGEST ? "sha256:abc" : HELLO_DIGEST);
	PKS(&pk, "config_digest");
	PKS(&pk, WORLD_DIGEST);
	PKS(&pk, "layers");
	msgpack_pack_array(&pk, 2);
	PKS(&pk, HELLO_DIGEST);
	if (g == G_LAYER_INT) {
		msgpack_pack_int(&pk, 1);
	} else {
		PKS(&pk, WORLD_DIGEST);
	}
	PKS(&pk, "size");
	msgpack_pack_int64(&pk, g == G_NEG_SIZE ? -1 : 10);
	PKS(&pk, "labels");
	msgpack_pack_map(&pk, g == G_DUP_LABEL ? 2 : 1);
	PKS(&pk, "k");
	if (g == G_LABEL_INT) {
		msgpack_pack_int(&pk, 1);
	} else {
		PKS(&pk, "v");
	}
	if (g == G_DUP_LABEL) {
		PKS(&pk, "k");
		PKS(&pk, "w");
	}
	PKS(&pk, "pinned");
	if (g == G_PINNED_STR) {
		PKS(&pk, "true");
	} else {
		msgpack_pack_true(&pk);
	}
	PKS(&pk, "created_at");
	msgpack_pack_int64(&pk, 7);
	if (g == G_DUP_KEY) {
		PKS(&pk, "size");
		msgpack_pack_int64(&pk, 11);
	}
	if (g == G_EXTRA_KEY) {
		PKS(&pk, "from_the_future");
		msgpack_pack_array(&pk, 0);
	}
}

START_TEST(test_record_decode_refuses)
{
	static const struct {
		enum garble g;
		const char *want; /* in the message */
	} cases[] = {
		{ G_NO_REF, "ref" },
		{ G_REF_INT, "ref" },
		{ G_BAD_DIGEST, "manifest_digest" },
		{ G_LAYER_INT, "layers[1]" },
		{ G_NEG_SIZE, "size" },
		{ G_LABEL_INT, "labels" },
		{ G_DUP_KEY, "duplicate" },
		{ G_NUL_REF, "ref" },
		{ G_BAD_UTF8, "ref" },
		{ G_PINNED_STR, "pinned" },
		{ G_DUP_LABEL, "duplicate" },
	};
	struct cradle_err err = { 0 };
	struct image_record r;
	msgpack_sbuffer sb;
	unsigned char junk[256];
	size_t i;

	/* the hand-packed record itself, and with an unknown key, decode */
	for (i = 0; i < 2; i++) {
		msgpack_sbuffer_init(&sb);
		pack_garbled(&sb, i == 0 ? G_NONE : G_EXTRA_KEY);
		ck_assert_msg(image_record_decode(sb.data, sb.size, &r, &err) == 0, "%s", err.msg);
		ck_assert_str_eq(r.ref, "ref");
		ck_assert_uint_eq(r.n_layers, 2);
		ck_assert_str_eq(proto_kvs_get(&r.labels, "k"), "v");
		ck_assert(r.pinned);
		ck_assert_int_eq(r.created_at, 7);
		image_record_fini(&r);
		msgpack_sbuffer_destroy(&sb);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		msgpack_sbuffer_init(&sb);
		pack_garbled(&sb, cases[i].g);
		ck_assert_int_eq(image_record_decode(sb.data, sb.size, &r, &err), -EINVAL);
		ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
		ck_assert_msg(strstr(err.msg, cases[i].want) != NULL, "case %zu: %s", i, err.msg);
		/* owns nothing */
		ck_assert_ptr_null(r.layers);
		ck_assert_ptr_null(r.labels.v);
		msgpack_sbuffer_destroy(&sb);
	}

	/* not msgpack at all, not a map, trailing bytes, empty, truncated */
	for (i = 0; i < sizeof(junk); i++) {
		junk[i] = (unsigned char)(i * 7 + 3);
	}
	ck_assert_int_lt(image_record_decode(junk, sizeof(junk), &r, &err), 0);
	ck_assert_int_lt(image_record_decode("\x93\x01\x02\x03", 4, &r, &err), 0);
	ck_assert_int_lt(image_record_decode("", 0, &r, &err), 0);
	ck_assert_int_lt(image_record_decode(NULL, 0, &r, &err), 0);
	msgpack_sbuffer_init(&sb);
	pack_garbled(&sb, G_NONE);
	msgpack_sbuffer_write(&sb, "\xc0", 1);
	ck_assert_int_lt(image_record_decode(sb.data, sb.size, &r, &err), 0);
	for (i = 1; i < sb.size - 1; i += 7) {
		ck_assert_int_lt(image_record_decode(sb.data, i, &r, &err), 0);
	}
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

struct rec_acc {
	int n;
	char refs[4][512];
	struct store *st;
};

static int
rec_fn(struct image_record *r, void *arg)
{
	struct rec_acc *a = arg;
	struct cradle_err err = { 0 };

	if (a->n < 4) {
		snprintf(a->refs[a->n], sizeof(a->refs[0]), "%s", r->ref);
	}
	a->n++;
	ck_assert_uint_eq(r->n_layers, 3);
	if (a->st != NULL) {
		ck_assert_int_eq(image_record_del(a->st, r->ref, &err), 0);
	}
	return (0);
}

START_TEST(test_record_store)
{
	struct cradle_err err = { 0 };
	struct image_record r, back;
	struct rec_acc acc;
	struct store *st;

	ck_assert_int_eq(store_open(S.root, &st, &err), 0);

	memset(&back, 0x5a, sizeof(back));
	ck_assert_int_eq(image_record_get(st, "docker.io/library/busybox:1", &back, &err), -ENOENT);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, "busybox") != NULL, "%s", err.msg);
	ck_assert_ptr_null(back.layers);

	sample_record(&r, "docker.io/library/busybox:1");
	ck_assert_int_eq(proto_kvs_add(&r.labels, "a", "b"), 0);
	ck_assert_int_eq(image_record_put(st, &r, &err), 0);
	proto_kvs_fini(&r.labels);
	sample_record(&r, "a.example/x@" HELLO_DIGEST);
	r.pinned = false;
	ck_assert_int_eq(image_record_put(st, &r, &err), 0);

	store_close(st);
	ck_assert_int_eq(store_open(S.root, &st, &err), 0);

	ck_assert_msg(image_record_get(st, "a.example/x@" HELLO_DIGEST, &back, &err) == 0, "%s",
	              err.msg);
	assert_record_eq(&r, &back);
	image_record_fini(&back);
	ck_assert_int_eq(image_record_get(st, "docker.io/library/busybox:1", &back, &err), 0);
	ck_assert(back.pinned);
	ck_assert_str_eq(proto_kvs_get(&back.labels, "a"), "b");
	image_record_fini(&back);

	/* a value that is not a record: INTERNAL on get, skipped in walks */
	ck_assert_int_eq(store_put(st, IMAGE_DB, "broken", "\x01\x02", 2, &err), 0);
	ck_assert_int_eq(image_record_get(st, "broken", &back, &err), -EIO);
	ck_assert_int_eq(err.code, CRADLE_INTERNAL);
	ck_assert_msg(strstr(err.msg, "broken") != NULL, "%s", err.msg);
	/* a record stored under another ref's key */
	{
		msgpack_sbuffer sb;

		msgpack_sbuffer_init(&sb);
		ck_assert_int_eq(image_record_encode(&r, &sb, &err), 0);
		ck_assert_int_eq(store_put(st, IMAGE_DB, "moved", sb.data, sb.size, &err), 0);
		msgpack_sbuffer_destroy(&sb);
	}
	ck_assert_int_eq(image_record_get(st, "moved", &back, &err), -EIO);
	ck_assert_int_eq(err.code, CRADLE_INTERNAL);

	memset(&acc, 0, sizeof(acc));
	ck_assert_int_eq(image_record_foreach(st, rec_fn, &acc, &err), 0);
	ck_assert_int_eq(acc.n, 2);
	ck_assert_str_eq(acc.refs[0], "a.example/x@" HELLO_DIGEST);
	ck_assert_str_eq(acc.refs[1], "docker.io/library/busybox:1");

	/* deleting from the callback, then again (absent is fine) */
	memset(&acc, 0, sizeof(acc));
	acc.st = st;
	ck_assert_int_eq(image_record_foreach(st, rec_fn, &acc, &err), 0);
	ck_assert_int_eq(acc.n, 2);
	ck_assert_int_eq(image_record_del(st, "docker.io/library/busybox:1", &err), 0);
	ck_assert_int_eq(image_record_get(st, "docker.io/library/busybox:1", &back, &err), -ENOENT);
	memset(&acc, 0, sizeof(acc));
	ck_assert_int_eq(image_record_foreach(st, rec_fn, &acc, &err), 0);
	ck_assert_int_eq(acc.n, 0);

	store_close(st);
}
END_TEST

static Suite *
content_suite(void)
{
	Suite *s = suite_create("content");

	unit_tcase(s, "content", content_setup, content_teardown, 60,
	           UNIT_TESTS(test_digest_valid, test_write_commit, test_digest_mismatch,
	                      test_size_mismatch, test_abort, test_stale_ingest,
	                      test_concurrent_writers, test_read_verifies, test_put, test_delete,
	                      test_walk));

	unit_tcase(s, "record", setup, unit_scratch_teardown, 60,
	           UNIT_TESTS(test_record_roundtrip, test_record_encode_refuses,
	                      test_record_decode_refuses, test_record_store));

	return (s);
}

int
main(void)
{
	return (unit_run(content_suite(), "test_content", 0));
}
