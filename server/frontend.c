/* frontend.c - the request socket: nng's rep0 over its ipc transport,
 * spoken by one event loop thread of ours (server/frontend.h has why).
 *
 * The wire (client/sp.h has it byte by byte): each side sends an 8-byte
 * greeting (ours says rep0, the peer's must say req0), then messages of a
 * type byte 1, a 64-bit big-endian length and that many bytes; a request
 * starts with its backtrace, 32-bit words up to the first with the high
 * bit set (one word, the request id, from a direct peer), which the reply
 * carries back in front of its body.  Several requests may be in flight
 * on one connection; each reply goes when it is ready.
 *
 * The loop (epoll, level-triggered) accepts, greets, reads and decodes.
 * A whole request takes one of cfg.contexts contexts (struct fe_ctx); with
 * none free the connection stops being read until one is (as rep0 does).
 * Then: a bad request or a full queue is answered at once; version, status
 * and stats (ops_is_quick) are run and answered by the loop itself; a list
 * (quick but as long as the table) by one of FE_LISTERS threads, so that
 * a list of thousands does not hold up the loop; anything else goes on the
 * worker queue.  job_done encodes the reply on whichever thread ran the
 * job and writes it at once when the connection has nothing queued; what
 * the socket does not take waits for EPOLLOUT, which the loop handles.
 *
 * Locking: fe->mu guards contexts, the list queue, the parked list and
 * each connection's refs, state and output; a connection's receive side
 * belongs to the loop alone.  Nothing slow runs under fe->mu: writes are
 * non-blocking.  Only the loop closes a connection's socket, under fe->mu,
 * so a worker holding fe->mu never writes to a reused descriptor.
 */
#include "server/frontend.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server/daemon.h"
#include "util/log.h"
#include "worker/ops.h"

#define SP_GREETING_LEN 8
#define SP_PROTO_REQ0 48
#define SP_PROTO_REP0 49
#define SP_MSG_TYPE 1
#define SP_HEAD_LEN 9 /* type byte and 64-bit length */
#define SP_WORD 4
/* Backtrace words a request may carry (nng's NNG_OPT_MAXTTL default);
 * one with more is dropped unanswered, as rep0 drops it. */
#define SP_MAX_HOPS 8
/* Bound what one peer can make us buffer.  Messages a little over the
 * protocol limit still arrive, so the decoder can answer them with an
 * error that says so; far larger ones drop the connection. */
#define FE_RECV_MAX (4 * (uint64_t)PROTO_MAX_MSG)
#define FE_READ_AHEAD 4096
#define FE_BACKLOG 128
#define FE_LISTERS 2
#define FE_EVENTS 64
/* accept(2) out of descriptors or memory: listen again this much later */
#define FE_ACCEPT_BACKOFF_MS 100
/* frontend_stop: how long replies already made may take to leave */
#define FE_FLUSH_WAIT_MS 2000

struct fe_conn;

/* A request in flight: its job, the connection and backtrace its reply
 * goes back with. */
struct fe_ctx {
	struct job job; /* first: job_done casts back */
	struct frontend *fe;
	struct fe_conn *conn;
	unsigned char bt[SP_MAX_HOPS * SP_WORD];
	size_t bt_len;
	struct fe_ctx *next; /* free list or list queue */
};

/* A reply on its way out; its context stays taken until it is written,
 * so replies a peer does not read hold up its requests, as in rep0. */
struct fe_out {
	struct fe_out *next;
	struct fe_ctx *x;
	size_t len, off;
	unsigned char data[];
};

/* What a peer may ask, from its credentials at connect time. */
enum fe_access { FE_NONE, FE_READ, FE_ALL };

struct fe_conn {
	struct frontend *fe;
	int fd;
	enum fe_access access;
	uid_t uid;
	/* fe->mu */
	unsigned refs;  /* the loop's while open, one per request in flight */
	bool open;      /* the loop has not closed it */
	bool broken;    /* a write failed: replies are dropped */
	bool parked;    /* a whole request waits for a context: not read */
	bool out_armed; /* EPOLLOUT asked for */
	struct fe_out *out, *out_last;
	struct fe_conn *next_parked;
	/* the loop's alone */
	struct fe_conn *prev, *next; /* fe->conns, then fe->closed */
	bool greeted;                /* the peer's greeting came and was right */
	unsigned char head[SP_HEAD_LEN];
	size_t head_got;
	unsigned char *msg; /* the request being received, backtrace first */
	size_t msg_len, msg_got;
	size_t pos, len; /* buf[pos..len) received, not yet taken */
	unsigned char buf[FE_READ_AHEAD];
};

