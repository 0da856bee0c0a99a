/* store.c - sandbox records in LMDB.
 *
 * DESIGN
 *
 * One environment, <dir>/cradle.mdb/ (data.mdb + lock.mdb), with a named
 * database "sandboxes": key = the 64-character id (no NUL), value = the
 * msgpack record from proto_sandbox_encode.  Every put/del is one write
 * transaction committed before returning; LMDB syncs on commit (no
 * MDB_NOSYNC), so a record is durable before the reply that reports it.
 *
 * Threads: LMDB lets one write transaction run at a time and queues the
 * others on its writer mutex; readers never block.  MDB_NOTLS ties reader
 * slots to transactions rather than threads, so any worker may read and
 * one thread may hold more than one read transaction.  The map is 1 GiB of
 * address space; the file grows only as pages are used (sparse), and a
 * record is a few KiB, so this is room for far more sandboxes than a node
 * runs.
 *
 * store_foreach_sandbox copies the raw records out of one read transaction
 * and ends it before calling back, so a callback may put or delete records
 * (recovery marks dead sandboxes exited) without holding a snapshot open
 * across its own write transaction.
 *
 * The raw API (store_put_raw and friends) keeps opaque values under string
 * keys (1..511 bytes, LMDB's key limit, stored without the NUL) in other
 * named databases of the same environment, for the image records and
 * whatever comes next.  A database is created and its handle opened on
 * first use: mdb_dbi_open must not run in two transactions at once, so a
 * mutex serialises the opening and guards the small name->handle table;
 * the handle is published only after its transaction commits, and every
 * transaction that uses it begins after that.  The lock is never held
 * while waiting for anything but LMDB's writer lock, and no LMDB write
 * transaction is ever held while taking it, so it cannot deadlock.
 */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <lmdb.h>

#define STORE_ENV_NAME "cradle.mdb"
#define STORE_DB_SANDBOXES "sandboxes"
#define STORE_MAPSIZE ((size_t)1 << 30)
/* Named databases in one environment: "sandboxes" plus those of the raw
 * API ("images", ...).  LMDB keeps a table of this many handles. */
#define STORE_MAXDBS 32
#define STORE_RAW_MAX (STORE_MAXDBS - 1)
#define STORE_DB_NAME_MAX 64
/* LMDB's compiled-in limit (mdb_env_get_maxkeysize) */
#define STORE_KEY_MAX 511

struct raw_db {
	char name[STORE_DB_NAME_MAX + 1];
	MDB_dbi dbi;
};

struct store {
	MDB_env *env;
	MDB_dbi sandboxes;
	char *path;                  /* <dir>/cradle.mdb, for messages */
	/* Raw-API databases, opened on first use (see raw_dbi). */
	pthread_mutex_t lock;
	struct raw_db raw[STORE_RAW_MAX];
	size_t n_raw;
};

/* LMDB returns errno values (> 0) from the system and its own codes (< 0).
 * Pick the wire code and the errno-style return value for each. */
static int
mdb_errno(int rc)
{
	if (rc > 0) {
		return (rc);
	}
	switch (rc) {
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
static int
store_err(struct cradle_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
store_err(struct cradle_err *err, int rc, const char *fmt, ...)
{
	char what[CRADLE_ERR_MSG_MAX];
	va_list ap;
	int e = mdb_errno(rc);
	int code;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rc > 0) {
		code = cradle_code_from_errno(rc);
	} else if (e == ENOSPC) {
		code = CRADLE_RESOURCE_EXHAUSTED;
	} else if (e == ENOENT) {
		code = CRADLE_NOT_FOUND;
	} else if (e == EEXIST) {
		code = CRADLE_ALREADY_EXISTS;
	} else {
		code = CRADLE_INTERNAL;
	}
	cradle_err_set(err, code, "%s: %s", what, mdb_strerror(rc));
	return (-e);
}

/* mkdir -p with mode 0700 for every component we create; existing ones are
 * left as they are (the administrator may have chosen their modes). */
static int
mkdir_p(const char *dir, struct cradle_err *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);
	char *p;

	if (len == 0 || len >= sizeof(buf)) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		    "invalid store directory \"%s\"", dir);
		return (-EINVAL);
	}
	memcpy(buf, dir, len + 1);
	for (p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
				return (cradle_err_errno(err, errno,
				    "failed to create store directory \"%s\"",
				    buf));
			}
			*p = c;
			if (c == '\0') {
				break;
			}
		}
	}
	return (0);
}

