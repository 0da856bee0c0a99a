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

/* Whether the handler is runnable as configured, its keys taken together
 * (INVALID_ARGUMENT naming the section and the key, "[runtime.NAME] KEY:
 * ...").  launcher is "native" (or "" / NULL: cradled spawns the pause
 * itself, sandbox/launch.h) or "oci" (the binary in path runs it,
 * sandbox/ocirun.h).  Keys only the oci launcher can honour (path, vm,
 * root, no_pivot_root) are refused with the native one rather than
 * silently ignored -- vm = true above all: untrusted pods would get no
 * VM; the oci launcher needs path.  systemd_cgroup serves both launchers
 * (runc's --systemd-cgroup, or sandbox/sdscope.h).  The daemon checks
 * every handler at start-up (config_validate).  Pure. */
int runtime_check(const struct runtime_config *rt, struct cradle_err *err);

/* One key of a [runtime.NAME] section on its own, whatever the others
 * say (so that the order of the keys does not matter): launcher must be
 * native or oci.  Pure. */
int runtime_check_key(const struct runtime_config *rt, const char *key, struct cradle_err *err);

/* What runtime_check cannot see from the text: an oci handler's path is
 * an executable file, and systemd_cgroup needs systemd managing this
 * node's cgroups (/run/systemd/system, and PID 1 is systemd:
 * FAILED_PRECONDITION otherwise) and answering on its bus
 * (sdscope_check_bus: FAILED_PRECONDITION naming the sockets tried and
 * the errno).  Reads the file system, connects: called once at start-up. */
int runtime_check_host(const struct runtime_config *rt, struct cradle_err *err);

/* Whether the handler runs its sandboxes through an OCI runtime. */
bool runtime_is_oci(const struct runtime_config *rt);

/* What a record stores as the launcher that ran a sandbox. */
#define RUNTIME_LAUNCHER_NATIVE "native"
#define RUNTIME_LAUNCHER_OCI "oci"

/* A handler of the set by name, or NULL. */
const struct runtime_config *runtime_find(const struct runtime_set *rs, const char *name);

/* Whether name is usable as a runtime handler: 1..253 letters, digits,
 * '.', '_' or '-', and not "." or ".." (the rule requests follow too). */
bool runtime_name_ok(const char *name);

#endif
