/* internal.h - what libcradle's sources share beyond cradle.h: the insides
 * of the public handles (each wraps the wire type of proto/proto.h), the
 * bridge from proto's errors to the public ones, and the time format of the
 * JSON output.  Not installed.  Nothing declared here carries CRADLE_API,
 * so libcradle.so exports none of it; the CLI and the unit tests link the
 * static library and may use it.
 */
#ifndef CRADLE_CLIENT_INTERNAL_H
#define CRADLE_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "client/cradle.h"
#include "proto/proto.h"

struct cradle_pod {
	struct pod_config cfg; /* always passes pod_config_validate */
};

struct cradle_sandbox {
	struct proto_sandbox p;
};

struct cradle_image {
	struct proto_image p;
};

struct cradle_sandbox_list {
	size_t n;
	struct cradle_sandbox *v;
};

struct cradle_image_list {
	size_t n;
	struct cradle_image *v;
};

/* On failure (rc < 0) copy the proto error e into the caller's err (may be
 * NULL); returns rc either way, so a public call can end with
 * `return cradle_error_export(err, &e, rc);`. */
int cradle_error_export(struct cradle_error *err, const struct cradle_err *e, int rc);

/* Move a decoded sandbox or image into a new handle (the source is left
 * zeroed); NULL when out of memory, the source then still owns it all. */
struct cradle_sandbox *cradle_sandbox_take(struct proto_sandbox *p);
struct cradle_image *cradle_image_take(struct proto_image *p);

/* Move the sandboxes or images of a list reply into a new list (the reply
 * keeps none); NULL when out of memory, the reply then still has them. */
struct cradle_sandbox_list *cradle_sandbox_list_take(struct proto_reply *rep);
struct cradle_image_list *cradle_image_list_take(struct proto_reply *rep);

/* How cradle_sandboxes_remove reports one id: ids[i] removed (rc 0, err
 * NULL) or not (rc < 0, err says why). */
typedef void cradle_batch_done(void *arg, size_t i, int rc, const struct cradle_error *err);

/* Remove the sandboxes ids[0..n), keeping up to window requests in flight
 * (the daemon's workers run them at once; its remove stops a running
 * sandbox first).  done is called once per id, from the calling thread, in
 * the order they finish.  On a sync connection the requests share one
 * socket (rep0 answers each when it is done, matched by request id), each
 * bounded by the connection's timeout; on an nng one, or with a window
 * below 2, they go one at a time.  Returns 0 when every id was removed,
 * else the rc of the first failure; -EINVAL (and no call of done) when c
 * or done is NULL. */
int cradle_sandboxes_remove(struct cradle_conn *c, const char *const *ids, size_t n,
                            unsigned window, cradle_batch_done *done, void *arg);

/* Refuse a reference proto_valid_image_ref refuses; what names it ("image
 * reference", "image name"). */
int cradle_check_image_ref(const char *ref, const char *what, struct cradle_err *err);

/* Longest output of cradle_time_rfc3339, NUL included. */
#define CRADLE_TIME_MAX 48

/* ns since the epoch as RFC 3339 in UTC ("2024-05-14T09:21:07Z"); with
 * nano, Go's RFC3339Nano form (a fraction without trailing zeros). */
void cradle_time_rfc3339(int64_t ns, bool nano, char buf[CRADLE_TIME_MAX]);

#endif
