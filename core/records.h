/* records.h - sandbox records on the store.
 *
 * Database "sandboxes" of the store (util/store.h): key = the 64-character
 * id, value = the msgpack record of proto_sandbox_encode (the same shape
 * sandbox.status returns).  Every put/del is its own committed write
 * transaction, so a record is on disk before the reply that reports it.
 * A stored record that does not decode, or whose id is not its key, is
 * corrupt: INTERNAL (-EIO), since the caller did nothing wrong.
 */
#ifndef CRADLE_CORE_RECORDS_H
#define CRADLE_CORE_RECORDS_H

#include "proto/err.h"
#include "proto/proto.h"
#include "util/store.h"

#define RECORDS_DB "sandboxes"

int records_put(struct store *st, const struct proto_sandbox *s, struct cradle_err *err);
/* Deleting an absent id succeeds. */
int records_del(struct store *st, const char *id, struct cradle_err *err);
/* 0 and *out filled, or -ENOENT with NOT_FOUND.  On any failure *out owns
 * nothing (proto_sandbox_fini on it is safe). */
int records_get(struct store *st, const char *id, struct proto_sandbox *out,
                struct cradle_err *err);
/* Calls fn for every record in id order; fn gets a decoded record it may
 * steal from (it is finalised after fn returns) and may put and delete
 * records.  A record that fails to decode is reported through
 * bad(id, err, arg) when bad is not NULL, and skipped.  fn returning <0
 * stops the walk and is returned. */
int records_foreach(struct store *st, int (*fn)(struct proto_sandbox *s, void *arg),
                    void (*bad)(const char *id, const struct cradle_err *e, void *arg), void *arg,
                    struct cradle_err *err);

#endif
