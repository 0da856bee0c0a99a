/* auth.h - registry credentials from a containers-auth.json file.
 *
 * The format podman, skopeo and buildah write (containers-auth.json(5)):
 *   {"auths": {"registry.example:5000": {"auth": "<base64 user:password>"},
 *              "registry.example:5000/team/app": {"auth": "..."}}}
 * A key is a registry ("host[:port]") or a registry with a repository
 * path prefix ("host/namespace", "host/namespace/repo"); the most
 * specific key that matches the pulled repository wins (whole path
 * components only).  Docker's legacy keys ("https://host/v1/") count as
 * their host; "index.docker.io" and "registry-1.docker.io" as docker.io.
 * Entries without an "auth" string (identity tokens) are refused when
 * they are the match; other top-level keys (credHelpers, ...) are ignored.
 * The file is read whole (at most AUTH_FILE_MAX bytes) at each lookup, so
 * an edit takes effect at the next pull.  Messages name the file and the
 * key, never the credentials.
 */
#ifndef CRADLE_AUTH_H
#define CRADLE_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/err.h"
#include "proto/proto.h"

#define AUTH_FILE_MAX (1u << 20)
#define AUTH_KEY_MAX 512

struct auth_creds {
	bool found;
	char user[PROTO_AUTH_USER_MAX + 1];
	char pass[PROTO_AUTH_PASS_MAX + 1];
	char key[AUTH_KEY_MAX]; /* the auths key that matched */
};

/* Credentials for repository (e.g. "team/app") at host ("host[:port]",
 * docker.io for Docker Hub) from file.  A missing file (ENOENT) or no
 * matching key: 0 with out->found false.  A file that cannot be read or
 * parsed, or a bad matching entry: -1 (FAILED_PRECONDITION). */
int auth_lookup(const char *file, const char *host, const char *repository, struct auth_creds *out,
                struct cradle_err *err);
/* The same on the file's text (len bytes); file only names it. */
int auth_lookup_text(const char *file, const char *text, size_t len, const char *host,
                     const char *repository, struct auth_creds *out, struct cradle_err *err);
/* Zero the secrets. */
void auth_creds_clear(struct auth_creds *c);

#endif
