/* pool.c - worker threads: pop an item, run it.
 *
 * Pop and run happen with no lock held (nng's taskq discipline); a job
 * never blocks another except through the locks its run function takes.
 * Stop is a sentinel item per worker pushed behind the real ones, so jobs
 * already queued are finished first.
 *
 * PRIORITY
 * Workers run POOL_WORKER_NICE steps below the thread that starts the pool
 * (cradled's main thread, whose nice the front end's and the reaper's
 * threads share): with starts keeping every core busy, a status or list
 * round trip then waits for no worker to give up a CPU.  Nice is per
 * thread on Linux (setpriority on the thread id).  The launch child
 * inherits the worker's nice and sets the daemon's own just before it
 * execs pause (sandbox/launch.h, set_exec_nice), so pause runs as it would
 * without this.  Raising a nice back takes CAP_SYS_NICE (or RLIMIT_NICE):
 * a probe thread checks that first, and without it the workers keep the
 * daemon's nice, since pause could not get it back.  Workers also take the
 * kernel's default time slice back from the starting thread, which may
 * have asked for a short one (pool_thread_slice).
 *
 * REFRESH
 * A thread keeps memory that no trim reaches: glibc's per-thread cache of
 * freed chunks (tcache: up to 7 of each size up to 1 KiB, counted as in
 * use, each pinning the page it sits on however much around it is free)
 * and the stack pages its deepest call touched.  Both go back only when
 * the thread exits.  So when the run function asks for it (cradled: after
 * many removals), every worker hands its place to a new thread at its next
 * wake-up (a refresh item wakes the idle ones): it starts its successor on
 * the same launch stack and returns; the successor joins it, and the last
 * successor calls the pool's refreshed function (cradled: malloc_trim),
 * when nothing of the old threads is left.  Only the worker's last thread
 * is joined by pool_stop.
 */
#include "worker/pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/sys.h"

struct worker {
	struct pool *pool;
	struct launch_stack stack;
	bool started;
	/* guarded by pool->mu */
	pthread_t thread; /* the worker's current thread */
	pthread_t prev;   /* the thread it replaced, for the new one to join */
	bool has_prev;
	bool stopped; /* its thread took a stop item and is returning */
	/* set by a refresh, cleared by the thread that retires */
	atomic_bool retire;
};

struct pool {
	struct queue *q;
	pool_run_fn run;
	pool_refreshed_fn refreshed;
	void *arg;
	int n;
	struct worker *w;
	bool renice;     /* workers lower themselves to worker_nice */
	int worker_nice; /* base + POOL_WORKER_NICE, at most 19 */
	pthread_mutex_t mu;
	pthread_cond_t cond; /* a worker stopped, or a refresh is complete */
	atomic_int retiring; /* workers of the running refresh still to retire */
	bool stopping;       /* guarded by mu: no refresh any more */
};

/* How long a new thread waits for the rest of a refresh before it takes
 * jobs: while it waits, the refresh items reach the old threads, not it. */
#define REFRESH_WAIT_NS 50000000L

/* The sentinels: queue items must not be NULL. */
static char stop_item, refresh_item;

void
pool_thread_slice(uint64_t slice_ns)
{
	(void)sys_sched_set(slice_ns, NULL);
}

/* This worker's scheduling: the kernel's default slice, whatever the
 * starting thread asked for itself (pool_thread_slice), since workers run
 * long; and, when the pool may, the lower priority.  Lowering one's own
 * priority needs no privilege. */
static void
worker_sched(const struct pool *p)
{
	if (sys_sched_set(0, p->renice ? &p->worker_nice : NULL) == 0)
		return;
	if (p->renice)
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(), p->worker_nice);
}

/* ---- refresh ---- */

/* One more worker retired (or could not): the last wakes the new threads
 * waiting for the others and calls refreshed. */
static void
retired(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	bool last = atomic_fetch_sub(&p->retiring, 1) == 1;
	if (last)
		pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	if (last && p->refreshed != NULL)
		p->refreshed(p->arg);
}

/* Ask every worker to retire at its next wake-up, unless a refresh is
 * still under way, and wake the idle ones (the caller retires after its
 * job anyway).  A full queue wakes them soon enough. */
static void
refresh(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	if (p->stopping || atomic_load(&p->retiring) > 0) {
		pthread_mutex_unlock(&p->mu);
		return;
	}
	atomic_store(&p->retiring, p->n);
	for (int i = 0; i < p->n; i++)
		atomic_store(&p->w[i].retire, true);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i < p->n; i++)
		if (!queue_push(p->q, &refresh_item))
			break;
}

static void *worker_main(void *arg);

/* Start this worker's successor and leave it the worker: true when the
 * caller is to return.  When no thread can be started, it stays. */
