/* lifecycle.c - the sandbox transitions (see lifecycle.h). */
#include "core/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/records.h"
#include "util/clock.h"
#include "util/log.h"

void
sandbox_queue_event(struct sandbox *sb, const struct proto_event *ev)
{
	struct sandbox_event *se = malloc(sizeof(*se)), **tail = &sb->pending;

	if (se == NULL) {
		log_error("sandbox %s: out of memory: event %s lost", sb->id, ev->type);
		return;
	}
	se->ev = *ev;
	se->next = NULL;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = se;
}

void
sandbox_queue_lifecycle(struct sandbox *sb, const char *type)
{
	struct proto_event ev;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.type, sizeof(ev.type), "%s", type);
	memcpy(ev.id, sb->id, sizeof(ev.id));
	if (strcmp(type, PROTO_EVENT_STARTED) == 0)
		ev.pid = sb->rec.pid;
	if (strcmp(type, PROTO_EVENT_STOPPED) == 0 && sb->rec.phase == PHASE_EXITED) {
		ev.exit_status = sb->rec.exit_status;
		ev.exited_at = sb->rec.exited_at;
	}
	sandbox_queue_event(sb, &ev);
}

void
sandbox_exited(struct sandbox *sb, int32_t status, struct store *st)
{
	struct proto_event ev;
	struct cradle_err err = { 0 };

	if (sb->rec.phase != PHASE_RUNNING)
		return;
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.type, sizeof(ev.type), "%s", PROTO_EVENT_EXIT);
	memcpy(ev.id, sb->id, sizeof(ev.id));
	ev.pid = sb->rec.pid;
	ev.exit_status = status;
	ev.exited_at = clock_now_ns();

	sb->rec.phase = PHASE_EXITED;
	sb->rec.exit_status = status;
	sb->rec.exited_at = ev.exited_at;
	sb->rec.pid = 0;
	sb->rec.pid_start_time = 0;
	if (sb->pidfd >= 0) {
		close(sb->pidfd);
		sb->pidfd = -1;
	}
	if (!sb->removed && records_put(st, &sb->rec, &err) < 0)
		log_error("record exit of sandbox %s: %s", sb->id, err.msg);
	pthread_cond_broadcast(&sb->cond);
	sandbox_queue_event(sb, &ev);
}

void
sandbox_unlock(struct sandbox *sb, struct events *ev)
{
	struct sandbox_event *q = sb->pending;

	if (sandbox_publish(sb) < 0)
		log_warn("sandbox %s: out of memory: status and list show its previous state",
		         sb->id);
	sb->pending = NULL;
	if (q == NULL) {
		pthread_mutex_unlock(&sb->lock);
		return;
	}
	/* lock order: a sandbox, then the publisher (a leaf) */
	events_lock(ev);
	pthread_mutex_unlock(&sb->lock);
	while (q != NULL) {
		struct sandbox_event *next = q->next;

		events_publish_locked(ev, &q->ev);
		free(q);
		q = next;
	}
	events_unlock(ev);
}
