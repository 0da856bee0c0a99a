/* test_store.c - the LMDB environment of named databases (util/store.c).
 *
 * What util/store.h promises, one promise a test: opening makes the
 * directories (0700), a file in the way is an error naming it; put, get
 * (a copy, NUL-terminated past its length) and delete, absent keys; data
 * kept across a reopen and after the writer's process dies without
 * closing; keys of 1..511 bytes (512 is -ENAMETOOLONG, empty -EINVAL);
 * database names of 1..64 of [a-z0-9_.-], up to 32 databases; walks in
 * bytewise key order, whose callback may read, put and delete and whose
 * negative return stops the walk and is returned; several threads opening
 * databases and writing, the same keys too, while others walk.
 *
 * Every test works in its own scratch directory (tests/unit/lib) and
 * starts with the store open at st, in "<dir>/state/root" (two levels
 * store_open had to make); teardown closes whatever st is then.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/store.h"
#include "tests/unit/lib/unit.h"

static char root[PATH_MAX]; /* the store's directory, in the test's own */
static struct store *st;    /* open there, or NULL */

static struct store *
open_ok(void)
{
	struct cradle_err err = { 0 };
	struct store *opened = NULL;
	int rc = store_open(root, &opened, &err);

	ck_assert_msg(rc == 0, "store_open %s: %d %s", root, rc, err.msg);
	ck_assert_ptr_nonnull(opened);
	return opened;
}

static void
setup(void)
{
	unit_scratch_setup();
	unit_path(root, sizeof(root), "state/root");
	st = open_ok();
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	unit_scratch_teardown();
}

static void
put_ok(const char *db, const char *key, const void *data, size_t len)
{
	struct cradle_err err = { 0 };
	int rc = store_put(st, db, key, data, len, &err);

	ck_assert_msg(rc == 0, "put %s/%s: %d %s", db, key, rc, err.msg);
}

/* db/key holds exactly len bytes of want, with a NUL after them. */
static void
assert_value(const char *db, const char *key, const void *want, size_t len)
{
	struct cradle_err err = { 0 };
	void *data = NULL;
	size_t got = 0;
	int rc = store_get(st, db, key, &data, &got, &err);

	ck_assert_msg(rc == 0, "get %s/%s: %d %s", db, key, rc, err.msg);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(got, len);
	ck_assert_int_eq(memcmp(data, want, len), 0);
	ck_assert_int_eq(((char *)data)[len], '\0');
	free(data);
}

static void
assert_absent(const char *db, const char *key)
{
	struct cradle_err err = { 0 };
	void *data = (void *)1;
	size_t len = 1;

	ck_assert_int_eq(store_get(st, db, key, &data, &len, &err), -ENOENT);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(len, 0);
}

/* What a walk saw, in order. */
#define SEEN_MAX 64

struct seen {
	int n;
	char keys[SEEN_MAX][520];
	size_t lens[SEEN_MAX];
	struct store *st; /* when set, the callback writes (see walk_write) */
	int stop_at;      /* when > 0, return -ECANCELED from that call */
	int rc;           /* what the other calls return */
};

static int
walk_note(const char *key, const void *data, size_t len, void *arg)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, SEEN_MAX);
	ck_assert_int_eq(((const char *)data)[len], '\0');
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
	s->lens[s->n] = len;
	s->n++;
	return s->stop_at > 0 && s->n == s->stop_at ? -ECANCELED : s->rc;
}

static struct seen *
walk_ok(const char *db)
{
	struct cradle_err err = { 0 };
	struct seen *s = calloc(1, sizeof(*s));
	int rc;

	ck_assert_ptr_nonnull(s);
	rc = store_foreach(st, db, walk_note, s, &err);
	ck_assert_msg(rc == 0, "walk %s: %d %s", db, rc, err.msg);
	return s;
}

/* A walk of db sees n records. */
static void
assert_walk(const char *db, int n)
{
	struct seen *s = walk_ok(db);

	ck_assert_int_eq(s->n, n);
	free(s);
}

/* --- opening ------------------------------------------------------------- */

