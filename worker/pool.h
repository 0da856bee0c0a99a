/* pool.h - worker threads over a queue.
 *
 * Each worker pops an item from the queue (sleeping on the queue's
 * semaphore while it is empty) and calls run(item, its launch stack, arg)
 * with no lock held, as nng's taskq does.  Each worker owns a launch stack
 * for the clone3 child (sandbox/launch.h).  What an item is, and how its
 * result goes back, is the caller's business.
 *
 * Workers run POOL_WORKER_NICE nice steps below the thread that called
 * pool_start, when the process may raise a nice again (CAP_SYS_NICE): the
 * pause tasks they launch get the caller's nice back before exec (pool.c).
 */
#ifndef CRADLE_WORKER_POOL_H
#define CRADLE_WORKER_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/err.h"
#include "sandbox/launch.h"
#include "util/queue.h"

struct pool;

/* How far below pool_start's caller the workers run (0: not at all). */
#define POOL_WORKER_NICE 10

/* Runs an item; true asks the pool to refresh its workers: each hands its
 * place (and launch stack) to a new thread at its next wake-up, so that
 * what glibc caches per thread (freed chunks: tcache) and the stack pages
 * it touched go back; once every worker has, refreshed(arg) runs on one
 * of them (with no lock held), the time to trim the heap.  A refresh asked
 * for while one is under way is dropped. */
typedef bool (*pool_run_fn)(void *item, struct launch_stack *ls, void *arg);
typedef void (*pool_refreshed_fn)(void *arg);

/* Ask the scheduler for a time slice of slice_ns (at least 100 us; 0: the
 * kernel's default) for the calling thread, and so for the threads it
 * starts afterwards.  Under EEVDF (Linux 6.12 and later) a waking thread
 * with a shorter slice than the running one may preempt it at once, where
 * it would otherwise wait until the running one's slice ran out.  For the
 * threads that answer requests themselves; the pool's workers take the
 * default slice back.  Older kernels ignore it; failures cost latency
 * only. */
void pool_thread_slice(uint64_t slice_ns);

/* q must outlive the pool; only the pool's workers may pop from it. */
int pool_start(struct queue *q, int workers, pool_run_fn run, pool_refreshed_fn refreshed,
               void *arg, struct pool **out, struct cradle_err *err);
/* Ask every worker to finish (after the items already queued) and join.
 * NULL-safe. */
void pool_stop(struct pool *p);

#endif
