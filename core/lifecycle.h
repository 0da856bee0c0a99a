/* lifecycle.h - the sandbox transitions every caller makes the same way.
 *
 * sandbox_exited is the one "sandbox exited" transition: the reaper calls
 * it when it has reaped a pause task, recovery when a recorded task is
 * gone, stop when it gives up on a task it cannot watch.  Under sb->lock
 * it sets phase EXITED, the exit status (exit code, or 128+signal, as a
 * shell shows it; 255 when it cannot be read, as containerd reports) and
 * time, clears pid and pid start time, closes sb->pidfd, stores the record
 * (unless the sandbox is being removed), wakes waiters on sb->cond, and
 * queues one "sandbox.exit" event on sb.  The operations queue the
 * other sandbox events (sandbox_queue_lifecycle): "sandbox.created",
 * "sandbox.started", "sandbox.stopped", "sandbox.removed", as containerd's
 * CRI plugin sends its container events for sandboxes.  A sandbox that is not RUNNING
 * is left alone (an exit is recorded once).
 *
 * sandbox_unlock drops sb->lock and publishes the events queued under it,
 * in order.  Nothing is published while a sandbox lock is held; the
 * publisher's lock is taken before the sandbox lock is dropped, so events
 * of one sandbox keep their order across threads.
 */
#ifndef CRADLE_CORE_LIFECYCLE_H
#define CRADLE_CORE_LIFECYCLE_H

#include <stdint.h>

#include "core/events.h"
#include "core/table.h"
#include "util/store.h"

/* Call with sb->lock held.  A failure to store is logged, not returned:
 * the task is gone either way, and the next start-up finds it gone too. */
void sandbox_exited(struct sandbox *sb, int32_t status, struct store *st);

/* Queue ev (copied) for the next sandbox_unlock; sb->lock held.  Without
 * memory the event is logged and lost (its seq is never assigned, so
 * subscribers see no gap for it). */
void sandbox_queue_event(struct sandbox *sb, const struct proto_event *ev);

/* Queue a sandbox event of type (PROTO_EVENT_CREATED, _STARTED,
 * _STOPPED, _REMOVED) for sb, filled from its record: id always, pid for
 * started, exit_status and exited_at for stopped (of the exit it had).
 * sb->lock held; published by sandbox_unlock like the exit event. */
void sandbox_queue_lifecycle(struct sandbox *sb, const char *type);

/* Drop sb->lock, then publish what was queued (ev may be NULL: dropped). */
void sandbox_unlock(struct sandbox *sb, struct events *ev);

#endif
