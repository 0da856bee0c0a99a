/* floor.h - the same-plan floor: a sandbox made in this process by the
 * sandbox layer's own calls, in the order worker/start.c makes them, with
 * no daemon in between.
 *
 * What cradled's p50 and starts/s are divided by.  A floor sandbox is a
 * real sandbox of the node: cradled's own mount namespace and the
 * template each sandbox's is cloned from (mntns_enter, for the floor's
 * state dir), the node's facts from node_detect (cgroup layout, seccomp,
 * SELinux), the pause image imported from the same OCI
 * archive into a store of the floor's own (image/images.c, layers
 * unpacked once) and its read-only overlay, the sandbox files
 * (files_setup_sandbox), the shm tmpfs, the labels
 * (selinux_labels_alloc), the spec of the same pod config (spec_build:
 * namespaces, mounts, masks, sysctls, ids, capabilities), the seccomp
 * program the spec names (seccomp_prog_runtime_default for RuntimeDefault),
 * the cgroup (cgroup_create in the node's layout), the plan
 * (plan_prepare_in; masked paths bound from one empty directory) and the
 * launch (launch_start), then the netns pin
 * (netns_pin).  What it leaves out is the daemon: the protocol, the
 * queue, the table, the store records, the image service per start
 * (images_use runs once, at floor_open), the reaper.
 *
 * Teardown is the daemon's stop + remove: SIGKILL through the pidfd and
 * waitid (the reaper's job in cradled), the shm unmounted and the netns
 * unpinned, both directories removed, the cgroup removed by path
 * (cgroup_remove_path, as sandbox.remove does), the labels released.
 *
 * Where the floor's dirs live: <root>/sandboxes/<id> in a new directory
 * below cfg->root_parent (a disk, like cradled's --root) and
 * <state>/sandboxes/<id>, <state>/netns/<id> in a new directory below
 * cfg->state_parent (a tmpfs, like cradled's --state on /run).  Both are
 * removed by floor_close, as is the cgroup parent cfg->cgroup_root.
 *
 * floor_open moves the whole process into the floor's mount namespace
 * (mntns_enter), so it must run before the process starts any thread;
 * floor_close brings the calling thread back to the host's and removes
 * the namespace's pin.
 */
#ifndef CRADLE_BENCH_FLOOR_H
#define CRADLE_BENCH_FLOOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"
#include "proto/proto.h"
#include "sandbox/launch.h"
#include "util/fs.h"

struct floor_cfg {
	const char *root_parent;   /* e.g. "/tmp" */
	const char *state_parent;  /* e.g. a tmpfs */
	const char *image_archive; /* the pause image as an OCI archive */
	const char *cgroup_root;   /* the floor's cgroup parent, e.g. "/cradle-bench-floor" */
	uint64_t shm_size;         /* bytes, cradled's default 64 MiB */
};

/* The timed steps of floor_start, named as worker/start.c names them. */
enum floor_step {
	FLOOR_DIRS,    /* sandbox-root-dir, volatile-root-dir, rootfs */
	FLOOR_FILES,   /* sandbox-files */
	FLOOR_SHM,     /* shm */
	FLOOR_SELINUX, /* selinux */
	FLOOR_SPEC,    /* spec */
	FLOOR_SECCOMP, /* seccomp */
	FLOOR_CGROUP,  /* cgroup */
	FLOOR_LAUNCH,  /* launch: plan_prepare_in + launch_start */
	FLOOR_NETNS,   /* netns */
	FLOOR_STEPS
};
extern const char *const floor_step_names[FLOOR_STEPS];

/* One floor sandbox: what its teardown needs. */
struct floor_sb {
	bool live; /* something of it exists */
	char id[CRADLE_ID_LEN + 1];
	char root_dir[FS_PATH_MAX];
	char state_dir[FS_PATH_MAX];
	char shm_dir[FS_PATH_MAX];
	char netns_path[FS_PATH_MAX];
	bool root_made, state_made, shm_mounted;
	char *process_label, *mount_label;
	char *cgroups_path; /* the spec's; the cgroup exists when set */
	pid_t pid;
	int pidfd; /* -1 when none */
};

struct floor;

int floor_open(const struct floor_cfg *cfg, struct floor **out, struct cradle_err *err);
/* One line: cgroup layout, image layers, seccomp, where the dirs are. */
const char *floor_describe(const struct floor *f);
/* Start a sandbox of pod in sb (zeroed by the caller), on the calling
 * thread's launch stack; step_ms[] gets each step's time.  On failure
 * whatever was made is removed again (as the pipeline's undo stack does). */
int floor_start(struct floor *f, struct launch_stack *ls, const struct pod_config *pod,
                struct floor_sb *sb, double step_ms[FLOOR_STEPS], struct cradle_err *err);
/* Kill, wait, unmount, unpin, remove (every step runs even when one
 * fails; the first error is returned).  Zero-safe and idempotent. */
int floor_stop(struct floor *f, struct floor_sb *sb, struct cradle_err *err);
/* Remove the floor's directories, image store and cgroup parent; NULL-safe. */
void floor_close(struct floor *f);

#endif
