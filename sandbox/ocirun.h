/* ocirun.h - run a sandbox's pause through an OCI runtime (runc, crun).
 *
 * The oci launcher ([runtime.NAME] launcher = oci) of the start pipeline
 * (worker/start.c): the bundle's config.json (sandbox/bundle.h) is made
 * from the same spec as the native plan, then
 *   <path> --root R [--systemd-cgroup] create [--no-pivot] --bundle B
 *          --pid-file B/pid <id>
 *   NRI create (when configured)
 *   <path> --root R start <id>
 * and at the end <path> --root R delete --force <id>.  R is the handler's
 * root, default <state>/runtime/<NAME>.  Each run is bounded (util/run.h:
 * 60 s, output kept to a few KiB) and its stderr's tail quoted in the
 * error: "runc create: exited with status 1: <what runc said>".
 *
 * The runtime's init (the pause) is orphaned when `create` exits; the
 * daemon is the child subreaper (server/main.c), so it reparents to
 * cradled and is reaped through its pidfd like a native pause.  No
 * threads, no state but the paths: callable from any worker.
 */
#ifndef CRADLE_OCIRUN_H
#define CRADLE_OCIRUN_H

#include <stdbool.h>
#include <sys/types.h>

#include "proto/err.h"
#include "sandbox/types.h"
#include "util/fs.h"

struct ocirun {
	const char *name; /* the handler, for messages */
	const char *path; /* the runtime binary */
	char root[FS_PATH_MAX];
	bool systemd_cgroup, no_pivot;
};

/* o for handler rt (launcher oci); makes the root directory (0700).
 * 0, or <0 with err. */
int ocirun_init(struct ocirun *o, const struct runtime_config *rt, const char *state,
                struct cradle_err *err);

/* create: 0 with *pid the container's init (waiting for start), or <0
 * with err quoting the runtime.  A failed create is deleted again. */
int ocirun_create(const struct ocirun *o, const char *id, const char *bundle, pid_t *pid,
                  struct cradle_err *err);
int ocirun_start(const struct ocirun *o, const char *id, struct cradle_err *err);
/* kill <id> KILL (--all: every process of the container) */
int ocirun_kill(const struct ocirun *o, const char *id, struct cradle_err *err);
/* delete --force: kills what still runs, removes the runtime's state and
 * cgroups; a container the runtime does not know is fine. */
int ocirun_delete(const struct ocirun *o, const char *id, struct cradle_err *err);

#endif
