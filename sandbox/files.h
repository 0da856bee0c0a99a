/* files.h - the files a sandbox gets in its volatile directory, as
 * containerd's setupSandboxFiles writes them:
 *
 *   hostname     config.hostname + "\n", else the host's name
 *   hosts        a copy of the host's /etc/hosts
 *   resolv.conf  per dns_config: its search, nameserver and options
 *                lines; when that is nothing (no dns_config, or one with
 *                no servers, searches or options) a copy of the host's
 *                resolv.conf, which must exist (every containerd version
 *                does so: `if resolvContent == "" { CopyFile(...) }`)
 *
 * Error messages are the reference's ("failed to write hostname to ...").
 */
#ifndef CRADLE_SANDBOX_FILES_H
#define CRADLE_SANDBOX_FILES_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/err.h"
#include "proto/proto.h"

/* The host file a sandbox's resolv.conf copies when the pod's DNS config
 * gives no content. */
#define FILES_HOST_RESOLV_CONF "/etc/resolv.conf"

/* Write hostname, hosts and resolv.conf into dir; resolv.conf copies
 * host_resolv_conf (NULL: FILES_HOST_RESOLV_CONF) when the DNS config gives
 * no content.  Errors, as the reference's: failed to get hostname /
 * failed to write hostname to "<p>" / failed to generate sandbox hosts
 * file "<p>" / failed to write resolv content to "<p>" / failed to copy
 * host's resolv.conf to "<p>" (FAILED_PRECONDITION when the host file is
 * missing: the node lacks it, the request is fine; else the errno's code).
 * 0 or <0 with err. */
int files_setup_sandbox(const char *dir, const struct pod_config *cfg, const char *host_resolv_conf,
                        struct cradle_err *err);

/* The sandbox's /dev/shm, as setupSandboxFiles makes it: with IPC POD a
 * tmpfs of size bytes (mode 1777, noexec, nosuid, nodev) on dir, made
 * here (0700; its parent 0711 when missing), so the pod's other
 * containers can share it, and *mounted set; with IPC NODE nothing, once
 * the host's /dev/shm is known to be there.  cradled's dir is
 * <state>/shm/<id>, beside the sandbox's volatile directory and not in
 * it: the files there are bind sources, cloned without their submounts,
 * and the kernel looks at every mount below the one holding a source for
 * each such clone (sandbox/mntns.h).  On failure dir is not left behind.
 * 0 or <0 with err. */
int files_setup_shm(const char *dir, const struct pod_config *cfg, uint64_t size, bool *mounted,
                    struct cradle_err *err);

/* Undo files_setup_shm: unmount dir (lazily) and remove it.  An absent
 * dir, or one with nothing mounted, is fine.  0 or -errno. */
int files_remove_shm(const char *dir);

/* The mount-point layer laid over every image: dir (made with its
 * parents) gets the directories (proc, dev, sys, etc) and empty files
 * (etc/resolv.conf, etc/hostname, etc/hosts) a sandbox mounts onto, which
 * an image need not have.  Existing ones are kept.  0 or <0 with err. */
int files_make_skeleton(const char *dir, struct cradle_err *err);

/* A new sandbox id: 32 random bytes in lower-case hex. 0 or <0 with err. */
int files_new_id(char id[CRADLE_ID_LEN + 1], struct cradle_err *err);

/* resolv.conf content for a present dns_config (exposed for unit tests).
 * Returns malloc'd text ("" when it has no servers, searches or options:
 * the host's file is copied then), NULL on OOM. */
char *files_resolv_conf(const struct pod_config *cfg);

#endif
