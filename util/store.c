/* store.c - cradle's LMDB environment (see store.h).
 *
 * DESIGN
 *
 * One environment, <dir>/cradle.mdb/ (data.mdb + lock.mdb), holding named
 * databases of opaque values under string keys (1..511 bytes, LMDB's key
 * limit, stored without the NUL): the sandbox records (core/records.c),
 * the image records (image/record.c) and whatever comes next.  Every
 * put/del is one write transaction committed before returning; LMDB syncs
 * on commit (no MDB_NOSYNC), so a record is durable before the reply that
 * reports it.
 *
 * Group commit.  The sync of a commit costs far more than the writes in
 * it, and starts arrive together: a writer that finds a commit running
 * queues its write and waits; when that commit is done, the first of the
 * waiters writes everything queued in one transaction with one sync and
 * wakes the rest.  Every write is still durable before its call returns;
 * N concurrent writers pay about two syncs, not N.  A batch whose
 * transaction fails is retried one write per transaction, so each caller
 * gets its own write's result.
 *
 * Threads: LMDB lets one write transaction run at a time and queues the
 * others on its writer mutex; readers never block.  MDB_NOTLS ties reader
 * slots to transactions rather than threads, so any worker may read and
 * one thread may hold more than one read transaction.  The map is 1 GiB of
 * address space; the file grows only as pages are used (sparse), and a
 * record is a few KiB, so this is room for far more sandboxes than a node
 * runs.
 *
 * store_foreach copies the records out of one read transaction and ends
 * it before calling back, so a callback may put or delete records
 * (recovery marks dead sandboxes exited) without holding a snapshot open
 * across its own write transaction.
 *
 * Other environments.  store_open_opts opens one under another name,
 * with another map size, and optionally MDB_NOSYNC: the event log
 * (core/events.c) is its own environment, <state>/events.mdb, whose
 * commits stay in the page cache.  It is not a database of cradle.mdb
 * because MDB_NOSYNC is a property of an environment, not of a commit:
 * an unsynced commit in cradle.mdb would let a machine crash tear the
 * sandbox and image records too (LMDB may write the meta page before the
 * data pages it points to).  u64 keys (store_put_u64 and friends) are 8
 * bytes big-endian, so key order is numeric order.
 *
 * A database is created and its handle opened on first use:
 * mdb_dbi_open must not run in two transactions at once, so a mutex
 * serialises the opening and guards the small name->handle table; the
 * handle is published only after its transaction commits, and every
 * transaction that uses it begins after that.  The lock is never held
 * while waiting for anything but LMDB's writer lock, and no LMDB write
 * transaction is ever held while taking it, so it cannot deadlock.
 */
#include "util/store.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <lmdb.h>

#include "util/fs.h"

#define STORE_ENV_NAME "cradle.mdb"
#define STORE_MAPSIZE ((size_t)1 << 30)
/* Named databases in one environment ("sandboxes", "images", ...).
 * LMDB keeps a table of this many handles. */
#define STORE_MAXDBS 32
#define STORE_DB_NAME_MAX 64
/* LMDB's compiled-in limit (mdb_env_get_maxkeysize) */
#define STORE_KEY_MAX 511
/* Commits between two store_trim calls of the writer's own (write_one).
 * LMDB copies on write: each commit puts the B-tree path it changed (a
 * leaf, its branches, the root) at new places in the file, and the next
 * access maps them, 64 KiB at a time (the kernel maps the pages around a
 * faulting one), so the process's view of the map grows by about 40 KiB
 * per commit, until it holds every page the file has: about a leaf page
 * per record, 4 kB of the daemon's RSS per live sandbox.  Dropped every
 * 16 commits, it stays under 1 MiB whatever the number of records; the
 * next commit maps the few pages it reads again (page faults, no I/O). */
#define STORE_TRIM_EVERY 16

struct named_db {
	char name[STORE_DB_NAME_MAX + 1];
	MDB_dbi dbi;
};

