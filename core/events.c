/* events.c - the event publisher (see events.h). */
#include "core/events.h"

#include <pthread.h>
#include <stdlib.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

#include "util/log.h"

struct events {
	nng_socket sock;
	pthread_mutex_t lock; /* orders seq with sends */
	uint64_t seq;
};

int
events_open(const char *url, struct events **out, struct cradle_err *err)
{
	struct events *e = calloc(1, sizeof(*e));
	int rc;

	if (e == NULL)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "allocate event publisher");
	pthread_mutex_init(&e->lock, NULL);
	if ((rc = nng_pub0_open(&e->sock)) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL, "open event socket: %s", nng_strerror(rc));
		goto fail;
	}
	nng_listener l;
	if ((rc = nng_listener_create(&l, e->sock, url)) != 0 ||
	    (rc = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0660)) != 0 ||
	    (rc = nng_listener_start(l, 0)) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL, "listen for event subscribers on \"%s\": %s",
		               url, nng_strerror(rc));
		nng_close(e->sock);
		goto fail;
	}
	*out = e;
	return 0;
fail:
	pthread_mutex_destroy(&e->lock);
	free(e);
	return -1;
}

void
events_close(struct events *e)
{
	if (e == NULL)
		return;
	nng_close(e->sock);
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

void
events_publish_locked(struct events *e, struct proto_event *ev)
{
	msgpack_sbuffer sb;
	struct cradle_err err;
	int rc;

	if (e == NULL)
		return;
	msgpack_sbuffer_init(&sb);
	ev->seq = ++e->seq;
	if (proto_event_encode(&sb, ev, &err) < 0) {
		log_error("encode event %llu: %s", (unsigned long long)ev->seq, err.msg);
	} else if ((rc = nng_send(e->sock, sb.data, sb.size, 0)) != 0) {
		/* pub0 drops for slow subscribers by design; a send error here
		 * means the socket is gone, which only happens at shutdown. */
		log_warn("publish event %llu: %s", (unsigned long long)ev->seq, nng_strerror(rc));
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
