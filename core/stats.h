/* stats.h - how long starts and stops take, step by step, for everyone to
 * see (daemon.stats, the metrics endpoint, `cradle inspectp -v`).
 *
 * Every start and stop is timed per step of its pipeline with
 * CLOCK_MONOTONIC and counted into fixed log-scale histograms (the wire's
 * buckets, proto.h: bucket i holds up to 2^i us), one per step and one
 * for the whole operation, plus failures by error code.  Recording is a
 * few relaxed atomic adds into the calling thread's own shard of the
 * counters (threads are spread over STATS_SHARDS cache-line aligned
 * shards), so workers never take a lock and rarely share a line; readers
 * add the shards up.  A snapshot is not atomic across counters, but each
 * histogram's count is the sum of its buckets as read, so the two always
 * agree.
 *
 * Step names belong to the code, not to a daemon: one process-wide table
 * maps (operation, step index) to the name the pipeline gave it (a string
 * with static storage), set as the pipeline runs.  The gauges (requests
 * waiting, sandboxes by phase) are read when asked, from the queue and
 * the table the stats were made with.
 */
#ifndef CRADLE_CORE_STATS_H
#define CRADLE_CORE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"
#include "proto/proto.h"

struct queue;
struct table;

/* The operations timed (enum proto_timed) and their steps. */
enum stats_op { STATS_START = PROTO_TIMED_START, STATS_STOP = PROTO_TIMED_STOP };
#define STATS_N_OPS PROTO_TIMED_OPS
/* Steps of one operation that can be told apart; a pipeline with more
 * fails to compile (worker/start.c asserts it). */
#define STATS_MAX_STEPS 24
#define STATS_SHARDS 16

_Static_assert(STATS_MAX_STEPS <= PROTO_MAX_STEPS, "more steps than the wire carries");

struct stats;

/* q and t (either may be NULL: that gauge reads 0) must outlive the
 * stats. */
int stats_new(const struct queue *q, struct table *t, struct stats **out, struct cradle_err *err);
void stats_free(struct stats *st); /* NULL is fine */

/* --- recording (st may be NULL: only the name is kept) ---------------- */

/* Step i (< STATS_MAX_STEPS, else ignored) of op took ns; name it (a
 * string with static storage, a valid step name). */
void stats_step(struct stats *st, int op, unsigned i, const char *name, int64_t ns);
/* Name step i of op without timing it (a step that had nothing to do). */
void stats_name_step(int op, unsigned i, const char *name);
/* One whole operation ended after ns with code (CRADLE_OK or its error). */
void stats_done(struct stats *st, int op, int64_t ns, int code);
/* The code to count for a failed operation: err's, INTERNAL when it has
 * none. */
static inline int
stats_failure_code(const struct cradle_err *err)
{
	return err != NULL && err->code != CRADLE_OK ? err->code : CRADLE_INTERNAL;
}

/* The name of step i of op, NULL when no pipeline named it yet. */
const char *stats_step_name(int op, unsigned i);
/* ns as whole microseconds for a struct sandbox's step times: rounded
 * up, 0 for negative, UINT32_MAX when longer. */
uint32_t stats_us(int64_t ns);

/* --- reading ----------------------------------------------------------- */

/* The counters as daemon.stats sends them (proto.h): histograms with
 * their p50 and p99, steps in order up to the last one named, failures by
 * code, and the gauges read now.  out is overwritten. */
void stats_read(struct stats *st, struct proto_stats *out);

/* Sandboxes of t by phase (enum proto_phase), as status shows them: from
 * each sandbox's published view (core/table.h), so a reader never waits
 * behind a start.  counts[PROTO_N_PHASES]. */
void stats_count_sandboxes(struct table *t, uint64_t *counts);

/* Requests waiting in q for a worker. */
uint64_t stats_queue_depth(const struct queue *q);

#endif
