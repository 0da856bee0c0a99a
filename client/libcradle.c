/* libcradle.c - the C client of cradled (client/cradle.h): connections,
 * the round trip of every operation, event subscriptions, and the bridge
 * from proto's errors to the public struct cradle_error.
 *
 * A connection takes one of two paths to the daemon, chosen when it is
 * opened (cradle.h, cradle_connect_flags):
 *  - nng (cradle_connect): one nng req0 socket; every call opens its own
 *    nng_ctx, so a connection serves many threads at once, each with one
 *    request in flight, and nng redials in the background.  This costs the
 *    process nng's thread pool (a dozen threads) on the first socket.
 *  - sync (CRADLE_CONNECT_SYNC): nng is never initialised.  Each call is
 *    one exchange of the same wire (client/sp.c: req0 over nng's ipc
 *    transport) made by the calling thread on a plain UNIX socket.  The
 *    sockets are kept in a small idle pool: a call takes one (or dials a
 *    new one, so threads still never wait for each other) and gives it
 *    back when the exchange went well; any failure closes it, so a late
 *    reply can never be taken for the next call's.
 * Two req0 defaults are wrong for cradle and are changed on the nng path
 * (the sync path has neither):
 *  - resend: req0 re-sends a request that got no reply within 60 s, and
 *    re-sends at once when the pipe it went out on closes.  Create, run,
 *    stop and remove are not idempotent, so resending is switched off; a
 *    lost connection then fails the call with ECONNRESET instead.
 *  - size: list replies carry many sandboxes (or images); the receive
 *    limit is PROTO_MAX_LIST_MSG (the decoder applies the tighter per-op
 *    bounds).
 * Pulls and imports wait for their reply at least CRADLE_IMAGE_TIMEOUT_MS.
 * Dialing is synchronous so that a missing daemon is reported by
 * cradle_connect itself; after that nng redials in the background if the
 * daemon restarts.
 *
 * Inside, every function speaks proto's struct cradle_err; a public entry
 * point keeps one on its stack and hands it out with cradle_error_export.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "client/internal.h"
#include "client/sp.h"

/* The public names are the wire's values under other spellings: the CLI
 * includes both headers, and a value that moved would be a silent lie. */
_Static_assert((int)CRADLE_STATUS_OK == (int)CRADLE_OK &&
                       (int)CRADLE_STATUS_INTERNAL == (int)CRADLE_INTERNAL &&
                       (int)CRADLE_STATUS_INVALID_ARGUMENT == (int)CRADLE_INVALID_ARGUMENT &&
                       (int)CRADLE_STATUS_NOT_FOUND == (int)CRADLE_NOT_FOUND &&
                       (int)CRADLE_STATUS_ALREADY_EXISTS == (int)CRADLE_ALREADY_EXISTS &&
                       (int)CRADLE_STATUS_FAILED_PRECONDITION == (int)CRADLE_FAILED_PRECONDITION &&
                       (int)CRADLE_STATUS_RESOURCE_EXHAUSTED == (int)CRADLE_RESOURCE_EXHAUSTED &&
                       (int)CRADLE_STATUS_PERMISSION_DENIED == (int)CRADLE_PERMISSION_DENIED &&
                       (int)CRADLE_STATUS_UNAVAILABLE == (int)CRADLE_UNAVAILABLE,
               "enum cradle_status differs from proto/err.h");
_Static_assert(CRADLE_ERROR_MAX == CRADLE_ERR_MSG_MAX, "error message sizes differ");
_Static_assert(CRADLE_SANDBOX_ID_LEN == CRADLE_ID_LEN, "sandbox id lengths differ");
_Static_assert(CRADLE_IMAGE_REF_MAX == PROTO_MAX_REF, "image reference limits differ");
_Static_assert((int)CRADLE_STATE_READY == (int)STATE_READY &&
                       (int)CRADLE_STATE_NOTREADY == (int)STATE_NOTREADY,
               "enum cradle_state differs from proto/proto.h");
_Static_assert(sizeof(((struct cradle_version *)0)->version) ==
                       sizeof(((struct proto_version *)0)->version),
               "version strings differ");
_Static_assert(sizeof(((struct cradle_event *)0)->type) == sizeof(((struct proto_event *)0)->type),
               "event types differ");

#define DEFAULT_TIMEOUT_MS 120000
/* A stop may take its whole grace period before the daemon replies; give
 * the reply this much longer than the grace period to arrive. */
#define STOP_REPLY_SLACK_MS 30000
/* The daemon's default stop grace period (cradle.h: timeout_ms < 0). */
#define STOP_DEFAULT_MS 10000

/* URLs are socket paths (<= 108 bytes) plus a scheme; anything sensible
 * fits, and longer input is refused rather than cut. */
#define URL_MAX (PATH_MAX + 16)

/* A dialed socket and where it goes: a connection's request socket or a
 * subscription's.  Each handle is one, as its first member. */
struct endpoint {
	nng_socket sock;
	nng_duration timeout; /* requests: per call, ms or NNG_DURATION_INFINITE */
	char url[URL_MAX];
};

/* Idle sockets a sync connection keeps for its next calls. */
#define SYNC_IDLE_MAX 4

struct cradle_conn {
	struct endpoint ep; /* url and timeout; sock on the nng path only */
	bool sync;
	/* sync: the socket's path (ep.url past "ipc://"), and the idle
	 * sockets under lock */
	const char *path;
	pthread_mutex_t lock;
	struct sp_conn *idle[SYNC_IDLE_MAX];
	size_t n_idle;
};

/* A subscription (see "events" below): the sub socket, and what it
 * needs to hand out every event once, in order. */
struct cradle_events {
	struct endpoint ep;
	/* the request socket events.since goes to ("": none), and its
	 * connection, opened when first needed */
	char req_url[URL_MAX];
	struct cradle_conn *conn;
	uint64_t last;         /* the last seq handed out; 0: none yet */
	bool replaying;        /* fetch from last + 1 before the next live one */
	bool from_oldest;      /* the next fetch asks for the oldest kept */
	bool need_baseline;    /* last is not known yet (daemon down at open) */
	struct proto_event *q; /* a fetched page being handed out */
	size_t qn, qpos;
	struct proto_event held; /* the live event that showed a gap */
	bool have_held;
	/* after a failed fetch: not asked again before retry_at (the pause
	 * doubles up to EVENTS_RETRY_MAX_MS, across calls), why it failed */
	nng_time retry_at;
	nng_duration pause;
	struct cradle_err why;
	/* set by nng when a pipe to the daemon comes up (a restart): catch
	 * up from the log, since events published while we were away never
	 * reach us live; wakes a receive in progress */
	pthread_mutex_t mu;
	nng_aio *aio;  /* the receive in progress, under mu */
	bool catch_up; /* under mu */
};

/* --- errors -------------------------------------------------------- */

const char *
cradle_status_name(int code)
{
	return cradle_code_name(code);
}

int
cradle_error_export(struct cradle_error *err, const struct cradle_err *e, int rc)
{
	if (rc < 0 && err) {
		err->code = e->code;
		snprintf(err->message, sizeof(err->message), "%s", e->msg);
	}
	return rc;
}

/* The text for an nng error.  A missing ipc socket file reads better as
 * the errno text than as nng's "Entry not found". */
static const char *
nng_text(int nng_rc)
{
	if (nng_rc == NNG_ENOENT)
		return strerror(ENOENT);
	return nng_strerror(nng_rc);
}

/* errno for the return value of a failed call; err->code tells the
 * rest. */
static int
nng_errno(int nng_rc)
{
	switch (nng_rc) {
	case NNG_ETIMEDOUT:
		return -ETIMEDOUT;
	case NNG_ECONNREFUSED:
		return -ECONNREFUSED;
	case NNG_ECONNRESET:
	case NNG_ECLOSED:
		return -ECONNRESET;
	case NNG_ENOENT:
		return -ENOENT;
	case NNG_ENOMEM:
		return -ENOMEM;
	case NNG_EADDRINVAL:
		return -EINVAL;
	case NNG_EPERM:
		return -EACCES;
	case NNG_EPROTO:
		return -EPROTO;
	default:
		return -EIO;
	}
}

/* A daemon's error reply as a negative errno, so callers that only look
 * at the return value still see the kind of failure. */
static int
code_errno(int code)
{
	switch (code) {
	case CRADLE_INVALID_ARGUMENT:
		return -EINVAL;
	case CRADLE_NOT_FOUND:
		return -ENOENT;
	case CRADLE_ALREADY_EXISTS:
		return -EEXIST;
	case CRADLE_FAILED_PRECONDITION:
		return -EBUSY;
	case CRADLE_RESOURCE_EXHAUSTED:
		return -EAGAIN;
	case CRADLE_PERMISSION_DENIED:
		return -EPERM;
	case CRADLE_UNAVAILABLE:
		return -ECONNREFUSED;
	default:
		return -EIO;
	}
}

static int
unreachable(struct cradle_err *err, const char *url, int nng_rc)
{
	const char *why = nng_text(nng_rc);
	int rc = nng_errno(nng_rc);

	/* nng reports a missing ipc socket file as "Connection refused";
	 * ENOENT, "No such file or directory", tells the user where to look
	 * (and is what the sync path's connect(2) says) */
	if (nng_rc == NNG_ECONNREFUSED && strncmp(url, "ipc://", 6) == 0 &&
	    access(url + 6, F_OK) < 0 && errno == ENOENT) {
		why = strerror(ENOENT);
		rc = -ENOENT;
	}
	cradle_err_set(err, nng_rc == NNG_EADDRINVAL ? CRADLE_INVALID_ARGUMENT : CRADLE_UNAVAILABLE,
	               "cannot reach cradled at \"%s\": %s", url, why);
	return rc;
}

/* The error of a round trip that failed with rc (a negative errno) after
 * the request went out, or while it did; cause says why (the sync path's
 * words, or nng's), code its wire code where the sync path knows better
 * than UNAVAILABLE (a reply that is not SP or too large: INTERNAL). */