/* One put or delete waiting for a group commit (write_one). */
struct write_req {
	MDB_dbi dbi;
	MDB_val *k, *val; /* val NULL: delete */
	int rc;           /* LMDB's code, once done */
	bool done;
	struct write_req *next;
};

struct store {
	MDB_env *env;
	char *path; /* <dir>/cradle.mdb, for messages */
	/* Databases, opened on first use (see db_handle). */
	pthread_mutex_t lock;
	struct named_db dbs[STORE_MAXDBS];
	size_t n_dbs;
	/* Group commit (write_one): writes waiting for the next commit, in
	 * arrival order, and whether a writer is committing now. */
	pthread_mutex_t gc_lock;
	pthread_cond_t gc_done;
	struct write_req *head, **tail;
	bool committing;
	unsigned commits; /* since the last trim, under gc_lock */
	/* where LMDB mapped data.mdb (LMDB does not say): for store_trim */
	void *map;
	size_t map_len;
};

/* LMDB returns errno values (> 0) from the system and its own codes (< 0).
 * Pick the wire code and the errno-style return value for each. */
static int
mdb_errno(int mdb_rc)
{
	if (mdb_rc > 0) {
		return (mdb_rc);
	}
	switch (mdb_rc) {
	case MDB_NOTFOUND:
		return (ENOENT);
	case MDB_KEYEXIST:
		return (EEXIST);
	case MDB_MAP_FULL:
	case MDB_DBS_FULL:
	case MDB_READERS_FULL:
	case MDB_TXN_FULL:
	case MDB_CURSOR_FULL:
	case MDB_PAGE_FULL:
		return (ENOSPC);
	case MDB_VERSION_MISMATCH:
	case MDB_INVALID:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
		return (EIO);
	default:
		return (EIO);
	}
}

/* Fill err with "<what>: <mdb_strerror(rc)>" and return -errno.  For rc > 0
 * mdb_strerror is strerror, so the message reads like every other one. */
static int store_err(struct cradle_err *err, int mdb_rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
store_err(struct cradle_err *err, int mdb_rc, const char *fmt, ...)
{
	char what[CRADLE_ERR_MSG_MAX];
	va_list ap;
	int e = mdb_errno(mdb_rc);
	int code;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (mdb_rc == MDB_MAP_FULL || mdb_rc == MDB_TXN_FULL) {
		/* the hint first: callers that wrap the message may cut its tail */
		cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
		               "store full (raise [store] map_size): %s: %s", what,
		               mdb_strerror(mdb_rc));
		return (-ENOSPC);
	}
	if (mdb_rc > 0) {
		code = cradle_code_from_errno(mdb_rc);
	} else if (e == ENOSPC) {
		code = CRADLE_RESOURCE_EXHAUSTED;
	} else if (e == ENOENT) {
		code = CRADLE_NOT_FOUND;
	} else if (e == EEXIST) {
		code = CRADLE_ALREADY_EXISTS;
	} else {
		code = CRADLE_INTERNAL;
	}
	cradle_err_set(err, code, "%s: %s", what, mdb_strerror(mdb_rc));
	return (-e);
}

/* The mapping of the environment's data file, found in /proc/self/maps
 * by device and inode (LMDB reports the address only for MDB_FIXEDMAP).
 * Left NULL when not found: store_trim then does nothing. */
