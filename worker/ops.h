/* ops.h - what a request does: one function per protocol operation.
 *
 * ops_run fills rep (rep->ok, rep->err or the result) from req; it may
 * move owned fields (the pod config) out of req.  It takes the sandbox's
 * lock for the operation, so operations on different sandboxes run in
 * parallel, and publishes the events an operation raised once that lock
 * is dropped.  ls is the calling worker's launch stack.
 */
#ifndef CRADLE_WORKER_OPS_H
#define CRADLE_WORKER_OPS_H

#include <stdbool.h>

#include "proto/proto.h"
#include "sandbox/launch.h"
#include "worker/env.h"

void ops_run(const struct worker_env *env, struct launch_stack *ls, struct proto_request *req,
             struct proto_reply *rep);

/* Whether op only reads published state (version, status, list, stats): it takes
 * no sandbox lock and no launch stack, finishes in microseconds, and may be
 * run by the caller's thread instead of waiting in the queue behind starts
 * (ls NULL). */
bool ops_is_quick(int op);

#endif
