/* recover.h - rebuild the sandbox table from the store at start-up.
 *
 * For every record: a RUNNING sandbox whose pause task is still alive (the
 * pid's start time matches the record, so a recycled pid is not mistaken
 * for it) is adopted again by pidfd and handed to the reaper; one whose
 * task is gone is marked EXITED with status 255 and announced with an exit
 * event.  Names are reserved again.  Then directories under
 * <root>/sandboxes and <state>/sandboxes, pins under <state>/netns and shm
 * mount points under <state>/shm that belong to no record are removed,
 * unmounted first (half-made sandboxes of a crashed run); a pin or shm
 * whose record does not name it (a start cut short) goes too.
 * Call after the reaper and the event publisher are up, before the front
 * end takes requests.
 *
 * A record that cannot be read (it does not decode, or its id is not its
 * key) is moved to the quarantine (core/records.h) and logged as an error
 * naming the id and the cause.  Nothing of a quarantined id is swept: its
 * directories, cgroup, task, shm and netns pin stay for an operator to
 * look at, at this start-up and every later one, until the quarantined
 * record is dropped (drop_quarantined: before the records are read, so
 * their leftovers are then swept like any others).  *quarantined: how
 * many records the quarantine holds afterwards.
 */
#ifndef CRADLE_RECOVER_H
#define CRADLE_RECOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/err.h"

struct daemon;

int recover(struct daemon *d, bool drop_quarantined, size_t *quarantined, struct cradle_err *err);

#endif
