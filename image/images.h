/* images.h - the image service: records, content, snapshots, pulls.
 *
 * Ties the content store (content.h), image records (record.h), imports
 * (oci.h), pulls (pull.h) and layer unpacking (unpack.h) together:
 *  - images_ensure: present, or pulled; concurrent callers that need the
 *    same missing image share one pull (they wait on it);
 *  - images_use: the image ensured as above, its layers unpacked into snapshot
 *    directories <root>/snapshots/sha256/<hex> (once per layer, to a temp
 *    dir renamed into place), plus its config; the image is in use until
 *    images_unuse, and an image in use cannot be removed
 *    (FAILED_PRECONDITION);
 *  - images_remove: the record goes, then every blob and snapshot that no
 *    record references any more.
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
};

/* What a sandbox needs from its image. */
struct image_rootfs {
	char **layer_dirs; /* top first, as overlay's lowerdir wants them */
	size_t n_layers;
	struct image_config config; /* entrypoint, env, user, passwd/group, ... */
};
void image_rootfs_fini(struct image_rootfs *r);

int images_open(const struct images_cfg *cfg, struct images **out, struct cradle_err *err);
void images_close(struct images *im);

int images_get(struct images *im, const char *ref, struct image_record *out,
               struct cradle_err *err);
int images_ensure(struct images *im, const char *ref, struct image_record *out,
                  struct cradle_err *err);
/* progress may be NULL; it is called from the pulling thread. */
int images_pull(struct images *im, const char *ref,
                void (*progress)(void *arg, uint64_t done, int64_t total), void *arg,
                struct image_record *out, struct cradle_err *err);
/* Some sandbox uses the image (images_use without images_unuse). */
bool images_in_use(struct images *im, const char *ref);
int images_import(struct images *im, const char *path, const char *name, bool pinned,
                  struct image_record *out, struct cradle_err *err);
int images_use(struct images *im, const char *ref, struct image_rootfs *out,
               struct cradle_err *err);
void images_unuse(struct images *im, const char *ref);
/* Count a use without unpacking (a sandbox recovered after a restart). */
void images_hold(struct images *im, const char *ref);
int images_remove(struct images *im, const char *ref, struct cradle_err *err);
/* Records, sorted by ref; free with images_records_free. */
int images_list(struct images *im, struct image_record **out, size_t *n, struct cradle_err *err);
void images_records_free(struct image_record *v, size_t n);

#endif