/* The key of a record: exactly the id, which must look like one. */
static int
make_key(const char *id, MDB_val *key, struct cradle_err *err)
{
	if (id == NULL || !proto_valid_id(id)) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		    "invalid sandbox id \"%s\": must be %d lower-case hex "
		    "characters", id != NULL ? id : "", CRADLE_ID_LEN);
		return (-EINVAL);
	}
	key->mv_data = (void *)id;
	key->mv_size = CRADLE_ID_LEN;
	return (0);
}

int
store_open(const char *dir, struct store **out, struct cradle_err *err)
{
	struct store *st;
	MDB_txn *txn = NULL;
	struct stat sb;
	int rc, rv, dead;

	*out = NULL;
	if ((rv = mkdir_p(dir, err)) < 0) {
		return (rv);
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL || asprintf(&st->path, "%s/%s", dir,
	    STORE_ENV_NAME) < 0) {
		free(st);
		return (cradle_err_errno(err, ENOMEM,
		    "failed to open store in \"%s\"", dir));
	}
	if ((rc = pthread_mutex_init(&st->lock, NULL)) != 0) {
		free(st->path);
		free(st);
		return (cradle_err_errno(err, rc,
		    "failed to open store in \"%s\"", dir));
	}
	if (mkdir(st->path, 0700) != 0 && errno != EEXIST) {
		rv = cradle_err_errno(err, errno,
		    "failed to create store directory \"%s\"", st->path);
		goto fail;
	}
	if (stat(st->path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		rv = cradle_err_errno(err, errno != 0 ? errno : ENOTDIR,
		    "store \"%s\" is not a directory", st->path);
		goto fail;
	}
	if ((rc = mdb_env_create(&st->env)) != 0) {
		rv = store_err(err, rc, "failed to create store environment "
		    "for \"%s\"", st->path);
		goto fail;
	}
	if ((rc = mdb_env_set_mapsize(st->env, STORE_MAPSIZE)) != 0 ||
	    (rc = mdb_env_set_maxdbs(st->env, STORE_MAXDBS)) != 0) {
		rv = store_err(err, rc, "failed to configure store \"%s\"",
		    st->path);
		goto fail;
	}
	/* MDB_NOTLS: worker threads read with their own transactions and a
	 * callback may open one while another is live (see DESIGN). */
	if ((rc = mdb_env_open(st->env, st->path, MDB_NOTLS, 0600)) != 0) {
		rv = store_err(err, rc, "failed to open store \"%s\"",
		    st->path);
		goto fail;
	}
	/* A daemon that crashed left its reader slots behind; they would pin
	 * old pages forever.  Failure here only costs space. */
	(void)mdb_reader_check(st->env, &dead);

	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, STORE_DB_SANDBOXES, MDB_CREATE,
	        &st->sandboxes)) != 0) {
		if (txn != NULL) {
			mdb_txn_abort(txn);
		}
		rv = store_err(err, rc, "failed to open database \"%s\" in "
		    "store \"%s\"", STORE_DB_SANDBOXES, st->path);
		goto fail;
	}
	/* The handle becomes usable by other transactions once this commits. */
	if ((rc = mdb_txn_commit(txn)) != 0) {
		rv = store_err(err, rc, "failed to open database \"%s\" in "
		    "store \"%s\"", STORE_DB_SANDBOXES, st->path);
		goto fail;
	}
	*out = st;
	return (0);
fail:
	store_close(st);
	return (rv);
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
	free(st->path);
	free(st);
}

