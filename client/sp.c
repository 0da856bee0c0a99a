/* sp.c - nng's req0 over its ipc transport on a plain AF_UNIX stream
 * socket (client/sp.h has the wire).
 *
 * The socket is a blocking one, but every send and receive is made with
 * MSG_DONTWAIT and waits in poll(2) when it would block, so that each
 * call's deadline holds however the peer behaves; connect(2), which cannot
 * be polled on a UNIX socket whose listener's backlog is full, is bounded
 * by SO_SNDTIMEO instead (the kernel uses it for that wait).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client/sp.h"

#define GREETING_LEN 8
/* a message's type byte and 64-bit length, then a reply's request id */
#define MSG_HEAD_LEN 9
#define ID_LEN 4
#define MSG_TYPE 1
#define NS_PER_MS 1000000LL

_Static_assert(sizeof(((struct sp_conn *)0)->head) == MSG_HEAD_LEN + ID_LEN,
               "head holds a message header and a request id");

int64_t
sp_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t
sp_deadline(int64_t timeout_ms)
{
	if (timeout_ms < 0 || timeout_ms > (SP_FOREVER - sp_clock()) / NS_PER_MS)
		return SP_FOREVER;
	return sp_clock() + timeout_ms * NS_PER_MS;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* The errno of a failed system call as the error of a call on c. */
static int
sys_fail(int errnum, struct cradle_err *err)
{
	if (errnum == EPIPE || errnum == ECONNRESET) {
		cradle_err_set(err, CRADLE_UNAVAILABLE, "cradled closed the connection");
		return -ECONNRESET;
	}
	cradle_err_set(err, CRADLE_UNAVAILABLE, "%s", strerror(errnum));
	return -errnum;
}

static int
timed_out(struct cradle_err *err)
{
	cradle_err_set(err, CRADLE_UNAVAILABLE, "%s", strerror(ETIMEDOUT));
	return -ETIMEDOUT;
}

/* poll(2)'s timeout for what is left until deadline: ms rounded up, so a
 * wait never ends just before it; -1 forever, -2 when it has passed. */
static int
poll_ms(int64_t deadline)
{
	int64_t left;

	if (deadline == SP_FOREVER)
		return -1;
	left = deadline - sp_clock();
	if (left <= 0)
		return -2;
	left = (left + NS_PER_MS - 1) / NS_PER_MS;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Wait until fd is ready for events (or hung up: the next call says so). */
static int
wait_fd(int fd, short events, int64_t deadline, struct cradle_err *err)
{
	struct pollfd p = { .fd = fd, .events = events };
	int ms, n;

	for (;;) {
		if ((ms = poll_ms(deadline)) == -2)
			return timed_out(err);
		n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return sys_fail(errno, err);
	}
}

/* Send all of iov[0..n) (advanced in place). */
static int
send_all(struct sp_conn *c, struct iovec *iov, size_t n, int64_t deadline, struct cradle_err *err)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
	ssize_t sent;
	size_t k;
	int rc;

	while (mh.msg_iovlen > 0) {
		sent = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return sys_fail(errno, err);
			if ((rc = wait_fd(c->fd, POLLOUT, deadline, err)) < 0)
				return rc;
			continue;
		}
		for (k = (size_t)sent; mh.msg_iovlen > 0 && k >= mh.msg_iov->iov_len;) {
			k -= mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + k;
			mh.msg_iov->iov_len -= k;
		}
	}
	return 0;
}

static int
hung_up(struct cradle_err *err)
{
	cradle_err_set(err, CRADLE_UNAVAILABLE, "cradled closed the connection");
	return -ECONNRESET;
}

/* Receive into dst[0..size): how many bytes came (> 0), or an error. */
static ssize_t
receive(struct sp_conn *c, void *dst, size_t size, int64_t deadline, struct cradle_err *err)
{
	ssize_t n;
	int rc;

	for (;;) {
		n = recv(c->fd, dst, size, MSG_DONTWAIT);
		if (n > 0)
			return n;
		if (n == 0)
			return hung_up(err);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return sys_fail(errno, err);
		if ((rc = wait_fd(c->fd, POLLIN, deadline, err)) < 0)
			return rc;
	}
}

