/* frontend.h - the request socket.
 *
 * cradled listens on ipc://<state>/cradle.sock and speaks nng's rep0 over
 * nng's ipc transport there (client/sp.h has the wire), so nng's req0
 * sockets, libcradle's and cradle's, talk to it as to any rep0 socket.
 * It is our own code, not nng's: one event loop thread accepts, greets,
 * reads and decodes, and answers the quick reads (version, status, stats)
 * itself; lists go to two threads of their own, everything else to the
 * workers through the lock-free queue, each job with a `done` callback
 * that encodes its reply and writes it on the thread that ran it.  nng's
 * rep0 went through its poller and task threads several times per request
 * and connection (about 30 context switches and 0.5 ms of CPU for one
 * CLI call's connect, request and close on the 2-core VM, against 4 and
 * 0.07 ms here), and nng 1.5.2 stops accepting for good after a peer
 * hangs up during the greeting (its bug #1518), which this loop does not.
 * Up to cfg.contexts requests are in flight at once; with all taken a
 * connection is not read until one is free, as in rep0.
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
