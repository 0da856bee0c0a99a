/* plan.h - turn a sandbox spec into a launch plan.
 *
 * The spec says what the sandbox is (mounts with OCI-style options,
 * masked and read-only paths, sysctls, ids, capabilities, ...); the launch
 * plan is what the clone3 child executes with raw system calls.  This
 * module does the translation in the parent, where allocating is allowed:
 * option strings become mount flags and data, destinations become paths
 * relative to the rootfs, sysctl keys become /proc/sys paths, device nodes
 * become bind mounts of the host's nodes on a /dev tmpfs mounted nodev (so
 * a node made there, by a pause keeping CAP_MKNOD, opens nothing: a
 * difference from runc, docs/DIFFERENCES.md), and the executable is found
 * in the rootfs.
 *
 * struct launch_prep owns every string and array the plan points to; it
 * must outlive launch_start and is released with plan_release.
 */
#ifndef CRADLE_PLAN_H
#define CRADLE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"
#include "sandbox/launch.h"
#include "sandbox/spec.h"

struct launch_prep {
	struct launch_op *ops;
	size_t n_ops, cap_ops;
	char **strings; /* every string made here, freed at release */
	size_t n_strings, cap_strings;
	char **argv;
	char **envp;
	uint32_t *groups;
	char uid_map[64], gid_map[64];
	char oom[16];
	char exec_path[4096];
	int fds[16]; /* the detached bind mount trees the child attaches */
	size_t n_fds;
};

/* Fill plan (already launch_plan_init'ed) from spec for the rootfs.
 * The caller adds what the spec does not hold: cgroup descriptors, the
 * seccomp program, the exec label (only where SELinux is enabled). */
int plan_prepare(struct launch_prep *prep, const struct sandbox_spec *spec, const char *rootfs,
                 struct launch_plan *plan, struct cradle_err *err);
/* The same for a rootfs the child assembles from layers: the executable
 * is looked up in dirs (top first), and rootfs is the mount point.  With
 * the SELinux mount label applied as runc applies it: `context="<label>"`
 * appended to the data of every file system the plan mounts except proc,
 * sysfs and cgroup (tmpfs /dev, devpts, mqueue, any other tmpfs), and set
 * as the data of the masked paths' LOP_MASK ops (the data of the read-only
 * tmpfs a masked directory gets when the plan has no mask_dir).  Binds get
 * none: a bind keeps its source's label.  mount_label NULL or "": no
 * label.  The caller passes the spec's mount label only where SELinux is
 * enabled on the node (node->selinux_apply); on a kernel without it
 * context= fails the mount.  A label that is not a plain context (see
 * plan_check_mount_label) is refused before anything is opened. */
int plan_prepare_in(struct launch_prep *prep, const struct sandbox_spec *spec,
                    const char *const *dirs, size_t n_dirs, const char *rootfs,
                    const char *mount_label, struct launch_plan *plan, struct cradle_err *err);
void plan_release(struct launch_prep *prep);

/* The longest mount label taken, and the mount data limit (the kernel
 * copies one page of it). */
#define PLAN_MOUNT_LABEL_MAX 1024
#define PLAN_MOUNT_DATA_MAX 4096

/* 0 when label (NULL and "" are fine) can go into a mount's data as
 * context="<label>": at most PLAN_MOUNT_LABEL_MAX characters of
 * [A-Za-z0-9_.,:-] with at least two ':' (user:role:type[:level]); else
 * INVALID_ARGUMENT naming the label and the cause.  No quote, backslash,
 * control character or space: nothing that closes the quotes and adds
 * options. */
int plan_check_mount_label(const char *label, struct cradle_err *err);

/* label.FormatMountLabel(data, label): "<data>,context=\"<label>\"", or
 * "context=\"<label>\"" without data, or a copy of data (NULL for NULL)
 * without a label; malloc'd into *out.  Refuses what
 * plan_check_mount_label refuses, and a result of PLAN_MOUNT_DATA_MAX
 * bytes or more.  Exposed for unit tests. */
int plan_mount_label_data(const char *data, const char *label, char **out, struct cradle_err *err);

/* Split OCI mount options into flags and the rest (comma-joined, malloc'd
 * into *data, NULL when none).  Exposed for unit tests. */
int plan_mount_options(const struct proto_strs *options, unsigned long *flags, char **data,
                       bool *bind, bool *readonly);

/* RLIMIT_NOFILE (soft and hard) of the pause task: containerd's default
 * spec's. */
#define PLAN_NOFILE 1024

#endif