static void
find_map(struct store *st)
{
	char path[FS_PATH_MAX], line[512];
	struct stat sb;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/data.mdb", st->path) >= (int)sizeof(path) ||
	    stat(path, &sb) != 0 || (f = fopen("/proc/self/maps", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi, ino;
		unsigned maj, min;
		if (sscanf(line, "%lx-%lx %*s %*s %x:%x %lu", &lo, &hi, &maj, &min, &ino) == 5 &&
		    ino == sb.st_ino && makedev(maj, min) == sb.st_dev) {
			st->map = (void *)lo;
			st->map_len = hi - lo;
			break;
		}
	}
	fclose(f);
}

int
store_open(const char *dir, struct store **out, struct cradle_err *err)
{
	return store_open_opts(dir, NULL, out, err);
}

int
store_open_opts(const char *dir, const struct store_opts *opts, struct store **out,
                struct cradle_err *err)
{
	const char *name = opts != NULL && opts->name != NULL ? opts->name : STORE_ENV_NAME;
	size_t map_size = opts != NULL && opts->map_size != 0 ? opts->map_size : STORE_MAPSIZE;
	unsigned flags = MDB_NOTLS | (opts != NULL && opts->nosync ? MDB_NOSYNC : 0);
	struct store *st;
	struct stat sb;
	int mdb_rc, rc, dead;

	*out = NULL;
	if ((rc = fs_mkdir_p(dir, 0700)) < 0) {
		return (cradle_err_errno(err, -rc, "failed to create store directory \"%s\"", dir));
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL || asprintf(&st->path, "%s/%s", dir, name) < 0) {
		free(st);
		return (cradle_err_errno(err, ENOMEM, "failed to open store in \"%s\"", dir));
	}
	if ((mdb_rc = pthread_mutex_init(&st->lock, NULL)) != 0) {
		free(st->path);
		free(st);
		return (cradle_err_errno(err, mdb_rc, "failed to open store in \"%s\"", dir));
	}
	st->tail = &st->head;
	if ((mdb_rc = pthread_mutex_init(&st->gc_lock, NULL)) != 0 ||
	    (mdb_rc = pthread_cond_init(&st->gc_done, NULL)) != 0) {
		/* a failed cond init leaves an unused mutex: nothing to undo */
		pthread_mutex_destroy(&st->lock);
		free(st->path);
		free(st);
		return (cradle_err_errno(err, mdb_rc, "failed to open store in \"%s\"", dir));
	}
	if (mkdir(st->path, 0700) != 0 && errno != EEXIST) {
		rc = cradle_err_errno(err, errno, "failed to create store directory \"%s\"",
		                      st->path);
		goto fail;
	}
	if (stat(st->path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		rc = cradle_err_errno(err, errno != 0 ? errno : ENOTDIR,
		                      "store \"%s\" is not a directory", st->path);
		goto fail;
	}
	if ((mdb_rc = mdb_env_create(&st->env)) != 0) {
		rc = store_err(err, mdb_rc,
		               "failed to create store environment "
		               "for \"%s\"",
		               st->path);
		goto fail;
	}
	if ((mdb_rc = mdb_env_set_mapsize(st->env, map_size)) != 0 ||
	    (mdb_rc = mdb_env_set_maxdbs(st->env, STORE_MAXDBS)) != 0) {
		rc = store_err(err, mdb_rc, "failed to configure store \"%s\"", st->path);
		goto fail;
	}
	/* MDB_NOTLS: worker threads read with their own transactions and a
	 * callback may open one while another is live (see DESIGN).  MDB_NOSYNC
	 * only when asked (store.h): the event log's commits stay in the page
	 * cache, which a crash of the daemon does not lose. */
	if ((mdb_rc = mdb_env_open(st->env, st->path, flags, 0600)) != 0) {
		rc = store_err(err, mdb_rc, "failed to open store \"%s\"", st->path);
		goto fail;
	}
	/* A daemon that crashed left its reader slots behind; they would pin
	 * old pages forever.  Failure here only costs space. */
	(void)mdb_reader_check(st->env, &dead);
	find_map(st);

	*out = st;
	return (0);
fail:
	store_close(st);
	return (rc);
}

void
store_close(struct store *st)
{
	if (st == NULL) {
		return;
	}
	if (st->env != NULL) {
		/* Named DB handles are closed with the environment. */
		mdb_env_close(st->env);
	}
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->gc_done);
	pthread_mutex_destroy(&st->gc_lock);
	free(st->path);
	free(st);
}

/* One raw record copied out of the read transaction. */
struct raw {
	char *key; /* NUL-terminated copy of the key */
	void *val;
	size_t len;
};

static void
raws_free(struct raw *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].val);
	}
	free(v);
}

/* A transaction (read-only unless flags say otherwise) and a cursor on
 * dbi; on failure nothing is left open and err says "failed to <doing>". */
