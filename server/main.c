/* main.c - cradled: start-up, signals, shutdown.
 *
 * Start-up may fail fast (bad config, unusable directories, a second
 * daemon on the same state dir).  Once the front end listens, nothing
 * per-sandbox ever stops the daemon.  SIGTERM/SIGINT: stop taking
 * requests, finish those in flight, exit 0; pause tasks stay alive and are
 * adopted again by the next start.  SIGHUP: read the configuration files
 * again and apply what may change at run time (reload_config).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "core/events.h"
#include "core/reaper.h"
#include "core/stats.h"
#include "core/table.h"
#include "image/images.h"
#include "sandbox/files.h"
#include "sandbox/nri.h"
#include "sandbox/runtime.h"
#include "sandbox/selinux.h"
#include "server/config.h"
#include "server/daemon.h"
#include "server/frontend.h"
#include "server/journal.h"
#include "server/limits.h"
#include "server/metrics.h"
#include "server/recover.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/store.h"
#include "worker/net.h"
#include "worker/ops.h"
#include "worker/pool.h"

/* CRADLE_VERSION comes from the file VERSION (Makefile) */

static void
usage(FILE *f)
{
	fprintf(f, "usage: cradled [--config FILE] [--root DIR] [--state DIR] [--workers N]\n"
	           "               [--image-archive FILE] [--print-config] [--drop-quarantined]\n"
	           "               [--log-level LEVEL] [--log-format FORMAT] [--version]\n"
	           "  --config FILE   INI configuration (default " CRADLE_DEFAULT_CONFIG ")\n"
	           "  --root DIR      persistent state (default /var/lib/cradle)\n"
	           "  --state DIR     volatile state and sockets (default /run/cradle)\n"
	           "  --workers N     worker threads\n"
	           "  --image-archive FILE  the built-in sandbox image (OCI archive)\n"
	           "  --print-config  print the effective configuration and exit\n"
	           "  --drop-quarantined  delete the quarantined sandbox records; what their\n"
	           "                  sandboxes left is then removed as leftovers\n"
	           "  --log-level LEVEL  debug, info, warn or error (default info)\n"
	           "  --log-format FORMAT  text, json, journal or auto (default auto: the\n"
	           "                  journal when started by systemd, text otherwise)\n"
	           "  --version       print cradled's version and exit\n");
}

/* Block every signal but the synchronous ones the kernel raises for faults,
 * before any thread (nng's included) exists: threads inherit the mask, and
 * the main thread reads the rest from a signalfd. */
static void
block_signals(sigset_t *wanted)
{
	sigset_t all;

	sigfillset(&all);
	int sync_sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS };
	for (size_t i = 0; i < sizeof(sync_sigs) / sizeof(sync_sigs[0]); i++)
		sigdelset(&all, sync_sigs[i]);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	sigemptyset(wanted);
	sigaddset(wanted, SIGTERM);
	sigaddset(wanted, SIGINT);
	sigaddset(wanted, SIGHUP);
}

/* The time slice of every thread but the workers: the front end's, which
 * answer status, list and version themselves (ops_is_quick: cradle:front
 * and cradle:list), nng's, the reaper's and this one; the kernel's
 * shortest.  Asked for before any
 * thread exists, so that every thread inherits it: a waking thread with a
 * shorter slice than the running one's preempts it at once instead of
 * waiting for its slice to end, which keeps a status round trip short
 * while workers, their launch children (in the sandboxes' cpu cgroups,
 * where no nice of ours reaches) and the rest of the node keep the CPUs
 * busy.  The workers take the default slice back, and a lower priority
 * (worker/pool.h). */
#define FRONTEND_SLICE_NS 100000u

/* A daemon started with 0, 1 or 2 closed would hand that number to the
 * first socket or file it opens, and a stray write to stdout or stderr
 * (a log line) would land in it: each closed one is opened on /dev/null.
 * Before anything else opens a descriptor. */
static void
std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", O_RDWR | O_CLOEXEC) != fd)
			_exit(1); /* cannot happen: the lowest free number is fd */
}

/* One pidfd per live sandbox, each open while it lives: the soft limit of
 * open files goes up to the hard one (raising the hard one needs
 * CAP_SYS_RESOURCE, which a node may not grant).  The pause tasks get
 * their own limit (sandbox/plan.h).  The resulting limit. */
static rlim_t
raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) != 0)
		return 0;
	if (r.rlim_cur < r.rlim_max) {
		struct rlimit want = { r.rlim_max, r.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			r.rlim_cur = r.rlim_max;
	}
	return r.rlim_cur;
}

