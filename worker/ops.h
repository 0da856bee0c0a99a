/* ops.h - what a job does: one function per protocol operation.
 *
 * ops_run fills rep (rep->ok, rep->err or the result) from req; it may
 * move owned fields (the pod config) out of req.  It takes
 * the sandbox's lock for the operation; operations on different sandboxes
 * run in parallel.  ls is the calling worker's launch stack.
 */
#ifndef CRADLE_OPS_H
#define CRADLE_OPS_H

#include "../proto/proto.h"
#include "launch.h"

struct daemon;

void ops_run(struct daemon *d, struct launch_stack *ls,
             struct proto_request *req, struct proto_reply *rep);

#endif
