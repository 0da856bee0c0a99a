/* sdscope.h - the systemd cgroup driver: a sandbox's pause in a transient
 * scope unit made through systemd's D-Bus API (libsystemd's sd-bus).
 *
 * DESIGN
 *
 * Where.  A handler with `[runtime.NAME] systemd_cgroup = true` (either
 * launcher) on a node whose cgroups systemd manages (PID 1 is systemd,
 * /run/systemd/system exists, the bus answers: runtime_check_host).  Its
 * pods' cgroup_parent must be a systemd slice ("kubepods-burstable.slice",
 * or a path ending in one: its last element is taken, as containerd's
 * getCgroupsPath); the spec's cgroups path is then runc's
 * "<slice>:cri-containerd:<id>" (sandbox/spec.c) and anything else is
 * refused (sdscope_check_path, FAILED_PRECONDITION):
 *   [runtime.NAME] systemd_cgroup: cgroup parent "/k8s.io" is not a systemd
 *   slice (NAME.slice)
 *
 * Naming.  "<slice>:<prefix>:<name>" is unit "<prefix>-<name>.scope" in
 * Slice=<slice> (an empty slice is "system.slice", as runc); a name that is
 * itself a ".slice" is refused (a pause needs a scope).  For a pod
 *   slice "kubepods-besteffort.slice", prefix "cri-containerd", id ID:
 *   unit "cri-containerd-ID.scope", cgroup
 *   /kubepods.slice/kubepods-besteffort.slice/cri-containerd-ID.scope
 * -- the same unit runc's systemd driver makes for launcher = oci, so both
 * launchers leave the same thing for an operator (systemctl status) and
 * for cleanup.
 *
 * The unit.  StartTransientUnit(unit, "fail", properties, no aux units):
 *   Description "cradle pod sandbox ID", Slice, Delegate=true,
 *   PIDs=[pause], DefaultDependencies=false, CPUAccounting,
 *   MemoryAccounting, TasksAccounting, IOAccounting (v2) or
 *   BlockIOAccounting (v1), CPUShares (v1 and hybrid) or CPUWeight (v2,
 *   converted as cgroup_shares_to_weight) from the spec's cpu shares,
 *   DevicePolicy "strict" and DeviceAllow from devices_default_rules
 *   (sandbox/devices.h) as runc translates them: a wildcard type is
 *   "char-*" / "block-*", a wildcard minor "char-<name of the major in
 *   /proc/devices>" (136 -> "char-pts"), a node "/dev/char/MAJ:MIN".
 * Then the job is waited for: JobRemoved with our job path, result "done";
 * anything else, or no answer in SDSCOPE_TIMEOUT_MS, fails with the unit
 * and systemd's result or D-Bus error named:
 *   systemd: start unit cri-containerd-ID.scope: job result "failed"
 * The caller wraps it (`failed to create sandbox cgroup: systemd: ...`).
 *
 * On a v1 or hybrid node systemd does not handle cpuset and freezer (nor a
 * controller it did not enable): once the unit started, the pause (still
 * waiting before its exec) joins every v1 hierarchy it is not in yet the
 * cgroupfs way at the systemd-expanded path, as runc's v1 systemd driver
 * joins them after the unit started (cgroup_join_rest, sandbox/cgroup.h).
 *
 * Removal.  sdscope_stop: KillUnit(unit, "all", SIGKILL) (what still runs
 * goes at once; a scope's stop would otherwise send SIGTERM and wait up to
 * its TimeoutStopSec), StopUnit(unit, "replace") and its job waited for,
 * ResetFailedUnit: nothing of the unit is left.  A unit systemd does not
 * know (NoSuchUnit) is fine: it is gone already.
 *
 * Intent.  A start that uses the driver writes the unit's name into
 * <state>/sandboxes/<id>/SDSCOPE_INTENT_FILE before it asks systemd for it
 * (worker/start.c); remove (worker/ops.c) and recovery (server/recover.c)
 * stop the unit that file names instead of removing systemd's cgroup
 * directories by hand.
 *
 * The bus.  One connection for the process, opened at the first use and
 * kept (a connect and its authentication per start would cost more than
 * the call), used under a mutex: an sd_bus is not thread-safe.  An
 * operation holds the mutex until its job ends: systemd runs jobs one at a
 * time anyway.  As root, systemd's private socket /run/systemd/private is
 * tried first (no broker; systemctl does the same), then the system bus
 * (sd_bus_open_system: $DBUS_SYSTEM_BUS_ADDRESS or
 * /run/dbus/system_bus_socket).  A connection that failed is closed and
 * the next operation opens a new one; one systemd closed since the last
 * use (daemon-reexec) is replaced and the call made once more.  Live pods cost no connection, no
 * descriptor and no memory here.
 */
