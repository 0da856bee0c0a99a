/* libcradle.c - the C client of cradled (client/cradle.h).
 *
 * One nng req0 socket per connection; every call opens its own nng_ctx, so
 * a connection serves many threads at once, each with one request in
 * flight.  Two req0 defaults are wrong for cradle and are changed here:
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
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "client/cradle.h"

#define CRADLE_PUBLIC __attribute__((visibility("default")))

#define DEFAULT_TIMEOUT_MS 120000
/* A stop may take its whole grace period before the daemon replies; give
 * the reply this much longer than the grace period to arrive. */
#define STOP_REPLY_SLACK_MS 30000
/* The daemon's default stop grace period (cradle.h: timeout_ms < 0). */
#define STOP_DEFAULT_MS 10000

/* URLs are socket paths (<= 108 bytes) plus a scheme; anything sensible
 * fits, and longer input is refused rather than cut. */
#define URL_MAX (PATH_MAX + 16)

struct cradle_conn {
	nng_socket sock;
	nng_duration timeout;        /* per call, ms or NNG_DURATION_INFINITE */
	char url[URL_MAX];
};

struct cradle_events {
	nng_socket sock;
	char url[URL_MAX];
};

/* --- paths --------------------------------------------------------- */

static bool is_url(const char *s)
{
	return strstr(s, "://") != NULL;
}

/* Write "ipc://" + path (or the URL as is) into buf; NULL if too long. */
static const char *as_url(char *buf, size_t size, const char *s)
{
	int n = snprintf(buf, size, "%s%s", is_url(s) ? "" : "ipc://", s);

	return n < 0 || (size_t)n >= size ? NULL : buf;
}

CRADLE_PUBLIC const char *cradle_socket_path(const char *explicit_path)
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

CRADLE_PUBLIC const char *cradle_events_path(const char *explicit_path,
                                             const char *socket_path)
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
			path = NULL;  /* tcp:// and friends: no directory to look in */
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

/* --- errors -------------------------------------------------------- */

/* The text for an nng error.  A missing ipc socket file reads better as
 * the errno text than as nng's "Entry not found". */
static const char *nng_text(int rv)
{
	if (rv == NNG_ENOENT)
		return strerror(ENOENT);
	return nng_strerror(rv);
}

/* errno for the return value of a failed call; err->code tells the
 * rest. */
static int nng_errno(int rv)
{
	switch (rv) {
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
	default:
		return -EIO;
	}
}

/* A daemon's error reply as a negative errno, so callers that only look
 * at the return value still see the kind of failure. */
static int code_errno(int code)
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

static int unreachable(struct cradle_err *err, const char *url, int rv)
{
	const char *why = nng_text(rv);

	/* nng reports a missing ipc socket file as "Connection refused";
	 * "No such file or directory" tells the user where to look */
	if (rv == NNG_ECONNREFUSED && strncmp(url, "ipc://", 6) == 0 &&
	    access(url + 6, F_OK) < 0 && errno == ENOENT)
		why = strerror(ENOENT);
	cradle_err_set(err, rv == NNG_EADDRINVAL ? CRADLE_INVALID_ARGUMENT : CRADLE_UNAVAILABLE,
	               "cannot reach cradled at \"%s\": %s", url, why);
	return nng_errno(rv);
}

/* --- connection ---------------------------------------------------- */

CRADLE_PUBLIC int cradle_connect(const char *socket_path, int timeout_ms,
                                 struct cradle_conn **out, struct cradle_err *err)
{
	struct cradle_conn *c;
	const char *url;
	int rv;

