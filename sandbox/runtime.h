/* runtime.h - choosing the runtime handler of a sandbox.
 *
 * The handlers come as a runtime_set (sandbox/types.h): the daemon's
 * [runtime.NAME] sections, every string non-NULL ("" meaning unset), and
 * the default handler.  runtime_select is containerd's
 * (*criService).getSandboxRuntime, rule for rule:
 *   1. Untrusted workload: the pod annotation
 *      io.kubernetes.cri.untrusted-workload is exactly "true" (not "True",
 *      not "yes").
 *        - a handler other than "untrusted" was asked for:
 *            untrusted workload with explicit runtime handler is not allowed
 *        - network, pid or ipc namespace mode NODE (privileged alone is
 *          fine: a VM runtime confines it to the guest):
 *            untrusted workload with host access is not allowed
 *        - else the handler is "untrusted".
 *   2. No handler: the set's default_name.
 *   3. The handler must be configured:  no runtime for "<h>" is configured
 * All three errors are INVALID_ARGUMENT: each is the request asking for
 * something the node's configuration forbids or lacks, and nothing was
 * created (the reference returns plain errors, which CRI turns into
 * Unknown; cradle callers get a code they can act on).  The caller wraps
 * them as the reference's does (worker/ops.c, with the id it made first):
 * unable to get OCI runtime for sandbox "<id>": ...
 * Pure: no I/O, no allocation; *out points into the set.
 */
#ifndef CRADLE_RUNTIME_H
#define CRADLE_RUNTIME_H

#include <stdbool.h>

#include "proto/err.h"
#include "proto/proto.h"
#include "sandbox/types.h"

#define RUNTIME_UNTRUSTED_ANNOTATION "io.kubernetes.cri.untrusted-workload"
#define RUNTIME_UNTRUSTED "untrusted"
/* longest handler name, as requests' runtime_handler (proto/codec.c) */
#define RUNTIME_NAME_MAX 253

/* handler may be NULL or "" (none asked for). */
int runtime_select(const struct runtime_set *rs, const struct pod_config *pod, const char *handler,
                   const struct runtime_config **out, struct cradle_err *err);

/* Whether this cradled can run the handler as configured.  It has the
 * native launcher only (sandbox/launch.h: cradled spawns the pause itself,
 * no OCI runtime in between), so two keys that only an OCI launcher could
 * honour are refused rather than silently ignored:
 *   path      [runtime.NAME] path: only an OCI launcher runs a runtime
 *             binary; this cradled has the native launcher only
 *   vm        [runtime.NAME] vm: ... untrusted pods would get no VM
 * (INVALID_ARGUMENT).  The daemon checks every handler at start-up
 * (config_validate).  Pure. */
int runtime_check(const struct runtime_config *rt, struct cradle_err *err);

/* A handler of the set by name, or NULL. */
const struct runtime_config *runtime_find(const struct runtime_set *rs, const char *name);

/* Whether name is usable as a runtime handler: 1..253 letters, digits,
 * '.', '_' or '-', and not "." or ".." (the rule requests follow too). */
bool runtime_name_ok(const char *name);

#endif