#ifndef CRADLE_SANDBOX_SDSCOPE_H
#define CRADLE_SANDBOX_SDSCOPE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"
#include "sandbox/types.h"

/* The file in a sandbox's volatile dir naming its scope unit. */
#define SDSCOPE_INTENT_FILE "scope"
/* How long one job (start or stop) may take. */
#define SDSCOPE_TIMEOUT_MS 30000
#define SDSCOPE_NAME_MAX 256
#define SDSCOPE_PRIVATE_SOCKET "/run/systemd/private"

/* The slice and unit of a "slice:prefix:name" cgroups path.  0, or
 * INVALID_ARGUMENT naming the path. */
int sdscope_parse(const char *cgroups_path, char slice[SDSCOPE_NAME_MAX],
                  char unit[SDSCOPE_NAME_MAX], struct cradle_err *err);

/* For handler NAME with systemd_cgroup: the spec's cgroups path must be the
 * slice form (the pod's parent, parent_text, a slice).  0, or
 * FAILED_PRECONDITION "[runtime.NAME] systemd_cgroup: cgroup parent
 * \"P\" is not a systemd slice (NAME.slice)". */
int sdscope_check_path(const char *handler, const char *parent_text, const char *cgroups_path,
                       struct cradle_err *err);

/* One property of the transient unit, as sent. */
enum sdscope_type { SDP_STR, SDP_BOOL, SDP_U64, SDP_PIDS, SDP_DEVICES };
#define SDSCOPE_DEV_MAX 16
struct sdscope_dev {
	char path[48]; /* "/dev/char/1:3", "char-pts", "char-*" */
	char perms[4]; /* "rwm", "m" */
};
struct sdscope_prop {
	const char *name;
	enum sdscope_type type;
	const char *s;
	int b;
	uint64_t u;
};
struct sdscope_req {
	const char *id; /* for the description */
	char slice[SDSCOPE_NAME_MAX];
	char unit[SDSCOPE_NAME_MAX];
	pid_t pid;
	uint64_t cpu_shares; /* 0: not set */
	enum cgroup_layout layout;
	char description[96];
	struct sdscope_dev devs[SDSCOPE_DEV_MAX];
	size_t n_devs;
};
#define SDSCOPE_PROPS_MAX 16

/* Fill r for sandbox id in cgroups path cp (sdscope_parse), with the
 * device list from proc_devices (the text of /proc/devices; NULL: the
 * node's, read once per process).  0 or <0 with err. */
int sdscope_req_init(struct sdscope_req *r, const char *id, const char *cgroups_path, pid_t pid,
                     uint64_t cpu_shares, enum cgroup_layout layout, const char *proc_devices,
                     struct cradle_err *err);
/* The properties StartTransientUnit gets for r, in order (SDP_PIDS: r->pid,
 * SDP_DEVICES: r->devs).  Their number. */
size_t sdscope_props(const struct sdscope_req *r, struct sdscope_prop *p, size_t max);

/* Make the scope and wait for its job (see DESIGN). */
int sdscope_start(const struct sdscope_req *r, struct cradle_err *err);
/* Kill, stop and forget the unit (see DESIGN); unknown is fine. */
int sdscope_stop(const char *unit, struct cradle_err *err);
/* Whether systemd answers on the bus: 0, or FAILED_PRECONDITION naming
 * the sockets tried and why.  address NULL: the daemon's (see DESIGN);
 * else only that D-Bus address ("unix:path=..."). */
int sdscope_check_bus(const char *address, struct cradle_err *err);
/* Close the connection (tests, shutdown); the next use opens one. */
void sdscope_close(void);

#endif