/* A group by name or number into *gid; key names the setting. */
static int
resolve_group(const char *name, const char *key, gid_t *gid, struct cradle_err *err)
{
	struct group gr, *res = NULL;
	char buf[4096], *end;

	errno = 0;
	unsigned long n = strtoul(name, &end, 10);
	if (name[0] >= '0' && name[0] <= '9' && *end == '\0' && errno == 0 && n < (gid_t)-1) {
		*gid = (gid_t)n;
		return 0;
	}
	int rc = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (rc != 0)
		return cradle_err_errno(err, rc, "[cradled] %s: look up group \"%s\"", key, name);
	if (res == NULL)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "[cradled] %s: no group \"%s\" on this node", key, name);
	*gid = gr.gr_gid;
	return 0;
}

/* [cradled] group and readonly_group, resolved once: the front end checks
 * each peer against them, the sockets are given the group. */
static int
access_groups(struct daemon *d, struct cradle_err *err)
{
	if (d->cfg.group[0] != '\0') {
		if (resolve_group(d->cfg.group, "group", &d->group_gid, err) < 0)
			return -1;
		d->have_group = true;
	}
	if (d->cfg.readonly_group[0] != '\0') {
		if (resolve_group(d->cfg.readonly_group, "readonly_group", &d->readonly_gid, err) <
		    0)
			return -1;
		d->have_readonly_group = true;
	}
	return 0;
}

/* The event socket, like the request socket: 0660, root and the group. */
static int
events_socket_group(struct daemon *d, struct cradle_err *err)
{
	const char *path = d->events_url + strlen("ipc://");

	if (d->have_group && chown(path, 0, d->group_gid) != 0)
		return cradle_err_errno(err, errno, "chown \"%s\"", path);
	return 0;
}

static int
make_dirs(struct daemon *d, struct cradle_err *err)
{
	const struct {
		const char *base, *sub;
		unsigned mode;
	} dirs[] = {
		{ d->cfg.root, "", 0700 },        { d->cfg.root, "/sandboxes", 0700 },
		{ d->cfg.state, "", 0711 },       { d->cfg.state, "/sandboxes", 0700 },
		{ d->cfg.state, "/netns", 0700 }, { d->cfg.state, "/empty", 0555 },
	};
	char path[FS_PATH_MAX];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (fs_path(path, err, "%s%s", dirs[i].base, dirs[i].sub) < 0)
			return -1;
		int rc = fs_mkdir_p(path, dirs[i].mode);
		if (rc < 0)
			return cradle_err_errno(err, -rc, "create directory \"%s\"", path);
		/* one made by an earlier version (or by hand) gets the mode too:
		 * no one but root lists the sandboxes or reaches their files */
		if (chmod(path, dirs[i].mode) != 0)
			return cradle_err_errno(err, errno, "set the mode of \"%s\"", path);
	}
	return 0;
}

/* One daemon per state directory: a second one would fight over sockets,
 * sandboxes and the store. */
static int
lock_state(struct daemon *d, struct cradle_err *err)
{
	char path[FS_PATH_MAX];
	if (fs_path(path, err, "%s/cradled.lock", d->cfg.state) < 0)
		return -1;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return cradle_err_errno(err, errno, "open \"%s\"", path);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return cradle_err_set(
				err, CRADLE_FAILED_PRECONDITION,
				"another cradled is running with state directory \"%s\"",
				d->cfg.state);
		return cradle_err_errno(err, e, "lock \"%s\"", path);
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n)
		log_warn("write pid to \"%s\": %s", path, strerror(errno));
	return fd; /* held (and locked) until exit */
}

/* The mount-point layer put over every image: the directories and files
 * the sandbox mounts onto, which an image need not have. */
static int
make_skeleton(struct daemon *d, struct cradle_err *err)
{
	if (fs_path(d->skeleton, err, "%s/snapshots/skeleton", d->cfg.root) < 0)
		return -1;
	return files_make_skeleton(d->skeleton, err);
}

/* The [registry] settings of cfg as the image service takes them. */
static struct images_cfg
registry_cfg(const struct daemon_config *cfg)
{
	return (struct images_cfg){
		.ca_file = cfg->registry_ca_file[0] ? cfg->registry_ca_file : NULL,
		.insecure = cfg->registry_insecure[0] ? cfg->registry_insecure : NULL,
		.config_path = cfg->registry_config_path[0] ? cfg->registry_config_path : NULL,
		.auth_file = cfg->registry_auth_file[0] ? cfg->registry_auth_file : NULL,
		.pull_timeout = cfg->registry_timeout,
	};
}