START_TEST(test_open_creates_dirs)
{
	struct stat sb;
	char path[PATH_MAX + 32];

	ck_assert_int_eq(stat(root, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_uint_eq(sb.st_mode & 07777, 0700);
	UNIT_FMT(path, "%s/cradle.mdb", root);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_uint_eq(sb.st_mode & 07777, 0700);
	UNIT_FMT(path, "%s/cradle.mdb/data.mdb", root);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0077, 0);
	store_close(st);
	store_close(NULL);
	/* opening an existing store is fine */
	st = open_ok();
}
END_TEST

START_TEST(test_open_error)
{
	struct cradle_err err = { 0 };
	struct store *bad = (struct store *)&err;
	char file[PATH_MAX], dir[PATH_MAX + 8];

	unit_path(file, sizeof(file), "plain-file");
	unit_put_str(file, "");
	UNIT_FMT(dir, "%s/below", file);
	ck_assert_int_lt(store_open(dir, &bad, &err), 0);
	ck_assert_ptr_null(bad);
	ck_assert_int_ne(err.code, CRADLE_OK);
	ck_assert_msg(strstr(err.msg, file) != NULL, "message names the path: %s", err.msg);
	ck_assert_msg(strstr(err.msg, "Not a directory") != NULL, "cause: %s", err.msg);
}
END_TEST

/* --- put, get, delete, walk ---------------------------------------------- */

struct raw_acc {
	int n;
	char keys[8][64];
	char vals[8][64];
	struct store *st;
};

static int
raw_fn(const char *key, const void *data, size_t len, void *arg)
{
	struct raw_acc *a = arg;
	struct cradle_err err = { 0 };

	if (a->n < 8) {
		snprintf(a->keys[a->n], sizeof(a->keys[0]), "%s", key);
		snprintf(a->vals[a->n], sizeof(a->vals[0]), "%.*s", (int)len, (const char *)data);
	}
	a->n++;
	if (a->st != NULL) {
		/* writes from the callback: the read txn has ended */
		ck_assert_int_eq(store_del(a->st, "images", key, &err), 0);
	}
	return 0;
}

static int
count_fn(const char *key, const void *data, size_t len, void *arg)
{
	(void)key;
	(void)data;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

/* counts the call, then stops the walk */
static int
raw_stop(const char *key, const void *data, size_t len, void *arg)
{
	count_fn(key, data, len, arg);
	return -7;
}

START_TEST(test_store_raw)
{
	struct cradle_err err = { 0 };
	struct raw_acc acc;
	char key[600];
	void *data;
	size_t len;
	int calls = 0;

	/* absent, in a database not yet created */
	data = (void *)1;
	ck_assert_int_eq(store_get(st, "images", "a", &data, &len, &err), -ENOENT);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_ptr_null(data);
	ck_assert_msg(strstr(err.msg, "\"a\"") != NULL, "%s", err.msg);

	ck_assert_int_eq(store_put(st, "images", "b", "two", 3, &err), 0);
	ck_assert_int_eq(store_put(st, "images", "a", "one", 3, &err), 0);
	ck_assert_int_eq(store_put(st, "images", "c", "", 0, &err), 0);
	ck_assert_int_eq(store_put(st, "other", "a", "elsewhere", 9, &err), 0);
	/* overwrite */
	ck_assert_int_eq(store_put(st, "images", "b", "TWO!", 4, &err), 0);

	ck_assert_int_eq(store_get(st, "images", "b", &data, &len, &err), 0);
	ck_assert_uint_eq(len, 4);
	ck_assert_int_eq(memcmp(data, "TWO!", 4), 0);
	free(data);
	ck_assert_int_eq(store_get(st, "images", "c", &data, &len, &err), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_nonnull(data);
	free(data);
	ck_assert_int_eq(store_get(st, "other", "a", &data, &len, &err), 0);
	ck_assert_str_eq(data, "elsewhere");
	free(data);

	/* keys: 511 bytes fine, 512 refused, empty refused */
	memset(key, 'k', sizeof(key));
	key[511] = '\0';
	ck_assert_int_eq(store_put(st, "images", key, "x", 1, &err), 0);
	ck_assert_int_eq(store_del(st, "images", key, &err), 0);
	key[511] = 'k';
	key[512] = '\0';
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(store_put(st, "images", key, "x", 1, &err), -ENAMETOOLONG);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_int_lt(store_get(st, "images", key, &data, &len, &err), 0);
	ck_assert_int_lt(store_del(st, "images", key, &err), 0);
	ck_assert_int_eq(store_put(st, "images", "", "x", 1, &err), -EINVAL);
	/* database names */
	ck_assert_int_eq(
		store_put(st, "a2345678901234567890123456789012345678901234567890123456789012345",
	                  "a", "x", 1, &err),
		-EINVAL);
	ck_assert_int_eq(store_put(st, "Bad Name", "a", "x", 1, &err), -EINVAL);
	ck_assert_int_eq(store_put(st, "", "a", "x", 1, &err), -EINVAL);

	/* walk: key order; a negative return stops and is returned */
	memset(&acc, 0, sizeof(acc));
	ck_assert_int_eq(store_foreach(st, "images", raw_fn, &acc, &err), 0);
	ck_assert_int_eq(acc.n, 3);
	ck_assert_str_eq(acc.keys[0], "a");
	ck_assert_str_eq(acc.vals[0], "one");
	ck_assert_str_eq(acc.keys[1], "b");
	ck_assert_str_eq(acc.vals[1], "TWO!");
	ck_assert_str_eq(acc.keys[2], "c");
	ck_assert_str_eq(acc.vals[2], "");
	ck_assert_int_eq(store_foreach(st, "images", raw_stop, &calls, &err), -7);
	ck_assert_int_eq(calls, 1);

	/* delete, twice */
	ck_assert_int_eq(store_del(st, "images", "a", &err), 0);
	ck_assert_int_eq(store_del(st, "images", "a", &err), 0);
	ck_assert_int_eq(store_get(st, "images", "a", &data, &len, &err), -ENOENT);
	ck_assert_int_eq(store_del(st, "never-used", "a", &err), 0);

	/* reopen keeps the data */
	store_close(st);
	ck_assert_int_eq(store_open(root, &st, &err), 0);
	ck_assert_int_eq(store_get(st, "images", "b", &data, &len, &err), 0);
	ck_assert_uint_eq(len, 4);
	ck_assert_int_eq(memcmp(data, "TWO!", 4), 0);
	free(data);
	ck_assert_int_eq(store_get(st, "other", "a", &data, &len, &err), 0);
	ck_assert_str_eq(data, "elsewhere");
	free(data);

	/* deleting every record from the walk's callback */
	memset(&acc, 0, sizeof(acc));
	acc.st = st;
	ck_assert_int_eq(store_foreach(st, "images", raw_fn, &acc, &err), 0);
	ck_assert_int_eq(acc.n, 2);
	memset(&acc, 0, sizeof(acc));
	ck_assert_int_eq(store_foreach(st, "images", raw_fn, &acc, &err), 0);
	ck_assert_int_eq(acc.n, 0);
}
END_TEST

/* Values are bytes: NULs inside, nothing at all, a large one; get hands
 * out a copy of its own. */
START_TEST(test_values)
{
	static const char bin[] = { 'a', '\0', 'b', '\0', '\xff' };
	struct cradle_err err = { 0 };
	size_t big = (size_t)1 << 20;
	char *large = malloc(big);
	void *a, *b;
	size_t la, lb;

	ck_assert_ptr_nonnull(large);
	for (size_t i = 0; i < big; i++)
		large[i] = (char)(i * 7 + (i >> 12));
	put_ok("v", "bin", bin, sizeof(bin));
	put_ok("v", "empty", NULL, 0);
	put_ok("v", "large", large, big);
	assert_value("v", "bin", bin, sizeof(bin));
	assert_value("v", "empty", "", 0);
	assert_value("v", "large", large, big);
	/* no data but a length: refused, the old value kept */
	ck_assert_int_eq(store_put(st, "v", "bin", NULL, 3, &err), -EINVAL);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "\"bin\"") != NULL, "%s", err.msg);
	assert_value("v", "bin", bin, sizeof(bin));
	/* two gets, two copies; changing one changes neither the other nor
	 * the record */
	ck_assert_int_eq(store_get(st, "v", "bin", &a, &la, &err), 0);
	ck_assert_int_eq(store_get(st, "v", "bin", &b, &lb, &err), 0);
	ck_assert_ptr_ne(a, b);
	memset(a, 'x', la);
	ck_assert_int_eq(memcmp(b, bin, lb), 0);
	free(a);
	free(b);
	assert_value("v", "bin", bin, sizeof(bin));
	/* the same key in another database is another record */
	assert_absent("w", "bin");
	free(large);
}
END_TEST

/* What was written, deleted and overwritten before a close is what the
 * store holds when opened again. */
START_TEST(test_reopen_keeps_data)
{
	static const char bin[] = { 0, 1, 2, 0, 255 };
	struct cradle_err err = { 0 };
	struct seen *s;

	put_ok("sandboxes", "k1", "one", 3);
	put_ok("sandboxes", "k2", "two", 3);
	put_ok("sandboxes", "k3", "three", 5);
	put_ok("images", "k1", bin, sizeof(bin));
	put_ok("sandboxes", "k2", "TWO", 3);
	ck_assert_int_eq(store_del(st, "sandboxes", "k3", &err), 0);
	store_close(st);

	st = open_ok();
	assert_value("sandboxes", "k1", "one", 3);
	assert_value("sandboxes", "k2", "TWO", 3);
	assert_absent("sandboxes", "k3");
	assert_value("images", "k1", bin, sizeof(bin));
	s = walk_ok("sandboxes");
	ck_assert_int_eq(s->n, 2);
	ck_assert_str_eq(s->keys[0], "k1");
	ck_assert_str_eq(s->keys[1], "k2");
	free(s);
	/* and once more, after writes in the second life */
	put_ok("sandboxes", "k4", "four", 4);
	store_close(st);
	st = open_ok();
	assert_value("sandboxes", "k4", "four", 4);
	assert_value("sandboxes", "k1", "one", 3);
}
END_TEST

/* Every put and delete is committed before it returns: a process that
 * dies right after, without closing, loses none of them. */
START_TEST(test_committed_before_return)
{
	pid_t pid;
	int status;

	/* the child opens the store of its own: not open here meanwhile */
	store_close(st);
	st = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct cradle_err err = { 0 };
		struct store *c = NULL;

		if (store_open(root, &c, &err) != 0 ||
		    store_put(c, "d", "kept", "yes", 3, &err) != 0 ||
		    store_put(c, "d", "gone", "no", 2, &err) != 0 ||
		    store_del(c, "d", "gone", &err) != 0)
			_exit(1);
		_exit(0); /* no store_close, no atexit */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	st = open_ok();
	assert_value("d", "kept", "yes", 3);
	assert_absent("d", "gone");
}
END_TEST

/* The same with writers in parallel, whose writes share commits (group
 * commit): each is on disk when its own call returns. */
#define GC_THREADS 8
#define GC_PUTS 25

static void *
gc_writer(void *p)
{
	struct store *c = ((void **)p)[0];
	int idx = (int)(intptr_t)((void **)p)[1];
	struct cradle_err err = { 0 };
	char key[32];

	for (int i = 0; i < GC_PUTS; i++) {
		snprintf(key, sizeof(key), "t%d-%d", idx, i);
		if (store_put(c, "d", key, key, strlen(key), &err) != 0)
			return (void *)1;
	}
	return NULL;
}

START_TEST(test_group_commit_durable)
{
	struct cradle_err err = { 0 };
	pid_t pid;
	int status, n = 0;

	store_close(st);
	st = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct store *c = NULL;
		pthread_t th[GC_THREADS];
		void *args[GC_THREADS][2];
		void *ret;
		int bad = 0;

		if (store_open(root, &c, &err) != 0)
			_exit(1);
		for (int i = 0; i < GC_THREADS; i++) {
			args[i][0] = c;
			args[i][1] = (void *)(intptr_t)i;
			if (pthread_create(&th[i], NULL, gc_writer, args[i]) != 0)
				_exit(2);
		}
		for (int i = 0; i < GC_THREADS; i++)
			if (pthread_join(th[i], &ret) != 0 || ret != NULL)
				bad = 1;
		_exit(bad ? 3 : 0); /* no store_close */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	st = open_ok();
	ck_assert_int_eq(store_foreach(st, "d", count_fn, &n, &err), 0);
	ck_assert_int_eq(n, GC_THREADS * GC_PUTS);
	assert_value("d", "t7-24", "t7-24", 5);
}
END_TEST

/* Resident kB of this process's mapping of the store's data.mdb. */
static long
data_rss_kb(void)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	bool in = false;
	long kb = 0, v;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) /* a mapping's first line */
			in = strstr(line, "/data.mdb") != NULL;
		else if (in && sscanf(line, "Rss: %ld kB", &v) == 1)
			kb += v;
	}
	fclose(f);
	return kb;
}