int
store_put_sandbox(struct store *st, const struct proto_sandbox *s,
    struct cradle_err *err)
{
	msgpack_sbuffer sbuf;
	MDB_txn *txn;
	MDB_val key, val;
	int rc, rv;

	if ((rv = make_key(s->id, &key, err)) < 0) {
		return (rv);
	}
	/* Encode before the write txn: the writer lock is held only for the
	 * copy into the map. */
	msgpack_sbuffer_init(&sbuf);
	if ((rv = proto_sandbox_encode(&sbuf, s, err)) < 0) {
		msgpack_sbuffer_destroy(&sbuf);
		cradle_err_wrap(err, "failed to store sandbox \"%s\"", s->id);
		return (rv);
	}
	val.mv_data = sbuf.data;
	val.mv_size = sbuf.size;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
		msgpack_sbuffer_destroy(&sbuf);
		return (store_err(err, rc, "failed to store sandbox \"%s\" in "
		    "\"%s\"", s->id, st->path));
	}
	if ((rc = mdb_put(txn, st->sandboxes, &key, &val, 0)) != 0) {
		mdb_txn_abort(txn);
		msgpack_sbuffer_destroy(&sbuf);
		return (store_err(err, rc, "failed to store sandbox \"%s\" in "
		    "\"%s\"", s->id, st->path));
	}
	msgpack_sbuffer_destroy(&sbuf);
	/* commit frees txn whether or not it succeeds */
	if ((rc = mdb_txn_commit(txn)) != 0) {
		return (store_err(err, rc, "failed to store sandbox \"%s\" in "
		    "\"%s\"", s->id, st->path));
	}
	return (0);
}

int
store_del_sandbox(struct store *st, const char *id, struct cradle_err *err)
{
	MDB_txn *txn;
	MDB_val key;
	int rc, rv;

	if ((rv = make_key(id, &key, err)) < 0) {
		return (rv);
	}
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
		return (store_err(err, rc, "failed to delete sandbox \"%s\" "
		    "from \"%s\"", id, st->path));
	}
	rc = mdb_del(txn, st->sandboxes, &key, NULL);
	if (rc == MDB_NOTFOUND) {
		/* Already gone is what the caller wanted. */
		mdb_txn_abort(txn);
		return (0);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return (store_err(err, rc, "failed to delete sandbox \"%s\" "
		    "from \"%s\"", id, st->path));
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		return (store_err(err, rc, "failed to delete sandbox \"%s\" "
		    "from \"%s\"", id, st->path));
	}
	return (0);
}

/* Decode one stored value for key id.  A record that does not decode, or
 * whose id is not its key, is corrupt: INTERNAL, since the caller did
 * nothing wrong.  On failure out owns nothing. */
static int
decode_record(const char *id, const void *buf, size_t len,
    const char *path, struct proto_sandbox *out, struct cradle_err *err)
{
	int rv;

	memset(out, 0, sizeof(*out));
	rv = proto_sandbox_decode(buf, len, out, err);
	if (rv < 0) {
		proto_sandbox_fini(out);
		cradle_err_wrap(err, "corrupt record for sandbox \"%s\" in "
		    "\"%s\"", id, path);
		if (err != NULL) {
			err->code = CRADLE_INTERNAL;
		}
		return (-EIO);
	}
	if (strncmp(out->id, id, CRADLE_ID_LEN + 1) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL, "corrupt record for "
		    "sandbox \"%s\" in \"%s\": it holds id \"%s\"", id, path,
		    out->id);
		proto_sandbox_fini(out);
		return (-EIO);
	}
	return (0);
}

int
store_get_sandbox(struct store *st, const char *id, struct proto_sandbox *out,
    struct cradle_err *err)
{
	MDB_txn *txn;
	MDB_val key, val;
	int rc, rv;

