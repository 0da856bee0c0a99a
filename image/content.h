/* content.h - the content store: blobs addressed by their sha256 digest.
 *
 * Blobs live at <root>/content/blobs/sha256/<hex>.  A writer streams into a
 * temp file in <root>/content/ingest/ while hashing (OpenSSL EVP sha256) and
 * the commit renames it into place only after the digest (and size, when
 * known) matches; a mismatch is an error that leaves nothing behind.  Safe
 * for concurrent writers of the same digest (the rename is atomic and the
 * content identical).  Digests are "sha256:" + 64 lower-case hex.
 */
#ifndef CRADLE_CONTENT_H
#define CRADLE_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define DIGEST_LEN 71 /* "sha256:" + 64 */

struct content;
struct content_writer;

bool digest_valid(const char *digest);
/* The digest of len bytes of data; 0, or -EIO when OpenSSL fails. */
int digest_of(const void *data, size_t len, char out[DIGEST_LEN + 1]);

int content_open(const char *root, struct content **out, struct cradle_err *err);
void content_close(struct content *c); /* NULL-safe */

/* expected_digest NULL: whatever arrives; expected_size < 0: unknown. */
int content_writer_open(struct content *c, const char *expected_digest, int64_t expected_size,
                        struct content_writer **out, struct cradle_err *err);
int content_writer_write(struct content_writer *w, const void *buf, size_t len,
                         struct cradle_err *err);
/* Verify and move into place; always frees w.  digest_out (may be NULL)
 * gets the digest.  Mismatch: INVALID_ARGUMENT "digest mismatch: expected
 * X, got Y" (or size), temp file removed. */
int content_writer_commit(struct content_writer *w, char digest_out[DIGEST_LEN + 1],
                          struct cradle_err *err);
void content_writer_abort(struct content_writer *w); /* NULL-safe, removes the temp file */
uint64_t content_writer_size(const struct content_writer *w);

bool content_has(struct content *c, const char *digest);
int content_path(struct content *c, const char *digest, char *buf, size_t len);
/* Read a small blob whole (manifests, configs), re-verifying its digest. */
int content_read(struct content *c, const char *digest, size_t max, char **data, size_t *len,
                 struct cradle_err *err);
/* Add bytes already in memory (verifies expected_digest when not NULL). */
int content_put(struct content *c, const void *data, size_t len, const char *expected_digest,
                char digest_out[DIGEST_LEN + 1], struct cradle_err *err);
int content_delete(struct content *c, const char *digest); /* absent is fine; 0/-errno */
/* Calls fn for every blob digest present. */
int content_walk(struct content *c, int (*fn)(const char *digest, void *arg), void *arg);

#endif
