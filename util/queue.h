/* queue.h - bounded lock-free multi-producer multi-consumer queue.
 *
 * A Vyukov-style ring of 2^k cells, each with a sequence number; producers
 * and consumers claim positions with compare-and-swap on two counters and
 * never block.  queue_push fails at once when the ring is full (the front
 * end answers RESOURCE_EXHAUSTED).  Consumers that want to sleep while it is
 * empty use queue_pop_wait, which pairs the ring with a counting semaphore
 * (futex-backed): one post per successful push, so idle workers sleep rather
 * than spin.  All memory orders live in queue.c with their reasons.
 */
#ifndef CRADLE_QUEUE_H
#define CRADLE_QUEUE_H

#include <semaphore.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct queue_cell {
	atomic_size_t seq;
	void *item;
};

struct queue {
	struct queue_cell *cells;
	size_t mask;
	alignas(64) atomic_size_t head; /* next position to push */
	alignas(64) atomic_size_t tail; /* next position to pop */
	alignas(64) sem_t items;        /* counts published items */
};

/* capacity is rounded up to a power of two (>= 2). 0 or -ENOMEM/-EINVAL. */
int queue_init(struct queue *q, size_t capacity);
void queue_fini(struct queue *q); /* safe on a zeroed queue */
size_t queue_capacity(const struct queue *q);

/* Non-blocking. false when full / empty. item must not be NULL. */
bool queue_push(struct queue *q, void *item);
bool queue_pop(struct queue *q, void **item);

/* Block until an item is available (pushed with queue_push).
 * Consumers of one queue use either queue_pop_wait or queue_pop, not both:
 * queue_pop takes an item without its semaphore token, so a waiter holding
 * that token would yield-spin until the next push.  To stop waiters, push
 * one sentinel item per waiter. */
void *queue_pop_wait(struct queue *q);

#endif