/* The image service of d's configuration on store st. */
static int
open_images(const struct daemon *d, struct store *st, struct images **out, struct cradle_err *err)
{
	struct images_cfg ic = registry_cfg(&d->cfg);
	ic.root = d->cfg.root;
	ic.store = st;
	ic.max_layer_bytes = d->cfg.image_max_layer_bytes;
	ic.max_layer_entries = (uint64_t)d->cfg.image_max_layer_entries;
	ic.max_expansion = (uint64_t)d->cfg.image_max_expansion;
	return images_open(&ic, out, err);
}

/* When the configured sandbox image is the one `make` builds and im has
 * it not yet, import it from the OCI archive beside this binary, so a
 * node needs no registry to start pods. */
static int
ensure_builtin(const struct daemon *d, struct images *im, struct cradle_err *err)
{
	struct image_record rec;
	struct cradle_err e;

	if (strcmp(d->cfg.image, CRADLE_DEFAULT_IMAGE) != 0)
		return 0; /* pulled at the first start that needs it */
	if (images_get(im, d->cfg.image, &rec, &e) == 0) {
		image_record_fini(&rec);
		return 0;
	}
	const char *archive = d->cfg.image_archive;
	if (images_import(im, archive, d->cfg.image, true, NULL, err) < 0) {
		cradle_err_wrap(err, "import the built-in sandbox image");
		return -1;
	}
	log_info("imported the built-in sandbox image %s from %s", d->cfg.image, archive);
	return 0;
}

/* ensure_builtin in a child process, before the daemon opens its store.
 * The import hashes every blob, and the digest code it runs (OpenSSL's
 * provider tables and algorithms, about 2 MB of libcrypto's pages) would
 * stay mapped in the daemon for good after a one-off job; in a child it
 * goes with the child.  The child opens the store itself: an LMDB
 * environment must not cross a fork.  Its error comes back through a
 * pipe.  Before any thread. */