	if (!out)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "cradle_connect: out is NULL");
	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return cradle_err_errno(err, ENOMEM, "connect to cradled");
	url = socket_path && socket_path[0] ? socket_path : cradle_socket_path(NULL);
	if (!as_url(c->url, sizeof(c->url), url)) {
		free(c);
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "socket path of %zu bytes is too long", strlen(url));
	}
	c->timeout = timeout_ms == 0 ? DEFAULT_TIMEOUT_MS
	           : timeout_ms < 0 ? NNG_DURATION_INFINITE : timeout_ms;

	if ((rv = nng_req0_open(&c->sock)) != 0) {
		free(c);
		cradle_err_set(err, CRADLE_INTERNAL, "open request socket: %s", nng_strerror(rv));
		return nng_errno(rv);
	}
	/* options before the dial: the pipe takes its receive limit from the
	 * socket when it is created */
	if ((rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME,
	                            NNG_DURATION_INFINITE)) != 0 ||
	    (rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_LIST_MSG)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, c->timeout)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, c->timeout)) != 0) {
		nng_close(c->sock);
		free(c);
		cradle_err_set(err, CRADLE_INTERNAL, "configure request socket: %s",
		               nng_strerror(rv));
		return nng_errno(rv);
	}
	if ((rv = nng_dial(c->sock, c->url, NULL, 0)) != 0) {
		rv = unreachable(err, c->url, rv);
		nng_close(c->sock);
		free(c);
		return rv;
	}
	*out = c;
	return 0;
}

CRADLE_PUBLIC void cradle_close(struct cradle_conn *c)
{
	if (!c)
		return;
	nng_close(c->sock);
	free(c);
}

/* Wait for one aio operation, bounded by what is left until deadline. */
static int aio_run(nng_aio *aio, nng_time deadline, bool infinite)
{
	nng_time now = nng_clock();

	if (infinite)
		nng_aio_set_timeout(aio, NNG_DURATION_INFINITE);
	else
		nng_aio_set_timeout(aio, now >= deadline ? 1 : (nng_duration)(deadline - now));
	nng_aio_wait(aio);
	return nng_aio_result(aio);
}

/* One round trip: encode req, send it on a fresh context, wait for the
 * reply until timeout (ms, or NNG_DURATION_INFINITE), decode into *rep.
 * A reply with ok=false becomes the call's error.  On success *rep holds
 * the results (release with proto_reply_fini); on failure nothing. */
static int call(struct cradle_conn *c, const struct proto_request *req,
                nng_duration timeout, struct proto_reply *rep, struct cradle_err *err)
{
	msgpack_sbuffer sb;
	nng_msg *msg = NULL;
	nng_aio *aio = NULL;
	nng_ctx ctx;
	nng_time deadline;
	bool ctx_open = false, infinite = timeout == NNG_DURATION_INFINITE;
	const char *what = proto_op_name(req->op);
	int rv, rc;

	proto_reply_init(rep, req->op);
	msgpack_sbuffer_init(&sb);
	rc = proto_request_encode(&sb, req, err);
	if (rc < 0) {
		msgpack_sbuffer_destroy(&sb);
		return rc;
	}
	deadline = nng_clock() + (infinite ? 0 : (nng_time)timeout);
	if ((rv = nng_msg_alloc(&msg, 0)) != 0 ||
	    (rv = nng_msg_append(msg, sb.data, sb.size)) != 0 ||
	    (rv = nng_aio_alloc(&aio, NULL, NULL)) != 0 ||
	    (rv = nng_ctx_open(&ctx, c->sock)) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL, "%s: cannot prepare the request: %s",
		               what, nng_strerror(rv));
		rc = nng_errno(rv);
		goto out;
	}
	ctx_open = true;
	/* contexts copy the socket's resend time when they open; say it again
	 * so a changed nng default can never make a request run twice */
	nng_ctx_set_ms(ctx, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);

	nng_aio_set_msg(aio, msg);
	nng_ctx_send(ctx, aio);
	rv = aio_run(aio, deadline, infinite);
	if (rv != 0) {
		/* not sent: the message is still ours */
		goto fail;
	}
	msg = NULL;
	nng_ctx_recv(ctx, aio);
	rv = aio_run(aio, deadline, infinite);
	if (rv != 0)
		goto fail;
	msg = nng_aio_get_msg(aio);
	rc = proto_reply_decode(req->op, nng_msg_body(msg), nng_msg_len(msg), rep, err);
	if (rc < 0) {
		/* a reply we cannot read is the daemon's fault, not the caller's */
		if (err)
			err->code = CRADLE_INTERNAL;
		cradle_err_wrap(err, "%s: invalid reply from cradled", what);
		goto out;
	}
	if (!rep->ok) {
		if (err)
			*err = rep->err;
		rc = code_errno(rep->err.code);
		proto_reply_fini(rep);
		proto_reply_init(rep, req->op);
	}
	goto out;

