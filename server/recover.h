/* recover.h - rebuild the sandbox table from the store at start-up.
 *
 * For every record: a RUNNING sandbox whose pause task is still alive (the
 * pid's start time matches the record, so a recycled pid is not mistaken
 * for it) is adopted again by pidfd and handed to the reaper; one whose
 * task is gone is marked EXITED with status 255 and announced with an exit
 * event.  Names are reserved again.  Then directories under
 * <root>/sandboxes, <state>/sandboxes and pins under <state>/netns that
 * belong to no record are removed (half-made sandboxes of a crashed run).
 * Call after the reaper and the event publisher are up, before the front
 * end takes requests.
 */
#ifndef CRADLE_RECOVER_H
#define CRADLE_RECOVER_H

#include "proto/err.h"

struct daemon;

int recover(struct daemon *d, struct cradle_err *err);

#endif