/* store_trim gives back the pages of the map this process touched, and
 * every record reads back the same afterwards. */
START_TEST(test_trim)
{
	struct cradle_err err = { 0 };
	char key[32], val[1024];
	int n = 0;

	memset(val, 'v', sizeof(val));
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%05d", i);
		ck_assert_int_eq(store_put(st, "d", key, val, sizeof(val), &err), 0);
	}
	ck_assert_int_eq(store_foreach(st, "d", count_fn, &n, &err), 0); /* touches them all */
	ck_assert_int_eq(n, 2000);
	long before = data_rss_kb();
	ck_assert_int_gt(before, 1000);
	store_trim(st);
	long after = data_rss_kb();
	ck_assert_msg(after < before / 4, "data.mdb resident %ld kB before, %ld kB after", before,
	              after);
	assert_value("d", "k01999", val, sizeof(val));
	n = 0;
	ck_assert_int_eq(store_foreach(st, "d", count_fn, &n, &err), 0);
	ck_assert_int_eq(n, 2000);
	store_trim(NULL); /* NULL-safe */
}
END_TEST

/* Writes alone do not pile the map's pages up in the RSS either: the
 * writer trims every few hundred commits.  The keys go in scattered, so
 * that each commit reads a leaf page of its own. */
START_TEST(test_trim_by_writes)
{
	struct cradle_err err = { 0 };
	char key[32], val[1024];
	long peak = 0;
	int n = 0;

	memset(val, 'w', sizeof(val));
	for (int i = 0; i < 4000; i++) {
		snprintf(key, sizeof(key), "k%05d", (i * 2654435761u) % 100000);
		ck_assert_int_eq(store_put(st, "d", key, val, sizeof(val), &err), 0);
		long kb = data_rss_kb();
		if (kb > peak)
			peak = kb;
	}
	/* 4,000 records of 1 KiB are over 4 MiB of leaves; without the trim
	 * every one of them stays resident */
	ck_assert_msg(peak < 2048, "data.mdb resident up to %ld kB while writing", peak);
	ck_assert_int_eq(store_foreach(st, "d", count_fn, &n, &err), 0);
	ck_assert_int_eq(n, 4000);
}
END_TEST

