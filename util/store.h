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
 *
 * A store opened with store_opts.nosync (store_open_opts) does not flush
 * its commits; every other store flushes each commit before returning.
 */
#ifndef CRADLE_UTIL_STORE_H
#define CRADLE_UTIL_STORE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/err.h"

struct store;

/* Opens (creating) <dir>/cradle.mdb; dir is made with mkdir -p, 0700.
 * Open a store at most once per process: LMDB forbids opening one
 * environment twice in a process. */
int store_open(const char *dir, struct store **out, struct cradle_err *err);

/* How store_open_opts opens an environment; a zeroed struct (or NULL)
 * is what store_open does. */
struct store_opts {
	const char *name; /* the environment's directory under dir;
	                   * NULL: "cradle.mdb" */
	size_t map_size;  /* address space for the data file, bytes
	                   * (rounded up to pages); 0: 1 GiB */
	/* Commits are not flushed to disk: a write survives a crash of the
	 * process (it is in the page cache) but not of the machine, and a
	 * machine crash may leave the environment torn.  For data that may
	 * be thrown away after a reboot (the event log, core/events.c). */
	bool nosync;
};
int store_open_opts(const char *dir, const struct store_opts *opts, struct store **out,
                    struct cradle_err *err);
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

/* Records under 64-bit keys, stored big-endian so that LMDB's bytewise
 * order is numeric order (the event log: key = seq).  Same database
 * rules as above; a database holds either string or u64 keys. */
int store_put_u64(struct store *st, const char *db, uint64_t key, const void *data, size_t len,
                  struct cradle_err *err);
/* The smallest and largest key; -ENOENT with NOT_FOUND when db is empty. */
int store_bounds_u64(struct store *st, const char *db, uint64_t *first, uint64_t *last,
                     struct cradle_err *err);
/* Calls fn for the records with key >= from, in key order, at most max of
 * them, in one read transaction: data points into the map and lives until
 * fn returns; fn must not write the store.  fn returning <0 stops the walk
 * and is returned, >0 stops it early.  Returns how many fn was called for. */
long store_range_u64(struct store *st, const char *db, uint64_t from, size_t max,
                     int (*fn)(uint64_t key, const void *data, size_t len, void *arg), void *arg,
                     struct cradle_err *err);
/* Delete every record with key < below, in one transaction; how many. */
long store_del_below_u64(struct store *st, const char *db, uint64_t below, struct cradle_err *err);

/* Unmap the pages of the store file this process has touched (they count
 * in its RSS; the next access maps them again from the page cache).  For
 * after many records went away; the writes call it themselves every few
 * hundred commits, so that the pages a growing store touched do not pile
 * up in the RSS either. */
void store_trim(struct store *st);

#endif
