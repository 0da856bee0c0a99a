/* events.h - sandbox and image events on an nng PUB socket, kept for
 * replay.
 *
 * Messages are msgpack maps (proto_event_encode) with a sequence number
 * assigned under the publisher's lock, in publishing order, with no gaps.
 * Subscribers subscribe to every message (empty topic); the "type" field
 * says what happened.  pub0 never blocks a publisher: a subscriber too
 * slow to keep up loses messages (it sees a gap in seq) and fills the gap
 * from the log (events_since, the events.since request).
 *
 * The log.  With events_config.dir set, every event is stored before it
 * is sent, in <dir>/events.mdb (an LMDB environment of its own, opened
 * MDB_NOSYNC: an event survives a crash of the daemon, not of the
 * machine; util/store.h), key = seq.  The last `keep` events at least are
 * kept; older ones are deleted in batches (keep/8 of slack, 16..4096).
 * seq goes on from the log's last event when the daemon starts again.
 *
 * Seqs are never reused, even when the log is lost (a reboot empties
 * <state>, a tmpfs on a real node; a log written in an earlier boot is
 * discarded, since a machine crash may have torn it): the durable store
 * (cradle.mdb) keeps a reservation, a seq no run has reached, written
 * once per start (2^32 ahead).  A daemon that finds no log starts after
 * the reservation, so subscribers see a gap that events.since reports as
 * lost (NOT_FOUND), never old numbers again.
 */
#ifndef CRADLE_CORE_EVENTS_H
#define CRADLE_CORE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/err.h"
#include "proto/proto.h"
#include "util/store.h"

struct events;

#define EVENTS_KEEP_DEFAULT 65536

struct events_config {
	const char *url;       /* where subscribers dial; NULL: nothing is sent */
	const char *dir;       /* where events.mdb goes; NULL: nothing is kept */
	size_t keep;           /* events kept for replay; 0: EVENTS_KEEP_DEFAULT */
	struct store *durable; /* holds the seq reservation; NULL: none */
};

/* A publisher that keeps nothing (events_open_config with url only). */
int events_open(const char *url, struct events **out, struct cradle_err *err);
int events_open_config(const struct events_config *cfg, struct events **out,
                       struct cradle_err *err);
/* Open the socket subscribers dial (once; events_open_config does it
 * when cfg->url is set).  Events published before it are in the log. */
int events_listen(struct events *e, const char *url, struct cradle_err *err);
void events_close(struct events *e); /* NULL-safe */

/* Assigns ev->seq, stores and sends; a failure is logged, never fatal.
 * e may be NULL (nothing is published). */
void events_publish(struct events *e, struct proto_event *ev);

/* For a caller that must hand over from its own lock to the publisher's
 * without letting another publisher in between (core/lifecycle.c):
 * events_lock, drop the caller's lock, events_publish_locked for each
 * event, events_unlock.  The publisher's lock is a leaf.  NULL-safe. */
void events_lock(struct events *e);
void events_publish_locked(struct events *e, struct proto_event *ev);
void events_unlock(struct events *e);

/* The last seq assigned (0: none yet). */
uint64_t events_last_seq(struct events *e);

/* The events.since request: up to max (<= PROTO_MAX_EVENTS_PAGE) kept
 * events from seq `from` on (0: from the oldest kept), into rep->events
 * (n_events), with rep->oldest_seq, rep->last_seq and rep->more.  from
 * older than the oldest kept event is NOT_FOUND naming the oldest kept
 * one; a publisher that keeps nothing is FAILED_PRECONDITION. */
int events_since(struct events *e, uint64_t from, size_t max, struct proto_reply *rep,
                 struct cradle_err *err);

#endif
