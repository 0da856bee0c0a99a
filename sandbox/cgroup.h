/* cgroup.h - the pause task's cgroup on cgroup v1, v2 and hybrid nodes
 * (containerd's getCgroupsPath, CPU shares 2, device rule "deny all").
 *
 * DESIGN
 *
 * Detection.  cgroup_detect reads /proc/self/mountinfo once at start-up.
 * Every "cgroup" mount is a v1 hierarchy; its super options name its
 * controllers ("rw,cpu,cpuacct" is one merged hierarchy, "name=systemd" a
 * named one); a hierarchy mounted twice (same device) counts once, and the
 * mount whose root is "/" is preferred.  The first "cgroup2" mount (root
 * "/" preferred) is the v2 hierarchy.  The layout is
 *   CGROUP_V1      v1 controller hierarchies, no cgroup2;
 *   CGROUP_V2      cgroup2, and none of the v1 controllers cradle joins
 *                  (below) on v1 (a stray v1 mount such as name=systemd
 *                  for old containers, or net_cls for a CNI, is ignored);
 *   CGROUP_HYBRID  both: cradle's controllers on v1, the cgroup2 hierarchy
 *                  (usually /sys/fs/cgroup/unified) for membership only.
 * Neither is FAILED_PRECONDITION.  struct cgroup_sys is never written after
 * detection, so any number of threads may use it.  A mount point is taken
 * as the root of its hierarchy: with a mount root other than "/" (a
 * container without a cgroup namespace), cgroups paths nest below it, as
 * runc's cgroupfs driver does.
 *
 * Paths.  A cgroups path of the spec is either "/a/b/<id>" (used as-is
 * below every hierarchy's mount point) or the systemd form
 * "<slice>:<prefix>:<name>", which is mapped the way systemd itself would
 * place the unit, WITHOUT talking to systemd (no D-Bus, no transient unit):
 *   "kubepods-burstable.slice:cri-containerd:ID"
 *     -> "/kubepods.slice/kubepods-burstable.slice/cri-containerd-ID.scope"
 * (slice "a-b-c.slice" expands to "/a.slice/a-b.slice/a-b-c.slice", "-.slice"
 * is the root, an empty slice is "system.slice" as in runc; a name ending in
 * ".slice" is used as-is instead of "<prefix>-<name>.scope").  Made this
 * way (cgroupfs), systemd does not know these cgroups.  A handler with
 * systemd_cgroup = true uses the systemd driver instead (sandbox/sdscope.h):
 * systemd makes the unit "<prefix>-<name>.scope" in that slice and its
 * cgroups (runc with launcher = oci, cradle's sdscope with the native one),
 * and cgroup_create is not called for it; on v1 and hybrid nodes only the
 * hierarchies systemd did not put the task in (cpuset and freezer, which
 * it leaves alone there) are joined the cgroupfs way (cgroup_join_rest) at
 * the same path.
 * Refused (INVALID_ARGUMENT, the message names the path): empty, relative,
 * "/", empty components ("//", trailing "/"), "." or ".." components,
 * malformed slice forms.
 *
 * Creation.  cgroup_create makes the directory chain (mkdir -p, 0755) in
 *   v1:     every mounted hierarchy holding one of cpu, cpuacct, cpuset,
 *           memory, pids, devices, freezer, blkio, plus name=systemd (as
 *           runc's cgroupfs driver joins it; keeps systemd-cgls readable).
 *           Other v1 hierarchies (hugetlb, net_cls, perf_event, ...) are
 *           not joined: the task stays in the daemon's cgroup there.
 *           cpuset: every level whose cpuset.cpus / cpuset.mems is empty
 *           gets its parent's (the kernel refuses tasks otherwise).
 *           cpu: cpu.shares = cpu_shares.  devices: "a" is written to the
 *           leaf's devices.deny (populateDefaultUnixSpec: deny all), then
 *           each of devices_default_rules to devices.allow (runc's
 *           AllowedDevices, sandbox/devices.h).
 *   hybrid: the v1 hierarchies above, and the same path in the cgroup2
 *           hierarchy (membership only: no controller is enabled there).
 *   v2:     in each ancestor from the root to the leaf's parent, those of
 *           cpu, memory and pids that its cgroup.controllers offers and its
 *           cgroup.subtree_control lacks are enabled; failures (EBUSY: the
 *           ancestor has processes, ENOENT/EINVAL/EPERM: not delegated) are
 *           ignored silently, as then the leaf just lacks the controller.
 *           cpu.weight = 1 + ((shares - 2) * 9999) / 262142, as runc and
 *           crun convert (shares 2 -> weight 1), written only when the leaf
 *           has cpu.weight.
 *   devices on v2 (pure v2, or a hybrid node without a v1 devices
 *           hierarchy): the same allow list as the v1 one
 *           (devices_default_rules) as an eBPF device program, loaded once
 *           by detection and attached to each v2 leaf before a task is in
 *           it (sandbox/devices.h); it goes with the leaf.  Detection
 *           fails when the kernel refuses the program.
 * A cpu_shares of 0 means "not set".  Control files are written with
 * O_WRONLY|O_TRUNC (v1 hierarchies mounted "noprefix" use "shares", "cpus").
 * Existing directories are reused (two sandboxes of one pod share their
 * parents); cgroup_create records the directories it made itself, and a
 * failure part-way removes exactly those before returning.
 *
 * Shared hierarchies.  In a v1 hierarchy of the memory controller alone,
 * or of the cpuset controller alone (the usual v1 and hybrid mounts), no
 * leaf is made: the pause joins the leaf's parent (the pod's cgroup a
 * kubelet names as cgroup_parent, or cgroup_root).  cradle sets nothing
 * there for the pause (no memory limit: the pod's resources only feed
 * annotations, as the reference's sandbox spec; the cpuset is a copy of
 * the parent's), its pages are charged to the pod's cgroup either way,
 * and both are the kernel's dearest per-sandbox cgroups on a dense node
 * (docs/PERFORMANCE.md):
 *   memory  every new memory cgroup gets room for every shrinker id the
 *           node ever had (about 780 kB of unreclaimable slab per sandbox
 *           on a node that once held thousands of superblocks), and its
 *           mkdir slows as they pile up (1.4 ms with 5,000 sandboxes);
 *   cpuset  writing a leaf's cpuset.cpus/mems, and its removal, rebuild
 *           the scheduler domains over every cpuset of the node: O(cpusets)
 *           per start and per removal, for everyone on the node.
 * A merged hierarchy ("memory,hugetlb") keeps a leaf, as do cgroup v2
 * nodes (no task may sit in a parent whose subtree_control hands out
 * controllers).  Removal and kill look only at the leaf's path, never at
 * the parent: its other tasks belong to other sandboxes.  A parent with no
 * leaf in it can be removed by the start that made it (its rollback, or
 * its removal) while another start is joining: cgroup_create makes it
 * again when it is gone before the open of its cgroup.procs; gone after
 * that, the pause's join fails and that start is rolled back.
 *
 * Joining.  The pause child may only make raw system calls, so every
 * descriptor is opened by cgroup_create:
 *   - cgroup_v2_dirfd: O_PATH|O_DIRECTORY|O_CLOEXEC of the v2 leaf (pure v2
 *     and hybrid), for clone3's CLONE_INTO_CGROUP (clone_args.cgroup): the
 *     child is born in the cgroup;
 *   - cgroup_procs_fds: O_WRONLY|O_CLOEXEC of each v1 leaf's cgroup.procs;
 *     the child writes "0" (itself) into each with raw write(2) before
 *     exec;
 *   - cgroup_v2_procs_fd: the v2 leaf's cgroup.procs, for a launcher that
 *     cannot use CLONE_INTO_CGROUP (clone() fallback, kernels < 5.7): write
 *     "0" into it like the v1 ones.
 * cgroup_close_fds closes them once the task is launched; nothing after
 * the launch needs them (thousands of sandboxes must not cost 11 fds each).
 *
 * Removal.  cgroup_destroy rmdirs the recorded directories, deepest first,
 * in every hierarchy.  A leaf that is still busy (EBUSY: a task is alive,
 * or just exiting) is retried 10 times, 10 ms apart, across all
 * hierarchies at once; an ancestor that is busy holds another sandbox's
 * cgroup and is forgotten, not an error (it then stays, like containerd's
 * "/k8s.io").  On success cg is freed; on failure (FAILED_PRECONDITION for
 * a busy leaf) cg stays valid, keeps what is left, and the caller either
 * calls cgroup_destroy again later or cgroup_release to forget it.
 * cgroup_remove_path removes just the leaf by path in every hierarchy (for
 * Remove after a daemon restart, when no struct cgroup exists).
 *
 * Threads: one struct cgroup is used by one thread at a time; different
 * ones, and the shared struct cgroup_sys, need no locking.
 */
