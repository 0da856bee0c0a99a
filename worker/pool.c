/* pool.c - worker threads: pop an item, run it.
 *
 * Pop and run happen with no lock held (nng's taskq discipline); a job
 * never blocks another except through the locks its run function takes.
 * Stop is a sentinel item per worker pushed behind the real ones, so jobs already
 * queued are finished first.
 */
#include "worker/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

struct worker {
	struct pool *pool;
	pthread_t thread;
	struct launch_stack stack;
	bool started;
};

struct pool {
	struct queue *q;
	pool_run_fn run;
	void *arg;
	int n;
	struct worker *w;
};

/* The stop sentinel: queue items must not be NULL. */
static char stop_item;

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;

	for (;;) {
		void *item = queue_pop_wait(p->q);
		if (item == &stop_item)
			break;
		p->run(item, &w->stack, p->arg);
	}
	return NULL;
}

int
pool_start(struct queue *q, int workers, pool_run_fn run, void *arg, struct pool **out,
           struct cradle_err *err)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->w = calloc((size_t)workers, sizeof(*p->w))) == NULL) {
		free(p);
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "allocate worker pool");
	}
	p->q = q;
	p->run = run;
	p->arg = arg;
	for (int i = 0; i < workers; i++) {
		struct worker *w = &p->w[i];
		w->pool = p;
		if (launch_stack_alloc(&w->stack, err) < 0)
			goto fail;
		int rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc != 0) {
			launch_stack_free(&w->stack);
			cradle_err_errno(err, rc, "start worker thread");
			goto fail;
		}
		pthread_setname_np(w->thread, "cradle:worker");
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
	for (int i = 0; i < p->n; i++)
		while (!queue_push(p->q, &stop_item))
			sched_yield();
	for (int i = 0; i < p->n; i++) {
		if (p->w[i].started)
			pthread_join(p->w[i].thread, NULL);
		launch_stack_free(&p->w[i].stack);
	}
	free(p->w);
	free(p);
}