struct frontend {
	struct daemon *d;
	int lfd, epfd, evfd;
	bool bound; /* sock_path is ours to unlink */
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t loop, listers[FE_LISTERS];
	bool loop_started;
	int n_listers;
	/* the loop's alone */
	struct fe_conn *conns;  /* open */
	struct fe_conn *closed; /* closed in this round of events: still the
	                         * loop's, so no event of the round finds one
	                         * freed */
	int64_t accept_again;   /* accept(2) failed: listen again then (ns) */
	/* fe->mu */
	pthread_mutex_t mu;
	pthread_cond_t list_cv;
	struct fe_ctx *ctxs, *free_ctx;
	int n_ctx;
	struct fe_ctx *list_head, *list_last;
	bool listers_quit;
	struct fe_conn *parked_head, *parked_last;
	size_t n_out; /* replies queued, not yet written */
	atomic_bool stopping, quit;
	atomic_int inflight; /* requests received and not yet answered */
};

/* epoll tags of the two descriptors that are not connections */
static char listen_tag, wake_tag;

static void
wake_loop(struct frontend *fe)
{
	uint64_t one = 1;

	/* a full counter wakes the loop as well */
	while (write(fe->evfd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* --- connections (fe->mu held where it says so) ---------------------- */

/* What c waits for, as its state says; fe->mu held. */
static void
conn_arm_locked(struct fe_conn *c)
{
	struct epoll_event ev = { .data.ptr = c };

	if (!c->parked)
		ev.events |= EPOLLIN;
	if (c->out_armed)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(c->fe->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		log_error("front end: watch connection: %s", strerror(errno));
}

static void
conn_put_locked(struct fe_conn *c)
{
	if (--c->refs == 0)
		free(c);
}

/* x is free again, and a connection waiting for a context is resumed;
 * fe->mu held. */
static void
ctx_free_locked(struct fe_ctx *x)
{
	struct frontend *fe = x->fe;

	x->next = fe->free_ctx;
	fe->free_ctx = x;
	if (fe->parked_head != NULL)
		wake_loop(fe);
}

/* The request of x is over (its reply written, or none possible). */
static void
ctx_release_locked(struct fe_ctx *x)
{
	conn_put_locked(x->conn);
	x->conn = NULL;
	ctx_free_locked(x);
}

/* A reply of c leaves the queue, written or not. */
static void
out_done_locked(struct fe_conn *c, struct fe_out *o)
{
	c->out = o->next;
	if (c->out == NULL)
		c->out_last = NULL;
	c->fe->n_out--;
	ctx_release_locked(o->x);
	free(o);
}

/* c's queued replies will never go: the loop's hold on c keeps it. */
static void
drop_output_locked(struct fe_conn *c)
{
	while (c->out != NULL)
		out_done_locked(c, c->out);
}

/* Write what c has queued until the socket is full; fe->mu held. */
static void
conn_flush_locked(struct fe_conn *c)
{
	struct fe_out *o;
	ssize_t n;

	while ((o = c->out) != NULL) {
		n = send(c->fd, o->data + o->off, o->len - o->off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!c->out_armed) {
					c->out_armed = true;
					conn_arm_locked(c);
				}
				return;
			}
			/* the peer is gone: the loop sees it hang up and
			 * closes the connection */
			c->broken = true;
			drop_output_locked(c);
			break;
		}
		o->off += (size_t)n;
		if (o->off == o->len)
			out_done_locked(c, o);
	}
	if (c->out_armed) {
		c->out_armed = false;
		conn_arm_locked(c);
	}
}

/* The loop closes c: its socket now, its memory when the round of events
 * is over (release_closed) and no request of it is in flight. */
static void
conn_close(struct fe_conn *c)
{
	struct frontend *fe = c->fe;
	struct fe_conn **pp;

	free(c->msg);
	c->msg = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		fe->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_lock(&fe->mu);
	if (c->parked) {
		for (pp = &fe->parked_head; *pp != c; pp = &(*pp)->next_parked)
			;
		*pp = c->next_parked;
		if (fe->parked_last == c) {
			fe->parked_last = NULL;
			for (struct fe_conn *p = fe->parked_head; p != NULL; p = p->next_parked)
				fe->parked_last = p;
		}
		c->parked = false;
	}
	c->open = false;
	drop_output_locked(c);
	/* before close: a clone3 child of a worker may share the socket
	 * until it execs, and epoll forgets a descriptor only when nobody
	 * has it open */
	epoll_ctl(fe->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	pthread_mutex_unlock(&fe->mu);
	c->prev = NULL;
	c->next = fe->closed;
	fe->closed = c;
}

/* Drop the loop's hold on the connections closed since the last call. */
static void
release_closed(struct frontend *fe)
{
	struct fe_conn *c;

	if (fe->closed == NULL)
		return;
	pthread_mutex_lock(&fe->mu);
	while ((c = fe->closed) != NULL) {
		fe->closed = c->next;
		conn_put_locked(c);
	}
	pthread_mutex_unlock(&fe->mu);
}

/* --- replies ---------------------------------------------------------- */

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

/* No reply possible: let the client time out, keep serving. */
static void
reply_none(struct fe_ctx *x)
{
	struct frontend *fe = x->fe;

	pthread_mutex_lock(&fe->mu);
	ctx_release_locked(x);
	pthread_mutex_unlock(&fe->mu);
	atomic_fetch_sub(&fe->inflight, 1);
}

/* Take the encoded reply and send it with x's backtrace; x is free again
 * once it is written. */
static void
send_reply(struct fe_ctx *x, msgpack_sbuffer *sb)
{
	struct frontend *fe = x->fe;
	size_t body = x->bt_len + sb->size;
	struct fe_out *o = malloc(sizeof(*o) + SP_HEAD_LEN + body);
	struct fe_conn *c = x->conn;

	if (o == NULL) {
		msgpack_sbuffer_destroy(sb);
		log_error("front end: no memory for a reply of %zu bytes", sb->size);
		reply_none(x);
		return;
	}
	o->next = NULL;
	o->x = x;
	o->off = 0;
	o->len = SP_HEAD_LEN + body;
	o->data[0] = SP_MSG_TYPE;
	put64(o->data + 1, body);
	memcpy(o->data + SP_HEAD_LEN, x->bt, x->bt_len);
	if (sb->size > 0)
		memcpy(o->data + SP_HEAD_LEN + x->bt_len, sb->data, sb->size);
	msgpack_sbuffer_destroy(sb);

	pthread_mutex_lock(&fe->mu);
	if (c->open && !c->broken) {
		if (c->out_last != NULL)
			c->out_last->next = o;
		else
			c->out = o;
		c->out_last = o;
		fe->n_out++;
		/* with earlier replies still queued, EPOLLOUT writes this one */
		if (c->out == o)
			conn_flush_locked(c);
	} else {
		free(o);
		ctx_release_locked(x);
	}
	pthread_mutex_unlock(&fe->mu);
	atomic_fetch_sub(&fe->inflight, 1);
}

static void
send_error(struct fe_ctx *x, int code, const char *msg)
{
	struct cradle_err e = { .code = code };
	msgpack_sbuffer sb;

	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	msgpack_sbuffer_init(&sb);
	if (proto_reply_encode_error(&sb, &e) < 0) {
		msgpack_sbuffer_destroy(&sb);
		reply_none(x);
		return;
	}
	send_reply(x, &sb);
}

/* job->done: on the thread that ran the job */
static void
job_done(struct job *job)
{
	struct fe_ctx *x = (struct fe_ctx *)job;
	msgpack_sbuffer sb;
	struct cradle_err err;

	msgpack_sbuffer_init(&sb);
	if (proto_reply_encode(&sb, &job->rep, &err) < 0) {
		msgpack_sbuffer_destroy(&sb);
		proto_request_fini(&job->req);
		proto_reply_fini(&job->rep);
		send_error(x, err.code ? err.code : CRADLE_INTERNAL, err.msg);
		return;
	}
	proto_request_fini(&job->req);
	proto_reply_fini(&job->rep);
	send_reply(x, &sb);
}

/* --- lists ------------------------------------------------------------ */

static void *
lister_main(void *arg)
{
	struct frontend *fe = arg;
	struct fe_ctx *x;

	pthread_setname_np(pthread_self(), "cradle:list");
	pthread_mutex_lock(&fe->mu);
	for (;;) {
		while (fe->list_head == NULL && !fe->listers_quit)
			pthread_cond_wait(&fe->list_cv, &fe->mu);
		if ((x = fe->list_head) == NULL)
			break;
		if ((fe->list_head = x->next) == NULL)
			fe->list_last = NULL;
		pthread_mutex_unlock(&fe->mu);
		ops_run(&fe->d->env, NULL, &x->job.req, &x->job.rep);
		job_done(&x->job);
		pthread_mutex_lock(&fe->mu);
	}
	pthread_mutex_unlock(&fe->mu);
	return NULL;
}

/* --- requests --------------------------------------------------------- */

/* A whole message of c (c->msg, taken over) in context x.  false when it
 * closed c. */
/* Reads: what readonly_group may ask. */
static bool
op_reads(int op)
{
	switch (op) {
	case OP_VERSION:
	case OP_STATUS:
	case OP_LIST:
	case OP_DAEMON_STATS:
	case OP_IMAGE_LIST:
	case OP_IMAGE_STATUS:
	case OP_EVENTS_SINCE:
	case OP_DAEMON_INFO:
		return true;
	default:
		return false;
	}
}

static bool
allowed(const struct fe_conn *c, int op)
{
	return c->access == FE_ALL || (c->access == FE_READ && op_reads(op));
}

static bool
in_groups(gid_t g, gid_t primary, const gid_t *groups, int n)
{
	if (g == primary)
		return true;
	for (int i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}

/* The peer's credentials when it connected (SO_PEERCRED, and its
 * supplementary groups from SO_PEERGROUPS): root and members of
 * [cradled] group may do anything, members of readonly_group may read
 * only (also when in the group: to reach the socket, 0660 root:group,
 * they must be); anyone else who reached the socket (its mode changed by
 * hand) is refused every request. */
static enum fe_access
peer_access(struct frontend *fe, int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[256];
	int n = 0;

	*uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return FE_NONE;
	*uid = cred.uid;
	if (cred.uid == 0)
		return FE_ALL;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		n = (int)(len / sizeof(gid_t));
	if (fe->d->have_readonly_group && in_groups(fe->d->readonly_gid, cred.gid, groups, n))
		return FE_READ;
	if (fe->d->have_group && in_groups(fe->d->group_gid, cred.gid, groups, n))
		return FE_ALL;
	return FE_NONE;
}

/* A request the front end refuses for the daemon's sake (shutting down,
 * queue full), logged as a worker logs a request it ran: the operation,
 * its image, the sandbox and pod as the log context, the error; req NULL:
 * not decoded.  At most FE_REFUSED_LINES lines a second (a full queue
 * refuses a flood): the rest are counted, and the next line says how many
 * went unlogged.  The loop thread's alone, as on_request is. */
#define FE_REFUSED_LINES 10
static void
log_refused(const struct proto_request *req, enum log_level level, int code, const char *msg)
{
	static int64_t second;
	static unsigned lines;
	static unsigned long unlogged;
	struct timespec now;
	char more[64] = "";

	if (level < log_get_level())
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != second) {
		second = now.tv_sec;
		lines = 0;
	}
	if (lines++ >= FE_REFUSED_LINES) {
		unlogged++;
		return;
	}
	if (unlogged > 0)
		snprintf(more, sizeof(more), " (and %lu more refusals not logged)", unlogged);
	unlogged = 0;
	log_ctx_clear();
	if (req == NULL) {
		log_msg(level, "request refused: %s: %s%s", cradle_code_name(code), msg, more);
		return;
	}
	if (req->op == OP_RUN || req->op == OP_CREATE)
		log_ctx_set(NULL, req->config.metadata.namespace, req->config.metadata.name);
	else if (req->id[0] != '\0')
		log_ctx_set(req->id, NULL, NULL);
	const char *op = proto_op_name(req->op);
	log_msg(level, "%s%s%.300s refused: %s: %s%s", op ? op : "?", req->ref ? " " : "",
	        req->ref ? req->ref : "", cradle_code_name(code), msg, more);
	log_ctx_clear();
}

static bool
on_request(struct fe_conn *c, struct fe_ctx *x)
{
	struct frontend *fe = c->fe;
	unsigned char *msg = c->msg;
	size_t len = c->msg_len, off = 0;
	struct cradle_err err = { 0 };
	int hops = 0, rc;

	c->msg = NULL;
	c->msg_len = c->msg_got = c->head_got = 0;
	/* the backtrace, as rep0 takes it off */
	for (;;) {
		if (hops == SP_MAX_HOPS) {
			/* too many hops: dropped, the peer may be a device */
			pthread_mutex_lock(&fe->mu);
			ctx_free_locked(x);
			pthread_mutex_unlock(&fe->mu);
			free(msg);
			return true;
		}
		if (len - off < SP_WORD) {
			/* garbage: rep0 hangs up */
			pthread_mutex_lock(&fe->mu);
			ctx_free_locked(x);
			pthread_mutex_unlock(&fe->mu);
			free(msg);
			conn_close(c);
			return false;
		}
		hops++;
		off += SP_WORD;
		if (msg[off - SP_WORD] & 0x80)
			break;
	}
	memcpy(x->bt, msg, off);
	x->bt_len = off;
	pthread_mutex_lock(&fe->mu);
	x->conn = c;
	c->refs++;
	pthread_mutex_unlock(&fe->mu);

	/* seq_cst here and in frontend_stop: each side writes one flag and
	 * reads the other, which weaker orders do not make safe */
	atomic_fetch_add(&fe->inflight, 1);
	if (atomic_load(&fe->stopping)) {
		/* decoded only to name it in the log */
		bool named = proto_request_decode(msg + off, len - off, &x->job.req, &err) == 0;
		log_refused(named ? &x->job.req : NULL, LOG_INFO, CRADLE_UNAVAILABLE,
		            "cradled is shutting down");
		if (named)
			proto_request_fini(&x->job.req);
		free(msg);
		send_error(x, CRADLE_UNAVAILABLE, "cradled is shutting down");
		return true;
	}
	rc = proto_request_decode(msg + off, len - off, &x->job.req, &err);
	free(msg);
	if (rc < 0) {
		send_error(x, err.code ? err.code : CRADLE_INVALID_ARGUMENT, err.msg);
		return true;
	}
	if (!allowed(c, x->job.req.op)) {
		char m[200];
		snprintf(m, sizeof(m),
		         c->access == FE_READ
		                 ? "uid %u may only read (readonly_group): %s is refused"
		                 : "uid %u is not allowed to use cradled (neither root nor in its "
		                   "group): %s is refused",
		         (unsigned)c->uid, proto_op_name(x->job.req.op));
		proto_request_fini(&x->job.req);
		send_error(x, CRADLE_PERMISSION_DENIED, m);
		return true;
	}
	proto_reply_init(&x->job.rep, x->job.req.op);
	/* a list, or a page of the event log: by a lister, off the loop */
	if (x->job.req.op == OP_LIST || x->job.req.op == OP_EVENTS_SINCE) {
		pthread_mutex_lock(&fe->mu);
		x->next = NULL;
		if (fe->list_last != NULL)
			fe->list_last->next = x;
		else
			fe->list_head = x;
		fe->list_last = x;
		pthread_cond_signal(&fe->list_cv);
		pthread_mutex_unlock(&fe->mu);
		return true;
	}
	if (ops_is_quick(x->job.req.op)) {
		/* reads of published state: answered here, not queued behind
		 * starts that may take a while (worker/ops.h) */
		ops_run(&fe->d->env, NULL, &x->job.req, &x->job.rep);
		job_done(&x->job);
		return true;
	}
	if (!queue_push(&fe->d->queue, &x->job)) {
		char m[128];
		snprintf(m, sizeof(m), "request queue is full (%zu waiting); retry later",
		         queue_capacity(&fe->d->queue));
		log_refused(&x->job.req, LOG_WARN, CRADLE_RESOURCE_EXHAUSTED, m);
		proto_request_fini(&x->job.req);
		proto_reply_fini(&x->job.rep);
		send_error(x, CRADLE_RESOURCE_EXHAUSTED, m);
	}
	return true;
}

/* Move up to want read-ahead bytes of c to dst; how many. */
static size_t
take(struct fe_conn *c, unsigned char *dst, size_t want)
{
	size_t n = c->len - c->pos;

	if (n > want)
		n = want;
	memcpy(dst, c->buf + c->pos, n);
	c->pos += n;
	if (c->pos == c->len)
		c->pos = c->len = 0;
	return n;
}

/* Handle what c has received, up to a request that finds no context (c is
 * then parked).  false when c was closed. */
static bool
conn_parse(struct fe_conn *c)
{
	struct frontend *fe = c->fe;
	struct fe_ctx *x;
	uint64_t n;

	for (;;) {
		if (!c->greeted) {
			c->head_got +=
				take(c, c->head + c->head_got, SP_GREETING_LEN - c->head_got);
			if (c->head_got < SP_GREETING_LEN)
				return true;
			/* rep0 pairs with req0 alone */
			if (c->head[0] != 0 || c->head[1] != 'S' || c->head[2] != 'P' ||
			    c->head[3] != 0 || c->head[4] != 0 || c->head[5] != SP_PROTO_REQ0 ||
			    c->head[6] != 0 || c->head[7] != 0) {
				conn_close(c);
				return false;
			}
			c->greeted = true;
			c->head_got = 0;
		}
		if (c->head_got < SP_HEAD_LEN) {
			c->head_got += take(c, c->head + c->head_got, SP_HEAD_LEN - c->head_got);
			if (c->head_got < SP_HEAD_LEN)
				return true;
			n = 0;
			for (int i = 1; i < SP_HEAD_LEN; i++)
				n = n << 8 | c->head[i];
			if (c->head[0] != SP_MSG_TYPE || n > FE_RECV_MAX) {
				conn_close(c);
				return false;
			}
			c->msg_len = (size_t)n;
			c->msg_got = 0;
			if ((c->msg = malloc(c->msg_len + 1)) == NULL) {
				log_error("front end: no memory for a request of %zu bytes",
				          c->msg_len);
				conn_close(c);
				return false;
			}
		}
		if (c->msg_got < c->msg_len) {
			c->msg_got += take(c, c->msg + c->msg_got, c->msg_len - c->msg_got);
			if (c->msg_got < c->msg_len)
				return true;
		}
		pthread_mutex_lock(&fe->mu);
		if ((x = fe->free_ctx) == NULL) {
			c->parked = true;
			c->next_parked = NULL;
			if (fe->parked_last != NULL)
				fe->parked_last->next_parked = c;
			else
				fe->parked_head = c;
			fe->parked_last = c;
			conn_arm_locked(c);
			pthread_mutex_unlock(&fe->mu);
			return true;
		}
		fe->free_ctx = x->next;
		pthread_mutex_unlock(&fe->mu);
		if (!on_request(c, x))
			return false;
	}
}

/* c is readable (or hung up): one receive, then what it completed. */
static void
conn_read(struct fe_conn *c)
{
	unsigned char *dst;
	size_t room;
	ssize_t n;

	if (c->pos > 0) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->len -= c->pos;
		c->pos = 0;
	}
	dst = c->buf + c->len;
	room = sizeof(c->buf) - c->len;
	if (room == 0) {
		conn_parse(c); /* not expected: parsing takes all it is given */
		return;
	}
	/* a large remainder of a request goes straight to its buffer */
	if (c->msg != NULL && c->len == 0 && c->msg_len - c->msg_got >= sizeof(c->buf)) {
		dst = c->msg + c->msg_got;
		room = c->msg_len - c->msg_got;
	}
	do
		n = recv(c->fd, dst, room, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		/* hung up (replies still in flight are dropped, as rep0 does) */
		conn_close(c);
		return;
	}
	if (dst == c->msg + c->msg_got)
		c->msg_got += (size_t)n;
	else
		c->len += (size_t)n;
	conn_parse(c);
}

/* Contexts came free: parked connections go on, oldest first. */
static void
resume_parked(struct frontend *fe)
{
	struct fe_conn *c;

	for (;;) {
		pthread_mutex_lock(&fe->mu);
		if (fe->free_ctx == NULL || (c = fe->parked_head) == NULL) {
			pthread_mutex_unlock(&fe->mu);
			return;
		}
		if ((fe->parked_head = c->next_parked) == NULL)
			fe->parked_last = NULL;
		c->parked = false;
		conn_arm_locked(c);
		pthread_mutex_unlock(&fe->mu);
		conn_parse(c);
	}
}

/* --- the loop --------------------------------------------------------- */

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
accept_all(struct frontend *fe)
{
	static const unsigned char greeting[SP_GREETING_LEN] = { 0, 'S',           'P', 0,
		                                                 0, SP_PROTO_REP0, 0,   0 };
	struct epoll_event ev = { .events = EPOLLIN };
	struct fe_conn *c;
	int fd;

	for (;;) {
		fd = accept4(fe->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_error("front end: accept: %s; listening again in %d ms",
			          strerror(errno), FE_ACCEPT_BACKOFF_MS);
			epoll_ctl(fe->epfd, EPOLL_CTL_DEL, fe->lfd, NULL);
			fe->accept_again = mono_ns() + FE_ACCEPT_BACKOFF_MS * 1000000LL;
			return;
		}
		/* a fresh socket has room for 8 bytes: anything short of all
		 * of them means the peer is gone already */
		if (send(fd, greeting, sizeof(greeting), MSG_DONTWAIT | MSG_NOSIGNAL) !=
		            (ssize_t)sizeof(greeting) ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fe = fe;
		c->fd = fd;
		c->access = peer_access(fe, fd, &c->uid);
		c->refs = 1;
		c->open = true;
		ev.data.ptr = c;
		if (epoll_ctl(fe->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			log_error("front end: watch connection: %s", strerror(errno));
			close(fd);
			free(c);
			continue;
		}
		c->next = fe->conns;
		if (fe->conns != NULL)
			fe->conns->prev = c;
		fe->conns = c;
		/* a client sends its greeting, often its request too, right
		 * after connecting: take them now rather than on another
		 * wakeup */
		conn_read(c);
	}
}

static void *
loop_main(void *arg)
{
	struct frontend *fe = arg;
	struct epoll_event evs[FE_EVENTS], lev = { .events = EPOLLIN, .data.ptr = &listen_tag };
	uint64_t count;
	int n;

	pthread_setname_np(pthread_self(), "cradle:front");
	while (!atomic_load(&fe->quit)) {
		n = epoll_wait(fe->epfd, evs, FE_EVENTS,
		               fe->accept_again ? FE_ACCEPT_BACKOFF_MS : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("front end: epoll_wait: %s", strerror(errno));
			break;
		}
		if (fe->accept_again && mono_ns() >= fe->accept_again &&
		    epoll_ctl(fe->epfd, EPOLL_CTL_ADD, fe->lfd, &lev) == 0)
			fe->accept_again = 0;
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			struct fe_conn *c = p;

			if (p == &listen_tag) {
				accept_all(fe);
			} else if (p == &wake_tag) {
				while (read(fe->evfd, &count, sizeof(count)) < 0 && errno == EINTR)
					;
				resume_parked(fe);
			} else if (c->open) {
				if (evs[i].events & EPOLLOUT) {
					pthread_mutex_lock(&fe->mu);
					conn_flush_locked(c);
					pthread_mutex_unlock(&fe->mu);
				}
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
					/* parked and hung up: nothing more to read
					 * but the hangup, and nobody to answer */
					if (c->parked)
						conn_close(c);
					else
						conn_read(c);
				}
			}
		}
		release_closed(fe);
	}
	return NULL;
}

/* --- start and stop --------------------------------------------------- */

/* Bind the socket at fe->sock_path, replacing a stale one (nobody
 * listening: a daemon that died), as nng's ipc listener does. */
static int
listen_at(struct frontend *fe, struct cradle_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	memcpy(sa.sun_path, fe->sock_path, strlen(fe->sock_path) + 1);
	fe->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fe->lfd < 0)
		return cradle_err_errno(err, errno, "request socket");
	if (bind(fe->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EADDRINUSE)
			return cradle_err_errno(err, errno, "bind \"%s\"", fe->sock_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		    errno == ECONNREFUSED)
			unlink(fe->sock_path);
		if (fd >= 0)
			close(fd);
		if (bind(fe->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return cradle_err_errno(err, errno, "bind \"%s\"", fe->sock_path);
	}
	fe->bound = true;
	if (chmod(fe->sock_path, 0660) < 0)
		return cradle_err_errno(err, errno, "chmod \"%s\"", fe->sock_path);
	if (fe->d->have_group && chown(fe->sock_path, 0, fe->d->group_gid) < 0)
		return cradle_err_errno(err, errno, "chown \"%s\"", fe->sock_path);
	if (listen(fe->lfd, FE_BACKLOG) < 0)
		return cradle_err_errno(err, errno, "listen on \"%s\"", fe->sock_path);
	return 0;
}

int
frontend_start(struct daemon *d, struct frontend **out, struct cradle_err *err)
{
	static const char ipc[] = "ipc://";
	struct frontend *fe = calloc(1, sizeof(*fe));
	struct epoll_event ev = { .events = EPOLLIN };
	const char *path;
	int rc;

	if (fe == NULL)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "allocate front end");
	fe->d = d;
	fe->lfd = fe->epfd = fe->evfd = -1;
	pthread_mutex_init(&fe->mu, NULL);
	pthread_cond_init(&fe->list_cv, NULL);
	fe->n_ctx = d->cfg.contexts;
	fe->ctxs = calloc((size_t)fe->n_ctx, sizeof(*fe->ctxs));
	if (fe->ctxs == NULL) {
		cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "allocate front end contexts");
		goto fail;
	}
	for (int i = fe->n_ctx - 1; i >= 0; i--) {
		struct fe_ctx *x = &fe->ctxs[i];
		x->fe = fe;
		x->job.done = job_done;
		x->next = fe->free_ctx;
		fe->free_ctx = x;
	}
	path = d->sock_url;
	if (strncmp(path, ipc, sizeof(ipc) - 1) != 0 ||
	    strlen(path + sizeof(ipc) - 1) >= sizeof(fe->sock_path) || !path[sizeof(ipc) - 1]) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "listen on \"%s\": an ipc:// path of 1 to %zu bytes is needed", path,
		               sizeof(fe->sock_path) - 1);
		goto fail;
	}
	snprintf(fe->sock_path, sizeof(fe->sock_path), "%s", path + sizeof(ipc) - 1);
	if ((fe->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (fe->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		cradle_err_errno(err, errno, "front end event loop");
		goto fail;
	}
	ev.data.ptr = &wake_tag;
	if (epoll_ctl(fe->epfd, EPOLL_CTL_ADD, fe->evfd, &ev) < 0) {
		cradle_err_errno(err, errno, "front end event loop");
		goto fail;
	}
	if (listen_at(fe, err) < 0)
		goto fail;
	ev.data.ptr = &listen_tag;
	if (epoll_ctl(fe->epfd, EPOLL_CTL_ADD, fe->lfd, &ev) < 0) {
		cradle_err_errno(err, errno, "front end event loop");
		goto fail;
	}
	for (; fe->n_listers < FE_LISTERS; fe->n_listers++) {
		if ((rc = pthread_create(&fe->listers[fe->n_listers], NULL, lister_main, fe)) !=
		    0) {
			cradle_err_errno(err, rc, "start front end thread");
			goto fail;
		}
	}
	if ((rc = pthread_create(&fe->loop, NULL, loop_main, fe)) != 0) {
		cradle_err_errno(err, rc, "start front end thread");
		goto fail;
	}
	fe->loop_started = true;
	*out = fe;
	return 0;
fail:
	frontend_stop(fe);
	return -1;
}

void
frontend_stop(struct frontend *fe)
{
	struct fe_conn *c;
	size_t n_out;

	if (fe == NULL)
		return;
	atomic_store(&fe->stopping, true);
	/* Finish what is in flight: every job queued or running gets its
	 * reply; requests arriving meanwhile are told UNAVAILABLE. */
	while (atomic_load(&fe->inflight) > 0)
		nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
	/* and give the replies made a moment to leave */
	for (int ms = 0; fe->loop_started && ms < FE_FLUSH_WAIT_MS; ms += 2) {
		pthread_mutex_lock(&fe->mu);
		n_out = fe->n_out;
		pthread_mutex_unlock(&fe->mu);
		if (n_out == 0)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
	}
	if (fe->loop_started) {
		atomic_store(&fe->quit, true);
		wake_loop(fe);
		pthread_join(fe->loop, NULL);
	}
	pthread_mutex_lock(&fe->mu);
	fe->listers_quit = true;
	pthread_cond_broadcast(&fe->list_cv);
	pthread_mutex_unlock(&fe->mu);
	for (int i = 0; i < fe->n_listers; i++)
		pthread_join(fe->listers[i], NULL);
	/* nothing in flight: each connection holds the loop's ref alone */
	while ((c = fe->conns) != NULL)
		conn_close(c);
	release_closed(fe);
	if (fe->lfd >= 0)
		close(fe->lfd);
	if (fe->bound)
		unlink(fe->sock_path);
	if (fe->epfd >= 0)
		close(fe->epfd);
	if (fe->evfd >= 0)
		close(fe->evfd);
	pthread_cond_destroy(&fe->list_cv);
	pthread_mutex_destroy(&fe->mu);
	free(fe->ctxs);
	free(fe);
}
