/* sp.h - nng's req0 protocol over its ipc transport, spoken on a plain
 * AF_UNIX stream socket by the calling thread: no nng, no threads.
 *
 * The wire, as nng 1.5.2 has it (src/sp/transport/ipc/ipc.c,
 * src/sp/protocol/reqrep0/req.c and rep.c):
 *  - each side first sends 8 bytes: 0x00 'S' 'P' 0x00, its protocol
 *    number as 16 bits big-endian (req0 48, rep0 49), two zero bytes;
 *    nng sends its own before it reads the peer's, and drops a peer whose
 *    first four or last two bytes differ, or whose protocol is not the
 *    one its own pairs with;
 *  - then every message is the byte 0x01, its length as 64 bits
 *    big-endian, and that many bytes;
 *  - a req0 message starts with a 32-bit big-endian request id with the
 *    high bit set (nng draws them from 0x80000000..0xffffffff); rep0 moves
 *    it into the reply's header and sends it back in front of the reply,
 *    so replies are matched by id, and several requests may be in flight
 *    on one connection (rep0 hands each to a context of its own and sends
 *    each reply when it is ready, in any order).
 *
 * Deadlines are CLOCK_MONOTONIC nanoseconds (sp_deadline), SP_FOREVER for
 * none.  Every function returns 0 or a negative errno and fills err (may
 * be NULL) with a code and the cause alone ("Connection refused", "the
 * peer speaks SP protocol 48, not rep0 (49)"); the caller says what it was
 * doing.  After a failure other than -ETIMEDOUT from sp_recv, the
 * connection is of no further use: close it.
 */
#ifndef CRADLE_CLIENT_SP_H
#define CRADLE_CLIENT_SP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define SP_PROTO_REQ0 48
#define SP_PROTO_REP0 49
#define SP_FOREVER INT64_MAX

/* Bytes read ahead of what has been asked for: a small reply arrives with
 * its header in one read. */
#define SP_READ_AHEAD 4096

struct sp_conn {
	int fd; /* -1: closed */
	uint32_t next_id;
	/* the reply being received: its header, then its bytes (resumed
	 * after a timeout) */
	unsigned char head[13]; /* type, length, request id */
	size_t head_got;
	unsigned char *msg;
	size_t msg_len, msg_got;
	/* read ahead: buf[pos..len) is received and not yet consumed */
	size_t pos, len;
	unsigned char buf[SP_READ_AHEAD];
};

/* now, and now + timeout_ms (< 0: SP_FOREVER) */
int64_t sp_clock(void);
int64_t sp_deadline(int64_t timeout_ms);

/* Connect to the rep0 socket at path (a file system path, not a URL),
 * send the req0 greeting and check the peer's: -ENOENT (no such socket
 * file), -ECONNREFUSED (nobody listens), -EACCES, -ETIMEDOUT (the
 * listener's backlog stayed full, or no greeting came), -EPROTO (not a
 * rep0 peer), -ECONNRESET (it hung up), -EINVAL (path too long for a
 * UNIX socket).  c is closed on failure. */
int sp_dial(struct sp_conn *c, const char *path, int64_t deadline, struct cradle_err *err);

/* True when an idle connection (nothing in flight) is still open: the
 * peer has neither hung up nor sent anything unasked. */
bool sp_idle_ok(const struct sp_conn *c);

/* A fresh request id, high bit set. */
uint32_t sp_next_id(struct sp_conn *c);

/* Send one request: id, then len bytes of body.  -ETIMEDOUT when the
 * socket stayed full until deadline, -ECONNRESET when the peer is gone. */
int sp_send(struct sp_conn *c, uint32_t id, const void *body, size_t len, int64_t deadline,
            struct cradle_err *err);

/* Receive the next reply, whichever request it answers: its id in *id
 * and its body (after the id) in *body (malloc'd, release with free; not
 * NULL even when *len is 0).  A reply over max bytes of body is refused
 * before it is read (-EMSGSIZE); -EPROTO for bytes that are not an SP
 * message, -ECONNRESET when the peer hung up.  -ETIMEDOUT leaves a
 * partly received reply in c: the next call goes on with it. */
int sp_recv(struct sp_conn *c, size_t max, int64_t deadline, uint32_t *id, void **body, size_t *len,
            struct cradle_err *err);

void sp_close(struct sp_conn *c);

#endif
