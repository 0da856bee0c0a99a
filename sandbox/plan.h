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
 * is looked up in dirs (top first), and rootfs is the mount point. */
int plan_prepare_in(struct launch_prep *prep, const struct sandbox_spec *spec,
                    const char *const *dirs, size_t n_dirs, const char *rootfs,
                    struct launch_plan *plan, struct cradle_err *err);
void plan_release(struct launch_prep *prep);

/* Split OCI mount options into flags and the rest (comma-joined, malloc'd
 * into *data, NULL when none).  Exposed for unit tests. */
int plan_mount_options(const struct proto_strs *options, unsigned long *flags, char **data,
                       bool *bind, bool *readonly);

/* RLIMIT_NOFILE (soft and hard) of the pause task: containerd's default
 * spec's. */
#define PLAN_NOFILE 1024

#endif
