/* mntns.c - cradle's own mount namespace and the sandbox template (see
 * mntns.h). */
#include "sandbox/mntns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/nsfs.h>

#include "util/log.h"

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

/* The host's device nodes a launch binds into the pod's /dev (plan.c
 * add_dev_nodes) and over masked files (/dev/null). */
static const char *const stage_nodes[] = { "/dev/null",   "/dev/zero",    "/dev/full",
	                                   "/dev/random", "/dev/urandom", "/dev/tty" };

/* The file systems a user namespace's pod mounts and the kernel wants to
 * see mounted already (below, stage()); at /<name>. */
static const char *const stage_fs[] = { "proc", "sysfs" };

static int
by_length(const void *a, const void *b)
{
	size_t la = strlen(*(const char *const *)a), lb = strlen(*(const char *const *)b);

	return la < lb ? -1 : la > lb;
}

/* stage() failed after its pivot: the namespace is neither the host's
 * copy nor staged. */
#define STAGE_PIVOTED (-2)

/* Make the calling process's mount namespace (the template, just made)
 * hold nothing but what a launch reaches by path: a small tmpfs at `at`
 * becomes its root, showing each of dirs (absolute; bound without their
 * submounts, shallowest first, so a dir below another lands on top of it)
 * and stage_nodes at their own paths, a proc and a sysfs (stage_fs), and
 * the rest of the host's tree is detached.  0; -1 with err on a failure
 * before the pivot, when the namespace still has the host's root (and
 * perhaps some of these mounts on `at`, where nothing looks);
 * STAGE_PIVOTED with err after it. */