static int
cursor_open(struct store *st, MDB_dbi dbi, unsigned flags, MDB_txn **txn, MDB_cursor **cur,
            const char *doing, struct cradle_err *err)
{
	int mdb_rc;

	if ((mdb_rc = mdb_txn_begin(st->env, NULL, flags, txn)) != 0)
		return (store_err(err, mdb_rc, "failed to %s \"%s\"", doing, st->path));
	if ((mdb_rc = mdb_cursor_open(*txn, dbi, cur)) != 0) {
		mdb_txn_abort(*txn);
		return (store_err(err, mdb_rc, "failed to %s \"%s\"", doing, st->path));
	}
	return (0);
}

/* Copy every record of dbi (named what, for messages) out, in key order,
 * and end the transaction. */
static int
read_all(struct store *st, MDB_dbi dbi, const char *what, struct raw **out, size_t *nout,
         struct cradle_err *err)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	struct raw *v = NULL, *nv;
	size_t n = 0, cap = 0;
	int mdb_rc, rc = 0;

	*out = NULL;
	*nout = 0;
	char doing[128];
	snprintf(doing, sizeof(doing), "read %s from", what);
	if ((rc = cursor_open(st, dbi, MDB_RDONLY, &txn, &cur, doing, err)) < 0)
		return (rc);
	for (mdb_rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); mdb_rc == 0;
	     mdb_rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[n].key = malloc(key.mv_size + 1);
		/* one byte more, a NUL, so text values are C strings (and
		 * malloc(0) never happens) */
		v[n].val = malloc(val.mv_size + 1);
		if (v[n].key == NULL || v[n].val == NULL) {
			free(v[n].key);
			free(v[n].val);
			rc = -ENOMEM;
			break;
		}
		memcpy(v[n].key, key.mv_data, key.mv_size);
		v[n].key[key.mv_size] = '\0';
		memcpy(v[n].val, val.mv_data, val.mv_size);
		((char *)v[n].val)[val.mv_size] = '\0';
		v[n].len = val.mv_size;
		n++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc == -ENOMEM) {
		raws_free(v, n);
		return (cradle_err_errno(err, ENOMEM,
		                         "failed to read "
		                         "%s from \"%s\"",
		                         what, st->path));
	}
	if (mdb_rc != MDB_NOTFOUND) {
		raws_free(v, n);
		return (store_err(err, mdb_rc,
		                  "failed to read %s from "
		                  "\"%s\"",
		                  what, st->path));
	}
	*out = v;
	*nout = n;
	return (0);
}

/* A database name: 1..64 of [a-z0-9_.-]. */
static int
check_db_name(const char *db, struct cradle_err *err)
{
	size_t i, n;

	if (db == NULL) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "invalid database name: NULL");
		return (-EINVAL);
	}
	n = strnlen(db, STORE_DB_NAME_MAX + 1);
	if (n == 0 || n > STORE_DB_NAME_MAX) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "invalid database "
		               "name \"%.*s%s\": must be 1 to %d characters",
		               64, db, n > STORE_DB_NAME_MAX ? "..." : "", STORE_DB_NAME_MAX);
		return (-EINVAL);
	}
	for (i = 0; i < n; i++) {
		char c = db[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.')) {
			cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			               "invalid "
			               "database name \"%s\": only a-z, 0-9, '_', '-' and "
			               "'.' are allowed",
			               db);
			return (-EINVAL);
		}
	}
	return (0);
}

/* A raw key: 1..STORE_KEY_MAX bytes, stored without its NUL. */
static int
make_raw_key(const char *db, const char *k, MDB_val *key, struct cradle_err *err)
{
	size_t n;

	if (k == NULL) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "invalid key in "
		               "database \"%s\": NULL",
		               db);
		return (-EINVAL);
	}
	n = strnlen(k, STORE_KEY_MAX + 1);
	if (n == 0) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "invalid key in "
		               "database \"%s\": empty",
		               db);
		return (-EINVAL);
	}
	if (n > STORE_KEY_MAX) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "invalid key "
		               "\"%.64s...\" in database \"%s\": longer than %d bytes",
		               k, db, STORE_KEY_MAX);
		return (-ENAMETOOLONG);
	}
	key->mv_data = (void *)k;
	key->mv_size = n;
	return (0);
}

