/* reaper.h - the only thread that waits for children.
 *
 * It sleeps in epoll over the pidfd of every live pause task plus an
 * eventfd used to stop it.  When a pidfd becomes readable it reaps that
 * task with waitid(P_PIDFD) (never waitpid(-1), which would steal other
 * owners' children) under the sandbox's lock, makes the sandbox_exited
 * transition (core/lifecycle.h: record, wake waiters, one "sandbox.exit"
 * event), and publishes the event once the lock is dropped.
 *
 * Tasks adopted after a restart are not our children: waitid then fails with
 * ECHILD and the exit status is reported as 255, as the reference does when
 * a status cannot be read.
 */
#ifndef CRADLE_CORE_REAPER_H
#define CRADLE_CORE_REAPER_H

#include "proto/err.h"

struct events;
struct sandbox;
struct store;
struct reaper;

/* Exits are recorded in st and published on ev (both outlive the reaper). */
int reaper_start(struct store *st, struct events *ev, struct reaper **out, struct cradle_err *err);
/* Stop the thread (tasks stay alive) and drop the references it holds. */
void reaper_stop(struct reaper *r);

/* Watch sb->pidfd.  Call with sb->lock held and sb->rec.phase RUNNING; the
 * reaper takes a reference on sb and owns nothing else: sb->pidfd is closed
 * by the reaper under sb->lock when the task has been reaped. */
int reaper_watch(struct reaper *r, struct sandbox *sb, struct cradle_err *err);

#endif
