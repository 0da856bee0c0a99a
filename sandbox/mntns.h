/* mntns.h - cradle's own mount namespace and the template sandboxes are
 * cloned from.
 *
 * Why.  Every sandbox needs two things that others reach by path: its
 * /dev/shm tmpfs and its network namespace pin.  Made in the namespace
 * cradled was started in, they are two lines per pod in the host's mount
 * table, and every new mount namespace on the node (each sandbox's
 * included) copies that table: starts, and everything else on the node
 * that mounts, slow down as pods pile up.  So:
 *
 *   host       the namespace cradled was started in.  Holds two mounts of
 *              cradle's, however many pods run: <state>/ns bound onto
 *              itself and made private (a pin below a shared mount would
 *              propagate, which the kernel refuses for namespace files),
 *              and the pin <state>/ns/mnt of the daemon namespace.
 *   daemon     cradle's own namespace, a slave of the host's (host mounts
 *              show up in it, its own never leave it).  cradled runs in
 *              it; the per-sandbox pins live here, so the CNI plugins and
 *              runtimes cradled runs see them at their paths, and anyone
 *              else with `nsenter --mount=<state>/ns/mnt`.  The pin keeps
 *              it, and every pod's pins, across a daemon restart: the next
 *              cradled enters it again.
 *              In it <state>/sandboxes and <state>/empty are bound onto
 *              themselves (once; a restart finds them): files there are
 *              bind sources cloned without their submounts, and such a
 *              clone makes the kernel look at every mount below the mount
 *              holding the source.  On mounts of their own nothing is
 *              below them, however many pods' shm (<state>/shm/<id>) and
 *              pins (<state>/netns/<id>) the state file system carries.
 *   template   a copy of the host's namespace, made at start-up and held
 *              by a descriptor: launch_start clones each sandbox's mount
 *              namespace from it (struct launch_plan.mntns_fd), so a clone
 *              never copies the daemon's pins.  It is staged: its root is
 *              a small tmpfs (on <state>/ns, in it alone) that shows only
 *              what a launch reaches by path, each at its own path:
 *              <state> and the directories mntns_enter is given (cradled:
 *              <root>, where the image layers are), bound without their
 *              submounts, and the host's /dev/null, zero, full, random,
 *              urandom and tty; the host's tree is detached from it.  So
 *              a launch needs no pivot_root, which visits every task on
 *              the node (chroot_fs_refs) and grew with the pods: it moves
 *              the pod's rootfs over that small root and chroots into it
 *              (launch_plan.root_move).  What stays below the pod's root
 *              is the staging tree, which the pause cannot reach (path
 *              walks from its root never leave the rootfs mount, and it
 *              has no CAP_SYS_ADMIN to unmount it) and /proc/PID/mountinfo
 *              does not list (it shows the mounts below a task's root).
 *              Where staging fails (logged), the template is the plain
 *              copy and launches pivot_root as before.
 *
 * mntns_enter must run while the process has a single thread (setns into
 * a mount namespace refuses a process whose threads share their
 * filesystem context).  mntns_leave may run later from any thread.
 */
#ifndef CRADLE_MNTNS_H
#define CRADLE_MNTNS_H

#include <stdbool.h>

#include "proto/err.h"
#include "util/fs.h"

/* Directories mntns_enter may be given besides <state>. */
#define MNTNS_SHOW_MAX 4

struct mntns {
	int host_fd;           /* the namespace cradled was started in */
	int daemon_fd;         /* cradle's own; the per-sandbox pins live here */
	int template_fd;       /* sandboxes are cloned from it */
	bool entered;          /* the daemon namespace existed (a previous run) */
	bool staged;           /* the template is staged (launch_plan.root_move) */
	char dir[FS_PATH_MAX]; /* <state>/ns, a private mount in the host */
	char pin[FS_PATH_MAX]; /* <state>/ns/mnt, the daemon namespace */
};

/* Move the calling (single-threaded) process into cradle's namespace for
 * state directory state, making and pinning it when no earlier run did,
 * and make the template, staged to show state and show (NULL-terminated
 * absolute paths, at most MNTNS_SHOW_MAX; NULL for none): every path a
 * launch from it uses must be below one of them.  In cradle's namespace, <state>/sandboxes and
 * <state>/empty (when they exist) become mounts of their own if they are
 * not yet; what an earlier version mounted below them is moved onto the
 * new mount (a failure there is logged, not returned).  On failure
 * nothing is left mounted and the process is back in the host namespace.
 * 0 or <0 with err. */
int mntns_enter(const char *state, const char *const *show, struct mntns *m,
                struct cradle_err *err);

/* Close the descriptors.  With unpin (no sandbox is left), also remove the
 * pin and the private mount from the host, so the next run starts a fresh
 * namespace; the caller moves back into the host namespace for that.
 * 0 or <0 with err; zero-safe. */
int mntns_leave(struct mntns *m, bool unpin, struct cradle_err *err);

/* Put the calling thread into the mount namespace nsfd: the thread gets
 * its own filesystem context first (unshare(CLONE_FS)), so threads may
 * call it.  *back, when not NULL, receives a descriptor of the namespace
 * it was in.  0 or -errno. */
int mntns_switch(int nsfd, int *back);

#endif
