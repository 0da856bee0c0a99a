/* unpack.h - unpack one image layer into a snapshot directory.
 *
 * Layers are tar archives, gzip-compressed or not (zstd when libarchive has
 * it), read with libarchive.  Entries keep modes, owners, xattrs, hard
 * links, symlinks and device nodes.  OCI whiteouts become overlay
 * whiteouts: ".wh.NAME" -> a 0/0 character device NAME; ".wh..wh..opq" ->
 * the directory gets xattr trusted.overlay.opaque="y".
 *
 * Hostile archives are refused with an error naming the entry: absolute
 * paths, "..", hard links or symlinks that lead out of the layer, entries
 * written through a symlink.  Nothing outside dest is ever written: every
 * path is resolved with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)
 * below dest (or libarchive's ARCHIVE_EXTRACT_SECURE_* flags plus checks).
 * On failure the caller removes dest (unpack_layer leaves it partial).
 */
#ifndef CRADLE_UNPACK_H
#define CRADLE_UNPACK_H

#include <stdint.h>

#include "proto/err.h"

struct unpack_stats {
	uint64_t entries;
	uint64_t bytes;
};

/* What one layer may unpack to; 0 = no limit.  A layer past one is
 * refused (RESOURCE_EXHAUSTED, naming the layer and the limit) as soon as
 * it is seen, before the data past it is written:
 *  - max_bytes: the sizes of its regular files, summed (a sparse file
 *    counts at its full size), checked at each file's header;
 *  - max_entries: tar entries;
 *  - max_expansion: unpacked / compressed bytes, where unpacked is the
 *    larger of the file sizes and the decompressed tar stream read so
 *    far, and compressed the size of the layer file (of what was read of
 *    it, when the input is not a regular file). */
struct unpack_limits {
	uint64_t max_bytes;
	uint64_t max_entries;
	uint64_t max_expansion;
};

/* dest must exist and be empty. */
int unpack_layer(const char *blob_path, const char *dest, struct unpack_stats *stats,
                 struct cradle_err *err);
/* The same within limits (NULL: none); name names the layer in errors
 * (NULL: blob_path). */
int unpack_layer_limited(const char *blob_path, const char *name, const char *dest,
                         const struct unpack_limits *limits, struct unpack_stats *stats,
                         struct cradle_err *err);
/* The same from an open file descriptor (read from its current offset). */
int unpack_layer_fd(int fd, const char *name, const char *dest, struct unpack_stats *stats,
                    struct cradle_err *err);

#endif