#ifndef CRADLE_CGROUP_H
#define CRADLE_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"
#include "sandbox/types.h" /* enum cgroup_layout */

/* The most cgroup.procs descriptors cgroup_procs_fds can return: one per
 * joined v1 hierarchy (8 controllers + name=systemd at most). */
#define CGROUP_PROCS_FDS_MAX 16

struct cgroup_sys;
struct cgroup;

/* Start-up: detect the node's hierarchies from /proc/self/mountinfo. */
int cgroup_detect(struct cgroup_sys **out, struct cradle_err *err);
/* The same from a given mountinfo file (tests). */
int cgroup_detect_at(const char *mountinfo_path, struct cgroup_sys **out, struct cradle_err *err);
enum cgroup_layout cgroup_layout_of(const struct cgroup_sys *s);
/* One log line, e.g.
 *   "hybrid: v1 cpu,cpuacct,memory,...,name=systemd + v2 at /sys/fs/cgroup/unified"
 *   "v1: cpu,cpuacct,cpuset,memory,..."      "v2 at /sys/fs/cgroup" */
const char *cgroup_describe(const struct cgroup_sys *s);
/* Mount point of the v1 hierarchy holding controller ("cpu", "cpuacct",
 * "name=systemd", ...), or NULL; the v2 mount point or NULL. */
