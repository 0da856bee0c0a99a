/* metrics.h - the Prometheus endpoint: `[metrics] address` (off by
 * default) serves GET /metrics in the text exposition format (version
 * 0.0.4) with nng's own HTTP server.
 *
 * What it shows is core/stats.h read at each scrape: start and stop
 * totals, failures by error code, per-step and whole-operation duration
 * histograms (cumulative buckets in seconds, _sum, _count), requests
 * waiting for a worker and sandboxes by phase.  docs/CONFIGURATION.md
 * lists the series.
 */
#ifndef CRADLE_SERVER_METRICS_H
#define CRADLE_SERVER_METRICS_H

#include <stddef.h>

#include "core/stats.h"
#include "proto/err.h"

struct metrics;

/* Listen on address ("HOST:PORT", as config.c checks it) and serve st,
 * which must outlive the endpoint.  Fails (naming the address) when the
 * port cannot be bound. */
int metrics_start(const char *address, struct stats *st, struct metrics **out,
                  struct cradle_err *err);
/* Stop listening, close every connection; NULL is fine. */
void metrics_stop(struct metrics *m);

/* The exposition text of st, malloc'd (*text, *len bytes, NUL-terminated);
 * 0 or -ENOMEM. */
int metrics_render(struct stats *st, char **text, size_t *len);

#endif
