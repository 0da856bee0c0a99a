/* libinteg.h - fixtures for integration tests: a real cradled in a
 * temporary root, and probes of what the kernel shows.
 *
 * These tests need root (namespaces, mounts); CI runs as root.  Check forks
 * per test and these helpers start the daemon and nng inside the test, so
 * no thread exists in the parent (nng is not fork-safe).
 */
#ifndef CRADLE_LIBINTEG_H
#define CRADLE_LIBINTEG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "client/cradle.h"

/* Integration suites may run at once, of one build dir or of several: each
 * suite's tests put their daemons' sandboxes under a cgroup parent, and
 * their temp dirs under a prefix, of their own, named after IT_TAG (a hash
 * of the build dir and the suite's name, which the Makefile passes when it
 * compiles the suite and its own copy of libinteg), and the sweep touches
 * only those. */
#ifndef IT_TAG
#error "IT_TAG: build the integration tests with the Makefile"
#endif
/* cgroup_root of every test daemon of this suite */
#define IT_CGROUP_ROOT "/cradle-integ-" IT_TAG
/* every temp dir of this suite's tests starts with this (mkdtemp it) */
#define IT_TMP_PREFIX "/tmp/cradle-integ-" IT_TAG "."

/* Count cgroup directories of this suite's sandboxes (below the root). */
int it_count_cgroups(void);
/* The daemon's log (all runs in this dir) has a line containing text. */
struct it_daemon;
bool it_log_contains(const struct it_daemon *d, const char *text);

struct it_daemon {
	char dir[256]; /* temp dir holding root/ and state/ */
	char root[300];
	char state[300];
	char sock[340];
	char events[340];
	char config[340]; /* --config file, "" for none */
	pid_t pid;
	struct cradle_conn *conn;
	/* right after the daemon answered (it_start, it_restart): its open
	 * fds and the mounts below dir in its own mount namespace, which
	 * it_cleanup compares with what is there at the end */
	int fds_at_start;
	int mounts_at_start;
	/* the config sets [cradled] workers: no --workers 8 then */
	bool own_workers;
	int n_left; /* what it_leftovers found last */
	/* it_start_in_systemd: the container it runs in (NULL: the host) */
	const struct it_systemd *sd;
};

/* Time bounds scaled for slow builds: ms times 1 in a plain build, 4 under
 * ASan+UBSan, 10 under TSan (gcc's __SANITIZE_*__), or $CRADLE_IT_SLOW
 * when set.  Every wait and timeout of the integration tests goes
 * through it, so sanitizer runs wait longer instead of flaking. */
int it_ms(int ms);
/* A wait that is meant to run out ("nothing more comes"): scaled by at
 * most 2.  It bounds how late an unwanted event is still caught, not how
 * long a wanted one may take, so a slow build keeps the check (the plain
 * build's window is the strict one) without paying ten times for it. */
int it_quiet_ms(int ms);
/* tcase_set_timeout's seconds, scaled as it_ms. */
double it_secs(double secs);
/* Sleep ms milliseconds (not scaled: pass it_ms(x) for a wait). */
void it_sleep_ms(int ms);

/* Path of a built binary: $CRADLE_BUILD/<name> (tests/run.sh sets it). */
const char *it_bin(const char *name);

/* Make a temp dir and start cradled (or the hooks build when fail_step is
 * not NULL, with CRADLE_FAIL_STEP set), wait until it answers.  Aborts the
 * test (ck_abort) on failure. */
void it_start(struct it_daemon *d, const char *fail_step);
/* As it_start, with config_text written to <dir>/cradled.conf and passed
 * with --config (NULL: no config file). */
void it_start_with(struct it_daemon *d, const char *fail_step, const char *config_text);
/* Start again on the same dirs (after it_stop). */
void it_restart(struct it_daemon *d, const char *fail_step);
/* As it_restart, with one more argument for cradled (e.g. a flag). */
void it_restart_with_arg(struct it_daemon *d, const char *fail_step, const char *arg);
/* cradled started with config_text (after "[sandbox] cgroup_root =
 * IT_CGROUP_ROOT", in <dir>/cradled.conf) must refuse to start: exit
 * status 1, one line of its log holding every string of wants (NULL
 * ended), nothing made (no root, no state, no mount); the dir is removed. */
void it_expect_refused(const char *config_text, const char *const *wants);
/* The same with command-line arguments (NULL-terminated, at most 8) after
 * cradled's --root, --state and --config. */
void it_expect_refused_args(const char *config_text, const char *const *args,
                            const char *const *wants);
/* The same for a failure after start-up made its directories: exit
 * status 1, the line, nothing left mounted; the dir is removed. */
void it_expect_start_fails(const char *config_text, const char *const *args,
                           const char *const *wants);