/* --- keys and database names --------------------------------------------- */

START_TEST(test_key_limits)
{
	struct cradle_err err = { 0 };
	char key[600];
	void *data = (void *)1;
	size_t len = 1;
	struct seen *s;

	/* 511 bytes: stored, read, walked and deleted under exactly that key */
	memset(key, 'k', sizeof(key));
	key[0] = 'a';
	key[511] = '\0';
	put_ok("keys", key, "max", 3);
	assert_value("keys", key, "max", 3);
	s = walk_ok("keys");
	ck_assert_int_eq(s->n, 1);
	ck_assert_uint_eq(strlen(s->keys[0]), 511);
	ck_assert_str_eq(s->keys[0], key);
	free(s);
	/* a key is its bytes up to the NUL: 510 of them is another key */
	key[510] = '\0';
	assert_absent("keys", key);
	key[510] = 'k';

	/* 512: -ENAMETOOLONG from put, get and delete, nothing changed */
	key[511] = 'k';
	key[512] = '\0';
	ck_assert_int_eq(store_put(st, "keys", key, "x", 1, &err), -ENAMETOOLONG);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "longer than 511 bytes") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "\"keys\"") != NULL, "names the database: %s", err.msg);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(store_get(st, "keys", key, &data, &len, &err), -ENAMETOOLONG);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(len, 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(store_del(st, "keys", key, &err), -ENAMETOOLONG);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	key[511] = '\0';
	assert_value("keys", key, "max", 3);

	/* empty and NULL: -EINVAL */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(store_put(st, "keys", "", "x", 1, &err), -EINVAL);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "empty") != NULL, "%s", err.msg);
	ck_assert_int_eq(store_get(st, "keys", "", &data, &len, &err), -EINVAL);
	ck_assert_int_eq(store_del(st, "keys", "", &err), -EINVAL);
	ck_assert_int_eq(store_put(st, "keys", NULL, "x", 1, &err), -EINVAL);
	ck_assert_int_eq(store_get(st, "keys", NULL, &data, &len, &err), -EINVAL);
	ck_assert_int_eq(store_del(st, "keys", NULL, &err), -EINVAL);

	/* one byte, and any byte but NUL */
	put_ok("keys", "x", "1", 1);
	put_ok("keys", "/../\xff\x01 \t", "2", 1);
	assert_value("keys", "x", "1", 1);
	assert_value("keys", "/../\xff\x01 \t", "2", 1);
	assert_walk("keys", 3);
}
END_TEST