	/* On every failure out owns nothing, so proto_sandbox_fini on it is
	 * always safe. */
	memset(out, 0, sizeof(*out));
	pod_config_init(&out->config);
	if ((rv = make_key(id, &key, err)) < 0) {
		return (rv);
	}
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0) {
		return (store_err(err, rc, "failed to read sandbox \"%s\" "
		    "from \"%s\"", id, st->path));
	}
	rc = mdb_get(txn, st->sandboxes, &key, &val);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		cradle_err_set(err, CRADLE_NOT_FOUND,
		    "sandbox \"%s\" not found in store \"%s\"", id, st->path);
		return (-ENOENT);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return (store_err(err, rc, "failed to read sandbox \"%s\" "
		    "from \"%s\"", id, st->path));
	}
	/* val points into the map, valid only until the txn ends: decode
	 * (which copies every string) first. */
	rv = decode_record(id, val.mv_data, val.mv_size, st->path, out, err);
	mdb_txn_abort(txn);
	return (rv);
}

/* One raw record copied out of the read transaction. */
struct raw {
	char *key;                   /* NUL-terminated copy of the key */
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

/* Copy every record of dbi (named what, for messages) out, in key order,
 * and end the transaction. */
static int
read_all(struct store *st, MDB_dbi dbi, const char *what, struct raw **out,
    size_t *nout, struct cradle_err *err)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	struct raw *v = NULL, *nv;
	size_t n = 0, cap = 0;
	int rc, rv = 0;

	*out = NULL;
	*nout = 0;
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0) {
		return (store_err(err, rc, "failed to read %s from "
		    "\"%s\"", what, st->path));
	}
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return (store_err(err, rc, "failed to read %s from "
		    "\"%s\"", what, st->path));
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				rv = -ENOMEM;
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
			rv = -ENOMEM;
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
	if (rv == -ENOMEM) {
		raws_free(v, n);
		return (cradle_err_errno(err, ENOMEM, "failed to read "
		    "%s from \"%s\"", what, st->path));
	}
	if (rc != MDB_NOTFOUND) {
		raws_free(v, n);
		return (store_err(err, rc, "failed to read %s from "
		    "\"%s\"", what, st->path));
	}
	*out = v;
	*nout = n;
	return (0);
}

int
store_foreach_sandbox(struct store *st,
    int (*fn)(struct proto_sandbox *s, void *arg),
    void (*bad)(const char *id, const struct cradle_err *e, void *arg),
    void *arg, struct cradle_err *err)
{
	struct proto_sandbox rec;
	struct cradle_err e;
	struct raw *v;
	size_t n, i;
	int rv;

	if ((rv = read_all(st, st->sandboxes, "sandboxes", &v, &n,
	    err)) < 0) {
		return (rv);
	}
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		/* A key that is not an id was not written by us: as corrupt
		 * as an undecodable value.  (A NUL inside the key shortens
		 * the copy; the length check catches that too.) */
		if (strlen(v[i].key) != CRADLE_ID_LEN ||
		    !proto_valid_id(v[i].key)) {
			cradle_err_set(&e, CRADLE_INTERNAL, "corrupt record in "
			    "\"%s\": key \"%s\" is not a sandbox id", st->path,
			    v[i].key);
			if (bad != NULL) {
				bad(v[i].key, &e, arg);
			}
			continue;
		}
		if (decode_record(v[i].key, v[i].val, v[i].len, st->path,
		    &rec, &e) < 0) {
			if (bad != NULL) {
				bad(v[i].key, &e, arg);
			}
			continue;
		}
		rv = fn(&rec, arg);
		proto_sandbox_fini(&rec);
		if (rv < 0) {
			break;
		}
		rv = 0;
	}
	raws_free(v, n);
	return (rv < 0 ? rv : 0);
}

/* ------------------------------------------------------------------ */
/* raw keyed records in other databases                               */

/* A database name of the raw API: 1..64 of [a-z0-9_.-], and not one this
 * file keeps records of its own shape in. */
