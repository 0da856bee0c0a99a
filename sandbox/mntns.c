/* mntns.c - cradle's own mount namespace and the sandbox template (see
 * mntns.h). */
#include "sandbox/mntns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/nsfs.h>

static int
open_ns(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC);
}

int
mntns_switch(int nsfd, int *back)
{
	int old = -1;

	if (unshare(CLONE_FS) != 0)
		return -errno;
	if (back != NULL && (old = open_ns("/proc/thread-self/ns/mnt")) < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNS) != 0) {
		int e = errno;
		if (old >= 0)
			close(old);
		return -e;
	}
	if (back != NULL)
		*back = old;
	return 0;
}

/* A descriptor of the mount namespace pinned at path, or -1 when path is
 * not such a pin (absent, a plain file, another kind of namespace). */
static int
open_pin(const char *path)
{
	int fd = open_ns(path);

	if (fd < 0)
		return -1;
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* <state>/ns as a private mount of the host's, so a pin below it does not
 * propagate. */
static int
private_dir(struct mntns *m, struct cradle_err *err)
{
	if (mkdir(m->dir, 0700) != 0 && errno != EEXIST)
		return cradle_err_errno(err, errno, "create \"%s\"", m->dir);
	if (!fs_is_mount_root(AT_FDCWD, m->dir) && mount(m->dir, m->dir, NULL, MS_BIND, NULL) != 0)
		return cradle_err_errno(err, errno, "bind \"%s\" onto itself", m->dir);
	if (mount(NULL, m->dir, NULL, MS_PRIVATE, NULL) != 0)
		return cradle_err_errno(err, errno, "make \"%s\" a private mount", m->dir);
	return 0;
}

/* A new namespace copied from the caller's, made a slave of it (its
 * mounts flow in, none flow back), and the caller put back where it was.
 * The descriptor of the new one, or <0 with err. */
static int
new_slave(int home, const char *what, struct cradle_err *err)
{
	int fd = -1;

	if (unshare(CLONE_NEWNS) != 0)
		return cradle_err_errno(err, errno, "create the %s mount namespace", what);
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0)
		cradle_err_errno(err, errno, "make the %s mount namespace a slave", what);
	else if ((fd = open_ns("/proc/self/ns/mnt")) < 0)
		cradle_err_errno(err, errno, "open the %s mount namespace", what);
	if (setns(home, CLONE_NEWNS) != 0) {
		/* cannot happen with the descriptor held and CAP_SYS_ADMIN;
		 * the process would be stranded in a half-made namespace */
		cradle_err_errno(err, errno, "return to the host mount namespace");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd < 0 ? -1 : fd;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int
mntns_enter(const char *state, struct mntns *m, struct cradle_err *err)
{
	char src[64];
	int fd;

	memset(m, 0, sizeof(*m));
	m->host_fd = m->daemon_fd = m->template_fd = -1;
	if (fs_path(m->dir, err, "%s/ns", state) < 0 || fs_path(m->pin, err, "%s/mnt", m->dir) < 0)
		return -1;
	if ((m->host_fd = open_ns("/proc/self/ns/mnt")) < 0)
		return cradle_err_errno(err, errno, "open the host mount namespace");
	if (private_dir(m, err) < 0)
		goto fail;
	/* The template first, from the host: a copy of the daemon namespace
	 * would carry every pod's pins. */
	if ((m->template_fd = new_slave(m->host_fd, "sandbox template", err)) < 0)
		goto fail;
	if ((m->daemon_fd = open_pin(m->pin)) >= 0) {
		m->entered = true;
	} else {
		if ((fd = open(m->pin, O_RDONLY | O_CREAT | O_CLOEXEC, 0400)) < 0) {
			cradle_err_errno(err, errno, "create \"%s\"", m->pin);
			goto fail;
		}
		close(fd);
		if ((m->daemon_fd = new_slave(m->host_fd, "cradle", err)) < 0)
			goto fail;
		snprintf(src, sizeof(src), "/proc/self/fd/%d", m->daemon_fd);
		if (mount(src, m->pin, NULL, MS_BIND, NULL) != 0) {
			cradle_err_errno(err, errno, "pin the cradle mount namespace at \"%s\"",
			                 m->pin);
			goto fail;
		}
	}
	if (setns(m->daemon_fd, CLONE_NEWNS) != 0) {
		cradle_err_errno(err, errno, "enter the cradle mount namespace");
		goto fail;
	}
	return 0;
fail:
	if (!m->entered && m->daemon_fd >= 0)
		umount2(m->pin, MNT_DETACH);
	close_fd(&m->daemon_fd);
	close_fd(&m->template_fd);
	/* <state>/ns stays a (harmless, empty) private mount until a clean
	 * exit with no sandboxes left removes it */
	close_fd(&m->host_fd);
	return -1;
}

int
mntns_leave(struct mntns *m, bool unpin, struct cradle_err *err)
{
	int rc = 0;

	if (m == NULL || m->host_fd < 0)
		return 0;
	if (unpin) {
		int e = -mntns_switch(m->host_fd, NULL);
		if (e != 0)
			rc = cradle_err_errno(err, e, "return to the host mount namespace");
		else if (umount2(m->pin, MNT_DETACH) != 0 && errno != EINVAL)
			rc = cradle_err_errno(err, errno, "unpin \"%s\"", m->pin);
		else if (unlink(m->pin) != 0 && errno != ENOENT)
			rc = cradle_err_errno(err, errno, "remove \"%s\"", m->pin);
		else if (umount2(m->dir, MNT_DETACH) != 0 && errno != EINVAL)
			rc = cradle_err_errno(err, errno, "unmount \"%s\"", m->dir);
		else if (rmdir(m->dir) != 0 && errno != ENOENT)
			rc = cradle_err_errno(err, errno, "remove \"%s\"", m->dir);
	}
	close_fd(&m->daemon_fd);
	close_fd(&m->template_fd);
	close_fd(&m->host_fd);
	return rc;
}