static int
exchange_failed(struct cradle_err *err, const char *what, const char *url, int rc, int code,
                nng_duration timeout, const char *cause)
{
	switch (rc) {
	case -ETIMEDOUT:
		cradle_err_set(err, CRADLE_UNAVAILABLE,
		               "%s: no reply from cradled at \"%s\" within %d ms (the "
		               "operation may still complete)",
		               what, url, (int)timeout);
		break;
	case -ECONNRESET:
		cradle_err_set(err, CRADLE_UNAVAILABLE,
		               "%s: connection to cradled at \"%s\" lost before the reply "
		               "(the operation may or may not have happened)",
		               what, url);
		break;
	default:
		if (code == CRADLE_INTERNAL)
			cradle_err_set(err, code, "%s: invalid reply from cradled at \"%s\": %s",
			               what, url, cause);
		else
			cradle_err_set(err, code, "%s: cannot reach cradled at \"%s\": %s", what,
			               url, cause);
		break;
	}
	return rc;
}

/* --- paths --------------------------------------------------------- */

static bool
is_url(const char *s)
{
	return strstr(s, "://") != NULL;
}

/* Write "ipc://" + path (or the URL as is) into buf; NULL if too long. */
static const char *
as_url(char *buf, size_t size, const char *s)
{
	int n = snprintf(buf, size, "%s%s", is_url(s) ? "" : "ipc://", s);

	return n < 0 || (size_t)n >= size ? NULL : buf;
}

const char *
cradle_socket_path(const char *explicit_path)
{
	/* thread-local: the result stays valid until this thread calls again,
	 * and cradle_events_path may be handed it (it has its own buffer) */
	static _Thread_local char buf[URL_MAX];
	const char *s = explicit_path;

	if (!s || !s[0])
		s = getenv("CRADLE_SOCKET");
	if (!s || !s[0])
		s = CRADLE_DEFAULT_SOCKET;
	if (!as_url(buf, sizeof(buf), s))
		return as_url(buf, sizeof(buf), CRADLE_DEFAULT_SOCKET);
	return buf;
}

const char *
cradle_events_path(const char *explicit_path, const char *socket_path)
{
	static _Thread_local char buf[URL_MAX];
	const char *s = explicit_path, *slash, *path;
	int n;

	if (!s || !s[0])
		s = getenv("CRADLE_EVENTS");
	if (s && s[0] && as_url(buf, sizeof(buf), s))
		return buf;
	/* the daemon puts both sockets in its state directory: when only the
	 * request socket is known, look beside it */
	if (!socket_path || !socket_path[0])
		socket_path = getenv("CRADLE_SOCKET");
	if (socket_path && socket_path[0]) {
		path = socket_path;
		if (strncmp(path, "ipc://", 6) == 0)
			path += 6;
		else if (is_url(path))
			path = NULL; /* tcp:// and friends: no directory to look in */
		if (path) {
			slash = strrchr(path, '/');
			n = slash ? snprintf(buf, sizeof(buf), "ipc://%.*s/events.sock",
			                     (int)(slash - path), path)
			          : snprintf(buf, sizeof(buf), "ipc://events.sock");
			if (n > 0 && (size_t)n < sizeof(buf))
				return buf;
		}
	}
	return as_url(buf, sizeof(buf), CRADLE_DEFAULT_EVENTS);
}

/* --- sockets ------------------------------------------------------- */

/* The options of a request socket (timeout: the connection's) or of a
 * subscription (sub).  Set before the dial: a pipe takes its receive limit
 * from the socket when it is created. */
static int
set_options(nng_socket sock, bool sub, nng_duration timeout)
{
	int nng_rc;

	/* a subscription takes every topic: events are bare msgpack maps,
	 * "type" says what they are */
	if (sub) {
		if ((nng_rc = nng_socket_set(sock, NNG_OPT_SUB_SUBSCRIBE, "", 0)) != 0)
			return nng_rc;
		return nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_REPLY_MSG);
	}
	if ((nng_rc = nng_socket_set_ms(sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) !=
	            0 ||
	    (nng_rc = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_LIST_MSG)) != 0 ||
	    (nng_rc = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, timeout)) != 0)
		return nng_rc;
	return nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, timeout);
}

/* Open a req0 socket (or a sub0 one: sub), set its options and dial path
 * (a path or URL; what names it in messages: "request", "event").  On
 * failure nothing is left open. */
static int
endpoint_open(struct endpoint *ep, const char *path, const char *what, bool sub,
              nng_duration timeout, nng_pipe_cb on_pipe, void *arg, struct cradle_err *err)
{
	int nng_rc;

	ep->timeout = timeout;
	if (!as_url(ep->url, sizeof(ep->url), path))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "%s socket path of %zu bytes is too long", what,
		                      strlen(path));
	nng_rc = sub ? nng_sub0_open(&ep->sock) : nng_req0_open(&ep->sock);
	if (nng_rc != 0) {
		cradle_err_set(err, CRADLE_INTERNAL, "open %s socket: %s", what,
		               nng_strerror(nng_rc));
		return nng_errno(nng_rc);
	}
	/* before the dial, so the first pipe is seen too */
	if (on_pipe &&
	    (nng_rc = nng_pipe_notify(ep->sock, NNG_PIPE_EV_ADD_POST, on_pipe, arg)) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL, "configure %s socket: %s", what,
		               nng_strerror(nng_rc));
		nng_rc = nng_errno(nng_rc);
	} else if ((nng_rc = set_options(ep->sock, sub, timeout)) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL, "configure %s socket: %s", what,
		               nng_strerror(nng_rc));
		nng_rc = nng_errno(nng_rc);
	} else if ((nng_rc = nng_dial(ep->sock, ep->url, NULL, 0)) != 0) {
		nng_rc = unreachable(err, ep->url, nng_rc);
	}
	if (nng_rc < 0)
		nng_close(ep->sock);
	return nng_rc;
}

/* --- connection ---------------------------------------------------- */

static void
sync_discard(struct sp_conn *s)
{
	if (s) {
		sp_close(s);
		free(s);
	}
}