static int
check_db_name(const char *db, struct cradle_err *err)
{
	size_t i, n;

	if (db == NULL) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		    "invalid database name: NULL");
		return (-EINVAL);
	}
	n = strnlen(db, STORE_DB_NAME_MAX + 1);
	if (n == 0 || n > STORE_DB_NAME_MAX) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "invalid database "
		    "name \"%.*s%s\": must be 1 to %d characters", 64, db,
		    n > STORE_DB_NAME_MAX ? "..." : "", STORE_DB_NAME_MAX);
		return (-EINVAL);
	}
	for (i = 0; i < n; i++) {
		char c = db[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-' || c == '.')) {
			cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "invalid "
			    "database name \"%s\": only a-z, 0-9, '_', '-' and "
			    "'.' are allowed", db);
			return (-EINVAL);
		}
	}
	if (strcmp(db, STORE_DB_SANDBOXES) == 0) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "database \"%s\" "
		    "holds sandbox records: use the sandbox functions", db);
		return (-EINVAL);
	}
	return (0);
}

/* A raw key: 1..STORE_KEY_MAX bytes, stored without its NUL. */
static int
make_raw_key(const char *db, const char *k, MDB_val *key,
    struct cradle_err *err)
{
	size_t n;

	if (k == NULL) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "invalid key in "
		    "database \"%s\": NULL", db);
		return (-EINVAL);
	}
	n = strnlen(k, STORE_KEY_MAX + 1);
	if (n == 0) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "invalid key in "
		    "database \"%s\": empty", db);
		return (-EINVAL);
	}
	if (n > STORE_KEY_MAX) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "invalid key "
		    "\"%.64s...\" in database \"%s\": longer than %d bytes", k,
		    db, STORE_KEY_MAX);
		return (-ENAMETOOLONG);
	}
	key->mv_data = (void *)k;
	key->mv_size = n;
	return (0);
}

/* The handle of raw database db, creating the database on first use. */
static int
raw_dbi(struct store *st, const char *db, MDB_dbi *out,
    struct cradle_err *err)
{
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	size_t i;
	int rc, rv;

	if ((rv = check_db_name(db, err)) < 0) {
		return (rv);
	}
	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->n_raw; i++) {
		if (strcmp(st->raw[i].name, db) == 0) {
			*out = st->raw[i].dbi;
			pthread_mutex_unlock(&st->lock);
			return (0);
		}
	}
	if (st->n_raw == STORE_RAW_MAX) {
		pthread_mutex_unlock(&st->lock);
		cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "cannot open "
		    "database \"%s\" in store \"%s\": %d databases are open "
		    "already", db, st->path, STORE_RAW_MAX);
		return (-ENOSPC);
	}
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, db, MDB_CREATE, &dbi)) != 0) {
		if (txn != NULL) {
			mdb_txn_abort(txn);
		}
		pthread_mutex_unlock(&st->lock);
		return (store_err(err, rc, "failed to open database \"%s\" in "
		    "store \"%s\"", db, st->path));
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		pthread_mutex_unlock(&st->lock);
		return (store_err(err, rc, "failed to open database \"%s\" in "
		    "store \"%s\"", db, st->path));
	}
	/* name fits: check_db_name bounded it */
	snprintf(st->raw[st->n_raw].name, sizeof(st->raw[0].name), "%s", db);
	st->raw[st->n_raw].dbi = dbi;
	st->n_raw++;
	pthread_mutex_unlock(&st->lock);
	*out = dbi;
	return (0);
}

int
store_put_raw(struct store *st, const char *db, const char *key,
    const void *data, size_t len, struct cradle_err *err)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, val;
	int rc, rv;

	if ((rv = check_db_name(db, err)) < 0 ||
	    (rv = make_raw_key(db, key, &k, err)) < 0 ||
	    (rv = raw_dbi(st, db, &dbi, err)) < 0) {
		return (rv);
	}
	if (data == NULL && len > 0) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "failed to store "
		    "\"%s\" in database \"%s\": no data", key, db);
		return (-EINVAL);
	}
	val.mv_data = (void *)(data != NULL ? data : "");
	val.mv_size = len;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
		return (store_err(err, rc, "failed to store \"%s\" in database "
		    "\"%s\" of \"%s\"", key, db, st->path));
	}
	if ((rc = mdb_put(txn, dbi, &k, &val, 0)) != 0) {
		mdb_txn_abort(txn);
		return (store_err(err, rc, "failed to store \"%s\" in database "
		    "\"%s\" of \"%s\"", key, db, st->path));
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		return (store_err(err, rc, "failed to store \"%s\" in database "
		    "\"%s\" of \"%s\"", key, db, st->path));
	}
	return (0);
}