START_TEST(test_db_names)
{
	static const char *const good[] = {
		"a",
		"0",
		"sandboxes",
		"a-b_c.d",
		"..",
		"-",
		"z9.9_-",
		"a234567890123456789012345678901234567890123456789012345678901234", /* 64 */
	};
	static const char *const bad[] = {
		"",
		"Sandboxes",
		"bad name",
		"a/b",
		"tab\t",
		"caf\xc3\xa9",
		"a:b",
		"a2345678901234567890123456789012345678901234567890123456789012345", /* 65 */
	};
	struct cradle_err err;
	void *data;
	size_t len;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		put_ok(good[i], "key", good[i], strlen(good[i]));
		assert_value(good[i], "key", good[i], strlen(good[i]));
	}
	/* each its own database: one record each */
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_walk(good[i], 1);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		ck_assert_msg(store_put(st, bad[i], "key", "x", 1, &err) == -EINVAL,
		              "\"%s\" accepted", bad[i]);
		ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
		ck_assert_msg(strncmp(err.msg, "invalid database name", 21) == 0, "%s", err.msg);
		ck_assert_int_eq(store_get(st, bad[i], "key", &data, &len, &err), -EINVAL);
		ck_assert_int_eq(store_del(st, bad[i], "key", &err), -EINVAL);
		ck_assert_int_eq(store_foreach(st, bad[i], walk_note, NULL, &err), -EINVAL);
	}
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(store_put(st, "bad name", "key", "x", 1, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "invalid database name \"bad name\": only a-z, 0-9, '_', '-' and "
	                          "'.' are allowed");
	ck_assert_int_eq(store_put(st, "", "key", "x", 1, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "invalid database name \"\": must be 1 to 64 characters");
	ck_assert_int_eq(store_put(st, NULL, "key", "x", 1, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "invalid database name: NULL");
}
END_TEST

/* Up to 32 databases: the 33rd is refused, the others go on working. */
START_TEST(test_db_count)
{
	struct cradle_err err = { 0 };
	char db[16];

	for (int i = 0; i < 32; i++) {
		UNIT_FMT(db, "db%d", i);
		put_ok(db, "k", db, strlen(db));
	}
	ck_assert_int_eq(store_put(st, "one-too-many", "k", "x", 1, &err), -ENOSPC);
	ck_assert_int_eq(err.code, CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(err.msg, "\"one-too-many\"") != NULL, "%s", err.msg);
	for (int i = 0; i < 32; i++) {
		UNIT_FMT(db, "db%d", i);
		assert_value(db, "k", db, strlen(db));
	}
}
END_TEST

/* --- walks ---------------------------------------------------------------- */

START_TEST(test_foreach_order)
{
	/* bytewise: upper case before lower, a prefix before its longer keys,
	 * bytes above 0x7f last */
	static const char *const put[] = { "b", "caf\xc3\xa9", "ab", "B", "a", "aa", "a b", "1" };
	static const char *const want[] = { "1", "B", "a", "a b", "aa", "ab", "b", "caf\xc3\xa9" };
	struct seen *s;

	/* a database never written: no calls */
	assert_walk("empty", 0);
	for (size_t i = 0; i < sizeof(put) / sizeof(put[0]); i++)
		put_ok("order", put[i], "01234567", i);
	s = walk_ok("order");
	ck_assert_int_eq(s->n, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < s->n; i++)
		ck_assert_str_eq(s->keys[i], want[i]);
	ck_assert_uint_eq(s->lens[0], 7); /* "1", the eighth put */
	free(s);
}
END_TEST

/* "d" holds a=1, b=2, c=3; a zeroed walk record to go with it. */
static struct seen *
three_records(void)
{
	struct seen *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	put_ok("d", "a", "1", 1);
	put_ok("d", "b", "2", 1);
	put_ok("d", "c", "3", 1);
	return s;
}

/* A negative return stops the walk at once and is what store_foreach
 * returns; zero and positive returns go on. */
START_TEST(test_foreach_stop)
{
	struct cradle_err err = { 0 };
	struct seen *s = three_records();

	s->stop_at = 2;
	ck_assert_int_eq(store_foreach(st, "d", walk_note, s, &err), -ECANCELED);
	ck_assert_int_eq(s->n, 2);
	ck_assert_str_eq(s->keys[1], "b");
	memset(s, 0, sizeof(*s));
	s->stop_at = 1;
	ck_assert_int_eq(store_foreach(st, "d", walk_note, s, &err), -ECANCELED);
	ck_assert_int_eq(s->n, 1);
	memset(s, 0, sizeof(*s));
	s->rc = 5;
	ck_assert_int_eq(store_foreach(st, "d", walk_note, s, &err), 0);
	ck_assert_int_eq(s->n, 3);
	free(s);
	/* the store is as it was */
	assert_value("d", "c", "3", 1);
}
END_TEST

/* The callback reads, puts and deletes: it sees the records as they were
 * when the walk began, and its writes are all there afterwards. */
static int
walk_write(const char *key, const void *data, size_t len, void *arg)
{
	struct seen *s = arg;
	struct cradle_err err = { 0 };
	char next[16];
	void *got;
	size_t glen;

	walk_note(key, data, len, arg);
	/* a read transaction of its own, while the walk's copies live */
	ck_assert_int_eq(store_get(s->st, "d", key, &got, &glen, &err),
	                 key[0] == 'b' ? -ENOENT : 0);
	free(got);
	if (strcmp(key, "a") == 0) {
		/* delete the next record, add one after the last */
		ck_assert_int_eq(store_del(s->st, "d", "b", &err), 0);
		ck_assert_int_eq(store_put(s->st, "d", "z", "new", 3, &err), 0);
	}
	/* rewrite the record being visited, and note it elsewhere */
	UNIT_FMT(next, "%.*s+", (int)len, (const char *)data);
	ck_assert_int_eq(store_put(s->st, "d", key, next, strlen(next), &err), 0);
	ck_assert_int_eq(store_put(s->st, "log", key, "", 0, &err), 0);
	return 0;
}

START_TEST(test_foreach_writes)
{
	struct cradle_err err = { 0 };
	struct seen *s = three_records();

	s->st = st;
	ck_assert_int_eq(store_foreach(st, "d", walk_write, s, &err), 0);
	/* the snapshot: b although deleted by then, not z */
	ck_assert_int_eq(s->n, 3);
	ck_assert_str_eq(s->keys[0], "a");
	ck_assert_str_eq(s->keys[1], "b");
	ck_assert_str_eq(s->keys[2], "c");
	free(s);
	assert_value("d", "a", "1+", 2);
	assert_value("d", "b", "2+", 2); /* put back by its own visit */
	assert_value("d", "c", "3+", 2);
	assert_value("d", "z", "new", 3);
	assert_walk("log", 3);
}
END_TEST

/* --- threads ------------------------------------------------------------- */

#define N_RAW_THREADS 4

struct raw_thread_arg {
	struct store *st;
	int idx;
	int rc;
};

/* Several threads opening databases for the first time and writing. */
static void *
raw_thread(void *p)
{
	struct raw_thread_arg *a = p;
	struct cradle_err err = { 0 };
	char db[16], key[16];
	void *data;
	size_t len;
	int i;

	for (i = 0; i < 20 && a->rc == 0; i++) {
		snprintf(db, sizeof(db), "db%d", i % 5);
		snprintf(key, sizeof(key), "t%d-%d", a->idx, i);
		a->rc = store_put(a->st, db, key, key, strlen(key), &err);
		if (a->rc == 0) {
			a->rc = store_get(a->st, db, key, &data, &len, &err);
			if (a->rc == 0) {
				if (len != strlen(key) || memcmp(data, key, len) != 0)
					a->rc = -1;
				free(data);
			}
		}
	}
	return NULL;
}

START_TEST(test_store_raw_threads)
{
	struct cradle_err err = { 0 };
	struct raw_thread_arg args[N_RAW_THREADS];
	pthread_t th[N_RAW_THREADS];
	int i, total = 0;

	for (i = 0; i < N_RAW_THREADS; i++) {
		args[i].st = st;
		args[i].idx = i;
		args[i].rc = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, raw_thread, &args[i]), 0);
	}
	for (i = 0; i < N_RAW_THREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(args[i].rc, 0);
	}
	for (i = 0; i < 5; i++) {
		char db[16];

		snprintf(db, sizeof(db), "db%d", i);
		ck_assert_int_eq(store_foreach(st, db, count_fn, &total, &err), 0);
	}
	ck_assert_int_eq(total, N_RAW_THREADS * 20);
}
END_TEST

