/* images.h - the image service: records, content, snapshots, pulls.
 *
 * Ties the content store (content.h), image records (record.h), imports
 * (oci.h), pulls (pull.h) and layer unpacking (unpack.h) together:
 *  - images_ensure: present, or pulled; concurrent callers that need the
 *    same missing image share one pull (they wait on it);
 *  - images_use: the image ensured as above, its layers unpacked into snapshot
 *    directories <root>/snapshots/sha256/<hex> (once per layer, to a temp
 *    dir renamed into place), plus its config; the image is in use until
 *    images_release, and an image in use cannot be removed
 *    (FAILED_PRECONDITION);
 *  - a use pins what the sandbox actually got: the manifest, config and
 *    layer digests of the record read when it started (a later import or
 *    pull may point the ref elsewhere).  Pinned blobs and their snapshots
 *    are never collected; images_release drops exactly one use's pins;
 *  - images_import / images_pull unpack every layer before the image is
 *    recorded, within the limits of struct images_cfg: a refused layer
 *    leaves no snapshot, no record, and no blob no other image references;
 *  - images_remove: the record goes, then every blob and snapshot that no
 *    record and no pin references any more; a pinned record (the sandbox
 *    image: imported or pulled as it) is never removed.
 * Thread-safe (one mutex; pulls and unpacks run outside it).
 */
#ifndef CRADLE_IMAGES_H
#define CRADLE_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"
#include "sandbox/types.h"
#include "image/pull.h"
#include "image/record.h"

struct store;
struct images;

struct images_cfg {
	const char *root; /* <root>: content/ and snapshots/ below it */
	struct store *store;
	const char *ca_file;  /* registry CA, NULL: the system's */
	const char *insecure; /* plain-HTTP registries "host:port,..." */
	/* per-host dirs <config_path>/<host>/ and a containers-auth.json;
	 * NULL: none */
	const char *config_path;
	const char *auth_file;
	/* per layer, 0 = no limit (see unpack.h struct unpack_limits) */
	uint64_t max_layer_bytes;
	uint64_t max_layer_entries;
	uint64_t max_expansion;
	int pull_timeout; /* seconds for a whole pull, 0 = none */
};

/* What a sandbox needs from its image. */
struct image_rootfs {
	char **layer_dirs; /* top first, as overlay's lowerdir wants them */
	size_t n_layers;
	struct image_config config;           /* entrypoint, env, user, passwd/group, ... */
	char manifest_digest[DIGEST_LEN + 1]; /* what the use pinned */
};
void image_rootfs_fini(struct image_rootfs *r);

int images_open(const struct images_cfg *cfg, struct images **out, struct cradle_err *err);
void images_close(struct images *im);

/* Every ref given to these calls is normalised first (proto/ref.h):
 * records are kept under the canonical form, which images_open also gives
 * the records of earlier versions.  images_get and images_remove also take
 * an image id ("sha256:<hex>", the hex) or a prefix of one of >= 4 hex
 * digits (containerd's LocalResolve order; an ambiguous prefix is
 * INVALID_ARGUMENT, an unknown one NOT_FOUND). */
int images_get(struct images *im, const char *ref, struct image_record *out,
               struct cradle_err *err);
int images_ensure(struct images *im, const char *ref, struct image_record *out,
                  struct cradle_err *err);
/* progress may be NULL; it is called from the pulling thread.  pinned:
 * the record is pinned (the sandbox image, as the reference labels it
 * io.cri-containerd.pinned=pinned); images_ensure's pulls always are. */
int images_pull(struct images *im, const char *ref, bool pinned,
                void (*progress)(void *arg, uint64_t done, int64_t total), void *arg,
                struct image_record *out, struct cradle_err *err);
/* images_pull with credentials for this pull only: auth is base64 of
 * "user[:password]" (proto_auth_decode's rules), NULL: the auth_file's. */
int images_pull_auth(struct images *im, const char *ref, bool pinned, const char *auth,
                     void (*progress)(void *arg, uint64_t done, int64_t total), void *arg,
                     struct image_record *out, struct cradle_err *err);
/* Replace the registry settings (cfg's ca_file, insecure, config_path,
 * auth_file and pull_timeout, copied; the rest of cfg is not read) for
 * the pulls that start from now on; a pull in flight keeps the ones it
 * started with.  The files below config_path and auth_file are read
 * again by every pull: only changed settings need this.  Safe while
 * pulls run (SIGHUP, server/main.c).  Fails only when out of memory,
 * changing nothing. */
int images_set_registry(struct images *im, const struct images_cfg *cfg, struct cradle_err *err);
/* Stop every pull in flight (within about a second) and fail later ones
 * (UNAVAILABLE, "cancelled"): for a bounded shutdown.  NULL-safe. */
void images_cancel(struct images *im);
/* Some sandbox uses the image (images_use without images_unuse). */
bool images_in_use(struct images *im, const char *ref);
int images_import(struct images *im, const char *path, const char *name, bool pinned,
                  struct image_record *out, struct cradle_err *err);
int images_use(struct images *im, const char *ref, struct image_rootfs *out,
               struct cradle_err *err);
/* End one use of ref that pinned manifest (out->manifest_digest of its
 * images_use; the sandbox record keeps it).  manifest NULL or "" (a record
 * from before digests were kept): when all of ref's uses pinned the same
 * manifest, that one; else the pins stay until ref's last use ends. */
void images_release(struct images *im, const char *ref, const char *manifest);
/* images_release(im, ref, NULL). */
void images_unuse(struct images *im, const char *ref);
/* Count a use without unpacking (a sandbox recovered after a restart),
 * pinning the blobs of manifest: those of the record (of ref or any other
 * ref) with that manifest, else of the manifest blob itself.  manifest
 * NULL or "": the image ref names now. */
void images_hold(struct images *im, const char *ref, const char *manifest);
/* Refused (FAILED_PRECONDITION) while a sandbox uses ref or it is pinned.
 * An id removes every ref of that image (none if one is refused); nothing
 * held by that name or id: 0, as CRI's RemoveImage. */
int images_remove(struct images *im, const char *ref, struct cradle_err *err);
/* Records, sorted by ref; free with images_records_free. */
int images_list(struct images *im, struct image_record **out, size_t *n, struct cradle_err *err);
void images_records_free(struct image_record *v, size_t n);

#endif