int
store_get_raw(struct store *st, const char *db, const char *key,
    void **data, size_t *len, struct cradle_err *err)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, val;
	char *copy;
	int rc, rv;

	*data = NULL;
	*len = 0;
	if ((rv = check_db_name(db, err)) < 0 ||
	    (rv = make_raw_key(db, key, &k, err)) < 0 ||
	    (rv = raw_dbi(st, db, &dbi, err)) < 0) {
		return (rv);
	}
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0) {
		return (store_err(err, rc, "failed to read \"%s\" from "
		    "database \"%s\" of \"%s\"", key, db, st->path));
	}
	rc = mdb_get(txn, dbi, &k, &val);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		cradle_err_set(err, CRADLE_NOT_FOUND, "\"%s\" not found in "
		    "database \"%s\" of \"%s\"", key, db, st->path);
		return (-ENOENT);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return (store_err(err, rc, "failed to read \"%s\" from "
		    "database \"%s\" of \"%s\"", key, db, st->path));
	}
	/* val points into the map, valid only until the txn ends.  One
	 * extra byte, a NUL, so text values are C strings. */
	copy = malloc(val.mv_size + 1);
	if (copy == NULL) {
		mdb_txn_abort(txn);
		return (cradle_err_errno(err, ENOMEM, "failed to read \"%s\" "
		    "from database \"%s\" of \"%s\"", key, db, st->path));
	}
	memcpy(copy, val.mv_data, val.mv_size);
	copy[val.mv_size] = '\0';
	*len = val.mv_size;
	mdb_txn_abort(txn);
	*data = copy;
	return (0);
}

int
store_del_raw(struct store *st, const char *db, const char *key,
    struct cradle_err *err)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k;
	int rc, rv;

	if ((rv = check_db_name(db, err)) < 0 ||
	    (rv = make_raw_key(db, key, &k, err)) < 0 ||
	    (rv = raw_dbi(st, db, &dbi, err)) < 0) {
		return (rv);
	}
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
		return (store_err(err, rc, "failed to delete \"%s\" from "
		    "database \"%s\" of \"%s\"", key, db, st->path));
	}
	rc = mdb_del(txn, dbi, &k, NULL);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return (0);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return (store_err(err, rc, "failed to delete \"%s\" from "
		    "database \"%s\" of \"%s\"", key, db, st->path));
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		return (store_err(err, rc, "failed to delete \"%s\" from "
		    "database \"%s\" of \"%s\"", key, db, st->path));
	}
	return (0);
}

int
store_foreach_raw(struct store *st, const char *db,
    int (*fn)(const char *key, const void *data, size_t len, void *arg),
    void *arg, struct cradle_err *err)
{
	char what[STORE_DB_NAME_MAX + 16];
	struct raw *v;
	MDB_dbi dbi;
	size_t n, i;
	int rv;

	if ((rv = raw_dbi(st, db, &dbi, err)) < 0) {
		return (rv);
	}
	snprintf(what, sizeof(what), "database \"%s\"", db);
	if ((rv = read_all(st, dbi, what, &v, &n, err)) < 0) {
		return (rv);
	}
	for (i = 0; i < n; i++) {
		if ((rv = fn(v[i].key, v[i].val, v[i].len, arg)) < 0) {
			break;
		}
		rv = 0;
	}
	raws_free(v, n);
	return (rv < 0 ? rv : 0);
}
