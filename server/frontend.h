/* frontend.h - the nng REP front end.
 *
 * One rep0 socket listening on the request URL with N contexts, each an
 * nng_ctx with its own nng_aio and a small state machine (RECV -> WORK ->
 * SEND -> RECV), after nng's demo/async/server.c.  The aio callback only
 * decodes and validates the request and pushes a job on the lock-free
 * queue; a full queue or a malformed request is answered from the callback
 * at once.  A worker runs the job and calls job->done, which encodes the
 * reply and sends it on the job's context.
 */
#ifndef CRADLE_FRONTEND_H
#define CRADLE_FRONTEND_H

#include "proto/err.h"
#include "proto/proto.h"

struct daemon;
struct frontend;

struct job {
	struct proto_request req;
	struct proto_reply rep;
	void (*done)(struct job *job); /* encode rep, send, recycle */
};

int frontend_start(struct daemon *d, struct frontend **out, struct cradle_err *err);
/* Stop taking requests (new ones get UNAVAILABLE), wait until every job in
 * flight has been answered, then close the socket. */
void frontend_stop(struct frontend *fe);

#endif
