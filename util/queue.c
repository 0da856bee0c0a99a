/* queue.c - bounded lock-free MPMC ring (Dmitry Vyukov's design).
 *
 * DESIGN
 *
 * The ring has 2^k cells.  Each cell carries a sequence number that says
 * whose turn it is:
 *   seq == pos          the cell is free for the producer that claims `pos`
 *   seq == pos + 1      it holds the item pushed at `pos`, for the consumer
 *                       that claims `pos`
 *   seq == pos + cap    freed again, for the producer one lap later
 * Producers claim a position by CAS on `head`, consumers by CAS on `tail`.
 * Whoever wins a CAS owns the cell exclusively until it stores the next
 * sequence number, so `item` itself needs no atomics.  No thread ever waits
 * for another inside push or pop: a cell whose turn has not come means
 * "full" (for a producer) or "empty" (for a consumer), and the call returns.
 *
 * Sleeping consumers: queue_pop_wait pairs the ring with a counting
 * semaphore.  Every successful push posts once, after its item is published,
 * so the semaphore never counts more than the items pushed and not yet taken
 * by a waiter.  A waiter that got a token knows an item has been published,
 * but not that it sits at the cell the next pop will claim: positions are
 * claimed in order yet published in any order, so cell `tail` may belong to
 * a producer that claimed it and was preempted before publishing while a
 * later producer already published and posted.  The waiter then yields and
 * retries; the slow producer is running (it is between two instructions of
 * queue_push), so the wait is short and bounded by its progress, never by
 * the arrival of new work.  Idle consumers sleep in sem_wait (a futex).
 *
 * Memory orders (the only ones in the file; see each use):
 *   head/tail loads and CASes: relaxed.  They only hand out positions; a
 *     position is worth nothing until the cell's sequence number confirms
 *     it, and that load is an acquire.  The CAS needs atomicity (each
 *     position is won by exactly one thread), not ordering.
 *   cell seq load: acquire, pairing with the release store of the previous
 *     owner, so a producer sees the consumer's read of the old item done
 *     before it overwrites it, and a consumer sees the producer's write of
 *     the item.
 *   cell seq store: release, publishing our access to `item` (write for a
 *     producer, read for a consumer) to the next owner.
 */
#include "util/queue.h"

#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The semaphore counts published items, at most one ring's worth, so the
 * ring must not be larger than a semaphore can count. */
#define QUEUE_MAX_CAPACITY ((size_t)1 << 30)
_Static_assert(QUEUE_MAX_CAPACITY <= (size_t)SEM_VALUE_MAX,
               "a full ring must be countable by the semaphore");

static size_t
round_up_pow2(size_t n)
{
	size_t p = 2;

	while (p < n) {
		p <<= 1;
	}
	return (p);
}

int
queue_init(struct queue *q, size_t capacity)
{
	size_t cap;
	size_t i;

	memset(q, 0, sizeof(*q));
	if (capacity == 0 || capacity > QUEUE_MAX_CAPACITY) {
		return (-EINVAL);
	}
	cap = round_up_pow2(capacity);
	q->cells = calloc(cap, sizeof(*q->cells));
	if (q->cells == NULL) {
		return (-ENOMEM);
	}
	/* Cell i is first claimed by the producer of position i.  Nothing runs
	 * concurrently with init, so relaxed stores suffice; the queue is
	 * handed to other threads through their creation (or another
	 * synchronising hand-over), which publishes these stores. */
	for (i = 0; i < cap; i++) {
		atomic_init(&q->cells[i].seq, i);
		q->cells[i].item = NULL;
	}
	q->mask = cap - 1;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	if (sem_init(&q->items, 0, 0) != 0) {
		int rc = -errno;

		free(q->cells);
		q->cells = NULL;
		return (rc);
	}
	return (0);
}

void
queue_fini(struct queue *q)
{
	/* A zeroed queue (never initialised, or init failed) has no cells and
	 * no semaphore to destroy. */
	if (q == NULL || q->cells == NULL) {
		return;
	}
	sem_destroy(&q->items);
	free(q->cells);
	q->cells = NULL;
	q->mask = 0;
}

