/* config.h - cradled's configuration: defaults, INI file, command line.
 *
 * The file (default /etc/cradle/cradled.conf; an absent default file means
 * defaults) is INI, read with inih:
 *   [cradled]      root, state, workers, queue_depth, contexts
 *   [sandbox]      image, image_archive, shm_size, default_runtime,
 *                  restrict_oom_score_adj, enable_unprivileged_ports,
 *                  enable_unprivileged_icmp, cgroup_root, host_resolv_conf
 *   [selinux]      enable, category_range, contexts
 *   [cni]          conf_dir, bin_dir, max_conf_num, required, timeout
 *   [runtime.NAME] type, path, pod_annotations, vm, seccomp_default
 * Unknown sections or keys, a section or key given twice, and bad values
 * stop start-up with "FILE:LINE: message".  Command-line options override
 * the file.  docs/CONFIGURATION.md lists every key.
 *
 * Life cycle: config_defaults, config_load, (command-line overrides),
 * config_validate, then config_fini at exit.  The struct owns its runtime
 * array, so it must not be copied by value and kept past config_fini.
 */
#ifndef CRADLE_CONFIG_H
#define CRADLE_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "proto/err.h"
#include "sandbox/types.h"
#include "server/daemon.h"

#define CRADLE_DEFAULT_CONFIG "/etc/cradle/cradled.conf"
#define CRADLE_DEFAULT_IMAGE "cradle.local/pause:built-in"
#define CRADLE_DEFAULT_RUNTIME "runc"
#define CRADLE_DEFAULT_RUNTIME_TYPE "io.containerd.runc.v2"
#define CRADLE_DEFAULT_CGROUP_ROOT "/k8s.io"

/* Fill cfg (assumed fresh or finalised: it is overwritten, not freed) with
 * the defaults, the "runc" runtime included. */
void config_defaults(struct daemon_config *cfg);
/* explicit: the file was named on the command line (absent is an error).
 * A file with any [runtime.NAME] section replaces the default runtime set. */
int config_load(struct daemon_config *cfg, const char *path, bool explicit, struct cradle_err *err);
/* Check ranges and derive what depends on other keys: the default runtime
 * must be configured ("FILE:LINE: default runtime "x" is not configured",
 * with the line of default_runtime, or "FILE: ..." when the file did not
 * set it, or no prefix when no file was read). */
int config_validate(struct daemon_config *cfg, struct cradle_err *err);
/* The effective configuration as an INI file that config_load accepts. */
void config_fprint(FILE *f, const struct daemon_config *cfg);
void config_print(const struct daemon_config *cfg); /* to stdout */
/* Free what cfg owns; cfg is then zeroed.  Safe on a zeroed cfg. */
void config_fini(struct daemon_config *cfg);

/* The configured runtime handlers as the sandbox library sees them; valid
 * while cfg is. */
struct runtime_set config_runtimes(const struct daemon_config *cfg);

#endif
