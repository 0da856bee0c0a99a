/* netns.h - pin a sandbox's network namespace at <state>/netns/<id>.
 *
 * The pause task creates the namespace (CLONE_NEWNET); the parent then
 * bind-mounts /proc/<pid>/ns/net onto an empty file so the pod's other
 * containers (and CNI) can join it by path, and so it outlives the task
 * until Stop removes it, as the reference does.
 */
#ifndef CRADLE_NETNS_H
#define CRADLE_NETNS_H

#include <sys/types.h>

#include "proto/err.h"

/* path: where to pin (parent directory must exist). */
int netns_pin(pid_t pid, const char *path, struct cradle_err *err);
/* Lazy unmount and unlink; absent or not mounted is success. 0 or -errno. */
int netns_unpin(const char *path);

#endif
