/* events.h - sandbox and image events on an nng PUB socket.
 *
 * Messages are msgpack maps (proto_event_encode) with a sequence number
 * that starts at 1 for each daemon run and has no gaps: it is assigned
 * under the publisher's lock, in publishing order.  Subscribers subscribe
 * to every message (empty topic); the "type" field says what happened.
 * pub0 never blocks a publisher: a subscriber too slow to keep up loses
 * messages (it sees a gap in seq).
 */
#ifndef CRADLE_CORE_EVENTS_H
#define CRADLE_CORE_EVENTS_H

#include "proto/err.h"
#include "proto/proto.h"

struct events;

int events_open(const char *url, struct events **out, struct cradle_err *err);
void events_close(struct events *e); /* NULL-safe */

/* Assigns ev->seq and sends; a send failure is logged, never fatal.
 * e may be NULL (nothing is published). */
void events_publish(struct events *e, struct proto_event *ev);

/* For a caller that must hand over from its own lock to the publisher's
 * without letting another publisher in between (core/lifecycle.c):
 * events_lock, drop the caller's lock, events_publish_locked for each
 * event, events_unlock.  The publisher's lock is a leaf.  NULL-safe. */
void events_lock(struct events *e);
void events_publish_locked(struct events *e, struct proto_event *ev);
void events_unlock(struct events *e);

#endif
