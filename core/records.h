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
 * bad(key, data, len, err, arg) (its key and its raw bytes, for
 * records_quarantine) when bad is not NULL, and skipped.  fn returning <0
 * stops the walk and is returned. */
int records_foreach(struct store *st, int (*fn)(struct proto_sandbox *s, void *arg),
                    void (*bad)(const char *key, const void *data, size_t len,
                                const struct cradle_err *e, void *arg),
                    void *arg, struct cradle_err *err);

/* Quarantine: database "quarantine" of the same store keeps the records
 * that could not be read, so that nothing of a sandbox whose record is
 * corrupt is forgotten (recovery keeps its directories, cgroup and task
 * and reports it; docs/OPERATIONS.md).  key = the key it had in
 * "sandboxes"; value = text lines "cradle-quarantine 1", "at <ns since the
 * epoch>", "reason <why>", an empty line, then the record's raw bytes
 * (readable with mdb_dump -p). */
#define RECORDS_QUARANTINE_DB "quarantine"

/* Move the raw record data/len of key from "sandboxes" to the quarantine,
 * with reason: put there first, then deleted here (a crash in between
 * leaves it in both, and the next start-up moves it again).  On failure
 * the record stays where it was. */
int records_quarantine(struct store *st, const char *key, const void *data, size_t len,
                       const char *reason, struct cradle_err *err);
/* One quarantined record, as records_quarantined_foreach hands it on;
 * the pointers live until fn returns.  A value that is not the form above
 * is shown with reason "(unreadable quarantine entry)" and its bytes as
 * the record. */
struct records_quarantined {
	const char *key;
	const char *reason;
	int64_t at;
	const void *record;
	size_t len;
};
/* Calls fn for every quarantined record in key order; fn returning <0
 * stops the walk and is returned.  fn may delete. */
int records_quarantined_foreach(struct store *st,
                                int (*fn)(const struct records_quarantined *q, void *arg),
                                void *arg, struct cradle_err *err);
/* Delete every quarantined record: how many, or <0. */
long records_drop_quarantined(struct store *st, struct cradle_err *err);

#endif