fail:
	switch (rv) {
	case NNG_ETIMEDOUT:
		cradle_err_set(err, CRADLE_UNAVAILABLE,
		               "%s: no reply from cradled at \"%s\" within %d ms (the "
		               "operation may still complete)", what, c->url, (int)timeout);
		break;
	case NNG_ECONNRESET:
	case NNG_ECLOSED:
		cradle_err_set(err, CRADLE_UNAVAILABLE,
		               "%s: connection to cradled at \"%s\" lost before the reply "
		               "(the operation may or may not have happened)", what, c->url);
		break;
	default:
		cradle_err_set(err, CRADLE_UNAVAILABLE, "%s: cannot reach cradled at \"%s\": %s",
		               what, c->url, nng_text(rv));
		break;
	}
	rc = nng_errno(rv);
out:
	if (msg)
		nng_msg_free(msg);
	if (ctx_open)
		nng_ctx_close(ctx);
	if (aio)
		nng_aio_free(aio);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static int check_conn(const struct cradle_conn *c, struct cradle_err *err)
{
	if (!c)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "not connected to cradled");
	return 0;
}

/* Callers pass ids of their own; refuse a bad one here rather than send
 * something the daemon can only refuse. */
static int set_id(struct proto_request *req, const char *id, struct cradle_err *err)
{
	if (!id || !proto_valid_id(id))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid sandbox id \"%.80s\": expected %d lower-case "
		                      "hex characters", id ? id : "", CRADLE_ID_LEN);
	memcpy(req->id, id, CRADLE_ID_LEN + 1);
	return 0;
}

CRADLE_PUBLIC int cradle_version(struct cradle_conn *c, struct proto_version *out,
                                 struct cradle_err *err)
{
	struct proto_request req;
	struct proto_reply rep;
	int rc;

	if ((rc = check_conn(c, err)))
		return rc;
	proto_request_init(&req, OP_VERSION);
	rc = call(c, &req, c->timeout, &rep, err);
	if (rc == 0 && out)
		*out = rep.version;
	proto_reply_fini(&rep);
	return rc;
}

/* create and run share their request: the config and handler are the
 * caller's and only borrowed, so req is never passed to
 * proto_request_fini. */
static int create_or_run(struct cradle_conn *c, int op, const struct pod_config *cfg,
                         const char *runtime_handler, char id[CRADLE_ID_LEN + 1],
                         int32_t *pid, int64_t *created_at, struct cradle_err *err)
{
	struct proto_request req;
	struct proto_reply rep;
	int rc;

	if ((rc = check_conn(c, err)))
		return rc;
	if (!cfg)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "no sandbox config given");
	proto_request_init(&req, op);
	req.config = *cfg;
	req.runtime_handler = (char *)runtime_handler;
	rc = call(c, &req, c->timeout, &rep, err);
	if (rc == 0) {
		if (id)
			memcpy(id, rep.id, CRADLE_ID_LEN + 1);
		if (pid)
			*pid = rep.pid;
		if (created_at)
			*created_at = rep.created_at;
	}
	proto_reply_fini(&rep);
	return rc;
}

CRADLE_PUBLIC int cradle_sandbox_create(struct cradle_conn *c, const struct pod_config *cfg,
                                        const char *runtime_handler,
                                        char id[CRADLE_ID_LEN + 1], struct cradle_err *err)
{
	return create_or_run(c, OP_CREATE, cfg, runtime_handler, id, NULL, NULL, err);
}

CRADLE_PUBLIC int cradle_sandbox_run(struct cradle_conn *c, const struct pod_config *cfg,
                                     const char *runtime_handler,
                                     char id[CRADLE_ID_LEN + 1], int32_t *pid,
                                     int64_t *created_at, struct cradle_err *err)
{
	return create_or_run(c, OP_RUN, cfg, runtime_handler, id, pid, created_at, err);
}

/* start, stop, remove: an id in, nothing but success out. */
static int by_id(struct cradle_conn *c, int op, const char *id, int64_t stop_timeout_ms,
                 struct proto_reply *rep, struct cradle_err *err)
{
	struct proto_request req;
	nng_duration timeout;
	int64_t need;
	int rc;

