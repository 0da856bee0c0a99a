/* config.h - an image's config, as the spec builder needs it.
 *
 * The OCI image config document ({"config": {"Entrypoint", "Cmd", "Env",
 * "WorkingDir", "User", "Labels"}}) becomes a struct image_config
 * (sandbox/types.h); the image's /etc/passwd and /etc/group are read too,
 * for user names in run_as_username and in the image's User.  Every file
 * is bounded (IMAGE_FILE_MAX) and must be a regular file.
 */
#ifndef CRADLE_IMAGE_CONFIG_H
#define CRADLE_IMAGE_CONFIG_H

#include <stddef.h>

#include "proto/err.h"
#include "sandbox/types.h"

#define IMAGE_FILE_MAX (1u << 20)

/* Parse an OCI image config document; name names it in errors.  The user
 * databases are left NULL.  On failure out owns nothing. */
int image_config_parse(const char *text, size_t len, const char *name, struct image_config *out,
                       struct cradle_err *err);

/* Fill out->etc_passwd and out->etc_group from the top-most of dirs (top
 * first, as overlay's lowerdir lists them) that has each: a missing file
 * is looked for further down; a whiteout (0/0 character device) or a
 * non-directory on the way ends the search with the file absent; anything
 * else that is not a readable regular file of at most IMAGE_FILE_MAX
 * bytes is an error.  Each dir is the image's root while its path is
 * resolved (openat2 RESOLVE_IN_ROOT): a symlinked /etc or /etc/passwd,
 * absolute or climbing with "..", stays inside that layer and never
 * reaches a file of the host. */
int image_config_read_user_dbs(struct image_config *out, const char *const *dirs, size_t n_dirs,
                               struct cradle_err *err);

/* An unpacked rootfs directory with its config beside it as
 * "<rootfs>.json" (the layout `make` gives the pause image in build/). */
int image_load(const char *rootfs, struct image_config *out, struct cradle_err *err);

#endif