/* An idle socket that is still good, or NULL. */
static struct sp_conn *
sync_take(struct cradle_conn *c)
{
	struct sp_conn *s = NULL;

	pthread_mutex_lock(&c->lock);
	while (!s && c->n_idle > 0) {
		s = c->idle[--c->n_idle];
		if (!sp_idle_ok(s)) {
			/* the daemon went away (or restarted) since */
			sync_discard(s);
			s = NULL;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return s;
}

/* Keep s for a later call, or close it when enough are kept. */
static void
sync_put(struct cradle_conn *c, struct sp_conn *s)
{
	pthread_mutex_lock(&c->lock);
	if (c->n_idle < SYNC_IDLE_MAX) {
		c->idle[c->n_idle++] = s;
		s = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	sync_discard(s);
}

/* A new socket to the daemon in *out.  what: the call's name for the
 * message ("sandbox.list: cannot reach ..."), NULL at connect. */
static int
sync_dial(struct cradle_conn *c, const char *what, int64_t deadline, struct sp_conn **out,
          struct cradle_err *err)
{
	struct sp_conn *s;
	struct cradle_err e;
	int rc;

	*out = NULL;
	if (!(s = malloc(sizeof(*s))))
		return cradle_err_nomem(err);
	if ((rc = sp_dial(s, c->path, deadline, &e)) < 0) {
		free(s);
		cradle_err_set(err, e.code, "%s%scannot reach cradled at \"%s\": %s",
		               what ? what : "", what ? ": " : "", c->ep.url, e.msg);
		return rc;
	}
	*out = s;
	return 0;
}

/* The sync path's half of cradle_connect: dial once, so that a missing
 * daemon is reported here, and keep the socket for the first call. */
static int
sync_open(struct cradle_conn *c, struct cradle_err *err)
{
	struct sp_conn *s;
	int rc;

	c->sync = true;
	c->path = c->ep.url + strlen("ipc://");
	if ((rc = pthread_mutex_init(&c->lock, NULL)) != 0)
		return cradle_err_errno(err, rc, "open request socket");
	rc = sync_dial(c, NULL,
	               sp_deadline(c->ep.timeout == NNG_DURATION_INFINITE ? -1 : c->ep.timeout), &s,
	               err);
	if (rc < 0) {
		pthread_mutex_destroy(&c->lock);
		return rc;
	}
	c->idle[c->n_idle++] = s;
	return 0;
}

int
cradle_connect_flags(const char *socket_path, int timeout_ms, unsigned flags,
                     struct cradle_conn **out, struct cradle_error *err)
{
	struct cradle_conn *c = NULL;
	struct cradle_err e;
	const char *path = socket_path && socket_path[0] ? socket_path : cradle_socket_path(NULL);
	int rc = 0;

	if (out)
		*out = NULL;
	if (!out)
		rc = cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
		                    "open request socket: out is NULL");
	else if (flags & ~(unsigned)CRADLE_CONNECT_SYNC)
		rc = cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
		                    "open request socket: unknown flags 0x%x (known: "
		                    "CRADLE_CONNECT_SYNC)",
		                    flags & ~(unsigned)CRADLE_CONNECT_SYNC);
	else if (!(c = calloc(1, sizeof(*c))))
		rc = cradle_err_nomem(&e);
	if (rc < 0)
		return cradle_error_export(err, &e, rc);

	c->ep.timeout = timeout_ms == 0  ? DEFAULT_TIMEOUT_MS
	                : timeout_ms < 0 ? NNG_DURATION_INFINITE
	                                 : timeout_ms;
	/* the sync path speaks ipc only: another transport goes through nng */
	if ((flags & CRADLE_CONNECT_SYNC) && as_url(c->ep.url, sizeof(c->ep.url), path) &&
	    strncmp(c->ep.url, "ipc://", 6) == 0)
		rc = sync_open(c, &e);
	else
		rc = endpoint_open(&c->ep, path, "request", false, c->ep.timeout, NULL, NULL, &e);
	if (rc < 0)
		free(c);
	else
		*out = c;
	return cradle_error_export(err, &e, rc);
}

int
cradle_connect(const char *socket_path, int timeout_ms, struct cradle_conn **out,
               struct cradle_error *err)
{
	return cradle_connect_flags(socket_path, timeout_ms, 0, out, err);
}

void
cradle_close(struct cradle_conn *c)
{
	if (!c)
		return;
	if (c->sync) {
		while (c->n_idle > 0)
			sync_discard(c->idle[--c->n_idle]);
		pthread_mutex_destroy(&c->lock);
	} else {
		nng_close(c->ep.sock);
	}
	free(c);
}

/* The most a reply to op may hold: lists carry many sandboxes or images,
 * the decoder holds every reply to the tighter bounds of its op. */
static size_t
reply_max(int op)
{
	return op == OP_LIST || op == OP_IMAGE_LIST ? PROTO_MAX_LIST_MSG : PROTO_MAX_REPLY_MSG;
}

/* How long a call of op waits for its reply: the connection's timeout,
 * but a stop may take its whole grace period (stop_timeout_ms, < 0: the
 * daemon's default) before the daemon replies, so it waits that long and
 * some, even past the connection's own timeout. */
static nng_duration
op_timeout(const struct cradle_conn *c, int op, int64_t stop_timeout_ms)
{
	nng_duration timeout = c->ep.timeout;
	int64_t need;

	if (op == OP_STOP) {
		need = (stop_timeout_ms < 0 ? STOP_DEFAULT_MS : stop_timeout_ms) +
		       STOP_REPLY_SLACK_MS;
		if (timeout != NNG_DURATION_INFINITE && need > timeout)
			timeout = need > INT32_MAX ? INT32_MAX : (nng_duration)need;
	}
	return timeout;
}

/* One sync round trip: send the encoded request req[0..len), wait for its
 * reply until timeout; *body (free) and *body_len are the reply. */
static int
sync_exchange(struct cradle_conn *c, const char *what, const void *req, size_t len, size_t max,
              nng_duration timeout, void **body, size_t *body_len, struct cradle_err *err)
{
	int64_t deadline = sp_deadline(timeout == NNG_DURATION_INFINITE ? -1 : timeout);
	struct sp_conn *s = sync_take(c);
	struct cradle_err e;
	uint32_t id, got;
	int rc;

	if (!s && (rc = sync_dial(c, what, deadline, &s, err)) < 0)
		return rc;
	id = sp_next_id(s);
	rc = sp_send(s, id, req, len, deadline, &e);
	while (rc == 0) {
		rc = sp_recv(s, max, deadline, &got, body, body_len, &e);
		if (rc == 0 && got == id)
			break;
		/* a reply to a request this socket no longer waits for: nng's
		 * req0 drops those too */
		if (rc == 0)
			free(*body);
	}
	if (rc == 0) {
		sync_put(c, s);
		return 0;
	}
	sync_discard(s);
	return exchange_failed(err, what, c->ep.url, rc, e.code, timeout, e.msg);
}

/* Wait for one aio operation, bounded by what is left until deadline. */
static int
aio_run(nng_aio *aio, nng_time deadline, bool infinite)
{
	nng_time now = nng_clock();

	if (infinite)
		nng_aio_set_timeout(aio, NNG_DURATION_INFINITE);
	else
		nng_aio_set_timeout(aio, now >= deadline ? 1 : (nng_duration)(deadline - now));
	nng_aio_wait(aio);
	return nng_aio_result(aio);
}

/* One nng round trip: send the encoded request req[0..len) on a fresh
 * context, wait for the reply until timeout; *msg is the reply. */
static int
nng_exchange(struct cradle_conn *c, const char *what, const void *req, size_t len,
             nng_duration timeout, nng_msg **reply, struct cradle_err *err)
{
	nng_msg *msg = NULL;
	nng_aio *aio = NULL;
	nng_ctx ctx;
	nng_time deadline;
	bool ctx_open = false, infinite = timeout == NNG_DURATION_INFINITE;
	int nng_rc, rc = 0;

	deadline = nng_clock() + (infinite ? 0 : (nng_time)timeout);
	if ((nng_rc = nng_msg_alloc(&msg, 0)) != 0 ||
	    (nng_rc = nng_msg_append(msg, req, len)) != 0 ||
	    (nng_rc = nng_aio_alloc(&aio, NULL, NULL)) != 0 ||
	    (nng_rc = nng_ctx_open(&ctx, c->ep.sock)) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL, "%s: cannot prepare the request: %s", what,
		               nng_strerror(nng_rc));
		rc = nng_errno(nng_rc);
		goto out;
	}
	ctx_open = true;
	/* contexts copy the socket's resend time when they open; say it again
	 * so a changed nng default can never make a request run twice */
	nng_ctx_set_ms(ctx, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);

	nng_aio_set_msg(aio, msg);
	nng_ctx_send(ctx, aio);
	nng_rc = aio_run(aio, deadline, infinite);
	if (nng_rc == 0) {
		/* sent: the message is nng's now */
		msg = NULL;
		nng_ctx_recv(ctx, aio);
		nng_rc = aio_run(aio, deadline, infinite);
	}
	if (nng_rc == 0)
		*reply = nng_aio_get_msg(aio);
	else
		rc = exchange_failed(err, what, c->ep.url, nng_errno(nng_rc), CRADLE_UNAVAILABLE,
		                     timeout, nng_text(nng_rc));
out:
	if (msg)
		nng_msg_free(msg);
	if (ctx_open)
		nng_ctx_close(ctx);
	if (aio)
		nng_aio_free(aio);
	return rc;
}

/* Decode a reply to op into *rep; a reply with ok=false becomes the
 * call's error.  On success *rep holds the results; on failure nothing. */
static int
reply_decode(int op, const void *body, size_t len, struct proto_reply *rep, struct cradle_err *err)
{
	int rc;

	rc = proto_reply_decode(op, body, len, rep, err);
	if (rc < 0) {
		/* a reply we cannot read is the daemon's fault, not the caller's */
		if (err)
			err->code = CRADLE_INTERNAL;
		cradle_err_wrap(err, "%s: invalid reply from cradled", proto_op_name(op));
		return rc;
	}
	if (!rep->ok) {
		if (err)
			*err = rep->err;
		rc = code_errno(rep->err.code);
		proto_reply_fini(rep);
		proto_reply_init(rep, op);
	}
	return rc;
}

/* One round trip: encode req, send it, wait for the reply until timeout
 * (ms, or NNG_DURATION_INFINITE), decode into *rep.  A reply with ok=false
 * becomes the call's error.  On success *rep holds the results (release
 * with proto_reply_fini); on failure nothing. */
static int
call(struct cradle_conn *c, const struct proto_request *req, nng_duration timeout,
     struct proto_reply *rep, struct cradle_err *err)
{
	msgpack_sbuffer sb;
	nng_msg *msg = NULL;
	void *body = NULL;
	size_t len = 0;
	const char *what = proto_op_name(req->op);
	int rc;

	proto_reply_init(rep, req->op);
	msgpack_sbuffer_init(&sb);
	rc = proto_request_encode(&sb, req, err);
	if (rc == 0 && c->sync)
		rc = sync_exchange(c, what, sb.data, sb.size, reply_max(req->op), timeout, &body,
		                   &len, err);
	else if (rc == 0)
		rc = nng_exchange(c, what, sb.data, sb.size, timeout, &msg, err);
	msgpack_sbuffer_destroy(&sb);
	if (rc == 0 && msg)
		rc = reply_decode(req->op, nng_msg_body(msg), nng_msg_len(msg), rep, err);
	else if (rc == 0)
		rc = reply_decode(req->op, body, len, rep, err);
	if (msg)
		nng_msg_free(msg);
	free(body);
	return rc;
}

/* What every operation checks first: that the caller gave a place for a
 * result it must get (out), and a connection. */
static int
check_call(const struct cradle_conn *c, int op, bool out, struct cradle_err *err)
{
	if (!out)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: out is NULL",
		                      proto_op_name(op));
	if (!c)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: not connected to cradled",
		                      proto_op_name(op));
	return 0;
}

/* Callers pass ids of their own; refuse a bad one here rather than send
 * something the daemon can only refuse. */
static int
set_id(struct proto_request *req, const char *id, struct cradle_err *err)
{
	if (!id || !proto_valid_id(id))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid sandbox id \"%.80s\": expected %d lower-case "
		                      "hex characters",
		                      id ? id : "", CRADLE_ID_LEN);
	memcpy(req->id, id, CRADLE_ID_LEN + 1);
	return 0;
}

int
cradle_version(struct cradle_conn *c, struct cradle_version *out, struct cradle_error *err)
{
	struct proto_request req;
	struct proto_reply rep;
	struct cradle_err e;
	int rc;

	if ((rc = check_call(c, OP_VERSION, true, &e)))
		return cradle_error_export(err, &e, rc);
	proto_request_init(&req, OP_VERSION);
	rc = call(c, &req, c->ep.timeout, &rep, &e);
	if (rc == 0 && out) {
		memcpy(out->version, rep.version.version, sizeof(out->version));
		out->api_version = rep.version.api_version;
		out->pid = rep.version.pid;
	}
	proto_reply_fini(&rep);
	return cradle_error_export(err, &e, rc);
}

/* --- sandboxes ----------------------------------------------------- */

/* create and run share their request: the config and handler are the
 * caller's and only borrowed, so req is never passed to
 * proto_request_fini. */
static int
create_or_run(struct cradle_conn *c, int op, const struct cradle_pod *pod,
              const char *runtime_handler, char id[CRADLE_ID_LEN + 1], int32_t *pid,
              int64_t *created_at, struct cradle_error *err)
{
	struct proto_request req;
	struct proto_reply rep;
	struct cradle_err e;
	int rc;

	if ((rc = check_call(c, op, true, &e)))
		return cradle_error_export(err, &e, rc);
	if (!pod)
		return cradle_error_export(err, &e,
		                           cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
		                                          "%s: no pod config given",
		                                          proto_op_name(op)));
	proto_request_init(&req, op);
	req.config = pod->cfg;
	req.runtime_handler = (char *)runtime_handler;
	rc = call(c, &req, c->ep.timeout, &rep, &e);
	if (rc == 0) {
		if (id)
			memcpy(id, rep.id, CRADLE_ID_LEN + 1);
		if (pid)
			*pid = rep.pid;
		if (created_at)
			*created_at = rep.created_at;
	}
	proto_reply_fini(&rep);
	return cradle_error_export(err, &e, rc);
}