	proto_reply_init(rep, op);
	if ((rc = check_conn(c, err)))
		return rc;
	proto_request_init(&req, op);
	if ((rc = set_id(&req, id, err)))
		return rc;
	timeout = c->timeout;
	if (op == OP_STOP) {
		req.timeout_ms = stop_timeout_ms;
		/* the daemon replies after the grace period at worst: wait that
		 * long and some, even past the connection's own timeout */
		need = (stop_timeout_ms < 0 ? STOP_DEFAULT_MS : stop_timeout_ms) +
		       STOP_REPLY_SLACK_MS;
		if (timeout != NNG_DURATION_INFINITE && need > timeout)
			timeout = need > INT32_MAX ? INT32_MAX : (nng_duration)need;
	}
	return call(c, &req, timeout, rep, err);
}

CRADLE_PUBLIC int cradle_sandbox_start(struct cradle_conn *c, const char *id, int32_t *pid,
                                       int64_t *created_at, struct cradle_err *err)
{
	struct proto_reply rep;
	int rc;

	rc = by_id(c, OP_START, id, -1, &rep, err);
	if (rc == 0) {
		if (pid)
			*pid = rep.pid;
		if (created_at)
			*created_at = rep.created_at;
	}
	proto_reply_fini(&rep);
	return rc;
}

CRADLE_PUBLIC int cradle_sandbox_stop(struct cradle_conn *c, const char *id,
                                      int64_t timeout_ms, struct cradle_err *err)
{
	struct proto_reply rep;
	int rc;

	rc = by_id(c, OP_STOP, id, timeout_ms < 0 ? -1 : timeout_ms, &rep, err);
	proto_reply_fini(&rep);
	return rc;
}

CRADLE_PUBLIC int cradle_sandbox_remove(struct cradle_conn *c, const char *id,
                                        struct cradle_err *err)
{
	struct proto_reply rep;
	int rc;

	rc = by_id(c, OP_REMOVE, id, -1, &rep, err);
	proto_reply_fini(&rep);
	return rc;
}

CRADLE_PUBLIC int cradle_sandbox_status(struct cradle_conn *c, const char *id,
                                        struct proto_sandbox *out, struct cradle_err *err)
{
	struct proto_reply rep;
	int rc;

	if (!out)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "status: out is NULL");
	memset(out, 0, sizeof(*out));
	pod_config_init(&out->config);
	rc = by_id(c, OP_STATUS, id, -1, &rep, err);
	if (rc == 0) {
		if (rep.n_sandboxes != 1 || !rep.sandboxes) {
			rc = cradle_err_set(err, CRADLE_INTERNAL, "sandbox.status: invalid reply "
			                    "from cradled: %zu sandboxes", rep.n_sandboxes);
		} else {
			/* move the one sandbox out of the reply */
			*out = rep.sandboxes[0];
			memset(&rep.sandboxes[0], 0, sizeof(rep.sandboxes[0]));
			rep.n_sandboxes = 0;
		}
	}
	proto_reply_fini(&rep);
	return rc;
}

CRADLE_PUBLIC int cradle_sandbox_list(struct cradle_conn *c, int state_filter,
                                      const struct proto_kvs *labels,
                                      struct proto_sandbox **out, size_t *n,
                                      struct cradle_err *err)
{
	struct proto_request req;
	struct proto_reply rep;
	int rc;

	if (!out || !n)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "list: out is NULL");
	*out = NULL;
	*n = 0;
	if ((rc = check_conn(c, err)))
		return rc;
	if (state_filter != -1 && state_filter != STATE_READY && state_filter != STATE_NOTREADY)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid state filter %d", state_filter);
	proto_request_init(&req, OP_LIST);
	req.state_filter = state_filter;
	/* borrowed, as in create_or_run: no proto_request_fini */
	if (labels)
		req.label_filter = *labels;
	rc = call(c, &req, c->timeout, &rep, err);
	if (rc == 0) {
		*out = rep.sandboxes;
		*n = rep.n_sandboxes;
		rep.sandboxes = NULL;
		rep.n_sandboxes = 0;
	}
	proto_reply_fini(&rep);
	return rc;
}

