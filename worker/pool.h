/* pool.h - the worker threads.
 *
 * Each worker pops a job from the daemon's queue (sleeping on the queue's
 * semaphore while it is empty), runs it with ops_run and calls job->done.
 * Each worker owns a launch stack for the clone3 child.
 */
#ifndef CRADLE_POOL_H
#define CRADLE_POOL_H

#include "../proto/err.h"

struct daemon;
struct pool;

int pool_start(struct daemon *d, int workers, struct pool **out, struct cradle_err *err);
/* Ask every worker to finish (after the jobs already queued) and join. */
void pool_stop(struct pool *p);

#endif
