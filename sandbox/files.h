/* files.h - the files a sandbox gets in its volatile directory, as
 * containerd's setupSandboxFiles writes them:
 *
 *   hostname     config.hostname + "\n", else the host's name
 *   hosts        a copy of the host's /etc/hosts
 *   resolv.conf  per dns_config: present -> search/nameserver/options
 *                lines (present but empty -> empty file); absent -> a copy
 *                of the host's /etc/resolv.conf (an empty file when the
 *                host has none)
 *
 * Error messages are the reference's ("failed to write hostname to ...").
 */
#ifndef CRADLE_SANDBOX_FILES_H
#define CRADLE_SANDBOX_FILES_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/err.h"
#include "proto/proto.h"

/* Write hostname, hosts and resolv.conf into dir. */
int files_setup_sandbox(const char *dir, const struct pod_config *cfg, struct cradle_err *err);

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
 * Returns malloc'd text (possibly ""), NULL on OOM. */
char *files_resolv_conf(const struct pod_config *cfg);

#endif
