/* frontend.c - nng REP front end: N contexts, each a small state machine.
 *
 * RECV: a request arrived.  Decode and validate it here (bounded, cheap);
 *       a bad request or a full queue is answered at once, and so is a
 *       quick read (version, status, list: ops_is_quick); otherwise the
 *       job goes on the queue and the context waits (WORK).
 * WORK: a worker ran the job and called job_done (on the worker's thread):
 *       encode the reply and send it on this context (SEND).
 * SEND: the send finished; post the next receive (RECV).
 * Callbacks never block: nng runs them on its own task threads.
 */
#include "server/frontend.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "server/daemon.h"
#include "util/log.h"
#include "worker/ops.h"

enum fe_state { FE_RECV, FE_WORK, FE_SEND };

struct fe_ctx {
	struct job job; /* first: job_done casts back */
	struct frontend *fe;
	nng_ctx ctx;
	nng_aio *aio;
	enum fe_state state;
	bool ctx_open;
};

struct frontend {
	struct daemon *d;
	nng_socket sock;
	bool sock_open;
	struct fe_ctx *ctxs;
	int n_ctx;
	atomic_bool stopping;
	atomic_int inflight; /* requests received and not yet answered */
};

static void send_reply(struct fe_ctx *c, msgpack_sbuffer *sb);

