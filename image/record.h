/* record.h - image records: what cradle knows about an image it holds.
 *
 * Kept in the store's database "images", keyed by reference (the name the
 * image was pulled or imported as, e.g. "registry.k8s.io/pause:3.9"), as a
 * msgpack map:
 *   ref             string, 1..511 bytes (the key; must match it)
 *   manifest_digest "sha256:<64 hex>"
 *   config_digest   "sha256:<64 hex>"
 *   layers          array of "sha256:<64 hex>", bottom first (<= 1024)
 *   size            integer >= 0, bytes of manifest + config + layers
 *   labels          map string -> string (optional; the config's labels)
 *   pinned          boolean (optional, false; the sandbox image is pinned)
 *   created_at      integer, ns since the epoch (optional, 0)
 * Unknown keys are skipped and nil means absent, so later versions may add
 * fields; everything else is checked strictly (proto_check_bounds first,
 * then every field's type and rules; duplicate keys refused).
 */
#ifndef CRADLE_IMAGE_RECORD_H
#define CRADLE_IMAGE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "proto/err.h"
#include "proto/proto.h"
#include "util/store.h"
#include "image/content.h"

#define IMAGE_DB "images"
#define IMAGE_REF_MAX 511
#define IMAGE_MAX_LAYERS PROTO_MAX_ENTRIES

struct image_record {
	char ref[512];
	char manifest_digest[DIGEST_LEN + 1];
	char config_digest[DIGEST_LEN + 1];
	char **layers; /* layer digests, bottom first; owned */
	size_t n_layers;
	int64_t size;
	struct proto_kvs labels; /* owned */
	bool pinned;
	int64_t created_at;
};

/* Appends the encoded record to sb (unchanged on failure).  A record the
 * decoder would refuse (empty ref, bad digest, negative size, too many
 * layers or labels, text that is not UTF-8) is INVALID_ARGUMENT. */
int image_record_encode(const struct image_record *r, msgpack_sbuffer *sb, struct cradle_err *err);
/* Fills r (which need not be initialised); on failure r owns nothing and
 * INVALID_ARGUMENT names the field. */
int image_record_decode(const void *buf, size_t len, struct image_record *r,
                        struct cradle_err *err);
/* Frees what r owns and zeroes it; safe on a zeroed record. */
void image_record_fini(struct image_record *r);

/* Stores r under r->ref (replacing any record of that ref). */
int image_record_put(struct store *st, const struct image_record *r, struct cradle_err *err);
/* 0 and *out filled, or -ENOENT with NOT_FOUND; on failure *out owns
 * nothing.  A stored record that does not decode, or holds another ref,
 * is INTERNAL (-EIO). */
int image_record_get(struct store *st, const char *ref, struct image_record *out,
                     struct cradle_err *err);
/* Deleting an absent ref succeeds. */
int image_record_del(struct store *st, const char *ref, struct cradle_err *err);
/* Calls fn for every record in ref order; fn may steal from r (it is
 * finalised after fn returns) and may put or delete records.  Records that
 * do not decode are skipped.  fn returning <0 stops the walk and is
 * returned. */
int image_record_foreach(struct store *st, int (*fn)(struct image_record *r, void *arg), void *arg,
                         struct cradle_err *err);

#endif