/* The handle of raw database db, creating the database on first use. */
static int
db_handle(struct store *st, const char *db, MDB_dbi *out, struct cradle_err *err)
{
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	size_t i;
	int mdb_rc, rc;

	if ((rc = check_db_name(db, err)) < 0) {
		return (rc);
	}
	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->n_dbs; i++) {
		if (strcmp(st->dbs[i].name, db) == 0) {
			*out = st->dbs[i].dbi;
			pthread_mutex_unlock(&st->lock);
			return (0);
		}
	}
	if (st->n_dbs == STORE_MAXDBS) {
		pthread_mutex_unlock(&st->lock);
		cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
		               "cannot open "
		               "database \"%s\" in store \"%s\": %d databases are open "
		               "already",
		               db, st->path, STORE_MAXDBS);
		return (-ENOSPC);
	}
	if ((mdb_rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0 ||
	    (mdb_rc = mdb_dbi_open(txn, db, MDB_CREATE, &dbi)) != 0) {
		if (txn != NULL) {
			mdb_txn_abort(txn);
		}
		pthread_mutex_unlock(&st->lock);
		return (store_err(err, mdb_rc,
		                  "failed to open database \"%s\" in "
		                  "store \"%s\"",
		                  db, st->path));
	}
	if ((mdb_rc = mdb_txn_commit(txn)) != 0) {
		pthread_mutex_unlock(&st->lock);
		return (store_err(err, mdb_rc,
		                  "failed to open database \"%s\" in "
		                  "store \"%s\"",
		                  db, st->path));
	}
	/* name fits: check_db_name bounded it */
	snprintf(st->dbs[st->n_dbs].name, sizeof(st->dbs[0].name), "%s", db);
	st->dbs[st->n_dbs].dbi = dbi;
	st->n_dbs++;
	pthread_mutex_unlock(&st->lock);
	*out = dbi;
	return (0);
}

/* Apply one write in txn.  LMDB's code; deleting an absent key is
 * MDB_NOTFOUND, which leaves the transaction usable. */
static int
apply(MDB_txn *txn, const struct write_req *w)
{
	return w->val != NULL ? mdb_put(txn, w->dbi, w->k, w->val, 0)
	                      : mdb_del(txn, w->dbi, w->k, NULL);
}

/* One commit that changes nothing visible: a key no caller can name (it
 * starts with a NUL) put and deleted again in dbi.  LMDB hands out the
 * pages a commit freed only from the second commit after it, so when a
 * full map is freed by one delete (a sandbox removed) the next write
 * would still find it full; this commit in between makes the room
 * usable.  LMDB's code. */
