/* podjson.h - read a CRI PodSandboxConfig written as JSON, the way crictl
 * reads the POD_CONFIG file of `crictl runp`, into a struct pod_config.
 * Part of libcradle (cradle_pod_from_json, cradle_pod_from_file); not
 * installed.
 *
 * Field names are crictl's snake_case ("log_directory", "dns_config",
 * "namespace_options"); like Go's encoding/json, an exact key wins and a key
 * differing only in case is accepted too, null means "absent", and unknown
 * fields are ignored (so port_mappings, linux.overhead, apparmor and
 * friends pass).  Namespace modes (network, pid, ipc, userns_options.mode)
 * take numbers (0-3) or names ("POD", "CONTAINER", "NODE", "TARGET", any
 * case), seccomp.profile_type 0-2 or "RuntimeDefault", "Unconfined",
 * "Localhost" (any case).  run_as_user and run_as_group take crictl's
 * wrapper {"value": N} or a bare integer.
 *
 * A field of the wrong type is an INVALID_ARGUMENT error naming its path
 * ("linux.security_context.namespace_options.network: expected ..."); a
 * JSON syntax error names line and column.  The result is checked with
 * pod_config_validate(), so the daemon's rules apply before anything is
 * sent.  Input is bounded by PODJSON_MAX_BYTES and PODJSON_MAX_DEPTH.
 */
#ifndef CRADLE_PODJSON_H
#define CRADLE_PODJSON_H

#include <stddef.h>

#include "proto/proto.h"

#define PODJSON_MAX_BYTES (1u << 20) /* larger files are refused */
#define PODJSON_MAX_DEPTH 32         /* JSON nesting */

/* Parse len bytes of text (need not be NUL-terminated).  On success *out
 * holds the config (release with pod_config_fini) and 0 is returned; on
 * failure *out holds nothing to free and err is filled. */
int podjson_parse(const char *text, size_t len, struct pod_config *out, struct cradle_err *err);

/* Read and parse a file ("-" reads standard input).  Errors are prefixed
 * with the file's name: `pod config "p.json": metadata.name: ...`. */
int podjson_parse_file(const char *path, struct pod_config *out, struct cradle_err *err);

/* The names read above for a namespace mode ("POD", "CONTAINER", "NODE",
 * "TARGET") and a seccomp profile type ("RuntimeDefault", "Unconfined",
 * "Localhost"), as the JSON output writes them; NULL out of range. */
const char *podjson_ns_mode_name(int mode);
const char *podjson_seccomp_type_name(int type);

#endif