int
cradle_sandbox_create(struct cradle_conn *c, const struct cradle_pod *pod,
                      const char *runtime_handler, char id[CRADLE_SANDBOX_ID_LEN + 1],
                      struct cradle_error *err)
{
	return create_or_run(c, OP_CREATE, pod, runtime_handler, id, NULL, NULL, err);
}

int
cradle_sandbox_run(struct cradle_conn *c, const struct cradle_pod *pod, const char *runtime_handler,
                   char id[CRADLE_SANDBOX_ID_LEN + 1], int32_t *pid, int64_t *created_at,
                   struct cradle_error *err)
{
	return create_or_run(c, OP_RUN, pod, runtime_handler, id, pid, created_at, err);
}

/* start, stop, remove, status: an id in (out: whether the caller gave
 * a place for a result it must get).  On success *rep holds the reply
 * (release with proto_reply_fini); on failure nothing. */
static int
by_id(struct cradle_conn *c, int op, const char *id, int64_t stop_timeout_ms, bool out,
      struct proto_reply *rep, struct cradle_err *err)
{
	struct proto_request req;
	int rc;

	proto_reply_init(rep, op);
	if ((rc = check_call(c, op, out, err)))
		return rc;
	proto_request_init(&req, op);
	if ((rc = set_id(&req, id, err)))
		return rc;
	if (op == OP_STOP)
		req.timeout_ms = stop_timeout_ms;
	return call(c, &req, op_timeout(c, op, stop_timeout_ms), rep, err);
}

int
cradle_sandbox_start(struct cradle_conn *c, const char *id, int32_t *pid, int64_t *created_at,
                     struct cradle_error *err)
{
	struct proto_reply rep;
	struct cradle_err e;
	int rc;

	rc = by_id(c, OP_START, id, -1, true, &rep, &e);
	if (rc == 0) {
		if (pid)
			*pid = rep.pid;
		if (created_at)
			*created_at = rep.created_at;
	}
	proto_reply_fini(&rep);
	return cradle_error_export(err, &e, rc);
}

/* stop and remove: nothing but success out. */
static int
no_result(struct cradle_conn *c, int op, const char *id, int64_t stop_timeout_ms,
          struct cradle_error *err)
{
	struct proto_reply rep;
	struct cradle_err e;
	int rc;

	rc = by_id(c, op, id, stop_timeout_ms, true, &rep, &e);
	proto_reply_fini(&rep);
	return cradle_error_export(err, &e, rc);
}

int
cradle_sandbox_stop(struct cradle_conn *c, const char *id, int64_t timeout_ms,
                    struct cradle_error *err)
{
	return no_result(c, OP_STOP, id, timeout_ms < 0 ? -1 : timeout_ms, err);
}

int
cradle_sandbox_remove(struct cradle_conn *c, const char *id, struct cradle_error *err)
{
	return no_result(c, OP_REMOVE, id, -1, err);
}

int
cradle_sandbox_status(struct cradle_conn *c, const char *id, struct cradle_sandbox **out,
                      struct cradle_error *err)
{
	struct proto_reply rep;
	struct cradle_err e;
	int rc;

	if (out)
		*out = NULL;
	rc = by_id(c, OP_STATUS, id, -1, out != NULL, &rep, &e);
	if (rc == 0 && (rep.n_sandboxes != 1 || !rep.sandboxes))
		rc = cradle_err_set(&e, CRADLE_INTERNAL,
		                    "sandbox.status: invalid reply from "
		                    "cradled: %zu sandboxes",
		                    rep.n_sandboxes);
	if (rc == 0 && !(*out = cradle_sandbox_take(&rep.sandboxes[0])))
		rc = cradle_err_nomem(&e);
	proto_reply_fini(&rep);
	return cradle_error_export(err, &e, rc);
}

/* --- removing many ------------------------------------------------- */

/* The most requests cradle_sandboxes_remove keeps in flight. */
#define BATCH_WINDOW_MAX 256

/* A remove in flight: which id, under which request id, until when. */
struct batch_slot {
	bool busy;
	size_t i;
	uint32_t id;
	int64_t deadline;
};

struct batch {
	struct cradle_conn *c;
	struct sp_conn *s; /* NULL: dial before the next send */
	const char *const *ids;
	size_t n, next; /* ids[next..n) are still to send */
	struct batch_slot *slot;
	unsigned window, busy;
	bool abandoned; /* a request timed out: its reply may still come on s */
	nng_duration timeout;
	cradle_batch_done *done;
	void *arg;
	int status;
};

static void
batch_report(struct batch *b, size_t i, int rc, const struct cradle_err *e)
{
	struct cradle_error pub;

	if (rc < 0) {
		cradle_error_export(&pub, e, rc);
		if (b->status == 0)
			b->status = rc;
	}
	b->done(b->arg, i, rc, rc < 0 ? &pub : NULL);
}

static void
batch_fail_slot(struct batch *b, struct batch_slot *sl, int rc, const struct cradle_err *cause)
{
	struct cradle_err e;

	exchange_failed(&e, proto_op_name(OP_REMOVE), b->c->ep.url, rc, cause->code, b->timeout,
	                cause->msg);
	sl->busy = false;
	b->busy--;
	batch_report(b, sl->i, rc, &e);
}

/* The socket failed with rc: every request in flight on it fails with
 * that, and it is closed (the next send dials a new one). */
static void
batch_broken(struct batch *b, int rc, const struct cradle_err *cause)
{
	unsigned k;

	for (k = 0; k < b->window; k++) {
		if (b->slot[k].busy)
			batch_fail_slot(b, &b->slot[k], rc, cause);
	}
	sync_discard(b->s);
	b->s = NULL;
	b->abandoned = false;
}

/* Send the remove of ids[i] in a free slot (there is one). */
static void
batch_send(struct batch *b, msgpack_sbuffer *sb, size_t i)
{
	struct proto_request req;
	struct batch_slot *sl = b->slot;
	struct cradle_err e;
	int rc;

	proto_request_init(&req, OP_REMOVE);
	msgpack_sbuffer_clear(sb);
	if (set_id(&req, b->ids[i], &e) < 0) {
		batch_report(b, i, -EINVAL, &e);
		return;
	}
	if ((rc = proto_request_encode(sb, &req, &e)) < 0) {
		batch_report(b, i, rc, &e);
		return;
	}
	while (sl->busy)
		sl++;
	sl->busy = true;
	sl->i = i;
	sl->id = sp_next_id(b->s);
	sl->deadline = sp_deadline(b->timeout == NNG_DURATION_INFINITE ? -1 : b->timeout);
	b->busy++;
	if ((rc = sp_send(b->s, sl->id, sb->data, sb->size, sl->deadline, &e)) < 0)
		batch_broken(b, rc, &e);
}

/* Wait for the next reply (or the first deadline) and report what it
 * ends. */
static void
batch_receive(struct batch *b)
{
	struct batch_slot *sl = NULL;
	struct proto_reply rep;
	struct cradle_err e;
	int64_t first = SP_FOREVER, now;
	void *body;
	size_t len;
	uint32_t id;
	unsigned k;
	int rc;

	for (k = 0; k < b->window; k++) {
		if (b->slot[k].busy && b->slot[k].deadline < first)
			first = b->slot[k].deadline;
	}
	rc = sp_recv(b->s, PROTO_MAX_REPLY_MSG, first, &id, &body, &len, &e);
	if (rc == -ETIMEDOUT) {
		/* give up on those whose time is up; their replies, if they
		 * still come, match no slot and are dropped */
		now = sp_clock();
		for (k = 0; k < b->window; k++) {
			if (b->slot[k].busy && b->slot[k].deadline <= now) {
				b->abandoned = true;
				batch_fail_slot(b, &b->slot[k], rc, &e);
			}
		}
		return;
	}
	if (rc < 0) {
		batch_broken(b, rc, &e);
		return;
	}
	for (k = 0; k < b->window && !sl; k++) {
		if (b->slot[k].busy && b->slot[k].id == id)
			sl = &b->slot[k];
	}
	if (sl) {
		rc = reply_decode(OP_REMOVE, body, len, &rep, &e);
		proto_reply_fini(&rep);
		sl->busy = false;
		b->busy--;
		batch_report(b, sl->i, rc, &e);
	}
	free(body);
}

int
cradle_sandboxes_remove(struct cradle_conn *c, const char *const *ids, size_t n, unsigned window,
                        cradle_batch_done *done, void *arg)
{
	struct batch b = { .c = c, .ids = ids, .n = n, .done = done, .arg = arg };
	struct cradle_error pub;
	struct cradle_err e;
	msgpack_sbuffer sb;
	int rc;

	if (!c || !done || (n > 0 && !ids))
		return -EINVAL;
	if (!c->sync || window < 2) {
		for (b.next = 0; b.next < n; b.next++) {
			rc = cradle_sandbox_remove(c, ids[b.next], &pub);
			if (rc < 0 && b.status == 0)
				b.status = rc;
			done(arg, b.next, rc, rc < 0 ? &pub : NULL);
		}
		return b.status;
	}
	b.window = window > BATCH_WINDOW_MAX ? BATCH_WINDOW_MAX : window;
	b.timeout = op_timeout(c, OP_REMOVE, -1);
	if (!(b.slot = calloc(b.window, sizeof(*b.slot)))) {
		rc = cradle_err_nomem(&e);
		while (b.next < n)
			batch_report(&b, b.next++, rc, &e);
		return b.status;
	}
	msgpack_sbuffer_init(&sb);
	b.s = sync_take(c);
	while (b.next < n || b.busy > 0) {
		/* only a broken socket is dropped, and with it every request
		 * in flight: a dial happens with none */
		if (!b.s &&
		    (rc = sync_dial(
			     c, proto_op_name(OP_REMOVE),
			     sp_deadline(b.timeout == NNG_DURATION_INFINITE ? -1 : b.timeout), &b.s,
			     &e)) < 0) {
			while (b.next < n)
				batch_report(&b, b.next++, rc, &e);
			break;
		}
		while (b.s && b.busy < b.window && b.next < n)
			batch_send(&b, &sb, b.next++);
		if (b.s && b.busy > 0)
			batch_receive(&b);
	}
	if (b.s && !b.abandoned)
		sync_put(c, b.s);
	else
		sync_discard(b.s);
	msgpack_sbuffer_destroy(&sb);
	free(b.slot);
	return b.status;
}

