/* daemon.h - the state one cradled process shares between its threads.
 *
 * Filled by main() at start-up and read-only afterwards, except the
 * objects it points to, each with its own synchronisation.
 */
#ifndef CRADLE_DAEMON_H
#define CRADLE_DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "queue.h"

struct table;
struct store;
struct reaper;
struct events;

struct daemon_config {
	char root[4096];          /* persistent: LMDB, sandboxes/<id> */
	char state[4096];         /* volatile: sockets, sandboxes/<id>, netns/<id> */
	char rootfs[4096];        /* the pause image rootfs (read-only dir) */
	int workers;              /* worker threads */
	int queue_depth;          /* jobs waiting for a worker */
	int contexts;             /* nng contexts (requests in flight) */
	uint64_t shm_size;        /* bytes of each sandbox's /dev/shm */
};

struct daemon {
	struct daemon_config cfg;
	char sock_url[4200];      /* ipc://<state>/cradle.sock */
	char events_url[4200];    /* ipc://<state>/events.sock */
	struct table *table;
	struct store *store;
	struct reaper *reaper;
	struct events *events;
	struct queue queue;
	int64_t started_at;       /* ns */
#ifdef CRADLE_TEST_HOOKS
	char fail_step[64];       /* start step to fail ($CRADLE_FAIL_STEP) */
#endif
};

/* Wall-clock nanoseconds since the epoch. */
int64_t now_ns(void);

#endif
