/* cradle.h - libcradle, the C client of cradled.
 *
 * One connection (struct cradle_conn) may be used from many threads at once:
 * every call opens its own nng request context.  Calls are synchronous and
 * return 0 on success or a negative value with *err filled (err->code is a
 * wire code from proto/err.h, err->msg names the cause).  Results are owned
 * by the caller and released with the matching *_free / proto_*_fini call.
 *
 * Messages are built with the types of proto/proto.h (struct pod_config,
 * struct proto_sandbox, struct proto_event), which this header includes.
 */
#ifndef CRADLE_H
#define CRADLE_H

#include <stdint.h>

#include "proto/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CRADLE_DEFAULT_SOCKET "/run/cradle/cradle.sock"
#define CRADLE_DEFAULT_EVENTS "/run/cradle/events.sock"

struct cradle_conn;
struct cradle_events;

/* Socket path: explicit argument, else $CRADLE_SOCKET, else the default.
 * A plain path gets "ipc://" prepended; a URL is used as is. */
const char *cradle_socket_path(const char *explicit_path);

/* Connect to the daemon's request socket.  timeout_ms bounds every call
 * (0 = 120000).  Fails with UNAVAILABLE when the socket is not there. */
int cradle_connect(const char *socket_path, int timeout_ms,
                   struct cradle_conn **out, struct cradle_err *err);
void cradle_close(struct cradle_conn *c);

int cradle_version(struct cradle_conn *c, struct proto_version *out,
                   struct cradle_err *err);

/* create: registers the sandbox, returns its id (65 bytes incl. NUL). */
int cradle_sandbox_create(struct cradle_conn *c, const struct pod_config *cfg,
                          const char *runtime_handler, char id[CRADLE_ID_LEN + 1],
                          struct cradle_err *err);
/* start / run: *pid and *created_at may be NULL. */
int cradle_sandbox_start(struct cradle_conn *c, const char *id, int32_t *pid,
                         int64_t *created_at, struct cradle_err *err);
int cradle_sandbox_run(struct cradle_conn *c, const struct pod_config *cfg,
                       const char *runtime_handler, char id[CRADLE_ID_LEN + 1],
                       int32_t *pid, int64_t *created_at, struct cradle_err *err);
/* timeout_ms < 0 means the daemon's default (10 s). */
int cradle_sandbox_stop(struct cradle_conn *c, const char *id, int64_t timeout_ms,
                        struct cradle_err *err);
int cradle_sandbox_remove(struct cradle_conn *c, const char *id,
                          struct cradle_err *err);
/* status: fills *out (release with proto_sandbox_fini). */
int cradle_sandbox_status(struct cradle_conn *c, const char *id,
                          struct proto_sandbox *out, struct cradle_err *err);
/* list: state_filter -1 = any, else STATE_READY / STATE_NOTREADY;
 * labels may be NULL.  *out is an array of *n (free with cradle_sandboxes_free). */
int cradle_sandbox_list(struct cradle_conn *c, int state_filter,
                        const struct proto_kvs *labels, struct proto_sandbox **out,
                        size_t *n, struct cradle_err *err);
void cradle_sandboxes_free(struct proto_sandbox *v, size_t n);

/* --- images ---
 * References are 1..511 bytes of [A-Za-z0-9._:/@-] (proto_valid_image_ref);
 * the daemon resolves short names.  Results are owned by the caller:
 * release one image with proto_image_fini, a list with cradle_images_free.
 * Pull and import can take minutes: they wait max(the connection's
 * timeout, 30 minutes) for the reply.  Their progress is published as
 * "image.progress" events (subscribe with cradle_events_open before the
 * call to see all of it). */
#define CRADLE_IMAGE_TIMEOUT_MS (30 * 60 * 1000)

/* pull: fetch ref from its registry (a no-op when present); *out may be
 * NULL, else it receives the image. */
int cradle_image_pull(struct cradle_conn *c, const char *ref, struct proto_image *out,
                      struct cradle_err *err);
/* list: every image the daemon holds, *n of them in *out. */
int cradle_image_list(struct cradle_conn *c, struct proto_image **out, size_t *n,
                      struct cradle_err *err);
/* status: NOT_FOUND when the daemon does not hold ref. */
int cradle_image_status(struct cradle_conn *c, const char *ref, struct proto_image *out,
                        struct cradle_err *err);
/* remove: FAILED_PRECONDITION while a sandbox uses the image. */
int cradle_image_remove(struct cradle_conn *c, const char *ref, struct cradle_err *err);
/* import: an OCI layout directory, OCI archive or docker-save archive at
 * path, an absolute path on the daemon's host (at most 4096 bytes); name
 * (may be NULL) is the reference to store it under, else the archive's
 * own.  *out may be NULL. */
int cradle_image_import(struct cradle_conn *c, const char *path, const char *name,
                        struct proto_image *out, struct cradle_err *err);
void cradle_images_free(struct proto_image *v, size_t n);
/* (The events below carry "image.progress" too: type, ref, done, total.) */

/* Events: subscribe to the daemon's exit events.  events_path as for
 * cradle_socket_path but with $CRADLE_EVENTS and the events default; when
 * NULL and only a request socket path is known, "events.sock" beside it. */
const char *cradle_events_path(const char *explicit_path, const char *socket_path);
int cradle_events_open(const char *events_path, struct cradle_events **out,
                       struct cradle_err *err);
/* Block until the next event or timeout_ms (<0 = forever).  Timeout gives
 * -ETIMEDOUT with code UNAVAILABLE. */
int cradle_events_next(struct cradle_events *e, int timeout_ms,
                       struct proto_event *ev, struct cradle_err *err);
void cradle_events_close(struct cradle_events *e);

#ifdef __cplusplus
}
#endif
#endif
