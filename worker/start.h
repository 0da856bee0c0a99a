/* start.h - the start pipeline (docs/ARCHITECTURE.md, "The start pipeline").
 *
 * Steps run in order; each that creates something pushes its undo, and a
 * failure runs the undos in reverse, each to the end even when one of them
 * fails (logged), so nothing is left: no directory, mount, cgroup, netns,
 * process, SELinux reservation or record change.  Step names, as failures
 * and the test hook name them:
 *   runtime           the handler (untrusted-workload rules)
 *   image             the sandbox image present (pulled when not, one
 *                     pull for concurrent starts), its layers unpacked
 *                                                      undo: release its use
 *   sandbox-root-dir  <root>/sandboxes/<id>            undo: remove tree
 *   volatile-root-dir <state>/sandboxes/<id>           undo: remove tree
 *   rootfs            the mount point <state>/sandboxes/<id>/rootfs and the
 *                     overlay of skeleton + layers the child mounts there
 *   sandbox-files     hostname, hosts, resolv.conf in the volatile dir
 *                     (removed with it; docs/ARCHITECTURE.md says why)
 *   shm               tmpfs at <state>/shm/<id> (IPC POD)
 *                                                      undo: unmount
 *   selinux           process and mount labels, MCS level reserved
 *                                                      undo: release
 *   spec              the pure spec builder (sandbox/spec.c)
 *   seccomp           the profile compiled to BPF
 *   cgroup            its path first into <state>/sandboxes/<id>/cgroup
 *                     (START_INTENT_FILE: what recovery needs to undo a
 *                     start a crash cut short), then the sandbox cgroup in
 *                     every hierarchy                  undo: remove
 *   launch            clone3 + exec of the pause; with NRI (env->nri) the
 *                     task is only created: set up, waiting before its
 *                     exec (sandbox/launch.h, wait_go)
 *                                                      undo: SIGKILL + wait
 *   netns             pin <state>/netns/<id> (POD net) undo: unmount + unlink
 *   cni               CNI ADD                          undo: CNI DEL
 *   nri               NRI v1 create (no NRI: nothing)  undo: NRI delete (also
 *                                                      run when create failed)
 *   start             the created task execs pause (no NRI: nothing)
 *   record            phase RUNNING committed          undo: back to CREATED
 *   reaper            pidfd handed to the reaper (last; cannot be undone,
 *                     so nothing may fail after it)
 * Tests name a step to fail in env->fail_step (cradled built with
 * -DCRADLE_TEST_HOOKS takes it from $CRADLE_FAIL_STEP): it fails after it
 * ran (so its undo is exercised) when it has an undo, before it runs
 * otherwise; "crash:STEP" kills the daemon (SIGKILL) right after STEP ran.
 * A failed undo is logged as a warning and the rest still run.
 */
#ifndef CRADLE_WORKER_START_H
#define CRADLE_WORKER_START_H

#include "core/table.h"
#include "proto/err.h"
#include "sandbox/launch.h"
#include "sandbox/nri.h"
#include "worker/env.h"

/* In the volatile dir: the cgroups path of a start under way. */
#define START_INTENT_FILE "cgroup"

/* Call with sb->lock held and sb->rec.phase CREATED.  On success the phase
 * is RUNNING, sb->pidfd is owned by the reaper, and the record is stored.
 * ls is the calling thread's launch stack. */
int start_sandbox(const struct worker_env *env, struct launch_stack *ls, struct sandbox *sb,
                  struct cradle_err *err);

/* The NRI v1 request for sandbox id (state NRI_CREATE or NRI_DELETE; pid
 * 0: none) from its pod config, cgroups path, pinned netns (NULL: none)
 * and spec annotations; strings borrowed.  Labels go with create only,
 * as the reference's. */
void start_nri_request(struct nri_request *r, int state, const char *id, int pid,
                       const struct pod_config *pod, const char *cgroups_path,
                       const char *netns_path, const struct proto_kvs *annotations);

#endif
