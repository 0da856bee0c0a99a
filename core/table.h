/* table.h - the in-memory sandbox table: id -> sandbox, name -> id.
 *
 * The table has one rwlock that is held only for lookups and insert/remove;
 * every sandbox has its own mutex (sb->lock) that serialises operations on
 * that sandbox, so different sandboxes run in parallel.  Lock order: never
 * take the table lock while holding a sandbox lock... except through
 * table_del, which is allowed (the table lock is a leaf).
 *
 * Sandboxes are reference counted: table_get returns a held reference that
 * the caller releases with sandbox_rele; the table holds one reference of its
 * own from table_add until table_del.  The last rele frees the sandbox.
 *
 * Names are reserved as CRI does: "<name>_<namespace>_<uid>_<attempt>".  A
 * second table_add with the same name is ALREADY_EXISTS:
 *   failed to reserve sandbox name "N": name "N" is reserved for "ID"
 */
#ifndef CRADLE_TABLE_H
#define CRADLE_TABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/stats.h"
#include "proto/err.h"
#include "proto/proto.h"

/* An event raised under a sandbox's lock, published after it is dropped. */
struct sandbox_event {
	struct sandbox_event *next;
	struct proto_event ev;
};

struct sandbox {
	/* immutable after table_add */
	char id[CRADLE_ID_LEN + 1];
	char *name; /* reserved name, owned */

	pthread_mutex_t lock;          /* guards everything below */
	pthread_cond_t cond;           /* broadcast when rec.phase changes */
	struct proto_sandbox rec;      /* the record as stored; rec.id == id */
	int pidfd;                     /* -1 when no live pause task */
	bool removed;                  /* set by remove, under lock */
	struct sandbox_event *pending; /* events to publish at sandbox_unlock
	                                  (core/lifecycle.h), oldest first */

	/* What status and list read without waiting for lock, which a start
	 * holds for as long as it runs (an image pull included): rec (and
	 * removed) as sandbox_new and every sandbox_unlock (core/lifecycle.h)
	 * published it.  The view is rec encoded (proto_sandbox_encode), one
	 * allocation: a second structured copy of every pod's config and
	 * spec pairs cost more daemon memory than all the rest of a
	 * sandbox, while a list copies the encoded bytes straight into its
	 * reply and a status decodes them.  view_lock is a leaf, held only
	 * to read or swap the view; every view_* field is guarded by it. */
	pthread_mutex_t view_lock;
	char *view_msg; /* owned, exactly view_len bytes */
	size_t view_len;
	int view_phase; /* rec.phase as published */
	bool view_removed;
	/* The step times of the last start and of the last stop that did
	 * something (core/stats.h), in us: written by the operation (sb->lock
	 * held), read by a verbose status, both under view_lock. */
	uint32_t step_us[STATS_N_OPS][STATS_MAX_STEPS];
	uint8_t n_steps[STATS_N_OPS];

	atomic_int refs;
};

struct table;

int table_init(struct table **out);
void table_fini(struct table *t); /* drops the table's references */

/* Allocate a sandbox with one reference (the caller's); rec is moved in
 * (rec is zeroed).  name must be set by sandbox_make_name.
 * (sandbox_new leaves name NULL and pidfd -1; table_add derives the name
 * from rec.config when it is still NULL.  NULL on OOM, rec untouched.) */
struct sandbox *sandbox_new(struct proto_sandbox *rec);
void sandbox_hold(struct sandbox *sb);
/* Publish rec and removed as the view; the caller holds sb->lock.  On OOM
 * the previous view stays and -ENOMEM is returned. */
int sandbox_publish(struct sandbox *sb);
/* The published view decoded into *out (initialised here; the caller
 * fini's it); view_lock held.  -ENOMEM (err filled) when out of memory. */
int sandbox_view_decode(const struct sandbox *sb, struct proto_sandbox *out,
                        struct cradle_err *err);
void sandbox_rele(struct sandbox *sb);

/* "<name>_<namespace>_<uid>_<attempt>", malloc'd, NULL on OOM. */
char *sandbox_make_name(const struct pod_config *c);

/* Insert; the table takes its own reference.  ALREADY_EXISTS when the id or
 * the name is taken; RESOURCE_EXHAUSTED (-ENOSPC) when the table holds its
 * limit already (table_set_limit). */
int table_add(struct table *t, struct sandbox *sb, struct cradle_err *err);
/* At most limit sandboxes from now on (0: no limit, as after table_init).
 * Those already in the table stay, even above it: the daemon sets it
 * after recovery, which adopts every record whatever the limit. */
void table_set_limit(struct table *t, size_t limit);
/* Held reference or NULL. */
struct sandbox *table_get(struct table *t, const char *id);
/* Remove id and name; drops the table's reference.  No-op if absent. */
void table_del(struct table *t, struct sandbox *sb);
size_t table_count(struct table *t);
/* Sandbox records recovery set aside as unreadable (server/recover.h),
 * for daemon.stats: kept here beside the count of those it holds. */
void table_set_quarantined(struct table *t, size_t n);
size_t table_quarantined(struct table *t);
/* Snapshot: array of held references (caller rele's each and frees the
 * array).  Returns count, or -ENOMEM.  Sorted by id; *out is NULL when the
 * count is 0. */
long table_snapshot(struct table *t, struct sandbox ***out);

#endif