/* Writers overwriting and deleting the same few keys while walkers read:
 * every value any thread sees is one a writer wrote whole, and in the end
 * each key holds the last value some writer left there. */
#define N_WRITERS 4
#define N_WALKERS 2
#define N_KEYS 8
#define N_ROUNDS 200

struct contend {
	struct store *st;
	atomic_int writers_left;
	atomic_int bad;
};

struct contend_arg {
	struct contend *c;
	int idx;
};

/* "w<writer>:<round>:" padded with the writer's letter to 40 + round % 50
 * bytes: a torn or mixed value does not parse back. */
static size_t
contend_value(char *buf, size_t cap, int writer, int round)
{
	int n = snprintf(buf, cap, "w%d:%d:", writer, round);
	size_t len = 40 + (size_t)(round % 50);

	memset(buf + n, 'a' + writer, len - (size_t)n);
	buf[len] = '\0';
	return len;
}

static bool
contend_valid(const char *v, size_t len)
{
	char want[128];
	int writer, round;

	if (sscanf(v, "w%d:%d:", &writer, &round) != 2 || writer < 0 || writer >= N_WRITERS ||
	    round < 0 || round >= N_ROUNDS)
		return false;
	return contend_value(want, sizeof(want), writer, round) == len && memcmp(v, want, len) == 0;
}

