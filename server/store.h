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
int store_open(const char *dir, struct store **out, struct cradle_err *err);
void store_close(struct store *st);   /* NULL-safe */

int store_put_sandbox(struct store *st, const struct proto_sandbox *s,
                      struct cradle_err *err);
/* Deleting an absent id succeeds. */
int store_del_sandbox(struct store *st, const char *id, struct cradle_err *err);
/* 0 and *out filled, or -ENOENT with NOT_FOUND. */
int store_get_sandbox(struct store *st, const char *id, struct proto_sandbox *out,
                      struct cradle_err *err);

/* Calls fn for every record in id order; fn gets a decoded record it may
 * steal from (it is finalised after fn returns).  A record that fails to
 * decode is reported through bad(id, err, arg) when bad is not NULL and
 * skipped.  fn returning <0 stops the walk and is returned. */
int store_foreach_sandbox(struct store *st,
                          int (*fn)(struct proto_sandbox *s, void *arg),
                          void (*bad)(const char *id, const struct cradle_err *e, void *arg),
                          void *arg, struct cradle_err *err);

#endif
