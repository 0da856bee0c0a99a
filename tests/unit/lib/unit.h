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
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define UNIT_SUBREAPER 1u /* reap the orphans of failed tests */
#define UNIT_ROOT 2u      /* say so on stderr when not run as root */

/* Run the suite in forked tests; name is the binary's name (for messages
 * and the base directory).  Returns main()'s exit status. */
int unit_run(Suite *s, const char *name, unsigned flags);
/* The same with steps of the test binary's own around the tests, both run
 * in the runner's process (so they must not use ck_assert), either NULL:
 * before, once the base directory exists (what every test shares, made
 * once), and no test runs when it returns non-zero; after, once every
 * test has ended and its orphans are reaped (a sweep of what failed tests
 * left outside the base directory), and the run fails when it returns
 * non-zero. */
int unit_run_with(Suite *s, const char *name, unsigned flags, int (*before)(void),
                  int (*after)(void));

/* A test case of suite s: its name, checked fixture (setup, teardown;
 * either may be NULL), timeout in seconds (0: Check's default) and tests,
 * UNIT_TESTS(test_a, test_b, ...), in the order they run.  Returned for
 * the loop tests it may also hold. */
TCase *unit_tcase(Suite *s, const char *name, void (*setup)(void), void (*teardown)(void),
                  double timeout, const TTest *const *tests);
#define UNIT_TESTS(...) ((const TTest *const[]){ __VA_ARGS__, NULL })

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
bool unit_exists(const char *path); /* lstat succeeds */
/* 0, or -1 with errno; never crosses into another file system, so a mount
 * left below path makes it fail rather than empty what is mounted. */
int unit_rm_rf(const char *path);
/* root/rel: a directory (0755, an existing one is fine), a file of text. */
void unit_mkdir_in(const char *root, const char *rel);
void unit_put_in(const char *root, const char *rel, const char *text, unsigned mode);
/* Entries of a directory, . and .. not counted. */
int unit_count_entries(const char *dir);

/* snprintf into an array, failing the test when the result does not fit. */
#define UNIT_FMT(buf, ...)                                                                        \
	ck_assert_msg(snprintf(buf, sizeof(buf), __VA_ARGS__) < (int)sizeof(buf), "%s: too long", \
	              #buf)
/* strdup that fails the test instead of returning NULL. */
char *unit_strdup(const char *s);
void unit_sleep_ms(long ms); /* whole, across signals */
/* /bin/sh -c of the formatted command: its exit status, or -1 when it did
 * not exit (or the command is longer than 4 KiB). */
int unit_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What the tree provides, canonical: out = <build>/rel, the build directory
 * being $CRADLE_BUILD (tests/run.sh sets it; default "build"), or
 * <src>/tests/data/rel, the source tree being $CRADLE_SRC (default ".",
 * tests run from it).  0, or -1 with errno and, on stderr, what to make or
 * set; no assertion, so the run's own steps may use them too. */
int unit_build_path(char out[PATH_MAX], const char *rel);
int unit_data_path(char out[PATH_MAX], const char *rel);
/* The pause rootfs `make build/rootfs/pause` makes, /pause executable in it
 * (fails the test otherwise). */
void unit_pause_rootfs(char out[PATH_MAX]);

/* One line of a mountinfo file: the mount point (unescaped), the
 * per-mount options (field 6) and the file system type. */
struct unit_mount {
	char point[PATH_MAX];
	char opts[256];
	char fstype[64];
};
/* Calls fn (when not NULL) for every mount of a mountinfo file
 * ("/proc/self/mountinfo", "/proc/PID/mountinfo") until it returns true;
 * returns the number of lines read. */
int unit_mountinfo_walk(const char *file, bool (*fn)(const struct unit_mount *, void *), void *arg);

/* /proc: the value of "Key:" in /proc/PID/status; processes whose parent
 * is this one (zombies included); descriptors open here; mounts at or
 * below path in this mount namespace. */
bool unit_status_field(pid_t pid, const char *key, char *out, size_t len);
int unit_count_children(void);
int unit_count_fds(void);
int unit_mounts_under(const char *path);
/* The same in another mountinfo file (/proc/PID/mountinfo). */
int unit_mounts_under_in(const char *mountinfo, const char *path);
/* No child left, not even a zombie. */
void unit_assert_no_children(void);

/* Namespaces: 1 when /proc/PID/ns/<ns> ("net", "mnt", ...) is this
 * process's own, 0 when it is another, -1 with errno when unreadable. */
int unit_ns_same(pid_t pid, const char *ns);

/* Cgroups.  rel is hierarchy-relative ("/cradle-unit-1/2"); every cgroup
 * (v1) and cgroup2 mount of /proc/self/mountinfo is a hierarchy (one
 * mounted twice counts twice).  How many hierarchies have the directory
 * rel; how many directories there are strictly below rel, in all of them;
 * rmdir rel and everything below it, deepest first, in every hierarchy
 * (absent is fine; 0).  -1 with errno on failure (rmtree stops at the
 * first).  They make no Check call, so main() may use them too. */
int unit_cgroups_at(const char *rel);
int unit_cgroups_below(const char *rel);
int unit_cgroup_rmtree(const char *rel);
/* Kill every task in the cgroup directory dir (absolute) and below, reap
 * what the run's subreaper inherits, then rmdir them deepest first.  No
 * Check call: end-of-run sweeps use it outside any test. */
void unit_cgroup_kill_rmtree(const char *dir);
/* The mount points of the v1 hierarchies of the memory controller alone
 * and of the cpuset controller alone (no other controller in their
 * /proc/self/mounts options), the i-th or NULL past the last: there cradle
 * makes no leaf, the pause joins the leaf's parent (sandbox/cgroup.h,
 * "Shared hierarchies").  Static storage. */
const char *unit_shared_hierarchy(int i);

#endif