size_t
queue_capacity(const struct queue *q)
{
	return (q->cells == NULL ? 0 : q->mask + 1);
}

/*
 * Claim the next position of counter (head for producers, tail for
 * consumers).  The cell at pos is ready for us when its seq is pos + lag:
 * lag 0 for a producer (the consumer of the previous lap set seq = pos),
 * lag 1 for a consumer (the producer of this lap set seq = pos + 1).
 * Returns the cell with *posp set, or NULL when the ring is full (for a
 * producer) or empty (for a consumer).
 */
static struct queue_cell *
claim(struct queue *q, atomic_size_t *counter, size_t lag, size_t *posp)
{
	struct queue_cell *cell;
	size_t pos, seq;
	intptr_t diff;

	/* relaxed: a starting guess, validated by the cell's seq below. */
	pos = atomic_load_explicit(counter, memory_order_relaxed);
	for (;;) {
		cell = &q->cells[pos & q->mask];
		/* acquire: pairs with the release of the other side on this
		 * cell: a consumer's read of the previous lap's item happens
		 * before a producer's write; a producer's write of the item
		 * happens before a consumer's read. */
		seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
		diff = (intptr_t)seq - (intptr_t)(pos + lag);
		if (diff == 0) {
			/* relaxed: the CAS only decides who owns `pos`; the
			 * data ordering is carried by cell->seq.  On failure
			 * pos is reloaded with the counter's current value. */
			if (atomic_compare_exchange_weak_explicit(counter, &pos, pos + 1,
			                                          memory_order_relaxed,
			                                          memory_order_relaxed)) {
				*posp = pos;
				return (cell);
			}
		} else if (diff < 0) {
			/* Producer: the cell still holds the item from one lap
			 * ago (or its consumer has claimed but not yet released
			 * it): full.  Consumer: not published yet for this lap:
			 * empty, or its producer is between claim and publish. */
			return (NULL);
		} else {
			/* Another thread took pos; catch up. relaxed as above. */
			pos = atomic_load_explicit(counter, memory_order_relaxed);
		}
	}
}

bool
queue_push(struct queue *q, void *item)
{
	struct queue_cell *cell;
	size_t pos;

	if (item == NULL) {
		/* NULL is what queue_pop_wait could never tell from "nothing";
		 * refusing it keeps the contract checkable. */
		return (false);
	}
	if ((cell = claim(q, &q->head, 0, &pos)) == NULL) {
		return (false);
	}
	cell->item = item;
	/* release: publishes the item to the consumer that claims pos. */
	atomic_store_explicit(&cell->seq, pos + 1, memory_order_release);
	/* One token per published item, posted after publication, so a
	 * waiter that takes it can find a published cell. */
	(void)sem_post(&q->items);
	return (true);
}

bool
queue_pop(struct queue *q, void **item)
{
	struct queue_cell *cell;
	size_t pos;

	if ((cell = claim(q, &q->tail, 1, &pos)) == NULL) {
		return (false);
	}
	*item = cell->item;
	cell->item = NULL;
	/* release: our read of the item happens before the next lap's
	 * producer (which acquires seq) overwrites it. */
	atomic_store_explicit(&cell->seq, pos + q->mask + 1, memory_order_release);
	return (true);
}

void *
queue_pop_wait(struct queue *q)
{
	void *item;

	/* Sleep until a push has published an item for us.  EINTR (a signal
	 * handler ran) is not an item; wait again. */
	while (sem_wait(&q->items) != 0) {
		if (errno != EINTR) {
			/* EINVAL: a destroyed or never-initialised queue.
			 * That is a caller bug; retrying would spin. */
			abort();
		}
	}
	/* Our token guarantees one published item that no other waiter will
	 * claim, but the cell at tail may still be claimed-not-published by a
	 * slower producer (see DESIGN); it is mid-push, so yield to it. */
	while (!queue_pop(q, &item)) {
		sched_yield();
	}
	return (item);
}
