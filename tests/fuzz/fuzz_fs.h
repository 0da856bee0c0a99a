/* fuzz_fs.h - directories of the fuzz targets that write files
 * (fuzz_unpack, fuzz_import): emptied between inputs without following
 * a link, and checked for what they hold.
 */
#ifndef CRADLE_TESTS_FUZZ_FS_H
#define CRADLE_TESTS_FUZZ_FS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"

/* Remove everything below the open directory dfd, never following a link.
 * Names are read in batches with the directory closed again before going
 * down, so only one descriptor per level is held. */
static void
fuzz_empty_dir(int dfd)
{
	for (;;) {
		char *names[64];
		size_t k = 0;
		struct dirent *de;
		DIR *d;
		int fd = dup(dfd);

		FUZZ_CHECK(fd >= 0, "dup: %s", strerror(errno));
		d = fdopendir(fd);
		FUZZ_CHECK(d != NULL, "fdopendir: %s", strerror(errno));
		rewinddir(d);
		while (k < 64 && (de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			names[k] = strdup(de->d_name);
			FUZZ_CHECK(names[k] != NULL, "out of memory");
			k++;
		}
		closedir(d);
		if (k == 0)
			return;
		for (size_t i = 0; i < k; i++) {
			struct stat st;

			FUZZ_CHECK(fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0,
			           "stat \"%s\": %s", names[i], strerror(errno));
			if (S_ISDIR(st.st_mode)) {
				int sub = openat(dfd, names[i],
				                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

				FUZZ_CHECK(sub >= 0, "open \"%s\": %s", names[i], strerror(errno));
				fuzz_empty_dir(sub);
				close(sub);
			}
			FUZZ_CHECK(unlinkat(dfd, names[i],
			                    S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) == 0,
			           "remove \"%s\": %s", names[i], strerror(errno));
			free(names[i]);
		}
	}
}

/* The names in the open directory dfd, . and .. left out: how many, and
 * whether each is one of the NULL-terminated list allowed (when not, the
 * target aborts naming it). */
static int
fuzz_dir_holds_only(int dfd, const char *const *allowed, const char *what)
{
	struct dirent *de;
	int fd = dup(dfd), n = 0;
	DIR *d;

	FUZZ_CHECK(fd >= 0, "dup: %s", strerror(errno));
	d = fdopendir(fd);
	FUZZ_CHECK(d != NULL, "fdopendir: %s", strerror(errno));
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		size_t i;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		for (i = 0; allowed[i] != NULL && strcmp(de->d_name, allowed[i]) != 0; i++)
			;
		FUZZ_CHECK(allowed[i] != NULL, "\"%s\" in %s", de->d_name, what);
		n++;
	}
	closedir(d);
	return n;
}

/* The lowest free descriptor, taken as the mark between inputs. */
static int
fuzz_free_fd(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* No descriptor is open at or above *mark (what fuzz_free_fd said before
 * the input); otherwise abort naming the first one.  Pipes are let pass
 * and *mark moves past them: nothing under test makes one, but a pipe
 * owned by the fuzzing runtime was seen twice in long fuzz_import runs
 * (never again on the same inputs alone); FUZZ_VERBOSE=1 names who holds
 * one when it shows up. */
static void
fuzz_check_fds(int *mark)
{
	int fd = fuzz_free_fd();

	if (fd < *mark) /* such a pipe was closed again */
		*mark = fd;
	for (int i = *mark; i < fd; i++) {
		char link[64], target[256] = "?";
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", i);
		n = readlink(link, target, sizeof(target) - 1);
		if (n >= 0)
			target[n] = '\0';
		FUZZ_CHECK(strncmp(target, "pipe:", 5) == 0,
		           "a descriptor was left open: %d -> %s (next free %d)", i, target, fd);
		if (getenv("FUZZ_VERBOSE") != NULL) {
			char cmd[512];

			snprintf(
				cmd, sizeof(cmd),
				"for p in /proc/[0-9]*; do ls -l $p/fd 2>/dev/null | grep -q '%s' && "
				"echo \"$p: $(tr '\\0' ' ' < $p/cmdline)\"; done >&2",
				target);
			fprintf(stderr, "fuzz: descriptor %d is %s, held by:\n", i, target);
			(void)!system(cmd);
		}
	}
	*mark = fd;
}

/* A fresh scratch dir <$FUZZ_TMPDIR or /dev/shm or /tmp>/cradle-fuzz-
 * <name>.XXXXXX into base (PATH_MAX bytes); its descriptor. */
static int
fuzz_make_base(char *base, const char *name)
{
	const char *tmp = getenv("FUZZ_TMPDIR");
	int fd;

	if (tmp == NULL || *tmp == '\0')
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	FUZZ_CHECK((size_t)snprintf(base, PATH_MAX, "%s/cradle-fuzz-%s.XXXXXX", tmp, name) <
	                   PATH_MAX,
	           "FUZZ_TMPDIR too long");
	FUZZ_CHECK(mkdtemp(base) != NULL, "mkdtemp %s: %s", base, strerror(errno));
	fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0, "open %s: %s", base, strerror(errno));
	return fd;
}

/* Empty and remove what fuzz_make_base made; *fd becomes -1. */
static void
fuzz_remove_base(const char *base, int *fd)
{
	if (*fd < 0)
		return;
	fuzz_empty_dir(*fd);
	close(*fd);
	*fd = -1;
	rmdir(base);
}

#endif
