/* unit.h - what the unit tests share: the runner, scratch directories,
 * file and /proc helpers.  Linked into every unit test binary; it uses
 * only Check and libc, so every layer's tests may use it.
 *
 * Isolation.  Check forks per test (unit_run forces it), and a failed
 * assertion exits the test's process without running teardown, so nothing
 * may depend on teardown alone:
 *   - unit_run makes one base directory per run (canonical, so it reads the
 *     same as in mountinfo) and removes it at the end, whatever the tests
 *     left;
 *   - unit_scratch_setup gives each test a directory of its own inside it;
 *     unit_scratch_setup_ns also puts the test in a mount namespace of its
 *     own (root only), so whatever it mounts goes away with it.  That
 *     namespace is made private, then shared again, so a sandbox that
 *     forgot MS_PRIVATE would leak mounts into the test's namespace (where
 *     the test sees them) but never into the host;
 *   - with UNIT_SUBREAPER, the runner is a child subreaper and reaps the
 *     orphans of failed tests (Check SIGKILLs a test's process group).
 * Threads and processes are created only inside tests (Check's fork after
 * a thread, nng's included, is not safe).
 */
#ifndef CRADLE_TESTS_UNIT_H
#define CRADLE_TESTS_UNIT_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define UNIT_SUBREAPER 1u /* reap the orphans of failed tests */
#define UNIT_ROOT 2u      /* say so on stderr when not run as root */

/* Run the suite in forked tests; name is the binary's name (for messages
 * and the base directory).  Returns main()'s exit status. */
int unit_run(Suite *s, const char *name, unsigned flags);

/* The run's base directory and the current test's own directory. */
const char *unit_base_dir(void);
const char *unit_test_dir(void);

/* Checked fixtures: a directory of the test's own; _ns also a private
 * mount namespace (needs root). */
void unit_scratch_setup(void);
void unit_scratch_setup_ns(void);
void unit_scratch_teardown(void);

/* buf = "<test dir>/<name>"; fails the test when it does not fit. */
void unit_path(char *buf, size_t len, const char *name);

/* Files, written and read independently of the code under test. */
void unit_put_file(const char *path, const void *data, size_t len, unsigned mode);
void unit_put_str(const char *path, const char *s);
/* The whole file, NUL-terminated (*lenp excludes the NUL, may be NULL);
 * NULL with errno set when it cannot be read. */
char *unit_slurp(const char *path, size_t *lenp);
char *unit_slurp_ok(const char *path, size_t *lenp); /* fails the test instead */
void unit_assert_file_is(const char *path, const char *want);
bool unit_exists(const char *path);                  /* lstat succeeds */
int unit_rm_rf(const char *path);                    /* 0, or -1 with errno */

/* /proc: the value of "Key:" in /proc/PID/status; processes whose parent
 * is this one (zombies included); descriptors open here; mounts at or
 * below path in this mount namespace. */
bool unit_status_field(pid_t pid, const char *key, char *out, size_t len);
int unit_count_children(void);
int unit_count_fds(void);
int unit_mounts_under(const char *path);
/* No child left, not even a zombie. */
void unit_assert_no_children(void);

#endif