static bool
retire(struct worker *w)
{
	struct pool *p = w->pool;
	pthread_t t;

	pthread_mutex_lock(&p->mu);
	atomic_store(&w->retire, false);
	w->prev = pthread_self();
	w->has_prev = true;
	int rc = pthread_create(&t, NULL, worker_main, w);
	if (rc != 0) {
		w->has_prev = false;
		pthread_mutex_unlock(&p->mu);
		retired(p);
		return false;
	}
	w->thread = t;
	pthread_mutex_unlock(&p->mu);
	return true;
}

/* A successor's first act: wait until the thread it replaces is gone, its
 * cache and stack with it; then, for REFRESH_WAIT_NS at most, until the
 * other old threads are, so that the refresh items wake them and not it.
 * An old thread still busy after that retires after its job all the same
 * (the items it missed are skipped). */
static void
join_prev(struct worker *w)
{
	struct pool *p = w->pool;
	struct timespec until;

	pthread_mutex_lock(&p->mu);
	bool has = w->has_prev;
	pthread_t prev = w->prev;
	w->has_prev = false;
	pthread_mutex_unlock(&p->mu);
	if (!has)
		return;
	pthread_join(prev, NULL);
	retired(p);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += REFRESH_WAIT_NS;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	while (atomic_load(&p->retiring) > 0 && !p->stopping)
		if (pthread_cond_timedwait(&p->cond, &p->mu, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&p->mu);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;

	pthread_setname_np(pthread_self(), "cradle:worker");
	worker_sched(p);
	join_prev(w);
	for (;;) {
		void *item = queue_pop_wait(p->q);
		if (item == &stop_item)
			break;
		if (item != &refresh_item && p->run(item, &w->stack, p->arg))
			refresh(p);
		if (atomic_load(&w->retire) && retire(w))
			return NULL;
	}
	pthread_mutex_lock(&p->mu);
	w->stopped = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- priority ---- */

struct nice_probe {
	int base, lowered;
	bool ok;
};

/* In a thread of its own, as the workers will be: lower this thread's nice
 * and raise it back, as the launch child will have to. */
static void *
nice_probe_main(void *arg)
{
	struct nice_probe *pr = arg;
	id_t tid = (id_t)gettid();

	pr->ok = setpriority(PRIO_PROCESS, tid, pr->lowered) == 0 &&
	         setpriority(PRIO_PROCESS, tid, pr->base) == 0;
	return NULL;
}

/* Whether workers may run below the calling thread: false when they would
 * not be below it (already at 19) or their launch children could not get
 * the calling thread's nice back.  *base: the calling thread's nice. */
static bool
can_renice(int *base, int *lowered)
{
	struct nice_probe pr = { 0 };
	pthread_t t;

	errno = 0;
	pr.base = getpriority(PRIO_PROCESS, (id_t)gettid());
	if (pr.base == -1 && errno != 0)
		return false;
	pr.lowered = pr.base + POOL_WORKER_NICE > 19 ? 19 : pr.base + POOL_WORKER_NICE;
	if (pr.lowered <= pr.base || pthread_create(&t, NULL, nice_probe_main, &pr) != 0)
		return false;
	pthread_join(t, NULL);
	*base = pr.base;
	*lowered = pr.lowered;
	return pr.ok;
}

/* ---- the pool ---- */

int
pool_start(struct queue *q, int workers, pool_run_fn run, pool_refreshed_fn refreshed, void *arg,
           struct pool **out, struct cradle_err *err)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->w = calloc((size_t)workers, sizeof(*p->w))) == NULL) {
		free(p);
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "allocate worker pool");
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	p->q = q;
	p->run = run;
	p->refreshed = refreshed;
	p->arg = arg;
	int base = 0;
	p->renice = POOL_WORKER_NICE > 0 && can_renice(&base, &p->worker_nice);
	for (int i = 0; i < workers; i++) {
		struct worker *w = &p->w[i];
		w->pool = p;
		if (launch_stack_alloc(&w->stack, err) < 0)
			goto fail;
		w->stack.set_exec_nice = p->renice;
		w->stack.exec_nice = base;
		pthread_mutex_lock(&p->mu); /* w->thread is read under it */
		int rc = pthread_create(&w->thread, NULL, worker_main, w);
		pthread_mutex_unlock(&p->mu);
		if (rc != 0) {
			launch_stack_free(&w->stack);
			cradle_err_errno(err, rc, "start worker thread");
			goto fail;
		}
		w->started = true;
		p->n = i + 1;
	}
	*out = p;
	return 0;
fail:
	pool_stop(p);
	return -1;
}

void
pool_stop(struct pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->n; i++)
		while (!queue_push(p->q, &stop_item))
			sched_yield();
	for (int i = 0; i < p->n; i++) {
		struct worker *w = &p->w[i];
		if (w->started) {
			/* whichever thread of the worker took a stop item */
			pthread_mutex_lock(&p->mu);
			while (!w->stopped)
				pthread_cond_wait(&p->cond, &p->mu);
			pthread_t t = w->thread;
			pthread_mutex_unlock(&p->mu);
			pthread_join(t, NULL);
		}
		launch_stack_free(&w->stack);
	}
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mu);
	free(p->w);
	free(p);
}
