/* fuzz_unpack.c - the layer unpacker (unpack_layer_fd): a tar stream
 * (plain, gzip or zstd) from a registry or an image archive, written out
 * below a directory.
 *
 * An input is a layer in the forms of tests/fuzz/fuzz_tar.h: entry lines
 * the harness writes as a tar (first byte below 8), a gzip or zstd stream,
 * or a plain tar whose header checksums the harness mends.
 *
 * Each input is unpacked into a fresh empty directory d inside a private
 * base directory that holds d and a canary file, and then removed (with
 * *at() calls that never follow a link).  Whatever the bytes:
 *  - a refusal keeps the error contract;
 *  - nothing is written outside d: the base directory still holds d and
 *    the canary alone, the canary is unchanged and has no new link;
 *  - no descriptor is left open.
 * The base directory is made in $FUZZ_TMPDIR (`make fuzz` gives one on a
 * private nosuid,nodev tmpfs when it can), else /dev/shm or /tmp, and
 * removed at exit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/unpack.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_fs.h"
#include "tests/fuzz/fuzz_tar.h"

static char base[PATH_MAX];
static int basefd = -1;
static int blobfd = -1;
static int free_fd = -1; /* the lowest free descriptor between inputs */
static struct stat canary;
static bool verbose; /* $FUZZ_VERBOSE: say how each input ends */

#define BUILT_MAX (4u << 20) /* bytes of a layer the harness writes */

static unsigned char *built; /* BUILT_MAX bytes */

static void
cleanup(void)
{
	fuzz_remove_base(base, &basefd);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rlimit rl;
	int fd;

	(void)argc;
	(void)argv;
	basefd = fuzz_make_base(base, "unpack");
	atexit(cleanup);
	fd = openat(basefd, "canary", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	FUZZ_CHECK(fd >= 0 && write(fd, "canary\n", 7) == 7, "canary: %s", strerror(errno));
	close(fd);
	FUZZ_CHECK(fstatat(basefd, "canary", &canary, AT_SYMLINK_NOFOLLOW) == 0, "stat canary");
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	built = malloc(BUILT_MAX);
	FUZZ_CHECK(built != NULL, "out of memory");
	blobfd = memfd_create("layer", MFD_CLOEXEC);
	FUZZ_CHECK(blobfd >= 0, "memfd_create: %s", strerror(errno));
	/* removing a deep tree holds a descriptor per level */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8192 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	free_fd = fuzz_free_fd();
	return 0;
}

/* The base directory holds d and the canary, nothing else. */
static void
check_base(void)
{
	static const char *const allowed[] = { "d", "canary", NULL };
	struct stat st;
	int n = fuzz_dir_holds_only(basefd, allowed, "the directory of the destination");

	FUZZ_CHECK(n == 2, "%d entries beside the destination", n);
	FUZZ_CHECK(fstatat(basefd, "canary", &st, AT_SYMLINK_NOFOLLOW) == 0, "canary gone");
	FUZZ_CHECK(st.st_ino == canary.st_ino && st.st_nlink == 1 && st.st_size == canary.st_size &&
	                   st.st_mode == canary.st_mode && st.st_uid == canary.st_uid &&
	                   st.st_mtim.tv_sec == canary.st_mtim.tv_sec &&
	                   st.st_mtim.tv_nsec == canary.st_mtim.tv_nsec &&
	                   st.st_ctim.tv_sec == canary.st_ctim.tv_sec &&
	                   st.st_ctim.tv_nsec == canary.st_ctim.tv_nsec,
	           "the canary beside the destination changed");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unpack_stats stats;
	struct cradle_err e = { 0 };
	char dest[PATH_MAX + 8];
	const void *layer;
	size_t len;
	int rc, dfd;

	layer = fuzz_tar_input(data, size, false, built, BUILT_MAX, &len, NULL);
	FUZZ_CHECK(ftruncate(blobfd, 0) == 0, "ftruncate: %s", strerror(errno));
	FUZZ_CHECK(len == 0 || pwrite(blobfd, layer, len, 0) == (ssize_t)len, "pwrite: %s",
	           strerror(errno));
	FUZZ_CHECK(lseek(blobfd, 0, SEEK_SET) == 0, "lseek: %s", strerror(errno));
	FUZZ_CHECK(mkdirat(basefd, "d", 0755) == 0, "mkdir d: %s", strerror(errno));
	snprintf(dest, sizeof(dest), "%s/d", base);

	rc = unpack_layer_fd(blobfd, "fuzz", dest, &stats, &e);
	if (verbose)
		fprintf(stderr, "unpack: %d, %llu entries: %s\n", rc,
		        (unsigned long long)stats.entries, rc < 0 ? e.msg : "ok");
	if (rc < 0)
		fuzz_check_err(&e, "layer refused");
	else
		FUZZ_CHECK(rc == 0, "unpack returned %d", rc);

	check_base();
	dfd = openat(basefd, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	FUZZ_CHECK(dfd >= 0, "the destination is no longer a directory: %s", strerror(errno));
	fuzz_empty_dir(dfd);
	close(dfd);
	FUZZ_CHECK(unlinkat(basefd, "d", AT_REMOVEDIR) == 0, "rmdir d: %s", strerror(errno));

	fuzz_check_fds(&free_fd);
	return 0;
}
