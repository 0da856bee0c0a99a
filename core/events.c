/* events.c - the event publisher and its log (see events.h). */
#include "core/events.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

#include "util/fs.h"
#include "util/log.h"

#define EVENTS_ENV "events.mdb"
#define EVENTS_DB "events"
/* the durable store's database and key of the seq reservation */
#define RESERVE_DB "events"
#define RESERVE_KEY "seq_reserved"
#define RESERVE_AHEAD ((uint64_t)1 << 32)
/* an encoded event is at most about 750 bytes (a 511-byte ref); the map
 * gets twice that per kept event and 64 MiB more, as address space (the
 * file grows only as pages are used) */
#define EVENT_MAP_BYTES 2048
#define EVENT_MAP_BASE ((size_t)64 << 20)
#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define BOOT_ID_FILE "boot_id"

struct events {
	bool have_sock;
	nng_socket sock;
	pthread_mutex_t lock; /* orders seq with stores and sends */
	uint64_t seq;         /* the last one assigned */
	/* the log (NULL: nothing kept) and what it holds: first..seq */
	struct store *log;
	uint64_t first;
	size_t keep, slack;
	/* the reservation: seqs up to reserved may have been handed out */
	struct store *durable;
	uint64_t reserved;
};

static void
be64(unsigned char b[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)(v & 0xff);
}