/* The caller's filter in the request: a state, labels as borrowed
 * strings (only the array is freed: req->label_filter.v). */
static int
list_filter(struct proto_request *req, int state, const struct cradle_label *labels, size_t n,
            struct cradle_err *err)
{
	struct proto_kvs *kvs = &req->label_filter;
	size_t i;

	if (state != -1 && state != STATE_READY && state != STATE_NOTREADY)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid state filter %d "
		                      "(expected -1, READY or NOTREADY)",
		                      state);
	req->state_filter = state;
	if (n == 0)
		return 0;
	if (!labels)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "label filter: %zu labels "
		                      "announced but none given",
		                      n);
	if (n > PROTO_MAX_KV)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "label filter: %zu labels "
		                      "exceed the limit of %d",
		                      n, PROTO_MAX_KV);
	for (i = 0; i < n; i++) {
		if (!labels[i].key || !labels[i].value)
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "label filter [%zu]: "
			                      "the %s is NULL",
			                      i, labels[i].key ? "value" : "key");
	}
	kvs->v = calloc(n, sizeof(*kvs->v));
	if (!kvs->v)
		return cradle_err_nomem(err);
	for (i = 0; i < n; i++) {
		kvs->v[i].key = (char *)labels[i].key;
		kvs->v[i].value = (char *)labels[i].value;
	}
	kvs->n = n;
	return 0;
}

/* sandbox.list and image.list: check, send req (filter: its state and
 * labels, sandbox.list only), fill *rep as call does. */
static int
list_call(struct cradle_conn *c, int op, bool out, int state, const struct cradle_label *labels,
          size_t n_labels, const char *after, struct proto_reply *rep, struct cradle_err *err)
{
	struct proto_request req;
	int rc;

	proto_reply_init(rep, op);
	proto_request_init(&req, op);
	if ((rc = check_call(c, op, out, err)) ||
	    (op == OP_LIST && (rc = list_filter(&req, state, labels, n_labels, err))))
		return rc;
	if (after != NULL)
		snprintf(req.after, sizeof(req.after), "%s", after);
	rc = call(c, &req, c->ep.timeout, rep, err);
	/* borrowed strings, as in create_or_run: no proto_request_fini */
	free(req.label_filter.v);
	return rc;
}

int
cradle_sandbox_list(struct cradle_conn *c, int state, const struct cradle_label *labels,
                    size_t n_labels, struct cradle_sandbox_list **out, struct cradle_error *err)
{
	struct proto_reply rep;
	struct cradle_err e;
	int rc;

	if (out)
		*out = NULL;
	/* page after page (a reply says "more" when it holds only the first
	 * PROTO_LIST_PAGE_BYTES), gathered into the first reply */
	rc = list_call(c, OP_LIST, out != NULL, state, labels, n_labels, NULL, &rep, &e);
	while (rc == 0 && rep.more) {
		struct proto_reply page;
		char after[CRADLE_ID_LEN + 1];
		if (rep.n_sandboxes == 0) /* a page holds one at least */
			break;
		memcpy(after, rep.sandboxes[rep.n_sandboxes - 1].id, sizeof(after));
		rc = list_call(c, OP_LIST, true, state, labels, n_labels, after, &page, &e);
		if (rc == 0 && page.n_sandboxes > 0 && strcmp(page.sandboxes[0].id, after) <= 0)
			rc = cradle_err_set(&e, CRADLE_INTERNAL,
			                    "sandbox.list: a page after \"%s\" starts at \"%s\"",
			                    after, page.sandboxes[0].id);
		if (rc == 0) {
			struct proto_sandbox *v =
				realloc(rep.sandboxes,
			                (rep.n_sandboxes + page.n_sandboxes + 1) * sizeof(*v));
			if (v == NULL) {
				rc = cradle_err_nomem(&e);
			} else {
				rep.sandboxes = v;
				memcpy(v + rep.n_sandboxes, page.sandboxes,
				       page.n_sandboxes * sizeof(*v));
				rep.n_sandboxes += page.n_sandboxes;
				/* an empty page ends it: asking again would repeat it */
				rep.more = page.more && page.n_sandboxes > 0;
				page.n_sandboxes = 0; /* moved */
			}
		}
		proto_reply_fini(&page);
	}
	if (rc == 0 && !(*out = cradle_sandbox_list_take(&rep)))
		rc = cradle_err_nomem(&e);
	proto_reply_fini(&rep);
	return cradle_error_export(err, &e, rc);
}

/* --- images -------------------------------------------------------- */

int
cradle_check_image_ref(const char *ref, const char *what, struct cradle_err *err)
{
	if (!ref || !proto_valid_image_ref(ref))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid %s \"%.80s\": expected 1 to %d letters, digits, "
		                      "'.', '_', ':', '/', '@' or '-'",
		                      what, ref ? ref : "", PROTO_MAX_REF);
	return 0;
}

/* Pulls and imports move whole images: wait at least
 * CRADLE_IMAGE_TIMEOUT_MS, or longer if the connection says so. */
static nng_duration
long_timeout(const struct cradle_conn *c)
{
	if (c->ep.timeout == NNG_DURATION_INFINITE || c->ep.timeout >= CRADLE_IMAGE_TIMEOUT_MS)
		return c->ep.timeout;
	return CRADLE_IMAGE_TIMEOUT_MS;
}

/* Send req (its strings are the caller's: no proto_request_fini) and,
 * for every op but remove, move the one image of the reply into *out (out
 * may be NULL: dropped). */
static int
image_call(struct cradle_conn *c, struct proto_request *req, nng_duration timeout,
           struct cradle_image **out, struct cradle_err *err)
{
	struct proto_reply rep;
	int rc;

	rc = call(c, req, timeout, &rep, err);
	if (rc == 0 && req->op != OP_IMAGE_REMOVE && (rep.n_images != 1 || !rep.images))
		rc = cradle_err_set(err, CRADLE_INTERNAL,
		                    "%s: invalid reply from cradled: "
		                    "%zu images",
		                    proto_op_name(req->op), rep.n_images);
	if (rc == 0 && out && !(*out = cradle_image_take(&rep.images[0])))
		rc = cradle_err_nomem(err);
	proto_reply_fini(&rep);
	return rc;
}

/* pull, status, remove: a ref in, at most one image out (status must
 * have a place for it). */
static int
by_ref(struct cradle_conn *c, int op, const char *ref, struct cradle_image **out,
       struct cradle_error *err)
{
	struct proto_request req;
	struct cradle_err e;
	int rc;

	if (out)
		*out = NULL;
	if ((rc = check_call(c, op, out || op != OP_IMAGE_STATUS, &e)) ||
	    (rc = cradle_check_image_ref(ref, "image reference", &e)))
		return cradle_error_export(err, &e, rc);
	proto_request_init(&req, op);
	req.ref = (char *)ref;
	rc = image_call(c, &req, op == OP_IMAGE_PULL ? long_timeout(c) : c->ep.timeout, out, &e);
	return cradle_error_export(err, &e, rc);
}

int
cradle_image_pull(struct cradle_conn *c, const char *ref, struct cradle_image **out,
                  struct cradle_error *err)
{
	return by_ref(c, OP_IMAGE_PULL, ref, out, err);
}

int
cradle_image_pull_creds(struct cradle_conn *c, const char *ref, const char *creds, const char *auth,
                        struct cradle_image **out, struct cradle_error *err)
{
	char user[PROTO_AUTH_USER_MAX + 1], pass[PROTO_AUTH_PASS_MAX + 1];
	struct proto_request req;
	struct cradle_err e;
	char *enc = NULL;
	int rc;

	if (!creds && !auth)
		return cradle_image_pull(c, ref, out, err);
	if (out)
		*out = NULL;
	memset(&e, 0, sizeof(e));
	if ((rc = check_call(c, OP_IMAGE_PULL, true, &e)) ||
	    (rc = cradle_check_image_ref(ref, "image reference", &e)))
		return cradle_error_export(err, &e, rc);
	if (creds && auth)
		rc = cradle_err_set(&e, CRADLE_INVALID_ARGUMENT, "give creds or auth, not both");
	else if (creds)
		rc = proto_auth_from_creds(creds, &enc, &e);
	else
		rc = proto_auth_decode(auth, user, pass, &e);
	explicit_bzero(user, sizeof(user));
	explicit_bzero(pass, sizeof(pass));
	if (rc) {
		cradle_err_wrap(&e, "pull %s", ref);
		return cradle_error_export(err, &e, rc);
	}
	proto_request_init(&req, OP_IMAGE_PULL);
	req.ref = (char *)ref;
	req.auth = enc ? enc : (char *)auth;
	rc = image_call(c, &req, long_timeout(c), out, &e);
	if (enc) {
		explicit_bzero(enc, strlen(enc));
		free(enc);
	}
	return cradle_error_export(err, &e, rc);
}

int
cradle_image_status(struct cradle_conn *c, const char *ref, struct cradle_image **out,
                    struct cradle_error *err)
{
	return by_ref(c, OP_IMAGE_STATUS, ref, out, err);
}

