/* fuzz_ini.c - cradled's configuration file (config_load, config_validate,
 * config_fprint: server/config.c).
 *
 * The input is written to a file of the target's own (config_load reads a
 * path) in $FUZZ_TMPDIR, /dev/shm or /tmp, removed at exit.  Whatever the
 * bytes: a refusal keeps the error contract; a file that loads and
 * validates prints (--print-config) as a file that loads and validates
 * again and prints the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "server/config.h"
#include "tests/fuzz/fuzz.h"

static char in_path[PATH_MAX], out_path[PATH_MAX];

static void
cleanup(void)
{
	if (in_path[0])
		unlink(in_path);
	if (out_path[0])
		unlink(out_path);
}

static void
temp_file(char *path, const char *tmp, const char *name)
{
	int fd;

	FUZZ_CHECK((size_t)snprintf(path, PATH_MAX, "%s/cradle-fuzz-%s.XXXXXX", tmp, name) <
	                   PATH_MAX,
	           "FUZZ_TMPDIR too long");
	fd = mkstemp(path);
	FUZZ_CHECK(fd >= 0, "mkstemp %s: %s", path, strerror(errno));
	close(fd);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("FUZZ_TMPDIR");

	(void)argc;
	(void)argv;
	if (tmp == NULL || *tmp == '\0')
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	atexit(cleanup);
	temp_file(in_path, tmp, "ini");
	temp_file(out_path, tmp, "ini-printed");
	return 0;
}

static void
put(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "we");

	FUZZ_CHECK(f != NULL, "%s: %s", path, strerror(errno));
	FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size, "write %s", path);
	FUZZ_CHECK(fclose(f) == 0, "close %s", path);
}

/* The configuration as --print-config shows it; malloc'd. */
static char *
printed(const struct daemon_config *cfg, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	FUZZ_CHECK(f != NULL, "open_memstream");
	config_fprint(f, cfg);
	FUZZ_CHECK(fclose(f) == 0, "memstream");
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct daemon_config cfg, again;
	struct cradle_err e = { 0 };
	char *p1, *p2;
	size_t n1, n2;

	put(in_path, data, size);
	config_defaults(&cfg);
	if (config_load(&cfg, in_path, true, &e) < 0) {
		fuzz_check_err(&e, "config file refused");
		config_fini(&cfg);
		return 0;
	}
	if (config_validate(&cfg, &e) < 0) {
		fuzz_check_err(&e, "config refused");
		config_fini(&cfg);
		return 0;
	}
	p1 = printed(&cfg, &n1);
	put(out_path, p1, n1);
	config_defaults(&again);
	FUZZ_CHECK(config_load(&again, out_path, true, &e) == 0,
	           "the printed configuration does not load: %s\n%s", e.msg, p1);
	FUZZ_CHECK(config_validate(&again, &e) == 0,
	           "the printed configuration does not validate: %s\n%s", e.msg, p1);
	p2 = printed(&again, &n2);
	FUZZ_CHECK(n1 == n2 && memcmp(p1, p2, n1) == 0,
	           "printing the printed configuration differs:\n%s\n---\n%s", p1, p2);
	free(p1);
	free(p2);
	config_fini(&again);
	config_fini(&cfg);
	return 0;
}