static int
advance(struct store *st, MDB_dbi dbi)
{
	static const char name[] = "\0cradle-advance";
	MDB_val k = { sizeof(name) - 1, (void *)name }, v = { 0, (void *)"" };
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return rc;
	if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0 || (rc = mdb_del(txn, dbi, &k, NULL)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

/* w in a transaction of its own; sets w->rc.  A full map is tried once
 * more after advance(). */
static void
commit_one(struct store *st, struct write_req *w)
{
	MDB_txn *txn;
	int rc;

	for (int again = 1;; again--) {
		if ((w->rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
			return;
		if ((w->rc = apply(txn, w)) != 0 && w->rc != MDB_NOTFOUND)
			mdb_txn_abort(txn);
		else if ((rc = mdb_txn_commit(txn)) != 0) /* frees txn either way */
			w->rc = rc;
		if (w->rc != MDB_MAP_FULL || !again || advance(st, w->dbi) != 0)
			return;
	}
}

/* Write reqs (a list) in one transaction, or each in its own when that
 * fails, setting every rc. */
static void
commit_batch(struct store *st, struct write_req *reqs)
{
	MDB_txn *txn;
	int rc;

	if (reqs->next == NULL) {
		commit_one(st, reqs);
		return;
	}
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) == 0) {
		for (struct write_req *w = reqs; w != NULL && rc == 0; w = w->next)
			if ((w->rc = apply(txn, w)) != 0 && w->rc != MDB_NOTFOUND)
				rc = w->rc;
		if (rc != 0)
			mdb_txn_abort(txn);
		else
			rc = mdb_txn_commit(txn);
	}
	if (rc == 0)
		return;
	/* the batch failed as a whole: each write gets its own result */
	for (struct write_req *w = reqs; w != NULL; w = w->next)
		commit_one(st, w);
}

/* One write on key k of dbi, committed (and synced) before returning,
 * possibly together with other threads' writes (see DESIGN): put val, or
 * with val NULL delete k (MDB_NOTFOUND when it was absent).  LMDB's code. */
static int
write_one(struct store *st, MDB_dbi dbi, MDB_val *k, MDB_val *val)
{
	struct write_req me = { .dbi = dbi, .k = k, .val = val };
	bool trim = false;

	pthread_mutex_lock(&st->gc_lock);
	*st->tail = &me;
	st->tail = &me.next;
	while (!me.done) {
		if (st->committing) {
			pthread_cond_wait(&st->gc_done, &st->gc_lock);
			continue;
		}
		/* lead: take everything queued (me included) */
		struct write_req *batch = st->head;
		st->head = NULL;
		st->tail = &st->head;
		st->committing = true;
		pthread_mutex_unlock(&st->gc_lock);
		commit_batch(st, batch);
		pthread_mutex_lock(&st->gc_lock);
		for (struct write_req *w = batch, *next; w != NULL; w = next) {
			next = w->next; /* w may return and vanish once done */
			w->done = true;
		}
		st->committing = false;
		pthread_cond_broadcast(&st->gc_done);
		if (++st->commits >= STORE_TRIM_EVERY) {
			st->commits = 0;
			trim = true;
		}
	}
	pthread_mutex_unlock(&st->gc_lock);
	if (trim)
		store_trim(st);
	return (me.rc);
}

int
store_put(struct store *st, const char *db, const char *key, const void *data, size_t len,
          struct cradle_err *err)
{
	MDB_dbi dbi;
	MDB_val k, val;
	int mdb_rc, rc;

	if ((rc = check_db_name(db, err)) < 0 || (rc = make_raw_key(db, key, &k, err)) < 0 ||
	    (rc = db_handle(st, db, &dbi, err)) < 0) {
		return (rc);
	}
	if (data == NULL && len > 0) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "failed to store "
		               "\"%s\" in database \"%s\": no data",
		               key, db);
		return (-EINVAL);
	}
	val.mv_data = (void *)(data != NULL ? data : "");
	val.mv_size = len;
	if ((mdb_rc = write_one(st, dbi, &k, &val)) != 0) {
		return (store_err(err, mdb_rc,
		                  "failed to store \"%s\" in database "
		                  "\"%s\" of \"%s\"",
		                  key, db, st->path));
	}
	return (0);
}

int
store_get(struct store *st, const char *db, const char *key, void **data, size_t *len,
          struct cradle_err *err)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, val;
	char *copy;
	int mdb_rc, rc;

	*data = NULL;
	*len = 0;
	if ((rc = check_db_name(db, err)) < 0 || (rc = make_raw_key(db, key, &k, err)) < 0 ||
	    (rc = db_handle(st, db, &dbi, err)) < 0) {
		return (rc);
	}
	if ((mdb_rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0) {
		return (store_err(err, mdb_rc,
		                  "failed to read \"%s\" from "
		                  "database \"%s\" of \"%s\"",
		                  key, db, st->path));
	}
	mdb_rc = mdb_get(txn, dbi, &k, &val);
	if (mdb_rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		cradle_err_set(err, CRADLE_NOT_FOUND,
		               "\"%s\" not found in "
		               "database \"%s\" of \"%s\"",
		               key, db, st->path);
		return (-ENOENT);
	}
	if (mdb_rc != 0) {
		mdb_txn_abort(txn);
		return (store_err(err, mdb_rc,
		                  "failed to read \"%s\" from "
		                  "database \"%s\" of \"%s\"",
		                  key, db, st->path));
	}
	/* val points into the map, valid only until the txn ends.  One
	 * extra byte, a NUL, so text values are C strings. */
	copy = malloc(val.mv_size + 1);
	if (copy == NULL) {
		mdb_txn_abort(txn);
		return (cradle_err_errno(err, ENOMEM,
		                         "failed to read \"%s\" "
		                         "from database \"%s\" of \"%s\"",
		                         key, db, st->path));
	}
	memcpy(copy, val.mv_data, val.mv_size);
	copy[val.mv_size] = '\0';
	*len = val.mv_size;
	mdb_txn_abort(txn);
	*data = copy;
	return (0);
}

