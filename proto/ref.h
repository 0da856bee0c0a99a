/* ref.h - image references: the one parser the CLI and the daemon share.
 *
 * The grammar is docker/distribution's (the "reference" package), with
 * containerd's normalisation (ParseDockerRef):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path            (at most 255 bytes, canonical)
 *   domain     := host [ ":" port ]              host: DNS labels or [IPv6]
 *   path       := component ( "/" component )*
 *   component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *   digest     := "sha256:" 64 lower-case hex digits (the only algorithm
 *                 cradle's content store holds)
 *
 * The first component is the domain when it has a '.' or a ':', is
 * "localhost", or has an upper-case letter; else the domain is docker.io.
 * "index.docker.io" is docker.io, and a docker.io name of one component
 * gets "library/".  Without a tag or digest the tag is "latest"; a digest
 * without a tag stays so, and a tag with a digest keeps both.  A bare
 * 64-hex string is an image id, never a name.  So "busybox" is
 * "docker.io/library/busybox:latest".
 *
 * Errors are INVALID_ARGUMENT: `invalid reference "<ref>": <why>`.
 */
#ifndef CRADLE_PROTO_REF_H
#define CRADLE_PROTO_REF_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/err.h"

#define PROTO_REF_NAME_MAX 255 /* canonical domain/path, as docker */
#define PROTO_REF_TAG_MAX 128
#define PROTO_REF_DIGEST_MAX 71 /* "sha256:" + 64 */
/* the canonical form: name, ':' tag, '@' digest */
#define PROTO_REF_CANON_MAX (PROTO_REF_NAME_MAX + 1 + PROTO_REF_TAG_MAX + 1 + PROTO_REF_DIGEST_MAX)
#define PROTO_REF_DOCKER_DOMAIN "docker.io"

struct proto_ref {
	char domain[PROTO_REF_NAME_MAX + 1];   /* "docker.io", "localhost:5000" */
	char path[PROTO_REF_NAME_MAX + 1];     /* "library/busybox" */
	char tag[PROTO_REF_TAG_MAX + 1];       /* "" when by digest only */
	char digest[PROTO_REF_DIGEST_MAX + 1]; /* "" when none */
};

/* Parse and normalise s into out (zeroed first). */
int proto_ref_parse(const char *s, struct proto_ref *out, struct cradle_err *err);
/* The canonical string, domain/path[:tag][@digest], into buf of len
 * (PROTO_REF_CANON_MAX + 1 always fits). */
void proto_ref_format(const struct proto_ref *r, char *buf, size_t len);
/* Both: s in its canonical form, into buf of len >= PROTO_REF_CANON_MAX + 1
 * (a smaller buf is INVALID_ARGUMENT when the form does not fit). */
int proto_ref_normalize(const char *s, char *buf, size_t len, struct cradle_err *err);
/* Do a and b name the same image (equal, or equal once normalised)? */
bool proto_ref_same(const char *a, const char *b);
/* s as an image id or a prefix of one: "sha256:<1..64 lower hex>" or
 * "<1..64 lower hex>".  The hex part (in s), or NULL. */
const char *proto_ref_id_hex(const char *s);

#endif