CRADLE_PUBLIC void cradle_sandboxes_free(struct proto_sandbox *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		proto_sandbox_fini(&v[i]);
	free(v);
}

/* --- images -------------------------------------------------------- */

static int check_ref(const char *ref, const char *what, struct cradle_err *err)
{
	if (!ref || !proto_valid_image_ref(ref))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid %s \"%.80s\": expected 1 to %d letters, digits, "
		                      "'.', '_', ':', '/', '@' or '-'", what, ref ? ref : "",
		                      PROTO_MAX_REF);
	return 0;
}

/* Pulls and imports move whole images: wait at least
 * CRADLE_IMAGE_TIMEOUT_MS, or longer if the connection says so. */
static nng_duration long_timeout(const struct cradle_conn *c)
{
	if (c->timeout == NNG_DURATION_INFINITE || c->timeout >= CRADLE_IMAGE_TIMEOUT_MS)
		return c->timeout;
	return CRADLE_IMAGE_TIMEOUT_MS;
}

/* Move the one image of a pull/status/import reply into *out (may be
 * NULL: dropped). */
static int take_image(struct proto_reply *rep, struct proto_image *out,
                      struct cradle_err *err)
{
	if (rep->n_images != 1 || !rep->images)
		return cradle_err_set(err, CRADLE_INTERNAL, "%s: invalid reply from cradled: "
		                      "%zu images", proto_op_name(rep->op), rep->n_images);
	if (out) {
		*out = rep->images[0];
		memset(&rep->images[0], 0, sizeof(rep->images[0]));
	}
	return 0;
}

/* pull, status, remove: a ref in, at most one image out.  req.ref is
 * borrowed: no proto_request_fini. */
static int by_ref(struct cradle_conn *c, int op, const char *ref, struct proto_image *out,
                  struct cradle_err *err)
{
	struct proto_request req;
	struct proto_reply rep;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if ((rc = check_conn(c, err)) || (rc = check_ref(ref, "image reference", err)))
		return rc;
	proto_request_init(&req, op);
	req.ref = (char *)ref;
	rc = call(c, &req, op == OP_IMAGE_PULL ? long_timeout(c) : c->timeout, &rep, err);
	if (rc == 0 && op != OP_IMAGE_REMOVE)
		rc = take_image(&rep, out, err);
	proto_reply_fini(&rep);
	return rc;
}

CRADLE_PUBLIC int cradle_image_pull(struct cradle_conn *c, const char *ref,
                                    struct proto_image *out, struct cradle_err *err)
{
	return by_ref(c, OP_IMAGE_PULL, ref, out, err);
}

CRADLE_PUBLIC int cradle_image_status(struct cradle_conn *c, const char *ref,
                                      struct proto_image *out, struct cradle_err *err)
{
	if (!out)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "image status: out is NULL");
	return by_ref(c, OP_IMAGE_STATUS, ref, out, err);
}

CRADLE_PUBLIC int cradle_image_remove(struct cradle_conn *c, const char *ref,
                                      struct cradle_err *err)
{
	return by_ref(c, OP_IMAGE_REMOVE, ref, NULL, err);
}

CRADLE_PUBLIC int cradle_image_list(struct cradle_conn *c, struct proto_image **out,
                                    size_t *n, struct cradle_err *err)
{
	struct proto_request req;
	struct proto_reply rep;
	int rc;

	if (!out || !n)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "image list: out is NULL");
	*out = NULL;
	*n = 0;
	if ((rc = check_conn(c, err)))
		return rc;
	proto_request_init(&req, OP_IMAGE_LIST);
	rc = call(c, &req, c->timeout, &rep, err);
	if (rc == 0) {
		*out = rep.images;
		*n = rep.n_images;
		rep.images = NULL;
		rep.n_images = 0;
	}
	proto_reply_fini(&rep);
	return rc;
}