int
cradle_image_remove(struct cradle_conn *c, const char *ref, struct cradle_error *err)
{
	return by_ref(c, OP_IMAGE_REMOVE, ref, NULL, err);
}

int
cradle_image_import(struct cradle_conn *c, const char *path, const char *name,
                    struct cradle_image **out, struct cradle_error *err)
{
	struct proto_request req;
	struct cradle_err e;
	int rc;

	if (out)
		*out = NULL;
	if ((rc = check_call(c, OP_IMAGE_IMPORT, true, &e)))
		return cradle_error_export(err, &e, rc);
	/* the daemon resolves the path in its own file system: a relative
	 * one would mean its working directory, never what the caller meant */
	if (!path || path[0] != '/')
		rc = cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
		                    "image path \"%.200s\" must be absolute", path ? path : "");
	else if (strlen(path) > PROTO_MAX_IMPORT_PATH)
		rc = cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
		                    "image path of %zu bytes exceeds %d", strlen(path),
		                    PROTO_MAX_IMPORT_PATH);
	else if (name && name[0])
		rc = cradle_check_image_ref(name, "image name", &e);
	if (rc < 0)
		return cradle_error_export(err, &e, rc);
	proto_request_init(&req, OP_IMAGE_IMPORT);
	req.path = (char *)path;
	req.ref = name && name[0] ? (char *)name : NULL;
	rc = image_call(c, &req, long_timeout(c), out, &e);
	return cradle_error_export(err, &e, rc);
}

int
cradle_image_list(struct cradle_conn *c, struct cradle_image_list **out, struct cradle_error *err)
{
	struct proto_reply rep;
	struct cradle_err e;
	int rc;

	if (out)
		*out = NULL;
	rc = list_call(c, OP_IMAGE_LIST, out != NULL, -1, NULL, 0, NULL, &rep, &e);
	if (rc == 0 && !(*out = cradle_image_list_take(&rep)))
		rc = cradle_err_nomem(&e);
	proto_reply_fini(&rep);
	return cradle_error_export(err, &e, rc);
}

/* --- events --------------------------------------------------------
 *
 * A subscription hands out every event once, in seq order.  pub0 drops
 * messages for a subscriber that does not keep up, and a daemon that
 * restarts publishes while nobody is connected; both show up as a seq
 * past last + 1 (a gap), and a new pipe (nng redials by itself) as a
 * catch-up.  Either way the subscription asks the daemon's log for
 * everything after last (events.since, a page at a time, on a sync
 * connection to the request socket), hands that out, and drops live
 * events it already handed out.  Until the log answers, the gap stays
 * open: a daemon that cannot answer now (restarting, its request socket
 * not there yet, no reply in time) is asked again after a pause, within
 * the caller's timeout, and the live event that showed the gap waits.
 * Only what the log says it no longer holds is reported (NOT_FOUND,
 * -ENODATA, once), and the subscription goes on from the oldest kept
 * event. */

#define EVENTS_REQ_TIMEOUT_MS 10000
/* the pause before asking the log again after a failure (it doubles
 * from min to max while failures go on, across calls) */
#define EVENTS_RETRY_MIN_MS 10
#define EVENTS_RETRY_MAX_MS 500

/* The request socket beside an ipc events socket ("" for another
 * transport: no replay). */
static void
req_url_beside(char *buf, size_t size, const char *events_url)
{
	const char *path, *slash;
	int n;

	buf[0] = '\0';
	if (strncmp(events_url, "ipc://", 6) != 0)
		return;
	path = events_url + 6;
	slash = strrchr(path, '/');
	n = slash ? snprintf(buf, size, "ipc://%.*s/cradle.sock", (int)(slash - path), path)
	          : snprintf(buf, size, "ipc://cradle.sock");
	if (n < 0 || (size_t)n >= size)
		buf[0] = '\0';
}

static void
pipe_added(nng_pipe p, nng_pipe_ev what, void *arg)
{
	struct cradle_events *ev = arg;

	(void)p;
	(void)what;
	pthread_mutex_lock(&ev->mu);
	ev->catch_up = true;
	if (ev->aio)
		nng_aio_cancel(ev->aio);
	pthread_mutex_unlock(&ev->mu);
}

/* One events.since round trip: from (0: the oldest kept) into *rep. */
static int
since_call(struct cradle_events *ev, uint64_t from, struct proto_reply *rep, struct cradle_err *e)
{
	struct proto_request req;
	struct cradle_error ce;
	int rc;

	proto_reply_init(rep, OP_EVENTS_SINCE);
	if (!ev->req_url[0])
		return cradle_err_set(e, CRADLE_FAILED_PRECONDITION,
		                      "events: no request socket to replay missed events from "
		                      "(subscribed to \"%s\")",
		                      ev->ep.url);
	if (!ev->conn && (rc = cradle_connect_flags(ev->req_url, EVENTS_REQ_TIMEOUT_MS,
	                                            CRADLE_CONNECT_SYNC, &ev->conn, &ce)) < 0) {
		cradle_err_set(e, ce.code, "%s", ce.message);
		return rc;
	}
	proto_request_init(&req, OP_EVENTS_SINCE);
	req.since = from;
	rc = call(ev->conn, &req, ev->conn->ep.timeout, rep, e);
	proto_request_fini(&req);
	return rc;
}

/* The request connection serves replays only: closed when one is done
 * (or failed), so an idle subscription holds no connection in the
 * daemon, and the next replay dials afresh (a restarted daemon). */
static void
since_done(struct cradle_events *ev)
{
	cradle_close(ev->conn);
	ev->conn = NULL;
}

/* The daemon's last seq, as where a subscription starts. */
static int
baseline(struct cradle_events *ev, struct cradle_err *e)
{
	struct proto_reply rep;
	int rc = since_call(ev, UINT64_MAX, &rep, e);

	if (rc == 0) {
		ev->last = rep.last_seq;
		ev->need_baseline = false;
	}
	proto_reply_fini(&rep);
	since_done(ev);
	return rc;
}

/* Whether a failed events.since may work when asked again: the daemon
 * is away (restarting, its socket not there yet, no reply in time) or
 * busy. */
static bool
since_transient(const struct cradle_err *e)
{
	return e->code == CRADLE_UNAVAILABLE || e->code == CRADLE_RESOURCE_EXHAUSTED;
}

/* Fetch the next page of the log after ev->last into ev->q.
 *  - 0: a page (maybe empty: then the replay is over);
 *  - -ENODATA: events lost for good, reported once: a range the log
 *    trimmed (NOT_FOUND; the next fetch starts at the oldest kept
 *    event), or a daemon that keeps no log or no request socket to ask
 *    (FAILED_PRECONDITION; the live stream goes on from the event that
 *    showed the gap, if one did);
 *  - -EAGAIN: the daemon cannot answer now (since_transient): nothing
 *    changes, the gap stays open and is asked for again;
 *  - another error: nothing changes either (the caller sees it). */
static int
fetch(struct cradle_events *ev, struct cradle_err *e)
{
	struct proto_reply rep;
	uint64_t from = ev->from_oldest ? 0 : ev->last + 1;
	int rc = since_call(ev, from, &rep, e);

	if (rc < 0) {
		proto_reply_fini(&rep);
		since_done(ev);
	}
	if (rc < 0 && e->code == CRADLE_NOT_FOUND) {
		cradle_err_wrap(e, "events after %llu were lost", (unsigned long long)ev->last);
		ev->from_oldest = true;
		return -ENODATA;
	}
	if (rc < 0 && e->code == CRADLE_FAILED_PRECONDITION) {
		cradle_err_wrap(e, "events after %llu could not be replayed",
		                (unsigned long long)ev->last);
		ev->from_oldest = false;
		ev->replaying = false;
		return -ENODATA;
	}
	if (rc < 0 && since_transient(e)) {
		cradle_err_wrap(e, "events after %llu could not be replayed yet",
		                (unsigned long long)ev->last);
		return -EAGAIN;
	}
	if (rc < 0) {
		cradle_err_wrap(e, "events after %llu could not be replayed",
		                (unsigned long long)ev->last);
		return rc == -EAGAIN ? -EIO : rc;
	}
	ev->from_oldest = false;
	free(ev->q);
	ev->q = rep.events;
	ev->qn = rep.n_events;
	ev->qpos = 0;
	rep.events = NULL;
	rep.n_events = 0;
	if (!rep.more) {
		ev->replaying = false;
		since_done(ev);
	}
	proto_reply_fini(&rep);
	return 0;
}

static void
events_free(struct cradle_events *ev)
{
	cradle_close(ev->conn);
	free(ev->q);
	pthread_mutex_destroy(&ev->mu);
	free(ev);
}

int
cradle_events_subscribe(const char *events_path, const char *socket_path, uint64_t since,
                        struct cradle_events **out, struct cradle_error *err)
{
	struct cradle_events *ev = NULL;
	struct cradle_err e;
	const char *path;
	int rc = 0;

	if (!out)
		return cradle_error_export(err, &e,
		                           cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
		                                          "open event socket: out is NULL"));
	*out = NULL;
	path = events_path && events_path[0] ? events_path : cradle_events_path(NULL, socket_path);
	if (!(ev = calloc(1, sizeof(*ev))))
		return cradle_error_export(err, &e, cradle_err_nomem(&e));
	pthread_mutex_init(&ev->mu, NULL);
	if (socket_path && socket_path[0]) {
		if (!as_url(ev->req_url, sizeof(ev->req_url), socket_path))
			ev->req_url[0] = '\0';
	} else if (as_url(ev->ep.url, sizeof(ev->ep.url), path)) {
		req_url_beside(ev->req_url, sizeof(ev->req_url), ev->ep.url);
	}
	if (since > 0) {
		ev->last = since - 1;
		ev->replaying = true;
	} else if (baseline(ev, &e) < 0) {
		/* no daemon to ask now: start from the first event, or from
		 * the daemon's last seq once a pipe comes up */
		ev->need_baseline = true;
	}
	if ((rc = endpoint_open(&ev->ep, path, "event", true, 0, pipe_added, ev, &e)) < 0) {
		events_free(ev);
		return cradle_error_export(err, &e, rc);
	}
	*out = ev;
	return 0;
}

