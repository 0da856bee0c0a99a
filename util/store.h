/* store.h - cradle's on-disk state: one LMDB environment under <root>.
 *
 * Named databases ("sandboxes", "images", ...) of opaque values under
 * string keys.  Every put/del is its own committed write transaction, so
 * a record is on disk before the reply that reports it (MDB_NOSYNC is not
 * used).  Thread-safe: LMDB serialises writers; readers use their own
 * transactions (MDB_NOTLS, so any thread may read).
 *
 * db: 1..64 of [a-z0-9_.-], created on first use; up to 32 databases.
 * key: 1..511 bytes (LMDB's key limit), stored without the NUL; a longer
 * or empty key is INVALID_ARGUMENT (-ENAMETOOLONG for too long).
 */
#ifndef CRADLE_UTIL_STORE_H
#define CRADLE_UTIL_STORE_H

#include <stddef.h>

#include "proto/err.h"

struct store;

/* Opens (creating) <dir>/cradle.mdb; dir is made with mkdir -p, 0700.
 * Open a store at most once per process: LMDB forbids opening one
 * environment twice in a process. */
int store_open(const char *dir, struct store **out, struct cradle_err *err);
void store_close(struct store *st); /* NULL-safe */

int store_put(struct store *st, const char *db, const char *key, const void *data, size_t len,
              struct cradle_err *err);
/* *data is a malloc'd copy (with a NUL after the last byte, not counted in
 * *len); -ENOENT with NOT_FOUND when the key is absent, *data NULL. */
int store_get(struct store *st, const char *db, const char *key, void **data, size_t *len,
              struct cradle_err *err);
/* Deleting an absent key succeeds. */
int store_del(struct store *st, const char *db, const char *key, struct cradle_err *err);
/* Calls fn for every record in key order (bytewise), with copies that live
 * until fn returns (data NUL-terminated as above).  All records are read in
 * one transaction that ends before the first call, so fn may put and
 * delete.  fn returning <0 stops the walk and is returned. */
int store_foreach(struct store *st, const char *db,
                  int (*fn)(const char *key, const void *data, size_t len, void *arg), void *arg,
                  struct cradle_err *err);

/* Unmap the pages of the store file this process has touched (they count
 * in its RSS; the next access maps them again from the page cache).  For
 * after many records went away. */
void store_trim(struct store *st);

#endif
