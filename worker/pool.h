/* pool.h - worker threads over a queue.
 *
 * Each worker pops an item from the queue (sleeping on the queue's
 * semaphore while it is empty) and calls run(item, its launch stack, arg)
 * with no lock held, as nng's taskq does.  Each worker owns a launch stack
 * for the clone3 child (sandbox/launch.h).  What an item is, and how its
 * result goes back, is the caller's business.
 */
#ifndef CRADLE_WORKER_POOL_H
#define CRADLE_WORKER_POOL_H

#include "proto/err.h"
#include "sandbox/launch.h"
#include "util/queue.h"

struct pool;

typedef void (*pool_run_fn)(void *item, struct launch_stack *ls, void *arg);

/* q must outlive the pool; only the pool's workers may pop from it. */
int pool_start(struct queue *q, int workers, pool_run_fn run, void *arg, struct pool **out,
               struct cradle_err *err);
/* Ask every worker to finish (after the items already queued) and join.
 * NULL-safe. */
void pool_stop(struct pool *p);

#endif