static uint64_t
from_be64(const unsigned char b[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

/* Write the reservation `to` durably (cradle.mdb syncs its commits). */
static int
reserve(struct events *e, uint64_t to, struct cradle_err *err)
{
	unsigned char b[8];

	if (e->durable == NULL) {
		e->reserved = UINT64_MAX;
		return 0;
	}
	be64(b, to);
	if (store_put(e->durable, RESERVE_DB, RESERVE_KEY, b, sizeof(b), err) < 0) {
		cradle_err_wrap(err, "reserve event sequence numbers");
		return -1;
	}
	e->reserved = to;
	return 0;
}

/* The reservation an earlier run left (0: none). */
static int
reserved_before(struct events *e, uint64_t *out, struct cradle_err *err)
{
	void *data = NULL;
	size_t len = 0;
	int rc;

	*out = 0;
	if (e->durable == NULL)
		return 0;
	rc = store_get(e->durable, RESERVE_DB, RESERVE_KEY, &data, &len, err);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return -1;
	if (len == 8)
		*out = from_be64(data);
	else
		log_warn("event sequence reservation of %zu bytes ignored", len);
	free(data);
	return 0;
}

/* A log written in an earlier boot may be torn (MDB_NOSYNC): throw it
 * away.  Then note this boot in it. */
static int
log_check_boot(const char *dir, struct cradle_err *err)
{
	char env[FS_PATH_MAX], file[FS_PATH_MAX], now[64] = "", then[64] = "";
	ssize_t n;
	int rc;

	if (fs_path(env, err, "%s/%s", dir, EVENTS_ENV) < 0 ||
	    fs_path(file, err, "%s/%s/%s", dir, EVENTS_ENV, BOOT_ID_FILE) < 0)
		return -1;
	if (fs_read(BOOT_ID_PATH, now, sizeof(now)) <= 0)
		return 0; /* no boot id to compare: keep the log */
	n = fs_read(file, then, sizeof(then));
	if (n > 0 && strcmp(now, then) != 0) {
		log_info("event log \"%s\" is from an earlier boot: discarded", env);
		if ((rc = fs_rmtree(env)) < 0)
			return cradle_err_errno(err, -rc, "failed to remove event log \"%s\"", env);
	}
	if (n <= 0 || strcmp(now, then) != 0) {
		if ((rc = fs_mkdir_p(env, 0700)) < 0)
			return cradle_err_errno(err, -rc, "failed to create event log \"%s\"", env);
		if ((rc = fs_write(file, now, strlen(now), 0600)) < 0)
			return cradle_err_errno(err, -rc, "failed to write \"%s\"", file);
	}
	return 0;
}

static int
log_open(struct events *e, const struct events_config *cfg, struct cradle_err *err)
{
	struct store_opts o = { .name = EVENTS_ENV, .nosync = true };
	uint64_t first = 0, last = 0, before = 0;
	int rc;

	e->keep = cfg->keep ? cfg->keep : EVENTS_KEEP_DEFAULT;
	e->slack = e->keep / 8 < 16 ? 16 : e->keep / 8 > 4096 ? 4096 : e->keep / 8;
	o.map_size = EVENT_MAP_BASE + (e->keep + e->slack) * EVENT_MAP_BYTES;
	if (log_check_boot(cfg->dir, err) < 0 || store_open_opts(cfg->dir, &o, &e->log, err) < 0)
		return -1;
	rc = store_bounds_u64(e->log, EVENTS_DB, &first, &last, err);
	if (rc < 0 && rc != -ENOENT)
		return -1;
	if (reserved_before(e, &before, err) < 0)
		return -1;
	if (rc == 0) {
		e->first = first;
		e->seq = last;
	} else {
		/* no log: go on after every seq an earlier run may have used */
		e->first = 0;
		e->seq = before;
	}
	if (before != 0 && e->seq > before)
		log_warn("event log goes to %" PRIu64 ", past the reservation %" PRIu64, e->seq,
		         before);
	if (reserve(e, e->seq + RESERVE_AHEAD, err) < 0)
		return -1;
	log_info("event log \"%s/%s\": %s, next seq %" PRIu64 ", keeping %zu", cfg->dir, EVENTS_ENV,
	         rc == 0 ? "restored" : "new", e->seq + 1, e->keep);
	return 0;
}

int
events_open_config(const struct events_config *cfg, struct events **out, struct cradle_err *err)
{
	struct events *e = calloc(1, sizeof(*e));

	*out = NULL;
	if (e == NULL)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "allocate event publisher");
	pthread_mutex_init(&e->lock, NULL);
	e->durable = cfg->durable;
	e->reserved = UINT64_MAX;
	if (cfg->dir != NULL && log_open(e, cfg, err) < 0)
		goto fail;
	if (cfg->url != NULL && events_listen(e, cfg->url, err) < 0)
		goto fail;
	*out = e;
	return 0;
fail:
	events_close(e);
	return -1;
}

int
events_listen(struct events *e, const char *url, struct cradle_err *err)
{
	nng_socket sock;
	nng_listener l;
	int rc;

	if (e->have_sock)
		return cradle_err_set(err, CRADLE_INTERNAL, "event socket is open already");
	if ((rc = nng_pub0_open(&sock)) != 0)
		return cradle_err_set(err, CRADLE_INTERNAL, "open event socket: %s",
		                      nng_strerror(rc));
	if ((rc = nng_listener_create(&l, sock, url)) != 0 ||
	    (rc = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0660)) != 0 ||
	    (rc = nng_listener_start(l, 0)) != 0) {
		nng_close(sock);
		return cradle_err_set(err, CRADLE_INTERNAL,
		                      "listen for event subscribers on \"%s\": %s", url,
		                      nng_strerror(rc));
	}
	/* under the lock: a publisher reads have_sock and sock under it */
	pthread_mutex_lock(&e->lock);
	e->sock = sock;
	e->have_sock = true;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

int
events_open(const char *url, struct events **out, struct cradle_err *err)
{
	struct events_config cfg = { .url = url };

	return events_open_config(&cfg, out, err);
}

void
events_close(struct events *e)
{
	if (e == NULL)
		return;
	if (e->have_sock)
		nng_close(e->sock);
	store_close(e->log);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

void
events_lock(struct events *e)
{
	if (e != NULL)
		pthread_mutex_lock(&e->lock);
}

void
events_unlock(struct events *e)
{
	if (e != NULL)
		pthread_mutex_unlock(&e->lock);
}

uint64_t
events_last_seq(struct events *e)
{
	uint64_t seq;

	if (e == NULL)
		return 0;
	pthread_mutex_lock(&e->lock);
	seq = e->seq;
	pthread_mutex_unlock(&e->lock);
	return seq;
}

/* Delete the oldest events down to keep once there are keep + slack
 * (below = the first seq to keep); lock held. */
static void
log_trim(struct events *e, uint64_t below)
{
	struct cradle_err err;
	long n;

	if ((n = store_del_below_u64(e->log, EVENTS_DB, below, &err)) < 0) {
		log_warn_drop(&err, "trim the event log below %" PRIu64, below);
		return;
	}
	e->first = below;
}

/* Store one encoded event; lock held.  A full map is trimmed to half of
 * keep and tried again. */
static void
log_put(struct events *e, const struct proto_event *ev, const void *data, size_t len)
{
	struct cradle_err err;
	int rc;

	rc = store_put_u64(e->log, EVENTS_DB, ev->seq, data, len, &err);
	if (rc < 0 && err.code == CRADLE_RESOURCE_EXHAUSTED && ev->seq > e->keep / 2 + 1) {
		log_warn("event log full at seq %" PRIu64 ": %s; trimming to %zu events", ev->seq,
		         err.msg, e->keep / 2);
		log_trim(e, ev->seq - e->keep / 2);
		rc = store_put_u64(e->log, EVENTS_DB, ev->seq, data, len, &err);
	}
	if (rc < 0) {
		log_error("keep event %" PRIu64 " (%s): %s", ev->seq, ev->type, err.msg);
		return;
	}
	if (e->first == 0)
		e->first = ev->seq;
	if (ev->seq - e->first + 1 > e->keep + e->slack)
		log_trim(e, ev->seq - e->keep + 1);
}

void
events_publish_locked(struct events *e, struct proto_event *ev)
{
	msgpack_sbuffer sb;
	struct cradle_err err;
	int rc;

	if (e == NULL)
		return;
	if (e->seq + 1 > e->reserved && reserve(e, e->seq + RESERVE_AHEAD, &err) < 0)
		log_warn_drop(&err, "event %" PRIu64, e->seq + 1);
	msgpack_sbuffer_init(&sb);
	ev->seq = e->seq + 1;
	if (proto_event_encode(&sb, ev, &err) < 0) {
		/* its seq is not used: subscribers see no gap for it */
		log_error("encode event %s: %s", ev->type, err.msg);
		msgpack_sbuffer_destroy(&sb);
		return;
	}
	e->seq = ev->seq;
	/* kept before it is sent: a subscriber that sees it can always ask
	 * for it again, and a crash after the send cannot reuse its seq */
	if (e->log != NULL)
		log_put(e, ev, sb.data, sb.size);
	if (e->have_sock && (rc = nng_send(e->sock, sb.data, sb.size, 0)) != 0) {
		/* pub0 drops for slow subscribers by design; a send error here
		 * means the socket is gone, which only happens at shutdown. */
		log_warn("publish event %" PRIu64 ": %s", ev->seq, nng_strerror(rc));
	}
	msgpack_sbuffer_destroy(&sb);
}

void
events_publish(struct events *e, struct proto_event *ev)
{
	events_lock(e);
	events_publish_locked(e, ev);
	events_unlock(e);
}

/* --- events.since -------------------------------------------------- */

struct since_walk {
	struct proto_event *v;
	size_t n;
	struct cradle_err *err;
};

static int
since_one(uint64_t key, const void *data, size_t len, void *arg)
{
	struct since_walk *w = arg;
	struct proto_event *ev = &w->v[w->n];

	if (proto_event_decode(data, len, ev, w->err) < 0) {
		cradle_err_wrap(w->err, "event %" PRIu64 " in the log", key);
		w->err->code = CRADLE_INTERNAL;
		return -1;
	}
	ev->seq = key;
	w->n++;
	return 0;
}

int
events_since(struct events *e, uint64_t from, size_t max, struct proto_reply *rep,
             struct cradle_err *err)
{
	struct since_walk w = { .err = err };
	uint64_t first = 0, last = 0, seq;
	long got;
	int rc;

	if (e == NULL || e->log == NULL)
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		                      "events.since: cradled keeps no events");
	if (max == 0 || max > PROTO_MAX_EVENTS_PAGE)
		max = PROTO_MAX_EVENTS_PAGE;
	/* the log's bounds (a trim may run at once: the walk below reads
	 * its own snapshot, and a from it trimmed meanwhile comes back as a
	 * first event past it, which the client sees as a gap) */
	seq = events_last_seq(e);
	rc = store_bounds_u64(e->log, EVENTS_DB, &first, &last, err);
	if (rc < 0 && rc != -ENOENT)
		return -1;
	if (rc == -ENOENT)
		first = last = 0;
	/* nothing kept: the next event is the oldest there will be */
	uint64_t oldest = rc == 0 ? first : seq + 1;
	if (from == 0)
		from = oldest;
	if (from < oldest)
		return cradle_err_set(err, CRADLE_NOT_FOUND,
		                      "events.since %" PRIu64 ": events %" PRIu64 " to %" PRIu64
		                      " are no longer kept (cradled keeps the last %zu); the "
		                      "oldest kept is %" PRIu64 " (since 0 starts there)",
		                      from, from, oldest - 1, e->keep, oldest);
	rep->oldest_seq = oldest;
	rep->last_seq = rc == 0 ? last : seq;
	if (rc == -ENOENT || from > last)
		return 0;
	if ((w.v = calloc(max, sizeof(*w.v))) == NULL)
		return cradle_err_nomem(err);
	got = store_range_u64(e->log, EVENTS_DB, from, max, since_one, &w, err);
	if (got < 0) {
		free(w.v);
		return -1;
	}
	rep->events = w.v;
	rep->n_events = w.n;
	rep->more = w.n > 0 && w.v[w.n - 1].seq < last;
	return 0;
}