CRADLE_PUBLIC int cradle_image_import(struct cradle_conn *c, const char *path,
                                      const char *name, struct proto_image *out,
                                      struct cradle_err *err)
{
	struct proto_request req;
	struct proto_reply rep;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if ((rc = check_conn(c, err)))
		return rc;
	/* the daemon resolves the path in its own file system: a relative
	 * one would mean its working directory, never what the caller meant */
	if (!path || path[0] != '/')
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "image path \"%.200s\" must be absolute", path ? path : "");
	if (strlen(path) > PROTO_MAX_IMPORT_PATH)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "image path of %zu bytes exceeds %d", strlen(path),
		                      PROTO_MAX_IMPORT_PATH);
	if (name && name[0] && (rc = check_ref(name, "image name", err)))
		return rc;
	proto_request_init(&req, OP_IMAGE_IMPORT);
	req.path = (char *)path;            /* borrowed: no proto_request_fini */
	req.ref = name && name[0] ? (char *)name : NULL;
	rc = call(c, &req, long_timeout(c), &rep, err);
	if (rc == 0)
		rc = take_image(&rep, out, err);
	proto_reply_fini(&rep);
	return rc;
}

CRADLE_PUBLIC void cradle_images_free(struct proto_image *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		proto_image_fini(&v[i]);
	free(v);
}

/* --- events -------------------------------------------------------- */

CRADLE_PUBLIC int cradle_events_open(const char *events_path, struct cradle_events **out,
                                     struct cradle_err *err)
{
	struct cradle_events *e;
	const char *url;
	int rv;

	if (!out)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "events: out is NULL");
	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return cradle_err_errno(err, ENOMEM, "subscribe to cradled events");
	url = events_path && events_path[0] ? events_path : cradle_events_path(NULL, NULL);
	if (!as_url(e->url, sizeof(e->url), url)) {
		free(e);
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "events path of %zu bytes is too long", strlen(url));
	}
	if ((rv = nng_sub0_open(&e->sock)) != 0) {
		free(e);
		cradle_err_set(err, CRADLE_INTERNAL, "open event socket: %s", nng_strerror(rv));
		return nng_errno(rv);
	}
	/* every topic: events are bare msgpack maps, "type" says what they are */
	if ((rv = nng_socket_set(e->sock, NNG_OPT_SUB_SUBSCRIBE, "", 0)) != 0 ||
	    (rv = nng_socket_set_size(e->sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_REPLY_MSG)) != 0) {
		nng_close(e->sock);
		free(e);
		cradle_err_set(err, CRADLE_INTERNAL, "configure event socket: %s",
		               nng_strerror(rv));
		return nng_errno(rv);
	}
	if ((rv = nng_dial(e->sock, e->url, NULL, 0)) != 0) {
		rv = unreachable(err, e->url, rv);
		nng_close(e->sock);
		free(e);
		return rv;
	}
	*out = e;
	return 0;
}

CRADLE_PUBLIC int cradle_events_next(struct cradle_events *e, int timeout_ms,
                                     struct proto_event *ev, struct cradle_err *err)
{
	nng_aio *aio;
	nng_msg *msg;
	int rv, rc;

	if (!e || !ev)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "events: NULL argument");
	/* an aio carries its own timeout, so nothing shared on the socket
	 * changes between calls */
	if ((rv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL, "events: %s", nng_strerror(rv));
		return nng_errno(rv);
	}
	nng_aio_set_timeout(aio, timeout_ms < 0 ? NNG_DURATION_INFINITE : timeout_ms);
	nng_recv_aio(e->sock, aio);
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	if (rv != 0) {
		nng_aio_free(aio);
		if (rv == NNG_ETIMEDOUT) {
			cradle_err_set(err, CRADLE_UNAVAILABLE,
			               "no event from cradled at \"%s\" within %d ms", e->url,
			               timeout_ms);
			return -ETIMEDOUT;
		}
		cradle_err_set(err, CRADLE_UNAVAILABLE, "events from cradled at \"%s\": %s",
		               e->url, nng_text(rv));
		return nng_errno(rv);
	}
	msg = nng_aio_get_msg(aio);
	nng_aio_free(aio);
	rc = proto_event_decode(nng_msg_body(msg), nng_msg_len(msg), ev, err);
	nng_msg_free(msg);
	if (rc < 0) {
		if (err)
			err->code = CRADLE_INTERNAL;
		cradle_err_wrap(err, "invalid event from cradled");
	}
	return rc;
}

CRADLE_PUBLIC void cradle_events_close(struct cradle_events *e)
{
	if (!e)
		return;
	nng_close(e->sock);
	free(e);
}