const char *cgroup_v1_mount(const struct cgroup_sys *s, const char *controller);
const char *cgroup_v2_mount(const struct cgroup_sys *s);
/* The loaded eBPF device program every v2 leaf gets (owned by s), or -1
 * when devices are controlled by a v1 hierarchy (or not at all: a v1 node
 * without the devices controller). */
int cgroup_devices_prog(const struct cgroup_sys *s);
void cgroup_sys_free(struct cgroup_sys *s); /* NULL-safe */

/* The hierarchy-relative directory of a cgroups path (validates; resolves
 * the systemd slice form).  0, or INVALID_ARGUMENT naming the path, or
 * INTERNAL when buf is too small. */
int cgroup_resolve_path(const char *cgroups_path, char *buf, size_t len, struct cradle_err *err);
/* cpu.shares -> cpu.weight as runc/crun (shares clamped to [2, 262144]);
 * 0 stays 0 ("not set"). */
uint64_t cgroup_shares_to_weight(uint64_t shares);

/* Create (or reuse) the sandbox cgroup in every hierarchy, apply cpu_shares
 * and deny all devices, open the descriptors the child needs.  On failure
 * nothing it created is left. */
int cgroup_create(const struct cgroup_sys *s, const char *cgroups_path, uint64_t cpu_shares,
                  struct cgroup **out, struct cradle_err *err);
/* The systemd driver on a v1 or hybrid node (sandbox/sdscope.h), once
 * systemd put pid (a created task, not exec'd yet) in its scope: the same
 * as cgroup_create in each v1 hierarchy (but name=systemd alone) where pid
 * is not at the path yet -- systemd leaves cpuset and freezer alone on v1,
 * and a controller it did not enable -- and pid moved there, as runc's v1
 * systemd driver joins every hierarchy after the unit started (a memory
 * hierarchy gets the scope's leaf, where systemd puts the task wherever it
 * manages memory; the cpuset one stays shared, see below).  Nothing on
 * pure v2.  The directories made are cg's (cgroup_destroy after the task
 * is gone); the caller kills the task when this fails, and destroys *out
 * then if it is set (the task may have been moved into some of them). */
int cgroup_join_rest(const struct cgroup_sys *s, const char *cgroups_path, uint64_t cpu_shares,
                     pid_t pid, struct cgroup **out, struct cradle_err *err);
/* The resolved hierarchy-relative path, e.g. "/k8s.io/<id>". */
const char *cgroup_path(const struct cgroup *cg);
/* O_PATH fd of the v2 leaf for CLONE_INTO_CGROUP; -1 when none (pure v1,
 * or after cgroup_close_fds).  Owned by cg. */
int cgroup_v2_dirfd(const struct cgroup *cg);
/* O_WRONLY fd of the v2 leaf's cgroup.procs (fallback join); -1 when none. */
int cgroup_v2_procs_fd(const struct cgroup *cg);
/* Copies up to max v1 cgroup.procs fds (owned by cg) into fds; returns how
 * many there are (0 on pure v2; > max means fds was too small). */
int cgroup_procs_fds(const struct cgroup *cg, int *fds, size_t max);
/* Close every descriptor above (the task has been launched). */
void cgroup_close_fds(struct cgroup *cg);
/* Remove what cgroup_create made and free cg; NULL-safe.  On error cg is
 * NOT freed (see DESIGN): call it again later, or cgroup_release. */
int cgroup_destroy(struct cgroup *cg, struct cradle_err *err);
/* Free cg, leaving its directories (daemon shutdown with live sandboxes,
 * or giving up on a busy cgroup).  NULL-safe. */
void cgroup_release(struct cgroup *cg);

/* rmdir the leaf of cgroups_path in every hierarchy cgroup_create uses;
 * missing is fine, busy is retried as in cgroup_destroy, then an error. */
/* Kill every task in the cgroup at cgroups_path (any hierarchy) and wait
 * up to timeout_ms for each to exit: for what a start cut short by a
 * crash left, which no record knows (a pid read from cgroup.procs is
 * signalled through a pidfd, and only while still listed after the pidfd
 * was opened, so a recycled pid is never hit).  The number killed, or <0
 * with err (UNAVAILABLE: one did not exit in time). */
int cgroup_kill_path(const struct cgroup_sys *s, const char *cgroups_path, int timeout_ms,
                     struct cradle_err *err);
int cgroup_remove_path(const struct cgroup_sys *s, const char *cgroups_path,
                       struct cradle_err *err);

/* The cgroup of pid in the hierarchy holding controller (a line of
 * /proc/PID/cgroup: "cpu" matches "4:cpu,cpuacct:/x"; "name=systemd"
 * works), or the v2 line ("0::/x") when controller is NULL or "".
 * 0, -ENOENT (no such line), -ERANGE (buf too small) or -errno. */
int cgroup_of_pid(pid_t pid, const char *controller_or_empty_for_v2, char *buf, size_t len);

#endif
