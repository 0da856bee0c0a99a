/* events.h - exit events on an nng PUB socket.
 *
 * Messages are msgpack maps (proto_event_encode) with a sequence number that
 * starts at 1 for each daemon run and has no gaps: it is assigned under the
 * publisher's lock, in publishing order.  Subscribers subscribe to every
 * message (empty topic); the "type" field says what happened.
 */
#ifndef CRADLE_EVENTS_H
#define CRADLE_EVENTS_H

#include "../proto/err.h"
#include "../proto/proto.h"

struct events;

int events_open(const char *url, struct events **out, struct cradle_err *err);
void events_close(struct events *ev);   /* NULL-safe */
/* Assigns ev->seq and sends; a send failure is logged, never fatal. */
void events_publish(struct events *e, struct proto_event *ev);

#endif
