/* config.h - cradled's configuration: defaults, INI file, command line.
 *
 * The file (default /etc/cradle/cradled.conf; an absent default file means
 * defaults) and its drop-ins (<file>.d/NAME.conf) are INI, read by config.c:
 *   [cradled]      root, state, workers, queue_depth, contexts,
 *                  log_level, log_format
 *   [sandbox]      image, image_archive, shm_size, default_runtime,
 *                  restrict_oom_score_adj, enable_unprivileged_ports,
 *                  enable_unprivileged_icmp, cgroup_root, host_resolv_conf
 *   [selinux]      enable, category_range, contexts
 *   [cni]          conf_dir, bin_dir, max_conf_num, required, timeout
 *   [nri]          config_file, plugin_dir
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
#include "util/log.h"

#define CRADLE_DEFAULT_CONFIG "/etc/cradle/cradled.conf"
#define CRADLE_DEFAULT_IMAGE "cradle.local/pause:built-in"
#define CRADLE_DEFAULT_RUNTIME "runc"
#define CRADLE_DEFAULT_RUNTIME_TYPE "io.containerd.runc.v2"
#define CRADLE_DEFAULT_CGROUP_ROOT "/k8s.io"

/* Fill cfg (assumed fresh or finalised: it is overwritten, not freed) with
 * the defaults, the "runc" runtime included. */
void config_defaults(struct daemon_config *cfg);
/* explicit: the file was named on the command line (absent is an error).
 * Then the drop-ins: <path>.d/NAME.conf, regular files (links followed)
 * whose NAME does not start with '.', in byte order of NAME; a missing
 * directory has none; a key a later file sets replaces the value before
 * it (a list key's whole list).  Each file on its own follows the rules
 * (a section once, a key once in it); every error is "FILE:LINE: ...",
 * FILE the file it is in.  Any [runtime.NAME] section, in any of the
 * files, replaces the default runtime set; a later file's section of the
 * same name sets keys of that runtime. */
int config_load(struct daemon_config *cfg, const char *path, bool explicit, struct cradle_err *err);
/* Check ranges and derive what depends on other keys: the default runtime
 * must be configured ("FILE:LINE: default runtime "x" is not configured",
 * with the line of default_runtime, or "FILE: ..." when the file did not
 * set it, or no prefix when no file was read). */
int config_validate(struct daemon_config *cfg, struct cradle_err *err);
/* The effective configuration as an INI file that config_load accepts and
 * reads back as the same configuration: a value that would not read back
 * bare (docs/CONFIGURATION.md, "Quoting") is printed in double quotes. */
void config_fprint(FILE *f, const struct daemon_config *cfg);
void config_print(const struct daemon_config *cfg); /* to stdout */
/* Free what cfg owns; cfg is then zeroed.  Safe on a zeroed cfg. */
void config_fini(struct daemon_config *cfg);

/* [cradled] log_level: util/log.h's levels. */
#define CONFIG_LOG_LEVELS "debug, info, warn, error"
int config_log_level(const char *v, enum log_level *out); /* -1: not a level */
/* [cradled] log_format: auto is journal when stderr is the journal's
 * stream (server/journal.h), text otherwise. */
#define CONFIG_LOG_FORMATS "text, json, journal, auto"
enum config_log_fmt { CONFIG_LOG_TEXT, CONFIG_LOG_JSON, CONFIG_LOG_JOURNAL, CONFIG_LOG_AUTO };
int config_log_format(const char *v, enum config_log_fmt *out); /* -1: not a format */

/* One key whose value differs between two configurations (config_diff). */
struct config_change {
	const char *section;   /* "registry", "runtime.kata" */
	const char *key;       /* NULL: the [runtime.NAME] section itself */
	const char *old_value; /* as config_fprint prints them; for a section, */
	const char *new_value; /* "defined"/"removed" or "absent"/"added" */
	bool reloadable;       /* config_key_reloadable */
};
typedef void (*config_change_fn)(void *arg, const struct config_change *ch);
/* fn for every key whose printed value differs from a to b, in print
 * order, then runtimes removed and added; returns how many, or -1 when
 * out of memory (fn may have been called for some). */
int config_diff(const struct daemon_config *a, const struct daemon_config *b, config_change_fn fn,
                void *arg);
/* The keys SIGHUP applies to a running cradled: [cradled] log_level,
 * [registry] insecure, ca_file, timeout, config_path, auth_file.  Others
 * need a restart. */
bool config_key_reloadable(const char *section, const char *key);

/* The configured runtime handlers as the sandbox library sees them; valid
 * while cfg is. */
struct runtime_set config_runtimes(const struct daemon_config *cfg);

#endif