static int
stage(const char *at, const char **dirs, size_t n, struct cradle_err *err)
{
	char dst[FS_PATH_MAX];
	int rc, fd;

	if (mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0)
		return cradle_err_errno(err, errno, "mount the staging tmpfs on \"%s\"", at);
	qsort(dirs, n, sizeof(*dirs), by_length);
	for (size_t i = 0; i < n; i++) {
		if (dirs[i][0] != '/')
			return cradle_err_set(err, CRADLE_INTERNAL, "\"%s\" is not absolute",
			                      dirs[i]);
		if (fs_path(dst, err, "%s%s", at, dirs[i]) < 0)
			return -1;
		if ((rc = fs_mkdir_p(dst, 0755)) < 0)
			return cradle_err_errno(err, -rc, "create \"%s\"", dst);
		if (mount(dirs[i], dst, NULL, MS_BIND, NULL) != 0)
			return cradle_err_errno(err, errno, "bind \"%s\" on \"%s\"", dirs[i], dst);
	}
	if (fs_path(dst, err, "%s/dev", at) < 0)
		return -1;
	if (mkdir(dst, 0755) != 0 && errno != EEXIST)
		return cradle_err_errno(err, errno, "create \"%s\"", dst);
	for (size_t i = 0; i < sizeof(stage_nodes) / sizeof(stage_nodes[0]); i++) {
		if (fs_path(dst, err, "%s%s", at, stage_nodes[i]) < 0)
			return -1;
		if ((fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0)
			return cradle_err_errno(err, errno, "create \"%s\"", dst);
		close(fd);
		if (mount(stage_nodes[i], dst, NULL, MS_BIND, NULL) != 0)
			return cradle_err_errno(err, errno, "bind \"%s\"", stage_nodes[i]);
	}
	/* A user namespace may mount proc and sysfs (its pod's own) only
	 * where an instance of each is already fully visible in the mount
	 * namespace (the kernel's mount_too_revealing): a fresh one each,
	 * with nothing on top. */
	for (size_t i = 0; i < sizeof(stage_fs) / sizeof(stage_fs[0]); i++) {
		if (fs_path(dst, err, "%s/%s", at, stage_fs[i]) < 0)
			return -1;
		if (mkdir(dst, 0555) != 0 && errno != EEXIST)
			return cradle_err_errno(err, errno, "create \"%s\"", dst);
		if (mount(stage_fs[i], dst, stage_fs[i], MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) !=
		    0)
			return cradle_err_errno(err, errno, "mount %s on \"%s\"", stage_fs[i], dst);
	}
	if (chdir(at) != 0 || syscall(SYS_pivot_root, ".", ".") != 0)
		return cradle_err_errno(err, errno, "pivot_root into \"%s\"", at);
	/* the host's tree is on top of ours now: take it away */
	if (umount2(".", MNT_DETACH) != 0 || chdir("/") != 0) {
		cradle_err_errno(err, errno, "detach the host's tree from the template");
		return STAGE_PIVOTED;
	}
	return 0;
}

/* What the template shows (struct stage_req): the directories, and where
 * the staging tmpfs goes; staged reports whether it went through. */
struct stage_req {
	const char *at;
	const char **dirs;
	size_t n;
	bool staged;
};

/* A new namespace copied from the caller's, made a slave of it (its
 * mounts flow in, none flow back), and the caller put back where it was.
 * With st, the new namespace is staged (stage()): a staging that fails
 * before its pivot is logged and leaves the plain copy (st->staged
 * false); one that fails after it fails the whole.  The descriptor of
 * the new one, or <0 with err. */
static int
new_slave(int home, const char *what, struct stage_req *st, struct cradle_err *err)
{
	int fd = -1, rc;

	if (unshare(CLONE_NEWNS) != 0)
		return cradle_err_errno(err, errno, "create the %s mount namespace", what);
	/* the descriptor before staging: a staged namespace has no /proc */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) {
		cradle_err_errno(err, errno, "make the %s mount namespace a slave", what);
	} else if ((fd = open_ns("/proc/self/ns/mnt")) < 0) {
		cradle_err_errno(err, errno, "open the %s mount namespace", what);
	} else if (st != NULL) {
		struct cradle_err e = { 0 };
		if ((rc = stage(st->at, st->dirs, st->n, &e)) == 0) {
			st->staged = true;
		} else if (rc == STAGE_PIVOTED) {
			*err = e;
			close(fd);
			fd = -1;
		} else {
			log_warn_drop(&e,
			              "%s mount namespace: not staged (sandboxes pivot_root "
			              "out of a copy of the host's mounts)",
			              what);
		}
	}
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

/* Pin the namespace fd refers to at pin: 0, or -errno. */
static int
pin_ns(int fd, const char *pin)
{
	char src[64];

	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	return mount(src, pin, NULL, MS_BIND, NULL) == 0 ? 0 : -errno;
}

/* A new slave namespace (new_slave) pinned at pin.  The kernel refuses
 * (EINVAL) to pin a mount namespace whose id is not above the caller's,
 * against loops.  Since 6.18 namespace ids come from per-CPU batches, so
 * a namespace made later can get a lower id than the host's when the host's
 * came from another CPU's batch (seen when cradled runs in a namespace
 * made at service start, as tests do).  Then a namespace is made on each
 * CPU in turn: the CPU whose batch gave the host its id (or that has
 * taken a newer batch since) hands out a higher one. */
static int
new_pinned_slave(int home, const char *pin, struct cradle_err *err)
{
	cpu_set_t was, one;
	int fd, rc;

	if ((fd = new_slave(home, "cradle", NULL, err)) < 0)
		return -1;
	if ((rc = pin_ns(fd, pin)) == -EINVAL && sched_getaffinity(0, sizeof(was), &was) == 0) {
		for (int cpu = 0; rc == -EINVAL && cpu < CPU_SETSIZE; cpu++) {
			if (!CPU_ISSET(cpu, &was))
				continue;
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			if (sched_setaffinity(0, sizeof(one), &one) != 0)
				continue;
			int nfd = new_slave(home, "cradle", NULL, err);
			if (nfd < 0)
				break;
			close(fd);
			fd = nfd;
			rc = pin_ns(fd, pin);
		}
		sched_setaffinity(0, sizeof(was), &was);
	}
	if (rc < 0) {
		cradle_err_errno(err, -rc, "pin the cradle mount namespace at \"%s\"", pin);
		close(fd);
		return -1;
	}
	return fd;
}

/* The directories of <state> holding what sandboxes get as bind sources
 * cloned without their submounts (launch_open_tree): the files under
 * sandboxes/<id>/ and the empty directory that masks paths.  For such a
 * clone the kernel looks at every mount below the mount that holds the
 * source (has_locked_children); on the state file system those are every
 * pod's shm and netns pin, so each start would pay for every live pod.
 * Each is a mount of its own in cradle's namespace, with nothing below it
 * (the pods' shm mounts are at <state>/shm/<id>, their pins at
 * <state>/netns/<id>).  A directory that is not there is left alone. */
static const char *const own_mount_dirs[] = { "sandboxes", "empty" };

/* The id of the mount fd is on, from /proc/self/fdinfo; -1 if unknown. */
static int
mount_id_of(int fd)
{
	char path[64], buf[512];
	const char *p;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (fs_read(path, buf, sizeof(buf)) < 0 || (p = strstr(buf, "mnt_id:")) == NULL)
		return -1;
	return atoi(p + strlen("mnt_id:"));
}

/* The mount points of the mounts on mount mnt below dir/, NULL-terminated
 * and malloc'd; NULL when the table cannot be read. */
static char **
mounts_below(int mnt, const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	size_t len = strlen(dir), n = 0, cap = 0;
	char **v = calloc(1, sizeof(*v)), *line = NULL;

	if (f == NULL || v == NULL)
		goto fail;
	while (getline(&line, &cap, f) > 0) {
		char mp[FS_PATH_MAX];
		int parent;
		/* fields: id parent major:minor root mount-point ... */
		if (sscanf(line, "%*d %d %*s %*s %4095s", &parent, mp) != 2 || parent != mnt)
			continue;
		fs_unescape_mountinfo(mp);
		if (strncmp(mp, dir, len) != 0 || mp[len] != '/')
			continue;
		char **nv = realloc(v, (n + 2) * sizeof(*v));
		if (nv == NULL)
			goto fail;
		v = nv;
		if ((v[n] = strdup(mp)) == NULL)
			goto fail;
		v[++n] = NULL;
	}
	free(line);
	fclose(f);
	return v;
fail:
	free(line);
	if (f != NULL)
		fclose(f);
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
	return NULL;
}

/* Move the mount at mp on the covered mount (under is a descriptor of dir
 * on it) to the same path on the mount now over dir. */
static void
carry_over(int under, const char *dir, const char *mp)
{
	int fd = openat(under, mp + strlen(dir) + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC), e = 0;

	if (fd < 0)
		e = errno;
	else if (!fs_is_mount_root(fd, ""))
		e = EINVAL;
	else if (move_mount(fd, "", AT_FDCWD, mp, MOVE_MOUNT_F_EMPTY_PATH) != 0)
		e = errno;
	if (e != 0)
		log_warn("cradle mount namespace: move \"%s\" onto the new mount of \"%s\": %s", mp,
		         dir, strerror(e));
	if (fd >= 0)
		close(fd);
}

/* <state>/<name> bound onto itself, once per namespace.  Whatever an
 * earlier version mounted below it (a pod's shm at sandboxes/<id>/shm)
 * is moved onto the new mount, so its path still leads to it. */
static int
own_mount(const char *state, const char *name, struct cradle_err *err)
{
	char path[FS_PATH_MAX], dir[PATH_MAX];
	char **below = NULL;
	struct stat st;
	int under = -1, rc = 0;

	if (fs_path(path, err, "%s/%s", state, name) < 0)
		return -1;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode) || fs_is_mount_root(AT_FDCWD, path))
		return 0;
	if (realpath(path, dir) == NULL ||
	    (under = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return cradle_err_errno(err, errno, "open \"%s\"", path);
	int mnt = mount_id_of(under);
	if (mnt < 0) {
		rc = cradle_err_set(err, CRADLE_INTERNAL, "no mount id for \"%s\" in fdinfo", dir);
		goto out;
	}
	if ((below = mounts_below(mnt, dir)) == NULL) {
		rc = cradle_err_errno(err, errno, "read the mounts below \"%s\"", dir);
		goto out;
	}
	if (mount(dir, dir, NULL, MS_BIND, NULL) != 0) {
		rc = cradle_err_errno(err, errno, "bind \"%s\" onto itself", dir);
		goto out;
	}
	for (size_t i = 0; below[i] != NULL; i++)
		carry_over(under, dir, below[i]);
out:
	for (size_t i = 0; below != NULL && below[i] != NULL; i++)
		free(below[i]);
	free(below);
	close(under);
	return rc;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int
mntns_enter(const char *state, const char *const *show, struct mntns *m, struct cradle_err *err)
{
	const char *dirs[MNTNS_SHOW_MAX + 1] = { state };
	struct stage_req st = { .dirs = dirs, .n = 1 };
	int fd;

	memset(m, 0, sizeof(*m));
	m->host_fd = m->daemon_fd = m->template_fd = -1;
	for (size_t i = 0; show != NULL && show[i] != NULL; i++) {
		if (st.n == sizeof(dirs) / sizeof(dirs[0]))
			return cradle_err_set(err, CRADLE_INTERNAL,
			                      "mntns_enter: more than %d directories to show",
			                      MNTNS_SHOW_MAX);
		dirs[st.n++] = show[i];
	}
	if (fs_path(m->dir, err, "%s/ns", state) < 0 || fs_path(m->pin, err, "%s/mnt", m->dir) < 0)
		return -1;
	if ((m->host_fd = open_ns("/proc/self/ns/mnt")) < 0)
		return cradle_err_errno(err, errno, "open the host mount namespace");
	st.at = m->dir;
	if (private_dir(m, err) < 0)
		goto fail;
	/* The template first, from the host: a copy of the daemon namespace
	 * would carry every pod's pins. */
	if ((m->template_fd = new_slave(m->host_fd, "sandbox template", &st, err)) < 0)
		goto fail;
	m->staged = st.staged;
	if ((m->daemon_fd = open_pin(m->pin)) >= 0) {
		m->entered = true;
	} else {
		if ((fd = open(m->pin, O_RDONLY | O_CREAT | O_CLOEXEC, 0400)) < 0) {
			cradle_err_errno(err, errno, "create \"%s\"", m->pin);
			goto fail;
		}
		close(fd);
		if ((m->daemon_fd = new_pinned_slave(m->host_fd, m->pin, err)) < 0)
			goto fail;
	}
	if (setns(m->daemon_fd, CLONE_NEWNS) != 0) {
		cradle_err_errno(err, errno, "enter the cradle mount namespace");
		goto fail;
	}
	/* only slower without them: not a reason to refuse to start */
	for (size_t i = 0; i < sizeof(own_mount_dirs) / sizeof(own_mount_dirs[0]); i++) {
		struct cradle_err e = { 0 };
		if (own_mount(state, own_mount_dirs[i], &e) < 0)
			log_warn_drop(&e, "cradle mount namespace: %s/%s stays on the state mount",
			              state, own_mount_dirs[i]);
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