int
cradle_events_open(const char *events_path, struct cradle_events **out, struct cradle_error *err)
{
	return cradle_events_subscribe(events_path, NULL, 0, out, err);
}

uint64_t
cradle_events_last_seq(const struct cradle_events *ev)
{
	return ev ? ev->last : 0;
}

/* The decoded event in the caller's form. */
static void
event_export(struct cradle_event *out, const struct proto_event *pe)
{
	static const struct {
		const char *type;
		int kind;
	} kinds[] = {
		{ PROTO_EVENT_EXIT, CRADLE_EVENT_SANDBOX_EXIT },
		{ PROTO_EVENT_IMAGE_PROGRESS, CRADLE_EVENT_IMAGE_PROGRESS },
		{ PROTO_EVENT_CREATED, CRADLE_EVENT_SANDBOX_CREATED },
		{ PROTO_EVENT_STARTED, CRADLE_EVENT_SANDBOX_STARTED },
		{ PROTO_EVENT_STOPPED, CRADLE_EVENT_SANDBOX_STOPPED },
		{ PROTO_EVENT_REMOVED, CRADLE_EVENT_SANDBOX_REMOVED },
	};

	memset(out, 0, sizeof(*out));
	out->kind = CRADLE_EVENT_OTHER;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(pe->type, kinds[i].type) == 0)
			out->kind = kinds[i].kind;
	memcpy(out->type, pe->type, sizeof(out->type));
	out->seq = pe->seq;
	memcpy(out->id, pe->id, sizeof(out->id));
	out->pid = pe->pid;
	out->exit_status = pe->exit_status;
	out->exited_at = pe->exited_at;
	memcpy(out->ref, pe->ref, sizeof(out->ref));
	out->done = pe->done;
	out->total = pe->total;
}

/* Receive one message, waiting up to timeout_ms (< 0: forever).  A new
 * pipe (pipe_added) ends the wait with -EAGAIN. */
static int
receive(struct cradle_events *ev, int timeout_ms, nng_msg **msg, struct cradle_err *err)
{
	nng_aio *aio;
	int nng_rc;

	/* an aio carries its own timeout, so nothing shared on the socket
	 * changes between calls */
	if ((nng_rc = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL, "events: %s", nng_strerror(nng_rc));
		return nng_errno(nng_rc);
	}
	nng_aio_set_timeout(aio, timeout_ms < 0 ? NNG_DURATION_INFINITE : timeout_ms);
	pthread_mutex_lock(&ev->mu);
	if (ev->catch_up) {
		pthread_mutex_unlock(&ev->mu);
		nng_aio_free(aio);
		return -EAGAIN;
	}
	ev->aio = aio;
	nng_recv_aio(ev->ep.sock, aio);
	pthread_mutex_unlock(&ev->mu);
	nng_aio_wait(aio);
	pthread_mutex_lock(&ev->mu);
	ev->aio = NULL;
	pthread_mutex_unlock(&ev->mu);
	nng_rc = nng_aio_result(aio);
	if (nng_rc == 0)
		*msg = nng_aio_get_msg(aio);
	nng_aio_free(aio);
	if (nng_rc == NNG_ECANCELED)
		return -EAGAIN;
	if (nng_rc == NNG_ETIMEDOUT) {
		cradle_err_set(err, CRADLE_UNAVAILABLE,
		               "no event from cradled at \"%s\" within "
		               "%d ms",
		               ev->ep.url, timeout_ms);
		return -ETIMEDOUT;
	}
	if (nng_rc != 0) {
		cradle_err_set(err, CRADLE_UNAVAILABLE, "events from cradled at \"%s\": %s",
		               ev->ep.url, nng_text(nng_rc));
		return nng_errno(nng_rc);
	}
	return 0;
}

/* Hand pe out (its seq is past last). */
static int
deliver(struct cradle_events *ev, const struct proto_event *pe, struct cradle_event *out)
{
	ev->last = pe->seq;
	event_export(out, pe);
	return 0;
}

/* What a new pipe means: fetch what was missed, or learn where to start. */
static int
catch_up(struct cradle_events *ev, struct cradle_err *e)
{
	pthread_mutex_lock(&ev->mu);
	ev->catch_up = false;
	pthread_mutex_unlock(&ev->mu);
	if (ev->need_baseline) {
		(void)baseline(ev, e); /* when it fails: from the first event */
		return 0;
	}
	if (ev->req_url[0])
		ev->replaying = true;
	return 0;
}

int
cradle_events_next(struct cradle_events *ev, int timeout_ms, struct cradle_event *out,
                   struct cradle_error *err)
{
	nng_time deadline = timeout_ms < 0 ? 0 : nng_clock() + (nng_time)timeout_ms;
	struct proto_event pe;
	struct cradle_err e;
	nng_msg *msg = NULL;
	int rc;

	if (!ev || !out)
		return cradle_error_export(err, &e,
		                           cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
		                                          "events: %s is NULL",
		                                          ev ? "out" : "the subscription"));
	for (;;) {
		/* 1. a fetched page, past what was handed out */
		while (ev->qpos < ev->qn) {
			const struct proto_event *q = &ev->q[ev->qpos++];
			if (q->seq > ev->last)
				return deliver(ev, q, out);
		}
		int left = timeout_ms;
		if (timeout_ms >= 0) {
			nng_time now = nng_clock();
			left = now >= deadline ? 0 : (int)(deadline - now);
		}
		/* 2. the log, while it has more after last; the gap stays
		 * open (and the live event that showed it held) until the
		 * log answers: asked again after a pause while the daemon
		 * cannot answer (within timeout_ms; a failure of another
		 * kind is returned, and asked again no sooner on the next
		 * call) */
		if (ev->replaying) {
			nng_time now = nng_clock();
			if (now < ev->retry_at) {
				if (left == 0) {
					e = ev->why;
					cradle_err_wrap(
						&e, "no event from cradled at \"%s\" within %d ms",
						ev->ep.url, timeout_ms);
					e.code = CRADLE_UNAVAILABLE;
					return cradle_error_export(err, &e, -ETIMEDOUT);
				}
				nng_duration wait = (nng_duration)(ev->retry_at - now);
				nng_msleep(left > 0 && left < wait ? (nng_duration)left : wait);
				continue;
			}
			rc = fetch(ev, &e);
			if (rc == 0 || rc == -ENODATA) {
				ev->pause = 0;
				ev->retry_at = 0;
				if (rc == 0)
					continue;
				return cradle_error_export(err, &e, rc);
			}
			ev->pause = ev->pause == 0                        ? EVENTS_RETRY_MIN_MS
			            : ev->pause * 2 > EVENTS_RETRY_MAX_MS ? EVENTS_RETRY_MAX_MS
			                                                  : ev->pause * 2;
			ev->retry_at = nng_clock() + (nng_time)ev->pause;
			ev->why = e;
			if (rc != -EAGAIN)
				return cradle_error_export(err, &e, rc);
			continue;
		}
		/* 3. the live event that showed the gap, unless the log had it */
		if (ev->have_held) {
			ev->have_held = false;
			if (ev->held.seq > ev->last)
				return deliver(ev, &ev->held, out);
		}
		/* 4. live */
		rc = receive(ev, left, &msg, &e);
		if (rc == -EAGAIN) {
			catch_up(ev, &e);
			continue;
		}
		if (rc)
			return cradle_error_export(err, &e, rc);
		rc = proto_event_decode(nng_msg_body(msg), nng_msg_len(msg), &pe, &e);
		nng_msg_free(msg);
		if (rc < 0) {
			e.code = CRADLE_INTERNAL;
			cradle_err_wrap(&e, "invalid event from cradled");
			return cradle_error_export(err, &e, rc);
		}
		if (ev->need_baseline) {
			/* the first event there is */
			ev->need_baseline = false;
			return deliver(ev, &pe, out);
		}
		if (pe.seq <= ev->last)
			continue; /* handed out from the log already */
		if (pe.seq == ev->last + 1)
			return deliver(ev, &pe, out);
		/* a gap: the log first (it holds pe too), pe if it does not */
		ev->held = pe;
		ev->have_held = true;
		if (ev->req_url[0]) {
			ev->replaying = true;
			continue;
		}
		cradle_err_set(
			&e, CRADLE_FAILED_PRECONDITION,
			"events %llu to %llu were lost: no request socket to replay them from",
			(unsigned long long)ev->last + 1, (unsigned long long)pe.seq - 1);
		ev->last = pe.seq - 1;
		return cradle_error_export(err, &e, -ENODATA);
	}
}

void
cradle_events_close(struct cradle_events *ev)
{
	if (!ev)
		return;
	nng_close(ev->ep.sock);
	events_free(ev);
}

/* --- timings: verbose status, daemon.stats ------------------------- */

_Static_assert((int)CRADLE_TIMED_START == (int)PROTO_TIMED_START &&
                       (int)CRADLE_TIMED_STOP == (int)PROTO_TIMED_STOP,
               "enum cradle_timed_op differs from proto/proto.h");
_Static_assert(CRADLE_STEP_NAME_MAX == PROTO_STEP_NAME_MAX, "step name limits differ");
_Static_assert(CRADLE_STATS_BUCKETS == PROTO_STATS_BUCKETS, "histogram buckets differ");

struct cradle_stats {
	struct proto_stats p;
};

static bool
timed_op_ok(int op)
{
	return op >= 0 && op < PROTO_TIMED_OPS;
}

int
cradle_sandbox_status_verbose(struct cradle_conn *c, const char *id, struct cradle_sandbox **out,
                              struct cradle_error *err)
{
	struct proto_request req;
	struct proto_reply rep;
	struct cradle_err e;
	int rc;

