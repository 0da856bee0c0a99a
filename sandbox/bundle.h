/* bundle.h - an OCI runtime bundle's config.json from the sandbox spec.
 *
 * The oci launcher (sandbox/ocirun.h, [runtime.NAME] launcher = oci)
 * hands the same spec the native launcher turns into a plan
 * (sandbox/plan.c) to an OCI runtime as runtime-spec 1.0 config.json:
 *   process  args, env, cwd, user (uid, gid, additionalGids),
 *            capabilities (the five sets, as names), noNewPrivileges,
 *            oomScoreAdj, rlimits (RLIMIT_NOFILE as the native plan),
 *            selinuxLabel
 *   root     the image rootfs, readonly as the spec says
 *   hostname (new UTS namespace only), mounts (as the spec: proc, dev,
 *            the pod's shm and files as binds, ...), annotations
 *   linux    namespaces (network with the spec's netns path when it has
 *            one, else a new one the caller pins afterwards), uid/gid
 *            mappings, cgroupsPath, resources (deny every device, cpu
 *            shares), sysctl, maskedPaths, readonlyPaths, mountLabel,
 *            rootfsPropagation, seccomp (a Localhost profile's JSON as it
 *            is; for RuntimeDefault cradle's built-in profile,
 *            seccomp_runtime_default_oci)
 * Every string goes through json-c, so nothing in a pod's values (quotes,
 * control characters, non-ASCII bytes) can change the document's shape.
 */
#ifndef CRADLE_BUNDLE_H
#define CRADLE_BUNDLE_H

#include <stdint.h>

#include "proto/err.h"
#include "sandbox/spec.h"

#define BUNDLE_CONFIG "config.json"

struct bundle_input {
	const struct sandbox_spec *spec;
	const char *rootfs;      /* root.path, absolute */
	const char *seccomp;     /* linux.seccomp as JSON text, or NULL: none
	                          * (spec RuntimeDefault: the built-in one) */
	const char *propagation; /* rootfsPropagation, NULL: the runtime's default */
	uint64_t nofile;         /* RLIMIT_NOFILE soft = hard, 0: none set */
	int cap_last;            /* highest capability named, e.g. CAP_LAST_CAP */
};

/* The document, NUL-terminated and malloc'd, or NULL with err. */
char *bundle_config_json(const struct bundle_input *in, struct cradle_err *err);

/* dir/config.json written whole or not at all: a temporary file in dir,
 * then rename(2).  dir must exist.  0, or <0 with err naming the file. */
int bundle_write(const char *dir, const struct bundle_input *in, struct cradle_err *err);

/* "CAP_CHOWN" ... for 0..40, NULL beyond. */
const char *bundle_cap_name(int cap);

#endif
