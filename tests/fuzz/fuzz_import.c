/* fuzz_import.c - image import (oci_import): an OCI archive (a tar of an
 * image layout: oci-layout, index.json, blobs/sha256/) or a `docker save`
 * archive (manifest.json, the config, layer tars), such as `cradle import`
 * hands the daemon, read into a content store.
 *
 * An input is an archive in the forms of tests/fuzz/fuzz_tar.h, with
 * digests resolved ("@X": the sha256 of entry X's content, "#X": its
 * size), so index.json and manifests can name their blobs as a real
 * layout does; an "n" line gives the name asked for.  The store lives in
 * a base directory of the target's own ($FUZZ_TMPDIR, /dev/shm or /tmp),
 * emptied after each input and removed at exit.  Whatever the bytes:
 *  - a refusal keeps the error contract and leaves out empty;
 *  - an import accepted has a name, and its manifest, config and every
 *    layer are blobs in the store under valid digests;
 *  - no writer is left in the store's ingest directory, nothing is made
 *    beside the store, and no descriptor is left open.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "image/content.h"
#include "image/oci.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_fs.h"
#include "tests/fuzz/fuzz_tar.h"

#define BUILT_MAX (4u << 20)

static char base[PATH_MAX], archive_path[PATH_MAX + 16];
static int basefd = -1, blobsfd = -1, ingestfd = -1;
static int free_fd = -1;
static struct content *store;
static unsigned char *built;
static bool verbose; /* $FUZZ_VERBOSE: say how each input ends */

static void
cleanup(void)
{
	content_close(store);
	store = NULL;
	if (blobsfd >= 0)
		close(blobsfd);
	if (ingestfd >= 0)
		close(ingestfd);
	fuzz_remove_base(base, &basefd);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cradle_err e = { 0 };
	char root[PATH_MAX + 16];

	(void)argc;
	(void)argv;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	basefd = fuzz_make_base(base, "import");
	atexit(cleanup);
	snprintf(root, sizeof(root), "%s/store", base);
	snprintf(archive_path, sizeof(archive_path), "%s/image.tar", base);
	FUZZ_CHECK(content_open(root, &store, &e) == 0, "content store: %s", e.msg);
	blobsfd = openat(basefd, "store/content/blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ingestfd = openat(basefd, "store/content/ingest", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(blobsfd >= 0 && ingestfd >= 0, "store layout: %s", strerror(errno));
	built = malloc(BUILT_MAX);
	FUZZ_CHECK(built != NULL, "out of memory");
	free_fd = fuzz_free_fd();
	return 0;
}

static void
check_blob(const char *digest, const char *what)
{
	FUZZ_CHECK(digest_valid(digest), "%s digest \"%s\"", what, digest);
	FUZZ_CHECK(content_has(store, digest), "%s %s is not in the store", what, digest);
}

static void
check_imported(const struct oci_import *out)
{
	const struct oci_image *img = &out->image;

	FUZZ_CHECK(memchr(out->name, '\0', sizeof(out->name)) != NULL && out->name[0] != '\0',
	           "imported without a name");
	check_blob(img->manifest_digest, "manifest");
	check_blob(img->config_digest, "config");
	FUZZ_CHECK(img->n_layers == 0 || img->layers != NULL, "%zu layers, no array",
	           img->n_layers);
	for (size_t i = 0; i < img->n_layers; i++) {
		check_blob(img->layers[i].digest, "layer");
		FUZZ_CHECK(img->layers[i].size >= 0, "layer %zu size %lld", i,
		           (long long)img->layers[i].size);
	}
	FUZZ_CHECK(img->size >= 0, "size %lld", (long long)img->size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const base_holds[] = { "store", "image.tar", NULL };
	static const char *const nothing[] = { NULL };
	struct oci_import out;
	struct cradle_err e = { 0 };
	char name[NAME_MAX + 1];
	const void *bytes;
	size_t len;
	int rc, fd;

	bytes = fuzz_tar_input(data, size, true, built, BUILT_MAX, &len, name);
	fd = openat(basefd, "image.tar", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FUZZ_CHECK(fd >= 0, "image.tar: %s", strerror(errno));
	FUZZ_CHECK(len == 0 || write(fd, bytes, len) == (ssize_t)len, "write: %s", strerror(errno));
	close(fd);

	rc = oci_import(store, archive_path, name[0] ? name : NULL, &out, &e);
	if (verbose)
		fprintf(stderr, "import: %d: %s\n", rc, rc < 0 ? e.msg : out.name);
	if (rc < 0) {
		fuzz_check_err(&e, "import refused");
		FUZZ_CHECK(out.name[0] == '\0' && out.image.layers == NULL &&
		                   out.image.n_layers == 0,
		           "a refused import left a result");
	} else {
		FUZZ_CHECK(rc == 0, "oci_import returned %d", rc);
		check_imported(&out);
		oci_image_fini(&out.image);
	}

	fuzz_dir_holds_only(ingestfd, nothing, "the store's ingest directory");
	fuzz_dir_holds_only(basefd, base_holds, "the directory of the store");
	fuzz_empty_dir(blobsfd);
	fuzz_check_fds(&free_fd);
	return 0;
}