int
store_del(struct store *st, const char *db, const char *key, struct cradle_err *err)
{
	MDB_dbi dbi;
	MDB_val k;
	int mdb_rc, rc;

	if ((rc = check_db_name(db, err)) < 0 || (rc = make_raw_key(db, key, &k, err)) < 0 ||
	    (rc = db_handle(st, db, &dbi, err)) < 0) {
		return (rc);
	}
	/* already gone is what the caller wanted */
	mdb_rc = write_one(st, dbi, &k, NULL);
	if (mdb_rc != 0 && mdb_rc != MDB_NOTFOUND) {
		return (store_err(err, mdb_rc,
		                  "failed to delete \"%s\" from "
		                  "database \"%s\" of \"%s\"",
		                  key, db, st->path));
	}
	return (0);
}

int
store_foreach(struct store *st, const char *db,
              int (*fn)(const char *key, const void *data, size_t len, void *arg), void *arg,
              struct cradle_err *err)
{
	char what[STORE_DB_NAME_MAX + 16];
	struct raw *v;
	MDB_dbi dbi;
	size_t n, i;
	int rc;

	if ((rc = db_handle(st, db, &dbi, err)) < 0) {
		return (rc);
	}
	snprintf(what, sizeof(what), "database \"%s\"", db);
	if ((rc = read_all(st, dbi, what, &v, &n, err)) < 0) {
		return (rc);
	}
	for (i = 0; i < n; i++) {
		if ((rc = fn(v[i].key, v[i].val, v[i].len, arg)) < 0) {
			break;
		}
		rc = 0;
	}
	raws_free(v, n);
	return (rc < 0 ? rc : 0);
}

void
store_trim(struct store *st)
{
	/* The map is read-only and shared (no MDB_WRITEMAP): dropping our
	 * view of its pages loses nothing, and a reader touching one just
	 * faults it in again. */
	if (st != NULL && st->map != NULL)
		madvise(st->map, st->map_len, MADV_DONTNEED);
}

/* --- u64 keys ---------------------------------------------------------- */