/* Move up to want read-ahead bytes to dst; how many. */
static size_t
take(struct sp_conn *c, void *dst, size_t want)
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

/* Fill dst[*got..size), from the read-ahead first; *got counts what came,
 * so a call cut short by the deadline is resumed by the next.  Large
 * remainders are received in place, small ones through the read-ahead. */
static int
read_into(struct sp_conn *c, unsigned char *dst, size_t size, size_t *got, int64_t deadline,
          struct cradle_err *err)
{
	ssize_t n;

	while (*got < size) {
		if (c->pos < c->len) {
			*got += take(c, dst + *got, size - *got);
			continue;
		}
		if (size - *got >= sizeof(c->buf)) {
			if ((n = receive(c, dst + *got, size - *got, deadline, err)) < 0)
				return (int)n;
			*got += (size_t)n;
			continue;
		}
		if ((n = receive(c, c->buf, sizeof(c->buf), deadline, err)) < 0)
			return (int)n;
		c->pos = 0;
		c->len = (size_t)n;
	}
	return 0;
}

void
sp_close(struct sp_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->msg);
	c->msg = NULL;
	c->msg_len = c->msg_got = c->head_got = 0;
	c->pos = c->len = 0;
}

/* nng's name of an SP protocol number, "" for one it does not define */
static const char *
proto_name(unsigned proto)
{
	static const struct {
		unsigned n;
		const char *name;
	} known[] = {
		{ 16, " (pair0)" },       { 17, " (pair1)" }, { 32, " (pub0)" },
		{ 33, " (sub0)" },        { 48, " (req0)" },  { 49, " (rep0)" },
		{ 80, " (push0)" },       { 81, " (pull0)" }, { 98, " (surveyor0)" },
		{ 99, " (respondent0)" }, { 112, " (bus0)" },
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (known[i].n == proto)
			return known[i].name;
	}
	return "";
}

/* Read the peer's greeting and hold it to rep0's. */
static int
check_greeting(struct sp_conn *c, int64_t deadline, struct cradle_err *err)
{
	unsigned char g[GREETING_LEN];
	size_t got = 0;
	unsigned proto;
	int rc;

	if ((rc = read_into(c, g, sizeof(g), &got, deadline, err)) < 0)
		return rc;
	if (g[0] != 0 || g[1] != 'S' || g[2] != 'P' || g[3] != 0 || g[6] != 0 || g[7] != 0) {
		cradle_err_set(err, CRADLE_UNAVAILABLE,
		               "the peer does not speak SP: it greets with %02x %02x %02x %02x "
		               "%02x %02x %02x %02x (expected 00 53 50 00 00 31 00 00)",
		               g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]);
		return -EPROTO;
	}
	proto = (unsigned)g[4] << 8 | g[5];
	if (proto != SP_PROTO_REP0) {
		cradle_err_set(err, CRADLE_UNAVAILABLE,
		               "the peer speaks SP protocol %u%s, not rep0 (%d)", proto,
		               proto_name(proto), SP_PROTO_REP0);
		return -EPROTO;
	}
	return 0;
}

/* connect(2), waiting no longer than deadline for room in the listener's
 * backlog. */
static int
connect_by(int fd, const struct sockaddr_un *sa, int64_t deadline, struct cradle_err *err)
{
	struct timeval tv;
	int64_t left;

	if (deadline != SP_FOREVER) {
		if ((left = deadline - sp_clock()) <= 0)
			return timed_out(err);
		tv.tv_sec = (time_t)(left / 1000000000LL);
		tv.tv_usec = (suseconds_t)(left % 1000000000LL / 1000);
		if (tv.tv_sec == 0 && tv.tv_usec == 0)
			tv.tv_usec = 1;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
			return sys_fail(errno, err);
	}
	while (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		if (errno == EINTR)
			continue;
		/* what a blocking AF_UNIX connect says when SO_SNDTIMEO ran out */
		if (errno == EAGAIN)
			return timed_out(err);
		return sys_fail(errno, err);
	}
	return 0;
}

