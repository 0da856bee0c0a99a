/* store.h - cradle's on-disk state: one LMDB environment under <root>.
 *
 * Database "sandboxes": id (64 hex) -> msgpack record (proto_sandbox_encode).
 * Every put/del is its own committed write transaction, so a record is on
 * disk before the reply that reports it (MDB_NOSYNC is not used).
 * Thread-safe: LMDB serialises writers; readers use their own txns
 * (MDB_NOTLS, so any thread may read).
 */
#ifndef CRADLE_STORE_H
#define CRADLE_STORE_H

#include <stddef.h>

#include "../proto/err.h"
#include "../proto/proto.h"

struct store;

/* Opens (creating) <dir>/cradle.mdb (a directory made 0700). */
/* (dir is made with mkdir -p, 0700; the environment's files are
 * <dir>/cradle.mdb/data.mdb and lock.mdb.  Open a store at most once per
 * process: LMDB forbids opening one environment twice in a process.) */
int store_open(const char *dir, struct store **out, struct cradle_err *err);
void store_close(struct store *st);   /* NULL-safe */

int store_put_sandbox(struct store *st, const struct proto_sandbox *s,
                      struct cradle_err *err);
/* Deleting an absent id succeeds. */
int store_del_sandbox(struct store *st, const char *id, struct cradle_err *err);
/* 0 and *out filled, or -ENOENT with NOT_FOUND.  On any failure *out owns
 * nothing (proto_sandbox_fini on it is safe); a record that does not decode
 * is INTERNAL. */
int store_get_sandbox(struct store *st, const char *id, struct proto_sandbox *out,
                      struct cradle_err *err);

/* Calls fn for every record in id order; fn gets a decoded record it may
 * steal from (it is finalised after fn returns).  A record that fails to
 * decode is reported through bad(id, err, arg) when bad is not NULL and
 * skipped.  fn returning <0 stops the walk and is returned.
 * (The records are read in one transaction that ends before the first call,
 * so fn may put and delete records.) */
int store_foreach_sandbox(struct store *st,
                          int (*fn)(struct proto_sandbox *s, void *arg),
                          void (*bad)(const char *id, const struct cradle_err *e, void *arg),
                          void *arg, struct cradle_err *err);

/* --- raw records in other databases ---
 *
 * Opaque values under string keys in named databases of the same
 * environment ("images", and whatever comes next), each put/del its own
 * committed write transaction like the sandbox functions.  db: 1..64 of
 * [a-z0-9_.-], created on first use, not "sandboxes" (INVALID_ARGUMENT);
 * up to 31 such databases.  key: 1..511 bytes (LMDB's key limit), stored
 * without the NUL; longer or empty keys are INVALID_ARGUMENT (-ENAMETOOLONG
 * for too long).
 */
int store_put_raw(struct store *st, const char *db, const char *key, const void *data,
                  size_t len, struct cradle_err *err);
/* *data is a malloc'd copy (with a NUL after the last byte, not counted in
 * *len); -ENOENT with NOT_FOUND when the key is absent, *data NULL. */
int store_get_raw(struct store *st, const char *db, const char *key, void **data, size_t *len,
                  struct cradle_err *err);
/* Deleting an absent key succeeds. */
int store_del_raw(struct store *st, const char *db, const char *key, struct cradle_err *err);
/* Calls fn for every record in key order (bytewise), with copies that live
 * until fn returns (data NUL-terminated as above).  All records are read in
 * one transaction that ends before the first call, so fn may put and
 * delete.  fn returning <0 stops the walk and is returned. */
int store_foreach_raw(struct store *st, const char *db,
                      int (*fn)(const char *key, const void *data, size_t len, void *arg),
                      void *arg, struct cradle_err *err);

#endif
