/* libsub.h - a subscriber to a core/events.h publisher, for the unit tests
 * of core/ and the layers above it.
 *
 * pub0 drops what it sends before a subscriber's pipe is up, so
 * unit_sub_attach publishes "image.progress" probes (ref UNIT_SUB_PROBE)
 * until one arrives, then drains the rest: after it, every event the
 * publisher sends reaches the subscriber.  Start it inside the test (it
 * starts nng's threads).
 */
#ifndef CRADLE_TESTS_UNIT_CORE_LIBSUB_H
#define CRADLE_TESTS_UNIT_CORE_LIBSUB_H

#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "core/events.h"
#include "proto/proto.h"

#define UNIT_SUB_PROBE "test.probe" /* the ref of the probes: no image */

/* Open *sub, subscribe to everything on url and wait until ev's events
 * reach it.  Returns the last probe's seq (the next event is seq + 1). */
uint64_t unit_sub_attach(nng_socket *sub, const char *url, struct events *ev);

/* The next event, decoded; false when none came within timeout_ms. */
bool unit_sub_recv(nng_socket sub, int timeout_ms, struct proto_event *out);

#endif