int
sp_dial(struct sp_conn *c, const char *path, int64_t deadline, struct cradle_err *err)
{
	static const unsigned char greeting[GREETING_LEN] = {
		0, 'S', 'P', 0, 0, SP_PROTO_REQ0, 0, 0
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct iovec iov = { .iov_base = (void *)greeting, .iov_len = sizeof(greeting) };
	size_t len = strlen(path);
	int rc;

	memset(c, 0, offsetof(struct sp_conn, buf));
	c->fd = -1;
	/* nng starts at a random id; any will do on a connection of our own */
	c->next_id = 0x80000000u;
	if (len == 0 || len >= sizeof(sa.sun_path)) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "a UNIX socket path has 1 to %zu bytes, this one %zu",
		               sizeof(sa.sun_path) - 1, len);
		return -EINVAL;
	}
	memcpy(sa.sun_path, path, len + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return sys_fail(errno, err);
	if ((rc = connect_by(c->fd, &sa, deadline, err)) < 0 ||
	    (rc = send_all(c, &iov, 1, deadline, err)) < 0 ||
	    (rc = check_greeting(c, deadline, err)) < 0)
		sp_close(c);
	return rc;
}

bool
sp_idle_ok(const struct sp_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	if (c->fd < 0 || c->pos != c->len || c->head_got || c->msg)
		return false;
	/* readable means hung up, or bytes nobody asked for: either way the
	 * connection is not the clean one a new request needs */
	return poll(&p, 1, 0) == 0;
}

uint32_t
sp_next_id(struct sp_conn *c)
{
	uint32_t id = c->next_id | 0x80000000u;

	c->next_id = id + 1;
	return id;
}

int
sp_send(struct sp_conn *c, uint32_t id, const void *body, size_t len, int64_t deadline,
        struct cradle_err *err)
{
	unsigned char head[MSG_HEAD_LEN + ID_LEN];
	struct iovec iov[2] = {
		{ .iov_base = head, .iov_len = sizeof(head) },
		{ .iov_base = (void *)body, .iov_len = len },
	};

	head[0] = MSG_TYPE;
	put64(head + 1, (uint64_t)len + ID_LEN);
	put32(head + MSG_HEAD_LEN, id);
	return send_all(c, iov, len ? 2 : 1, deadline, err);
}

int
sp_recv(struct sp_conn *c, size_t max, int64_t deadline, uint32_t *id, void **body, size_t *len,
        struct cradle_err *err)
{
	uint64_t n;
	int rc;

	if ((rc = read_into(c, c->head, MSG_HEAD_LEN, &c->head_got, deadline, err)) < 0)
		return rc;
	if (c->head[0] != MSG_TYPE) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "not an SP message: it starts with the byte %02x (expected 01)",
		               c->head[0]);
		return -EPROTO;
	}
	n = get64(c->head + 1);
	if (n < ID_LEN) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "a reply of %llu bytes cannot hold its %d-byte request id",
		               (unsigned long long)n, ID_LEN);
		return -EPROTO;
	}
	if (n - ID_LEN > max) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "a reply of %llu bytes exceeds the limit of %zu",
		               (unsigned long long)(n - ID_LEN), max);
		return -EMSGSIZE;
	}
	if ((rc = read_into(c, c->head, sizeof(c->head), &c->head_got, deadline, err)) < 0)
		return rc;
	if (!c->msg) {
		c->msg_len = (size_t)(n - ID_LEN);
		c->msg_got = 0;
		/* +1: a reply of no bytes still has a buffer to hand out */
		if (!(c->msg = malloc(c->msg_len + 1))) {
			cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
			               "no memory for a reply of %zu bytes", c->msg_len);
			return -ENOMEM;
		}
	}
	if ((rc = read_into(c, c->msg, c->msg_len, &c->msg_got, deadline, err)) < 0)
		return rc;
	*id = get32(c->head + MSG_HEAD_LEN);
	*body = c->msg;
	*len = c->msg_len;
	c->msg = NULL;
	c->msg_len = c->msg_got = c->head_got = 0;
	return 0;
}
