/* files.h - sandbox directories and files on the host (REFERENCE §3).
 *
 *   <root>/sandboxes/<id>/            persistent sandbox root (0755)
 *   <state>/sandboxes/<id>/           volatile sandbox root (0755)
 *       hostname   config.hostname + "\n", else the host's name
 *       hosts      a copy of the host's /etc/hosts
 *       resolv.conf per dns_config: present -> search/nameserver/options
 *                  lines (present but empty -> empty file); absent -> a copy
 *                  of the host's /etc/resolv.conf
 *
 * Error messages are the reference's ("failed to create sandbox root
 * directory \"P\": ...").
 */
#ifndef CRADLE_FILES_H
#define CRADLE_FILES_H

#include <stddef.h>

#include "../proto/err.h"
#include "../proto/proto.h"

/* snprintf into buf or fail with INTERNAL "path too long". */
int files_path(char *buf, size_t len, struct cradle_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* mkdir -p with mode for the last component; EEXIST is fine. */
int files_mkdir_p(const char *path, unsigned mode);

/* Remove a tree without following symlinks; ENOENT is success.  Before
 * removing, anything mounted at or below path is lazily unmounted, and
 * EBUSY is retried (50 times, 100 ms apart), as containerd's
 * ensureRemoveAll does.  Returns 0 or -errno. */
int files_rmtree(const char *path);

/* Unmount path (lazily; EBUSY retried 50 times, 50 ms apart); "not
 * mounted" and ENOENT are success.  0 or -errno. */
int files_unmount(const char *path);

/* Write a whole file (O_CREAT|O_TRUNC|O_CLOEXEC|O_NOFOLLOW). 0 or -errno. */
int files_write(const char *path, const void *data, size_t len, unsigned mode);
/* Copy src to dst (mode 0644). 0 or -errno. */
int files_copy(const char *src, const char *dst);

/* Write hostname, hosts and resolv.conf into dir. */
int files_setup_sandbox(const char *dir, const struct pod_config *cfg,
                        struct cradle_err *err);

/* resolv.conf content for a present dns_config (exposed for unit tests).
 * Returns malloc'd text (possibly ""), NULL on OOM. */
char *files_resolv_conf(const struct pod_config *cfg);

#endif
