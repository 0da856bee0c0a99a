/* image.h - the sandbox image's config, as the spec builder needs it.
 *
 * Until images come from a content store, the pause image is a read-only
 * rootfs directory that `make` builds, with its OCI image config beside it
 * as "<rootfs>.json" ({"config": {"Entrypoint", "Cmd", "Env", "WorkingDir",
 * "User", "Labels"}}).  The image's /etc/passwd and /etc/group are read too,
 * for user names in run_as_username and in the image's User.  Every file is
 * bounded (1 MiB) and must be a regular file.
 */
#ifndef CRADLE_IMAGE_H
#define CRADLE_IMAGE_H

#include "../proto/err.h"
#include "spec.h"

int image_load(const char *rootfs, struct image_config *out, struct cradle_err *err);

/* Parse an OCI image config document ({"config": {...}}); path names it in
 * errors.  The user databases are left NULL. */
int image_config_parse(const char *text, size_t len, const char *path, struct image_config *out,
                       struct cradle_err *err);
/* Read a whole regular file of at most 1 MiB; 0, -ENOENT, or -errno. */
int image_read_small(const char *path, char **out);

#endif