static void *
contend_writer(void *p)
{
	struct contend_arg *a = p;
	struct cradle_err err = { 0 };
	char key[8], val[128];

	for (int i = 0; i < N_ROUNDS; i++) {
		size_t len = contend_value(val, sizeof(val), a->idx, i);

		snprintf(key, sizeof(key), "k%d", (i + a->idx) % N_KEYS);
		if (store_put(a->c->st, "shared", key, val, len, &err) != 0)
			atomic_fetch_add(&a->c->bad, 1);
		/* not in the last round on each key: they all end up held */
		if (i % 7 == 3 && i < N_ROUNDS - N_KEYS &&
		    store_del(a->c->st, "shared", key, &err) != 0)
			atomic_fetch_add(&a->c->bad, 1);
	}
	atomic_fetch_sub(&a->c->writers_left, 1);
	return NULL;
}

static int
contend_check(const char *key, const void *data, size_t len, void *arg)
{
	struct contend *c = arg;

	if (key[0] != 'k' || !contend_valid(data, len))
		atomic_fetch_add(&c->bad, 1);
	return 0;
}

static void *
contend_walker(void *p)
{
	struct contend_arg *a = p;
	struct cradle_err err = { 0 };

	do {
		if (store_foreach(a->c->st, "shared", contend_check, a->c, &err) != 0)
			atomic_fetch_add(&a->c->bad, 1);
	} while (atomic_load(&a->c->writers_left) > 0);
	return NULL;
}