	if (out)
		*out = NULL;
	proto_reply_init(&rep, OP_STATUS);
	proto_request_init(&req, OP_STATUS);
	req.verbose = true;
	if ((rc = check_call(c, OP_STATUS, out != NULL, &e)) == 0 &&
	    (rc = set_id(&req, id, &e)) == 0)
		rc = call(c, &req, c->ep.timeout, &rep, &e);
	if (rc == 0 && (rep.n_sandboxes != 1 || !rep.sandboxes))
		rc = cradle_err_set(&e, CRADLE_INTERNAL,
		                    "sandbox.status: invalid reply from cradled: %zu sandboxes",
		                    rep.n_sandboxes);
	if (rc == 0 && !(*out = cradle_sandbox_take(&rep.sandboxes[0])))
		rc = cradle_err_nomem(&e);
	proto_reply_fini(&rep);
	return cradle_error_export(err, &e, rc);
}

size_t
cradle_sandbox_step_count(const struct cradle_sandbox *s, int op)
{
	if (!s || !s->p.timings || !timed_op_ok(op))
		return 0;
	return s->p.timings->n[op] < PROTO_MAX_STEPS ? s->p.timings->n[op] : PROTO_MAX_STEPS;
}

bool
cradle_sandbox_step_at(const struct cradle_sandbox *s, int op, size_t i, const char **name,
                       uint32_t *us)
{
	if (i >= cradle_sandbox_step_count(s, op))
		return false;
	if (name)
		*name = s->p.timings->v[op][i].name;
	if (us)
		*us = s->p.timings->v[op][i].us;
	return true;
}

int
cradle_daemon_stats(struct cradle_conn *c, struct cradle_stats **out, struct cradle_error *err)
{
	struct proto_request req;
	struct proto_reply rep;
	struct cradle_err e;
	int rc;

	if (out)
		*out = NULL;
	proto_reply_init(&rep, OP_DAEMON_STATS);
	proto_request_init(&req, OP_DAEMON_STATS);
	if ((rc = check_call(c, OP_DAEMON_STATS, out != NULL, &e)) == 0)
		rc = call(c, &req, c->ep.timeout, &rep, &e);
	if (rc == 0 && !rep.stats)
		rc = cradle_err_set(&e, CRADLE_INTERNAL,
		                    "daemon.stats: invalid reply from cradled: no stats");
	if (rc == 0) {
		struct cradle_stats *st = malloc(sizeof(*st));
		if (!st) {
			rc = cradle_err_nomem(&e);
		} else {
			memcpy(&st->p, rep.stats, sizeof(st->p));
			*out = st;
		}
	}
	proto_reply_fini(&rep);
	return cradle_error_export(err, &e, rc);
}

void
cradle_stats_free(struct cradle_stats *st)
{
	free(st);
}

uint64_t
cradle_stats_count(const struct cradle_stats *st, int op)
{
	return st && timed_op_ok(op) ? st->p.op[op].total.count : 0;
}

uint64_t
cradle_stats_errors(const struct cradle_stats *st, int op, int code)
{
	if (!st || !timed_op_ok(op) || code <= CRADLE_OK || code > CRADLE_CODE_MAX)
		return 0;
	return st->p.op[op].errors[code];
}

uint64_t
cradle_stats_queue_depth(const struct cradle_stats *st)
{
	return st ? st->p.queue_depth : 0;
}

uint64_t
cradle_stats_quarantined(const struct cradle_stats *st)
{
	return st ? st->p.quarantined : 0;
}

uint64_t
cradle_stats_sandboxes(const struct cradle_stats *st, int phase)
{
	return st && phase >= 0 && phase < PROTO_N_PHASES ? st->p.sandboxes[phase] : 0;
}

static void
hist_export(struct cradle_histogram *out, const struct proto_histogram *h)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->step, h->step, sizeof(out->step));
	out->step[CRADLE_STEP_NAME_MAX] = '\0';
	out->count = h->count;
	out->sum_ns = h->sum_ns;
	out->p50_ns = h->p50_ns;
	out->p99_ns = h->p99_ns;
	memcpy(out->buckets, h->buckets, sizeof(out->buckets));
}

bool
cradle_stats_total(const struct cradle_stats *st, int op, struct cradle_histogram *out)
{
	if (!st || !timed_op_ok(op) || !out)
		return false;
	hist_export(out, &st->p.op[op].total);
	return true;
}

size_t
cradle_stats_step_count(const struct cradle_stats *st, int op)
{
	if (!st || !timed_op_ok(op))
		return 0;
	return st->p.op[op].n_steps < PROTO_MAX_STEPS ? st->p.op[op].n_steps : PROTO_MAX_STEPS;
}

bool
cradle_stats_step(const struct cradle_stats *st, int op, size_t i, struct cradle_histogram *out)
{
	if (!out || i >= cradle_stats_step_count(st, op))
		return false;
	hist_export(out, &st->p.op[op].steps[i]);
	return true;
}

uint64_t
cradle_stats_bucket_le_ns(size_t i)
{
	return proto_bucket_le_ns(i);
}

uint64_t
cradle_histogram_quantile(const struct cradle_histogram *h, double q)
{
	return h ? proto_hist_quantile(h->buckets, CRADLE_STATS_BUCKETS, q) : 0;
}

/* --- daemon info ----------------------------------------------------- */

struct cradle_info {
	struct proto_info p;
};

int
cradle_daemon_info(struct cradle_conn *c, struct cradle_info **out, struct cradle_error *err)
{
	struct proto_request req;
	struct proto_reply rep;
	struct cradle_err e;
	int rc;

	if (out)
		*out = NULL;
	proto_reply_init(&rep, OP_DAEMON_INFO);
	proto_request_init(&req, OP_DAEMON_INFO);
	if ((rc = check_call(c, OP_DAEMON_INFO, out != NULL, &e)) == 0)
		rc = call(c, &req, c->ep.timeout, &rep, &e);
	if (rc == 0 && !rep.info)
		rc = cradle_err_set(&e, CRADLE_INTERNAL,
		                    "daemon.info: invalid reply from cradled: no info");
	if (rc == 0) {
		struct cradle_info *info = malloc(sizeof(*info));
		if (!info) {
			rc = cradle_err_nomem(&e);
		} else {
			/* the reply's info moves into the handle */
			info->p = *rep.info;
			memset(rep.info, 0, sizeof(*rep.info));
			*out = info;
		}
	}
	proto_reply_fini(&rep);
	return cradle_error_export(err, &e, rc);
}

void
cradle_info_free(struct cradle_info *info)
{
	if (!info)
		return;
	proto_info_fini(&info->p);
	free(info);
}

const char *
cradle_info_version(const struct cradle_info *info)
{
	return info ? info->p.version.version : "";
}

uint32_t
cradle_info_api_version(const struct cradle_info *info)
{
	return info ? info->p.version.api_version : 0;
}

int32_t
cradle_info_pid(const struct cradle_info *info)
{
	return info ? info->p.version.pid : 0;
}

size_t
cradle_info_condition_count(const struct cradle_info *info)
{
	return info ? info->p.n_conditions : 0;
}

bool
cradle_info_condition_at(const struct cradle_info *info, size_t i, const char **type, bool *status,
                         const char **reason, const char **message)
{
	if (i >= cradle_info_condition_count(info))
		return false;
	const struct proto_condition *cd = &info->p.conditions[i];
	if (type)
		*type = cd->type;
	if (status)
		*status = cd->status;
	if (reason)
		*reason = cd->reason;
	if (message)
		*message = cd->message;
	return true;
}

const char *
cradle_info_cgroup_layout(const struct cradle_info *info)
{
	return info ? info->p.node.cgroup_layout : "";
}

const char *
cradle_info_cgroups(const struct cradle_info *info)
{
	return info && info->p.node.cgroups ? info->p.node.cgroups : "";
}

const char *
cradle_info_device_control(const struct cradle_info *info)
{
	return info ? info->p.node.device_control : "";
}

bool
cradle_info_selinux_enabled(const struct cradle_info *info)
{
	return info && info->p.node.selinux_enabled;
}

bool
cradle_info_selinux_applied(const struct cradle_info *info)
{
	return info && info->p.node.selinux_applied;
}

bool
cradle_info_seccomp_available(const struct cradle_info *info)
{
	return info && info->p.node.seccomp_available;
}

bool
cradle_info_restrict_oom_score_adj(const struct cradle_info *info)
{
	return info && info->p.node.restrict_oom_score_adj;
}

int32_t
cradle_info_oom_score_adj(const struct cradle_info *info)
{
	return info ? info->p.node.oom_score_adj : 0;
}

bool
cradle_info_in_user_namespace(const struct cradle_info *info)
{
	return info && info->p.node.in_user_namespace;
}

const char *
cradle_info_kernel(const struct cradle_info *info)
{
	return info ? info->p.node.kernel : "";
}

size_t
cradle_info_config_section_count(const struct cradle_info *info)
{
	return info ? info->p.n_sections : 0;
}

const char *
cradle_info_config_section(const struct cradle_info *info, size_t i)
{
	return i < cradle_info_config_section_count(info) ? info->p.sections[i].name : NULL;
}

size_t
cradle_info_config_key_count(const struct cradle_info *info, size_t i)
{
	return i < cradle_info_config_section_count(info) ? info->p.sections[i].keys.n : 0;
}

bool
cradle_info_config_key_at(const struct cradle_info *info, size_t i, size_t j, const char **key,
                          const char **value)
{
	if (j >= cradle_info_config_key_count(info, i))
		return false;
	if (key)
		*key = info->p.sections[i].keys.v[j].key;
	if (value)
		*value = info->p.sections[i].keys.v[j].value;
	return true;
}

const char *
cradle_info_config_value(const struct cradle_info *info, const char *section, const char *key)
{
	if (!section || !key)
		return NULL;
	for (size_t i = 0; i < cradle_info_config_section_count(info); i++)
		if (strcmp(info->p.sections[i].name, section) == 0)
			return proto_kvs_get(&info->p.sections[i].keys, key);
	return NULL;
}

const char *
cradle_sandbox_launcher(const struct cradle_sandbox *s)
{
	if (!s)
		return NULL;
	return s->p.launcher && s->p.launcher[0] ? s->p.launcher : "native";
}
