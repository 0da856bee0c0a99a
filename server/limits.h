/* limits.h - what [cradled] max_sandboxes asks of the node, checked at
 * start-up.
 *
 * Every live sandbox holds one pidfd in cradled (the reaper's watch), so
 * the open-files limit (RLIMIT_NOFILE, whose soft value main() raises to
 * the hard one) must hold max_sandboxes descriptors plus those of
 * everything else: the sockets and their connections, the store, the
 * event publisher, and what each worker opens while it starts a sandbox.
 */
#ifndef CRADLE_SERVER_LIMITS_H
#define CRADLE_SERVER_LIMITS_H

#include <stdint.h>

#include "proto/err.h"

/* Descriptors besides the pidfds: 256 for the daemon's own (sockets,
 * store, signalfd, epoll, log, metrics), one per request context (a
 * connection each, at worst), 32 per worker (a start's cgroup, mount
 * and namespace descriptors, an image pull). */
uint64_t limits_nofile_margin(int workers, int contexts);

/* 0 when limit holds max_sandboxes + margin descriptors; otherwise
 * FAILED_PRECONDITION naming both numbers and the two ways out (lower
 * max_sandboxes, or raise the hard limit). */
int limits_check_nofile(uint64_t max_sandboxes, uint64_t margin, uint64_t limit,
                        struct cradle_err *err);

#endif
