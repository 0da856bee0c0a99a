/* netns.c - pin a network namespace on a file with a bind mount. */
#include "sandbox/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

int
netns_pin(pid_t pid, const char *path, struct cradle_err *err)
{
	char src[64];
	int fd;

	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return cradle_err_errno(err, errno,
		                        "failed to create network namespace file \"%s\"", path);
	close(fd);
	/* The pid cannot be recycled here: it is our unreaped child. */
	snprintf(src, sizeof(src), "/proc/%d/ns/net", (int)pid);
	if (mount(src, path, NULL, MS_BIND, NULL) != 0) {
		int e = errno;
		unlink(path);
		return cradle_err_errno(err, e, "failed to pin network namespace at \"%s\"", path);
	}
	return 0;
}

int
netns_unpin(const char *path)
{
	if (umount2(path, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
		return -errno;
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}
