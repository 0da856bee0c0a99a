/* runtime.h - choosing the runtime handler of a sandbox (REFERENCE §4).
 *
 * The handlers are the [runtime.NAME] sections of cradled's configuration
 * (server/config.c keeps them in struct daemon_config; every string there
 * is non-NULL, "" meaning unset).  runtime_select is the reference's
 * getSandboxRuntime, rule for rule:
 *   1. Untrusted workload: the pod annotation
 *      io.kubernetes.cri.untrusted-workload is exactly "true" (not "True",
 *      not "yes").
 *        - a handler other than "untrusted" was asked for:
 *            untrusted workload with explicit runtime handler is not allowed
 *        - network, pid or ipc namespace mode NODE (privileged alone is
 *          fine: a VM runtime confines it to the guest):
 *            untrusted workload with host access is not allowed
 *        - else the handler is "untrusted".
 *   2. No handler: the configured default_runtime.
 *   3. The handler must be configured:  no runtime for "<h>" is configured
 * All three errors are INVALID_ARGUMENT: each is the request asking for
 * something the node's configuration forbids or lacks, and nothing was
 * created (the reference returns plain errors, which CRI turns into
 * Unknown; cradle callers get a code they can act on).  The reference's
 * caller wraps them as: unable to get OCI runtime for sandbox "<id>": ...
 * Pure: no I/O, no allocation; *out points into cfg.
 */
#ifndef CRADLE_RUNTIME_H
#define CRADLE_RUNTIME_H

#include "../proto/err.h"
#include "../proto/proto.h"
#include "../server/daemon.h"
#include "spec.h"

#define RUNTIME_UNTRUSTED_ANNOTATION "io.kubernetes.cri.untrusted-workload"
#define RUNTIME_UNTRUSTED "untrusted"

/* handler may be NULL or "" (none asked for). */
int runtime_select(const struct daemon_config *cfg, const struct pod_config *pod,
                   const char *handler, const struct runtime_config **out,
                   struct cradle_err *err);

#endif
