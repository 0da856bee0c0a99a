/* pull.h - pull an image over the OCI distribution API with libcurl.
 *
 * References: as proto/ref.h parses them (docker's grammar; docker.io
 * names get library/ and are fetched from registry-1.docker.io).  Tag or
 * digest; manifest lists and OCI indexes resolve to linux/<arch>.
 * Bearer-token auth from the WWW-Authenticate challenge (anonymous, or
 * with credentials as Basic auth to the realm), Basic auth after a Basic
 * challenge; credentials from the pull (opts->auth) or the auth file
 * (image/auth.h).  Mirrors, CAs, client certificates and plain HTTP per
 * host from <config_path>/<host>/ (image/hosts.h).  Blobs are streamed
 * into the content store and verified while streaming.  HTTPS with a
 * configured CA file, plain HTTP for hosts listed as insecure.  Redirects followed (blob storage),
 * but never from HTTPS to plain HTTP nor to a scheme other than http(s); a bearer token realm must
 * be HTTPS for an HTTPS registry unless its host is listed as insecure.
 * An optional deadline bounds the whole pull.  5xx and connection errors
 * retried with back-off (3 tries: 200 ms, 400 ms, 800 ms), clear errors for
 * 401 ("unauthorized"), 404 and MANIFEST_UNKNOWN ("manifest unknown").
 */
#ifndef CRADLE_PULL_H
#define CRADLE_PULL_H

#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>

#include "proto/err.h"
#include "proto/ref.h"
#include "image/content.h"
#include "image/oci.h"

struct pull_opts {
	const char *ca_file;  /* NULL: the system's */
	const char *insecure; /* "host:port,host2" plain HTTP; NULL none */
	/* <config_path>/<host[:port]>/: *.crt, client.cert + client.key,
	 * hosts.conf (image/hosts.h); NULL: none */
	const char *config_path;
	const char *auth_file; /* containers-auth.json (image/auth.h); NULL: none */
	const char *auth;      /* base64("user[:pass]") for this pull; wins over
	                        * auth_file; NULL: none.  Never logged. */
	long timeout_ms;       /* per request, 0 = 60000 */
	long deadline_ms;      /* the whole pull, 0 = none; past it: UNAVAILABLE
	                        * "timed out ... fetching <what>" */
	/* progress: bytes done / total (total < 0 unknown); may be NULL */
	void (*progress)(void *arg, uint64_t done, int64_t total);
	void *progress_arg;
	/* may be NULL; once true the pull stops within about a second
	 * (UNAVAILABLE "cancelled"): cradled sets it when it shuts down */
	const atomic_bool *cancel;
};

/* What a pull asks for: the parse of proto/ref.h, with docker.io's API
 * host (registry-1.docker.io) as the registry of docker.io names. */
struct image_ref {
	char registry[PROTO_REF_NAME_MAX + 1]; /* host[:port] */
	char domain[PROTO_REF_NAME_MAX + 1];   /* as the reference names it: docker.io,
	                                        * the name of certs.d and auth.json keys */
	char repository[PROTO_REF_NAME_MAX + 1];
	char tag[PROTO_REF_TAG_MAX + 1]; /* "" when by digest only */
	char digest[DIGEST_LEN + 1];     /* "" when by tag */
};

/* proto_ref_parse, split for the HTTP requests */
int image_ref_parse(const char *ref, struct image_ref *out, struct cradle_err *err);
/* normalised "registry/repository:tag" or "...@digest" */
void image_ref_format(const struct image_ref *r, char *buf, size_t len);

/* Pull into the content store; out gets the resolved image. */
int pull_image(struct content *c, const char *ref, const struct pull_opts *opts,
               struct oci_image *out, struct cradle_err *err);

#endif