/* The CLI (`cradle --socket <d's socket> ARGS 2>&1`, ARGS a shell
 * fragment made from fmt): its output in out (NUL-terminated, cut at
 * len - 1 bytes); returns its exit status (128: killed). */
int it_cli(const struct it_daemon *d, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The whole of a small text file into buf (NUL-terminated, at most len - 1
 * bytes); aborts the test when it cannot be read. */
void it_read_text(const char *path, char *buf, size_t len);
/* SIGTERM, wait, return its exit status (shell style). */
int it_stop(struct it_daemon *d);
/* The "nothing left" check and teardown of every integration test.
 * While the daemon runs: it lists no sandbox record, holds no more open
 * fds than right after its start, and no more mounts below dir in its
 * mount namespace.  Then it is stopped (SIGTERM; it must exit 0 and its
 * log hold no sanitizer report), and nothing may be left: no live task
 * in this build's cgroup parent, no child of the test process (zombie or
 * not), no mount below dir in ours but the daemon's own (<state>/ns and
 * its pin), no entry in <state>/sandboxes, <state>/netns, <state>/shm,
 * <root>/sandboxes, no cgroup below IT_CGROUP_ROOT.  Whatever is left
 * is listed in the failure message and removed all the same (tasks
 * killed, mounts detached, the temp dir and the cgroups removed) before
 * the test fails.  A test that leaves state on purpose (a crash) removes
 * it before its teardown. */
void it_cleanup(struct it_daemon *d);
/* it_cleanup's checks alone: stops the daemon (its exit status in
 * *status), lists what is left in out (one "\n " line each) and returns
 * how many things; removes nothing. */
int it_leftovers(struct it_daemon *d, int *status, char *out, size_t len);
/* Daemon probes, for tests (pid > 0): open fds; mounts below prefix in its
 * mount namespace. */
int it_daemon_fds(pid_t pid);

/* Run a suite (CK_ENV verbosity), sweeping leftovers of failed tests
 * before and after; returns the process exit status.  A test that failed
 * because its daemon was lost (connection lost, unreachable, no reply:
 * the message names its socket) gets the last 40 lines of that daemon's
 * cradled.log printed on stderr after the results, as it_start's
 * failures and an it_cleanup that finds the daemon dead do at once. */
#include <check.h>
int it_run_suite(Suite *s);
void it_sweep_all(void);

/* A minimal pod built with the setters: name, namespace "default", uid
 * "uid-<name>", and hostname unless NULL.  Asserts success; the caller
 * frees it with cradle_pod_free. */
struct cradle_pod *it_pod(const char *name, const char *hostname);
/* The same pod written as crictl's JSON, with extra (more top-level
 * fields, e.g. "\"linux\": {...}") added, read by cradle_pod_from_json. */
struct cradle_pod *it_pod_json(const char *name, const char *hostname, const char *extra);
/* A sandbox id: 64 lower-case hex characters. */
bool it_valid_id(const char *s);

/* Kernel probes */
bool it_same_ns(pid_t pid, const char *ns);             /* /proc/PID/ns/NS == ours */
bool it_proc_alive(pid_t pid);                          /* not gone, not a zombie */
int it_nspid_inner(pid_t pid);                          /* last NSpid field, -1 */
bool it_uts_hostname(pid_t pid, char *buf, size_t len); /* via setns in a child */
int it_count_mounts_under(const char *prefix);          /* in our mountinfo */
int it_count_mounts_in(pid_t pid, const char *prefix);  /* in pid's (0: ours) */
/* The mount at exactly path in pid's mountinfo (0: ours), the topmost if
 * several are stacked there: its id, its parent's id and its file system
 * type.  False when nothing is mounted at path. */
struct it_mount {
	int id, parent;
	char fstype[64];
};
bool it_mount_at(pid_t pid, const char *path, struct it_mount *m);
/* Lines of pid's mountinfo (0: ours) that contain text anywhere. */
int it_count_mountinfo_lines(pid_t pid, const char *text);
/* Run fn(arg) in a forked child that has entered the mount namespace
 * pinned at pin (e.g. <state>/ns/mnt); fn's return value is its exit
 * status, which this returns (-1 if it could not run). */
int it_in_mntns(const char *pin, int (*fn)(void *), void *arg);
/* path as cradled sees it, from any namespace: /proc/<cradled>/root<path>
 * (the per-sandbox pins live in cradle's own mount namespace). */
const char *it_daemon_path(const struct it_daemon *d, const char *path, char *out, size_t len);
int it_count_entries(const char *dir); /* excluding . and .. */
/* /proc/PID/<file> (e.g. "task/TID/sched") into buf, NUL-terminated: its
 * length, or <= 0 when it cannot be read (gone, or empty: a zombie's
 * cmdline).  One read: for files under a page or so. */
ssize_t it_proc_read(pid_t pid, const char *file, char *buf, size_t size);
int it_count_children_of(pid_t ppid); /* processes whose PPid is ppid */
int it_count_pause_tasks(void);       /* live tasks of this build's pause */
/* Their pids, up to max; returns how many there are (in this build's
 * cgroup parent IT_CGROUP_ROOT). */
int it_pause_tasks(pid_t *pids, int max);

/* A shell command (printf-style), its exit status (128: it did not
 * exit). */
int it_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A TCP port on 127.0.0.1 that was free a moment ago. */
int it_free_port(void);

/* Debian's docker-registry on 127.0.0.1:<free port>, plain HTTP, its
 * data under IT_TMP_PREFIX (so a failed test's is swept), killed with the
 * test process if the test never stops it. */
struct it_registry {
	pid_t pid; /* -1: not running */
	int port;
	char dir[256]; /* config.yml, data/, registry.log */
};
void it_registry_start(struct it_registry *r);
/* it_registry_start with options (NULL or zeroed: as it_registry_start):
 * Basic auth from an htpasswd file, HTTPS with a certificate and key (PEM
 * files), client certificates required and verified against a CA file.
 * The start-up probe uses client_cert/client_key when the registry wants
 * one. */
struct it_registry_opts {
	const char *htpasswd;
	const char *tls_cert, *tls_key;
	const char *client_ca;
	const char *client_cert, *client_key; /* for the probe */
};
void it_registry_start_opts(struct it_registry *r, const struct it_registry_opts *o);
/* The pause archive `make` built, as 127.0.0.1:<port>/pause:<tag>. */
void it_registry_push_pause(const struct it_registry *r, const char *tag);
/* Kill and wait (before it_cleanup, which fails on a child left
 * running), then remove its dir; zero-safe. */
void it_registry_stop(struct it_registry *r);
/* Lines of the registry's log that contain needle. */
int it_registry_log_count(const struct it_registry *r, const char *needle);
/* A file of the source tree ($CRADLE_SRC, default the working dir, as
 * tests/run.sh runs): one static buffer, copy it before the next call. */
const char *it_src(const char *rel);

/* A real systemd in a container.  Debian's systemd boots as PID 1 of new
 * pid, mount, cgroup, uts, ipc and net namespaces, on a READ-ONLY view of
 * the host's root file system (no submount of it) with fresh tmpfs on
 * /run, /tmp, /var, /root and /dev (null, zero, full, random, urandom and
 * tty bound in, a devpts of its own), a proc of its own with /proc/sys
 * read-only, sysfs read-only, and the cgroup hierarchies of its cgroup
 * namespace, rooted at IT_SYSTEMD_CGROUP in every hierarchy of the host.
 * Every generator and every unit that could touch the host (tmpfiles,
 * sysctl, udev, timesyncd, ...) is masked; it boots cradle-test.target:
 * dbus.socket and dbus.service.  Its dir (IT_TMP_PREFIX "sd-XXXXXX")
 * holds boot.sh, the mask list and console.log (its /dev/console).  One
 * container at a time per test process; a test that boots one halts it
 * (after it_cleanup of the daemons in it): its cgroups are not below
 * IT_CGROUP_ROOT, so it_cleanup does not count it, but it does count the
 * sandboxes of a daemon in it (their tasks and cgroups, in both cgroup
 * layouts), and it_sweep_all removes a container a failed test left. */
#define IT_SYSTEMD_CGROUP IT_CGROUP_ROOT "-sd"
struct it_systemd {
	pid_t pid;  /* the unshare(1) waiting for its init, our child */
	pid_t init; /* its PID 1, systemd, as the host sees it */
	char dir[256];
};
/* Boot it and wait until `systemctl is-system-running` says running or
 * degraded (it_ms bounded); aborts the test on failure. */
void it_systemd_boot(struct it_systemd *sd);
/* Power it off (SIGRTMIN+4 to its systemd), wait for its init to exit,
 * remove its cgroups and its dir; asserts nothing is left of it (no
 * process in its cgroups, no cgroup, no dir).  Zero-safe. */
void it_systemd_halt(struct it_systemd *sd);
/* A shell command (printf-style) run in every namespace of the container
 * (nsenter -a), its output and errors in out (NUL-terminated, cut at
 * len - 1); returns its exit status (128: killed). */
int it_systemd_run(const struct it_systemd *sd, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The host's pid of the container's process inner; -1 when none. */
pid_t it_systemd_host_pid(const struct it_systemd *sd, pid_t inner);
/* it_start_with, with cradled in the container: its dir is bound into the
 * container at the same path, cradled joins the container's root cgroup
 * and every namespace of it, and stays a child of the test (d->pid is
 * its host pid).  it_cleanup checks it as any daemon, the mounts in the
 * container's namespace. */
void it_start_in_systemd(struct it_daemon *d, const struct it_systemd *sd, const char *config_text);

#endif