START_TEST(test_concurrent_writers)
{
	pthread_t th[N_WRITERS + N_WALKERS];
	struct contend_arg args[N_WRITERS + N_WALKERS];
	struct contend c = { .st = st };
	struct cradle_err err = { 0 };
	int i, n = 0;

	atomic_init(&c.writers_left, N_WRITERS);
	atomic_init(&c.bad, 0);
	for (i = 0; i < N_WRITERS + N_WALKERS; i++) {
		void *(*fn)(void *) = i < N_WRITERS ? contend_writer : contend_walker;

		args[i] = (struct contend_arg){ &c, i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, fn, &args[i]), 0);
	}
	for (i = 0; i < N_WRITERS + N_WALKERS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	ck_assert_int_eq(atomic_load(&c.bad), 0);
	/* every key holds a whole value */
	ck_assert_int_eq(store_foreach(c.st, "shared", contend_check, &c, &err), 0);
	ck_assert_int_eq(store_foreach(c.st, "shared", count_fn, &n, &err), 0);
	ck_assert_int_eq(n, N_KEYS);
	ck_assert_int_eq(atomic_load(&c.bad), 0);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");

	unit_tcase(s, "store", setup, teardown, 120,
	           UNIT_TESTS(test_open_creates_dirs, test_open_error, test_store_raw, test_values,
	                      test_reopen_keeps_data, test_committed_before_return,
	                      test_group_commit_durable, test_trim, test_trim_by_writes,
	                      test_key_limits, test_db_names, test_db_count, test_foreach_order,
	                      test_foreach_stop, test_foreach_writes, test_store_raw_threads,
	                      test_concurrent_writers));

	return s;
}

int
main(void)
{
	return unit_run(store_suite(), "test_store", 0);
}
