/* config.h - cradled's configuration: defaults, INI file, command line.
 *
 * The file (default /etc/cradle/cradled.conf; an absent default file means
 * defaults) is INI, read with inih:
 *   [cradled] root, state, workers, queue_depth, contexts
 *   [sandbox] rootfs, shm_size
 * Unknown sections or keys and bad values stop start-up with
 * "FILE:LINE: message".  Command-line options override the file.
 * docs/CONFIGURATION.md lists every key.
 */
#ifndef CRADLE_CONFIG_H
#define CRADLE_CONFIG_H

#include <stdbool.h>

#include "../proto/err.h"
#include "daemon.h"

#define CRADLE_DEFAULT_CONFIG "/etc/cradle/cradled.conf"

void config_defaults(struct daemon_config *cfg);
/* explicit: the file was named on the command line (absent is an error). */
int config_load(struct daemon_config *cfg, const char *path, bool explicit,
                struct cradle_err *err);
/* Check ranges and derive what depends on other keys. */
int config_validate(struct daemon_config *cfg, struct cradle_err *err);
void config_print(const struct daemon_config *cfg);

#endif