static void
send_error(struct fe_ctx *c, int code, const char *msg)
{
	struct cradle_err e = { .code = code };
	msgpack_sbuffer sb;

	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	msgpack_sbuffer_init(&sb);
	if (proto_reply_encode_error(&sb, &e) < 0) {
		/* no reply possible: let the client time out, keep the context */
		msgpack_sbuffer_destroy(&sb);
		atomic_fetch_sub(&c->fe->inflight, 1);
		c->state = FE_RECV;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	send_reply(c, &sb);
}

/* Take ownership of the encoded reply and send it on c's context. */
static void
send_reply(struct fe_ctx *c, msgpack_sbuffer *sb)
{
	nng_msg *msg = NULL;
	int rc = nng_msg_alloc(&msg, 0);

	if (rc == 0)
		rc = nng_msg_append(msg, sb->data, sb->size);
	msgpack_sbuffer_destroy(sb);
	if (rc != 0) {
		if (msg != NULL)
			nng_msg_free(msg);
		log_error("allocate reply: %s", nng_strerror(rc));
		/* No reply possible: let the client time out, keep serving. */
		atomic_fetch_sub_explicit(&c->fe->inflight, 1, memory_order_acq_rel);
		c->state = FE_RECV;
		nng_aio_set_msg(c->aio, NULL);
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	c->state = FE_SEND;
	nng_aio_set_msg(c->aio, msg);
	nng_ctx_send(c->ctx, c->aio);
}

static void
job_done(struct job *job)
{
	struct fe_ctx *c = (struct fe_ctx *)job;
	msgpack_sbuffer sb;
	struct cradle_err err;

	msgpack_sbuffer_init(&sb);
	if (proto_reply_encode(&sb, &job->rep, &err) < 0) {
		msgpack_sbuffer_destroy(&sb);
		proto_request_fini(&job->req);
		proto_reply_fini(&job->rep);
		send_error(c, err.code ? err.code : CRADLE_INTERNAL, err.msg);
		return;
	}
	proto_request_fini(&job->req);
	proto_reply_fini(&job->rep);
	send_reply(c, &sb);
}

static void
on_recv(struct fe_ctx *c)
{
	struct frontend *fe = c->fe;
	struct cradle_err err = { 0 };
	nng_msg *msg = nng_aio_get_msg(c->aio);

	/* seq_cst here and in frontend_stop: each side writes one flag and
	 * reads the other, which weaker orders do not make safe */
	atomic_fetch_add(&fe->inflight, 1);
	if (atomic_load(&fe->stopping)) {
		nng_msg_free(msg);
		send_error(c, CRADLE_UNAVAILABLE, "cradled is shutting down");
		return;
	}
	int rc = proto_request_decode(nng_msg_body(msg), nng_msg_len(msg), &c->job.req, &err);
	nng_msg_free(msg);
	if (rc < 0) {
		send_error(c, err.code ? err.code : CRADLE_INVALID_ARGUMENT, err.msg);
		return;
	}
	proto_reply_init(&c->job.rep, c->job.req.op);
	c->state = FE_WORK;
	if (ops_is_quick(c->job.req.op)) {
		/* reads of published state: answered here, not queued behind
		 * starts that may take a while (worker/ops.h) */
		ops_run(&fe->d->env, NULL, &c->job.req, &c->job.rep);
		job_done(&c->job);
		return;
	}
	if (!queue_push(&fe->d->queue, &c->job)) {
		char m[128];
		proto_request_fini(&c->job.req);
		proto_reply_fini(&c->job.rep);
		snprintf(m, sizeof(m), "request queue is full (%zu waiting); retry later",
		         queue_capacity(&fe->d->queue));
		send_error(c, CRADLE_RESOURCE_EXHAUSTED, m);
	}
}

static void
ctx_cb(void *arg)
{
	struct fe_ctx *c = arg;
	int rc = nng_aio_result(c->aio);

	switch (c->state) {
	case FE_RECV:
		if (rc == NNG_ECLOSED || rc == NNG_ECANCELED)
			return;
		if (rc != 0) {
			nng_ctx_recv(c->ctx, c->aio);
			return;
		}
		on_recv(c);
		return;
	case FE_SEND:
		if (rc != 0) {
			/* The client went away; the message is still ours. */
			nng_msg *m = nng_aio_get_msg(c->aio);
			if (m != NULL)
				nng_msg_free(m);
		}
		atomic_fetch_sub_explicit(&c->fe->inflight, 1, memory_order_acq_rel);
		if (rc == NNG_ECLOSED || rc == NNG_ECANCELED)
			return;
		c->state = FE_RECV;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	case FE_WORK:
		break;
	}
}

int
frontend_start(struct daemon *d, struct frontend **out, struct cradle_err *err)
{
	struct frontend *fe = calloc(1, sizeof(*fe));
	nng_listener l;
	int rc;

	if (fe == NULL)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "allocate front end");
	fe->d = d;
	fe->n_ctx = d->cfg.contexts;
	fe->ctxs = calloc((size_t)fe->n_ctx, sizeof(*fe->ctxs));
	if (fe->ctxs == NULL) {
		free(fe);
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
		                      "allocate front end contexts");
	}
	if ((rc = nng_rep0_open(&fe->sock)) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL, "open request socket: %s", nng_strerror(rc));
		goto fail;
	}
	fe->sock_open = true;
	/* Bound what one peer can make us buffer.  Messages a little over
	 * the protocol limit still arrive, so the decoder can answer them
	 * with an error that says so; far larger ones drop the connection. */
	nng_socket_set_size(fe->sock, NNG_OPT_RECVMAXSZ, 4 * (size_t)PROTO_MAX_MSG);
	for (int i = 0; i < fe->n_ctx; i++) {
		struct fe_ctx *c = &fe->ctxs[i];
		c->fe = fe;
		c->job.done = job_done;
		if ((rc = nng_aio_alloc(&c->aio, ctx_cb, c)) != 0 ||
		    (rc = nng_ctx_open(&c->ctx, fe->sock)) != 0) {
			cradle_err_set(err, CRADLE_INTERNAL, "open request context: %s",
			               nng_strerror(rc));
			goto fail;
		}
		c->ctx_open = true;
	}
	if ((rc = nng_listener_create(&l, fe->sock, d->sock_url)) != 0 ||
	    (rc = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0660)) != 0 ||
	    (rc = nng_listener_start(l, 0)) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL, "listen on \"%s\": %s", d->sock_url,
		               nng_strerror(rc));
		goto fail;
	}
	for (int i = 0; i < fe->n_ctx; i++) {
		fe->ctxs[i].state = FE_RECV;
		nng_ctx_recv(fe->ctxs[i].ctx, fe->ctxs[i].aio);
	}
	*out = fe;
	return 0;
fail:
	frontend_stop(fe);
	return -1;
}

void
frontend_stop(struct frontend *fe)
{
	if (fe == NULL)
		return;
	atomic_store(&fe->stopping, true);
	/* Finish what is in flight: every job queued or running gets its
	 * reply; requests arriving meanwhile are told UNAVAILABLE. */
	while (atomic_load(&fe->inflight) > 0)
		nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
	for (int i = 0; i < fe->n_ctx; i++)
		if (fe->ctxs[i].aio != NULL)
			nng_aio_stop(fe->ctxs[i].aio);
	if (fe->sock_open)
		nng_close(fe->sock);
	for (int i = 0; i < fe->n_ctx; i++) {
		if (fe->ctxs[i].aio != NULL)
			nng_aio_free(fe->ctxs[i].aio);
	}
	free(fe->ctxs);
	free(fe);
}
