/* oci.h - OCI image index / manifest / config documents, and import.
 *
 * The shapes cradle reads (JSON, with json-c): an image index (or Docker
 * manifest list) picks the manifest for linux/<this arch>; a manifest names
 * the config blob and the layers in order; the config's "config" object
 * feeds the spec builder (sandbox/types.h struct image_config).
 */
#ifndef CRADLE_OCI_H
#define CRADLE_OCI_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"
#include "image/content.h"

struct oci_descriptor {
	char media_type[128];
	char digest[DIGEST_LEN + 1];
	int64_t size;
};

/* A resolved image: everything needed to record it and unpack it. */
struct oci_image {
	char manifest_digest[DIGEST_LEN + 1];
	char config_digest[DIGEST_LEN + 1];
	struct oci_descriptor *layers; /* bottom first */
	size_t n_layers;
	int64_t size; /* manifest + config + layers, bytes */
};
void oci_image_fini(struct oci_image *img);

/* The platform this node runs: "amd64", "arm64", ... (GOARCH names). */
const char *oci_arch(void);

/* Parse a manifest blob (OCI or Docker schema 2) into img (digests only). */
int oci_parse_manifest(const char *json, size_t len, struct oci_image *img, struct cradle_err *err);
/* Pick linux/<arch> from an index or manifest list; INVALID_ARGUMENT/
 * NOT_FOUND ("no manifest for linux/amd64 in index") when absent. */
int oci_pick_platform(const char *json, size_t len, struct oci_descriptor *out,
                      struct cradle_err *err);
/* Is this media type (or, when empty, this JSON) an index/manifest list? */
int oci_is_index(const char *media_type, const char *json, size_t len);

/* Import an OCI image layout directory, an OCI archive (tar) or a `docker
 * save` archive into the content store.  name: the reference to record
 * (NULL: the one the layout/archive annotates, "org.opencontainers.image.
 * ref.name" or docker's RepoTags; none -> INVALID_ARGUMENT).  Every blob is
 * verified against its digest while it is copied.  Truncated or malformed
 * archives are refused, naming the entry or document. */
struct oci_import {
	char name[512]; /* the reference imported */
	struct oci_image image;
};
int oci_import(struct content *c, const char *path, const char *name, struct oci_import *out,
               struct cradle_err *err);

#endif