static int
import_builtin(const struct daemon *d, struct cradle_err *err)
{
	struct cradle_err e = { 0 };
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (strcmp(d->cfg.image, CRADLE_DEFAULT_IMAGE) != 0)
		return 0;
	if (pipe2(p, O_CLOEXEC) != 0)
		return cradle_err_errno(err, errno, "import the built-in sandbox image: pipe");
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return cradle_err_errno(err, errno, "import the built-in sandbox image: fork");
	}
	if (pid == 0) {
		struct store_opts so = { .map_size = d->cfg.store_map_size };
		struct store *st = NULL;
		struct images *im = NULL;
		int rc;
		close(p[0]);
		if ((rc = store_open_opts(d->cfg.root, &so, &st, &e)) == 0 &&
		    (rc = open_images(d, st, &im, &e)) == 0)
			rc = ensure_builtin(d, im, &e);
		images_close(im);
		store_close(st);
		if (rc < 0 && write(p[1], &e, sizeof(e)) != (ssize_t)sizeof(e))
			_exit(2);
		_exit(rc < 0 ? 1 : 0);
	}
	close(p[1]);
	while ((n = read(p[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n == (ssize_t)sizeof(e) && e.code != 0) {
		e.msg[sizeof(e.msg) - 1] = '\0';
		*err = e;
		return -1;
	}
	return cradle_err_set(err, CRADLE_INTERNAL,
	                      "import the built-in sandbox image: the importing process %s %d",
	                      WIFSIGNALED(status) ? "was killed by signal" : "exited with",
	                      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* Open the image service, with the built-in image in it (import_builtin
 * has normally brought it in already). */
static int
images_start(struct daemon *d, struct cradle_err *err)
{
	if (make_skeleton(d, err) < 0 || open_images(d, d->store, &d->images, err) < 0)
		return -1;
	return ensure_builtin(d, d->images, err);
}

/* True when dir has no entry (or is not there); false when it has one
 * or cannot be read. */
static bool
dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool empty = true;

	if (d == NULL)
		return errno == ENOENT;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* Whether cradle's mount namespace may go at exit: no sandbox needs it.
 * Once recovery ran the table holds every sandbox.  Before that (start-up
 * failed early: a store that does not open, an import that fails) an
 * empty table says nothing, and what the namespace holds for pods does:
 * their netns pins and shm mounts, under <state>/netns and <state>/shm.
 * Unpinning it under live pods would take those paths from them. */
static bool
may_unpin(const struct daemon *d, bool recovered)
{
	char dir[FS_PATH_MAX];
	struct cradle_err e;

	if (recovered)
		return d->table != NULL && table_count(d->table) == 0;
	if (fs_path(dir, &e, "%s/netns", d->cfg.state) < 0 || !dir_empty(dir) ||
	    fs_path(dir, &e, "%s/shm", d->cfg.state) < 0 || !dir_empty(dir))
		return false;
	return true;
}

/* One malloc arena for every thread, and fixed thresholds.  Each thread
 * that allocates while another holds an arena's lock gets an arena of its
 * own (up to 8 per core), and what removed sandboxes freed in 16 arenas,
 * between chunks still in use, is mostly whole pages in none of them;
 * one arena keeps the free memory together, where malloc_trim finds it.
 * The workers allocate a few hundred times per start, far too seldom to
 * contend.  Fixed thresholds: glibc otherwise raises the mmap threshold to
 * the largest block freed (a list reply of thousands of sandboxes), after
 * which such blocks come from the heap and pin it.  Before any thread. */
static void
malloc_setup(void)
{
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

/* Removals between two refreshes of the workers at most; and at least,
 * when the last sandbox is gone (below that, a plain trim). */
#define REFRESH_EVERY 512
#define REFRESH_MIN 16

/* Memory freed by removed sandboxes goes back to the system once they go
 * in numbers.  The workers' own caches of freed chunks and their stack
 * pages go only with the threads, so the pool refreshes them and trims
 * after (trim_refreshed): after every 512th removal, and when the last
 * sandbox is gone after 16 or more; otherwise, when the last one is gone,
 * a trim alone.  True: refresh the workers. */
static bool
trim_after_remove(const struct worker_env *env)
{
	static atomic_uint since; /* removals since the last refresh */
	unsigned n = atomic_fetch_add(&since, 1) + 1;
	bool empty = table_count(env->table) == 0;

	if (n >= REFRESH_EVERY || (empty && n >= REFRESH_MIN)) {
		atomic_store(&since, 0);
		return true;
	}
	if (empty) {
		malloc_trim(0);
		store_trim(env->store);
	}
	return false;
}

/* Every worker is a new thread now (worker/pool.h): trim. */
static void
trim_refreshed(void *arg)
{
	const struct worker_env *env = arg;

	malloc_trim(0);
	store_trim(env->store);
}

/* Set at SIGTERM: jobs still queued are answered, not run, so shutting
 * down waits for the jobs running and nothing more (pulls among them are
 * cancelled: images_cancel). */
static atomic_bool shutting_down;

/* What a worker does with a front-end job. */
static bool
run_job(void *item, struct launch_stack *ls, void *arg)
{
	struct job *job = item;
	bool removed = job->req.op == OP_REMOVE;

	if (atomic_load(&shutting_down)) {
		job->rep.op = job->req.op;
		job->rep.ok = false;
		cradle_err_set(&job->rep.err, CRADLE_UNAVAILABLE,
		               "cradled is shutting down: %s not started; retry once it is back",
		               proto_op_name(job->req.op));
		job->done(job);
		return false;
	}
	ops_run(arg, ls, &job->req, &job->rep);
	removed = removed && job->rep.ok;
	job->done(job); /* job is gone */
	/* off the reply path */
	return removed && trim_after_remove(arg);
}

/* The effective configuration as --print-config prints it, for
 * daemon.info (worker_env.config_text); NULL when out of memory. */
static char *
config_text_of(const struct daemon_config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	config_fprint(f, cfg);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The workers' view of the daemon (worker/env.h). */
static void
fill_env(struct daemon *d)
{
	d->env = (struct worker_env){
		.root = d->cfg.root,
		.state = d->cfg.state,
		.image = d->cfg.image,
		.skeleton = d->skeleton,
		.empty_dir = d->empty_dir,
		.shm_size = d->cfg.shm_size,
		.host_resolv_conf = d->cfg.host_resolv_conf,
		.runtimes = config_runtimes(&d->cfg),
		.version = CRADLE_VERSION,
		.cni_conf_dir = d->cfg.cni_conf_dir,
		.cni_max_conf_num = (unsigned)d->cfg.cni_max_conf_num,
		.node = &d->node,
		.mntns = &d->mntns,
		.pidfd_floor = (int)limits_nofile_margin(d->cfg.workers, d->cfg.contexts),
		.table = d->table,
		.store = d->store,
		.reaper = d->reaper,
		.events = d->events,
		.images = d->images,
		.net = d->net,
	};
#ifdef CRADLE_TEST_HOOKS
	d->env.fail_step = getenv("CRADLE_FAIL_STEP");
#endif
}

/* --log-level and --log-format override [cradled] log_level and
 * log_format (checked here, so the error names the option). */
static int
log_options(struct daemon_config *cfg, const char *level, const char *format,
            struct cradle_err *err)
{
	enum log_level l;
	enum config_log_fmt f;

	if (level != NULL && config_log_level(level, &l) < 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "--log-level: \"%s\" is not one of " CONFIG_LOG_LEVELS,
		                      level);
	if (format != NULL && config_log_format(format, &f) < 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "--log-format: \"%s\" is not one of " CONFIG_LOG_FORMATS,
		                      format);
	if (level != NULL)
		snprintf(cfg->log_level, sizeof(cfg->log_level), "%s", level);
	if (format != NULL)
		snprintf(cfg->log_format, sizeof(cfg->log_format), "%s", format);
	return 0;
}

/* The log as configured (values checked by config_validate).  auto: the
 * journal when systemd connected stderr to it (server/journal.h).  The
 * level may change later (log_set_level is safe at any time), the format
 * only at start-up. */
static void
log_setup(const struct daemon_config *cfg)
{
	enum log_level l = LOG_INFO;
	enum config_log_fmt f = CONFIG_LOG_AUTO;

	(void)config_log_level(cfg->log_level, &l);
	(void)config_log_format(cfg->log_format, &f);
	log_set_level(l);
	if (f == CONFIG_LOG_AUTO)
		f = journal_stream_is_stderr() ? CONFIG_LOG_JOURNAL : CONFIG_LOG_TEXT;
	if (f == CONFIG_LOG_JOURNAL)
		journal_log_start();
	else
		log_set_format(f == CONFIG_LOG_JSON ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
}

/* SIGHUP (docs/CONFIGURATION.md, "Reloading"): what the
 * files said at start-up, read again. */
struct reload_args {
	const char *path; /* --config, or the default file */
	bool explicit;
	/* given on the command line, which still wins over the files */
	bool root, state, archive, workers, log_level, log_format;
};

/* The keys that changed but need a restart, for one line. */
struct reload_log {
	char restart[2048];
	size_t len;
	int changes;
};

static const char *
shown(const char *v)
{
	return v[0] != '\0' ? v : "\"\"";
}

static void
reload_change(void *arg, const struct config_change *ch)
{
	struct reload_log *rl = arg;
	int n;

	rl->changes++;
	if (ch->reloadable) {
		log_info("config reload: [%s] %s %s -> %s", ch->section, ch->key,
		         shown(ch->old_value), shown(ch->new_value));
		return;
	}
	if (rl->len >= sizeof(rl->restart))
		return;
	if (ch->key != NULL)
		n = snprintf(rl->restart + rl->len, sizeof(rl->restart) - rl->len, "%s[%s] %s",
		             rl->len ? ", " : "", ch->section, ch->key);
	else
		n = snprintf(rl->restart + rl->len, sizeof(rl->restart) - rl->len, "%s[%s] (%s)",
		             rl->len ? ", " : "", ch->section, ch->new_value);
	rl->len += n > 0 ? (size_t)n : 0;
}

/* Read the files into a new configuration; when they are good, apply the
 * keys that may change at run time (config_key_reloadable: the log level,
 * the registry settings, which pulls in flight keep as they started) and
 * log each change, and the changes that need a restart on one line.
 * When they are not, log why and keep everything as it is. */
static void
reload_config(struct daemon *d, const struct reload_args *ra)
{
	struct daemon_config *next = malloc(sizeof(*next));
	struct daemon_config *cur = &d->cfg;
	struct cradle_err err = { 0 };
	struct reload_log rl = { .len = 0 };

	if (next == NULL) {
		log_error("config reload: out of memory; the configuration in effect is kept");
		return;
	}
	config_defaults(next);
	int rc = config_load(next, ra->path, ra->explicit, &err);
	if (rc == 0) {
		if (ra->root)
			memcpy(next->root, cur->root, sizeof(next->root));
		if (ra->state)
			memcpy(next->state, cur->state, sizeof(next->state));
		if (ra->archive)
			memcpy(next->image_archive, cur->image_archive,
			       sizeof(next->image_archive));
		if (ra->workers)
			next->workers = cur->workers;
		if (ra->log_level)
			memcpy(next->log_level, cur->log_level, sizeof(next->log_level));
		if (ra->log_format)
			memcpy(next->log_format, cur->log_format, sizeof(next->log_format));
		rc = config_validate(next, &err);
	}
	if (rc < 0) {
		log_error("config reload: %s; the configuration in effect is kept", err.msg);
		goto out;
	}
	struct images_cfg reg = registry_cfg(next);
	if ((strcmp(cur->registry_insecure, next->registry_insecure) != 0 ||
	     strcmp(cur->registry_ca_file, next->registry_ca_file) != 0 ||
	     strcmp(cur->registry_config_path, next->registry_config_path) != 0 ||
	     strcmp(cur->registry_auth_file, next->registry_auth_file) != 0 ||
	     cur->registry_timeout != next->registry_timeout) &&
	    images_set_registry(d->images, &reg, &err) < 0) {
		log_error("config reload: [registry]: %s; the configuration in effect is kept",
		          err.msg);
		goto out;
	}
	/* the changes are logged at the lower of the two levels, so that
	 * both a raised and a lowered level show them */
	enum log_level was = LOG_INFO, level = LOG_INFO;
	bool relevel = strcmp(cur->log_level, next->log_level) != 0 &&
	               config_log_level(cur->log_level, &was) == 0 &&
	               config_log_level(next->log_level, &level) == 0;
	if (relevel && level < was)
		log_set_level(level);
	if (config_diff(cur, next, reload_change, &rl) < 0)
		log_error("config reload: out of memory listing the changes");
	if (rl.len > 0)
		log_warn("config reload: changed, but not applied until cradled restarts: %s",
		         rl.restart);
	if (rl.changes == 0)
		log_info("config reload: no change");
	if (relevel)
		log_set_level(level);
	/* what applies now is what the next reload compares with */
	memcpy(cur->registry_insecure, next->registry_insecure, sizeof(cur->registry_insecure));
	memcpy(cur->registry_ca_file, next->registry_ca_file, sizeof(cur->registry_ca_file));
	memcpy(cur->registry_config_path, next->registry_config_path,
	       sizeof(cur->registry_config_path));
	memcpy(cur->registry_auth_file, next->registry_auth_file, sizeof(cur->registry_auth_file));
	cur->registry_timeout = next->registry_timeout;
	memcpy(cur->log_level, next->log_level, sizeof(cur->log_level));
	/* and what daemon.info shows */
	char *text = d->env.config_text != NULL ? config_text_of(cur) : NULL;
	if (text != NULL) {
		pthread_mutex_lock(&d->env.config_text->lock);
		char *old = d->env.config_text->text;
		d->env.config_text->text = text;
		pthread_mutex_unlock(&d->env.config_text->lock);
		free(old);
	}
out:
	config_fini(next);
	free(next);
}

/* The node facts cradled's configuration asks for. */
static struct node_opts
node_opts_of(const struct daemon_config *cfg)
{
	return (struct node_opts){
		.cgroup_root = cfg->cgroup_root,
		.restrict_oom_score_adj = cfg->restrict_oom_score_adj,
		.enable_unprivileged_ports = cfg->enable_unprivileged_ports,
		.enable_unprivileged_icmp = cfg->enable_unprivileged_icmp,
		.selinux = {
			.enable = cfg->selinux_enable,
			.category_range = (unsigned)cfg->selinux_category_range,
			.contexts_path = cfg->selinux_contexts[0] ? cfg->selinux_contexts : NULL,
		},
	};
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "state", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ "image-archive", required_argument, NULL, 'f' },
		{ "print-config", no_argument, NULL, 'p' },
		{ "drop-quarantined", no_argument, NULL, 'Q' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct daemon d;
	struct cradle_err err = { 0 };
	const char *config_path = CRADLE_DEFAULT_CONFIG;
	bool config_explicit = false, print = false, drop_quarantined = false;
	size_t quarantined = 0; /* records recovery found unreadable (server/recover.h) */
	const char *root = NULL, *state = NULL, *archive = NULL, *workers = NULL;
	const char *log_level = NULL, *log_format = NULL;
	struct frontend *fe = NULL;
	struct pool *pool = NULL;
	struct stats *stats = NULL; /* timings of starts and stops (core/stats.h) */
	struct nri *nri = NULL;     /* NRI v1 plugins (sandbox/nri.h); NULL: off */
	/* daemon.info's config (worker_env.config_text) */
	struct config_text config_text = { .lock = PTHREAD_MUTEX_INITIALIZER, .text = NULL };
	struct metrics *metrics = NULL; /* [metrics] address: the Prometheus endpoint */
	sigset_t wanted;
	bool recovered = false; /* the table holds every sandbox of the store */
	int c, status = 1;

	d.mntns.host_fd = -1; /* mntns_leave: nothing entered yet */
	std_fds();
	rlim_t nofile = raise_nofile();
	block_signals(&wanted);
	malloc_setup();
	pool_thread_slice(FRONTEND_SLICE_NS);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			config_explicit = true;
			break;
		case 'r':
			root = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'w':
			workers = optarg;
			break;
		case 'f':
			archive = optarg;
			break;
		case 'p':
			print = true;
			break;
		case 'Q':
			drop_quarantined = true;
			break;
		case 'l':
			log_level = optarg;
			break;
		case 'L':
			log_format = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("cradled version %s\n", CRADLE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	config_defaults(&d.cfg);
	if (config_load(&d.cfg, config_path, config_explicit, &err) < 0)
		goto fail;
	const struct {
		const char *v;
		char *dst;
		const char *what;
	} paths[] = { { root, d.cfg.root, "--root" },
		      { state, d.cfg.state, "--state" },
		      { archive, d.cfg.image_archive, "--image-archive" } };
	for (size_t i = 0; i < 3; i++) {
		if (paths[i].v == NULL)
			continue;
		char *abs = realpath(paths[i].v, NULL);
		const char *v = abs ? abs : paths[i].v;
		if (v[0] != '/' || strlen(v) >= sizeof(d.cfg.root)) {
			cradle_err_set(&err, CRADLE_INVALID_ARGUMENT,
			               "%s: \"%s\" is not a usable path", paths[i].what,
			               paths[i].v);
			free(abs);
			goto fail;
		}
		snprintf(paths[i].dst, sizeof(d.cfg.root), "%s", v);
		free(abs);
	}
	if (workers != NULL) {
		char *end;
		long w = strtol(workers, &end, 10);
		if (*end != '\0' || w < 1 || w > 1024) {
			cradle_err_set(&err, CRADLE_INVALID_ARGUMENT,
			               "--workers: \"%s\" is not 1..1024", workers);
			goto fail;
		}
		d.cfg.workers = (int)w;
	}
	if (log_options(&d.cfg, log_level, log_format, &err) < 0 ||
	    config_validate(&d.cfg, &err) < 0)
		goto fail;
	log_setup(&d.cfg);
	if (print) {
		config_print(&d.cfg);
		return 0;
	}
	/* An oci handler's runtime leaves the pause orphaned when its
	 * `create` exits: as the child subreaper cradled gets it, and reaps
	 * it by pidfd like its own (sandbox/ocirun.h).  Only then: any other
	 * orphan below cradled would become its zombie. */
	for (size_t i = 0; i < d.cfg.n_runtimes; i++) {
		if (runtime_is_oci(&d.cfg.runtimes[i])) {
			if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
				cradle_err_errno(&err, errno, "become the child subreaper");
				goto fail;
			}
			break;
		}
	}
	/* one pidfd per sandbox must fit (server/limits.h); before anything
	 * is made, so a refusal leaves nothing */
	if (limits_check_nofile((uint64_t)d.cfg.max_sandboxes,
	                        limits_nofile_margin(d.cfg.workers, d.cfg.contexts), nofile,
	                        &err) < 0)
		goto fail;
	/* NRI v1's conf.json, read once (docs/DIFFERENCES.md): no file, or
	 * no plugin in it, is NRI off and costs a start nothing.  Before
	 * anything is made: a broken file stops start-up with nothing left */
	if (nri_load(d.cfg.nri_config_file, d.cfg.nri_plugin_dir, 0, &nri, &err) < 0) {
		cradle_err_wrap(&err, "[nri] config_file");
		goto fail;
	}
	if (nri != NULL)
		log_info("NRI: %zu plugins from %s, run from %s", nri_n_plugins(nri),
		         d.cfg.nri_config_file, d.cfg.nri_plugin_dir);
	snprintf(d.sock_url, sizeof(d.sock_url), "ipc://%s/cradle.sock", d.cfg.state);
	snprintf(d.events_url, sizeof(d.events_url), "ipc://%s/events.sock", d.cfg.state);
	d.started_at = clock_now_ns();

	int sfd = signalfd(-1, &wanted, SFD_CLOEXEC);
	if (sfd < 0) {
		cradle_err_errno(&err, errno, "signalfd");
		goto fail;
	}
	/* before any thread: see sandbox/mntns.h */
	snprintf(d.empty_dir, sizeof(d.empty_dir), "%s/empty", d.cfg.state);
	if (access_groups(&d, &err) < 0 || make_dirs(&d, &err) < 0 || lock_state(&d, &err) < 0 ||
	    mntns_enter(d.cfg.state, (const char *const[]){ d.cfg.root, NULL }, &d.mntns, &err) < 0)
		goto fail;
	struct node_opts no = node_opts_of(&d.cfg);
	if (node_detect(&no, &d.node, &err) < 0)
		goto fail;
	struct store_opts so = { .map_size = d.cfg.store_map_size };
	/* the event log lives with the other volatile state (core/events.h);
	 * subscribers are let in after recovery: what it publishes they
	 * fetch from the log, never half of it live.  And before the
	 * request socket, so that a client that got an answer can subscribe
	 * at once (its dial is synchronous); a subscriber that redials in
	 * between finds no request socket for events.since yet and libcradle
	 * asks again (client/libcradle.c, "events") */
	struct events_config ec = { .dir = d.cfg.state, .keep = (size_t)d.cfg.events_keep };
	if (table_init(&d.table) < 0 || import_builtin(&d, &err) < 0 ||
	    store_open_opts(d.cfg.root, &so, &d.store, &err) < 0 || images_start(&d, &err) < 0)
		goto fail;
	ec.durable = d.store; /* holds the seq reservation */
	/* the pods' network, before recovery (which DELs what died) */
	struct net_config nc = {
		.conf_dir = d.cfg.cni_conf_dir,
		.max_conf_num = (unsigned)d.cfg.cni_max_conf_num,
		.bin_dir = d.cfg.cni_bin_dir,
		.timeout_ms = d.cfg.cni_timeout * 1000,
		.required = d.cfg.cni_required,
	};
	if (net_new(&nc, &d.net, &err) < 0)
		goto fail;
	if (events_open_config(&ec, &d.events, &err) < 0 ||
	    reaper_start(d.store, d.events, &d.reaper, &err) < 0 ||
	    recover(&d, drop_quarantined, &quarantined, &err) < 0)
		goto fail;
	recovered = true;
	if (events_listen(d.events, d.events_url, &err) < 0 || events_socket_group(&d, &err) < 0)
		goto fail;
	/* after recovery, which adopts every record whatever the limit */
	table_set_limit(d.table, (size_t)d.cfg.max_sandboxes);
	if (queue_init(&d.queue, (size_t)d.cfg.queue_depth) < 0) {
		cradle_err_set(&err, CRADLE_RESOURCE_EXHAUSTED, "allocate request queue");
		goto fail;
	}
	if (stats_new(&d.queue, d.table, &stats, &err) < 0)
		goto fail;
	fill_env(&d);
	if ((config_text.text = config_text_of(&d.cfg)) == NULL)
		log_warn("daemon.info: out of memory for the configuration's text");
	d.env.config_text = &config_text;
	d.env.stats = stats;
	d.env.nri = nri;
	if (pool_start(&d.queue, d.cfg.workers, run_job, trim_refreshed, &d.env, &pool, &err) < 0)
		goto fail;
	if (d.cfg.metrics_address[0] != '\0' &&
	    metrics_start(d.cfg.metrics_address, stats, &metrics, &err) < 0)
		goto fail;
	/* What start-up allocated for a moment (recovery's records, the
	 * built-in image's import) goes back before the first request. */
	malloc_trim(0);
	/* The front end opens last, and the line comes before it: a client
	 * that got an answer finds start-up whole, its line included. */
	log_info("ready: requests on %s, events on %s, %d workers, sandbox image %s, "
	         "up to %llu open files (one per live sandbox), up to %d sandboxes, "
	         "%zu quarantined records",
	         d.sock_url, d.events_url, d.cfg.workers, d.cfg.image, (unsigned long long)nofile,
	         d.cfg.max_sandboxes, quarantined);
	if (frontend_start(&d, &fe, &err) < 0)
		goto fail;
	/* systemd's Type=notify (examples/systemd/cradled.service); nothing
	 * without $NOTIFY_SOCKET */
	sd_notify(0, "READY=1");

	const struct reload_args reload = {
		.path = config_path,
		.explicit = config_explicit,
		.root = root != NULL,
		.state = state != NULL,
		.archive = archive != NULL,
		.workers = workers != NULL,
		.log_level = log_level != NULL,
		.log_format = log_format != NULL,
	};
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(si)) {
			log_error("read signalfd: %s", n < 0 ? strerror(errno) : "short read");
			break;
		}
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("signal %d: shutting down; sandboxes keep running",
			         (int)si.ssi_signo);
			break;
		}
		if (si.ssi_signo == SIGHUP) {
			sd_notify(0, "RELOADING=1");
			reload_config(&d, &reload);
			sd_notify(0, "READY=1");
		}
	}
	sd_notify(0, "STOPPING=1");
	status = 0;
	goto out;
fail:
	log_error("%s", err.msg[0] ? err.msg : "start-up failed");
out:
	atomic_store(&shutting_down, true);
	images_cancel(d.images);
	metrics_stop(metrics);
	frontend_stop(fe);
	pool_stop(pool);
	net_free(d.net);
	nri_free(nri);
	stats_free(stats);
	reaper_stop(d.reaper);
	if (d.node.selinux != NULL)
		log_info("exit: %zu SELinux levels reserved",
		         selinux_labels_reserved(d.node.selinux));
	events_close(d.events);
	queue_fini(&d.queue);
	/* With no sandbox left nothing needs cradle's mount namespace: leave
	 * the host as it was.  Otherwise the pin keeps their mounts for the
	 * next run. */
	bool unpin = may_unpin(&d, recovered);
	if (d.table != NULL)
		table_fini(d.table);
	images_close(d.images);
	store_close(d.store);
	if (mntns_leave(&d.mntns, unpin, &err) < 0) {
		log_error("%s", err.msg);
		status = 1;
	}
	node_fini(&d.node);
	config_fini(&d.cfg);
	free(config_text.text);
	return status;
}