static void
key_u64(unsigned char buf[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		buf[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* The key of a record, or false when it is not 8 bytes (not a u64 key). */
static bool
u64_of(const MDB_val *k, uint64_t *out)
{
	const unsigned char *b = k->mv_data;
	uint64_t v = 0;

	if (k->mv_size != 8)
		return false;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	*out = v;
	return true;
}

int
store_put_u64(struct store *st, const char *db, uint64_t key, const void *data, size_t len,
              struct cradle_err *err)
{
	unsigned char kb[8];
	MDB_dbi dbi;
	MDB_val k = { .mv_size = sizeof(kb), .mv_data = kb }, val;
	int mdb_rc, rc;

	if ((rc = db_handle(st, db, &dbi, err)) < 0)
		return (rc);
	if (data == NULL && len > 0) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "failed to store %llu in database \"%s\": no data",
		               (unsigned long long)key, db);
		return (-EINVAL);
	}
	key_u64(kb, key);
	val.mv_data = (void *)(data != NULL ? data : "");
	val.mv_size = len;
	if ((mdb_rc = write_one(st, dbi, &k, &val)) != 0)
		return (store_err(err, mdb_rc, "failed to store %llu in database \"%s\" of \"%s\"",
		                  (unsigned long long)key, db, st->path));
	return (0);
}

int
store_bounds_u64(struct store *st, const char *db, uint64_t *first, uint64_t *last,
                 struct cradle_err *err)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_dbi dbi;
	MDB_val k, v;
	int mdb_rc, rc;

	if ((rc = db_handle(st, db, &dbi, err)) < 0)
		return (rc);
	char doing[128];
	snprintf(doing, sizeof(doing), "read database \"%s\" of", db);
	if ((rc = cursor_open(st, dbi, MDB_RDONLY, &txn, &cur, doing, err)) < 0)
		return (rc);
	mdb_rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	if (mdb_rc == 0 && !u64_of(&k, first))
		mdb_rc = MDB_CORRUPTED;
	if (mdb_rc == 0 && (mdb_rc = mdb_cursor_get(cur, &k, &v, MDB_LAST)) == 0 &&
	    !u64_of(&k, last))
		mdb_rc = MDB_CORRUPTED;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (mdb_rc == MDB_NOTFOUND) {
		cradle_err_set(err, CRADLE_NOT_FOUND, "database \"%s\" of \"%s\" is empty", db,
		               st->path);
		return (-ENOENT);
	}
	if (mdb_rc != 0)
		return (store_err(err, mdb_rc, "failed to read database \"%s\" of \"%s\"", db,
		                  st->path));
	return (0);
}

long
store_range_u64(struct store *st, const char *db, uint64_t from, size_t max,
                int (*fn)(uint64_t key, const void *data, size_t len, void *arg), void *arg,
                struct cradle_err *err)
{
	unsigned char kb[8];
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_dbi dbi;
	MDB_val k = { .mv_size = sizeof(kb), .mv_data = kb }, v;
	long n = 0;
	int mdb_rc, rc = 0;

	if ((rc = db_handle(st, db, &dbi, err)) < 0)
		return (rc);
	char doing[128];
	snprintf(doing, sizeof(doing), "read database \"%s\" of", db);
	if ((rc = cursor_open(st, dbi, MDB_RDONLY, &txn, &cur, doing, err)) < 0)
		return (rc);
	key_u64(kb, from);
	for (mdb_rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mdb_rc == 0 && (size_t)n < max;
	     mdb_rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t key;

		if (!u64_of(&k, &key)) {
			mdb_rc = MDB_CORRUPTED;
			break;
		}
		n++;
		if ((rc = fn(key, v.mv_data, v.mv_size, arg)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc < 0)
		return (rc);
	if (rc == 0 && mdb_rc != 0 && mdb_rc != MDB_NOTFOUND)
		return (store_err(err, mdb_rc, "failed to read database \"%s\" of \"%s\"", db,
		                  st->path));
	return (n);
}

long
store_del_below_u64(struct store *st, const char *db, uint64_t below, struct cradle_err *err)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_dbi dbi;
	MDB_val k, v;
	long n = 0;
	int mdb_rc, rc;

	if ((rc = db_handle(st, db, &dbi, err)) < 0)
		return (rc);
	/* LMDB's writer lock orders this with the group commits */
	char doing[128];
	snprintf(doing, sizeof(doing), "trim database \"%s\" of", db);
	if ((rc = cursor_open(st, dbi, 0, &txn, &cur, doing, err)) < 0)
		return (rc);
	for (mdb_rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mdb_rc == 0;
	     mdb_rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t key;

		if (!u64_of(&k, &key) || key >= below)
			break;
		if ((mdb_rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		n++;
	}
	mdb_cursor_close(cur);
	if (mdb_rc != 0 && mdb_rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return (store_err(err, mdb_rc, "failed to trim database \"%s\" of \"%s\"", db,
		                  st->path));
	}
	if ((mdb_rc = mdb_txn_commit(txn)) != 0)
		return (store_err(err, mdb_rc, "failed to trim database \"%s\" of \"%s\"", db,
		                  st->path));
	return (n);
}
